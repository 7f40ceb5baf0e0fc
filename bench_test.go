package wechat

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/wxkit/wechat/wechattest"
)

// BenchmarkEndToEnd measures messages per second from wechattest.Deliver to the handler's
// return: synccheck, webwxsync, decoding, dispatch and the handler, through the in-memory
// transport (so the fake server's own work is included).
func BenchmarkEndToEnd(b *testing.B) {
	srv := wechattest.NewServer(wechattest.WithSyncBatchSize(100))
	defer srv.Close()
	srv.ConfirmLogin()
	c := New(WithHTTPClient(srv.Client()), WithQRHandler(func(QRCode) {}))
	var handled atomic.Int64
	want := make(chan struct{}, 1)
	var target atomic.Int64
	c.HandleFunc(nil, func(context.Context, *Message) error {
		if handled.Add(1) == target.Load() {
			want <- struct{}{}
		}
		return nil
	})
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	if err := srv.WaitOnline(ctx); err != nil {
		b.Fatal(err)
	}
	chats := []string{"friend", "alice", "bob"}
	msgs := make([]wechattest.Message, 1000)
	for i := range msgs {
		msgs[i] = wechattest.Text(chats[i%3], fmt.Sprint("message number ", i))
	}
	b.ResetTimer()
	n := 0
	for b.Loop() {
		n += len(msgs)
		target.Store(int64(n))
		srv.Deliver(msgs...)
		<-want
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
	b.StopTimer()
	cancel()
	<-done
}

// BenchmarkContactHeap measures the heap the contact store retains per contact and per group
// member for a large account (5,000 friends, 300 groups of 500 members), after GC.
func BenchmarkContactHeap(b *testing.B) {
	for b.Loop() {
		perContact := storeHeap(b, wechattest.LargeAccount(5000, 0, 0), 5000) / 5000
		all := storeHeap(b, wechattest.LargeAccount(5000, 300, 500), 5300)
		b.ReportMetric(perContact, "B/contact")
		b.ReportMetric((all-perContact*5300)/(300*500), "B/member")
	}
}

// storeHeap loads acct's address book through a real client and returns the bytes of heap the
// store holds: HeapAlloc with it loaded minus HeapAlloc once it is emptied.
func storeHeap(b *testing.B, acct wechattest.Account, contacts int) float64 {
	srv := wechattest.NewServer(wechattest.WithAccount(acct))
	defer srv.Close()
	srv.ConfirmLogin()
	c := New(WithHTTPClient(srv.Client()), WithQRHandler(func(QRCode) {}))
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	if err := c.WaitContacts(ctx); err != nil {
		b.Fatal(err)
	}
	cancel()
	<-done
	if got := len(c.contacts.all()); got < contacts {
		b.Fatalf("%d contacts loaded, want %d", got, contacts)
	}
	var loaded, empty runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&loaded)
	c.contacts.reset()
	runtime.GC()
	runtime.ReadMemStats(&empty)
	return float64(loaded.HeapAlloc) - float64(empty.HeapAlloc)
}
