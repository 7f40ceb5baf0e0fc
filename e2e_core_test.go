package wechat_test

// End-to-end tests of the session core's lifecycle: Login, graceful stop, the delivery
// window, Logout during Run, deadlines, state, handler registration and error reporting.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

// TestLoginMakesSendReady: after Login alone, sends, downloads and contact calls work, and
// Run continues the same session without a new login.
func TestLoginMakesSendReady(t *testing.T) {
	t.Parallel()
	qrs := 0
	ts := setup(t, loginOnly(), withClient(wechat.WithQRHandler(func(wechat.QRCode) { qrs++ })))
	ctx := t.Context()
	assert.Equal(t, wechat.StateStopped, ts.c.State())

	friend := ts.srv.UserName("friend")
	_, err := ts.c.SendText(ctx, friend, "hello")
	require.NoError(t, err, "SendText right after Login")
	_, err = ts.c.SendImage(ctx, friend, "a.png", strings.NewReader("\x89PNG\r\n\x1a\n0000"))
	require.NoError(t, err, "SendImage right after Login")
	avatar, err := ts.c.Avatar(ctx, friend)
	require.NoError(t, err, "a download right after Login")
	avatar.Close()
	members, err := ts.c.GroupMembers(ctx, ts.srv.UserName("group"))
	require.NoError(t, err, "a contact call right after Login")
	assert.Len(t, members, 4)
	require.NoError(t, ts.c.SetRemark(ctx, friend, "Buddy"))
	require.Len(t, ts.srv.Sent(), 2)

	inits := len(requestsTo(ts.srv, "/cgi-bin/mmwebwx-bin/webwxinit"))
	done := make(chan error, 1)
	rctx, cancel := context.WithCancel(ctx)
	go func() { done <- ts.c.Run(rctx) }()
	require.NoError(t, ts.c.WaitOnline(ctx))
	ts.srv.Deliver(wechattest.Text("friend", "after login"))
	assert.Equal(t, "after login", ts.next(t).Content)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	assert.Equal(t, 1, qrs, "Run logged in again")
	assert.Len(t, requestsTo(ts.srv, "/jslogin"), 1, "Run logged in again")
	assert.Len(t, requestsTo(ts.srv, "/cgi-bin/mmwebwx-bin/webwxinit"), inits, "Run initialised again")
}

// fiveChats are messages from five chats, each handled by its own worker.
func fiveChats() []wechattest.Message {
	return []wechattest.Message{
		wechattest.Text("friend", "one"),
		wechattest.Text("alice", "two"),
		wechattest.Text("bob", "three"),
		wechattest.Text("filehelper", "four"),
		wechattest.GroupText("group", "carol", "five"),
	}
}

// replies returns how many replies the server got for each content ("re: <content>").
func replies(srv *wechattest.Server) map[string]int {
	out := map[string]int{}
	for _, s := range srv.Sent() {
		if c, ok := strings.CutPrefix(s.Content, "re: "); ok {
			out[c]++
		}
	}
	return out
}

// TestGracefulStop: five handlers are in flight when Run's ctx ends; each replies after the
// cancellation. All five replies reach the server, Run returns ctx.Err() with the state
// stopped, and a restart on the stored session delivers none of them again.
func TestGracefulStop(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "session")
		var states []wechat.State
		var mu sync.Mutex
		started := make(chan struct{}, 5)
		cancelled := make(chan struct{})
		ts := setup(t, withClient(wechat.WithSession(path), wechat.WithStateHandler(func(sc wechat.StateChange) {
			mu.Lock()
			states = append(states, sc.State)
			mu.Unlock()
		})), withHandler(func(ctx context.Context, s *testSession, m *wechat.Message) error {
			started <- struct{}{}
			<-cancelled
			time.Sleep(2 * time.Second) // the reply comes well after the cancellation
			_, err := s.c.SendText(ctx, m.ChatUserName, "re: "+m.Content)
			return err
		}))
		ts.srv.Deliver(fiveChats()...)
		for range 5 {
			<-started
		}
		ts.stop()
		close(cancelled)
		require.ErrorIs(t, ts.wait(t), context.Canceled)
		assert.Equal(t, map[string]int{"one": 1, "two": 1, "three": 1, "four": 1, "five": 1}, replies(ts.srv))
		assert.Equal(t, wechat.StateStopped, ts.c.State())
		mu.Lock()
		assert.Equal(t, wechat.StateStopped, states[len(states)-1], "the last state reported")
		mu.Unlock()

		again := setup(t, onServer(ts.srv), withClient(wechat.WithSession(path), noQR(t)))
		ts.srv.Deliver(wechattest.Text("friend", "after restart"))
		assert.Equal(t, "after restart", again.next(t).Content, "the first message after the restart is the new one")
		synctest.Wait()
		assert.Empty(t, again.msgs, "nothing delivered again")
	})
}

