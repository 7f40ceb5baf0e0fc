package wechattest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// A Server is an in-memory fake of the Web WeChat servers: the login, main,
// file and push hosts of PROTOCOL.md. It opens no sockets and runs no
// goroutines of its own; requests reach it through [Server.Client] or
// [Server.ServeHTTP]. Tests drive the phone side with [Server.ConfirmLogin],
// [Server.Deliver] and friends, and inspect what the client did with
// [Server.Sent], [Server.Uploads] and [Server.Requests].
//
// A Server is safe for concurrent use by multiple goroutines.
type Server struct {
	cfg  config
	acct *index // guarded by mu: the contact operations change it

	mu          sync.Mutex
	wake        chan struct{} // closed and replaced on every state change
	closed      bool
	unreachable map[string]bool
	requests    []Request
	faults      []*injected // injected faults, oldest first (faults.go)

	serial int64 // source of deterministic ids
	msgSeq int64 // last MsgId handed out

	qrs     map[string]*qrCode // by uuid
	qrList  []*qrCode          // in the order jslogin issued them
	intent  phoneIntent        // phone actions waiting for the next QR
	refusal *refusal           // next webwxnewloginpage answer, if set
	tickets map[string]*qrCode // login tickets by value

	logins   int        // sessions created so far
	sess     *session   // current session, nil before the first login
	sessions []*session // every session, the current one last
	pending  []event    // delivered while no session was live

	sent    []SentMessage
	uploads []Upload
	media   map[string]bool // MediaIds the server knows (uploads, deliveries)
	files   fileState       // downloads, big uploads, revoke window, send limit (media*.go)
}

// An Option configures a Server. Options are applied in order; the last wins.
type Option func(*config)

type config struct {
	account   Account
	mainHost  string
	longPoll  time.Duration
	pageSize  int
	batchSize int
	banned    bool
	files     fileConfig // media_upload.go
}

const (
	defaultMainHost  = "wx2.qq.com"
	defaultLongPoll  = 2 * time.Second
	defaultPageSize  = 800
	defaultBatchSize = 30
)

// WithAccount makes the server serve account a instead of [DefaultAccount].
// The server works on a copy of a.
func WithAccount(a Account) Option {
	return func(c *config) { c.account = a }
}

// WithMainHost sets the main host the login redirect points to (PROTOCOL
// 2.2): one of wx.qq.com, wx2.qq.com (the default), wx8.qq.com,
// web.wechat.com and web2.wechat.com. The login, file and push hosts follow
// from it. [NewServer] panics on any other host; an empty host means the
// default.
func WithMainHost(host string) Option {
	return func(c *config) { c.mainHost = host }
}

// WithLongPoll sets how long the login poll and synccheck hold a request
// when nothing happens (the real server holds about 25 s). The default is
// 2 s; d <= 0 means the default.
func WithLongPoll(d time.Duration) Option {
	return func(c *config) { c.longPoll = d }
}

// WithContactPageSize sets the number of contacts per webwxgetcontact page.
// The default is 800; n <= 0 means the default.
func WithContactPageSize(n int) Option {
	return func(c *config) { c.pageSize = n }
}

// WithSyncBatchSize sets the maximum number of AddMsgList entries per
// webwxsync answer; when more are pending the answer has ContinueFlag 1.
// The default is 30; n <= 0 means the default.
func WithSyncBatchSize(n int) Option {
	return func(c *config) { c.batchSize = n }
}

// WithWebLoginBanned makes the account one that the web login refuses:
// webwxnewloginpage answers ret 1203 (PROTOCOL 4.4) unless the request
// carries the UOS desktop headers client-version: 2.0.0 and the extspam
// value of PROTOCOL 4.5.
func WithWebLoginBanned() Option {
	return func(c *config) { c.banned = true }
}

