package wechat

import (
	"cmp"
	"context"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wxkit/wechat/internal/backoff"
	"github.com/wxkit/wechat/internal/wire"
)

// ContactKind classifies a contact (PROTOCOL 5.6).
type ContactKind int

const (
	KindStranger ContactKind = iota // not in the address book: a group member, a new requester
	KindFriend                      // a person in the address book
	KindGroup                       // a group chat (UserName starts with "@@")
	KindOfficial                    // an official account (VerifyFlag & 8)
	KindSpecial                     // a special account: filehelper, fmessage, weixin, ...
	KindSelf                        // the logged-in account
)

var kindNames = [...]string{"stranger", "friend", "group", "official", "special", "self"}

// String returns the kind's name: "friend", "group", ...
func (k ContactKind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "ContactKind(" + strconv.Itoa(int(k)) + ")"
}

// Contact is a person, group, official or special account as the server describes it
// (PROTOCOL 5.5). Names are decoded: HTML entities unescaped and emoji spans turned into emoji.
//
// UserName identifies the contact in this session only: the server assigns new UserNames at
// every login; ID identifies it across logins. Contacts returned by the Client are snapshots;
// do not modify Members.
type Contact struct {
	UserName string

	// ID identifies the contact across logins of the same account, where UserName changes at
	// every login (PROTOCOL 14.19). It is, in this order of preference:
	//
	//   - the permanent id ("wxid_...", "gh_...", "<n>@chatroom", or the UserName of a special
	//     account such as "filehelper") when the server revealed it: special accounts always;
	//     the chats of the phone's chat list, which the server pairs with their UserNames after
	//     login (StatusNotify code 4, PROTOCOL 7.5); a requester accepted with AcceptFriend;
	//   - "uin:<n>" when the server gives the contact's uin: self, some group members;
	//   - "alias:<WeChat ID>" when the contact has an Alias;
	//   - "fp:<hash>", a fingerprint of the remark name, else of the nickname, with sex,
	//     province and city (for a group: its remark name, else its name, else its members'
	//     nicknames).
	//
	// Once given, an ID sticks: the client records which of these keys belonged to each ID and
	// saves that table with the session ([Session].IDs), so at a later login a contact gets its
	// old ID back if any one of its keys is unchanged, even if its strongest key changed or is
	// not known at that login. It is best-effort where only fingerprints remain: a friend who
	// changed nickname, sex or region while the program was not running, has no remark, no
	// Alias and is not in the chat list gets a new ID; two contacts that no key tells apart
	// (same names, sex and region, no remark, Alias or permanent id) get "fp:<hash>" and
	// "fp:<hash>~2" in the order the server lists them, and may swap at a later login. Such a
	// shared fingerprint is marked ambiguous in the table and no longer used to find anyone.
	//
	// An ID made at this login may still change during the first seconds of the session, when
	// the chat list's permanent ids arrive after the contacts: to the older ID a permanent id
	// finds in the table, or to the permanent id itself. A remark or name changed during the
	// session does not change the ID. Without a session store the table lives only in memory;
	// IDs made from a permanent id, uin or Alias are the same at every login anyway,
	// fingerprint IDs as long as the names they were made from are unchanged.
	ID string

	NickName    string
	RemarkName  string // your remark for the contact; may be empty
	DisplayName string // the contact's name in a group, for a group member; else empty
	Alias       string // the WeChat ID when the server reveals it
	Signature   string
	Province    string
	City        string
	Sex         int // 0 unknown, 1 male, 2 female
	Uin         int64
	ContactFlag int
	VerifyFlag  int
	AttrStatus  int64
	StarFriend  bool
	HeadImgURL  string // relative to the main host
	Kind        ContactKind

	// Groups only.
	MemberCount     int
	Members         []Member
	EncryChatRoomID string
	OwnerUin        int64
	IsOwner         bool

	membersLoaded bool // Members came from webwxbatchgetcontact or a sync update
}

