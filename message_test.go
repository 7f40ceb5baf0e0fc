package wechat

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat/internal/wire"
)

const testMsgIDBase = 6012345678901234000 // above 2^53: a float64 would round it

func testMsgID(i int) string { return strconv.FormatUint(testMsgIDBase+uint64(i), 10) }

// wantText100 is message i of testdata/webwxsync/text_100.json, decoded. The fixture cycles
// through 13 kinds of messages.
func wantText100(i int) *Message {
	m := &Message{
		MsgID:        testMsgID(i),
		MsgType:      MsgTypeText,
		FromUserName: testFriend,
		ToUserName:   testSelf,
		CreateTime:   1700000000 + int64(i),
	}
	switch i % 13 {
	case 0: // text from a friend, with an entity and an emoji
		m.Content = "hello " + strconv.Itoa(i) + " & welcome😄"
	case 1: // text in a group, with the sender prefix
		m.FromUserName = testGroup
		m.Content = "msg " + strconv.Itoa(i) + "\nsecond line"
		m.SenderUserName = testMember
	case 2: // sent by self from the phone
		m.FromUserName, m.ToUserName = testSelf, testFriend
		m.Content = "reply " + strconv.Itoa(i)
	case 3: // image with an opaque content
		m.MsgType = MsgTypeImage
		m.Content = "@" + strings.Repeat("0a1b2c3d4e5f", 8)
	case 4:
		m.MsgType = MsgTypeVoice
		m.VoiceLength = 1580
		m.Content = `<msg><voicemsg endflag="1" cancelflag="0" forwardflag="0" voiceformat="4" voicelength="1580" length="2026" bufid="0" clientmsgid="0" fromusername="wxid_abc" /></msg>`
	case 5: // a file in a group
		m.FromUserName = testGroup
		m.SenderUserName = testMember
		m.MsgType = MsgTypeApp
		m.AppMsgType = 6
		m.FileName = "report.pdf"
		m.FileSize = 1024
		m.MediaID = "@crypt_a1b2c3d4_" + strings.Repeat("f", 32)
		m.EncryFileName = "report%2Epdf"
		m.Content = `<msg><appmsg appid="wx6618f1cfc6c132f8" sdkver="0"><title>report.pdf</title><type>6</type><appattach><totallen>1024</totallen><fileext>pdf</fileext></appattach></appmsg></msg><br/>` + "\n"
	case 6: // system message in a group: no prefix
		m.FromUserName = testGroup
		m.MsgType = MsgTypeSys
		m.Content = `"Alice"邀请"Bob"加入了群聊`
	case 7:
		m.FromUserName = testSelf
		m.MsgType = MsgTypeStatusNotify
		m.StatusNotifyCode = 4
		m.StatusNotifyUserName = testFriend + "," + testGroup + ",filehelper"
		m.Content = "<msg>\n<op id='4'>\n<username>wxid_a,123@chatroom,filehelper</username>\n</op>\n</msg>\n"
	case 8: // sent by self to a group: no prefix
		m.FromUserName, m.ToUserName = testSelf, testGroup
		m.Content = "done " + strconv.Itoa(i)
	case 9:
		m.SubMsgType = 48
		m.URL = "http://apis.map.qq.com/uri/v1/geocoder?coord=22.540503,113.934528"
		m.OriContent = "<?xml version=\"1.0\"?>\n<msg>\n\t<location x=\"22.540503\" y=\"113.934528\" scale=\"16\" label=\"Some street\" maptype=\"0\" poiname=\"[位置]\" poiid=\"\" />\n</msg>\n"
		m.Content = "Some street:\n/cgi-bin/mmwebwx-bin/webwxgetpubliclinkimg?url=xxx&msgid=" + testMsgID(i) + "&pictype=location"
	case 10:
		m.FromUserName = testGroup
		m.SenderUserName = testMember
		m.MsgType = MsgTypeEmoticon
		m.ImgWidth, m.ImgHeight = 80, 80
		m.Content = `<msg><emoji fromusername="wxid_abc" tousername="123@chatroom" type="2" md5="e68363487d8f0519c4e1047de403b2e7" len="86235" width="80" height="80" /></msg>`
	case 11:
		m.MsgType = MsgTypeRecalled
		m.Content = "<sysmsg type=\"revokemsg\">\n\t<revokemsg>\n\t\t<session>wxid_abc</session>\n\t\t<oldmsgid>1660000000</oldmsgid>\n\t\t<msgid>4100000000000000000</msgid>\n\t\t<replacemsg><![CDATA[\"Alice\" 撤回了一条消息]]></replacemsg>\n\t</revokemsg>\n</sysmsg>\n"
	case 12:
		m.FromUserName = "fmessage"
		m.MsgType = MsgTypeVerify
		m.Content = `<msg fromusername="wxid_carol" encryptusername="v1_0123abcd@stranger" fromnickname="Carol" content="Hi, I am Carol" scene="30" ticket="v2_0123abcd@stranger" opcode="2"><brandlist count="0" ver="1"></brandlist></msg>`
		m.RecommendInfo = RecommendInfo{
			UserName: "@9a8b7c6d5e4f30211203f4e5d6c7b8a9", NickName: "Carol", Content: "Hi, I am Carol",
			Scene: 30, AttrStatus: 2147600485, Sex: 2, Ticket: "v2_0123abcd@stranger", OpCode: 2,
		}
	}
	m.IsSelf = m.FromUserName == testSelf
	m.ChatUserName = m.FromUserName
	if m.IsSelf {
		m.ChatUserName = m.ToUserName
	}
	m.IsGroup = strings.HasPrefix(m.ChatUserName, "@@")
	if m.SenderUserName == "" {
		m.SenderUserName = m.FromUserName
	}
	return m
}

