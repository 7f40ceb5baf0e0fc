package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

// fake returns the options that run the bot against an in-process fake WeChat server, whose
// phone confirms the login, with the session kept in a temporary directory; to and text get
// defaults if empty. stop closes the server and removes the directory.
func fake(out io.Writer, to *[]string, text *string) (opts []wechat.Option, stop func(), err error) {
	dir, err := os.MkdirTemp("", "wechat-notify-*")
	if err != nil {
		return nil, nil, err
	}
	srv := wechattest.NewServer()
	if len(*to) == 0 {
		*to = []string{"Alice", "Test Group"}
	}
	if *text == "" {
		*text = "The nightly backup is done."
	}
	opts = []wechat.Option{
		wechat.WithHTTPClient(srv.Client()),
		wechat.WithSession(filepath.Join(dir, "notify.session")),
		wechat.WithLoginPolicy(wechat.LoginAny),
		wechat.WithQRHandler(func(q wechat.QRCode) {
			fmt.Fprintln(out, "QR code:", q.URL, "(the fake phone scans it and taps \"Log in\")")
			srv.ConfirmLogin()
		}),
	}
	return opts, func() {
		srv.Close()
		os.RemoveAll(dir)
	}, nil
}
