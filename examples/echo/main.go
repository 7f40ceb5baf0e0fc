// Command echo is a WeChat bot that answers every text message with the same text.
//
//	go run ./examples/echo              # log in to the real service: scan the QR code
//	go run ./examples/echo -offline     # run the whole protocol against an in-process fake server
//	go run ./examples/echo -offline -n 3
//
// With -offline the bot talks to a wechattest server: the QR code is drawn, the fake phone
// scans it and confirms, the fake server sends messages from a friend and in a group, the bot
// echoes them, and the replies the server received are printed. -n N stops after N echoes
// (offline, the default is the 4 messages the fake friends send); the last line printed is
// then "echoed N messages".
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

func main() {
	offline := flag.Bool("offline", false, "run against an in-process fake WeChat server")
	n := flag.Int("n", 0, "stop after echoing `N` messages (0: run until interrupted)")
	verbose := flag.Bool("v", false, "log the protocol steps on standard error")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var logger *slog.Logger
	if *verbose {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if err := run(ctx, os.Stdout, *offline, *n, logger); err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		os.Exit(1)
	}
}

// run runs the bot until ctx ends, the server ends the session, or n messages were echoed.
func run(ctx context.Context, out io.Writer, offline bool, n int, logger *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if offline && n <= 0 {
		n = 4 // the fake friends write 4 messages; stop once they are all answered
	}

	opts := []wechat.Option{wechat.WithLogger(logger)}
	var srv *wechattest.Server
	if offline {
		srv = wechattest.NewServer(wechattest.WithLongPoll(time.Second))
		defer srv.Close()
		opts = append(opts,
			wechat.WithHTTPClient(srv.Client()),
			wechat.WithQRHandler(func(q wechat.QRCode) {
				if art, err := q.Terminal(); err == nil {
					fmt.Fprint(out, art)
				}
				fmt.Fprintln(out, "QR code:", q.URL)
				fmt.Fprintln(out, "the fake phone scans it and taps \"Log in\"")
				srv.ConfirmLogin()
			}),
		)
	}

	c := wechat.New(opts...)
	var echoed atomic.Int64
	c.HandleFunc(wechat.All(wechat.IsText, wechat.Not(wechat.IsSelf)), func(ctx context.Context, m *wechat.Message) error {
		if _, err := m.Reply(ctx, m.Content); err != nil {
			return err
		}
		if k := echoed.Add(1); n > 0 && k >= int64(n) {
			cancel()
		}
		return nil
	})

	var wg sync.WaitGroup
	if offline {
		wg.Go(func() { feed(ctx, srv, n) })
	}
	err := c.Run(ctx)
	cancel()
	wg.Wait()

	if offline {
		for _, s := range srv.Sent() {
			fmt.Fprintf(out, "server received a reply to %s: %q\n", s.To, s.Content)
		}
	}
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	fmt.Fprintf(out, "echoed %d messages\n", echoed.Load())
	return err
}

// feed plays the other side: once the bot is online, friends write to it, in a private chat
// and in a group.
func feed(ctx context.Context, srv *wechattest.Server, n int) {
	if srv.WaitOnline(ctx) != nil {
		return
	}
	for i := range n {
		if i%2 == 0 {
			srv.Deliver(wechattest.Text("friend", fmt.Sprintf("hello %d", i+1)))
		} else {
			srv.Deliver(wechattest.GroupText("group", "alice", fmt.Sprintf("hi all %d", i+1)))
		}
	}
}
