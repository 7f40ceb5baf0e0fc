package wechat

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files of the tests")

// TestContactStoreGolden runs a long random but reproducible life of an address book through
// the contact store: logins with new UserNames, contacts stored, changed, removed and stored
// again, permanent ids arriving before and after the contacts, groups with and without
// members, member updates, odd field values, a restart from a saved book and identity table.
// After every step it fingerprints what the store shows: every contact of the book with all
// its fields and members, the identity table, lookups by ID, whether the versions the saver
// compares changed. testdata/contactstore/golden.txt holds the fingerprints the store made
// before its representation was made compact: the behaviour must stay the same, step by
// step. (go test -run TestContactStoreGolden -update rewrites it.)
func TestContactStoreGolden(t *testing.T) {
	var got []string
	for seed := range uint64(6) {
		got = append(got, contactStoreLife(seed)...)
	}
	path := filepath.Join("testdata", "contactstore", "golden.txt")
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(strings.Join(got, "\n")+"\n"), 0o644))
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	want := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	require.Len(t, got, len(want))
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("step %d: %s, want %s", i, got[i], want[i])
		}
	}
}

// lifeWorld is the account behind contactStoreLife: people and groups whose stable traits
// stay, and whose UserNames change at every login.
type lifeWorld struct {
	rnd     *rand.Rand
	session int
	people  []lifePerson
	groups  []lifeGroup
	names   map[string]string // stable id → this session's UserName
}

type lifePerson struct {
	id, nick, remark, alias, prov, city, sig string
	sex                                      int
	uin                                      int64
	friend                                   bool
}

type lifeGroup struct {
	id, topic string
	members   []int // people
	strangers []string
}

var (
	lifeNicks  = []string{"Ann", "Bo", "Cy", "Dee", "Ed", "Fay", "Twin", "Twin", "Ann", "李雷", "韩梅梅", "A&amp;B"}
	lifeProvs  = []string{"", "广东", "北京", "Bavaria"}
	lifeCities = []string{"", "深圳", "海淀", "Munich"}
)

func newLifeWorld(seed uint64) *lifeWorld {
	w := &lifeWorld{rnd: rand.New(rand.NewPCG(seed, 12))}
	for i := range 40 {
		p := lifePerson{
			id:     fmt.Sprintf("wxid_%02d", i),
			nick:   lifeNicks[w.rnd.IntN(len(lifeNicks))],
			sex:    w.rnd.IntN(3),
			prov:   lifeProvs[w.rnd.IntN(len(lifeProvs))],
			city:   lifeCities[w.rnd.IntN(len(lifeCities))],
			friend: w.rnd.IntN(5) != 0,
		}
		if w.rnd.IntN(4) == 0 {
			p.remark = "R" + strconv.Itoa(w.rnd.IntN(8))
		}
		if w.rnd.IntN(4) == 0 {
			p.alias = "al" + strconv.Itoa(w.rnd.IntN(12))
		}
		if w.rnd.IntN(8) == 0 {
			p.uin = int64(1000 + w.rnd.IntN(5))
		}
		if w.rnd.IntN(3) == 0 {
			p.sig = "sig " + strconv.Itoa(i)
		}
		w.people = append(w.people, p)
	}
	for g := range 6 {
		grp := lifeGroup{id: fmt.Sprintf("%d@chatroom", 100+g), topic: []string{"", "Team", "Team", "Family"}[w.rnd.IntN(4)]}
		for range 3 + w.rnd.IntN(8) {
			grp.members = append(grp.members, w.rnd.IntN(len(w.people)))
		}
		for range w.rnd.IntN(4) {
			grp.strangers = append(grp.strangers, lifeNicks[w.rnd.IntN(len(lifeNicks))])
		}
		w.groups = append(w.groups, grp)
	}
	return w
}

// login gives everybody a new UserName.
func (w *lifeWorld) login() {
	w.session++
	w.names = map[string]string{"self": fmt.Sprintf("@self%d", w.session)}
	for i, p := range w.people {
		w.names[p.id] = fmt.Sprintf("@%d_%02d%s", w.session, i, strings.Repeat("f", 64-8))
	}
	for i, g := range w.groups {
		w.names[g.id] = fmt.Sprintf("@@%d_%02d", w.session, i)
	}
}

func (w *lifeWorld) head(userName string, group bool) string {
	seq := strconv.Itoa(w.rnd.IntN(1 << 31))
	switch w.rnd.IntN(12) {
	case 0:
		return ""
	case 1:
		return "/cgi-bin/mmwebwx-bin/webwxgeticon?seq=0" + seq + "&username=" + userName + "&skey=@crypt_x" // not canonical
	case 2:
		return "/other?seq=" + seq + "&username=" + userName + "&skey="
	case 3:
		return "/cgi-bin/mmwebwx-bin/webwxgeticon?seq=" + seq + "&username=@someoneelse&skey=@crypt_x"
	case 4:
		return "/cgi-bin/mmwebwx-bin/webwxgeticon?seq=99999999999&username=" + userName + "&skey=@crypt_x"
	}
	if group {
		return "/cgi-bin/mmwebwx-bin/webwxgetheadimg?seq=" + seq + "&username=" + userName + "&skey="
	}
	return "/cgi-bin/mmwebwx-bin/webwxgeticon?seq=" + seq + "&username=" + userName + "&skey=@crypt_" + strconv.Itoa(w.session)
}

