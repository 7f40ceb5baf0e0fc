package wechat

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// login starts a new session on the store, as installSession does, and stores cs.
func login(s *contactStore, pids map[string]string, cs ...*Contact) {
	s.reset()
	for u, pid := range pids {
		s.learnPID(u, pid)
	}
	s.put(cs...)
}

func idOf(s *contactStore, userName string) string {
	if c := s.get(userName); c != nil {
		return c.ID
	}
	return "<missing>"
}

func TestContactIDDerivation(t *testing.T) {
	t.Parallel()
	fp := func(parts ...string) string { return "fp:" + fingerprint(parts...) }
	tests := []struct {
		name string
		c    Contact
		pid  string
		want string
	}{
		{"special account", Contact{UserName: "filehelper", Kind: KindSpecial}, "", "filehelper"},
		{"self", Contact{UserName: "@self", Uin: 2212345678, NickName: "Me", Kind: KindSelf}, "", "uin:2212345678"},
		{"permanent id", Contact{UserName: "@a", NickName: "A", Alias: "a1", Kind: KindFriend}, "wxid_a", "wxid_a"},
		{"group permanent id", Contact{UserName: "@@g", NickName: "G", Kind: KindGroup}, "123@chatroom", "123@chatroom"},
		{"encrypted ids are not permanent", Contact{UserName: "@b", Alias: "bee", Kind: KindFriend}, "v1_abc@stranger", "alias:bee"},
		{"alias", Contact{UserName: "@b", NickName: "B", Alias: "bee", Kind: KindFriend}, "", "alias:bee"},
		{"uin before alias", Contact{UserName: "@b", Uin: 7, Alias: "bee", Kind: KindFriend}, "", "uin:7"},
		{"remark fingerprint", Contact{UserName: "@c", NickName: "C", RemarkName: "Boss", Sex: 1, City: "X", Kind: KindFriend}, "",
			fp("u", "Boss", "1", "", "X")},
		{"nickname fingerprint", Contact{UserName: "@c", NickName: "C🌛", Sex: 2, Province: "P", Kind: KindFriend}, "",
			fp("u", "C🌛", "2", "P", "")},
		{"group name", Contact{UserName: "@@g", NickName: "Team", Kind: KindGroup}, "", fp("g", "Team")},
		{"nothing stable", Contact{UserName: "@@g", Kind: KindGroup}, "", fp("session", "@@g")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New()
			login(&c.contacts, map[string]string{tt.c.UserName: tt.pid}, &tt.c)
			assert.Equal(t, tt.want, idOf(&c.contacts, tt.c.UserName))
			ct, ok := c.ContactByID(tt.want)
			require.True(t, ok)
			assert.Equal(t, tt.c.UserName, ct.UserName)
		})
	}
}

