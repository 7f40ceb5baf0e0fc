package wechat

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/wxkit/wechat/internal/wire"
)

// This file holds the contact and group operations of PROTOCOL 11: remark names, pinning,
// friend requests, creating and managing groups, marking chats read.
//
// Each checks what the client can know before it sends anything: a UserName it does not know
// is ErrUnknownContact, a contact of the wrong kind ErrWrongKind, an unusable argument
// ErrInvalidArgument. A refusal by the server is an *Error carrying the server's Ret (1205,
// too frequent, matches ErrRateLimited). The effect then arrives through the sync, like
// every change of the address book: ModContactList, DelContactList, a system message; it is
// reported to the handler of WithContactHandler. Remark names, pinning and group names are
// also updated in the client's store at once.

// Operation names (Error.Op).
const (
	opOplog          = "webwxoplog"
	opVerifyUser     = "webwxverifyuser"
	opCreateChatroom = "webwxcreatechatroom"
	opUpdateChatroom = "webwxupdatechatroom"
)

// Protocol constants (PROTOCOL 11).
const (
	oplogRemark    = 2  // CmdId MODREMARKNAME
	oplogTop       = 3  // CmdId TOPCONTACT
	verifyRequest  = 2  // Opcode VERIFYUSER_OPCODE_SENDREQUEST
	verifyOK       = 3  // Opcode VERIFYUSER_OPCODE_VERIFYOK
	sceneWeb       = 33 // ADDSCENE_PF_WEB
	retChatroomOK  = -2013
	retParameter   = 1 // addmember: the group needs invitemember
	notifyReadCode = 1 // webwxstatusnotify READED
)

// SetRemark sets the remark name of the friend userName (webwxoplog CmdId 2); an empty remark
// removes it. The store has the new remark at once. It returns an error matching
// [ErrUnknownContact] or [ErrWrongKind] (not a friend) before sending, or the server's
// [*Error].
func (c *Client) SetRemark(ctx context.Context, userName, remark string) error {
	s, ct, err := c.opContact(opOplog, userName, KindFriend)
	if err != nil {
		return err
	}
	req := oplogRequest{BaseRequest: s.baseRequest(), CmdID: oplogRemark, RemarkName: remark, UserName: ct.UserName}
	if err := c.oplog(ctx, s, req); err != nil {
		return err
	}
	c.contacts.modify(ct.UserName, func(ct *Contact) { ct.RemarkName = remark })
	return nil
}

// Pin pins the chat userName (a friend, group, official or special account) to the top of
// the chat list (webwxoplog CmdId 3, OP 1); [Contact.Pinned] reports it. The request carries
// the contact's current remark name, which the server would otherwise erase (PROTOCOL 11.1).
// It returns what [Client.SetRemark] returns.
func (c *Client) Pin(ctx context.Context, userName string) error {
	return c.setTop(ctx, userName, true)
}

// Unpin undoes [Client.Pin].
func (c *Client) Unpin(ctx context.Context, userName string) error {
	return c.setTop(ctx, userName, false)
}

func (c *Client) setTop(ctx context.Context, userName string, on bool) error {
	s, ct, err := c.opContact(opOplog, userName, KindFriend, KindGroup, KindOfficial, KindSpecial)
	if err != nil {
		return err
	}
	op := 0
	if on {
		op = 1
	}
	req := oplogRequest{BaseRequest: s.baseRequest(), CmdID: oplogTop, OP: &op, RemarkName: ct.RemarkName, UserName: ct.UserName}
	if err := c.oplog(ctx, s, req); err != nil {
		return err
	}
	c.contacts.modify(ct.UserName, func(ct *Contact) {
		if on {
			ct.ContactFlag |= contactFlagTop
		} else {
			ct.ContactFlag &^= contactFlagTop
		}
	})
	return nil
}

