package wire

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testSelf   = "@0123456789abcdef0123456789abcdef"
	testFriend = "@5c0a9e8d7c6b5a4f3e2d1c0b9a8f7e6d"
	syncKey4   = "1_636444437|2_636445049|3_636444675|1000_1463740202"
	syncKeyNew = "1_636444440|2_636445100|3_636444675|1000_1463740250"
)

func testMsgID(i int) string { return strconv.FormatUint(6012345678901234000+uint64(i), 10) }

func TestDecodeSyncFixtures(t *testing.T) {
	tests := []struct {
		file         string
		wantMsgs     int
		wantContinue int
		wantKey      string
		wantCheckKey string
		wantRet      int
		wantErr      bool
	}{
		{file: "text_100.json", wantMsgs: 100, wantKey: syncKey4, wantCheckKey: syncKey4},
		{file: "text_100_compact.json", wantMsgs: 100, wantKey: syncKey4, wantCheckKey: syncKey4},
		{file: "continue_flag.json", wantMsgs: 1, wantContinue: 1, wantKey: syncKey4, wantCheckKey: syncKey4},
		{file: "numbers_as_strings.json", wantMsgs: 2, wantKey: syncKey4, wantCheckKey: syncKey4},
		{file: "malformed_message.json", wantMsgs: 3, wantKey: syncKey4, wantCheckKey: syncKey4},
		{file: "ret_1101.json", wantRet: 1101},
		{file: "ret_minus1.json", wantRet: -1},
		{file: "html_error_page.html", wantErr: true},
		{file: "truncated.json", wantErr: true},
		{file: "empty.json", wantErr: true},
		{file: "odd_fields.json", wantMsgs: 7, wantKey: syncKeyNew, wantCheckKey: syncKeyNew},
		{file: "unreadable_entries.json", wantMsgs: 6, wantKey: syncKeyNew, wantCheckKey: syncKeyNew},
		{file: "contact_entries.json", wantMsgs: 1, wantKey: syncKeyNew, wantCheckKey: syncKeyNew},
		// Cut off after the BaseResponse: the framing error is reported, and the Ret read.
		{file: "ret_1101_cut.json", wantRet: 1101, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := rootFixture(t, "webwxsync", tt.file)
			s, err := DecodeSync(body)
			require.NotNil(t, s)
			if tt.wantErr {
				assert.ErrorIs(t, err, ErrSyntax)
			} else {
				require.NoError(t, err)
				assert.True(t, s.Base.Found)
			}
			assert.Equal(t, tt.wantRet, s.Base.Ret)
			if tt.wantRet != 0 || tt.wantErr {
				assert.False(t, s.SyncKey.Valid(), "an error body never carries a key to keep")
				return
			}
			assert.Len(t, s.Messages, tt.wantMsgs)
			assert.Equal(t, tt.wantContinue, s.ContinueFlag)
			assert.Equal(t, tt.wantKey, s.SyncKey.String())
			assert.Equal(t, tt.wantCheckKey, s.SyncCheckKey.String())
		})
	}
}

func TestDecodeSyncText100(t *testing.T) {
	multi, err := DecodeSync(rootFixture(t, "webwxsync", "text_100.json"))
	require.NoError(t, err)
	compact, err := DecodeSync(rootFixture(t, "webwxsync", "text_100_compact.json"))
	require.NoError(t, err)
	require.Len(t, multi.Messages, 100)
	for i := range multi.Messages {
		a, b := multi.Messages[i], compact.Messages[i]
		require.NoError(t, a.Err, "message %d", i)
		assert.Equal(t, testMsgID(i), a.MsgID)
		assert.Equal(t, int64(1700000000+i), a.CreateTime)
		a.Raw, b.Raw = nil, nil
		assert.Equal(t, a, b, "the two layouts decode alike: message %d", i)
	}
	m := multi.Messages
	assert.Equal(t, "hello 0 & welcome😄", m[0].Content)
	assert.Equal(t, "@fedcba9876543210fedcba9876543210", m[1].Sender, "group prefix")
	assert.Equal(t, "msg 1\nsecond line", m[1].Content)
	assert.Equal(t, 49, m[5].MsgType)
	assert.Equal(t, 6, m[5].AppMsgType)
	assert.Equal(t, int64(1024), m[5].FileSize)
	assert.True(t, strings.HasPrefix(m[5].Content, `<msg><appmsg appid="wx6618f1cfc6c132f8"`))
	assert.Empty(t, m[6].Sender, "a system message has no prefix")
	assert.Equal(t, `"Alice"邀请"Bob"加入了群聊`, m[6].Content)
	assert.Equal(t, "Carol", m[12].RecommendInfo.NickName)
	assert.Equal(t, int64(2147600485), m[12].RecommendInfo.AttrStatus)
	assert.Equal(t, 30, m[12].RecommendInfo.Scene)
}

