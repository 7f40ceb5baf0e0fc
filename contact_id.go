package wechat

import (
	"crypto/sha256"
	"encoding/hex"
	"iter"
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
	keys keyTable            // stable key → ID, across logins; and the holders of fingerprints in this session
	ents map[string]*idEntry // ID → what the table and the session know of it

	// This session only: UserNames change at every login.
	recs map[string]*contactRec // UserName → its record, shared with the contactStore: the ID it holds
	pids map[string]string      // UserName → permanent id (StatusNotify code 4, friend requests)

	version uint64 // bumped by every change of the table, for the session saver
}

// idEntry is what the table and the session know of an ID.
type idEntry struct {
	weak1  string      // the ID's first fingerprint key, or "" (table)
	weakN  *[]string   // the others, if there are (table)
	user   *contactRec // the record of the UserName holding the ID in this session, or nil
	refs   int32       // the keys naming the ID (table)
	minted int8        // 1 + the keyRank of the key the ID was made from in this session, if it was; else 0
}

// keyTable maps the stable keys to IDs ("" marks an ambiguous key), and a fingerprint key to
// the contact holding it in this session. One map holds both; the holders of keys not in the
// table, which are rare, are kept aside.
type keyTable struct {
	m       map[string]keyEntry
	orphans map[string]*contactRec // holders of keys not in the table
}

type keyEntry struct {
	id     string
	holder *contactRec // the record of the UserName holding the key in this session, or nil
}

// get returns the ID k names, and whether k is in the table.
func (t *keyTable) get(k string) (string, bool) {
	e, ok := t.m[k]
	return e.id, ok
}

// id returns the ID k names, or "".
func (t *keyTable) id(k string) string {
	return t.m[k].id
}

func (t *keyTable) set(k, id string) {
	e, ok := t.m[k]
	if !ok {
		if h := t.orphans[k]; h != nil {
			e.holder = h
			delete(t.orphans, k)
		}
	}
	e.id = id
	t.m[k] = e
}

func (t *keyTable) del(k string) {
	e, ok := t.m[k]
	if !ok {
		return
	}
	delete(t.m, k)
	if e.holder != nil {
		t.orphan(k, e.holder)
	}
}

func (t *keyTable) orphan(k string, h *contactRec) {
	if t.orphans == nil {
		t.orphans = make(map[string]*contactRec)
	}
	t.orphans[k] = h
}

// holder returns the UserName holding k in this session, or "".
func (t *keyTable) holder(k string) string {
	h := t.m[k].holder
	if h == nil {
		h = t.orphans[k]
	}
	if h != nil {
		return h.userName()
	}
	return ""
}

func (t *keyTable) setHolder(k string, h *contactRec) {
	if e, ok := t.m[k]; ok {
		e.holder = h
		t.m[k] = e
		return
	}
	t.orphan(k, h)
}

func (t *keyTable) dropHolder(k string) {
	if e, ok := t.m[k]; ok {
		e.holder = nil
		t.m[k] = e
		return
	}
	delete(t.orphans, k)
}

// clearHolders forgets the holders, for a new session.
func (t *keyTable) clearHolders() {
	for k, e := range t.m {
		if e.holder != nil {
			e.holder = nil
			t.m[k] = e
		}
	}
	t.orphans = nil
}

// clearTable empties the table, keeping the holders.
func (t *keyTable) clearTable() {
	for k, e := range t.m {
		if e.holder != nil {
			t.orphan(k, e.holder)
		}
	}
	t.m = make(map[string]keyEntry)
}

// export returns a copy of the table, or nil if it is empty.
func (t *keyTable) export() map[string]string {
	if len(t.m) == 0 {
		return nil
	}
	out := make(map[string]string, len(t.m))
	for k, e := range t.m {
		out[k] = e.id
	}
	return out
}

// entry returns the entry of id, making it.
func (r *identities) entry(id string) *idEntry {
	e := r.ents[id]
	if e == nil {
		e = new(idEntry)
		r.ents[id] = e
	}
	return e
}

