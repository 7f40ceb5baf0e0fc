package wechat_test

// End-to-end tests: the real client against the wechattest fake server.

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

func TestEchoOffline(t *testing.T) {
	t.Parallel()
	srv := wechattest.NewServer()
	defer srv.Close()
	c := wechat.New(wechat.WithHTTPClient(srv.Client()), wechat.WithQRHandler(func(wechat.QRCode) {}))
	c.HandleFunc(wechat.IsText, func(ctx context.Context, m *wechat.Message) error {
		_, err := c.SendText(ctx, m.ChatUserName, m.Content)
		return err
	})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()

	srv.ConfirmLogin()
	srv.Deliver(wechattest.Text("friend", "ping"))
	sent, err := srv.WaitSent(ctx, 1)
	require.NoError(t, err)
	require.Len(t, sent, 1)
	assert.Equal(t, "ping", sent[0].Content)
	assert.Equal(t, "friend", sent[0].To)
	assert.Equal(t, "webwxsendmsg", sent[0].Endpoint)

	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	assert.Len(t, srv.Sent(), 1, "the echo of our own reply must not be echoed again")
}

func TestLoginScanThenConfirm(t *testing.T) {
	t.Parallel()
	srv := wechattest.NewServer()
	defer srv.Close()
	qrs := make(chan wechat.QRCode, 4)
	scans := make(chan []byte, 4)
	c := wechat.New(
		wechat.WithHTTPClient(srv.Client()),
		wechat.WithQRHandler(func(q wechat.QRCode) { qrs <- q }),
		wechat.WithScanHandler(func(avatar []byte) { scans <- avatar }),
	)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Login(ctx) }()

	q := <-qrs
	uuid, err := srv.WaitQR(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, uuid, q.UUID)
	assert.Equal(t, "https://login.weixin.qq.com/l/"+uuid, q.URL)
	art, err := q.Terminal()
	require.NoError(t, err)
	for line := range strings.Lines(art) {
		assert.LessOrEqual(t, len([]rune(strings.TrimSuffix(line, "\n"))), 80)
	}

	srv.Scan() // 201
	avatar := <-scans
	assert.True(t, bytes.HasPrefix(avatar, []byte{0xFF, 0xD8}), "the 201 avatar is the scanner's JPEG")
	srv.ConfirmLogin() // 200
	require.NoError(t, <-done)

	// The poll sent tip=1 first, then tip=0, with loginicon=true and r = ~ms (PROTOCOL 4.3).
	polls := requestsTo(srv, "/cgi-bin/mmwebwx-bin/login")
	require.GreaterOrEqual(t, len(polls), 2, "201 then 200 take two polls")
	assert.Equal(t, "1", polls[0].Query.Get("tip"))
	for _, p := range polls[1:] {
		assert.Equal(t, "0", p.Query.Get("tip"))
	}
	for _, p := range polls {
		assert.Equal(t, "true", p.Query.Get("loginicon"))
		assert.Equal(t, uuid, p.Query.Get("uuid"))
		r, err := strconv.ParseInt(p.Query.Get("r"), 10, 64)
		assert.NoError(t, err)
		assert.Less(t, r, int64(1<<31))
	}
	self, ok := c.Self()
	assert.True(t, ok, "Login readies the session: webwxinit ran")
	assert.Equal(t, srv.UserName("self"), self.UserName)
	assert.Equal(t, wechat.StateStopped, c.State(), "logged in, no loop running")
}

func TestLoginQRExpiry(t *testing.T) {
	t.Parallel()
	srv := wechattest.NewServer()
	defer srv.Close()
	qrs := make(chan wechat.QRCode, 4)
	c := wechat.New(wechat.WithHTTPClient(srv.Client()), wechat.WithQRHandler(func(q wechat.QRCode) { qrs <- q }))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Login(ctx) }()

	first := <-qrs
	srv.ExpireQR() // 400: the client fetches a new uuid and shows a new QR code
	second := <-qrs
	assert.NotEqual(t, first.UUID, second.UUID)
	srv.ConfirmLogin()
	require.NoError(t, <-done)
	assert.Len(t, requestsTo(srv, "/jslogin"), 2)
}

