package wechat

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"
)

// contactStore is the address book of the session. It is safe for concurrent use. Contacts are
// replaced, never modified, once stored, so snapshots can be handed out without copying.
type contactStore struct {
	mu          sync.RWMutex
	self        string
	byName      map[string]*Contact
	tried       map[string]time.Time // UserNames fetched on demand recently (a negative cache too)
	loaded      chan struct{}        // closed when the whole address book has been loaded
	restored    bool                 // the book came from the session store: refresh, do not refetch groups
	inviteStart int                  // webwxinit's InviteStartCount; 0: not known
	ids         identities           // the identity table outlives sessions
	renamed     map[string]bool      // UserNames whose ID changed, for fixMembersLocked
	version     uint64               // bumped by every change of byName, for the session saver
	epoch       string               // makes versions unique to this store
	bookCache   []Contact            // the book as book last built it, at bookVersion
	bookVersion uint64
}

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
	s.byName = make(map[string]*Contact)
	s.version++
	s.tried = make(map[string]time.Time)
	s.restored = false
	s.renamed = nil
	s.ids.resetSession()
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

// putLocked stores a copy of c with its ID. A person whose ID is new or changed is noted in
// s.renamed, for fixMembersLocked.
func (s *contactStore) putLocked(c *Contact) *Contact {
	cp := *c
	old := s.byName[c.UserName]
	if cp.Kind == KindGroup && !cp.membersLoaded && old != nil && old.membersLoaded {
		cp.Members, cp.membersLoaded = old.Members, true
		if cp.MemberCount == 0 {
			cp.MemberCount = old.MemberCount
		}
		if cp.EncryChatRoomID == "" {
			cp.EncryChatRoomID = old.EncryChatRoomID
		}
	}
	s.ids.assign(&cp)
	if cp.Kind == KindGroup && len(cp.Members) > 0 {
		stored := old != nil && len(old.Members) > 0 && &old.Members[0] == &cp.Members[0]
		switch {
		case !stored:
			// Fresh members (a new decode): they get their IDs in place, so that whoever
			// decoded them sees the IDs too (ContactChange.Joined).
			s.ids.setMemberIDs(&cp)
		case old.ID != cp.ID:
			// The stored list is shared with snapshots handed out: copy it.
			cp.Members = slices.Clone(cp.Members)
			s.ids.setMemberIDs(&cp)
		}
	}
	s.byName[cp.UserName] = &cp
	s.version++
	if cp.Kind != KindGroup && (old == nil || old.ID != cp.ID) {
		if s.renamed == nil {
			s.renamed = make(map[string]bool)
		}
		s.renamed[cp.UserName] = true
	}
	return &cp
}

// fixMembersLocked gives the group members noted in s.renamed their contact's ID: a friend
// stored after a group that lists them, or whose ID changed, is the same person there.
func (s *contactStore) fixMembersLocked() {
	if len(s.renamed) == 0 {
		return
	}
	for name, g := range s.byName {
		if g.Kind != KindGroup {
			continue
		}
		for _, m := range g.Members {
			if s.renamed[m.UserName] && s.ids.byUser[m.UserName] != m.ID {
				cp := *g
				cp.Members = slices.Clone(g.Members)
				s.ids.setMemberIDs(&cp)
				s.byName[name] = &cp
				s.version++
				break
			}
		}
	}
	clear(s.renamed)
}

// reassignLocked gives the stored contact userName its ID again, after a key was learned.
func (s *contactStore) reassignLocked(userName string) {
	if c := s.byName[userName]; c != nil {
		cp := *c
		s.putLocked(&cp)
	}
}

// modify replaces the stored contact userName by a copy changed by f. It reports false if the
// contact is not stored.
func (s *contactStore) modify(userName string, f func(c *Contact)) bool {
	s.lock()
	defer s.mu.Unlock()
	c := s.byName[userName]
	if c == nil {
		return false
	}
	cp := *c
	f(&cp)
	s.putLocked(&cp)
	s.fixMembersLocked()
	return true
}

func (s *contactStore) remove(userNames ...string) {
	s.lock()
	defer s.mu.Unlock()
	for _, u := range userNames {
		delete(s.byName, u)
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
			s.ids.setMemberIDs(&cp)
			s.byName[name] = &cp
			s.version++
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

// isMember reports whether userName is a member of a stored group.
func (s *contactStore) isMember(userName string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, c := range s.byName {
		if c.Kind == KindGroup {
			if _, ok := c.Member(userName); ok {
				return true
			}
		}
	}
	return false
}

// byID returns the contact whose ID is id, or nil.
func (s *contactStore) byID(id string) *Contact {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if u := s.ids.users[id]; u != "" {
		return s.byName[u]
	}
	return nil
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
// differs whenever the book does. The slice is rebuilt only when the store changed since the
// last call, so that saving an unchanged book costs nothing; callers must not modify it.
func (s *contactStore) book() (string, []Contact) {
	s.lock()
	defer s.mu.Unlock()
	if len(s.byName) == 0 {
		return "", nil
	}
	if s.bookCache == nil || s.bookVersion != s.version {
		out := make([]Contact, 0, len(s.byName))
		for _, c := range s.byName {
			out = append(out, *c)
		}
		sortContacts(out)
		s.bookCache, s.bookVersion = out, s.version
	}
	return s.epoch + "." + strconv.FormatUint(s.version, 36), s.bookCache
}
