package wechat

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wxkit/wechat/internal/backoff"
)

// Client is a Web WeChat session: it logs in, keeps the session alive with the synccheck long
// poll, delivers incoming messages to the handlers registered with [Client.Handle], and sends
// messages.
//
// A Client is safe for concurrent use by multiple goroutines, with one exception: Handle,
// HandleFunc and Use must be called before Run. Run may not be called again while it runs.
type Client struct {
	cfg config
	hc  *http.Client
	log *slog.Logger
	ids idSource

	jar *recordingJar

	mu        sync.Mutex
	session   *session  // nil until Login succeeds; replaced, never mutated in place
	committed syncState // the keys a restart resumes from: every message before them handled
	state     State
	pushHint  pushHint // the last session's uin and host, for push login after it ended

	routes     []route
	middleware []Middleware

	contacts    contactStore
	sent        sentSet
	pacer       *pacer    // spaces sends (WithSendRate); nil when off
	handled     recentSet // MsgIds handled lately, persisted with the session
	running     atomic.Bool
	saveMu      sync.Mutex // serialises session saves
	bookMu      sync.Mutex // guards bookCache, bookVersion
	bookCache   []Contact  // the address book as last saved
	bookVersion uint64
	saveCh      chan struct{} // wakes saveLoop
}

// Mode selects the login variant (PROTOCOL 4.5).
type Mode int

const (
	// ModeDesktop logs in as the UOS desktop client: the same protocol with two extra headers
	// on webwxnewloginpage. It works for accounts that the plain web login refuses (ret 1203),
	// and is the default.
	ModeDesktop Mode = iota
	// ModeWeb is the classic wx.qq.com login.
	ModeWeb
)

// String returns "desktop" or "web".
func (m Mode) String() string {
	if m == ModeWeb {
		return "web"
	}
	return "desktop"
}

// DefaultUserAgent is the User-Agent sent when [WithUserAgent] is not used: a desktop browser,
// constant for the session as PROTOCOL 3.5 recommends.
const DefaultUserAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"

// DefaultExtspam is the extspam header value sent on webwxnewloginpage in [ModeDesktop]
// (PROTOCOL 4.5). [WithExtspam] overrides it if the server stops accepting it.
const DefaultExtspam = "Go8FCIkFEokFCggwMDAwMDAwMRAGGvAESySibk50w5Wb3uTl2c2h64jVVrV7gNs06GFlWplHQbY/5Ffi" +
	"O++1yH4ykCyNPWKXmco+wfQzK5R98D3so7rJ5LmGFvBLjGceleySrc3SOf2Pc1gVehzJgODeS0lDL3/I" +
	"/0S2SSE98YgKleq6Uqx6ndTy9yaL9qFxJL7eiA/R3SEfTaW1SBoSITIu+EEkXff+Pv8NHOk7N57rcGk1" +
	"w0ZzRrQDkXTOXFN2iHYIzAAZPIOY45Lsh+A4slpgnDiaOvRtlQYCt97nmPLuTipOJ8Qc5pM7ZsOsAPPr" +
	"CQL7nK0I7aPrFDF0q4ziUUKettzW8MrAaiVfmbD1/VkmLNVqqZVvBCtRblXb5FHmtS8FxnqCzYP4WFvz" +
	"3T0TcrOqwLX1M/DQvcHaGGw0B0y4bZMs7lVScGBFxMj3vbFi2SRKbKhaitxHfYHAOAa0X7/MSS0RNAjd" +
	"woyGHeOepXOKY+h3iHeqCvgOH6LOifdHf/1aaZNwSkGotYnYScW8Yx63LnSwba7+hESrtPa/huRmB9KW" +
	"vMCKbDThL/nne14hnL277EDCSocPu3rOSYjuB9gKSOdVmWsj9Dxb/iZIe+S6AiG29Esm+/eUacSba0k8" +
	"wn5HhHg9d4tIcixrxveflc8vi2/wNQGVFNsGO6tB5WF0xf/plngOvQ1/ivGV/C1Qpdhzznh0ExAVJ6dw" +
	"zNg7qIEBaw+BzTJTUuRcPk92Sn6QDn2Pu3mpONaEumacjW4w6ipPnPw+g2TfywJjeEcpSZaP4Q3YV5HG" +
	"8D6UjWA4GSkBKculWpdCMadx0usMomsSS/74QgpYqcPkmamB4nVv1JxczYITIqItIKjD35IGKAUwAA=="

