package wechat_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

const (
	selfUN   = "@0123456789abcdef0123456789abcdef"
	friendUN = "@5c0a9e8d7c6b5a4f3e2d1c0b9a8f7e6d"
	groupUN  = "@@0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
	memberUN = "@fedcba9876543210fedcba9876543210"
)

var (
	text       = &wechat.Message{MsgID: "1", MsgType: wechat.MsgTypeText, Content: "/ping now", ChatUserName: friendUN, SenderUserName: friendUN}
	groupText  = &wechat.Message{MsgID: "2", MsgType: wechat.MsgTypeText, Content: "hello @Me", ChatUserName: groupUN, SenderUserName: memberUN, IsGroup: true, MentionsMe: true}
	selfText   = &wechat.Message{MsgID: "3", MsgType: wechat.MsgTypeText, Content: "/ping", ChatUserName: friendUN, SenderUserName: selfUN, IsSelf: true}
	location   = &wechat.Message{MsgID: "4", MsgType: wechat.MsgTypeText, SubMsgType: 48, Content: "/ping:\n/cgi-bin/x", ChatUserName: friendUN, SenderUserName: friendUN}
	file       = &wechat.Message{MsgID: "5", MsgType: wechat.MsgTypeApp, AppMsgType: wechat.AppMsgAttach, ChatUserName: friendUN, SenderUserName: friendUN}
	redPacket  = &wechat.Message{MsgID: "6", MsgType: wechat.MsgTypeText, AppMsgType: wechat.AppMsgRedEnvelopes, Content: "/ping", ChatUserName: friendUN}
	helperText = &wechat.Message{MsgID: "7", MsgType: wechat.MsgTypeText, Content: "note", ChatUserName: "filehelper", SenderUserName: "filehelper"}
	official   = &wechat.Message{MsgID: "8", MsgType: wechat.MsgTypeApp, AppMsgType: wechat.AppMsgURL, ChatUserName: "@9f8e7d6c5b4a39281706f5e4d3c2b1a0",
		Chat: &wechat.Contact{UserName: "@9f8e7d6c5b4a39281706f5e4d3c2b1a0", Kind: wechat.KindOfficial}}
	knownFriend = &wechat.Message{MsgID: "9", MsgType: wechat.MsgTypeVoice, ChatUserName: friendUN, Chat: &wechat.Contact{UserName: friendUN, Kind: wechat.KindFriend}}
)

var all = []*wechat.Message{text, groupText, selfText, location, file, redPacket, helperText, official, knownFriend}

// selected returns the ids of the messages of all that match selects.
func selected(match wechat.Matcher) string {
	var ids []string
	for _, m := range all {
		if match == nil || match(m) {
			ids = append(ids, m.MsgID)
		}
	}
	return strings.Join(ids, ",")
}

func TestMatchers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		match wechat.Matcher
		want  string
	}{
		{"IsText", wechat.IsText, "1,2,3,7"},
		{"IsType text", wechat.IsType(wechat.MsgTypeText), "1,2,3,4,6,7"},
		{"IsType several", wechat.IsType(wechat.MsgTypeApp, wechat.MsgTypeVoice), "5,8,9"},
		{"IsType none", wechat.IsType(), ""},
		{"IsAppType", wechat.IsAppType(wechat.AppMsgAttach, wechat.AppMsgRedEnvelopes), "5,6"},
		{"IsAppType url", wechat.IsAppType(wechat.AppMsgURL), "8"},
		{"FromChatKind group", wechat.FromChatKind(wechat.KindGroup), "2"},
		{"FromChatKind special", wechat.FromChatKind(wechat.KindSpecial), "7"},
		{"FromChatKind stranger", wechat.FromChatKind(wechat.KindStranger), "1,3,4,5,6"},
		{"FromChatKind known", wechat.FromChatKind(wechat.KindFriend, wechat.KindOfficial), "8,9"},
		{"InChat", wechat.InChat(groupUN, "filehelper"), "2,7"},
		{"FromSender", wechat.FromSender(memberUN, selfUN), "2,3"},
		{"TextMatches", wechat.TextMatches(regexp.MustCompile(`^/ping\b`)), "1,3"},
		{"HasPrefix", wechat.HasPrefix("/ping"), "1,3"},
		{"HasPrefix empty", wechat.HasPrefix(""), "1,2,3,7"},
		{"MentionsMe", wechat.MentionsMe, "2"},
		{"IsSentByMe", wechat.IsSentByMe, "3"},
		{"All", wechat.All(wechat.HasPrefix("/ping"), wechat.Not(wechat.IsSentByMe)), "1"},
		{"All group mention", wechat.All(wechat.FromChatKind(wechat.KindGroup), wechat.MentionsMe), "2"},
		{"All empty", wechat.All(), "1,2,3,4,5,6,7,8,9"},
		{"All nil", wechat.All(nil, wechat.IsSentByMe), "3"},
		{"Any", wechat.Any(wechat.IsSentByMe, wechat.MentionsMe), "2,3"},
		{"Any empty", wechat.Any(), ""},
		{"Any nil", wechat.Any(wechat.IsSentByMe, nil), "1,2,3,4,5,6,7,8,9"},
		{"Not", wechat.Not(wechat.IsType(wechat.MsgTypeText)), "5,8,9"},
		{"Not nil", wechat.Not(nil), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, selected(tt.match))
		})
	}
}

