package wechat_test

// End-to-end tests of the contact and group operations (PROTOCOL 11): each against the
// wechattest fake, with its refusals, and the store checked against the server's model
// after the sync that reports the change.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

const cgi = "/cgi-bin/mmwebwx-bin/"

// lastBody decodes the body of the last request to endpoint.
func lastBody(t *testing.T, srv *wechattest.Server, endpoint string) (wechattest.Request, map[string]any) {
	t.Helper()
	reqs := requestsTo(srv, cgi+endpoint)
	require.NotEmpty(t, reqs, "no request to %s", endpoint)
	r := reqs[len(reqs)-1]
	var body map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &body))
	return r, body
}

// noRequest checks that f sends nothing and returns an error matching target.
func noRequest(t *testing.T, srv *wechattest.Server, target error, f func() error) {
	t.Helper()
	before := len(srv.Requests())
	err := f()
	require.ErrorIs(t, err, target)
	var we *wechat.Error
	assert.True(t, errors.As(err, &we), "an *Error: %v", err)
	for _, r := range srv.Requests()[before:] {
		assert.True(t, strings.HasSuffix(r.Path, "synccheck") || strings.HasSuffix(r.Path, "webwxsync"),
			"nothing is sent before the error, got %s", r.Path)
	}
}

// serverRet returns the Ret of an *Error.
func serverRet(t *testing.T, err error) int {
	t.Helper()
	var we *wechat.Error
	require.True(t, errors.As(err, &we), "an *Error: %v", err)
	return we.Ret
}

func TestSetRemark(t *testing.T) {
	t.Parallel()
	b := setup(t, contactsReady())
	srv := b.srv
	ctx := t.Context()
	friend := srv.UserName("friend")

	require.NoError(t, b.c.SetRemark(ctx, friend, "Best friend & co"))
	ct, _ := b.c.Contact(friend)
	assert.Equal(t, "Best friend & co", ct.RemarkName, "the store has it at once")
	r, body := lastBody(t, srv, "webwxoplog")
	assert.Equal(t, "zh_CN", r.Query.Get("lang"))
	assert.NotEmpty(t, r.Query.Get("pass_ticket"))
	assert.Equal(t, float64(2), body["CmdId"])
	assert.Equal(t, friend, body["UserName"])
	assert.Equal(t, "Best friend & co", body["RemarkName"])
	assert.Contains(t, string(r.Body), `"Best friend & co"`, "no HTML escaping (PROTOCOL 3.7)")

	cc := b.waitChange(t, friend)
	assert.Equal(t, wechat.ContactModified, cc.Kind)
	assert.Equal(t, "Best friend & co", cc.Contact.RemarkName)
	assert.Equal(t, "friend", cc.Contact.ID)
	checkStore(t, srv, b.c)

	noRequest(t, srv, wechat.ErrUnknownContact, func() error { return b.c.SetRemark(ctx, "@nobody", "x") })
	noRequest(t, srv, wechat.ErrWrongKind, func() error { return b.c.SetRemark(ctx, srv.UserName("group"), "x") })
	noRequest(t, srv, wechat.ErrWrongKind, func() error { return b.c.SetRemark(ctx, srv.UserName("self"), "x") })
}

