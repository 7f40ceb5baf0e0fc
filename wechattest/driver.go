package wechattest

import (
	"context"
	"slices"
	"strconv"
	"time"
)

// The driver: what a test does in place of the phone and the people around
// the account (scan and confirm the login, write messages, change groups,
// end the session), and how it waits for what the client did. Every method
// here is safe to call from any goroutine, before, during or after a
// client's session.

// Login.

// Scan makes the phone scan the current QR code, or the next one if no QR
// code is waiting: the held or next login poll answers 201 with the
// scanner's avatar.
func (s *Server) Scan() {
	s.phone(phoneIntent{scan: true})
}

// ConfirmLogin makes the user tap "Log in" on the phone: the held or next
// login poll answers 200 with the redirect_uri. If the QR code was not
// scanned yet ([Server.Scan]) it is scanned first, and 201 is still
// answered once before 200. It may be called before the client asked for a
// uuid: the intent is kept for the next QR code (or push-login prompt), so
// a test can call it before starting the client.
func (s *Server) ConfirmLogin() {
	s.phone(phoneIntent{scan: true, confirm: true})
}

// phone applies in to the waiting QR code, or keeps it for the next one.
func (s *Server) phone(in phoneIntent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if qr := s.currentQRLocked(); qr != nil {
		s.applyIntentLocked(qr, in)
	} else {
		s.intent.scan = s.intent.scan || in.scan
		s.intent.confirm = s.intent.confirm || in.confirm
	}
	s.broadcastLocked()
}

// Cancel makes the user press "cancel" on the phone: the login poll of the
// waiting QR code answers 202. Cancel does nothing if no QR code is waiting.
func (s *Server) Cancel() {
	s.setQRState(qrCancelled)
}

// ExpireQR expires the waiting QR code: its login poll answers 400, and a
// new jslogin uuid works again. ExpireQR does nothing if no QR code is
// waiting.
func (s *Server) ExpireQR() {
	s.setQRState(qrExpired)
}

func (s *Server) setQRState(st qrState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if qr := s.currentQRLocked(); qr != nil {
		qr.state = st
		s.broadcastLocked()
	}
}

// RefuseLogin makes the next webwxnewloginpage answer
// <error><ret>ret</ret><message>message</message></error>, as the server
// does for refused accounts (ret 1203, PROTOCOL 4.4). The login ticket is
// used up.
func (s *Server) RefuseLogin(ret int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refusal = &loginRefusal{ret: ret, message: message}
}

// WaitQR waits until jslogin has issued n uuids (n < 1 counts as 1) and
// returns the nth. It returns ctx.Err() if ctx ends first, and [ErrClosed]
// once the server is closed.
func (s *Server) WaitQR(ctx context.Context, n int) (string, error) {
	n = max(n, 1)
	var uuid string
	err := s.waitFor(ctx, func() bool {
		seen := 0
		for _, qr := range s.qrList {
			if !qr.push {
				seen++
			}
			if seen == n {
				uuid = qr.uuid
				return true
			}
		}
		return false
	})
	return uuid, err
}

// Messages and changes.

// Deliver appends msgs to the event log of the current session, or, before
// login and after the session ended, to the log of the next session. Each
// message gets a MsgId unless it has one. A held synccheck answers selector
// "2" at once.
func (s *Server) Deliver(msgs ...Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range msgs {
		s.appendEventLocked(s.newEventLocked(m))
		if m.MediaID != "" {
			s.media[m.MediaID] = true
		}
		if m.Type == 37 && m.RecommendInfo.ID != "" {
			s.acct.requests[m.RecommendInfo.ID] = m.RecommendInfo
		}
	}
	s.broadcastLocked()
}

