package wechat_test

import (
	"log/slog"
	"net/http"
	"regexp"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

// TestLoginWaitsForConfirmation: after the scan, the phone may keep its "Log in" button
// disabled for a while and the server may answer 201 again at once. The client keeps the QR
// code and spaces its polls (one a second) instead of spinning. Runs on synctest's fake clock.
func TestLoginWaitsForConfirmation(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		tr := httpmock.NewMockTransport()
		tr.RegisterRegexpResponder("GET", regexp.MustCompile(`^https://login\.wx\.qq\.com/jslogin`),
			httpmock.NewStringResponder(200, `window.QRLogin.code = 200; window.QRLogin.uuid = "Xk3fQ9mZaA==";`))
		start := time.Now()
		polls, scans := 0, 0
		tr.RegisterRegexpResponder("GET", regexp.MustCompile(`^https://login\.wx\.qq\.com/cgi-bin/mmwebwx-bin/login`),
			func(*http.Request) (*http.Response, error) {
				polls++
				if time.Since(start) < 10*time.Second {
					return httpmock.NewStringResponse(200, `window.code=201;window.userAvatar = '';`), nil
				}
				return httpmock.NewStringResponse(200, `window.code=200;`+"\n"+
					`window.redirect_uri="https://wx.qq.com/cgi-bin/mmwebwx-bin/webwxnewloginpage?ticket=T@qrticket_0&uuid=Xk3fQ9mZaA==&lang=zh_CN&scan=1";`), nil
			})
		tr.RegisterRegexpResponder("GET", regexp.MustCompile(`^https://wx\.qq\.com/cgi-bin/mmwebwx-bin/webwxnewloginpage`),
			httpmock.NewStringResponder(200, `<error><ret>0</ret><message></message><skey>@crypt_0a1b2c3d_00112233</skey><wxsid>Ab12Cd34Ef56Gh78</wxsid><wxuin>2212345678</wxuin><pass_ticket>AbCd%2BEf%2FGh%3D</pass_ticket><isgrayscale>1</isgrayscale></error>`))
		// Login readies the session: webwxinit, then webwxstatusnotify.
		tr.RegisterRegexpResponder("POST", regexp.MustCompile(`^https://wx\.qq\.com/cgi-bin/mmwebwx-bin/webwxinit`),
			httpmock.NewStringResponder(200, `{"BaseResponse":{"Ret":0,"ErrMsg":""},"User":{"UserName":"@self","NickName":"me"},"SyncKey":{"Count":1,"List":[{"Key":1,"Val":1}]},"SKey":"@crypt_0a1b2c3d_00112234"}`))
		tr.RegisterRegexpResponder("POST", regexp.MustCompile(`^https://wx\.qq\.com/cgi-bin/mmwebwx-bin/webwxstatusnotify`),
			httpmock.NewStringResponder(200, `{"BaseResponse":{"Ret":0,"ErrMsg":""},"MsgID":"1"}`))
		qrs := 0
		c := wechat.New(
			wechat.WithHTTPClient(&http.Client{Transport: tr}),
			wechat.WithQRHandler(func(wechat.QRCode) { qrs++ }),
			wechat.WithScanHandler(func([]byte) { scans++ }),
		)
		require.NoError(t, c.Login(t.Context()))
		assert.Equal(t, 1, qrs, "the QR code is kept while the user confirms")
		assert.Equal(t, 1, scans, "the scan is reported once")
		assert.GreaterOrEqual(t, polls, 9)
		assert.LessOrEqual(t, polls, 12, "about one poll a second, not a busy loop")
	})
}

// TestSyncSurvivesNetworkErrors: a main host that stops answering makes webwxsync fail; the
// loop backs off and retries, and the message arrives once the host is back.
func TestSyncSurvivesNetworkErrors(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var logs syncBuffer
		b := setup(t, withClient(wechat.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))))
		srv := b.srv
		synctest.Wait()

		srv.SetUnreachable("wx2.qq.com", true)
		srv.Deliver(wechattest.Text("friend", "delayed"))
		time.Sleep(10 * time.Second) // fake time: several failed retries
		srv.SetUnreachable("wx2.qq.com", false)

		var m *wechat.Message
		select {
		case m = <-b.msgs:
		case <-time.After(2 * time.Minute): // fake time; the backoff is capped at 30 s
			t.Fatal("the message never arrived")
		}
		assert.Equal(t, "delayed", m.Content)
		assert.Contains(t, logs.String(), "sync failed; retrying")
		b.assertRunning(t) // Run did not end on a network error
	})
}
