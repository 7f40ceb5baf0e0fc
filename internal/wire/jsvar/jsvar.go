// Package jsvar parses the JavaScript assignment bodies that the Web WeChat
// login and synccheck endpoints send instead of JSON (PROTOCOL 3.8, 4.1,
// 4.3, 6.1 and 14.1), such as
//
//	window.QRLogin.code = 200; window.QRLogin.uuid = "Xk3fQ9mZaA==";
//	window.synccheck={retcode:"0",selector:"2"}
//
// The parser accepts the small subset of JavaScript these bodies use:
// assignments to dotted names whose values are integers, quoted strings,
// true/false/null or object literals of those. It is a single linear pass
// over the body and never panics.
package jsvar

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// ErrSyntax is wrapped by every error [Parse] returns. The error text gives
// the byte offset and a short reason, never any part of the body, which can
// hold tickets and other secrets.
var ErrSyntax = errors.New("jsvar: syntax error")

// Limits that keep Parse linear in the size of its input: every flattened
// name is at most maxName bytes and object literals nest at most maxDepth
// levels. Real bodies use names of under 30 bytes and one level.
const (
	maxName  = 256
	maxDepth = 32
)

// Vars holds the values assigned by a body, keyed by the assigned name
// without its leading "window." ("code", "QRLogin.uuid"). Members of object
// literals are flattened with dots ("synccheck.retcode"). Every value is kept
// as text: strings decoded, integers as written ("-1"), and true, false and
// null as those words. Like any map, Vars may be read from several
// goroutines at once but not written while read.
type Vars map[string]string

