// Package jsonscan walks JSON without reflection. It hands out the raw bytes of values, as
// sub-slices of the input (no copy), so that a caller decodes only the fields it needs and keeps
// the rest raw. It checks the structure it walks (strings, nesting, literals) and reports a
// truncated or malformed input as an error wrapping ErrSyntax; it never panics.
//
// It exists for the hot path of the sync loop: decoding a webwxsync body with encoding/json
// into lenient types costs several allocations per field.
package jsonscan

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrSyntax is wrapped by every error of this package.
var ErrSyntax = errors.New("jsonscan: syntax error")

// maxDepth bounds nesting, so that adversarial input cannot exhaust the stack.
const maxDepth = 64

func syntaxError(off int, what string) error {
	return fmt.Errorf("%w at offset %d: %s", ErrSyntax, off, what)
}

// Object calls fn with the key (raw, without quotes, escapes not decoded) and the raw value of
// each member of the object data holds, in order. Leading and trailing white space is allowed;
// anything else after the object is an error. It stops at the first error fn returns.
func Object(data []byte, fn func(key, val []byte) error) error {
	i := skipWS(data, 0)
	end, err := walkObject(data, i, 0, fn)
	if err != nil {
		return err
	}
	if j := skipWS(data, end); j != len(data) {
		return syntaxError(j, "data after the object")
	}
	return nil
}

// Array calls fn with the raw bytes of each element of the array data holds.
func Array(data []byte, fn func(val []byte) error) error {
	i := skipWS(data, 0)
	end, err := walkArray(data, i, 0, fn)
	if err != nil {
		return err
	}
	if j := skipWS(data, end); j != len(data) {
		return syntaxError(j, "data after the array")
	}
	return nil
}

func walkObject(d []byte, i, depth int, fn func(key, val []byte) error) (int, error) {
	if i >= len(d) || d[i] != '{' {
		return 0, syntaxError(i, "object expected")
	}
	if depth >= maxDepth {
		return 0, syntaxError(i, "nested too deeply")
	}
	i = skipWS(d, i+1)
	if i < len(d) && d[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(d) || d[i] != '"' {
			return 0, syntaxError(i, "object key expected")
		}
		kend, err := skipString(d, i)
		if err != nil {
			return 0, err
		}
		key := d[i+1 : kend-1]
		i = skipWS(d, kend)
		if i >= len(d) || d[i] != ':' {
			return 0, syntaxError(i, "':' expected")
		}
		i = skipWS(d, i+1)
		vend, err := skipValue(d, i, depth+1)
		if err != nil {
			return 0, err
		}
		if fn != nil {
			if err := fn(key, d[i:vend]); err != nil {
				return 0, err
			}
		}
		i = skipWS(d, vend)
		if i >= len(d) {
			return 0, syntaxError(i, "unexpected end in object")
		}
		switch d[i] {
		case ',':
			i = skipWS(d, i+1)
		case '}':
			return i + 1, nil
		default:
			return 0, syntaxError(i, "',' or '}' expected")
		}
	}
}

func walkArray(d []byte, i, depth int, fn func(val []byte) error) (int, error) {
	if i >= len(d) || d[i] != '[' {
		return 0, syntaxError(i, "array expected")
	}
	if depth >= maxDepth {
		return 0, syntaxError(i, "nested too deeply")
	}
	i = skipWS(d, i+1)
	if i < len(d) && d[i] == ']' {
		return i + 1, nil
	}
	for {
		vend, err := skipValue(d, i, depth+1)
		if err != nil {
			return 0, err
		}
		if fn != nil {
			if err := fn(d[i:vend]); err != nil {
				return 0, err
			}
		}
		i = skipWS(d, vend)
		if i >= len(d) {
			return 0, syntaxError(i, "unexpected end in array")
		}
		switch d[i] {
		case ',':
			i = skipWS(d, i+1)
		case ']':
			return i + 1, nil
		default:
			return 0, syntaxError(i, "',' or ']' expected")
		}
	}
}

// skipValue returns the offset just after the value starting at d[i].
func skipValue(d []byte, i, depth int) (int, error) {
	if i >= len(d) {
		return 0, syntaxError(i, "value expected")
	}
	switch c := d[i]; {
	case c == '"':
		return skipString(d, i)
	case c == '{' || c == '[':
		return skipNested(d, i, depth)
	case c == 't':
		return skipLiteral(d, i, "true")
	case c == 'f':
		return skipLiteral(d, i, "false")
	case c == 'n':
		return skipLiteral(d, i, "null")
	case c == '-' || c >= '0' && c <= '9':
		j := i + 1
		for j < len(d) && isNumberByte(d[j]) {
			j++
		}
		return j, nil
	}
	return 0, syntaxError(i, "value expected")
}

