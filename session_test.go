package wechat_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
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

// TestRestartExactlyOnce: a client stopped after handling k of N messages and a new client on
// the same SessionStore together see every message exactly once, without a new QR scan.
func TestRestartExactlyOnce(t *testing.T) {
	t.Parallel()
	const n, k = 40, 13
	store := wechat.NewFileStore(filepath.Join(t.TempDir(), "bot.session"))
	chats := []string{"friend", "alice", "bob"}

	// First run: handles k messages, then stops.
	var handled atomic.Int32
	a := setup(t, withServer(wechattest.WithSyncBatchSize(7)), withClient(wechat.WithSessionStore(store)),
		withHandler(func(_ context.Context, s *testSession, _ *wechat.Message) error {
			if handled.Add(1) == k {
				s.stop()
			}
			return nil
		}))
	srv := a.srv
	var all []wechattest.Message
	for i := range n {
		all = append(all, wechattest.Text(chats[i%len(chats)], fmt.Sprint("m", i)))
	}
	srv.Deliver(all...)
	require.ErrorIs(t, a.wait(t), context.Canceled)
	got1 := a.contents()
	require.GreaterOrEqual(t, len(got1), k)

	// Second run, same store, new HTTP client (a new process): resumes, no QR code.
	b := setup(t, onServer(srv), withClient(noQR(t), wechat.WithSessionStore(store)))
	for _, c := range chats { // one more per chat: once they are in, everything before is too
		srv.Deliver(wechattest.Text(c, "last "+c))
	}
	for last := map[string]bool{"last friend": true, "last alice": true, "last bob": true}; len(last) > 0; {
		delete(last, b.next(t).Content)
	}
	require.ErrorIs(t, b.shutdown(t), context.Canceled)

	got2 := b.contents()
	count := map[string]int{}
	for _, c := range append(got1, got2...) {
		count[c]++
	}
	for i := range n {
		assert.Equal(t, 1, count[fmt.Sprint("m", i)], "m%d handled exactly once (first run %d, second %d)", i, len(got1), len(got2))
	}
	assert.Len(t, requestsTo(srv, "/jslogin"), 1, "the second run resumed without a QR login")
	assert.Len(t, requestsTo(srv, "/cgi-bin/mmwebwx-bin/webwxnewloginpage"), 1)
}

func TestSessionFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "bot.session")
	setup(t, withClient(wechat.WithSession(path)))

	st := wechat.NewFileStore(path)
	var s *wechat.Session
	require.Eventually(t, func() bool {
		var err error
		s, err = st.Load(t.Context())
		return err == nil && len(s.SyncKey) > 0
	}, 10*time.Second, 10*time.Millisecond)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	// The saver may be writing its next temporary file right now; what matters is that none
	// other than the session file is left once it has written.
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var files []string
	for _, e := range entries {
		// Temporary files are "." + name + "." + digits + ".tmp" (internal/atomicfile).
		if name := e.Name(); !strings.HasPrefix(name, "."+filepath.Base(path)+".") || !strings.HasSuffix(name, ".tmp") {
			files = append(files, e.Name())
		}
	}
	assert.Equal(t, []string{"bot.session"}, files)

	assert.Equal(t, "wx2.qq.com", s.MainHost)
	assert.Equal(t, "desktop", s.Mode)
	assert.NotEmpty(t, s.Sid)
	domains := map[string]bool{}
	for _, c := range s.Cookies {
		domains[c.Name+" "+c.Domain] = true
	}
	assert.True(t, domains["webwx_data_ticket .qq.com"], "cookie domains are kept: %v", domains)
	assert.True(t, domains["wxsid .wx2.qq.com"], "cookie domains are kept: %v", domains)
	// Printing or logging a Session never shows its secrets.
	var logs syncBuffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("session", "s", s)
	for _, out := range []string{s.String(), fmt.Sprint(s), logs.String()} {
		assert.NotContains(t, out, s.Sid)
		assert.NotContains(t, out, s.Skey)
		assert.NotContains(t, out, s.PassTicket)
	}

	_, err = wechat.NewFileStore(filepath.Join(dir, "missing")).Load(t.Context())
	assert.ErrorIs(t, err, wechat.ErrNoSession)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad"), []byte("{not json"), 0o600))
	_, err = wechat.NewFileStore(filepath.Join(dir, "bad")).Load(t.Context())
	assert.ErrorIs(t, err, wechat.ErrBadResponse)
}

