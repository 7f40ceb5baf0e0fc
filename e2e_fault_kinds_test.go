package wechat_test

// Every fault kind of wechattest against the real client: each test runs in a
// testing/synctest bubble (long polls, timeouts, backoff and the faults' delays take no real
// time) and checks that nothing is lost and nothing is handled or sent twice. Self-contained:
// only the public API of wechat and wechattest.

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

// kindSpec is the fault f with parameters that make it bite: an unknown code (503 for the
// downloads, which answer HTTP statuses), a delay past the client's 35 s long-poll timeout, a
// body slower than the long poll, an hour of skew.
func kindSpec(f wechattest.Fault) wechattest.FaultSpec {
	switch f {
	case wechattest.FaultCode:
		return wechattest.FaultSpec{Fault: f, Code: -1}
	case wechattest.FaultDelay:
		return wechattest.FaultSpec{Fault: f, Duration: 40 * time.Second}
	case wechattest.FaultSlowBody:
		return wechattest.FaultSpec{Fault: f, Duration: 20 * time.Second}
	case wechattest.FaultClockSkew:
		return wechattest.FaultSpec{Fault: f, Duration: -time.Hour}
	}
	return wechattest.FaultSpec{Fault: f}
}

// syncOnly are the kinds that only webwxsync answers carry.
var syncOnly = []wechattest.Fault{wechattest.FaultResend, wechattest.FaultSyncKeyBack, wechattest.FaultSyncKeyEmpty}

// startKindBot starts Run on a client of srv (whose login the caller confirms), with the
// harness's request guard: a busy loop fails the test instead of hanging the bubble.
func startKindBot(t *testing.T, srv *wechattest.Server, opts ...wechat.Option) *testSession {
	t.Helper()
	return setup(t, onServer(srv), notLoggedIn(), recordTrips(), withClient(opts...))
}

// kindTexts returns n texts from two friends and a group member.
func kindTexts(n int) []wechattest.Message {
	msgs := make([]wechattest.Message, n)
	for i := range msgs {
		text := fmt.Sprintf("k%02d", i)
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

// onlineKindBot logs a bot in to a new server and waits until its first synccheck is held.
func onlineKindBot(t *testing.T, srvOpts []wechattest.Option, opts ...wechat.Option) (*wechattest.Server, *testSession) {
	t.Helper()
	srv := wechattest.NewServer(append([]wechattest.Option{wechattest.WithLogf(t.Logf)}, srvOpts...)...)
	t.Cleanup(srv.Close)
	srv.ConfirmLogin()
	b := startKindBot(t, srv, opts...)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	require.NoError(t, srv.WaitOnline(ctx))
	synctest.Wait()
	return srv, b
}

// throughFault pushes messages through the faults inject sets up: 7 before, then one every
// 3 s until every fault has met its request (at least 7), then 7 after. Each must be handled
// once; Run must still run.
func throughFault(t *testing.T, srv *wechattest.Server, b *testSession, inject func()) {
	t.Helper()
	msgs := kindTexts(80)
	srv.Deliver(msgs[:7]...)
	b.collectWithin(t, 7, time.Minute)
	synctest.Wait() // the next synccheck is held: the faults meet the requests after it
	inject()
	n := 7
	for ; n < 14 || !faultsMet(srv); n++ {
		require.Less(t, n, 73, "the client stopped making requests")
		srv.Deliver(msgs[n])
		time.Sleep(3 * time.Second)
	}
	srv.Deliver(msgs[n : n+7]...)
	n += 7
	b.collectWithin(t, n-7, 5*time.Minute)
	time.Sleep(2 * time.Minute) // late duplicates would show now
	synctest.Wait()
	b.assertExactlyOnce(t, msgs[:n])
	b.assertRunning(t)
}

// faultsMet reports whether every fault injected into srv has met its requests.
func faultsMet(srv *wechattest.Server) bool {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return srv.WaitFaults(ctx) == nil
}

// TestFaultKindsReceive: every fault kind, on synccheck and on webwxsync (the kinds of
// webwxsync answers on webwxsync only), three requests in a row; the hanging ones once,
// since each costs the client's timeout.
func TestFaultKindsReceive(t *testing.T) {
	t.Parallel()
	for _, f := range wechattest.Faults() {
		for _, ep := range []string{"synccheck", "webwxsync"} {
			if ep == "synccheck" && slices.Contains(syncOnly, f) {
				continue
			}
			n := 3
			if f == wechattest.FaultHang {
				n = 1
			}
			t.Run(f.String()+"/"+ep, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					srv, b := onlineKindBot(t, []wechattest.Option{wechattest.WithLongPoll(25 * time.Second)})
					throughFault(t, srv, b, func() { srv.Inject(ep, kindSpec(f), n) })
				})
			})
		}
	}
}

