package wechat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat/internal/wire"
)

const (
	testOfficial = "@9f8e7d6c5b4a39281706f5e4d3c2b1a0"
	testBob      = "@b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0"
	testCarol    = "@ca401ca401ca401ca401ca401ca401ca"
)

// messageFixture decodes testdata/messages/<name> for testSelf.
func messageFixture(t testing.TB, name string) *Message {
	t.Helper()
	raw := parserFixture(t, "messages", name)
	return decodeRaw(raw, testSelf)
}

// accessorResults calls every typed accessor of m and returns the results of those that
// report true, keyed by the name of their type.
func accessorResults(m *Message) map[string]any {
	out := make(map[string]any)
	add := func(v any, ok bool) {
		if ok {
			out[reflect.TypeOf(v).Name()] = v
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

func TestMessageAccessorFixtures(t *testing.T) {
	t.Parallel()
	const (
		fileMediaID = "@crypt_a1b2c3d4_ffffffffffffffffffffffffffffffff"
		mapURL      = "http://apis.map.qq.com/uri/v1/geocoder?coord=22.540503,113.934528"
		redURL      = "https://wxapp.tenpay.com/mmpayhb/wxhb_personalreceive?showwxpaytitle=1&msgtype=1&channelid=1&sendid=1000039401"
	)
	redPacket := AppMessage{Type: AppMsgRedEnvelopes, Title: "微信红包", Description: "我给你发了一个红包，赶紧去拆!", URL: redURL}
	tests := []struct {
		file string
		want any // the one accessor result expected to report true, or nil for none
	}{
		{"text.json", nil},
		{"text_group_mention.json", nil},
		{"unknown_type.json", nil},
		{"possible_friend.json", nil},
		{"voip.json", nil},
		{"voip_notify.json", nil},
		{"voip_invite.json", nil},
		{"sys_notice.json", nil},

		{"image_xml.json", Image{Width: 480, Height: 640, Length: 6503, HDLength: 120034}},
		{"image_opaque.json", Image{}},
		{"malformed_image.json", Image{Width: 200, Height: 100}},

		{"voice.json", Voice{Duration: 1580 * time.Millisecond}},
		{"malformed_voice.json", Voice{}},
		{"numbers_as_strings.json", Voice{Duration: 1580 * time.Millisecond}},

		{"video.json", Video{Duration: 8 * time.Second, Width: 540, Height: 960, Length: 491469}},
		{"micro_video.json", Video{Duration: 3 * time.Second, Width: 224, Height: 400, Micro: true}},
		{"malformed_video.json", Video{Duration: 8 * time.Second, Width: 540, Height: 960}},

		{"emoticon.json", Emoticon{MD5: "e68363487d8f0519c4e1047de403b2e7", Length: 86235, CDNURL: "http://emoji.qpic.cn/wx_emoji/3jvVbHo1ZHhk4NxLZSdIm/", Width: 80, Height: 80}},
		{"emoticon_store.json", Emoticon{MD5: "9f2a7e5d1c3b4a5968778695a4b3c2d1", Length: 4017, Width: 240, Height: 240, Store: true}},
		{"malformed_emoticon.json", Emoticon{Width: 80, Height: 80}},

		{"card_person.json", Card{UserName: testBob, NickName: "Bob", Alias: "bob123", Province: "广东", City: "深圳", Sex: 1, PermanentID: "v1_0b0b0b0b0b0b0b0b@stranger"}},
		{"card_official.json", Card{UserName: testOfficial, NickName: "News Daily", Alias: "news_daily", Province: "北京", City: "海淀", PermanentID: "gh_0123456789ab", Official: true}},
		{"numbers_as_strings_card.json", Card{UserName: testOfficial, NickName: "News Daily", Alias: "news_daily", Province: "北京", City: "海淀", PermanentID: "gh_0123456789ab", Official: true}},
		{"malformed_card.json", Card{UserName: testBob, NickName: "Bob", Alias: "bob123", Province: "广东", City: "深圳", Sex: 1}},
		// A RecommendInfo that is not an object costs only itself: the XML still gives the card.
		{"recommend_info_malformed.json", Card{NickName: "Bob", Alias: "bob123", Province: "广东", City: "深圳", Sex: 1, PermanentID: "v1_0b0b0b0b0b0b0b0b@stranger"}},

		{"friend_request.json", FriendRequest{
			UserName: testCarol, NickName: "Carol", Greeting: "Hi, I am Carol & I met you at the meetup",
			Ticket: "v2_ca401ca401ca401ca4@stranger", Scene: 30, Sex: 2, Province: "广东", City: "广州",
			Signature: "hello", PermanentID: "wxid_carol",
		}},
		{"friend_request_xml_only.json", FriendRequest{
			NickName: "Carol", Greeting: "Hi, I am Carol & I met you at the meetup",
			Ticket: "v2_ca401ca401ca401ca4@stranger", Scene: 30, Sex: 2, Province: "广东", City: "广州",
			Signature: "hello", PermanentID: "wxid_carol",
		}},
		{"malformed_friend_request.json", FriendRequest{UserName: testCarol, NickName: "Carol", Greeting: "Hi", Ticket: "v2_ca401ca401ca401ca4@stranger", Scene: 30, Sex: 2}},

		{"location_text.json", Location{Label: "Some street", POIName: "[位置]", Latitude: 22.540503, Longitude: 113.934528, Scale: 16, MapURL: mapURL}},
		{"location.json", Location{Label: "Some street", POIName: "[位置]", Latitude: 22.540503, Longitude: 113.934528, Scale: 16, MapURL: mapURL}},
		{"location_text_group.json", Location{
			Label: "深圳市南山区科技园 & 周边", POIName: "腾讯大厦", Latitude: 22.543096, Longitude: 113.947086, Scale: 15,
			MapURL: "http://apis.map.qq.com/uri/v1/geocoder?coord=22.543096,113.947086",
		}},
		{"location_no_submsgtype.json", Location{Label: "Some street", Latitude: 22.540503, Longitude: 113.934528, MapURL: mapURL}},
		{"malformed_location.json", Location{Label: "Fallback road", Latitude: 39.908823, Longitude: 116.39747, MapURL: "http://apis.map.qq.com/uri/v1/geocoder?coord=39.908823,116.397470"}},
		{"missing_fields_location.json", Location{Label: "Somewhere"}},

		{"app_text.json", AppMessage{Type: AppMsgText, Title: "Shared from an app", AppID: "wxcb8d4298c6a09bcb", AppName: "Some App"}},
		{"app_image.json", AppMessage{Type: AppMsgImage, AppID: "wx0123456789abcdef", AppName: "Photo App", FileExt: "jpg", FileSize: 20480, AttachID: "@cdn_0a1b2c3d_1"}},
		{"app_music.json", AppMessage{Type: AppMsgAudio, Title: "Song Title", Description: "Some Artist", URL: "http://y.qq.com/i/song.html#p=7B2253&songid=1", AppID: "wx5aa333606550dfd5", AppName: "QQ音乐"}},
		{"app_video.json", AppMessage{Type: AppMsgVideo, Title: "A funny video", Description: "3 minutes", URL: "https://v.qq.com/x/page/a0123456789.html"}},
		{"app_link.json", AppMessage{Type: AppMsgURL, Title: "Go 1.26 is released", Description: "What's new & improved", URL: "https://go.dev/blog/go1.26?utm_source=wechat&utm_medium=share"}},
		{"app_link_mmreader.json", AppMessage{
			Type: AppMsgURL, Title: "Morning briefing", Description: "Today: rain & wind",
			URL: "http://mp.weixin.qq.com/s?__biz=MzA3&mid=2650&idx=1&sn=a1#rd",
			Articles: []Article{
				{Title: "Morning briefing", URL: "http://mp.weixin.qq.com/s?__biz=MzA3&mid=2650&idx=1&sn=a1#rd", Cover: "http://mmbiz.qpic.cn/cover1/640", Digest: "Today: rain & wind"},
				{Title: "Evening digest", URL: "http://mp.weixin.qq.com/s?__biz=MzA3&mid=2650&idx=2&sn=b2#rd", Cover: "http://mmbiz.qpic.cn/cover2/300", Digest: "Markets <up>"},
			},
		}},
		{"app_file.json", AppMessage{
			Type: AppMsgAttach, Title: "report.pdf", AppID: "wx6618f1cfc6c132f8", AppName: "微信电脑版",
			FileName: "report.pdf", FileExt: "pdf", FileSize: 1024, AttachID: "@cdn_3057020100044b30490201_1",
			MediaID: fileMediaID, EncryFileName: "report%2Epdf",
		}},
		{"malformed_app.json", AppMessage{
			Type: AppMsgAttach, Title: "report.pdf", FileName: "report.pdf", FileExt: "pdf", FileSize: 1024,
			MediaID: "@crypt_a1b2c3d4_" + strings.Repeat("e", 32), EncryFileName: "report%2Epdf",
		}},
		{"app_open.json", AppMessage{Type: AppMsgOpen, Title: "Open platform card", Description: "From a game", URL: "https://game.example.com/share?id=42", AppID: "wx1234567890abcdef", AppName: "Some Game"}},
		{"app_emoji.json", AppMessage{Type: AppMsgEmoji, AppID: "wxa1b2c3d4e5f60718", AppName: "Sticker Maker", FileExt: "gif", FileSize: 33812, AttachID: "@cdn_0e1f2a3b_1"}},
		{"app_voice_remind.json", AppMessage{Type: AppMsgVoiceRemind, Title: "Voice reminder", Description: "Call mum"}},
		{"app_scan_good.json", AppMessage{Type: AppMsgScanGood, Title: "Scanned product", Description: "Barcode 6901234567892", URL: "https://product.example.com/6901234567892"}},
		{"app_good.json", AppMessage{Type: AppMsgGood, Title: "A good product", Description: "￥99.00", URL: "https://shop.example.com/item/13"}},
		{"app_emotion.json", AppMessage{Type: AppMsgEmotion, Title: "Sticker pack", Description: "Cute cats", URL: "https://sticker.example.com/pack/15"}},
		{"app_card_ticket.json", AppMessage{Type: AppMsgCardTicket, Title: "Coffee coupon", Description: "10% off", URL: "https://card.example.com/16"}},
		{"app_share_location.json", AppMessage{Type: AppMsgRealtimeShareLocation, Title: "我发起了位置共享"}},
		{"app_chat_history.json", AppMessage{
			Type: AppMsgChatHistory, Title: "群聊的聊天记录", Description: "Alice: hi\nBob: yo",
			RecordTitle: "群聊的聊天记录", RecordDesc: "Alice: hi\nBob: yo",
		}},
		{"app_mini_program.json", AppMessage{
			Type: AppMsgMiniProgram, Title: "Order your coffee",
			URL:         "https://mp.weixin.qq.com/mp/waerrpage?appid=wx0a1b2c3d4e5f6789&type=upgrade&upgradetype=3#wechat_redirect",
			MiniProgram: &MiniProgram{UserName: "gh_a1b2c3d4e5f6@app", AppID: "wx0a1b2c3d4e5f6789", PagePath: "pages/index/index.html?id=42", Title: "Coffee Shop"},
		}},
		{"app_transfer.json", AppMessage{
			Type: AppMsgTransfers, Title: "微信转账", Description: "收到转账0.10元。如需收钱，请点此升级至最新版本",
			URL: "https://support.weixin.qq.com/cgi-bin/mmsupport-bin/readtemplate?t=page/common_page__upgrade&text=text001&btn_text=btn_text_0",
			Fee: "￥0.10",
		}},
		{"app_red_packet.json", redPacket},
		{"red_packet_text.json", redPacket},
		{"red_packet_text_plain.json", AppMessage{Type: AppMsgRedEnvelopes}},
		{"app_unknown_57.json", AppMessage{Type: 57, Title: "sounds good"}},
		{"missing_fields.json", AppMessage{Type: AppMsgURL, Title: "Only the payload", Description: "no top-level fields", URL: "https://example.com/a?b=1&c=2"}},

		{"revoke.json", Revoke{MsgID: "4100000000000000000", OldMsgID: "1660000000", Session: "wxid_friend", ReplaceText: `"Friend" 撤回了一条消息`}},
		{"revoke_group.json", Revoke{MsgID: "4100000000000000001", OldMsgID: "1660000001", Session: "123456789@chatroom", ReplaceText: `"Alice & Co" 撤回了一条消息`}},
		{"malformed_revoke.json", Revoke{}},

		{"status_notify_4.json", StatusNotify{
			Code:         4,
			UserNames:    []string{testFriend, testGroup, "filehelper", testOfficial},
			PermanentIDs: []string{"wxid_friend", "123456789@chatroom", "filehelper", "gh_0123456789ab"},
		}},
		{"status_notify_2.json", StatusNotify{Code: 2, UserNames: []string{testFriend}}},
		{"malformed_status_notify.json", StatusNotify{Code: 4, UserNames: []string{testFriend, testGroup}}},

		{"sys_friend_added.json", System{Kind: SysFriendAdded, Text: "你已添加了 Carol，现在可以开始聊天了。", Names: []string{"Carol"}}},
		{"sys_friend_added_en.json", System{Kind: SysFriendAdded, Text: "You have added Carol as your WeChat contact. Start chatting!", Names: []string{"Carol"}}},
		{"sys_group_invite.json", System{Kind: SysGroupInvite, Text: `"Alice"邀请"Bob"加入了群聊`, Names: []string{"Alice", "Bob"}}},
		{"sys_group_invite_link.json", System{Kind: SysGroupInvite, Text: `你邀请"Bob"加入了群聊  撤销`, Names: []string{"Bob"}}},
		{"sys_group_rename.json", System{Kind: SysGroupRename, Text: `"Alice"修改群名为"周末爬山 & 烧烤"`, Names: []string{"Alice", "周末爬山 & 烧烤"}}},
		{"sys_red_packet.json", System{Kind: SysRedPacket, Text: "收到红包，请在手机上查看"}},
		{"sys_pat.json", System{Kind: SysPat, Text: `"Alice" 拍了拍 "Me"`, Names: []string{"Alice", "Me"}}},
		{"sys_location_share_ended.json", System{Kind: SysLocationShareEnded, Text: "位置共享已经结束"}},
		{"sys_other.json", System{Kind: SysOther, Text: "如果陌生人主动添加你为朋友，请谨慎核实对方身份。"}},
	}
	seen := make(map[string]bool)
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			m := messageFixture(t, tt.file)
			want := map[string]any{}
			if tt.want != nil {
				want[reflect.TypeOf(tt.want).Name()] = tt.want
			}
			assert.Equal(t, want, accessorResults(m))
		})
	}
	// Every fixture is covered by the table.
	for _, name := range parserFixtureNames(t, "messages") {
		assert.True(t, seen[name], "fixture %s is not in the table", name)
	}
}