// stopped runs a first client until it is online and saved, then stops it, and returns its
// server.
func stopped(t *testing.T, store wechat.SessionStore) *wechattest.Server {
	t.Helper()
	first := setup(t, withClient(wechat.WithSessionStore(store)))
	require.ErrorIs(t, first.shutdown(t), context.Canceled)
	return first.srv
}

// TestPushLogin: a stored session the server has ended falls back to push login: the phone
// gets a prompt, no QR code is shown.
func TestPushLogin(t *testing.T) {
	t.Parallel()
	store := wechat.NewFileStore(filepath.Join(t.TempDir(), "s"))
	srv := stopped(t, store)
	srv.EndSession(1101) // the session expired while the bot was down

	// setup confirms the prompt on the phone.
	b := setup(t, onServer(srv), withClient(noQR(t), wechat.WithSessionStore(store)))
	srv.Deliver(wechattest.Text("friend", "after push login"))
	assert.Equal(t, "after push login", b.next(t).Content)
	push := requestsTo(srv, "/cgi-bin/mmwebwx-bin/webwxpushloginurl")
	require.Len(t, push, 1)
	assert.Equal(t, "2212345678", push[0].Query.Get("uin"))
	assert.Equal(t, "desktop", push[0].Query.Get("mod"))
	assert.Len(t, requestsTo(srv, "/jslogin"), 1, "only the first run showed a QR code")
}

// TestPushLoginRefused: without the device's auth cookies the push login is refused (ret 3)
// and the client shows a QR code.
func TestPushLoginRefused(t *testing.T) {
	t.Parallel()
	store := wechat.NewFileStore(filepath.Join(t.TempDir(), "s"))
	srv := stopped(t, store)
	srv.EndSession(1101)
	s, err := store.Load(t.Context())
	require.NoError(t, err)
	s.Cookies = slices.DeleteFunc(s.Cookies, func(c wechat.Cookie) bool { return c.Name == "webwx_auth_ticket" })
	require.NoError(t, store.Save(t.Context(), s))

	qrs := make(chan wechat.QRCode, 2)
	b := setup(t, onServer(srv), notLoggedIn(),
		withClient(wechat.WithSessionStore(store), wechat.WithQRHandler(func(q wechat.QRCode) { qrs <- q })))
	<-qrs
	srv.ConfirmLogin()
	b.waitOnline(t)
	assert.Len(t, requestsTo(srv, "/cgi-bin/mmwebwx-bin/webwxpushloginurl"), 1)
	assert.Len(t, requestsTo(srv, "/jslogin"), 2)
}

func TestLogout(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s")
	var states []wechat.State
	var mu sync.Mutex
	ts := setup(t, loginOnly(), withClient(wechat.WithSession(path),
		wechat.WithStateHandler(func(sc wechat.StateChange) {
			mu.Lock()
			states = append(states, sc.State)
			mu.Unlock()
		})))
	srv, c := ts.srv, ts.c
	_, err := os.Stat(path)
	require.NoError(t, err, "the session is saved after login")
	require.NoError(t, c.Logout(t.Context()))
	_, err = os.Stat(path)
	assert.ErrorIs(t, err, os.ErrNotExist, "Logout clears the store")
	assert.Len(t, requestsTo(srv, "/cgi-bin/mmwebwx-bin/webwxlogout"), 1)
	_, err = c.SendText(t.Context(), "filehelper", "x")
	assert.ErrorIs(t, err, wechat.ErrNotLoggedIn)
	assert.ErrorIs(t, c.Logout(t.Context()), wechat.ErrNotLoggedIn)
	mu.Lock()
	assert.Equal(t, []wechat.State{wechat.StateLoggingIn, wechat.StateStopped, wechat.StateLoggedOut}, states)
	mu.Unlock()
}

