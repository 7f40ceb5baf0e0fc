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

// endpointRequest returns a request for the endpoint ep that the logged-in
// h would make, for the faults matrix. Requests that need a QR code or a
// message set them up first.
func (h *harness) endpointRequest(ctx context.Context, ep string) *http.Request {
	h.t.Helper()
	get := func(u string) *http.Request {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		require.NoError(h.t, err)
		return req
	}
	main := "https://" + h.main + "/cgi-bin/mmwebwx-bin/"
	skey := url.QueryEscape(h.skey)
	json := func(body map[string]any) *http.Request {
		body["BaseRequest"] = h.base()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, main+ep, bytes.NewReader(mustJSON(h.t, body)))
		require.NoError(h.t, err)
		req.Header.Set("Content-Type", "application/json;charset=UTF-8")
		return req
	}
	switch ep {
	case "jslogin":
		return get("https://login.wx.qq.com/jslogin?appid=" + appID + "&fun=new")
	case "qrcode":
		return get("https://login.weixin.qq.com/qrcode/" + h.jslogin())
	case "login":
		return get("https://login.wx.qq.com/cgi-bin/mmwebwx-bin/login?loginicon=true&tip=1&uuid=" + url.QueryEscape(h.jslogin()))
	case "webwxnewloginpage":
		return get(h.redirect())
	case "webwxpushloginurl":
		return get(main + ep + "?uin=2212345678")
	case "webwxlogout":
		return get(main + ep + "?redirect=1&type=1&skey=" + skey)
	case "webwxgetcontact":
		return get(main + ep + "?seq=0&skey=" + skey)
	case "synccheck":
		return h.syncCheckRequest(ctx)
	case "webwxsync":
		return h.syncRequest(ctx)
	case "webwxuploadmedia":
		var b bytes.Buffer
		mw := multipartWriter(&b)
		umr := mustJSON(h.t, map[string]any{"BaseRequest": h.base(), "ClientMediaId": 1, "TotalLen": 3, "FileMd5": "x"})
		for _, kv := range [][2]string{{"name", "a.txt"}, {"size", "3"}, {"mediatype", "doc"}, {"uploadmediarequest", string(umr)}, {"webwx_data_ticket", h.dataTicket()}} {
			require.NoError(h.t, mw.WriteField(kv[0], kv[1]))
		}
		fw, err := mw.CreateFormFile("filename", "a.txt")
		require.NoError(h.t, err)
		fw.Write([]byte("abc"))
		require.NoError(h.t, mw.Close())
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://file.wx2.qq.com/cgi-bin/mmwebwx-bin/webwxuploadmedia?f=json", &b)
		require.NoError(h.t, err)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return req
	case "webwxgetmedia":
		return get("https://file.wx2.qq.com/cgi-bin/mmwebwx-bin/webwxgetmedia?mediaid=x&webwx_data_ticket=" + url.QueryEscape(h.dataTicket()))
	case "webwxgetmsgimg":
		return get(main + ep + "?MsgID=" + h.deliverAll(Image("friend"))[0].MsgId + "&skey=" + skey)
	case "webwxgetvoice":
		return get(main + ep + "?msgid=" + h.deliverAll(Voice("friend", 2000))[0].MsgId + "&skey=" + skey)
	case "webwxgetvideo":
		req := get(main + ep + "?msgid=" + h.deliverAll(Video("friend", 3))[0].MsgId + "&skey=" + skey)
		req.Header.Set("Range", "bytes=0-")
		return req
	case "webwxgeticon":
		return get(main + ep + "?seq=0&username=" + url.QueryEscape(h.s.UserName("friend")) + "&skey=" + skey)
	case "webwxgetheadimg":
		return get(main + ep + "?seq=0&username=" + url.QueryEscape(h.s.UserName("group")) + "&skey=")
	case "webwxgetpubliclinkimg":
		return get(main + ep + "?url=xxx&msgid=1&pictype=location")
	case "webwxsendmsg", "webwxsendmsgimg", "webwxsendvideomsg", "webwxsendappmsg", "webwxsendemoticon":
		return json(map[string]any{"Msg": h.textMsg(nil), "Scene": 0})
	}
	return json(map[string]any{})
}