func TestMatchersCopyTheirArguments(t *testing.T) {
	t.Parallel()
	types := []wechat.MsgType{wechat.MsgTypeApp}
	match := wechat.IsType(types...)
	types[0] = wechat.MsgTypeText
	assert.Equal(t, "5,8", selected(match))

	ms := []wechat.Matcher{wechat.IsSentByMe}
	both := wechat.All(ms...)
	ms[0] = wechat.MentionsMe
	assert.Equal(t, "3", selected(both))
}

func TestTextMatchesNil(t *testing.T) {
	t.Parallel()
	assert.PanicsWithValue(t, "wechat: TextMatches called with a nil regexp", func() { wechat.TextMatches(nil) })
}

func TestLogging(t *testing.T) {
	// Not parallel: it replaces slog.Default.
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	failure := errors.New("boom")
	h := wechat.Logging(l)(wechat.HandlerFunc(func(_ context.Context, m *wechat.Message) error {
		if m.MsgID == "2" {
			return failure
		}
		return nil
	}))
	secret := &wechat.Message{MsgID: "1", MsgType: wechat.MsgTypeText, Content: "the secret text", ChatUserName: friendUN}
	require.NoError(t, h.HandleMessage(t.Context(), secret))
	failing := &wechat.Message{MsgID: "2", MsgType: wechat.MsgTypeApp, Content: "<msg>secret xml</msg>", ChatUserName: groupUN}
	require.ErrorIs(t, h.HandleMessage(t.Context(), failing), failure)

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 3, buf.String())
	assert.Contains(t, lines[0], `level=DEBUG msg="handling message" msg_id=1 msg_type=1 chat=`+friendUN)
	assert.Contains(t, lines[1], `level=DEBUG msg="handling message" msg_id=2 msg_type=49 chat=`+groupUN)
	assert.Contains(t, lines[2], `level=ERROR msg="handler failed" msg_id=2 msg_type=49 chat=`+groupUN+` duration=`)
	assert.Contains(t, lines[2], `err=boom`)
	assert.NotContains(t, buf.String(), "secret")

	// A nil logger discards, as for WithLogger: nothing reaches slog.Default.
	var def bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&def, nil)))
	defer slog.SetDefault(old)
	require.ErrorIs(t, wechat.Logging(nil)(h).HandleMessage(t.Context(), failing), failure)
	assert.NotContains(t, def.String(), `msg="handler failed" msg_id=2`)
}

func TestFilter(t *testing.T) {
	t.Parallel()
	var got []string
	h := wechat.Filter(wechat.IsText)(wechat.HandlerFunc(func(_ context.Context, m *wechat.Message) error {
		got = append(got, m.MsgID)
		return errors.New("handled")
	}))
	for _, m := range all {
		err := h.HandleMessage(t.Context(), m)
		if wechat.IsText(m) {
			assert.EqualError(t, err, "handled")
		} else {
			assert.NoError(t, err, "a dropped message is not an error")
		}
	}
	assert.Equal(t, []string{"1", "2", "3", "7"}, got)

	got = nil
	for _, m := range all {
		_ = wechat.Filter(nil)(h).HandleMessage(t.Context(), m)
	}
	assert.Len(t, got, 4, "Filter(nil) passes everything on")
}