// decodeFixtureMessages parses a webwxsync fixture and decodes its messages for testSelf.
func decodeFixtureMessages(t *testing.T, file string) (raws []json.RawMessage, msgs []*Message) {
	t.Helper()
	r, err := parseSync(parserFixture(t, "webwxsync", file))
	require.NoError(t, err)
	for _, w := range r.AddMsgList {
		m := decodeMessage(w, testSelf)
		require.NotNil(t, m)
		require.Equal(t, w.Raw, []byte(m.Raw))
		raws = append(raws, w.Raw)
		msgs = append(msgs, m)
	}
	return raws, msgs
}

// decodeRaw decodes one AddMsgList entry for self, as the sync loop does.
func decodeRaw(raw []byte, self string) *Message {
	return decodeMessage(wire.DecodeMessage(raw), self)
}

// withoutRaw returns a copy of m without Raw, for comparisons.
func withoutRaw(m *Message) *Message {
	cp := *m
	cp.Raw = nil
	return &cp
}

func TestDecodeMessageText100(t *testing.T) {
	t.Parallel()
	for _, file := range []string{"text_100.json", "text_100_compact.json"} {
		t.Run(file, func(t *testing.T) {
			raws, msgs := decodeFixtureMessages(t, file)
			require.Len(t, msgs, 100)
			for i, m := range msgs {
				assert.Equal(t, wantText100(i), withoutRaw(m), "message %d", i)

				// NewMsgId, a bare number above 2^53, is the same id, unrounded.
				var ids struct {
					NewMsgID json.Number `json:"NewMsgId"`
				}
				require.NoError(t, json.Unmarshal(raws[i], &ids))
				assert.Equal(t, m.MsgID, ids.NewMsgID.String(), "message %d", i)
			}
		})
	}
}

func TestDecodeMessageFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want []*Message
	}{
		{
			// PROTOCOL 7.4's example: prefix, entities, <br/>, emoji span.
			file: "group_text.json",
			want: []*Message{{
				MsgID: testMsgID(0), MsgType: MsgTypeText, FromUserName: testGroup, ToUserName: testSelf,
				Content:    "a <b> & c\n@Bob😄 hi",
				CreateTime: 1700000000, ChatUserName: testGroup, SenderUserName: "@0123abcd", IsGroup: true,
			}},
		},
		{
			// Sent by self to a group: no prefix to strip, even one that looks like it.
			file: "self_group.json",
			want: []*Message{{
				MsgID: testMsgID(0), MsgType: MsgTypeText, FromUserName: testSelf, ToUserName: testGroup,
				Content:    "todo:\nbuy milk & eggs🥚",
				CreateTime: 1700000000, ChatUserName: testGroup, SenderUserName: testSelf, IsGroup: true, IsSelf: true,
			}},
		},
		{
			file: "unknown_type.json",
			want: []*Message{{
				MsgID: testMsgID(0), MsgType: MsgType(12345), FromUserName: testFriend, ToUserName: testSelf,
				Content:    "new & shiny\nthing",
				CreateTime: 1700000000, ChatUserName: testFriend, SenderUserName: testFriend,
			}},
		},
		{
			file: "numbers_as_strings.json",
			want: []*Message{wantText100(0), wantText100(5)},
		},
		{
			// MsgId and FileSize as numbers, NewMsgId as a string, Content as a number.
			file: "strings_as_numbers.json",
			want: []*Message{{
				MsgID: testMsgID(0), MsgType: MsgTypeApp, AppMsgType: 6, FromUserName: testFriend, ToUserName: testSelf,
				Content: "12345", FileName: "data.bin", FileSize: 2048,
				CreateTime: 1700000000, ChatUserName: testFriend, SenderUserName: testFriend,
			}},
		},
		{file: "continue_flag.json", want: []*Message{wantText100(0)}},
		{file: "sync_check_key.json", want: []*Message{wantText100(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, msgs := decodeFixtureMessages(t, tt.file)
			require.Len(t, msgs, len(tt.want))
			for i, m := range msgs {
				assert.Equal(t, tt.want[i], withoutRaw(m), "message %d", i)
			}
		})
	}
}

func TestDecodeMessageMalformed(t *testing.T) {
	t.Parallel()
	raws, msgs := decodeFixtureMessages(t, "malformed_message.json")
	require.Len(t, msgs, 3)
	assert.Equal(t, wantText100(0), withoutRaw(msgs[0]))
	assert.Equal(t, wantText100(2), withoutRaw(msgs[2]))

	// The entry with an object where Content should be is delivered with its real type, the
	// odd field read as "" and kept in Raw (internal/wire's rule for a field that does not
	// fit its type).
	bad := msgs[1]
	want := wantText100(1)
	want.FromUserName, want.ChatUserName, want.SenderUserName = testFriend, testFriend, testFriend
	want.IsGroup = false
	want.Content = ""
	assert.Equal(t, want, withoutRaw(bad))
	assert.Equal(t, []byte(raws[1]), []byte(bad.Raw))
	assert.Contains(t, string(bad.Raw), `"Content": {`)
}

// TestDecodeMessageUnreadable: an entry internal/wire cannot read is delivered as a message of
// unknown type with its ids and Raw, never dropped.
func TestDecodeMessageUnreadable(t *testing.T) {
	deep := strings.Repeat("[", 70) + strings.Repeat("]", 70)
	raw := `{"MsgId": "9", "MsgType": 1, "FromUserName": "` + testFriend + `", "ToUserName": "` + testSelf + `", "CreateTime": 1700000000, "Content": "hi", "X": ` + deep + `}`
	got := decodeRaw([]byte(raw), testSelf)
	assert.Equal(t, &Message{
		MsgID: "9", MsgType: MsgTypeUnknown, FromUserName: testFriend, ToUserName: testSelf, CreateTime: 1700000000,
		ChatUserName: testFriend, SenderUserName: testFriend,
	}, withoutRaw(got))
	assert.Equal(t, raw, string(got.Raw))
}

