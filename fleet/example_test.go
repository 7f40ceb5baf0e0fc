package fleet_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/fleet"
	"github.com/wxkit/wechat/wechattest"
)

// Run two accounts, each on its own fake server, with a store that leases each account to one
// Runner at a time (in production, a *redisstore.Store; see the package example).
func ExampleNew() {
	servers := map[string]*wechattest.Server{"desk-1": wechattest.NewServer(), "desk-2": wechattest.NewServer()}
	stores := map[string]*memStore{"desk-1": {}, "desk-2": {}}
	for _, srv := range servers {
		defer srv.Close()
		srv.ConfirmLogin() // the phone scans the first QR code of each account
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := fleet.New(
		func(account string) wechat.SessionLocker { return stores[account] },
		func(account string, store wechat.SessionLocker) *wechat.Client {
			c := wechat.New(wechat.WithSessionStore(store), wechat.WithHTTPClient(servers[account].Client()),
				wechat.WithQRHandler(func(wechat.QRCode) {}))
			c.HandleFunc(wechat.IsText, func(ctx context.Context, m *wechat.Message) error {
				fmt.Printf("%s got %q\n", account, m.Content)
				cancel()
				return nil
			})
			return c
		},
		fleet.WithAccounts("desk-1", "desk-2"),
	)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	for _, srv := range servers {
		_ = srv.WaitOnline(ctx)
	}
	fmt.Println("running", r.Accounts())
	servers["desk-2"].Deliver(wechattest.Text("friend", "hello"))
	fmt.Println(<-done)
	// Output:
	// running [desk-1 desk-2]
	// desk-2 got "hello"
	// context canceled
}

// memStore is an in-memory SessionLocker: the session of one account, and a lease that
// never expires.
type memStore struct {
	mu    sync.Mutex
	s     *wechat.Session
	token int64
	held  bool
}

func (m *memStore) Load(context.Context) (*wechat.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.s == nil {
		return nil, wechat.ErrNoSession
	}
	s := *m.s
	return &s, nil
}

func (m *memStore) Save(_ context.Context, s *wechat.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cp := *s
	m.s = &cp
	return nil
}

func (m *memStore) Clear(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.s = nil
	return nil
}

func (m *memStore) Lock(context.Context) (wechat.Lease, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.held {
		return nil, wechat.ErrLeaseHeld
	}
	m.held = true
	m.token++
	return &memStoreLease{m: m, token: m.token, done: make(chan struct{})}, nil
}

type memStoreLease struct {
	m     *memStore
	token int64
	once  sync.Once
	done  chan struct{}
}

func (l *memStoreLease) Token() int64          { return l.token }
func (l *memStoreLease) Done() <-chan struct{} { return l.done }

func (l *memStoreLease) Err() error {
	select {
	case <-l.done:
		return context.Canceled // released: this lease is never lost
	default:
		return nil
	}
}

func (l *memStoreLease) Release(context.Context) error {
	l.once.Do(func() {
		l.m.mu.Lock()
		l.m.held = false
		l.m.mu.Unlock()
		close(l.done)
	})
	return nil
}
