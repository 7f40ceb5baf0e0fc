package wire

import (
	"bytes"
	"encoding/json"
)

// This file holds the request bodies of the calls the session core makes. The send and
// contact-operation bodies are built where those calls are.

// BaseRequest is the BaseRequest object of every JSON POST (PROTOCOL 3.2).
type BaseRequest struct {
	Uin      int64  `json:"Uin"`
	Sid      string `json:"Sid"`
	Skey     string `json:"Skey"`
	DeviceID string `json:"DeviceID"`
}

// InitRequest is the body of webwxinit (PROTOCOL 5.1).
type InitRequest struct {
	BaseRequest BaseRequest `json:"BaseRequest"`
}

// StatusNotifyRequest is the body of webwxstatusnotify (PROTOCOL 5.2).
type StatusNotifyRequest struct {
	BaseRequest  BaseRequest `json:"BaseRequest"`
	Code         int         `json:"Code"`
	FromUserName string      `json:"FromUserName"`
	ToUserName   string      `json:"ToUserName"`
	ClientMsgID  int64       `json:"ClientMsgId"`
}

// BatchContactRequest is the body of webwxbatchgetcontact (PROTOCOL 5.4): at most 50 entries.
type BatchContactRequest struct {
	BaseRequest BaseRequest         `json:"BaseRequest"`
	Count       int                 `json:"Count"`
	List        []BatchContactEntry `json:"List"`
}

// BatchContactEntry names one contact of a BatchContactRequest; EncryChatRoomID is "" for a
// user or a group, the group's EncryChatRoomId for a member's full profile.
type BatchContactEntry struct {
	UserName        string `json:"UserName"`
	EncryChatRoomID string `json:"EncryChatRoomId"`
}

// SyncRequest is the body of webwxsync (PROTOCOL 6.2): the SyncKey sent back as received.
type SyncRequest struct {
	BaseRequest BaseRequest `json:"BaseRequest"`
	SyncKey     SyncKey     `json:"SyncKey"`
	RR          int32       `json:"rr"`
}

// EncodeJSON encodes v as the server wants request bodies (PROTOCOL 3.7): raw UTF-8, no HTML
// escaping, no escaped slashes, no trailing newline.
func EncodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