func TestDecodeMessageNewFields(t *testing.T) {
	t.Parallel()
	fr := messageFixture(t, "friend_request.json")
	assert.Equal(t, RecommendInfo{
		UserName: testCarol, NickName: "Carol", Province: "广东", City: "广州",
		Content: "Hi, I am Carol & I met you at the meetup", Signature: "hello",
		Scene: 30, AttrStatus: 2147616931, Sex: 2, Ticket: "v2_ca401ca401ca401ca4@stranger", OpCode: 2,
	}, fr.RecommendInfo)
	assert.Equal(t, "fmessage", fr.ChatUserName)

	card := messageFixture(t, "numbers_as_strings_card.json")
	assert.Equal(t, "6012345678901235993", card.MsgID)
	assert.Equal(t, MsgTypeShareCard, card.MsgType)
	assert.Equal(t, 24, card.RecommendInfo.VerifyFlag)
	assert.Equal(t, int64(3221225472), card.RecommendInfo.AttrStatus)

	bad := messageFixture(t, "recommend_info_malformed.json")
	assert.Equal(t, MsgTypeShareCard, bad.MsgType, "a malformed RecommendInfo does not cost the message")
	assert.Equal(t, RecommendInfo{}, bad.RecommendInfo)

	store := messageFixture(t, "emoticon_store.json")
	assert.Equal(t, 1, store.HasProductID)

	file := messageFixture(t, "app_file.json")
	assert.Equal(t, AppMsgAttach, file.AppMsgType)
	assert.Equal(t, int64(1024), file.FileSize)

	red := messageFixture(t, "red_packet_text.json")
	assert.Equal(t, MsgTypeText, red.MsgType)
	assert.Equal(t, AppMsgRedEnvelopes, red.AppMsgType)
	assert.False(t, IsText(red), "a red packet is not text")

	loc := messageFixture(t, "location_no_submsgtype.json")
	assert.False(t, IsText(loc), "a location is not text, even without SubMsgType")
	assert.True(t, IsText(messageFixture(t, "text.json")))

	// The group sender prefix is gone from XML payloads as from text.
	rev := messageFixture(t, "revoke_group.json")
	assert.Equal(t, testMember, rev.SenderUserName)
	assert.True(t, strings.HasPrefix(rev.Content, `<sysmsg type="revokemsg">`+"\n\t<revokemsg>"), rev.Content)

	missing := messageFixture(t, "missing_fields_location.json")
	assert.Equal(t, "6012345678901235991", missing.MsgID)
}

