// Command groupadmin is a WeChat bot that looks after the groups its account owns: it
// welcomes every member who joins, and removes a member when the owner (the account itself,
// writing from the phone) sends "/kick @name" in the group.
//
//	go run ./examples/groupadmin            # the real service: scan the QR code
//	go run ./examples/groupadmin -offline   # against an in-process fake server
//
// With -offline the bot talks to a wechattest server: the fake phone confirms the login, a
// member invites two people into the group, the bot welcomes them; a member who is not the
// owner tries "/kick", which the bot declines; the owner kicks one of the newcomers. The last
// line is "welcomed N members, removed M".
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
	verbose := flag.Bool("v", false, "log the protocol steps on standard error")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var logger *slog.Logger
	if *verbose {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if err := run(ctx, os.Stdout, *offline, logger); err != nil {
		fmt.Fprintln(os.Stderr, "groupadmin:", err)
		os.Exit(1)
	}
}

// joined is a member who joined a group.
type joined struct {
	group  wechat.Contact
	member wechat.Member
}

// admin is the bot's state.
type admin struct {
	c   *wechat.Client
	out io.Writer

	mu               sync.Mutex // guards out and the counters
	welcomed, kicked int
	declined         int
	changed          chan struct{} // a counter moved, for the offline run
}

func (a *admin) printf(format string, args ...any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	fmt.Fprintf(a.out, format, args...)
}

func (a *admin) count(f func()) {
	a.mu.Lock()
	f()
	a.mu.Unlock()
	select {
	case a.changed <- struct{}{}:
	default:
	}
}

// run runs the bot until ctx ends or the server ends the session; offline, until the
// scripted scene is over.
func run(ctx context.Context, out io.Writer, offline bool, logger *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Joins arrive through the contact handler, which runs in the sync loop and must return
	// quickly: it hands them to the greeter goroutine.
	joins := make(chan joined, 64)
	opts := []wechat.Option{
		wechat.WithLogger(logger),
		wechat.WithContactHandler(func(cc wechat.ContactChange) {
			if cc.Kind != wechat.ContactModified || cc.Contact.Kind != wechat.KindGroup || !cc.Contact.IsOwner {
				return
			}
			for _, m := range cc.Joined {
				select {
				case joins <- joined{cc.Contact, m}:
				default: // a burst larger than the queue: skip the greeting rather than stall the sync
				}
			}
		}),
	}
	var srv *wechattest.Server
	if offline {
		srv = wechattest.NewServer(wechattest.WithAccount(offlineAccount()), wechattest.WithLongPoll(time.Second))
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
	a := &admin{c: c, out: out, changed: make(chan struct{}, 1)}
	c.Use(wechat.Recover())
	c.HandleFunc(wechat.All(wechat.IsText, wechat.FromChatKind(wechat.KindGroup), wechat.HasPrefix("/kick")), a.kick)

	var wg sync.WaitGroup
	wg.Go(func() { a.greet(ctx, joins) })
	if offline {
		wg.Go(func() { a.feed(ctx, cancel, srv) })
	}
	err := c.Run(ctx)
	cancel()
	wg.Wait()

	if offline {
		for _, g := range srv.Account().Groups {
			var members []string
			for _, m := range g.Members {
				members = append(members, m.ID)
			}
			fmt.Fprintf(out, "server: group %s has members %s\n", g.NickName, strings.Join(members, ", "))
		}
	}
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	fmt.Fprintf(out, "welcomed %d members, removed %d\n", a.welcomed, a.kicked)
	return err
}

// greet welcomes the members who joined, in the group, until ctx ends.
func (a *admin) greet(ctx context.Context, joins <-chan joined) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-joins:
			self, _ := a.c.Self()
			if j.member.UserName == self.UserName {
				continue
			}
			name := memberName(j.member)
			if _, err := a.c.SendMention(ctx, j.group.UserName, "welcome! Please read the group notice.", j.member.UserName); err != nil {
				a.printf("welcoming %s failed: %v\n", name, err)
				continue
			}
			a.printf("welcomed %s in %s\n", name, j.group.Name())
			a.count(func() { a.welcomed++ })
		}
	}
}