// TestContactIDTable: the table gives contacts their IDs back at a later login, when the
// keys they had are only partly there.
func TestContactIDTable(t *testing.T) {
	t.Parallel()
	var s contactStore
	login(&s, map[string]string{"@a1": "wxid_a"},
		&Contact{UserName: "@self1", Uin: 1, Kind: KindSelf},
		&Contact{UserName: "@a1", NickName: "Ann", Kind: KindFriend},
		&Contact{UserName: "@b1", NickName: "Bo", Sex: 1, Kind: KindFriend},
		&Contact{UserName: "@c1", NickName: "Cy", Alias: "cy", Kind: KindFriend},
		&Contact{UserName: "@@g1", NickName: "Team", Kind: KindGroup},
	)
	ids1 := map[string]string{}
	for _, u := range []string{"a", "b", "c", "g"} {
		prefix := "@"
		if u == "g" {
			prefix = "@@"
		}
		ids1[u] = idOf(&s, prefix+u+"1")
	}
	assert.Equal(t, "wxid_a", ids1["a"])
	// During the session: b gets a remark, the group a new name.
	s.modify("@b1", func(c *Contact) { c.RemarkName = "Boss" })
	s.modify("@@g1", func(c *Contact) { c.NickName = "Team 2" })
	assert.Equal(t, ids1["b"], idOf(&s, "@b1"), "a new remark does not change the ID")
	assert.Equal(t, ids1["g"], idOf(&s, "@@g1"))
	uin, table, _ := s.exportIDs()
	assert.Equal(t, int64(1), uin)

	// A new process, a new login: new UserNames; a is not in the chat list, b changed its
	// nickname (the remark stays), c lost its alias but kept its name, the group kept its
	// new name.
	var s2 contactStore
	s2.loadIDs(uin, table)
	login(&s2, nil,
		&Contact{UserName: "@self2", Uin: 1, Kind: KindSelf},
		&Contact{UserName: "@a2", NickName: "Ann", Kind: KindFriend},
		&Contact{UserName: "@b2", NickName: "Bob", RemarkName: "Boss", Sex: 1, Kind: KindFriend},
		&Contact{UserName: "@c2", NickName: "Cy", Kind: KindFriend},
		&Contact{UserName: "@@g2", NickName: "Team 2", Kind: KindGroup},
	)
	for u, want := range ids1 {
		prefix := "@"
		if u == "g" {
			prefix = "@@"
		}
		assert.Equal(t, want, idOf(&s2, prefix+u+"2"), u)
	}

	// The table of another account is dropped when self's uin differs.
	var s3 contactStore
	s3.loadIDs(uin, table)
	login(&s3, nil,
		&Contact{UserName: "@self3", Uin: 2, Kind: KindSelf},
		&Contact{UserName: "@a3", NickName: "Ann", Kind: KindFriend},
	)
	assert.Equal(t, "fp:"+fingerprint("u", "Ann", "0", "", ""), idOf(&s3, "@a3"))
	uin, _, _ = s3.exportIDs()
	assert.Equal(t, int64(2), uin)
}

// TestContactIDAmbiguous: two contacts no key tells apart get suffixed IDs, and their shared
// fingerprint is never used for a lookup again.
func TestContactIDAmbiguous(t *testing.T) {
	t.Parallel()
	twin := func(u string) *Contact { return &Contact{UserName: u, NickName: "Twin", Kind: KindFriend} }
	var s contactStore
	login(&s, nil, twin("@x1"), twin("@y1"))
	base := "fp:" + fingerprint("u", "Twin", "0", "", "")
	assert.Equal(t, base, idOf(&s, "@x1"))
	assert.Equal(t, base+"~2", idOf(&s, "@y1"))
	_, table, _ := s.exportIDs()
	assert.Equal(t, "", table[keyName+fingerprint("u", "Twin", "0", "", "")], "marked ambiguous")

	// Next login, the other order: the IDs follow the order, as documented.
	login(&s, nil, twin("@y2"), twin("@x2"))
	assert.Equal(t, base, idOf(&s, "@y2"))
	assert.Equal(t, base+"~2", idOf(&s, "@x2"))
}

// TestContactIDLateKeys: the chat list's permanent ids may arrive before or after the
// contacts; the ID is the same either way, and group members follow their contact.
func TestContactIDLateKeys(t *testing.T) {
	t.Parallel()
	friend := func() *Contact { return &Contact{UserName: "@f", NickName: "F", Kind: KindFriend} }
	group := func() *Contact {
		return &Contact{UserName: "@@g", NickName: "G", Kind: KindGroup, membersLoaded: true, Members: []Member{
			{UserName: "@self", Uin: 9}, {UserName: "@f", NickName: "F"}, {UserName: "@s", NickName: "S"}, {UserName: "@t", NickName: "S"},
		}}
	}
	pids := map[string]string{"@f": "wxid_f", "@@g": "1@chatroom"}

	var before contactStore
	login(&before, pids, group(), friend())
	var after contactStore
	login(&after, nil, group(), friend())
	assert.NotEqual(t, "wxid_f", idOf(&after, "@f"))
	for u, pid := range pids {
		after.learnPID(u, pid)
	}
	for _, s := range []*contactStore{&before, &after} {
		assert.Equal(t, "wxid_f", idOf(s, "@f"))
		assert.Equal(t, "1@chatroom", idOf(s, "@@g"))
		g := s.get("@@g")
		stranger := "m:" + fingerprint("1@chatroom", "S", "")
		assert.Equal(t, []string{"uin:9", "wxid_f", stranger, stranger + "~2"},
			[]string{g.Members[0].ID, g.Members[1].ID, g.Members[2].ID, g.Members[3].ID})
	}
}

