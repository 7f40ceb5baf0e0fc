package wechat

import (
	"bytes"
	"image/jpeg"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseJSLogin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file    string
		want    string
		wantRet int   // the *Error's Ret when the server answered a non-200 code
		wantErr error // a sentinel the error must match
	}{
		{file: "ok.js", want: "Xk3fQ9mZaA=="},
		{file: "code_400.js", wantRet: 400},
		{file: "code_0.js", wantErr: ErrBadResponse}, // 0 is no server code (PROTOCOL 4.3)
		{file: "uuid_missing.js", wantErr: ErrBadResponse},
		{file: "truncated.js", wantErr: ErrBadResponse},
		{file: "empty.js", wantErr: ErrBadResponse},
		{file: "html_error_page.html", wantErr: ErrBadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := parserFixture(t, "jslogin", tt.file)
			got, err := parseJSLogin(body)
			switch {
			case tt.wantRet != 0:
				var e *Error
				require.ErrorAs(t, err, &e)
				assert.Equal(t, opJSLogin, e.Op)
				assert.Equal(t, tt.wantRet, e.Ret)
				assert.NotErrorIs(t, err, ErrBadResponse)
				assert.Empty(t, got)
			case tt.wantErr != nil:
				require.ErrorIs(t, err, tt.wantErr)
				assert.Empty(t, got)
			default:
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
			}
		})
	}
}

func TestJSLoginFixtureIsTheCapturedBody(t *testing.T) {
	t.Parallel()
	// PROTOCOL 4.1: exactly one line, no trailing newline, 64 bytes.
	body := parserFixture(t, "jslogin", "ok.js")
	assert.Equal(t, `window.QRLogin.code = 200; window.QRLogin.uuid = "Xk3fQ9mZaA==";`, string(body))
	assert.Len(t, body, 64)
}

func TestParseLoginPoll(t *testing.T) {
	t.Parallel()
	const redirect = "https://wx2.qq.com/cgi-bin/mmwebwx-bin/webwxnewloginpage?ticket=A6NZfake@qrticket_0&uuid=4dcaWx3uBw==&lang=zh_CN&scan=1463755895"
	tests := []struct {
		file       string
		wantCode   int
		wantAvatar bool
		wantURI    string
		wantErr    error
	}{
		{file: "408.js", wantCode: 408},
		{file: "201_avatar.js", wantCode: 201, wantAvatar: true},
		{file: "201_no_avatar.js", wantCode: 201},
		{file: "200.js", wantCode: 200, wantURI: redirect},
		{file: "200_no_newline.js", wantCode: 200, wantURI: redirect},
		{file: "400.js", wantCode: 400},
		{file: "500.js", wantCode: 500},
		{file: "202.js", wantCode: 202},
		{file: "200_http_redirect.js", wantErr: ErrBadResponse},
		{file: "200_no_redirect.js", wantErr: ErrBadResponse},
		{file: "garbage.js", wantErr: ErrBadResponse},
		{file: "html.html", wantErr: ErrBadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := parseLoginPoll(parserFixture(t, "login", tt.file))
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				var e *Error
				require.ErrorAs(t, err, &e)
				assert.Equal(t, opLoginPoll, e.Op)
				assert.Equal(t, loginPoll{}, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantCode, got.code)
			assert.Equal(t, tt.wantURI, got.redirect)
			if !tt.wantAvatar {
				assert.Nil(t, got.avatar)
				return
			}
			// The avatar is the decoded JPEG of the 'data:img/jpg;base64,...' URL.
			require.True(t, bytes.HasPrefix(got.avatar, []byte{0xFF, 0xD8, 0xFF}), "JPEG SOI marker")
			assert.True(t, bytes.HasSuffix(got.avatar, []byte{0xFF, 0xD9}), "JPEG EOI marker")
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(got.avatar))
			require.NoError(t, err)
			assert.Equal(t, 2, cfg.Width)
			assert.Equal(t, 2, cfg.Height)
			img, err := jpeg.Decode(bytes.NewReader(got.avatar))
			require.NoError(t, err)
			assert.Equal(t, 2, img.Bounds().Dx())
		})
	}
}

