package fleet_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/fleet"
	"github.com/wxkit/wechat/redisstore"
)

// This file is the worker process of TestFailover: the test binary started again with
// workerEnv set to the worker's id and workerConfigEnv to a workerConfig in JSON. TestMain
// calls workerMain instead of running tests. The worker runs a fleet.Runner of every account
// until its standard input is closed, and prints each fleet event as one JSON line (a
// workerLine) on standard output.

const (
	workerEnv       = "WECHAT_FLEET_WORKER"
	workerConfigEnv = "WECHAT_FLEET_WORKER_CONFIG"
	// workerHeader names the worker process on every request it sends to a fake, so that
	// the parent can tell two processes serving one account at once.
	workerHeader = "X-Fleet-Worker"
	ackPrefix    = "ack:"
	msgPrefix    = "m:"
)

// workerConfig is what a worker needs: Redis, and the loopback address of each account's fake.
type workerConfig struct {
	Redis    string            `json:"redis"`
	Prefix   string            `json:"prefix"` // the redisstore key prefix of this test run
	Accounts map[string]string `json:"accounts"`
	TTL      time.Duration     `json:"ttl"`
	Scan     time.Duration     `json:"scan"`
	Max      int               `json:"max"`
}

// workerLine is one line of a worker's output: a fleet event, or the end of Run.
type workerLine struct {
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"` // an EventKind's String, or "exit"
	Account string    `json:"account,omitempty"`
	Token   int64     `json:"token,omitempty"`
	Err     string    `json:"err,omitempty"`
	Lost    bool      `json:"lost,omitempty"` // Err matches wechat.ErrLeaseLost
}

// workerMain runs the worker and returns its exit code: 0 when Run returned
// context.Canceled after standard input was closed.
func workerMain() int {
	redis.SetLogger(quiet{})
	id := os.Getenv(workerEnv)
	var cfg workerConfig
	if err := json.Unmarshal([]byte(os.Getenv(workerConfigEnv)), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "worker: bad config:", err)
		return 2
	}
	rdb := redis.NewClient(&redis.Options{
		Addr: cfg.Redis, ContextTimeoutEnabled: true,
		DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second,
	})
	defer rdb.Close()
	out := &lineWriter{w: bufio.NewWriter(os.Stdout)}

	base := &http.Transport{MaxIdleConnsPerHost: 32, IdleConnTimeout: 30 * time.Second}
	defer base.CloseIdleConnections()
	storeFor := func(account string) wechat.SessionLocker {
		return redisstore.New(rdb, account, redisstore.WithPrefix(cfg.Prefix), redisstore.WithTTL(cfg.TTL))
	}
	clientFor := func(account string, st wechat.SessionLocker) *wechat.Client {
		hc := &http.Client{Transport: &toLoopback{base: base, addr: cfg.Accounts[account], worker: id}}
		c := wechat.New(
			wechat.WithHTTPClient(hc),
			wechat.WithSessionStore(st),
			wechat.WithLoginPolicy(wechat.LoginResumeOnly), // the parent logged every account in
			wechat.WithSendRate(0, 0),
			wechat.WithShutdownGrace(2*time.Second),
		)
		c.HandleFunc(isTest, func(ctx context.Context, m *wechat.Message) error {
			return ack(ctx, c, m)
		})
		return c
	}
	var names []string
	for n := range cfg.Accounts {
		names = append(names, n)
	}
	r := fleet.New(storeFor, clientFor,
		fleet.WithAccounts(names...),
		fleet.WithMaxAccounts(cfg.Max),
		fleet.WithScanInterval(cfg.Scan),
		fleet.WithEventHandler(func(e fleet.Event) {
			l := workerLine{At: time.Now(), Kind: e.Kind.String(), Account: e.Account, Token: e.Token}
			if e.Err != nil {
				l.Err, l.Lost = e.Err.Error(), errors.Is(e.Err, wechat.ErrLeaseLost)
			}
			out.write(l)
		}),
	)
	ctx, cancel := context.WithCancel(context.Background())
	var stdin sync.WaitGroup
	stdin.Go(func() {
		_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it
		cancel()
	})
	err := r.Run(ctx)
	out.write(workerLine{At: time.Now(), Kind: "exit", Err: err.Error()})
	stdin.Wait()
	if !errors.Is(err, context.Canceled) {
		return 1
	}
	return 0
}

func isTest(m *wechat.Message) bool { return strings.HasPrefix(m.Content, msgPrefix) }

// ack replies "ack:<MsgID>" to m, retrying a failed send a few times while ctx lasts, as a
// bot that must not lose a reply would.
func ack(ctx context.Context, c *wechat.Client, m *wechat.Message) error {
	for try := 0; ; try++ {
		_, err := c.SendText(ctx, m.FromUserName, ackPrefix+m.MsgID)
		if err == nil || ctx.Err() != nil || errors.Is(err, wechat.ErrLeaseLost) || try == 5 {
			return err
		}
		t := time.NewTimer(200 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// toLoopback sends every request to the account's fake at addr over plain HTTP, keeping the
// WeChat host in the Host header (the fake routes on it) and naming the worker in
// workerHeader. The Client's cookie jar still sees the https URL of the WeChat host.
type toLoopback struct {
	base   http.RoundTripper
	addr   string
	worker string
}

func (t *toLoopback) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Host = req.URL.Host
	r.URL.Scheme, r.URL.Host = "http", t.addr
	r.Header.Set(workerHeader, t.worker)
	return t.base.RoundTrip(r)
}

// lineWriter writes JSON lines from several goroutines.
type lineWriter struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (l *lineWriter) write(v any) {
	b, _ := json.Marshal(v)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Write(append(b, '\n'))
	l.w.Flush()
}