// tidy drops the entry of id if it holds nothing.
func (r *identities) tidy(id string, e *idEntry) {
	if e.weak1 == "" && e.weakN == nil && e.refs == 0 && e.user == nil && e.minted == 0 {
		delete(r.ents, id)
	}
}

// userOf returns the UserName holding id in this session, or "".
func (r *identities) userOf(id string) string {
	if e := r.ents[id]; e != nil && e.user != nil {
		return e.user.userName()
	}
	return ""
}

func (r *identities) dropUser(id string) {
	if e := r.ents[id]; e != nil {
		e.user = nil
		r.tidy(id, e)
	}
}

func (r *identities) refsOf(id string) int32 {
	if e := r.ents[id]; e != nil {
		return e.refs
	}
	return 0
}

// weakOf returns the fingerprint keys of id.
func (r *identities) weakOf(id string) iter.Seq[string] {
	return func(yield func(string) bool) {
		e := r.ents[id]
		if e == nil || e.weak1 == "" {
			return
		}
		weak1, weakN := e.weak1, e.weakN // yield may change e
		if !yield(weak1) || weakN == nil {
			return
		}
		for _, k := range *weakN {
			if !yield(k) {
				return
			}
		}
	}
}

// setWeak makes weak (nil: none) the fingerprint keys of id.
func (r *identities) setWeak(id string, weak []string) {
	if len(weak) > 0 {
		e := r.entry(id)
		e.weak1, e.weakN = weak[0], nil
		if len(weak) > 1 {
			rest := slices.Clip(weak[1:])
			e.weakN = &rest
		}
	} else if e := r.ents[id]; e != nil {
		e.weak1, e.weakN = "", nil
		r.tidy(id, e)
	}
}

// addWeak adds k to the fingerprint keys of id.
func (r *identities) addWeak(id, k string) {
	e := r.entry(id)
	switch {
	case e.weak1 == "":
		e.weak1 = k
	case e.weakN == nil:
		e.weakN = &[]string{k}
	default:
		*e.weakN = append(*e.weakN, k)
	}
}

// mintedFrom returns the keyRank of the key id was made from in this session, and whether it
// was made in this session.
func (r *identities) mintedFrom(id string) (int, bool) {
	if e := r.ents[id]; e != nil && e.minted > 0 {
		return int(e.minted) - 1, true
	}
	return 0, false
}

func (r *identities) dropMinted(id string) {
	if e := r.ents[id]; e != nil {
		e.minted = 0
		r.tidy(id, e)
	}
}

// idOf returns the ID userName holds in this session, or "".
func (r *identities) idOf(userName string) string {
	if c := r.recs[userName]; c != nil {
		return c.id
	}
	return ""
}

// resetSession forgets what belongs to the session, keeping the table. recs is the session's
// new, empty, map of records.
func (r *identities) resetSession(recs map[string]*contactRec) {
	if r.keys.m == nil {
		r.clearTable()
	}
	r.recs = recs
	for id, e := range r.ents {
		e.user, e.minted = nil, 0
		r.tidy(id, e)
	}
	r.pids = make(map[string]string)
	r.keys.clearHolders()
}

// load replaces the table by a saved one, which belongs to the account uin (0: unknown).
func (r *identities) load(uin int64, keys map[string]string) {
	r.uin = uin
	r.clearTable()
	for k, id := range keys {
		r.setKey(k, id)
		if id != "" && isWeakKey(k) {
			r.addWeak(id, k)
		}
	}
}

func (r *identities) clearTable() {
	r.version++
	r.keys.clearTable()
	if r.ents == nil {
		r.ents = make(map[string]*idEntry)
	}
	for id, e := range r.ents {
		e.weak1, e.weakN, e.refs = "", nil, 0
		r.tidy(id, e)
	}
}

// setKey maps k to id ("": ambiguous), keeping refs.
func (r *identities) setKey(k, id string) {
	r.version++
	if old, ok := r.keys.get(k); ok {
		r.unref(old)
	}
	r.keys.set(k, id)
	r.entry(id).refs++
}

func (r *identities) deleteKey(k string) {
	r.version++
	if old, ok := r.keys.get(k); ok {
		r.unref(old)
		r.keys.del(k)
	}
}

