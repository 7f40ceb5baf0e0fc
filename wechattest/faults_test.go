package wechattest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncCheckRequest returns a synccheck request with the current
// SyncCheckKey on the session's push host.
func (h *harness) syncCheckRequest(ctx context.Context) *http.Request {
	h.t.Helper()
	q := url.Values{
		"r": {"1700000000000"}, "skey": {h.skey}, "sid": {h.sid}, "uin": {strconv.FormatInt(h.uin, 10)},
		"deviceid": {"e123456789012345"}, "synckey": {h.checkKey.String()}, "_": {"1700000000002"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+h.pushHost()+"/cgi-bin/mmwebwx-bin/synccheck?"+q.Encode(), nil)
	require.NoError(h.t, err)
	return req
}

// syncRequest returns a webwxsync request with the current SyncKey.
func (h *harness) syncRequest(ctx context.Context) *http.Request {
	h.t.Helper()
	q := url.Values{"sid": {h.sid}, "skey": {h.skey}, "pass_ticket": {h.passTicket}}
	body := mustJSON(h.t, map[string]any{"BaseRequest": h.base(), "SyncKey": h.syncKey, "rr": -1890000001})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+h.main+"/cgi-bin/mmwebwx-bin/webwxsync?"+q.Encode(), bytes.NewReader(body))
	require.NoError(h.t, err)
	req.Header.Set("Content-Type", "application/json;charset=UTF-8")
	return req
}

// faultRequest returns a request for endpoint ("synccheck" or "webwxsync").
func (h *harness) faultRequest(ctx context.Context, endpoint string) *http.Request {
	if endpoint == "synccheck" {
		return h.syncCheckRequest(ctx)
	}
	return h.syncRequest(ctx)
}

// raw sends req and returns the answer, the body read so far and the read
// error, without requiring success.
func (h *harness) raw(req *http.Request) (*http.Response, []byte, error) {
	h.t.Helper()
	resp, err := h.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// TestFaultReset: the answer's headers arrive with the full Content-Length,
// the body breaks off halfway with io.ErrUnexpectedEOF, and the next request
// gets the whole answer, the same one: nothing moved on the server.
func TestFaultReset(t *testing.T) {
	for _, ep := range []string{"synccheck", "webwxsync"} {
		t.Run(ep, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := loggedIn(t, WithLongPoll(25*time.Second))
				h.s.Deliver(Text("friend", "kept"))
				h.s.InjectFault(ep, FaultReset, 1)
				cut, part, err := h.raw(h.faultRequest(t.Context(), ep))
				require.ErrorIs(t, err, io.ErrUnexpectedEOF)
				assert.Equal(t, http.StatusOK, cut.StatusCode)

				_, full, err := h.raw(h.faultRequest(t.Context(), ep))
				require.NoError(t, err)
				assert.Equal(t, strconv.Itoa(len(full)), cut.Header.Get("Content-Length"), "the length of the whole answer")
				assert.Equal(t, int64(len(full)), cut.ContentLength)
				assert.Equal(t, full[:len(full)/2], part, "the first half of the real answer")
				if ep == "synccheck" {
					assert.Equal(t, `window.synccheck={retcode:"0",selector:"2"}`, string(full))
				} else {
					var sr syncResp
					decode(t, full, &sr)
					require.Len(t, sr.AddMsgList, 1, "the failed sync did not consume the message")
					assert.Equal(t, "kept", sr.AddMsgList[0].Content)
				}
			})
		})
	}
}

// TestFaultResetHeldSyncCheck: a synccheck with FaultReset is held like any
// other before its answer breaks off.
func TestFaultResetHeldSyncCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := loggedIn(t, WithLongPoll(25*time.Second))
		h.s.InjectFault("synccheck", FaultReset, 1)
		start := time.Now()
		_, part, err := h.raw(h.syncCheckRequest(t.Context()))
		require.ErrorIs(t, err, io.ErrUnexpectedEOF)
		assert.Equal(t, 25*time.Second, time.Since(start))
		assert.Equal(t, `window.synccheck={ret`, string(part))
	})
}

