package wechattest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMultilineErrorBody(t *testing.T) {
	// The 79-byte 1205 body of PROTOCOL 14.2, byte for byte.
	want := "{\n\"BaseResponse\": {\n\"Ret\": 1205,\n\"ErrMsg\": \"\"\n}\n,\n\"MsgID\": \"\",\n\"LocalID\": \"\"\n}\n"
	got := multiline(zeroSend(1205))
	assert.Equal(t, want, string(got))
	assert.Len(t, got, 79)
}

func TestCompact(t *testing.T) {
	got := compact(obj{{"BaseResponse", baseResponse(0)}, {"MsgID", "6812345678901234567"}, {"LocalID", "17000000000001234"}})
	assert.Equal(t, `{"BaseResponse": {"Ret": 0,"ErrMsg": ""},"MsgID": "6812345678901234567","LocalID": "17000000000001234"}`, string(got))
}

func TestMultilineArrays(t *testing.T) {
	got := multiline(obj{
		{"SyncKey", keyObj([][2]int64{{1, 636444437}, {2, 636445049}})},
		{"Empty", arr{}},
		{"Ints", arr{1, 2}},
		{"Last", "x"},
	})
	want := "{\n" +
		"\"SyncKey\": {\n\"Count\": 2,\n\"List\": [{\n\"Key\": 1,\n\"Val\": 636444437\n}\n,{\n\"Key\": 2,\n\"Val\": 636445049\n}\n]\n}\n,\n" +
		"\"Empty\": [],\n" +
		"\"Ints\": [1,2],\n" +
		"\"Last\": \"x\"\n}\n"
	assert.Equal(t, want, string(got))
	var v any
	require.NoError(t, json.Unmarshal(got, &v), "the layout is valid JSON")
}

func TestWriteString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"<a href=\"/x\">&amp;</a>", `"<a href=\"/x\">&amp;</a>"`},
		{"文件传输助手 😄", `"文件传输助手 😄"`},
		{"l1\nl2\t\r\x01", `"l1\nl2\t\r\u0001"`},
		{"bad\xffutf8", "\"bad\ufffdutf8\""},
	}
	for _, tt := range tests {
		got := compact(obj{{"k", tt.in}})
		assert.Equal(t, `{"k": `+tt.want+`}`, string(got), "in %q", tt.in)
		var back map[string]string
		require.NoError(t, json.Unmarshal(got, &back))
	}
}

func TestKeepSlashEscapes(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":"x\/y"}`, `x\/y`},
		{`{"a":"x/y"}`, `x/y`},
		{`{"a":"x\\/y"}`, `x\/y`}, // an escaped backslash followed by a slash
		{`{"a":"\"\/\""}`, `"\/"`},
		{`{"a":"\u00e9\/"}`, `é\/`},
	}
	for _, tt := range tests {
		o, ok := parseRequest([]byte(tt.in))
		require.True(t, ok, tt.in)
		got, _ := o.str("a")
		assert.Equal(t, tt.want, got, tt.in)
	}
	_, ok := parseRequest([]byte(`{"a":`))
	assert.False(t, ok)
	_, ok = parseRequest([]byte(`null`))
	assert.False(t, ok)
}

func TestRequestKeysAreCaseSensitive(t *testing.T) {
	o, ok := parseRequest([]byte(`{"baserequest":{},"Uin":"42","N":7}`))
	require.True(t, ok)
	_, ok = o.obj("BaseRequest")
	assert.False(t, ok)
	n, ok := o.num("Uin")
	assert.True(t, ok)
	assert.Equal(t, int64(42), n)
	s, ok := o.idString("N")
	assert.True(t, ok)
	assert.Equal(t, "7", s)
}

func FuzzKeepSlashEscapes(f *testing.F) {
	for _, s := range []string{`{"a":"x\/y"}`, `{"a":"x\\/y"}`, `["\/",1,{"b":"\\"}]`, `"\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var a, b any
		errA := json.Unmarshal([]byte(in), &a)
		errB := json.Unmarshal(keepSlashEscapes([]byte(in)), &b)
		if (errA == nil) != (errB == nil) {
			t.Errorf("keepSlashEscapes(%q) changed validity: %v vs %v", in, errA, errB)
		}
	})
}

// idStringDecoder is what jobj.idString did before it read the first byte: decode the value
// with a json.Decoder using json.Number.
func idStringDecoder(raw json.RawMessage) (string, bool) {
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if d.Decode(&v) != nil {
		return "", false
	}
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	}
	return "", false
}

// FuzzIDString checks jobj.idString against a json.Decoder with UseNumber, for any value of a
// member of a request object.
func FuzzIDString(f *testing.F) {
	for _, s := range []string{`"42"`, `42`, `-7`, `1e5`, `0.5`, `"a\u00e9\/b"`, `"\ud800"`, "\"\xff\"", `null`, `true`, `{}`, `[1]`, ` 12 `} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		o, ok := parseRequest([]byte(`{"k":` + in + `}`))
		if !ok {
			return
		}
		got, gotOK := o.idString("k")
		want, wantOK := idStringDecoder(o["k"])
		if got != want || gotOK != wantOK {
			t.Errorf("idString(%q) = %q, %v; the json.Decoder gives %q, %v", in, got, gotOK, want, wantOK)
		}
	})
}

// TestSetCookie checks the Set-Cookie value the server writes, in the form of PROTOCOL 3.6
// (the expiry with dashes, in GMT), against the fmt form it was built with before.
func TestSetCookie(t *testing.T) {
	exp := time.Date(2026, 12, 3, 22, 4, 5, 0, time.FixedZone("CST", 8*3600))
	w := httptest.NewRecorder()
	setCookie(w, "wxuin", "2212345678", ".qq.com", exp)
	setCookie(w, "wxloadtime", "1764770645_expired", "wx2.qq.com", exp)
	assert.Equal(t, []string{
		"wxuin=2212345678; Domain=.qq.com; Path=/; Expires=Thu, 03-Dec-2026 14:04:05 GMT; Secure",
		"wxloadtime=1764770645_expired; Domain=wx2.qq.com; Path=/; Expires=Thu, 03-Dec-2026 14:04:05 GMT; Secure",
	}, w.Header().Values("Set-Cookie"))
	for _, v := range w.Header().Values("Set-Cookie") {
		c, err := http.ParseSetCookie(v)
		require.NoError(t, err, v)
		assert.True(t, c.Expires.Equal(exp), "%s: expires %v", v, c.Expires)
	}
}
