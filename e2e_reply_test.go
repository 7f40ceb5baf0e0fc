package wechat_test

// End-to-end tests of the helpers on messages (Reply, ReplyMention, ReplyImage, ReplyFile,
// Forward, AcceptFriend) and on sent messages (SentMessage.Revoke, SentMessage.Forward).

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

// replyResult is what a handler's helper call returned.
type replyResult struct {
	content string // of the message handled
	sent    *wechat.SentMessage
	err     error
}

// replySetup runs a client whose handler calls act for every text message and reports what
// it returned.
func replySetup(t *testing.T, act func(ctx context.Context, m *wechat.Message) (*wechat.SentMessage, error)) (*testSession, <-chan replyResult) {
	t.Helper()
	results := make(chan replyResult, 16)
	ts := setup(t, withHandler(func(ctx context.Context, _ *testSession, m *wechat.Message) error {
		if !wechat.IsText(m) {
			return nil
		}
		sent, err := act(ctx, m)
		results <- replyResult{m.Content, sent, err}
		return nil
	}))
	return ts, results
}

// nextResult waits for the next helper result.
func nextResult(t *testing.T, results <-chan replyResult) replyResult {
	t.Helper()
	select {
	case r := <-results:
		return r
	case <-time.After(time.Minute):
		t.Fatal("no handler result within a minute")
	}
	return replyResult{}
}

// sentTo waits until the server accepted n messages and returns them.
func sentTo(t *testing.T, srv *wechattest.Server, n int) []wechattest.SentMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	sent, err := srv.WaitSent(ctx, n)
	require.NoError(t, err)
	return sent
}

// TestMessageReply: Reply answers into the chat the message came from: the friend, the
// group (not the member), and for a message the account sent from the phone its recipient.
func TestMessageReply(t *testing.T) {
	t.Parallel()
	ts, results := replySetup(t, func(ctx context.Context, m *wechat.Message) (*wechat.SentMessage, error) {
		return m.Reply(ctx, "re: "+m.Content)
	})
	ts.srv.Deliver(wechattest.Text("friend", "one"))
	r := nextResult(t, results)
	ts.srv.Deliver(wechattest.GroupText("group", "alice", "two"))
	r2 := nextResult(t, results)
	ts.srv.Deliver(wechattest.Message{From: "self", To: "bob", Text: "three"})
	r3 := nextResult(t, results)

	want := map[string]string{"one": "friend", "two": "group", "three": "bob"}
	for _, r := range []replyResult{r, r2, r3} {
		require.NoError(t, r.err, r.content)
		require.NotNil(t, r.sent, r.content)
		assert.Equal(t, ts.srv.UserName(want[r.content]), r.sent.ToUserName, r.content)
		assert.Equal(t, wechat.MsgTypeText, r.sent.Type)
	}
	sent := sentTo(t, ts.srv, 3)
	for i, s := range sent {
		c, _ := strings.CutPrefix(s.Content, "re: ")
		assert.Equal(t, want[c], s.To, "reply %d went into the message's chat", i)
		assert.Equal(t, "webwxsendmsg", s.Endpoint)
		assert.Zero(t, s.Scene)
	}
	assert.Equal(t, sent[0].MsgID, r.sent.MsgID, "the handle carries the server's MsgID")
}

// TestMessageReplyMention: in a group the sender is @-mentioned by name, with the MsgSource
// naming them; in a private chat the reply is plain.
func TestMessageReplyMention(t *testing.T) {
	t.Parallel()
	ts, results := replySetup(t, func(ctx context.Context, m *wechat.Message) (*wechat.SentMessage, error) {
		return m.ReplyMention(ctx, "got it")
	})
	ts.srv.Deliver(wechattest.GroupText("group", "carol", "lunch?"))
	require.NoError(t, nextResult(t, results).err)
	ts.srv.Deliver(wechattest.Text("friend", "hi"))
	require.NoError(t, nextResult(t, results).err)

	sent := sentTo(t, ts.srv, 2)
	assert.Equal(t, "group", sent[0].To)
	assert.Equal(t, "@Carol in group\u2005got it", sent[0].Content, "the member's display name in the group")
	assert.Contains(t, sent[0].MsgSource, "<atusername>"+ts.srv.UserName("carol")+"</atusername>")
	assert.Equal(t, "friend", sent[1].To)
	assert.Equal(t, "got it", sent[1].Content)
	assert.Empty(t, sent[1].MsgSource)
}