// TestFaultKindsClockSkew: a server whose clock is ahead or behind for the whole session
// (every answer of the login and the loop), with and without WithSkipBacklog: nothing is
// lost, nothing repeated.
func TestFaultKindsClockSkew(t *testing.T) {
	t.Parallel()
	for _, skew := range []time.Duration{-time.Hour, 10 * time.Minute} {
		for _, skip := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/skipbacklog=%v", skew, skip), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					srv := wechattest.NewServer(wechattest.WithLogf(t.Logf), wechattest.WithLongPoll(25*time.Second))
					defer srv.Close()
					spec := wechattest.FaultSpec{Fault: wechattest.FaultClockSkew, Duration: skew}
					for _, ep := range []string{"login", "webwxnewloginpage", "webwxinit", "webwxsync"} {
						srv.Inject(ep, spec, 1000)
					}
					srv.ConfirmLogin()
					b := startKindBot(t, srv, wechat.WithSkipBacklog(skip))
					ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
					defer cancel()
					require.NoError(t, srv.WaitOnline(ctx))
					synctest.Wait()
					msgs := kindTexts(9)
					for _, m := range msgs {
						srv.Deliver(m)
						time.Sleep(2 * time.Second)
					}
					b.collectWithin(t, len(msgs), 5*time.Minute)
					time.Sleep(time.Minute)
					synctest.Wait()
					b.assertExactlyOnce(t, msgs)
					b.assertRunning(t)
				})
			})
		}
	}
}

// TestFaultKindsLogin: every kind that fails or slows an answer, on the steps of the login
// the client retries or gets past (jslogin, the login poll, webwxnewloginpage, webwxinit,
// webwxstatusnotify, webwxgetcontact, webwxbatchgetcontact): the client comes online, loads
// the whole address book, and handles the message delivered before it logged in once. On
// webwxnewloginpage a 200 HTML page or an empty answer is how the server refuses a login
// (PROTOCOL 4.4, 14.9, 14.10), so those two are not retried there.
func TestFaultKindsLogin(t *testing.T) {
	t.Parallel()
	kinds := slices.DeleteFunc(wechattest.Faults(), func(f wechattest.Fault) bool { return slices.Contains(syncOnly, f) })
	for _, ep := range []string{"jslogin", "login", "webwxnewloginpage", "webwxinit", "webwxstatusnotify", "webwxgetcontact", "webwxbatchgetcontact"} {
		for _, f := range kinds {
			if ep == "webwxnewloginpage" && (f == wechattest.FaultPortal || f == wechattest.FaultEmpty) {
				continue
			}
			t.Run(ep+"/"+f.String(), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					srv := wechattest.NewServer(wechattest.WithLogf(t.Logf))
					defer srv.Close()
					srv.Inject(ep, kindSpec(f), 1)
					srv.ConfirmLogin()
					srv.Deliver(wechattest.Text("friend", "waiting"))
					b := startKindBot(t, srv)
					b.collectWithin(t, 1, 5*time.Minute)
					ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
					defer cancel()
					require.NoError(t, b.c.WaitContacts(ctx))
					assert.Len(t, b.c.Contacts(), 9, "self, six contacts, two groups")
					g := b.c.ContactsByName("Test Group")
					require.Len(t, g, 1)
					members, err := b.c.GroupMembers(ctx, g[0].UserName)
					require.NoError(t, err)
					assert.Len(t, members, 4)
					time.Sleep(time.Minute)
					synctest.Wait()
					b.assertExactlyOnce(t, []wechattest.Message{wechattest.Text("friend", "waiting")})
					b.assertRunning(t)
					require.NoError(t, srv.WaitFaults(ctx))
				})
			})
		}
	}
}

// sendKinds are the kinds a send, upload or download can meet.
func sendKinds() []wechattest.Fault {
	return slices.DeleteFunc(wechattest.Faults(), func(f wechattest.Fault) bool { return slices.Contains(syncOnly, f) })
}