type oplogRequest struct {
	BaseRequest baseRequest `json:"BaseRequest"`
	CmdID       int         `json:"CmdId"`
	OP          *int        `json:"OP,omitempty"`
	RemarkName  string      `json:"RemarkName"`
	UserName    string      `json:"UserName"`
}

func (c *Client) oplog(ctx context.Context, s *session, req oplogRequest) error {
	q := url.Values{"lang": {c.cfg.lang}, "pass_ticket": {s.passTicket}}
	return c.postJSON(ctx, opOplog, cgiURL(s.hosts.main, "webwxoplog", q), req)
}

// AcceptFriend accepts a friend request (webwxverifyuser Opcode 3 with the request's UserName
// and Ticket, PROTOCOL 11.2). Get req from the request's message with
// [Message.FriendRequest]. It returns the new friend, fetched from the server; if that fetch
// fails, a contact made from the request. The server also reports the new friend through the
// sync (ModContactList and a system message, "你已添加了 ...").
//
// It returns an error matching [ErrInvalidArgument] if req has no UserName or Ticket,
// [ErrWrongKind] if the requester is already a friend (or is a group or self), or the
// server's [*Error] (a ticket the server does not know, a request accepted already).
func (c *Client) AcceptFriend(ctx context.Context, req FriendRequest) (Contact, error) {
	s, err := c.loggedIn()
	if err != nil {
		return Contact{}, err
	}
	if req.UserName == "" || req.Ticket == "" {
		return Contact{}, &Error{Op: opVerifyUser, Err: fmt.Errorf("%w: a friend request needs its UserName and Ticket", ErrInvalidArgument)}
	}
	if ct := c.contacts.get(req.UserName); ct != nil && ct.Kind != KindStranger {
		return Contact{}, wrongKind(opVerifyUser, ct, "is not a stranger")
	}
	if isGroupName(req.UserName) {
		return Contact{}, &Error{Op: opVerifyUser, Err: fmt.Errorf("%w: %s is a group", ErrWrongKind, req.UserName)}
	}
	if err := c.verifyUser(ctx, s, verifyOK, req.UserName, req.Ticket, ""); err != nil {
		return Contact{}, err
	}
	// The request names the requester by permanent id: their ID from now on (PROTOCOL 7.5).
	c.contacts.learnPID(req.UserName, req.PermanentID)
	if err := c.fetchContacts(ctx, []string{req.UserName}, 1); err != nil {
		c.log.Warn("fetching the new friend failed", "op", opBatchContact, "err", err)
	}
	if ct := c.contacts.get(req.UserName); ct != nil {
		return *ct, nil
	}
	c.contacts.put(&Contact{
		UserName: req.UserName, NickName: req.NickName, Alias: req.Alias, Signature: req.Signature,
		Province: req.Province, City: req.City, Sex: req.Sex, ContactFlag: 3, Kind: KindFriend,
	})
	ct := c.contacts.get(req.UserName)
	return *ct, nil
}

// AddFriend sends a friend request with the greeting to the person userName, typically a
// group member who is not a friend or the UserName of a shared card (webwxverifyuser Opcode
// 2). The person becomes a friend only when they accept. Sending many requests gets accounts
// banned (PROTOCOL 11.2).
//
// It returns an error matching [ErrUnknownContact] if userName is not a person's UserName,
// [ErrWrongKind] if it names a friend, group, official or special account or self, or the
// server's [*Error].
func (c *Client) AddFriend(ctx context.Context, userName, greeting string) error {
	s, err := c.loggedIn()
	if err != nil {
		return err
	}
	switch ct := c.contacts.get(userName); {
	case ct != nil && ct.Kind != KindStranger:
		return wrongKind(opVerifyUser, ct, "is not a stranger")
	case isGroupName(userName):
		return &Error{Op: opVerifyUser, Err: fmt.Errorf("%w: %s is a group", ErrWrongKind, userName)}
	case ct == nil && !strings.HasPrefix(userName, "@"):
		return unknownContact(opVerifyUser, userName)
	}
	return c.verifyUser(ctx, s, verifyRequest, userName, "", greeting)
}

