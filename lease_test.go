package wechat_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

// memLocker is an in-memory SessionLocker shared by the clients of one account: the lease
// semantics of a real store (see redisstore), without a server.
type memLocker struct {
	mu     sync.Mutex
	s      *wechat.Session
	token  int64 // the newest token issued
	holder *memLease
	saves  int
}

type memLease struct {
	l     *memLocker
	token int64
	done  chan struct{}
	err   error
	once  sync.Once
}

func (m *memLocker) Load(context.Context) (*wechat.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.s == nil {
		return nil, wechat.ErrNoSession
	}
	cp := *m.s
	return &cp, nil
}

func (m *memLocker) Save(_ context.Context, s *wechat.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.holder == nil || m.holder.token != m.token {
		return wechat.ErrLeaseLost
	}
	cp := *s
	m.s = &cp
	m.saves++
	return nil
}

func (m *memLocker) Clear(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.s = nil
	return nil
}

func (m *memLocker) Lock(context.Context) (wechat.Lease, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.holder != nil {
		return nil, wechat.ErrLeaseHeld
	}
	m.token++
	m.holder = &memLease{l: m, token: m.token, done: make(chan struct{})}
	return m.holder, nil
}

// steal gives the lease to someone else: the holder loses it, as when its lease expired.
func (m *memLocker) steal() {
	m.mu.Lock()
	h := m.holder
	m.holder = nil
	m.token++
	m.mu.Unlock()
	h.end(wechat.ErrLeaseLost)
}

func (l *memLease) end(err error) {
	l.once.Do(func() {
		l.err = err
		close(l.done)
	})
}

func (l *memLease) Token() int64          { return l.token }
func (l *memLease) Done() <-chan struct{} { return l.done }
func (l *memLease) Err() error {
	select {
	case <-l.done:
		return l.err
	default:
		return nil
	}
}

func (l *memLease) Release(context.Context) error {
	l.l.mu.Lock()
	if l.l.holder == l {
		l.l.holder = nil
	}
	l.l.mu.Unlock()
	l.end(context.Canceled)
	return nil
}

// TestLease: a second Run on a leased account fails with ErrLeaseHeld; a Run that loses its
// lease stops at once with ErrLeaseLost, and its sends fail; the lease is released when Run
// returns.
func TestLease(t *testing.T) {
	t.Parallel()
	store := &memLocker{}
	ts := setup(t, withClient(wechat.WithSessionStore(store)))
	second := wechat.New(wechat.WithHTTPClient(ts.srv.Client()), wechat.WithSessionStore(store), wechat.WithQRHandler(func(wechat.QRCode) {}))
	assert.ErrorIs(t, second.Run(t.Context()), wechat.ErrLeaseHeld)

	ts.srv.Deliver(wechattest.Text("friend", "before"))
	assert.Equal(t, "before", ts.next(t).Content)
	start := time.Now()
	store.steal()
	err := ts.wait(t)
	require.ErrorIs(t, err, wechat.ErrLeaseLost)
	assert.Less(t, time.Since(start), 5*time.Second, "Run stopped at once")
	_, err = ts.c.SendText(t.Context(), ts.srv.UserName("friend"), "after")
	assert.ErrorIs(t, err, wechat.ErrLeaseLost, "a send after the lease was lost")
	assert.Equal(t, wechat.StateStopped, ts.c.State())

	// The new holder runs; when it stops, the lease is free again.
	third := setup(t, onServer(ts.srv), withClient(wechat.WithSessionStore(store), noQR(t)))
	third.srv.Deliver(wechattest.Text("friend", "third"))
	// "before" was handled but not yet saved when the lease was lost (saves are refused
	// once it is): the new holder may get it again, as after a crash.
	if m := third.next(t); m.Content == "before" {
		assert.Equal(t, "third", third.next(t).Content)
	} else {
		assert.Equal(t, "third", m.Content)
	}
	require.ErrorIs(t, third.shutdown(t), context.Canceled)
	l, err := store.Lock(t.Context())
	require.NoError(t, err, "the lease is released when Run returns")
	require.NoError(t, l.Release(t.Context()))
	assert.False(t, errors.Is(l.Err(), wechat.ErrLeaseLost))
}

// TestRefusedSaveStopsRun: a SessionLocker refuses a save with ErrLeaseLost (a newer token
// was issued) while the Lease it gave has not ended yet: Run stops at once, as when the Lease
// ends, instead of syncing and sending beside the newer holder.
func TestRefusedSaveStopsRun(t *testing.T) {
	t.Parallel()
	store := &memLocker{}
	ts := setup(t, withClient(wechat.WithSessionStore(store)))
	ts.srv.Deliver(wechattest.Text("friend", "before"))
	ts.next(t)
	store.mu.Lock()
	store.token++ // revoked in the store; the holder's lease has not noticed
	store.mu.Unlock()
	ts.srv.Deliver(wechattest.Text("friend", "after")) // handled, then its save is refused
	ts.next(t)
	done := make(chan error, 1)
	go func() { done <- ts.wait(t) }()
	select {
	case err := <-done:
		require.ErrorIs(t, err, wechat.ErrLeaseLost)
	case <-time.After(5 * time.Second):
		t.Fatal("Run still runs 5 s after its save was refused with ErrLeaseLost")
	}
}
