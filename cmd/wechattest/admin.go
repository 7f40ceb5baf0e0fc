package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/wxkit/wechat/wechattest"
)

// The admin API: a small local HTTP API through which a test in any
// language plays the phone and reads what its bot did. Answers are JSON;
// errors are {"error": "..."} with a 4xx or 5xx status. Waits take a wait
// parameter ("30s"; default 30s) and answer 504 when it passes.
//
//	POST /confirm              the phone scans and confirms the QR code (now or the next one)
//	POST /scan, /cancel, /expire-qr   the other phone actions of the login
//	GET  /qr?n=1&wait=30s      waits for the nth QR code: {"uuid": ..., "url": "https://login.weixin.qq.com/l/<uuid>"}
//	GET  /online?wait=30s      waits until a client has called webwxinit and webwxstatusnotify
//	POST /deliver              a message (or an array of messages) to deliver: {"From": "friend", "Text": "ping"}
//	GET  /sent?n=1&wait=30s    waits until n messages were sent, then lists every sent message
//	GET  /uploads              the completed uploads (name, media type, size, MD5)
//	GET  /requests             every request with its status, code, refusal reason and fault
//	POST /fault                {"endpoint": "synccheck", "fault": "BadGateway", "count": 2}
//	POST /end-session          {"retcode": 1101}: the server ends the session
//	GET  /account              the account as the server holds it now
//	GET  /ca.pem               the proxy's CA certificate
//	GET  /status               online, QR, counts, and the strict-mode violations
//	POST /shutdown             stops the server
type admin struct {
	srv      *wechattest.Server
	ca       []byte
	shutdown func()
	strict   func() []string
}

func (a *admin) handler() http.Handler {
	mux := http.NewServeMux()
	phone := func(f func()) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			f()
			reply(w, map[string]bool{"ok": true})
		}
	}
	mux.Handle("POST /confirm", phone(a.srv.ConfirmLogin))
	mux.Handle("POST /scan", phone(a.srv.Scan))
	mux.Handle("POST /cancel", phone(a.srv.Cancel))
	mux.Handle("POST /expire-qr", phone(a.srv.ExpireQR))
	mux.HandleFunc("GET /qr", a.qr)
	mux.HandleFunc("GET /online", a.online)
	mux.HandleFunc("POST /deliver", a.deliver)
	mux.HandleFunc("GET /sent", a.sent)
	mux.HandleFunc("GET /uploads", a.uploads)
	mux.HandleFunc("GET /requests", a.requests)
	mux.HandleFunc("POST /fault", a.fault)
	mux.HandleFunc("POST /end-session", a.endSession)
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) { reply(w, a.srv.Account()) })
	mux.HandleFunc("GET /ca.pem", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Write(a.ca)
	})
	mux.HandleFunc("GET /status", a.status)
	mux.Handle("POST /shutdown", phone(a.shutdown))
	return mux
}

// waitCtx is the request's context bounded by its wait parameter.
func waitCtx(r *http.Request) (context.Context, context.CancelFunc, error) {
	d := 30 * time.Second
	if s := r.URL.Query().Get("wait"); s != "" {
		v, err := time.ParseDuration(s)
		if err != nil {
			return nil, nil, fmt.Errorf("wait: %w", err)
		}
		d = v
	}
	ctx, cancel := context.WithTimeout(r.Context(), d)
	return ctx, cancel, nil
}

func (a *admin) qr(w http.ResponseWriter, r *http.Request) {
	n := 1
	if s := r.URL.Query().Get("n"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			fail(w, http.StatusBadRequest, fmt.Errorf("n: %w", err))
			return
		}
		n = v
	}
	ctx, cancel, err := waitCtx(r)
	if err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	defer cancel()
	uuid, err := a.srv.WaitQR(ctx, n)
	if err != nil {
		fail(w, waitStatus(err), err)
		return
	}
	reply(w, map[string]string{"uuid": uuid, "url": "https://login.weixin.qq.com/l/" + uuid})
}