// Member is a member of a group.
type Member struct {
	UserName string
	// ID identifies the member across logins: the member's [Contact.ID] when the member is a
	// known contact (a friend, self), else "uin:<n>" when the server gives the uin, else
	// "m:<hash>" of the group's ID, the nickname and the group display name (a member who
	// renames gets a new one).
	ID          string
	NickName    string
	DisplayName string `json:",omitempty"` // the member's nickname in this group; may be empty
	Uin         int64  `json:",omitempty"`
	AttrStatus  int64  `json:",omitempty"`
}

// Name returns the name to show for the contact: the remark name if set, else the nickname.
func (c *Contact) Name() string {
	if c.RemarkName != "" {
		return c.RemarkName
	}
	return c.NickName
}

// Pinned reports whether the chat is pinned to the top of the chat list (ContactFlag 0x800).
func (c *Contact) Pinned() bool { return c.ContactFlag&contactFlagTop != 0 }

const contactFlagTop = 0x800 // CONTACTFLAG_TOPCONTACT (PROTOCOL 5.6)

// Member returns the member of the group c with the given UserName.
func (c *Contact) Member(userName string) (Member, bool) {
	for _, m := range c.Members {
		if m.UserName == userName {
			return m, true
		}
	}
	return Member{}, false
}

// specialAccounts are the non-person accounts of PROTOCOL 5.7.
var specialAccounts = map[string]bool{
	"newsapp": true, "fmessage": true, "filehelper": true, "weibo": true, "qqmail": true,
	"tmessage": true, "qmessage": true, "qqsync": true, "floatbottle": true, "lbsapp": true,
	"shakeapp": true, "medianote": true, "qqfriend": true, "readerapp": true, "blogapp": true,
	"facebookapp": true, "masssendapp": true, "meishiapp": true, "feedsapp": true, "voip": true,
	"blogappweixin": true, "weixin": true, "brandsessionholder": true, "weixinreminder": true,
	"wxid_novlwrv3lqwv11": true, "gh_22b87fa7cb3c": true, "officialaccounts": true,
	"notification_messages": true, "wxitil": true, "userexperience_alarm": true, "notifymessage": true,
}

// isGroupName reports whether userName names a group (PROTOCOL 5.6).
func isGroupName(userName string) bool { return wire.IsGroupName(userName) }

// classify applies the rules of PROTOCOL 5.6 in order.
func classify(userName, self string, verifyFlag, contactFlag int) ContactKind {
	switch {
	case userName == self && self != "":
		return KindSelf
	case isGroupName(userName):
		return KindGroup
	case verifyFlag&8 != 0:
		return KindOfficial
	case specialAccounts[userName] || strings.HasSuffix(userName, "@qqim"):
		return KindSpecial
	case strings.HasPrefix(userName, "@") && contactFlag&1 != 0:
		return KindFriend
	}
	return KindStranger
}

// newContact converts a contact decoded by internal/wire (names decoded already).
func newContact(w *wire.Contact, self string) *Contact {
	c := &Contact{
		UserName:        w.UserName,
		NickName:        w.NickName,
		RemarkName:      w.RemarkName,
		DisplayName:     w.DisplayName,
		Alias:           w.Alias,
		Signature:       w.Signature,
		Province:        w.Province,
		City:            w.City,
		Sex:             w.Sex,
		Uin:             w.Uin,
		ContactFlag:     w.ContactFlag,
		VerifyFlag:      w.VerifyFlag,
		AttrStatus:      w.AttrStatus,
		StarFriend:      w.StarFriend != 0,
		HeadImgURL:      w.HeadImgURL,
		MemberCount:     w.MemberCount,
		EncryChatRoomID: w.EncryChatRoomID,
		OwnerUin:        w.OwnerUin,
		IsOwner:         w.IsOwner != 0,
	}
	c.Kind = classify(c.UserName, self, c.VerifyFlag, c.ContactFlag)
	if len(w.Members) > 0 {
		c.Members = make([]Member, len(w.Members))
		for i := range w.Members {
			c.Members[i] = newMember(&w.Members[i])
		}
		if c.MemberCount == 0 {
			c.MemberCount = len(c.Members)
		}
	}
	return c
}