func TestPinUnpin(t *testing.T) {
	t.Parallel()
	b := setup(t, contactsReady())
	srv := b.srv
	ctx := t.Context()
	alice, group := srv.UserName("alice"), srv.UserName("group")

	require.NoError(t, b.c.Pin(ctx, alice))
	_, body := lastBody(t, srv, "webwxoplog")
	assert.Equal(t, float64(3), body["CmdId"])
	assert.Equal(t, float64(1), body["OP"])
	assert.Equal(t, "Alice", body["RemarkName"], "the current remark, or the server erases it")
	ct, _ := b.c.Contact(alice)
	assert.True(t, ct.Pinned())
	b.waitChange(t, alice)
	checkStore(t, srv, b.c)
	assert.Equal(t, "Alice", srv.Account().Contacts[1].RemarkName, "the remark survived")

	require.NoError(t, b.c.Pin(ctx, group))
	b.waitChange(t, group)
	require.NoError(t, b.c.Unpin(ctx, alice))
	_, body = lastBody(t, srv, "webwxoplog")
	assert.Equal(t, float64(0), body["OP"])
	b.waitChange(t, alice)
	ct, _ = b.c.Contact(alice)
	assert.False(t, ct.Pinned())
	g, _ := b.c.Contact(group)
	assert.True(t, g.Pinned())
	checkStore(t, srv, b.c)

	noRequest(t, srv, wechat.ErrWrongKind, func() error { return b.c.Pin(ctx, srv.UserName("self")) })
	noRequest(t, srv, wechat.ErrUnknownContact, func() error { return b.c.Unpin(ctx, "") })
}

func TestAcceptFriend(t *testing.T) {
	t.Parallel()
	b := setup(t, contactsReady())
	srv := b.srv
	ctx := t.Context()

	// carol is a stranger, known from the group "group".
	srv.Deliver(wechattest.FriendRequest("carol", "Hi, I am Carol"))
	m := b.nextWhere(t, func(m *wechat.Message) bool { return m.MsgType == wechat.MsgTypeVerify })
	fr, ok := m.FriendRequest()
	require.True(t, ok)
	assert.Equal(t, srv.UserName("carol"), fr.UserName)
	assert.Equal(t, "Hi, I am Carol", fr.Greeting)

	bad := fr
	bad.Ticket = "v2_forged@stranger"
	_, err := b.c.AcceptFriend(ctx, bad)
	assert.Equal(t, 1, serverRet(t, err), "the server checks the ticket")
	noRequest(t, srv, wechat.ErrInvalidArgument, func() error {
		_, err := b.c.AcceptFriend(ctx, wechat.FriendRequest{UserName: fr.UserName})
		return err
	})

	carol, err := b.c.AcceptFriend(ctx, fr)
	require.NoError(t, err)
	assert.Equal(t, wechat.KindFriend, carol.Kind)
	assert.Equal(t, "Carol", carol.NickName)
	assert.Equal(t, "carol", carol.ID, "the permanent id of the request")
	r, body := lastBody(t, srv, "webwxverifyuser")
	assert.NotEmpty(t, r.Query.Get("r"))
	assert.Equal(t, "zh_CN", r.Query.Get("lang"))
	assert.NotEmpty(t, r.Query.Get("pass_ticket"))
	assert.Equal(t, float64(3), body["Opcode"])
	assert.Equal(t, float64(1), body["VerifyUserListSize"])
	assert.Equal(t, []any{map[string]any{"Value": fr.UserName, "VerifyUserTicket": "v2_carol@stranger"}}, body["VerifyUserList"])
	assert.Equal(t, []any{float64(33)}, body["SceneList"])
	assert.Equal(t, float64(1), body["SceneListCount"])
	assert.NotEmpty(t, body["skey"], "the lower-case skey")

	sys := b.nextSystem(t)
	assert.Equal(t, wechat.SysFriendAdded, sys.Kind)
	assert.Equal(t, []string{"Carol"}, sys.Names)
	cc := b.waitChange(t, fr.UserName)
	assert.Equal(t, wechat.KindFriend, cc.Contact.Kind)
	checkStore(t, srv, b.c)

	noRequest(t, srv, wechat.ErrWrongKind, func() error { _, err := b.c.AcceptFriend(ctx, fr); return err })
}