// TestFaultEveryEndpoint injects every fault that replaces or damages an
// answer into every endpoint, and checks the answer and the record.
func TestFaultEveryEndpoint(t *testing.T) {
	kinds := []FaultSpec{
		{Fault: FaultCode, Code: 503}, {Fault: FaultBadGateway}, {Fault: FaultPortal}, {Fault: FaultEmpty},
		{Fault: FaultTruncate}, {Fault: FaultReset}, {Fault: FaultSlowBody, Duration: 20 * time.Second},
		{Fault: FaultDelay, Duration: 40 * time.Second}, {Fault: FaultHang},
	}
	for _, ep := range faultEndpoints {
		for _, spec := range kinds {
			t.Run(ep+"/"+spec.Fault.String(), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					h := loggedIn(t, WithLongPoll(time.Second))
					if spec.Fault == FaultCode && !statusCodeEndpoint(ep) {
						spec.Code = 1205
					}
					ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
					defer cancel()
					req := h.endpointRequest(ctx, ep) // may make requests of its own
					h.s.Inject(ep, spec, 1)
					start := time.Now()
					resp, body, err := h.raw(req)
					took := time.Since(start)
					r := h.last(ep)
					assert.Equal(t, spec.Fault, r.Fault, "recorded")
					switch spec.Fault {
					case FaultCode:
						require.NoError(t, err)
						assert.Equal(t, spec.Code, r.Ret)
						switch {
						case statusCodeEndpoint(ep):
							assert.Equal(t, spec.Code, resp.StatusCode)
						case ep == "synccheck":
							assert.Equal(t, `window.synccheck={retcode:"1205",selector:"0"}`, string(body))
						case ep == "login":
							assert.Equal(t, "window.code=1205;", string(body))
						case ep == "jslogin":
							assert.Contains(t, string(body), "window.QRLogin.code = 1205;")
						case ep == "webwxnewloginpage":
							assert.Equal(t, "<error><ret>1205</ret><message></message></error>", string(body))
						case ep == "webwxpushloginurl":
							assert.Equal(t, `{"ret":"1205","msg":""}`, string(body))
						default:
							var br struct{ BaseResponse baseResp }
							decode(t, body, &br)
							assert.Equal(t, 1205, br.BaseResponse.Ret)
						}
					case FaultBadGateway:
						require.NoError(t, err)
						assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
						assert.Equal(t, badGatewayPage, string(body))
					case FaultPortal:
						require.NoError(t, err)
						assert.Equal(t, http.StatusOK, resp.StatusCode)
						assert.Equal(t, portalPage, string(body))
						assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
					case FaultEmpty:
						require.NoError(t, err)
						assert.Equal(t, http.StatusOK, resp.StatusCode)
						assert.Empty(t, body)
						assert.Equal(t, contentTypeOf(ep), resp.Header.Get("Content-Type"))
					case FaultTruncate:
						require.NoError(t, err)
						assert.Equal(t, strconv.Itoa(len(body)), resp.Header.Get("Content-Length"))
					case FaultReset:
						require.ErrorIs(t, err, io.ErrUnexpectedEOF)
						assert.Greater(t, resp.ContentLength, int64(len(body)))
					case FaultSlowBody:
						require.NoError(t, err)
						assert.GreaterOrEqual(t, took, 20*time.Second, "the body took Duration")
						assert.Equal(t, strconv.Itoa(len(body)), resp.Header.Get("Content-Length"))
					case FaultDelay:
						require.NoError(t, err)
						assert.GreaterOrEqual(t, took, 40*time.Second)
					case FaultHang:
						require.ErrorIs(t, err, context.DeadlineExceeded)
						assert.Equal(t, time.Minute, took)
					}
					require.NoError(t, h.s.WaitFaults(t.Context()), "the fault met its request")
				})
			})
		}
	}
}