// TestTolerateOddFields: a field that does not fit its type reads as zero; the message keeps
// its real type and Content (wire rule 1).
func TestTolerateOddFields(t *testing.T) {
	s, err := DecodeSync(rootFixture(t, "webwxsync", "odd_fields.json"))
	require.NoError(t, err)
	require.Len(t, s.Messages, 7)
	m := s.Messages
	for i := range m {
		require.NoError(t, m[i].Err, "message %d", i)
		assert.Equal(t, testMsgID(i), m[i].MsgID)
	}

	// ImgWidth 1e30 does not fit an int; ImgHeight -5 does.
	assert.Equal(t, 3, m[0].MsgType)
	assert.Equal(t, "@0a1b2c3d", m[0].Content)
	assert.Equal(t, 0, m[0].ImgWidth)
	assert.Equal(t, -5, m[0].ImgHeight)

	// FileSize "abc" and 1.5.
	assert.Equal(t, 49, m[1].MsgType)
	assert.Equal(t, 6, m[1].AppMsgType)
	assert.Equal(t, "report.pdf", m[1].FileName)
	assert.Equal(t, int64(0), m[1].FileSize)
	assert.Equal(t, "<msg><appmsg><title>report.pdf</title></appmsg></msg>", m[1].Content)
	assert.Equal(t, "half.bin", m[2].FileName)
	assert.Equal(t, int64(0), m[2].FileSize)

	// VoiceLength -1 is an integer: kept as sent (the accessors treat it as unknown).
	assert.Equal(t, 34, m[3].MsgType)
	assert.Equal(t, -1, m[3].VoiceLength)
	assert.Equal(t, `<msg><voicemsg voicelength="1580" /></msg>`, m[3].Content)

	// Numbers as strings are numbers.
	assert.Equal(t, 1, m[4].MsgType)
	assert.Equal(t, int64(1700000004), m[4].CreateTime)
	assert.Equal(t, "numbers as strings", m[4].Content)

	// Content an object, RecommendInfo a string, PlayLength true, Url 7, SubMsgType [48].
	assert.Equal(t, 1, m[5].MsgType)
	assert.Empty(t, m[5].Content)
	assert.Equal(t, RecommendInfo{}, m[5].RecommendInfo)
	assert.Equal(t, 0, m[5].PlayLength)
	assert.Equal(t, "7", m[5].URL, "a number where a string is expected keeps its digits")
	assert.Equal(t, 0, m[5].SubMsgType)
	assert.Contains(t, string(m[5].Raw), `"text": "an object"`, "the raw entry keeps the odd field")

	// Odd fields inside RecommendInfo cost only themselves.
	ri := m[6].RecommendInfo
	assert.Equal(t, 37, m[6].MsgType)
	assert.Equal(t, "@9a8b", ri.UserName)
	assert.Equal(t, "Carol", ri.NickName)
	assert.Equal(t, 0, ri.Sex)
	assert.Equal(t, 30, ri.Scene, "30.0 is an integral number")
	assert.Equal(t, int64(4294967295), ri.AttrStatus, "above 2^31")
	assert.Equal(t, int64(0), ri.QQNum, "null")
}

// TestTolerateUnreadableEntries: an entry that cannot be read (too deep, broken, not an
// object) is one message with its raw bytes and Err, the others are delivered and the SyncKey
// advances (wire rule 2).
func TestTolerateUnreadableEntries(t *testing.T) {
	body := rootFixture(t, "webwxsync", "unreadable_entries.json")
	s, err := DecodeSync(body)
	require.NoError(t, err)
	require.Len(t, s.Messages, 6)
	assert.Equal(t, syncKeyNew, s.SyncKey.String(), "the SyncKey advances")
	m := s.Messages

	for _, i := range []int{0, 5} {
		require.NoError(t, m[i].Err)
		assert.Equal(t, "hello "+strconv.Itoa(i), m[i].Content)
	}

	// Nested 70 deep: unreadable, with what identifies it.
	assert.ErrorIs(t, m[1].Err, ErrTooDeep)
	assert.Equal(t, testMsgID(1), m[1].MsgID)
	assert.Equal(t, 1, m[1].MsgType)
	assert.Equal(t, testFriend, m[1].FromUserName)
	assert.Equal(t, testSelf, m[1].ToUserName)
	assert.Equal(t, int64(1700000001), m[1].CreateTime)
	assert.Empty(t, m[1].Content)
	assert.Contains(t, string(m[1].Raw), strings.Repeat("[", 70))

	// Broken inside (a literal "tru"): what was read before the break identifies it.
	assert.ErrorIs(t, m[2].Err, ErrSyntax)
	assert.Equal(t, testMsgID(2), m[2].MsgID)
	assert.Equal(t, 1, m[2].MsgType)
	assert.Empty(t, m[2].Content)
	assert.Contains(t, string(m[2].Raw), `"Status": tru,`)
	assert.True(t, strings.HasSuffix(string(m[2].Raw), `"MD5": ""`+"\n}"))

	// Not objects.
	assert.ErrorIs(t, m[3].Err, ErrNotEntry)
	assert.Equal(t, "null", string(m[3].Raw))
	assert.ErrorIs(t, m[4].Err, ErrNotEntry)
	assert.Equal(t, `"not a message"`, string(m[4].Raw))
	assert.Equal(t, Message{Raw: m[4].Raw, Err: m[4].Err}, m[4])
}

