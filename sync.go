package wechat

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wxkit/wechat/internal/backoff"
	"github.com/wxkit/wechat/internal/wire"
)

const (
	syncCheckTimeout  = 35 * time.Second // the server holds ~25 s (PROTOCOL 6.1)
	reinitAfter       = 3                // unknown synccheck retcodes in a row before a re-init
	maxContinueRounds = 100              // webwxsync rounds for one selector, a guard against a stuck ContinueFlag
	primaryRetryAfter = 20               // answers from a fallback push host before the primary is tried again
)

// syncCheck is the answer of synccheck.
type syncCheck = wire.SyncCheck

// parseSyncCheck parses `window.synccheck={retcode:"0",selector:"2"}` (PROTOCOL 6.1, 14.1).
func parseSyncCheck(body []byte) (syncCheck, error) {
	sc, err := wire.ParseSyncCheck(body)
	if err != nil {
		return syncCheck{}, badResponse(opSyncCheck, err)
	}
	return sc, nil
}

// syncResponse is the answer of webwxsync (PROTOCOL 6.2), decoded by internal/wire in one
// pass. Every AddMsgList entry is there, one that could not be read included (Err set, it is
// delivered as such); contact entries that could not be read are in unreadable.
type syncResponse struct {
	AddMsgList            []wire.Message
	ModContactList        []wire.Contact
	DelContactList        []string // UserNames
	ModChatRoomMemberList []wire.Member
	unreadable            []wire.Unreadable
	ContinueFlag          int
	SyncKey               syncKey
	SyncCheckKey          syncKey
	SKey                  string
}

// parseSync decodes a webwxsync body. A non-zero Ret is an *Error even when the rest of the
// body is broken; a body whose framing is broken is ErrBadResponse. Fields and entries that
// do not fit their type do not fail the body (see internal/wire).
func parseSync(body []byte) (*syncResponse, error) {
	w, err := decodeJSON(opSync, body, wire.DecodeSync)
	if err != nil {
		return nil, err
	}
	return &syncResponse{
		AddMsgList:            w.Messages,
		ModContactList:        w.ModContacts,
		DelContactList:        w.DelContacts,
		ModChatRoomMemberList: w.ModMembers,
		unreadable:            w.Unreadable,
		ContinueFlag:          w.ContinueFlag,
		SyncKey:               syncKey(w.SyncKey),
		SyncCheckKey:          syncKey(w.SyncCheckKey),
		SKey:                  w.SKey,
	}, nil
}

// warnUnreadable logs each entry of a webwxsync answer that could not be read: the messages,
// which are delivered all the same as unknown messages with their raw bytes, and the contact
// entries, which are skipped.
func (c *Client) warnUnreadable(resp *syncResponse) {
	for i := range resp.AddMsgList {
		if m := &resp.AddMsgList[i]; m.Err != nil {
			c.log.Warn("unreadable message delivered raw", "op", opSync, "msg_id", m.MsgID, "bytes", len(m.Raw), "err", m.Err)
		}
	}
	c.warnUnreadableEntries(opSync, resp.unreadable)
}

// warnUnreadableEntries logs the contact entries of an answer that could not be read.
func (c *Client) warnUnreadableEntries(op string, us []wire.Unreadable) {
	for _, u := range us {
		c.log.Warn("skipping unreadable entry", "op", op, "list", u.List, "bytes", len(u.Raw), "err", u.Err)
	}
}

