package wechat

import (
	"context"
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

// IsSentByMe reports whether the logged-in account sent m, from the phone or another device
// (m.IsSelf). It is a [Matcher].
func IsSentByMe(m *Message) bool { return m.IsSelf }

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
// l means [slog.Default].
func Logging(l *slog.Logger) Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, m *Message) error {
			log := l
			if log == nil {
				log = slog.Default()
			}
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