// kinds calls every accessor of m and returns the results of those that report true.
func kinds(m *wechat.Message) []any {
	var out []any
	add := func(v any, ok bool) {
		if ok {
			out = append(out, v)
		}
	}
	add(m.Image())
	add(m.Voice())
	add(m.Video())
	add(m.Emoticon())
	add(m.App())
	add(m.Location())
	add(m.Card())
	add(m.FriendRequest())
	add(m.Revoke())
	add(m.StatusNotify())
	add(m.System())
	return out
}

// TestWechattestMessages delivers every wechattest constructor to a real client and checks
// what its accessors make of them.
func TestWechattestMessages(t *testing.T) {
	t.Parallel()
	inGroup := wechattest.Image("alice")
	inGroup.Group = "group"
	ts := setup(t, beforeLogin(func(srv *wechattest.Server) {
		srv.Deliver(
			wechattest.Image("friend"),
			wechattest.Voice("friend", 1580),
			wechattest.Video("friend", 8),
			wechattest.Emoticon("friend", "e68363487d8f0519c4e1047de403b2e7"),
			wechattest.File("friend", "report & summary.pdf", 1024, "@crypt_0123"),
			wechattest.Link("friend", "Go <1.26> & more", "https://go.dev/blog/go1.26?a=1&b=2"),
			wechattest.Location("friend", "Some street & square", 22.540503, 113.934528),
			wechattest.Card("friend", "gh_news"),
			wechattest.FriendRequest("dave", `Hi, I'm "Dave" & friends`),
			wechattest.Revoke("friend", "6012345678901234567"),
			wechattest.System("group", `"Alice"邀请"Bob"加入了群聊`),
			wechattest.GroupText("group", "friend", "@Me\u2005are you there?"),
			inGroup,
		)
	}))
	srv := ts.srv
	msgs := ts.collect(t, 13)
	require.ErrorIs(t, ts.shutdown(t), context.Canceled)
	require.Len(t, msgs, 13)
	got := make(map[string]any)
	for _, m := range msgs {
		ks := kinds(m)
		require.LessOrEqual(t, len(ks), 1, "message %v", m)
		key := m.MsgType.String()
		switch {
		case m.MsgType == wechat.MsgTypeApp:
			key = "app " + m.AppMsgType.String()
		case m.IsGroup && m.MsgType == wechat.MsgTypeText:
			got["mention"] = m.MentionsMe
			continue
		case m.IsGroup && m.MsgType == wechat.MsgTypeImage:
			key = "group image"
			assert.Equal(t, "Alice🌛 & Co", m.Sender.NickName)
		}
		require.Len(t, ks, 1, "message %v", m)
		got[key] = ks[0]
	}
	assert.Equal(t, map[string]any{
		"image":       wechat.Image{Length: 6503},
		"group image": wechat.Image{Length: 6503},
		"voice":       wechat.Voice{Duration: 1580 * time.Millisecond},
		"video":       wechat.Video{Duration: 8 * time.Second, Width: 540, Height: 960, Length: 491469},
		"emoticon": wechat.Emoticon{MD5: "e68363487d8f0519c4e1047de403b2e7", Length: 86235,
			CDNURL: "http://emoji.qpic.cn/wx_emoji/e68363487d8f0519c4e1047de403b2e7/", Width: 80, Height: 80},
		"app url": wechat.AppMessage{Type: wechat.AppMsgURL, Title: "Go <1.26> & more", URL: "https://go.dev/blog/go1.26?a=1&b=2"},
		"app attach": wechat.AppMessage{Type: wechat.AppMsgAttach, Title: "report & summary.pdf", AppID: "wx6618f1cfc6c132f8",
			AppName: "微信电脑版", FileName: "report & summary.pdf", FileExt: "pdf", FileSize: 1024, AttachID: "@crypt_0123",
			MediaID: "@crypt_0123", EncryFileName: "report%20%26%20summary%2Epdf"},
		"text": wechat.Location{Label: "Some street & square", POIName: "[位置]", Latitude: 22.540503, Longitude: 113.934528, Scale: 16,
			MapURL: "http://apis.map.qq.com/uri/v1/geocoder?coord=22.540503,113.934528"},
		"share card": wechat.Card{NickName: "gh_news", PermanentID: "gh_news", Official: true},
		"verify": wechat.FriendRequest{UserName: srv.UserName("dave"), NickName: "dave", Greeting: `Hi, I'm "Dave" & friends`, Ticket: "v2_dave@stranger",
			Scene: 30, PermanentID: "dave"},
		"recalled": wechat.Revoke{MsgID: "6012345678901234567", OldMsgID: "1660000000", Session: "friend", ReplaceText: `"friend" 撤回了一条消息`},
		"sys":      wechat.System{Kind: wechat.SysGroupInvite, Text: `"Alice"邀请"Bob"加入了群聊`, Names: []string{"Alice", "Bob"}},
		"mention":  true,
	}, got)
}

