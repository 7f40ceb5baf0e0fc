package wire

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestObject(t *testing.T) {
	in := " {\n\"a\": 1,\n\"b\" : \"x\\\"y\",\"c\":{\"d\":[1,{\"e\":null},\"]\"]}\n,\n\"f\":true, \"g\":-1.5e3 }\n"
	var keys []string
	var vals []string
	require.NoError(t, Object([]byte(in), func(k, v []byte) error {
		keys = append(keys, string(k))
		vals = append(vals, string(v))
		return nil
	}))
	assert.Equal(t, []string{"a", "b", "c", "f", "g"}, keys)
	assert.Equal(t, []string{"1", `"x\"y"`, `{"d":[1,{"e":null},"]"]}`, "true", "-1.5e3"}, vals)
}

func TestElements(t *testing.T) {
	var got []string
	it, err := openArray([]byte(`[ {"a":1}
,{"b":"}"} ,"s", 3]`), 0)
	require.NoError(t, err)
	for {
		v, ok := it.next()
		if !ok {
			break
		}
		got = append(got, string(v))
	}
	require.NoError(t, it.err)
	assert.Equal(t, []string{`{"a":1}`, `{"b":"}"}`, `"s"`, "3"}, got)
	it, err = openArray([]byte(`[]`), 0)
	require.NoError(t, err)
	_, ok := it.next()
	assert.False(t, ok)
	assert.NoError(t, it.err)
	for _, in := range []string{`[1,2`, `[1 2]`, `[1,]`, `[`} {
		it, err := openArray([]byte(in), 0)
		require.NoError(t, err)
		for {
			if _, ok := it.next(); !ok {
				break
			}
		}
		assert.ErrorIs(t, it.err, ErrSyntax, in)
	}
}

func TestSkipNestedDepth(t *testing.T) {
	// Nesting costs no recursion and no error: the depth is reported, at any depth.
	deep := strings.Repeat("[", 1000) + strings.Repeat("]", 1000)
	end, depth, err := skipValue([]byte(deep), 0)
	require.NoError(t, err)
	assert.Equal(t, len(deep), end)
	assert.Equal(t, 1000, depth)
	_, _, err = skipValue([]byte(strings.Repeat("[", 100)+strings.Repeat("}", 100)), 0)
	assert.ErrorIs(t, err, ErrSyntax)
}