// RaiseSelector records a change that brings no message, as when a contact
// is edited (selector 4) or a chat is opened on the phone (selector 7):
// synccheck answers selector sel at once, and keeps doing so for a request
// whose synckey is older than the change, until the client has called
// webwxsync and polls with the SyncCheckKey it returned (PROTOCOL 6.1,
// 14.13). That webwxsync answers the new SyncKey and no AddMsgList entry
// for the change. Like [Server.Deliver], RaiseSelector before login or
// after the session ended records the change for the next session. It
// panics if sel <= 0.
func (s *Server) RaiseSelector(sel int) {
	if sel <= 0 {
		panic("wechattest: RaiseSelector: selector " + strconv.Itoa(sel) + " is not a change")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appendEventLocked(event{created: time.Now().Unix(), selector: sel})
	s.broadcastLocked()
}

// InviteToGroup makes the member inviter (a stable id) of group invite the people ids into
// it, from the phone: they join at once, and the next webwxsync reports the group with its
// new members and the system message `"<inviter>"邀请"<invitee>"加入了群聊`. An id the account
// does not know becomes a stranger whose NickName is the id; people already in the group
// are skipped. Like [Server.Deliver], it waits for the next session if none is live. It
// panics if group is not a group of the account or inviter is not one of its members.
func (s *Server) InviteToGroup(group, inviter string, ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.acct.byID[group]
	if e == nil || e.kind != kindGroup {
		panic("wechattest: InviteToGroup: no group " + strconv.Quote(group))
	}
	if !e.group.hasMember(inviter) {
		panic("wechattest: InviteToGroup: " + strconv.Quote(inviter) + " is not a member of " + strconv.Quote(group))
	}
	var added []string
	for _, id := range ids {
		if id == "" || e.group.hasMember(id) || slices.Contains(added, id) {
			continue
		}
		if s.acct.byID[id] == nil {
			s.acct.addEntity(&entity{id: id, kind: kindStranger, contact: Contact{ID: id, NickName: id}})
		}
		e.group.Members = append(e.group.Members, Member{ID: id})
		added = append(added, id)
	}
	if len(added) == 0 {
		return
	}
	s.announceLocked(&change{mod: []string{group}}, s.inviteMessageLocked(e, inviter, added))
}

// DeleteGroup removes group from the account, as when it was dissolved or deleted: the next
// webwxsync lists it in DelContactList, and operations on it answer Ret 1. It panics if
// group is not a group of the account.
func (s *Server) DeleteGroup(group string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.acct.byID[group]
	if e == nil || e.kind != kindGroup {
		panic("wechattest: DeleteGroup: no group " + strconv.Quote(group))
	}
	s.acct.removeEntity(group)
	s.announceLocked(&change{del: []string{group}})
}

// ApproveFriendRequest makes the person id accept the friend request the client sent them
// with webwxverifyuser Opcode 2: they become a friend, and the next webwxsync reports them
// in ModContactList with the system message "你已添加了 <name>，现在可以开始聊天了。". It
// reports false, and changes nothing, if the client sent id no request.
func (s *Server) ApproveFriendRequest(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ri, ok := s.acct.sentRequests[id]
	if !ok {
		return false
	}
	delete(s.acct.sentRequests, id)
	s.befriendLocked(id, ri)
	return true
}

// ExpireMedia makes the media of the delivered message msgID unavailable,
// as the real server does after some days: the main-host downloads answer
// 200 with an empty body, webwxgetmedia on the file host answers 404.
func (s *Server) ExpireMedia(msgID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.files.expired == nil {
		s.files.expired = make(map[string]bool)
	}
	s.files.expired[msgID] = true
}

// The session.

// EndSession makes the server end the current session with retcode
// (1100: logged out on the phone; 1101: logged in elsewhere or expired;
// 1102: cookie check failed). Held and later synccheck requests answer
// window.synccheck={retcode:"<retcode>",selector:"0"}, and every JSON call
// answers BaseResponse.Ret retcode with the zeroed body of PROTOCOL 14.6.
// EndSession does nothing before the first login.
func (s *Server) EndSession(retcode int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess == nil {
		return
	}
	s.sess.ended = retcode
	s.broadcastLocked()
}

// WaitOnline waits until a client has called webwxinit and then
// webwxstatusnotify with Code 3 in the current session. It returns
// ctx.Err() if ctx ends first, and [ErrClosed] once the server is closed.
func (s *Server) WaitOnline(ctx context.Context) error {
	return s.waitFor(ctx, func() bool { return s.sess != nil && s.sess.online && s.sess.ended == 0 })
}

// What the client did.

// Sent returns a copy of every message the server accepted so far, in
// order.
func (s *Server) Sent() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SentMessage(nil), s.sent...)
}

// WaitSent waits until at least n messages were accepted and returns a
// copy of all of them. It returns ctx.Err() if ctx ends first, and
// [ErrClosed] once the server is closed.
func (s *Server) WaitSent(ctx context.Context, n int) ([]SentMessage, error) {
	var out []SentMessage
	err := s.waitFor(ctx, func() bool {
		if len(s.sent) < n {
			return false
		}
		out = append([]SentMessage(nil), s.sent...)
		return true
	})
	return out, err
}

// Uploads returns every completed upload so far, in order. The Data slices
// are shared with the server and must not be modified.
func (s *Server) Uploads() []Upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Upload(nil), s.uploads...)
}