func TestDecodeMessageCases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		raw  string
		want Message
	}{
		{
			name: "id from NewMsgId",
			raw:  `{"NewMsgId": 6012345678901234567, "MsgType": 1, "FromUserName": "@a", "ToUserName": "` + testSelf + `", "Content": "x"}`,
			want: Message{MsgID: "6012345678901234567", MsgType: MsgTypeText, FromUserName: "@a", ToUserName: testSelf, Content: "x", ChatUserName: "@a", SenderUserName: "@a"},
		},
		{
			name: "group without prefix",
			raw:  `{"MsgId": "1", "MsgType": 1, "FromUserName": "@@g", "ToUserName": "` + testSelf + `", "Content": "hi"}`,
			want: Message{MsgID: "1", MsgType: MsgTypeText, FromUserName: "@@g", ToUserName: testSelf, Content: "hi", ChatUserName: "@@g", SenderUserName: "@@g", IsGroup: true},
		},
		{
			name: "wxid prefix",
			raw:  `{"MsgId": "1", "MsgType": 1, "FromUserName": "@@g", "ToUserName": "` + testSelf + `", "Content": "wxid_a-1:<br/>hi"}`,
			want: Message{MsgID: "1", MsgType: MsgTypeText, FromUserName: "@@g", ToUserName: testSelf, Content: "hi", ChatUserName: "@@g", SenderUserName: "wxid_a-1", IsGroup: true},
		},
		{
			name: "chatroom suffix",
			raw:  `{"MsgId": "1", "MsgType": 1, "FromUserName": "123@chatroom", "ToUserName": "` + testSelf + `", "Content": "@m:<br/>hi"}`,
			want: Message{MsgID: "1", MsgType: MsgTypeText, FromUserName: "123@chatroom", ToUserName: testSelf, Content: "hi", ChatUserName: "123@chatroom", SenderUserName: "@m", IsGroup: true},
		},
		{
			name: "system message keeps a prefix-like text",
			raw:  `{"MsgId": "1", "MsgType": 10000, "FromUserName": "@@g", "ToUserName": "` + testSelf + `", "Content": "note:<br/>x"}`,
			want: Message{MsgID: "1", MsgType: MsgTypeSys, FromUserName: "@@g", ToUserName: testSelf, Content: "note:\nx", ChatUserName: "@@g", SenderUserName: "@@g", IsGroup: true},
		},
		{
			name: "private message keeps a prefix-like text",
			raw:  `{"MsgId": "1", "MsgType": 1, "FromUserName": "@a", "ToUserName": "` + testSelf + `", "Content": "@b:<br/>x"}`,
			want: Message{MsgID: "1", MsgType: MsgTypeText, FromUserName: "@a", ToUserName: testSelf, Content: "@b:\nx", ChatUserName: "@a", SenderUserName: "@a"},
		},
		{
			name: "null",
			raw:  `null`,
			want: Message{},
		},
		{
			name: "not JSON",
			raw:  `<html>`,
			want: Message{},
		},
		{
			name: "malformed NewMsgId keeps MsgId",
			raw:  `{"MsgId": "5", "NewMsgId": {"x": 1}, "MsgType": 1, "Content": "x"}`,
			want: Message{MsgID: "5", MsgType: MsgTypeText, Content: "x"},
		},
		{
			name: "wrong MsgType type reads as unknown, the rest is kept",
			raw:  `{"MsgId": "77", "MsgType": [1], "Content": "x"}`,
			want: Message{MsgID: "77", Content: "x"},
		},
		{
			name: "odd auxiliary fields cost only themselves",
			raw:  `{"MsgId": "78", "MsgType": 3, "Content": "img", "ImgWidth": 1e30, "FileSize": "abc", "VoiceLength": -1}`,
			want: Message{MsgID: "78", MsgType: MsgTypeImage, Content: "img", VoiceLength: -1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeRaw([]byte(tt.raw), testSelf)
			require.NotNil(t, got)
			assert.Equal(t, tt.raw, string(got.Raw))
			assert.Equal(t, &tt.want, withoutRaw(got))
		})
	}
}

