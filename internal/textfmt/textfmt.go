// Package textfmt decodes the text the Web WeChat server sends in names
// (NickName, RemarkName, DisplayName) and in message Content: emoji spans,
// <br/> line breaks, HTML entities and the group sender prefix
// (PROTOCOL 5.9, 7.4, 14.8 and 14.16).
//
// The recommended order for a group message is [SplitSender], then [Text]
// on the rest; [Mentions] then works on the decoded text.
package textfmt

import (
	"bytes"
	"html"
	"strings"
	"unicode/utf8"
)

const (
	spanOpen  = `<span class="emoji emoji`
	spanClose = `"></span` // followed by '>' unless the span was truncated
	maxHex    = 10
)

// Emoji replaces the emoji spans of s, such as
// <span class="emoji emoji1f604"></span>, by the emoji they stand for
// (PROTOCOL.md 5.9). The hex code (either case) is first corrected with the
// protocol's remap table (1f63c becomes 1f601, ...), then decoded by its
// length: 4 or 5 hex digits are one code point; 6 are two code points of 2
// and 4 digits (keycaps: 2320e3 is "#\u20e3"); 8 are two of 4 digits; 10
// are two of 5 digits (flags: 1f1e81f1f3 is 🇨🇳). A span cut off before its
// final '>' is decoded as well. A span whose code has another length or is
// not a valid code point is left as it is, and so is everything else in s,
// including invalid UTF-8.
func Emoji(s string) string {
	i := strings.Index(s, spanOpen)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for ; i >= 0; i = strings.Index(s, spanOpen) {
		b.WriteString(s[:i])
		rest := s[i+len(spanOpen):]
		n := 0
		for n < len(rest) && n <= maxHex && isHex(rest[n]) {
			n++
		}
		var decoded [2]rune
		var ok bool
		if n <= maxHex && strings.HasPrefix(rest[n:], spanClose) {
			decoded, ok = decode(rest[:n])
		}
		if !ok {
			// Not a decodable span: keep its opening text and go on
			// looking after it.
			b.WriteString(spanOpen)
			s = rest
			continue
		}
		for _, r := range decoded {
			if r != 0 {
				b.WriteRune(r)
			}
		}
		end := n + len(spanClose)
		if end < len(rest) && rest[end] == '>' {
			end++
		}
		s = rest[end:]
	}
	b.WriteString(s)
	return b.String()
}

// Text decodes a text message Content, or a name, into plain text: it
// decodes emoji spans as [Emoji] does, turns each "<br/>" into "\n" and
// unescapes HTML entities as [html.UnescapeString] does (the five the server
// uses and any other), in one pass from left to right: what a span or an
// entity decodes to is not decoded again. A string without '<' and '&' is
// returned as it is, without allocating. Invalid UTF-8 is kept.
func Text(s string) string {
	if strings.IndexByte(s, '<') < 0 && strings.IndexByte(s, '&') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	WriteText(&b, []byte(s))
	return b.String()
}

// WriteText writes s decoded as [Text] decodes it to b. It writes at most
// len(s) bytes: every span, line break and entity is longer than what it
// decodes to, so a caller can reserve len(s) bytes in b beforehand.
func WriteText(b *strings.Builder, s []byte) {
	for len(s) > 0 {
		i := bytes.IndexByte(s, '<')
		if j := bytes.IndexByte(s, '&'); j >= 0 && (i < 0 || j < i) {
			i = j
		}
		if i < 0 {
			b.Write(s)
			return
		}
		b.Write(s[:i])
		s = s[i:]
		if s[0] == '&' {
			s = writeEntity(b, s)
			continue
		}
		switch {
		case bytes.HasPrefix(s, brTag):
			b.WriteByte('\n')
			s = s[len(brTag):]
		case bytes.HasPrefix(s, spanOpenBytes):
			if n := writeEmoji(b, s[len(spanOpen):]); n > 0 {
				s = s[len(spanOpen)+n:]
				continue
			}
			b.WriteByte('<')
			s = s[1:]
		default:
			b.WriteByte('<')
			s = s[1:]
		}
	}
}

var (
	brTag         = []byte("<br/>")
	spanOpenBytes = []byte(spanOpen)
)

// writeEmoji decodes the span whose code starts rest (what follows spanOpen)
// and returns the bytes of rest it took, or 0 if it is not a decodable span.
func writeEmoji(b *strings.Builder, rest []byte) int {
	n := 0
	for n < len(rest) && n <= maxHex && isHex(rest[n]) {
		n++
	}
	if n > maxHex || !bytes.HasPrefix(rest[n:], []byte(spanClose)) {
		return 0
	}
	decoded, ok := decode(string(rest[:n]))
	if !ok {
		return 0
	}
	for _, r := range decoded {
		if r != 0 {
			b.WriteRune(r)
		}
	}
	end := n + len(spanClose)
	if end < len(rest) && rest[end] == '>' {
		end++
	}
	return end
}

