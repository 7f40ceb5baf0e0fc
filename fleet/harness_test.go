package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/fleet"
	"github.com/wxkit/wechat/wechattest"
)

// memLocker is an in-memory SessionLocker of one account, with the lease semantics of a real
// store (see redisstore) and no server: a second Lock fails with ErrLeaseHeld, saves are
// fenced by the newest token, steal ends the lease as an expiry would.
type memLocker struct {
	mu      sync.Mutex
	s       *wechat.Session
	token   int64     // the newest token issued
	holder  *memLease // nil when free
	thief   bool      // held by someone outside the test (steal), until free
	lockErr error     // Lock fails with it when set (a store that is down)
	locks   int       // Lock calls
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
	m.locks++
	if m.lockErr != nil {
		return nil, m.lockErr
	}
	if m.holder != nil || m.thief {
		return nil, wechat.ErrLeaseHeld
	}
	m.token++
	m.holder = &memLease{l: m, token: m.token, done: make(chan struct{})}
	return m.holder, nil
}

// steal gives the lease to someone else until free: the holder loses it.
func (m *memLocker) steal() {
	m.mu.Lock()
	h := m.holder
	m.holder, m.thief = nil, true
	m.token++
	m.mu.Unlock()
	if h != nil {
		h.end(fmt.Errorf("memLocker: stolen: %w", wechat.ErrLeaseLost))
	}
}

// free ends the thief's lease.
func (m *memLocker) free() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.thief = false
}

func (m *memLocker) setLockErr(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lockErr = err
}

// held reports whether a lease of the test's runners is held.
func (m *memLocker) held() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.holder != nil
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

// bot is one account of a test: its fake WeChat server, its store, and what its handlers got.
type bot struct {
	name  string
	srv   *wechattest.Server
	store wechat.SessionLocker

	mu      sync.Mutex
	handled map[string]int // MsgID -> times handled
	runs    int            // Clients made
}

// bed is the accounts of a test and the factories a Runner needs for them.
type bed struct {
	t    *testing.T
	bots map[string]*bot
	opts []wechat.Option // for every Client, after the bed's own
	// ignoreStore makes clientFor leave the store out (a misconfigured factory).
	ignoreStore bool
}

// newBed makes a bot for each name, with a fake server (closed at cleanup) whose first login
// is confirmed, and the store newStore returns for it (a memLocker when newStore is nil).
func newBed(t *testing.T, newStore func(name string) wechat.SessionLocker, names ...string) *bed {
	b := &bed{t: t, bots: make(map[string]*bot)}
	for _, n := range names {
		srv := wechattest.NewServer(wechattest.WithLongPoll(200 * time.Millisecond))
		t.Cleanup(srv.Close)
		srv.ConfirmLogin()
		var st wechat.SessionLocker = &memLocker{}
		if newStore != nil {
			st = newStore(n)
		}
		b.bots[n] = &bot{name: n, srv: srv, store: st, handled: make(map[string]int)}
	}
	return b
}

func (b *bed) names() []string {
	var out []string
	for n := range b.bots {
		out = append(out, n)
	}
	return out
}

func (b *bed) storeFor(account string) wechat.SessionLocker { return b.bots[account].store }

// clientFor makes a Client of the account's fake that counts the texts it handles.
func (b *bed) clientFor(account string, st wechat.SessionLocker) *wechat.Client {
	bt := b.bots[account]
	bt.mu.Lock()
	bt.runs++
	bt.mu.Unlock()
	opts := []wechat.Option{
		wechat.WithHTTPClient(bt.srv.Client()),
		wechat.WithQRHandler(func(wechat.QRCode) {}),
		wechat.WithSendRate(0, 0),
		wechat.WithShutdownGrace(time.Second),
	}
	if !b.ignoreStore {
		opts = append(opts, wechat.WithSessionStore(st))
	}
	c := wechat.New(append(opts, b.opts...)...)
	c.HandleFunc(wechat.IsText, func(ctx context.Context, m *wechat.Message) error {
		bt.mu.Lock()
		bt.handled[m.Content]++
		bt.mu.Unlock()
		return nil
	})
	return c
}

// runner is a Runner of the test, running, with the events it reported.
type runner struct {
	*fleet.Runner
	events chan fleet.Event
	done   chan error
	stop   context.CancelFunc
}

// start runs a Runner of the bed's accounts (unless opts name others) with a 50 ms scan
// interval; it is stopped at cleanup.
func (b *bed) start(opts ...fleet.Option) *runner {
	t := b.t
	r := &runner{events: make(chan fleet.Event, 1000), done: make(chan error, 1)}
	all := append([]fleet.Option{
		fleet.WithAccounts(b.names()...),
		fleet.WithScanInterval(50 * time.Millisecond),
		fleet.WithEventHandler(func(e fleet.Event) {
			t.Logf("event: %v", e)
			r.events <- e
		}),
	}, opts...)
	r.Runner = fleet.New(b.storeFor, b.clientFor, all...)
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	go func() { r.done <- r.Run(ctx) }()
	t.Cleanup(func() { r.shutdown(t) })
	return r
}

// shutdown stops the Runner and checks that Run returned context.Canceled. It may be
// called more than once.
func (r *runner) shutdown(t *testing.T) {
	t.Helper()
	r.stop()
	select {
	case err, ok := <-r.done:
		if ok {
			require.ErrorIs(t, err, context.Canceled)
			close(r.done)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return 20 s after its ctx ended")
	}
}

// next returns the next event matching ok, failing t after 20 s.
func (r *runner) next(t *testing.T, ok func(fleet.Event) bool) fleet.Event {
	t.Helper()
	limit := time.After(20 * time.Second)
	for {
		select {
		case e := <-r.events:
			if ok(e) {
				return e
			}
		case <-limit:
			t.Fatal("no such event within 20 s")
			return fleet.Event{}
		}
	}
}

func is(kind fleet.EventKind, account string) func(fleet.Event) bool {
	return func(e fleet.Event) bool { return e.Kind == kind && (account == "" || e.Account == account) }
}

// waitFor polls cond every 10 ms until it holds, failing t after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(limit)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%s: not within %v", what, limit)
		}
	}
}

// deliver delivers n texts "<prefix>-<i>" to the bot from friend, alice and bob in turn.
func (b *bot) deliver(prefix string, n int) []string {
	from := []string{"friend", "alice", "bob"}
	var out []string
	for i := range n {
		text := fmt.Sprintf("%s-%d", prefix, i)
		b.srv.Deliver(wechattest.Text(from[i%len(from)], text))
		out = append(out, text)
	}
	return out
}

// waitHandled waits until every text was handled at least once, and returns how many were
// handled more than once.
func (b *bot) waitHandled(t *testing.T, limit time.Duration, texts []string) (dups int) {
	t.Helper()
	waitFor(t, limit, b.name+": every message handled", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, x := range texts {
			if b.handled[x] == 0 {
				return false
			}
		}
		return true
	})
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, x := range texts {
		dups += b.handled[x] - 1
	}
	return dups
}

var errDown = errors.New("store down")
