package wechattest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// A Fault is a way the real servers, or the network between them and a
// client, fail a request (PROTOCOL 6.1, 12.5, 14). [Server.Inject] makes
// the next requests to an endpoint fail that way; a [FaultSpec] carries the
// fault's parameters.
//
// Faults that replace the answer (FaultCode, FaultBadGateway, FaultPortal,
// FaultEmpty, FaultHang) never reach the endpoint: they change nothing the
// server holds, so a client that retries gets the real answer. Faults that
// damage the real answer on its way (FaultReset, FaultTruncate,
// FaultSlowBody) and FaultDelay let the endpoint run first, as a real server
// does before the connection breaks: a send is recorded, an upload chunk
// taken, a webwxsync answered (it does not move the SyncKey webwxinit
// answers, which only follows the keys requests carry). The protocol faults
// (FaultResend, FaultSyncKeyBack, FaultSyncKeyEmpty, FaultClockSkew) change
// a real answer in a way the protocol allows and clients must survive.
type Fault int

const (
	// FaultReset sends the real answer's status and headers, with its
	// Content-Length, and then only the first half of its body: reading the
	// body fails with io.ErrUnexpectedEOF, as when the connection is reset
	// mid-body. A long poll is held as usual before its answer breaks off.
	FaultReset Fault = iota + 1

	// FaultBadGateway answers at once 502 Bad Gateway with nginx's HTML
	// error page (text/html), as the front ends do when a backend is down.
	FaultBadGateway

	// FaultHang holds the request, whatever happens meanwhile, until its
	// context ends (the client's timeout) or the server closes: an answer
	// that never comes.
	FaultHang

	// FaultTruncate answers the real answer's status and headers with only
	// the first half of its body, as a complete HTTP answer: the JSON (or
	// JavaScript, XML, image) is cut off.
	FaultTruncate

	// FaultResend makes a webwxsync answer carry, before its new messages,
	// the messages of the previous answer again, with the same MsgIds: a
	// duplicated batch (PROTOCOL 14.20). Without a previous answer whose
	// messages the request's SyncKey covers, it repeats the last message
	// the SyncKey covers. Only for webwxsync, and it waits for an answer
	// that passes the session checks.
	FaultResend

	// FaultCode answers at once the code [FaultSpec.Code] the way the
	// endpoint carries codes: the zeroed JSON body with BaseResponse.Ret
	// (PROTOCOL 14.6), the synccheck retcode, the window.code of the login
	// poll and of jslogin, the <ret> of webwxnewloginpage, the ret of
	// webwxpushloginurl; and, for the downloads, the QR image and
	// webwxlogout, the HTTP status Code (with a small HTML page). Codes
	// 1100, 1101 and 1102 also end the request's session when they are
	// answered, as [Server.EndSession] does, so every later request agrees
	// (PROTOCOL 12.5).
	FaultCode

	// FaultPortal answers 200 with an HTML page that is no Web WeChat
	// answer at all, as a captive portal or a misrouted proxy does.
	FaultPortal

	// FaultEmpty answers 200 with an empty body (Content-Length: 0), as the
	// media hosts occasionally do (PROTOCOL 14.17).
	FaultEmpty

	// FaultSlowBody sends the real answer's status and headers at once and
	// its body in ten pieces over [FaultSpec.Duration].
	FaultSlowBody

	// FaultDelay holds the request for [FaultSpec.Duration] before serving
	// it (a long poll is then held as usual), as a slow or overloaded
	// server does; a client that gives up first gets nothing.
	FaultDelay

	// FaultSyncKeyBack makes a webwxsync answer (or a webwxinit answer)
	// carry a SyncKey and SyncCheckKey whose key 1 goes back to the first
	// one of the session: the next webwxsync gets every message of the
	// session again, as after a server restore (PROTOCOL 6.2, 14.20).
	// The answer's messages are the real ones. For webwxsync and webwxinit;
	// it waits for an answer that passes the session checks.
	FaultSyncKeyBack

	// FaultSyncKeyEmpty makes a webwxsync answer with Ret 0 and its
	// messages carry an empty SyncKey and SyncCheckKey ({"Count":0,
	// "List":[]}): a client must keep its old keys (PROTOCOL 6.2: replace
	// a key only if Count > 0) and so gets the same messages again. Only
	// for webwxsync; it waits for an answer that passes the session checks.
	FaultSyncKeyEmpty

	// FaultClockSkew makes the answer come from a server whose clock is
	// [FaultSpec.Duration] ahead (or, negative, behind) of the client's:
	// the times it carries are off by that much (webwxinit's SystemTime,
	// the CreateTime of messages, the scan time of the login redirect, the
	// Expires of its cookies). Windows measured by the server (revokes,
	// send limits) are not affected.
	FaultClockSkew

	lastFault = FaultClockSkew
)