func TestLoginQRExpiredTooOften(t *testing.T) {
	t.Parallel()
	srv := wechattest.NewServer()
	defer srv.Close()
	qrs := make(chan wechat.QRCode, 4)
	c := wechat.New(wechat.WithHTTPClient(srv.Client()), wechat.WithMaxQRCodes(2),
		wechat.WithQRHandler(func(q wechat.QRCode) { qrs <- q }))
	done := make(chan error, 1)
	go func() { done <- c.Login(t.Context()) }()
	<-qrs
	srv.ExpireQR()
	<-qrs
	srv.Cancel() // 202: the user pressed cancel on the phone
	require.ErrorIs(t, <-done, wechat.ErrQRExpired)
}

func TestLoginRefused(t *testing.T) {
	t.Parallel()
	const msg = "为了你的帐号安全，此微信号不能登录网页微信。你可以使用Windows微信或Mac微信在电脑端登录。"
	ts := setup(t, notLoggedIn(), beforeLogin(func(srv *wechattest.Server) {
		srv.RefuseLogin(1203, msg)
		srv.ConfirmLogin()
	}))
	err := ts.wait(t)
	require.ErrorIs(t, err, wechat.ErrLoginForbidden)
	var we *wechat.Error
	require.ErrorAs(t, err, &we)
	assert.Equal(t, 1203, we.Ret)
	assert.Equal(t, msg, we.Msg)
	assert.Equal(t, "webwxnewloginpage", we.Op)
}

// TestLoginModes checks the requests each login mode sends against PROTOCOL 4.1-4.5.
func TestLoginModes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		mode    wechat.Mode
		desktop bool
	}{
		{wechat.ModeDesktop, true},
		{wechat.ModeWeb, false},
	} {
		t.Run(tt.mode.String(), func(t *testing.T) {
			t.Parallel()
			srv := setup(t, withClient(wechat.WithMode(tt.mode))).srv

			js := requestsTo(srv, "/jslogin")
			require.Len(t, js, 1)
			assert.Equal(t, "login.wx.qq.com", js[0].Host)
			assert.Equal(t, "wx782c26e4c19acffb", js[0].Query.Get("appid"))
			assert.Equal(t, "new", js[0].Query.Get("fun"))
			redirect := "https://wx.qq.com/cgi-bin/mmwebwx-bin/webwxnewloginpage"
			if tt.desktop {
				redirect += "?mod=desktop"
			}
			assert.Equal(t, redirect, js[0].Query.Get("redirect_uri"))

			nl := requestsTo(srv, "/cgi-bin/mmwebwx-bin/webwxnewloginpage")
			require.Len(t, nl, 1)
			assert.Equal(t, "wx2.qq.com", nl[0].Host)
			assert.Equal(t, "new", nl[0].Query.Get("fun"))
			assert.Equal(t, "v2", nl[0].Query.Get("version"))
			assert.NotEmpty(t, nl[0].Query.Get("ticket"))
			if tt.desktop {
				assert.Equal(t, "2.0.0", nl[0].Header.Get("client-version"))
				assert.Equal(t, wechat.DefaultExtspam, nl[0].Header.Get("extspam"))
				assert.Len(t, wechat.DefaultExtspam, 880)
			} else {
				assert.Empty(t, nl[0].Header.Values("client-version"))
				assert.Empty(t, nl[0].Header.Values("extspam"))
			}

			// Every request carries the same desktop User-Agent (PROTOCOL 3.5).
			for _, r := range srv.Requests() {
				assert.Equal(t, wechat.DefaultUserAgent, r.Header.Get("User-Agent"), r.Path)
			}
			init := requestsTo(srv, "/cgi-bin/mmwebwx-bin/webwxinit")
			require.Len(t, init, 1)
			assert.Equal(t, "POST", init[0].Method)
			assert.Regexp(t, `^\{"BaseRequest":\{"Uin":\d+,"Sid":"[^"]+","Skey":"[^"]*","DeviceID":"e\d{15}"\}\}$`, string(init[0].Body))
			assert.NotEmpty(t, init[0].Query.Get("pass_ticket"))
		})
	}
}