func (c *Client) verifyUser(ctx context.Context, s *session, opcode int, userName, ticket, content string) error {
	type verifyUser struct {
		Value            string `json:"Value"`
		VerifyUserTicket string `json:"VerifyUserTicket"`
	}
	req := struct {
		BaseRequest        baseRequest  `json:"BaseRequest"`
		Opcode             int          `json:"Opcode"`
		VerifyUserListSize int          `json:"VerifyUserListSize"`
		VerifyUserList     []verifyUser `json:"VerifyUserList"`
		VerifyContent      string       `json:"VerifyContent"`
		SceneListCount     int          `json:"SceneListCount"`
		SceneList          []int        `json:"SceneList"`
		SKey               string       `json:"skey"` // lower case (PROTOCOL 11.2)
	}{
		BaseRequest: s.baseRequest(), Opcode: opcode,
		VerifyUserListSize: 1, VerifyUserList: []verifyUser{{userName, ticket}},
		VerifyContent: content, SceneListCount: 1, SceneList: []int{sceneWeb}, SKey: s.skey,
	}
	q := url.Values{"r": {ms(time.Now().UnixMilli())}, "lang": {c.cfg.lang}, "pass_ticket": {s.passTicket}}
	return c.postJSON(ctx, opVerifyUser, cgiURL(s.hosts.main, "webwxverifyuser", q), req)
}

// CreateGroup creates a group of self and the given friends (webwxcreatechatroom, PROTOCOL
// 11.3), named topic (which may be empty), and returns it, fetched with its members. The
// server also reports it through the sync. The server may refuse groups of fewer than two
// friends.
//
// It returns an error matching [ErrInvalidArgument] without members, [ErrUnknownContact] or
// [ErrWrongKind] for a member who is not a known friend, or the server's [*Error].
func (c *Client) CreateGroup(ctx context.Context, topic string, members ...string) (Contact, error) {
	s, members, err := c.opFriends(opCreateChatroom, members)
	if err != nil {
		return Contact{}, err
	}
	type member struct {
		UserName string `json:"UserName"`
	}
	list := make([]member, len(members))
	for i, m := range members {
		list[i] = member{m}
	}
	req := struct {
		BaseRequest baseRequest `json:"BaseRequest"`
		MemberCount int         `json:"MemberCount"`
		MemberList  []member    `json:"MemberList"`
		Topic       string      `json:"Topic"`
	}{s.baseRequest(), len(list), list, topic}
	q := url.Values{"r": {ms(time.Now().UnixMilli())}, "lang": {c.cfg.lang}, "pass_ticket": {s.passTicket}}
	body, err := c.postRaw(ctx, opCreateChatroom, cgiURL(s.hosts.main, "webwxcreatechatroom", q), req)
	if err != nil {
		return Contact{}, err
	}
	resp, err := decodeJSON(opCreateChatroom, body, wire.DecodeCreateChatroom)
	if e := (*Error)(nil); errors.As(err, &e) && e.Ret == retChatroomOK && e.Err == nil {
		err = nil // the official client takes -2013 as success too (PROTOCOL 11.3)
	}
	if err != nil {
		return Contact{}, err
	}
	name := resp.ChatRoomName
	if !isGroupName(name) {
		return Contact{}, badResponse(opCreateChatroom, errors.New("no ChatRoomName"))
	}
	if err := c.fetchContacts(ctx, []string{name}, 1); err != nil {
		c.log.Warn("fetching the new group failed", "op", opBatchContact, "err", err)
	}
	if g := c.contacts.get(name); g != nil {
		return *g, nil
	}
	return Contact{UserName: name, NickName: topic, Kind: KindGroup, MemberCount: len(members) + 1}, nil
}

