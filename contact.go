package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wxkit/wechat/internal/backoff"
	"github.com/wxkit/wechat/internal/textfmt"
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
// every login. Contacts returned by the Client are snapshots; do not modify Members.
type Contact struct {
	UserName    string
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
	UserName    string
	NickName    string
	DisplayName string // the member's nickname in this group; may be empty
	Uin         int64
	AttrStatus  int64
}

// Name returns the name to show for the contact: the remark name if set, else the nickname.
func (c *Contact) Name() string {
	if c.RemarkName != "" {
		return c.RemarkName
	}
	return c.NickName
}

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

func isGroupName(userName string) bool {
	return strings.HasPrefix(userName, "@@") || strings.HasSuffix(userName, "@chatroom")
}

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

// newContact converts a wire contact, decoding its names.
func newContact(w *wireContact, self string) *Contact {
	c := &Contact{
		UserName:        string(w.UserName),
		NickName:        textfmt.Text(string(w.NickName)),
		RemarkName:      textfmt.Text(string(w.RemarkName)),
		DisplayName:     textfmt.Text(string(w.DisplayName)),
		Alias:           string(w.Alias),
		Signature:       textfmt.Text(string(w.Signature)),
		Province:        string(w.Province),
		City:            string(w.City),
		Sex:             int(w.Sex),
		Uin:             int64(w.Uin),
		ContactFlag:     int(w.ContactFlag),
		VerifyFlag:      int(w.VerifyFlag),
		AttrStatus:      int64(w.AttrStatus),
		StarFriend:      w.StarFriend != 0,
		HeadImgURL:      w.HeadImgURL,
		MemberCount:     int(w.MemberCount),
		EncryChatRoomID: string(w.EncryChatRoomID),
		OwnerUin:        int64(w.OwnerUin),
		IsOwner:         w.IsOwner != 0,
	}
	c.Kind = classify(c.UserName, self, c.VerifyFlag, c.ContactFlag)
	if len(w.MemberList) > 0 {
		c.Members = make([]Member, len(w.MemberList))
		for i := range w.MemberList {
			c.Members[i] = newMember(&w.MemberList[i])
		}
		if c.MemberCount == 0 {
			c.MemberCount = len(c.Members)
		}
	}
	return c
}

func newMember(m *wireMember) Member {
	return Member{
		UserName:    string(m.UserName),
		NickName:    textfmt.Text(string(m.NickName)),
		DisplayName: textfmt.Text(string(m.DisplayName)),
		Uin:         int64(m.Uin),
		AttrStatus:  int64(m.AttrStatus),
	}
}

// decodeContacts decodes each raw contact on its own, so that one malformed entry costs only
// itself (it is logged) and not the whole list.
func (c *Client) decodeContacts(op string, raws []json.RawMessage, self string) []*Contact {
	out := make([]*Contact, 0, len(raws))
	for _, raw := range raws {
		var w wireContact
		if err := json.Unmarshal(raw, &w); err != nil || w.UserName == "" {
			c.log.Warn("skipping malformed contact", "op", op, "err", jsonError(err))
			continue
		}
		out = append(out, newContact(&w, self))
	}
	return out
}

// contactStore is the address book of the session. It is safe for concurrent use. Contacts are
// replaced, never modified, once stored, so snapshots can be handed out without copying.
type contactStore struct {
	mu     sync.RWMutex
	self   string
	byName map[string]*Contact
	tried  map[string]time.Time // UserNames fetched on demand recently (a negative cache too)
	loaded chan struct{}        // closed when the whole address book has been loaded
}

// reset empties the store for a new session.
func (s *contactStore) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.self = ""
	s.byName = make(map[string]*Contact)
	s.tried = make(map[string]time.Time)
	// Keep a channel nobody closed yet: whoever waits before a login waits for its load.
	select {
	case <-s.loaded:
		s.loaded = make(chan struct{})
	default:
		if s.loaded == nil {
			s.loaded = make(chan struct{})
		}
	}
}

