package wechattest

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// opsSync is a webwxsync answer with its contact lists.
type opsSync struct {
	BaseResponse    baseResp
	AddMsgList      []msgResp
	ModContactCount int
	ModContactList  []contactResp
	DelContactCount int
	DelContactList  []struct {
		UserName    string
		ContactFlag int
	}
	SyncKey      syncKey
	SyncCheckKey syncKey
}

// opsHarness logs in and takes the first sync (the chat list).
func opsHarness(t *testing.T, opts ...Option) *harness {
	h := newHarness(t, append([]Option{WithLongPoll(10 * time.Millisecond)}, opts...)...)
	h.login()
	h.initSession()
	h.sync()
	return h
}

// opsSyncNow runs webwxsync and keeps the new key.
func (h *harness) opsSync() opsSync {
	h.t.Helper()
	var sr opsSync
	h.post("webwxsync", url.Values{"sid": {h.sid}, "skey": {h.skey}, "pass_ticket": {h.passTicket}},
		map[string]any{"BaseRequest": h.base(), "SyncKey": h.syncKey, "rr": -1890000001}, &sr)
	require.Equal(h.t, 0, sr.BaseResponse.Ret)
	h.syncKey, h.checkKey = sr.SyncKey, sr.SyncCheckKey
	return sr
}

// op posts an operation and returns its Ret and body.
func (h *harness) op(endpoint string, q url.Values, body map[string]any) (int, map[string]any) {
	h.t.Helper()
	body["BaseRequest"] = h.base()
	var out map[string]any
	raw := h.post(endpoint, q, body, nil)
	require.NoError(h.t, json.Unmarshal(raw, &out))
	br := out["BaseResponse"].(map[string]any)
	return int(br["Ret"].(float64)), out
}

func TestOplog(t *testing.T) {
	h := opsHarness(t)
	alice := h.s.UserName("alice")
	ret, _ := h.op("webwxoplog", nil, map[string]any{"CmdId": 2, "RemarkName": "Boss & co", "UserName": alice})
	require.Equal(t, 0, ret)
	sr := h.opsSync()
	require.Len(t, sr.ModContactList, 1)
	assert.Equal(t, alice, sr.ModContactList[0].UserName)
	assert.Equal(t, "Boss &amp; co", sr.ModContactList[0].RemarkName, "wire form")
	assert.Empty(t, sr.AddMsgList, "no system message for a remark")

	// Pinning without RemarkName erases the remark, as on the real server.
	ret, _ = h.op("webwxoplog", nil, map[string]any{"CmdId": 3, "OP": 1, "UserName": alice})
	require.Equal(t, 0, ret)
	sr = h.opsSync()
	require.Len(t, sr.ModContactList, 1)
	assert.Equal(t, 3|flagTop, sr.ModContactList[0].ContactFlag)
	assert.Empty(t, sr.ModContactList[0].RemarkName)
	assert.Equal(t, 3|flagTop, h.s.Account().Contacts[1].ContactFlag)

	for _, body := range []map[string]any{
		{"CmdId": 2, "RemarkName": "x", "UserName": h.s.UserName("group")}, // not a friend
		{"CmdId": 2, "UserName": alice},                                    // no RemarkName
		{"CmdId": 3, "OP": 2, "UserName": alice},
		{"CmdId": 9, "UserName": alice},
		{"CmdId": 2, "RemarkName": "x", "UserName": "@nobody"},
	} {
		ret, _ := h.op("webwxoplog", nil, body)
		assert.Equal(t, 1, ret, "%v", body)
	}
}