func TestLoginPollFixturesAreTheCapturedBodies(t *testing.T) {
	t.Parallel()
	// PROTOCOL 4.3: `window.code=408;` is 16 bytes, no trailing newline.
	assert.Equal(t, "window.code=408;", string(parserFixture(t, "login", "408.js")))
	assert.Equal(t,
		"window.code=200;\nwindow.redirect_uri=\"https://wx2.qq.com/cgi-bin/mmwebwx-bin/webwxnewloginpage?ticket=A6NZfake@qrticket_0&uuid=4dcaWx3uBw==&lang=zh_CN&scan=1463755895\";",
		string(parserFixture(t, "login", "200.js")))
	assert.True(t, strings.HasPrefix(string(parserFixture(t, "login", "201_avatar.js")),
		"window.code=201;window.userAvatar = 'data:img/jpg;base64,/9j/"))
}

func TestParseLoginPollKeepsRedirectVerbatim(t *testing.T) {
	t.Parallel()
	// Extra parameters of older captures stay in the URI (PROTOCOL 4.3).
	const uri = "https://wx.qq.com/cgi-bin/mmwebwx-bin/webwxnewloginpage?ticket=AbC@qrticket_0&uuid=oYoxvQl3XA==&lang=zh_CN&scan=1&vcdataticket=x%2By&vccdtstr=z"
	got, err := parseLoginPoll([]byte(`window.code=200;` + "\n" + `window.redirect_uri="` + uri + `";`))
	require.NoError(t, err)
	assert.Equal(t, uri, got.redirect)
	u, err := url.Parse(got.redirect)
	require.NoError(t, err)
	assert.Equal(t, "wx.qq.com", u.Host)
}

func TestParseNewLoginPageGBKRefusal(t *testing.T) {
	// A refusal whose message is GBK, not UTF-8, is still the refusal it says, its message
	// made valid UTF-8.
	_, err := parseNewLoginPage(parserFixture(t, "webwxnewloginpage", "ret_1203_gbk.xml"))
	require.ErrorIs(t, err, ErrLoginForbidden)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 1203, e.Ret)
	assert.True(t, utf8.ValidString(e.Msg))
	assert.Contains(t, e.Msg, "\uFFFD")
}

func TestParseNewLoginPage(t *testing.T) {
	t.Parallel()
	const (
		skey = "@crypt_5f3c9a1e_7d2b4e6f8a0c1e3f5a7b9c0d2e4f6a8b"
		pass = "Wq7Er8Ty9Ui0%2BOpAsDf%2FGhJkLz%3D" // kept percent-encoded (PROTOCOL 3.4)
	)
	const msg1203 = "为了你的帐号安全，此微信号不能登录网页微信。你可以使用Windows微信或Mac微信在电脑端登录。Windows微信下载地址：https://pc.weixin.qq.com  Mac微信下载地址：https://mac.weixin.qq.com"
	tests := []struct {
		file    string
		want    loginInfo
		wantErr error
		wantRet int    // Ret of the *Error, when the server sent one
		wantMsg string // Msg of the *Error
	}{
		{
			file: "ok.xml",
			want: loginInfo{uin: 987654321, sid: "Qz9Yx8Wv7Ut6+Sr5", skey: skey, passTicket: pass},
		},
		{
			file: "ok_whitespace.xml",
			want: loginInfo{uin: 987654321, sid: "Qz9Yx8Wv7Ut6+Sr5", skey: skey, passTicket: pass, msg: "OK"},
		},
		{
			file: "uin_big.xml", // above 2^31 (PROTOCOL 3.1, 14.5)
			want: loginInfo{uin: 2212345678, sid: "Xy12AbCdEfGh3+4/", skey: skey, passTicket: pass},
		},
		{file: "ret_1203.xml", wantErr: ErrLoginForbidden, wantRet: 1203, wantMsg: msg1203},
		{file: "login_failed.xml", wantErr: ErrLoginForbidden, wantRet: 1203, wantMsg: "登录失败。"},
		{file: "html_refused.html", wantErr: ErrLoginForbidden},
		{file: "html_refused_gbk.html", wantErr: ErrLoginForbidden},
		{file: "missing_pass_ticket.xml", wantErr: ErrLoginForbidden},
		{file: "redirecturl.xml", wantErr: ErrLoginForbidden},
		{file: "empty.xml", wantErr: ErrLoginForbidden}, // the bare 301 (PROTOCOL 4.4)
		// A body cut off by the network is a bad response to retry, not a refusal.
		{file: "truncated.xml", wantErr: ErrBadResponse},
		// Bytes that are not UTF-8 (and a control character) in a text field are replaced,
		// not fatal: encoding/xml alone refuses them (PROTOCOL 4.4, peers' reports).
		{
			file: "invalid_utf8.xml",
			want: loginInfo{
				uin: 2212345678, sid: "Ab12Cd34Ef56Gh78", skey: "@crypt_0a1b2c3d_00112233445566778899aabbccddeeff",
				passTicket: "AbCdEfGh1234%2BIjKlMn%2FOpQrStUv%3D", msg: "OK\uFFFD\uFFFD\uFFFD",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := parseNewLoginPage(parserFixture(t, "webwxnewloginpage", tt.file))
			if tt.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
			for _, other := range []error{ErrBadResponse, ErrLoginForbidden} {
				if other != tt.wantErr {
					assert.NotErrorIs(t, err, other)
				}
			}
			assert.NotErrorIs(t, err, ErrLoggedOut)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, opNewLoginPage, e.Op)
			assert.Equal(t, tt.wantRet, e.Ret)
			assert.Equal(t, tt.wantMsg, e.Msg)
			assert.Equal(t, loginInfo{}, got)
		})
	}
}