func (s *contactStore) init() {
	s.mu.Lock()
	needs := s.byName == nil
	s.mu.Unlock()
	if needs {
		s.reset()
	}
}

func (s *contactStore) setSelf(userName string) {
	s.init()
	s.mu.Lock()
	s.self = userName
	s.mu.Unlock()
}

// put stores contacts. A group without a member list does not replace one that has members:
// webwxgetcontact and webwxinit list groups without members (PROTOCOL 5.3).
func (s *contactStore) put(cs ...*Contact) {
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cs {
		if c.Kind == KindGroup && !c.membersLoaded {
			if old := s.byName[c.UserName]; old != nil && old.membersLoaded {
				merged := *c
				merged.Members, merged.membersLoaded = old.Members, true
				if merged.MemberCount == 0 {
					merged.MemberCount = old.MemberCount
				}
				if merged.EncryChatRoomID == "" {
					merged.EncryChatRoomID = old.EncryChatRoomID
				}
				c = &merged
			}
		}
		s.byName[c.UserName] = c
	}
}

func (s *contactStore) remove(userNames ...string) {
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range userNames {
		delete(s.byName, u)
	}
}

// updateMembers applies ModChatRoomMemberList entries to the groups that list those members
// and returns the groups it changed.
func (s *contactStore) updateMembers(ms []Member) []*Contact {
	if len(ms) == 0 {
		return nil
	}
	s.init()
	byName := make(map[string]Member, len(ms))
	for _, m := range ms {
		byName[m.UserName] = m
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var changed []*Contact
	for name, c := range s.byName {
		if c.Kind != KindGroup {
			continue
		}
		var members []Member
		for i, m := range c.Members {
			if nm, ok := byName[m.UserName]; ok {
				if members == nil {
					members = append([]Member(nil), c.Members...)
				}
				members[i] = nm
			}
		}
		if members != nil {
			cp := *c
			cp.Members = members
			s.byName[name] = &cp
			changed = append(changed, &cp)
		}
	}
	return changed
}

func (s *contactStore) get(userName string) *Contact {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.byName[userName]
}

func (s *contactStore) all() []*Contact {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Contact, 0, len(s.byName))
	for _, c := range s.byName {
		out = append(out, c)
	}
	return out
}

func (s *contactStore) loadedCh() chan struct{} {
	s.init()
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.loaded
}

// claim returns the UserNames among names that were not fetched on demand in the last minute,
// and marks them as fetched: a burst of messages from an unknown chat costs one request.
func (s *contactStore) claim(now time.Time, names []string) []string {
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, n := range names {
		if n == "" {
			continue
		}
		if t, ok := s.tried[n]; ok && now.Sub(t) < time.Minute {
			continue
		}
		s.tried[n] = now
		out = append(out, n)
	}
	return out
}

