package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

func TestMain(m *testing.M) {
	if os.Getenv("WECHATTEST_CHILD") == "echo" {
		os.Exit(echoChild(os.Stdout, os.Stderr))
	}
	goleak.VerifyTestMain(m)
}

// tinyJPEG is a 1x1 JPEG.
var tinyJPEG, _ = base64.StdEncoding.DecodeString("/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=")

// echoChild is the bot of TestProxyEnvironment, run in a process of its
// own: our client with no option that touches the network, so that it
// reaches "WeChat" only through HTTPS_PROXY and trusts only what
// SSL_CERT_FILE holds. It logs in, loads the contacts and the members of
// "Test Group", prints READY, answers the first text with a text and an
// image, and exits.
func echoChild(stdout, stderr io.Writer) int {
	c := wechat.New(wechat.WithQRHandler(func(q wechat.QRCode) { fmt.Fprintln(stderr, "child: QR", q.UUID) }))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c.HandleFunc(wechat.IsText, func(ctx context.Context, m *wechat.Message) error {
		if m.IsSelf {
			return nil
		}
		if _, err := c.SendText(ctx, m.ChatUserName, "echo: "+m.Content); err != nil {
			return err
		}
		if _, err := c.SendImage(ctx, m.ChatUserName, "pic.jpg", bytes.NewReader(tinyJPEG)); err != nil {
			return err
		}
		cancel()
		return nil
	})
	ready := make(chan error, 1)
	go func() {
		if err := c.WaitContacts(ctx); err != nil {
			ready <- err
			return
		}
		groups := c.ContactsByName("Test Group")
		if len(groups) != 1 {
			ready <- fmt.Errorf("%d groups named Test Group", len(groups))
			return
		}
		members, err := c.GroupMembers(ctx, groups[0].UserName)
		if err != nil {
			ready <- err
			return
		}
		var names []string
		for _, ct := range c.Contacts() {
			names = append(names, ct.NickName)
		}
		fmt.Fprintf(stdout, "CONTACTS %d MEMBERS %d %q\nREADY\n", len(names), len(members), names)
		ready <- nil
	}()
	err := c.Run(ctx)
	if rerr := <-ready; rerr != nil && !errors.Is(rerr, context.Canceled) {
		fmt.Fprintln(stderr, "child:", rerr)
		return 1
	}
	if !errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "child: Run:", err)
		return 1
	}
	return 0
}

// started is a run of the command in the test's process.
type started struct {
	addrs  addrs
	done   chan error
	cancel context.CancelFunc
	stderr *syncBuffer
}

