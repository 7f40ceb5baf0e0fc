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
	"net/url"
	"strings"
	"sync"
	"time"
)

// A Server is an in-memory fake of the Web WeChat servers: the login, main,
// file and push hosts of PROTOCOL.md. It opens no sockets and runs no
// goroutines of its own; requests reach it through [Server.Client],
// [Server.ServeHTTP] or a [Proxy]. Tests drive the phone side with
// [Server.ConfirmLogin], [Server.Deliver] and friends (driver.go), inject
// failures with [Server.Inject] (faults.go), and inspect what the client did
// with [Server.Sent], [Server.Uploads] and [Server.Requests].
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
	refusal *loginRefusal      // next webwxnewloginpage answer, if set
	tickets map[string]*qrCode // login tickets by value

	logins   int        // sessions created so far
	sess     *session   // current session, nil before the first login
	sessions []*session // every session, the current one last
	pending  []event    // delivered while no session was live

	bufs         sync.Pool // *bytes.Buffer for encoding JSON answers (serveJSON)
	uploadBodies sync.Pool // *[]byte for the bodies of the transport that recyclesBody

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
	logf      func(format string, args ...any)
	fail      func(format string, args ...any)
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

// WithLogf makes the server explain itself through logf, typically a
// test's t.Logf: every refusal with its code and reason, every injected
// fault it serves, and every request for a path or host it does not serve.
// logf is called with the server's lock held, so it must not call the
// server; it is not called once [Server.Close] has been called, so a
// server closed before its test ends never logs after it. A nil logf, the
// default, means silence.
func WithLogf(logf func(format string, args ...any)) Option {
	return func(c *config) { c.logf = logf }
}

// WithStrict makes every request for a path or host the server does not
// serve call fail, typically a test's t.Errorf, besides being answered as
// the real server would (a 404 page, or a transport error for a host that is
// not a Web WeChat host): a client that calls an endpoint the fake does not
// know then fails its test instead of passing on a quiet 404. fail is
// called like the logf of [WithLogf], with the lock held and never after
// [Server.Close]; it must be safe to call from any goroutine (t.Errorf is,
// t.Fatalf is not). A nil fail, the default, means such requests are only
// logged.
func WithStrict(fail func(format string, args ...any)) Option {
	return func(c *config) { c.fail = fail }
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
		uploadBodies: sync.Pool{New: func() any {
			b := make([]byte, 0, chunkSize+4<<10+bytes.MinRead) // a chunk and its form fields
			return &b
		}},
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

// ServeHTTP serves one request, routed on r.Host (or r.URL.Host) and the
// path, as the real hosts would answer it. Every request is recorded
// ([Server.Requests]). Requests that a real server would not answer (after
// [Server.Close], or for a host made unreachable) abort with
// http.ErrAbortHandler, which net/http turns into a dropped connection.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	host = canonicalHost(host)
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = requestBody(r); err != nil {
			// The client went away while sending: no request reached the server, so none
			// is recorded (nor refused).
			panic(http.ErrAbortHandler)
		}
	}
	sw := &statusWriter{ResponseWriter: w}
	x := &exchange{w: sw, r: r, host: host, body: body, ep: endpointOf(host, r.URL.Path)}

	s.mu.Lock()
	if s.closed || s.unreachable[host] {
		s.mu.Unlock()
		panic(http.ErrAbortHandler)
	}
	x.idx = len(s.requests)
	s.requests = append(s.requests, Request{
		Method:   r.Method,
		Host:     host,
		Path:     r.URL.Path,
		Endpoint: x.ep,
		Query:    r.URL.Query(),
		Header:   r.Header.Clone(),
		Body:     s.loggedBody(r.URL.Path, body),
	})
	f := s.takeFaultLocked(x)
	s.mu.Unlock()
	defer s.recordStatus(x, sw)

	if f != nil {
		s.serveFault(x, f)
		return
	}
	s.route(x)
}