// NewServer returns a Server ready to serve, configured by opts. It panics
// if [WithMainHost] names a host that is not a Web WeChat main host.
func NewServer(opts ...Option) *Server {
	cfg := config{account: DefaultAccount()}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.mainHost == "" {
		cfg.mainHost = defaultMainHost
	}
	cfg.mainHost = strings.ToLower(cfg.mainHost)
	if !isMainHost(cfg.mainHost) {
		panic("wechattest: WithMainHost: not a Web WeChat main host: " + cfg.mainHost)
	}
	if cfg.longPoll <= 0 {
		cfg.longPoll = defaultLongPoll
	}
	if cfg.pageSize <= 0 {
		cfg.pageSize = defaultPageSize
	}
	if cfg.batchSize <= 0 {
		cfg.batchSize = defaultBatchSize
	}
	return &Server{
		cfg:         cfg,
		acct:        newIndex(cfg.account),
		wake:        make(chan struct{}),
		unreachable: make(map[string]bool),
		qrs:         make(map[string]*qrCode),
		tickets:     make(map[string]*qrCode),
		media:       make(map[string]bool),
	}
}

// Client returns a new *http.Client whose transport hands every request for
// a Web WeChat host (login.wx.qq.com, login.weixin.qq.com, wx.qq.com,
// wx2.qq.com, wx8.qq.com, web.wechat.com, web2.wechat.com, their login.,
// file., file2., webpush. and webpush2. hosts, and the legacy push hosts of
// PROTOCOL 2.2) to s.ServeHTTP, synchronously in the calling goroutine, so
// long polls end with the request's context and the client works inside a
// testing/synctest bubble. Requests for other hosts, for a host made
// unreachable with [Server.SetUnreachable], or made after [Server.Close]
// fail with a transport error.
//
// Each call returns a client with a fresh cookie jar (net/http/cookiejar
// with a nil PublicSuffixList, which accepts Domain=.qq.com) and a
// CheckRedirect that returns http.ErrUseLastResponse, as PROTOCOL 3.6
// requires of a real client.
func (s *Server) Client() *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		// cookiejar.New never fails with nil options.
		panic(err)
	}
	return &http.Client{
		Transport: &transport{s: s},
		Jar:       jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// ErrClosed is returned by the Wait methods of a closed [Server], and
// wrapped in the transport error of requests made after [Server.Close].
var ErrClosed = errors.New("wechattest: server closed")

// transport routes requests to a Server in memory.
type transport struct{ s *Server }

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (resp *http.Response, err error) {
	var body []byte
	if req.Body != nil {
		body, err = readBody(req.Body, req.ContentLength)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	host := canonicalHost(req.URL.Host)
	if !isWeChatHost(host) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: fmt.Errorf("wechattest: no route to host %q", host)}
	}
	if err := t.s.reachable(host); err != nil {
		return nil, err
	}
	sr := req.Clone(req.Context())
	sr.Host = host
	sr.RequestURI = req.URL.RequestURI()
	sr.RemoteAddr = "192.0.2.1:1234"
	sr.Body = &memBody{bytes.NewReader(body), body}
	sr.ContentLength = int64(len(body))
	if sr.Header == nil {
		sr.Header = make(http.Header)
	}

	rec := httptest.NewRecorder()
	if aborted := serveCatchingAbort(t.s, rec, sr); aborted {
		if err := req.Context().Err(); err != nil {
			return nil, err
		}
		if err := t.s.reachable(host); err != nil {
			return nil, err
		}
		if rec.Flushed {
			// The headers and part of the body went out before the
			// connection dropped (FaultReset): the body breaks off.
			resp = rec.Result()
			resp.Body = &cutBody{data: rec.Body.Bytes()}
			resp.Request = req
			return resp, nil
		}
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: errors.New("wechattest: connection reset by peer")}
	}
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	resp = rec.Result()
	resp.Request = req
	return resp, nil
}

// serveCatchingAbort calls s.ServeHTTP and reports whether the handler
// aborted with http.ErrAbortHandler (a dropped connection).
func serveCatchingAbort(s *Server, w http.ResponseWriter, r *http.Request) (aborted bool) {
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				panic(v)
			}
			aborted = true
		}
	}()
	s.ServeHTTP(w, r)
	return false
}

