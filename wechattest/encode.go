package wechattest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// obj is a JSON object whose members keep their order, as the server writes
// them. Values are string, int, int64, uint64, bool, obj or arr.
type obj []member

// member is one key of an obj.
type member struct {
	k string
	v any
}

// arr is a JSON array.
type arr []any

// get returns the value of key k, or nil.
func (o obj) get(k string) any {
	for _, m := range o {
		if m.k == k {
			return m.v
		}
	}
	return nil
}

// set replaces the value of key k, or appends it.
func (o obj) set(k string, v any) obj {
	for i := range o {
		if o[i].k == k {
			o[i].v = v
			return o
		}
	}
	return append(o, member{k, v})
}

// baseResponse is the BaseResponse object every JSON answer starts with.
func baseResponse(ret int) obj {
	return obj{{"Ret", ret}, {"ErrMsg", ""}}
}

// multiline encodes o in the server's layout for larger bodies (PROTOCOL
// 14.2): one key per line, no indentation, a nested object or array closes
// on its own line and the comma that follows it gets a line of its own
// ("}\n,"), arrays of objects are joined by "}\n,{", and the body ends with
// "}\n". Empty objects and arrays stay inline ("[]").
func multiline(o obj) []byte {
	var b bytes.Buffer
	writeMulti(&b, o)
	b.WriteByte('\n')
	return b.Bytes()
}

// compact encodes o in the one-line layout of short answers (PROTOCOL 8.1,
// 14.2): `{"BaseResponse": {"Ret": 0,"ErrMsg": ""},"MsgID": "…"}`, that is a
// space after every colon and none after commas.
func compact(o obj) []byte {
	var b bytes.Buffer
	writeCompact(&b, o)
	return b.Bytes()
}

// composite reports whether v is written over several lines in the
// multi-line layout: a non-empty object, or an array holding one.
func composite(v any) bool {
	switch v := v.(type) {
	case premulti:
		return v.composite
	case obj:
		return len(v) > 0
	case arr:
		for _, x := range v {
			if composite(x) {
				return true
			}
		}
	}
	return false
}

func writeMulti(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case premulti:
		b.Write(v.write(b.AvailableBuffer()))
	case obj:
		if len(v) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteString("{\n")
		for i, m := range v {
			if i > 0 {
				if composite(v[i-1].v) {
					b.WriteString("\n,\n")
				} else {
					b.WriteString(",\n")
				}
			}
			writeString(b, m.k)
			b.WriteString(": ")
			writeMulti(b, m.v)
		}
		b.WriteString("\n}")
	case arr:
		if len(v) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				if composite(v[i-1]) {
					b.WriteString("\n,")
				} else {
					b.WriteByte(',')
				}
			}
			writeMulti(b, x)
		}
		if composite(v[len(v)-1]) {
			b.WriteByte('\n')
		}
		b.WriteByte(']')
	default:
		writeScalar(b, v)
	}
}

func writeCompact(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case obj:
		b.WriteByte('{')
		for i, m := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, m.k)
			b.WriteString(": ")
			writeCompact(b, m.v)
		}
		b.WriteByte('}')
	case arr:
		b.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCompact(b, x)
		}
		b.WriteByte(']')
	default:
		writeScalar(b, v)
	}
}

func writeScalar(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case string:
		writeString(b, v)
	case int:
		writeInt(b, int64(v))
	case int64:
		writeInt(b, v)
	case uint64:
		b.Write(strconv.AppendUint(b.AvailableBuffer(), v, 10))
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case json.Number:
		b.WriteString(string(v))
	default:
		// Only this package builds values; anything else is a bug here.
		panic(fmt.Sprintf("wechattest: cannot encode %T", v))
	}
}

// writeString writes s as a JSON string the way the server does: raw UTF-8,
// no HTML escaping, no escaped slashes; only '"', '\\' and control
// characters are escaped. Invalid UTF-8 becomes U+FFFD.
func writeString(b *bytes.Buffer, s string) {
	b.Write(appendString(b.AvailableBuffer(), s))
}

// appendString appends s to b as writeString writes it.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendStringBody(b, s)
	return append(b, '"')
}

// appendStringBody appends s escaped as in writeString, without the quotes.
// Runs of bytes that need no escaping are appended at once.
func appendStringBody(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	start := 0 // s[start:i] is yet to be appended, as it is
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, `\n`...)
			case c == '\r':
				b = append(b, `\r`...)
			case c == '\t':
				b = append(b, `\t`...)
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
			i++
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}

// writeInt writes n in decimal, without allocating.
func writeInt(b *bytes.Buffer, n int64) {
	b.Write(appendInt(b.AvailableBuffer(), n))
}

// appendInt appends n in decimal; most numbers of an answer are one digit.
func appendInt(b []byte, n int64) []byte {
	if 0 <= n && n < 10 {
		return append(b, byte('0'+n))
	}
	return strconv.AppendInt(b, n, 10)
}

// premulti is a value that writes itself in the multi-line layout when
// writeMulti comes to it, straight into the answer's buffer: the AddMsgList
// of a webwxsync answer, written from the event log (objWriter) instead of
// through an obj per message. composite tells how the layout separates the
// member or element that follows it. A premulti is never written in the
// compact layout.
type premulti struct {
	write     func(b []byte) []byte // appends the value to b
	composite bool
}

// objWriter appends an object member by member in the multi-line layout,
// the same bytes writeMulti writes for the obj of those members, but without
// building it. It holds the state of the object; the bytes go through its
// methods' b, which they append to and return.
type objWriter struct {
	n    int  // members written
	prev bool // the last member's value is composite
}

// beginObj starts an object; at least one member must follow before end.
func beginObj(b []byte) ([]byte, objWriter) {
	return append(b, "{\n"...), objWriter{}
}

// key starts member k, a key of the protocol (letters and digits, nothing
// to escape); composite tells whether its value is.
func (w *objWriter) key(b []byte, k string, composite bool) []byte {
	switch {
	case w.n == 0:
		b = append(b, '"')
	case w.prev:
		b = append(b, "\n,\n\""...)
	default:
		b = append(b, ",\n\""...)
	}
	w.n++
	w.prev = composite
	b = append(b, k...)
	return append(b, `": `...)
}

func (w *objWriter) str(b []byte, k, v string) []byte {
	return appendString(w.key(b, k, false), v)
}

func (w *objWriter) int(b []byte, k string, v int64) []byte {
	return appendInt(w.key(b, k, false), v)
}

// obj starts member k, a non-empty object, and returns its writer.
func (w *objWriter) obj(b []byte, k string) ([]byte, objWriter) {
	return beginObj(w.key(b, k, true))
}

func (w *objWriter) end(b []byte) []byte { return append(b, "\n}"...) }