func TestAddFriend(t *testing.T) {
	t.Parallel()
	b := setup(t, contactsReady())
	srv := b.srv
	ctx := t.Context()
	carol := srv.UserName("carol") // a member of "group" who is not a friend

	require.NoError(t, b.c.AddFriend(ctx, carol, "Hello from the group"))
	_, body := lastBody(t, srv, "webwxverifyuser")
	assert.Equal(t, float64(2), body["Opcode"])
	assert.Equal(t, "Hello from the group", body["VerifyContent"])
	assert.Equal(t, []any{map[string]any{"Value": carol, "VerifyUserTicket": ""}}, body["VerifyUserList"])

	require.True(t, srv.ApproveFriendRequest("carol"))
	assert.Equal(t, wechat.SysFriendAdded, b.nextSystem(t).Kind)
	cc := b.waitChange(t, carol)
	assert.Equal(t, wechat.KindFriend, cc.Contact.Kind)
	checkStore(t, srv, b.c)

	noRequest(t, srv, wechat.ErrWrongKind, func() error { return b.c.AddFriend(ctx, carol, "again") })
	noRequest(t, srv, wechat.ErrWrongKind, func() error { return b.c.AddFriend(ctx, srv.UserName("group"), "x") })
	noRequest(t, srv, wechat.ErrWrongKind, func() error { return b.c.AddFriend(ctx, "@@0000", "x") })
	noRequest(t, srv, wechat.ErrUnknownContact, func() error { return b.c.AddFriend(ctx, "nobody", "x") })
	assert.Equal(t, 1, serverRet(t, b.c.AddFriend(ctx, "@0000", "x")), "the server does not know that UserName")
}

// retTransport rewrites the Ret of answers to one endpoint.
type retTransport struct {
	next     http.RoundTripper
	endpoint string
	from, to string
}

