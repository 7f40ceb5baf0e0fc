package wechat

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"
)

// contactStore is the address book of the session. It is safe for concurrent use. It keeps
// compact records (contact_store_rec.go) and hands out Contact values built from them:
// snapshots that share the records' strings and member lists, which are never modified once
// stored, only replaced.
type contactStore struct {
	mu          sync.RWMutex
	self        string
	byName      map[string]*contactRec // by UserName, with the records of UserNames that are no contacts (recGone)
	live        int                    // records of contacts
	atoms       atomTable              // provinces, cities, HeadImgURL tails
	tried       map[string]time.Time   // UserNames fetched on demand recently (a negative cache too)
	loaded      chan struct{}          // closed when the whole address book has been loaded
	restored    bool                   // the book came from the session store: refresh, do not refetch groups
	inviteStart int                    // webwxinit's InviteStartCount; 0: not known
	ids         identities             // the identity table outlives sessions
	renamed     map[string]bool        // UserNames whose ID changed, for fixMembersLocked
	version     uint64                 // bumped by every change of the contacts, for the session saver
	epoch       string                 // makes versions unique to this store

	// The contacts last built by get, valid while version is hotVersion: a message reads its
	// chat and sender several times.
	hotMu      sync.Mutex
	hot        map[*contactRec]*Contact
	hotVersion uint64
}

// hotMax bounds the contacts get keeps built.
const hotMax = 64

// reset empties the store for a new session. The identity table stays.
func (s *contactStore) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
}

func (s *contactStore) resetLocked() {
	if s.epoch == "" {
		s.epoch = strconv.FormatUint(rand.Uint64(), 36)
	}
	s.self = ""
	s.byName = make(map[string]*contactRec)
	s.live = 0
	s.atoms = atomTable{}
	s.version++
	s.tried = make(map[string]time.Time)
	s.restored = false
	s.renamed = nil
	s.ids.resetSession(s.byName)
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

// lock locks the store for writing, first readying a zero store (as a new Client has) with
// resetLocked: checking and readying under one lock, two first writers cannot both reset.
func (s *contactStore) lock() {
	s.mu.Lock()
	if s.byName == nil {
		s.resetLocked()
	}
}

func (s *contactStore) setSelf(userName string) {
	s.lock()
	s.self = userName
	s.mu.Unlock()
}

// setInviteStart records webwxinit's InviteStartCount.
func (s *contactStore) setInviteStart(n int) {
	s.lock()
	s.inviteStart = n
	s.mu.Unlock()
}

// inviteStartCount returns the group size from which members must be invited rather than
// added: webwxinit's InviteStartCount, 40 if it sent none (PROTOCOL 5.1, 11.4).
func (s *contactStore) inviteStartCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.inviteStart > 0 {
		return s.inviteStart
	}
	return 40
}

// put stores contacts, giving each its ID. A group without a member list does not replace
// one that has members: webwxgetcontact and webwxinit list groups without members
// (PROTOCOL 5.3).
func (s *contactStore) put(cs ...*Contact) {
	s.lock()
	defer s.mu.Unlock()
	for _, c := range cs {
		s.putLocked(c)
	}
	s.fixMembersLocked()
}

