package wechat_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

// Files are streamed in 512 KiB chunks; Send picks image, emoticon, video or file by the
// file's content.
func ExampleClient_Send() {
	srv := wechattest.NewServer()
	defer srv.Close()
	srv.ConfirmLogin()
	srv.Deliver(wechattest.Text("friend", "the report, please"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := wechat.New(wechat.WithHTTPClient(srv.Client()), wechat.WithQRHandler(func(wechat.QRCode) {}))
	c.HandleFunc(wechat.IsText, func(ctx context.Context, m *wechat.Message) error {
		defer cancel()
		report := strings.NewReader("%PDF-1.4 ...") // an *os.File in real life
		_, err := c.Send(ctx, m.ChatUserName, "report.pdf", report)
		return err
	})
	_ = c.Run(ctx)
	for _, s := range srv.Sent() {
		fmt.Printf("%s to %s, type %d\n", s.Endpoint, s.To, s.Type)
	}
	// Output: webwxsendappmsg to friend, type 6
}

// Media messages are downloaded as a stream; SaveTo writes it to a file atomically.
func ExampleClient_Download() {
	srv := wechattest.NewServer()
	defer srv.Close()
	srv.ConfirmLogin()
	srv.Deliver(wechattest.Image("friend"))
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := wechat.New(wechat.WithHTTPClient(srv.Client()), wechat.WithQRHandler(func(wechat.QRCode) {}))
	c.HandleFunc(func(m *wechat.Message) bool { return m.MsgType == wechat.MsgTypeImage }, func(ctx context.Context, m *wechat.Message) error {
		defer cancel()
		md, err := c.Download(ctx, m)
		if err != nil {
			return err // wechat.ErrNoMedia when the image expired
		}
		n, err := md.SaveTo(filepath.Join(dir, "photo"+md.Ext()))
		fmt.Println(md.ContentType, n, "bytes")
		return err
	})
	_ = c.Run(ctx)
	// Output: image/jpeg 24576 bytes
}