func (rt retTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := rt.next.RoundTrip(req)
	if err != nil || !strings.HasSuffix(req.URL.Path, "/"+rt.endpoint) {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	body = bytes.Replace(body, []byte(rt.from), []byte(rt.to), 1)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

func TestCreateGroup(t *testing.T) {
	t.Parallel()
	// The official client takes Ret -2013 as success (PROTOCOL 11.3): make the server say it.
	b := setup(t, contactsReady(), withTransport(func(next http.RoundTripper) http.RoundTripper {
		return retTransport{next, "webwxcreatechatroom", `"Ret": 0`, `"Ret": -2013`}
	}))
	srv := b.srv
	ctx := t.Context()
	friend, alice, bob := srv.UserName("friend"), srv.UserName("alice"), srv.UserName("bob")

	g, err := b.c.CreateGroup(ctx, "Weekend & fun", friend, alice, friend)
	require.NoError(t, err)
	assert.Equal(t, wechat.KindGroup, g.Kind)
	assert.Equal(t, "Weekend & fun", g.NickName)
	assert.True(t, g.IsOwner)
	assert.Len(t, g.Members, 3)
	r, body := lastBody(t, srv, "webwxcreatechatroom")
	assert.NotEmpty(t, r.Query.Get("r"))
	assert.NotEmpty(t, r.Query.Get("pass_ticket"))
	assert.Equal(t, float64(2), body["MemberCount"], "duplicates dropped")
	assert.Equal(t, []any{map[string]any{"UserName": friend}, map[string]any{"UserName": alice}}, body["MemberList"])
	assert.Equal(t, "Weekend & fun", body["Topic"])

	sys := b.nextSystem(t)
	assert.Equal(t, wechat.SysGroupInvite, sys.Kind)
	assert.Equal(t, []string{"Me", "Friend", "Alice🌛 & Co"}, sys.Names)
	b.waitChange(t, g.UserName)
	checkStore(t, srv, b.c)

	_, err = b.c.CreateGroup(ctx, "Too small", bob)
	assert.Equal(t, -2, serverRet(t, err), "the fake wants at least two friends")
	noRequest(t, srv, wechat.ErrInvalidArgument, func() error { _, err := b.c.CreateGroup(ctx, "x"); return err })
	noRequest(t, srv, wechat.ErrUnknownContact, func() error { _, err := b.c.CreateGroup(ctx, "x", friend, "@nobody"); return err })
	noRequest(t, srv, wechat.ErrWrongKind, func() error {
		_, err := b.c.CreateGroup(ctx, "x", friend, srv.UserName("gh_news"))
		return err
	})
}

func TestAddMembers(t *testing.T) {
	t.Parallel()
	b := setup(t, contactsReady())
	srv := b.srv
	ctx := t.Context()
	group, bob := srv.UserName("group"), srv.UserName("bob")

	require.NoError(t, b.c.AddMembers(ctx, group, bob, srv.UserName("friend")))
	reqs := requestsTo(srv, cgi+"webwxupdatechatroom")
	require.Len(t, reqs, 1, "a small group: addmember, friends already in it skipped")
	assert.Equal(t, "addmember", reqs[0].Query.Get("fun"))
	assert.NotEmpty(t, reqs[0].Query.Get("pass_ticket"))
	var body map[string]any
	require.NoError(t, json.Unmarshal(reqs[0].Body, &body))
	assert.Equal(t, bob, body["AddMemberList"])
	assert.Equal(t, group, body["ChatRoomName"])

	cc := b.waitChange(t, group)
	require.Len(t, cc.Joined, 1)
	assert.Equal(t, bob, cc.Joined[0].UserName)
	assert.Equal(t, "alias:bob123", cc.Joined[0].ID)
	sys := b.nextSystem(t)
	assert.Equal(t, []string{"Me", "Bob"}, sys.Names)
	checkStore(t, srv, b.c)

	// Nothing to do: no request.
	before := len(requestsTo(srv, cgi+"webwxupdatechatroom"))
	require.NoError(t, b.c.AddMembers(ctx, group, bob))
	assert.Len(t, requestsTo(srv, cgi+"webwxupdatechatroom"), before)

	noRequest(t, srv, wechat.ErrInvalidArgument, func() error { return b.c.AddMembers(ctx, group) })
	noRequest(t, srv, wechat.ErrWrongKind, func() error { return b.c.AddMembers(ctx, srv.UserName("friend"), bob) })
	noRequest(t, srv, wechat.ErrWrongKind, func() error { return b.c.AddMembers(ctx, group, srv.UserName("carol")) })
	noRequest(t, srv, wechat.ErrUnknownContact, func() error { return b.c.AddMembers(ctx, group, "@nobody") })
}

// TestAddMembersInvite: a group that needs invitations answers addmember with Ret 1, and the
// client invites; a group of 40 or more is invited to directly; a full group is refused.
func TestAddMembersInvite(t *testing.T) {
	t.Parallel()
	acct := wechattest.LargeAccount(600, 3, 4)
	acct.Groups[0].InviteOnly = true
	acct.Groups[1].Members = wechattest.LargeAccount(600, 1, 45).Groups[0].Members
	acct.Groups[2].Members = wechattest.LargeAccount(600, 1, 499).Groups[0].Members
	b := setup(t, withServer(wechattest.WithAccount(acct)), contactsReady())
	srv := b.srv
	ctx := t.Context()
	funs := func() []string {
		var out []string
		for _, r := range requestsTo(srv, cgi+"webwxupdatechatroom") {
			out = append(out, r.Query.Get("fun"))
		}
		return out
	}
	notIn := func(g wechattest.Group, n int) []string {
		in := map[string]bool{}
		for _, m := range g.Members {
			in[m.ID] = true
		}
		var out []string
		for _, c := range acct.Contacts {
			if !in[c.ID] && strings.HasPrefix(c.ID, "friend") && len(out) < n {
				out = append(out, srv.UserName(c.ID))
			}
		}
		return out
	}

	g1 := srv.UserName("group0001")
	require.NoError(t, b.c.AddMembers(ctx, g1, notIn(acct.Groups[0], 1)...))
	assert.Equal(t, []string{"addmember", "invitemember"}, funs(), "Ret 1 to addmember: invite")
	b.waitChange(t, g1)

	g2 := srv.UserName("group0002")
	require.NoError(t, b.c.AddMembers(ctx, g2, notIn(acct.Groups[1], 2)...))
	assert.Equal(t, []string{"addmember", "invitemember", "invitemember"}, funs(), "45 members: invite at once")
	cc := b.waitChange(t, g2)
	assert.Len(t, cc.Joined, 2)

	err := b.c.AddMembers(ctx, srv.UserName("group0003"), notIn(acct.Groups[2], 2)...)
	assert.Equal(t, -2, serverRet(t, err), "501 members: refused")
	checkStore(t, srv, b.c)
}

func TestRemoveMembers(t *testing.T) {
	t.Parallel()
	b := setup(t, contactsReady())
	srv := b.srv
	ctx := t.Context()
	group, friend, carol := srv.UserName("group"), srv.UserName("friend"), srv.UserName("carol")

	require.NoError(t, b.c.RemoveMembers(ctx, group, friend, carol))
	r, body := lastBody(t, srv, "webwxupdatechatroom")
	assert.Equal(t, "delmember", r.Query.Get("fun"))
	assert.Equal(t, friend+","+carol, body["DelMemberList"])
	cc := b.waitChange(t, group)
	var left []string
	for _, m := range cc.Left {
		left = append(left, m.UserName)
	}
	assert.ElementsMatch(t, []string{friend, carol}, left)
	sys := b.nextSystem(t)
	assert.Equal(t, `你将"Friend"、"Carol in group"移出了群聊`, sys.Text)
	checkStore(t, srv, b.c)

	// "team" belongs to alice: the server refuses.
	team := srv.UserName("team")
	err := b.c.RemoveMembers(ctx, team, srv.UserName("bob"))
	assert.Equal(t, -2, serverRet(t, err), "only the owner removes members")

	noRequest(t, srv, wechat.ErrUnknownContact, func() error { return b.c.RemoveMembers(ctx, group, friend) })
	noRequest(t, srv, wechat.ErrInvalidArgument, func() error { return b.c.RemoveMembers(ctx, group, srv.UserName("self")) })
	noRequest(t, srv, wechat.ErrInvalidArgument, func() error { return b.c.RemoveMembers(ctx, group) })
	noRequest(t, srv, wechat.ErrWrongKind, func() error { return b.c.RemoveMembers(ctx, friend, carol) })
}

func TestRenameGroup(t *testing.T) {
	t.Parallel()
	b := setup(t, contactsReady())
	srv := b.srv
	ctx := t.Context()
	group := srv.UserName("group")

	require.NoError(t, b.c.RenameGroup(ctx, group, "Renamed & <Co>"))
	g, _ := b.c.Contact(group)
	assert.Equal(t, "Renamed & <Co>", g.NickName, "the store has it at once")
	r, body := lastBody(t, srv, "webwxupdatechatroom")
	assert.Equal(t, "modtopic", r.Query.Get("fun"))
	assert.Equal(t, "Renamed & <Co>", body["NewTopic"])
	sys := b.nextSystem(t)
	assert.Equal(t, wechat.SysGroupRename, sys.Kind)
	assert.Equal(t, []string{"Renamed & <Co>"}, sys.Names)
	cc := b.waitChange(t, group)
	assert.Equal(t, "Renamed & <Co>", cc.Contact.NickName)
	assert.Equal(t, "group", cc.Contact.ID, "a permanent id survives a rename")
	checkStore(t, srv, b.c)

	noRequest(t, srv, wechat.ErrInvalidArgument, func() error { return b.c.RenameGroup(ctx, group, " ") })
	noRequest(t, srv, wechat.ErrWrongKind, func() error { return b.c.RenameGroup(ctx, srv.UserName("friend"), "x") })
}

func TestMarkRead(t *testing.T) {
	t.Parallel()
	b := setup(t, contactsReady())
	srv := b.srv
	ctx := t.Context()
	require.NoError(t, b.c.MarkRead(ctx, srv.UserName("group")))
	r, body := lastBody(t, srv, "webwxstatusnotify")
	assert.Equal(t, float64(1), body["Code"])
	assert.Equal(t, srv.UserName("group"), body["ToUserName"])
	assert.Equal(t, srv.UserName("self"), body["FromUserName"])
	assert.NotEmpty(t, r.Query.Get("pass_ticket"))
	noRequest(t, srv, wechat.ErrUnknownContact, func() error { return b.c.MarkRead(ctx, "@nobody") })
}

func TestOpsRateLimited(t *testing.T) {
	t.Parallel()
	b := setup(t, contactsReady())
	srv := b.srv
	ctx := t.Context()
	friend := srv.UserName("friend")

	srv.RateLimitOps(2)
	err := b.c.SetRemark(ctx, friend, "x")
	require.ErrorIs(t, err, wechat.ErrRateLimited)
	assert.Equal(t, 1205, serverRet(t, err))
	ct, _ := b.c.Contact(friend)
	assert.Empty(t, ct.RemarkName, "a refused change is not applied")
	err = b.c.RenameGroup(ctx, srv.UserName("group"), "x")
	require.ErrorIs(t, err, wechat.ErrRateLimited)
	require.NoError(t, b.c.SetRemark(ctx, friend, "x"))
	assert.Equal(t, "Test Group", srv.Account().Groups[0].NickName, "the refused rename did nothing")
}

// TestOpsOnDeletedGroup: a group the server deleted is refused by the server while the
// client has not synced yet, and by the client once the sync has removed it.
func TestOpsOnDeletedGroup(t *testing.T) {
	t.Parallel()
	b := setup(t, contactsReady())
	srv := b.srv
	ctx := t.Context()
	group := srv.UserName("group")

	// Keep the client from syncing: the push hosts do not answer.
	srv.SetUnreachable("webpush.wx2.qq.com", true)
	srv.SetUnreachable("webpush2.wx2.qq.com", true)
	srv.DeleteGroup("group")
	err := b.c.RenameGroup(ctx, group, "x")
	assert.Equal(t, 1, serverRet(t, err), "the group no longer exists")
	err = b.c.AddMembers(ctx, group, srv.UserName("bob"))
	assert.Equal(t, 1, serverRet(t, err))

	srv.SetUnreachable("webpush.wx2.qq.com", false)
	srv.SetUnreachable("webpush2.wx2.qq.com", false)
	cc := b.waitChange(t, group)
	assert.Equal(t, wechat.ContactRemoved, cc.Kind)
	assert.Equal(t, "group", cc.Contact.ID)
	checkStore(t, srv, b.c)
	noRequest(t, srv, wechat.ErrUnknownContact, func() error { return b.c.RenameGroup(ctx, group, "x") })
}

// TestMembersJoinFromPhone: members invited by someone else arrive as a ContactChange with
// Joined and a system message.
func TestMembersJoinFromPhone(t *testing.T) {
	t.Parallel()
	acct := wechattest.DefaultAccount()
	acct.Strangers = []wechattest.Contact{{ID: "dave", NickName: "Dave"}}
	b := setup(t, withServer(wechattest.WithAccount(acct)), contactsReady())
	srv := b.srv
	group := srv.UserName("group")

	srv.InviteToGroup("group", "alice", "dave", "bob")
	cc := b.waitChange(t, group)
	var joined []string
	for _, m := range cc.Joined {
		joined = append(joined, m.NickName)
	}
	assert.Equal(t, []string{"Dave", "Bob"}, joined)
	sys := b.nextSystem(t)
	assert.Equal(t, wechat.SysGroupInvite, sys.Kind)
	assert.Equal(t, []string{"Alice🌛 & Co", "Dave", "Bob"}, sys.Names)
	checkStore(t, srv, b.c)
}