func TestVerifyUser(t *testing.T) {
	acct := DefaultAccount()
	acct.Strangers = []Contact{{ID: "dave", NickName: "Dave", Sex: 1, City: "Shanghai"}}
	h := opsHarness(t, WithAccount(acct))
	h.s.Deliver(FriendRequest("dave", "hi <3"))
	var sr struct {
		AddMsgList []struct {
			MsgType       int
			RecommendInfo struct {
				UserName, NickName, Content, Ticket, City string
				Sex, OpCode, Scene                        int
			}
		}
	}
	h.post("webwxsync", url.Values{"sid": {h.sid}, "skey": {h.skey}}, map[string]any{"BaseRequest": h.base(), "SyncKey": h.syncKey, "rr": 1}, &sr)
	require.Len(t, sr.AddMsgList, 1)
	ri := sr.AddMsgList[0].RecommendInfo
	dave := h.s.UserName("dave")
	assert.Equal(t, dave, ri.UserName)
	assert.Equal(t, "Dave", ri.NickName, "from the account")
	assert.Equal(t, "Shanghai", ri.City)
	assert.Equal(t, "hi &lt;3", ri.Content)
	assert.Equal(t, "v2_dave@stranger", ri.Ticket)
	assert.Equal(t, 2, ri.OpCode)
	h.opsSync()

	verify := func(opcode int, value, ticket string, edit func(map[string]any)) int {
		body := map[string]any{
			"Opcode": opcode, "VerifyUserListSize": 1,
			"VerifyUserList": []map[string]string{{"Value": value, "VerifyUserTicket": ticket}},
			"VerifyContent":  "", "SceneListCount": 1, "SceneList": []int{33}, "skey": h.skey,
		}
		if edit != nil {
			edit(body)
		}
		ret, _ := h.op("webwxverifyuser", url.Values{"r": {"1"}}, body)
		return ret
	}
	assert.Equal(t, 1, verify(3, dave, "v2_other@stranger", nil), "wrong ticket")
	assert.Equal(t, 1, verify(3, dave, "v2_dave@stranger", func(b map[string]any) { delete(b, "skey") }), "no lower-case skey")
	assert.Equal(t, 1, verify(3, dave, "v2_dave@stranger", func(b map[string]any) { b["VerifyUserList"] = []any{} }), "no entry")
	assert.Equal(t, 1, verify(3, h.s.UserName("carol"), "v2_carol@stranger", nil), "carol sent no request")
	assert.Equal(t, 1, verify(9, dave, "", nil), "Opcode 9 is not one of PROTOCOL 11.2")
	assert.Equal(t, 0, verify(5, dave, "", func(b map[string]any) { b["VerifyUserListSize"] = 2; b["SceneList"] = []int{} }),
		"counts are not checked; Opcode 5 changes nothing")

	require.Equal(t, 0, verify(3, dave, "v2_dave@stranger", nil))
	s := h.opsSync()
	require.Len(t, s.ModContactList, 1)
	assert.Equal(t, dave, s.ModContactList[0].UserName, "the UserName of the request stays")
	assert.Equal(t, 3, s.ModContactList[0].ContactFlag)
	require.Len(t, s.AddMsgList, 1)
	assert.Equal(t, 10000, s.AddMsgList[0].MsgType)
	assert.Equal(t, dave, s.AddMsgList[0].FromUserName)
	assert.Equal(t, "你已添加了 Dave，现在可以开始聊天了。", s.AddMsgList[0].Content)
	assert.Equal(t, 1, verify(3, dave, "v2_dave@stranger", nil), "accepted already")
	a := h.s.Account()
	assert.Equal(t, "dave", a.Contacts[len(a.Contacts)-1].ID)
	assert.Empty(t, a.Strangers)

	// Opcode 2: a request to a stranger; the server records it until the person approves.
	carol := h.s.UserName("carol")
	assert.Equal(t, 0, verify(2, h.s.UserName("friend"), "", nil), "to a friend: accepted, nothing to approve")
	assert.False(t, h.s.ApproveFriendRequest("friend"))
	assert.False(t, h.s.ApproveFriendRequest("carol"))
	require.Equal(t, 0, verify(2, carol, "", nil))
	require.True(t, h.s.ApproveFriendRequest("carol"))
	s = h.opsSync()
	require.Len(t, s.ModContactList, 1)
	assert.Equal(t, carol, s.ModContactList[0].UserName)
	assert.Equal(t, "你已添加了 Carol，现在可以开始聊天了。", s.AddMsgList[0].Content)
}

