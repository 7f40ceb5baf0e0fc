package wechat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"os"
	"sync"
	"time"

	"github.com/wxkit/wechat/internal/backoff"
	"github.com/wxkit/wechat/internal/wire"
)

// Client is a Web WeChat session: it logs in, keeps the session alive with the synccheck long
// poll, delivers incoming messages to the handlers registered with [Client.Handle], and sends
// messages.
//
// A Client is safe for concurrent use by multiple goroutines, and handlers may be registered
// while Run runs. Run may not be called again while it runs. Create a Client with [New]: the
// zero Client is not logged in and cannot log in (Login and Run return an error saying so).
//
// Each piece of a Client's state has one owner, which the others ask: the session holder (the
// credentials, the state, the running session), the ledger (what was delivered and handled,
// and the sync position a restart resumes from), the contact store (the address book and the
// contacts' IDs), the persister (the [SessionStore]) and the router (handlers and
// middleware). The package documentation draws how they fit together.
type Client struct {
	cfg config       // set by New, read-only after
	log *slog.Logger // cfg.logger, or a discarding logger
	hc  *http.Client // a copy of the caller's, with the jar and redirect policy of the Client
	jar *recordingJar
	ids idSource
	// bodies reads every answer (request.go do), reusing its scratch buffers.
	bodies wire.BodyReader

	sess     sessionHolder // the current session, its state and the run using it (session.go)
	ledger   ledger        // delivery state and the committed sync position (ledger.go)
	contacts contactStore  // the address book and identities (contact_store.go)
	persist  persister     // the SessionStore side (persist.go)
	routes   router        // handlers and middleware (handler.go)
	sent     sentSet       // the messages this Client sent, to drop their echoes (handler.go)
	pacer    *pacer        // spaces sends (WithSendRate); nil when off
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
	grace          time.Duration                                    // WithShutdownGrace
	errorHandler   func(ctx context.Context, m *Message, err error) // WithErrorHandler (handler.go)
	callTimeout    time.Duration                                    // the caller's http.Client.Timeout, or defaultCallTimeout
	loginPolicy    LoginPolicy
	pushWait       time.Duration
	progress       func(Progress) // WithProgress (progress.go)
}

// An Option configures a Client. Options are applied in order; the last wins.
type Option func(*config)

// WithHTTPClient makes the Client send every request through hc. The Client works on a copy of
// hc, with a redirect policy that follows no redirects (PROTOCOL 3.6); it keeps the session's
// cookies in hc.Jar, or in a jar of its own if hc has none, and gives each request its cookies
// itself, as an http.Client with that jar would. A nil hc means a default client.
//
// The Client sets a deadline on every request itself, through the request's context: the
// long polls (synccheck, the login poll), which the server holds for about 25 s, get 35 s;
// uploads get a time that grows with the chunk's size; downloads must send their headers
// within the per-call deadline, then stream for as long as the caller's ctx allows; every
// other call gets hc.Timeout if it is set, else 15 s. hc.Timeout itself is not applied to the
// copy, so that a client-wide Timeout shorter than the long poll cannot cut it.
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

// WithSkipBacklog makes the Client skip, without handling, the backlog of a new login: the
// messages the server held for the account before the login, which it sends in the first
// webwxsync rounds after webwxinit (until its first answer without ContinueFlag, or the first
// synccheck reporting nothing new). It is judged by this position in the sync, never by
// clocks, so a live message is never skipped for a timestamp. A resumed session (a stored
// session, see [WithSessionStore]) has no backlog: what arrived while the program was not
// running is delivered, as a restart must lose nothing.
func WithSkipBacklog(on bool) Option {
	return func(c *config) { c.skipBacklog = on }
}

// WithShutdownGrace sets how long handlers in flight may still run when Run's ctx ends, as
// http.Server.Shutdown lets requests finish: their ctx stays valid during the grace, so that
// their replies are still sent, and then ends. A handler that returns after its ctx ended is
// not recorded as handled: its message is delivered again when the stored session is resumed.
// d <= 0 means 10 s.
func WithShutdownGrace(d time.Duration) Option {
	return func(c *config) { c.grace = d }
}

const (
	defaultGrace       = 10 * time.Second
	defaultCallTimeout = 15 * time.Second
)