// reachable returns the transport error for a request to host, or nil.
func (s *Server) reachable(host string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return &net.OpError{Op: "dial", Net: "tcp", Err: ErrClosed}
	}
	if s.unreachable[host] {
		return &net.OpError{Op: "dial", Net: "tcp", Err: fmt.Errorf("wechattest: host %s is unreachable", host)}
	}
	return nil
}

// ServeHTTP serves one request, routed on r.Host and the path. Requests
// that a real server would not answer (after [Server.Close], or for a host
// made unreachable) abort with http.ErrAbortHandler, which net/http turns
// into a dropped connection.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	host = canonicalHost(host)
	var body []byte
	if r.Body != nil {
		body = requestBody(r)
	}

	s.mu.Lock()
	if s.closed || s.unreachable[host] {
		s.mu.Unlock()
		panic(http.ErrAbortHandler)
	}
	s.requests = append(s.requests, Request{
		Method: r.Method,
		Host:   host,
		Path:   r.URL.Path,
		Query:  r.URL.Query(),
		Header: r.Header.Clone(),
		Body:   s.loggedBody(r.URL.Path, body),
	})
	s.mu.Unlock()
	if s.serveFault(w, r, host, body) {
		return
	}

	const cgi = "/cgi-bin/mmwebwx-bin/"
	path := r.URL.Path
	switch role := hostRole(host); {
	case role == roleLogin && path == "/jslogin":
		s.serveJSLogin(w, r)
	case role == roleLogin && path == cgi+"login":
		s.serveLoginPoll(w, r, host)
	case role == roleLogin && strings.HasPrefix(path, "/qrcode/"):
		s.serveQRImage(w, r)
	case role == rolePush && path == cgi+"synccheck":
		s.serveSyncCheck(w, r, host)
	case role == roleFile && path == cgi+"webwxuploadmedia":
		s.serveUpload(w, r, host, body)
	case role == roleFile && path == cgi+"webwxgetmedia":
		s.serveGetMedia(w, r, host)
	case role == roleMain && path == cgi+"webwxcheckupload":
		s.serveJSON(w, r, host, body, checkUploadEndpoint)
	case role == roleMain && isMediaEndpoint(strings.TrimPrefix(path, cgi)):
		s.serveMedia(w, r, host, strings.TrimPrefix(path, cgi))
	case role == roleMain && path == cgi+"webwxnewloginpage":
		s.serveNewLoginPage(w, r, host)
	case role == roleMain && path == cgi+"webwxlogout":
		s.serveLogout(w, r, host)
	case role == roleMain && path == cgi+"webwxpushloginurl":
		s.servePushLogin(w, r, host)
	case role == roleMain && path == cgi+"webwxgetcontact":
		s.serveGetContact(w, r, host)
	case role == roleMain && strings.HasPrefix(path, cgi):
		ep, ok := jsonEndpointFor(strings.TrimPrefix(path, cgi))
		if !ok {
			notFound(w)
			return
		}
		s.serveJSON(w, r, host, body, ep)
	default:
		notFound(w)
	}
}

// Close shuts the server down: held long polls end at once with a
// transport error, and every later request fails like a request to a
// closed server. Close is idempotent.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.broadcastLocked()
}

// SetUnreachable makes requests to host fail with a transport error while
// down is true, as if the host could not be reached (to test the fallback
// hosts of PROTOCOL 2.2). Requests held on that host end at once.
func (s *Server) SetUnreachable(host string, down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	host = canonicalHost(host)
	if down {
		s.unreachable[host] = true
	} else {
		delete(s.unreachable, host)
	}
	s.broadcastLocked()
}

// Request is one request as the server received it.
type Request struct {
	Method string
	Host   string // without port
	Path   string
	Query  url.Values
	Header http.Header // including the Cookie header the jar added
	Body   []byte
}

// Requests returns every request the server has received so far, in
// arrival order (held long polls included). The slices are shared with the
// server and must not be modified.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// broadcastLocked wakes every waiter; s.mu must be held.
func (s *Server) broadcastLocked() {
	close(s.wake)
	s.wake = make(chan struct{})
}

