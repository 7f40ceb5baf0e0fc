package wechat

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"time"

	"github.com/wxkit/wechat/internal/wire"
)

// webwxInit fetches self, the SyncKey, the new skey and the recent chats. A SyncKey the
// session already has is kept, so a re-init does not replay or skip messages.
func (c *Client) webwxInit(ctx context.Context) error {
	s := c.sess.get()
	if s == nil {
		return ErrNotLoggedIn
	}
	q := url.Values{
		"r":           {strconv.Itoa(int(notMillis(time.Now())))},
		"lang":        {c.cfg.lang},
		"pass_ticket": {s.passTicket},
	}
	req := wire.InitRequest{BaseRequest: s.baseRequest()}
	body, err := c.postRaw(ctx, opInit, cgiURL(s.hosts.main, "webwxinit", q), req)
	if err != nil {
		return err
	}
	resp, err := decodeJSON(opInit, body, wire.DecodeInit)
	if err != nil {
		return err
	}
	c.warnUnreadableEntries(opInit, resp.Unreadable)
	self := resp.User.UserName
	if self == "" {
		return badResponse(opInit, errors.New("no User.UserName"))
	}
	if !syncKey(resp.SyncKey).valid() && !s.syncKey.valid() {
		return badResponse(opInit, errors.New("empty SyncKey"))
	}
	c.sess.update(func(s *session) {
		s.self = self
		if resp.SKey != "" {
			s.skey = resp.SKey
		}
		if !s.syncKey.valid() {
			s.syncKey = syncKey(resp.SyncKey)
		}
		s.inited = true
	})
	if s := c.sess.get(); s != nil {
		c.ledger.startAt(syncState{s.syncKey, s.syncCheckKey})
	}
	c.contacts.setSelf(self)
	c.contacts.setInviteStart(resp.InviteStartCount)
	c.contacts.put(newContact(&resp.User, self))
	c.contacts.put(c.decodeContacts(opInit, resp.Contacts, self)...)
	c.log.Debug("initialised", "op", opInit, "recent_chats", len(resp.Contacts))
	return nil
}

// statusNotify sends webwxstatusnotify: Code 3 with to == "" tells the phone the client is
// online; Code 1 marks the chat to as read.
func (c *Client) statusNotify(ctx context.Context, code int, to string) error {
	s, err := c.loggedIn()
	if err != nil {
		return err
	}
	if to == "" {
		to = s.self
	}
	q := url.Values{"lang": {c.cfg.lang}, "pass_ticket": {s.passTicket}}
	req := wire.StatusNotifyRequest{
		BaseRequest: s.baseRequest(), Code: code, FromUserName: s.self, ToUserName: to,
		ClientMsgID: time.Now().UnixMilli(),
	}
	body, err := c.postRaw(ctx, opStatusNotify, cgiURL(s.hosts.main, "webwxstatusnotify", q), req)
	if err != nil {
		return err
	}
	_, err = decodeJSON(opStatusNotify, body, wire.DecodeSend)
	return err
}
