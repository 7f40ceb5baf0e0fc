package wechat

import (
	"context"
	"github.com/wxkit/wechat/internal/wire"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"
)

// This file holds the stock Matchers and Middleware. Matchers are plain functions of the
// message: they do no I/O, are safe for concurrent use and can be combined with All, Any and
// Not. A nil Matcher selects every message, here as in Client.Handle.

// IsType returns a Matcher selecting the messages whose MsgType is one of types. MsgTypeText
// also selects the locations and red packets the server sends with that type; use [IsText]
// for text alone.
func IsType(types ...MsgType) Matcher {
	types = slices.Clone(types)
	return func(m *Message) bool { return slices.Contains(types, m.MsgType) }
}

// IsAppType returns a Matcher selecting the app messages (those [Message.App] accepts) whose
// top-level AppMsgType is one of types.
func IsAppType(types ...AppMsgType) Matcher {
	types = slices.Clone(types)
	return func(m *Message) bool { return m.isApp() && slices.Contains(types, m.AppMsgType) }
}

// FromChatKind returns a Matcher selecting the messages whose chat is of one of kinds. The
// kind is m.Chat.Kind; when the client does not know the chat (m.Chat is nil), it is
// KindGroup for a group UserName ("@@..."), KindSpecial for a special account (filehelper,
// fmessage, ...) and KindStranger otherwise.
func FromChatKind(kinds ...ContactKind) Matcher {
	kinds = slices.Clone(kinds)
	return func(m *Message) bool { return slices.Contains(kinds, chatKind(m)) }
}

// chatKind returns the kind of m's chat, as FromChatKind documents it.
func chatKind(m *Message) ContactKind {
	if m.Chat != nil {
		return m.Chat.Kind
	}
	// Only the UserName is known: no flags make it a friend or an official account.
	return classify(m.ChatUserName, "", 0, 0)
}

// InChat returns a Matcher selecting the messages whose ChatUserName is one of userNames.
// UserNames change at every login: look them up after Run has logged in (with
// [Client.ContactsByName], for example), or match on m.Chat instead.
func InChat(userNames ...string) Matcher {
	userNames = slices.Clone(userNames)
	return func(m *Message) bool { return slices.Contains(userNames, m.ChatUserName) }
}

// FromSender returns a Matcher selecting the messages whose SenderUserName (the member who
// wrote, in a group) is one of userNames. UserNames change at every login, as for [InChat].
func FromSender(userNames ...string) Matcher {
	userNames = slices.Clone(userNames)
	return func(m *Message) bool { return slices.Contains(userNames, m.SenderUserName) }
}

// TextMatches returns a Matcher selecting the text messages ([IsText]) whose Content re
// matches. It panics if re is nil.
func TextMatches(re *regexp.Regexp) Matcher {
	if re == nil {
		panic("wechat: TextMatches called with a nil regexp")
	}
	return func(m *Message) bool { return IsText(m) && re.MatchString(m.Content) }
}

// HasPrefix returns a Matcher selecting the text messages ([IsText]) whose Content starts
// with prefix, such as a command ("/ping"). The comparison is exact: case and leading spaces
// count.
func HasPrefix(prefix string) Matcher {
	return func(m *Message) bool { return IsText(m) && strings.HasPrefix(m.Content, prefix) }
}

// MentionsMe reports whether m is a group text that mentions the logged-in account
// (m.MentionsMe). It is a [Matcher].
func MentionsMe(m *Message) bool { return m.MentionsMe }

// IsSelf reports whether the logged-in account sent m, from the phone or another device: the
// field [Message.IsSelf], whose name it has. It is a [Matcher]; Not(IsSelf) leaves those
// messages out. (Messages this Client sent are never delivered.)
func IsSelf(m *Message) bool { return m.IsSelf }

// IsSentByMe is [IsSelf].
//
// Deprecated: use IsSelf, named after the field [Message.IsSelf] it reads.
func IsSentByMe(m *Message) bool { return m.IsSelf }

// Matchers by contact. They look at the contacts the Client resolved for the message:
// m.Sender, who wrote it (in a group the member, else the other party, or self for a message
// sent from the phone), and m.Chat, the conversation. A message whose contact the Client does
// not know (nil) is not selected. Names are compared exactly, as decoded ([Contact] names:
// HTML entities unescaped, emoji spans turned into emoji); an empty name or ID selects
// nothing. Unlike UserNames, the names and [Contact.ID] can be written into a program.

