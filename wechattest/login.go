package wechattest

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// appID is the AppID of Web WeChat's jslogin (PROTOCOL 4.1).
const appID = "wx782c26e4c19acffb"

// uosExtSpam is the extspam header value of UOS desktop mode (PROTOCOL 4.5).
const uosExtSpam = "Go8FCIkFEokFCggwMDAwMDAwMRAGGvAESySibk50w5Wb3uTl2c2h64jVVrV7gNs06GFlWplHQbY/5Ffi" +
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

// bannedMessage is the 1203 message of a refused web login (PROTOCOL 4.4).
const bannedMessage = "为了你的帐号安全，此微信号不能登录网页微信。你可以使用Windows微信或Mac微信在电脑端登录。"

// avatarJPEG is a valid 1x1 JPEG, the scanner's avatar in the 201 answer
// and the QR code image.
const avatarJPEG = "/9j/2wCEABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2MBERISGBUYLxoaL2NCOEJjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY//AAAsIAAEAAQEBEQD/xADSAAABBQEBAQEBAQAAAAAAAAAAAQIDBAUGBwgJCgsQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGBkaJSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+v/aAAgBAQAAPwAr/9k="

// qrCode is one uuid issued by jslogin and what the phone did with it.
type qrCode struct {
	uuid    string
	desktop bool // jslogin's redirect_uri had mod=desktop
	state   qrState
	told201 bool     // the 201 answer has been given
	ticket  string   // set once confirmed
	scan    int64    // Unix time of the confirmation
	sess    *session // the session the ticket was exchanged for
	push    bool     // issued by webwxpushloginurl: a prompt on the phone, no QR code
}

type qrState int

const (
	qrWaiting qrState = iota
	qrScanned
	qrConfirmed
	qrCancelled
	qrExpired
)

// phoneIntent is a phone action made before the QR code it applies to was
// issued.
type phoneIntent struct{ scan, confirm bool }

// loginRefusal is the answer of the next webwxnewloginpage set by
// RefuseLogin.
type loginRefusal struct {
	ret     int
	message string
}

// currentQRLocked returns the latest QR code still waiting for the phone.
func (s *Server) currentQRLocked() *qrCode {
	if n := len(s.qrList); n > 0 {
		if qr := s.qrList[n-1]; qr.state == qrWaiting || qr.state == qrScanned {
			return qr
		}
	}
	return nil
}

func (s *Server) applyIntentLocked(qr *qrCode, in phoneIntent) {
	if in.scan && qr.state == qrWaiting {
		qr.state = qrScanned
	}
	if in.confirm && (qr.state == qrWaiting || qr.state == qrScanned) {
		qr.state = qrConfirmed
		qr.scan = time.Now().Unix()
		qr.ticket = alnum(32, "ticket", qr.uuid) + "@qrticket_0"
		s.tickets[qr.ticket] = qr
	}
}

// serveJSLogin answers GET (or POST) /jslogin (PROTOCOL 4.1). Only the
// appid is checked: it names the Web WeChat app, and no working client
// asks with another (PROTOCOL 4.1), so another one answers code 400.
// fun, lang and redirect_uri may be missing (IC and WXB omit redirect_uri).
func (s *Server) serveJSLogin(x *exchange) {
	q := x.r.URL.Query()
	h := x.w.Header()
	h["Content-Type"] = []string{"text/javascript", "text/html; charset=gbk"}
	if q.Get("appid") != appID {
		s.note(x, 400, "appid is not "+appID+", the Web WeChat AppID (PROTOCOL 4.1)")
		io.WriteString(x.w, `window.QRLogin.code = 400; window.QRLogin.uuid = "";`)
		return
	}
	desktop := false
	if ru, err := url.Parse(q.Get("redirect_uri")); err == nil {
		desktop = ru.Query().Get("mod") == "desktop"
	}

	s.mu.Lock()
	sum := sha256.Sum256([]byte("uuid\x00" + strconv.FormatInt(s.nextSerial(), 10)))
	qr := &qrCode{uuid: base64.RawURLEncoding.EncodeToString(sum[:])[:10] + "==", desktop: desktop}
	s.qrs[qr.uuid] = qr
	s.qrList = append(s.qrList, qr)
	s.applyIntentLocked(qr, s.intent)
	s.intent = phoneIntent{}
	s.broadcastLocked()
	s.mu.Unlock()

	fmt.Fprintf(x.w, `window.QRLogin.code = 200; window.QRLogin.uuid = "%s";`, qr.uuid)
}

