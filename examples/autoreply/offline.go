package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

// fake returns the options that run the bot against an in-process fake WeChat server, whose
// phone confirms the login and whose people write to the account once it is online; it sets
// *n to the answers expected if it is 0. stop ends the people's goroutine and closes the
// server.
func fake(ctx context.Context, out io.Writer, n *int) (opts []wechat.Option, stop func()) {
	srv := wechattest.NewServer(wechattest.WithLongPoll(time.Second))
	if *n == 0 {
		*n = 3
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if srv.WaitOnline(ctx) != nil {
			return
		}
		srv.Deliver(
			wechattest.Text("friend", "are you there?"),
			wechattest.Text("friend", "hello?"), // answered once already
			wechattest.GroupText("group", "friend", "lunch, anyone?"),
			wechattest.GroupText("group", "carol", "@Me are you coming on Friday?"),
			wechattest.Text("bob", "call me"),
		)
	})
	opts = []wechat.Option{
		wechat.WithHTTPClient(srv.Client()),
		wechat.WithSession(""), // in memory only
		wechat.WithQRHandler(func(q wechat.QRCode) {
			fmt.Fprintln(out, "QR code:", q.URL, "(the fake phone scans it and taps \"Log in\")")
			srv.ConfirmLogin()
		}),
	}
	return opts, func() {
		cancel()
		wg.Wait()
		srv.Close()
	}
}
