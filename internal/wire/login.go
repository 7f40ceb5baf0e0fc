package wire

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/wxkit/wechat/internal/wire/jsvar"
)

// This file holds the answers of the login steps and of synccheck: JavaScript assignments
// (PROTOCOL 14.1) and the XML of webwxnewloginpage (PROTOCOL 4.4).

// SyncCheck is the answer of synccheck (PROTOCOL 6.1).
type SyncCheck struct {
	Retcode  int
	Selector int
}

// ParseSyncCheck parses `window.synccheck={retcode:"0",selector:"2"}`: bare or quoted keys,
// values as strings or numbers, white space and a final semicolon or not. A body without a
// retcode is an error wrapping ErrSyntax; a missing selector is 0 (logout answers may omit
// it).
func ParseSyncCheck(body []byte) (SyncCheck, error) {
	vars, err := parseJS(body)
	if err != nil {
		return SyncCheck{}, err
	}
	rc, ok := vars.Int("synccheck.retcode")
	if !ok {
		return SyncCheck{}, syntaxError(0, "no retcode")
	}
	sel, _ := vars.Int("synccheck.selector")
	return SyncCheck{Retcode: rc, Selector: sel}, nil
}

// JSLogin is the answer of jslogin (PROTOCOL 4.1): Code 200 and the login uuid.
type JSLogin struct {
	Code int
	UUID string
}

// ParseJSLogin parses `window.QRLogin.code = 200; window.QRLogin.uuid = "...";`. A body
// without a code (or with code 0, which no server sends), or with code 200 and a missing or
// malformed uuid, is an error wrapping ErrSyntax.
func ParseJSLogin(body []byte) (JSLogin, error) {
	vars, err := parseJS(body)
	if err != nil {
		return JSLogin{}, err
	}
	code, ok := vars.Int("QRLogin.code")
	if !ok || code == 0 {
		return JSLogin{}, syntaxError(0, "missing or zero QRLogin.code")
	}
	l := JSLogin{Code: code, UUID: vars["QRLogin.uuid"]}
	if code == 200 && !ValidUUID(l.UUID) {
		return JSLogin{}, syntaxError(0, "missing or malformed uuid")
	}
	return l, nil
}

// ValidUUID reports whether a login uuid can be used verbatim in a URL path and query.
func ValidUUID(uuid string) bool {
	return uuid != "" && !strings.ContainsAny(uuid, "/?#& \t\r\n")
}

// LoginPoll is one answer of the login poll (PROTOCOL 4.3).
type LoginPoll struct {
	Code        int
	Avatar      []byte // 201: the scanner's avatar (the data URL decoded), if any
	RedirectURI string // 200: window.redirect_uri, verbatim
}

// ParseLoginPoll parses `window.code=201;window.userAvatar = '...';` and its variants. A body
// without a code, or a 200 without an https redirect_uri, is an error wrapping ErrSyntax.
func ParseLoginPoll(body []byte) (LoginPoll, error) {
	vars, err := parseJS(body)
	if err != nil {
		return LoginPoll{}, err
	}
	code, ok := vars.Int("code")
	if !ok {
		return LoginPoll{}, syntaxError(0, "no window.code")
	}
	p := LoginPoll{Code: code}
	switch code {
	case 201:
		p.Avatar = decodeDataURL(vars["userAvatar"])
	case 200:
		u, err := url.Parse(vars["redirect_uri"])
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return LoginPoll{}, syntaxError(0, "missing or malformed redirect_uri")
		}
		p.RedirectURI = vars["redirect_uri"]
	}
	return p, nil
}

// parseJS parses a JavaScript-assignment body; its errors wrap ErrSyntax.
func parseJS(body []byte) (jsvar.Vars, error) {
	vars, err := jsvar.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSyntax, err)
	}
	return vars, nil
}

// decodeDataURL returns the bytes of a base64 data URL ('data:img/jpg;base64,...'), or nil.
func decodeDataURL(s string) []byte {
	_, data, ok := strings.Cut(s, ";base64,")
	if !ok || data == "" {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil
	}
	return b
}

// LoginPage is the <error> XML webwxnewloginpage answers (PROTOCOL 4.4): Ret 0 with the
// session credentials, or a refusal with its Message. WxUin is 0 when the element is missing
// or not a decimal number.
type LoginPage struct {
	Ret         int
	Message     string
	SKey        string
	WxSid       string
	WxUin       int64
	PassTicket  string // as sent: already percent-encoded (PROTOCOL 3.4)
	RedirectURL string // set on a refusal the official client follows
}

// Errors of ParseLoginPage besides ErrSyntax: a refused login answers an empty body or an
// HTML page (PROTOCOL 4.4, 14.10, 14.11).
var (
	ErrEmptyPage = errors.New("wire: empty answer")
	ErrHTMLPage  = errors.New("wire: HTML page instead of XML")
)

// ParseLoginPage parses the answer of webwxnewloginpage leniently: white space anywhere,
// HTML entities, bytes that are not UTF-8 (replaced by U+FFFD), anything after the root
// element. An empty body is ErrEmptyPage, an HTML page ErrHTMLPage; XML without a readable
// <ret> wraps ErrSyntax.
func ParseLoginPage(body []byte) (LoginPage, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return LoginPage{}, ErrEmptyPage
	}
	head := bytes.ToLower(body[:min(len(body), 512)])
	if bytes.Contains(head, []byte("<html")) || bytes.Contains(head, []byte("<!doctype")) {
		return LoginPage{}, ErrHTMLPage
	}
	var x struct {
		Ret         string `xml:"ret"`
		Message     string `xml:"message"`
		Skey        string `xml:"skey"`
		Wxsid       string `xml:"wxsid"`
		Wxuin       string `xml:"wxuin"`
		PassTicket  string `xml:"pass_ticket"`
		RedirectURL string `xml:"redirecturl"`
	}
	if err := decodeXML(body, &x); err != nil {
		return LoginPage{}, syntaxError(0, "malformed XML")
	}
	ret, err := strconv.Atoi(strings.TrimSpace(x.Ret))
	if err != nil {
		return LoginPage{}, syntaxError(0, "no ret")
	}
	p := LoginPage{
		Ret:         ret,
		Message:     strings.TrimSpace(x.Message),
		SKey:        strings.TrimSpace(x.Skey),
		WxSid:       strings.TrimSpace(x.Wxsid),
		PassTicket:  strings.TrimSpace(x.PassTicket),
		RedirectURL: strings.TrimSpace(x.RedirectURL),
	}
	if uin, err := strconv.ParseUint(strings.TrimSpace(x.Wxuin), 10, 64); err == nil {
		p.WxUin = int64(uin)
	}
	return p, nil
}