// TestMessageReplyMedia: ReplyImage and ReplyFile upload into the message's chat.
func TestMessageReplyMedia(t *testing.T) {
	t.Parallel()
	png := "\x89PNG\r\n\x1a\n" + strings.Repeat("p", 3000)
	ts, results := replySetup(t, func(ctx context.Context, m *wechat.Message) (*wechat.SentMessage, error) {
		if m.Content == "image" {
			return m.ReplyImage(ctx, "cat.png", strings.NewReader(png))
		}
		return m.ReplyFile(ctx, "notes.txt", strings.NewReader("some notes"))
	})
	ts.srv.Deliver(wechattest.Text("friend", "image"))
	r := nextResult(t, results)
	require.NoError(t, r.err)
	assert.Equal(t, wechat.MsgTypeImage, r.sent.Type)
	ts.srv.Deliver(wechattest.GroupText("group", "alice", "file"))
	r = nextResult(t, results)
	require.NoError(t, r.err)
	assert.Equal(t, wechat.MsgTypeApp, r.sent.Type)

	sent := sentTo(t, ts.srv, 2)
	assert.Equal(t, "webwxsendmsgimg", sent[0].Endpoint)
	assert.Equal(t, "friend", sent[0].To)
	assert.Equal(t, "webwxsendappmsg", sent[1].Endpoint)
	assert.Equal(t, "group", sent[1].To)
	assert.Contains(t, sent[1].Content, "<title>notes.txt</title>")
	ups := ts.srv.Uploads()
	require.Len(t, ups, 2)
	assert.Equal(t, png, string(ups[0].Data))
	assert.Equal(t, "some notes", string(ups[1].Data))
}

// TestMessageForwardHelper: m.Forward sends a copy to another chat, as a forward (Scene 2).
func TestMessageForwardHelper(t *testing.T) {
	t.Parallel()
	ts, results := replySetup(t, func(ctx context.Context, m *wechat.Message) (*wechat.SentMessage, error) {
		return m.Forward(ctx, "filehelper")
	})
	ts.srv.Deliver(wechattest.GroupText("group", "alice", "worth keeping"))
	require.NoError(t, nextResult(t, results).err)
	sent := sentTo(t, ts.srv, 1)
	assert.Equal(t, "filehelper", sent[0].To)
	assert.Equal(t, "worth keeping", sent[0].Content)
	assert.Equal(t, 2, sent[0].Scene)
}

// TestMessageAcceptFriend: m.AcceptFriend accepts the request and greets the new friend with
// a first message; on a message that is no request it fails without a request.
func TestMessageAcceptFriend(t *testing.T) {
	t.Parallel()
	type accepted struct {
		friend wechat.Contact
		err    error
	}
	done := make(chan accepted, 2)
	ts := setup(t, withHandler(func(ctx context.Context, _ *testSession, m *wechat.Message) error {
		switch {
		case m.MsgType == wechat.MsgTypeVerify:
			f, err := m.AcceptFriend(ctx, "Welcome, Carol!")
			done <- accepted{f, err}
		case m.Content == "not a request":
			f, err := m.AcceptFriend(ctx, "hi")
			done <- accepted{f, err}
		}
		return nil
	}))
	ts.srv.Deliver(wechattest.Text("friend", "not a request"))
	a := <-done
	require.ErrorIs(t, a.err, wechat.ErrInvalidArgument)
	assert.Zero(t, a.friend)

	ts.srv.Deliver(wechattest.FriendRequest("carol", "we met in the group"))
	a = <-done
	require.NoError(t, a.err)
	assert.Equal(t, wechat.KindFriend, a.friend.Kind)
	assert.Equal(t, ts.srv.UserName("carol"), a.friend.UserName)
	sent := sentTo(t, ts.srv, 1)
	assert.Equal(t, "carol", sent[0].To)
	assert.Equal(t, "Welcome, Carol!", sent[0].Content)
	var friends []string
	for _, c := range ts.srv.Account().Contacts {
		friends = append(friends, c.ID)
	}
	assert.Contains(t, friends, "carol", "the server made carol a friend")
}

// TestHelpersWithoutClient: on a Message or SentMessage built by hand, or nil, the helpers
// return an error matching ErrInvalidArgument, never panic, and send nothing.
func TestHelpersWithoutClient(t *testing.T) {
	t.Parallel()
	ts := setup(t, loginOnly())
	ctx := t.Context()
	for _, m := range []*wechat.Message{
		{MsgType: wechat.MsgTypeText, ChatUserName: "filehelper", Content: "by hand"},
		{MsgType: wechat.MsgTypeVerify, ChatUserName: "fmessage"},
		nil,
	} {
		calls := map[string]func() error{
			"Reply":        func() error { _, err := m.Reply(ctx, "x"); return err },
			"ReplyMention": func() error { _, err := m.ReplyMention(ctx, "x"); return err },
			"ReplyImage":   func() error { _, err := m.ReplyImage(ctx, "a.png", strings.NewReader("x")); return err },
			"ReplyFile":    func() error { _, err := m.ReplyFile(ctx, "a.txt", strings.NewReader("x")); return err },
			"Forward":      func() error { _, err := m.Forward(ctx, "filehelper"); return err },
			"AcceptFriend": func() error { _, err := m.AcceptFriend(ctx, "x"); return err },
		}
		for name, call := range calls {
			err := call()
			require.ErrorIs(t, err, wechat.ErrInvalidArgument, name)
			assert.Contains(t, err.Error(), "Message."+name+" needs a message delivered by a Client", name)
			assert.Equal(t, 1, strings.Count(err.Error(), "wechat:"), "one prefix: %v", err)
		}
	}
	for _, s := range []*wechat.SentMessage{{MsgID: "1", ToUserName: "filehelper"}, nil} {
		require.ErrorIs(t, s.Revoke(ctx), wechat.ErrInvalidArgument)
		_, err := s.Forward(ctx, "filehelper")
		require.ErrorIs(t, err, wechat.ErrInvalidArgument)
	}
	require.ErrorIs(t, ts.c.Revoke(ctx, nil), wechat.ErrInvalidArgument)
	_, err := ts.c.Forward(ctx, nil, "filehelper")
	require.ErrorIs(t, err, wechat.ErrInvalidArgument)
	assert.Empty(t, ts.srv.Sent(), "nothing was sent")
	assert.Empty(t, ts.srv.Uploads(), "nothing was uploaded")
}

