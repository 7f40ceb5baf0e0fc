package wechat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxkit/wechat/wechattest"
)

// The benchmarks of the README's performance table. `go run ./internal/cmd/benchtable` runs
// them and rewrites the table; TestREADMEFigures checks its deterministic figures.

// BenchmarkEndToEnd measures messages per second from wechattest.Deliver to the handler's
// return: synccheck, webwxsync, decoding, dispatch and the handler, through the in-memory
// transport (so the fake server's own work is included).
func BenchmarkEndToEnd(b *testing.B) {
	srv := wechattest.NewServer(wechattest.WithSyncBatchSize(100))
	defer srv.Close()
	benchThroughput(b, srv, srv.Client(), 1000)
}

// BenchmarkEndToEndLoopback is BenchmarkEndToEnd over real HTTP: wechattest served by a
// net/http server on 127.0.0.1, the client's requests for the Web WeChat hosts sent to it over
// TCP, 20,000 texts per iteration, the server's default batch size (30 per webwxsync). It is
// the measure the side-by-side comparison with other SDKs uses.
func BenchmarkEndToEndLoopback(b *testing.B) {
	srv := wechattest.NewServer()
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	benchThroughput(b, srv, loopbackClient(hs), 20000)
}

// benchThroughput runs a client of srv through hc and delivers n texts per iteration, from
// three chats, reporting messages per second, and the allocations and bytes allocated per
// message by the whole process (client and fake server).
func benchThroughput(b *testing.B, srv *wechattest.Server, hc *http.Client, n int) {
	srv.ConfirmLogin()
	c := New(WithHTTPClient(hc), WithQRHandler(func(QRCode) {}))
	var handled, target atomic.Int64
	want := make(chan struct{}, 1)
	c.HandleFunc(nil, func(context.Context, *Message) error {
		if handled.Add(1) == target.Load() {
			want <- struct{}{}
		}
		return nil
	})
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	if err := srv.WaitOnline(ctx); err != nil {
		b.Fatal(err)
	}
	chats := []string{"friend", "alice", "bob"}
	msgs := make([]wechattest.Message, n)
	for i := range msgs {
		msgs[i] = wechattest.Text(chats[i%3], fmt.Sprint("message number ", i))
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	sent := 0
	for b.Loop() {
		sent += n
		target.Store(int64(sent))
		srv.Deliver(msgs...)
		select {
		case <-want:
		case err := <-done:
			b.Fatalf("Run returned after %d messages: %v", handled.Load(), err)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(sent), "allocs/msg")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(sent), "B/msg")
}

// loopbackClient returns an HTTP client that sends every request over TCP to hs, the Host
// header keeping the Web WeChat host asked for (the Client's cookie jar sees the original
// https URLs), with its own connection pool.
func loopbackClient(hs *httptest.Server) *http.Client {
	return &http.Client{Transport: &loopback{
		addr: strings.TrimPrefix(hs.URL, "http://"),
		base: &http.Transport{MaxIdleConnsPerHost: 8, DisableCompression: true},
	}}
}

// loopback routes requests for any host to a local listener.
type loopback struct {
	addr string
	base *http.Transport
}

func (l *loopback) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.Host = r.URL.Host
	r2.URL.Scheme = "http"
	r2.URL.Host = l.addr
	return l.base.RoundTrip(r2)
}

// BenchmarkContactHeap measures the heap the contact store alone retains, its identity table
// included, for a 5,000-friend address book (5,253 entries with the official and special
// accounts and self), per entry, and for 20 groups of 500 members, per member (the groups
// counted as entries). The figures are deterministic: they are the same at every run.
func BenchmarkContactHeap(b *testing.B) {
	for b.Loop() {
		perContact, perMember := contactHeap(b)
		b.ReportMetric(perContact, "B/contact")
		b.ReportMetric(perMember, "B/member")
	}
}

// contactHeap returns the heap the contact store holds per contact and per group member (see
// BenchmarkContactHeap).
func contactHeap(tb testing.TB) (perContact, perMember float64) {
	book, n := storeHeap(tb, wechattest.LargeAccount(5000, 0, 0))
	const groups, members = 20, 500
	withGroups, ng := storeHeap(tb, wechattest.LargeAccount(5000, groups, members))
	if ng != n+groups {
		tb.Fatalf("%d entries with the groups, want %d", ng, n+groups)
	}
	perContact = book / float64(n)
	return perContact, (withGroups - book - groups*perContact) / (groups * members)
}

// storeHeap loads acct's address book through a real client (webwxinit, webwxgetcontact,
// webwxbatchgetcontact of every group), stops the client and returns the bytes of heap its
// contact store holds, and the number of contacts in it: the live heap with the client
// loaded minus the live heap once the store is replaced by an empty one, the client being
// kept alive.
func storeHeap(tb testing.TB, acct wechattest.Account) (float64, int) {
	c := loadBook(tb, acct)
	n := len(c.contacts.all())
	loaded := liveHeap()
	c.contacts = contactStore{}
	empty := liveHeap()
	runtime.KeepAlive(c)
	return float64(loaded) - float64(empty), n
}

