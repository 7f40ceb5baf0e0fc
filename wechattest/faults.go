package wechattest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"
)

// A Fault is a way the real servers and the network between them and a
// client fail a request (PROTOCOL 6.1, 12.5, 14). [Server.InjectFault]
// makes the next requests to an endpoint fail that way; [Server.InjectRetcode]
// and [Server.RaiseSelector] cover the failures that carry a code.
//
// A fault never changes what the server holds: a failed webwxsync does not
// move the event log or the SyncKey webwxinit answers, so a client that
// retries with the same SyncKey gets the same messages again.
type Fault int

const (
	// FaultReset sends the real answer's status and headers, with its
	// Content-Length, and then only the first half of its body: reading the
	// body fails with io.ErrUnexpectedEOF, as when the connection is reset
	// mid-body. A synccheck is held as usual before its answer breaks off.
	// For synccheck and webwxsync.
	FaultReset Fault = iota + 1

	// FaultBadGateway answers at once 502 Bad Gateway with nginx's HTML
	// error page (text/html), as the front ends do when a backend is down.
	// For synccheck and webwxsync.
	FaultBadGateway

	// FaultHang holds the request, whatever happens meanwhile, until its
	// context ends (the client's timeout) or the server closes: a long poll
	// that never answers. For synccheck and webwxsync.
	FaultHang

	// FaultTruncate answers the real answer's status and headers with only
	// the first half of its body, as a complete HTTP answer: the JSON (or
	// JavaScript) is cut off. For synccheck and webwxsync.
	FaultTruncate

	// FaultResend makes a webwxsync answer carry, before its new messages,
	// the last message that the request's SyncKey already covers, with the
	// same MsgId: the same message in two batches (PROTOCOL 14.20). The
	// answer is otherwise the real one; when the SyncKey covers no message
	// yet there is nothing to repeat. Only for webwxsync, and only an answer
	// that passes the session checks counts.
	FaultResend
)

// String returns the constant's name without its Fault prefix, e.g.
// "Reset", or "Fault(<n>)" for an unknown value.
func (f Fault) String() string {
	switch f {
	case FaultReset:
		return "Reset"
	case FaultBadGateway:
		return "BadGateway"
	case FaultHang:
		return "Hang"
	case FaultTruncate:
		return "Truncate"
	case FaultResend:
		return "Resend"
	}
	return "Fault(" + strconv.Itoa(int(f)) + ")"
}

// Endpoints that faults can be injected into.
const (
	epSyncCheck = "synccheck"
	epSync      = "webwxsync"
)

// injected is a fault waiting for requests; guarded by Server.mu.
type injected struct {
	endpoint string
	fault    Fault // 0 for InjectRetcode
	code     int   // the retcode or Ret of InjectRetcode
	left     int   // requests still to fail
}

// InjectFault makes the next n requests to endpoint, "synccheck" or
// "webwxsync", fail with f. Faults injected for the same endpoint, with
// InjectFault or [Server.InjectRetcode], are served in the order they were
// injected; a request held when the fault is injected is not affected.
// Faulted requests still appear in [Server.Requests]. n <= 0 injects
// nothing.
//
// InjectFault panics if endpoint is not "synccheck" or "webwxsync", or if f
// does not apply to it (see the constants).
func (s *Server) InjectFault(endpoint string, f Fault, n int) {
	switch {
	case endpoint != epSyncCheck && endpoint != epSync:
		panic("wechattest: InjectFault: no faults for endpoint " + strconv.Quote(endpoint))
	case f < FaultReset || f > FaultResend:
		panic("wechattest: InjectFault: unknown fault " + f.String())
	case f == FaultResend && endpoint != epSync:
		panic("wechattest: InjectFault: FaultResend is for webwxsync only")
	}
	s.inject(&injected{endpoint: endpoint, fault: f, left: n})
}

// InjectRetcode makes the next n requests to endpoint answer code at once:
// synccheck answers window.synccheck={retcode:"<code>",selector:"0"} (-1
// stands for any code a client does not know), webwxsync answers
// BaseResponse.Ret code with the zeroed body of PROTOCOL 14.6. Codes 1100,
// 1101 and 1102 also end the request's session when they are answered, as
// [Server.EndSession] does, so every later request agrees (PROTOCOL 12.5).
// Ordering and n are as for [Server.InjectFault].
//
// InjectRetcode panics if endpoint is not "synccheck" or "webwxsync".
func (s *Server) InjectRetcode(endpoint string, code, n int) {
	if endpoint != epSyncCheck && endpoint != epSync {
		panic("wechattest: InjectRetcode: no faults for endpoint " + strconv.Quote(endpoint))
	}
	s.inject(&injected{endpoint: endpoint, code: code, left: n})
}

