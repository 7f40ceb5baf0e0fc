package wechattest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strings"
)

// Account is the account as the server sees it: the logged-in user, the
// contact list and the groups.
type Account struct {
	Self     Contact   // ID "" means "self", Uin 0 means 2212345678
	Contacts []Contact // friends, official accounts and special accounts
	Groups   []Group
	// Strangers are people the account knows nothing of yet: people who
	// will send a friend request ([FriendRequest]) or whom a member invites
	// into a group ([Server.InviteToGroup]). Members of Groups who are not
	// contacts need not be listed. Their ContactFlag is ignored.
	Strangers []Contact
}

// Contact is a user, official account or special account. String fields are
// in wire form: they may hold emoji spans and HTML entities exactly as the
// server sends them (PROTOCOL 5.9).
type Contact struct {
	// ID is a stable id, like a wxid ("friend", "gh_news"). Special
	// accounts (PROTOCOL 5.7, e.g. "filehelper") keep their ID as UserName;
	// everybody else gets a new UserName at every login.
	ID string

	NickName, RemarkName, Alias, Signature, Province, City string

	Sex        int
	VerifyFlag int // official accounts have bit 8 set (8, 24, 56)
	// ContactFlag 0 means the default: 3 (friend with chat) for persons and
	// special accounts, 1 for official accounts.
	ContactFlag int
	StarFriend  int
	Uin         int64 // 0 for most contacts; self has a real one
}

// Group is a group chat.
type Group struct {
	ID       string // stable id
	NickName string // wire form
	Owner    string // stable id of the owner ("" if unknown)
	Members  []Member
	Saved    bool // saved to the contact list: appears in webwxgetcontact
	Pinned   bool // pinned to the top of the chat list (ContactFlag 0x800)
	// InviteOnly makes the group one whose members must be invited: like
	// for a group of 40 members or more (InviteStartCount),
	// webwxupdatechatroom fun=addmember answers Ret 1 and clients must use
	// fun=invitemember (PROTOCOL 11.4).
	InviteOnly bool
}

// Member is a group member. ID may name a Contact or self (then its
// NickName is used when NickName is ""), or a stranger known only from the
// group.
type Member struct {
	ID, NickName, DisplayName string
}

// DefaultAccount returns the account a [Server] serves unless
// [WithAccount] is given: self "self" (NickName "Me", Uin 2212345678);
// friends "friend" (NickName "Friend"), "alice" (NickName with an emoji span
// and an &amp; entity) and "bob"; special accounts "filehelper" and
// "weixin"; the official account "gh_news" (VerifyFlag 24); the saved group
// "group" (NickName "Test Group"; members self, friend, alice and the
// stranger "carol" with DisplayName "Carol in group"); and the group "team",
// not saved to contacts, so only reachable through webwxinit's ContactList
// and webwxbatchgetcontact.
func DefaultAccount() Account {
	return Account{
		Self: Contact{ID: "self", NickName: "Me", Sex: 1, Signature: "testing", Province: "广东", City: "深圳", Uin: 2212345678},
		Contacts: []Contact{
			{ID: "friend", NickName: "Friend", Sex: 1, Province: "北京", City: "海淀"},
			{ID: "alice", NickName: `Alice<span class="emoji emoji1f31b"></span> &amp; Co`, RemarkName: "Alice", Sex: 2, Province: "广东", City: "深圳", StarFriend: 1, Signature: "hello &lt;world&gt;"},
			{ID: "bob", NickName: "Bob", RemarkName: "Bob (work)", Alias: "bob123", Sex: 1},
			{ID: "filehelper", NickName: "文件传输助手"},
			{ID: "weixin", NickName: "微信团队", VerifyFlag: 56},
			{ID: "gh_news", NickName: "News Daily", Alias: "news_daily", VerifyFlag: 24, Signature: "Daily news"},
		},
		Groups: []Group{
			{
				ID: "group", NickName: "Test Group", Owner: "self", Saved: true,
				Members: []Member{
					{ID: "self"}, {ID: "friend"}, {ID: "alice"},
					{ID: "carol", NickName: "Carol", DisplayName: "Carol in group"},
				},
			},
			{
				ID: "team", NickName: "Team", Owner: "alice",
				Members: []Member{{ID: "self", DisplayName: "Me at work"}, {ID: "alice"}, {ID: "bob"}},
			},
		},
	}
}