// FromNickName returns a Matcher selecting the messages whose sender's NickName is one of
// names. Combine it with Not(IsSelf) to leave out self, whose messages from the phone
// have self as sender.
func FromNickName(names ...string) Matcher {
	names = nonEmpty(names)
	return senderMatcher(func(c *Contact) bool { return slices.Contains(names, c.NickName) })
}

// FromRemarkName returns a Matcher selecting the messages whose sender has one of names as
// RemarkName, the name the account gave the contact.
func FromRemarkName(names ...string) Matcher {
	names = nonEmpty(names)
	return senderMatcher(func(c *Contact) bool { return slices.Contains(names, c.RemarkName) })
}

// FromAlias returns a Matcher selecting the messages whose sender's Alias (WeChat ID, when
// the server reveals it) is one of aliases.
func FromAlias(aliases ...string) Matcher {
	aliases = nonEmpty(aliases)
	return senderMatcher(func(c *Contact) bool { return slices.Contains(aliases, c.Alias) })
}

// FromID returns a Matcher selecting the messages whose sender's [Contact.ID] is one of ids:
// the ID that stays the same across logins, where the UserName changes. For a group member
// who is not a contact it is the member's [Member.ID].
func FromID(ids ...string) Matcher {
	ids = nonEmpty(ids)
	return senderMatcher(func(c *Contact) bool { return slices.Contains(ids, c.ID) })
}

// FromSenderFunc returns a Matcher selecting the messages whose sender match selects, for
// tests FromNickName and its siblings do not make: part of a name, a group display name
// (DisplayName), a Kind. match gets a copy of the sender, with ID set as for [FromID]. It
// panics if match is nil.
//
//	wechat.FromSenderFunc(func(c *wechat.Contact) bool { return strings.HasPrefix(c.NickName, "Ali") })
func FromSenderFunc(match func(*Contact) bool) Matcher {
	if match == nil {
		panic("wechat: FromSenderFunc called with a nil func")
	}
	return senderMatcher(match)
}

// InGroup returns a Matcher selecting the messages of the groups named one of names: the
// group's NickName (the name every member sees) or the RemarkName the account gave it.
func InGroup(names ...string) Matcher {
	names = nonEmpty(names)
	return func(m *Message) bool {
		c := m.Chat
		return c != nil && c.Kind == KindGroup &&
			(slices.Contains(names, c.NickName) || slices.Contains(names, c.RemarkName))
	}
}

// InChatID returns a Matcher selecting the messages of the conversations whose [Contact.ID]
// is one of ids: a group, or a person for the messages exchanged with them.
func InChatID(ids ...string) Matcher {
	ids = nonEmpty(ids)
	return func(m *Message) bool { return m.Chat != nil && slices.Contains(ids, m.Chat.ID) }
}

// InChatFunc returns a Matcher selecting the messages whose conversation match selects, such
// as the groups whose name contains a word. match gets a copy of m.Chat. It panics if match
// is nil.
//
//	wechat.InChatFunc(func(c *wechat.Contact) bool {
//		return c.Kind == wechat.KindGroup && strings.Contains(c.NickName, "Go")
//	})
func InChatFunc(match func(*Contact) bool) Matcher {
	if match == nil {
		panic("wechat: InChatFunc called with a nil func")
	}
	return func(m *Message) bool {
		if m.Chat == nil {
			return false
		}
		c := *m.Chat
		return match(&c)
	}
}

// senderMatcher returns a Matcher applying match to a copy of m's sender.
func senderMatcher(match func(*Contact) bool) Matcher {
	return func(m *Message) bool {
		c, ok := sender(m)
		return ok && match(&c)
	}
}

// sender returns a copy of m.Sender with its ID, which for a group member who is not a
// contact is the member's ID in the group's list.
func sender(m *Message) (Contact, bool) {
	if m.Sender == nil {
		return Contact{}, false
	}
	c := *m.Sender
	if c.ID == "" && m.Chat != nil && m.Chat.Kind == KindGroup {
		if mem, ok := m.Chat.Member(m.SenderUserName); ok {
			c.ID = mem.ID
		}
	}
	return c, true
}