func newMember(m *wire.Member) Member {
	return Member{
		UserName:    m.UserName,
		NickName:    m.NickName,
		DisplayName: m.DisplayName,
		Uin:         m.Uin,
		AttrStatus:  m.AttrStatus,
	}
}

// decodeContacts converts the contacts of an answer; internal/wire decoded each on its own,
// so that an entry that could not be read costs only itself (it is logged by the caller).
func (c *Client) decodeContacts(op string, ws []wire.Contact, self string) []*Contact {
	out := make([]*Contact, 0, len(ws))
	for i := range ws {
		out = append(out, newContact(&ws[i], self))
	}
	return out
}

// Self returns the logged-in account. It returns false before webwxinit has run.
func (c *Client) Self() (Contact, bool) {
	s := c.sess.get()
	if s == nil || s.self == "" {
		return Contact{}, false
	}
	if ct := c.contacts.get(s.self); ct != nil {
		return *ct, true
	}
	return Contact{UserName: s.self, Kind: KindSelf}, true
}

// Contact returns the contact with the given UserName, if the client knows it.
func (c *Client) Contact(userName string) (Contact, bool) {
	if ct := c.contacts.get(userName); ct != nil {
		return *ct, true
	}
	return Contact{}, false
}

// ContactByID returns the contact whose [Contact.ID] is id, if the client knows it. Use it to
// find a contact again at a later login, when its UserName has changed.
func (c *Client) ContactByID(id string) (Contact, bool) {
	if ct := c.contacts.byID(id); ct != nil {
		return *ct, true
	}
	return Contact{}, false
}

// Contacts returns the known contacts of the given kinds, or of every kind (friends, groups,
// official and special accounts, self, strangers fetched for a message) when none is given,
// sorted by [Contact.Name], then ID.
//
//	friends := c.Contacts(wechat.KindFriend)
//	groups := c.Contacts(wechat.KindGroup)
//	official := c.Contacts(wechat.KindOfficial) // the official accounts (公众号) followed
//
// It returns an empty list, never an error, before the address book is loaded
// ([Client.WaitContacts] waits for it).
func (c *Client) Contacts(kinds ...ContactKind) []Contact {
	out := c.contacts.list(func(r *contactRec) bool { return len(kinds) == 0 || slices.Contains(kinds, r.kind()) })
	sortContacts(out)
	if out == nil {
		out = []Contact{}
	}
	return out
}

// sortContacts sorts by name, then ID, then UserName.
func sortContacts(cs []Contact) {
	slices.SortFunc(cs, func(a, b Contact) int {
		return cmp.Or(strings.Compare(a.Name(), b.Name()), strings.Compare(a.ID, b.ID), strings.Compare(a.UserName, b.UserName))
	})
}

// ContactsByName returns the contacts whose remark name or nickname is exactly name (decoded,
// emoji included), those matching by remark name first. [Client.SearchContacts] finds
// contacts by part of a name.
func (c *Client) ContactsByName(name string) []Contact {
	var byRemark, byNick []Contact
	for _, ct := range c.contacts.list(func(r *contactRec) bool { return r.remark() == name || r.nick() == name }) {
		switch name {
		case ct.RemarkName:
			byRemark = append(byRemark, ct)
		case ct.NickName:
			byNick = append(byNick, ct)
		}
	}
	return append(byRemark, byNick...)
}

