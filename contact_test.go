package wechat

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat/internal/wire"
)

const (
	testSelf   = "@0123456789abcdef0123456789abcdef"
	testFriend = "@5c0a9e8d7c6b5a4f3e2d1c0b9a8f7e6d"
	testGroup  = "@@0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
	testMember = "@fedcba9876543210fedcba9876543210"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		userName    string
		self        string
		verifyFlag  int
		contactFlag int
		want        ContactKind
	}{
		{"self", testSelf, testSelf, 0, 0, KindSelf},
		{"self wins over flags", testSelf, testSelf, 8, 1, KindSelf},
		{"group @@", testGroup, testSelf, 0, 0, KindGroup},
		{"group saved", testGroup, testSelf, 0, 2051, KindGroup},
		{"group @chatroom", "12345678@chatroom", testSelf, 0, 0, KindGroup},
		{"official 8", "@e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2", testSelf, 8, 1, KindOfficial},
		{"official 24", "@d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1", testSelf, 24, 3, KindOfficial},
		{"official 56", "@c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0", testSelf, 56, 0, KindOfficial},
		{"official 136", "@b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0", testSelf, 136, 0, KindOfficial},
		{"not official: bit 8 unset", testFriend, testSelf, 16, 1, KindFriend},
		{"filehelper", "filehelper", testSelf, 0, 3, KindSpecial},
		{"fmessage", "fmessage", testSelf, 0, 0, KindSpecial},
		{"weixin official flag", "weixin", testSelf, 56, 1, KindOfficial},
		{"qqim suffix", "12345@qqim", testSelf, 0, 0, KindSpecial},
		{"friend", testFriend, testSelf, 0, 1, KindFriend},
		{"friend with other bits", testFriend, testSelf, 0, 34819, KindFriend},
		{"stranger: chat contact only", testFriend, testSelf, 0, 2, KindStranger},
		{"stranger: group member", testMember, testSelf, 0, 0, KindStranger},
		{"stranger: not an @ name", "wxid_abc", testSelf, 0, 1, KindStranger},
		{"unknown self", testSelf, "", 0, 0, KindStranger},
		{"empty", "", "", 0, 0, KindStranger},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, classify(tt.userName, tt.self, tt.verifyFlag, tt.contactFlag))
		})
	}
}

func TestContactKindString(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "self", KindSelf.String())
	assert.Equal(t, "stranger", KindStranger.String())
	assert.Equal(t, "ContactKind(42)", ContactKind(42).String())
	assert.Equal(t, "ContactKind(-1)", ContactKind(-1).String())
}

// decodeContactPage decodes a webwxgetcontact or webwxbatchgetcontact fixture as the client
// does and converts its contacts for self.
func decodeContactPage(t *testing.T, op, dir, file string) (*wire.ContactPage, []*Contact) {
	t.Helper()
	p, err := decodeJSON(op, parserFixture(t, dir, file), wire.DecodeContactPage)
	require.NoError(t, err)
	out := make([]*Contact, len(p.Contacts))
	for i := range p.Contacts {
		out[i] = newContact(&p.Contacts[i], testSelf)
	}
	return p, out
}

// wireContact decodes one Contact object as internal/wire does.
func wireContact(t *testing.T, js string) *wire.Contact {
	t.Helper()
	p, err := wire.DecodeContactPage([]byte(`{"BaseResponse":{"Ret":0},"ContactList":[` + js + `]}`))
	require.NoError(t, err)
	require.Len(t, p.Contacts, 1)
	return &p.Contacts[0]
}