func (w *lifeWorld) person(i int) *Contact {
	p := w.people[i]
	u := w.names[p.id]
	c := &Contact{
		UserName: u, NickName: p.nick, RemarkName: p.remark, Alias: p.alias, Signature: p.sig,
		Province: p.prov, City: p.city, Sex: p.sex, Uin: p.uin, ContactFlag: 3, AttrStatus: int64(w.rnd.IntN(1 << 32)),
		HeadImgURL: w.head(u, false), Kind: KindFriend, StarFriend: w.rnd.IntN(9) == 0,
	}
	if !p.friend {
		c.ContactFlag, c.Kind = 0, KindStranger
	}
	switch w.rnd.IntN(20) {
	case 0:
		c.Sex = 1000
	case 1:
		c.AttrStatus = -1
	case 2:
		c.ContactFlag = 1 << 40
	case 3:
		c.VerifyFlag = 24
		c.Kind = KindOfficial
	case 4:
		c.DisplayName = "shown as " + p.nick
	}
	return c
}

func (w *lifeWorld) group(i int, members bool) *Contact {
	g := w.groups[i]
	u := w.names[g.id]
	c := &Contact{UserName: u, NickName: g.topic, HeadImgURL: w.head(u, true), Kind: KindGroup, ContactFlag: 2,
		MemberCount: len(g.members) + len(g.strangers), OwnerUin: int64(w.rnd.IntN(2) * 1000), IsOwner: w.rnd.IntN(2) == 0}
	if w.rnd.IntN(3) == 0 {
		c.EncryChatRoomID = "@enc" + strconv.Itoa(i)
	}
	if !members {
		return c
	}
	c.membersLoaded = true
	c.Members = append(c.Members, Member{UserName: w.names["self"], NickName: "Me", Uin: 2212345678})
	for _, m := range g.members {
		p := w.people[m]
		mem := Member{UserName: w.names[p.id], NickName: p.nick, AttrStatus: int64(w.rnd.IntN(100))}
		if w.rnd.IntN(4) == 0 {
			mem.DisplayName = "in group " + p.nick
		}
		if w.rnd.IntN(6) == 0 {
			mem.Uin = p.uin
		}
		c.Members = append(c.Members, mem)
	}
	for j, s := range g.strangers {
		c.Members = append(c.Members, Member{UserName: fmt.Sprintf("@st%d_%d_%d", w.session, i, j), NickName: s})
	}
	return c
}

