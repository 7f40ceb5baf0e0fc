package wechat

import (
	"encoding/json"
	"github.com/wxkit/wechat/internal/wire"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The event predicates on fixtures shaped like the server's AddMsgList entries: those of
// testdata/messages, and testdata/events for the wordings and forms the predicates also
// accept. Where PROTOCOL 15 says a wording is not known, the fixture's is an assumption the
// predicates are tolerant of, not a capture.

// eventContacts are the chats of the fixtures, as the Client would have resolved them.
var eventContacts = map[string]*Contact{
	testGroup: {UserName: testGroup, ID: "123@chatroom", NickName: "Test Group", Kind: KindGroup, membersLoaded: true,
		Members: []Member{
			{UserName: testSelf, ID: "uin:2212345678", NickName: "Me", DisplayName: "Me in group"},
			{UserName: "@fedcba9876543210fedcba9876543210", ID: "m:alice", NickName: "Alice"},
			{UserName: testBob, ID: "m:bob", NickName: "Bob"},
		}},
	testBob:    {UserName: testBob, ID: "alias:bob123", NickName: "Bob", RemarkName: "Bob (work)", Alias: "bob123", Kind: KindFriend},
	testFriend: {UserName: testFriend, ID: "fp:friend", NickName: "Alice", Kind: KindFriend},
	testCarol:  {UserName: testCarol, ID: "wxid_carol", NickName: "Carol", Kind: KindFriend},
}

// eventFixture decodes testdata/<dir>/<name> and resolves its chat from eventContacts.
func eventFixture(t *testing.T, dir, name string) *Message {
	t.Helper()
	raw := parserFixture(t, dir, name)
	m := decodeMessage(wire.DecodeMessage(raw), testSelf)
	require.NotEqual(t, MsgTypeUnknown, m.MsgType, "%s/%s decodes", dir, name)
	m.Chat = eventContacts[m.ChatUserName]
	m.Sender = m.Chat
	if m.IsGroup && m.Chat != nil && m.SenderUserName != m.ChatUserName {
		if mem, ok := m.Chat.Member(m.SenderUserName); ok {
			m.Sender = &Contact{UserName: mem.UserName, NickName: mem.NickName, Kind: KindStranger}
		}
	}
	return m
}

var eventPredicates = []struct {
	name string
	f    Matcher
}{
	{"PatsMe", PatsMe},
	{"IsGroupJoin", IsGroupJoin},
	{"IsTransfer", IsTransfer},
	{"IsRedPacket", IsRedPacket},
	{"IsFriendAdded", IsFriendAdded},
}

// firing returns the names of the event predicates that select m.
func firing(m *Message) string {
	var out []string
	for _, p := range eventPredicates {
		if p.f(m) {
			out = append(out, p.name)
		}
	}
	return strings.Join(out, ",")
}

func TestEventPredicates(t *testing.T) {
	tests := []struct {
		dir, file string
		want      string // the predicates that select it, comma-separated
	}{
		// Pats.
		{"messages", "sys_pat.json", "PatsMe"}, // `"Alice" 拍了拍 "Me"` in a group: self's nickname
		{"events", "pat_me_private.json", "PatsMe"},
		{"events", "pat_me_private_quoted.json", "PatsMe"}, // a private chat: not Bob, so self
		{"events", "pat_me_head.json", "PatsMe"},           // with a suffix: 拍了拍我的头
		{"events", "pat_me_display_name.json", "PatsMe"},   // self's group display name, and a suffix
		{"events", "pat_me_en.json", "PatsMe"},
		{"events", "pat_me_short.json", "PatsMe"}, // 拍拍我
		{"events", "pat_other.json", ""},
		{"events", "pat_private_other_self.json", ""}, // Bob patted himself
		{"events", "pat_by_me.json", ""},
		{"events", "pat_by_me_en.json", ""},
		{"events", "rename_quoting_pat.json", ""}, // the words are in the quoted group name

		// Joins.
		{"messages", "sys_group_invite.json", "IsGroupJoin"},
		{"messages", "sys_group_invite_link.json", "IsGroupJoin"},
		{"events", "group_join_qr.json", "IsGroupJoin"},
		{"events", "group_join_en.json", "IsGroupJoin"},
		{"events", "group_join_you_invited.json", "IsGroupJoin"},
		{"messages", "sys_group_rename.json", ""},

		// Transfers and red packets.
		{"messages", "app_transfer.json", "IsTransfer"},
		{"events", "transfer_app_type_in_xml.json", "IsTransfer"},
		{"events", "transfer_sys.json", "IsTransfer"},
		{"messages", "sys_red_packet.json", "IsRedPacket"},
		{"messages", "red_packet_text.json", "IsRedPacket"},
		{"messages", "red_packet_text_plain.json", "IsRedPacket"},
		{"messages", "app_red_packet.json", "IsRedPacket"},

		// Friends added.
		{"messages", "sys_friend_added.json", "IsFriendAdded"},
		{"messages", "sys_friend_added_en.json", "IsFriendAdded"},
		{"events", "friend_accepted_text.json", "IsFriendAdded"},
		{"events", "friend_accepted_text_en.json", "IsFriendAdded"},
		{"events", "friend_verified_sys.json", "IsFriendAdded"},
		{"events", "friend_text_in_group.json", ""}, // the words, but in a group
		{"messages", "friend_request.json", ""},     // a request, not an added friend

		// Ordinary messages.
		{"messages", "text.json", ""},
		{"messages", "text_group_mention.json", ""},
		{"messages", "sys_other.json", ""},
		{"messages", "app_file.json", ""},
		{"messages", "sys_location_share_ended.json", ""},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.dir+"/"+tt.file] = true
		t.Run(tt.dir+"/"+tt.file, func(t *testing.T) {
			assert.Equal(t, tt.want, firing(eventFixture(t, tt.dir, tt.file)))
		})
	}
	for _, name := range parserFixtureNames(t, "events") {
		assert.True(t, seen["events/"+name], "fixture events/%s is not in the table", name)
	}
}