type config struct {
	httpClient  *http.Client
	mode        Mode
	logger      *slog.Logger
	qrHandler   func(QRCode)
	scanHandler func(avatar []byte)
	lang        string
	userAgent   string
	extspam     string
	maxQRCodes  int
	workers     int
	send        sendConfig // WithSendRate, WithMaxFileSize (message_send.go)

	store          SessionStore
	stateHandler   func(StateChange)
	contactHandler func(ContactChange)
	keepalive      time.Duration
	autoRelogin    bool
	skipBacklog    bool
}

// An Option configures a Client. Options are applied in order; the last wins.
type Option func(*config)

// WithHTTPClient makes the Client send every request through hc. The Client works on a copy of
// hc, to which it adds a cookie jar if hc has none, and a redirect policy that follows no
// redirects (PROTOCOL 3.6). A nil hc means a default client.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) { c.httpClient = hc }
}

// WithMode selects the login variant. The default is [ModeDesktop].
func WithMode(m Mode) Option {
	return func(c *config) { c.mode = m }
}

// WithLogger makes the Client log to l: logins and logouts at Info, retries at Warn, each
// request at Debug. Credentials are never logged. A nil l, the default, discards all logs.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithQRHandler makes Login call f with every QR code to be scanned, instead of drawing it on
// standard error. f is called from Login's goroutine and should return quickly. A nil f means
// the default: the QR code drawn with Unicode half blocks on os.Stderr, followed by its URL.
func WithQRHandler(f func(QRCode)) Option {
	return func(c *config) { c.qrHandler = f }
}

// WithScanHandler makes Login call f when the phone has scanned the QR code and waits for the
// user to confirm. avatar is the scanner's JPEG avatar, or nil when the server sent none.
// A nil f, the default, ignores scans.
func WithScanHandler(f func(avatar []byte)) Option {
	return func(c *config) { c.scanHandler = f }
}

// WithLang sets the lang parameter sent to the server. An empty lang means "zh_CN".
func WithLang(lang string) Option {
	return func(c *config) { c.lang = lang }
}

// WithUserAgent sets the User-Agent header. An empty ua means [DefaultUserAgent].
func WithUserAgent(ua string) Option {
	return func(c *config) { c.userAgent = ua }
}

// WithExtspam sets the extspam header sent in [ModeDesktop]. An empty value means
// [DefaultExtspam].
func WithExtspam(v string) Option {
	return func(c *config) { c.extspam = v }
}

// WithMaxQRCodes sets how many QR codes Login shows before it gives up with [ErrQRExpired]
// (a QR code expires after a few minutes unscanned). n <= 0 means 5.
func WithMaxQRCodes(n int) Option {
	return func(c *config) { c.maxQRCodes = n }
}

// WithConcurrency sets how many handlers may run at once. Messages of one chat are always
// handled one at a time, in order. n <= 0 means 8.
func WithConcurrency(n int) Option {
	return func(c *config) { c.workers = n }
}

// WithSessionStore makes the Client keep its session in st, so that a restarted program
// resumes without a new QR scan ("hot login"): Login first tries the stored session, then asks
// the phone to confirm a login (push login), and only then shows a QR code. The session is
// saved after login and as the sync loop advances (at most once a second, and when Run
// returns), with the ids of the messages handled, so that a restart neither loses nor repeats
// messages. A nil st, the default, keeps the session in memory only.
func WithSessionStore(st SessionStore) Option {
	return func(c *config) { c.store = st }
}

