package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the JSON scanner every JSON decoder of the package is built on. It walks
// the bytes without reflection and hands out values as sub-slices of the input (no copy), so
// a decoder reads the fields it knows straight into its values and skips the rest. It checks
// the structure it walks (strings, brackets, separators) and reports a cut or malformed input
// as an error wrapping ErrSyntax; it never panics and never recurses on the input's nesting.

// ErrSyntax is wrapped by the errors of bodies that are not the JSON (or JavaScript, or XML)
// they should be. Error texts give an offset and a reason, never bytes of the body, which can
// hold credentials.
var ErrSyntax = errors.New("wire: syntax error")

func syntaxError(off int, what string) error {
	return fmt.Errorf("%w at offset %d: %s", ErrSyntax, off, what)
}

// Object calls fn with the key (raw, without quotes, escapes not decoded) and the raw value of
// each member of the object data holds, in order (a nil fn only checks the syntax). Leading and trailing white space is allowed;
// anything else after the object is an error. It stops at the first error fn returns.
func Object(data []byte, fn func(key, val []byte) error) error {
	it, err := openObject(data, skipWS(data, 0))
	if err != nil {
		return err
	}
	for {
		k, v, ok := it.next()
		if !ok {
			break
		}
		if fn == nil {
			continue
		}
		if err := fn(k, v); err != nil {
			return err
		}
	}
	if it.err != nil {
		return it.err
	}
	if j := skipWS(data, it.end); j != len(data) {
		return syntaxError(j, "data after the object")
	}
	return nil
}

// members iterates over the members of a JSON object without allocating. After next reports
// false, err holds the syntax error that stopped it, if any, and end the offset just after
// the object. depth is the deepest nesting of the values seen so far (a scalar 0, an object
// or array 1 plus its contents).
type members struct {
	d     []byte
	i     int
	end   int
	depth int
	err   error
	done  bool
}

// openObject starts iterating over the object at d[i].
func openObject(d []byte, i int) (members, error) {
	if i >= len(d) || d[i] != '{' {
		return members{done: true}, syntaxError(i, "object expected")
	}
	it := members{d: d, i: skipWS(d, i+1)}
	if it.i < len(d) && d[it.i] == '}' {
		it.end, it.done = it.i+1, true
	}
	return it, nil
}

func (it *members) fail(err error) bool {
	it.err, it.done = err, true
	return false
}

// next returns the next member's raw key and value.
func (it *members) next() (key, val []byte, ok bool) {
	key, ok = it.key()
	if !ok {
		return nil, nil, false
	}
	val, ok = it.value()
	return key, val, ok
}

// key returns the next member's raw key and leaves the iterator at its value, which the
// caller then takes with value or decodes in place and passes with valueEnd.
func (it *members) key() ([]byte, bool) {
	if it.done {
		return nil, false
	}
	d, i := it.d, it.i
	if i >= len(d) || d[i] != '"' {
		return nil, it.fail(syntaxError(i, "object key expected"))
	}
	kend, err := skipString(d, i)
	if err != nil {
		return nil, it.fail(err)
	}
	key := d[i+1 : kend-1]
	i = kend
	if i < len(d) && d[i] == ':' { // the usual layout: no space before the colon
		i++
	} else {
		i = skipWS(d, i)
		if i >= len(d) || d[i] != ':' {
			return nil, it.fail(syntaxError(i, "':' expected"))
		}
		i++
	}
	it.i = skipWS(d, i)
	return key, true
}

// value skips the value key left the iterator at and returns it.
func (it *members) value() ([]byte, bool) {
	start := it.i
	end, depth, err := skipValue(it.d, start)
	if err != nil {
		return nil, it.fail(err)
	}
	it.depth = max(it.depth, depth)
	if !it.valueEnd(end) {
		return nil, false
	}
	return it.d[start:end], true
}

// valueEnd moves past the value that ends at end, to the next member.
func (it *members) valueEnd(end int) bool {
	d := it.d
	i := skipWS(d, end)
	if i >= len(d) {
		return it.fail(syntaxError(i, "unexpected end in object"))
	}
	switch d[i] {
	case ',':
		it.i = skipWS(d, i+1)
	case '}':
		it.end, it.done = i+1, true
	default:
		return it.fail(syntaxError(i, "',' or '}' expected"))
	}
	return true
}

// elements iterates over the elements of a JSON array. A caller that decodes an element in
// place (instead of taking its raw value from next) reports where it ended with skipTo.
type elements struct {
	d    []byte
	i    int
	end  int
	err  error
	done bool
}

