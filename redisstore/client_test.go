package redisstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/internal/redistest"
	"github.com/wxkit/wechat/wechattest"
)

// TestClientLease runs the real Client on a Store against wechattest: Run takes the lease (a
// second Run on the account gets ErrLeaseHeld), resumes from Redis after a restart, and stops
// with ErrLeaseLost within a renewal interval when the lease key is deleted.
func TestClientLease(t *testing.T) {
	t.Parallel()
	srv := sharedServer(t)
	fake := wechattest.NewServer()
	defer fake.Close()
	const ttl = 1500 * time.Millisecond
	account := t.Name()
	newClient := func(got chan<- string) *wechat.Client {
		c := wechat.New(wechat.WithHTTPClient(fake.Client()), wechat.WithQRHandler(func(wechat.QRCode) {}),
			wechat.WithSessionStore(New(srv.Client(t), account, WithTTL(ttl))))
		c.HandleFunc(nil, func(_ context.Context, m *wechat.Message) error {
			got <- m.Content
			return nil
		})
		return c
	}
	fake.ConfirmLogin()
	got := make(chan string, 10)
	first := newClient(got)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- first.Run(ctx) }()
	require.NoError(t, first.WaitOnline(t.Context()))

	second := newClient(got)
	assert.ErrorIs(t, second.Run(t.Context()), wechat.ErrLeaseHeld)

	fake.Deliver(wechattest.Text("friend", "one"))
	assert.Equal(t, "one", <-got)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)

	// A restart resumes from Redis: no QR code, nothing delivered twice.
	third := wechat.New(wechat.WithHTTPClient(fake.Client()),
		wechat.WithQRHandler(func(wechat.QRCode) { t.Error("a QR code was shown") }),
		wechat.WithSessionStore(New(srv.Client(t), account, WithTTL(ttl))))
	third.HandleFunc(nil, func(_ context.Context, m *wechat.Message) error {
		got <- m.Content
		return nil
	})
	done = make(chan error, 1)
	go func() { done <- third.Run(t.Context()) }()
	require.NoError(t, third.WaitOnline(t.Context()))
	fake.Deliver(wechattest.Text("friend", "two"))
	assert.Equal(t, "two", <-got, "the first message after the restart")

	keys := keysFor(DefaultPrefix, account)
	start := time.Now()
	require.NoError(t, srv.Client(t).Del(t.Context(), keys.lease).Err())
	select {
	case err := <-done:
		require.True(t, errors.Is(err, wechat.ErrLeaseLost), "Run returned %v", err)
		assert.Less(t, time.Since(start), ttl, "Run stopped before the lease could have expired")
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop after its lease was deleted")
	}
	_, err := third.SendText(t.Context(), "filehelper", "after")
	assert.ErrorIs(t, err, wechat.ErrLeaseLost)
}

// running is a Client running Run in the background, recording the texts it handled.
type running struct {
	c    *wechat.Client
	done chan error
	stop context.CancelFunc

	mu  sync.Mutex
	got map[string]int // text -> times handled
	ids []string       // MsgIDs handled, in order
}

// startClient runs a Client of fake on st until the test ends.
func startClient(t *testing.T, fake *wechattest.Server, st *Store, opts ...wechat.Option) *running {
	t.Helper()
	r := &running{done: make(chan error, 1), got: make(map[string]int)}
	r.c = wechat.New(append([]wechat.Option{
		wechat.WithHTTPClient(fake.Client()),
		wechat.WithQRHandler(func(wechat.QRCode) {}),
		wechat.WithSessionStore(st),
	}, opts...)...)
	r.c.HandleFunc(wechat.IsText, func(_ context.Context, m *wechat.Message) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.got[m.Content]++
		r.ids = append(r.ids, m.MsgID)
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	go func() { r.done <- r.c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(20 * time.Second):
			t.Error("Run did not return 20 s after its ctx ended")
		}
	})
	return r
}