func TestStateEvents(t *testing.T) {
	t.Parallel()
	events := make(chan wechat.StateChange, 10)
	b := setup(t, withClient(wechat.WithStateHandler(func(sc wechat.StateChange) { events <- sc })))
	srv := b.srv
	assert.Equal(t, wechat.StateLoggingIn, (<-events).State)
	assert.Equal(t, wechat.StateOnline, (<-events).State)
	assert.Equal(t, wechat.StateOnline, b.c.State())
	srv.EndSession(1102)
	sc := <-events
	assert.Equal(t, wechat.StateLoggedOut, sc.State)
	require.ErrorIs(t, sc.Err, wechat.ErrLoggedOut)
	var we *wechat.Error
	require.ErrorAs(t, sc.Err, &we)
	assert.Equal(t, 1102, we.Ret)
	require.ErrorIs(t, b.wait(t), wechat.ErrLoggedOut)
}

// TestAutoRelogin: with WithAutoRelogin, a session ended by the server is followed by a new
// login (push login here) and Run goes on.
func TestAutoRelogin(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, withClient(wechat.WithAutoRelogin(true)))
		srv := b.srv
		srv.EndSession(1101)
		synctest.Wait()
		srv.ConfirmLogin() // the user confirms the push-login prompt
		time.Sleep(time.Minute)
		require.NoError(t, srv.WaitOnline(t.Context()))
		srv.Deliver(wechattest.Text("friend", "second session"))
		assert.Equal(t, "second session", b.next(t).Content)
		assert.Len(t, requestsTo(srv, "/cgi-bin/mmwebwx-bin/webwxpushloginurl"), 1)
		b.assertRunning(t)
	})
}

// TestSkipBacklog: messages older than the login are not handled.
func TestSkipBacklog(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, withClient(wechat.WithSkipBacklog(true)), beforeLogin(func(srv *wechattest.Server) {
			srv.Deliver(wechattest.Text("friend", "old"))
			time.Sleep(10 * time.Second)
		}))
		synctest.Wait() // the backlog is fetched; the client holds the next synccheck
		b.srv.Deliver(wechattest.Text("friend", "new"))
		assert.Equal(t, "new", b.next(t).Content)
	})
}

// TestSkipBacklogJudgedBySyncPosition: the backlog is what the first webwxsync rounds after
// the login bring, whatever the clocks say: 1,000 live messages created a minute "before"
// the login (a server clock a minute behind) are all delivered; and a resumed session has no
// backlog: what arrived while the program was down is delivered.
func TestSkipBacklogJudgedBySyncPosition(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "session")
		b := setup(t, withClient(wechat.WithSkipBacklog(true), wechat.WithSession(path)), beforeLogin(func(srv *wechattest.Server) {
			srv.Deliver(wechattest.Text("friend", "old"))
		}))
		synctest.Wait() // the backlog is fetched; the client holds the next synccheck
		b.srv.Inject("webwxsync", wechattest.FaultSpec{Fault: wechattest.FaultClockSkew, Duration: -time.Minute}, 1000)
		live := make([]wechattest.Message, 1000)
		for i := range live {
			live[i] = wechattest.Text("alice", fmt.Sprint("live ", i))
		}
		b.srv.Deliver(live...)
		b.collectWithin(t, len(live), time.Minute)
		synctest.Wait()
		b.assertExactlyOnce(t, live)
		require.ErrorIs(t, b.shutdown(t), context.Canceled)

		b.srv.Deliver(wechattest.Text("friend", "while down"))
		again := setup(t, onServer(b.srv), withClient(wechat.WithSkipBacklog(true), wechat.WithSession(path), noQR(t)))
		assert.Equal(t, "while down", again.next(t).Content, "a resumed session skips nothing")
	})
}

func TestKeepalive(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := setup(t, withClient(wechat.WithKeepalive(time.Minute))).srv
		before := len(requestsTo(srv, "/cgi-bin/mmwebwx-bin/webwxstatusnotify"))
		time.Sleep(3*time.Minute + time.Second)
		assert.Equal(t, before+3, len(requestsTo(srv, "/cgi-bin/mmwebwx-bin/webwxstatusnotify")))
	})
}