// route serves x with the handler of its endpoint.
func (s *Server) route(x *exchange) {
	switch x.ep {
	case "jslogin":
		s.serveJSLogin(x)
	case "login":
		s.serveLoginPoll(x)
	case "qrcode":
		s.serveQRImage(x)
	case "webwxnewloginpage":
		s.serveNewLoginPage(x)
	case "webwxpushloginurl":
		s.servePushLogin(x)
	case "webwxlogout":
		s.serveLogout(x)
	case "synccheck":
		s.serveSyncCheck(x)
	case "webwxgetcontact":
		s.serveGetContact(x)
	case "webwxuploadmedia":
		s.serveUpload(x)
	case "webwxgetmedia":
		s.serveGetMedia(x)
	case "":
		s.serveUnknown(x)
	default:
		if isMediaEndpoint(x.ep) {
			s.serveMedia(x)
			return
		}
		ep, _ := jsonEndpointFor(x.ep)
		s.serveJSON(x, ep)
	}
}

// serveUnknown answers a path no host of the server serves: 404 with a
// small HTML page, as the real hosts do. It is logged, and fails the test
// with [WithStrict].
func (s *Server) serveUnknown(x *exchange) {
	s.mu.Lock()
	s.noteLocked(x, 0, "no such endpoint on this host")
	s.unknownLocked("%s https://%s%s: no such endpoint on this host; answered 404", x.r.Method, x.host, x.r.URL.Path)
	s.mu.Unlock()
	notFound(x.w)
}

// Close shuts the server down: held long polls end at once with a
// transport error, and every later request fails like a request to a
// closed server. After Close the server no longer logs. Close is
// idempotent.
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

// Request is one request as the server received it, and how it answered.
type Request struct {
	Method string
	Host   string // without port
	Path   string
	// Endpoint names what the request was for, as [Server.Inject] names it:
	// the last element of the path ("webwxsync", "synccheck", "login" for
	// the login poll), "jslogin", or "qrcode". It is "" for a path the
	// server does not serve.
	Endpoint string
	Query    url.Values
	Header   http.Header // including the Cookie header the jar added
	Body     []byte

	// Status is the HTTP status of the answer; 0 while the request is
	// held, or when the connection dropped before the status was sent.
	Status int
	// Ret is the code of a refusal, as the answer carries it: the
	// BaseResponse.Ret, the synccheck retcode, the window.code of the
	// login poll, the <ret> of webwxnewloginpage, the ret of
	// webwxpushloginurl; or the code a [FaultCode] answered. It is 0 for
	// an answer that refused nothing, and for refusals that carry no code
	// (a 404 page, an empty media answer).
	Ret int
	// Reason says why the server refused the request, in words; it is ""
	// if the server did not refuse it.
	Reason string
	// Fault is the fault injected into this request's answer, 0 if none.
	Fault Fault
}

// Refused reports whether the server refused the request (Reason is set).
func (r Request) Refused() bool { return r.Reason != "" }

// Requests returns every request the server has received so far, in
// arrival order (held long polls included), with what the server answered.
// The slices and maps are shared with the server and must not be modified.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// exchange is one request being served.
type exchange struct {
	w    http.ResponseWriter
	r    *http.Request
	host string // canonical, without port
	body []byte
	ep   string // endpoint name, "" if unknown
	idx  int    // index of its Request in Server.requests

	// mod is a fault that changes the real answer (FaultResend,
	// FaultSyncKeyBack, FaultSyncKeyEmpty), taken by the handler when it
	// has an answer to change; skew is the FaultClockSkew of the answer.
	mod  *injected
	skew time.Duration
}

// now is the time as the server's clock tells it for this answer.
func (x *exchange) now() time.Time { return time.Now().Add(x.skew) }