// putLocked stores c with its ID. A person whose ID is new or changed is noted in s.renamed,
// for fixMembersLocked. Fresh members (not those of the stored group) get their IDs in place,
// so that whoever decoded them sees the IDs too (ContactChange.Joined).
func (s *contactStore) putLocked(c *Contact) {
	cp := *c
	rec := s.byName[c.UserName]
	if rec == nil {
		// The identity table refers to the record (as the holder of fingerprints).
		rec = newRec(c.UserName)
	}
	r := rec
	if !r.live() {
		r = nil // a UserName with an ID only
	}
	var oldID string
	var oldMembers []Member
	if r != nil {
		oldID, oldMembers = r.id, r.members()
		if cp.Kind == KindGroup && !cp.membersLoaded && r.membersLoaded() {
			cp.Members, cp.membersLoaded = oldMembers, true
			if g := r.group(); g != nil {
				if cp.MemberCount == 0 {
					cp.MemberCount = g.memberCount
				}
				if cp.EncryChatRoomID == "" {
					cp.EncryChatRoomID = g.encryChatRoomID
				}
			}
		}
	}
	// The record's one string holds the names before anything refers to them: the identity
	// table and group members share the UserName and the NickName.
	rec.setNames(cp.NickName, cp.RemarkName)
	s.byName[rec.userName()] = rec // the map's key too (a key is replaced on assignment)
	cp.UserName, cp.NickName, cp.RemarkName = rec.userName(), rec.nick(), rec.remark()
	s.ids.assign(&cp)
	if cp.Kind == KindGroup && len(cp.Members) > 0 {
		stored := r != nil && len(oldMembers) > 0 && &oldMembers[0] == &cp.Members[0]
		switch {
		case !stored:
			s.shareMemberStrings(cp.Members)
			s.ids.setMemberIDs(cp.ID, cp.Members)
		case oldID != cp.ID:
			// The stored list is shared with snapshots handed out: copy it.
			cp.Members = slices.Clone(cp.Members)
			s.ids.setMemberIDs(cp.ID, cp.Members)
		}
	}
	if !rec.live() {
		s.live++
	}
	s.atoms.pack(rec, &cp)
	s.version++
	if cp.Kind != KindGroup && (r == nil || oldID != cp.ID) {
		if s.renamed == nil {
			s.renamed = make(map[string]bool)
		}
		s.renamed[cp.UserName] = true
	}
}

// shareMemberStrings makes the members' UserNames and NickNames the strings of the records
// of those UserNames (a friend, self), when there are.
func (s *contactStore) shareMemberStrings(ms []Member) {
	for i := range ms {
		m := &ms[i]
		if r := s.byName[m.UserName]; r != nil {
			m.UserName = r.userName()
			if nick := r.nick(); m.NickName == nick {
				m.NickName = nick
			}
		}
	}
}

// fixMembersLocked gives the group members noted in s.renamed their contact's ID: a friend
// stored after a group that lists them, or whose ID changed, is the same person there.
func (s *contactStore) fixMembersLocked() {
	if len(s.renamed) == 0 {
		return
	}
	for _, g := range s.byName {
		if !g.live() || g.kind() != KindGroup {
			continue
		}
		for _, m := range g.members() {
			if s.renamed[m.UserName] && s.ids.idOf(m.UserName) != m.ID {
				// The stored list is shared with snapshots handed out: copy it.
				members := slices.Clone(g.ext.group.members)
				s.ids.setMemberIDs(g.id, members)
				g.ext.group.members = members
				s.version++
				break
			}
		}
	}
	s.renamed = nil
}

// reassignLocked gives the stored contact userName its ID again, after a key was learned.
func (s *contactStore) reassignLocked(userName string) {
	if r := s.byName[userName]; r != nil && r.live() {
		s.putLocked(s.contactLocked(r))
	}
}

// modify replaces the stored contact userName by a copy changed by f. It reports false if the
// contact is not stored.
func (s *contactStore) modify(userName string, f func(c *Contact)) bool {
	s.lock()
	defer s.mu.Unlock()
	r := s.byName[userName]
	if r == nil || !r.live() {
		return false
	}
	cp := s.contactLocked(r)
	f(cp)
	s.putLocked(cp)
	s.fixMembersLocked()
	return true
}

func (s *contactStore) remove(userNames ...string) {
	s.lock()
	defer s.mu.Unlock()
	for _, u := range userNames {
		if r := s.byName[u]; r != nil && r.live() {
			// The UserName keeps its ID for the session (identities.idOf).
			u := r.userName()
			*r = contactRec{names: u, nameLen: uint32(len(u)), id: r.id, flags: recGone}
			s.live--
		}
		s.version++
	}
}

