package wechat

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat/internal/wire"
)

// parserFixture returns the contents of testdata/<endpoint>/<name>.
func parserFixture(t testing.TB, endpoint, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", endpoint, name))
	require.NoError(t, err)
	return b
}

// parserFixtureNames returns the names of the files under testdata/<endpoint>.
func parserFixtureNames(t testing.TB, endpoint string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join("testdata", endpoint))
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	require.NotEmpty(t, names, "no fixtures for %s", endpoint)
	return names
}

// seedParserFuzz adds every fixture of testdata/<endpoint> to the corpus of f.
func seedParserFuzz(f *testing.F, endpoint string) {
	f.Helper()
	for _, name := range parserFixtureNames(f, endpoint) {
		f.Add(parserFixture(f, endpoint, name))
	}
}

func TestDecodeResponseSend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file     string
		wantID   string
		wantLoc  string
		wantRet  int
		wantErrs []error // sentinels the error must match
		notErrs  []error // sentinels it must not match
	}{
		{file: "ok_compact.json", wantID: "6812345678901234567", wantLoc: "17000000000001234"},
		{
			file: "ret_1205.json", wantRet: 1205,
			wantErrs: []error{ErrRateLimited}, notErrs: []error{ErrLoggedOut, ErrBadResponse},
		},
		{
			file: "ret_1204.json", wantRet: 1204,
			notErrs: []error{ErrRateLimited, ErrLoggedOut, ErrBadResponse, ErrLoginForbidden},
		},
		{
			file: "ret_1101.json", wantRet: 1101,
			wantErrs: []error{ErrLoggedOut}, notErrs: []error{ErrRateLimited, ErrBadResponse},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			resp, err := decodeJSON(opSendMsg, parserFixture(t, "webwxsendmsg", tt.file), wire.DecodeSend)
			if tt.wantRet == 0 {
				require.NoError(t, err)
				assert.Equal(t, tt.wantID, resp.MsgID)
				assert.Equal(t, tt.wantLoc, resp.LocalID)
				return
			}
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, &Error{Op: opSendMsg, Ret: tt.wantRet}, e)
			for _, target := range tt.wantErrs {
				assert.ErrorIs(t, err, target)
			}
			for _, target := range tt.notErrs {
				assert.NotErrorIs(t, err, target)
			}
			assert.Empty(t, resp.MsgID, "error answers carry MsgID \"\"")
		})
	}
}

func TestSendFixturesHaveTheServerLayouts(t *testing.T) {
	t.Parallel()
	// PROTOCOL 8.1 (compact capture) and 14.2 (the 79-byte multi-line 1205 body).
	assert.Equal(t, `{"BaseResponse": {"Ret": 0,"ErrMsg": ""},"MsgID": "6812345678901234567","LocalID": "17000000000001234"}`,
		string(parserFixture(t, "webwxsendmsg", "ok_compact.json")))
	body := parserFixture(t, "webwxsendmsg", "ret_1205.json")
	assert.Equal(t, "{\n\"BaseResponse\": {\n\"Ret\": 1205,\n\"ErrMsg\": \"\"\n}\n,\n\"MsgID\": \"\",\n\"LocalID\": \"\"\n}\n", string(body))
	assert.Len(t, body, 79)
}

func TestDecodeResponseBadBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
	}{
		{"empty", ""},
		{"blank", " \r\n\t"},
		{"html", "<html><body>502 Bad Gateway</body></html>"},
		{"not an object", `[{"BaseResponse":{"Ret":0}}]`},
		{"null", "null"},
		{"javascript", `window.synccheck={retcode:"0",selector:"2"}`},
		{"no BaseResponse", `{"MsgID": "1"}`},
		{"null BaseResponse", `{"BaseResponse": null}`},
		{"truncated", `{"BaseResponse": {"Ret": 0,"ErrMsg": ""},"MsgID": "68123`},
		{"trailing garbage", `{"BaseResponse": {"Ret": 0,"ErrMsg": ""}}}`},
		{"wrong type", `{"BaseResponse": {"Ret": 0,"ErrMsg": ""},"MsgID": {"x": 1}}`},
		{"Ret not a number", `{"BaseResponse": {"Ret": "zero","ErrMsg": ""}}`},
		{"Ret a float", `{"BaseResponse": {"Ret": 1.5,"ErrMsg": ""}}`},
		{"no Ret", `{"BaseResponse": {"ErrMsg": ""},"MsgID": "1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseSendResponse(opSendMsg, []byte(tt.body))
			require.ErrorIs(t, err, ErrBadResponse)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, opSendMsg, e.Op)
			assert.Zero(t, e.Ret)
			assert.NotErrorIs(t, err, ErrLoggedOut)
			assert.True(t, strings.HasPrefix(err.Error(), "wechat: webwxsendmsg: "), err.Error())
		})
	}
}

func TestDecodeResponseLenientRet(t *testing.T) {
	t.Parallel()
	// Ret may come as a numeric string (PROTOCOL 14.4).
	_, err := decodeJSON(opSendMsg, []byte(`{"BaseResponse":{"Ret":"1205","ErrMsg":"操作太频繁"},"MsgID":"","LocalID":""}`), wire.DecodeSend)
	require.ErrorIs(t, err, ErrRateLimited)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "操作太频繁", e.Msg)

	resp, err := decodeJSON(opSendMsg, []byte(` {"BaseResponse":{"Ret":"0"},"MsgID":6812345678901234567} `), wire.DecodeSend)
	require.NoError(t, err)
	assert.Equal(t, "6812345678901234567", resp.MsgID)
}

func TestJSONErrorDropsTheBody(t *testing.T) {
	t.Parallel()
	const secret = "2212345678"
	tests := []struct {
		name string
		body string
		out  any
	}{
		{"syntax", `{"Skey": "@crypt_` + secret + `" x}`, &struct{ Skey string }{}},
		{"truncated", `{"Skey": "@crypt_` + secret, &struct{ Skey string }{}},
		{"string into int", `{"Uin": "` + secret + `"}`, &struct{ Uin int64 }{}},
		{"number into string", `{"Sid": ` + secret + `}`, &struct{ Sid string }{}},
		{"overflowing number", `{"Uin": ` + secret + `}`, &struct{ Uin int32 }{}},
		{"object into int", `{"Uin": {"v": "` + secret + `"}}`, &struct{ Uin int64 }{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := json.Unmarshal([]byte(tt.body), tt.out)
			require.Error(t, err)
			got := jsonError(err)
			require.Error(t, got)
			assert.NotContains(t, got.Error(), secret)
			assert.NotContains(t, got.Error(), "@crypt_")
		})
	}
	assert.EqualError(t, jsonError(io.ErrUnexpectedEOF), "truncated JSON")
	assert.EqualError(t, jsonError(errors.New("x "+secret)), "invalid JSON")
	assert.EqualError(t, jsonError(&json.SyntaxError{Offset: 42}), "invalid JSON at offset 42")
}

func TestDecodeResponseInit(t *testing.T) {
	t.Parallel()
	const self = "@0123456789abcdef0123456789abcdef"
	resp, err := decodeJSON(opInit, parserFixture(t, "webwxinit", "ok.json"), wire.DecodeInit)
	require.NoError(t, err)

	me := newContact(&resp.User, resp.User.UserName)
	assert.Equal(t, self, me.UserName)
	assert.Equal(t, int64(2212345678), me.Uin, "Uin above 2^31")
	assert.Equal(t, "Me😀", me.NickName)
	assert.Equal(t, KindSelf, me.Kind)

	assert.Equal(t, "@crypt_5f3c9a1e_99887766554433221100ffeeddccbbaa", resp.SKey)
	assert.True(t, resp.SyncKey.Valid())
	assert.Equal(t, "1_636444437|2_636445049|3_636444675|1000_1463740202", resp.SyncKey.String())

	require.Len(t, resp.Contacts, 3)
	var kinds []ContactKind
	for i := range resp.Contacts {
		c := newContact(&resp.Contacts[i], self)
		kinds = append(kinds, c.Kind)
		if c.Kind == KindGroup {
			assert.Equal(t, "Family & Friends👪", c.NickName)
			assert.Zero(t, c.MemberCount, "groups come without members from webwxinit")
			assert.Empty(t, c.Members)
		}
	}
	assert.Equal(t, []ContactKind{KindSpecial, KindGroup, KindOfficial}, kinds)

	// ChatSet ends with a comma and repeats entries (PROTOCOL 14.25).
	assert.True(t, strings.HasSuffix(resp.ChatSet, ","))
}

func TestDecodeResponseInitZeroed(t *testing.T) {
	t.Parallel()
	resp, err := decodeJSON(opInit, parserFixture(t, "webwxinit", "ret_1100.json"), wire.DecodeInit)
	require.ErrorIs(t, err, ErrLoggedOut)
	assert.NotErrorIs(t, err, ErrBadResponse)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 1100, e.Ret)
	// A zeroed body must never replace a stored key (PROTOCOL 14.6).
	assert.False(t, resp.SyncKey.Valid())
}