func TestFaultBadGateway(t *testing.T) {
	for _, ep := range []string{"synccheck", "webwxsync"} {
		t.Run(ep, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := loggedIn(t, WithLongPoll(25*time.Second))
				h.s.InjectFault(ep, FaultBadGateway, 2)
				start := time.Now()
				for range 2 {
					resp, body, err := h.raw(h.faultRequest(t.Context(), ep))
					require.NoError(t, err)
					assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
					assert.Equal(t, "text/html", resp.Header.Get("Content-Type"))
					assert.Equal(t, badGatewayPage, string(body))
				}
				assert.Zero(t, time.Since(start), "answered at once")
				resp, _, err := h.raw(h.faultRequest(t.Context(), ep))
				require.NoError(t, err)
				assert.Equal(t, http.StatusOK, resp.StatusCode, "two faults, then the real answer")
			})
		})
	}
}

// TestFaultHang: the request is held past the long poll and past new
// messages until the client's own timeout.
func TestFaultHang(t *testing.T) {
	for _, ep := range []string{"synccheck", "webwxsync"} {
		t.Run(ep, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := loggedIn(t, WithLongPoll(time.Second))
				h.s.InjectFault(ep, FaultHang, 1)
				start := time.Now()
				done := make(chan error, 1)
				go func() {
					ctx, cancel := context.WithTimeout(t.Context(), 35*time.Second)
					defer cancel()
					_, _, err := h.raw(h.faultRequest(ctx, ep))
					done <- err
				}()
				synctest.Wait()
				h.s.Deliver(Text("friend", "does not wake it"))
				err := <-done
				require.ErrorIs(t, err, context.DeadlineExceeded)
				assert.Equal(t, 35*time.Second, time.Since(start))

				resp, _, err := h.raw(h.faultRequest(t.Context(), ep))
				require.NoError(t, err)
				assert.Equal(t, http.StatusOK, resp.StatusCode)
			})
		})
	}
}

// TestFaultHangEndsOnClose: a hung request ends when the server closes, as
// a held long poll does.
func TestFaultHangEndsOnClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := loggedIn(t)
		h.s.InjectFault("synccheck", FaultHang, 1)
		done := make(chan error, 1)
		go func() {
			_, _, err := h.raw(h.syncCheckRequest(t.Context()))
			done <- err
		}()
		synctest.Wait()
		h.s.Close()
		assert.ErrorIs(t, <-done, ErrClosed)
	})
}

func TestFaultTruncate(t *testing.T) {
	for _, ep := range []string{"synccheck", "webwxsync"} {
		t.Run(ep, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := loggedIn(t, WithLongPoll(25*time.Second))
				h.s.Deliver(Text("friend", "kept"))
				h.s.InjectFault(ep, FaultTruncate, 1)
				resp, part, err := h.raw(h.faultRequest(t.Context(), ep))
				require.NoError(t, err, "a complete HTTP answer")
				assert.Equal(t, http.StatusOK, resp.StatusCode)
				assert.Equal(t, strconv.Itoa(len(part)), resp.Header.Get("Content-Length"))

				_, full, err := h.raw(h.faultRequest(t.Context(), ep))
				require.NoError(t, err)
				assert.Equal(t, full[:len(full)/2], part)
				if ep == "webwxsync" {
					assert.False(t, json.Valid(part))
					var sr syncResp
					decode(t, full, &sr)
					require.Len(t, sr.AddMsgList, 1, "the failed sync did not consume the message")
				}
			})
		})
	}
}

// TestFaultResend: the next answer repeats the last message of the
// previous one, with the same MsgId; the answer after it does not.
func TestFaultResend(t *testing.T) {
	h := loggedIn(t)
	h.s.Deliver(Text("friend", "one"))
	first := h.sync()
	require.Len(t, first.AddMsgList, 1)

	h.s.InjectFault("webwxsync", FaultResend, 1)
	h.s.Deliver(Text("friend", "two"))
	sr := h.sync()
	require.Len(t, sr.AddMsgList, 2)
	assert.Equal(t, 2, sr.AddMsgCount)
	assert.Equal(t, first.AddMsgList[0].MsgId, sr.AddMsgList[0].MsgId, "the same message again")
	assert.Equal(t, "one", sr.AddMsgList[0].Content)
	assert.Equal(t, "two", sr.AddMsgList[1].Content)

	h.s.Deliver(Text("friend", "three"))
	sr = h.sync()
	require.Len(t, sr.AddMsgList, 1)
	assert.Equal(t, "three", sr.AddMsgList[0].Content)

	// With nothing new the repeat comes alone.
	h.s.InjectFault("webwxsync", FaultResend, 1)
	sr = h.sync()
	require.Len(t, sr.AddMsgList, 1)
	assert.Equal(t, "three", sr.AddMsgList[0].Content)
	require.NoError(t, h.s.WaitFaults(t.Context()))
}

func TestInjectRetcodeSyncCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := loggedIn(t, WithLongPoll(25*time.Second))
		h.s.InjectRetcode("synccheck", -1, 2)
		start := time.Now()
		for range 2 {
			_, body, err := h.raw(h.syncCheckRequest(t.Context()))
			require.NoError(t, err)
			assert.Equal(t, `window.synccheck={retcode:"-1",selector:"0"}`, string(body))
		}
		assert.Zero(t, time.Since(start))
		h.s.Deliver(Text("friend", "x"))
		rc, sel := h.syncCheck(h.pushHost())
		assert.Equal(t, "0", rc, "the session lives on")
		assert.Equal(t, "2", sel)
	})
}

// TestInjectRetcodeLogout: a logout code ends the session for every later
// request too.
func TestInjectRetcodeLogout(t *testing.T) {
	for _, tt := range []struct {
		ep   string
		code int
	}{
		{"synccheck", 1100}, {"synccheck", 1101}, {"synccheck", 1102}, {"webwxsync", 1101},
	} {
		t.Run(tt.ep+"/"+strconv.Itoa(tt.code), func(t *testing.T) {
			h := loggedIn(t)
			h.s.InjectRetcode(tt.ep, tt.code, 1)
			_, body, err := h.raw(h.faultRequest(t.Context(), tt.ep))
			require.NoError(t, err)
			if tt.ep == "synccheck" {
				assert.Equal(t, `window.synccheck={retcode:"`+strconv.Itoa(tt.code)+`",selector:"0"}`, string(body))
			} else {
				assert.Equal(t, string(multiline(zeroSync(tt.code))), string(body))
			}
			rc, _ := h.syncCheck(h.pushHost())
			assert.Equal(t, strconv.Itoa(tt.code), rc)
			assert.Equal(t, tt.code, h.sync().BaseResponse.Ret)
		})
	}
}

// TestInjectRetcodeSyncSystemError: Ret -1 with the zeroed body, and the
// message is still there for the retry.
func TestInjectRetcodeSyncSystemError(t *testing.T) {
	h := loggedIn(t)
	h.s.Deliver(Text("friend", "kept"))
	h.s.InjectRetcode("webwxsync", -1, 1)
	key := h.syncKey
	sr := h.sync()
	assert.Equal(t, -1, sr.BaseResponse.Ret)
	assert.Zero(t, sr.SyncKey.Count, "zeroed body (PROTOCOL 14.6)")
	assert.Empty(t, sr.AddMsgList)
	require.Equal(t, key, h.syncKey)
	sr = h.sync()
	require.Equal(t, 0, sr.BaseResponse.Ret)
	require.Len(t, sr.AddMsgList, 1)
	assert.Equal(t, "kept", sr.AddMsgList[0].Content)
}

// TestFaultOrder: faults of one endpoint are served in the order injected;
// another endpoint's faults do not interfere; WaitFaults returns once all
// have been served.
func TestFaultOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := loggedIn(t, WithLongPoll(time.Second))
		h.s.InjectFault("synccheck", FaultBadGateway, 1)
		h.s.InjectFault("webwxsync", FaultBadGateway, 1)
		h.s.InjectRetcode("synccheck", 1205, 2)
		h.s.InjectFault("synccheck", FaultTruncate, 1)
		h.s.InjectFault("synccheck", FaultReset, 0) // nothing

		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		assert.ErrorIs(t, h.s.WaitFaults(ctx), context.DeadlineExceeded)
		cancel()

		var got []string
		for range 5 {
			resp, body, err := h.raw(h.syncCheckRequest(t.Context()))
			require.NoError(t, err)
			got = append(got, strconv.Itoa(resp.StatusCode)+" "+string(body[:min(len(body), 36)]))
		}
		assert.Equal(t, []string{
			"502 <html>\r\n<head><title>502 Bad Gateway",
			`200 window.synccheck={retcode:"1205",sel`,
			`200 window.synccheck={retcode:"1205",sel`,
			`200 window.synccheck={ret`, // truncated
			`200 window.synccheck={retcode:"0",select`,
		}, got)
		resp, _, err := h.raw(h.syncRequest(t.Context()))
		require.NoError(t, err)
		assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
		require.NoError(t, h.s.WaitFaults(t.Context()))
	})
}