// TestFaultGroups: "send", "download" and "contactop" match each of their
// endpoints, one request per use.
func TestFaultGroups(t *testing.T) {
	h := loggedIn(t)
	h.s.Inject("send", FaultSpec{Fault: FaultBadGateway}, 2)
	for _, ep := range []string{"webwxsendmsgimg", "webwxsendemoticon"} {
		resp, _, err := h.raw(h.endpointRequest(t.Context(), ep))
		require.NoError(t, err)
		assert.Equal(t, http.StatusBadGateway, resp.StatusCode, ep)
	}
	resp, _, err := h.raw(h.endpointRequest(t.Context(), "webwxsendmsg"))
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "two uses only")

	h.s.EmptyNextMedia()
	_, body, err := h.raw(h.endpointRequest(t.Context(), "webwxgeticon"))
	require.NoError(t, err)
	assert.Empty(t, body)
	_, body, err = h.raw(h.endpointRequest(t.Context(), "webwxgeticon"))
	require.NoError(t, err)
	assert.NotEmpty(t, body)
	assert.Equal(t, FaultEmpty, h.s.Requests()[len(h.s.Requests())-2].Fault)

	h.s.RateLimitOps(1)
	assert.Equal(t, 1205, h.ret("webwxupdatechatroom", map[string]any{"ChatRoomName": h.s.UserName("group")}))
	h.s.FailNextChunk()
	_, body, err = h.raw(h.endpointRequest(t.Context(), "webwxuploadmedia"))
	require.NoError(t, err)
	assert.Contains(t, string(body), `"Ret": -1`)
}

// TestFaultSyncKeyBack: the answer's keys go back to the session's first
// key, and the next webwxsync gets every message again; on webwxinit, the
// SyncKey of a restart does.
func TestFaultSyncKeyBack(t *testing.T) {
	h := loggedIn(t)
	first := h.syncKey.val(1)
	h.s.Deliver(Text("friend", "one"), Text("friend", "two"))
	h.s.InjectFault("webwxsync", FaultSyncKeyBack, 1)
	sr := h.sync()
	require.Len(t, sr.AddMsgList, 2, "the answer's messages are the real ones")
	assert.Equal(t, h.s.sess.base, sr.SyncKey.val(1), "key 1 went back to the start of the session")
	assert.Equal(t, h.s.sess.base, sr.SyncCheckKey.val(1))
	assert.Less(t, sr.SyncKey.val(1), first)
	sr = h.sync()
	var texts []string
	for _, m := range sr.AddMsgList {
		texts = append(texts, m.Content)
	}
	assert.Contains(t, texts, "one", "everything again")
	assert.Contains(t, texts, "two")
	assert.Len(t, texts, 3, "the chat list (MsgType 51) too")

	h.s.InjectFault("webwxinit", FaultSyncKeyBack, 1)
	var ir initResp
	h.post("webwxinit", nil, map[string]any{"BaseRequest": h.base()}, &ir)
	assert.Equal(t, h.s.sess.base, ir.SyncKey.val(1))
	h.post("webwxinit", nil, map[string]any{"BaseRequest": h.base()}, &ir)
	assert.Greater(t, ir.SyncKey.val(1), h.s.sess.base, "once")
}

// TestFaultSyncKeyEmpty: Ret 0, the messages, and empty keys; a client that
// keeps its key gets the same messages again.
func TestFaultSyncKeyEmpty(t *testing.T) {
	h := loggedIn(t)
	h.s.Deliver(Text("friend", "one"))
	h.s.InjectFault("webwxsync", FaultSyncKeyEmpty, 1)
	old := h.syncKey
	var sr syncResp
	h.post("webwxsync", nil, map[string]any{"BaseRequest": h.base(), "SyncKey": h.syncKey}, &sr)
	require.Equal(t, 0, sr.BaseResponse.Ret)
	require.Len(t, sr.AddMsgList, 1)
	assert.Equal(t, syncKey{Count: 0, List: []keyVal{}}, sr.SyncKey)
	assert.Zero(t, sr.SyncCheckKey.Count)
	require.Equal(t, old, h.syncKey)
	again := h.sync()
	require.Len(t, again.AddMsgList, 1)
	assert.Equal(t, sr.AddMsgList[0].MsgId, again.AddMsgList[0].MsgId)
	assert.NotZero(t, again.SyncKey.Count)
}