// TestWebLoginBanned: an account refused by the web login logs in with the UOS headers.
func TestWebLoginBanned(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		mode    wechat.Mode
		wantErr error
	}{
		{wechat.ModeWeb, wechat.ErrLoginForbidden},
		{wechat.ModeDesktop, nil},
	} {
		t.Run(tt.mode.String(), func(t *testing.T) {
			t.Parallel()
			srv := wechattest.NewServer(wechattest.WithWebLoginBanned())
			defer srv.Close()
			srv.ConfirmLogin()
			c := wechat.New(wechat.WithHTTPClient(srv.Client()), wechat.WithMode(tt.mode), wechat.WithQRHandler(func(wechat.QRCode) {}))
			err := c.Login(t.Context())
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				var we *wechat.Error
				require.ErrorAs(t, err, &we)
				assert.Equal(t, 1203, we.Ret)
				return
			}
			require.NoError(t, err)
		})
	}
}

func TestSyncRequests(t *testing.T) {
	t.Parallel()
	b := setup(t)
	srv := b.srv
	srv.Deliver(wechattest.Text("friend", "one"))
	b.next(t)

	sc := requestsTo(srv, "/cgi-bin/mmwebwx-bin/synccheck")
	require.NotEmpty(t, sc)
	for _, r := range sc {
		assert.Equal(t, "webpush.wx2.qq.com", r.Host)
		assert.Regexp(t, `^\d+(_\d+)?(\|\d+_\d+)*$`, r.Query.Get("synckey"))
		assert.Regexp(t, `^\d+_\d+(\|\d+_\d+)*$`, r.Query.Get("synckey"))
		assert.Regexp(t, `^e\d{15}$`, r.Query.Get("deviceid"))
		for _, p := range []string{"r", "skey", "sid", "uin", "_"} {
			assert.NotEmpty(t, r.Query.Get(p), p)
		}
		assert.Contains(t, r.Header.Get("Cookie"), "wxsid=")
	}
	sync := requestsTo(srv, "/cgi-bin/mmwebwx-bin/webwxsync")
	require.NotEmpty(t, sync)
	assert.Regexp(t, `"SyncKey":\{"Count":\d+,"List":\[\{"Key":1,"Val":\d+\}`, string(sync[0].Body))
	assert.Regexp(t, `"rr":-?\d+`, string(sync[0].Body))
}

