package redisstore

import (
	"context"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/internal/redistest"
	"github.com/wxkit/wechat/wechattest"
)

// BenchmarkSave measures one save of a 5,000-contact account's session, as the Client
// snapshots it (taken from a real Client run against wechattest.LargeAccount(5000, 0, 0)),
// with 2,048 handled ids, the steady state of a busy account:
//
//   - book=unchanged: the common save (the delivery position moved, the address book did
//     not): the same Contacts slice, a fresh but equal IDs map, as the Client hands them;
//   - book=changed: a new Contacts slice and IDs map at every save.
//
// The stores: FileStore (fsync and rename at every save), redisstore fenced by a lease on a
// Redis without persistence, and on one with an append-only file synced at every write
// (appendfsync always), the durable comparison to the file. B/save is what one save writes:
// the file's size for FileStore, the bytes sent to Redis for redisstore.
func BenchmarkSave(b *testing.B) {
	sess := largeSession(b)
	for _, book := range []string{"unchanged", "changed"} {
		b.Run("store=file/book="+book, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "bench.session")
			benchSave(b, wechat.NewFileStore(path), sess, book == "changed", func() int64 {
				fi, err := os.Stat(path)
				if err != nil {
					b.Fatal(err)
				}
				return fi.Size() * int64(b.N)
			})
		})
		for _, srvKind := range []string{"redis", "redis-aof-always"} {
			b.Run("store="+srvKind+"/book="+book, func(b *testing.B) {
				var args []string
				if srvKind == "redis-aof-always" {
					args = []string{"--appendonly", "yes", "--appendfsync", "always"}
				}
				srv, err := redistest.Start(args...)
				redistest.Require(b, err)
				defer srv.Close()
				var sent atomic.Int64
				rdb := redis.NewClient(&redis.Options{
					Addr: srv.Addr(),
					Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
						c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
						return countingConn{c, &sent}, err
					},
				})
				defer rdb.Close()
				st := New(rdb, "bench")
				l, err := st.Lock(b.Context())
				if err != nil {
					b.Fatal(err)
				}
				defer l.Release(context.WithoutCancel(b.Context()))
				if err := st.Save(b.Context(), sess); err != nil { // scripts loaded, first book sent
					b.Fatal(err)
				}
				start := sent.Load()
				benchSave(b, st, sess, book == "changed", func() int64 { return sent.Load() - start })
			})
		}
	}
}

// benchSave saves sess b.N times and reports the bytes each save writes (total() / b.N).
// With changed, every save hands a new Contacts slice; every save hands a new IDs map.
func benchSave(b *testing.B, st wechat.SessionStore, sess *wechat.Session, changed bool, total func() int64) {
	ctx := b.Context()
	books := [2][]wechat.Contact{sess.Contacts, slices.Clone(sess.Contacts)}
	ids := [2]map[string]string{sess.IDs, maps.Clone(sess.IDs)}
	s := *sess
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if changed {
			s.Contacts = books[i%2]
			s.ContactsVersion = fmt.Sprint("book-", i)
		}
		s.IDs = ids[i%2]
		s.Handled[0] = fmt.Sprint(i) // the delivery position moved
		if err := st.Save(ctx, &s); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(total())/float64(b.N), "B/save")
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// largeSession runs a Client against a fake 5,000-friend account until its address book is
// loaded, and returns the session it saved last, with 2,048 handled ids.
func largeSession(b *testing.B) *wechat.Session {
	b.Helper()
	srv := wechattest.NewServer(wechattest.WithAccount(wechattest.LargeAccount(5000, 0, 0)))
	defer srv.Close()
	srv.ConfirmLogin()
	capture := &captureStore{}
	c := wechat.New(wechat.WithHTTPClient(srv.Client()), wechat.WithQRHandler(func(wechat.QRCode) {}),
		wechat.WithSessionStore(capture))
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	if err := c.WaitContacts(ctx); err != nil {
		b.Fatal(err)
	}
	cancel()
	<-done // Run saves once more when it returns
	s := capture.last()
	if s == nil || len(s.Contacts) < 5000 {
		b.Fatalf("the client saved no 5,000-contact session: %v", s)
	}
	for i := len(s.Handled); i < 2048; i++ {
		s.Handled = append(s.Handled, fmt.Sprint(5_000_000_000_000_000_000+i))
	}
	return s
}

// captureStore is a SessionStore that keeps the last session saved.
type captureStore struct {
	mu   sync.Mutex
	sess *wechat.Session
}

func (c *captureStore) Load(context.Context) (*wechat.Session, error) {
	return nil, wechat.ErrNoSession
}

func (c *captureStore) Save(_ context.Context, s *wechat.Session) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sess = s
	return nil
}

func (c *captureStore) Clear(context.Context) error { return nil }

func (c *captureStore) last() *wechat.Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess
}