func TestMessageTypeStrings(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "text", MsgTypeText.String())
	assert.Equal(t, "recalled", MsgTypeRecalled.String())
	assert.Equal(t, "unknown", MsgTypeUnknown.String())
	assert.Equal(t, "MsgType(12345)", MsgType(12345).String())
	assert.Equal(t, "attach", AppMsgAttach.String())
	assert.Equal(t, "red envelopes", AppMsgRedEnvelopes.String())
	assert.Equal(t, "AppMsgType(57)", AppMsgType(57).String())
	assert.Equal(t, "AppMsgType(0)", AppMsgType(0).String())
	assert.Equal(t, "group rename", SysGroupRename.String())
	assert.Equal(t, "SystemKind(99)", SystemKind(99).String())
	assert.Equal(t, "SystemKind(-1)", SystemKind(-1).String())
	for typ, name := range msgTypeNames {
		assert.NotContains(t, name, "(", "MsgType %d", int(typ))
	}
	assert.Len(t, appMsgTypeNames, 18, "PROTOCOL 7.3 lists 18 wire types with names")
}

func TestSystemKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text  string
		kind  SystemKind
		names []string
	}{
		{"你已添加了 Carol，现在可以开始聊天了。", SysFriendAdded, []string{"Carol"}},
		{"你已添加了Dan,现在可以开始聊天了。", SysFriendAdded, []string{"Dan"}},
		{"You have added Carol as your WeChat contact. Start chatting!", SysFriendAdded, []string{"Carol"}},
		{"You have added J.R. Smith as your WeChat contact.", SysFriendAdded, []string{"J.R. Smith"}},
		{`"Alice"邀请"Bob"加入了群聊`, SysGroupInvite, []string{"Alice", "Bob"}},
		{`"Alice"邀请"Bob"、"Carol"加入了群聊`, SysGroupInvite, []string{"Alice", "Bob", "Carol"}},
		{`"Bob"通过扫描"Alice"分享的二维码加入群聊`, SysGroupInvite, []string{"Bob", "Alice"}},
		{`"Alice" invited "Bob" to the group chat`, SysGroupInvite, []string{"Alice", "Bob"}},
		{`"Bob" joined the group chat via the QR Code shared by "Alice"`, SysGroupInvite, []string{"Bob", "Alice"}},
		{`“Alice”邀请“Bob”加入了群聊`, SysGroupInvite, []string{"Alice", "Bob"}},
		{`"Alice"修改群名为"New name"`, SysGroupRename, []string{"Alice", "New name"}},
		{`你修改群名为“加入了群聊 红包群”`, SysGroupRename, []string{"加入了群聊 红包群"}},
		{`"Alice" changed the group name to "New name"`, SysGroupRename, []string{"Alice", "New name"}},
		{"收到红包，请在手机上查看", SysRedPacket, nil},
		{"发出红包，请在手机上查看", SysRedPacket, nil},
		{"Red packet received. View on phone.", SysRedPacket, nil},
		{`"Alice" 拍了拍 "Bob"`, SysPat, []string{"Alice", "Bob"}},
		{`"红包王" 拍了拍 "修改群名为"`, SysPat, []string{"红包王", "修改群名为"}},
		{`"Alice" patted "Bob"`, SysPat, []string{"Alice", "Bob"}},
		{"位置共享已经结束", SysLocationShareEnded, nil},
		{"Location sharing has ended", SysLocationShareEnded, nil},
		{"如果陌生人主动添加你为朋友，请谨慎核实对方身份。", SysOther, nil},
		{`"Alice"开启了朋友验证`, SysOther, []string{"Alice"}},
		{`an "unclosed quote`, SysOther, nil},
		{"", SysOther, nil},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			s, ok := (&Message{MsgType: MsgTypeSys, Content: tt.text}).System()
			require.True(t, ok)
			assert.Equal(t, tt.kind, s.Kind)
			assert.Equal(t, tt.names, s.Names)
			assert.Equal(t, tt.text, s.Text)
		})
	}
}