// TestTolerateTooLargeEntry: an entry over MaxEntry is kept raw (wire rule 2).
func TestTolerateTooLargeEntry(t *testing.T) {
	big := `{"MsgId": "1", "MsgType": 1, "FromUserName": "@a", "Content": "` + strings.Repeat("x", MaxEntry) + `"}`
	body := `{"BaseResponse": {"Ret": 0, "ErrMsg": ""}, "AddMsgList": [` + big +
		`, {"MsgId": "2", "MsgType": 1, "Content": "small"}], "SyncKey": {"Count": 1, "List": [{"Key": 1, "Val": 2}]}}`
	s, err := DecodeSync([]byte(body))
	require.NoError(t, err)
	require.Len(t, s.Messages, 2)
	assert.ErrorIs(t, s.Messages[0].Err, ErrTooLarge)
	assert.Equal(t, "1", s.Messages[0].MsgID)
	assert.Equal(t, "@a", s.Messages[0].FromUserName)
	assert.Empty(t, s.Messages[0].Content)
	assert.Len(t, s.Messages[0].Raw, len(big))
	assert.Equal(t, "small", s.Messages[1].Content)
	assert.Equal(t, "1_2", s.SyncKey.String())
}

// TestTolerateContactEntries: contacts with odd fields are decoded; those that cannot be read
// are reported in Unreadable and left out; the messages of the batch are delivered.
func TestTolerateContactEntries(t *testing.T) {
	s, err := DecodeSync(rootFixture(t, "webwxsync", "contact_entries.json"))
	require.NoError(t, err)
	require.Len(t, s.Messages, 1)
	require.Len(t, s.ModContacts, 2)

	g := s.ModContacts[0]
	assert.Equal(t, "@@0f1e2d3c", g.UserName)
	assert.Equal(t, "Team & Co😄", g.NickName)
	assert.Equal(t, int64(2212345678), g.OwnerUin)
	assert.Equal(t, 1, g.IsOwner)
	require.Len(t, g.Members, 2)
	assert.Equal(t, int64(2212345678), g.Members[1].Uin, "a uin as a string")
	assert.Equal(t, int64(4294967295), g.Members[1].AttrStatus)
	assert.Equal(t, "D&D", g.Members[1].DisplayName)

	odd := s.ModContacts[1]
	assert.Equal(t, "@5c0a", odd.UserName)
	assert.Equal(t, "Odd", odd.NickName)
	assert.Zero(t, odd.Sex)
	assert.Zero(t, odd.VerifyFlag)
	assert.Zero(t, odd.ContactFlag)
	assert.Zero(t, odd.Statues)

	assert.Equal(t, []string{"@gone"}, s.DelContacts)
	require.Len(t, s.ModMembers, 1)
	assert.Equal(t, "@m1", s.ModMembers[0].UserName)

	var lists []string
	for _, u := range s.Unreadable {
		lists = append(lists, u.List)
		assert.NotEmpty(t, u.Raw)
		assert.Error(t, u.Err)
	}
	assert.Equal(t, []string{"ModContactList", "ModContactList", "ModContactList", "DelContactList", "ModChatRoomMemberList"}, lists)
	assert.ErrorIs(t, s.Unreadable[0].Err, ErrSyntax)
	assert.Contains(t, string(s.Unreadable[0].Raw), `"@broken"`)
	assert.ErrorIs(t, s.Unreadable[1].Err, ErrTooDeep)
	assert.ErrorIs(t, s.Unreadable[2].Err, ErrNotEntry, "no UserName")
}