// servePushLogin answers webwxpushloginurl (PROTOCOL 4.6), on the main host
// or, as IC asks, a login host. With the cookies of an earlier session of
// the account (wxuin, webwxuvid, webwx_auth_ticket) it puts a login prompt on
// the phone and answers {"ret":"0","msg":"all ok","uuid":...}: the uuid is
// then polled like a QR code's, and the phone actions (ConfirmLogin,
// Cancel, ...) apply to the prompt. A missing or wrong uin answers ret "1"
// (args error); cookies of no earlier session answer ret "3" (device
// authinfo invalid), as PROTOCOL 4.6 lists them.
func (s *Server) servePushLogin(x *exchange) {
	x.w.Header().Set("Content-Type", "text/plain")
	r := x.r
	uin := r.URL.Query().Get("uin")
	s.mu.Lock()
	defer s.mu.Unlock()
	if uin == "" || uin != strconv.FormatInt(s.acct.self.contact.Uin, 10) || cookieValue(r, "wxuin") != uin {
		s.noteLocked(x, 1, "the uin parameter and the wxuin cookie must be the account's uin (PROTOCOL 4.6: ret 1 args error)")
		io.WriteString(x.w, `{"ret":"1","msg":"args error"}`)
		return
	}
	known := false
	for _, ss := range s.sessions {
		if (hostRole(x.host) == roleLogin || ss.mainHost == x.host) &&
			cookieValue(r, "webwx_auth_ticket") == ss.authTicket && cookieValue(r, "webwxuvid") == ss.uvid {
			known = true
		}
	}
	if !known {
		s.noteLocked(x, 3, "no webwxuvid and webwx_auth_ticket cookies of an earlier session (PROTOCOL 4.6: ret 3 device authinfo invalid)")
		io.WriteString(x.w, `{"ret":"3","msg":"device authinfo invalid"}`)
		return
	}
	sum := sha256.Sum256([]byte("push\x00" + strconv.FormatInt(s.nextSerial(), 10)))
	qr := &qrCode{uuid: base64.RawURLEncoding.EncodeToString(sum[:])[:10] + "==", desktop: r.URL.Query().Get("mod") == "desktop", push: true}
	s.qrs[qr.uuid] = qr
	s.qrList = append(s.qrList, qr)
	s.applyIntentLocked(qr, s.intent)
	s.intent = phoneIntent{}
	s.broadcastLocked()
	fmt.Fprintf(x.w, `{"ret":"0","msg":"all ok","uuid":"%s"}`, qr.uuid)
}

// serveQRImage answers GET /qrcode/<uuid> with a JPEG, and 404 for a uuid
// jslogin never issued.
func (s *Server) serveQRImage(x *exchange) {
	uuid := strings.TrimPrefix(x.r.URL.Path, "/qrcode/")
	s.mu.Lock()
	_, ok := s.qrs[uuid]
	if !ok {
		s.noteLocked(x, 0, "no QR code has this uuid")
	}
	s.mu.Unlock()
	if !ok {
		notFound(x.w)
		return
	}
	img, _ := base64.StdEncoding.DecodeString(avatarJPEG)
	x.w.Header().Set("Content-Type", "image/jpeg")
	x.w.Write(img)
}

// serveLoginPoll answers the login long poll (PROTOCOL 4.3): 400 for a
// uuid jslogin never issued or an expired one, 202 once the phone
// cancelled, 201 once scanned, 200 with the redirect once confirmed;
// otherwise it holds for the long poll and answers 408.
func (s *Server) serveLoginPoll(x *exchange) {
	uuid := x.r.URL.Query().Get("uuid")
	timer := time.NewTimer(s.cfg.longPoll)
	defer timer.Stop()
	for {
		s.mu.Lock()
		if s.closed || s.unreachable[x.host] {
			s.mu.Unlock()
			panic(http.ErrAbortHandler)
		}
		body := s.pollAnswerLocked(x, s.qrs[uuid])
		wake := s.wake
		s.mu.Unlock()
		if body != "" {
			writeJS(x.w, body)
			return
		}
		select {
		case <-wake:
		case <-timer.C:
			writeJS(x.w, "window.code=408;")
			return
		case <-x.r.Context().Done():
			return
		}
	}
}