func TestStripLinks(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{`a <a href="weixin://x">link</a> b`, "a link b"},
		{`<a>x</a><a href='y'>z</a>`, "xz"},
		{"1 < 2 <ab> </b>", "1 < 2 <ab> </b>"},
		{`cut <a href="x`, `cut <a href="x`},
		{"</a>", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, stripLinks(tt.in), "stripLinks(%q)", tt.in)
	}
}

func TestDecodeXML(t *testing.T) {
	t.Parallel()
	type attrs struct {
		ID   string `xml:"id,attr"`
		Name string `xml:"name"`
	}
	tests := []struct {
		name, in string
		want     attrs
		wantErr  bool
	}{
		{"plain", `<op id="4"><name>x</name></op>`, attrs{"4", "x"}, false},
		{"declaration", `<?xml version="1.0"?>` + "\n<op id='4'><name>x</name></op>", attrs{"4", "x"}, false},
		{"foreign encoding", `<?xml version="1.0" encoding="GBK"?><op id="4"><name>中文</name></op>`, attrs{"4", "中文"}, false},
		{"trailing junk", `<op id="4"><name>x</name></op><br/>` + "\n&garbage <<", attrs{"4", "x"}, false},
		{"html entity", `<op id="4"><name>a&nbsp;b &copy;</name></op>`, attrs{"4", "a\u00a0b ©"}, false},
		{"bare ampersand", `<op id="4"><name>a & b</name></op>`, attrs{"4", "a & b"}, false},
		{"unquoted attribute", `<op id=4><name>x</name></op>`, attrs{"4", "x"}, false},
		{"mismatched end tag", `<op id="4"><name>x</nam></op>`, attrs{"4", "x"}, false},
		{"leading text", "junk\n<op id=\"4\"/>", attrs{ID: "4"}, false},
		{"cdata", `<op><name><![CDATA[<b> & c]]></name></op>`, attrs{Name: "<b> & c"}, false},
		{"truncated", `<op id="4"><name>x`, attrs{}, true},
		{"no element", `@0a1b2c3d`, attrs{}, true},
		{"empty", ``, attrs{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got attrs
			err := wire.DecodeXML(tt.in, &got)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestAccessorEdgeCases(t *testing.T) {
	t.Parallel()
	// Negative and overflowing durations are 0, never a negative Duration.
	v, ok := (&Message{MsgType: MsgTypeVoice, VoiceLength: -5}).Voice()
	require.True(t, ok)
	assert.Zero(t, v.Duration)
	vid, ok := (&Message{MsgType: MsgTypeVideo, Content: `<msg><videomsg playlength="9223372036854775807"/></msg>`}).Video()
	require.True(t, ok)
	assert.Zero(t, vid.Duration)

	// Coordinates out of range or not numbers are dropped.
	loc, ok := (&Message{MsgType: MsgTypeLocation, OriContent: `<msg><location x="NaN" y="113.9" label="x"/></msg>`,
		URL: "http://apis.map.qq.com/uri/v1/geocoder?coord=91,10"}).Location()
	require.True(t, ok)
	assert.Equal(t, Location{Label: "x", MapURL: "http://apis.map.qq.com/uri/v1/geocoder?coord=91,10"}, loc)

	// Revoke of "the last message I sent" (PROTOCOL 7.5).
	r, ok := (&Message{MsgType: MsgTypeRecalled, Content: `<sysmsg type="revokemsg"><revokemsg><msgid>0</msgid></revokemsg></sysmsg>`}).Revoke()
	require.True(t, ok)
	assert.Equal(t, Revoke{MsgID: "0"}, r)

	// An app message without a top-level AppMsgType takes the payload's <type>; a file's
	// extension comes from its name when <fileext> is missing.
	a, ok := (&Message{MsgType: MsgTypeApp, FileName: "a.tar.gz", Content: `<msg><appmsg><type>6</type></appmsg></msg>`}).App()
	require.True(t, ok)
	assert.Equal(t, AppMessage{Type: AppMsgAttach, Title: "a.tar.gz", FileName: "a.tar.gz", FileExt: "gz"}, a)

	// A chat history without a <recorditem> summarises with the message's title.
	h, ok := (&Message{MsgType: MsgTypeApp, AppMsgType: AppMsgChatHistory, Content: `<msg><appmsg><title>T</title><des>D</des></appmsg></msg>`}).App()
	require.True(t, ok)
	assert.Equal(t, "T", h.RecordTitle)
	assert.Equal(t, "D", h.RecordDesc)

	// Negative totallen is not a size.
	n, ok := (&Message{MsgType: MsgTypeApp, Content: `<msg><appmsg><appattach><totallen>-1</totallen></appattach></appmsg></msg>`}).App()
	require.True(t, ok)
	assert.Zero(t, n.FileSize)

	// A zero Message is of no kind.
	assert.Empty(t, accessorResults(&Message{}))
}

func FuzzMessageAccessors(f *testing.F) {
	for _, dir := range []string{"messages", "webwxsync"} {
		for _, name := range parserFixtureNames(f, dir) {
			body := parserFixture(f, dir, name)
			if dir == "messages" {
				f.Add(body)
				continue
			}
			if r, err := parseSync(body); err == nil {
				for _, w := range r.AddMsgList {
					f.Add(w.Raw)
				}
			}
		}
	}
	store := fuzzStore()
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := decodeRaw(raw, testSelf)
		m.resolve(store)
		res := accessorResults(m)
		if len(res) > 1 {
			t.Errorf("message of type %v is of several kinds: %v", m.MsgType, res)
		}
		if v, ok := res["Voice"].(Voice); ok && v.Duration < 0 {
			t.Errorf("negative voice duration %v", v.Duration)
		}
		if v, ok := res["Video"].(Video); ok && v.Duration < 0 {
			t.Errorf("negative video duration %v", v.Duration)
		}
		if m.MentionsMe && (!m.IsGroup || m.IsSelf) {
			t.Errorf("MentionsMe outside a group or for self: %+v", m)
		}
		_ = m.String()
		_ = m.MsgType.String()
		_ = m.AppMsgType.String()
	})
}

func FuzzParseAppXML(f *testing.F) {
	for _, name := range parserFixtureNames(f, "messages") {
		m := messageFixture(f, name)
		f.Add(m.Content)
		if m.OriContent != "" {
			f.Add(m.OriContent)
		}
	}
	f.Fuzz(func(t *testing.T, content string) {
		x, err := wire.ParseAppXML(content)
		if err != nil && !reflect.DeepEqual(x, wire.AppXML{}) {
			t.Errorf("parseAppXML(%q) = %+v, %v; want the zero payload with an error", content, x, err)
		}
		// Every accessor on every kind of message with this content.
		for _, typ := range []MsgType{MsgTypeText, MsgTypeImage, MsgTypeVoice, MsgTypeVerify, MsgTypeShareCard,
			MsgTypeVideo, MsgTypeEmoticon, MsgTypeLocation, MsgTypeApp, MsgTypeStatusNotify, MsgTypeMicroVideo,
			MsgTypeSys, MsgTypeRecalled} {
			m := &Message{MsgType: typ, Content: content, OriContent: content, SubMsgType: 48, URL: content}
			accessorResults(m)
		}
	})
}

// fuzzStore returns a contact store where self is a member of testGroup with a display name.
func fuzzStore() *contactStore {
	s := &contactStore{}
	s.setSelf(testSelf)
	s.put(
		&Contact{UserName: testSelf, NickName: "Me", Kind: KindSelf},
		&Contact{UserName: testGroup, NickName: "Group", Kind: KindGroup, membersLoaded: true, Members: []Member{
			{UserName: testSelf, NickName: "Me", DisplayName: "Me in group"},
			{UserName: testMember, NickName: "Member"},
		}},
	)
	return s
}

func TestFixturesAreRealLayout(t *testing.T) {
	t.Parallel()
	// The fixtures that claim the server's layout have every field of PROTOCOL 7.1, MsgId as a
	// string and NewMsgId as a bare number.
	fields := []string{"MsgId", "FromUserName", "ToUserName", "MsgType", "Content", "Status", "ImgStatus",
		"CreateTime", "VoiceLength", "PlayLength", "FileName", "FileSize", "MediaId", "Url", "AppMsgType",
		"StatusNotifyCode", "StatusNotifyUserName", "RecommendInfo", "ForwardFlag", "AppInfo", "HasProductId",
		"Ticket", "ImgHeight", "ImgWidth", "SubMsgType", "NewMsgId", "OriContent", "EncryFileName"}
	for _, name := range parserFixtureNames(t, "messages") {
		if strings.HasPrefix(name, "missing_fields") || strings.HasPrefix(name, "numbers_as_strings") || name == "recommend_info_malformed.json" {
			continue
		}
		body, err := os.ReadFile(filepath.Join("testdata", "messages", name))
		require.NoError(t, err)
		var obj map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(body, &obj), name)
		for _, f := range fields {
			assert.Contains(t, obj, f, "%s lacks %s", name, f)
		}
		assert.Len(t, obj, len(fields), name)
		assert.Equal(t, byte('"'), obj["MsgId"][0], "%s: MsgId is a string", name)
		assert.Equal(t, string(obj["MsgId"]), `"`+string(obj["NewMsgId"])+`"`, "%s: NewMsgId is the same bare number", name)
		assert.Contains(t, string(body), "}\n,\n", "%s: the server's multi-line layout (PROTOCOL 14.2)", name)
	}
}
