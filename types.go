package wechat

import (
	"errors"

	"github.com/wxkit/wechat/internal/wire"
)

// This file ties the session's state to the wire types of internal/wire, which holds every
// request and response shape of the protocol and its tolerant decoding (PROTOCOL 14).

// baseRequest is the BaseRequest object of every JSON POST (PROTOCOL 3.2).
type baseRequest = wire.BaseRequest

// syncKey is the SyncKey / SyncCheckKey object the session keeps and sends back.
type syncKey wire.SyncKey

// syncKeyPair is one Key/Val entry of a syncKey.
type syncKeyPair = wire.KeyVal

// valid reports whether k may replace the stored key: error bodies carry
// {"Count":0,"List":[]} (PROTOCOL 14.6).
func (k syncKey) valid() bool { return wire.SyncKey(k).Valid() }

// String formats k for the synccheck synckey parameter: Key_Val joined by "|".
func (k syncKey) String() string { return wire.SyncKey(k).String() }

// MarshalJSON writes Count as the list length, whatever the server sent.
func (k syncKey) MarshalJSON() ([]byte, error) { return wire.SyncKey(k).MarshalJSON() }

// wireAnswer is a JSON answer decoded by internal/wire.
type wireAnswer interface{ Status() wire.BaseResponse }

// decodeJSON decodes the JSON answer of step op with decode (one of internal/wire's
// decoders). A BaseResponse with a non-zero Ret is an *Error with that Ret, even when the
// rest of the body is broken: a session that ended must end the loop, not be retried. An
// empty body, an HTML page, a broken body or one without a BaseResponse is ErrBadResponse.
// Error texts never quote the body. With an *Error carrying a Ret, the decoded answer is
// returned too (webwxcreatechatroom's -2013 is a success).
func decodeJSON[T wireAnswer](op string, body []byte, decode func([]byte) (T, error)) (T, error) {
	var zero T
	trimmed, err := jsonObjectBody(op, body)
	if err != nil {
		return zero, err
	}
	r, err := decode(trimmed)
	switch b := r.Status(); {
	case b.Found && b.Ret != 0:
		return r, &Error{Op: op, Ret: b.Ret, Msg: b.ErrMsg}
	case err != nil:
		return zero, badResponse(op, err)
	case !b.Found:
		return zero, badResponse(op, errors.New("no BaseResponse"))
	}
	return r, nil
}
