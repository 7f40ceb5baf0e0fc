package wechat_test

// Fault tests: the real client against wechattest's injected faults (PROTOCOL 6, 12.5, 13,
// 14). Every test runs in a testing/synctest bubble, so long polls, timeouts and backoff take
// no real time, and pushes messages before, during and after the fault: each must reach the
// handlers exactly once.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

const (
	pathSyncCheck = "/cgi-bin/mmwebwx-bin/synccheck"
	pathSync      = "/cgi-bin/mmwebwx-bin/webwxsync"
	pathInit      = "/cgi-bin/mmwebwx-bin/webwxinit"

	// busyLimit is the number of requests after which faultBot's transport takes the
	// server down: a client that busy-loops never blocks, so inside a synctest bubble the
	// test would hang instead of failing.
	busyLimit = 3000
)

// faultBot is a client running against srv inside a synctest bubble.
type faultBot struct {
	c    *wechat.Client
	msgs chan *wechat.Message
	done chan error
	busy atomic.Bool // the request guard tripped

	mu     sync.Mutex
	byText map[string]int // handled messages by content
	byID   map[string]int // handled messages by MsgID
	trips  []trip         // the client's requests, as its transport saw them
}

// trip is one request of the client: its path, how long it took (fake time) and its error.
type trip struct {
	path string
	took time.Duration
	err  error
}

// startFaultBot starts Run on a client of srv whose handler records each message, then
// takes slow (fake time, or until its ctx ends). The test's cleanup cancels Run and waits for
// it. Unlike startBot, Run's ctx has no deadline: these tests spend fake minutes in faults.
func startFaultBot(t *testing.T, srv *wechattest.Server, slow time.Duration, opts ...wechat.Option) *faultBot {
	t.Helper()
	b := &faultBot{
		msgs:   make(chan *wechat.Message, 1000),
		done:   make(chan error, 1),
		byText: make(map[string]int),
		byID:   make(map[string]int),
	}
	hc := srv.Client()
	var n atomic.Int64
	next := hc.Transport
	hc.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if n.Add(1) == busyLimit {
			b.busy.Store(true)
			srv.Close() // every later request fails: the client backs off and the bubble moves on
		}
		start := time.Now()
		resp, err := next.RoundTrip(r)
		b.mu.Lock()
		b.trips = append(b.trips, trip{r.URL.Path, time.Since(start), err})
		b.mu.Unlock()
		return resp, err
	})
	opts = append([]wechat.Option{
		wechat.WithHTTPClient(hc),
		wechat.WithQRHandler(func(wechat.QRCode) {}),
	}, opts...)
	b.c = wechat.New(opts...)
	b.c.HandleFunc(nil, func(ctx context.Context, m *wechat.Message) error {
		b.mu.Lock()
		b.byText[m.Content]++
		b.byID[m.MsgID]++
		b.mu.Unlock()
		b.msgs <- m
		if slow > 0 {
			select {
			case <-time.After(slow):
			case <-ctx.Done():
			}
		}
		return nil
	})
	ctx, cancel := context.WithCancel(t.Context())
	go func() { b.done <- b.c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-b.done
		assert.False(t, b.busy.Load(), "the client busy-looped: %d requests", busyLimit)
	})
	return b
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// collect waits for n more messages (fake time: within).
func (b *faultBot) collect(t *testing.T, n int, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for i := range n {
		select {
		case <-b.msgs:
		case err := <-b.done:
			b.done <- err
			t.Fatalf("Run returned after %d of %d messages: %v", i, n, err)
		case <-deadline:
			t.Fatalf("only %d of %d messages within %v", i, n, within)
		}
	}
}

// assertExactlyOnce checks that the handlers got each of want once and nothing else.
func (b *faultBot) assertExactlyOnce(t *testing.T, want []wechattest.Message) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range want {
		assert.Equal(t, 1, b.byText[m.Text], "message %q handled %d times", m.Text, b.byText[m.Text])
	}
	assert.Len(t, b.byText, len(want), "handled: %v", b.byText)
	for id, n := range b.byID {
		assert.Equal(t, 1, n, "MsgID %s handled %d times", id, n)
	}
	assert.Len(t, b.byID, len(want))
}

// assertRunning checks that Run has not returned.
func (b *faultBot) assertRunning(t *testing.T) {
	t.Helper()
	select {
	case err := <-b.done:
		b.done <- err
		t.Fatalf("Run returned: %v", err)
	default:
	}
}

// testMessages returns n text messages with distinct contents, from a friend, another
// friend and a group member in turn, so that several handler workers take part.
func testMessages(n int) []wechattest.Message {
	msgs := make([]wechattest.Message, n)
	for i := range msgs {
		text := fmt.Sprintf("m%02d", i)
		switch i % 3 {
		case 0:
			msgs[i] = wechattest.Text("friend", text)
		case 1:
			msgs[i] = wechattest.Text("alice", text)
		default:
			msgs[i] = wechattest.GroupText("group", "carol", text)
		}
	}
	return msgs
}