// WithSession is WithSessionStore(NewFileStore(path)). An empty path keeps the session in
// memory only.
func WithSession(path string) Option {
	return func(c *config) {
		c.store = nil
		if path != "" {
			c.store = NewFileStore(path)
		}
	}
}

// WithKeepalive makes Run tell the server every d that the client is alive (a
// webwxstatusnotify, as the web client does), on top of the synccheck long poll, which is the
// protocol's own keep-alive. Long-running bots may use it to keep the session exercised. It is
// off by default; d <= 0 turns it off.
func WithKeepalive(d time.Duration) Option {
	return func(c *config) { c.keepalive = d }
}

// WithAutoRelogin makes Run log in again by itself when the server ends the session, instead
// of returning an error matching ErrLoggedOut: push login first (the phone shows a prompt),
// then a new QR code through the same QR handler. Run then returns only when ctx ends or a
// login fails.
func WithAutoRelogin(on bool) Option {
	return func(c *config) { c.autoRelogin = on }
}

// WithSkipBacklog makes the Client skip, without handling, the messages older than the login
// (the backlog the server sends right after it), for bots that must not answer old messages.
func WithSkipBacklog(on bool) Option {
	return func(c *config) { c.skipBacklog = on }
}

// New returns a Client configured by opts. It does no I/O and cannot fail.
func New(opts ...Option) *Client {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	if cfg.qrHandler == nil {
		cfg.qrHandler = func(q QRCode) { q.write(os.Stderr) }
	}
	if cfg.lang == "" {
		cfg.lang = "zh_CN"
	}
	if cfg.userAgent == "" {
		cfg.userAgent = DefaultUserAgent
	}
	if cfg.extspam == "" {
		cfg.extspam = DefaultExtspam
	}
	if cfg.maxQRCodes <= 0 {
		cfg.maxQRCodes = 5
	}
	if cfg.workers <= 0 {
		cfg.workers = 8
	}
	hc := new(http.Client)
	if cfg.httpClient != nil {
		*hc = *cfg.httpClient
	}
	if hc.Jar == nil {
		hc.Jar, _ = cookiejar.New(nil) // never fails with nil options
	}
	jar := &recordingJar{inner: hc.Jar}
	hc.Jar = jar
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{cfg: cfg, hc: hc, log: cfg.logger, jar: jar, saveCh: make(chan struct{}, 1), pacer: newPacer(cfg.send)}
}

// Run logs in if needed ([Client.Login]), initialises the session, starts loading the contacts
// and runs the sync loop, handing every incoming message to the handlers, until ctx ends or
// the server ends the session.
//
// Run always returns a non-nil error: ctx.Err() after ctx ends; an error matching
// [ErrLoggedOut] when the server ended the session (unless [WithAutoRelogin]); otherwise the
// error that stopped it (a refused login, for example). Network errors during the loop are
// retried with backoff and never end Run on their own. When Run returns, every goroutine it
// started, handlers included, has returned.
func (c *Client) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("wechat: Run called while already running")
	}
	defer c.running.Store(false)
	bo := backoff.Backoff{Min: 5 * time.Second, Max: 5 * time.Minute}
	for {
		err := c.runSession(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrLoggedOut) {
			c.loggedOut(ctx, err)
		}
		if !c.cfg.autoRelogin || !errors.Is(err, ErrLoggedOut) {
			return err
		}
		c.log.Info("session ended; logging in again", "err", err)
		if err := backoff.Sleep(ctx, bo.Next()); err != nil {
			return err
		}
	}
}

