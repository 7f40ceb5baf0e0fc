package wechat

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// This file gives contacts their ID: an identifier that, unlike the UserName, survives a new
// login of the same account (PROTOCOL 5.5, 5.7, 7.5, 14.19). See [Contact.ID] for what an ID
// is made of and how stable it is.
//
// The client keeps an identity table: for every ID, the stable keys it has seen for that
// contact ("pid:wxid_abc", "uin:2212345678", "alias:bob123", fingerprints of the names). The
// table is saved with the session. A contact seen at a new login takes the ID that one of
// its keys already has, strongest key first; a contact with no known key gets a new ID made
// from its strongest key. Fingerprints follow their latest holder; a fingerprint two
// contacts share is marked ambiguous (ID "") and never used for a lookup again.

// Key prefixes of the identity table, strongest first.
const (
	keyPID     = "pid:"     // a permanent id: wxid_..., gh_..., <n>@chatroom, a special account
	keyUin     = "uin:"     // the account's uin
	keyAlias   = "alias:"   // the WeChat ID (Alias)
	keyRemark  = "remark:"  // fingerprint: remark name + sex + province + city (groups: remark)
	keyName    = "name:"    // fingerprint: nickname + sex + province + city (groups: topic)
	keyMembers = "members:" // fingerprint of a group: its members' nicknames
)

// identities is the identity table and the session's view of it. It is guarded by the
// contactStore's mutex.
type identities struct {
	uin  int64               // the account the table belongs to; 0 until known
	keys map[string]string   // stable key → ID, across logins; "" marks an ambiguous key
	weak map[string][]string // ID → its fingerprint keys
	refs map[string]int      // ID → number of keys naming it

	// This session only: UserNames change at every login.
	byUser map[string]string // UserName → ID
	users  map[string]string // ID → UserName
	pids   map[string]string // UserName → permanent id (StatusNotify code 4, friend requests)
	minted map[string]string // IDs made in this session that no earlier key matched → the key made from
	holder map[string]string // fingerprint key → the UserName holding it in this session

	version uint64 // bumped by every change of the table, for the session saver
}

// resetSession forgets what belongs to the session, keeping the table.
func (r *identities) resetSession() {
	if r.keys == nil {
		r.clearTable()
	}
	r.byUser = make(map[string]string)
	r.users = make(map[string]string)
	r.pids = make(map[string]string)
	r.minted = make(map[string]string)
	r.holder = make(map[string]string)
}

// load replaces the table by a saved one, which belongs to the account uin (0: unknown).
func (r *identities) load(uin int64, keys map[string]string) {
	r.uin = uin
	r.clearTable()
	for k, id := range keys {
		r.setKey(k, id)
		if id != "" && isWeakKey(k) {
			r.weak[id] = append(r.weak[id], k)
		}
	}
}

func (r *identities) clearTable() {
	r.version++
	r.keys = make(map[string]string)
	r.weak = make(map[string][]string)
	r.refs = make(map[string]int)
}

// setKey maps k to id ("": ambiguous), keeping refs.
func (r *identities) setKey(k, id string) {
	r.version++
	if old, ok := r.keys[k]; ok {
		r.refs[old]--
	}
	r.keys[k] = id
	r.refs[id]++
}

func (r *identities) deleteKey(k string) {
	r.version++
	if old, ok := r.keys[k]; ok {
		r.refs[old]--
		delete(r.keys, k)
	}
}

// export returns a copy of the table, or nil if it is empty.
func (r *identities) export() map[string]string {
	if len(r.keys) == 0 {
		return nil
	}
	return maps.Clone(r.keys)
}

// owner notes that the session belongs to the account uin; a table made for another account
// is dropped.
func (r *identities) owner(uin int64) {
	if uin == 0 || r.uin == uin {
		return
	}
	if r.uin != 0 {
		r.clearTable()
	}
	r.uin = uin
}

// learnPID records that userName is the permanent id pid in this session.
func (r *identities) learnPID(userName, pid string) bool {
	pid = strings.TrimSpace(pid)
	if userName == "" || !usablePID(pid) || r.pids[userName] == pid {
		return false
	}
	r.pids[userName] = pid
	return true
}

