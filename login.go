package wechat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wxkit/wechat/internal/backoff"
	"github.com/wxkit/wechat/internal/qrterm"
	"github.com/wxkit/wechat/internal/wire"
)

// Login hosts and constants (PROTOCOL 2.1, 4.1).
const (
	loginHost        = "login.wx.qq.com"
	qrHost           = "login.weixin.qq.com"
	appID            = "wx782c26e4c19acffb"
	newLoginPageURL  = "https://wx.qq.com/cgi-bin/mmwebwx-bin/webwxnewloginpage"
	loginPollTimeout = 35 * time.Second // the server holds the poll ~25 s (PROTOCOL 4.3)
	minPollInterval  = time.Second      // spacing of polls the server answers at once
	maxPollFailures  = 3                // garbage or failed polls before a new QR code
)

// QRCode is a login QR code to be scanned with the WeChat app.
type QRCode struct {
	UUID string // the login uuid, as the server sent it
	URL  string // the text encoded in the QR code: https://login.weixin.qq.com/l/<uuid>
}

// ImageURL returns the URL of the JPEG the WeChat server renders for this QR code.
func (q QRCode) ImageURL() string { return "https://" + qrHost + "/qrcode/" + q.UUID }

// PNG returns a PNG image of the QR code, size pixels wide (size <= 0 means 256). It fails
// only if the URL cannot be encoded.
func (q QRCode) PNG(size int) ([]byte, error) { return qrterm.PNG(q.URL, size) }

// Terminal returns the QR code drawn with Unicode half blocks, two module rows per line, so
// that it fits an 80-column terminal. It fails only if the URL cannot be encoded.
func (q QRCode) Terminal() (string, error) { return qrterm.Render(q.URL) }

// write draws the QR code and its URL on w; it is the default QR handler.
func (q QRCode) write(w io.Writer) {
	if art, err := q.Terminal(); err == nil {
		io.WriteString(w, art)
	}
	io.WriteString(w, "Scan the QR code with WeChat, or open "+q.URL+"\n")
}

func newQRCode(uuid string) QRCode {
	return QRCode{UUID: uuid, URL: "https://" + qrHost + "/l/" + uuid}
}

// session is what a login yields: the hosts and credentials of PROTOCOL 3.1, the SyncKeys, and
// self's UserName once webwxinit has run.
type session struct {
	hosts        hosts
	uin          int64
	sid          string
	skey         string
	passTicket   string // raw from the XML: already percent-encoded (PROTOCOL 3.4)
	deviceID     string
	self         string
	syncKey      syncKey
	syncCheckKey syncKey
	inited       bool // webwxinit succeeded for this session
	resumed      bool // restored from the session store, not a new login
}

func (s *session) baseRequest() baseRequest {
	return baseRequest{Uin: s.uin, Sid: s.sid, Skey: s.skey, DeviceID: s.deviceID}
}

// hosts are the four host roles of PROTOCOL 2.
type hosts struct {
	main, login, file, push string
	pushFallbacks           []string
}

// hostsFor derives the file, push and login hosts from the main host with the substring tests
// of PROTOCOL 2.2, evaluated in order.
func hostsFor(main string) hosts {
	rows := []struct{ contains, login, file, push string }{
		{"wx2.qq.com", "login.wx2.qq.com", "file.wx2.qq.com", "webpush.wx2.qq.com"},
		{"wx8.qq.com", "login.wx8.qq.com", "file.wx8.qq.com", "webpush.wx8.qq.com"},
		{"qq.com", "login.wx.qq.com", "file.wx.qq.com", "webpush.wx.qq.com"},
		{"web2.wechat.com", "login.web2.wechat.com", "file.web2.wechat.com", "webpush.web2.wechat.com"},
		{"wechat.com", "login.web.wechat.com", "file.web.wechat.com", "webpush.web.wechat.com"},
	}
	h := hosts{main: main, login: "login.weixin.qq.com", file: "file.wx.qq.com", push: "webpush.weixin.qq.com"}
	for _, r := range rows {
		if strings.Contains(main, r.contains) {
			h.login, h.file, h.push = r.login, r.file, r.push
			break
		}
	}
	// Legacy second push host, tried only when the first does not answer (PROTOCOL 2.2).
	h.pushFallbacks = []string{"webpush2." + main}
	return h
}