// TestSentMessageHandle: what a send returns can be forwarded (again, without a new upload
// for media) and revoked; a failed send returns nil.
func TestSentMessageHandle(t *testing.T) {
	t.Parallel()
	ts := setup(t, loginOnly(), withClient(wechat.WithSendRate(0, 0)))
	ctx := t.Context()
	friend, bob := ts.srv.UserName("friend"), ts.srv.UserName("bob")
	_, err := ts.c.GroupMembers(ctx, ts.srv.UserName("group")) // Login alone loads no member list
	require.NoError(t, err)

	text, err := ts.c.SendText(ctx, friend, "hello")
	require.NoError(t, err)
	fwd, err := text.Forward(ctx, bob)
	require.NoError(t, err)
	assert.Equal(t, bob, fwd.ToUserName)
	assert.NotEqual(t, text.MsgID, fwd.MsgID)
	require.NoError(t, text.Revoke(ctx))
	require.ErrorIs(t, text.Revoke(ctx), wechat.ErrRevokeRefused, "revoked already")
	require.NoError(t, fwd.Revoke(ctx), "a forward is a message of its own")

	img, err := ts.c.SendImage(ctx, friend, "a.png", strings.NewReader("\x89PNG\r\n\x1a\n"+strings.Repeat("i", 2000)))
	require.NoError(t, err)
	file, err := ts.c.SendFile(ctx, friend, "report.pdf", strings.NewReader("%PDF-1.4 report"))
	require.NoError(t, err)
	uploads := len(ts.srv.Uploads())
	_, err = img.Forward(ctx, bob)
	require.NoError(t, err)
	_, err = file.Forward(ctx, bob)
	require.NoError(t, err)
	assert.Len(t, ts.srv.Uploads(), uploads, "forwards upload nothing")

	mention, err := ts.c.SendMention(ctx, ts.srv.UserName("group"), "lunch?", ts.srv.UserName("alice"))
	require.NoError(t, err)
	_, err = mention.Forward(ctx, bob)
	require.NoError(t, err)
	sticker, err := ts.c.SendEmoticonMD5(ctx, friend, "e68363487d8f0519c4e1047de403b2e7")
	require.NoError(t, err)
	_, err = sticker.Forward(ctx, bob)
	require.NoError(t, err)

	byMsgID := map[string]wechattest.SentMessage{}
	var forwards []wechattest.SentMessage
	for _, s := range ts.srv.Sent() {
		if s.Endpoint == "webwxrevokemsg" {
			continue
		}
		byMsgID[s.MsgID] = s
		if s.To == "bob" {
			forwards = append(forwards, s)
		}
	}
	require.Len(t, forwards, 5)
	origs := []*wechat.SentMessage{text, img, file, mention, sticker}
	for i, f := range forwards {
		o := byMsgID[origs[i].MsgID]
		assert.Equal(t, o.Endpoint, f.Endpoint, "forward %d", i)
		assert.Equal(t, o.Content, f.Content, "forward %d", i)
		assert.Equal(t, o.MediaID, f.MediaID, "forward %d: the same media", i)
		assert.Equal(t, o.Type, f.Type, "forward %d", i)
	}
	assert.Equal(t, []int{2, 2, 2, 2, 0}, []int{forwards[0].Scene, forwards[1].Scene, forwards[2].Scene, forwards[3].Scene, forwards[4].Scene},
		"Scene 2 for forwards, 0 for an emoticon (PROTOCOL 8.7)")
	assert.NotEmpty(t, byMsgID[mention.MsgID].MsgSource)
	assert.Empty(t, forwards[3].MsgSource, "the mention list stays with the group")

	none, err := ts.c.SendText(ctx, "Alice", "by nickname")
	require.ErrorIs(t, err, wechat.ErrUnknownContact)
	assert.Nil(t, none, "a failed send returns no handle")
	require.ErrorIs(t, none.Revoke(ctx), wechat.ErrInvalidArgument, "and its nil handle does not panic")
	assert.False(t, errors.Is(err, wechat.ErrInvalidArgument))
}