// wait returns Run's error, failing t if Run runs on for limit.
func (r *running) wait(t *testing.T, limit time.Duration) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(limit):
		t.Fatalf("Run still runs after %v", limit)
		return nil
	}
}

// online waits until the Client is online, failing t if Run returns first or 10 s pass.
func (r *running) online(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	online := make(chan error, 1)
	go func() { online <- r.c.WaitOnline(ctx) }()
	select {
	case err := <-online:
		require.NoError(t, err, "not online within 10 s")
	case err := <-r.done:
		r.done <- err
		cancel()
		<-online
		t.Fatalf("Run returned before going online: %v", err)
	}
}

// assertRunning fails t if Run has returned.
func (r *running) assertRunning(t *testing.T) {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		t.Fatalf("Run returned: %v", err)
	default:
	}
}

// waitGot waits until every text was handled and returns how many were handled twice or more.
func (r *running) waitGot(t *testing.T, texts []string) (dups int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		missing := 0
		dups = 0
		for _, x := range texts {
			if r.got[x] == 0 {
				missing++
			}
			dups += max(r.got[x]-1, 0)
		}
		r.mu.Unlock()
		if missing == 0 {
			return dups
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages not handled within 10 s", missing, len(texts))
		}
		select {
		case <-time.After(10 * time.Millisecond):
		case err := <-r.done:
			r.done <- err
			t.Fatalf("Run returned with %d messages not handled: %v", missing, err)
		}
	}
}

func deliver(fake *wechattest.Server, prefix string, n int) []string {
	var out []string
	for i := range n {
		text := fmt.Sprintf("%s-%d", prefix, i)
		fake.Deliver(wechattest.Text("friend", text))
		out = append(out, text)
	}
	return out
}

// TestClientLeaseLostOnRedisRestart: a Redis without persistence restarts while a Client
// runs: the lease key is gone with the data, and the Client stops with ErrLeaseLost within
// one renewal interval of Redis being back (found by its renewal, or by a save refused
// before it); it sends nothing more.
func TestClientLeaseLostOnRedisRestart(t *testing.T) {
	t.Parallel()
	srv := redistest.New(t)
	fake := wechattest.NewServer()
	defer fake.Close()
	fake.ConfirmLogin()
	const ttl = 1500 * time.Millisecond
	r := startClient(t, fake, New(srv.Client(t), "acct", WithTTL(ttl)))
	r.online(t)
	r.waitGot(t, deliver(fake, "before", 3))

	require.NoError(t, srv.Restart())
	back := time.Now()
	err := r.wait(t, 10*time.Second)
	require.ErrorIs(t, err, wechat.ErrLeaseLost)
	assert.LessOrEqual(t, time.Since(back), ttl/3+grace, "stopped within one renewal interval")
	// Found by the renewal, or by a save refused first.
	assert.Regexp(t, `the lease (key )?is gone`, err.Error())
	_, err = r.c.SendText(t.Context(), "filehelper", "after")
	assert.ErrorIs(t, err, wechat.ErrLeaseLost)
	assert.Empty(t, fake.Sent(), "nothing sent")
}

