package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"time"
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
	req := struct {
		BaseRequest baseRequest `json:"BaseRequest"`
	}{s.baseRequest()}
	var resp struct {
		hasBase
		User        wireContact       `json:"User"`
		ContactList []json.RawMessage `json:"ContactList"`
		SyncKey     syncKey           `json:"SyncKey"`
		SKey        string            `json:"SKey"`
		InviteStart flexInt           `json:"InviteStartCount"`
	}
	if err := c.postJSON(ctx, opInit, cgiURL(s.hosts.main, "webwxinit", q), req, &resp); err != nil {
		return err
	}
	self := string(resp.User.UserName)
	if self == "" {
		return badResponse(opInit, errors.New("no User.UserName"))
	}
	if !resp.SyncKey.valid() && !s.syncKey.valid() {
		return badResponse(opInit, errors.New("empty SyncKey"))
	}
	c.sess.update(func(s *session) {
		s.self = self
		if resp.SKey != "" {
			s.skey = resp.SKey
		}
		if !s.syncKey.valid() {
			s.syncKey = resp.SyncKey
		}
		s.inited = true
	})
	if s := c.sess.get(); s != nil {
		c.ledger.startAt(syncState{s.syncKey, s.syncCheckKey})
	}
	c.contacts.setSelf(self)
	c.contacts.setInviteStart(int(resp.InviteStart))
	c.contacts.put(newContact(&resp.User, self))
	c.contacts.put(c.decodeContacts(opInit, resp.ContactList, self)...)
	c.log.Debug("initialised", "op", opInit, "recent_chats", len(resp.ContactList))
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
	req := struct {
		BaseRequest  baseRequest `json:"BaseRequest"`
		Code         int         `json:"Code"`
		FromUserName string      `json:"FromUserName"`
		ToUserName   string      `json:"ToUserName"`
		ClientMsgID  int64       `json:"ClientMsgId"`
	}{s.baseRequest(), code, s.self, to, time.Now().UnixMilli()}
	var resp struct {
		hasBase
		MsgID flexString `json:"MsgID"`
	}
	return c.postJSON(ctx, opStatusNotify, cgiURL(s.hosts.main, "webwxstatusnotify", q), req, &resp)
}