// noteLocked records a refusal of x: the code its answer carries (0 for
// none) and the reason, and logs it; s.mu must be held.
func (s *Server) noteLocked(x *exchange, ret int, reason string) {
	rq := &s.requests[x.idx]
	rq.Ret, rq.Reason = ret, reason
	if ret != 0 {
		s.logfLocked("refused %s https://%s%s with %d: %s", x.r.Method, x.host, x.r.URL.Path, ret, reason)
	} else {
		s.logfLocked("refused %s https://%s%s: %s", x.r.Method, x.host, x.r.URL.Path, reason)
	}
}

// note is noteLocked for callers that do not hold s.mu.
func (s *Server) note(x *exchange, ret int, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noteLocked(x, ret, reason)
}

// logfLocked logs through WithLogf; s.mu must be held.
func (s *Server) logfLocked(format string, args ...any) {
	if s.cfg.logf != nil && !s.closed {
		s.cfg.logf("wechattest: "+format, args...)
	}
}

// unknownLocked reports a request for a path or host the server does not
// serve: logged, and a failure with WithStrict; s.mu must be held.
func (s *Server) unknownLocked(format string, args ...any) {
	s.logfLocked(format, args...)
	if s.cfg.fail != nil && !s.closed {
		s.cfg.fail("wechattest: strict: "+format, args...)
	}
}

// recordStatus stores the status x was answered with.
func (s *Server) recordStatus(x *exchange, sw *statusWriter) {
	s.mu.Lock()
	s.requests[x.idx].Status = sw.status
	s.mu.Unlock()
}

// statusWriter remembers the status written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher, for the faults that send part of a body.
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

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

// sleep waits d, or until the request's context ends, the server closes or
// host becomes unreachable; it reports whether the whole d passed. Its timer
// runs in the caller's goroutine, so inside a testing/synctest bubble d
// takes no real time.
func (s *Server) sleep(x *exchange, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		s.mu.Lock()
		gone := s.closed || s.unreachable[x.host]
		wake := s.wake
		s.mu.Unlock()
		if gone {
			return false
		}
		select {
		case <-t.C:
			return true
		case <-wake:
		case <-x.r.Context().Done():
			return false
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

// The endpoints, by host role (PROTOCOL 2).
const cgi = "/cgi-bin/mmwebwx-bin/"

// endpointOf names the endpoint a request for path on host is for, or "".
func endpointOf(host, path string) string {
	role := hostRole(host)
	if role == roleLogin {
		switch {
		case path == "/jslogin":
			return "jslogin"
		case strings.HasPrefix(path, "/qrcode/"):
			return "qrcode"
		}
	}
	name, ok := strings.CutPrefix(path, cgi)
	if !ok {
		return ""
	}
	switch role {
	case roleLogin:
		// IC asks the login host for the push login (PROTOCOL 4.6).
		if name == "login" || name == "webwxpushloginurl" {
			return name
		}
	case rolePush:
		if name == "synccheck" {
			return name
		}
	case roleFile:
		if name == "webwxuploadmedia" || name == "webwxgetmedia" {
			return name
		}
	case roleMain:
		switch name {
		case "webwxnewloginpage", "webwxlogout", "webwxpushloginurl", "webwxgetcontact":
			return name
		}
		if isMediaEndpoint(name) {
			return name
		}
		if _, ok := jsonEndpointFor(name); ok {
			return name
		}
	}
	return ""
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

// IsWeChatHost reports whether host (a name, with or without a port) is one
// of the Web WeChat hosts the server serves: the main hosts, their login.,
// file., file2., webpush. and webpush2. hosts, and the legacy hosts of
// PROTOCOL 2.2.
func IsWeChatHost(host string) bool {
	return hostRole(canonicalHost(host)) != roleNone
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

// hostError is the transport error of a request for a host the server does
// not serve.
func hostError(host string) error {
	return &net.OpError{Op: "dial", Net: "tcp", Err: fmt.Errorf("wechattest: no route to host %q: not a Web WeChat host", host)}
}