// updateMembers applies ModChatRoomMemberList entries to the groups that list those members
// and returns the groups it changed.
func (s *contactStore) updateMembers(ms []Member) []*Contact {
	if len(ms) == 0 {
		return nil
	}
	byName := make(map[string]Member, len(ms))
	for _, m := range ms {
		byName[m.UserName] = m
	}
	s.lock()
	defer s.mu.Unlock()
	var changed []*Contact
	for _, g := range s.byName {
		if !g.live() || g.kind() != KindGroup {
			continue
		}
		var members []Member
		for i, m := range g.members() {
			if nm, ok := byName[m.UserName]; ok {
				if members == nil {
					members = append([]Member(nil), g.ext.group.members...)
				}
				members[i] = nm
			}
		}
		if members != nil {
			s.shareMemberStrings(members)
			s.ids.setMemberIDs(g.id, members)
			g.ext.group.members = members
			s.version++
			changed = append(changed, s.contactLocked(g))
		}
	}
	return changed
}

// get returns the contact userName, or nil. Callers must not modify it.
func (s *contactStore) get(userName string) *Contact {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.byName[userName]
	if r == nil || !r.live() {
		return nil
	}
	s.hotMu.Lock()
	defer s.hotMu.Unlock()
	if s.hotVersion != s.version || len(s.hot) >= hotMax {
		clear(s.hot)
		s.hotVersion = s.version
	}
	if c := s.hot[r]; c != nil {
		return c
	}
	c := s.contactLocked(r)
	if s.hot == nil {
		s.hot = make(map[*contactRec]*Contact)
	}
	s.hot[r] = c
	return c
}

// contactLocked returns a new Contact built from r.
func (s *contactStore) contactLocked(r *contactRec) *Contact {
	c := new(Contact)
	s.atoms.fill(c, r)
	return c
}

// isMember reports whether userName is a member of a stored group.
func (s *contactStore) isMember(userName string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, r := range s.byName {
		if r.live() && r.kind() == KindGroup && r.isMember(userName) {
			return true
		}
	}
	return false
}

// byID returns the contact whose ID is id, or nil.
func (s *contactStore) byID(id string) *Contact {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if u := s.ids.userOf(id); u != "" {
		if r := s.byName[u]; r != nil && r.live() {
			return s.contactLocked(r)
		}
	}
	return nil
}

// all returns every contact, in no order.
func (s *contactStore) all() []*Contact {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Contact, 0, s.live)
	cs := make([]Contact, s.live)
	for _, r := range s.byName {
		if r.live() {
			c := &cs[len(out)]
			s.atoms.fill(c, r)
			out = append(out, c)
		}
	}
	return out
}

// list returns the contacts for which keep returns true, in no order; a nil keep keeps all.
func (s *contactStore) list(keep func(r *contactRec) bool) []Contact {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Contact
	for _, r := range s.byName {
		if r.live() && (keep == nil || keep(r)) {
			out = append(out, Contact{})
			s.atoms.fill(&out[len(out)-1], r)
		}
	}
	return out
}

// count returns the number of contacts.
func (s *contactStore) count() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.live
}

// groupsToFetch returns the UserNames of the stored groups: all of them, or with !all those
// whose members are not known.
func (s *contactStore) groupsToFetch(all bool) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for _, r := range s.byName {
		if r.live() && r.kind() == KindGroup && (all || !r.membersLoaded()) {
			out = append(out, r.userName())
		}
	}
	return out
}

func (s *contactStore) loadedCh() chan struct{} {
	s.lock()
	defer s.mu.Unlock()
	return s.loaded
}

// markLoaded closes the loaded channel, once.
func (s *contactStore) markLoaded() {
	s.lock()
	defer s.mu.Unlock()
	s.markLoadedLocked()
}