// TestContactIDStaleFingerprint: a renamed contact's old fingerprint no longer finds it.
func TestContactIDStaleFingerprint(t *testing.T) {
	t.Parallel()
	var s contactStore
	login(&s, nil, &Contact{UserName: "@a", NickName: "Old", Kind: KindFriend})
	id := idOf(&s, "@a")
	s.modify("@a", func(c *Contact) { c.NickName = "New" })
	assert.Equal(t, id, idOf(&s, "@a"))
	_, table, _ := s.exportIDs()
	assert.NotContains(t, table, keyName+fingerprint("u", "Old", "0", "", ""))
	assert.Equal(t, id, table[keyName+fingerprint("u", "New", "0", "", "")])

	login(&s, nil, &Contact{UserName: "@b", NickName: "Old", Kind: KindFriend}, &Contact{UserName: "@a2", NickName: "New", Kind: KindFriend})
	assert.Equal(t, id, idOf(&s, "@a2"))
	assert.NotEqual(t, id, idOf(&s, "@b"))
}

func TestLearnIDsFromStatusNotify(t *testing.T) {
	t.Parallel()
	var s contactStore
	login(&s, nil, &Contact{UserName: "@a", NickName: "A", Kind: KindFriend})
	m := &Message{MsgType: MsgTypeStatusNotify, StatusNotifyCode: 4, StatusNotifyUserName: "@a,filehelper",
		Content: "<msg><op id='4'><username>wxid_a,filehelper</username></op></msg>"}
	s.learnIDs(m)
	assert.Equal(t, "wxid_a", idOf(&s, "@a"))

	// Lists that do not pair up are ignored.
	var s2 contactStore
	login(&s2, nil, &Contact{UserName: "@a", NickName: "A", Kind: KindFriend})
	m.StatusNotifyUserName = "@a"
	s2.learnIDs(m)
	assert.NotEqual(t, "wxid_a", idOf(&s2, "@a"))
	s2.learnIDs(&Message{MsgType: MsgTypeText})
}

// TestContactIDUpgradeMovesKeys: when a permanent id arrives after the contact got an ID from
// its Alias, the Alias key follows to the new ID, so that the next login without the
// permanent id finds it.
func TestContactIDUpgradeMovesKeys(t *testing.T) {
	t.Parallel()
	var s contactStore
	login(&s, nil, &Contact{UserName: "@a", NickName: "A", Alias: "a1", Kind: KindFriend})
	assert.Equal(t, "alias:a1", idOf(&s, "@a"))
	s.learnPID("@a", "wxid_a")
	assert.Equal(t, "wxid_a", idOf(&s, "@a"))
	_, table, _ := s.exportIDs()
	assert.Equal(t, "wxid_a", table["alias:a1"])
	assert.Equal(t, "wxid_a", table["pid:wxid_a"])

	login(&s, nil, &Contact{UserName: "@a2", NickName: "A", Alias: "a1", Kind: KindFriend})
	assert.Equal(t, "wxid_a", idOf(&s, "@a2"))

	// An ID from an earlier login sticks even when the permanent id shows up later.
	var s2 contactStore
	login(&s2, nil, &Contact{UserName: "@b", Alias: "b1", Kind: KindFriend})
	_, table, _ = s2.exportIDs()
	var s3 contactStore
	s3.loadIDs(0, table)
	login(&s3, map[string]string{"@b2": "wxid_b"}, &Contact{UserName: "@b2", Alias: "b1", Kind: KindFriend})
	assert.Equal(t, "alias:b1", idOf(&s3, "@b2"))
}