// usablePID reports whether pid is a permanent id: not a session UserName, not an encrypted
// stranger id (v1_...@stranger, which differs per request) and not empty.
func usablePID(pid string) bool {
	return pid != "" && !strings.HasPrefix(pid, "@") && !strings.HasSuffix(pid, "@stranger") &&
		!strings.ContainsAny(pid, " ,<>\"")
}

// bind records that userName holds id in this session; a UserName that already had an ID
// gives it up. It is used for contacts restored with their ID.
func (r *identities) bind(userName, id string) {
	if old := r.byUser[userName]; old != "" && old != id {
		delete(r.users, old)
	}
	r.byUser[userName] = id
	r.users[id] = userName
}

// assign sets c.ID: the ID the contact had earlier in the session, or the one its keys find
// in the table, or a new one. An ID made earlier in this session is not final while a
// stronger key may still come (the chat list's permanent ids often arrive after the
// contacts): it gives way to an older ID a new key finds, or to an ID made from a new
// permanent id, uin or Alias, so that the ID a contact ends up with does not depend on the
// order things arrived in. A new fingerprint (a remark set) changes nothing.
func (r *identities) assign(c *Contact) {
	if c.UserName == "" {
		return
	}
	if c.Kind == KindSelf {
		r.owner(c.Uin)
	}
	if !strings.HasPrefix(c.UserName, "@") {
		// A special account's UserName is its permanent id (PROTOCOL 5.7).
		c.ID = c.UserName
		r.bind(c.UserName, c.ID)
		r.remember(c.ID, []string{keyPID + c.UserName})
		return
	}
	lookup, mint := r.keysOf(c)
	id := r.byUser[c.UserName]
	found := ""
	for _, k := range lookup {
		if v := r.keys[k]; v != "" && v != id && (r.users[v] == "" || r.users[v] == c.UserName) {
			found = v
			break
		}
	}
	from, isNew := r.minted[id]
	old := id
	switch {
	case id == "" && found != "", isNew && found != "":
		id = found
	case id == "", isNew && keyRank(first(mint)) < min(keyRank(from), keyRank(keyRemark)):
		delete(r.users, id)
		id = r.mint(c.UserName, mint)
		r.minted[id] = first(mint)
	}
	if isNew && id != old {
		// The abandoned ID was made at this login: its keys are this contact's.
		delete(r.minted, old)
		for _, k := range lookup {
			if r.keys[k] == old {
				r.setKey(k, id)
			}
		}
		delete(r.weak, old)
	}
	r.bind(c.UserName, id)
	r.remember(id, lookup)
	c.ID = id
}

// keyRank orders keys by strength, the strongest 0; "" (no key) is the weakest.
func keyRank(k string) int {
	for i, p := range []string{keyPID, keyUin, keyAlias, keyRemark, keyName, keyMembers} {
		if strings.HasPrefix(k, p) {
			return i
		}
	}
	return 6
}

func first(keys []string) string {
	if len(keys) == 0 {
		return ""
	}
	return keys[0]
}

// keysOf returns the keys of c, strongest first: lookup are those that may find an ID in the
// table; mint also has the ambiguous ones, which may still name a new ID.
func (r *identities) keysOf(c *Contact) (lookup, mint []string) {
	var strong, weak []string
	if pid := r.pids[c.UserName]; pid != "" {
		strong = append(strong, keyPID+pid)
	}
	if c.Uin != 0 {
		strong = append(strong, keyUin+strconv.FormatInt(c.Uin, 10))
	}
	if c.Alias != "" {
		strong = append(strong, keyAlias+c.Alias)
	}
	if c.Kind == KindGroup {
		if c.RemarkName != "" {
			weak = append(weak, keyRemark+fingerprint("g", c.RemarkName))
		}
		if c.NickName != "" {
			weak = append(weak, keyName+fingerprint("g", c.NickName))
		}
		if c.membersLoaded && len(c.Members) > 0 {
			names := make([]string, len(c.Members))
			for i, m := range c.Members {
				names[i] = m.NickName
			}
			slices.Sort(names)
			weak = append(weak, keyMembers+fingerprint(append([]string{"g"}, names...)...))
		}
	} else {
		sex, prov, city := strconv.Itoa(c.Sex), c.Province, c.City
		if c.RemarkName != "" {
			weak = append(weak, keyRemark+fingerprint("u", c.RemarkName, sex, prov, city))
		}
		if c.NickName != "" {
			weak = append(weak, keyName+fingerprint("u", c.NickName, sex, prov, city))
		}
	}
	lookup = strong
	mint = slices.Clone(strong)
	for _, k := range weak {
		mint = append(mint, k)
		if id, ok := r.keys[k]; ok && id == "" {
			continue // shared by two contacts once: useless for finding anyone
		}
		if h := r.holder[k]; h != "" && h != c.UserName {
			r.setKey(k, "") // two contacts of this session share it
			continue
		}
		r.holder[k] = c.UserName
		lookup = append(lookup, k)
	}
	return lookup, mint
}

