package wechat

import (
	"strconv"
	"strings"
)

// This file is how the contact store keeps a contact in memory. An address book holds
// thousands of contacts for as long as the session runs, and most of a [Contact]'s fields are
// empty or repeat those of other contacts, so the store keeps compact records and builds
// Contact values when they are read:
//
//   - the fields every contact has are in the record; the numbers in the width they need;
//   - the fields most contacts do not have (Alias, Signature, DisplayName, a group's members
//     and room fields, a Uin) are in an extension, absent when all of them are empty;
//   - Province, City and the skey at the end of HeadImgURL, which repeat across the book,
//     are interned: the record holds a 16-bit index into the store's table of them;
//   - HeadImgURL, which is "/cgi-bin/mmwebwx-bin/webwxgeticon?seq=<n>&username=<UserName>&skey=<skey>"
//     (PROTOCOL 5.5), is kept as its seq, and rebuilt;
//   - a group member's UserName and NickName share the strings of the contact of that
//     UserName (a friend, self) when there is one.
//
// Whatever does not fit (a number outside the usual range, a HeadImgURL of another form, a
// full intern table) is kept as it is, in the extension: reading a record gives back exactly
// the Contact that was stored.

// contactRec is a contact as the store keeps it. Records are changed in place under the
// store's lock and never leave the store.
type contactRec struct {
	names   string      // UserName, NickName and RemarkName, one after the other (setNames)
	nameLen uint32      // len(UserName)
	nickLen uint32      // len(NickName)
	id      string      // the contact's ID (Contact.ID)
	ext     *contactExt // nil when the contact has none of its fields

	attr        uint32 // AttrStatus, unless recWide
	contactFlag int32  // unless recWide
	verifyFlag  int32  // unless recWide
	headSeq     uint32 // the seq of HeadImgURL with recHeadIcon or recHeadImg
	province    atom   // unless recRegionExt
	city        atom   // unless recRegionExt
	headTail    atom   // with recHeadIcon or recHeadImg: HeadImgURL after "&skey="
	kindSex     uint8  // Kind in the low 4 bits, Sex in the high 4, unless recWide
	flags       recFlags
}

// contactExt holds the fields of a contact that most contacts do not have.
type contactExt struct {
	displayName string
	alias       string
	signature   string
	uin         int64
	group       *groupExt // nil if all its fields are zero
	odd         *oddExt   // nil unless recWide, recRegionExt or a HeadImgURL of no known form
}

// groupExt holds the fields of a group.
type groupExt struct {
	encryChatRoomID string
	members         []Member
	memberCount     int
	ownerUin        int64
	isOwner         bool
}

// oddExt holds what does not fit the record.
type oddExt struct {
	head           string // HeadImgURL when it has no known form
	province, city string // with recRegionExt: the intern table was full

	// With recWide: the numbers that do not fit the record.
	sex, contactFlag, verifyFlag int
	attrStatus                   int64
	kind                         ContactKind
}

type recFlags uint8

const (
	recStar          recFlags = 1 << iota // StarFriend
	recMembersLoaded                      // membersLoaded
	recGone                               // no contact: a UserName that had an ID in this session (see identities.bind)
	recWide                               // Sex, ContactFlag, VerifyFlag, AttrStatus and Kind are in ext
	recRegionExt                          // Province and City are in ext
	recHeadIcon                           // HeadImgURL is headIcon + headSeq + "&username=" + userName + "&skey=" + headTail
	recHeadImg                            // HeadImgURL is headImg + headSeq + ... (groups)
)

// The known beginnings of a HeadImgURL (PROTOCOL 5.5).
const (
	headIcon = "/cgi-bin/mmwebwx-bin/webwxgeticon?seq="
	headImg  = "/cgi-bin/mmwebwx-bin/webwxgetheadimg?seq="
)

// atom is the index of a string in an atomTable; 0 is "".
type atom uint16

// atomTable interns the strings that repeat across an address book.
type atomTable struct {
	strs []string // strs[0] is ""
	idx  map[string]atom
}

