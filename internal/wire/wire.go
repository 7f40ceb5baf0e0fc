// Package wire holds the request bodies and response shapes of the Web WeChat protocol
// (PROTOCOL.md) and their decoding, with no dependency on the Client: jslogin, the login
// poll, webwxnewloginpage, webwxinit, webwxstatusnotify, webwxgetcontact,
// webwxbatchgetcontact, synccheck, webwxsync, the answers of the send and upload calls, and
// the XML payloads inside messages.
//
// It is the one place that knows the server's quirks (PROTOCOL 14): every JSON number goes
// through [Int] (numbers, numeric strings, "" and null; 64-bit values), every JSON string
// through [Text] (strings, or numbers kept as their digits), and the decoders are tolerant per
// entry and per field:
//
//   - a field that does not fit its type reads as its zero value; the entry keeps its real
//     type and the other fields, and its raw bytes;
//   - an entry that cannot be read at all (nested deeper than [MaxDepth], larger than
//     [MaxEntry], or broken inside) is kept with its raw bytes and Err set, and every other
//     entry of the list is decoded; the body's SyncKey is read as usual;
//   - only a body whose framing is broken (not a JSON object, cut off, an HTML page) is an
//     error, wrapping [ErrSyntax];
//   - the XML of webwxnewloginpage and of message payloads is read leniently: invalid UTF-8
//     and characters XML forbids are replaced by U+FFFD, entities are HTML's.
//
// Decoded strings never alias the body: a caller may keep them after reusing it. Raw fields
// do alias it.
package wire

// Limits of the tolerant decoders.
const (
	// MaxDepth is the deepest nesting an entry of a list (a message, a contact) may have
	// to be decoded: the entry object counts 1, each object or array inside it one more.
	MaxDepth = 64
	// MaxEntry is the largest entry, in bytes of JSON, that is decoded.
	MaxEntry = 4 << 20
)

// BaseResponse is the BaseResponse object of every JSON answer (PROTOCOL 3.8). Found is false
// when the body had none that could be read, or one without a readable Ret (a number or a
// numeric string); Ret is 0 for success (PROTOCOL 13).
type BaseResponse struct {
	Ret    int
	ErrMsg string
	Found  bool
}

// decodeBase decodes a BaseResponse object; an odd field reads as zero.
func decodeBase(val []byte) BaseResponse {
	it, err := openObject(val, 0)
	if err != nil {
		return BaseResponse{}
	}
	var b BaseResponse
	for {
		k, v, ok := it.next()
		if !ok {
			break
		}
		switch string(k) {
		case "Ret":
			// The one field that is not read leniently: a Ret that cannot be read must not
			// pass for success.
			n, ok := Int(v)
			b.Ret, b.Found = int(n), ok && int64(int(n)) == n
		case "ErrMsg":
			b.ErrMsg, _ = Text(v)
		}
	}
	if it.err != nil || !b.Found {
		return BaseResponse{}
	}
	return b
}
