package wechattest

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The in-memory transport of Server.Client: requests go to ServeHTTP in the
// caller's goroutine, answers come back without a socket.

// transport routes requests to a Server in memory.
type transport struct{ s *Server }

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (resp *http.Response, err error) {
	var body []byte
	if req.Body != nil {
		if t.s.recyclesBody(req.URL.Path) {
			bp := t.s.uploadBodies.Get().(*[]byte)
			defer t.s.uploadBodies.Put(bp)
			b := bytes.NewBuffer((*bp)[:0])
			_, err = b.ReadFrom(req.Body)
			body, *bp = b.Bytes(), b.Bytes()
		} else {
			body, err = readBody(req.Body, req.ContentLength)
		}
		req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	host := canonicalHost(req.URL.Host)
	if !IsWeChatHost(host) {
		t.s.mu.Lock()
		t.s.unknownLocked("%s %s://%s%s: not a Web WeChat host; the request failed to dial", req.Method, req.URL.Scheme, host, req.URL.Path)
		t.s.mu.Unlock()
		return nil, hostError(host)
	}
	if err := t.s.reachable(host); err != nil {
		return nil, err
	}
	sr := req.Clone(req.Context())
	sr.Host = host
	sr.RequestURI = req.URL.RequestURI()
	sr.RemoteAddr = "192.0.2.1:1234"
	sr.Body = &memBody{bytes.NewReader(body), body}
	sr.ContentLength = int64(len(body))
	if sr.Header == nil {
		sr.Header = make(http.Header)
	}

	w := &memWriter{header: make(http.Header)}
	if aborted := serveCatchingAbort(t.s, w, sr); aborted {
		if err := req.Context().Err(); err != nil {
			return nil, err
		}
		if err := t.s.reachable(host); err != nil {
			return nil, err
		}
		if w.flushed {
			// The headers and part of the body went out before the
			// connection dropped (FaultReset): the body breaks off.
			resp = w.result(req)
			resp.Body = &cutBody{data: w.body.Bytes()}
			return resp, nil
		}
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: errors.New("wechattest: connection reset by peer")}
	}
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	return w.result(req), nil
}

// recyclesBody reports whether the body of a request for path is left
// behind by ServeHTTP once it has answered, so that the transport reads it
// into a buffer of the server's for the next one: a chunk of
// webwxuploadmedia with WithUploadDigestOnly, which is neither kept in
// Server.Requests nor in the Upload, its fields and file part being copied
// out while it is served.
func (s *Server) recyclesBody(path string) bool {
	return s.cfg.files.digestOnly && strings.HasSuffix(path, "/webwxuploadmedia")
}

// serveCatchingAbort calls s.ServeHTTP and reports whether the handler
// aborted with http.ErrAbortHandler (a dropped connection).
func serveCatchingAbort(s *Server, w http.ResponseWriter, r *http.Request) (aborted bool) {
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				panic(v)
			}
			aborted = true
		}
	}()
	s.ServeHTTP(w, r)
	return false
}

// reachable returns the transport error for a request to host, or nil.
func (s *Server) reachable(host string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return &net.OpError{Op: "dial", Net: "tcp", Err: ErrClosed}
	}
	if s.unreachable[host] {
		return &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("wechattest: host " + host + " is unreachable")}
	}
	return nil
}

// memWriter is the http.ResponseWriter of the in-memory transport.
type memWriter struct {
	header  http.Header
	sent    http.Header // the header as of WriteHeader
	status  int
	body    bytes.Buffer
	flushed bool

	// slow is set by FaultSlowBody: the body reaches the client over slow.
	slow time.Duration
}

func (w *memWriter) Header() http.Header { return w.header }

func (w *memWriter) WriteHeader(code int) {
	if w.status != 0 {
		return
	}
	w.status = code
	w.sent = w.header.Clone()
}

func (w *memWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

func (w *memWriter) Flush() {
	w.WriteHeader(http.StatusOK)
	w.flushed = true
}

// writeSlow implements slowWriter: body reaches the client over d.
func (w *memWriter) writeSlow(body []byte, d time.Duration) {
	w.WriteHeader(http.StatusOK)
	w.body.Write(body)
	w.slow = d
}

// result is the answer as an *http.Response for req.
func (w *memWriter) result(req *http.Request) *http.Response {
	w.WriteHeader(http.StatusOK)
	resp := &http.Response{
		Status:        strconv.Itoa(w.status) + " " + http.StatusText(w.status),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.sent,
		ContentLength: int64(w.body.Len()),
		Request:       req,
	}
	if cl := w.sent.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil {
			resp.ContentLength = n
		}
	}
	data := w.body.Bytes()
	if w.slow > 0 {
		resp.Body = &slowBody{data: data, step: w.slow / slowSteps, left: slowSteps, done: req.Context().Done(), err: req.Context().Err}
	} else {
		resp.Body = io.NopCloser(bytes.NewReader(data))
	}
	return resp
}

// slowSteps is the number of pieces a slow body arrives in.
const slowSteps = 10

// slowBody is a body that arrives in slowSteps pieces, one every step:
// the reader waits in its own goroutine, on a timer, so inside a
// testing/synctest bubble the wait takes no real time.
type slowBody struct {
	data  []byte // not arrived yet
	ready []byte // arrived, not read yet
	step  time.Duration
	left  int // pieces still to come
	done  <-chan struct{}
	err   func() error
}

func (b *slowBody) Read(p []byte) (int, error) {
	if len(b.ready) == 0 {
		if len(b.data) == 0 {
			return 0, io.EOF
		}
		t := time.NewTimer(b.step)
		defer t.Stop()
		select {
		case <-t.C:
		case <-b.done:
			return 0, b.err()
		}
		piece := len(b.data)
		if b.left > 1 {
			piece = (len(b.data) + b.left - 1) / b.left
		}
		b.left--
		b.ready, b.data = b.data[:piece], b.data[piece:]
	}
	n := copy(p, b.ready)
	b.ready = b.ready[n:]
	return n, nil
}

func (b *slowBody) Close() error { return nil }

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

// memBody is the body of a request that [Server.Client]'s transport hands
// to ServeHTTP: ServeHTTP takes the bytes instead of copying them again.
type memBody struct {
	*bytes.Reader
	b []byte
}

func (*memBody) Close() error { return nil }

// readBody reads a request body of length n (-1 if unknown) in one
// allocation when n is known: a 512 KiB upload chunk read by io.ReadAll
// would cost three times its size.
func readBody(r io.Reader, n int64) ([]byte, error) {
	if n <= 0 {
		return io.ReadAll(r)
	}
	b := bytes.NewBuffer(make([]byte, 0, n+bytes.MinRead))
	_, err := b.ReadFrom(r)
	return b.Bytes(), err
}

// requestBody returns the body of a request to ServeHTTP, or the error that cut it short (the
// client went away while sending it).
func requestBody(r *http.Request) ([]byte, error) {
	if mb, ok := r.Body.(*memBody); ok {
		return mb.b, nil
	}
	return readBody(r.Body, r.ContentLength)
}