func TestGetContactPages(t *testing.T) {
	t.Parallel()
	page1, cs := decodeContactPage(t, opGetContact, "webwxgetcontact", "page1.json")
	assert.Equal(t, int64(123), page1.Seq)
	require.Len(t, cs, 4)

	alice := cs[0]
	assert.Equal(t, testFriend, alice.UserName)
	assert.Equal(t, "Alice🌛", alice.NickName)
	assert.Equal(t, "Ali & Co", alice.RemarkName)
	assert.Equal(t, "Ali & Co", alice.Name())
	assert.Equal(t, KindFriend, alice.Kind)
	assert.Equal(t, 2, alice.Sex)
	assert.Equal(t, "广东", alice.Province)
	assert.Equal(t, "深圳", alice.City)
	assert.Equal(t, int64(4293221), alice.AttrStatus)
	assert.Equal(t, "/cgi-bin/mmwebwx-bin/webwxgeticon?seq=620802813&username="+testFriend+"&skey=", alice.HeadImgURL)

	assert.Equal(t, KindOfficial, cs[1].Kind)
	assert.Equal(t, KindGroup, cs[2].Kind)
	assert.Equal(t, "Family", cs[2].Name())
	assert.Equal(t, KindOfficial, cs[3].Kind, "weixin has VerifyFlag 56")
	assert.Equal(t, "微信团队", cs[3].NickName)

	last, cs := decodeContactPage(t, opGetContact, "webwxgetcontact", "last.json")
	assert.Equal(t, int64(0), last.Seq, "Seq 0 ends the paging")
	require.Len(t, cs, 2)
	assert.Equal(t, KindFriend, cs[0].Kind, "ContactFlag 34819 has bit 1")
	assert.True(t, cs[0].StarFriend)
	assert.Equal(t, KindSelf, cs[1].Kind, "the list may contain self")
	assert.Equal(t, int64(2212345678), cs[1].Uin)
}

func TestBatchGetContactGroup(t *testing.T) {
	t.Parallel()
	_, cs := decodeContactPage(t, opBatchContact, "webwxbatchgetcontact", "group.json")
	require.Len(t, cs, 2)

	g := cs[0]
	assert.Equal(t, testGroup, g.UserName)
	assert.Equal(t, KindGroup, g.Kind)
	assert.Equal(t, "Family & Friends", g.NickName)
	assert.Equal(t, "@9c9c9c9c9c9c9c9c9c9c9c9c9c9c9c9c", g.EncryChatRoomID)
	assert.Equal(t, int64(2212345678), g.OwnerUin)
	assert.True(t, g.IsOwner)
	assert.Equal(t, 3, g.MemberCount)
	assert.Equal(t, []Member{
		{UserName: testSelf, NickName: "Me", Uin: 2212345678, AttrStatus: 235873},
		{UserName: testMember, NickName: "Dave🐶", DisplayName: "Big <D>", AttrStatus: 2147584672},
		{UserName: testFriend, NickName: "Alice", AttrStatus: 4293221},
	}, g.Members)
	m, ok := g.Member(testMember)
	require.True(t, ok)
	assert.Equal(t, "Big <D>", m.DisplayName)
	_, ok = g.Member("@nobody")
	assert.False(t, ok)

	assert.Equal(t, KindFriend, cs[1].Kind)
	assert.Equal(t, int64(3221327877), cs[1].AttrStatus, "AttrStatus above 2^31 (PROTOCOL 14.5)")
}

func TestNewContact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		json string
		want Contact
	}{
		{
			name: "friend with emoji and entities",
			json: `{"Uin":0,"UserName":"@5c0a","NickName":"Alice<span class=\"emoji emoji1f31b\"></span>","RemarkName":"A &amp; B","Signature":"x&lt;y<br/>z","ContactFlag":3,"Sex":2,"StarFriend":1,"Alias":"alice123"}`,
			want: Contact{UserName: "@5c0a", NickName: "Alice🌛", RemarkName: "A & B", Signature: "x<y\nz", ContactFlag: 3, Sex: 2, StarFriend: true, Alias: "alice123", Kind: KindFriend},
		},
		{
			name: "numbers as strings",
			json: `{"Uin":"2212345678","UserName":"@self","ContactFlag":"0","VerifyFlag":"","AttrStatus":"3221327877","Sex":null}`,
			want: Contact{UserName: "@self", Uin: 2212345678, AttrStatus: 3221327877, Kind: KindSelf},
		},
		{
			name: "group members counted",
			json: `{"UserName":"@@g","NickName":"G","MemberCount":0,"MemberList":[{"UserName":"@a","NickName":"&lt;A&gt;","DisplayName":"<span class=\"emoji emoji1f1e81f1f3\"></span>"},{"UserName":"@b"}]}`,
			want: Contact{UserName: "@@g", NickName: "G", MemberCount: 2, Kind: KindGroup, Members: []Member{
				{UserName: "@a", NickName: "<A>", DisplayName: "🇨🇳"}, {UserName: "@b"},
			}},
		},
		{
			name: "official",
			json: `{"UserName":"@gh","NickName":"News","VerifyFlag":24,"ContactFlag":3}`,
			want: Contact{UserName: "@gh", NickName: "News", VerifyFlag: 24, ContactFlag: 3, Kind: KindOfficial},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := newContact(wireContact(t, tt.json), "@self")
			assert.Equal(t, &tt.want, got)
		})
	}
}