// writeEntity decodes the character reference s starts with ('&') and
// returns the rest of s. The five entities the server uses are decoded here;
// any other goes through html.UnescapeString, which knows them all.
func writeEntity(b *strings.Builder, s []byte) []byte {
	for _, e := range commonEntities {
		if bytes.HasPrefix(s, e.ref) {
			b.WriteByte(e.c)
			return s[len(e.ref):]
		}
	}
	// The reference html.UnescapeString would consume: "&#" digits, "&#x" hex
	// digits or "&" alphanumerics, and an optional ';'. No reference spans an
	// '&', so decoding it alone is decoding it in place.
	n := 1
	if n < len(s) && s[n] == '#' {
		n++
		hex := n < len(s) && (s[n] == 'x' || s[n] == 'X')
		if hex {
			n++
		}
		for n < len(s) && ('0' <= s[n] && s[n] <= '9' || hex && isHex(s[n])) {
			n++
		}
	} else {
		for n < len(s) && isAlnum(s[n]) {
			n++
		}
	}
	if n < len(s) && s[n] == ';' {
		n++
	}
	b.WriteString(html.UnescapeString(string(s[:n])))
	return s[n:]
}

var commonEntities = [...]struct {
	ref []byte
	c   byte
}{
	{[]byte("&amp;"), '&'},
	{[]byte("&lt;"), '<'},
	{[]byte("&gt;"), '>'},
	{[]byte("&quot;"), '"'},
	{[]byte("&#39;"), '\''},
}

// SplitSender splits the sender prefix off the Content of a message received
// in a group: content that matches ^(@[a-zA-Z0-9]+|[a-zA-Z0-9_-]+):<br/>
// gives the member's UserName as sender ("@0123abcd" or a plain wxid), the
// rest of content after "<br/>" and ok true. Otherwise (messages the user
// sent to the group, system messages) sender is empty, rest is content and ok
// is false. content is the raw wire text, as a string or as bytes (then
// sender and rest share its memory); decode rest with [Text].
func SplitSender[T string | []byte](content T) (sender, rest T, ok bool) {
	const sep = ":<br/>"
	n := 0
	if len(content) > 0 && content[0] == '@' {
		n = 1
		for n < len(content) && isAlnum(content[n]) {
			n++
		}
		if n == 1 {
			return sender, content, false
		}
	} else {
		for n < len(content) && (isAlnum(content[n]) || content[n] == '_' || content[n] == '-') {
			n++
		}
		if n == 0 {
			return sender, content, false
		}
	}
	if len(content)-n < len(sep) || string(content[n:n+len(sep)]) != sep {
		return sender, content, false
	}
	return content[:n], content[n+len(sep):], true
}

// Mentions reports whether text, already decoded with [Text], mentions name
// (PROTOCOL.md 7.4 item 6): "@"+name followed by U+2005 FOUR-PER-EM SPACE,
// a normal space, or the end of text. name is the member's group
// DisplayName if set, else the NickName, decoded. An empty name is never
// mentioned.
func Mentions(text, name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(text); {
		j := strings.Index(text[i:], name)
		if j < 0 {
			return false
		}
		at := i + j
		end := at + len(name)
		if at > 0 && text[at-1] == '@' &&
			(end == len(text) || text[end] == ' ' || strings.HasPrefix(text[end:], "\u2005")) {
			return true
		}
		i = at + 1
	}
	return false
}

// remap corrects the wrong code points the server emits (PROTOCOL.md 5.9).
func remap(hex string) string {
	switch hex {
	case "1f63c":
		return "1f601"
	case "1f639":
		return "1f602"
	case "1f63a":
		return "1f603"
	case "1f4ab":
		return "1f616"
	case "1f64d":
		return "1f614"
	case "1f63b":
		return "1f60d"
	case "1f63d":
		return "1f618"
	case "1f64e":
		return "1f621"
	case "1f63f":
		return "1f622"
	}
	return hex
}

// decode decodes the hex code of an emoji span into one or two code points
// (the second is 0 when there is one). ok is false for a length other than
// 4, 5, 6, 8 or 10, or an invalid code point.
func decode(code string) (runes [2]rune, ok bool) {
	var lower [maxHex]byte
	if len(code) > maxHex {
		return runes, false
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if 'A' <= c && c <= 'F' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	hex := remap(string(lower[:len(code)]))
	var parts [2]string
	switch len(hex) {
	case 4, 5:
		parts[0] = hex
	case 6:
		parts[0], parts[1] = hex[:2], hex[2:]
	case 8:
		parts[0], parts[1] = hex[:4], hex[4:]
	case 10:
		parts[0], parts[1] = hex[:5], hex[5:]
	default:
		return runes, false
	}
	for i, p := range parts {
		if p == "" {
			continue
		}
		var r rune
		for j := 0; j < len(p); j++ {
			r = r<<4 | rune(hexValue(p[j]))
		}
		// Reject surrogates, values past U+10FFFF and control characters.
		if !utf8.ValidRune(r) || r < 0x20 || r == 0x7f {
			return runes, false
		}
		runes[i] = r
	}
	return runes, true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// hexValue returns the value of the lower-case hex digit c.
func hexValue(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
