package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

// fake returns the options that run the bot against an in-process fake WeChat server, whose
// phone confirms the login and whose people send media once the account is online. If *dir
// is empty, it points it at a temporary directory; it sets *n to the files expected if it is
// 0. stop ends the people's goroutine, closes the server and removes the temporary directory.
func fake(ctx context.Context, out io.Writer, dir *string, n *int) (opts []wechat.Option, stop func(), err error) {
	tmp := ""
	if *dir == "" {
		if tmp, err = os.MkdirTemp("", "wechat-saver-*"); err != nil {
			return nil, nil, err
		}
		*dir = tmp
	}
	file := wechattest.File("alice", "../../Q3 report.pdf", 200_000, "@crypt_5f3c9a1e_q3report")
	file.Group = "group" // a name that tries to leave the directory: saved as "Q3 report.pdf"
	msgs := []wechattest.Message{wechattest.Image("friend"), wechattest.Voice("friend", 2300), wechattest.Video("friend", 8), file}
	if *n == 0 {
		*n = len(msgs)
	}
	srv := wechattest.NewServer(wechattest.WithLongPoll(time.Second))
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if srv.WaitOnline(ctx) == nil {
			srv.Deliver(msgs...)
		}
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
		if tmp != "" {
			os.RemoveAll(tmp)
		}
	}, nil
}