// Login establishes a session and makes it ready for use: with a [SessionStore] it first
// resumes the stored session (checked with webwxinit), then asks the phone to confirm a login
// without a scan (push login, for an account that logged in before; it waits up to 2 minutes
// for the confirmation), and only then shows a QR code (see [WithQRHandler]), waits until it
// is scanned and confirmed on the phone, and exchanges the login ticket for a session. It
// then runs webwxinit and webwxstatusnotify and saves the session.
//
// After Login the send, download and contact methods work without Run, and the state is
// [StateStopped]; Run continues the same session without logging in again. Login returns
// nil at once if the Client is logged in already. Run calls Login itself when needed.
//
// An expired or cancelled QR code is replaced by a new one, up to [WithMaxQRCodes] codes, then
// Login returns [ErrQRExpired]. A refused login returns an *Error matching
// [ErrLoginForbidden] carrying the server's ret code and message (1203: this account cannot
// use web WeChat; try [ModeDesktop]). If ctx ends, Login returns ctx.Err().
func (c *Client) Login(ctx context.Context) error {
	if c.log == nil {
		return errZeroClient
	}
	if err := c.connect(ctx); err != nil {
		if ctx.Err() == nil {
			c.setState(StateLoggedOut, err)
		}
		return ctxErr(ctx, err)
	}
	if c.State() == StateLoggingIn { // connect logged in: not while Run runs
		c.setState(StateStopped, nil)
	}
	return nil
}

func (c *Client) login(ctx context.Context) error {
	if ok, err := c.restore(ctx); ok || err != nil {
		return err
	}
	if c.cfg.loginPolicy == LoginResumeOnly {
		return fmt.Errorf("%w: no usable stored session", ErrScanNeeded)
	}
	if ok, err := c.pushLogin(ctx); ok || err != nil {
		return err
	}
	if c.cfg.loginPolicy == LoginNoQR {
		return fmt.Errorf("%w: no usable stored session, and no push login", ErrScanNeeded)
	}
	return c.qrLogin(ctx)
}

// LoginPolicy says which ways of logging in Login may use, for programs that cannot show a QR
// code (a cron job, a server without a terminal).
type LoginPolicy int

const (
	// LoginAny resumes the stored session, else asks the phone to confirm a push login
	// (waiting up to [WithPushLoginWait], 2 minutes by default), else shows QR codes. It is
	// the default.
	LoginAny LoginPolicy = iota
	// LoginNoQR resumes the stored session, else tries a push login; it never shows a QR
	// code, and returns an error matching [ErrScanNeeded] instead.
	LoginNoQR
	// LoginResumeOnly only resumes the stored session: it returns an error matching
	// [ErrScanNeeded] at once when there is none or the server ended it, without waiting for
	// anyone.
	LoginResumeOnly
)

// WithLoginPolicy sets the ways Login may log in. The default is [LoginAny].
func WithLoginPolicy(p LoginPolicy) Option {
	return func(c *config) { c.loginPolicy = p }
}

// WithPushLoginWait sets how long a push login waits for the user to confirm on the phone
// before Login falls back to a QR code (or, with [LoginNoQR], fails). d <= 0 means 2 minutes.
func WithPushLoginWait(d time.Duration) Option {
	return func(c *config) { c.pushWait = d }
}