// openArray starts iterating over the array at d[i].
func openArray(d []byte, i int) (elements, error) {
	if i >= len(d) || d[i] != '[' {
		return elements{done: true}, syntaxError(i, "array expected")
	}
	it := elements{d: d, i: skipWS(d, i+1)}
	if it.i < len(d) && d[it.i] == ']' {
		it.end, it.done = it.i+1, true
	}
	return it, nil
}

// start returns the offset of the next element, or false at the end.
func (it *elements) start() (int, bool) {
	if it.done {
		return 0, false
	}
	if it.i >= len(it.d) {
		it.err, it.done = syntaxError(it.i, "value expected"), true
		return 0, false
	}
	return it.i, true
}

// skipTo moves past the element that ended at end, to the next one.
func (it *elements) skipTo(end int) {
	d := it.d
	i := skipWS(d, end)
	if i >= len(d) {
		it.err, it.done = syntaxError(i, "unexpected end in array"), true
		return
	}
	switch d[i] {
	case ',':
		it.i = skipWS(d, i+1)
	case ']':
		it.end, it.done = i+1, true
	default:
		it.err, it.done = syntaxError(i, "',' or ']' expected"), true
	}
}

// next returns the raw bytes of the next element.
func (it *elements) next() ([]byte, bool) {
	i, ok := it.start()
	if !ok {
		return nil, false
	}
	end, _, err := skipValue(it.d, i)
	if err != nil {
		it.err, it.done = err, true
		return nil, false
	}
	it.skipTo(end)
	if it.err != nil {
		return nil, false
	}
	return it.d[i:end], true
}

// skipValue returns the offset just after the value starting at d[i] and its nesting depth.
func skipValue(d []byte, i int) (end, depth int, err error) {
	if i >= len(d) {
		return 0, 0, syntaxError(i, "value expected")
	}
	switch c := d[i]; {
	case c == '"':
		end, err = skipString(d, i)
		return end, 0, err
	case c == '{' || c == '[':
		return skipNested(d, i)
	case c == 't':
		end, err = skipLiteral(d, i, "true")
		return end, 0, err
	case c == 'f':
		end, err = skipLiteral(d, i, "false")
		return end, 0, err
	case c == 'n':
		end, err = skipLiteral(d, i, "null")
		return end, 0, err
	case c == '-' || c >= '0' && c <= '9':
		j := i + 1
		for j < len(d) && isNumberByte(d[j]) {
			j++
		}
		return j, 0, nil
	}
	return 0, 0, syntaxError(i, "value expected")
}

