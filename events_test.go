package wechat

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestContactChanges applies a sync's ModContactList and DelContactList and checks the store
// and the events: a new friend, a renamed group with a member who joined and one who left,
// a deleted contact.
func TestContactChanges(t *testing.T) {
	t.Parallel()
	const group = "@@group0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
	var got []ContactChange
	c := New(WithContactHandler(func(ch ContactChange) { got = append(got, ch) }))
	c.contacts.setSelf("@self")
	c.contacts.put(
		&Contact{UserName: group, NickName: "Old name", Kind: KindGroup, membersLoaded: true,
			Members: []Member{{UserName: "@owner", NickName: "Owner"}, {UserName: "@leaver", NickName: "Leaver"}}},
		&Contact{UserName: "@gone0123456789abcdef0123456789abcdef", NickName: "Gone", Kind: KindFriend},
	)
	body, err := os.ReadFile("testdata/webwxsync/contact_changes.json")
	require.NoError(t, err)
	resp, err := parseSync(body)
	require.NoError(t, err)
	c.applyContactChanges("@self", resp)

	require.Len(t, got, 3)
	assert.Equal(t, ContactAdded, got[0].Kind)
	assert.Equal(t, "Dave😄", got[0].Contact.NickName)
	assert.Equal(t, KindFriend, got[0].Contact.Kind)
	assert.Equal(t, int64(2147584103), got[0].Contact.AttrStatus)

	assert.Equal(t, ContactModified, got[1].Kind)
	assert.Equal(t, "Renamed & Co", got[1].Contact.NickName)
	require.Len(t, got[1].Joined, 1)
	assert.Equal(t, "@joiner", got[1].Joined[0].UserName)
	assert.Equal(t, "New here", got[1].Joined[0].DisplayName)
	require.Len(t, got[1].Left, 1)
	assert.Equal(t, "@leaver", got[1].Left[0].UserName)

	assert.Equal(t, ContactRemoved, got[2].Kind)
	assert.Equal(t, "Gone", got[2].Contact.NickName)

	g, ok := c.Contact(group)
	require.True(t, ok)
	assert.Equal(t, "Renamed & Co", g.NickName)
	assert.Len(t, g.Members, 2)
	_, ok = c.Contact("@gone0123456789abcdef0123456789abcdef")
	assert.False(t, ok)
}

// TestModChatRoomMemberList: a member update renames the member in every group that lists it.
func TestModChatRoomMemberList(t *testing.T) {
	t.Parallel()
	var got []ContactChange
	c := New(WithContactHandler(func(ch ContactChange) { got = append(got, ch) }))
	c.contacts.put(&Contact{UserName: "@@g", Kind: KindGroup, membersLoaded: true,
		Members: []Member{{UserName: "@m", NickName: "Before"}}})
	resp, err := parseSync([]byte(`{"BaseResponse":{"Ret":0,"ErrMsg":""},"ModChatRoomMemberList":[{"UserName":"@m","NickName":"After","DisplayName":"Boss"}],"SyncKey":{"Count":0,"List":[]}}`))
	require.NoError(t, err)
	c.applyContactChanges("@self", resp)
	require.Len(t, got, 1)
	assert.Equal(t, "@@g", got[0].Contact.UserName)
	g, _ := c.Contact("@@g")
	assert.Equal(t, "After", g.Members[0].NickName)
	assert.Equal(t, "Boss", g.Members[0].DisplayName)
}