// AddMembers adds friends to the group (webwxupdatechatroom, PROTOCOL 11.4): directly
// (fun=addmember) while the group stays smaller than webwxinit's InviteStartCount (40),
// else, or when the server answers addmember with Ret 1, by invitation (fun=invitemember).
// Friends already in the group are skipped; if none is left nothing is sent. The group's
// member list in the store changes when the sync reports it, usually within a second, which
// also lists the new members in the Joined of a [ContactChange].
//
// It returns an error matching [ErrInvalidArgument] without members, [ErrUnknownContact] or
// [ErrWrongKind] for a group that is not a known group or a member who is not a known
// friend, or the server's [*Error] (a full group, a group that no longer exists).
func (c *Client) AddMembers(ctx context.Context, group string, members ...string) error {
	s, members, err := c.opFriends(opUpdateChatroom, members)
	if err != nil {
		return err
	}
	g, err := c.loadGroup(ctx, opUpdateChatroom, group)
	if err != nil {
		return err
	}
	members = slices.DeleteFunc(members, func(m string) bool { _, in := g.Member(m); return in })
	if len(members) == 0 {
		return nil
	}
	list := strings.Join(members, ",")
	size := max(g.MemberCount, len(g.Members)) + len(members)
	if size < c.contacts.inviteStartCount() {
		err := c.updateChatroom(ctx, s, "addmember", updateChatroomRequest{ChatRoomName: g.UserName, AddMemberList: list})
		var e *Error
		if !errors.As(err, &e) || e.Ret != retParameter {
			return err
		}
		c.log.Debug("addmember refused; inviting", "op", opUpdateChatroom, "ret", e.Ret)
	}
	return c.updateChatroom(ctx, s, "invitemember", updateChatroomRequest{ChatRoomName: g.UserName, InviteMemberList: list})
}

// RemoveMembers removes members from the group (webwxupdatechatroom fun=delmember). The
// server lets only the group's owner do it. As with [Client.AddMembers], the store changes
// when the sync reports it.
//
// It returns an error matching [ErrInvalidArgument] without members or for self (leaving a
// group is not supported), [ErrUnknownContact] for a group or member the client does not
// know, [ErrWrongKind] if group is not a group, or the server's [*Error] (not the owner, a
// group that no longer exists).
func (c *Client) RemoveMembers(ctx context.Context, group string, members ...string) error {
	s, members, err := c.opMembers(opUpdateChatroom, members)
	if err != nil {
		return err
	}
	g, err := c.loadGroup(ctx, opUpdateChatroom, group)
	if err != nil {
		return err
	}
	for _, m := range members {
		if m == s.self {
			return &Error{Op: opUpdateChatroom, Err: fmt.Errorf("%w: cannot remove self", ErrInvalidArgument)}
		}
		if _, in := g.Member(m); !in {
			return &Error{Op: opUpdateChatroom, Err: fmt.Errorf("%w: %s is not a member of %s", ErrUnknownContact, m, g.UserName)}
		}
	}
	return c.updateChatroom(ctx, s, "delmember", updateChatroomRequest{ChatRoomName: g.UserName, DelMemberList: strings.Join(members, ",")})
}

// RenameGroup sets the name of the group (webwxupdatechatroom fun=modtopic). The store has
// the new name at once. It returns an error matching [ErrInvalidArgument] for an empty topic,
// [ErrUnknownContact] or [ErrWrongKind] if group is not a known group, or the server's
// [*Error].
func (c *Client) RenameGroup(ctx context.Context, group, topic string) error {
	s, g, err := c.opContact(opUpdateChatroom, group, KindGroup)
	if err != nil {
		return err
	}
	if strings.TrimSpace(topic) == "" {
		return &Error{Op: opUpdateChatroom, Err: fmt.Errorf("%w: empty group name", ErrInvalidArgument)}
	}
	if err := c.updateChatroom(ctx, s, "modtopic", updateChatroomRequest{ChatRoomName: g.UserName, NewTopic: topic}); err != nil {
		return err
	}
	c.contacts.modify(g.UserName, func(g *Contact) { g.NickName = topic })
	return nil
}