// qrLogin logs in with a QR code.
func (c *Client) qrLogin(ctx context.Context) error {
	for range c.cfg.maxQRCodes {
		var uuid string
		err := c.retry(ctx, opJSLogin, func() (err error) {
			uuid, err = c.jsLogin(ctx)
			return err
		})
		if err != nil {
			return ctxErr(ctx, err)
		}
		c.log.Info("login: QR code ready")
		c.cfg.qrHandler(newQRCode(uuid))
		redirect, err := c.pollLogin(ctx, uuid)
		if errors.Is(err, errNewQR) {
			c.log.Info("login: QR code expired, fetching a new one")
			continue
		}
		if err != nil {
			return ctxErr(ctx, err)
		}
		if err := c.retry(ctx, opNewLoginPage, func() error { return c.newLoginPage(ctx, redirect) }); err != nil {
			return ctxErr(ctx, err)
		}
		c.log.Info("login: logged in", "mode", c.cfg.mode.String(), "host", c.sess.get().hosts.main)
		return nil
	}
	return ErrQRExpired
}

// pushLoginWait is the default of WithPushLoginWait.
const pushLoginWait = 2 * time.Minute

// pushLogin asks the phone of the account that logged in last to confirm a new login
// (webwxpushloginurl, PROTOCOL 4.6), then polls like a QR login. It reports false when the
// server or the user refuses, so that Login falls back to a QR code.
func (c *Client) pushLogin(ctx context.Context) (bool, error) {
	h := c.sess.pushHint()
	if h.uin == 0 || h.main == "" {
		return false, nil
	}
	q := url.Values{"uin": {strconv.FormatInt(h.uin, 10)}}
	if c.cfg.mode == ModeDesktop {
		q.Set("mod", "desktop")
	}
	body, err := c.getScript(ctx, opPushLogin, cgiURL(h.main, "webwxpushloginurl", q))
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		c.log.Info("login: push login unavailable", "err", err)
		return false, nil
	}
	uuid, err := parsePushLogin(body)
	if err != nil {
		c.log.Info("login: push login refused", "err", err)
		return false, nil
	}
	c.log.Info("login: waiting for the confirmation on the phone")
	pctx, cancel := context.WithTimeout(ctx, c.cfg.pushWait)
	redirect, err := c.pollLogin(pctx, uuid)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		c.log.Info("login: push login not confirmed", "err", err)
		return false, nil
	}
	if err := c.retry(ctx, opNewLoginPage, func() error { return c.newLoginPage(ctx, redirect) }); err != nil {
		return false, ctxErr(ctx, err)
	}
	c.log.Info("login: logged in by push login", "host", c.sess.get().hosts.main)
	return true, nil
}

// parsePushLogin parses {"ret":"0","msg":"all ok","uuid":"..."}; ret may be a number or a
// string (PROTOCOL 4.6).
func parsePushLogin(body []byte) (string, error) {
	r, err := wire.DecodePushLogin(bytes.TrimSpace(body))
	if err != nil {
		return "", badResponse(opPushLogin, err)
	}
	if r.Ret != 0 {
		return "", &Error{Op: opPushLogin, Ret: r.Ret, Msg: r.Msg}
	}
	if !wire.ValidUUID(r.UUID) {
		return "", badResponse(opPushLogin, errors.New("missing or malformed uuid"))
	}
	return r.UUID, nil
}

// loginRetries is how many times a step of the login is tried when it fails for a passing
// reason (the network, a gateway's error page, a truncated answer).
const loginRetries = 4

// retry runs f until it succeeds, fails for a reason another try cannot mend (a server
// code, a refused login), ctx ends, or loginRetries tries failed, backing off between tries.
func (c *Client) retry(ctx context.Context, op string, f func() error) error {
	bo := backoff.Backoff{Min: time.Second, Max: 8 * time.Second}
	for try := 1; ; try++ {
		err := f()
		if err == nil || try == loginRetries || !transient(err) || ctx.Err() != nil {
			return err
		}
		c.log.Warn("login step failed; retrying", "op", op, "err", err, "try", try)
		if err := backoff.Sleep(ctx, bo.Next()); err != nil {
			return err
		}
	}
}