// skipNested skips the object or array starting at d[i] without decoding its members: it
// follows strings and brackets (checking that each closes the kind it opened), which is all it
// takes to find the end, at any depth. Values skipped this way are not decoded, so their inner
// syntax is not checked further; the decoders that read them check theirs.
func skipNested(d []byte, i int) (end, depth int, err error) {
	var small [64]byte
	open := small[:0] // grows only for input nested deeper than 64
	for j := i; j < len(d); j++ {
		switch c := d[j]; c {
		case '"':
			end, err := skipString(d, j)
			if err != nil {
				return 0, 0, err
			}
			j = end - 1
		case '{', '[':
			open = append(open, c)
			depth = max(depth, len(open))
		case '}', ']':
			if len(open) == 0 || open[len(open)-1] != c-2 { // '{'+2 == '}', '['+2 == ']'
				return 0, 0, syntaxError(j, "mismatched bracket")
			}
			open = open[:len(open)-1]
			if len(open) == 0 {
				return j + 1, depth, nil
			}
		}
	}
	return 0, 0, syntaxError(i, "unterminated object or array")
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

// skipString returns the offset just after the string starting at d[i] == '"'. It looks at
// eight bytes at a time for the closing quote or a backslash (an escape, which skipEscaped
// follows).
func skipString(d []byte, i int) (int, error) {
	j := i + 1
	for ; j+8 <= len(d); j += 8 {
		v := binary.LittleEndian.Uint64(d[j:])
		if m := zeroByte(v^quotes) | zeroByte(v^backslashes); m != 0 {
			// The lowest flagged byte is the first match (zeroByte flags no byte below it).
			j += bits.TrailingZeros64(m) >> 3
			if d[j] == '"' {
				return j + 1, nil
			}
			return skipEscaped(d, i, j)
		}
	}
	for ; j < len(d); j++ {
		switch d[j] {
		case '"':
			return j + 1, nil
		case '\\':
			return skipEscaped(d, i, j)
		}
	}
	return 0, syntaxError(i, "unterminated string")
}

// Eight copies of a byte, for zeroByte.
const (
	quotes      = 0x2222222222222222 // '"'
	backslashes = 0x5c5c5c5c5c5c5c5c // '\\'
	lows        = 0x0101010101010101
	highs       = 0x8080808080808080
)

// zeroByte returns a mask with the high bit of the lowest zero byte of v set (bytes above it
// may be flagged too), or 0 if v has no zero byte.
func zeroByte(v uint64) uint64 { return (v - lows) &^ v & highs }

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

// isNull reports whether val is the literal null.
func isNull(val []byte) bool { return string(val) == "null" }

// String decodes val, a raw JSON string, with its escapes. ok is false if val is not a
// well-formed string.
func String(val []byte) (s string, ok bool) {
	b, ok := stringBytes(val, nil)
	return string(b), ok
}

// stringBytes returns the contents of the raw JSON string val, unescaped: a sub-slice of val
// when it has no escapes, else decoded into *scratch, which it keeps if it grew (a nil
// scratch means a new buffer). The result is valid until the next use of scratch.
func stringBytes(val []byte, scratch *[]byte) ([]byte, bool) {
	if len(val) < 2 || val[0] != '"' || val[len(val)-1] != '"' {
		return nil, false
	}
	inner := val[1 : len(val)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner, true
	}
	var buf []byte
	if scratch != nil {
		buf = (*scratch)[:0]
	}
	out, ok := unescape(buf, inner)
	if scratch != nil && cap(out) > cap(*scratch) {
		*scratch = out[:0]
	}
	return out, ok
}

// Text applies the string-or-number rule of the protocol (PROTOCOL 14.4): a JSON string gives
// its contents, a number its digits as written, null "". ok is false for objects, arrays,
// booleans and malformed values, which a lenient decoder reads as "".
func Text(val []byte) (string, bool) {
	b, ok := textBytes(val, nil)
	return string(b), ok
}

// textBytes is Text without the copy: see stringBytes.
func textBytes(val []byte, scratch *[]byte) ([]byte, bool) {
	if len(val) == 0 {
		return nil, false
	}
	switch c := val[0]; {
	case c == '"':
		return stringBytes(val, scratch)
	case c == '-' || c >= '0' && c <= '9':
		return val, true
	case isNull(val):
		return nil, true
	}
	return nil, false
}

// Int applies the number rule of the protocol (PROTOCOL 14.4, 14.5): val is a JSON number or a
// numeric string (spaces trimmed), "" and null are 0. Values above 2^63 keep their bits (an
// unsigned uin or AttrStatus); integral floats such as 1.0 or 1e3 are accepted. ok is false
// for anything else (1.5, 1e30, "abc", true, objects), which a lenient decoder reads as 0.
func Int(val []byte) (int64, bool) {
	if len(val) == 0 {
		return 0, false
	}
	if val[0] == '"' {
		if len(val) < 2 || val[len(val)-1] != '"' {
			return 0, false
		}
		val = bytes.TrimSpace(val[1 : len(val)-1])
		if len(val) == 0 {
			return 0, true
		}
		if bytes.IndexByte(val, '\\') >= 0 {
			return 0, false // digits need no escapes
		}
	} else if isNull(val) {
		return 0, true
	}
	// Fast path: plain decimal digits.
	neg := val[0] == '-'
	digits := val
	if neg {
		digits = val[1:]
	}
	if len(digits) > 0 && len(digits) <= 18 {
		var n int64
		for _, c := range digits {
			if c < '0' || c > '9' {
				return slowInt(val)
			}
			n = n*10 + int64(c-'0')
		}
		if neg {
			n = -n
		}
		return n, true
	}
	return slowInt(val)
}

func slowInt(val []byte) (int64, bool) {
	s := string(val)
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, true
	}
	if v, err := strconv.ParseUint(s, 10, 64); err == nil {
		return int64(v), true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err == nil && f >= math.MinInt64 && f < math.MaxInt64 && f == math.Trunc(f) {
		return int64(f), true
	}
	return 0, false
}

// intField reads val with the number rule into an int: a value that does not fit an int
// reads as 0, like any odd field.
func intField(val []byte) int {
	n, _ := Int(val)
	if int64(int(n)) != n {
		return 0
	}
	return int(n)
}

// int64Field reads val with the number rule; an odd value reads as 0.
func int64Field(val []byte) int64 {
	n, _ := Int(val)
	return n
}

// unescape appends the contents s of a JSON string, its escapes decoded, to dst.
func unescape(dst, s []byte) ([]byte, bool) {
	out := dst
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			// Copy the run up to the next escape at once.
			j := bytes.IndexByte(s[i:], '\\')
			if j < 0 {
				return append(out, s[i:]...), true
			}
			out = append(out, s[i:i+j]...)
			i += j - 1
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
