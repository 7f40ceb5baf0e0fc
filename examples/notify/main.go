// Command notify sends a text to contacts or groups, found by name, and exits: the last step
// of a cron job or a CI pipeline. It resumes the session an earlier run stored, and never
// waits for a QR code scan unless -login is given.
//
//	go run ./examples/notify -login -to Alice hello        # the first time: scan the QR code
//	go run ./examples/notify -to Alice -to "Book Club" the backup is done
//	go run ./examples/notify -offline                      # against an in-process fake server
//
// With -offline the fake phone confirms the login and the text goes to Alice and the group
// "Test Group" of the fake account; the last line printed is "notified 2 of 2".
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/wxkit/wechat"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "notify:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	var to []string
	fs := flag.NewFlagSet("notify", flag.ContinueOnError)
	fs.Func("to", "send to the contact or group `name` (repeatable)", func(s string) error { to = append(to, s); return nil })
	login := fs.Bool("login", false, "show a QR code if the stored session cannot be resumed")
	offline := fs.Bool("offline", false, "run against an in-process fake WeChat server")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := []wechat.Option{wechat.WithSession("notify.session"), wechat.WithLoginPolicy(wechat.LoginResumeOnly)}
	if *login {
		opts = append(opts, wechat.WithLoginPolicy(wechat.LoginAny))
	}
	text := strings.Join(fs.Args(), " ")
	if *offline {
		fakeOpts, stop, err := fake(out, &to, &text)
		if err != nil {
			return err
		}
		defer stop()
		opts = append(opts, fakeOpts...)
	}

	c := wechat.New(opts...)
	if err := c.Login(ctx); err != nil {
		return err // wechat.ErrScanNeeded: the stored session is gone; run once with -login
	}
	if err := c.Refresh(ctx); err != nil { // the address book, to find the names
		return err
	}
	var chats []string
	names := map[string]string{} // the name given for each UserName
	for _, name := range to {
		found := c.ContactsByName(name) // by remark name or nickname
		if len(found) == 0 {
			return fmt.Errorf("no contact or group is named %q", name)
		}
		chats, names[found[0].UserName] = append(chats, found[0].UserName), name
	}
	sent := 0
	_, err := c.SendTextToMany(ctx, chats, text, func(r wechat.SendResult) { // paced, one result each
		if r.Err != nil {
			fmt.Fprintf(out, "%s: not sent: %v\n", names[r.To], r.Err)
			return
		}
		sent++
		fmt.Fprintf(out, "%s: sent\n", names[r.To])
	})
	fmt.Fprintf(out, "notified %d of %d\n", sent, len(chats))
	return err
}