// TestPatsMeNeedsSelfName: without the group's member list the client cannot tell a quoted
// name is self's, and says no; "我" needs no list.
func TestPatsMeNeedsSelfName(t *testing.T) {
	m := eventFixture(t, "messages", "sys_pat.json")
	m.Chat = &Contact{UserName: testGroup, NickName: "Test Group", Kind: KindGroup}
	assert.False(t, PatsMe(m))
	m.Chat = nil
	assert.False(t, PatsMe(m))
	m = eventFixture(t, "events", "pat_me_head.json")
	m.Chat = nil
	assert.True(t, PatsMe(m))
	m.IsSelf = true
	assert.False(t, PatsMe(m), "self's own messages are never a pat of self by someone else")
}

// TestEventFixturesAreRealLayout: the fixtures of testdata/events have the server's layout,
// as those of testdata/messages (TestFixturesAreRealLayout).
func TestEventFixturesAreRealLayout(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "messages", "sys_pat.json"))
	require.NoError(t, err)
	var ref map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(want, &ref))
	for _, name := range parserFixtureNames(t, "events") {
		body := parserFixture(t, "events", name)
		var obj map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(body, &obj), name)
		var keys, refKeys []string
		for k := range obj {
			keys = append(keys, k)
		}
		for k := range ref {
			refKeys = append(refKeys, k)
		}
		slices.Sort(keys)
		slices.Sort(refKeys)
		assert.Equal(t, refKeys, keys, name)
		assert.Equal(t, string(obj["MsgId"]), `"`+string(obj["NewMsgId"])+`"`, name)
		assert.Contains(t, string(body), "}\n,\n", name)
		var content string
		require.NoError(t, json.Unmarshal(obj["Content"], &content))
		assert.NotContains(t, strings.ReplaceAll(content, "<br/>", ""), "<", "%s: Content is HTML-escaped", name)
		assert.NotContains(t, content, `"`, "%s: quotes are escaped", name)
	}
}

func FuzzEventPredicates(f *testing.F) {
	for _, dir := range []string{"messages", "events"} {
		for _, name := range parserFixtureNames(f, dir) {
			f.Add(parserFixture(f, dir, name))
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := decodeMessage(wire.DecodeMessage(raw), testSelf)
		for _, chat := range []*Contact{nil, eventContacts[testGroup], eventContacts[testBob]} {
			m.Chat = chat
			_ = firing(m) // never panics
		}
	})
}