type updateChatroomRequest struct {
	BaseRequest      baseRequest `json:"BaseRequest"`
	ChatRoomName     string      `json:"ChatRoomName"`
	AddMemberList    string      `json:"AddMemberList,omitempty"`
	InviteMemberList string      `json:"InviteMemberList,omitempty"`
	DelMemberList    string      `json:"DelMemberList,omitempty"`
	NewTopic         string      `json:"NewTopic,omitempty"`
}

func (c *Client) updateChatroom(ctx context.Context, s *session, fun string, req updateChatroomRequest) error {
	req.BaseRequest = s.baseRequest()
	q := url.Values{"fun": {fun}, "lang": {c.cfg.lang}, "pass_ticket": {s.passTicket}}
	return c.postJSON(ctx, opUpdateChatroom, cgiURL(s.hosts.main, "webwxupdatechatroom", q), req)
}

// MarkRead tells the server that the chat (a UserName) has been read (webwxstatusnotify
// Code 1, PROTOCOL 5.2), as the web client does when a chat is opened: the phone clears its
// unread count. It returns an error matching [ErrUnknownContact] for a chat the client does
// not know, or the server's [*Error].
func (c *Client) MarkRead(ctx context.Context, chat string) error {
	if _, _, err := c.opContact(opStatusNotify, chat, KindFriend, KindGroup, KindOfficial, KindSpecial, KindStranger); err != nil {
		return err
	}
	return c.statusNotify(ctx, notifyReadCode, chat)
}

// opContact returns the session and the contact userName, which must be of one of kinds.
func (c *Client) opContact(op, userName string, kinds ...ContactKind) (*session, *Contact, error) {
	s, err := c.loggedIn()
	if err != nil {
		return nil, nil, err
	}
	ct := c.contacts.get(userName)
	if ct == nil {
		return nil, nil, unknownContact(op, userName)
	}
	if !slices.Contains(kinds, ct.Kind) {
		return nil, nil, wrongKind(op, ct, "cannot be used here")
	}
	return s, ct, nil
}

// opMembers returns the session and members, de-duplicated, of which there must be at least one.
func (c *Client) opMembers(op string, members []string) (*session, []string, error) {
	s, err := c.loggedIn()
	if err != nil {
		return nil, nil, err
	}
	members = dedupe(members)
	if len(members) == 0 {
		return nil, nil, &Error{Op: op, Err: fmt.Errorf("%w: no members", ErrInvalidArgument)}
	}
	return s, members, nil
}

// opFriends returns the session and members, de-duplicated, which must be known friends.
func (c *Client) opFriends(op string, members []string) (*session, []string, error) {
	s, members, err := c.opMembers(op, members)
	if err != nil {
		return nil, nil, err
	}
	for _, m := range members {
		ct := c.contacts.get(m)
		if ct == nil {
			if c.contacts.isMember(m) {
				return nil, nil, &Error{Op: op, Err: fmt.Errorf("%w: %s is a group member, not a friend", ErrWrongKind, m)}
			}
			return nil, nil, unknownContact(op, m)
		}
		if ct.Kind != KindFriend {
			return nil, nil, wrongKind(op, ct, "is not a friend")
		}
	}
	return s, members, nil
}

func unknownContact(op, userName string) error {
	if userName == "" {
		return &Error{Op: op, Err: fmt.Errorf("%w: empty UserName", ErrUnknownContact)}
	}
	return &Error{Op: op, Err: fmt.Errorf("%w: %s", ErrUnknownContact, userName)}
}

func wrongKind(op string, ct *Contact, why string) error {
	return &Error{Op: op, Err: fmt.Errorf("%w: %s (%s) %s", ErrWrongKind, ct.UserName, ct.Kind, why)}
}