// TestFaultModifierWaitsForSuccess: a protocol fault stays until an answer
// passes the session checks.
func TestFaultModifierWaitsForSuccess(t *testing.T) {
	h := loggedIn(t)
	h.s.Deliver(Text("friend", "one"))
	h.s.InjectFault("webwxsync", FaultSyncKeyEmpty, 1)
	assert.Equal(t, 1, h.ret("webwxsync", map[string]any{"rr": 1}), "refused: no SyncKey")
	assert.Zero(t, h.last("webwxsync").Fault)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	assert.Error(t, h.s.WaitFaults(ctx), "still waiting")
	sr := h.sync()
	assert.Zero(t, sr.SyncKey.Count)
	assert.Equal(t, FaultSyncKeyEmpty, h.last("webwxsync").Fault)
	require.NoError(t, h.s.WaitFaults(t.Context()))
}

// TestFaultClockSkew: the times of one answer come from a clock an hour
// behind, the next answers' from the real one.
func TestFaultClockSkew(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := loggedIn(t)
		now := time.Now().Unix()
		h.s.Deliver(Text("friend", "late"))
		h.s.Inject("webwxsync", FaultSpec{Fault: FaultClockSkew, Duration: -time.Hour}, 1)
		resp, body, err := h.raw(h.syncRequest(t.Context()))
		require.NoError(t, err)
		var sr syncResp
		decode(t, body, &sr)
		require.Len(t, sr.AddMsgList, 1)
		assert.Equal(t, now-3600, sr.AddMsgList[0].CreateTime)
		var expires time.Time
		for _, c := range resp.Cookies() {
			if c.Name == "wxsid" {
				expires = c.Expires
			}
		}
		assert.Equal(t, time.Unix(now, 0).Add(11*time.Hour).UTC(), expires.UTC(), "12 h from a clock an hour behind")
		assert.Equal(t, FaultClockSkew, h.last("webwxsync").Fault)

		h.s.Inject("webwxinit", FaultSpec{Fault: FaultClockSkew, Duration: 5 * time.Minute}, 1)
		var ir struct{ SystemTime int64 }
		h.post("webwxinit", nil, map[string]any{"BaseRequest": h.base()}, &ir)
		assert.Equal(t, now+300, ir.SystemTime)
		h.post("webwxinit", nil, map[string]any{"BaseRequest": h.base()}, &ir)
		assert.Equal(t, now, ir.SystemTime, "one answer only")
	})
}

func TestFaultText(t *testing.T) {
	for _, f := range Faults() {
		b, err := f.MarshalText()
		require.NoError(t, err)
		var g Fault
		require.NoError(t, g.UnmarshalText(b))
		assert.Equal(t, f, g)
		assert.Equal(t, f.String(), string(b))
	}
	assert.Len(t, Faults(), 13)
	var g Fault
	assert.Error(t, g.UnmarshalText([]byte("Nope")))
	_, err := Fault(0).MarshalText()
	assert.Error(t, err)
}

// TestFaultsLogged: WithLogf reports every fault served, with its
// parameters.
func TestFaultsLogged(t *testing.T) {
	var log logSink
	h := loggedIn(t, WithLogf(log.logf))
	h.s.InjectRetcode("webwxsync", -1, 1)
	h.sync()
	assert.Contains(t, log.String(), "wechattest: fault Code -1 on POST https://wx2.qq.com/cgi-bin/mmwebwx-bin/webwxsync")
}