func (s *contactStore) markLoadedLocked() {
	select {
	case <-s.loaded:
	default:
		close(s.loaded)
	}
}

// claim returns the UserNames among names that were not fetched on demand in the last minute,
// and marks them as fetched: a burst of messages from an unknown chat costs one request.
func (s *contactStore) claim(now time.Time, names []string) []string {
	s.lock()
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

// learnIDs takes the permanent ids a StatusNotify code 4 message pairs with the session
// UserNames of the phone's chat list (PROTOCOL 7.5), and gives the contacts already stored
// their ID again. Other messages are ignored. The sync loop calls it for every status
// notification.
func (s *contactStore) learnIDs(m *Message) {
	if m.MsgType != MsgTypeStatusNotify || m.StatusNotifyCode != 4 {
		return // no XML decode for codes 1, 2, 5: one whenever the phone reads, opens or leaves a chat
	}
	n, _ := m.StatusNotify()
	if len(n.UserNames) == 0 || len(n.UserNames) != len(n.PermanentIDs) {
		return // the two lists must pair up one to one
	}
	s.lock()
	defer s.mu.Unlock()
	for i, u := range n.UserNames {
		if s.ids.learnPID(u, n.PermanentIDs[i]) {
			s.reassignLocked(u)
		}
	}
	s.fixMembersLocked()
}

// learnPID records that userName is the permanent id pid (a friend request's fromusername).
func (s *contactStore) learnPID(userName, pid string) {
	s.lock()
	defer s.mu.Unlock()
	if s.ids.learnPID(userName, pid) {
		s.reassignLocked(userName)
	}
	s.fixMembersLocked()
}

// loadIDs installs a saved identity table of the account uin.
func (s *contactStore) loadIDs(uin int64, keys map[string]string) {
	s.lock()
	defer s.mu.Unlock()
	s.ids.load(uin, keys)
}

// exportIDs returns the identity table, the account it belongs to, and a version that grows
// with every change of the table.
func (s *contactStore) exportIDs() (int64, map[string]string, uint64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.ids.uin, s.ids.export(), s.ids.version
}

// restore fills the store with a saved address book of the same session, keeping the saved
// IDs, and marks the book loaded: the loader then refreshes it in the background.
func (s *contactStore) restore(cs []Contact) {
	if len(cs) == 0 {
		return
	}
	s.lock()
	for i := range cs {
		c := cs[i]
		if c.UserName == "" {
			continue
		}
		c.Members = slices.Clone(c.Members)
		c.membersLoaded = c.Kind == KindGroup && len(c.Members) > 0
		if c.ID != "" {
			s.ids.bind(c.UserName, c.ID)
		}
		s.putLocked(&c)
	}
	s.fixMembersLocked()
	s.restored = true
	s.markLoadedLocked()
	s.mu.Unlock()
}

// wasRestored reports whether the book came from the session store.
func (s *contactStore) wasRestored() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.restored
}

// book returns the address book, sorted as [Client.Contacts] sorts it, with a version that
// differs whenever the book does. The slice is built at every call (a copy kept for the next
// save would double the store's memory); callers must not modify it.
// versions returns the version book would return, and that of the identity table, without
// building anything.
func (s *contactStore) versions() (book string, ids uint64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.live > 0 {
		book = s.epoch + "." + strconv.FormatUint(s.version, 36)
	}
	return book, s.ids.version
}

func (s *contactStore) book() (string, []Contact) {
	s.lock()
	defer s.mu.Unlock()
	if s.live == 0 {
		return "", nil
	}
	out := make([]Contact, 0, s.live)
	for _, r := range s.byName {
		if r.live() {
			out = append(out, Contact{})
			s.atoms.fill(&out[len(out)-1], r)
		}
	}
	sortContacts(out)
	return s.epoch + "." + strconv.FormatUint(s.version, 36), out
}
