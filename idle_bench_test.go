package wechat

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxkit/wechat/wechattest"
)

// BenchmarkIdleClients runs 1,000 online clients in one process, each of its own wechattest
// account of 100 friends whose push host holds synccheck for 25 s, as the real server does,
// and nothing happens: it reports the goroutines and the live heap each client holds once
// settled, and the CPU the process uses while idle, as the percentage of one core, measured
// over 5 s (the fake servers' work included).
//
// The heap per client is the live heap with the clients running minus the live heap once they
// have returned and are dropped, the servers kept. In "memory" the clients use the in-memory
// transport, which runs the servers in the clients' goroutines: every goroutine counted is a
// client's, and the heap is the clients' own. In "loopback" each server is a net/http server
// on 127.0.0.1 and the clients share one http.Transport, as clients using
// http.DefaultTransport do: the goroutines of the net/http servers are not counted, but the
// heap includes their per-connection buffers (about 8 KB per open connection).
func BenchmarkIdleClients(b *testing.B) {
	const (
		clients = 1000
		idleFor = 5 * time.Second
	)
	acct := wechattest.LargeAccount(100, 0, 0)
	for _, loop := range []bool{false, true} {
		name := "memory"
		if loop {
			name = "loopback"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				r := idleClients(b, clients, acct, idleFor, loop)
				b.ReportMetric(r.goroutines, "goroutines/client")
				b.ReportMetric(r.heap/1024, "KB/client")
				b.ReportMetric(r.stack/1024, "stack-KB/client")
				b.ReportMetric(r.cpu*100, "idle-CPU-%")
			}
		})
	}
}

type idleResult struct {
	goroutines, heap, stack, cpu float64
}

func idleClients(b *testing.B, n int, acct wechattest.Account, idleFor time.Duration, loop bool) idleResult {
	srvs := make([]*wechattest.Server, n)
	hcs := make([]*http.Client, n)
	shared := http.DefaultTransport.(*http.Transport).Clone()
	for i := range srvs {
		srvs[i] = wechattest.NewServer(wechattest.WithAccount(acct), wechattest.WithLongPoll(25*time.Second))
		srvs[i].ConfirmLogin()
		hcs[i] = srvs[i].Client()
		if loop {
			hs := httptest.NewServer(srvs[i])
			defer hs.Close()
			hcs[i] = &http.Client{Transport: &loopback{addr: strings.TrimPrefix(hs.URL, "http://"), base: shared}}
		}
	}
	defer func() {
		for _, s := range srvs {
			s.Close()
		}
	}()
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	var (
		runs sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	cs := make([]*Client, n)
	for i := range cs {
		cs[i] = New(WithHTTPClient(hcs[i]), WithQRHandler(func(QRCode) {}))
		runs.Go(func() {
			if err := cs[i].Run(ctx); ctx.Err() == nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Minute)
	defer wcancel()
	for i, c := range cs {
		if err := srvs[i].WaitOnline(wctx); err != nil {
			b.Fatal(err)
		}
		if err := c.WaitContacts(wctx); err != nil {
			b.Fatal(err)
		}
	}
	settle()
	g1 := clientGoroutines()
	h1, s1 := heapAndStack()
	cpu0 := cpuTime()
	t0 := time.Now()
	select {
	case <-time.After(idleFor):
	case <-ctx.Done():
	}
	cpu := (cpuTime() - cpu0).Seconds() / time.Since(t0).Seconds()
	if len(errs) > 0 {
		b.Fatalf("%d clients stopped: %v", len(errs), errs[0])
	}
	cancel()
	runs.Wait()
	cs = nil
	shared.CloseIdleConnections()
	settle()
	g2 := clientGoroutines()
	h2, s2 := heapAndStack()
	runtime.KeepAlive(srvs)
	return idleResult{
		goroutines: float64(g1-g2) / float64(n),
		heap:       (float64(h1) - float64(h2)) / float64(n),
		stack:      (float64(s1) - float64(s2)) / float64(n),
		cpu:        cpu,
	}
}

// settle waits until the number of goroutines has not changed for 200 ms: the workers and
// loaders started by the last events have returned.
func settle() {
	last, since := runtime.NumGoroutine(), time.Now()
	for time.Since(since) < 200*time.Millisecond {
		time.Sleep(20 * time.Millisecond)
		if n := runtime.NumGoroutine(); n != last {
			last, since = n, time.Now()
		}
	}
}

// clientGoroutines returns the number of goroutines that are not those of a net/http server.
func clientGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if !strings.Contains(g, "net/http.(*conn).serve") && !strings.Contains(g, "net/http.(*connReader).backgroundRead") &&
			!strings.Contains(g, "net/http.(*Server).Serve") {
			count++
		}
	}
	return count
}

// heapAndStack returns the live heap (after a full collection) and the bytes of goroutine
// stacks in use.
func heapAndStack() (heap, stack uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc, ms.StackInuse
}