func TestMessagesBothWays(t *testing.T) {
	t.Parallel()
	b := setup(t)
	srv := b.srv

	srv.Deliver(wechattest.Text("alice", "a <b> & c\nline two 😄"))
	m := b.next(t)
	assert.Equal(t, wechat.MsgTypeText, m.MsgType)
	assert.Equal(t, "a <b> & c\nline two 😄", m.Content)
	assert.Equal(t, srv.UserName("alice"), m.ChatUserName)
	assert.Equal(t, srv.UserName("alice"), m.SenderUserName)
	assert.False(t, m.IsGroup)
	assert.False(t, m.IsSelf)
	assert.NotEmpty(t, m.Raw)
	require.NotNil(t, m.Chat)
	assert.Equal(t, wechat.KindFriend, m.Chat.Kind)
	assert.Equal(t, "Alice🌛 & Co", m.Chat.NickName, "names decoded: entities and emoji spans")
	assert.Equal(t, "hello <world>", m.Chat.Signature)
	assert.Regexp(t, `^\d{19}$`, m.MsgID)

	sent, err := b.c.SendText(t.Context(), m.ChatUserName, "reply with / and <xml> & \"quotes\"\nand a newline")
	require.NoError(t, err)
	assert.Regexp(t, `^\d+$`, sent.MsgID)
	assert.Regexp(t, `^\d{17}$`, sent.LocalID)
	got := srv.Sent()
	require.Len(t, got, 1)
	assert.Equal(t, "reply with / and <xml> & \"quotes\"\nand a newline", got[0].Content, "sent raw: no HTML or slash escaping")
	assert.Equal(t, sent.MsgID, got[0].MsgID)
	assert.Equal(t, sent.LocalID, got[0].ClientMsgID)
	assert.Equal(t, sent.LocalID, got[0].LocalID)
	assert.Equal(t, "self", got[0].From)
	assert.Equal(t, "alice", got[0].To)

	// The server echoes our reply in the next sync; it must not reach the handlers, but a
	// message sent from the phone must, marked IsSelf.
	srv.Deliver(wechattest.Message{From: "self", To: "friend", Text: "typed on the phone"})
	m = b.next(t)
	assert.Equal(t, "typed on the phone", m.Content)
	assert.True(t, m.IsSelf)
	assert.Equal(t, srv.UserName("friend"), m.ChatUserName)
}

func TestGroupMessageRealSender(t *testing.T) {
	t.Parallel()
	b := setup(t)
	srv := b.srv

	srv.Deliver(wechattest.GroupText("group", "carol", "hello group"))
	m := b.next(t)
	assert.True(t, m.IsGroup)
	assert.Equal(t, "hello group", m.Content, "the sender prefix is stripped")
	assert.Equal(t, srv.UserName("group"), m.ChatUserName)
	assert.Equal(t, srv.UserName("carol"), m.SenderUserName)
	require.NotNil(t, m.Chat)
	assert.Equal(t, "Test Group", m.Chat.NickName)
	assert.Equal(t, wechat.KindGroup, m.Chat.Kind)
	require.NotNil(t, m.Sender, "a non-friend member resolves from the group's member list")
	assert.Equal(t, "Carol in group", m.Sender.DisplayName)

	srv.Deliver(wechattest.GroupText("group", "friend", "from a friend"))
	m = b.next(t)
	require.NotNil(t, m.Sender)
	assert.Equal(t, wechat.KindFriend, m.Sender.Kind)
	assert.Equal(t, "Friend", m.Sender.NickName)

	// Self writing in the group from the phone: no prefix, chat is the group.
	srv.Deliver(wechattest.Message{From: "self", Group: "group", Text: "mine"})
	m = b.next(t)
	assert.True(t, m.IsSelf)
	assert.True(t, m.IsGroup)
	assert.Equal(t, srv.UserName("group"), m.ChatUserName)
	assert.Equal(t, "mine", m.Content)

	sent, err := b.c.SendText(t.Context(), m.ChatUserName, "to the group")
	require.NoError(t, err)
	assert.NotEmpty(t, sent.MsgID)
	got := srv.Sent()
	require.Len(t, got, 1)
	assert.Equal(t, "group", got[0].To)
}

// TestUnknownGroupFetchedOnce: a burst from a group the client does not know yet costs one
// webwxbatchgetcontact, not one per message (PROTOCOL 12.7).
func TestUnknownGroupFetchedOnce(t *testing.T) {
	t.Parallel()
	acct := wechattest.LargeAccount(50, 3, 10)
	b := setup(t, withServer(wechattest.WithAccount(acct), wechattest.WithSyncBatchSize(100)))
	srv := b.srv

	g := acct.Groups[2]
	var burst []wechattest.Message
	for i := range 40 {
		burst = append(burst, wechattest.GroupText(g.ID, g.Members[1].ID, fmt.Sprint("msg ", i)))
	}
	srv.Deliver(burst...)
	for i := range 40 {
		m := b.next(t)
		assert.Equal(t, fmt.Sprint("msg ", i), m.Content, "messages of one chat arrive in order")
		require.NotNil(t, m.Chat)
		assert.Equal(t, srv.UserName(g.ID), m.Chat.UserName)
		require.NotNil(t, m.Sender)
	}
	asked := 0
	for _, r := range requestsTo(srv, "/cgi-bin/mmwebwx-bin/webwxbatchgetcontact") {
		if bytes.Contains(r.Body, []byte(srv.UserName(g.ID))) {
			asked++
		}
	}
	assert.LessOrEqual(t, asked, 2, "the group is fetched by the contact loader and at most once by the sync loop")
}

