package wechat_test

import (
	"context"
	"fmt"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

// A bot registers handlers and runs. Here it runs against the in-memory fake server: the fake
// phone confirms the login and a message waits in the file helper.
func ExampleClient_HandleFunc() {
	srv := wechattest.NewServer()
	defer srv.Close()
	srv.ConfirmLogin()
	srv.Deliver(wechattest.Text("filehelper", "hello"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := wechat.New(wechat.WithHTTPClient(srv.Client()), wechat.WithQRHandler(func(wechat.QRCode) {}))
	c.HandleFunc(wechat.IsText, func(ctx context.Context, m *wechat.Message) error {
		fmt.Println(m.Content)
		cancel()
		return nil
	})
	_ = c.Run(ctx)
	// Output: hello
}

// Replying: every text message is echoed back to the chat it came from.
func ExampleClient_SendText() {
	srv := wechattest.NewServer()
	defer srv.Close()
	srv.ConfirmLogin()
	srv.Deliver(wechattest.Text("friend", "ping"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := wechat.New(wechat.WithHTTPClient(srv.Client()), wechat.WithQRHandler(func(wechat.QRCode) {}))
	c.HandleFunc(wechat.IsText, func(ctx context.Context, m *wechat.Message) error {
		_, err := c.SendText(ctx, m.ChatUserName, "pong")
		cancel()
		return err
	})
	_ = c.Run(ctx)
	for _, s := range srv.Sent() {
		fmt.Printf("%s -> %s: %s\n", s.From, s.To, s.Content)
	}
	// Output: self -> friend: pong
}