// TestClientStaleTokenSaveRefused: the lease of a running Client expires without its knowing
// (its key deleted here, as the TTL would after a long pause; its next renewal is 10 s away)
// and another process takes the account and saves. The Client's next save, after it handled
// one more message, is refused by the fencing check: the newer holder's session stays as it
// was, and the refusal ends the lease, so the Client stops at once with ErrLeaseLost instead
// of running on beside the new holder until its renewal.
func TestClientStaleTokenSaveRefused(t *testing.T) {
	t.Parallel()
	srv := sharedServer(t)
	fake := wechattest.NewServer()
	defer fake.Close()
	fake.ConfirmLogin()
	rdb := srv.Client(t)
	account := t.Name() + "#" + rand.Text()[:8]
	st := New(rdb, account, WithTTL(30*time.Second))
	r := startClient(t, fake, st)
	r.online(t)
	r.waitGot(t, deliver(fake, "before", 3))

	require.NoError(t, rdb.Del(t.Context(), st.keys.lease).Err())
	newer := New(rdb, account)
	l, err := newer.Lock(t.Context())
	require.NoError(t, err)
	defer l.Release(t.Context())
	want, err := newer.Load(t.Context())
	require.NoError(t, err)
	want.SavedAt = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	want.Handled = append(want.Handled, "the newer holder's")
	require.NoError(t, newer.Save(t.Context(), want))

	start := time.Now()
	fake.Deliver(wechattest.Text("friend", "one more"))
	err = r.wait(t, 10*time.Second)
	require.ErrorIs(t, err, wechat.ErrLeaseLost)
	assert.Less(t, time.Since(start), 5*time.Second, "stopped at its refused save, not at its renewal 10 s later")
	assert.Contains(t, err.Error(), "saving the session")
	got, err := newer.Load(t.Context())
	require.NoError(t, err)
	assert.Equal(t, want, got, "the newer holder's session is untouched")
}

// TestClientRedisDown10s: Redis is down (killed; connections refused) for 10 s while a Client
// runs under a 24 s lease, whose renewal falls due during the outage. The Client keeps
// running and handling what arrives; its saves fail meanwhile and succeed once Redis is
// back (it kept its data in its append-only file). A restart afterwards resumes after the last
// message: every message handled exactly once, 0 lost.
func TestClientRedisDown10s(t *testing.T) {
	t.Parallel()
	srv := redistest.New(t, "--appendonly", "yes", "--appendfsync", "always")
	fake := wechattest.NewServer()
	defer fake.Close()
	fake.ConfirmLogin()
	const ttl = 24 * time.Second
	st := New(srv.Client(t), "acct", WithTTL(ttl))
	r := startClient(t, fake, st)
	r.online(t)
	all := deliver(fake, "before", 5)
	r.waitGot(t, all)

	srv.Kill()
	up := time.After(10 * time.Second)
	tick := time.NewTicker(time.Second)
	for i := 0; ; i++ {
		select {
		case <-tick.C:
			text := fmt.Sprintf("during-%d", i)
			fake.Deliver(wechattest.Text("friend", text))
			all = append(all, text)
			continue
		case <-up:
		}
		break
	}
	tick.Stop()
	r.assertRunning(t)
	require.NoError(t, srv.Start())
	// The lease is renewed once the client reconnects (go-redis dials again about a second
	// after Redis is back; a save that fails meanwhile is retried only at the next change).
	waitRenewed(t, srv, st)
	all = append(all, deliver(fake, "after", 5)...)
	assert.Zero(t, r.waitGot(t, all), "nothing handled twice")
	// The Client's saves work again: the stored session has the last message handled.
	r.mu.Lock()
	lastID := r.ids[len(r.ids)-1]
	r.mu.Unlock()
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	limit := time.After(10 * time.Second)
	for {
		s, err := st.Load(t.Context())
		if err == nil && slices.Contains(s.Handled, lastID) {
			break
		}
		select {
		case <-poll.C:
		case <-limit:
			t.Fatalf("the session was not saved within 10 s of Redis coming back: %v", err)
		}
	}
	r.assertRunning(t)
	r.stop()
	require.ErrorIs(t, r.wait(t, 20*time.Second), context.Canceled)

	next := startClient(t, fake, New(srv.Client(t), "acct", WithTTL(ttl)), wechat.WithLoginPolicy(wechat.LoginResumeOnly))
	next.online(t)
	last := deliver(fake, "restarted", 2)
	assert.Zero(t, next.waitGot(t, last))
	next.mu.Lock()
	defer next.mu.Unlock()
	assert.Len(t, next.ids, 2, "the restart resumed after the last message handled: %v", next.got)
}