// Self returns the logged-in account. It returns false before webwxinit has run.
func (c *Client) Self() (Contact, bool) {
	s := c.sess()
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

// Contacts returns every known contact (friends, groups, official and special accounts, self)
// in no particular order.
func (c *Client) Contacts() []Contact {
	all := c.contacts.all()
	out := make([]Contact, len(all))
	for i, ct := range all {
		out[i] = *ct
	}
	return out
}

// ContactsByName returns the contacts whose remark name or nickname is exactly name (decoded,
// emoji included), those matching by remark name first.
func (c *Client) ContactsByName(name string) []Contact {
	var byRemark, byNick []Contact
	for _, ct := range c.contacts.all() {
		switch name {
		case ct.RemarkName:
			byRemark = append(byRemark, *ct)
		case ct.NickName:
			byNick = append(byNick, *ct)
		}
	}
	return append(byRemark, byNick...)
}

// WaitContacts blocks until the whole address book of the current session has been loaded
// (Run loads it in the background while the sync loop already runs), or ctx ends, in which
// case it returns ctx.Err().
func (c *Client) WaitContacts(ctx context.Context) error {
	select {
	case <-c.contacts.loadedCh():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Contact loading (PROTOCOL 5.3, 5.4, 5.8).
const (
	batchContactMax      = 50 // entries per webwxbatchgetcontact
	batchContactInFlight = 3  // concurrent webwxbatchgetcontact requests while loading
	maxContactPages      = 1000
)

// loadContacts fetches the address book (webwxgetcontact pages), then every group's members,
// retrying with backoff until it succeeds or ctx ends. Run starts it beside the sync loop.
func (c *Client) loadContacts(ctx context.Context) {
	bo := backoff.Backoff{Min: time.Second, Max: 30 * time.Second}
	for {
		err := c.loadContactsOnce(ctx)
		if err == nil {
			close(c.contacts.loadedCh())
			c.log.Info("contacts loaded", "count", len(c.contacts.all()))
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

func (c *Client) loadContactsOnce(ctx context.Context) error {
	s := c.sess()
	if s == nil {
		return ErrNotLoggedIn
	}
	var groups []string
	seq := int64(0)
	for page := 0; page < maxContactPages; page++ {
		q := url.Values{
			"r":           {ms(time.Now().UnixMilli())},
			"seq":         {strconv.FormatInt(seq, 10)},
			"skey":        {s.skey},
			"pass_ticket": {s.passTicket},
			"lang":        {c.cfg.lang},
		}
		var resp struct {
			hasBase
			MemberList []json.RawMessage `json:"MemberList"`
			Seq        flexInt           `json:"Seq"`
		}
		if err := c.getJSON(ctx, opGetContact, cgiURL(s.hosts.main, "webwxgetcontact", q), &resp); err != nil {
			return err
		}
		cs := c.decodeContacts(opGetContact, resp.MemberList, s.self)
		c.contacts.put(cs...)
		for _, ct := range cs {
			if ct.Kind == KindGroup {
				groups = append(groups, ct.UserName)
			}
		}
		c.log.Debug("contact page", "op", opGetContact, "count", len(cs), "seq", int64(resp.Seq))
		if resp.Seq == 0 || int64(resp.Seq) == seq {
			break
		}
		seq = int64(resp.Seq)
	}
	// Groups from webwxinit too: they are often not saved to the address book.
	for _, ct := range c.contacts.all() {
		if ct.Kind == KindGroup && !ct.membersLoaded {
			groups = append(groups, ct.UserName)
		}
	}
	return c.fetchContacts(ctx, dedupe(groups), batchContactInFlight)
}

// fetchContacts fetches the details of userNames (groups come with their members) with
// webwxbatchgetcontact, at most 50 per request and inFlight requests at a time, and stores
// them.
func (c *Client) fetchContacts(ctx context.Context, userNames []string, inFlight int) error {
	s := c.sess()
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
			if err := c.batchGetContact(ctx, s, batch); err != nil {
				mu.Lock()
				if errs == nil {
					errs = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errs
}

func (c *Client) batchGetContact(ctx context.Context, s *session, userNames []string) error {
	type entry struct {
		UserName        string `json:"UserName"`
		EncryChatRoomID string `json:"EncryChatRoomId"`
	}
	list := make([]entry, len(userNames))
	for i, u := range userNames {
		list[i] = entry{UserName: u}
	}
	req := struct {
		BaseRequest baseRequest `json:"BaseRequest"`
		Count       int         `json:"Count"`
		List        []entry     `json:"List"`
	}{s.baseRequest(), len(list), list}
	q := url.Values{
		"type":        {"ex"},
		"r":           {ms(time.Now().UnixMilli())},
		"lang":        {c.cfg.lang},
		"pass_ticket": {s.passTicket},
	}
	var resp struct {
		hasBase
		ContactList []json.RawMessage `json:"ContactList"`
	}
	if err := c.postJSON(ctx, opBatchContact, cgiURL(s.hosts.main, "webwxbatchgetcontact", q), req, &resp); err != nil {
		return err
	}
	cs := c.decodeContacts(opBatchContact, resp.ContactList, s.self)
	for _, ct := range cs {
		if ct.Kind == KindGroup {
			ct.membersLoaded = true
		}
	}
	c.contacts.put(cs...)
	return nil
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