// TestRaiseSelector: the selector comes at once, again and again for the
// old key, until a webwxsync (with no message in it) and a synccheck with
// the new key, which holds as usual.
func TestRaiseSelector(t *testing.T) {
	for _, sel := range []int{2, 4, 7} {
		t.Run(strconv.Itoa(sel), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := loggedIn(t, WithLongPoll(25*time.Second))
				start := time.Now()
				got := make(chan string, 1)
				go func() {
					_, s := h.syncCheck(h.pushHost())
					got <- s
				}()
				synctest.Wait()
				h.s.RaiseSelector(sel) // wakes the held poll
				assert.Equal(t, strconv.Itoa(sel), <-got)
				for range 3 {
					_, s := h.syncCheck(h.pushHost())
					assert.Equal(t, strconv.Itoa(sel), s, "busy until synced")
				}
				assert.Zero(t, time.Since(start))

				old := h.syncKey
				sr := h.sync()
				require.Equal(t, 0, sr.BaseResponse.Ret)
				assert.Empty(t, sr.AddMsgList)
				assert.Zero(t, sr.ContinueFlag)
				assert.Greater(t, h.syncKey.val(1), old.val(1), "a new SyncKey")

				stale := *h
				stale.checkKey = old
				_, s := stale.syncCheck(h.pushHost())
				assert.Equal(t, strconv.Itoa(sel), s, "the old key still raises it")

				_, s = h.syncCheck(h.pushHost())
				assert.Equal(t, "0", s)
				assert.Equal(t, 25*time.Second, time.Since(start), "the new key holds")

				// A message after the change is served as usual, once.
				h.s.Deliver(Text("friend", "after"))
				_, s = h.syncCheck(h.pushHost())
				assert.Equal(t, "2", s)
				sr = h.sync()
				require.Len(t, sr.AddMsgList, 1)
				assert.Equal(t, "after", sr.AddMsgList[0].Content)
			})
		})
	}
}

func TestFaultPanics(t *testing.T) {
	s := NewServer()
	defer s.Close()
	assert.Panics(t, func() { s.InjectFault("webwxnosuch", FaultReset, 1) })
	assert.Panics(t, func() { s.InjectFault("/cgi-bin/mmwebwx-bin/synccheck", FaultReset, 1) })
	assert.Panics(t, func() { s.InjectFault("synccheck", FaultResend, 1) })
	assert.Panics(t, func() { s.InjectFault("webwxinit", FaultSyncKeyEmpty, 1) })
	assert.Panics(t, func() { s.InjectFault("synccheck", FaultSyncKeyBack, 1) })
	assert.Panics(t, func() { s.InjectFault("synccheck", Fault(0), 1) })
	assert.Panics(t, func() { s.InjectFault("synccheck", lastFault+1, 1) })
	assert.Panics(t, func() { s.InjectFault("synccheck", FaultCode, 1) }, "FaultCode needs a Code")
	assert.Panics(t, func() { s.InjectFault("webwxinit", FaultClockSkew, 1) }, "FaultClockSkew needs a Duration")
	assert.Panics(t, func() { s.InjectRetcode("webwxgetmsgimg", 1101, 1) }, "downloads answer HTTP statuses")
	assert.Panics(t, func() { s.InjectRetcode("download", -1, 1) })
	assert.Panics(t, func() { s.Inject("send", FaultSpec{Fault: FaultResend}, 1) })
	assert.Panics(t, func() { s.RaiseSelector(0) })
	assert.NoError(t, s.WaitFaults(t.Context()), "nothing injected")
	s.InjectFault("synccheck", FaultReset, 0)
	assert.NoError(t, s.WaitFaults(t.Context()), "n <= 0 injects nothing")
	s.InjectFault("synccheck", FaultReset, 1)
	s.Close()
	assert.True(t, errors.Is(s.WaitFaults(t.Context()), ErrClosed))
}

func TestFaultString(t *testing.T) {
	for f, want := range map[Fault]string{
		FaultReset: "Reset", FaultBadGateway: "BadGateway", FaultHang: "Hang", FaultTruncate: "Truncate",
		FaultResend: "Resend", Fault(0): "Fault(0)", Fault(42): "Fault(42)",
	} {
		assert.Equal(t, want, f.String())
	}
}