func TestDecodeResponseUpload(t *testing.T) {
	t.Parallel()
	ok, err := parseUploadResponse(parserFixture(t, "webwxuploadmedia", "ok.json"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(ok, "@crypt_cd2308ca_e13f"), ok)

	// Ret 0 without a MediaId decodes; the upload itself treats it as a failure.
	none, err := parseUploadResponse(parserFixture(t, "webwxuploadmedia", "no_media_id.json"))
	require.NoError(t, err)
	assert.Empty(t, none)
}

func TestErrorString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Op: opSync}, "wechat: webwxsync"},
		{&Error{Op: opSync, Ret: 1101}, "wechat: webwxsync: ret 1101"},
		{&Error{Op: opSendMsg, Ret: 1205, Msg: "操作太频繁"}, `wechat: webwxsendmsg: ret 1205 "操作太频繁"`},
		{badResponse(opSyncCheck, errors.New("no retcode")), "wechat: synccheck: bad response: no retcode"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.err.Error())
	}
}

// madeUpSecrets are the credentials planted in the fixtures.
var madeUpSecrets = []string{
	"@crypt_5f3c9a1e_7d2b4e6f8a0c1e3f5a7b9c0d2e4f6a8b", // skey
	"@crypt_5f3c9a1e_99887766554433221100ffeeddccbbaa", // SKey of webwxinit and webwxsync
	"Qz9Yx8Wv7Ut6+Sr5",                  // wxsid
	"Xy12AbCdEfGh3+4/",                  // wxsid
	"Wq7Er8Ty9Ui0%2BOpAsDf%2FGhJkLz%3D", // pass_ticket
	"Wq7Er8Ty9Ui0+OpAsDf/GhJkLz=",       // pass_ticket, decoded
	"A6NZfake@qrticket_0",               // login ticket
	"2212345678",                        // uin
	"987654321",                         // uin
	"v2_0123abcd@stranger",              // friend request ticket
}

// assertNoSecret fails if msg holds any 9-byte window of a made-up secret past the generic
// "@crypt_" prefix, or a piece of the fixtures' HTML error page.
func assertNoSecret(t *testing.T, msg string) {
	t.Helper()
	for _, s := range madeUpSecrets {
		s = strings.TrimPrefix(s, "@crypt_")
		for i := 0; i+9 <= len(s); i++ {
			if strings.Contains(msg, s[i:i+9]) {
				t.Errorf("error %q contains part of the secret %q", msg, s)
				break
			}
		}
	}
	for _, page := range []string{"Bad Gateway", "nginx", "<html", "<error>", "BaseResponse"} {
		assert.NotContains(t, msg, page)
	}
}

// parsersByEndpoint runs the parser of each fixture directory.
var parsersByEndpoint = map[string]func([]byte) error{
	"jslogin":   func(b []byte) error { _, err := parseJSLogin(b); return err },
	"login":     func(b []byte) error { _, err := parseLoginPoll(b); return err },
	"synccheck": func(b []byte) error { _, err := parseSyncCheck(b); return err },
	"webwxnewloginpage": func(b []byte) error {
		_, err := parseNewLoginPage(b)
		return err
	},
	"webwxsync":    func(b []byte) error { _, err := parseSync(b); return err },
	"webwxsendmsg": func(b []byte) error { _, err := parseSendResponse(opSendMsg, b); return err },
	"webwxinit":    func(b []byte) error { _, err := decodeJSON(opInit, b, wire.DecodeInit); return err },
	"webwxgetcontact": func(b []byte) error {
		_, err := decodeJSON(opGetContact, b, wire.DecodeContactPage)
		return err
	},
	"webwxbatchgetcontact": func(b []byte) error {
		_, err := decodeJSON(opBatchContact, b, wire.DecodeContactPage)
		return err
	},
	"webwxuploadmedia": func(b []byte) error { _, err := parseUploadResponse(b); return err },
}