func (a *admin) online(w http.ResponseWriter, r *http.Request) {
	ctx, cancel, err := waitCtx(r)
	if err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	defer cancel()
	if err := a.srv.WaitOnline(ctx); err != nil {
		fail(w, waitStatus(err), err)
		return
	}
	reply(w, map[string]bool{"online": true})
}

func (a *admin) deliver(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	var msgs []wechattest.Message
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		err = json.Unmarshal(b, &msgs)
	} else {
		var m wechattest.Message
		err = json.Unmarshal(b, &m)
		msgs = append(msgs, m)
	}
	if err != nil {
		fail(w, http.StatusBadRequest, fmt.Errorf("deliver: a message or an array of messages: %w", err))
		return
	}
	a.srv.Deliver(msgs...)
	reply(w, map[string]int{"delivered": len(msgs)})
}

func (a *admin) sent(w http.ResponseWriter, r *http.Request) {
	n := 0
	if s := r.URL.Query().Get("n"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			fail(w, http.StatusBadRequest, fmt.Errorf("n: %w", err))
			return
		}
		n = v
	}
	ctx, cancel, err := waitCtx(r)
	if err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	defer cancel()
	sent, err := a.srv.WaitSent(ctx, n)
	if err != nil {
		fail(w, waitStatus(err), err)
		return
	}
	if sent == nil {
		sent = []wechattest.SentMessage{}
	}
	reply(w, sent)
}

// uploadJSON is an upload without its bytes.
type uploadJSON struct {
	MediaID, Name, MediaType, ContentType, Signature, MD5 string
	Size                                                  int64
}

func (a *admin) uploads(w http.ResponseWriter, r *http.Request) {
	out := []uploadJSON{}
	for _, u := range a.srv.Uploads() {
		out = append(out, uploadJSON{u.MediaID, u.Name, u.MediaType, u.ContentType, u.Signature, u.MD5(), u.Size()})
	}
	reply(w, out)
}

// requestJSON is a request without its headers and body.
type requestJSON struct {
	Method, Host, Path, Endpoint string
	Query                        url.Values
	Status, Ret                  int
	Reason                       string `json:",omitempty"`
	Fault                        string `json:",omitempty"`
}

func (a *admin) requests(w http.ResponseWriter, r *http.Request) {
	out := []requestJSON{}
	for _, rq := range a.srv.Requests() {
		f := ""
		if rq.Fault != 0 {
			f = rq.Fault.String()
		}
		out = append(out, requestJSON{rq.Method, rq.Host, rq.Path, rq.Endpoint, rq.Query, rq.Status, rq.Ret, rq.Reason, f})
	}
	reply(w, out)
}

func (a *admin) fault(w http.ResponseWriter, r *http.Request) {
	var f faultJSON
	d := json.NewDecoder(r.Body)
	d.DisallowUnknownFields()
	if err := d.Decode(&f); err != nil {
		fail(w, http.StatusBadRequest, fmt.Errorf("fault: %w", err))
		return
	}
	if err := f.inject(a.srv); err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	reply(w, map[string]bool{"ok": true})
}

func (a *admin) endSession(w http.ResponseWriter, r *http.Request) {
	var body struct{ Retcode int }
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Retcode == 0 {
		fail(w, http.StatusBadRequest, errors.New(`end-session: {"retcode": 1100, 1101 or 1102}`))
		return
	}
	a.srv.EndSession(body.Retcode)
	reply(w, map[string]bool{"ok": true})
}

func (a *admin) status(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithCancel(r.Context())
	cancel() // no wait: is it online now?
	online := a.srv.WaitOnline(ctx) == nil
	refused := 0
	rs := a.srv.Requests()
	for _, rq := range rs {
		if rq.Refused() {
			refused++
		}
	}
	strict := a.strict()
	if strict == nil {
		strict = []string{}
	}
	reply(w, map[string]any{
		"online": online, "requests": len(rs), "refused": refused,
		"sent": len(a.srv.Sent()), "uploads": len(a.srv.Uploads()), "strict": strict,
	})
}

func waitStatus(err error) int {
	if errors.Is(err, context.DeadlineExceeded) {
		return http.StatusGatewayTimeout
	}
	return http.StatusServiceUnavailable
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func fail(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}