// syncLoop runs synccheck and webwxsync until ctx ends or the session ends (PROTOCOL 6.3).
// Network errors and server hiccups are retried with backoff; they never end the loop.
func (c *Client) syncLoop(ctx context.Context, d *dispatcher) error {
	s := c.sess.get()
	if s == nil {
		return ErrNotLoggedIn
	}
	l := &syncRun{
		push:    pushHosts{hosts: append([]string{s.hosts.push}, s.hosts.pushFallbacks...)},
		backlog: c.cfg.skipBacklog && !s.resumed,
	}
	bo := backoff.Backoff{Min: time.Second, Max: 30 * time.Second}
	var (
		failures int  // synccheck failures in a row
		mustSync bool // synccheck reported news, or a webwxsync failed: sync before polling
	)
	for {
		var err error
		if mustSync {
			if err = c.syncAll(ctx, d, l); err == nil {
				mustSync = false
				l.backlog = false // the held messages are fetched: what follows is live
			}
		} else if mustSync, err = c.poll(ctx, &l.push); err == nil {
			failures = 0
			l.backlog = l.backlog && mustSync // nothing held: no backlog to skip
		} else {
			failures++
		}
		if err == nil {
			bo.Reset()
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrLoggedOut) || errors.Is(err, ErrNotLoggedIn) {
			return err
		}
		c.log.Warn("sync failed; retrying", "err", err, "failures", failures)
		// Unknown synccheck codes three times in a row: re-run webwxinit (PROTOCOL 6.1).
		if e := (*Error)(nil); errors.As(err, &e) && e.Op == opSyncCheck && e.Ret != 0 && failures%reinitAfter == 0 {
			if err := c.webwxInit(ctx); errors.Is(err, ErrLoggedOut) {
				return err
			}
		}
		if err := backoff.Sleep(ctx, bo.Next()); err != nil {
			return err
		}
	}
}

// syncRun is the sync loop's own state for one session.
type syncRun struct {
	push    pushHosts
	backlog bool // WithSkipBacklog and the messages held before the login are still to come

	// The webwxsync URL and the encoded BaseRequest, kept from one request to the next for
	// the session values they were made of (request).
	reqOf syncRequestOf
	url   string
	base  []byte
}

// syncRequestOf are the values the webwxsync URL and BaseRequest are made of.
type syncRequestOf struct {
	main, sid, skey, passTicket, deviceID, lang string
	uin                                         int64
}

// request returns the URL and the body of a webwxsync from s at now (PROTOCOL 6.2): the
// bytes wire.EncodeJSON gives the request's struct, {"BaseRequest":…,"SyncKey":…,"rr":…}
// (TestSyncRequest checks them), with the URL and the BaseRequest made again only when the
// session's values change.
func (l *syncRun) request(lang string, s *session, now time.Time) (string, []byte, error) {
	of := syncRequestOf{s.hosts.main, s.sid, s.skey, s.passTicket, s.deviceID, lang, s.uin}
	if of != l.reqOf || l.url == "" {
		base, err := wire.EncodeJSON(s.baseRequest())
		if err != nil {
			return "", nil, err
		}
		q := url.Values{"sid": {s.sid}, "skey": {s.skey}, "lang": {lang}, "pass_ticket": {s.passTicket}}
		l.reqOf, l.url, l.base = of, cgiURL(s.hosts.main, "webwxsync", q), base
	}
	key, _ := s.syncKey.MarshalJSON() // never fails
	b := make([]byte, 0, len(l.base)+len(key)+48)
	b = append(append(b, `{"BaseRequest":`...), l.base...)
	b = append(append(b, `,"SyncKey":`...), key...)
	b = strconv.AppendInt(append(b, `,"rr":`...), int64(notMillis(now)), 10)
	return l.url, append(b, '}'), nil
}

// poll runs one synccheck on the current push host and reports whether webwxsync must
// follow: any non-zero selector means "call webwxsync now" (PROTOCOL 6.1). A logged-out code
// is an *Error matching ErrLoggedOut, an unknown code an *Error with that Ret.
func (c *Client) poll(ctx context.Context, push *pushHosts) (bool, error) {
	s := c.sess.get()
	if s == nil {
		return false, ErrNotLoggedIn
	}
	sc, err := c.syncCheck(ctx, s, push.current())
	if err != nil {
		if e := (*Error)(nil); errors.As(err, &e) && e.Ret == 0 && !errors.Is(err, ErrBadResponse) {
			push.next() // the host did not answer: try the next push host
		}
		if ctx.Err() == nil {
			c.setState(StateReconnecting, err)
		}
		return false, err
	}
	switch {
	case isLoggedOutRet(sc.Retcode) && push.onFallback():
		// A wrong push host answers 1100 at once (PROTOCOL 2.2): only the primary host may
		// end the session.
		push.primary()
		return false, fmt.Errorf("wechat: synccheck: ret %d from a fallback push host", sc.Retcode)
	case sc.Retcode != 0:
		return false, &Error{Op: opSyncCheck, Ret: sc.Retcode}
	}
	push.answered()
	c.setState(StateOnline, nil)
	c.log.Debug("synccheck", "op", opSyncCheck, "selector", sc.Selector)
	return sc.Selector != 0, nil
}

