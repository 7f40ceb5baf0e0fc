package wire

// This file holds the answers of the calls that return little more than a BaseResponse.
// Each decoder returns what it could read with an error wrapping ErrSyntax when the body is
// not a JSON object; a caller checks Base.Ret even then.

// Base is an answer of which only the BaseResponse matters (webwxoplog, webwxverifyuser,
// webwxupdatechatroom, a JSON page answered instead of media).
type Base struct {
	Base BaseResponse
}

// DecodeBase decodes an answer's BaseResponse.
func DecodeBase(body []byte) (*Base, error) {
	r := &Base{}
	err := Object(body, func(k, v []byte) error {
		if string(k) == "BaseResponse" {
			r.Base = decodeBase(v)
		}
		return nil
	})
	return r, err
}

// Send is the answer of the send calls (PROTOCOL 8.1) and of webwxstatusnotify (5.2):
// MsgID and LocalID are strings of digits, "" on errors.
type Send struct {
	Base    BaseResponse
	MsgID   string
	LocalID string
}

// DecodeSend decodes the answer of a send call or of webwxstatusnotify.
func DecodeSend(body []byte) (*Send, error) {
	r := &Send{}
	err := Object(body, func(k, v []byte) error {
		switch string(k) {
		case "BaseResponse":
			r.Base = decodeBase(v)
		case "MsgID":
			r.MsgID, _ = Text(v)
		case "LocalID":
			r.LocalID, _ = Text(v)
		}
		return nil
	})
	return r, err
}

// Upload is the answer of a webwxuploadmedia chunk (PROTOCOL 9.1); only the last chunk's is
// sure to carry the MediaId.
type Upload struct {
	Base          BaseResponse
	MediaID       string
	StartPos      int64
	EncryFileName string
}

// DecodeUpload decodes the answer of a webwxuploadmedia chunk.
func DecodeUpload(body []byte) (*Upload, error) {
	r := &Upload{}
	err := Object(body, func(k, v []byte) error {
		switch string(k) {
		case "BaseResponse":
			r.Base = decodeBase(v)
		case "MediaId":
			r.MediaID, _ = Text(v)
		case "StartPos":
			r.StartPos = int64Field(v)
		case "EncryFileName":
			r.EncryFileName, _ = Text(v)
		}
		return nil
	})
	return r, err
}

// CheckUpload is the answer of webwxcheckupload (PROTOCOL 9.2).
type CheckUpload struct {
	Base          BaseResponse
	MediaID       string
	AESKey        string
	Signature     string
	EncryFileName string
}

// DecodeCheckUpload decodes the answer of webwxcheckupload.
func DecodeCheckUpload(body []byte) (*CheckUpload, error) {
	r := &CheckUpload{}
	err := Object(body, func(k, v []byte) error {
		switch string(k) {
		case "BaseResponse":
			r.Base = decodeBase(v)
		case "MediaId":
			r.MediaID, _ = Text(v)
		case "AESKey":
			r.AESKey, _ = Text(v)
		case "Signature":
			r.Signature, _ = Text(v)
		case "EncryFileName":
			r.EncryFileName, _ = Text(v)
		}
		return nil
	})
	return r, err
}

// Revoke is the answer of webwxrevokemsg (PROTOCOL 8.9).
type Revoke struct {
	Base         BaseResponse
	Introduction string
	SysWording   string
}

// DecodeRevoke decodes the answer of webwxrevokemsg.
func DecodeRevoke(body []byte) (*Revoke, error) {
	r := &Revoke{}
	err := Object(body, func(k, v []byte) error {
		switch string(k) {
		case "BaseResponse":
			r.Base = decodeBase(v)
		case "Introduction":
			r.Introduction, _ = Text(v)
		case "SysWording":
			r.SysWording, _ = Text(v)
		}
		return nil
	})
	return r, err
}

// CreateChatroom is the answer of webwxcreatechatroom (PROTOCOL 11.3).
type CreateChatroom struct {
	Base         BaseResponse
	ChatRoomName string
}

// DecodeCreateChatroom decodes the answer of webwxcreatechatroom.
func DecodeCreateChatroom(body []byte) (*CreateChatroom, error) {
	r := &CreateChatroom{}
	err := Object(body, func(k, v []byte) error {
		switch string(k) {
		case "BaseResponse":
			r.Base = decodeBase(v)
		case "ChatRoomName":
			r.ChatRoomName, _ = Text(v)
		}
		return nil
	})
	return r, err
}

// PushLogin is the answer of webwxpushloginurl (PROTOCOL 4.6): lower-case keys, ret a string
// or a number.
type PushLogin struct {
	Ret  int
	Msg  string
	UUID string
}

// DecodePushLogin decodes the answer of webwxpushloginurl. A body without a readable ret is
// an error wrapping ErrSyntax.
func DecodePushLogin(body []byte) (*PushLogin, error) {
	r := &PushLogin{}
	found := false
	err := Object(body, func(k, v []byte) error {
		switch string(k) {
		case "ret":
			var n int64
			n, found = Int(v)
			r.Ret = int(n)
		case "msg":
			r.Msg, _ = Text(v)
		case "uuid":
			r.UUID, _ = Text(v)
		}
		return nil
	})
	if err == nil && !found {
		err = syntaxError(0, "no ret")
	}
	return r, err
}

// Status returns the answer's BaseResponse; every JSON answer of this package has one.
func (r *Base) Status() BaseResponse { return r.Base }

// Status returns the answer's BaseResponse.
func (r *Send) Status() BaseResponse { return r.Base }

// Status returns the answer's BaseResponse.
func (r *Upload) Status() BaseResponse { return r.Base }

// Status returns the answer's BaseResponse.
func (r *CheckUpload) Status() BaseResponse { return r.Base }

// Status returns the answer's BaseResponse.
func (r *Revoke) Status() BaseResponse { return r.Base }

// Status returns the answer's BaseResponse.
func (r *CreateChatroom) Status() BaseResponse { return r.Base }

// Status returns the answer's BaseResponse.
func (r *Sync) Status() BaseResponse { return r.Base }

// Status returns the answer's BaseResponse.
func (r *ContactPage) Status() BaseResponse { return r.Base }

// Status returns the answer's BaseResponse.
func (r *Init) Status() BaseResponse { return r.Base }