// loadBook returns a client that has loaded acct's whole address book, Run having returned.
func loadBook(tb testing.TB, acct wechattest.Account) *Client {
	srv := wechattest.NewServer(wechattest.WithAccount(acct))
	defer srv.Close()
	srv.ConfirmLogin()
	c := New(WithHTTPClient(srv.Client()), WithQRHandler(func(QRCode) {}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	err := c.WaitContacts(ctx)
	cancel()
	<-done
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// liveHeap returns the bytes of live heap objects, after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC() // a second cycle frees what the first one's finalizers released
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkLoginToFirstMessage measures the time from the phone's confirmation of the login
// to the handler's return for a message waiting on the server, for an account of 5,000
// friends and 300 groups of 500 members: the sync loop starts at once, beside the contact
// loader (TestFirstMessageBeforeContacts shows it never waits for it). Each iteration is a
// new login of the same account.
func BenchmarkLoginToFirstMessage(b *testing.B) {
	srv := wechattest.NewServer(wechattest.WithAccount(wechattest.LargeAccount(5000, 300, 500)))
	defer srv.Close()
	var total, loadedFirst time.Duration
	for b.Loop() {
		c := New(WithHTTPClient(srv.Client()), WithQRHandler(func(QRCode) {}))
		handled := make(chan time.Time, 1)
		c.HandleFunc(IsText, func(context.Context, *Message) error {
			select {
			case handled <- time.Now():
			default:
			}
			return nil
		})
		srv.Deliver(wechattest.Text("friend0001", "first"))
		ctx, cancel := context.WithCancel(b.Context())
		done := make(chan error, 1)
		start := time.Now()
		srv.ConfirmLogin()
		go func() { done <- c.Run(ctx) }()
		var at time.Time
		select {
		case at = <-handled:
		case err := <-done:
			b.Fatal(err)
		}
		total += at.Sub(start)
		if c.WaitContacts(ctx) != nil {
			b.Fatal("contacts not loaded")
		}
		loadedFirst += time.Since(start)
		cancel()
		<-done
		srv.EndSession(1101) // the next login is a new session
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/first-msg")
	b.ReportMetric(float64(loadedFirst.Milliseconds())/float64(b.N), "ms/contacts-loaded")
}

// TestFirstMessageBeforeContacts: the sync loop does not wait for the contact loader. The
// loader's first request, webwxgetcontact, is held until the first message has been handled;
// the sync loop fetches the unknown chat of the message on its own (webwxbatchgetcontact).
func TestFirstMessageBeforeContacts(t *testing.T) {
	srv := wechattest.NewServer(wechattest.WithAccount(wechattest.LargeAccount(50, 3, 10)))
	defer srv.Close()
	handled := make(chan struct{})
	hc := srv.Client()
	hc.Transport = holdContacts{srv.Client().Transport, handled}
	c := New(WithHTTPClient(hc), WithQRHandler(func(QRCode) {}))
	c.HandleFunc(IsText, func(context.Context, *Message) error {
		close(handled)
		return nil
	})
	srv.Deliver(wechattest.Text("friend0001", "first"))
	srv.ConfirmLogin()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	select {
	case <-handled:
	case <-ctx.Done():
		t.Fatal("no message handled while the contacts were loading")
	}
	select {
	case <-c.contacts.loadedCh():
		t.Error("the contacts were loaded before the first message was handled")
	default:
	}
	if err := c.WaitContacts(ctx); err != nil {
		t.Errorf("WaitContacts: %v", err)
	}
	cancel()
	<-done
}

// holdContacts holds the webwxgetcontact requests until released is closed.
type holdContacts struct {
	base     http.RoundTripper
	released chan struct{}
}

func (h holdContacts) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/webwxgetcontact") {
		select {
		case <-h.released:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return h.base.RoundTrip(r)
}

// BenchmarkRejectedBody measures the peak extra heap of an answer of 100 MB that the client
// refuses, its limit for a JSON answer being 64 MiB: through the client's request path (do,
// as webwxgetcontact), from a transport whose body is made on the fly (so that it holds no
// heap of its own), announced by its Content-Length or of unknown length (a chunked answer).
// The heap (runtime/metrics' /memory/classes/heap/objects:bytes, the twin of HeapAlloc) is
// read after a runtime.GC, then after every MiB the client reads and once more after the
// refusal; the figure is the largest reading above the first.
func BenchmarkRejectedBody(b *testing.B) {
	const size = 100 << 20
	for _, tc := range []struct {
		name   string
		length int64
	}{{"content-length", size}, {"unknown-length", -1}} {
		b.Run(tc.name, func(b *testing.B) {
			var peak uint64
			rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Request: r,
					ContentLength: tc.length, Body: &heapSampler{left: size, peak: &peak}}, nil
			})
			c := New(WithHTTPClient(&http.Client{Transport: rt}))
			u := cgiURL("wx2.qq.com", "webwxgetcontact", nil)
			for b.Loop() {
				req, err := c.newRequest(b.Context(), http.MethodGet, u, nil)
				if err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				peak = 0
				base := heapObjects()
				if _, err := c.doOK(opGetContact, req); !errors.Is(err, ErrBadResponse) {
					b.Fatalf("a 100 MB answer: %v; want ErrBadResponse", err)
				}
				peak = max(peak, heapObjects()) // the refusal itself: nothing may have been read
				peak -= min(base, peak)
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-extra-heap-MB")
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// heapSampler is a body of left zero bytes that records in *peak the largest heap it sees
// after each MiB read.
type heapSampler struct {
	left, read int
	peak       *uint64
}

func (h *heapSampler) Read(p []byte) (int, error) {
	if h.left == 0 {
		return 0, io.EOF
	}
	n := min(len(p), h.left)
	clear(p[:n])
	h.left -= n
	if h.read/(1<<20) != (h.read+n)/(1<<20) {
		*h.peak = max(*h.peak, heapObjects())
	}
	h.read += n
	return n, nil
}

func (h *heapSampler) Close() error { return nil }

// heapObjects returns the bytes of the heap's objects, live or not yet swept.
func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