// pushHosts rotates among the push hosts of a session (PROTOCOL 2.2): the primary, then the
// legacy ones while it does not answer, and back to the primary after primaryRetryAfter
// answers from a fallback, since the primary is the right host for the session.
type pushHosts struct {
	hosts   []string // the primary first
	idx     int      // the current one
	answers int      // answers in a row from a fallback
}

func (p *pushHosts) current() string  { return p.hosts[p.idx] }
func (p *pushHosts) onFallback() bool { return p.idx != 0 }
func (p *pushHosts) next()            { p.idx, p.answers = (p.idx+1)%len(p.hosts), 0 }
func (p *pushHosts) primary()         { p.idx, p.answers = 0, 0 }

func (p *pushHosts) answered() {
	if p.onFallback() {
		if p.answers++; p.answers >= primaryRetryAfter {
			p.primary()
		}
	}
}

// syncCheck long-polls the push host.
func (c *Client) syncCheck(ctx context.Context, s *session, host string) (syncCheck, error) {
	key := s.syncCheckKey
	if !key.valid() {
		key = s.syncKey
	}
	now := time.Now()
	q := url.Values{
		"r":        {ms(now.UnixMilli())},
		"skey":     {s.skey},
		"sid":      {s.sid},
		"uin":      {strconv.FormatInt(s.uin, 10)},
		"deviceid": {s.deviceID},
		"synckey":  {key.String()},
		"_":        {c.ids.cacheBuster(now)},
	}
	pctx, cancel := context.WithTimeout(ctx, syncCheckTimeout)
	defer cancel()
	body, err := c.getScript(pctx, opSyncCheck, cgiURL(host, "synccheck", q))
	if err != nil {
		return syncCheck{}, err
	}
	return parseSyncCheck(body)
}