func TestChatroomOps(t *testing.T) {
	h := opsHarness(t)
	friend, alice, bob, carol := h.s.UserName("friend"), h.s.UserName("alice"), h.s.UserName("bob"), h.s.UserName("carol")
	members := func(uns ...string) []map[string]string {
		var out []map[string]string
		for _, u := range uns {
			out = append(out, map[string]string{"UserName": u})
		}
		return out
	}
	create := func(topic any, uns ...string) (int, map[string]any) {
		body := map[string]any{"MemberCount": len(uns), "MemberList": members(uns...)}
		if topic != nil {
			body["Topic"] = topic
		}
		return h.op("webwxcreatechatroom", url.Values{"r": {"1"}}, body)
	}
	ret, _ := create("x", friend, carol)
	assert.Equal(t, -2, ret, "carol is not a friend")
	ret, _ = create("x", friend)
	assert.Equal(t, -2, ret, "too few")
	ret, _ = create("x", friend, "@nobody")
	assert.Equal(t, 1, ret)

	ret, out := create("New <group>", friend, alice)
	require.Equal(t, 0, ret)
	room := out["ChatRoomName"].(string)
	assert.Regexp(t, `^@@[0-9a-f]{64}$`, room)
	assert.Equal(t, float64(3), out["MemberCount"])
	s := h.opsSync()
	require.Len(t, s.ModContactList, 1)
	g := s.ModContactList[0]
	assert.Equal(t, room, g.UserName)
	assert.Equal(t, "New &lt;group&gt;", g.NickName)
	assert.Len(t, g.MemberList, 3)
	require.Len(t, s.AddMsgList, 1)
	assert.Equal(t, room, s.AddMsgList[0].FromUserName)
	assert.Equal(t, "&quot;Me&quot;邀请&quot;Friend&quot;、&quot;Alice<span class=\"emoji emoji1f31b\"></span> &amp; Co&quot;加入了群聊",
		s.AddMsgList[0].Content, "wire form: names as they are, the rest escaped")
	var id string
	for _, gr := range h.s.Account().Groups {
		if h.s.UserName(gr.ID) == room {
			id = gr.ID
		}
	}
	assert.Regexp(t, `^\d+@chatroom$`, id)

	update := func(fun string, body map[string]any) int {
		if _, ok := body["ChatRoomName"]; !ok {
			body["ChatRoomName"] = room
		}
		ret, _ := h.op("webwxupdatechatroom", url.Values{"fun": {fun}}, body)
		return ret
	}
	assert.Equal(t, -2, update("addmember", map[string]any{"AddMemberList": carol}), "not a friend")
	assert.Equal(t, 1, update("addmember", map[string]any{"AddMemberList": "@nobody"}))
	assert.Equal(t, 1, update("addmember", map[string]any{"InviteMemberList": bob}), "the wrong list")
	assert.Equal(t, 1, update("nosuch", map[string]any{}))
	assert.Equal(t, 1, update("modtopic", map[string]any{"NewTopic": ""}))
	assert.Equal(t, 1, update("delmember", map[string]any{"DelMemberList": bob}), "not a member")
	assert.Equal(t, 1, update("delmember", map[string]any{"DelMemberList": h.selfUN}), "self")
	assert.Equal(t, 1, update("modtopic", map[string]any{"ChatRoomName": "@@nope", "NewTopic": "x"}))
	assert.Equal(t, -2, update("delmember", map[string]any{"ChatRoomName": h.s.UserName("team"), "DelMemberList": bob}), "alice owns team")
	assert.Empty(t, h.opsSync().ModContactList, "refusals change nothing")

	require.Equal(t, 0, update("addmember", map[string]any{"AddMemberList": bob + "," + friend}))
	require.Equal(t, 0, update("delmember", map[string]any{"DelMemberList": friend}))
	require.Equal(t, 0, update("modtopic", map[string]any{"NewTopic": "Renamed"}))
	s = h.opsSync()
	require.Len(t, s.ModContactList, 1, "one entry per group")
	assert.Equal(t, "Renamed", s.ModContactList[0].NickName)
	var got []string
	for _, m := range s.ModContactList[0].MemberList {
		got = append(got, m.NickName)
	}
	assert.Equal(t, []string{"Me", "Alice<span class=\"emoji emoji1f31b\"></span> &amp; Co", "Bob"}, got)
	var texts []string
	for _, m := range s.AddMsgList {
		texts = append(texts, m.Content)
	}
	assert.Equal(t, []string{
		"&quot;Me&quot;邀请&quot;Bob&quot;加入了群聊",
		"你将&quot;Friend&quot;移出了群聊",
		"你修改群名为“Renamed”",
	}, texts)

	h.s.DeleteGroup(id)
	s = h.opsSync()
	require.Len(t, s.DelContactList, 1)
	assert.Equal(t, room, s.DelContactList[0].UserName)
	assert.Equal(t, 1, update("modtopic", map[string]any{"NewTopic": "x"}), "the group no longer exists")

	h.s.RateLimitOps(1)
	ret, _ = h.op("webwxoplog", nil, map[string]any{"CmdId": 2, "RemarkName": "x", "UserName": friend})
	assert.Equal(t, 1205, ret)
	ret, _ = h.op("webwxoplog", nil, map[string]any{"CmdId": 2, "RemarkName": "x", "UserName": friend})
	assert.Equal(t, 0, ret)
}

