package wechat_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

// testSession is the one end-to-end harness: a fake server and a client of it, logged in and
// running Run (unless told otherwise), whose handler records every message it receives.
// setup registers its cleanup: Run is stopped and waited for, the server closed.
type testSession struct {
	srv *wechattest.Server
	c   *wechat.Client

	msgs chan *wechat.Message // every message handled, in the order handled
	done chan error           // Run's result, once
	stop context.CancelFunc   // ends Run's ctx

	mu   sync.Mutex
	byID map[string]int // handled messages by MsgID
	seen []string       // handled contents, in order
}

type setupConfig struct {
	server    []wechattest.Option
	client    []wechat.Option
	srv       *wechattest.Server
	handler   func(ctx context.Context, ts *testSession, m *wechat.Message) error
	transport func(http.RoundTripper) http.RoundTripper
	noRun     bool // log in with Login only
	noLogin   bool // neither confirm the login nor wait for it
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
	hc := srv.Client()
	if cfg.transport != nil {
		hc.Transport = cfg.transport(hc.Transport)
	}
	ts := &testSession{
		srv:  srv,
		msgs: make(chan *wechat.Message, 10000),
		done: make(chan error, 1),
		byID: make(map[string]int),
	}
	ts.c = wechat.New(append([]wechat.Option{
		wechat.WithHTTPClient(hc),
		wechat.WithQRHandler(func(wechat.QRCode) {}),
	}, cfg.client...)...)
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
	})
	if !cfg.noLogin {
		wctx, wcancel := context.WithTimeout(t.Context(), time.Minute)
		defer wcancel()
		require.NoError(t, ts.c.WaitOnline(wctx))
	}
	return ts
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

// collect waits for n more messages.
func (ts *testSession) collect(t testing.TB, n int) []*wechat.Message {
	t.Helper()
	out := make([]*wechat.Message, 0, n)
	for range n {
		out = append(out, ts.next(t))
	}
	return out
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