var faultNames = [...]string{
	FaultReset: "Reset", FaultBadGateway: "BadGateway", FaultHang: "Hang", FaultTruncate: "Truncate",
	FaultResend: "Resend", FaultCode: "Code", FaultPortal: "Portal", FaultEmpty: "Empty",
	FaultSlowBody: "SlowBody", FaultDelay: "Delay", FaultSyncKeyBack: "SyncKeyBack",
	FaultSyncKeyEmpty: "SyncKeyEmpty", FaultClockSkew: "ClockSkew",
}

// Faults returns every Fault, in the order of their values.
func Faults() []Fault {
	var fs []Fault
	for f := FaultReset; f <= lastFault; f++ {
		fs = append(fs, f)
	}
	return fs
}

// String returns the constant's name without its Fault prefix, e.g.
// "Reset", or "Fault(<n>)" for an unknown value.
func (f Fault) String() string {
	if f >= FaultReset && f <= lastFault {
		return faultNames[f]
	}
	return "Fault(" + strconv.Itoa(int(f)) + ")"
}

// MarshalText implements encoding.TextMarshaler: the name String returns.
// It fails for an unknown value.
func (f Fault) MarshalText() ([]byte, error) {
	if f < FaultReset || f > lastFault {
		return nil, fmt.Errorf("wechattest: unknown fault %d", int(f))
	}
	return []byte(f.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler: it takes a name
// String returns ("Reset", "BadGateway", ...). It fails for any other text.
func (f *Fault) UnmarshalText(b []byte) error {
	for g := FaultReset; g <= lastFault; g++ {
		if string(b) == g.String() {
			*f = g
			return nil
		}
	}
	return fmt.Errorf("wechattest: unknown fault %q", b)
}

// FaultSpec is a fault and its parameters, for [Server.Inject].
type FaultSpec struct {
	Fault Fault
	// Code is the code FaultCode answers: a Ret, a retcode, a window.code
	// or, for the downloads, the QR image and webwxlogout, an HTTP status
	// (100-599). -1 stands for a code a client does not know.
	Code int
	// Duration is how long FaultDelay holds the request and FaultSlowBody
	// takes to send the body (<= 0 means 10 s), and how far FaultClockSkew
	// moves the clock (it must not be 0).
	Duration time.Duration
}

// defaultFaultDuration is the Duration of a FaultDelay or FaultSlowBody that
// gives none.
const defaultFaultDuration = 10 * time.Second

// Endpoint groups that [Server.Inject] accepts besides the endpoint names.
var faultGroups = map[string][]string{
	"send": {"webwxsendmsg", "webwxsendmsgimg", "webwxsendvideomsg", "webwxsendappmsg", "webwxsendemoticon"},
	"download": {
		"webwxgetmsgimg", "webwxgetvoice", "webwxgetvideo", "webwxgetmedia",
		"webwxgeticon", "webwxgetheadimg", "webwxgetpubliclinkimg",
	},
	"contactop": {"webwxoplog", "webwxverifyuser", "webwxcreatechatroom", "webwxupdatechatroom"},
}

// faultEndpoints are the endpoint names faults can be injected into: every
// endpoint the server serves.
var faultEndpoints = []string{
	"jslogin", "qrcode", "login", "webwxnewloginpage", "webwxpushloginurl", "webwxlogout",
	"webwxinit", "webwxstatusnotify", "webwxstatreport", "webwxgetcontact", "webwxbatchgetcontact",
	"synccheck", "webwxsync",
	"webwxsendmsg", "webwxsendmsgimg", "webwxsendvideomsg", "webwxsendappmsg", "webwxsendemoticon",
	"webwxrevokemsg", "webwxcheckupload", "webwxuploadmedia",
	"webwxgetmsgimg", "webwxgetvoice", "webwxgetvideo", "webwxgetmedia", "webwxgeticon",
	"webwxgetheadimg", "webwxgetpubliclinkimg",
	"webwxoplog", "webwxverifyuser", "webwxcreatechatroom", "webwxupdatechatroom",
}

// injected is a fault waiting for requests; guarded by Server.mu.
type injected struct {
	endpoint string // an endpoint name or a group
	spec     FaultSpec
	left     int // requests still to fail
}

// matches reports whether a fault injected for f.endpoint applies to a
// request for the endpoint ep.
func (f *injected) matches(ep string) bool {
	return f.endpoint == ep || slices.Contains(faultGroups[f.endpoint], ep)
}

// Inject makes the next n requests to endpoint fail as spec says. endpoint
// is the name of an endpoint as [Request.Endpoint] gives it ("synccheck",
// "webwxsync", "webwxinit", "webwxstatusnotify", "webwxgetcontact",
// "webwxbatchgetcontact", "webwxsendmsg", "webwxuploadmedia",
// "webwxgetmsgimg", "login" for the login poll, "jslogin", ...), or one of
// the groups "send" (the five send endpoints), "download" (every media
// download, webwxgetmedia included) and "contactop" (webwxoplog,
// webwxverifyuser, webwxcreatechatroom, webwxupdatechatroom).
//
// Faults that apply to the same request are served in the order they were
// injected, one per request; a request held when the fault is injected is
// not affected. Faulted requests appear in [Server.Requests] with their
// [Request.Fault]. n <= 0 injects nothing.
//
// Inject panics if endpoint is not one of those names, or if spec does not
// apply to it: an unknown Fault, FaultCode with Code 0 (or, where the code
// is an HTTP status, outside 100-599), FaultResend or FaultSyncKeyEmpty on
// an endpoint other than webwxsync, FaultSyncKeyBack on one other than
// webwxsync and webwxinit, FaultClockSkew with Duration 0.
func (s *Server) Inject(endpoint string, spec FaultSpec, n int) {
	if !slices.Contains(faultEndpoints, endpoint) && faultGroups[endpoint] == nil {
		panic("wechattest: Inject: no such endpoint " + strconv.Quote(endpoint))
	}
	eps := faultGroups[endpoint]
	if eps == nil {
		eps = []string{endpoint}
	}
	onlyFor := func(allowed ...string) {
		for _, ep := range eps {
			if !slices.Contains(allowed, ep) {
				panic(fmt.Sprintf("wechattest: Inject: Fault%s is not for %s", spec.Fault, ep))
			}
		}
	}
	switch f := spec.Fault; {
	case f < FaultReset || f > lastFault:
		panic("wechattest: Inject: unknown fault " + f.String())
	case f == FaultCode && spec.Code == 0:
		panic("wechattest: Inject: FaultCode needs a Code")
	case f == FaultCode && (spec.Code < 100 || spec.Code > 599) && slices.ContainsFunc(eps, statusCodeEndpoint):
		panic("wechattest: Inject: FaultCode on " + endpoint + " answers an HTTP status; " + strconv.Itoa(spec.Code) + " is not one")
	case f == FaultResend || f == FaultSyncKeyEmpty:
		onlyFor("webwxsync")
	case f == FaultSyncKeyBack:
		onlyFor("webwxsync", "webwxinit")
	case f == FaultClockSkew && spec.Duration == 0:
		panic("wechattest: Inject: FaultClockSkew needs a Duration")
	case (f == FaultDelay || f == FaultSlowBody) && spec.Duration <= 0:
		spec.Duration = defaultFaultDuration
	}
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &injected{endpoint: endpoint, spec: spec, left: n})
}

// InjectFault is Inject(endpoint, FaultSpec{Fault: f}, n): the next n
// requests to endpoint fail with f, with the default parameters. It panics
// as Inject does; f must not be FaultCode or FaultClockSkew, which need
// parameters.
func (s *Server) InjectFault(endpoint string, f Fault, n int) {
	s.Inject(endpoint, FaultSpec{Fault: f}, n)
}

// InjectRetcode is Inject(endpoint, FaultSpec{Fault: FaultCode, Code:
// code}, n): the next n requests to endpoint answer code at once, e.g.
// window.synccheck={retcode:"<code>",selector:"0"} for synccheck and the
// zeroed body with BaseResponse.Ret code for webwxsync (-1 stands for any
// code a client does not know). It panics as Inject does.
func (s *Server) InjectRetcode(endpoint string, code, n int) {
	s.Inject(endpoint, FaultSpec{Fault: FaultCode, Code: code}, n)
}

// EmptyNextMedia makes the next media download (webwxgetmsgimg,
// webwxgetvoice, webwxgetvideo, webwxgetmedia, webwxgeticon,
// webwxgetheadimg, webwxgetpubliclinkimg) answer 200 with an empty body, as
// the real server occasionally does (PROTOCOL 14.17): it is
// Inject("download", FaultSpec{Fault: FaultEmpty}, 1). Each call empties one
// more answer.
func (s *Server) EmptyNextMedia() {
	s.Inject("download", FaultSpec{Fault: FaultEmpty}, 1)
}

// FailNextChunk makes the next webwxuploadmedia request fail with Ret -1
// (a system error, PROTOCOL 13) and the zeroed answer, without keeping its
// chunk: a client that sends the chunk again goes on with the upload. It is
// Inject("webwxuploadmedia", FaultSpec{Fault: FaultCode, Code: -1}, 1).
// Each call fails one more request.
func (s *Server) FailNextChunk() {
	s.Inject("webwxuploadmedia", FaultSpec{Fault: FaultCode, Code: -1}, 1)
}

// RateLimitOps makes the next n contact and group operations (webwxoplog,
// webwxverifyuser, webwxcreatechatroom, webwxupdatechatroom) answer Ret
// 1205, "operation too frequent" (PROTOCOL 12.7), without effect: it is
// Inject("contactop", FaultSpec{Fault: FaultCode, Code: 1205}, n). n <= 0
// does nothing.
func (s *Server) RateLimitOps(n int) {
	s.Inject("contactop", FaultSpec{Fault: FaultCode, Code: 1205}, n)
}

// WaitFaults waits until every injected fault has met its requests. It
// returns ctx.Err() if ctx ends first, and [ErrClosed] once the server is
// closed.
func (s *Server) WaitFaults(ctx context.Context) error {
	return s.waitFor(ctx, func() bool { return len(s.faults) == 0 })
}

// takeFaultLocked finds the oldest fault for x's endpoint. A fault that
// replaces or damages the answer is counted and returned; a FaultClockSkew
// is counted and set on x; a fault that changes the real answer is set on x
// for the handler to take (useModLocked) and stays until it does.
func (s *Server) takeFaultLocked(x *exchange) *injected {
	if x.ep == "" {
		return nil
	}
	for i, f := range s.faults {
		if !f.matches(x.ep) {
			continue
		}
		switch f.spec.Fault {
		case FaultResend, FaultSyncKeyBack, FaultSyncKeyEmpty:
			x.mod = f
			return nil
		case FaultClockSkew:
			x.skew = f.spec.Duration
			s.useFaultLocked(i, x)
			return nil
		}
		s.useFaultLocked(i, x)
		return f
	}
	return nil
}

// useModLocked takes the fault set on x if it is a kind, still waiting, and
// reports whether it did.
func (s *Server) useModLocked(x *exchange, kind Fault) bool {
	if x.mod == nil || x.mod.spec.Fault != kind {
		return false
	}
	i := slices.Index(s.faults, x.mod)
	x.mod = nil
	if i < 0 {
		return false // a concurrent request took its last use
	}
	s.useFaultLocked(i, x)
	return true
}

// useFaultLocked counts x against s.faults[i] and records it.
func (s *Server) useFaultLocked(i int, x *exchange) {
	f := s.faults[i]
	f.left--
	if f.left == 0 {
		s.faults = slices.Delete(s.faults, i, i+1)
	}
	s.requests[x.idx].Fault = f.spec.Fault
	s.logfLocked("fault %s on %s https://%s%s", describe(f.spec), x.r.Method, x.host, x.r.URL.Path)
	s.broadcastLocked() // for WaitFaults
}

// describe names a fault with its parameters, for the log.
func describe(spec FaultSpec) string {
	switch spec.Fault {
	case FaultCode:
		return "Code " + strconv.Itoa(spec.Code)
	case FaultDelay, FaultSlowBody, FaultClockSkew:
		return spec.Fault.String() + " " + spec.Duration.String()
	}
	return spec.Fault.String()
}

// serveFault serves x with the fault f instead of (or around) the real
// answer.
func (s *Server) serveFault(x *exchange, f *injected) {
	w := x.w
	switch d := f.spec.Duration; f.spec.Fault {
	case FaultCode:
		s.serveCode(x, f.spec.Code)
	case FaultBadGateway:
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Server", "nginx")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, badGatewayPage)
	case FaultPortal:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		io.WriteString(w, portalPage)
	case FaultEmpty:
		w.Header().Set("Content-Type", contentTypeOf(x.ep))
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
	case FaultHang:
		s.hang(x)
	case FaultDelay:
		if s.sleep(x, d) {
			s.route(x)
			return
		}
		if x.r.Context().Err() == nil {
			panic(http.ErrAbortHandler) // the server closed or the host went down
		}
	case FaultReset, FaultTruncate, FaultSlowBody:
		rec := &memWriter{header: make(http.Header)}
		real := *x
		real.w = rec
		s.route(&real)
		if x.r.Context().Err() != nil || rec.status == 0 {
			return // the client gave up while the request was held
		}
		full := rec.body.Bytes()
		half := full[:len(full)/2]
		for k, v := range rec.sent {
			w.Header()[k] = v
		}
		switch f.spec.Fault {
		case FaultTruncate:
			w.Header().Set("Content-Length", strconv.Itoa(len(half)))
			w.WriteHeader(rec.status)
			w.Write(half)
		case FaultReset:
			w.Header().Set("Content-Length", strconv.Itoa(len(full)))
			w.WriteHeader(rec.status)
			w.Write(half)
			http.NewResponseController(w).Flush()
			panic(http.ErrAbortHandler) // the connection drops mid-body
		case FaultSlowBody:
			w.Header().Set("Content-Length", strconv.Itoa(len(full)))
			w.WriteHeader(rec.status)
			s.writeSlow(x, full, d)
		}
	}
}

// slowWriter is a ResponseWriter that can hand a body to the client
// slowly itself (the in-memory transport's).
type slowWriter interface {
	writeSlow(body []byte, d time.Duration)
}

// writeSlow writes body to x in slowSteps pieces over d.
func (s *Server) writeSlow(x *exchange, body []byte, d time.Duration) {
	for w := x.w; w != nil; {
		if sw, ok := w.(slowWriter); ok {
			sw.writeSlow(body, d)
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			break
		}
		w = u.Unwrap()
	}
	rc := http.NewResponseController(x.w)
	rc.Flush()
	for left := slowSteps; left > 0 && len(body) > 0; left-- {
		if !s.sleep(x, d/slowSteps) {
			panic(http.ErrAbortHandler)
		}
		n := (len(body) + left - 1) / left
		x.w.Write(body[:n])
		body = body[n:]
		rc.Flush()
	}
}

// serveCode answers code the way x's endpoint carries codes (FaultCode),
// and ends the request's session for a logout code.
func (s *Server) serveCode(x *exchange, code int) {
	s.mu.Lock()
	rq := &s.requests[x.idx]
	rq.Ret, rq.Reason = code, "injected FaultCode "+strconv.Itoa(code)
	switch code {
	case 1100, 1101, 1102:
		if ss := s.sessionByCookiesLocked(x.r); ss != nil && ss.ended == 0 {
			ss.ended = code
			s.broadcastLocked()
		}
	}
	s.mu.Unlock()
	w := x.w
	switch ep := x.ep; {
	case ep == "synccheck":
		writeJS(w, fmt.Sprintf(`window.synccheck={retcode:"%d",selector:"0"}`, code))
	case ep == "login":
		writeJS(w, fmt.Sprintf("window.code=%d;", code))
	case ep == "jslogin":
		writeJS(w, fmt.Sprintf(`window.QRLogin.code = %d; window.QRLogin.uuid = "";`, code))
	case ep == "webwxnewloginpage":
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "<error><ret>%d</ret><message></message></error>", code)
	case ep == "webwxpushloginurl":
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, `{"ret":"%d","msg":""}`, code)
	case ep == "webwxgetcontact":
		writeJSONBody(w, multiline(zeroGetContact(code)))
	case ep == "webwxuploadmedia":
		writeJSONBody(w, multiline(uploadBody(code, "", 0, 0, "")))
	case statusCodeEndpoint(ep):
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(code)
		fmt.Fprintf(w, "<html><head><title>%d %s</title></head><body><h1>%d %s</h1></body></html>", code, http.StatusText(code), code, http.StatusText(code))
	default:
		jep, _ := jsonEndpointFor(ep)
		writeJSONBody(w, multiline(jep.zero(code)))
	}
}

