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

// decodeContact decodes a Contact object. It reports false for an entry that cannot be read:
// not an object, broken inside, too deep, or without a UserName.
func decodeContact(val []byte) (Contact, error) {
	var c Contact
	if len(val) > MaxEntry {
		return c, ErrTooLarge
	}
	it, err := openObject(val, 0)
	if err != nil {
		return c, ErrNotEntry
	}
	for {
		k, v, ok := it.next()
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
		case "MemberList":
			c.Members, _, _ = memberList(v, "", nil) // odd members cost only themselves
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
	switch {
	case it.err != nil:
		return Contact{}, it.err
	case it.depth+1 > MaxDepth:
		return Contact{}, ErrTooDeep
	case c.UserName == "":
		return Contact{}, ErrNotEntry
	}
	return c, nil
}

// decodeMember decodes a MemberList entry, like decodeContact.
func decodeMember(val []byte) (Member, error) {
	var m Member
	it, err := openObject(val, 0)
	if err != nil {
		return m, ErrNotEntry
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
	switch {
	case it.err != nil:
		return Member{}, it.err
	case it.depth+1 > MaxDepth:
		return Member{}, ErrTooDeep
	case m.UserName == "":
		return Member{}, ErrNotEntry
	}
	return m, nil
}

// nameField decodes a name with the string-or-number rule, then its emoji spans and entities.
func nameField(v []byte) string {
	s, _ := Text(v)
	return textfmt.Text(s)
}

// contactList decodes a list of contacts. Entries that cannot be read are appended to bad
// (named list) and left out; null or a value that is not an array is an empty list. The error
// is that of a list whose framing is broken.
func contactList(val []byte, list string, bad []Unreadable) ([]Contact, []Unreadable, error) {
	if len(val) == 0 || val[0] != '[' {
		return nil, bad, nil
	}
	it, err := openArray(val, 0)
	if err != nil {
		return nil, bad, err
	}
	var out []Contact
	for {
		e, ok := it.next()
		if !ok {
			break
		}
		c, err := decodeContact(e)
		if err != nil {
			bad = append(bad, Unreadable{List: list, Raw: e, Err: err})
			continue
		}
		out = append(out, c)
	}
	return out, bad, it.err
}

// memberList decodes a MemberList like contactList.
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
		e, ok := it.next()
		if !ok {
			break
		}
		m, err := decodeMember(e)
		if err != nil {
			if list != "" {
				bad = append(bad, Unreadable{List: list, Raw: e, Err: err})
			}
			continue
		}
		out = append(out, m)
	}
	return out, bad, it.err
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
	err := Object(body, func(k, v []byte) error {
		var err error
		switch k := string(k); k {
		case "BaseResponse":
			p.Base = decodeBase(v)
		case "MemberList", "ContactList":
			var cs []Contact
			cs, p.Unreadable, err = contactList(v, k, p.Unreadable)
			p.Contacts = append(p.Contacts, cs...)
		case "Seq":
			p.Seq = int64Field(v)
		}
		return err
	})
	return p, err
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