func TestContactsPagingAndGroups(t *testing.T) {
	t.Parallel()
	acct := wechattest.LargeAccount(120, 130, 30)
	b := setup(t, withServer(wechattest.WithAccount(acct), wechattest.WithContactPageSize(50)))
	srv := b.srv
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	require.NoError(t, b.c.WaitContacts(ctx))

	pages := requestsTo(srv, "/cgi-bin/mmwebwx-bin/webwxgetcontact")
	require.Greater(t, len(pages), 2, "the address book takes several pages")
	assert.Equal(t, "0", pages[0].Query.Get("seq"))
	for _, p := range pages[1:] {
		assert.NotEqual(t, "0", p.Query.Get("seq"))
	}
	for _, r := range requestsTo(srv, "/cgi-bin/mmwebwx-bin/webwxbatchgetcontact") {
		n := strings.Count(string(r.Body), `"UserName"`)
		assert.LessOrEqual(t, n, 50, "at most 50 entries per webwxbatchgetcontact")
	}

	kinds := map[wechat.ContactKind]int{}
	for _, c := range b.c.Contacts() {
		kinds[c.Kind]++
	}
	assert.Equal(t, 120, kinds[wechat.KindFriend])
	assert.Equal(t, 130, kinds[wechat.KindGroup])
	assert.Equal(t, 1, kinds[wechat.KindSelf])

	for _, g := range acct.Groups {
		c, ok := b.c.Contact(srv.UserName(g.ID))
		require.True(t, ok, g.ID)
		assert.Equal(t, wechat.KindGroup, c.Kind)
		assert.Len(t, c.Members, len(g.Members), "every group comes with its members")
	}
	f := acct.Contacts[0]
	found := b.c.ContactsByName(f.NickName)
	require.NotEmpty(t, found)
	assert.Equal(t, srv.UserName(f.ID), found[0].UserName)
	self, ok := b.c.Self()
	require.True(t, ok)
	assert.Equal(t, wechat.KindSelf, self.Kind)
	assert.Equal(t, srv.UserName("self"), self.UserName)
}

func TestLogoutByServer(t *testing.T) {
	t.Parallel()
	for _, code := range []int{1100, 1101, 1102} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.srv.EndSession(code)
			err := b.wait(t)
			require.ErrorIs(t, err, wechat.ErrLoggedOut)
			var we *wechat.Error
			require.ErrorAs(t, err, &we)
			assert.Equal(t, code, we.Ret)
			_, err = b.c.SendText(t.Context(), "filehelper", "after logout")
			assert.ErrorIs(t, err, wechat.ErrNotLoggedIn, "the session is forgotten")
		})
	}
}

