package wechattest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoginPollStates(t *testing.T) {
	h := newHarness(t, WithLongPoll(20*time.Millisecond))

	code, _ := h.poll("unknownuuid==")
	assert.Equal(t, 400, code, "unknown uuid")

	uuid := h.jslogin()
	h.s.Scan()
	code, body := h.poll(uuid)
	assert.Equal(t, 201, code)
	assert.True(t, strings.HasPrefix(body, "window.code=201;window.userAvatar = 'data:img/jpg;base64,/9j/"))
	code, _ = h.poll(uuid)
	assert.Equal(t, 408, code, "scanned, not confirmed: hold then 408")
	h.s.Cancel()
	code, body = h.poll(uuid)
	assert.Equal(t, 202, code)
	assert.Equal(t, "window.code=202;", body)

	uuid2 := h.jslogin()
	assert.NotEqual(t, uuid, uuid2)
	h.s.ExpireQR()
	code, body = h.poll(uuid2)
	assert.Equal(t, 400, code)
	assert.Equal(t, "window.code=400;", body)
	h.s.Cancel() // nothing waiting: no effect
	h.s.ExpireQR()

	uuid3 := h.jslogin()
	h.s.ConfirmLogin() // scans first: 201 once, then 200
	code, _ = h.poll(uuid3)
	assert.Equal(t, 201, code)
	code, _ = h.poll(uuid3)
	assert.Equal(t, 200, code)
	got, err := h.s.WaitQR(t.Context(), 3)
	require.NoError(t, err)
	assert.Equal(t, uuid3, got)
}

// TestPhoneWakesHeldPoll checks that phone actions answer a held poll at
// once, without waiting for the long-poll timeout.
func TestPhoneWakesHeldPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, WithLongPoll(25*time.Second))
		uuid := h.jslogin()
		start := time.Now()
		codes := make(chan int)
		go func() {
			for range 2 {
				code, _ := h.poll(uuid)
				codes <- code
			}
		}()
		synctest.Wait()
		h.s.Scan()
		assert.Equal(t, 201, <-codes)
		synctest.Wait()
		h.s.ConfirmLogin()
		assert.Equal(t, 200, <-codes)
		assert.Zero(t, time.Since(start))

		code, _ := h.poll(uuid) // a poll after 200 keeps answering 200
		assert.Equal(t, 200, code)
		uuid2 := h.jslogin()
		code, _ = h.poll(uuid2)
		assert.Equal(t, 408, code)
		assert.Equal(t, 25*time.Second, time.Since(start), "the long poll held for WithLongPoll")
	})
}

func TestWebLoginBanned(t *testing.T) {
	h := newHarness(t, WithWebLoginBanned())
	resp, x, body := h.newLoginPage(h.redirect(), nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "<error><ret>1203</ret><message>为了你的帐号安全，此微信号不能登录网页微信。你可以使用Windows微信或Mac微信在电脑端登录。</message></error>", string(body))
	assert.Equal(t, 1203, x.Ret)
	assert.Empty(t, resp.Header.Values("Set-Cookie"))

	// A wrong extspam is refused too.
	_, x, _ = h.newLoginPage(h.redirect(), http.Header{"Client-Version": {"2.0.0"}, "Extspam": {"Gp8ICJkIEpkICggwMDAwMDAwMRAGGoAI"}})
	assert.Equal(t, 1203, x.Ret)

	// UOS desktop headers pass.
	resp, x, _ = h.newLoginPage(h.redirect()+"&mod=desktop", http.Header{"Client-Version": {"2.0.0"}, "Extspam": {uosExtSpam}})
	require.Equal(t, 0, x.Ret)
	assert.NotEmpty(t, resp.Header.Values("Set-Cookie"))
	assert.Len(t, uosExtSpam, 880)
}

func TestRefuseLogin(t *testing.T) {
	h := newHarness(t)
	h.s.RefuseLogin(1203, "登录失败。")
	_, _, body := h.newLoginPage(h.redirect(), nil)
	assert.Equal(t, "<error><ret>1203</ret><message>登录失败。</message></error>", string(body))
	_, x, _ := h.newLoginPage(h.redirect(), nil)
	assert.Equal(t, 0, x.Ret, "the refusal applies once")
}