// pollAnswerLocked returns the login poll answer for qr, or "" to hold.
func (s *Server) pollAnswerLocked(x *exchange, qr *qrCode) string {
	switch {
	case qr == nil:
		s.noteLocked(x, 400, "no QR code has this uuid (PROTOCOL 4.3: 400 uuid invalid)")
		return "window.code=400;"
	case qr.state == qrExpired:
		s.noteLocked(x, 400, "the QR code expired (PROTOCOL 4.3)")
		return "window.code=400;"
	case qr.state == qrCancelled:
		s.noteLocked(x, 202, "the phone cancelled the login (PROTOCOL 4.3)")
		return "window.code=202;"
	case qr.state == qrWaiting:
		return ""
	case !qr.told201:
		qr.told201 = true
		return "window.code=201;window.userAvatar = 'data:img/jpg;base64," + avatarJPEG + "';"
	case qr.state == qrConfirmed:
		return fmt.Sprintf("window.code=200;\nwindow.redirect_uri=\"https://%s/cgi-bin/mmwebwx-bin/webwxnewloginpage?ticket=%s&uuid=%s&lang=zh_CN&scan=%d\";",
			s.cfg.mainHost, qr.ticket, qr.uuid, qr.scan+int64(x.skew/time.Second))
	}
	return "" // scanned, waiting for the confirmation
}

// serveNewLoginPage exchanges a login ticket for a session (PROTOCOL 4.4).
// Only the ticket is checked: it must be one the login poll handed out, on
// the main host of its redirect (else ret 1). fun=new and version=v2 are
// not required (openwechat sends no fun, ItChat neither), nor the uuid. A
// ticket presented again while its session is live answers that session
// again, as for a client that retries after a dropped answer.
func (s *Server) serveNewLoginPage(x *exchange) {
	q := x.r.URL.Query()
	w := x.w
	w.Header().Set("Content-Type", "text/plain")
	xmlError := func(ret int, msg, reason string) {
		s.noteLocked(x, ret, reason)
		fmt.Fprintf(w, "<error><ret>%d</ret><message>%s</message></error>", ret, msg)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	qr := s.tickets[q.Get("ticket")]
	switch {
	case qr == nil:
		xmlError(1, "", "the ticket is not one the login poll handed out (PROTOCOL 4.4: ret != 0, login failed)")
		return
	case x.host != s.cfg.mainHost:
		xmlError(1, "", "the ticket belongs to the main host of its redirect, "+s.cfg.mainHost+" (PROTOCOL 2.2)")
		return
	}
	uos := x.r.Header.Get("client-version") == "2.0.0" && x.r.Header.Get("extspam") == uosExtSpam
	ss := qr.sess
	if ss == nil || ss.ended != 0 {
		if rf := s.refusal; rf != nil {
			s.refusal = nil
			xmlError(rf.ret, rf.message, "RefuseLogin")
			return
		}
		if s.cfg.banned && !uos {
			xmlError(1203, bannedMessage, "the web login is banned for this account and the request has no UOS headers (PROTOCOL 4.4, 4.5)")
			return
		}
		ss = s.newSessionLocked(uos || qr.desktop || q.Get("mod") == "desktop", time.Now())
		qr.sess = ss
		s.broadcastLocked()
	}

	now := x.now()
	day, decade := now.Add(12*time.Hour), now.AddDate(10, 0, 0)
	host := x.host
	uin := strconv.FormatInt(ss.uin, 10)
	setCookie(w, "wxuin", uin, host, day)
	setCookie(w, "wxsid", ss.sid, host, day)
	setCookie(w, "wxloadtime", strconv.FormatInt(now.Unix(), 10), host, day)
	setCookie(w, "mm_lang", "zh_CN", host, day)
	setCookie(w, "webwx_data_ticket", ss.dataTicket, cookieDomain(host), day)
	setCookie(w, "webwxuvid", ss.uvid, host, decade)
	setCookie(w, "webwx_auth_ticket", ss.authTicket, host, decade)
	setCookie(w, "wxuin", uin, cookieDomain(host), day)
	fmt.Fprintf(w, "<error><ret>0</ret><message></message><skey>%s</skey><wxsid>%s</wxsid><wxuin>%d</wxuin><pass_ticket>%s</pass_ticket><isgrayscale>1</isgrayscale></error>",
		ss.xmlSkey, ss.sid, ss.uin, ss.passTicket)
}

// serveLogout ends the session of the request's cookies (PROTOCOL 11.5)
// and answers a redirect, whatever the request.
func (s *Server) serveLogout(x *exchange) {
	s.mu.Lock()
	if ss := s.sessionByCookiesLocked(x.r); ss != nil && ss.ended == 0 && x.host == ss.mainHost {
		ss.ended = 1101
		s.broadcastLocked()
	}
	s.mu.Unlock()
	x.w.Header().Set("Location", "https://"+x.host+"/")
	x.w.Header().Set("Content-Type", "text/html")
	x.w.WriteHeader(http.StatusMovedPermanently)
	io.WriteString(x.w, "<html><head><title>301 Moved Permanently</title></head><body><h1>301 Moved Permanently</h1></body></html>")
}