func TestInviteRules(t *testing.T) {
	a := LargeAccount(100, 2, 38)
	a.Groups[1].InviteOnly = true
	h := opsHarness(t, WithAccount(a))
	g1, g2 := h.s.UserName("group0001"), h.s.UserName("group0002")
	in := map[string]bool{}
	for _, m := range a.Groups[0].Members {
		in[m.ID] = true
	}
	var outside []string
	for _, c := range a.Contacts {
		if len(c.ID) == 10 && c.ID[:6] == "friend" && !in[c.ID] && len(outside) < 2 {
			outside = append(outside, h.s.UserName(c.ID))
		}
	}
	update := func(fun, room, key, list string) int {
		ret, _ := h.op("webwxupdatechatroom", url.Values{"fun": {fun}}, map[string]any{"ChatRoomName": room, key: list})
		return ret
	}
	assert.Equal(t, 0, update("addmember", g1, "AddMemberList", outside[0]), "39 members")
	assert.Equal(t, 1, update("addmember", g1, "AddMemberList", outside[1]), "40: invite")
	assert.Equal(t, 0, update("invitemember", g1, "InviteMemberList", outside[1]))
	assert.Equal(t, 1, update("addmember", g2, "AddMemberList", outside[0]), "invite only")
	assert.Len(t, h.s.Account().Groups[0].Members, 40)
}

func TestInviteToGroup(t *testing.T) {
	h := opsHarness(t)
	h.s.InviteToGroup("group", "alice", "dave", "friend")
	s := h.opsSync()
	require.Len(t, s.ModContactList, 1)
	assert.Len(t, s.ModContactList[0].MemberList, 5, "friend was a member already")
	require.Len(t, s.AddMsgList, 1)
	assert.Equal(t, h.s.UserName("group"), s.AddMsgList[0].FromUserName)
	assert.Equal(t, "&quot;Alice<span class=\"emoji emoji1f31b\"></span> &amp; Co&quot;邀请&quot;dave&quot;加入了群聊", s.AddMsgList[0].Content)
	assert.Panics(t, func() { h.s.InviteToGroup("nope", "alice", "x") })
	assert.Panics(t, func() { h.s.InviteToGroup("group", "bob", "x") })
	assert.Panics(t, func() { h.s.DeleteGroup("friend") })
}