func TestSendImage(t *testing.T) {
	t.Parallel()
	for _, size := range []int{1000, 524288, 1200 * 1000} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			srv := b.srv

			img := make([]byte, size)
			rand.Read(img)
			copy(img, "\x89PNG\r\n\x1a\n")
			sent, err := b.c.SendImage(t.Context(), "filehelper", "cat.png", bytes.NewReader(img))
			require.NoError(t, err)
			assert.NotEmpty(t, sent.MsgID)

			ups := srv.Uploads()
			require.Len(t, ups, 1)
			assert.Equal(t, img, ups[0].Data)
			assert.Equal(t, "pic", ups[0].MediaType)
			assert.Equal(t, "image/png", ups[0].ContentType)
			chunks := requestsTo(srv, "/cgi-bin/mmwebwx-bin/webwxuploadmedia")
			assert.Len(t, chunks, (size+524287)/524288)
			for _, c := range chunks {
				assert.Equal(t, "file.wx2.qq.com", c.Host)
			}
			got := srv.Sent()
			require.Len(t, got, 1)
			assert.Equal(t, "webwxsendmsgimg", got[0].Endpoint)
			assert.Equal(t, 3, got[0].Type)
			assert.Equal(t, ups[0].MediaID, got[0].MediaID)
			assert.Equal(t, "filehelper", got[0].To)
		})
	}
}

func TestSendErrors(t *testing.T) {
	t.Parallel()
	c := wechat.New()
	_, err := c.SendText(t.Context(), "filehelper", "x")
	assert.ErrorIs(t, err, wechat.ErrNotLoggedIn)

	b := setup(t)
	srv := b.srv
	_, err = b.c.SendText(t.Context(), "@nobody", "x")
	var we *wechat.Error
	require.ErrorAs(t, err, &we)
	assert.Equal(t, 1204, we.Ret, "the server refuses an unknown recipient")
	_, err = b.c.SendImage(t.Context(), "filehelper", "empty.png", bytes.NewReader(nil))
	assert.Error(t, err, "an empty file is refused before upload")
	assert.Empty(t, requestsTo(srv, "/cgi-bin/mmwebwx-bin/webwxuploadmedia"))
}

// TestHosts: the redirect's host chooses the push and file hosts (PROTOCOL 2.2).
func TestHosts(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ main, push, file string }{
		{"wx.qq.com", "webpush.wx.qq.com", "file.wx.qq.com"},
		{"wx2.qq.com", "webpush.wx2.qq.com", "file.wx2.qq.com"},
		{"wx8.qq.com", "webpush.wx8.qq.com", "file.wx8.qq.com"},
		{"web.wechat.com", "webpush.web.wechat.com", "file.web.wechat.com"},
		{"web2.wechat.com", "webpush.web2.wechat.com", "file.web2.wechat.com"},
	} {
		t.Run(tt.main, func(t *testing.T) {
			t.Parallel()
			b := setup(t, withServer(wechattest.WithMainHost(tt.main)))
			srv := b.srv
			srv.Deliver(wechattest.Text("friend", "hi"))
			m := b.next(t)
			_, err := b.c.SendImage(t.Context(), m.ChatUserName, "a.jpg", bytes.NewReader([]byte("\xff\xd8\xff\xe0 jpeg")))
			require.NoError(t, err)
			for _, r := range srv.Requests() {
				switch {
				case strings.HasSuffix(r.Path, "/synccheck"):
					assert.Equal(t, tt.push, r.Host)
				case strings.HasSuffix(r.Path, "/webwxuploadmedia"):
					assert.Equal(t, tt.file, r.Host)
				case strings.HasPrefix(r.Path, "/cgi-bin/mmwebwx-bin/webwx"):
					assert.Equal(t, tt.main, r.Host, r.Path)
				}
			}
		})
	}
}

// TestPushHostFallback: when the push host does not answer, the loop tries the legacy second
// push host instead of giving up.
func TestPushHostFallback(t *testing.T) {
	t.Parallel()
	b := setup(t, beforeLogin(func(srv *wechattest.Server) { srv.SetUnreachable("webpush.wx2.qq.com", true) }))
	srv := b.srv
	srv.Deliver(wechattest.Text("friend", "through the fallback"))
	m := b.next(t)
	assert.Equal(t, "through the fallback", m.Content)
	hosts := map[string]int{}
	for _, r := range requestsTo(srv, "/cgi-bin/mmwebwx-bin/synccheck") {
		hosts[r.Host]++
	}
	assert.Positive(t, hosts["webpush2.wx2.qq.com"], "synccheck went to the fallback host: %v", hosts)
}