// unref counts one key less naming id.
func (r *identities) unref(id string) {
	if e := r.ents[id]; e != nil {
		e.refs--
		r.tidy(id, e)
	}
}

// export returns a copy of the table, or nil if it is empty.
func (r *identities) export() map[string]string { return r.keys.export() }

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
	c := r.recs[userName]
	if c == nil {
		// A UserName keeps its ID for the session, also once its contact is removed: a
		// record that is no contact (recGone) holds it, until the contact is stored.
		c = newRec(userName)
		r.recs[userName] = c
	}
	if old := c.id; old != "" && old != id {
		r.dropUser(old)
	}
	c.id = id
	r.entry(id).user = c
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
	id := r.idOf(c.UserName)
	found := ""
	for _, k := range lookup {
		if v := r.keys.id(k); v != "" && v != id && (r.userOf(v) == "" || r.userOf(v) == c.UserName) {
			found = v
			break
		}
	}
	from, isNew := r.mintedFrom(id)
	old := id
	switch {
	case id == "" && found != "", isNew && found != "":
		id = found
	case id == "", isNew && keyRank(first(mint)) < min(from, keyRank(keyRemark)):
		r.dropUser(id)
		id = r.mint(c.UserName, mint)
		r.entry(id).minted = int8(keyRank(first(mint))) + 1
	}
	if isNew && id != old {
		// The abandoned ID was made at this login: its keys are this contact's.
		r.dropMinted(old)
		for _, k := range lookup {
			if r.keys.id(k) == old {
				r.setKey(k, id)
			}
		}
		r.setWeak(old, nil)
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
		if id, ok := r.keys.get(k); ok && id == "" {
			continue // shared by two contacts once: useless for finding anyone
		}
		if h := r.keys.holder(k); h != "" && h != c.UserName {
			r.setKey(k, "") // two contacts of this session share it
			continue
		}
		r.keys.setHolder(k, r.recs[c.UserName])
		lookup = append(lookup, k)
	}
	return lookup, mint
}

// remember records keys as belonging to id. A strong key keeps the ID it has; a fingerprint
// moves to id, and the fingerprints id had before and no longer has are dropped.
func (r *identities) remember(id string, keys []string) {
	var weak []string
	for _, k := range keys {
		old, ok := r.keys.get(k)
		switch {
		case !ok:
			r.setKey(k, id)
		case old == id:
		case isWeakKey(k) && old != "":
			r.setKey(k, id)
		}
		if isWeakKey(k) && r.keys.id(k) == id {
			weak = append(weak, k)
		}
	}
	for k := range r.weakOf(id) {
		if r.keys.id(k) == id && !slices.Contains(weak, k) {
			r.deleteKey(k)
			if u := r.userOf(id); u != "" && r.keys.holder(k) == u {
				r.keys.dropHolder(k)
			}
		}
	}
	r.setWeak(id, weak) // nil when the ID has no fingerprint left
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
	for n := 2; r.userOf(id) != "" && r.userOf(id) != userName || r.userOf(id) == "" && r.refsOf(id) > 0; n++ {
		id = base + "~" + strconv.Itoa(n)
	}
	return id
}

// memberID returns the ID of a member of the group whose ID is group: the member's contact
// ID if the member is a known contact, else "uin:<n>" if the server gave the uin, else
// "m:<hash>" of the group's ID, the member's nickname and group display name.
func (r *identities) memberID(group string, m *Member) string {
	if id := r.idOf(m.UserName); id != "" {
		return id
	}
	if m.Uin != 0 {
		k := keyUin + strconv.FormatInt(m.Uin, 10)
		if id := r.keys.id(k); id != "" {
			return id
		}
		return k
	}
	if !strings.HasPrefix(m.UserName, "@") && m.UserName != "" {
		return m.UserName
	}
	return "m:" + fingerprint(group, m.NickName, m.DisplayName)
}

// setMemberIDs sets the ID of every member of the group whose ID is group, in place; members
// that would share an ID get a suffix "~2", "~3", ... in list order.
func (r *identities) setMemberIDs(group string, members []Member) {
	var seen map[string]int
	for i := range members {
		m := &members[i]
		id := r.memberID(group, m)
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