// nonEmpty returns a copy of ss without its empty strings.
func nonEmpty(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Predicates of events. The server tells of them in MsgTypeSys messages written for people,
// or in app messages (PROTOCOL 7.2, 7.3, 7.5). The Chinese and English wordings below are
// those known; others exist (PROTOCOL 15), so the predicates are tolerant: each accepts the
// variants noted, and a wording none of them knows is still delivered, as an ordinary
// MsgTypeSys message (see [Message.System]).

// PatsMe reports whether m is a pat ("拍一拍") of the logged-in account by someone else: a
// MsgTypeSys text such as `"Alice" 拍了拍我`, `"Alice" 拍了拍 "Me"` (with self's nickname or
// group display name quoted), `"Alice" 拍了拍我的头` or, in English, `"Alice" patted me`. In a
// chat with one person, a pat of a name other than theirs is taken as a pat of self. Pats by
// self (`我拍了拍 "Bob"`, `You patted "Bob"`) and pats of others are not selected. It is a
// [Matcher].
func PatsMe(m *Message) bool {
	if m.MsgType != MsgTypeSys || m.IsSelf {
		return false
	}
	names, skeleton := quoted(stripLinks(m.Content))
	before, after, ok := cutPat(skeleton)
	if !ok || isFirstPerson(before) {
		return false
	}
	if startsWithMe(after) {
		return true
	}
	if !strings.HasPrefix(after, `"`) && !strings.HasPrefix(after, "“") {
		return false
	}
	// The patted name is the first quoted after the verb; the skeleton kept the quotes.
	k := strings.Count(before, `""`) + strings.Count(before, "“”")
	if k >= len(names) {
		return false
	}
	return isSelfName(m, names[k])
}

// patVerb is the verb of a pat, Chinese or English.
var patVerb = regexp.MustCompile(`拍了拍|拍拍|(?i:\s(?:patted|tickled)\s)`)

// cutPat splits the skeleton of a pat around its verb.
func cutPat(skeleton string) (before, after string, ok bool) {
	loc := patVerb.FindStringIndex(skeleton)
	if loc == nil {
		return "", "", false
	}
	return strings.TrimSpace(skeleton[:loc[0]]), strings.TrimSpace(skeleton[loc[1]:]), true
}

// isFirstPerson reports whether the subject of a pat is self: "我", "You", "I".
func isFirstPerson(subject string) bool {
	switch strings.ToLower(subject) {
	case "我", "you", "i":
		return true
	}
	return false
}

// startsWithMe reports whether the object of a pat is self: "我", "我的头", "me", "you".
func startsWithMe(object string) bool {
	if strings.HasPrefix(object, "我") {
		return true
	}
	lower := strings.ToLower(object)
	for _, w := range []string{"me", "you"} {
		if rest, ok := strings.CutPrefix(lower, w); ok && (rest == "" || !isLetter(rest[0])) {
			return true
		}
	}
	return false
}

func isLetter(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }

// isSelfName reports whether name is the logged-in account's in m's chat: self's group
// display name or nickname in a group's member list (self is ToUserName of a message
// received), or, in a chat with one person, any name but theirs.
func isSelfName(m *Message, name string) bool {
	c := m.Chat
	if c == nil {
		return false
	}
	if c.Kind == KindGroup || m.IsGroup {
		mem, ok := c.Member(m.ToUserName)
		return ok && (name == mem.DisplayName || name == mem.NickName)
	}
	return name != c.NickName && name != c.RemarkName && name != c.DisplayName
}

// IsGroupJoin reports whether m tells that someone joined a group (the account included): a
// MsgTypeSys message in a group, such as `"Alice"邀请"Bob"加入了群聊`,
// `"Bob"通过扫描"Alice"分享的二维码加入群聊`, `"Alice" invited "Bob" to the group chat` or
// `"Bob" joined the group chat via the QR Code shared by "Alice"`: [SysGroupInvite] texts.
// The names are in m.System().Names. It is a [Matcher].
func IsGroupJoin(m *Message) bool {
	if m.MsgType != MsgTypeSys || !m.IsGroup {
		return false
	}
	s, _ := m.System()
	return s.Kind == SysGroupInvite
}

// IsTransfer reports whether m is a money transfer: an app message of type AppMsgTransfers
// (2000; the top-level AppMsgType, else the payload's <type>), the same type sent as
// MsgTypeText, as red packets can be, or a MsgTypeSys text about a transfer ("转账",
// "transfer"), whose wordings are not known (PROTOCOL 15). It is a [Matcher].
func IsTransfer(m *Message) bool {
	switch m.MsgType {
	case MsgTypeApp:
		return appType(m) == AppMsgTransfers
	case MsgTypeText:
		return m.AppMsgType == AppMsgTransfers
	case MsgTypeSys:
		_, skeleton := quoted(stripLinks(m.Content))
		return strings.Contains(skeleton, "转账") || strings.Contains(strings.ToLower(skeleton), "transfer")
	}
	return false
}

// IsRedPacket reports whether m is a red packet ("红包"), in any of the forms the server uses
// (PROTOCOL 14.22): an app message of type AppMsgRedEnvelopes (2001), the same type sent as
// MsgTypeText, or only a MsgTypeSys text such as "收到红包，请在手机上查看" or
// "发出红包，请在手机上查看" ([SysRedPacket]). It is a [Matcher].
func IsRedPacket(m *Message) bool {
	switch m.MsgType {
	case MsgTypeApp:
		return appType(m) == AppMsgRedEnvelopes
	case MsgTypeText:
		return m.AppMsgType == AppMsgRedEnvelopes
	case MsgTypeSys:
		s, _ := m.System()
		return s.Kind == SysRedPacket
	}
	return false
}

// IsFriendAdded reports whether m tells that a friend was added: the MsgTypeSys text the
// server writes into the new friend's chat ("你已添加了 Carol，现在可以开始聊天了。", "You have
// added Carol as your WeChat contact. Start chatting!": [SysFriendAdded]), another system text
// ending "现在可以开始聊天了" or "start chatting", or the text the other party's client sends
// when it accepts the account's request ("我通过了你的朋友验证请求，现在我们可以开始聊天了", "I've
// accepted your friend request. Now let's chat!"). A friend request itself is MsgTypeVerify
// ([Message.FriendRequest]). It is a [Matcher].
func IsFriendAdded(m *Message) bool {
	switch m.MsgType {
	case MsgTypeSys:
		s, _ := m.System()
		if s.Kind == SysFriendAdded {
			return true
		}
		_, skeleton := quoted(s.Text)
		return strings.Contains(skeleton, "现在可以开始聊天了") || strings.Contains(strings.ToLower(skeleton), "start chatting")
	case MsgTypeText:
		if m.IsSelf || m.IsGroup || !IsText(m) {
			return false
		}
		return strings.Contains(m.Content, "通过了你的朋友验证请求") ||
			strings.Contains(strings.ToLower(m.Content), "accepted your friend request")
	}
	return false
}

// appType returns the AppMsgType of the app message m: the top-level one, else its payload's
// <type>, read only then.
func appType(m *Message) AppMsgType {
	if m.AppMsgType != 0 {
		return m.AppMsgType
	}
	x, err := wire.ParseAppXML(m.Content)
	if err != nil {
		return 0
	}
	return AppMsgType(wire.XMLInt(x.AppMsg.Type))
}

// All returns a Matcher selecting the messages every one of ms selects, tried in order until
// one fails. A nil element selects every message; All() selects every message.
func All(ms ...Matcher) Matcher {
	ms = slices.Clone(ms)
	return func(m *Message) bool {
		for _, match := range ms {
			if match != nil && !match(m) {
				return false
			}
		}
		return true
	}
}

// Any returns a Matcher selecting the messages one of ms selects, tried in order until one
// does. A nil element selects every message; Any() selects none.
func Any(ms ...Matcher) Matcher {
	ms = slices.Clone(ms)
	return func(m *Message) bool {
		for _, match := range ms {
			if match == nil || match(m) {
				return true
			}
		}
		return false
	}
}

// Not returns a Matcher selecting the messages match does not select. Not(nil) selects none.
func Not(match Matcher) Matcher {
	return func(m *Message) bool { return match != nil && !match(m) }
}

// Logging returns middleware that logs each message to l at level Debug before handing it
// on ("handling message", with msg_id, msg_type and chat), and at level Error when the handler
// fails ("handler failed", with the same keys, duration and err). It never logs the message's
// content. The Client logs handler errors on its own logger as well (see [WithLogger]). A nil
// l discards the logs, as it does for WithLogger.
func Logging(l *slog.Logger) Middleware {
	log := l
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, m *Message) error {
			attrs := []slog.Attr{
				slog.String("msg_id", m.MsgID),
				slog.Int("msg_type", int(m.MsgType)),
				slog.String("chat", m.ChatUserName),
			}
			log.LogAttrs(ctx, slog.LevelDebug, "handling message", attrs...)
			start := time.Now()
			err := next.HandleMessage(ctx, m)
			if err != nil {
				log.LogAttrs(ctx, slog.LevelError, "handler failed",
					append(attrs, slog.Duration("duration", time.Since(start)), slog.Any("err", err))...)
			}
			return err
		})
	}
}

// Filter returns middleware that hands on only the messages match selects; it returns nil
// for the others, which the handlers it wraps never see. A nil match selects every message.
func Filter(match Matcher) Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, m *Message) error {
			if match != nil && !match(m) {
				return nil
			}
			return next.HandleMessage(ctx, m)
		})
	}
}