// syncAll calls webwxsync until the server has nothing more (ContinueFlag 0).
func (c *Client) syncAll(ctx context.Context, d *dispatcher, l *syncRun) error {
	for range maxContinueRounds {
		more, err := c.syncOnce(ctx, d, l)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// syncOnce runs one webwxsync, applies the contact changes, hands every new message to the
// dispatcher and advances the SyncKey in memory. It first waits while the ledger's window is
// full. The position a restart resumes from (the committed one) advances only when the batch's
// messages have all been handled; a batch interrupted by cancellation is fetched again. With
// backlog, the batch's messages are recorded as handled without being handled
// (WithSkipBacklog).
func (c *Client) syncOnce(ctx context.Context, d *dispatcher, l *syncRun) (more bool, err error) {
	backlog := l.backlog
	if err := c.ledger.waitRoom(ctx); err != nil {
		return false, err
	}
	s := c.sess.get()
	if s == nil {
		return false, ErrNotLoggedIn
	}
	u, reqBody, err := l.request(c.cfg.lang, s, time.Now())
	if err != nil {
		return false, &Error{Op: opSync, Err: err}
	}
	body, err := c.postBody(ctx, opSync, u, reqBody)
	if err != nil {
		return false, err
	}
	resp, err := parseSync(body)
	if err != nil {
		return false, err
	}
	c.warnUnreadable(resp)

	// Contacts before messages, so that a message from a new group resolves (PROTOCOL 6.3).
	c.applyContactChanges(s.self, resp)

	keys := syncState{s.syncKey, s.syncCheckKey}
	if resp.SyncKey.valid() { // error bodies carry an empty key (PROTOCOL 14.6)
		keys.syncKey = resp.SyncKey
	}
	if resp.SyncCheckKey.valid() {
		keys.syncCheckKey = resp.SyncCheckKey
	}
	b := c.ledger.begin(keys)
	msgs := make([]*Message, 0, len(resp.AddMsgList))
	var fetch []string
	for _, raw := range resp.AddMsgList {
		m := decodeMessage(raw, s.self)
		switch {
		case m.MsgID != "" && c.ledger.seen(m.MsgID):
			continue // handled already (PROTOCOL 14.20)
		case m.MsgType == MsgTypeStatusNotify || m.MsgType == MsgTypeSysNotice:
			c.contacts.learnIDs(m) // code 4 pairs UserNames with permanent ids (Contact.ID)
			continue               // not user messages (PROTOCOL 7.5)
		case m.IsSelf && c.sent.isOwn(ctx, m.MsgID):
			continue // the echo of a message this Client sent
		case backlog:
			if c.ledger.claim(b, m.MsgID) { // WithSkipBacklog: held before the login
				c.ledger.finish(b, m.MsgID, true)
			}
			continue
		}
		fetch = append(fetch, m.needsFetch(&c.contacts)...)
		msgs = append(msgs, m)
	}
	if names := c.contacts.claim(time.Now(), dedupe(fetch)); len(names) > 0 {
		if err := c.fetchContacts(ctx, names, 1); err != nil && ctx.Err() == nil {
			c.log.Warn("fetching unknown chats failed", "op", opBatchContact, "err", err)
		}
	}
	for _, m := range msgs {
		if !c.ledger.claim(b, m.MsgID) {
			continue // twice in this batch
		}
		m.resolve(&c.contacts)
		d.dispatch(m, b)
	}
	c.ledger.seal(b)

	c.sess.update(func(s *session) {
		s.syncKey, s.syncCheckKey = keys.syncKey, keys.syncCheckKey
		if resp.SKey != "" {
			s.skey = resp.SKey
		}
	})
	c.persist.soon()
	c.log.Debug("synced", "op", opSync, "messages", len(msgs), "continue", int(resp.ContinueFlag))
	return resp.ContinueFlag != 0, nil
}

// applyContactChanges updates the contact store with a sync's ModContactList,
// DelContactList and ModChatRoomMemberList, and reports each change.
func (c *Client) applyContactChanges(self string, resp *syncResponse) {
	var changes []ContactChange
	for _, ct := range c.decodeContacts(opSync, resp.ModContactList, self) {
		if ct.Kind == KindGroup && len(ct.Members) > 0 {
			ct.membersLoaded = true // sync updates carry the whole member list
		}
		old := c.contacts.get(ct.UserName)
		c.contacts.put(ct)
		ch := ContactChange{Kind: ContactAdded, Contact: *c.contacts.get(ct.UserName)}
		if old != nil {
			ch.Kind = ContactModified
			if ct.membersLoaded && old.membersLoaded {
				ch.Joined, ch.Left = membersDiff(old.Members, ct.Members)
			}
		}
		changes = append(changes, ch)
	}
	for _, name := range resp.DelContactList {
		ch := ContactChange{Kind: ContactRemoved, Contact: Contact{UserName: name}}
		if old := c.contacts.get(name); old != nil {
			ch.Contact = *old
		}
		c.contacts.remove(name)
		changes = append(changes, ch)
	}
	for _, g := range c.contacts.updateMembers(c.decodeMembers(resp.ModChatRoomMemberList)) {
		changes = append(changes, ContactChange{Kind: ContactModified, Contact: *g})
	}
	if c.cfg.contactHandler == nil {
		return
	}
	for _, ch := range changes {
		c.cfg.contactHandler(ch)
	}
}

// decodeMembers converts ModChatRoomMemberList entries (internal/wire left out the ones
// that could not be read).
func (c *Client) decodeMembers(ws []wire.Member) []Member {
	var out []Member
	for i := range ws {
		out = append(out, newMember(&ws[i]))
	}
	return out
}

// webwxLogout posts webwxlogout; the answer (a redirect) and any error are ignored.
func (c *Client) webwxLogout(ctx context.Context, s *session, typ string) {
	q := url.Values{"redirect": {"1"}, "type": {typ}, "skey": {s.skey}}
	form := url.Values{"sid": {s.sid}, "uin": {strconv.FormatInt(s.uin, 10)}}
	req, err := c.newRequest(ctx, http.MethodPost, cgiURL(s.hosts.main, "webwxlogout", q), strings.NewReader(form.Encode()))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if _, _, err := c.do(opLogout, req, maxScriptBody); err != nil {
		c.log.Debug("webwxlogout failed", "op", opLogout, "err", err)
	}
}