// LargeAccount returns a deterministic account with the given number of
// friends ("friend0001", ...), groups ("group0001", ..., all saved) of
// membersPerGroup members each (self first, then friends in turn, every
// fourth member a stranger "stranger00001", ...), the special accounts
// "filehelper" and "weixin", and one official account ("gh_0001", ...) per
// 20 friends. Self is the self of [DefaultAccount]. Non-positive counts
// mean none.
func LargeAccount(friends, groups, membersPerGroup int) Account {
	a := Account{Self: DefaultAccount().Self}
	for i := 1; i <= friends; i++ {
		c := Contact{ID: fmt.Sprintf("friend%04d", i), NickName: fmt.Sprintf("Friend %04d", i), Sex: 1 + i%2}
		if i%7 == 0 {
			c.NickName += `<span class="emoji emoji1f604"></span>`
		}
		if i%5 == 0 {
			c.RemarkName = fmt.Sprintf("Remark %04d", i)
		}
		a.Contacts = append(a.Contacts, c)
	}
	for i := 1; i <= friends/20; i++ {
		a.Contacts = append(a.Contacts, Contact{ID: fmt.Sprintf("gh_%04d", i), NickName: fmt.Sprintf("Official %04d", i), VerifyFlag: 24})
	}
	a.Contacts = append(a.Contacts,
		Contact{ID: "filehelper", NickName: "文件传输助手"},
		Contact{ID: "weixin", NickName: "微信团队", VerifyFlag: 56})
	for g := 1; g <= groups; g++ {
		grp := Group{ID: fmt.Sprintf("group%04d", g), NickName: fmt.Sprintf("Group %04d", g), Owner: "self", Saved: true}
		for j := 0; j < membersPerGroup; j++ {
			switch {
			case j == 0:
				grp.Members = append(grp.Members, Member{ID: "self"})
			case j%4 == 0 || friends == 0:
				n := g*membersPerGroup + j
				grp.Members = append(grp.Members, Member{ID: fmt.Sprintf("stranger%05d", n), NickName: fmt.Sprintf("Stranger %05d", n)})
			default:
				f := (g*7+j)%friends + 1
				grp.Members = append(grp.Members, Member{ID: fmt.Sprintf("friend%04d", f)})
			}
		}
		a.Groups = append(a.Groups, grp)
	}
	return a
}

// UserName returns the session UserName currently assigned to the stable
// id: "@" followed by 64 hex digits for persons (32 for official accounts
// and strangers), "@@" and 64 hex digits for groups, and the id itself for
// special accounts. UserNames are regenerated at every login. It returns ""
// before the first login and for ids the server has never seen.
func (s *Server) UserName(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess == nil {
		return ""
	}
	return s.sess.names[id]
}

// specialAccounts are the fixed UserNames of PROTOCOL 5.7.
var specialAccounts = [...]string{
	"newsapp", "fmessage", "filehelper", "weibo", "qqmail", "tmessage", "qmessage", "qqsync",
	"floatbottle", "lbsapp", "shakeapp", "medianote", "qqfriend", "readerapp", "blogapp",
	"facebookapp", "masssendapp", "meishiapp", "feedsapp", "voip", "blogappweixin", "weixin",
	"brandsessionholder", "weixinreminder", "wxid_novlwrv3lqwv11", "gh_22b87fa7cb3c",
	"officialaccounts", "notification_messages", "wxitil", "userexperience_alarm", "notifymessage",
}

func isSpecial(id string) bool {
	for _, sp := range specialAccounts {
		if id == sp {
			return true
		}
	}
	return false
}

// kind classifies an entity of the account.
type kind int

const (
	kindSelf     kind = iota // the logged-in user
	kindPerson               // a friend (or other person in Contacts)
	kindMP                   // official account (VerifyFlag & 8)
	kindSpecial              // special account, fixed UserName
	kindGroup                // group chat
	kindStranger             // group member who is not a contact
)

// entity is a contact, group or stranger of the account.
type entity struct {
	id      string
	kind    kind
	contact Contact // persons, MPs, special accounts, self, strangers
	group   *Group  // groups
}