// TestGraceCutsOffHandlers: with a grace shorter than the handlers, the handlers' ctx ends
// before they reply, their messages are not recorded as handled, and a restart delivers them
// again: every reply is sent once, none is lost.
func TestGraceCutsOffHandlers(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "session")
		started := make(chan struct{}, 5)
		ts := setup(t, withClient(wechat.WithSession(path), wechat.WithShutdownGrace(time.Second)),
			withHandler(func(ctx context.Context, s *testSession, m *wechat.Message) error {
				started <- struct{}{}
				time.Sleep(5 * time.Second) // longer than the grace
				_, err := s.c.SendText(ctx, m.ChatUserName, "re: "+m.Content)
				return err
			}))
		ts.srv.Deliver(fiveChats()...)
		for range 5 {
			<-started
		}
		require.ErrorIs(t, ts.shutdown(t), context.Canceled)
		assert.Empty(t, replies(ts.srv), "the replies came after the grace")

		again := setup(t, onServer(ts.srv), withClient(wechat.WithSession(path), noQR(t)),
			withHandler(func(ctx context.Context, s *testSession, m *wechat.Message) error {
				_, err := s.c.SendText(ctx, m.ChatUserName, "re: "+m.Content)
				return err
			}))
		again.collect(t, 5)
		synctest.Wait()
		assert.Equal(t, map[string]int{"one": 1, "two": 1, "three": 1, "four": 1, "five": 1}, replies(ts.srv))
	})
}

// TestWindowBoundsFetching: one handler blocks while 3,000 messages arrive in other chats.
// The loop stops fetching once 1,024 messages are open (no webwxsync while the window is
// full), the ledger is saved meanwhile, and resuming re-handles nothing after a clean stop
// and at most the message in flight after a crash.
func TestWindowBoundsFetching(t *testing.T) {
	t.Parallel()
	for _, crash := range []bool{false, true} {
		t.Run(fmt.Sprintf("crash=%v", crash), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) { testWindow(t, crash) })
		})
	}
}

func testWindow(t *testing.T, crash bool) {
	const n = 3000
	dir := t.TempDir()
	path := filepath.Join(dir, "session")
	release := make(chan struct{})
	blocked := make(chan struct{}, 1)
	ts := setup(t, withServer(wechattest.WithSyncBatchSize(100)),
		withClient(wechat.WithSession(path), wechat.WithShutdownGrace(time.Second)),
		withHandler(func(ctx context.Context, _ *testSession, m *wechat.Message) error {
			if m.Content == "block" {
				blocked <- struct{}{}
				select {
				case <-release:
				case <-ctx.Done():
				}
			}
			return nil
		}))
	ts.srv.Deliver(wechattest.Text("gh_news", "block"))
	<-blocked
	inFlight := ts.next(t).MsgID
	chats := []string{"friend", "alice", "bob", "filehelper"}
	for i := range n {
		ts.srv.Deliver(wechattest.Text(chats[i%len(chats)], fmt.Sprintf("m%04d", i)))
	}
	time.Sleep(10 * time.Second) // fake time: the loop fills the window, the saver saves
	synctest.Wait()
	first := ts.handled()
	delete(first, inFlight) // started, never finished: cut off at the stop, or lost in the crash
	assert.Less(t, len(first), n, "the loop fetched past a full window")
	assert.GreaterOrEqual(t, len(first), 1000)
	syncs := len(requestsTo(ts.srv, "/cgi-bin/mmwebwx-bin/webwxsync"))
	time.Sleep(time.Minute)
	synctest.Wait()
	assert.Equal(t, syncs, len(requestsTo(ts.srv, "/cgi-bin/mmwebwx-bin/webwxsync")), "webwxsync while the window is full")
	assert.Len(t, ts.handled(), len(first)+1, "handled while the window is full")

	resumeFrom := path
	if crash {
		// A crash now: the next run resumes from the session saved while the chat was blocked.
		saved, err := os.ReadFile(path)
		require.NoError(t, err)
		resumeFrom = filepath.Join(dir, "crashed")
		require.NoError(t, os.WriteFile(resumeFrom, saved, 0o600))
	}
	require.ErrorIs(t, ts.shutdown(t), context.Canceled)

	again := setup(t, onServer(ts.srv), withClient(wechat.WithSession(resumeFrom), noQR(t)))
	left := n + 1 - len(first) // the one in flight included
	again.collect(t, left)
	synctest.Wait()
	second := again.handled()
	twice := 0
	for id, k := range second {
		assert.Equal(t, 1, k, "MsgID %s handled twice in the second run", id)
		if first[id] > 0 {
			twice++
		}
	}
	assert.Zero(t, twice, "messages handled in both runs, besides the one in flight")
	assert.Equal(t, 1, second[inFlight], "the message in flight is delivered again")
	assert.Equal(t, n+1, len(first)+len(second), "every message handled")
}