// online starts a bot (see startFaultBot) on a logged-in srv and waits until its first
// synccheck is held.
func online(t *testing.T, srv *wechattest.Server, slow time.Duration, opts ...wechat.Option) *faultBot {
	t.Helper()
	srv.ConfirmLogin()
	b := startFaultBot(t, srv, slow, opts...)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	require.NoError(t, srv.WaitOnline(ctx))
	synctest.Wait()
	return b
}

// runThroughFault pushes 20 messages through a fault: 7 before it is injected, 6 while it
// is being served (one every 3 s), 7 after; each must be handled exactly once, and Run must
// still be running.
func runThroughFault(t *testing.T, inject func(srv *wechattest.Server), opts ...wechattest.Option) (*wechattest.Server, *faultBot) {
	t.Helper()
	srv := wechattest.NewServer(opts...)
	t.Cleanup(srv.Close)
	b := online(t, srv, 0)
	msgs := testMessages(20)

	srv.Deliver(msgs[:7]...)
	b.collect(t, 7, time.Minute)
	synctest.Wait() // the client holds its next synccheck: the fault meets the requests after it

	inject(srv)
	for _, m := range msgs[7:13] {
		srv.Deliver(m)
		time.Sleep(3 * time.Second)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	require.NoError(t, srv.WaitFaults(ctx), "the client stopped making requests")

	srv.Deliver(msgs[13:]...)
	b.collect(t, 13, 5*time.Minute) // the backoff is capped at 30 s
	time.Sleep(2 * time.Minute)     // late duplicates would show now
	synctest.Wait()
	b.assertExactlyOnce(t, msgs)
	b.assertRunning(t)
	return srv, b
}

// TestFaultsLossless runs every fault that Run must survive.
func TestFaultsLossless(t *testing.T) {
	for _, ep := range []string{"synccheck", "webwxsync"} {
		for _, f := range []wechattest.Fault{wechattest.FaultReset, wechattest.FaultBadGateway, wechattest.FaultTruncate} {
			t.Run(ep+"/"+f.String(), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					runThroughFault(t, func(srv *wechattest.Server) { srv.InjectFault(ep, f, 3) })
				})
			})
		}
		t.Run(ep+"/Retcode-1", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				runThroughFault(t, func(srv *wechattest.Server) { srv.InjectRetcode(ep, -1, 2) })
			})
		})
	}
	t.Run("webwxsync/Resend", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			runThroughFault(t, func(srv *wechattest.Server) { srv.InjectFault("webwxsync", wechattest.FaultResend, 3) })
		})
	})
}

// TestFaultSyncCheckHang: a synccheck that never answers is abandoned at the client's 35 s
// timeout and retried; nothing is lost on the way. The real long poll holds 25 s.
func TestFaultSyncCheckHang(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, b := runThroughFault(t, func(srv *wechattest.Server) {
			srv.InjectFault("synccheck", wechattest.FaultHang, 2)
		}, wechattest.WithLongPoll(25*time.Second))
		b.mu.Lock()
		defer b.mu.Unlock()
		var hung []time.Duration
		for _, tr := range b.trips {
			if tr.path == pathSyncCheck && tr.err != nil {
				require.ErrorIs(t, tr.err, context.DeadlineExceeded)
				hung = append(hung, tr.took)
			}
			if tr.path == pathSyncCheck {
				assert.LessOrEqual(t, tr.took, 35*time.Second)
			}
		}
		assert.Equal(t, []time.Duration{35 * time.Second, 35 * time.Second}, hung, "both hung polls abandoned at the 35 s timeout")
	})
}

// TestFaultSyncHang: a webwxsync that never answers must not stall the loop for good: the
// client must give up on it (a per-request timeout, STYLE "Per-request timeouts come from
// ctx") and sync again.
func TestFaultSyncHang(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		runThroughFault(t, func(srv *wechattest.Server) {
			srv.InjectFault("webwxsync", wechattest.FaultHang, 1)
		})
	})
}

// TestFaultEmptySelector: synccheck raises selector 2, 4 or 7 for a change that brings no
// message (PROTOCOL 6.1): the client syncs once, takes the new key and polls again with it,
// so the next synccheck holds; no busy loop. Messages around it arrive exactly once.
func TestFaultEmptySelector(t *testing.T) {
	for _, sel := range []int{2, 4, 7} {
		t.Run(strconv.Itoa(sel), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				runThroughFault(t, func(srv *wechattest.Server) {
					srv.RaiseSelector(sel)
					go func() { // and twice more while the messages arrive
						time.Sleep(4 * time.Second)
						srv.RaiseSelector(sel)
						time.Sleep(7 * time.Second)
						srv.RaiseSelector(sel)
					}()
				})
			})
		})
	}
}

