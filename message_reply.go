package wechat

import (
	"context"
	"fmt"
	"io"
)

// Helpers on a received message: they answer it through the Client that delivered it, so
// that a handler needs no Client in scope. Each is the Client call it names, with the chat
// the message came from as recipient, and returns what that call returns.

// Reply sends text into the chat m came from, m.ChatUserName: the group of a group message,
// else the other party (the recipient, for a message the account sent from the phone). It
// is [Client.SendText] and returns what that returns: the sent message, or nil and an error
// (one matching [ErrRateLimited] or [ErrLoggedOut], say). For a Message no Client delivered
// (built by hand) it returns an error matching [ErrInvalidArgument], without a request.
func (m *Message) Reply(ctx context.Context, text string) (*SentMessage, error) {
	c, err := m.owner(opSendMsg, "Reply")
	if err != nil {
		return nil, err
	}
	return c.SendText(ctx, m.ChatUserName, text)
}

// ReplyMention is [Message.Reply] that, in a group, @-mentions the member who wrote m
// (m.SenderUserName): the text is sent with [Client.SendMention], after "@" and the member's
// name in the group. In a private chat, and for a message the account wrote itself, it is
// Reply. It returns what SendMention or Reply returns: on failure nil and an error, one
// matching [ErrUnknownContact], without a request, when the Client does not know the sender
// as a member of the group; for a Message no Client delivered, one matching
// [ErrInvalidArgument].
func (m *Message) ReplyMention(ctx context.Context, text string) (*SentMessage, error) {
	c, err := m.owner(opSendMsg, "ReplyMention")
	if err != nil {
		return nil, err
	}
	if !m.IsGroup || m.IsSelf || m.SenderUserName == "" || m.SenderUserName == m.ChatUserName {
		return c.SendText(ctx, m.ChatUserName, text)
	}
	return c.SendMention(ctx, m.ChatUserName, text, m.SenderUserName)
}

// ReplyImage uploads the image read from r and sends it into the chat m came from, as
// [Client.SendImage] does, and returns what that returns. For a Message no Client delivered
// it returns an error matching [ErrInvalidArgument], without a request.
func (m *Message) ReplyImage(ctx context.Context, name string, r io.Reader) (*SentMessage, error) {
	c, err := m.owner(opSendMsgImg, "ReplyImage")
	if err != nil {
		return nil, err
	}
	return c.SendImage(ctx, m.ChatUserName, name, r)
}

// ReplyFile uploads the file read from r and sends it into the chat m came from as an
// attachment named name, as [Client.SendFile] does, and returns what that returns. For a
// Message no Client delivered it returns an error matching [ErrInvalidArgument], without a
// request.
func (m *Message) ReplyFile(ctx context.Context, name string, r io.Reader) (*SentMessage, error) {
	c, err := m.owner(opSendAppMsg, "ReplyFile")
	if err != nil {
		return nil, err
	}
	return c.SendFile(ctx, m.ChatUserName, name, r)
}

// Forward sends a copy of m to the chat to, as [Client.Forward] does (the server re-uses
// the media: nothing is downloaded or uploaded), and returns what that returns: an error
// matching errors.ErrUnsupported for a message that cannot be forwarded. For a Message no
// Client delivered it returns an error matching [ErrInvalidArgument], without a request.
func (m *Message) Forward(ctx context.Context, to string) (*SentMessage, error) {
	c, err := m.owner(opSendMsg, "Forward")
	if err != nil {
		return nil, err
	}
	return c.Forward(ctx, m, to)
}

// AcceptFriend accepts the friend request m (a MsgTypeVerify message) with
// [Client.AcceptFriend], then, if greeting is not empty, sends greeting to the new friend as
// a first message: the protocol has no greeting on acceptance (VerifyContent is for the
// request's own greeting, PROTOCOL 11.2). It returns the new friend.
//
// On failure it returns what AcceptFriend returns, an error matching [ErrInvalidArgument]
// for a message that is not a friend request or that no Client delivered (without a
// request), or, when the request was accepted but the greeting could not be sent, the new
// friend together with the error of [Client.SendText].
func (m *Message) AcceptFriend(ctx context.Context, greeting string) (Contact, error) {
	c, err := m.owner(opVerifyUser, "AcceptFriend")
	if err != nil {
		return Contact{}, err
	}
	req, ok := m.FriendRequest()
	if !ok {
		return Contact{}, &Error{Op: opVerifyUser, Err: fmt.Errorf("%w: %s is not a friend request", ErrInvalidArgument, m)}
	}
	friend, err := c.AcceptFriend(ctx, req)
	if err != nil || greeting == "" {
		return friend, err
	}
	if _, err := c.SendText(ctx, friend.UserName, greeting); err != nil {
		return friend, err
	}
	return friend, nil
}

// owner returns the Client that delivered m, or the error of a helper (named what, for the
// operation op) called on a Message without one.
func (m *Message) owner(op, what string) (*Client, error) {
	if m == nil || m.client == nil {
		return nil, &Error{Op: op, Err: fmt.Errorf("%w: Message.%s needs a message delivered by a Client's Run, "+
			"not one built by hand; call the Client's methods instead", ErrInvalidArgument, what)}
	}
	return m.client, nil
}
