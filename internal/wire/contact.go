package wire

import (
	"github.com/wxkit/wechat/internal/textfmt"
)

// Contact is a Contact object (PROTOCOL 5.5) as webwxinit, webwxgetcontact,
// webwxbatchgetcontact and webwxsync's ModContactList send it. NickName, RemarkName,
// DisplayName and Signature are decoded (emoji spans, entities; PROTOCOL 5.9).
type Contact struct {
	Uin             int64
	UserName        string
	NickName        string
	HeadImgURL      string
	ContactFlag     int
	MemberCount     int
	Members         []Member
	RemarkName      string
	Sex             int
	Signature       string
	VerifyFlag      int
	OwnerUin        int64
	StarFriend      int
	Statues         int
	AttrStatus      int64
	Province        string
	City            string
	Alias           string
	DisplayName     string
	KeyWord         string
	EncryChatRoomID string
	IsOwner         int
	ChatRoomOwner   string
}

// Member is an entry of a group's MemberList (PROTOCOL 5.5). NickName and DisplayName are
// decoded.
type Member struct {
	Uin         int64
	UserName    string
	NickName    string
	AttrStatus  int64
	DisplayName string
	KeyWord     string
}

// decodeContact decodes the Contact object val.
func decodeContact(val []byte) (Contact, error) {
	c, _, bad, err := decodeContactAt(val, 0)
	if err != nil {
		return Contact{}, err
	}
	return c, bad
}

// decodeContactAt decodes the Contact object at d[i] in place and returns the offset after it.
// bad is why the entry cannot be read (not an object, broken inside, too deep, too large, no
// UserName), with the zero Contact; err is a framing error: the end of the entry cannot be
// found.
func decodeContactAt(d []byte, i int) (c Contact, end int, bad, err error) {
	it, oerr := openObject(d, i)
	if oerr != nil {
		end, _, err = skipValue(d, i)
		return Contact{}, end, ErrNotEntry, err
	}
	for {
		k, ok := it.key()
		if !ok {
			break
		}
		if string(k) == "MemberList" {
			// Decoded in place: most of a group's bytes.
			members, mend, depth, merr := memberListAt(d, it.i)
			if merr != nil {
				it.fail(merr)
				break
			}
			c.Members = members
			it.depth = max(it.depth, depth)
			it.valueEnd(mend)
			continue
		}
		v, ok := it.value()
		if !ok {
			break
		}
		switch string(k) {
		case "Uin":
			c.Uin = int64Field(v)
		case "UserName":
			c.UserName, _ = Text(v)
		case "NickName":
			c.NickName = nameField(v)
		case "HeadImgUrl":
			c.HeadImgURL, _ = Text(v)
		case "ContactFlag":
			c.ContactFlag = intField(v)
		case "MemberCount":
			c.MemberCount = intField(v)
		case "RemarkName":
			c.RemarkName = nameField(v)
		case "Sex":
			c.Sex = intField(v)
		case "Signature":
			c.Signature = nameField(v)
		case "VerifyFlag":
			c.VerifyFlag = intField(v)
		case "OwnerUin":
			c.OwnerUin = int64Field(v)
		case "StarFriend":
			c.StarFriend = intField(v)
		case "Statues":
			c.Statues = intField(v)
		case "AttrStatus":
			c.AttrStatus = int64Field(v)
		case "Province":
			c.Province, _ = Text(v)
		case "City":
			c.City, _ = Text(v)
		case "Alias":
			c.Alias, _ = Text(v)
		case "DisplayName":
			c.DisplayName = nameField(v)
		case "KeyWord":
			c.KeyWord, _ = Text(v)
		case "EncryChatRoomId":
			c.EncryChatRoomID, _ = Text(v)
		case "IsOwner":
			c.IsOwner = intField(v)
		case "ChatRoomOwner":
			c.ChatRoomOwner, _ = Text(v)
		}
	}
	end = it.end
	switch {
	case it.err != nil:
		if end, _, err = skipValue(d, i); err != nil {
			return Contact{}, 0, nil, err
		}
		bad = it.err
	case it.depth+1 > MaxDepth:
		bad = ErrTooDeep
	case end-i > MaxEntry:
		bad = ErrTooLarge
	case c.UserName == "":
		bad = ErrNotEntry
	}
	if bad != nil {
		return Contact{}, end, bad, nil
	}
	return c, end, nil, nil
}

