// Package redact keeps session secrets out of logs and error strings.
//
// Web WeChat puts its credentials (skey, sid, uin, pass_ticket, tickets) in
// URL queries, and a transport failure reported by net/http is a
// [*url.Error] whose text holds the full request URL. [Error] rewrites such
// errors before they are returned or logged; [URL] does the same for a
// single URL.
package redact

import (
	"net/url"
	"reflect"
	"strconv"
	"strings"
)

// redacted replaces a removed query or fragment, and a whole malformed URL.
const redacted = "REDACTED"

// URL returns u with its query and fragment, when either is non-empty,
// replaced by "?REDACTED"; scheme, host and path are kept. A password in the
// user information is replaced by "REDACTED" as well. A u that does not
// parse as a URL gives "REDACTED".
func URL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return redacted
	}
	secret := p.RawQuery != "" || p.Fragment != "" || p.RawFragment != ""
	if _, has := p.User.Password(); has {
		p.User = url.UserPassword(p.User.Username(), redacted)
	}
	p.RawQuery, p.ForceQuery = "", false
	p.Fragment, p.RawFragment = "", ""
	s := p.String()
	if secret {
		s += "?" + redacted
	}
	return s
}

// Error returns err with the URL of every [*url.Error] in its chain replaced
// by [URL] of it, so that neither its text nor the *url.Error that
// [errors.As] finds holds a secret. It returns nil for nil, and err itself
// when its chain holds no *url.Error.
//
// The *url.Error is copied, never modified. Each error wrapping it (and any
// other error in the chain whose text quotes the URL) is replaced by an
// error whose text is the original text with the URL redacted and which
// unwraps to the redacted chain. So [errors.Is] still matches the replaced
// errors themselves (by equality and by their Is method) and everything
// beneath the *url.Error (context.Canceled, net errors); [errors.As] finds
// the redacted *url.Error and everything beneath it, but not the replaced
// errors, which still hold the full URL. Call Error on a transport error
// before wrapping it in your own error types.
func Error(err error) error {
	if err == nil {
		return nil
	}
	var urls []*url.Error
	collect(err, &urls)
	if len(urls) == 0 {
		return err
	}
	return rebuild(err, urls)
}

// collect appends every non-nil *url.Error in err's chain to urls.
func collect(err error, urls *[]*url.Error) {
	for err != nil {
		if ue, ok := err.(*url.Error); ok {
			if ue == nil {
				return // a typed nil has no URL and cannot be unwrapped
			}
			*urls = append(*urls, ue)
		}
		switch w := err.(type) {
		case interface{ Unwrap() error }:
			err = w.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range w.Unwrap() {
				collect(e, urls)
			}
			return
		default:
			return
		}
	}
}

// rebuild returns err with every *url.Error copied and redacted, and every
// other error whose text holds one of urls (all the *url.Errors of the
// whole chain) or that has a *url.Error beneath it replaced by a wrapper
// with scrubbed text. Other errors are returned as they are.
func rebuild(err error, urls []*url.Error) error {
	if err == nil {
		return nil
	}
	if ue, ok := err.(*url.Error); ok {
		if ue == nil {
			return err
		}
		c := *ue
		c.URL = URL(ue.URL)
		c.Err = rebuild(ue.Err, urls)
		return &c
	}
	text := err.Error()
	msg := scrub(text, urls)
	if msg == text && !holds(err) {
		return err
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return &wrapper{orig: err, msg: msg, next: rebuild(u.Unwrap(), urls)}
	case interface{ Unwrap() []error }:
		orig := u.Unwrap()
		nexts := make([]error, len(orig))
		for i, e := range orig {
			nexts[i] = rebuild(e, urls)
		}
		return &multiWrapper{orig: err, msg: msg, nexts: nexts}
	default:
		// A leaf whose own text holds a URL.
		return &wrapper{orig: err, msg: msg}
	}
}

// holds reports whether err's chain holds a *url.Error.
func holds(err error) bool {
	var found []*url.Error
	collect(err, &found)
	return len(found) > 0
}

// scrub replaces each URL of urls in msg by its redacted form, as written
// by url.Error.Error (quoted) or verbatim, and then any remaining copy of a
// query.
func scrub(msg string, urls []*url.Error) string {
	for _, ue := range urls {
		if ue.URL == "" {
			continue
		}
		red := URL(ue.URL)
		quoted := strconv.Quote(ue.URL)
		msg = strings.ReplaceAll(msg, quoted[1:len(quoted)-1], red)
		msg = strings.ReplaceAll(msg, ue.URL, red)
		if p, err := url.Parse(ue.URL); err == nil {
			for _, secret := range []string{p.RawQuery, p.EscapedFragment()} {
				// Short queries are no secret worth mangling the text for.
				if len(secret) >= 8 {
					msg = strings.ReplaceAll(msg, secret, redacted)
				}
			}
		}
	}
	return msg
}

// wrapper stands for an error with one wrapped error that wrapped a
// *url.Error. It has the original's text with the URL redacted and unwraps
// to the redacted chain.
type wrapper struct {
	orig error
	msg  string
	next error // redacted Unwrap() of orig
}

func (w *wrapper) Error() string { return w.msg }

// Unwrap returns the redacted chain below the original error.
func (w *wrapper) Unwrap() error { return w.next }

// Is reports whether the original error is target, or says it matches
// target with its own Is method.
func (w *wrapper) Is(target error) bool { return is(w.orig, target) }

// multiWrapper is wrapper for an error that wraps several errors (such as
// errors.Join or fmt.Errorf with several %w).
type multiWrapper struct {
	orig  error
	msg   string
	nexts []error // redacted Unwrap() of orig
}

func (w *multiWrapper) Error() string { return w.msg }

// Unwrap returns the redacted errors below the original error.
func (w *multiWrapper) Unwrap() []error { return w.nexts }

// Is reports whether the original error is target, or says it matches
// target with its own Is method.
func (w *multiWrapper) Is(target error) bool { return is(w.orig, target) }

// is reports whether orig itself (not its chain) matches target, as
// errors.Is would check it.
func is(orig, target error) bool {
	if target == nil {
		return false
	}
	if reflect.TypeOf(orig).Comparable() && orig == target {
		return true
	}
	if x, ok := orig.(interface{ Is(error) bool }); ok {
		return x.Is(target)
	}
	return false
}
