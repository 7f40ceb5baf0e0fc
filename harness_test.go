package wechat_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

// busyLimit is the number of requests after which the transport of recordTrips takes the
// server down: a client that busy-loops never blocks, so inside a synctest bubble the test
// would hang instead of failing.
const busyLimit = 3000

// testSession is the one end-to-end harness: a fake server and a client of it, logged in and
// running Run (unless told otherwise), whose handler records every message it receives.
// setup registers its cleanup: Run is stopped and waited for, the server closed.
type testSession struct {
	srv *wechattest.Server
	c   *wechat.Client

	msgs    chan *wechat.Message      // every message handled, in the order handled
	changes chan wechat.ContactChange // every contact change, with contactsReady
	done    chan error                // Run's result, once
	stop    context.CancelFunc        // ends Run's ctx
	busy    atomic.Bool               // with recordTrips: the client sent busyLimit requests

	mu    sync.Mutex
	byID  map[string]int // handled messages by MsgID
	seen  []string       // handled contents, in order
	trips []trip         // with recordTrips: the client's requests, as its transport saw them
}

// trip is one request of the client: its path, how long it took (fake time in a synctest
// bubble) and its error.
type trip struct {
	path string
	took time.Duration
	err  error
}

type setupConfig struct {
	server      []wechattest.Option
	client      []wechat.Option
	srv         *wechattest.Server
	beforeLogin func(*wechattest.Server)
	middleware  []wechat.Middleware
	handler     func(ctx context.Context, ts *testSession, m *wechat.Message) error
	transport   func(http.RoundTripper) http.RoundTripper
	trips       bool // record the requests, and guard against a busy loop
	contacts    bool // record contact changes; wait for the address book and the chat list
	noRun       bool // log in with Login only
	noLogin     bool // neither confirm the login nor wait for it
}

// A setupOption configures setup.
type setupOption func(*setupConfig)

// withServer passes options to wechattest.NewServer.
func withServer(o ...wechattest.Option) setupOption {
	return func(c *setupConfig) { c.server = append(c.server, o...) }
}

// withClient passes options to wechat.New.
func withClient(o ...wechat.Option) setupOption {
	return func(c *setupConfig) { c.client = append(c.client, o...) }
}

// onServer uses srv (a restart test's second client) instead of a new server; the caller
// closes it.
func onServer(srv *wechattest.Server) setupOption {
	return func(c *setupConfig) { c.srv = srv }
}

// beforeLogin calls f with the server before the client is made and the login confirmed:
// to queue a backlog, refuse the login or take a host down first.
func beforeLogin(f func(srv *wechattest.Server)) setupOption {
	return func(c *setupConfig) { c.beforeLogin = f }
}

// withMiddleware registers mw with Use before Run starts.
func withMiddleware(mw ...wechat.Middleware) setupOption {
	return func(c *setupConfig) { c.middleware = append(c.middleware, mw...) }
}

// withHandler makes the recording handler call h after recording, with the session it runs
// in, and return its error. h may use the session's client and stop at once: a resumed session
// delivers messages before setup has returned.
func withHandler(h func(ctx context.Context, ts *testSession, m *wechat.Message) error) setupOption {
	return func(c *setupConfig) { c.handler = h }
}

// withTransport wraps the fake's transport, to watch or hold the client's requests.
func withTransport(f func(http.RoundTripper) http.RoundTripper) setupOption {
	return func(c *setupConfig) { c.transport = f }
}

// recordTrips records every request of the client (see roundTrips) and guards against a
// busy loop: after busyLimit requests the server is closed, so that every later request
// fails and the client backs off, and the test fails at cleanup.
func recordTrips() setupOption { return func(c *setupConfig) { c.trips = true } }

// contactsReady records the contact changes the client reports (see waitChange), and makes
// setup wait until the address book is loaded and the sync has taken the chat list the
// server sends after login (StatusNotify code 4): a message delivered after it has arrived.
func contactsReady() setupOption { return func(c *setupConfig) { c.contacts = true } }

// loginOnly makes setup call Login instead of starting Run.
func loginOnly() setupOption { return func(c *setupConfig) { c.noRun = true } }