// Messages for the matchers by contact, with the contacts the Client would have resolved.
var (
	aliceC    = &wechat.Contact{UserName: friendUN, ID: "fp:alice", NickName: "Alice🌛 & Co", RemarkName: "Alice", Kind: wechat.KindFriend}
	bobC      = &wechat.Contact{UserName: "@b0b0", ID: "alias:bob123", NickName: "Bob", RemarkName: "Bob (work)", Alias: "bob123", DisplayName: "Bobby", Kind: wechat.KindFriend}
	strangerC = &wechat.Contact{UserName: memberUN, NickName: "Stranger", Kind: wechat.KindStranger} // built from the member list: no ID
	selfC     = &wechat.Contact{UserName: selfUN, ID: "uin:2212345678", NickName: "Me", Kind: wechat.KindSelf}
	groupC    = &wechat.Contact{UserName: groupUN, ID: "123@chatroom", NickName: "Test Group", RemarkName: "Family", Kind: wechat.KindGroup,
		Members: []wechat.Member{{UserName: "@b0b0", ID: "alias:bob123", NickName: "Bob"}, {UserName: memberUN, ID: "m:stranger", NickName: "Stranger"}}}

	byContact = []*wechat.Message{
		{MsgID: "1", MsgType: wechat.MsgTypeText, ChatUserName: friendUN, SenderUserName: friendUN, Chat: aliceC, Sender: aliceC},
		{MsgID: "2", MsgType: wechat.MsgTypeText, ChatUserName: groupUN, SenderUserName: "@b0b0", IsGroup: true, Chat: groupC, Sender: bobC},
		{MsgID: "3", MsgType: wechat.MsgTypeText, ChatUserName: groupUN, SenderUserName: memberUN, IsGroup: true, Chat: groupC, Sender: strangerC},
		{MsgID: "4", MsgType: wechat.MsgTypeText, ChatUserName: "@unknown", SenderUserName: "@unknown"},
		{MsgID: "5", MsgType: wechat.MsgTypeText, ChatUserName: "@b0b0", SenderUserName: selfUN, IsSelf: true, Chat: bobC, Sender: selfC},
	}
)

func TestContactMatchers(t *testing.T) {
	hasPrefix := func(p string) func(*wechat.Contact) bool {
		return func(c *wechat.Contact) bool { return strings.HasPrefix(c.NickName, p) }
	}
	tests := []struct {
		name  string
		match wechat.Matcher
		want  string
	}{
		{"FromNickName", wechat.FromNickName("Bob"), "2"},
		{"FromNickName decoded, emoji", wechat.FromNickName("Alice🌛 & Co"), "1"},
		{"FromNickName not the remark", wechat.FromNickName("Alice"), ""},
		{"FromNickName several", wechat.FromNickName("Stranger", "Me"), "3,5"},
		{"FromNickName empty", wechat.FromNickName(""), ""},
		{"FromNickName none", wechat.FromNickName(), ""},
		{"FromRemarkName", wechat.FromRemarkName("Alice", "Bob (work)"), "1,2"},
		{"FromRemarkName empty is not 'no remark'", wechat.FromRemarkName(""), ""},
		{"FromAlias", wechat.FromAlias("bob123"), "2"},
		{"FromAlias empty", wechat.FromAlias(""), ""},
		{"FromID", wechat.FromID("alias:bob123"), "2"},
		{"FromID of a member", wechat.FromID("m:stranger"), "3"},
		{"FromID self", wechat.FromID("uin:2212345678"), "5"},
		{"FromID empty", wechat.FromID(""), ""},
		{"FromSenderFunc", wechat.FromSenderFunc(hasPrefix("St")), "3"},
		{"FromSenderFunc display name", wechat.FromSenderFunc(func(c *wechat.Contact) bool { return c.DisplayName == "Bobby" }), "2"},
		{"FromSenderFunc sees the member ID", wechat.FromSenderFunc(func(c *wechat.Contact) bool { return c.ID == "m:stranger" }), "3"},
		{"InGroup", wechat.InGroup("Test Group"), "2,3"},
		{"InGroup by remark", wechat.InGroup("Family"), "2,3"},
		{"InGroup not a group", wechat.InGroup("Alice", "Bob"), ""},
		{"InGroup empty", wechat.InGroup(""), ""},
		{"InChatID group", wechat.InChatID("123@chatroom"), "2,3"},
		{"InChatID person", wechat.InChatID("alias:bob123"), "5"},
		{"InChatID empty", wechat.InChatID(""), ""},
		{"InChatFunc", wechat.InChatFunc(func(c *wechat.Contact) bool { return strings.Contains(c.NickName, "Group") }), "2,3"},
		{"InChatFunc kind", wechat.InChatFunc(func(c *wechat.Contact) bool { return c.Kind == wechat.KindFriend }), "1,5"},
		{"combined", wechat.All(wechat.InGroup("Family"), wechat.FromNickName("Bob")), "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ids []string
			for _, m := range byContact {
				if tt.match(m) {
					ids = append(ids, m.MsgID)
				}
			}
			assert.Equal(t, tt.want, strings.Join(ids, ","))
		})
	}
}