// start runs the command with args plus listen addresses of its own and
// waits until it listens.
func start(t *testing.T, args ...string) *started {
	t.Helper()
	dir := t.TempDir()
	addrFile := filepath.Join(dir, "addrs.json")
	args = append([]string{"-proxy", "127.0.0.1:0", "-admin", "127.0.0.1:0", "-ca", filepath.Join(dir, "ca.pem"), "-addr-file", addrFile}, args...)
	ctx, cancel := context.WithCancel(context.Background())
	s := &started{done: make(chan error, 1), cancel: cancel, stderr: &syncBuffer{}}
	go func() { s.done <- run(ctx, args, io.Discard, s.stderr) }()
	t.Cleanup(func() {
		cancel()
		<-s.done
		s.done <- nil
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(addrFile)
		if err == nil && len(b) > 0 && json.Unmarshal(b, &s.addrs) == nil {
			return s
		}
		select {
		case err := <-s.done:
			t.Fatalf("the command ended: %v\n%s", err, s.stderr)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the command does not listen")
		}
	}
}

// call makes an admin API call and decodes its JSON answer into out.
func (s *started) call(t *testing.T, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.addrs.Admin+path, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil {
		require.NoError(t, json.Unmarshal(b, out), "%s %s: %s", method, path, b)
	}
	return resp.StatusCode
}

// TestProxyEnvironment is the end-to-end test of proxy mode: our own client,
// in a process of its own, configured only through HTTPS_PROXY and a CA
// bundle in SSL_CERT_FILE (net/http reads both from the environment, once
// per process), logs in with the scan the test confirms through the admin
// API, loads contacts and group members, receives a text and answers with
// a text and an uploaded image.
func TestProxyEnvironment(t *testing.T) {
	s := start(t, "-longpoll", "2s", "-strict", "-v")
	require.NotEmpty(t, s.addrs.Proxy)
	require.Equal(t, http.StatusOK, s.call(t, "POST", "/confirm", "", nil))

	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = []string{
		"WECHATTEST_CHILD=echo",
		"HTTPS_PROXY=" + s.addrs.Proxy,
		"SSL_CERT_FILE=" + s.addrs.CA,
		"HOME=" + t.TempDir(),
		"PATH=" + os.Getenv("PATH"),
	}
	var childErr syncBuffer
	cmd.Stderr = &childErr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	lines := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var contacts string
	for line := range lines {
		if strings.HasPrefix(line, "CONTACTS") {
			contacts, _, _ = strings.Cut(line, " [")
		}
		if line == "READY" {
			break
		}
	}
	require.NotEmpty(t, contacts, "the child did not load its contacts: %s", &childErr)
	assert.Equal(t, "CONTACTS 9 MEMBERS 4", contacts, "DefaultAccount: self, 6 contacts, 2 groups; Test Group has 4 members")

	var delivered map[string]int
	s.call(t, "POST", "/deliver", `{"From": "friend", "Text": "ping through the proxy"}`, &delivered)
	assert.Equal(t, 1, delivered["delivered"])
	var sent []wechattest.SentMessage
	require.Equal(t, http.StatusOK, s.call(t, "GET", "/sent?n=2&wait=60s", "", &sent), "child: %s", &childErr)
	require.Len(t, sent, 2)
	assert.Equal(t, "webwxsendmsg", sent[0].Endpoint)
	assert.Equal(t, "echo: ping through the proxy", sent[0].Content)
	assert.Equal(t, "friend", sent[0].To)
	assert.Equal(t, "webwxsendmsgimg", sent[1].Endpoint)
	var ups []uploadJSON
	s.call(t, "GET", "/uploads", "", &ups)
	require.Len(t, ups, 1)
	assert.Equal(t, int64(len(tinyJPEG)), ups[0].Size)
	assert.Equal(t, "pic", ups[0].MediaType)
	require.NoError(t, cmd.Wait(), "child: %s", &childErr)

	var rs []requestJSON
	s.call(t, "GET", "/requests", "", &rs)
	seen := map[string]bool{}
	for _, r := range rs {
		seen[r.Endpoint] = true
		assert.Empty(t, r.Reason, "%s %s%s", r.Method, r.Host, r.Path)
	}
	for _, ep := range []string{"jslogin", "login", "webwxnewloginpage", "webwxinit", "webwxstatusnotify", "webwxgetcontact",
		"webwxbatchgetcontact", "synccheck", "webwxsync", "webwxsendmsg", "webwxuploadmedia", "webwxsendmsgimg"} {
		assert.True(t, seen[ep], "no %s request reached the proxy", ep)
	}
	s.call(t, "POST", "/shutdown", "", nil)
	require.NoError(t, <-s.done, "strict mode found nothing: %s", s.stderr)
	s.done <- nil
}

// TestScenario seeds the fake from testdata/scenario.json (the README's
// example) and runs our client against it through the proxy, configured
// explicitly.
func TestScenario(t *testing.T) {
	s := start(t, "-scenario", filepath.Join("testdata", "scenario.json"), "-longpoll", "1s")
	ca, err := os.ReadFile(s.addrs.CA)
	require.NoError(t, err)
	var status map[string]any
	s.call(t, "GET", "/status", "", &status)
	assert.Equal(t, false, status["online"])
	var pem []byte
	resp, err := http.Get(s.addrs.Admin + "/ca.pem")
	require.NoError(t, err)
	pem, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, ca, pem)

	hc := proxyClient(t, s)
	got := make(chan string, 10)
	c := wechat.New(wechat.WithHTTPClient(hc), wechat.WithQRHandler(func(wechat.QRCode) {}))
	c.HandleFunc(wechat.IsText, func(ctx context.Context, m *wechat.Message) error {
		got <- m.Sender.NickName + ": " + m.Content
		return nil
	})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var texts []string
	for range 2 {
		select {
		case s := <-got:
			texts = append(texts, s)
		case err := <-done:
			t.Fatalf("Run: %v", err)
		}
	}
	assert.ElementsMatch(t, []string{"Alice: hello bot", "Carol: hi all"}, texts, "the scenario's messages, confirmed login")
	self, _ := c.Self()
	assert.Equal(t, "Echo Bot", self.NickName)

	var rs []requestJSON
	s.call(t, "GET", "/requests", "", &rs)
	faults := 0
	for _, r := range rs {
		if r.Fault != "" {
			assert.Equal(t, "BadGateway", r.Fault)
			assert.Equal(t, "synccheck", r.Endpoint)
			assert.Equal(t, http.StatusBadGateway, r.Status)
			faults++
		}
	}
	assert.Equal(t, 1, faults, "the scenario's fault")
	cancel()
	<-done
	hc.CloseIdleConnections()
}