// TestFaultKindsSend: every kind on the send endpoints, around a run of sends. A send that
// returns nil is on the server exactly once; one that returns an error is there at most once
// (a dropped answer after the server took it: the caller is told, and nothing is sent
// twice); the next sends go through, and Run goes on.
func TestFaultKindsSend(t *testing.T) {
	t.Parallel()
	for _, f := range sendKinds() {
		t.Run(f.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, b := onlineKindBot(t, nil)
				srv.Inject("send", kindSpec(f), 2)
				ctx := t.Context()
				var ok, failed []string
				for i := range 6 {
					text := fmt.Sprintf("s%d", i)
					sctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
					if _, err := b.c.SendText(sctx, "filehelper", text); err != nil {
						var we *wechat.Error
						assert.ErrorAs(t, err, &we, "a typed error")
						failed = append(failed, text)
					} else {
						ok = append(ok, text)
					}
					cancel()
				}
				count := map[string]int{}
				for _, s := range srv.Sent() {
					count[s.Content]++
				}
				for _, text := range ok {
					assert.Equal(t, 1, count[text], "%q sent and recorded once", text)
				}
				for _, text := range failed {
					assert.LessOrEqual(t, count[text], 1, "%q not sent twice", text)
				}
				assert.LessOrEqual(t, len(failed), 2, "only the faulted sends fail")
				assert.Contains(t, ok, "s5", "sends go through after the faults")
				assert.True(t, faultsMet(srv))
				b.assertRunning(t)
			})
		})
	}
}

// TestFaultKindsUpload: every kind on the second chunk of a three-chunk image upload. The
// send either succeeds, with the server holding the whole image once and one send of it, or
// returns an error with nothing sent; a second try after the fault succeeds.
func TestFaultKindsUpload(t *testing.T) {
	t.Parallel()
	img := append([]byte("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00"), bytes.Repeat([]byte{7}, 2*524288+1000)...)
	for _, f := range sendKinds() {
		t.Run(f.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, b := onlineKindBot(t, nil)
				srv.Inject("webwxuploadmedia", wechattest.FaultSpec{Fault: wechattest.FaultDelay, Duration: time.Millisecond}, 1) // the first chunk passes
				srv.Inject("webwxuploadmedia", kindSpec(f), 1)
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
				defer cancel()
				_, err := b.c.SendImage(ctx, "filehelper", "big.jpg", bytes.NewReader(img))
				if err != nil {
					assert.Empty(t, srv.Sent(), "a failed upload sends nothing: %v", err)
					_, err = b.c.SendImage(ctx, "filehelper", "big.jpg", bytes.NewReader(img))
					require.NoError(t, err, "the second try")
				}
				ups := srv.Uploads()
				require.NotEmpty(t, ups)
				assert.Equal(t, img, ups[len(ups)-1].Data, "the whole image")
				sent := srv.Sent()
				require.Len(t, sent, 1, "one send")
				assert.Equal(t, ups[len(ups)-1].MediaID, sent[0].MediaID)
				assert.True(t, faultsMet(srv))
				b.assertRunning(t)
			})
		})
	}
}

// TestFaultKindsDownload: every kind on the download of a received image. Download returns
// either the server's bytes or an error (wrapped, not a panic); never other bytes as if they
// were the image, except after FaultTruncate, whose shorter answer is complete HTTP and
// cannot be told apart; and the next download gets the image. (A hung download lasts until
// the caller's ctx ends: Download sets no timeout of its own.)
func TestFaultKindsDownload(t *testing.T) {
	t.Parallel()
	for _, f := range sendKinds() {
		t.Run(f.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, b := onlineKindBot(t, nil)
				srv.Deliver(wechattest.Image("friend"))
				var m *wechat.Message
				select {
				case m = <-b.msgs:
				case <-time.After(time.Minute):
					t.Fatal("no image")
				}
				want := srv.Media(m.MsgID)
				require.NotEmpty(t, want)
				spec := kindSpec(f)
				if f == wechattest.FaultCode {
					spec.Code = http.StatusServiceUnavailable
				}
				srv.Inject("download", spec, 1)
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
				defer cancel()
				got, err := download(ctx, b.c, m)
				switch {
				case err != nil:
					assert.NotContains(t, err.Error(), "skey=@", "no secrets in errors")
				case f == wechattest.FaultTruncate:
					assert.Equal(t, want[:len(want)/2], got)
				default:
					assert.Equal(t, want, got)
				}
				ctx2, cancel2 := context.WithTimeout(t.Context(), 5*time.Minute)
				defer cancel2()
				got, err = download(ctx2, b.c, m)
				require.NoError(t, err)
				assert.Equal(t, want, got)
				assert.True(t, faultsMet(srv))
				b.assertRunning(t)
			})
		})
	}
}

// download reads the whole media of m.
func download(ctx context.Context, c *wechat.Client, m *wechat.Message) ([]byte, error) {
	md, err := c.Download(ctx, m)
	if err != nil {
		return nil, err
	}
	defer md.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(md)
	return b.Bytes(), err
}
