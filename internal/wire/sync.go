package wire

import (
	"strconv"
	"strings"
)

// SyncKey is the SyncKey or SyncCheckKey object (PROTOCOL 6.2): {Count, List [{Key, Val}]}.
type SyncKey struct {
	Count int
	List  []KeyVal
}

// KeyVal is one entry of a SyncKey.
type KeyVal struct {
	Key, Val int64
}

// Valid reports whether k may replace the stored key: error bodies carry
// {"Count":0,"List":[]} (PROTOCOL 14.6).
func (k SyncKey) Valid() bool { return k.Count > 0 && len(k.List) > 0 }

// String formats k for the synccheck synckey parameter: Key_Val joined by "|".
func (k SyncKey) String() string {
	var b strings.Builder
	for i, p := range k.List {
		if i > 0 {
			b.WriteByte('|')
		}
		b.WriteString(strconv.FormatInt(p.Key, 10))
		b.WriteByte('_')
		b.WriteString(strconv.FormatInt(p.Val, 10))
	}
	return b.String()
}

// MarshalJSON writes k as the webwxsync request carries it back, Count being the list length
// whatever the server sent.
func (k SyncKey) MarshalJSON() ([]byte, error) {
	b := []byte(`{"Count":`)
	b = strconv.AppendInt(b, int64(len(k.List)), 10)
	b = append(b, `,"List":[`...)
	for i, p := range k.List {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Key":`...)
		b = strconv.AppendInt(b, p.Key, 10)
		b = append(b, `,"Val":`...)
		b = strconv.AppendInt(b, p.Val, 10)
		b = append(b, '}')
	}
	return append(b, "]}"...), nil
}

// decodeSyncKey decodes a SyncKey object. An odd one, or one with an odd entry, is the zero
// SyncKey, which is not Valid: a key is sent back whole or not at all.
func decodeSyncKey(val []byte) SyncKey {
	it, err := openObject(val, 0)
	if err != nil {
		return SyncKey{}
	}
	var k SyncKey
	bad := false
	for {
		kk, v, ok := it.next()
		if !ok {
			break
		}
		switch string(kk) {
		case "Count":
			k.Count = intField(v)
		case "List":
			k.List, ok = decodeKeyList(v)
			bad = bad || !ok
		}
	}
	if it.err != nil || bad {
		return SyncKey{}
	}
	return k
}

func decodeKeyList(val []byte) ([]KeyVal, bool) {
	if isNull(val) {
		return nil, true
	}
	it, err := openArray(val, 0)
	if err != nil {
		return nil, false
	}
	var list []KeyVal
	for {
		e, ok := it.next()
		if !ok {
			break
		}
		var p KeyVal
		var okK, okV bool
		o, err := openObject(e, 0)
		if err != nil {
			return nil, false
		}
		for {
			k, v, ok := o.next()
			if !ok {
				break
			}
			switch string(k) {
			case "Key":
				p.Key, okK = Int(v)
			case "Val":
				p.Val, okV = Int(v)
			}
		}
		if o.err != nil || !okK || !okV {
			return nil, false
		}
		list = append(list, p)
	}
	return list, it.err == nil
}

// Sync is the answer of webwxsync (PROTOCOL 6.2). Messages holds every AddMsgList entry, the
// unreadable ones with Err set; Unreadable the entries of the contact lists that could not be
// read at all, which are left out of ModContacts, DelContacts and ModMembers.
type Sync struct {
	Base         BaseResponse
	Messages     []Message
	ModContacts  []Contact
	DelContacts  []string // the UserNames of DelContactList
	ModMembers   []Member // ModChatRoomMemberList
	Unreadable   []Unreadable
	ContinueFlag int
	SyncKey      SyncKey
	SyncCheckKey SyncKey
	SKey         string
}

// Unreadable is a list entry that could not be decoded: List names the list, Raw holds it.
type Unreadable struct {
	List string
	Raw  []byte
	Err  error
}

