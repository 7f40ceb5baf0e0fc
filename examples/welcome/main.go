// Command welcome is a WeChat bot that accepts the friend requests whose greeting contains a
// keyword, greets each new friend and invites them into a group.
//
//	go run ./examples/welcome -keyword golang -group Gophers   # the real service: scan the QR code
//	go run ./examples/welcome -offline                         # against an in-process fake server
//
// With -offline the bot talks to a wechattest server: the fake phone confirms the login,
// three people send friend requests (two of them mention the keyword), the bot accepts those
// two, greets them and invites them into the group, and the server's view is printed. The
// last line is "welcomed N new friends". -n N stops after N new friends (offline: 2).
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
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

func main() {
	offline := flag.Bool("offline", false, "run against an in-process fake WeChat server")
	keyword := flag.String("keyword", "golang", "accept the requests whose greeting contains `word` (any case)")
	group := flag.String("group", "Gophers", "invite new friends into the group `name`")
	n := flag.Int("n", 0, "stop after `N` new friends (0: run until interrupted; 2 with -offline)")
	verbose := flag.Bool("v", false, "log the protocol steps on standard error")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var logger *slog.Logger
	if *verbose {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg := config{keyword: *keyword, group: *group, n: *n, logger: logger}
	if err := run(ctx, os.Stdout, *offline, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "welcome:", err)
		os.Exit(1)
	}
}

type config struct {
	keyword string
	group   string // the group's name
	n       int
	logger  *slog.Logger
}

// run runs the bot until ctx ends, the server ends the session, or cfg.n friends were
// welcomed.
func run(ctx context.Context, out io.Writer, offline bool, cfg config) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	opts := []wechat.Option{wechat.WithLogger(cfg.logger)}
	var srv *wechattest.Server
	if offline {
		if cfg.n <= 0 {
			cfg.n = 2
		}
		srv = wechattest.NewServer(wechattest.WithAccount(offlineAccount(cfg.group)), wechattest.WithLongPoll(time.Second))
		defer srv.Close()
		opts = append(opts,
			wechat.WithHTTPClient(srv.Client()),
			wechat.WithQRHandler(func(q wechat.QRCode) {
				fmt.Fprintln(out, "QR code:", q.URL, "(the fake phone scans it and taps \"Log in\")")
				srv.ConfirmLogin()
			}),
		)
	}

	c := wechat.New(opts...)
	c.Use(wechat.Recover())
	var (
		mu       sync.Mutex // guards out and welcomed
		welcomed int
	)
	printf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, format, args...)
	}
	// Friend requests all come from "fmessage", one chat: they are handled one at a time.
	c.HandleFunc(wechat.IsType(wechat.MsgTypeVerify), func(ctx context.Context, m *wechat.Message) error {
		req, _ := m.FriendRequest()
		if !strings.Contains(strings.ToLower(req.Greeting), strings.ToLower(cfg.keyword)) {
			printf("ignored the request of %s: %q\n", req.NickName, req.Greeting)
			return nil
		}
		group, err := findGroup(ctx, c, cfg.group)
		if err != nil {
			return err
		}
		// Accept, then greet the new friend with a first message.
		friend, err := m.AcceptFriend(ctx, fmt.Sprintf("Welcome, %s! I am inviting you to %s.", req.NickName, group.Name()))
		if err != nil {
			return fmt.Errorf("welcoming %s: %w", req.NickName, err)
		}
		printf("accepted %s (ID %s)\n", friend.Name(), friend.ID)
		if err := c.AddMembers(ctx, group.UserName, friend.UserName); err != nil {
			return fmt.Errorf("inviting %s: %w", friend.Name(), err)
		}
		printf("greeted %s and invited them into %s\n", friend.Name(), group.Name())
		mu.Lock()
		welcomed++
		done := cfg.n > 0 && welcomed >= cfg.n
		mu.Unlock()
		if done {
			cancel()
		}
		return nil
	})

	var wg sync.WaitGroup
	if offline {
		wg.Go(func() { feed(ctx, srv) })
	}
	err := c.Run(ctx)
	cancel()
	wg.Wait()

	if offline {
		report(out, srv)
	}
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	fmt.Fprintf(out, "welcomed %d new friends\n", welcomed)
	return err
}

// findGroup returns the group named name, once the address book is loaded.
func findGroup(ctx context.Context, c *wechat.Client, name string) (wechat.Contact, error) {
	if err := c.WaitContacts(ctx); err != nil {
		return wechat.Contact{}, err
	}
	for _, g := range c.SearchContacts(name, wechat.KindGroup) {
		if g.Name() == name {
			return g, nil
		}
	}
	return wechat.Contact{}, fmt.Errorf("no group named %q", name)
}

// offlineAccount is the fake account: a group the account owns, and three people who are not
// contacts yet.
func offlineAccount(group string) wechattest.Account {
	return wechattest.Account{
		Self:     wechattest.Contact{ID: "self", NickName: "Me"},
		Contacts: []wechattest.Contact{{ID: "alice", NickName: "Alice"}, {ID: "filehelper", NickName: "文件传输助手"}},
		Groups: []wechattest.Group{{
			ID: "gophers", NickName: group, Owner: "self", Saved: true,
			Members: []wechattest.Member{{ID: "self"}, {ID: "alice"}},
		}},
		Strangers: []wechattest.Contact{
			{ID: "carol", NickName: "Carol", Sex: 2},
			{ID: "dave", NickName: "Dave", Sex: 1},
			{ID: "erin", NickName: "Erin", Sex: 2},
		},
	}
}

// feed plays the other side: once the bot is online, three people send friend requests.
func feed(ctx context.Context, srv *wechattest.Server) {
	if srv.WaitOnline(ctx) != nil {
		return
	}
	srv.Deliver(
		wechattest.FriendRequest("carol", "Hi! We met at the Golang meetup."),
		wechattest.FriendRequest("dave", "Cheap watches, best prices"),
		wechattest.FriendRequest("erin", "golang newbie here, may I join?"),
	)
}

// report prints what the server holds now: the friends, the group, the messages sent.
func report(out io.Writer, srv *wechattest.Server) {
	acct := srv.Account()
	var friends []string
	for _, c := range acct.Contacts {
		if c.ID != "filehelper" {
			friends = append(friends, c.NickName)
		}
	}
	fmt.Fprintf(out, "server: friends %s\n", strings.Join(friends, ", "))
	for _, g := range acct.Groups {
		var members []string
		for _, m := range g.Members {
			members = append(members, m.ID)
		}
		fmt.Fprintf(out, "server: group %s has members %s\n", g.NickName, strings.Join(members, ", "))
	}
	for _, s := range srv.Sent() {
		fmt.Fprintf(out, "server received a message to %s: %q\n", s.To, s.Content)
	}
}