// notLoggedIn makes setup start Run without confirming the login or waiting for it.
func notLoggedIn() setupOption { return func(c *setupConfig) { c.noLogin = true } }

// setup returns a logged-in client of a fake server, running Run.
func setup(t testing.TB, opts ...setupOption) *testSession {
	t.Helper()
	var cfg setupConfig
	for _, o := range opts {
		o(&cfg)
	}
	srv := cfg.srv
	if srv == nil {
		srv = wechattest.NewServer(cfg.server...)
		t.Cleanup(srv.Close)
	}
	if cfg.beforeLogin != nil {
		cfg.beforeLogin(srv)
	}
	ts := &testSession{
		srv:  srv,
		msgs: make(chan *wechat.Message, 10000),
		done: make(chan error, 1),
		byID: make(map[string]int),
	}
	hc := srv.Client()
	if cfg.transport != nil {
		hc.Transport = cfg.transport(hc.Transport)
	}
	if cfg.trips {
		hc.Transport = ts.recording(hc.Transport)
	}
	copts := append([]wechat.Option{
		wechat.WithHTTPClient(hc),
		wechat.WithQRHandler(func(wechat.QRCode) {}),
	}, cfg.client...)
	if cfg.contacts {
		ts.changes = make(chan wechat.ContactChange, 1000)
		copts = append(copts, wechat.WithContactHandler(func(cc wechat.ContactChange) { ts.changes <- cc }))
	}
	ts.c = wechat.New(copts...)
	if len(cfg.middleware) > 0 {
		ts.c.Use(cfg.middleware...)
	}
	ts.c.HandleFunc(nil, func(ctx context.Context, m *wechat.Message) error {
		ts.mu.Lock()
		ts.byID[m.MsgID]++
		ts.seen = append(ts.seen, m.Content)
		ts.mu.Unlock()
		ts.msgs <- m
		if cfg.handler != nil {
			return cfg.handler(ctx, ts, m)
		}
		return nil
	})
	if !cfg.noLogin {
		srv.ConfirmLogin()
	}
	if cfg.noRun {
		require.NoError(t, ts.c.Login(t.Context()))
		ts.stop = func() {}
		return ts
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	ts.stop = cancel
	go func() { ts.done <- ts.c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-ts.done
		if cfg.trips {
			assert.False(t, ts.busy.Load(), "the client busy-looped: %d requests", busyLimit)
		}
	})
	if cfg.noLogin {
		return ts
	}
	ts.waitOnline(t)
	if cfg.contacts {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		require.NoError(t, ts.c.WaitContacts(ctx))
		srv.Deliver(wechattest.Text("filehelper", "ready"))
		ts.nextWhere(t, func(m *wechat.Message) bool { return m.Content == "ready" })
	}
	return ts
}

// recording returns a transport over next that records each request in ts.trips and trips
// the busy-loop guard of recordTrips.
func (ts *testSession) recording(next http.RoundTripper) http.RoundTripper {
	var n atomic.Int64
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if n.Add(1) == busyLimit {
			ts.busy.Store(true)
			ts.srv.Close() // every later request fails: the client backs off and the bubble moves on
		}
		start := time.Now()
		resp, err := next.RoundTrip(r)
		ts.mu.Lock()
		ts.trips = append(ts.trips, trip{r.URL.Path, time.Since(start), err})
		ts.mu.Unlock()
		return resp, err
	})
}

// waitOnline waits until the client is online.
func (ts *testSession) waitOnline(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	require.NoError(t, ts.c.WaitOnline(ctx))
}