// WaitContacts blocks until the whole address book of the current session has been loaded
// (Run loads it in the background while the sync loop already runs), or ctx ends, in which
// case it returns ctx.Err(). After a restart on a stored session the saved address book is
// loaded at once, and refreshed in the background.
func (c *Client) WaitContacts(ctx context.Context) error {
	select {
	case <-c.contacts.loadedCh():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// GroupMembers returns the members of the group with the given UserName, each with the
// group display name the member chose. The loader fetches every group's members in the
// background and the sync keeps them up to date; GroupMembers fetches them
// (webwxbatchgetcontact) if they are not known yet, or if the group itself is not.
//
// It returns an error matching [ErrUnknownContact] if the server does not know the group,
// [ErrWrongKind] if group is not a group, [ErrNotLoggedIn] without a session, or the
// [*Error] of the failed request.
func (c *Client) GroupMembers(ctx context.Context, group string) ([]Member, error) {
	g, err := c.loadGroup(ctx, opBatchContact, group)
	if err != nil {
		return nil, err
	}
	return slices.Clone(g.Members), nil
}

// loadGroup returns the group userName with its members, fetching it if it or its members
// are not known.
func (c *Client) loadGroup(ctx context.Context, op, userName string) (*Contact, error) {
	if c.sess.get() == nil {
		return nil, ErrNotLoggedIn
	}
	g := c.contacts.get(userName)
	switch {
	case g != nil && g.Kind != KindGroup:
		return nil, wrongKind(op, g, "is not a group")
	case g == nil && !isGroupName(userName):
		return nil, unknownContact(op, userName)
	case g != nil && g.membersLoaded:
		return g, nil
	}
	if err := c.fetchContacts(ctx, []string{userName}, 1); err != nil {
		return nil, err
	}
	if g = c.contacts.get(userName); g == nil {
		return nil, unknownContact(op, userName)
	}
	return g, nil
}

// Refresh fetches the whole address book again: every page of webwxgetcontact, then every
// group with its members (webwxbatchgetcontact, 50 per request). Contacts the server no
// longer lists are not removed: removals arrive through the sync. It returns the first
// error, after which the store holds what was fetched until then.
func (c *Client) Refresh(ctx context.Context) error {
	if err := c.loadContactsOnce(ctx, true); err != nil {
		return err
	}
	c.contacts.markLoaded()
	return nil
}

// Contact loading (PROTOCOL 5.3, 5.4, 5.8).
const (
	batchContactMax      = 50 // entries per webwxbatchgetcontact
	batchContactInFlight = 3  // concurrent webwxbatchgetcontact requests while loading
	maxContactPages      = 1000
)

// loadContacts fetches the address book (webwxgetcontact pages), then every group's members,
// retrying with backoff until it succeeds or ctx ends. Run starts it beside the sync loop.
// After a restart on a stored session, whose address book was restored already, it fetches
// the pages again but only the groups whose members are not known: the sync, which resumes
// where the stored session stopped, brings the changes of the groups.
func (c *Client) loadContacts(ctx context.Context) {
	bo := backoff.Backoff{Min: time.Second, Max: 30 * time.Second}
	for {
		err := c.loadContactsOnce(ctx, !c.contacts.wasRestored())
		if err == nil {
			c.contacts.markLoaded()
			c.log.Info("contacts loaded", "count", c.contacts.count())
			return
		}
		if ctx.Err() != nil || errors.Is(err, ErrLoggedOut) {
			return
		}
		c.log.Warn("loading contacts failed; retrying", "err", err)
		if backoff.Sleep(ctx, bo.Next()) != nil {
			return
		}
	}
}

// loadContactsOnce fetches every page of webwxgetcontact, then the groups: with allGroups
// every group, else those whose members are not known.
func (c *Client) loadContactsOnce(ctx context.Context, allGroups bool) error {
	s := c.sess.get()
	if s == nil {
		return ErrNotLoggedIn
	}
	seq, loaded := int64(0), int64(0)
	for page := 0; page < maxContactPages; page++ {
		q := url.Values{
			"r":           {ms(time.Now().UnixMilli())},
			"seq":         {strconv.FormatInt(seq, 10)},
			"skey":        {s.skey},
			"pass_ticket": {s.passTicket},
			"lang":        {c.cfg.lang},
		}
		body, err := c.getRaw(ctx, opGetContact, cgiURL(s.hosts.main, "webwxgetcontact", q))
		if err != nil {
			return err
		}
		resp, err := decodeJSON(opGetContact, body, wire.DecodeContactPage)
		if err != nil {
			return err
		}
		c.warnUnreadableEntries(opGetContact, resp.Unreadable)
		cs := c.decodeContacts(opGetContact, resp.Contacts, s.self)
		c.contacts.put(cs...)
		loaded += int64(len(cs))
		c.log.Debug("contact page", "op", opGetContact, "count", len(cs), "seq", resp.Seq)
		if resp.Seq == 0 || resp.Seq == seq {
			break
		}
		c.report(Progress{Kind: ProgressContacts, Done: loaded, Total: -1})
		seq = resp.Seq
	}
	c.report(Progress{Kind: ProgressContacts, Done: loaded, Total: loaded})
	// The groups of the pages, of webwxinit (often not saved to the address book) and those
	// fetched for a message.
	groups := c.contacts.groupsToFetch(allGroups)
	slices.Sort(groups)
	total := int64(len(groups))
	c.report(Progress{Kind: ProgressGroups, Total: total})
	var fetched int64
	return c.fetchContactsFunc(ctx, groups, batchContactInFlight, func(n int) {
		fetched += int64(n)
		c.report(Progress{Kind: ProgressGroups, Done: fetched, Total: total})
	})
}

// fetchContacts fetches the details of userNames (groups come with their members) with
// webwxbatchgetcontact, at most 50 per request and inFlight requests at a time, and stores
// them.
func (c *Client) fetchContacts(ctx context.Context, userNames []string, inFlight int) error {
	return c.fetchContactsFunc(ctx, userNames, inFlight, nil)
}

// fetchContactsFunc is fetchContacts that calls done, if not nil, with the size of every
// batch fetched, one call at a time.
func (c *Client) fetchContactsFunc(ctx context.Context, userNames []string, inFlight int, done func(n int)) error {
	s := c.sess.get()
	if s == nil {
		return ErrNotLoggedIn
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs error
		sem  = make(chan struct{}, inFlight)
	)
	for len(userNames) > 0 {
		n := min(len(userNames), batchContactMax)
		batch := userNames[:n]
		userNames = userNames[n:]
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Go(func() {
			defer func() { <-sem }()
			err := c.batchGetContact(ctx, s, batch)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil && errs == nil:
				errs = err
			case err == nil && done != nil:
				done(len(batch))
			}
		})
	}
	wg.Wait()
	return errs
}

func (c *Client) batchGetContact(ctx context.Context, s *session, userNames []string) error {
	list := make([]wire.BatchContactEntry, len(userNames))
	for i, u := range userNames {
		list[i] = wire.BatchContactEntry{UserName: u}
	}
	_, err := c.batchGet(ctx, s, list)
	return err
}

// batchGet fetches list with one webwxbatchgetcontact, stores what the server returned and
// returns it. An entry's EncryChatRoomID is a group's, to fetch a member of it who is not a
// contact (PROTOCOL 5.4).
func (c *Client) batchGet(ctx context.Context, s *session, list []wire.BatchContactEntry) ([]*Contact, error) {
	req := wire.BatchContactRequest{BaseRequest: s.baseRequest(), Count: len(list), List: list}
	q := url.Values{
		"type":        {"ex"},
		"r":           {ms(time.Now().UnixMilli())},
		"lang":        {c.cfg.lang},
		"pass_ticket": {s.passTicket},
	}
	body, err := c.postRaw(ctx, opBatchContact, cgiURL(s.hosts.main, "webwxbatchgetcontact", q), req)
	if err != nil {
		return nil, err
	}
	resp, err := decodeJSON(opBatchContact, body, wire.DecodeContactPage)
	if err != nil {
		return nil, err
	}
	c.warnUnreadableEntries(opBatchContact, resp.Unreadable)
	cs := c.decodeContacts(opBatchContact, resp.Contacts, s.self)
	for _, ct := range cs {
		if ct.Kind == KindGroup {
			ct.membersLoaded = true
		}
	}
	c.contacts.put(cs...)
	return cs, nil
}

func dedupe(names []string) []string {
	seen := make(map[string]bool, len(names))
	out := names[:0:0]
	for _, n := range names {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}
