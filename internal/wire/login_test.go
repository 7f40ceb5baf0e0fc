package wire

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSyncCheck(t *testing.T) {
	tests := []struct {
		file    string
		want    SyncCheck
		wantErr bool
	}{
		{file: "new_message.txt", want: SyncCheck{Selector: 2}},
		{file: "idle.txt", want: SyncCheck{}},
		{file: "logged_out.txt", want: SyncCheck{Retcode: 1101}},
		{file: "no_selector.txt", want: SyncCheck{Retcode: 1101}},
		{file: "spaces.txt", want: SyncCheck{Selector: 6}},
		{file: "crlf_semicolon.txt", want: SyncCheck{Selector: 4}},
		{file: "html_error_page.txt", wantErr: true},
		{file: "empty.txt", wantErr: true},
		{file: "truncated.txt", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseSyncCheck(rootFixture(t, "synccheck", tt.file))
			if tt.wantErr {
				assert.ErrorIs(t, err, ErrSyntax)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	_, err := ParseSyncCheck([]byte(`window.synccheck={selector:"2"}`))
	assert.ErrorIs(t, err, ErrSyntax, "no retcode")
}

func TestParseJSLogin(t *testing.T) {
	tests := []struct {
		file    string
		want    JSLogin
		wantErr bool
	}{
		{file: "ok.js", want: JSLogin{Code: 200, UUID: "Xk3fQ9mZaA=="}},
		{file: "code_400.js", want: JSLogin{Code: 400}},
		{file: "code_0.js", wantErr: true},
		{file: "uuid_missing.js", wantErr: true},
		{file: "truncated.js", wantErr: true},
		{file: "empty.js", wantErr: true},
		{file: "html_error_page.html", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseJSLogin(rootFixture(t, "jslogin", tt.file))
			if tt.wantErr {
				assert.ErrorIs(t, err, ErrSyntax)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want.Code, got.Code)
			if tt.want.Code == 200 {
				assert.Equal(t, tt.want.UUID, got.UUID)
			}
		})
	}
}

func TestParseLoginPoll(t *testing.T) {
	const redirect = "https://wx2.qq.com/cgi-bin/mmwebwx-bin/webwxnewloginpage?ticket=A6NZfake@qrticket_0&uuid=4dcaWx3uBw==&lang=zh_CN&scan=1463755895"
	tests := []struct {
		file       string
		wantCode   int
		wantURI    string
		wantAvatar bool
		wantErr    bool
	}{
		{file: "408.js", wantCode: 408},
		{file: "201_avatar.js", wantCode: 201, wantAvatar: true},
		{file: "201_no_avatar.js", wantCode: 201},
		{file: "200.js", wantCode: 200, wantURI: redirect},
		{file: "200_no_newline.js", wantCode: 200, wantURI: redirect},
		{file: "202.js", wantCode: 202},
		{file: "200_http_redirect.js", wantErr: true},
		{file: "200_no_redirect.js", wantErr: true},
		{file: "garbage.js", wantErr: true},
		{file: "html.html", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseLoginPoll(rootFixture(t, "login", tt.file))
			if tt.wantErr {
				assert.ErrorIs(t, err, ErrSyntax)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantCode, got.Code)
			assert.Equal(t, tt.wantURI, got.RedirectURI)
			assert.Equal(t, tt.wantAvatar, bytes.HasPrefix(got.Avatar, []byte{0xFF, 0xD8, 0xFF}))
		})
	}
}

func TestParseLoginPage(t *testing.T) {
	const (
		skey = "@crypt_0a1b2c3d_00112233445566778899aabbccddeeff"
		sid  = "Ab12Cd34Ef56Gh78"
		pt   = "AbCdEfGh1234%2BIjKlMn%2FOpQrStUv%3D"
	)
	tests := []struct {
		file    string
		want    LoginPage
		wantErr error
	}{
		{file: "ok.xml", want: LoginPage{
			SKey: "@crypt_5f3c9a1e_7d2b4e6f8a0c1e3f5a7b9c0d2e4f6a8b", WxSid: "Qz9Yx8Wv7Ut6+Sr5", WxUin: 987654321,
			PassTicket: "Wq7Er8Ty9Ui0%2BOpAsDf%2FGhJkLz%3D",
		}},
		{file: "ret_1203.xml", want: LoginPage{Ret: 1203}},
		{file: "html_refused.html", wantErr: ErrHTMLPage},
		{file: "html_refused_gbk.html", wantErr: ErrHTMLPage},
		{file: "empty.xml", wantErr: ErrEmptyPage},
		{file: "truncated.xml", wantErr: ErrSyntax},
		// Lenient: bytes that are not UTF-8 and a control character are replaced, not fatal.
		{file: "invalid_utf8.xml", want: LoginPage{Message: "OK\uFFFD\uFFFD\uFFFD", SKey: skey, WxSid: sid, WxUin: 2212345678, PassTicket: pt}},
		// A refusal in GBK still tells its ret.
		{file: "ret_1203_gbk.xml", want: LoginPage{Ret: 1203}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := rootFixture(t, "webwxnewloginpage", tt.file)
			got, err := ParseLoginPage(body)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			if tt.want.Ret != 0 {
				assert.Equal(t, tt.want.Ret, got.Ret)
				assert.NotEmpty(t, got.Message)
				return
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseLoginPageBigUin(t *testing.T) {
	got, err := ParseLoginPage(rootFixture(t, "webwxnewloginpage", "uin_big.xml"))
	require.NoError(t, err)
	assert.Equal(t, int64(2212345678), got.WxUin, "above 2^31 (PROTOCOL 14.5)")
}

func TestParsePushLogin(t *testing.T) {
	got, err := DecodePushLogin([]byte(`{"ret":"0","msg":"all ok","uuid":"AbCdEf12Gh=="}`))
	require.NoError(t, err)
	assert.Equal(t, PushLogin{Msg: "all ok", UUID: "AbCdEf12Gh=="}, *got)
	got, err = DecodePushLogin([]byte(`{"ret":1,"msg":"no"}`))
	require.NoError(t, err)
	assert.Equal(t, 1, got.Ret)
	for _, body := range []string{``, `{"msg":"x"}`, `<html>`, `{"ret":{}}`} {
		_, err := DecodePushLogin([]byte(body))
		assert.ErrorIs(t, err, ErrSyntax, body)
	}
}