// proxyClient is an HTTP client through the command's proxy that trusts its
// CA.
func proxyClient(t *testing.T, s *started) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(s.addrs.CA)
	require.NoError(t, err)
	return clientVia(t, s.addrs.Proxy, pem)
}

// clientVia is an HTTP client through the proxy at proxy that trusts the
// CA certificates in pem.
func clientVia(t *testing.T, proxy string, pem []byte) *http.Client {
	t.Helper()
	u, err := url.Parse(proxy)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem))
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{
		Transport: &http.Transport{Proxy: http.ProxyURL(u), TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true},
		Jar:       jar,
	}
}

func TestAdminAPI(t *testing.T) {
	s := start(t, "-longpoll", "1s")
	var errBody map[string]string
	assert.Equal(t, http.StatusBadRequest, s.call(t, "POST", "/deliver", `{"From": 1}`, &errBody))
	assert.NotEmpty(t, errBody["error"])
	assert.Equal(t, http.StatusBadRequest, s.call(t, "POST", "/fault", `{"endpoint": "nosuch", "fault": "Reset"}`, &errBody))
	assert.Contains(t, errBody["error"], "no such endpoint")
	assert.Equal(t, http.StatusBadRequest, s.call(t, "POST", "/fault", `{"endpoint": "synccheck", "fault": "Nope"}`, &errBody))
	assert.Equal(t, http.StatusBadRequest, s.call(t, "POST", "/fault", `{"endpoint": "synccheck", "fault": "Reset", "typo": 1}`, &errBody))
	assert.Equal(t, http.StatusBadRequest, s.call(t, "POST", "/end-session", `{}`, &errBody))
	assert.Equal(t, http.StatusGatewayTimeout, s.call(t, "GET", "/online?wait=10ms", "", &errBody))
	assert.Equal(t, http.StatusGatewayTimeout, s.call(t, "GET", "/qr?wait=10ms", "", &errBody))
	assert.Equal(t, http.StatusBadRequest, s.call(t, "GET", "/sent?n=x", "", &errBody))
	assert.Equal(t, http.StatusOK, s.call(t, "POST", "/fault", `{"endpoint": "webwxinit", "fault": "Delay", "duration": "100ms"}`, nil))
	assert.Equal(t, http.StatusOK, s.call(t, "POST", "/deliver", `[{"From": "alice", "Text": "one"}, {"From": "bob", "Text": "two"}]`, nil))

	// A client that logs in through the proxy, with the scan confirmed here.
	hc := proxyClient(t, s)
	c := wechat.New(wechat.WithHTTPClient(hc), wechat.WithQRHandler(func(wechat.QRCode) {}))
	got := make(chan string, 10)
	c.HandleFunc(wechat.IsText, func(ctx context.Context, m *wechat.Message) error {
		got <- m.Content
		_, err := c.SendText(ctx, m.ChatUserName, "re: "+m.Content)
		return err
	})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var qr map[string]string
	require.Equal(t, http.StatusOK, s.call(t, "GET", "/qr?n=1&wait=30s", "", &qr))
	assert.Equal(t, "https://login.weixin.qq.com/l/"+qr["uuid"], qr["url"])
	s.call(t, "POST", "/scan", "", nil)
	s.call(t, "POST", "/confirm", "", nil)
	require.Equal(t, http.StatusOK, s.call(t, "GET", "/online?wait=30s", "", nil))
	var sent []wechattest.SentMessage
	require.Equal(t, http.StatusOK, s.call(t, "GET", "/sent?n=2&wait=30s", "", &sent))
	assert.ElementsMatch(t, []string{"re: one", "re: two"}, []string{sent[0].Content, sent[1].Content})
	var acct wechattest.Account
	s.call(t, "GET", "/account", "", &acct)
	assert.Equal(t, "Me", acct.Self.NickName)

	var status map[string]any
	s.call(t, "GET", "/status", "", &status)
	assert.Equal(t, true, status["online"])
	assert.Equal(t, float64(2), status["sent"])

	require.Equal(t, http.StatusOK, s.call(t, "POST", "/end-session", `{"retcode": 1101}`, nil))
	select {
	case err := <-done:
		assert.ErrorIs(t, err, wechat.ErrLoggedOut)
	case <-ctx.Done():
		t.Fatal("Run did not end with the session")
	}
	var rs []requestJSON
	s.call(t, "GET", "/requests", "", &rs)
	delayed := 0
	for _, r := range rs {
		if r.Fault == "Delay" {
			delayed++
			assert.Equal(t, "webwxinit", r.Endpoint)
		}
	}
	assert.Equal(t, 1, delayed)
	hc.CloseIdleConnections()
}