// next returns the next message the handler received.
func (ts *testSession) next(t testing.TB) *wechat.Message {
	t.Helper()
	select {
	case m := <-ts.msgs:
		return m
	case err := <-ts.done:
		ts.done <- err // for the cleanup
		t.Fatalf("Run returned before a message arrived: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("no message within a minute")
	}
	return nil
}

// nextWhere returns the next message the handler received for which f is true, skipping the
// others.
func (ts *testSession) nextWhere(t testing.TB, f func(*wechat.Message) bool) *wechat.Message {
	t.Helper()
	for {
		if m := ts.next(t); f(m) {
			return m
		}
	}
}

// nextSystem returns the next system message (MsgType 10000), skipping the others.
func (ts *testSession) nextSystem(t testing.TB) wechat.System {
	t.Helper()
	m := ts.nextWhere(t, func(m *wechat.Message) bool { return m.MsgType == wechat.MsgTypeSys })
	sys, _ := m.System()
	return sys
}

// deliver delivers m and returns it as the handler got it.
func (ts *testSession) deliver(t testing.TB, m wechattest.Message) *wechat.Message {
	t.Helper()
	ts.srv.Deliver(m)
	return ts.next(t)
}

// collect waits for n more messages.
func (ts *testSession) collect(t testing.TB, n int) []*wechat.Message {
	t.Helper()
	out := make([]*wechat.Message, 0, n)
	for range n {
		out = append(out, ts.next(t))
	}
	return out
}

// collectWithin waits for n more messages, all of them within d (fake time in a synctest
// bubble).
func (ts *testSession) collectWithin(t testing.TB, n int, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for i := range n {
		select {
		case <-ts.msgs:
		case err := <-ts.done:
			ts.done <- err // for the cleanup
			t.Fatalf("Run returned after %d of %d messages: %v", i, n, err)
		case <-deadline:
			t.Fatalf("only %d of %d messages within %v", i, n, d)
		}
	}
}

// waitChange returns the next contact change for userName (with contactsReady), skipping the
// others.
func (ts *testSession) waitChange(t testing.TB, userName string) wechat.ContactChange {
	t.Helper()
	for {
		select {
		case cc := <-ts.changes:
			if cc.Contact.UserName == userName {
				return cc
			}
		case <-time.After(time.Minute):
			t.Fatalf("no contact change for %s within a minute", userName)
		}
	}
}

// shutdown ends Run's ctx and returns Run's error.
func (ts *testSession) shutdown(t testing.TB) error {
	t.Helper()
	ts.stop()
	return ts.wait(t)
}

// wait returns Run's error once it has returned.
func (ts *testSession) wait(t testing.TB) error {
	t.Helper()
	select {
	case err := <-ts.done:
		ts.done <- err // for the cleanup
		return err
	case <-time.After(time.Minute):
		t.Fatal("Run did not return within a minute")
	}
	return nil
}

// assertRunning checks that Run has not returned.
func (ts *testSession) assertRunning(t testing.TB) {
	t.Helper()
	select {
	case err := <-ts.done:
		ts.done <- err // for the cleanup
		t.Fatalf("Run returned: %v", err)
	default:
	}
}

// handled returns how many times each MsgID was handled.
func (ts *testSession) handled() map[string]int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	out := make(map[string]int, len(ts.byID))
	for id, n := range ts.byID {
		out[id] = n
	}
	return out
}

// contents returns the contents of the messages handled, in the order handled.
func (ts *testSession) contents() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return slices.Clone(ts.seen)
}

// roundTrips returns the requests recorded by recordTrips.
func (ts *testSession) roundTrips() []trip {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return slices.Clone(ts.trips)
}

// assertExactlyOnce checks that the handler got each of want once and nothing else.
func (ts *testSession) assertExactlyOnce(t testing.TB, want []wechattest.Message) {
	t.Helper()
	byText := map[string]int{}
	for _, c := range ts.contents() {
		byText[c]++
	}
	for _, m := range want {
		assert.Equal(t, 1, byText[m.Text], "message %q handled %d times", m.Text, byText[m.Text])
	}
	assert.Len(t, byText, len(want), "handled: %v", byText)
	byID := ts.handled()
	for id, n := range byID {
		assert.Equal(t, 1, n, "MsgID %s handled %d times", id, n)
	}
	assert.Len(t, byID, len(want))
}

// noQR is a client option that fails the test if a QR code is shown.
func noQR(t testing.TB) wechat.Option {
	return wechat.WithQRHandler(func(wechat.QRCode) { t.Error("a QR code was shown") })
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