func TestDecodeMessageCases(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want Message
	}{
		{
			name: "id from NewMsgId, unrounded",
			raw:  `{"NewMsgId": 6012345678901234567, "MsgType": 1, "FromUserName": "@a", "Content": "x"}`,
			want: Message{MsgID: "6012345678901234567", MsgType: 1, FromUserName: "@a", Content: "x"},
		},
		{
			name: "group prefix",
			raw:  `{"MsgId": "1", "MsgType": 1, "FromUserName": "@@g", "Content": "@m1:<br/>hi &amp; bye"}`,
			want: Message{MsgID: "1", MsgType: 1, FromUserName: "@@g", Sender: "@m1", Content: "hi & bye"},
		},
		{
			name: "wxid prefix, chatroom suffix",
			raw:  `{"MsgId": "1", "MsgType": 1, "FromUserName": "123@chatroom", "Content": "wxid_a-1:<br/>hi"}`,
			want: Message{MsgID: "1", MsgType: 1, FromUserName: "123@chatroom", Sender: "wxid_a-1", Content: "hi"},
		},
		{
			name: "system message keeps a prefix-like text",
			raw:  `{"MsgId": "1", "MsgType": 10000, "FromUserName": "@@g", "Content": "note:<br/>x"}`,
			want: Message{MsgID: "1", MsgType: 10000, FromUserName: "@@g", Content: "note:\nx"},
		},
		{
			name: "private message keeps a prefix-like text",
			raw:  `{"MsgId": "1", "MsgType": 1, "FromUserName": "@a", "Content": "@b:<br/>x"}`,
			want: Message{MsgID: "1", MsgType: 1, FromUserName: "@a", Content: "@b:\nx"},
		},
		{
			name: "escapes",
			raw:  `{"MsgId": "1", "MsgType": 1, "FromUserName": "@a", "Content": "\u4e2d\"\\n\ud83d\ude04 \/"}`,
			want: Message{MsgID: "1", MsgType: 1, FromUserName: "@a", Content: "中\"\\n😄 /"},
		},
		{
			name: "MsgId as a number, FileSize as a number",
			raw:  `{"MsgId": 6012345678901234567, "MsgType": 49, "FileSize": 2048, "Content": 12345}`,
			want: Message{MsgID: "6012345678901234567", MsgType: 49, FileSize: 2048, Content: "12345"},
		},
		{
			name: "odd NewMsgId keeps MsgId",
			raw:  `{"MsgId": "5", "NewMsgId": {"x": 1}, "MsgType": 1, "Content": "x"}`,
			want: Message{MsgID: "5", MsgType: 1, Content: "x"},
		},
		{
			name: "odd MsgType reads as 0, the rest is kept",
			raw:  `{"MsgId": "77", "MsgType": [1], "Content": "x"}`,
			want: Message{MsgID: "77", Content: "x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DecodeMessage([]byte(tt.raw))
			assert.Equal(t, tt.raw, string(got.Raw))
			got.Raw = nil
			assert.Equal(t, tt.want, got)
		})
	}
	for _, raw := range []string{`null`, `<html>`, `{"MsgId": "1", "MsgType": 1`, ``} {
		got := DecodeMessage([]byte(raw))
		assert.Error(t, got.Err, raw)
	}
}

func TestSyncKey(t *testing.T) {
	k := decodeSyncKey([]byte(`{"Count": "2", "List": [{"Key": 1, "Val": "636444437"}, {"Key": 1000, "Val": 1463740202}]}`))
	assert.True(t, k.Valid())
	assert.Equal(t, "1_636444437|1000_1463740202", k.String())
	b, err := k.MarshalJSON()
	require.NoError(t, err)
	assert.Equal(t, `{"Count":2,"List":[{"Key":1,"Val":636444437},{"Key":1000,"Val":1463740202}]}`, string(b))
	for _, in := range []string{
		`{"Count": 0, "List": []}`,
		`{"Count": 1, "List": [{"Key": 1}]}`,             // an entry without Val
		`{"Count": 1, "List": [{"Key": 1, "Val": "x"}]}`, // a key sent back whole or not at all
		`{"Count": 1, "List": 5}`,
		`[]`,
	} {
		assert.False(t, decodeSyncKey([]byte(in)).Valid(), in)
	}
}

func TestDecodeSyncFraming(t *testing.T) {
	for _, body := range []string{
		``, `[]`, `{"AddMsgList": [{"MsgId": "1"} {"MsgId": "2"}]}`, `{"AddMsgList": [{"Content": "x}]}`,
		`{"BaseResponse": {"Ret": 0}} trailing`,
	} {
		_, err := DecodeSync([]byte(body))
		assert.ErrorIs(t, err, ErrSyntax, body)
		assert.False(t, errors.Is(err, ErrTooDeep))
	}
	// A list that is not a list is an empty list.
	s, err := DecodeSync([]byte(`{"BaseResponse": {"Ret": 0, "ErrMsg": ""}, "AddMsgList": null, "ModContactList": {}, "DelContactList": 3}`))
	require.NoError(t, err)
	assert.Empty(t, s.Messages)
	assert.True(t, s.Base.Found)
}
