// Command media is a WeChat bot that saves every image, voice message, video, emoticon and
// file it receives under a directory, and forwards the files to the file helper, so they are
// at hand on every device.
//
//	go run ./examples/media -dir saved        # log in to the real service: scan the QR code
//	go run ./examples/media -offline          # against an in-process fake server
//
// With -offline the bot talks to a wechattest server: the fake phone confirms the login, a
// friend sends one message of each media kind, the bot saves them and prints what it saved,
// and the last line printed is "saved N files". Without -dir, -offline saves into a
// temporary directory that is removed at exit.
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
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

func main() {
	offline := flag.Bool("offline", false, "run against an in-process fake WeChat server")
	dir := flag.String("dir", "", "save media under `dir` (default \"media\"; with -offline a temporary directory)")
	verbose := flag.Bool("v", false, "log the protocol steps on standard error")
	flag.Parse()
	if err := start(*offline, *dir, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "media:", err)
		os.Exit(1)
	}
}

// start runs the bot with the command line's settings until an interrupt.
func start(offline bool, dir string, verbose bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var logger *slog.Logger
	if verbose {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	switch {
	case dir == "" && !offline:
		dir = "media"
	case dir == "":
		tmp, err := os.MkdirTemp("", "wechat-media-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	return run(ctx, os.Stdout, offline, dir, logger)
}

// offlineMessages are what the fake friend sends with -offline: one of each media kind.
func offlineMessages() []wechattest.Message {
	file := wechattest.File("alice", "Q3 report.pdf", 200_000, "@crypt_5f3c9a1e_q3report")
	file.Group = "group"
	return []wechattest.Message{
		wechattest.Image("friend"),
		wechattest.Voice("friend", 2300),
		wechattest.Video("friend", 8),
		wechattest.Emoticon("friend", "e68363487d8f0519c4e1047de403b2e7"),
		file,
	}
}

// run runs the bot until ctx ends or the server ends the session; with offline, until it has
// saved the fake friend's messages.
func run(ctx context.Context, out io.Writer, offline bool, dir string, logger *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}

	opts := []wechat.Option{wechat.WithLogger(logger)}
	var srv *wechattest.Server
	if offline {
		srv = wechattest.NewServer(wechattest.WithLongPoll(time.Second))
		defer srv.Close()
		opts = append(opts,
			wechat.WithHTTPClient(srv.Client()),
			wechat.WithQRHandler(func(q wechat.QRCode) {
				fmt.Fprintln(out, "QR code:", q.URL)
				fmt.Fprintln(out, "the fake phone scans it and taps \"Log in\"")
				srv.ConfirmLogin()
			}),
		)
	}
	c := wechat.New(opts...)

	var (
		mu    sync.Mutex // serialises the lines printed by concurrent handlers
		saved atomic.Int64
		want  = int64(len(offlineMessages()))
	)
	c.HandleFunc(isMedia, func(ctx context.Context, m *wechat.Message) error {
		md, err := c.Download(ctx, m)
		if err != nil {
			return err // e.g. wechat.ErrNoMedia: expired; Run logs it
		}
		path := filepath.Join(dir, fileName(m, md))
		n, err := md.SaveTo(path)
		if err != nil {
			return err
		}
		mu.Lock()
		fmt.Fprintf(out, "saved %s: %s, %d bytes\n", kind(m), filepath.Base(path), n)
		mu.Unlock()
		if m.MsgType == wechat.MsgTypeApp && !m.IsSelf && m.ChatUserName != "filehelper" {
			if _, err := c.Forward(ctx, m, "filehelper"); err != nil {
				return err
			}
		}
		if offline && saved.Add(1) == want {
			cancel()
		}
		return nil
	})

	var wg sync.WaitGroup
	if offline {
		wg.Go(func() {
			if srv.WaitOnline(ctx) == nil {
				srv.Deliver(offlineMessages()...)
			}
		})
	}
	err := c.Run(ctx)
	cancel()
	wg.Wait()

	if offline {
		for _, s := range srv.Sent() {
			fmt.Fprintf(out, "server received a %s to %s: %q\n", s.Endpoint, s.To, fileTitle(s.Content))
		}
	}
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	fmt.Fprintf(out, "saved %d files\n", saved.Load())
	return err
}

// isMedia selects the messages that have media to save. It is a wechat.Matcher.
func isMedia(m *wechat.Message) bool {
	switch m.MsgType {
	case wechat.MsgTypeImage, wechat.MsgTypeVoice, wechat.MsgTypeVideo, wechat.MsgTypeMicroVideo, wechat.MsgTypeEmoticon:
		return true
	case wechat.MsgTypeApp:
		return m.AppMsgType == 6 && m.MediaID != "" // a file attachment
	}
	return false
}

func kind(m *wechat.Message) string {
	switch m.MsgType {
	case wechat.MsgTypeImage:
		return "image"
	case wechat.MsgTypeVoice:
		return "voice"
	case wechat.MsgTypeVideo, wechat.MsgTypeMicroVideo:
		return "video"
	case wechat.MsgTypeEmoticon:
		return "emoticon"
	}
	return "file"
}

// fileName is where m is saved: its MsgID, then the file's own name (made safe by the SDK:
// no path, no control characters) or the kind of media with the extension of its sniffed
// type (a GIF emoticon is served as image/jpeg).
func fileName(m *wechat.Message, md *wechat.Media) string {
	if m.MsgType == wechat.MsgTypeApp {
		return m.MsgID + "-" + md.FileName
	}
	return m.MsgID + "-" + kind(m) + md.Ext()
}

// fileTitle returns the <title> of an appmsg, or the content itself.
func fileTitle(content string) string {
	_, rest, ok := strings.Cut(content, "<title>")
	if title, _, found := strings.Cut(rest, "</title>"); ok && found {
		return title
	}
	return content
}
