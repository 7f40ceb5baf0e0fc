package wechat_test

// Fault tests: the real client against wechattest's injected faults (PROTOCOL 6, 12.5, 13,
// 14). Every test runs in a testing/synctest bubble, so long polls, timeouts and backoff take
// no real time, and pushes messages before, during and after the fault: each must reach the
// handlers exactly once.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
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
)

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

// runThroughFault runs a session (setup, with recordTrips and opts) once its first synccheck
// is held, and pushes 20 messages through a fault: 7 before it is injected, 6 while it is
// being served (one every 3 s), 7 after; each must be handled exactly once, and Run must still
// be running.
func runThroughFault(t *testing.T, inject func(srv *wechattest.Server), opts ...setupOption) *testSession {
	t.Helper()
	b := setup(t, append([]setupOption{recordTrips()}, opts...)...)
	synctest.Wait()
	srv := b.srv
	msgs := testMessages(20)

	srv.Deliver(msgs[:7]...)
	b.collectWithin(t, 7, time.Minute)
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
	b.collectWithin(t, 13, 5*time.Minute) // the backoff is capped at 30 s
	time.Sleep(2 * time.Minute)           // late duplicates would show now
	synctest.Wait()
	b.assertExactlyOnce(t, msgs)
	b.assertRunning(t)
	return b
}

// TestFaultsLossless runs every fault that Run must survive.
func TestFaultsLossless(t *testing.T) {
	t.Parallel()
	for _, ep := range []string{"synccheck", "webwxsync"} {
		for _, f := range []wechattest.Fault{wechattest.FaultReset, wechattest.FaultBadGateway, wechattest.FaultTruncate} {
			t.Run(ep+"/"+f.String(), func(t *testing.T) {
				t.Parallel()
				synctest.Test(t, func(t *testing.T) {
					runThroughFault(t, func(srv *wechattest.Server) { srv.InjectFault(ep, f, 3) })
				})
			})
		}
		t.Run(ep+"/Retcode-1", func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				runThroughFault(t, func(srv *wechattest.Server) { srv.InjectRetcode(ep, -1, 2) })
			})
		})
	}
	t.Run("webwxsync/Resend", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			runThroughFault(t, func(srv *wechattest.Server) { srv.InjectFault("webwxsync", wechattest.FaultResend, 3) })
		})
	})
}

// TestFaultSyncCheckHang: a synccheck that never answers is abandoned at the client's 35 s
// timeout and retried; nothing is lost on the way. The real long poll holds 25 s.
func TestFaultSyncCheckHang(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := runThroughFault(t, func(srv *wechattest.Server) {
			srv.InjectFault("synccheck", wechattest.FaultHang, 2)
		}, withServer(wechattest.WithLongPoll(25*time.Second)))
		var hung []time.Duration
		for _, tr := range b.roundTrips() {
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
	t.Parallel()
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
	t.Parallel()
	for _, sel := range []int{2, 4, 7} {
		t.Run(strconv.Itoa(sel), func(t *testing.T) {
			t.Parallel()
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
	t.Parallel()
	for _, sel := range []int{2, 4, 7} {
		t.Run(strconv.Itoa(sel), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				b := setup(t, recordTrips(), withServer(wechattest.WithLongPoll(25*time.Second)))
				synctest.Wait() // the first synccheck is held
				srv := b.srv
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
				b.collectWithin(t, 1, time.Minute)
				b.assertRunning(t)
			})
		})
	}
}

// TestFaultUnknownRetcodeReinit: three unknown synccheck retcodes in a row make the client run
// webwxinit again (PROTOCOL 6.1, 6.3), once, and delivery goes on.
func TestFaultUnknownRetcodeReinit(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var start int
		srv := runThroughFault(t, func(srv *wechattest.Server) {
			start = len(srv.Requests())
			srv.InjectRetcode("synccheck", -1, 3)
		}).srv
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
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := runThroughFault(t, func(srv *wechattest.Server) {
			srv.InjectRetcode("synccheck", -1, 2)
			go func() {
				ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
				defer cancel()
				if srv.WaitFaults(ctx) == nil {
					time.Sleep(40 * time.Second) // a good synccheck answer (the 2 s long poll) comes in between
					srv.InjectRetcode("synccheck", -1, 2)
				}
			}()
		}).srv
		assert.Len(t, requestsTo(srv, pathInit), 1, "no re-init")
	})
}

// TestFaultLogout: a logout code on synccheck (1100, 1101, 1102) or webwxsync (1101, 1100)
// ends Run with an error matching ErrLoggedOut, after the handlers have handled every message
// that was delivered before the fault, exactly once. The slow variants give the handlers a
// second per message, so that messages are still queued when the logout comes.
func TestFaultLogout(t *testing.T) {
	t.Parallel()
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
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				b := setup(t, recordTrips(), withHandler(func(ctx context.Context, _ *testSession, _ *wechat.Message) error {
					if tt.slow > 0 {
						select {
						case <-time.After(tt.slow):
						case <-ctx.Done():
						}
					}
					return nil
				}))
				synctest.Wait() // the first synccheck is held
				srv := b.srv
				msgs := testMessages(20)
				if tt.slow > 0 {
					for i := range msgs { // one chat: one worker, a queue
						msgs[i].From, msgs[i].Group = "friend", ""
					}
				}
				srv.Deliver(msgs[:10]...)
				b.collectWithin(t, 10, time.Minute)
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