// intern returns the atom of s, adding s; false if the table is full.
func (t *atomTable) intern(s string) (atom, bool) {
	if s == "" {
		return 0, true
	}
	if a, ok := t.idx[s]; ok {
		return a, true
	}
	if len(t.strs) == 0 {
		t.strs = []string{""}
		t.idx = make(map[string]atom)
	}
	if len(t.strs) > 0xffff {
		return 0, false
	}
	a := atom(len(t.strs))
	t.strs = append(t.strs, s)
	t.idx[s] = a
	return a, true
}

func (t *atomTable) str(a atom) string {
	if a == 0 {
		return ""
	}
	return t.strs[a]
}

func (r *contactRec) userName() string { return r.names[:r.nameLen] }
func (r *contactRec) nick() string     { return r.names[r.nameLen : r.nameLen+r.nickLen] }
func (r *contactRec) remark() string   { return r.names[r.nameLen+r.nickLen:] }

// newRec returns the record of a UserName that is no contact yet (recGone).
func newRec(userName string) *contactRec {
	return &contactRec{names: userName, nameLen: uint32(len(userName)), flags: recGone}
}

// setNames makes r's names userName (which must be r's), nick and remark, in one string. It
// keeps r's string if the names are those it holds, so that the strings shared with the
// identity table and with group members stay the same; it reports whether it made a new one.
func (r *contactRec) setNames(nick, remark string) bool {
	if r.nick() == nick && r.remark() == remark {
		return false
	}
	u := r.userName()
	r.names = u + nick + remark
	r.nickLen = uint32(len(nick))
	return true
}

func (r *contactRec) live() bool          { return r.flags&recGone == 0 }
func (r *contactRec) membersLoaded() bool { return r.flags&recMembersLoaded != 0 }

func (r *contactRec) kind() ContactKind {
	if r.flags&recWide != 0 {
		return r.ext.odd.kind
	}
	return ContactKind(r.kindSex & 0xf)
}

// group returns the group fields of r, or nil.
func (r *contactRec) group() *groupExt {
	if r.ext == nil {
		return nil
	}
	return r.ext.group
}

func (r *contactRec) members() []Member {
	if g := r.group(); g != nil {
		return g.members
	}
	return nil
}

// isMember reports whether userName is in the members of r.
func (r *contactRec) isMember(userName string) bool {
	for _, m := range r.members() {
		if m.UserName == userName {
			return true
		}
	}
	return false
}

// pack sets every field of r but its names from c, whose names must be r's (setNames).
func (t *atomTable) pack(r *contactRec, c *Contact) {
	*r = contactRec{names: r.names, nameLen: r.nameLen, nickLen: r.nickLen, id: c.ID}
	var (
		x   contactExt
		g   groupExt
		odd oddExt
	)
	if c.StarFriend {
		r.flags |= recStar
	}
	if c.membersLoaded {
		r.flags |= recMembersLoaded
	}
	if c.Sex >= 0 && c.Sex <= 0xf && c.Kind >= 0 && c.Kind <= 0xf && c.AttrStatus >= 0 && c.AttrStatus <= 0xffffffff &&
		fitsInt32(c.ContactFlag) && fitsInt32(c.VerifyFlag) {
		r.kindSex = uint8(c.Kind) | uint8(c.Sex)<<4
		r.attr, r.contactFlag, r.verifyFlag = uint32(c.AttrStatus), int32(c.ContactFlag), int32(c.VerifyFlag)
	} else {
		r.flags |= recWide
		odd.sex, odd.contactFlag, odd.verifyFlag, odd.attrStatus, odd.kind = c.Sex, c.ContactFlag, c.VerifyFlag, c.AttrStatus, c.Kind
	}
	p, ok1 := t.intern(c.Province)
	ci, ok2 := t.intern(c.City)
	if ok1 && ok2 {
		r.province, r.city = p, ci
	} else {
		r.flags |= recRegionExt
		odd.province, odd.city = c.Province, c.City
	}
	if f, seq, tail, ok := splitHead(c.HeadImgURL, c.UserName); ok {
		if a, ok := t.intern(tail); ok {
			r.flags |= f
			r.headSeq, r.headTail = seq, a
		} else {
			odd.head = c.HeadImgURL
		}
	} else {
		odd.head = c.HeadImgURL
	}
	x = contactExt{displayName: c.DisplayName, alias: c.Alias, signature: c.Signature, uin: c.Uin}
	g = groupExt{encryChatRoomID: c.EncryChatRoomID, members: c.Members, memberCount: c.MemberCount, ownerUin: c.OwnerUin, isOwner: c.IsOwner}
	if g.encryChatRoomID != "" || g.members != nil || g.memberCount != 0 || g.ownerUin != 0 || g.isOwner {
		x.group = &g
	}
	if odd != (oddExt{}) {
		x.odd = &odd
	}
	if x != (contactExt{}) {
		r.ext = &x
	}
}