// TestFaultEmptySelectorNoBusyLoop counts the requests in the fake minute after a raised
// selector, with the real server's 25 s long poll: one webwxsync, then polls that hold.
func TestFaultEmptySelectorNoBusyLoop(t *testing.T) {
	for _, sel := range []int{2, 4, 7} {
		t.Run(strconv.Itoa(sel), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := wechattest.NewServer(wechattest.WithLongPoll(25 * time.Second))
				defer srv.Close()
				b := online(t, srv, 0)
				before := len(srv.Requests())
				srv.RaiseSelector(sel)
				time.Sleep(time.Minute)
				var checks, syncs []wechattest.Request
				for _, r := range srv.Requests()[before:] {
					switch r.Path {
					case pathSyncCheck:
						checks = append(checks, r)
					case pathSync:
						syncs = append(syncs, r)
					}
				}
				assert.Len(t, syncs, 1, "one webwxsync for the change")
				assert.LessOrEqual(t, len(checks), 4, "synccheck holds again after the sync (3 polls of 25 s in a minute)")
				require.NotEmpty(t, checks)
				// The poll held when the change came had the old key; the polls after the sync
				// carry the new one.
				var held wechattest.Request
				for _, r := range srv.Requests()[:before] {
					if r.Path == pathSyncCheck {
						held = r
					}
				}
				assert.NotEqual(t, held.Query.Get("synckey"), checks[0].Query.Get("synckey"), "the new SyncCheckKey is used")

				// And messages still flow.
				srv.Deliver(wechattest.Text("friend", "still here"))
				b.collect(t, 1, time.Minute)
				b.assertRunning(t)
			})
		})
	}
}

// TestFaultUnknownRetcodeReinit: three unknown synccheck retcodes in a row make the client run
// webwxinit again (PROTOCOL 6.1, 6.3), once, and delivery goes on.
func TestFaultUnknownRetcodeReinit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var start int
		srv, _ := runThroughFault(t, func(srv *wechattest.Server) {
			start = len(srv.Requests())
			srv.InjectRetcode("synccheck", -1, 3)
		})
		require.Len(t, requestsTo(srv, pathInit), 2, "the login's webwxinit and one re-init")
		var checks int
		var reinitAfter int // synccheck requests before the re-init
		for _, r := range srv.Requests()[start:] {
			switch r.Path {
			case pathSyncCheck:
				checks++
			case pathInit:
				reinitAfter = checks
			}
		}
		assert.Equal(t, 3, reinitAfter, "webwxinit right after the third failure")
	})
}

// TestFaultUnknownRetcodeNotConsecutive: failures separated by a good answer do not add up
// to a re-init.
func TestFaultUnknownRetcodeNotConsecutive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, _ := runThroughFault(t, func(srv *wechattest.Server) {
			srv.InjectRetcode("synccheck", -1, 2)
			go func() {
				ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
				defer cancel()
				if srv.WaitFaults(ctx) == nil {
					time.Sleep(40 * time.Second) // a good synccheck answer (the 2 s long poll) comes in between
					srv.InjectRetcode("synccheck", -1, 2)
				}
			}()
		})
		assert.Len(t, requestsTo(srv, pathInit), 1, "no re-init")
	})
}

// TestFaultLogout: a logout code on synccheck (1100, 1101, 1102) or webwxsync (1101, 1100)
// ends Run with an error matching ErrLoggedOut, after the handlers have handled every message
// that was delivered before the fault, exactly once. The slow variants give the handlers a
// second per message, so that messages are still queued when the logout comes.
func TestFaultLogout(t *testing.T) {
	for _, tt := range []struct {
		ep   string
		code int
		slow time.Duration
	}{
		{"synccheck", 1100, 0}, {"synccheck", 1101, 0}, {"synccheck", 1102, 0},
		{"webwxsync", 1101, 0}, {"webwxsync", 1100, 0},
		{"synccheck", 1101, time.Second}, {"webwxsync", 1101, time.Second},
	} {
		name := tt.ep + "/" + strconv.Itoa(tt.code)
		if tt.slow > 0 {
			name += "/slow"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := wechattest.NewServer()
				defer srv.Close()
				b := online(t, srv, tt.slow)
				msgs := testMessages(20)
				if tt.slow > 0 {
					for i := range msgs { // one chat: one worker, a queue
						msgs[i].From, msgs[i].Group = "friend", ""
					}
				}
				srv.Deliver(msgs[:10]...)
				b.collect(t, 10, time.Minute)
				synctest.Wait()

				srv.InjectRetcode(tt.ep, tt.code, 1)
				// These wake the held synccheck: for a synccheck fault the webwxsync
				// before it still delivers them; for a webwxsync fault they never come.
				srv.Deliver(msgs[10:15]...)
				want := msgs[:15]
				if tt.ep == "webwxsync" {
					want = msgs[:10]
				}

				var err error
				select {
				case err = <-b.done:
					b.done <- err
				case <-time.After(5 * time.Minute):
					t.Fatal("Run did not return")
				}
				require.ErrorIs(t, err, wechat.ErrLoggedOut)
				var we *wechat.Error
				require.ErrorAs(t, err, &we)
				assert.Equal(t, tt.code, we.Ret)
				assert.Equal(t, tt.ep, we.Op)
				// Run has returned: its handlers are done, so what they got is final.
				b.assertExactlyOnce(t, want)
				assert.Len(t, b.msgs, len(want)-10)
				assert.False(t, errors.Is(err, context.Canceled))
			})
		})
	}
}