// contactStoreLife returns the fingerprint of the store after every step of a life.
func contactStoreLife(seed uint64) []string {
	w := newLifeWorld(seed)
	s := new(contactStore)
	var (
		out          []string
		lastBook     string
		lastIDs      uint64
		savedBook    []Contact
		savedUin     int64
		savedTable   map[string]string
		savedSession int
	)
	step := func(what string, extra ...any) {
		v, book := s.book()
		uin, table, idsVersion := s.exportIDs()
		var b strings.Builder
		fmt.Fprintf(&b, "%s %v book-changed=%v ids-changed=%v uin=%d invite=%d restored=%v\n",
			what, extra, v != lastBook, idsVersion != lastIDs, uin, s.inviteStartCount(), s.wasRestored())
		lastBook, lastIDs = v, idsVersion
		for _, c := range book {
			fmt.Fprintf(&b, "%+v\n", c)
			got := s.byID(c.ID)
			fmt.Fprintf(&b, "byID %v %v\n", got != nil, got != nil && got.UserName == c.UserName)
			if g := s.get(c.UserName); g == nil || !contactsEqual(*g, c) {
				fmt.Fprintf(&b, "get differs: %+v\n", g)
			}
		}
		all := s.all()
		fmt.Fprintf(&b, "all %d\n", len(all))
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range table {
				if !yield(k) {
					return
				}
			}
		}) {
			fmt.Fprintf(&b, "%s=%s\n", k, table[k])
		}
		for _, p := range w.people[:8] {
			fmt.Fprintf(&b, "member %v ", s.isMember(w.names[p.id]))
		}
		sum := sha256.Sum256([]byte(b.String()))
		out = append(out, fmt.Sprintf("%d %s %s", len(out), what, hex.EncodeToString(sum[:8])))
	}

	w.login()
	for range 160 {
		switch op := w.rnd.IntN(100); {
		case op < 4: // a new login: new UserNames, the table stays
			w.login()
			s.reset()
			self := &Contact{UserName: w.names["self"], NickName: "Me", Uin: 2212345678, Kind: KindSelf}
			s.setSelf(self.UserName)
			s.setInviteStart(w.rnd.IntN(3) * 40)
			s.put(self, &Contact{UserName: "filehelper", NickName: "文件传输助手", Kind: KindSpecial})
			step("login")
		case op < 6: // a new process: the saved table, a new login
			uin, table, _ := s.exportIDs()
			s = new(contactStore)
			s.loadIDs(uin, table)
			w.login()
			s.reset()
			s.put(&Contact{UserName: w.names["self"], NickName: "Me", Uin: 2212345678, Kind: KindSelf})
			step("process")
		case op < 8: // save the book
			_, book := s.book()
			savedBook = slices.Clone(book)
			savedUin, savedTable, _ = s.exportIDs()
			savedSession = w.session
			step("saved")
		case op < 10 && savedBook != nil && savedSession == w.session: // a restart on the saved session
			s = new(contactStore)
			s.loadIDs(savedUin, savedTable)
			s.reset()
			s.restore(savedBook)
			step("restored")
		case op < 40: // a page of people
			var cs []*Contact
			for range 1 + w.rnd.IntN(6) {
				cs = append(cs, w.person(w.rnd.IntN(len(w.people))))
			}
			s.put(cs...)
			step("put", len(cs))
		case op < 52: // a group, with or without members
			i := w.rnd.IntN(len(w.groups))
			s.put(w.group(i, w.rnd.IntN(3) != 0))
			step("group", i)
		case op < 60: // a remark or a nickname changes
			i := w.rnd.IntN(len(w.people))
			remark, nick := "R"+strconv.Itoa(w.rnd.IntN(8)), lifeNicks[w.rnd.IntN(len(lifeNicks))]
			ok := s.modify(w.names[w.people[i].id], func(c *Contact) {
				if w.rnd.IntN(2) == 0 {
					c.RemarkName = remark
				} else {
					c.NickName = nick
				}
			})
			step("modify", ok)
		case op < 66: // a contact goes
			i := w.rnd.IntN(len(w.people))
			s.remove(w.names[w.people[i].id])
			step("remove", i)
		case op < 74: // a permanent id becomes known
			i := w.rnd.IntN(len(w.people))
			pid := w.people[i].id
			if w.rnd.IntN(5) == 0 {
				pid = "v1_x@stranger"
			}
			s.learnPID(w.names[w.people[i].id], pid)
			step("pid", i)
		case op < 80: // the chat list pairs UserNames with permanent ids
			var us, ps []string
			for range 1 + w.rnd.IntN(4) {
				if w.rnd.IntN(3) == 0 {
					g := w.groups[w.rnd.IntN(len(w.groups))]
					us, ps = append(us, w.names[g.id]), append(ps, g.id)
				} else {
					p := w.people[w.rnd.IntN(len(w.people))]
					us, ps = append(us, w.names[p.id]), append(ps, p.id)
				}
			}
			s.learnIDs(&Message{MsgType: MsgTypeStatusNotify, StatusNotifyCode: 4, StatusNotifyUserName: strings.Join(us, ","),
				Content: "<msg><op id='4'><username>" + strings.Join(ps, ",") + "</username></op></msg>"})
			step("chatlist", len(us))
		case op < 86: // members change their names in groups
			var ms []Member
			for range 1 + w.rnd.IntN(3) {
				p := w.people[w.rnd.IntN(len(w.people))]
				ms = append(ms, Member{UserName: w.names[p.id], NickName: lifeNicks[w.rnd.IntN(len(lifeNicks))], DisplayName: "d"})
			}
			changed := s.updateMembers(ms)
			var names []string
			for _, g := range changed {
				names = append(names, g.UserName+":"+g.ID+":"+strconv.Itoa(len(g.Members)))
			}
			slices.Sort(names)
			step("members", names)
		case op < 90: // a person changes their nickname on the phone
			i := w.rnd.IntN(len(w.people))
			w.people[i].nick = lifeNicks[w.rnd.IntN(len(lifeNicks))]
			s.put(w.person(i))
			step("renamed", i)
		case op < 94: // a stranger from a message, a special account
			s.put(&Contact{UserName: "@stranger" + strconv.Itoa(w.rnd.IntN(5)), NickName: lifeNicks[w.rnd.IntN(len(lifeNicks))]},
				&Contact{UserName: "weixin", NickName: "微信团队", VerifyFlag: 56, Kind: KindOfficial})
			step("stranger")
		default: // Contacts as the client reads them
			var n int
			for _, c := range s.all() {
				if c.Kind == KindGroup {
					n += len(c.Members)
				}
			}
			step("read", n)
		}
	}
	return out
}

// contactsEqual compares every field, unexported ones included.
func contactsEqual(a, b Contact) bool {
	return fmt.Sprintf("%+v %v", a, a.membersLoaded) == fmt.Sprintf("%+v %v", b, b.membersLoaded)
}

func TestContactStoreLifeIsReproducible(t *testing.T) {
	a, b := contactStoreLife(7), contactStoreLife(7)
	assert.Equal(t, a, b)
	assert.Len(t, a, 160)
	kinds := map[string]int{}
	for _, l := range a {
		kinds[strings.Fields(l)[1]]++
	}
	for _, k := range []string{"login", "process", "saved", "restored", "put", "group", "modify", "remove", "pid", "chatlist", "members", "renamed", "stranger", "read"} {
		assert.NotZero(t, kinds[k], "the life has %q steps", k)
	}
}
