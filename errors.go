package wechat

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors, matched with errors.Is. A failed protocol step is reported as an [*Error]
// whose Is method maps the server's codes onto these.
var (
	// ErrLoggedOut is matched when the server has ended the session: synccheck retcode or
	// BaseResponse.Ret 1100, 1101 or 1102.
	ErrLoggedOut = errors.New("wechat: logged out")

	// ErrLoginForbidden is matched when webwxnewloginpage refuses the login (ret 1203 "this
	// account cannot use web WeChat", an HTML page instead of XML, or missing credentials).
	// The *Error carries the server's ret code and message.
	ErrLoginForbidden = errors.New("wechat: login forbidden")

	// ErrQRExpired is returned by Login when the QR code expired (or was cancelled on the
	// phone) more times than allowed by [WithMaxQRCodes].
	ErrQRExpired = errors.New("wechat: QR code expired")

	// ErrRateLimited is matched when the server answered Ret 1205 (operation too frequent).
	ErrRateLimited = errors.New("wechat: rate limited")

	// ErrBadResponse is matched when a response cannot be understood: an HTML error page, a
	// truncated or malformed body, an unexpected HTTP status.
	ErrBadResponse = errors.New("wechat: bad response")

	// ErrNotLoggedIn is returned by calls that need a session before Login or Run made one.
	ErrNotLoggedIn = errors.New("wechat: not logged in")

	// ErrUnknownContact is returned when a call names a UserName the client does not know
	// and the server cannot resolve.
	ErrUnknownContact = errors.New("wechat: unknown contact")

	// ErrTooLarge is matched when a file is over the size limit of what it is sent as
	// (PROTOCOL 9.1): 20 MB for images and emoticons, less than 20 MB for videos, 50 MB or
	// [WithMaxFileSize] for files. Nothing was uploaded.
	ErrTooLarge = errors.New("wechat: file too large")

	// ErrEmptyFile is matched when a file to send has no bytes. Nothing was uploaded.
	ErrEmptyFile = errors.New("wechat: empty file")

	// ErrNoMedia is matched when a download finds no media: the message has none, or the
	// server answered without it (an expired download: an empty body twice, an HTML or JSON
	// page, a 404; PROTOCOL 14.17).
	ErrNoMedia = errors.New("wechat: no media")

	// ErrRevokeRefused is matched when webwxrevokemsg refuses to revoke a message, typically
	// because it is older than 2 minutes (PROTOCOL 8.9). PROTOCOL.md gives no specific code,
	// so every non-zero Ret of webwxrevokemsg matches, except those matching [ErrLoggedOut]
	// (1100-1102) and [ErrRateLimited] (1205).
	ErrRevokeRefused = errors.New("wechat: revoke refused")

	// ErrWrongKind is matched when an operation names a contact of the wrong kind: a friend
	// where a group is needed, a group or a stranger where a friend is needed, self.
	ErrWrongKind = errors.New("wechat: wrong kind of contact")

	// ErrScanNeeded is returned by Login and Run when the login would need a QR code scan
	// but [WithLoginPolicy] forbids one: the stored session is gone, and the push login was
	// refused, not confirmed or not allowed.
	ErrScanNeeded = errors.New("wechat: a QR code scan is needed")

	// ErrInvalidArgument is matched when an operation's arguments are unusable, before
	// anything is sent: an empty member list, an empty group name, a friend request without
	// its ticket.
	ErrInvalidArgument = errors.New("wechat: invalid argument")
)

// Error reports a failed protocol step. Ret and Msg are what the server sent. Its message never
// contains a URL query, a cookie or a response body, which can all hold credentials.
type Error struct {
	Op  string // protocol step: "synccheck", "webwxsendmsg", ...
	Ret int    // BaseResponse.Ret, synccheck retcode or login code; 0 if not a server code
	Msg string // BaseResponse.ErrMsg or the login message, verbatim; may be empty
	Err error  // underlying cause (transport, decoding), or nil
}

// Error returns "wechat: <op>: ret <n> \"<msg>\": <cause>", leaving out the empty parts.
func (e *Error) Error() string {
	s := "wechat: " + e.Op
	if e.Ret != 0 {
		s += ": ret " + strconv.Itoa(e.Ret)
	}
	if e.Msg != "" {
		s += " " + strconv.Quote(e.Msg)
	}
	if e.Err != nil {
		// Sentinels start with the package's prefix too; say it once.
		s += ": " + strings.TrimPrefix(e.Err.Error(), "wechat: ")
	}
	return s
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrLoggedOut) true for Ret 1100, 1101 and 1102,
// errors.Is(err, ErrRateLimited) true for Ret 1205, errors.Is(err, ErrLoginForbidden) true
// for a refused webwxnewloginpage, and errors.Is(err, ErrRevokeRefused) true for any other
// non-zero Ret of webwxrevokemsg.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrLoggedOut:
		return isLoggedOutRet(e.Ret)
	case ErrRateLimited:
		return e.Ret == 1205
	case ErrLoginForbidden:
		return e.Op == opNewLoginPage && e.Ret != 0
	case ErrRevokeRefused:
		return e.Op == opRevokeMsg && e.Ret != 0 && !isLoggedOutRet(e.Ret) && e.Ret != 1205
	}
	return false
}

func isLoggedOutRet(ret int) bool { return ret == 1100 || ret == 1101 || ret == 1102 }

// badResponse wraps a decoding failure so that it matches both ErrBadResponse and the cause.
func badResponse(op string, err error) *Error {
	return &Error{Op: op, Err: fmt.Errorf("%w: %w", ErrBadResponse, err)}
}