// TestLogoutDuringRun: Logout while Run runs makes Run return an error matching ErrLoggedOut,
// 60 times in 60: right after going online, during a webwxsync, and during a held synccheck.
// The state is logged out and no session file is left.
func TestLogoutDuringRun(t *testing.T) {
	t.Parallel()
	for _, when := range []string{"online", "webwxsync", "synccheck"} {
		t.Run(when, func(t *testing.T) {
			t.Parallel()
			for i := range 20 {
				synctest.Test(t, func(t *testing.T) { testLogoutDuringRun(t, when, i) })
			}
		})
	}
}

func testLogoutDuringRun(t *testing.T, when string, i int) {
	dir := t.TempDir()
	var hold atomic.Value // the path whose next request is held, then released by Logout
	hold.Store("")
	held := make(chan struct{}, 1)
	ts := setup(t, withClient(wechat.WithSession(filepath.Join(dir, "session"))),
		withTransport(func(next http.RoundTripper) http.RoundTripper {
			return roundTripFunc(func(r *http.Request) (*http.Response, error) {
				if p := hold.Load().(string); p != "" && strings.HasSuffix(r.URL.Path, p) && hold.CompareAndSwap(p, "") {
					held <- struct{}{}
					<-r.Context().Done() // held until Logout ends the session
					return nil, r.Context().Err()
				}
				return next.RoundTrip(r)
			})
		}))
	switch when {
	case "webwxsync":
		synctest.Wait()
		hold.Store("/webwxsync")
		ts.srv.Deliver(wechattest.Text("friend", "x"))
		<-held
	case "synccheck":
		synctest.Wait()
		hold.Store("/synccheck")
		time.Sleep(5 * time.Second) // the held synccheck answers; the next one is ours
		<-held
	}
	time.Sleep(time.Duration(i) * time.Millisecond) // different moments
	require.NoError(t, ts.c.Logout(t.Context()))
	err := ts.wait(t)
	require.ErrorIs(t, err, wechat.ErrLoggedOut, "try %d: Run returned %v", i, err)
	assert.Equal(t, wechat.StateLoggedOut, ts.c.State())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "files left after Logout")
}

// TestLongPollIgnoresClientTimeout: a caller's http.Client with a 10 s Timeout does not cut
// the synccheck that the server holds for 25 s: the session never reconnects.
func TestLongPollIgnoresClientTimeout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := wechattest.NewServer(wechattest.WithLongPoll(25 * time.Second))
		defer srv.Close()
		var reconnects atomic.Int32
		ts := setup(t, onServer(srv), withClient(
			wechat.WithHTTPClient(&http.Client{Transport: srv.Client().Transport, Timeout: 10 * time.Second}),
			wechat.WithStateHandler(func(sc wechat.StateChange) {
				if sc.State == wechat.StateReconnecting {
					reconnects.Add(1)
				}
			})))
		time.Sleep(2 * time.Minute)
		assert.Zero(t, reconnects.Load(), "the session flapped")
		polls := len(requestsTo(srv, "/cgi-bin/mmwebwx-bin/synccheck"))
		assert.LessOrEqual(t, polls, 7, "synccheck was cut short: %d polls in 2 minutes", polls)
		srv.Deliver(wechattest.Text("friend", "still here"))
		assert.Equal(t, "still here", ts.next(t).Content)
	})
}

