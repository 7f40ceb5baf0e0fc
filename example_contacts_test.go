package wechat_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

// Accepting friend requests: the handler accepts a request whose greeting says the password,
// and greets the new friend.
func ExampleClient_AcceptFriend() {
	srv := wechattest.NewServer()
	defer srv.Close()
	srv.ConfirmLogin()
	srv.Deliver(wechattest.FriendRequest("carol", "hi, the password is gopher"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := wechat.New(wechat.WithHTTPClient(srv.Client()), wechat.WithQRHandler(func(wechat.QRCode) {}))
	c.HandleFunc(wechat.IsType(wechat.MsgTypeVerify), func(ctx context.Context, m *wechat.Message) error {
		defer cancel()
		req, _ := m.FriendRequest()
		if !strings.Contains(req.Greeting, "gopher") {
			return nil
		}
		friend, err := c.AcceptFriend(ctx, req)
		if err != nil {
			return err
		}
		fmt.Println("new friend:", friend.NickName, friend.Kind, friend.ID)
		_, err = c.SendText(ctx, friend.UserName, "Welcome!")
		return err
	})
	_ = c.Run(ctx)
	// Output: new friend: Carol friend carol
}

// Finding contacts: by kind, by part of a name (case, spaces and emoji do not matter), and by
// the ID that stays the same at the next login.
func ExampleClient_SearchContacts() {
	srv := wechattest.NewServer()
	defer srv.Close()
	srv.ConfirmLogin()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := wechat.New(wechat.WithHTTPClient(srv.Client()), wechat.WithQRHandler(func(wechat.QRCode) {}))
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	if err := c.WaitContacts(ctx); err != nil {
		panic(err)
	}
	for _, g := range c.Contacts(wechat.KindGroup) {
		fmt.Println("group:", g.Name())
	}
	for _, ct := range c.SearchContacts("alice co") {
		fmt.Println("found:", ct.NickName, "remark:", ct.RemarkName)
	}
	bob := c.SearchContacts("bob")[0]
	same, _ := c.ContactByID(bob.ID)
	fmt.Println(bob.ID, same.UserName == bob.UserName)
	cancel()
	<-done
	// Output:
	// group: Team
	// group: Test Group
	// found: Alice🌛 & Co remark: Alice
	// alias:bob123 true
}