// remember records keys as belonging to id. A strong key keeps the ID it has; a fingerprint
// moves to id, and the fingerprints id had before and no longer has are dropped.
func (r *identities) remember(id string, keys []string) {
	var weak []string
	for _, k := range keys {
		old, ok := r.keys[k]
		switch {
		case !ok:
			r.setKey(k, id)
		case old == id:
		case isWeakKey(k) && old != "":
			r.setKey(k, id)
		}
		if isWeakKey(k) && r.keys[k] == id {
			weak = append(weak, k)
		}
	}
	for _, k := range r.weak[id] {
		if r.keys[k] == id && !slices.Contains(weak, k) {
			r.deleteKey(k)
			if u := r.users[id]; u != "" && r.holder[k] == u {
				delete(r.holder, k)
			}
		}
	}
	if len(weak) > 0 {
		r.weak[id] = weak
	} else {
		delete(r.weak, id)
	}
}

// mint makes an ID from the strongest of keys: the permanent id itself, "uin:<n>",
// "alias:<alias>" or "fp:<hash>" for a fingerprint. A contact without any key gets an ID
// made from its UserName, new at every login. An ID another contact of the session holds, or
// that keys of the table name (a contact not seen yet at this login, whose old fingerprint
// this one has now), gets a suffix "~2", "~3", ...
func (r *identities) mint(userName string, keys []string) string {
	base := "fp:" + fingerprint("session", userName)
	if len(keys) > 0 {
		k := keys[0]
		switch {
		case strings.HasPrefix(k, keyPID):
			base = strings.TrimPrefix(k, keyPID)
		case strings.HasPrefix(k, keyUin), strings.HasPrefix(k, keyAlias):
			base = k
		default:
			_, h, _ := strings.Cut(k, ":")
			base = "fp:" + h
		}
	}
	id := base
	for n := 2; r.users[id] != "" && r.users[id] != userName || r.users[id] == "" && r.refs[id] > 0; n++ {
		id = base + "~" + strconv.Itoa(n)
	}
	return id
}

// memberID returns the ID of a member of the group g (whose ID is set): the member's contact
// ID if the member is a known contact, else "uin:<n>" if the server gave the uin, else
// "m:<hash>" of the group's ID, the member's nickname and group display name.
func (r *identities) memberID(g *Contact, m *Member) string {
	if id := r.byUser[m.UserName]; id != "" {
		return id
	}
	if m.Uin != 0 {
		k := keyUin + strconv.FormatInt(m.Uin, 10)
		if id := r.keys[k]; id != "" {
			return id
		}
		return k
	}
	if !strings.HasPrefix(m.UserName, "@") && m.UserName != "" {
		return m.UserName
	}
	return "m:" + fingerprint(g.ID, m.NickName, m.DisplayName)
}

// setMemberIDs sets the ID of every member of g, in place; members that would share an ID
// get a suffix "~2", "~3", ... in list order.
func (r *identities) setMemberIDs(g *Contact) {
	var seen map[string]int
	for i := range g.Members {
		m := &g.Members[i]
		id := r.memberID(g, m)
		if strings.HasPrefix(id, "m:") {
			if seen == nil {
				seen = make(map[string]int)
			}
			seen[id]++
			if n := seen[id]; n > 1 {
				id += "~" + strconv.Itoa(n)
			}
		}
		m.ID = id
	}
}

func isWeakKey(k string) bool {
	return strings.HasPrefix(k, keyRemark) || strings.HasPrefix(k, keyName) || strings.HasPrefix(k, keyMembers)
}

// fingerprint hashes parts into 16 hex digits (64 bits).
func fingerprint(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}
