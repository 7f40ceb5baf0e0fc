// Command autoreply answers while you are away: a friend who writes gets the away text once,
// and in a group whoever @-mentions you gets it as a reply that mentions them.
//
//	go run ./examples/autoreply -text "Back on Monday."   # the real service: scan the QR code
//	go run ./examples/autoreply -offline                  # against an in-process fake server
//
// With -offline a friend writes twice, another friend once, and a group member mentions the
// account; the bot answers three times and the last line printed is "answered 3".
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"

	"github.com/wxkit/wechat"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "autoreply:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("autoreply", flag.ContinueOnError)
	text := fs.String("text", "I am away until Monday; I will answer then.", "the answer")
	n := fs.Int("n", 0, "stop after `N` answers (0: run until interrupted)")
	offline := fs.Bool("offline", false, "run against an in-process fake WeChat server")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opts := []wechat.Option{wechat.WithSession("autoreply.session")}
	if *offline {
		fakeOpts, stop := fake(ctx, out, n)
		defer stop()
		opts = append(opts, fakeOpts...)
	}

	c := wechat.New(opts...)
	logf := log.New(out, "", 0).Printf // safe for the handlers, which run concurrently
	var answered sync.Map              // the chats answered already
	var count atomic.Int64
	answer := func(ctx context.Context, m *wechat.Message) error {
		if _, done := answered.LoadOrStore(m.ChatUserName, true); done && !m.IsGroup {
			return nil // a friend gets the answer once; every mention in a group is answered
		}
		if _, err := m.ReplyMention(ctx, *text); err != nil { // @-mentions the sender in a group
			return err
		}
		who := m.SenderUserName
		if m.Sender != nil { // the contact, when the Client knows it
			who = m.Sender.Name()
		}
		logf("answered %s", who)
		if k := count.Add(1); *n > 0 && k >= int64(*n) {
			cancel()
		}
		return nil
	}
	c.HandleFunc(wechat.All(wechat.IsText, wechat.FromChatKind(wechat.KindFriend), wechat.Not(wechat.IsSelf)), answer)
	c.HandleFunc(wechat.MentionsMe, answer)

	err := c.Run(ctx)
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	logf("answered %d", count.Load())
	return err
}