// transient reports whether err is a failure that may pass: a network error, an answer that
// was not the server's (ErrBadResponse), or the server's "system error, retry later" (-1,
// PROTOCOL 13), as opposed to another server code or a refused login.
func transient(err error) bool {
	var e *Error
	switch {
	case !errors.As(err, &e):
		return false
	case e.Ret == -1:
		return true
	}
	return e.Ret == 0 && !errors.Is(err, ErrLoginForbidden)
}

// errNewQR tells Login that the current uuid is dead and a new QR code is needed.
var errNewQR = errors.New("wechat: new QR code needed")

// ctxErr returns ctx.Err() when ctx has ended, so callers see exactly context.Canceled or
// context.DeadlineExceeded, and err otherwise.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// jsLogin fetches a login uuid (PROTOCOL 4.1).
func (c *Client) jsLogin(ctx context.Context) (string, error) {
	redirect := newLoginPageURL
	if c.cfg.mode == ModeDesktop {
		redirect += "?mod=desktop"
	}
	q := url.Values{
		"appid":        {appID},
		"redirect_uri": {redirect},
		"fun":          {"new"},
		"lang":         {c.cfg.lang},
		"_":            {c.ids.cacheBuster(time.Now())},
	}
	body, err := c.getScript(ctx, opJSLogin, "https://"+loginHost+"/jslogin?"+q.Encode())
	if err != nil {
		return "", err
	}
	return parseJSLogin(body)
}

// parseJSLogin parses `window.QRLogin.code = 200; window.QRLogin.uuid = "...";`: a code
// other than 200 is an *Error with that Ret; no code, or no usable uuid, ErrBadResponse.
func parseJSLogin(body []byte) (string, error) {
	l, err := wire.ParseJSLogin(body)
	if err != nil {
		return "", badResponse(opJSLogin, err)
	}
	if l.Code != 200 {
		return "", &Error{Op: opJSLogin, Ret: l.Code}
	}
	return l.UUID, nil
}

// loginPoll is one answer of the login poll (PROTOCOL 4.3).
type loginPoll struct {
	code     int
	avatar   []byte // 201: the scanner's avatar, if any
	redirect string // 200: the redirect_uri
}

func parseLoginPoll(body []byte) (loginPoll, error) {
	p, err := wire.ParseLoginPoll(body)
	if err != nil {
		return loginPoll{}, badResponse(opLoginPoll, err)
	}
	return loginPoll{code: p.Code, avatar: p.Avatar, redirect: p.RedirectURI}, nil
}