// runSession runs one session from login to its end. When the server ends the session, the
// error matches ErrLoggedOut and Run cleans up with loggedOut.
func (c *Client) runSession(ctx context.Context) error {
	if c.sess() == nil {
		if err := c.Login(ctx); err != nil {
			return err
		}
	}
	if !c.sess().inited { // a resumed session was initialised by Login's check
		if err := c.webwxInit(ctx); err != nil {
			return err
		}
	}
	if err := c.statusNotify(ctx, 3, ""); err != nil {
		if errors.Is(err, ErrLoggedOut) || ctx.Err() != nil {
			return err
		}
		c.log.Warn("statusnotify failed", "op", opStatusNotify, "err", err)
	}
	c.setState(StateOnline, nil)
	c.save(ctx)

	// The handlers' context outlives the loop's: when the server ends the session, the
	// messages already fetched are still handled before Run returns.
	hctx, hcancel := context.WithCancel(ctx)
	defer hcancel()
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d := c.newDispatcher(hctx)
	var wg sync.WaitGroup
	wg.Go(func() { c.loadContacts(lctx) })
	wg.Go(func() { c.saveLoop(lctx) })
	if c.cfg.keepalive > 0 {
		wg.Go(func() { c.keepaliveLoop(lctx) })
	}
	err := c.syncLoop(lctx, d)
	cancel()
	d.wait()
	hcancel()
	wg.Wait()
	if errors.Is(err, ErrLoggedOut) {
		return err // nothing to save: loggedOut clears the store
	}
	// Whatever was handled before the end is saved, so a restart resumes after it.
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	c.save(sctx)
	scancel()
	return err
}

// loggedOut handles the end of a session by the server: a best-effort webwxlogout
// (PROTOCOL 6.3), the session and the stored session forgotten, StateLoggedOut reported.
func (c *Client) loggedOut(ctx context.Context, cause error) {
	typ := "1"
	if e := (*Error)(nil); errors.As(cause, &e) && e.Ret == 1100 {
		typ = "0"
	}
	if s := c.sess(); s != nil {
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c.webwxLogout(lctx, s, typ)
		cancel()
	}
	c.endSession()
	c.clearStore(ctx, true)
	c.setState(StateLoggedOut, cause)
}

// Logout ends the session: it calls webwxlogout, forgets the session and clears the session
// store. It returns ErrNotLoggedIn if there is no session. Call it when Run is not running, or
// cancel Run's context afterwards: Run then stops on the server's logged-out answer.
func (c *Client) Logout(ctx context.Context) error {
	s := c.sess()
	if s == nil {
		return ErrNotLoggedIn
	}
	c.webwxLogout(ctx, s, "0")
	c.endSession()
	c.mu.Lock()
	c.pushHint = pushHint{} // a logout by the user: no push login to this account next time
	c.mu.Unlock()
	c.jar.reset()
	c.clearStore(ctx, false)
	c.setState(StateLoggedOut, nil)
	return ctx.Err()
}

// keepaliveLoop sends webwxstatusnotify every cfg.keepalive until ctx ends (WithKeepalive).
func (c *Client) keepaliveLoop(ctx context.Context) {
	t := time.NewTicker(c.cfg.keepalive)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := c.statusNotify(ctx, 3, ""); err != nil && ctx.Err() == nil {
				c.log.Warn("keepalive failed", "op", opStatusNotify, "err", err)
			}
		}
	}
}

// sess returns the current session, or nil.
func (c *Client) sess() *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

// updateSession applies f to a copy of the session and installs the copy.
func (c *Client) updateSession(f func(s *session)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.session == nil {
		return
	}
	s := *c.session
	f(&s)
	c.session = &s
}

// endSession forgets the session; its uin and host stay as the hint for a push login.
func (c *Client) endSession() {
	c.mu.Lock()
	if c.session != nil {
		c.pushHint = pushHint{uin: c.session.uin, main: c.session.hosts.main}
	}
	c.session = nil
	c.committed = syncState{}
	c.mu.Unlock()
	c.contacts.reset()
}

// installSession makes s the current session, with a fresh contact store.
func (c *Client) installSession(s *session) {
	c.mu.Lock()
	c.session = s
	c.committed = syncState{s.syncKey, s.syncCheckKey}
	c.mu.Unlock()
	c.contacts.reset()
}

// commit records keys as the ones a restart resumes from, and wakes the saver.
func (c *Client) commit(keys syncState) {
	c.mu.Lock()
	c.committed = keys
	c.mu.Unlock()
	c.saveSoon()
}