func TestNewLoginPageFixtures(t *testing.T) {
	t.Parallel()
	ok := parserFixture(t, "webwxnewloginpage", "ok.xml")
	// The exact layout of PROTOCOL 4.4, with made-up values.
	layout := strings.NewReplacer(
		"@crypt_5f3c9a1e_7d2b4e6f8a0c1e3f5a7b9c0d2e4f6a8b", "SKEY",
		"Qz9Yx8Wv7Ut6+Sr5", "SID",
		"987654321", "UIN",
		"Wq7Er8Ty9Ui0%2BOpAsDf%2FGhJkLz%3D", "PT").Replace(string(ok))
	assert.Equal(t, "<error><ret>0</ret><message></message><skey>SKEY</skey><wxsid>SID</wxsid><wxuin>UIN</wxuin><pass_ticket>PT</pass_ticket><isgrayscale>1</isgrayscale></error>", layout)
	// The refused page may come in GBK: not valid UTF-8 (PROTOCOL 4.4, 14.10).
	assert.False(t, utf8.Valid(parserFixture(t, "webwxnewloginpage", "html_refused_gbk.html")))
}

func TestHostsFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		main              string
		login, file, push string
	}{
		{"wx2.qq.com", "login.wx2.qq.com", "file.wx2.qq.com", "webpush.wx2.qq.com"},
		{"wx8.qq.com", "login.wx8.qq.com", "file.wx8.qq.com", "webpush.wx8.qq.com"},
		{"wx.qq.com", "login.wx.qq.com", "file.wx.qq.com", "webpush.wx.qq.com"},
		{"web2.wechat.com", "login.web2.wechat.com", "file.web2.wechat.com", "webpush.web2.wechat.com"},
		{"web.wechat.com", "login.web.wechat.com", "file.web.wechat.com", "webpush.web.wechat.com"},
		{"example.com", "login.weixin.qq.com", "file.wx.qq.com", "webpush.weixin.qq.com"},
		// Row 3 and 5 are substring tests too.
		{"szwx.qq.com", "login.wx.qq.com", "file.wx.qq.com", "webpush.wx.qq.com"},
		{"www.wechat.com", "login.web.wechat.com", "file.web.wechat.com", "webpush.web.wechat.com"},
		{"", "login.weixin.qq.com", "file.wx.qq.com", "webpush.weixin.qq.com"},
	}
	for _, tt := range tests {
		t.Run(tt.main, func(t *testing.T) {
			h := hostsFor(tt.main)
			assert.Equal(t, tt.main, h.main)
			assert.Equal(t, tt.login, h.login, "login host")
			assert.Equal(t, tt.file, h.file, "file host")
			assert.Equal(t, tt.push, h.push, "push host")
			assert.NotContains(t, h.pushFallbacks, h.push)
		})
	}
}