func (s *Server) inject(f *injected) {
	if f.left <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// WaitFaults waits until every fault injected with [Server.InjectFault] and
// [Server.InjectRetcode] has met its requests. It returns ctx.Err() if ctx
// ends first, and [ErrClosed] once the server is closed.
func (s *Server) WaitFaults(ctx context.Context) error {
	return s.waitFor(ctx, func() bool { return len(s.faults) == 0 })
}

// RaiseSelector records a change that brings no message, as when a contact
// is edited (selector 4) or a chat is opened on the phone (selector 7):
// synccheck answers selector sel at once, and keeps doing so for a request
// whose synckey is older than the change, until the client has called
// webwxsync and polls with the SyncCheckKey it returned (PROTOCOL 6.1,
// 14.13). That webwxsync answers the new SyncKey and no AddMsgList entry
// for the change. Like [Server.Deliver], RaiseSelector before login or
// after the session ended records the change for the next session. It
// panics if sel <= 0.
func (s *Server) RaiseSelector(sel int) {
	if sel <= 0 {
		panic("wechattest: RaiseSelector: selector " + strconv.Itoa(sel) + " is not a change")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appendEventLocked(event{created: time.Now().Unix(), selector: sel})
	s.broadcastLocked()
}

// selectorAfter returns the selector synccheck answers for a synckey whose
// key 1 is key1, when newer events exist: the one of the first newer event,
// 2 for a message.
func (ss *session) selectorAfter(key1 int64) int {
	i := max(0, key1-ss.base)
	if i < int64(len(ss.events)) && ss.events[i].selector != 0 {
		return ss.events[i].selector
	}
	return 2
}

// takeFaultLocked removes one request's worth of the oldest fault injected
// for endpoint and returns it, or nil. A FaultResend stays: handleSync takes
// it when it has an answer to add to.
func (s *Server) takeFaultLocked(endpoint string) *injected {
	for i, f := range s.faults {
		if f.endpoint != endpoint {
			continue
		}
		if f.fault == FaultResend {
			return nil
		}
		s.useFaultLocked(i)
		return f
	}
	return nil
}

// useFaultLocked counts one request against s.faults[i].
func (s *Server) useFaultLocked(i int) {
	f := s.faults[i]
	f.left--
	if f.left == 0 {
		s.faults = append(s.faults[:i], s.faults[i+1:]...)
	}
	s.broadcastLocked() // for WaitFaults
}

// resendLocked takes a FaultResend waiting for webwxsync and returns the
// AddMsgList entries to put first in the answer to a request with key 1
// key1: the last message at or before key1, or nothing.
func (s *Server) resendLocked(ss *session, key1 int64) arr {
	for i, f := range s.faults {
		if f.endpoint != epSync {
			continue
		}
		if f.fault != FaultResend {
			return nil
		}
		s.useFaultLocked(i)
		for j := min(key1-ss.base, int64(len(ss.events))) - 1; j >= 0; j-- {
			if ev := ss.events[j]; ev.selector == 0 {
				return arr{s.renderLocked(ss, ev)}
			}
		}
		return nil
	}
	return nil
}

// faultEndpoint returns the endpoint faults can be injected into that a
// request for path on host is for, or "".
func faultEndpoint(host, path string) string {
	switch role := hostRole(host); {
	case role == rolePush && path == "/cgi-bin/mmwebwx-bin/synccheck":
		return epSyncCheck
	case role == roleMain && path == "/cgi-bin/mmwebwx-bin/webwxsync":
		return epSync
	}
	return ""
}

// serveFault serves the request with the fault injected for its endpoint,
// if any, and reports whether it did.
func (s *Server) serveFault(w http.ResponseWriter, r *http.Request, host string, body []byte) bool {
	ep := faultEndpoint(host, r.URL.Path)
	if ep == "" {
		return false
	}
	s.mu.Lock()
	f := s.takeFaultLocked(ep)
	s.mu.Unlock()
	if f == nil {
		return false
	}
	switch f.fault {
	case 0:
		s.serveRetcode(w, r, ep, f.code)
	case FaultBadGateway:
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Server", "nginx")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, badGatewayPage)
	case FaultHang:
		s.hang(r, host)
	case FaultReset, FaultTruncate:
		rec := httptest.NewRecorder()
		s.serveReal(rec, r, host, body, ep)
		if r.Context().Err() != nil {
			return true // the client gave up while the request was held
		}
		full := rec.Body.Bytes()
		half := full[:len(full)/2]
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		if f.fault == FaultTruncate {
			w.Header().Set("Content-Length", strconv.Itoa(len(half)))
			w.WriteHeader(rec.Code)
			w.Write(half)
			return true
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(full)))
		w.WriteHeader(rec.Code)
		w.Write(half)
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		panic(http.ErrAbortHandler) // the connection drops mid-body
	}
	return true
}

// serveReal serves a request for a fault endpoint as if no fault were
// injected.
func (s *Server) serveReal(w http.ResponseWriter, r *http.Request, host string, body []byte, ep string) {
	if ep == epSyncCheck {
		s.serveSyncCheck(w, r, host)
		return
	}
	jep, _ := jsonEndpointFor(epSync)
	s.serveJSON(w, r, host, body, jep)
}

// serveRetcode answers code (InjectRetcode) and ends the request's session
// for a logout code.
func (s *Server) serveRetcode(w http.ResponseWriter, r *http.Request, ep string, code int) {
	switch code {
	case 1100, 1101, 1102:
		s.mu.Lock()
		if ss := s.sessionByCookiesLocked(r); ss != nil && ss.ended == 0 {
			ss.ended = code
			s.broadcastLocked()
		}
		s.mu.Unlock()
	}
	if ep == epSyncCheck {
		writeJS(w, fmt.Sprintf(`window.synccheck={retcode:"%d",selector:"0"}`, code))
		return
	}
	writeJSONBody(w, multiline(zeroSync(code)))
}

// hang holds r until its context ends; a server that closes or a host made
// unreachable drops it.
func (s *Server) hang(r *http.Request, host string) {
	err := s.waitFor(r.Context(), func() bool { return s.closed || s.unreachable[host] })
	if err != nil && r.Context().Err() != nil {
		return
	}
	panic(http.ErrAbortHandler)
}

// cutBody is the body of an answer whose connection dropped: data, then
// io.ErrUnexpectedEOF, as net/http reports a body shorter than its
// Content-Length.
type cutBody struct{ data []byte }

func (b *cutBody) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}

func (b *cutBody) Close() error { return nil }

// badGatewayPage is nginx's default 502 page, byte for byte.
const badGatewayPage = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n" +
	"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
