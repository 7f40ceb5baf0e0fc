package wechattest

import (
	"context"
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
	told201 bool   // the 201 answer has been given
	ticket  string // set once confirmed
	scan    int64  // Unix time of the confirmation
	used    bool   // the ticket was presented to webwxnewloginpage
	push    bool   // issued by webwxpushloginurl: a prompt on the phone, no QR code
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

// refusal is the answer of the next webwxnewloginpage set by RefuseLogin.
type refusal struct {
	ret     int
	message string
}

// Scan makes the phone scan the current QR code, or the next one if no QR
// code is waiting: the held or next login poll answers 201 with the
// scanner's avatar.
func (s *Server) Scan() {
	s.phone(phoneIntent{scan: true})
}

// Confirm makes the user tap "Log in" on the phone: the next login poll
// answers 200 with the redirect_uri. If the QR code was not scanned yet it
// is scanned first, and 201 is still answered once before 200. With no QR
// code waiting, Confirm applies to the next one.
func (s *Server) Confirm() {
	s.phone(phoneIntent{scan: true, confirm: true})
}

// ConfirmLogin scans and confirms, like [Server.Scan] then
// [Server.Confirm]. It may be called before the client asked for a uuid:
// the intent is kept for the next QR code, so a test can call it before
// starting the client.
func (s *Server) ConfirmLogin() {
	s.phone(phoneIntent{scan: true, confirm: true})
}

// phone applies in to the waiting QR code, or keeps it for the next one.
func (s *Server) phone(in phoneIntent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if qr := s.currentQRLocked(); qr != nil {
		s.applyIntentLocked(qr, in)
	} else {
		s.intent.scan = s.intent.scan || in.scan
		s.intent.confirm = s.intent.confirm || in.confirm
	}
	s.broadcastLocked()
}

// Cancel makes the user press "cancel" on the phone: the login poll of the
// waiting QR code answers 202. Cancel does nothing if no QR code is waiting.
func (s *Server) Cancel() {
	s.setQRState(qrCancelled)
}

// ExpireQR expires the waiting QR code: its login poll answers 400, and a
// new jslogin uuid works again. ExpireQR does nothing if no QR code is
// waiting.
func (s *Server) ExpireQR() {
	s.setQRState(qrExpired)
}

func (s *Server) setQRState(st qrState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if qr := s.currentQRLocked(); qr != nil {
		qr.state = st
		s.broadcastLocked()
	}
}

// RefuseLogin makes the next webwxnewloginpage answer
// <error><ret>ret</ret><message>message</message></error>, as the server
// does for refused accounts (ret 1203, PROTOCOL 4.4). The login ticket is
// used up.
func (s *Server) RefuseLogin(ret int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refusal = &refusal{ret: ret, message: message}
}

// WaitQR waits until jslogin has issued n uuids (n < 1 counts as 1) and
// returns the nth. It returns ctx.Err() if ctx ends first, and [ErrClosed]
// once the server is closed.
func (s *Server) WaitQR(ctx context.Context, n int) (string, error) {
	n = max(n, 1)
	var uuid string
	err := s.waitFor(ctx, func() bool {
		seen := 0
		for _, qr := range s.qrList {
			if !qr.push {
				seen++
			}
			if seen == n {
				uuid = qr.uuid
				return true
			}
		}
		return false
	})
	return uuid, err
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

// serveJSLogin answers GET (or POST) /jslogin (PROTOCOL 4.1).
func (s *Server) serveJSLogin(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	h := w.Header()
	h["Content-Type"] = []string{"text/javascript", "text/html; charset=gbk"}
	if q.Get("appid") != appID || q.Get("fun") != "new" {
		io.WriteString(w, `window.QRLogin.code = 400; window.QRLogin.uuid = "";`)
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

	fmt.Fprintf(w, `window.QRLogin.code = 200; window.QRLogin.uuid = "%s";`, qr.uuid)
}

// servePushLogin answers webwxpushloginurl (PROTOCOL 4.6). With the cookies of an earlier
// session of the account on this host (wxuin, webwxuvid, webwx_auth_ticket) it puts a login
// prompt on the phone and answers {"ret":"0","msg":"all ok","uuid":...}: the uuid is then
// polled like a QR code's, and the phone actions (Confirm, Cancel, ...) apply to the prompt.
// A missing or wrong uin answers ret "1" (args error); cookies of no earlier session answer
// ret "3" (device authinfo invalid).
func (s *Server) servePushLogin(w http.ResponseWriter, r *http.Request, host string) {
	w.Header().Set("Content-Type", "text/plain")
	uin := r.URL.Query().Get("uin")
	s.mu.Lock()
	defer s.mu.Unlock()
	if uin == "" || uin != strconv.FormatInt(s.acct.self.contact.Uin, 10) || cookieValue(r, "wxuin") != uin {
		io.WriteString(w, `{"ret":"1","msg":"args error"}`)
		return
	}
	known := false
	for _, ss := range s.sessions {
		if ss.mainHost == host && cookieValue(r, "webwx_auth_ticket") == ss.authTicket && cookieValue(r, "webwxuvid") == ss.uvid {
			known = true
		}
	}
	if !known {
		io.WriteString(w, `{"ret":"3","msg":"device authinfo invalid"}`)
		return
	}
	sum := sha256.Sum256([]byte("push\x00" + strconv.FormatInt(s.nextSerial(), 10)))
	qr := &qrCode{uuid: base64.RawURLEncoding.EncodeToString(sum[:])[:10] + "==", desktop: r.URL.Query().Get("mod") == "desktop", push: true}
	s.qrs[qr.uuid] = qr
	s.qrList = append(s.qrList, qr)
	s.applyIntentLocked(qr, s.intent)
	s.intent = phoneIntent{}
	s.broadcastLocked()
	fmt.Fprintf(w, `{"ret":"0","msg":"all ok","uuid":"%s"}`, qr.uuid)
}

// serveQRImage answers GET /qrcode/<uuid> with a JPEG.
func (s *Server) serveQRImage(w http.ResponseWriter, r *http.Request) {
	uuid := strings.TrimPrefix(r.URL.Path, "/qrcode/")
	s.mu.Lock()
	_, ok := s.qrs[uuid]
	s.mu.Unlock()
	if !ok {
		notFound(w)
		return
	}
	img, _ := base64.StdEncoding.DecodeString(avatarJPEG)
	w.Header().Set("Content-Type", "image/jpeg")
	w.Write(img)
}

// serveLoginPoll answers the login long poll (PROTOCOL 4.3).
func (s *Server) serveLoginPoll(w http.ResponseWriter, r *http.Request, host string) {
	uuid := r.URL.Query().Get("uuid")
	timer := time.NewTimer(s.cfg.longPoll)
	defer timer.Stop()
	for {
		s.mu.Lock()
		if s.closed || s.unreachable[host] {
			s.mu.Unlock()
			panic(http.ErrAbortHandler)
		}
		body := s.pollAnswerLocked(s.qrs[uuid])
		wake := s.wake
		s.mu.Unlock()
		if body != "" {
			writeJS(w, body)
			return
		}
		select {
		case <-wake:
		case <-timer.C:
			writeJS(w, "window.code=408;")
			return
		case <-r.Context().Done():
			return
		}
	}
}

// pollAnswerLocked returns the login poll answer for qr, or "" to hold.
func (s *Server) pollAnswerLocked(qr *qrCode) string {
	switch {
	case qr == nil || qr.state == qrExpired:
		return "window.code=400;"
	case qr.state == qrCancelled:
		return "window.code=202;"
	case qr.state == qrWaiting:
		return ""
	case !qr.told201:
		qr.told201 = true
		return "window.code=201;window.userAvatar = 'data:img/jpg;base64," + avatarJPEG + "';"
	case qr.state == qrConfirmed:
		return fmt.Sprintf("window.code=200;\nwindow.redirect_uri=\"https://%s/cgi-bin/mmwebwx-bin/webwxnewloginpage?ticket=%s&uuid=%s&lang=zh_CN&scan=%d\";",
			s.cfg.mainHost, qr.ticket, qr.uuid, qr.scan)
	}
	return "" // scanned, waiting for the confirmation
}

// serveNewLoginPage exchanges a login ticket for a session (PROTOCOL 4.4).
func (s *Server) serveNewLoginPage(w http.ResponseWriter, r *http.Request, host string) {
	q := r.URL.Query()
	w.Header().Set("Content-Type", "text/plain")
	xmlError := func(ret int, msg string) {
		fmt.Fprintf(w, "<error><ret>%d</ret><message>%s</message></error>", ret, msg)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	qr := s.tickets[q.Get("ticket")]
	switch {
	case q.Get("fun") != "new" || q.Get("version") != "v2":
		xmlError(1, "")
		return
	case qr == nil || qr.used || q.Get("uuid") != qr.uuid || host != s.cfg.mainHost:
		xmlError(1, "")
		return
	}
	qr.used = true
	uos := r.Header.Get("client-version") == "2.0.0" && r.Header.Get("extspam") == uosExtSpam
	if rf := s.refusal; rf != nil {
		s.refusal = nil
		xmlError(rf.ret, rf.message)
		return
	}
	if s.cfg.banned && !uos {
		xmlError(1203, bannedMessage)
		return
	}

	ss := s.newSessionLocked(uos || qr.desktop || q.Get("mod") == "desktop")
	s.broadcastLocked()

	now := time.Now()
	day, decade := now.Add(12*time.Hour), now.AddDate(10, 0, 0)
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
func (s *Server) serveLogout(w http.ResponseWriter, r *http.Request, host string) {
	s.mu.Lock()
	if ss := s.sessionByCookiesLocked(r); ss != nil && ss.ended == 0 && host == ss.mainHost {
		ss.ended = 1101
		s.broadcastLocked()
	}
	s.mu.Unlock()
	w.Header().Set("Location", "https://"+host+"/")
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusMovedPermanently)
	io.WriteString(w, "<html><head><title>301 Moved Permanently</title></head><body><h1>301 Moved Permanently</h1></body></html>")
}
