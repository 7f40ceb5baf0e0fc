// Command saver saves every photo, video, voice message and file it receives into a
// directory, as it arrives, each under its own safe name.
//
//	go run ./examples/saver -dir saved   # the real service: scan the QR code
//	go run ./examples/saver -offline     # against an in-process fake server
//
// With -offline a friend and a group member send four media messages, the bot saves them in
// a temporary directory (unless -dir is given), and the last line printed is "saved 4 files".
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
	"sync/atomic"

	"github.com/wxkit/wechat"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "saver:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("saver", flag.ContinueOnError)
	dir := fs.String("dir", "", "save into `dir` (default \"saved\"; with -offline a temporary directory)")
	n := fs.Int("n", 0, "stop after `N` files (0: run until interrupted)")
	offline := fs.Bool("offline", false, "run against an in-process fake WeChat server")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opts := []wechat.Option{wechat.WithSession("saver.session")}
	if *offline {
		fakeOpts, stop, err := fake(ctx, out, dir, n)
		if err != nil {
			return err
		}
		defer stop()
		opts = append(opts, fakeOpts...)
	}
	if *dir == "" {
		*dir = "saved"
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}

	c := wechat.New(opts...)
	logf := log.New(out, "", 0).Printf // safe for the handlers, which run concurrently
	var saved atomic.Int64
	media := wechat.Any(wechat.IsType(wechat.MsgTypeImage, wechat.MsgTypeVideo, wechat.MsgTypeVoice), wechat.IsAppType(wechat.AppMsgAttach))
	c.HandleFunc(media, func(ctx context.Context, m *wechat.Message) error {
		md, err := c.Download(ctx, m)
		if err != nil {
			return err // wechat.ErrNoMedia: it expired
		}
		// md.FileName is the attachment's name reduced to a safe base name, else MsgID.ext.
		path, size, err := md.SaveIn(*dir)
		if err != nil {
			return err
		}
		logf("saved %s (%d bytes)", path, size)
		if k := saved.Add(1); *n > 0 && k >= int64(*n) {
			cancel()
		}
		return nil
	})

	err := c.Run(ctx)
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	logf("saved %d files", saved.Load())
	return err
}