// New returns a Client configured by opts. It does no I/O and cannot fail.
func New(opts ...Option) *Client {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	log := cfg.logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.errorHandler == nil {
		cfg.errorHandler = reportHandlerError(cfg.logger)
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
	if cfg.grace <= 0 {
		cfg.grace = defaultGrace
	}
	if cfg.pushWait <= 0 {
		cfg.pushWait = pushLoginWait
	}
	hc := new(http.Client)
	if cfg.httpClient != nil {
		*hc = *cfg.httpClient
	}
	cfg.callTimeout = defaultCallTimeout
	if hc.Timeout > 0 {
		cfg.callTimeout = hc.Timeout
	}
	hc.Timeout = 0 // every request gets its own deadline (do)
	jar := &recordingJar{inner: hc.Jar}
	if jar.inner == nil {
		jar.inner, _ = cookiejar.New(nil) // never fails with nil options
		jar.own = true
	}
	hc.Jar = nil // the Client gives its requests their cookies itself (send)
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{cfg: cfg, log: log, hc: hc, jar: jar, persist: newPersister(cfg.store), pacer: newPacer(cfg.send)}
}

// errZeroClient is returned by the zero Client's Login and Run.
var errZeroClient = errors.New("wechat: Client not created with wechat.New")

// Run logs in if needed ([Client.Login]), starts loading the contacts and runs the sync loop,
// handing every incoming message to the handlers, until ctx ends or the session ends.
//
// Delivery is exactly once across restarts with a [SessionStore]: Run records which messages
// were handled and commits the sync position (the one a restart resumes from) only past
// batches whose messages were all handled, saving both as they advance, also while a handler
// is still busy. At most 1,024 fetched messages wait for their batch to be committed: when
// that many are open (a handler blocking one chat holds up the commits), Run fetches nothing
// more until the oldest batch is committed. A crash may deliver again the messages whose
// handlers were running; a clean stop delivers nothing twice.
//
// When ctx ends, Run stops like http.Server.Shutdown: it fetches no new batch, lets the
// handlers in flight finish with a ctx that stays valid for the grace of [WithShutdownGrace]
// (10 s by default), so that their replies are sent, and does not start the messages still
// queued. Handlers cut off by the end of the grace, and the messages not started, are not
// recorded as handled, so they are delivered again when the session is resumed. The session
// is saved, the state becomes [StateStopped] and Run returns ctx.Err(); the session stays
// usable for the send methods and a later Run.
//
// Run always returns a non-nil error: ctx.Err() after ctx ends; an error matching
// [ErrLoggedOut] when the server ended the session (unless [WithAutoRelogin]; the messages
// fetched already are handled first) or [Client.Logout] was called; [ErrLeaseHeld] or
// [ErrLeaseLost] with a [SessionLocker]; otherwise the error that stopped it (a refused login,
// for example). Network errors during the loop are retried with backoff and never end Run on
// their own. When Run returns, every goroutine it started, handlers included, has returned.
func (c *Client) Run(ctx context.Context) error {
	if c.log == nil {
		return errZeroClient
	}
	if err := c.sess.startRun(); err != nil {
		return err
	}
	defer c.sess.stopRun()
	ctx, release, err := c.lease(ctx)
	if err != nil {
		return err
	}
	defer release()
	bo := backoff.Backoff{Min: 5 * time.Second, Max: 5 * time.Minute}
	for {
		err := c.runSession(ctx)
		if errors.Is(err, errLogoutCalled) {
			return err
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if !c.cfg.autoRelogin || !errors.Is(err, ErrLoggedOut) {
			return err
		}
		c.log.Info("session ended; logging in again", "err", err)
		if err := backoff.Sleep(ctx, bo.Next()); err != nil {
			return context.Cause(ctx)
		}
	}
}

// lease takes the lease on the account when the store is a SessionLocker, and returns a
// context that ends, with the lease's error as its cause, when the lease is lost; the session
// is fenced at once then, so that nothing more is sent. release gives the lease up and stops
// the watch. Without a SessionLocker, ctx is returned as it is.
func (c *Client) lease(ctx context.Context) (context.Context, func(), error) {
	lk, ok := c.persist.store.(SessionLocker)
	if !ok {
		return ctx, func() {}, nil
	}
	l, err := lk.Lock(ctx)
	if err != nil {
		return nil, nil, ctxErr(ctx, err)
	}
	c.sess.unfence()
	c.log.Info("lease taken", "token", l.Token())
	lctx, cancel := context.WithCancelCause(ctx)
	// A save the store refused with ErrLeaseLost ends the lease too, whether or not the
	// store ends the Lease itself.
	refused := make(chan error, 1)
	c.persist.onLeaseLost(func(err error) {
		select {
		case refused <- err:
		default:
		}
	})
	var wg sync.WaitGroup
	wg.Go(func() {
		var err error
		select {
		case <-l.Done():
			err = l.Err()
		case err = <-refused:
		case <-lctx.Done():
			return
		}
		if !errors.Is(err, ErrLeaseLost) {
			err = fmt.Errorf("%w: %w", ErrLeaseLost, err)
		}
		c.sess.fence(err)
		c.log.Warn("lease lost; stopping", "err", err)
		cancel(err)
	})
	return lctx, func() {
		cancel(nil)
		wg.Wait()
		c.persist.onLeaseLost(nil)
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer rcancel()
		if err := l.Release(rctx); err != nil {
			c.log.Warn("releasing the lease failed", "err", err)
		}
	}, nil
}

// runSession runs one session from login to its end, and cleans up after it: a stop by ctx
// saves the session, an end by the server or by Logout clears it.
func (c *Client) runSession(ctx context.Context) error {
	sctx, end := context.WithCancelCause(ctx)
	defer end(nil)
	c.sess.attach(end)
	defer c.sess.detach()

	if err := c.connect(sctx); err != nil {
		if c.sess.logoutAsked() {
			c.logout(ctx)
			return errLogoutCalled
		}
		if ctx.Err() == nil {
			c.setState(StateLoggedOut, err)
		}
		return ctxErr(ctx, err)
	}
	c.setState(StateOnline, nil)
	c.save(sctx)

	// The handlers' context outlives ctx by the grace: replies in flight are still sent.
	hctx, hcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hcancel()
	d := c.newDispatcher(hctx)
	var wg sync.WaitGroup
	wg.Go(func() { c.loadContacts(sctx) })
	wg.Go(func() { c.persist.loop(sctx, c.save) })
	if c.cfg.keepalive > 0 {
		wg.Go(func() { c.keepaliveLoop(sctx) })
	}
	err := c.syncLoop(sctx, d)
	end(err)
	logout := c.sess.logoutAsked()
	fenced := errors.Is(context.Cause(ctx), ErrLeaseLost)
	grace := c.cfg.grace
	if fenced {
		grace = 0 // another process holds the account now: stop at once
	}
	// A stop asked by the caller leaves the queued messages for the next run; a session the
	// server ended cannot fetch them again, so they are handled now.
	d.stop(ctx.Err() != nil || logout, grace, hcancel)
	wg.Wait()
	switch {
	case logout:
		c.logout(ctx)
		return errLogoutCalled
	case fenced:
		c.setState(StateStopped, context.Cause(ctx))
		return context.Cause(ctx)
	case errors.Is(err, ErrLoggedOut):
		c.loggedOut(ctx, err)
		return err
	}
	// Whatever was handled before the end is saved, so a restart resumes after it.
	c.saveNow(ctx)
	c.setState(StateStopped, ctxErr(ctx, err))
	return err
}

// connect makes the session ready for use, if it is not: a login if there is no session,
// webwxinit and webwxstatusnotify if it is not initialised, then a save.
func (c *Client) connect(ctx context.Context) error {
	if s := c.sess.get(); s != nil && s.inited {
		return nil
	}
	c.setState(StateLoggingIn, nil)
	// What the login gave is saved even if a later step fails or ctx ends: a restart resumes it.
	defer c.saveNow(ctx)
	if c.sess.get() == nil {
		if err := c.login(ctx); err != nil {
			return err
		}
	}
	if !c.sess.get().inited { // a resumed session was initialised by restore's check
		if err := c.retry(ctx, opInit, func() error { return c.webwxInit(ctx) }); err != nil {
			return err
		}
	}
	if err := c.statusNotify(ctx, 3, ""); err != nil {
		if errors.Is(err, ErrLoggedOut) || ctx.Err() != nil {
			return err
		}
		c.log.Warn("statusnotify failed", "op", opStatusNotify, "err", err)
	}
	return nil
}

// loggedOut handles the end of a session by the server: a best-effort webwxlogout
// (PROTOCOL 6.3), the session and the stored session forgotten, StateLoggedOut reported.
func (c *Client) loggedOut(ctx context.Context, cause error) {
	typ := "1"
	if e := (*Error)(nil); errors.As(cause, &e) && e.Ret == 1100 {
		typ = "0"
	}
	if s := c.sess.get(); s != nil {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		c.webwxLogout(lctx, s, typ)
		cancel()
	}
	c.end(false)
	c.clearStore(ctx, true)
	c.setState(StateLoggedOut, cause)
}

// Logout ends the session: it calls webwxlogout, forgets the session and clears the session
// store, so that no file or key holding the credentials is left. While Run runs, Logout asks
// it to stop (the handlers in flight may finish within the grace of [WithShutdownGrace]; the
// messages still queued are dropped with the session) and returns once Run has logged out;
// Run then returns an error matching [ErrLoggedOut]. The state becomes [StateLoggedOut].
//
// Logout returns [ErrNotLoggedIn] if there is no session and Run is not running, and ctx.Err()
// if ctx ends first (the logout then completes in Run, or locally on a best-effort basis).
func (c *Client) Logout(ctx context.Context) error {
	if c.log == nil {
		return ErrNotLoggedIn
	}
	if done := c.sess.askLogout(); done != nil {
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if c.sess.get() == nil {
		return ErrNotLoggedIn
	}
	c.logout(ctx)
	return ctx.Err()
}

// logout does what Logout promises. A session whose lease was lost belongs to another
// process now: it is only forgotten here.
func (c *Client) logout(ctx context.Context) {
	if _, err := c.sess.usable(); err != nil {
		c.end(true)
		c.setState(StateLoggedOut, nil)
		return
	}
	if s := c.sess.get(); s != nil {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		c.webwxLogout(lctx, s, "0")
		cancel()
	}
	c.end(true)
	c.jar.reset()
	c.clearStore(ctx, false)
	c.setState(StateLoggedOut, nil)
}

// WaitOnline blocks until the session is online (Run is receiving; see [StateOnline]), for
// code that sends from outside the handlers. It returns ctx.Err() if ctx ends first.
func (c *Client) WaitOnline(ctx context.Context) error {
	for {
		st, changed := c.sess.current()
		if st == StateOnline {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
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