// pollLogin long-polls the scan status of uuid until the login is confirmed (it returns the
// redirect URI), the QR code is dead (errNewQR), or ctx ends.
//
// After a scan the phone may keep its confirmation button disabled for a few seconds, and the
// server may answer 201 again at once: polls the server answers immediately are spaced by
// minPollInterval, so that wait costs neither a busy loop nor the QR code.
func (c *Client) pollLogin(ctx context.Context, uuid string) (string, error) {
	tip := "1"
	failures := 0
	scanned := false
	bo := backoff.Backoff{Min: 500 * time.Millisecond, Max: 5 * time.Second}
	for {
		q := url.Values{
			"loginicon": {"true"},
			"uuid":      {uuid},
			"tip":       {tip},
			"r":         {strconv.Itoa(int(notMillis(time.Now())))},
			"_":         {c.ids.cacheBuster(time.Now())},
		}
		start := time.Now()
		pctx, cancel := context.WithTimeout(ctx, loginPollTimeout)
		body, err := c.getScript(pctx, opLoginPoll, "https://"+loginHost+cgiPath+"login?"+q.Encode())
		cancel()
		var p loginPoll
		if err == nil {
			p, err = parseLoginPoll(body)
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if err != nil {
			failures++
			c.log.Warn("login poll failed", "op", opLoginPoll, "err", err, "failures", failures)
			if failures >= maxPollFailures {
				return "", errNewQR
			}
			if err := backoff.Sleep(ctx, bo.Next()); err != nil {
				return "", err
			}
			continue
		}
		failures = 0
		bo.Reset()
		tip = "0"
		repeat := false
		switch p.code {
		case 200:
			return p.redirect, nil
		case 201:
			repeat = scanned
			if !scanned {
				scanned = true
				c.log.Info("login: QR code scanned, waiting for confirmation")
				if c.cfg.scanHandler != nil {
					c.cfg.scanHandler(p.avatar)
				}
			}
		case 408:
			repeat = true
		case 400, 500, 202:
			return "", errNewQR
		default:
			c.log.Warn("login poll: unknown code", "op", opLoginPoll, "ret", p.code)
			repeat = true
		}
		if wait := minPollInterval - time.Since(start); repeat && wait > 0 {
			if err := backoff.Sleep(ctx, wait); err != nil {
				return "", err
			}
		}
	}
}

// newLoginPage exchanges the login ticket for the session credentials (PROTOCOL 4.4) and
// installs the new session.
func (c *Client) newLoginPage(ctx context.Context, redirect string) error {
	u := redirect + "&fun=new&version=v2"
	if c.cfg.mode == ModeDesktop {
		u += "&mod=desktop"
	}
	req, err := c.newRequest(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	if c.cfg.mode == ModeDesktop {
		req.Header.Set("client-version", "2.0.0")
		req.Header.Set("extspam", c.cfg.extspam)
		req.Header.Set("Referer", "https://wx.qq.com/?&lang=zh_CN&target=t")
	}
	// The status may be 200 or a 301 without Location: the body and cookies are the payload.
	// A 5xx is the gateway's page, not the server's refusal: worth another try.
	resp, body, err := c.do(opNewLoginPage, req, maxScriptBody)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 500 {
		return badResponse(opNewLoginPage, fmt.Errorf("HTTP status %d", resp.StatusCode))
	}
	info, err := parseNewLoginPage(body)
	if err != nil {
		return err
	}
	main := req.URL.Hostname()
	s := &session{
		hosts:      hostsFor(main),
		uin:        info.uin,
		sid:        info.sid,
		skey:       info.skey,
		passTicket: info.passTicket,
		deviceID:   newDeviceID(),
	}
	c.begin(s, nil)
	return nil
}

// loginInfo holds the credentials of a successful webwxnewloginpage.
type loginInfo struct {
	uin                        int64
	sid, skey, passTicket, msg string
}

// parseNewLoginPage parses the <error> XML of webwxnewloginpage, leniently (bytes that are not
// UTF-8 are replaced, not fatal), detecting the empty answer and the HTML page a refused login
// may get instead (PROTOCOL 4.4, 14.9, 14.10).
func parseNewLoginPage(body []byte) (loginInfo, error) {
	p, err := wire.ParseLoginPage(body)
	switch {
	case errors.Is(err, wire.ErrEmptyPage): // the bare 301 of an unverified account (PROTOCOL 4.4)
		return loginInfo{}, &Error{Op: opNewLoginPage, Err: fmt.Errorf("%w: empty answer", ErrLoginForbidden)}
	case errors.Is(err, wire.ErrHTMLPage):
		return loginInfo{}, &Error{Op: opNewLoginPage, Err: fmt.Errorf("%w: HTML page instead of XML", ErrLoginForbidden)}
	case err != nil:
		return loginInfo{}, badResponse(opNewLoginPage, err)
	case p.Ret != 0:
		return loginInfo{}, &Error{Op: opNewLoginPage, Ret: p.Ret, Msg: p.Message}
	case p.RedirectURL != "":
		return loginInfo{}, &Error{Op: opNewLoginPage, Msg: p.Message, Err: fmt.Errorf("%w: redirected", ErrLoginForbidden)}
	case p.WxUin == 0 || p.WxSid == "" || p.SKey == "" || p.PassTicket == "":
		return loginInfo{}, &Error{Op: opNewLoginPage, Msg: p.Message, Err: fmt.Errorf("%w: credentials missing from the answer", ErrLoginForbidden)}
	}
	return loginInfo{uin: p.WxUin, sid: p.WxSid, skey: p.SKey, passTicket: p.PassTicket, msg: p.Message}, nil
}