// kick handles "/kick @name" in a group: only the owner may use it, and the account can only
// remove members from the groups it owns, so the command must come from the account itself.
func (a *admin) kick(ctx context.Context, m *wechat.Message) error {
	group := m.Chat
	if group == nil || !group.IsOwner {
		return nil // not our group
	}
	if !m.IsSelf {
		a.count(func() { a.declined++ })
		a.printf("declined /kick from %s: not the owner\n", senderName(m))
		_, err := m.ReplyMention(ctx, "only the group owner can remove members.")
		return err
	}
	name := strings.TrimSpace(strings.TrimPrefix(m.Content, "/kick"))
	name = strings.TrimSpace(strings.TrimPrefix(name, "@"))
	var target *wechat.Member
	for _, mem := range group.SearchMembers(name) {
		if strings.EqualFold(mem.DisplayName, name) || strings.EqualFold(mem.NickName, name) {
			target = &mem
			break
		}
	}
	if target == nil {
		_, err := m.Reply(ctx, fmt.Sprintf("No member is called %q.", name))
		return err
	}
	if err := a.c.RemoveMembers(ctx, group.UserName, target.UserName); err != nil {
		return fmt.Errorf("removing %s: %w", memberName(*target), err)
	}
	a.printf("removed %s from %s\n", memberName(*target), group.Name())
	a.count(func() { a.kicked++ })
	return nil
}

func memberName(m wechat.Member) string {
	if m.DisplayName != "" {
		return m.DisplayName
	}
	return m.NickName
}

func senderName(m *wechat.Message) string {
	if m.Sender != nil {
		if m.Sender.DisplayName != "" {
			return m.Sender.DisplayName
		}
		return m.Sender.Name()
	}
	return m.SenderUserName
}

// offlineAccount is the fake account: a group the account owns with two friends in it, and
// two people who are not contacts yet.
func offlineAccount() wechattest.Account {
	return wechattest.Account{
		Self:     wechattest.Contact{ID: "self", NickName: "Me"},
		Contacts: []wechattest.Contact{{ID: "alice", NickName: "Alice"}, {ID: "bob", NickName: "Bob"}},
		Groups: []wechattest.Group{{
			ID: "club", NickName: "Book Club", Owner: "self", Saved: true,
			Members: []wechattest.Member{{ID: "self"}, {ID: "alice"}, {ID: "bob", DisplayName: "Bobby"}},
		}},
		Strangers: []wechattest.Contact{{ID: "dave", NickName: "Dave"}, {ID: "erin", NickName: "Erin"}},
	}
}

// feed plays the other side, step by step, then ends the run.
func (a *admin) feed(ctx context.Context, cancel context.CancelFunc, srv *wechattest.Server) {
	defer cancel()
	if srv.WaitOnline(ctx) != nil || a.c.WaitContacts(ctx) != nil {
		return
	}
	wait := func(done func() bool) bool {
		for {
			a.mu.Lock()
			ok := done()
			a.mu.Unlock()
			if ok {
				return true
			}
			select {
			case <-a.changed:
			case <-ctx.Done():
				return false
			}
		}
	}
	srv.InviteToGroup("club", "alice", "dave", "erin") // Alice invites two people
	if !wait(func() bool { return a.welcomed == 2 }) {
		return
	}
	srv.Deliver(wechattest.GroupText("club", "bob", "/kick @Erin")) // not the owner
	if !wait(func() bool { return a.declined == 1 }) {
		return
	}
	// The owner, from the phone.
	srv.Deliver(wechattest.Message{Group: "club", From: "self", Text: "/kick @Dave"})
	wait(func() bool { return a.kicked == 1 })
}
