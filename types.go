package wechat

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// This file holds the wire types: the JSON shapes of PROTOCOL.md, decoded leniently because the
// server sends numbers as strings and strings as numbers (PROTOCOL 14.4, 14.5).

// flexInt is an integer that decodes from a JSON number, a numeric string, "" or null.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(strings.TrimSpace(s))
	}
	switch string(b) {
	case "", "null":
		*n = 0
		return nil
	}
	if v, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		*n = flexInt(v)
		return nil
	}
	if v, err := strconv.ParseUint(string(b), 10, 64); err == nil { // above 2^63: keep the bits
		*n = flexInt(v)
		return nil
	}
	if f, err := strconv.ParseFloat(string(b), 64); err == nil && f == float64(int64(f)) {
		*n = flexInt(f) // 1.0 or 1e3 from a sloppy encoder
		return nil
	}
	return errors.New("not an integer")
}

// flexString is a string that also decodes from a JSON number (ids such as MsgId, which the
// server sends as strings but other encoders as numbers) or null.
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, (*string)(s))
	}
	if string(b) == "null" {
		*s = ""
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*s = flexString(n)
	return nil
}

// baseRequest is the BaseRequest object of every JSON POST (PROTOCOL 3.2).
type baseRequest struct {
	Uin      int64  `json:"Uin"`
	Sid      string `json:"Sid"`
	Skey     string `json:"Skey"`
	DeviceID string `json:"DeviceID"`
}

type baseResponse struct {
	Ret    flexInt `json:"Ret"`
	ErrMsg string  `json:"ErrMsg"`
}

// hasBase is embedded by every JSON response so that the BaseResponse can be checked
// generically.
type hasBase struct {
	BaseResponse *baseResponse `json:"BaseResponse"`
}

func (h *hasBase) base() *baseResponse { return h.BaseResponse }

type baseResponder interface{ base() *baseResponse }

// syncKey is the SyncKey / SyncCheckKey object.
type syncKey struct {
	Count flexInt       `json:"Count"`
	List  []syncKeyPair `json:"List"`
}

type syncKeyPair struct {
	Key flexInt `json:"Key"`
	Val flexInt `json:"Val"`
}

// valid reports whether k may replace the stored key: error bodies carry
// {"Count":0,"List":[]} (PROTOCOL 14.6).
func (k syncKey) valid() bool { return k.Count > 0 && len(k.List) > 0 }

// String formats k for the synccheck synckey parameter: Key_Val joined by "|".
func (k syncKey) String() string {
	var b strings.Builder
	for i, p := range k.List {
		if i > 0 {
			b.WriteByte('|')
		}
		b.WriteString(strconv.FormatInt(int64(p.Key), 10))
		b.WriteByte('_')
		b.WriteString(strconv.FormatInt(int64(p.Val), 10))
	}
	return b.String()
}

// MarshalJSON writes Count as the list length, whatever the server sent.
func (k syncKey) MarshalJSON() ([]byte, error) {
	b := []byte(`{"Count":`)
	b = strconv.AppendInt(b, int64(len(k.List)), 10)
	b = append(b, `,"List":[`...)
	for i, p := range k.List {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Key":`...)
		b = strconv.AppendInt(b, int64(p.Key), 10)
		b = append(b, `,"Val":`...)
		b = strconv.AppendInt(b, int64(p.Val), 10)
		b = append(b, '}')
	}
	return append(b, "]}"...), nil
}

// wireContact is a Contact object (PROTOCOL 5.5) as sent by webwxinit, webwxgetcontact,
// webwxbatchgetcontact and webwxsync ModContactList.
type wireContact struct {
	Uin             flexInt      `json:"Uin"`
	UserName        flexString   `json:"UserName"`
	NickName        flexString   `json:"NickName"`
	HeadImgURL      string       `json:"HeadImgUrl"`
	ContactFlag     flexInt      `json:"ContactFlag"`
	MemberCount     flexInt      `json:"MemberCount"`
	MemberList      []wireMember `json:"MemberList"`
	RemarkName      flexString   `json:"RemarkName"`
	Sex             flexInt      `json:"Sex"`
	Signature       flexString   `json:"Signature"`
	VerifyFlag      flexInt      `json:"VerifyFlag"`
	OwnerUin        flexInt      `json:"OwnerUin"`
	StarFriend      flexInt      `json:"StarFriend"`
	Statues         flexInt      `json:"Statues"`
	AttrStatus      flexInt      `json:"AttrStatus"`
	Province        flexString   `json:"Province"`
	City            flexString   `json:"City"`
	Alias           flexString   `json:"Alias"`
	DisplayName     flexString   `json:"DisplayName"`
	KeyWord         flexString   `json:"KeyWord"`
	EncryChatRoomID flexString   `json:"EncryChatRoomId"`
	IsOwner         flexInt      `json:"IsOwner"`
	ChatRoomOwner   flexString   `json:"ChatRoomOwner"`
}

// wireMember is an entry of a group's MemberList.
type wireMember struct {
	Uin         flexInt    `json:"Uin"`
	UserName    flexString `json:"UserName"`
	NickName    flexString `json:"NickName"`
	AttrStatus  flexInt    `json:"AttrStatus"`
	DisplayName flexString `json:"DisplayName"`
	KeyWord     flexString `json:"KeyWord"`
}