// TestErrorsHideSecrets feeds every fixture, whole and cut at many lengths, to its parser
// and checks that no error message repeats a credential or a piece of the body (STYLE,
// Errors).
func TestErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	for endpoint, parse := range parsersByEndpoint {
		for _, name := range parserFixtureNames(t, endpoint) {
			body := parserFixture(t, endpoint, name)
			step := max(1, len(body)/400)
			errs := 0
			for n := len(body); n >= 0; n -= step {
				if err := parse(body[:n]); err != nil {
					errs++
					assertNoSecret(t, err.Error())
				}
			}
			require.NotZero(t, errs, "%s/%s: no error at any length", endpoint, name)
		}
	}
}

// TestDecodeResponseRetWinsOverBadFields: a logged-out answer whose other fields have the
// wrong types still reports the server's code, so the loop stops instead of retrying.
func TestDecodeResponseRetWinsOverBadFields(t *testing.T) {
	t.Parallel()
	body := []byte(`{"BaseResponse":{"Ret":1101,"ErrMsg":""},"AddMsgList":{"not":"a list"},"SyncKey":{"Count":0,"List":[]}}`)
	_, err := parseSync(body)
	require.ErrorIs(t, err, ErrLoggedOut)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 1101, e.Ret)

	// With Ret 0, a list that is not a list reads as an empty one (an odd field reads as
	// zero), and a missing SyncKey is not one to keep.
	body = []byte(`{"BaseResponse":{"Ret":0,"ErrMsg":""},"AddMsgList":{"not":"a list"}}`)
	r, err := parseSync(body)
	require.NoError(t, err)
	assert.Empty(t, r.AddMsgList)
	assert.False(t, r.SyncKey.valid())
}

// countingBody is a response body of n bytes that counts what is read of it.
type countingBody struct{ n, read int64 }

func (b *countingBody) Read(p []byte) (int, error) {
	if b.read >= b.n {
		return 0, io.EOF
	}
	k := min(int64(len(p)), b.n-b.read)
	clear(p[:k])
	b.read += k
	return int(k), nil
}

func (b *countingBody) Close() error { return nil }

type bodyTransport struct {
	body *countingBody
	size int64 // the Content-Length announced, or -1
}

func (t bodyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Body: t.body, ContentLength: t.size, Header: http.Header{}, Request: req}, nil
}

// TestBodyLimit: a body over the limit is ErrBadResponse; one announced over it is refused
// before anything is read; one of unknown length is not read past the limit.
func TestBodyLimit(t *testing.T) {
	announced := &countingBody{n: maxJSONBody + 1}
	c := New(WithHTTPClient(&http.Client{Transport: bodyTransport{announced, maxJSONBody + 1}}))
	_, err := c.getRaw(t.Context(), opGetContact, "https://wx.qq.com/cgi-bin/mmwebwx-bin/webwxgetcontact")
	require.ErrorIs(t, err, ErrBadResponse)
	assert.Zero(t, announced.read, "refused before reading")

	unknown := &countingBody{n: 10 * maxScriptBody}
	c = New(WithHTTPClient(&http.Client{Transport: bodyTransport{unknown, -1}}))
	_, err = c.getScript(t.Context(), opSyncCheck, "https://webpush.wx.qq.com/cgi-bin/mmwebwx-bin/synccheck")
	require.ErrorIs(t, err, ErrBadResponse)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, opSyncCheck, e.Op)
	assert.LessOrEqual(t, unknown.read, int64(maxScriptBody+1), "not read past the limit")

	ok := &countingBody{n: maxScriptBody}
	c = New(WithHTTPClient(&http.Client{Transport: bodyTransport{ok, -1}}))
	body, err := c.getScript(t.Context(), opSyncCheck, "https://webpush.wx.qq.com/cgi-bin/mmwebwx-bin/synccheck")
	require.NoError(t, err)
	assert.Len(t, body, maxScriptBody, "a body of exactly the limit is read whole")
}