// index is the looked-up form of an Account. The contact and group
// operations (ops.go) change it; it is guarded by Server.mu.
type index struct {
	self     *entity
	byID     map[string]*entity
	contacts []*entity // Account.Contacts, in order, then the friends added since
	groups   []*entity
	all      []*entity // every entity, in a stable order

	requests     map[string]RecommendInfo // friend requests delivered and not yet accepted, by requester
	sentRequests map[string]RecommendInfo // friend requests the client sent, by addressee
}

// newIndex copies a into an index.
func newIndex(a Account) *index {
	ix := &index{
		byID:         make(map[string]*entity),
		requests:     make(map[string]RecommendInfo),
		sentRequests: make(map[string]RecommendInfo),
	}
	add := func(e *entity) {
		if _, dup := ix.byID[e.id]; !dup && e.id != "" {
			ix.addEntity(e)
		}
	}
	self := a.Self
	if self.ID == "" {
		self.ID = "self"
	}
	if self.ContactFlag == 0 {
		self.ContactFlag = 3
	}
	if self.Uin == 0 {
		self.Uin = 2212345678
	}
	ix.self = &entity{id: self.ID, kind: kindSelf, contact: self}
	add(ix.self)
	for _, c := range a.Contacts {
		e := &entity{id: c.ID, contact: c}
		switch {
		case isSpecial(c.ID):
			e.kind = kindSpecial
		case c.VerifyFlag&8 != 0:
			e.kind = kindMP
		default:
			e.kind = kindPerson
		}
		if e.contact.ContactFlag == 0 {
			e.contact.ContactFlag = 3
			if e.kind == kindMP {
				e.contact.ContactFlag = 1
			}
		}
		add(e)
	}
	for _, g := range a.Groups {
		g.Members = append([]Member(nil), g.Members...)
		add(&entity{id: g.ID, kind: kindGroup, group: &g})
	}
	for _, g := range ix.groups {
		for _, m := range g.group.Members {
			if _, known := ix.byID[m.ID]; !known && m.ID != "" {
				add(&entity{id: m.ID, kind: kindStranger, contact: Contact{ID: m.ID, NickName: m.NickName}})
			}
		}
	}
	for _, c := range a.Strangers {
		c.ContactFlag = 0
		add(&entity{id: c.ID, kind: kindStranger, contact: c})
	}
	return ix
}

// Account returns a copy of the account as the server holds it now, with
// the changes the client's operations and the phone's made: remark names,
// pinned chats, new friends (moved from Strangers to Contacts), created,
// renamed and deleted groups, members added and removed. Strangers lists
// the people who are neither contacts nor group members.
func (s *Server) Account() Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	ix := s.acct
	a := Account{Self: ix.self.contact}
	for _, e := range ix.contacts {
		a.Contacts = append(a.Contacts, e.contact)
	}
	inGroup := make(map[string]bool)
	for _, e := range ix.groups {
		g := *e.group
		g.Members = append([]Member(nil), g.Members...)
		for _, m := range g.Members {
			inGroup[m.ID] = true
		}
		a.Groups = append(a.Groups, g)
	}
	for _, e := range ix.all {
		if e.kind == kindStranger && !inGroup[e.id] {
			a.Strangers = append(a.Strangers, e.contact)
		}
	}
	return a
}

// memberNickName is the NickName of a group member: its own, else the one
// of the contact it names.
func (ix *index) memberNickName(m Member) string {
	if m.NickName != "" {
		return m.NickName
	}
	if e := ix.byID[m.ID]; e != nil {
		return e.contact.NickName
	}
	return ""
}

// hasMember reports whether group g lists the member id.
func (g *Group) hasMember(id string) bool {
	for _, m := range g.Members {
		if m.ID == id {
			return true
		}
	}
	return false
}

// hashHex returns n hex digits derived from the parts.
func hashHex(n int, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	h := hex.EncodeToString(sum[:])
	for len(h) < n {
		sum = sha256.Sum256(sum[:])
		h += hex.EncodeToString(sum[:])
	}
	return h[:n]
}

// hash32 returns a stable 32-bit number for s.
func hash32(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// newUserName returns the UserName of an entity in login number no.
func newUserName(no int, id string, k kind) string {
	salt := fmt.Sprint(no)
	switch k {
	case kindSpecial:
		return id
	case kindGroup:
		return "@@" + hashHex(64, "group", salt, id)
	case kindMP, kindStranger:
		return "@" + hashHex(32, "user", salt, id)
	}
	return "@" + hashHex(64, "user", salt, id)
}