func TestMessageHelpers(t *testing.T) {
	t.Parallel()
	m := wantText100(0)
	assert.True(t, IsText(m))
	assert.False(t, IsText(wantText100(9)), "a location is not text")
	assert.False(t, IsText(wantText100(3)))
	assert.Equal(t, time.Unix(1700000000, 0), m.Time())
	s := m.String()
	assert.Equal(t, "message "+testMsgID(0)+" type 1", s)
	assert.NotContains(t, s, "hello")
}

func TestResolveMentionsMe(t *testing.T) {
	t.Parallel()
	group := func(selfDisplay string) *Contact {
		return &Contact{UserName: testGroup, NickName: "Group", Kind: KindGroup, membersLoaded: true, Members: []Member{
			{UserName: testSelf, NickName: "Me", DisplayName: selfDisplay},
			{UserName: testMember, NickName: "Member"},
		}}
	}
	store := func(self *Contact, g *Contact) *contactStore {
		s := &contactStore{}
		s.setSelf(testSelf)
		if self != nil {
			s.put(self)
		}
		if g != nil {
			s.put(g)
		}
		return s
	}
	me := &Contact{UserName: testSelf, NickName: "Me", Kind: KindSelf}
	groupText := func(text string) *Message {
		return &Message{MsgID: "1", MsgType: MsgTypeText, FromUserName: testGroup, ToUserName: testSelf, Content: text,
			ChatUserName: testGroup, SenderUserName: testMember, IsGroup: true}
	}
	tests := []struct {
		name  string
		m     *Message
		store *contactStore
		want  bool
	}{
		{"four-per-em space", groupText("@Me\u2005are you there?"), store(me, group("")), true},
		{"space", groupText("@Me are you there?"), store(me, group("")), true},
		{"at the end", groupText("ping @Me"), store(me, group("")), true},
		{"a longer name", groupText("@Meh hi"), store(me, group("")), false},
		{"no at sign", groupText("Me hi"), store(me, group("")), false},
		{"display name wins", groupText("@Me hi"), store(me, group("Me in group")), false},
		{"by display name", groupText("@Me in group\u2005hi"), store(me, group("Me in group")), true},
		{"group not known yet: nickname", groupText("@Me hi"), store(me, nil), true},
		{"self contact not known: member nickname", groupText("@Me hi"), store(nil, group("")), true},
		{"nothing known", groupText("@Me hi"), store(nil, nil), false},
		{"self unknown", groupText("@Me hi"), &contactStore{}, false},
		{"sent by self", func() *Message {
			m := groupText("@Me hi")
			m.FromUserName, m.ToUserName, m.SenderUserName, m.IsSelf = testSelf, testGroup, testSelf, true
			return m
		}(), store(me, group("")), false},
		{"not text", func() *Message { m := groupText("@Me hi"); m.MsgType = MsgTypeApp; return m }(), store(me, group("")), false},
		{"a location", func() *Message { m := groupText("@Me hi"); m.SubMsgType = 48; return m }(), store(me, group("")), false},
		{"private chat", &Message{MsgType: MsgTypeText, FromUserName: testFriend, ToUserName: testSelf, Content: "@Me hi",
			ChatUserName: testFriend, SenderUserName: testFriend}, store(me, group("")), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.m.resolve(tt.store)
			assert.Equal(t, tt.want, tt.m.MentionsMe)
		})
	}

	// The fixture, decoded and resolved as the sync loop does.
	m := decodeRaw(parserFixture(t, "messages", "text_group_mention.json"), testSelf)
	assert.Equal(t, "@Me\u2005are you there?", m.Content)
	m.resolve(store(me, group("")))
	assert.True(t, m.MentionsMe)
	assert.True(t, MentionsMe(m))
}