// TestWaitOnline: WaitOnline returns once Run is receiving, and ctx.Err() when ctx ends.
func TestWaitOnline(t *testing.T) {
	t.Parallel()
	ts := setup(t, notLoggedIn())
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, ts.c.WaitOnline(ctx), context.DeadlineExceeded, "online before the scan")
	ts.srv.ConfirmLogin()
	require.NoError(t, ts.c.WaitOnline(t.Context()))
	assert.Equal(t, wechat.StateOnline, ts.c.State())
	require.ErrorIs(t, ts.shutdown(t), context.Canceled)
	assert.Equal(t, wechat.StateStopped, ts.c.State())
}

// TestHandleWhileRunning: handlers and middleware registered while Run runs are safe (the
// race detector watches) and take the messages dispatched after them.
func TestHandleWhileRunning(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	var wrapped atomic.Int32
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 50 {
			ts.c.HandleFunc(wechat.HasPrefix(fmt.Sprint("never", i)), func(context.Context, *wechat.Message) error { return nil })
			ts.c.Use(func(next wechat.Handler) wechat.Handler {
				return wechat.HandlerFunc(func(ctx context.Context, m *wechat.Message) error {
					wrapped.Add(1)
					return next.HandleMessage(ctx, m)
				})
			})
		}
	})
	for i := range 50 {
		ts.srv.Deliver(wechattest.Text("friend", fmt.Sprint("m", i)))
	}
	ts.collect(t, 50)
	wg.Wait()
	before := wrapped.Load()
	ts.srv.Deliver(wechattest.Text("friend", "last"))
	ts.next(t)
	assert.Equal(t, before+50, wrapped.Load(), "the 50 middleware wrap a message dispatched after them")
}

// TestHandlerErrorsReported: by default a handler's error and a recovered panic go to
// slog.Default at level Error; WithErrorHandler replaces that.
func TestHandlerErrorsReported(t *testing.T) {
	// Not parallel: it replaces slog.Default.
	var buf syncBuffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	defer slog.SetDefault(old)
	ts := setup(t, withHandler(func(_ context.Context, _ *testSession, m *wechat.Message) error {
		if m.Content == "panic" {
			panic("handler bug")
		}
		return errors.New("boom")
	}))
	ts.srv.Deliver(wechattest.Text("friend", "fail"), wechattest.Text("alice", "panic"))
	ts.collect(t, 2)
	require.Eventually(t, func() bool { return strings.Count(buf.String(), "level=ERROR") == 2 }, 10*time.Second, 10*time.Millisecond)
	assert.Contains(t, buf.String(), "boom")
	assert.Contains(t, buf.String(), "handler bug")

	got := make(chan error, 2)
	custom := setup(t, withClient(wechat.WithErrorHandler(func(_ context.Context, m *wechat.Message, err error) { got <- err })),
		withHandler(func(_ context.Context, _ *testSession, m *wechat.Message) error {
			if m.Content == "panic" {
				panic("handler bug")
			}
			return errors.New("boom")
		}))
	custom.srv.Deliver(wechattest.Text("friend", "fail"), wechattest.Text("alice", "panic"))
	var errs []error
	for range 2 {
		errs = append(errs, <-got)
	}
	assert.True(t, slicesContainsFunc(errs, func(err error) bool { return errors.Is(err, wechat.ErrHandlerPanic) }), "%v", errs)
	assert.True(t, slicesContainsFunc(errs, func(err error) bool { return err.Error() == "boom" }), "%v", errs)
	assert.Equal(t, 2, strings.Count(buf.String(), "level=ERROR"), "WithErrorHandler replaces the default report")
}

func slicesContainsFunc(errs []error, f func(error) bool) bool {
	for _, e := range errs {
		if f(e) {
			return true
		}
	}
	return false
}

// TestZeroClient: every method of the zero Client returns (an error where it has one) and
// none panics.
func TestZeroClient(t *testing.T) {
	t.Parallel()
	var c wechat.Client
	v := reflect.ValueOf(&c)
	ty := v.Type()
	for i := range ty.NumMethod() {
		m := ty.Method(i)
		t.Run(m.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
			defer cancel()
			args := []reflect.Value{v}
			for j := 1; j < m.Type.NumIn(); j++ {
				args = append(args, zeroArg(ctx, m.Type.In(j)))
			}
			var out []reflect.Value
			call := m.Func.Call
			if m.Type.IsVariadic() {
				call = m.Func.CallSlice
			}
			require.NotPanics(t, func() { out = call(args) })
			if n := len(out); n > 0 && m.Type.Out(n-1) == reflect.TypeFor[error]() {
				assert.False(t, out[n-1].IsNil(), "%s succeeded on the zero Client", m.Name)
			}
		})
	}
	assert.ErrorContains(t, c.Run(t.Context()), "wechat.New")
}