func fitsInt32(n int) bool { return n >= -1<<31 && n < 1<<31 }

// splitHead splits a HeadImgURL of a known form into its flag, seq and tail; ok is false
// when it has another form, or a seq that would not be written back the same.
func splitHead(h, userName string) (f recFlags, seq uint32, tail string, ok bool) {
	rest, found := strings.CutPrefix(h, headIcon)
	f = recHeadIcon
	if !found {
		if rest, found = strings.CutPrefix(h, headImg); !found {
			return 0, 0, "", false
		}
		f = recHeadImg
	}
	i := strings.IndexByte(rest, '&')
	if i <= 0 || i > 10 {
		return 0, 0, "", false
	}
	n, err := strconv.ParseUint(rest[:i], 10, 32)
	if err != nil || (i > 1 && rest[0] == '0') {
		return 0, 0, "", false // leading zeros (or a sign) would not survive FormatUint
	}
	rest = rest[i:]
	const un, sk = "&username=", "&skey="
	if !strings.HasPrefix(rest, un) || !strings.HasPrefix(rest[len(un):], userName) ||
		!strings.HasPrefix(rest[len(un)+len(userName):], sk) {
		return 0, 0, "", false
	}
	return f, uint32(n), rest[len(un)+len(userName)+len(sk):], true
}

// fill sets every field of c from r.
func (t *atomTable) fill(c *Contact, r *contactRec) {
	*c = Contact{
		UserName:      r.userName(),
		ID:            r.id,
		NickName:      r.nick(),
		RemarkName:    r.remark(),
		StarFriend:    r.flags&recStar != 0,
		membersLoaded: r.flags&recMembersLoaded != 0,
	}
	var odd *oddExt
	if x := r.ext; x != nil {
		c.DisplayName, c.Alias, c.Signature, c.Uin = x.displayName, x.alias, x.signature, x.uin
		if g := x.group; g != nil {
			c.EncryChatRoomID, c.Members, c.MemberCount, c.OwnerUin, c.IsOwner = g.encryChatRoomID, g.members, g.memberCount, g.ownerUin, g.isOwner
		}
		odd = x.odd
	}
	if r.flags&recWide != 0 {
		c.Sex, c.ContactFlag, c.VerifyFlag, c.AttrStatus, c.Kind = odd.sex, odd.contactFlag, odd.verifyFlag, odd.attrStatus, odd.kind
	} else {
		c.Kind, c.Sex = ContactKind(r.kindSex&0xf), int(r.kindSex>>4)
		c.AttrStatus, c.ContactFlag, c.VerifyFlag = int64(r.attr), int(r.contactFlag), int(r.verifyFlag)
	}
	if r.flags&recRegionExt != 0 {
		c.Province, c.City = odd.province, odd.city
	} else {
		c.Province, c.City = t.str(r.province), t.str(r.city)
	}
	switch {
	case r.flags&(recHeadIcon|recHeadImg) != 0:
		prefix := headIcon
		if r.flags&recHeadImg != 0 {
			prefix = headImg
		}
		userName, tail := r.userName(), t.str(r.headTail)
		var b strings.Builder
		b.Grow(len(prefix) + 10 + len("&username=") + len(userName) + len("&skey=") + len(tail))
		b.WriteString(prefix)
		var d [10]byte
		b.Write(strconv.AppendUint(d[:0], uint64(r.headSeq), 10))
		b.WriteString("&username=")
		b.WriteString(userName)
		b.WriteString("&skey=")
		b.WriteString(tail)
		c.HeadImgURL = b.String()
	case odd != nil:
		c.HeadImgURL = odd.head
	}
}