func TestReloginRenamesAndEndsOldSession(t *testing.T) {
	h := newHarness(t, WithLongPoll(10*time.Millisecond))
	assert.Empty(t, h.s.UserName("friend"), "no UserNames before login")
	h.login()
	h.initSession()
	first := map[string]string{}
	for _, id := range []string{"self", "friend", "gh_news", "carol", "group", "filehelper", "weixin"} {
		first[id] = h.s.UserName(id)
	}
	assert.Regexp(t, `^@[0-9a-f]{64}$`, first["self"])
	assert.Regexp(t, `^@[0-9a-f]{64}$`, first["friend"])
	assert.Regexp(t, `^@[0-9a-f]{32}$`, first["gh_news"])
	assert.Regexp(t, `^@[0-9a-f]{32}$`, first["carol"])
	assert.Regexp(t, `^@@[0-9a-f]{64}$`, first["group"])
	assert.Equal(t, "filehelper", first["filehelper"])
	assert.Equal(t, "weixin", first["weixin"])

	old := *h
	h2 := &harness{t: t, s: h.s, hc: h.s.Client()}
	h2.login()
	h2.initSession()
	for id, un := range first {
		if id == "filehelper" || id == "weixin" {
			assert.Equal(t, un, h.s.UserName(id))
		} else {
			assert.NotEqual(t, un, h.s.UserName(id), id)
		}
	}
	assert.NotEqual(t, old.sid, h2.sid)
	assert.NotEqual(t, old.passTicket, h2.passTicket)
	rc, _ := old.syncCheck(old.pushHost())
	assert.Equal(t, "1101", rc, "a login elsewhere ends the old session with 1101")
	var ir initResp
	old.post("webwxinit", nil, map[string]any{"BaseRequest": old.base()}, &ir)
	assert.Equal(t, 1101, ir.BaseResponse.Ret)
	rc, _ = h2.syncCheck(h2.pushHost())
	assert.Equal(t, "0", rc, "the new session lives")
}

func TestLogout(t *testing.T) {
	h := newHarness(t)
	h.login()
	h.initSession()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost,
		"https://wx2.qq.com/cgi-bin/mmwebwx-bin/webwxlogout?redirect=1&type=1&skey="+url.QueryEscape(h.skey),
		strings.NewReader(url.Values{"sid": {h.sid}, "uin": {"2212345678"}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body := h.do(req)
	assert.Equal(t, http.StatusMovedPermanently, resp.StatusCode, "the redirect is not followed")
	assert.Contains(t, string(body), "<html>")
	rc, _ := h.syncCheck(h.pushHost())
	assert.Equal(t, "1101", rc)
	sr := h.sync()
	assert.Equal(t, 1101, sr.BaseResponse.Ret)
}

func TestMainHosts(t *testing.T) {
	for _, tt := range []struct{ main, push, file, domain string }{
		{"wx.qq.com", "webpush.wx.qq.com", "file.wx.qq.com", ".qq.com"},
		{"wx2.qq.com", "webpush.wx2.qq.com", "file.wx2.qq.com", ".qq.com"},
		{"wx8.qq.com", "webpush.wx8.qq.com", "file.wx8.qq.com", ".qq.com"},
		{"web.wechat.com", "webpush.web.wechat.com", "file.web.wechat.com", ".wechat.com"},
		{"web2.wechat.com", "webpush.web2.wechat.com", "file.web2.wechat.com", ".wechat.com"},
	} {
		t.Run(tt.main, func(t *testing.T) {
			h := newHarness(t, WithMainHost(tt.main), WithLongPoll(10*time.Millisecond))
			redirect := h.redirect()
			assert.True(t, strings.HasPrefix(redirect, "https://"+tt.main+"/"), redirect)
			h.main = tt.main
			resp, x, _ := h.newLoginPage(redirect, nil)
			require.Equal(t, 0, x.Ret)
			assert.Contains(t, strings.Join(resp.Header.Values("Set-Cookie"), "\n"), "; Domain="+tt.domain+";")
			h.uin, h.sid, h.skey, h.passTicket = x.Wxuin, x.Wxsid, x.Skey, x.PassTicket
			h.initSession()
			_, file, push := derivedHosts(tt.main)
			assert.Equal(t, tt.push, push)
			assert.Equal(t, tt.file, file)
			rc, sel := h.syncCheck(push)
			assert.Equal(t, [2]string{"0", "2"}, [2]string{rc, sel})
			rc, _ = h.syncCheck("webpush2." + tt.main)
			assert.Equal(t, "0", rc, "the webpush2 fallback works")
			h.upload("a.txt", "text/plain", "doc", []byte("hello"), "filehelper")
		})
	}
}