// TestStrict: with -strict, a request for a host the fake does not serve
// makes the command fail when it stops.
func TestStrict(t *testing.T) {
	s := start(t, "-strict")
	hc := proxyClient(t, s)
	resp, err := hc.Get("https://example.com/")
	if err == nil {
		resp.Body.Close()
	}
	require.Error(t, err, "CONNECT to example.com is refused")
	hc.CloseIdleConnections()
	var status map[string]any
	s.call(t, "GET", "/status", "", &status)
	assert.Len(t, status["strict"], 1)
	s.call(t, "POST", "/shutdown", "", nil)
	err = <-s.done
	s.done <- nil
	require.Error(t, err)
	assert.Contains(t, err.Error(), "example.com")
}

func TestBadArguments(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"mainHost": "wx2.qq.com", "typo": true}`), 0o644))
	host := filepath.Join(dir, "host.json")
	require.NoError(t, os.WriteFile(host, []byte(`{"mainHost": "example.com"}`), 0o644))
	fault := filepath.Join(dir, "fault.json")
	require.NoError(t, os.WriteFile(fault, []byte(`{"faults": [{"endpoint": "synccheck", "fault": "Resend"}]}`), 0o644))
	for _, args := range [][]string{
		{"-nosuchflag"},
		{"extra"},
		{"-scenario", filepath.Join(dir, "missing.json")},
		{"-scenario", bad},
		{"-scenario", host},
		{"-scenario", fault},
		{"-proxy", "", "-admin", "256.0.0.1:1"},
	} {
		err := run(t.Context(), args, io.Discard, io.Discard)
		assert.Error(t, err, "%v", args)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
