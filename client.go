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

	mu      sync.Mutex
	session *session // nil until Login succeeds; replaced, never mutated in place

	routes     []route
	middleware []Middleware

	contacts contactStore
	sent     sentSet
	seen     recentSet
	running  atomic.Bool
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
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{cfg: cfg, hc: hc, log: cfg.logger}
}

// Run logs in if needed ([Client.Login]), initialises the session, starts loading the contacts
// and runs the sync loop, handing every incoming message to the handlers, until ctx ends or
// the server ends the session.
//
// Run always returns a non-nil error: ctx.Err() after ctx ends; an error matching
// [ErrLoggedOut] when the server ended the session; otherwise the error that stopped it (a
// refused login, for example). Network errors during the loop are retried with backoff and
// never end Run on their own. When Run returns, every goroutine it started, handlers
// included, has returned.
func (c *Client) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("wechat: Run called while already running")
	}
	defer c.running.Store(false)
	err := c.run(ctx)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (c *Client) run(ctx context.Context) error {
	if c.sess() == nil {
		if err := c.Login(ctx); err != nil {
			return err
		}
	}
	if err := c.initSession(ctx); err != nil {
		if errors.Is(err, ErrLoggedOut) {
			c.endSession()
		}
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d := c.newDispatcher(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { c.loadContacts(ctx) })
	err := c.syncLoop(ctx, d)
	cancel()
	d.wait()
	wg.Wait()
	return err
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

// endSession forgets the session after the server ended it.
func (c *Client) endSession() {
	c.mu.Lock()
	c.session = nil
	c.mu.Unlock()
	c.contacts.reset()
}