func TestContactMatcherFuncs(t *testing.T) {
	assert.PanicsWithValue(t, "wechat: FromSenderFunc called with a nil func", func() { wechat.FromSenderFunc(nil) })
	assert.PanicsWithValue(t, "wechat: InChatFunc called with a nil func", func() { wechat.InChatFunc(nil) })

	// The funcs get copies: a matcher cannot change the message.
	vandal := func(c *wechat.Contact) bool { c.NickName, c.ID = "changed", "changed"; return true }
	m := byContact[2]
	require.True(t, wechat.FromSenderFunc(vandal)(m))
	require.True(t, wechat.InChatFunc(vandal)(m))
	assert.Equal(t, "Stranger", m.Sender.NickName)
	assert.Empty(t, m.Sender.ID)
	assert.Equal(t, "Test Group", m.Chat.NickName)

	names := []string{"Bob"}
	match := wechat.FromNickName(names...)
	names[0] = "Alice🌛 & Co"
	assert.True(t, match(byContact[1]), "the names are copied")
}

// TestContactMatchersEndToEnd: the matchers on messages the real client resolved against
// wechattest's account: a friend with a remark and an Alias, a group member who is not a
// contact, a group.
func TestContactMatchersEndToEnd(t *testing.T) {
	t.Parallel()
	ts := setup(t, beforeLogin(func(srv *wechattest.Server) {
		srv.Deliver(
			wechattest.Text("bob", "from bob"),
			wechattest.GroupText("group", "carol", "from carol"), // a member, not a contact
			wechattest.GroupText("group", "alice", "from alice"),
		)
	}))
	msgs := ts.collect(t, 3)
	require.Len(t, msgs, 3)
	byText := map[string]*wechat.Message{}
	for _, m := range msgs {
		byText[m.Content] = m
	}
	bob, carol, alice := byText["from bob"], byText["from carol"], byText["from alice"]
	require.NotNil(t, bob)
	require.NotNil(t, carol)
	require.NotNil(t, alice)

	assert.True(t, wechat.FromNickName("Bob")(bob))
	assert.True(t, wechat.FromRemarkName("Bob (work)")(bob))
	assert.True(t, wechat.FromAlias("bob123")(bob))
	assert.True(t, wechat.FromID(bob.Sender.ID)(bob))
	assert.True(t, wechat.InChatID(bob.Chat.ID)(bob))
	assert.False(t, wechat.InGroup("Test Group")(bob))

	assert.True(t, wechat.FromNickName("Carol")(carol))
	mem, ok := carol.Chat.Member(carol.SenderUserName)
	require.True(t, ok)
	require.NotEmpty(t, mem.ID)
	assert.True(t, wechat.FromID(mem.ID)(carol), "a member who is not a contact has the member's ID")
	assert.True(t, wechat.FromSenderFunc(func(c *wechat.Contact) bool { return c.DisplayName == "Carol in group" })(carol))

	assert.True(t, wechat.FromRemarkName("Alice")(alice))
	for _, m := range []*wechat.Message{carol, alice} {
		assert.True(t, wechat.InGroup("Test Group")(m))
		assert.True(t, wechat.InChatID(m.Chat.ID)(m))
	}
	assert.False(t, wechat.FromID(mem.ID)(alice))
}