// zeroArg returns a usable argument of type ty: a live ctx, a reader, a handler, else zero.
func zeroArg(ctx context.Context, ty reflect.Type) reflect.Value {
	switch {
	case ty == reflect.TypeFor[context.Context]():
		return reflect.ValueOf(ctx)
	case ty == reflect.TypeFor[io.Reader]():
		return reflect.ValueOf(io.Reader(strings.NewReader("x")))
	case ty == reflect.TypeFor[wechat.Handler]():
		return reflect.ValueOf(wechat.Handler(wechat.HandlerFunc(func(context.Context, *wechat.Message) error { return nil })))
	case ty.Kind() == reflect.Func:
		return reflect.MakeFunc(ty, func([]reflect.Value) []reflect.Value {
			out := make([]reflect.Value, ty.NumOut())
			for i := range out {
				out[i] = reflect.Zero(ty.Out(i))
			}
			return out
		})
	case ty.Kind() == reflect.Pointer:
		return reflect.New(ty.Elem())
	}
	return reflect.Zero(ty)
}

// TestSendToNickname: a send to a string that is no UserName of the session (a nickname) is
// refused before any request, with ErrUnknownContact and a hint.
func TestSendToNickname(t *testing.T) {
	t.Parallel()
	ts := setup(t, loginOnly())
	before := len(ts.srv.Requests())
	_, err := ts.c.SendText(t.Context(), "Friend", "hi")
	require.ErrorIs(t, err, wechat.ErrUnknownContact)
	assert.Contains(t, err.Error(), "ContactsByName")
	assert.Equal(t, 1, strings.Count(err.Error(), "wechat: "), "one prefix: %s", err)
	assert.Len(t, ts.srv.Requests(), before, "a request was sent")
	_, err = ts.c.SendText(t.Context(), "filehelper", "hi")
	require.NoError(t, err, "special accounts are UserNames")
}

// TestSilentHost: a host (or proxy) that never answers gives an error naming the host and
// the wait, matching context.DeadlineExceeded.
func TestSilentHost(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c := wechat.New(wechat.WithHTTPClient(&http.Client{
			Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				<-r.Context().Done()
				return nil, r.Context().Err()
			}),
			Timeout: 3 * time.Second,
		}), wechat.WithQRHandler(func(wechat.QRCode) {}))
		err := c.Login(t.Context())
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "no answer from login.wx.qq.com after 3s")
	})
}

// TestLoginPolicy: LoginResumeOnly fails at once without a stored session; LoginNoQR never
// shows a QR code; both resume a stored session.
func TestLoginPolicy(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "session")
	srv := wechattest.NewServer()
	defer srv.Close()
	for _, p := range []wechat.LoginPolicy{wechat.LoginResumeOnly, wechat.LoginNoQR} {
		c := wechat.New(wechat.WithHTTPClient(srv.Client()), wechat.WithLoginPolicy(p),
			wechat.WithSession(path), wechat.WithQRHandler(func(wechat.QRCode) { t.Error("a QR code was shown") }))
		assert.ErrorIs(t, c.Login(t.Context()), wechat.ErrScanNeeded, "policy %d", p)
		assert.ErrorIs(t, c.Run(t.Context()), wechat.ErrScanNeeded, "policy %d", p)
	}
	first := setup(t, withClient(wechat.WithSession(path)))
	require.ErrorIs(t, first.shutdown(t), context.Canceled)
	for _, p := range []wechat.LoginPolicy{wechat.LoginResumeOnly, wechat.LoginNoQR} {
		c := wechat.New(wechat.WithHTTPClient(first.srv.Client()), wechat.WithLoginPolicy(p),
			wechat.WithSession(path), wechat.WithQRHandler(func(wechat.QRCode) { t.Error("a QR code was shown") }))
		require.NoError(t, c.Login(t.Context()), "policy %d resumes", p)
	}
}