// skipNested skips the object or array starting at d[i] without looking at its members: it
// follows strings and brackets (checking that each closes the kind it opened), which is all it
// takes to find the end. Values that are skipped are not decoded, so their inner syntax is not
// checked further; the walks that decode check theirs.
func skipNested(d []byte, i, depth int) (int, error) {
	var open [maxDepth]byte
	n := 0
	for j := i; j < len(d); j++ {
		switch c := d[j]; c {
		case '"':
			end, err := skipString(d, j)
			if err != nil {
				return 0, err
			}
			j = end - 1
		case '{', '[':
			if depth+n >= maxDepth {
				return 0, syntaxError(j, "nested too deeply")
			}
			open[n] = c
			n++
		case '}', ']':
			if n == 0 || open[n-1] != c-2 { // '{'+2 == '}', '['+2 == ']'
				return 0, syntaxError(j, "mismatched bracket")
			}
			n--
			if n == 0 {
				return j + 1, nil
			}
		}
	}
	return 0, syntaxError(i, "unterminated object or array")
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

func skipLiteral(d []byte, i int, lit string) (int, error) {
	if len(d)-i < len(lit) || string(d[i:i+len(lit)]) != lit {
		return 0, syntaxError(i, "invalid literal")
	}
	return i + len(lit), nil
}

// skipString returns the offset just after the string starting at d[i] == '"'.
func skipString(d []byte, i int) (int, error) {
	j := i + 1
	// Most strings (keys, ids, small numbers as text) are short: a plain loop beats the
	// setup of bytes.IndexByte. Long ones (Content) take the vectorised path.
	for n := min(len(d), j+32); j < n; j++ {
		switch d[j] {
		case '"':
			return j + 1, nil
		case '\\':
			return skipEscaped(d, i, j)
		}
	}
	if j >= len(d) {
		return 0, syntaxError(i, "unterminated string")
	}
	k := bytes.IndexByte(d[j:], '"')
	if k < 0 {
		return 0, syntaxError(i, "unterminated string")
	}
	if b := bytes.IndexByte(d[j:j+k], '\\'); b >= 0 {
		return skipEscaped(d, i, j+b)
	}
	return j + k + 1, nil
}

// skipEscaped finishes skipping the string starting at d[i], from the escape at d[j].
func skipEscaped(d []byte, i, j int) (int, error) {
	for ; j < len(d); j++ {
		switch d[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, syntaxError(i, "unterminated string")
}

func skipWS(d []byte, i int) int {
	for i < len(d) {
		switch d[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// IsNull reports whether val is the literal null.
func IsNull(val []byte) bool { return string(val) == "null" }

// String decodes val, a raw JSON string, with its escapes. ok is false if val is not a
// well-formed string.
func String(val []byte) (s string, ok bool) {
	if len(val) < 2 || val[0] != '"' || val[len(val)-1] != '"' {
		return "", false
	}
	inner := val[1 : len(val)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner), true
	}
	b, ok := unescape(inner)
	return string(b), ok
}

// Text decodes val leniently as text: a string's contents, a number's digits, "" for null.
// ok is false for objects, arrays, booleans and malformed values.
func Text(val []byte) (string, bool) {
	if len(val) == 0 {
		return "", false
	}
	switch c := val[0]; {
	case c == '"':
		return String(val)
	case c == '-' || c >= '0' && c <= '9':
		return string(val), true
	case IsNull(val):
		return "", true
	}
	return "", false
}

// Int decodes val leniently as an integer: a JSON number, a numeric string (spaces trimmed),
// "" or null (0). Values above 2^63 keep their bits; integral floats such as 1.0 are accepted.
func Int(val []byte) (int64, bool) {
	if len(val) == 0 {
		return 0, false
	}
	if val[0] == '"' {
		s, ok := String(val)
		if !ok {
			return 0, false
		}
		val = bytes.TrimSpace([]byte(s))
		if len(val) == 0 {
			return 0, true
		}
	} else if IsNull(val) {
		return 0, true
	}
	// Fast path: plain decimal digits.
	var n int64
	neg := val[0] == '-'
	digits := val
	if neg {
		digits = val[1:]
	}
	if len(digits) > 0 && len(digits) <= 18 {
		for _, c := range digits {
			if c < '0' || c > '9' {
				goto slow
			}
			n = n*10 + int64(c-'0')
		}
		if neg {
			n = -n
		}
		return n, true
	}
slow:
	s := string(val)
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, true
	}
	if v, err := strconv.ParseUint(s, 10, 64); err == nil {
		return int64(v), true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f == float64(int64(f)) {
		return int64(f), true
	}
	return 0, false
}

// unescape decodes the escapes of a JSON string's contents.
func unescape(s []byte) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(s) {
			return nil, false
		}
		switch s[i] {
		case '"', '\\', '/':
			out = append(out, s[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(s, i+1)
			if !ok {
				return nil, false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2, ok2 := rune(-1), false
				if i+2 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					r2, ok2 = hex4(s, i+3)
				}
				if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, false
		}
	}
	return out, true
}

func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