func TestErrors(t *testing.T) {
	for _, in := range []string{
		``, `{`, `{"a"`, `{"a":`, `{"a":1`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":"x}`, `{"a":tru}`,
		`{"a":1} x`, `[1,2`, `[1 2]`, `<html>`, `{"a":[1,{"b":2]}`, `"str"`,
	} {
		err := Object([]byte(in), nil)
		assert.ErrorIs(t, err, ErrSyntax, "%q", in)
	}
	// Skipped values: brackets must match and strings may hold brackets.
	assert.ErrorIs(t, Object([]byte(`{"a":{"b":[1}]}`), nil), ErrSyntax)
	assert.ErrorIs(t, Object([]byte(`{"a":[{"b":1]}]}`), nil), ErrSyntax)
	assert.ErrorIs(t, Object([]byte(`{"a":{"b":"}`), nil), ErrSyntax)
	require.NoError(t, Object([]byte(`{"a":{"b":"}]{[\"","c":[[],{}]}}`), nil))
	deep := make([]byte, 0, 300)
	for range 100 {
		deep = append(deep, `{"a":`...)
	}
	assert.ErrorIs(t, Object(deep, nil), ErrSyntax)
	stop := errors.New("stop")
	assert.ErrorIs(t, Object([]byte(`{"a":1,"b":2}`), func(k, v []byte) error { return stop }), stop)
}

func TestString(t *testing.T) {
	for in, want := range map[string]string{
		`""`:                     "",
		`"plain"`:                "plain",
		`"a\"b\\c\/d"`:           `a"b\c/d`,
		`"\n\t\r\b\f"`:           "\n\t\r\b\f",
		`"\u00e9\u4e2d"`:         "é中",
		`"\ud83d\ude04"`:         "😄",
		`"\ud83d"`:               "\uFFFD",
		`"<span class=\"x\">"`:   `<span class="x">`,
		`"中文 raw UTF-8 😄"`:       "中文 raw UTF-8 😄",
		`"\ud83dx"`:              "\uFFFDx",
		`"\ud83d\u0041"`:         "\uFFFDA",
		`"end with escape \\"`:   `end with escape \`,
		`"\"quoted\" in middle"`: `"quoted" in middle`,
	} {
		got, ok := String([]byte(in))
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
		var std string
		require.NoError(t, json.Unmarshal([]byte(in), &std), in)
		assert.Equal(t, std, got, "same as encoding/json: %s", in)
	}
	for _, in := range []string{``, `"`, `x`, `"\x"`, `"\u12"`, `"\`} {
		_, ok := String([]byte(in))
		assert.False(t, ok, in)
	}
}

func TestInt(t *testing.T) {
	for in, want := range map[string]int64{
		`0`: 0, `42`: 42, `-7`: -7, `"1024"`: 1024, `""`: 0, `null`: 0, `" 12 "`: 12,
		`2212345678`: 2212345678, `6012345678901234567`: 6012345678901234567,
		`"6012345678901234567"`: 6012345678901234567, `1.0`: 1, `1e3`: 1000,
		`18446744073709551615`: -1, // 2^64-1 keeps its bits
	} {
		got, ok := Int([]byte(in))
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{`true`, `{}`, `[]`, `"abc"`, `1.5`, `"1.5x"`, ``} {
		_, ok := Int([]byte(in))
		assert.False(t, ok, in)
	}
}

func TestText(t *testing.T) {
	for in, want := range map[string]string{`"a"`: "a", `123`: "123", `null`: ""} {
		got, ok := Text([]byte(in))
		assert.True(t, ok)
		assert.Equal(t, want, got)
	}
	for _, in := range []string{`{}`, `[]`, `true`, ``} {
		_, ok := Text([]byte(in))
		assert.False(t, ok, in)
	}
}

// FuzzObject checks Object against encoding/json: valid JSON objects always walk, walking never
// panics, and every string value decodes as encoding/json decodes it.
func FuzzObject(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/webwxsync/*")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && len(b) < 4096 {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"a":"\ud83d\ude04","b":[1,{"c":"\"x"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		err := Object(data, func(k, v []byte) error {
			if len(v) > 0 && v[0] == '"' && utf8.Valid(v) {
				got, ok := String(v)
				var std string
				if json.Unmarshal(v, &std) == nil {
					if !ok || got != std {
						t.Errorf("String(%q) = %q, %v; encoding/json %q", v, got, ok, std)
					}
				}
			}
			Int(v)
			Text(v)
			return nil
		})
		var probe map[string]json.RawMessage
		if json.Unmarshal(data, &probe) == nil && err != nil {
			t.Errorf("Object rejects valid JSON %q: %v", data, err)
		}
		if err != nil && !errors.Is(err, ErrSyntax) {
			t.Errorf("error %v does not wrap ErrSyntax", err)
		}
	})
}

// TestIntRule is the number rule of PROTOCOL 14.4 and 14.5, the one every integer field goes
// through.
func TestIntRule(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{`0`, 0, true}, {`1`, 1, true}, {`-1`, -1, true}, {`1205`, 1205, true},
		{`"1"`, 1, true}, {`"1700000000"`, 1700000000, true}, {`" 42 "`, 42, true}, {`"-2013"`, -2013, true},
		{`""`, 0, true}, {`null`, 0, true},
		{`2212345678`, 2212345678, true}, {`"2212345678"`, 2212345678, true}, // Uin above 2^31
		{`9223372036854775807`, 9223372036854775807, true}, {`-9223372036854775808`, -9223372036854775808, true},
		{`6012345678901234567`, 6012345678901234567, true},  // above 2^53: no float rounding
		{`9223372036854775809`, -9223372036854775807, true}, // above 2^63: the bits are kept
		{`1.0`, 1, true}, {`1e3`, 1000, true}, {`"2.0"`, 2, true}, {`-0.0`, 0, true},
		{`1.5`, 0, false}, {`1e30`, 0, false}, {`"abc"`, 0, false}, {`"1a"`, 0, false},
		{`"NaN"`, 0, false}, {`"Inf"`, 0, false}, {`true`, 0, false}, {`false`, 0, false},
		{`[1]`, 0, false}, {`{"v":1}`, 0, false}, {`18446744073709551616`, 0, false}, // 2^64
		{`"\u0031"`, 0, false},
	}
	for _, tt := range tests {
		got, ok := Int([]byte(tt.in))
		assert.Equal(t, tt.ok, ok, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
	// A field that does not fit an int reads as 0.
	assert.Equal(t, 0, intField([]byte(`"abc"`)))
	assert.Equal(t, 7, intField([]byte(`"7"`)))
}

// TestTextRule is the string-or-number rule of PROTOCOL 14.4.
func TestTextRule(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{`"6012345678901234567"`, "6012345678901234567", true},
		{`6012345678901234567`, "6012345678901234567", true}, // a bare number above 2^53, exact
		{`18446744073709551616`, "18446744073709551616", true},
		{`-1`, "-1", true}, {`1.0`, "1.0", true}, {`""`, "", true}, {`null`, "", true},
		{`"a &lt;b&gt; <br/>"`, "a &lt;b&gt; <br/>", true},
		{`"\u6587\u4ef6"`, "文件", true},
		{`" spaced "`, " spaced ", true},
		{`true`, "", false}, {`{"text":"oops"}`, "", false}, {`["a"]`, "", false},
	}
	for _, tt := range tests {
		got, ok := Text([]byte(tt.in))
		assert.Equal(t, tt.ok, ok, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

// skipStringBytes is skipString one byte at a time: the reference FuzzSkipString checks it
// against.
func skipStringBytes(d []byte, i int) (int, error) {
	for j := i + 1; j < len(d); j++ {
		switch d[j] {
		case '"':
			return j + 1, nil
		case '\\':
			j++
		}
	}
	return 0, syntaxError(i, "unterminated string")
}

func FuzzSkipString(f *testing.F) {
	for _, s := range []string{`"abc"`, `"0123456789abcdef0123456789"`, `"a\"b"`, `"01234567\\"x`, `"\\\\\\"`,
		`"unterminated`, `"` + "\xff\x00\x22\x5c" + `"`, `"01234567890123456789012345678901234567\"890"tail`} {
		f.Add([]byte(s), 0)
	}
	f.Fuzz(func(t *testing.T, d []byte, i int) {
		if i < 0 || i >= len(d) {
			i = 0
		}
		if len(d) == 0 || d[i] != '"' {
			return
		}
		got, gerr := skipString(d, i)
		want, werr := skipStringBytes(d, i)
		if got != want || (gerr == nil) != (werr == nil) {
			t.Errorf("skipString(%q, %d) = %d, %v; byte by byte %d, %v", d, i, got, gerr, want, werr)
		}
	})
}
