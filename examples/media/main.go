// Command media is a WeChat bot that saves every image, voice message, video, emoticon and
// file it receives under a directory, and forwards the files to the file helper, at hand on
// every device. With -upload it first sends a file there, drawing a progress bar.
//
//	go run ./examples/media -dir saved -upload big.zip   # the real service: scan the QR code
//	go run ./examples/media -offline                     # against an in-process fake server
//
// With -offline the bot talks to a wechattest server: the fake phone confirms the login, the
// bot uploads a generated 3 MB file, a friend sends one message of each media kind, the bot
// saves them and prints what it saved; the last line is "saved N files". Without -dir,
// -offline saves into a temporary directory removed at exit.
package main

import (
	"bytes"
	"cmp"
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
	upload := flag.String("upload", "", "first send the file at `path` to the file helper")
	verbose := flag.Bool("v", false, "log the protocol steps on standard error")
	flag.Parse()
	if err := start(*offline, *dir, *upload, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "media:", err)
		os.Exit(1)
	}
}

// start runs the bot with the command line's settings until an interrupt.
func start(offline bool, dir, upload string, verbose bool) error {
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
	return run(ctx, os.Stdout, offline, dir, upload, logger)
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

// isMedia selects the messages that have media to save.
var isMedia = wechat.Any(
	wechat.IsType(wechat.MsgTypeImage, wechat.MsgTypeVoice, wechat.MsgTypeVideo, wechat.MsgTypeMicroVideo, wechat.MsgTypeEmoticon),
	wechat.IsAppType(wechat.AppMsgAttach),
)

// run runs the bot until ctx ends or the server ends the session; with offline, until it has
// saved the fake friend's messages.
func run(ctx context.Context, out io.Writer, offline bool, dir, upload string, logger *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var mu sync.Mutex // serialises what concurrent handlers and the progress bar print
	printf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, format, args...)
	}
	opts := []wechat.Option{wechat.WithLogger(logger), wechat.WithProgress(func(p wechat.Progress) {
		if p.Kind == wechat.ProgressUpload && p.Total > 0 { // a bar redrawn in place, a newline once full
			bar, full := strings.Repeat("=", int(30*p.Done/p.Total)), strings.Repeat("\n", int(p.Done/p.Total))
			printf("\ruploading %s [%-30s] %3d%%%s", p.Name, bar, 100*p.Done/p.Total, full)
		}
	})}
	var srv *wechattest.Server
	if offline {
		srv = wechattest.NewServer(wechattest.WithLongPoll(time.Second))
		defer srv.Close()
		opts = append(opts, wechat.WithHTTPClient(srv.Client()), wechat.WithQRHandler(func(q wechat.QRCode) {
			fmt.Fprintln(out, "QR code:", q.URL, "(the fake phone scans it and taps \"Log in\")")
			srv.ConfirmLogin()
		}))
	}
	c := wechat.New(opts...)

	var saved atomic.Int64
	c.HandleFunc(isMedia, func(ctx context.Context, m *wechat.Message) error {
		md, err := c.Download(ctx, m)
		if err != nil {
			return err // e.g. wechat.ErrNoMedia: expired; Run logs it
		}
		path, n, err := md.SaveIn(dir) // under md.FileName: the attachment's name made safe, or MsgID.ext
		if err != nil {
			return err
		}
		printf("saved %s: %s, %d bytes\n", cmp.Or(kinds[m.MsgType], m.MsgType.String()), filepath.Base(path), n)
		if m.MsgType == wechat.MsgTypeApp && !m.IsSelf && m.ChatUserName != "filehelper" {
			if _, err := m.Forward(ctx, "filehelper"); err != nil {
				return err
			}
		}
		if offline && saved.Add(1) == int64(len(offlineMessages())) {
			cancel()
		}
		return nil
	})

	if upload != "" || offline {
		if err := c.Login(ctx); err != nil { // the session is ready to send before Run
			return err
		}
		if err := sendFile(ctx, c, upload); err != nil {
			return err
		}
	}
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

// sendFile sends the file at path to the file helper, or a generated 3 MB file if path is "".
func sendFile(ctx context.Context, c *wechat.Client, path string) error {
	if path == "" {
		_, err := c.SendFile(ctx, "filehelper", "photos.zip", bytes.NewReader(bytes.Repeat([]byte("photo "), 500_000)))
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = c.SendFile(ctx, "filehelper", filepath.Base(path), f)
	return err
}

// kinds names the media kinds the String of MsgType does not name as the bot prints them.
var kinds = map[wechat.MsgType]string{wechat.MsgTypeApp: "file", wechat.MsgTypeMicroVideo: "video"}

// fileTitle returns the <title> of an appmsg, or the content itself.
func fileTitle(content string) string {
	_, rest, ok := strings.Cut(content, "<title>")
	if title, _, found := strings.Cut(rest, "</title>"); ok && found {
		return title
	}
	return content
}
