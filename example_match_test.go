package wechat_test

import (
	"context"
	"fmt"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

// Matchers route messages: here a command handler and a handler for the group messages that
// mention the bot's account. Both messages arrive in the same group, so they are handled in
// order.
func ExampleAll() {
	srv := wechattest.NewServer()
	defer srv.Close()
	srv.ConfirmLogin()
	srv.Deliver(
		wechattest.GroupText("group", "friend", "/ping"),
		wechattest.GroupText("group", "alice", "@Me\u2005lunch?"), // "Me" is the account's nickname
		wechattest.GroupText("group", "friend", "see you"),        // no handler selects it
	)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := wechat.New(wechat.WithHTTPClient(srv.Client()), wechat.WithQRHandler(func(wechat.QRCode) {}))
	c.HandleFunc(wechat.HasPrefix("/ping"), func(ctx context.Context, m *wechat.Message) error {
		fmt.Println("command from", m.Sender.Name())
		return nil
	})
	c.HandleFunc(wechat.All(wechat.FromChatKind(wechat.KindGroup), wechat.MentionsMe), func(ctx context.Context, m *wechat.Message) error {
		fmt.Printf("%s mentioned me in %s\n", m.Sender.Name(), m.Chat.Name())
		return nil
	})
	c.HandleFunc(nil, func(ctx context.Context, m *wechat.Message) error {
		cancel() // the last message: stop
		return nil
	})
	_ = c.Run(ctx)
	// Output:
	// command from Friend
	// Alice mentioned me in Test Group
}

// Typed accessors read the payload of each kind of message.
func ExampleMessage_App() {
	srv := wechattest.NewServer()
	defer srv.Close()
	srv.ConfirmLogin()
	srv.Deliver(wechattest.File("friend", "report.pdf", 1024, "@crypt_0123"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := wechat.New(wechat.WithHTTPClient(srv.Client()), wechat.WithQRHandler(func(wechat.QRCode) {}))
	c.HandleFunc(wechat.IsAppType(wechat.AppMsgAttach), func(ctx context.Context, m *wechat.Message) error {
		defer cancel()
		app, _ := m.App()
		fmt.Println(app.Type, app.FileName, app.FileExt, app.FileSize, app.MediaID)
		return nil
	})
	_ = c.Run(ctx)
	// Output: attach report.pdf pdf 1024 @crypt_0123
}

// Matchers by name and predicates of events: in the group called "Test Group", a welcome for
// whoever joins and an answer to a pat of the bot's account; a command that only the friend
// the account remarked "Alice" may give. Names and stable IDs can be written into a program;
// UserNames cannot, since they change at every login.
func ExampleInGroup() {
	srv := wechattest.NewServer()
	defer srv.Close()
	srv.ConfirmLogin()
	srv.Deliver(
		wechattest.System("group", `"Friend"邀请"Bob"加入了群聊`),
		wechattest.System("group", `"Alice" 拍了拍 "Me"`), // "Me" is the account's nickname
		wechattest.GroupText("group", "alice", "/status"),
		wechattest.GroupText("group", "friend", "/status"), // not from Alice: no handler selects it
	)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := wechat.New(wechat.WithHTTPClient(srv.Client()), wechat.WithQRHandler(func(wechat.QRCode) {}))
	inGroup := wechat.InGroup("Test Group")
	c.HandleFunc(wechat.All(inGroup, wechat.IsGroupJoin), func(ctx context.Context, m *wechat.Message) error {
		s, _ := m.System()
		fmt.Println("welcome,", s.Names[len(s.Names)-1])
		return nil
	})
	c.HandleFunc(wechat.All(inGroup, wechat.PatsMe), func(ctx context.Context, m *wechat.Message) error {
		s, _ := m.System()
		fmt.Println(s.Names[0], "patted me")
		return nil
	})
	c.HandleFunc(wechat.All(wechat.FromRemarkName("Alice"), wechat.HasPrefix("/status")), func(ctx context.Context, m *wechat.Message) error {
		fmt.Println("status for", m.Sender.Name())
		return nil
	})
	c.HandleFunc(nil, func(ctx context.Context, m *wechat.Message) error {
		cancel() // the last message: stop
		return nil
	})
	_ = c.Run(ctx)
	// Output:
	// welcome, Bob
	// Alice patted me
	// status for Alice
}