// waitFor blocks until cond (called with s.mu held) returns true, ctx ends
// (ctx.Err()) or the server is closed ([ErrClosed]). It never sleeps: it
// waits on the broadcast channel.
func (s *Server) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		if cond() {
			s.mu.Unlock()
			return nil
		}
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		wake := s.wake
		s.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// nextSerial returns a new number for deterministic ids; s.mu must be held.
func (s *Server) nextSerial() int64 {
	s.serial++
	return s.serial
}

// notFound answers 404 with a small HTML page, like the real hosts do for
// unknown paths.
func notFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusNotFound)
	io.WriteString(w, "<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1></body></html>")
}

// writeJS answers a JavaScript body (login poll, synccheck).
func writeJS(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/javascript")
	io.WriteString(w, body)
}

// writeJSONBody answers a JSON body, served as text/plain (PROTOCOL 3.8).
func writeJSONBody(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "text/plain")
	w.Write(b)
}

// Host roles (PROTOCOL 2).
type role int

const (
	roleNone role = iota
	roleLogin
	roleMain
	roleFile
	rolePush
)

// mainHosts are the Web WeChat main hosts.
var mainHosts = [...]string{"wx.qq.com", "wx2.qq.com", "wx8.qq.com", "web.wechat.com", "web2.wechat.com"}

// legacyHosts are the fallback hosts of PROTOCOL 2.2 that are not derived
// from a main host by a prefix.
var legacyHosts = [...]string{
	"login.weixin.qq.com", "webpush.weixin.qq.com", "webpush2.weixin.qq.com",
	"webpush.wechat.com", "webpush1.wechat.com", "webpush2.wechat.com",
}

// hostPrefixes are the prefixes that derive the other roles from a main host.
var hostPrefixes = [...]string{"login.", "file.", "file2.", "webpush.", "webpush2."}

func isMainHost(h string) bool {
	for _, m := range mainHosts {
		if h == m {
			return true
		}
	}
	return false
}

func isWeChatHost(h string) bool {
	return hostRole(h) != roleNone
}

// hostRole classifies a host name (lower case, no port).
func hostRole(h string) role {
	if isMainHost(h) {
		return roleMain
	}
	known := false
	for _, l := range legacyHosts {
		if h == l {
			known = true
		}
	}
	for _, p := range hostPrefixes {
		if rest, ok := strings.CutPrefix(h, p); ok && isMainHost(rest) {
			known = true
		}
	}
	if !known {
		return roleNone
	}
	switch {
	case strings.HasPrefix(h, "login."):
		return roleLogin
	case strings.HasPrefix(h, "file"):
		return roleFile
	case strings.HasPrefix(h, "webpush"):
		return rolePush
	}
	return roleNone
}

// derivedHosts returns the login, file and push hosts of a main host by the
// substring table of PROTOCOL 2.2 (first match wins).
func derivedHosts(main string) (login, file, push string) {
	switch {
	case strings.Contains(main, "wx2.qq.com"):
		return "login.wx2.qq.com", "file.wx2.qq.com", "webpush.wx2.qq.com"
	case strings.Contains(main, "wx8.qq.com"):
		return "login.wx8.qq.com", "file.wx8.qq.com", "webpush.wx8.qq.com"
	case strings.Contains(main, "qq.com"):
		return "login.wx.qq.com", "file.wx.qq.com", "webpush.wx.qq.com"
	case strings.Contains(main, "web2.wechat.com"):
		return "login.web2.wechat.com", "file.web2.wechat.com", "webpush.web2.wechat.com"
	case strings.Contains(main, "wechat.com"):
		return "login.web.wechat.com", "file.web.wechat.com", "webpush.web.wechat.com"
	}
	return "login.weixin.qq.com", "file.wx.qq.com", "webpush.weixin.qq.com"
}

// cookieDomain is the parent domain of the .qq.com / .wechat.com cookies.
func cookieDomain(main string) string {
	if strings.HasSuffix(main, "wechat.com") {
		return ".wechat.com"
	}
	return ".qq.com"
}

// canonicalHost lower-cases h and strips a port.
func canonicalHost(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return strings.ToLower(h)
}