// DecodeSync decodes a webwxsync body in one pass: each message is decoded straight from the
// scanner into Messages. It returns an error wrapping ErrSyntax when the body's framing is
// broken (not an object, cut off, a list that is not a list); the Sync then holds what was
// read before, so that a BaseResponse with a non-zero Ret is still seen.
func DecodeSync(body []byte) (*Sync, error) {
	s := &Sync{}
	var dec decoder
	count := 0 // AddMsgCount, which comes before AddMsgList: a capacity hint
	it, err := openObject(body, skipWS(body, 0))
	if err != nil {
		return s, err
	}
	for {
		k, ok := it.key()
		if !ok {
			break
		}
		if string(k) == "ModContactList" {
			var end int
			s.ModContacts, s.Unreadable, end, err = contactListAt(body, it.i, "ModContactList", s.Unreadable)
			if err != nil {
				return s, err
			}
			it.valueEnd(end)
			continue
		}
		if string(k) == "AddMsgList" {
			// Decoded in place: most of the body, walked once.
			var end int
			s.Messages, end, err = dec.messages(body, it.i, count)
			if err != nil {
				return s, err
			}
			it.valueEnd(end)
			continue
		}
		v, ok := it.value()
		if !ok {
			break
		}
		var err error
		switch string(k) {
		case "BaseResponse":
			s.Base = decodeBase(v)
		case "AddMsgCount":
			count = intField(v)
		case "DelContactList":
			err = s.delContacts(v)
		case "ModChatRoomMemberList":
			s.ModMembers, s.Unreadable, err = memberList(v, "ModChatRoomMemberList", s.Unreadable)
		case "ContinueFlag":
			s.ContinueFlag = intField(v)
		case "SyncKey":
			s.SyncKey = decodeSyncKey(v)
		case "SyncCheckKey":
			s.SyncCheckKey = decodeSyncKey(v)
		case "SKey":
			s.SKey, _ = Text(v)
		}
		if err != nil {
			return s, err
		}
	}
	if it.err != nil {
		return s, it.err
	}
	if j := skipWS(body, it.end); j != len(body) {
		return s, syntaxError(j, "data after the object")
	}
	return s, nil
}

// messages decodes the AddMsgList value at d[i] and returns the offset after it; null and a
// value that is not an array are no messages. count is the AddMsgCount read before, or 0.
func (dec *decoder) messages(d []byte, i, count int) ([]Message, int, error) {
	if i >= len(d) || d[i] != '[' {
		end, _, err := skipValue(d, i)
		return nil, end, err
	}
	it, err := openArray(d, i)
	if err != nil {
		return nil, 0, err
	}
	// Size the slice once: by the count the body announces if it is plausible (an entry
	// takes at least 2 bytes), else for entries of ~1 KB, which both layouts have.
	n := (len(d)-i)/1024 + 1
	if count > 0 && count <= (len(d)-i)/2 {
		n = count
	}
	out := make([]Message, 0, min(n, 4096))
	for {
		j, ok := it.start()
		if !ok {
			break
		}
		out = append(out, Message{})
		end, err := dec.message(&out[len(out)-1], d, j)
		if err != nil {
			return out[:len(out)-1], 0, err
		}
		it.skipTo(end)
	}
	if it.err != nil {
		return out, 0, it.err
	}
	return out, it.end, nil
}

func (s *Sync) delContacts(val []byte) error {
	if len(val) == 0 || val[0] != '[' {
		return nil
	}
	it, err := openArray(val, 0)
	if err != nil {
		return err
	}
	for {
		e, ok := it.next()
		if !ok {
			break
		}
		name := ""
		if o, err := openObject(e, 0); err == nil {
			for {
				k, v, ok := o.next()
				if !ok {
					break
				}
				if string(k) == "UserName" {
					name, _ = Text(v)
				}
			}
		}
		if name == "" {
			s.Unreadable = append(s.Unreadable, Unreadable{List: "DelContactList", Raw: e, Err: ErrNotEntry})
			continue
		}
		s.DelContacts = append(s.DelContacts, name)
	}
	return it.err
}