// decodeMemberAt decodes the MemberList entry at d[i] in place, like decodeContactAt, and
// returns its depth too.
func decodeMemberAt(d []byte, i int) (m Member, end, depth int, bad, err error) {
	it, oerr := openObject(d, i)
	if oerr != nil {
		end, depth, err = skipValue(d, i)
		return Member{}, end, depth, ErrNotEntry, err
	}
	for {
		k, v, ok := it.next()
		if !ok {
			break
		}
		switch string(k) {
		case "Uin":
			m.Uin = int64Field(v)
		case "UserName":
			m.UserName, _ = Text(v)
		case "NickName":
			m.NickName = nameField(v)
		case "AttrStatus":
			m.AttrStatus = int64Field(v)
		case "DisplayName":
			m.DisplayName = nameField(v)
		case "KeyWord":
			m.KeyWord, _ = Text(v)
		}
	}
	end, depth = it.end, it.depth+1
	switch {
	case it.err != nil:
		if end, depth, err = skipValue(d, i); err != nil {
			return Member{}, 0, 0, nil, err
		}
		bad = it.err
	case depth > MaxDepth:
		bad = ErrTooDeep
	case m.UserName == "":
		bad = ErrNotEntry
	}
	if bad != nil {
		return Member{}, end, depth, bad, nil
	}
	return m, end, depth, nil, nil
}

// nameField decodes a name with the string-or-number rule, then its emoji spans and entities.
func nameField(v []byte) string {
	s, _ := Text(v)
	return textfmt.Text(s)
}

// contactList decodes the list of contacts val; see contactListAt.
func contactList(val []byte, list string, bad []Unreadable) ([]Contact, []Unreadable, error) {
	out, bad, _, err := contactListAt(val, 0, list, bad)
	return out, bad, err
}

// contactListAt decodes the list of contacts at d[i] in place and returns the offset after it.
// Entries that cannot be read are appended to bad (named list) and left out; null or a value
// that is not an array is an empty list. The error is that of a list whose framing is broken.
func contactListAt(d []byte, i int, list string, bad []Unreadable) ([]Contact, []Unreadable, int, error) {
	if i >= len(d) || d[i] != '[' {
		end, _, err := skipValue(d, i)
		return nil, bad, end, err
	}
	it, err := openArray(d, i)
	if err != nil {
		return nil, bad, 0, err
	}
	var out []Contact
	for {
		j, ok := it.start()
		if !ok {
			break
		}
		c, end, why, err := decodeContactAt(d, j)
		if err != nil {
			return out, bad, 0, err
		}
		if why != nil {
			bad = append(bad, Unreadable{List: list, Raw: d[j:end], Err: why})
		} else {
			out = append(out, c)
		}
		it.skipTo(end)
	}
	return out, bad, it.end, it.err
}

// memberList decodes the MemberList val; entries that cannot be read are appended to bad
// (named list) and left out.
func memberList(val []byte, list string, bad []Unreadable) ([]Member, []Unreadable, error) {
	if len(val) == 0 || val[0] != '[' {
		return nil, bad, nil
	}
	it, err := openArray(val, 0)
	if err != nil {
		return nil, bad, err
	}
	var out []Member
	for {
		j, ok := it.start()
		if !ok {
			break
		}
		m, end, _, why, err := decodeMemberAt(val, j)
		if err != nil {
			return out, bad, err
		}
		if why != nil {
			bad = append(bad, Unreadable{List: list, Raw: val[j:end], Err: why})
		} else {
			out = append(out, m)
		}
		it.skipTo(end)
	}
	return out, bad, it.err
}