func TestDuplicateDelivery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	srv := b.srv
	m1 := wechattest.Text("friend", "once")
	m1.MsgID = "6012345678901234567"
	srv.Deliver(m1)
	srv.Deliver(m1, wechattest.Text("friend", "next"))
	assert.Equal(t, "once", b.next(t).Content)
	assert.Equal(t, "next", b.next(t).Content, "the duplicate MsgId is dropped")
}

func TestHandlerPanicDoesNotStopRun(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	got := make(chan string, 4)
	ts := setup(t, withClient(wechat.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))),
		withMiddleware(wechat.Recover()),
		withHandler(func(_ context.Context, _ *testSession, m *wechat.Message) error {
			if !wechat.IsText(m) {
				return nil
			}
			if m.Content == "boom" {
				panic("handler bug")
			}
			got <- m.Content
			return nil
		}))
	ts.srv.Deliver(wechattest.Text("friend", "boom"), wechattest.Text("friend", "after"))
	assert.Equal(t, "after", <-got)
	require.ErrorIs(t, ts.shutdown(t), context.Canceled)
	assert.Contains(t, logs.String(), "handler bug")
}

// TestSecretsNeverLogged runs a session with Debug logging, errors included, and checks that
// no credential reaches the log.
func TestSecretsNeverLogged(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	b := setup(t, withClient(wechat.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))))
	srv := b.srv
	srv.Deliver(wechattest.Text("friend", "hi"))
	m := b.next(t)
	_, err := b.c.SendText(t.Context(), "@nobody", "x") // an error path
	require.Error(t, err)
	_, err = b.c.SendText(t.Context(), m.ChatUserName, "x")
	require.NoError(t, err)
	srv.EndSession(1101)
	err = b.wait(t)
	require.Error(t, err)

	secrets := map[string]bool{}
	for _, r := range srv.Requests() {
		for _, k := range []string{"skey", "sid", "pass_ticket", "uin", "ticket"} {
			if v := r.Query.Get(k); len(v) > 3 {
				secrets[v] = true
				if u, err := url.QueryUnescape(v); err == nil {
					secrets[u] = true
				}
			}
		}
		for _, ck := range regexp.MustCompile(`(\w+)=([^;]+)`).FindAllStringSubmatch(r.Header.Get("Cookie"), -1) {
			if len(ck[2]) > 3 && ck[1] != "mm_lang" {
				secrets[ck[2]] = true
			}
		}
	}
	require.NotEmpty(t, secrets)
	out := logs.String() + err.Error()
	for s := range secrets {
		assert.NotContains(t, out, s)
	}
}

func requestsTo(srv *wechattest.Server, path string) []wechattest.Request {
	var out []wechattest.Request
	for _, r := range srv.Requests() {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestPushHostBackToPrimary: once the primary push host answers again, the loop returns to it
// instead of living on the legacy fallback host.
func TestPushHostBackToPrimary(t *testing.T) {
	t.Parallel()
	b := setup(t, withServer(wechattest.WithLongPoll(time.Millisecond)),
		beforeLogin(func(srv *wechattest.Server) { srv.SetUnreachable("webpush.wx2.qq.com", true) }))
	srv := b.srv
	srv.Deliver(wechattest.Text("friend", "via fallback"))
	assert.Equal(t, "via fallback", b.next(t).Content)
	srv.SetUnreachable("webpush.wx2.qq.com", false)
	require.Eventually(t, func() bool {
		sc := requestsTo(srv, "/cgi-bin/mmwebwx-bin/synccheck")
		return sc[len(sc)-1].Host == "webpush.wx2.qq.com"
	}, 10*time.Second, time.Millisecond)
	srv.Deliver(wechattest.Text("friend", "via primary"))
	assert.Equal(t, "via primary", b.next(t).Content)
}