// statusCodeEndpoint reports whether FaultCode on ep answers an HTTP
// status: the downloads, the QR image and webwxlogout carry no other code.
func statusCodeEndpoint(ep string) bool {
	return ep == "qrcode" || ep == "webwxlogout" || slices.Contains(faultGroups["download"], ep)
}

// contentTypeOf is the Content-Type the real answers of ep carry.
func contentTypeOf(ep string) string {
	switch {
	case ep == "synccheck" || ep == "login" || ep == "jslogin":
		return "text/javascript"
	case statusCodeEndpoint(ep):
		return "image/jpeg"
	}
	return "text/plain"
}

// hang holds x until its context ends; a server that closes or a host made
// unreachable drops it.
func (s *Server) hang(x *exchange) {
	err := s.waitFor(x.r.Context(), func() bool { return s.closed || s.unreachable[x.host] })
	if err != nil && x.r.Context().Err() != nil {
		return
	}
	panic(http.ErrAbortHandler)
}

// badGatewayPage is nginx's default 502 page, byte for byte.
const badGatewayPage = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n" +
	"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"

// portalPage is what FaultPortal answers: a captive portal's sign-in page.
const portalPage = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Sign in to the network</title></head>
<body><form method="post" action="http://192.0.2.1/login"><h1>Welcome</h1>
<p>Please sign in to use the Internet.</p>
<input name="user"><input name="password" type="password"><button>Sign in</button>
</form></body></html>
`