// memberListAt decodes a group's MemberList at d[i] in place, leaving out the members that
// cannot be read (they cost only themselves), and returns the offset after it and its depth.
func memberListAt(d []byte, i int) ([]Member, int, int, error) {
	if i >= len(d) || d[i] != '[' {
		end, depth, err := skipValue(d, i) // not a list: no members
		return nil, end, depth, err
	}
	it, err := openArray(d, i)
	if err != nil {
		return nil, 0, 0, err
	}
	var out []Member
	depth := 1
	for {
		j, ok := it.start()
		if !ok {
			break
		}
		m, end, mdepth, why, err := decodeMemberAt(d, j)
		if err != nil {
			return nil, 0, 0, err
		}
		if why == nil { // a member left out costs only itself, its depth included
			depth = max(depth, mdepth+1)
			out = append(out, m)
		}
		it.skipTo(end)
	}
	if it.err != nil {
		return nil, 0, 0, it.err
	}
	return out, it.end, depth, nil
}

// ContactPage is the answer of webwxgetcontact (PROTOCOL 5.3: MemberList, Seq) or of
// webwxbatchgetcontact (PROTOCOL 5.4: ContactList). Seq is 0 on the last page.
type ContactPage struct {
	Base       BaseResponse
	Contacts   []Contact
	Seq        int64
	Unreadable []Unreadable
}

// DecodeContactPage decodes the answer of webwxgetcontact or webwxbatchgetcontact: the
// contacts of MemberList or ContactList, whichever the body has. Errors are DecodeSync's.
func DecodeContactPage(body []byte) (*ContactPage, error) {
	p := &ContactPage{}
	it, err := openObject(body, skipWS(body, 0))
	if err != nil {
		return p, err
	}
	for {
		k, ok := it.key()
		if !ok {
			break
		}
		if k := string(k); k == "MemberList" || k == "ContactList" {
			// Decoded in place: the list is the whole page.
			cs, bad, end, err := contactListAt(body, it.i, k, p.Unreadable)
			p.Unreadable = bad
			p.Contacts = append(p.Contacts, cs...)
			if err != nil {
				return p, err
			}
			it.valueEnd(end)
			continue
		}
		v, ok := it.value()
		if !ok {
			break
		}
		switch string(k) {
		case "BaseResponse":
			p.Base = decodeBase(v)
		case "Seq":
			p.Seq = int64Field(v)
		}
	}
	if it.err != nil {
		return p, it.err
	}
	if j := skipWS(body, it.end); j != len(body) {
		return p, syntaxError(j, "data after the object")
	}
	return p, nil
}

// Init is the answer of webwxinit (PROTOCOL 5.1).
type Init struct {
	Base             BaseResponse
	User             Contact
	Contacts         []Contact // ContactList: the recent chats
	SyncKey          SyncKey
	SKey             string
	SystemTime       int64
	InviteStartCount int
	ChatSet          string
	Unreadable       []Unreadable
}

// DecodeInit decodes the answer of webwxinit. A User that cannot be read is the zero Contact.
// Errors are DecodeSync's.
func DecodeInit(body []byte) (*Init, error) {
	in := &Init{}
	err := Object(body, func(k, v []byte) error {
		var err error
		switch string(k) {
		case "BaseResponse":
			in.Base = decodeBase(v)
		case "User":
			in.User, _ = decodeContact(v)
		case "ContactList":
			in.Contacts, in.Unreadable, err = contactList(v, "ContactList", in.Unreadable)
		case "SyncKey":
			in.SyncKey = decodeSyncKey(v)
		case "SKey":
			in.SKey, _ = Text(v)
		case "SystemTime":
			in.SystemTime = int64Field(v)
		case "InviteStartCount":
			in.InviteStartCount = intField(v)
		case "ChatSet":
			in.ChatSet, _ = Text(v)
		}
		return err
	})
	return in, err
}
