package jsvar

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseFixtures(t *testing.T) {
	tests := []struct {
		file    string
		size    int // the body length PROTOCOL.md states, or -1
		want    Vars
		wantErr bool
	}{
		{
			file: "jslogin.txt", size: 64,
			want: Vars{"QRLogin.code": "200", "QRLogin.uuid": "Xk3fQ9mZaA=="},
		},
		{
			file: "login_408.txt", size: 16,
			want: Vars{"code": "408"},
		},
		{
			file: "login_201.txt", size: -1,
			want: Vars{"code": "201", "userAvatar": "data:img/jpg;base64,/9j/4AAQ..."},
		},
		{
			file: "login_200.txt", size: -1,
			want: Vars{
				"code":         "200",
				"redirect_uri": "https://wx2.qq.com/cgi-bin/mmwebwx-bin/webwxnewloginpage?ticket=A6NZ...@qrticket_0&uuid=4dcaWx3uBw==&lang=zh_CN&scan=1463755895",
			},
		},
		{
			file: "synccheck.txt", size: 43,
			want: Vars{"synccheck.retcode": "0", "synccheck.selector": "2"},
		},
		{
			file: "synccheck_1101.txt", size: -1,
			want: Vars{"synccheck.retcode": "1101", "synccheck.selector": "0"},
		},
		{file: "html_error.txt", size: -1, wantErr: true},
		{file: "empty.txt", size: 0, wantErr: true},
		{file: "truncated.txt", size: -1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", tt.file))
			require.NoError(t, err)
			if tt.size >= 0 {
				require.Len(t, body, tt.size, "fixture size differs from PROTOCOL.md")
			}
			got, err := Parse(body)
			if tt.wantErr {
				require.ErrorIs(t, err, ErrSyntax)
				assert.Nil(t, got)
				assertNoLeak(t, err, body)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Vars
	}{
		{"no final semicolon", `window.code=408`, Vars{"code": "408"}},
		{"empty statements", `;;window.code=408;;;`, Vars{"code": "408"}},
		{"spaces everywhere", " \t window . code \n = \r\n 408 ; \n", Vars{"code": "408"}},
		{"newline separates statements", "window.code=200\nwindow.x=1", Vars{"code": "200", "x": "1"}},
		{"CRLF", "window.code=200;\r\nwindow.x='a';\r\n", Vars{"code": "200", "x": "a"}},
		{"negative", `window.code=-1;`, Vars{"code": "-1"}},
		{"no window prefix", `code=5`, Vars{"code": "5"}},
		{"bare window", `window=5`, Vars{"window": "5"}},
		{"last assignment wins", `window.a=1;window.a=2`, Vars{"a": "2"}},
		{"true false null", `window.a=true;window.b=false;window.c=null`, Vars{"a": "true", "b": "false", "c": "null"}},
		{"empty strings", `window.a="";window.b=''`, Vars{"a": "", "b": ""}},
		{"other quote inside", `window.a="it's";window.b='say "hi"'`, Vars{"a": "it's", "b": `say "hi"`}},
		{"escapes", `window.a="q\" s\' b\\ sl\/ n\n t\t r\r"`, Vars{"a": "q\" s' b\\ sl/ n\n t\t r\r"}},
		{"unicode escapes", `window.a="\u4f60\u597D \x41"`, Vars{"a": "你好 A"}},
		{"surrogate pair", `window.a="\uD83D\uDE04"`, Vars{"a": "😄"}},
		{"lone surrogate", `window.a="\uD83Dx"`, Vars{"a": "\uFFFDx"}},
		{"unknown escape is the character", `window.a="\q"`, Vars{"a": "q"}},
		{"line continuation", "window.a=\"a\\\nb\"", Vars{"a": "ab"}},
		{"raw UTF-8 kept", `window.a='你好😄'`, Vars{"a": "你好😄"}},
		{"invalid UTF-8 kept", "window.a='\xff\xfe'", Vars{"a": "\xff\xfe"}},
		{"BOM", "\xEF\xBB\xBFwindow.code=1", Vars{"code": "1"}},
		{"object spaces and quoted keys", `window.synccheck = { "retcode" : "0" , 'selector':2 , }`,
			Vars{"synccheck.retcode": "0", "synccheck.selector": "2"}},
		{"nested object", `window.a={b:{c:1,d:{}},e:'x'}`, Vars{"a.b.c": "1", "a.e": "x"}},
		{"numeric key", `window.a={0:"z"}`, Vars{"a.0": "z"}},
		{"dollar and underscore", `window.$_a1={_b:1}`, Vars{"$_a1._b": "1"}},
		{"big number kept as text", `window.a=123456789012345678901234567890`, Vars{"a": "123456789012345678901234567890"}},
		{"two on one line", `window.QRLogin.code = 400; window.QRLogin.uuid = "";`, Vars{"QRLogin.code": "400", "QRLogin.uuid": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.body))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseErrors(t *testing.T) {
	deep := "window.a=" + strings.Repeat("{a:", maxDepth+1) + "1" + strings.Repeat("}", maxDepth+1)
	tests := []struct {
		name string
		body string
	}{
		{"empty", ``},
		{"only space", " \n\t"},
		{"only semicolons", `;;;`},
		{"html", `<html><body>window.code=200;</body></html>`},
		{"json", `{"ret":"0"}`},
		{"garbage after statements", `window.code=200; <html>`},
		{"garbage after value", `window.code=200 x`},
		{"two statements without separator", `window.a=1 window.b=2`},
		{"missing value", `window.code=`},
		{"missing value before semicolon", `window.code=;`},
		{"missing equals", `window.code 200`},
		{"double equals", `window.code==200`},
		{"dangling dot", `window.=1`},
		{"name cut off", `window.`},
		{"minus alone", `window.a=-;`},
		{"decimal", `window.a=1.5`},
		{"number then letters", `window.a=200abc`},
		{"hex number", `window.a=0x1F`},
		{"undefined identifier", `window.a=undefined`},
		{"array", `window.a=[1]`},
		{"truncated string", `window.a="abc`},
		{"truncated escape", `window.a="abc\`},
		{"line break in string", "window.a=\"a\nb\""},
		{"bad unicode escape", `window.a="\u12G4"`},
		{"short unicode escape", `window.a="\u12"`},
		{"bad hex escape", `window.a="\xZZ"`},
		{"unclosed object", `window.synccheck={retcode:"0",selector:"2"`},
		{"object cut after key", `window.a={b`},
		{"object missing colon", `window.a={b 1}`},
		{"object missing comma", `window.a={b:1 c:2}`},
		{"object bad key", `window.a={-1:2}`},
		{"object double comma", `window.a={b:1,,c:2}`},
		{"object leading comma", `window.a={,b:1}`},
		{"object then garbage", `window.a={b:1}}`},
		{"too deep", deep},
		{"name too long", "window." + strings.Repeat("a", maxName+1) + "=1"},
		{"flattened name too long", "window.a={" + strings.Repeat("b", maxName) + ":1}"},
		{"leading digit name", `1window=2`},
		{"NUL", "window.code=200;\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.body))
			require.ErrorIs(t, err, ErrSyntax)
			assert.Nil(t, got)
			assertNoLeak(t, err, []byte(tt.body))
		})
	}
}

func TestParseErrorHidesSecrets(t *testing.T) {
	body := []byte(`window.code=200;window.redirect_uri="https://wx2.qq.com/x?ticket=SECRETTICKET&skey=@crypt_SECRET`)
	_, err := Parse(body)
	require.ErrorIs(t, err, ErrSyntax)
	assert.NotContains(t, err.Error(), "SECRET")
	assert.NotContains(t, err.Error(), "wx2.qq.com")
	assert.Equal(t, fmt.Sprintf("jsvar: syntax error: offset %d: unterminated string", len(body)), err.Error())
}

func TestVarsInt(t *testing.T) {
	v := Vars{
		"num":      "200",
		"neg":      "-1",
		"str":      "1101",
		"text":     "abc",
		"empty":    "",
		"overflow": "123456789012345678901234567890",
		"bool":     "true",
	}
	tests := []struct {
		name   string
		want   int
		wantOK bool
	}{
		{"num", 200, true},
		{"neg", -1, true},
		{"str", 1101, true},
		{"text", 0, false},
		{"empty", 0, false},
		{"overflow", 0, false},
		{"bool", 0, false},
		{"missing", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := v.Int(tt.name)
			assert.Equal(t, tt.wantOK, ok)
			if tt.wantOK {
				assert.Equal(t, tt.want, got)
			}
		})
	}

	var nilVars Vars
	_, ok := nilVars.Int("code")
	assert.False(t, ok, "nil Vars")
}

func TestParseSyncCheckInt(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "synccheck_1101.txt"))
	require.NoError(t, err)
	v, err := Parse(body)
	require.NoError(t, err)
	retcode, ok := v.Int("synccheck.retcode")
	require.True(t, ok)
	assert.Equal(t, 1101, retcode)
}

// errText is the only shape a Parse error may have: a fixed prefix, an
// offset and a short constant reason.
var errText = regexp.MustCompile(`^jsvar: syntax error: offset \d+: [a-zA-Z ',;:={}\\]+$`)

// assertNoLeak checks that err has the fixed shape and does not quote body.
func assertNoLeak(t *testing.T, err error, body []byte) {
	t.Helper()
	msg := err.Error()
	assert.Regexp(t, errText, msg)
	assert.Less(t, len(msg), 100)
	if len(body) >= 8 {
		assert.NotContains(t, msg, string(body))
	}
}

func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		v, err := Parse(body)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse(%q) = %v; want an error wrapping ErrSyntax", body, err)
			}
			if v != nil {
				t.Fatalf("Parse(%q) returned Vars with an error", body)
			}
			if msg := err.Error(); !errText.MatchString(msg) || len(msg) >= 100 {
				t.Fatalf("Parse(%q) error %q has an unexpected shape", body, msg)
			}
			return
		}
		if len(v) == 0 && !strings.Contains(string(body), "{") {
			t.Fatalf("Parse(%q) succeeded without any value", body)
		}
		for name := range v {
			if name == "" || len(name) > maxName {
				t.Fatalf("Parse(%q) gave name %q", body, name)
			}
			v.Int(name)
		}
	})
}