// Int returns the value of name as an int, whether it was assigned as a
// number or as a numeric string (window.synccheck's retcode is "0"). ok is
// false when name is missing or its value is not a decimal integer that
// fits an int.
func (v Vars) Int(name string) (n int, ok bool) {
	s, found := v[name]
	if !found {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// Parse parses a body of JavaScript assignment statements such as
//
//	window.QRLogin.code = 200; window.QRLogin.uuid = "Xk3fQ9mZaA==";
//	window.code=201;window.userAvatar = 'data:img/jpg;base64,...';
//	window.code=200;\nwindow.redirect_uri="https://...";
//	window.synccheck={retcode:"0",selector:"2"}
//
// Names lose their leading "window."; members of object literals are
// flattened with dots ("synccheck.retcode"). Values may be integers
// (possibly negative), single- or double-quoted strings (JavaScript escapes
// such as \" \' \\ \/ \n \t and \uXXXX are decoded), true, false, null, or
// object literals with bare or quoted keys. Whitespace between tokens is
// free. Statements are separated by semicolons or line breaks; empty
// statements are allowed and the final semicolon is optional. When a name is
// assigned twice, the last value wins.
//
// A body that is empty, holds no assignment, is cut off, or has anything
// else in it (an HTML error page, trailing garbage) gives an error wrapping
// [ErrSyntax] and nil Vars.
func Parse(body []byte) (Vars, error) {
	p := parser{b: body, vars: Vars{}}
	if err := p.parse(); err != nil {
		return nil, err
	}
	return p.vars, nil
}

// parser holds the state of one Parse call.
type parser struct {
	b    []byte
	pos  int
	vars Vars
}

// errorf returns a syntax error at the current offset. reason must be a
// constant text: it must never quote the body.
func (p *parser) errorf(reason string) error {
	return fmt.Errorf("%w: offset %d: %s", ErrSyntax, p.pos, reason)
}

func (p *parser) eof() bool { return p.pos >= len(p.b) }

// parse parses the statement list: statements separated by ';' or by a line
// break, with empty statements allowed.
func (p *parser) parse() error {
	if len(p.b) == 0 {
		return p.errorf("empty body")
	}
	// Tolerate a UTF-8 byte order mark.
	if len(p.b) >= 3 && p.b[0] == 0xEF && p.b[1] == 0xBB && p.b[2] == 0xBF {
		p.pos = 3
	}
	statements := 0
	separated := true
	for {
		if p.skipSpace() {
			separated = true
		}
		if p.eof() {
			break
		}
		if p.b[p.pos] == ';' {
			p.pos++
			separated = true
			continue
		}
		if !separated {
			return p.errorf("expected ';' after statement")
		}
		if err := p.assignment(); err != nil {
			return err
		}
		statements++
		separated = false
	}
	if statements == 0 {
		return p.errorf("no assignment")
	}
	return nil
}

// assignment parses `name = value`.
func (p *parser) assignment() error {
	name, err := p.name()
	if err != nil {
		return err
	}
	p.skipSpace()
	if p.eof() {
		return p.errorf("unexpected end of body, expected '='")
	}
	if p.b[p.pos] != '=' {
		return p.errorf("expected '='")
	}
	p.pos++
	p.skipSpace()
	return p.value(name, 0)
}

// name parses a dotted name (`window.QRLogin.code`) and returns it without
// a leading "window.".
func (p *parser) name() (string, error) {
	var buf []byte
	for {
		id, err := p.ident()
		if err != nil {
			return "", err
		}
		if len(buf)+1+len(id) > maxName {
			return "", p.errorf("name too long")
		}
		if len(buf) > 0 {
			buf = append(buf, '.')
		}
		buf = append(buf, id...)
		start := p.pos
		p.skipSpace()
		if p.eof() || p.b[p.pos] != '.' {
			p.pos = start
			break
		}
		p.pos++
		p.skipSpace()
	}
	const window = "window."
	if len(buf) > len(window) && string(buf[:len(window)]) == window {
		buf = buf[len(window):]
	}
	return string(buf), nil
}

// ident parses a JavaScript identifier made of ASCII letters, digits, '_'
// and '$'. The returned slice aliases the body.
func (p *parser) ident() ([]byte, error) {
	if p.eof() {
		return nil, p.errorf("unexpected end of body, expected a name")
	}
	if !isIdentStart(p.b[p.pos]) {
		return nil, p.errorf("expected a name")
	}
	start := p.pos
	for !p.eof() && isIdentPart(p.b[p.pos]) {
		p.pos++
	}
	return p.b[start:p.pos], nil
}

// value parses a value and stores it (or, for an object literal, its
// members) under name.
func (p *parser) value(name string, depth int) error {
	if p.eof() {
		return p.errorf("unexpected end of body, expected a value")
	}
	switch c := p.b[p.pos]; {
	case c == '"' || c == '\'':
		s, err := p.str()
		if err != nil {
			return err
		}
		p.vars[name] = s
	case c == '-' || isDigit(c):
		s, err := p.number()
		if err != nil {
			return err
		}
		p.vars[name] = s
	case c == '{':
		return p.object(name, depth+1)
	case isIdentStart(c):
		id, err := p.ident()
		if err != nil {
			return err
		}
		switch string(id) {
		case "true", "false", "null":
			p.vars[name] = string(id)
		default:
			p.pos -= len(id)
			return p.errorf("unexpected name, expected a value")
		}
	default:
		return p.errorf("expected a value")
	}
	return nil
}

// number parses an integer, possibly negative, and returns it as written.
func (p *parser) number() (string, error) {
	start := p.pos
	if p.b[p.pos] == '-' {
		p.pos++
	}
	digits := p.pos
	for !p.eof() && isDigit(p.b[p.pos]) {
		p.pos++
	}
	if p.pos == digits {
		return "", p.errorf("expected digits")
	}
	if !p.eof() && (isIdentPart(p.b[p.pos]) || p.b[p.pos] == '.') {
		return "", p.errorf("malformed number")
	}
	return string(p.b[start:p.pos]), nil
}

// object parses an object literal `{key: value, ...}` and stores its
// members as name.key.
func (p *parser) object(name string, depth int) error {
	if depth > maxDepth {
		return p.errorf("object literals nested too deeply")
	}
	p.pos++ // '{'
	for {
		p.skipSpace()
		if p.eof() {
			return p.errorf("unexpected end of body in object literal")
		}
		if p.b[p.pos] == '}' { // empty object or trailing comma
			p.pos++
			return nil
		}
		key, err := p.key()
		if err != nil {
			return err
		}
		if len(name)+1+len(key) > maxName {
			return p.errorf("name too long")
		}
		p.skipSpace()
		if p.eof() {
			return p.errorf("unexpected end of body, expected ':'")
		}
		if p.b[p.pos] != ':' {
			return p.errorf("expected ':'")
		}
		p.pos++
		p.skipSpace()
		if err := p.value(name+"."+key, depth); err != nil {
			return err
		}
		p.skipSpace()
		if p.eof() {
			return p.errorf("unexpected end of body in object literal")
		}
		switch p.b[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return nil
		default:
			return p.errorf("expected ',' or '}'")
		}
	}
}

// key parses an object literal key: an identifier, a quoted string or a
// non-negative integer.
func (p *parser) key() (string, error) {
	switch c := p.b[p.pos]; {
	case c == '"' || c == '\'':
		return p.str()
	case isDigit(c):
		start := p.pos
		for !p.eof() && isDigit(p.b[p.pos]) {
			p.pos++
		}
		return string(p.b[start:p.pos]), nil
	case isIdentStart(c):
		id, err := p.ident()
		return string(id), err
	default:
		return "", p.errorf("expected a key")
	}
}

// str parses a single- or double-quoted string literal and returns it
// decoded. Bytes that are not escapes are copied as they are, so a body in
// another encoding than UTF-8 keeps its bytes.
func (p *parser) str() (string, error) {
	quote := p.b[p.pos]
	p.pos++
	start := p.pos
	// Fast path: no escape.
	for !p.eof() {
		c := p.b[p.pos]
		if c == quote {
			s := string(p.b[start:p.pos])
			p.pos++
			return s, nil
		}
		if c == '\\' {
			break
		}
		if c == '\n' || c == '\r' {
			return "", p.errorf("line break in string")
		}
		p.pos++
	}
	buf := append([]byte(nil), p.b[start:p.pos]...)
	for !p.eof() {
		c := p.b[p.pos]
		switch {
		case c == quote:
			p.pos++
			return string(buf), nil
		case c == '\n' || c == '\r':
			return "", p.errorf("line break in string")
		case c == '\\':
			var err error
			if buf, err = p.escape(buf); err != nil {
				return "", err
			}
		default:
			buf = append(buf, c)
			p.pos++
		}
	}
	return "", p.errorf("unterminated string")
}

// escape decodes the escape sequence at p.pos (which is a backslash) and
// appends it to buf.
func (p *parser) escape(buf []byte) ([]byte, error) {
	p.pos++ // '\\'
	if p.eof() {
		return nil, p.errorf("unterminated string")
	}
	c := p.b[p.pos]
	p.pos++
	switch c {
	case 'n':
		return append(buf, '\n'), nil
	case 't':
		return append(buf, '\t'), nil
	case 'r':
		return append(buf, '\r'), nil
	case 'b':
		return append(buf, '\b'), nil
	case 'f':
		return append(buf, '\f'), nil
	case 'v':
		return append(buf, '\v'), nil
	case '0':
		return append(buf, 0), nil
	case '\r': // line continuation
		if !p.eof() && p.b[p.pos] == '\n' {
			p.pos++
		}
		return buf, nil
	case '\n': // line continuation
		return buf, nil
	case 'x':
		r, ok := p.hex(2)
		if !ok {
			return nil, p.errorf(`invalid \x escape`)
		}
		return utf8.AppendRune(buf, r), nil
	case 'u':
		r, ok := p.hex(4)
		if !ok {
			return nil, p.errorf(`invalid \u escape`)
		}
		if 0xD800 <= r && r < 0xDC00 && p.pos+6 <= len(p.b) && p.b[p.pos] == '\\' && p.b[p.pos+1] == 'u' {
			// A surrogate pair: \uD83D\uDE04.
			save := p.pos
			p.pos += 2
			if lo, ok := p.hex(4); ok && 0xDC00 <= lo && lo < 0xE000 {
				r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
			} else {
				p.pos = save
			}
		}
		// A lone surrogate becomes U+FFFD.
		return utf8.AppendRune(buf, r), nil
	default:
		// \" \' \\ \/ and any other character stand for themselves.
		return append(buf, c), nil
	}
}

// hex reads n hexadecimal digits.
func (p *parser) hex(n int) (rune, bool) {
	if p.pos+n > len(p.b) {
		return 0, false
	}
	var r rune
	for _, c := range p.b[p.pos : p.pos+n] {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	p.pos += n
	return r, true
}

// skipSpace skips white space and reports whether it contained a line
// break.
func (p *parser) skipSpace() (lineBreak bool) {
	for !p.eof() {
		switch p.b[p.pos] {
		case '\n', '\r':
			lineBreak = true
		case ' ', '\t', '\v', '\f':
		default:
			return lineBreak
		}
		p.pos++
	}
	return lineBreak
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isIdentStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '$'
}

func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) }
