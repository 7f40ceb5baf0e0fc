package wechattest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// This file serves the contact and group operations of PROTOCOL 11 (webwxoplog,
// webwxverifyuser, webwxcreatechatroom, webwxupdatechatroom). Each accepted operation
// changes the account, and the change reaches the client through the next webwxsync as the
// real server sends it: the contact or group in ModContactList (a group with its whole
// member list), a deleted group in DelContactList, and, where the real server writes one, a
// system message (MsgType 10000) in the chat:
//
//	accept a friend request  你已添加了 Carol，现在可以开始聊天了。 (from the new friend)
//	create a group, add      "Me"邀请"Bob"、"Carol"加入了群聊 (in the group)
//	or invite members
//	remove members           你将"Bob"移出了群聊
//	rename a group           你修改群名为“New name”
//
// Refusals answer the endpoint's zeroed body with a Ret code. The real codes for most of
// these cases are not documented (PROTOCOL 13, 15); the fake uses Ret 1 (parameter error)
// for a request that names something the server does not know or asks for an operation
// PROTOCOL 11 does not list, and Ret -2 (MMWEBWX_ERR_LOGIC) for one it understands but
// refuses. Counts (VerifyUserListSize, SceneListCount, MemberCount) are not checked against
// their lists, and a missing Topic is an empty one: no source shows the server checking them.
//
//   - webwxoplog: Ret 1 for a CmdId other than 2 (remark) and 3 (pin), the constants of
//     PROTOCOL 11.1; for a UserName the session does not know; for CmdId 2 without a
//     RemarkName or on someone who is not a friend; for an OP other than 0 and 1. CmdId 3
//     sets the remark to the RemarkName sent, "" if none, as the real server does.
//   - webwxverifyuser: Ret 1 unless the lower-case skey is a skey of the session and the
//     VerifyUserList has an entry (PROTOCOL 11.2); Opcode 3 needs, for each Value, a friend
//     request delivered from that person and not accepted yet, and its Ticket (Ret 1): the
//     ticket is the server's credential. Opcodes 1 (add) and 2 (request) to strangers are
//     recorded as requests sent, 4 (reject) forgets the request, 5 and 6 change nothing;
//     other Opcodes answer Ret 1.
//   - webwxcreatechatroom: Ret 1 for an unknown UserName; Ret -2 for a member who is not a
//     friend (PROTOCOL 11.3), for fewer than two members besides self and for more than 500
//     people (the minimum is unconfirmed, PROTOCOL 15; a WeChat group chat has at least
//     three people and at most 500).
//   - webwxupdatechatroom: Ret 1 for a fun PROTOCOL 11.4 does not list or an unknown
//     ChatRoomName (a group deleted with [Server.DeleteGroup] no longer exists), a missing
//     member list or an unknown UserName in it; Ret -2 if self is not a member, for a member
//     who is not a friend (addmember, invitemember) and for more than 500 members.
//     fun=addmember answers Ret 1 when the group would reach 40 members (InviteStartCount)
//     or is [Group.InviteOnly]: the client must use fun=invitemember (PROTOCOL 11.4, WXB
//     retries with it on Ret 1), whose invitees the fake lets join at once. fun=delmember
//     answers Ret -2 unless self owns the group (owner only, PROTOCOL 11.4), Ret 1 for
//     someone who is not a member or for self. fun=modtopic needs a NewTopic (Ret 1);
//     fun=quitchatroom takes self out of the group.
//
// [Server.RateLimitOps] makes the next operations answer Ret 1205 (too frequent) without
// effect.

const (
	flagTop          = 0x800 // CONTACTFLAG_TOPCONTACT (PROTOCOL 5.6)
	inviteStartCount = 40    // webwxinit's InviteStartCount (PROTOCOL 5.1)
	maxGroupMembers  = 500
	retParam         = 1
	retLogic         = -2
)

// opEndpointFor returns the JSON endpoint of a contact or group operation.
func opEndpointFor(name string) (jsonEndpoint, bool) {
	switch name {
	case "webwxoplog":
		return jsonEndpoint{zero: zeroBase, compact: true, handle: (*Server).handleOplog}, true
	case "webwxverifyuser":
		return jsonEndpoint{zero: zeroBase, compact: true, handle: (*Server).handleVerifyUser}, true
	case "webwxcreatechatroom":
		return jsonEndpoint{zero: zeroCreateChatroom, handle: (*Server).handleCreateChatroom}, true
	case "webwxupdatechatroom":
		return jsonEndpoint{zero: zeroUpdateChatroom, handle: (*Server).handleUpdateChatroom}, true
	}
	return jsonEndpoint{}, false
}

func zeroCreateChatroom(ret int) obj {
	return obj{
		{"BaseResponse", baseResponse(ret)}, {"Topic", ""}, {"PYInitial", ""}, {"QuanPin", ""},
		{"MemberCount", 0}, {"MemberList", arr{}}, {"ChatRoomName", ""}, {"BlackList", ""},
	}
}

func zeroUpdateChatroom(ret int) obj {
	return obj{{"BaseResponse", baseResponse(ret)}, {"MemberCount", 0}, {"MemberList", arr{}}}
}

// handleOplog answers webwxoplog (PROTOCOL 11.1).
func (s *Server) handleOplog(c *call) (obj, *refusal) {
	cmd, _ := c.req.num("CmdId")
	un, _ := c.req.str("UserName")
	remark, hasRemark := c.req.str("RemarkName")
	e := s.acct.byID[c.ss.ids[un]]
	if e == nil {
		return nil, refuse(retParam, "UserName is not one of this session")
	}
	switch cmd {
	case 2:
		if !hasRemark {
			return nil, refuse(retParam, "CmdId 2 without a RemarkName (PROTOCOL 11.1)")
		}
		if e.kind != kindPerson {
			return nil, refuse(retParam, "CmdId 2 sets the remark of a friend; UserName is no friend")
		}
		e.contact.RemarkName = escapeHTML(remark)
	case 3:
		op, ok := c.req.num("OP")
		if !ok || op != 0 && op != 1 {
			return nil, refuse(retParam, "CmdId 3 needs OP 0 or 1 (PROTOCOL 11.1)")
		}
		switch e.kind {
		case kindGroup:
			e.group.Pinned = op == 1
		case kindPerson, kindMP, kindSpecial:
			e.contact.ContactFlag &^= flagTop
			if op == 1 {
				e.contact.ContactFlag |= flagTop
			}
			// The real server takes the RemarkName too: a client that omits it erases
			// the remark (PROTOCOL 11.1).
			e.contact.RemarkName = escapeHTML(remark)
		default:
			return nil, refuse(retParam, "CmdId 3 pins a chat; UserName is no chat of the account")
		}
	default:
		return nil, refuse(retParam, "CmdId %d is neither 2 (remark) nor 3 (pin) (PROTOCOL 11.1)", cmd)
	}
	s.announceLocked(&change{mod: []string{e.id}})
	return obj{{"BaseResponse", baseResponse(0)}}, nil
}

// verifyEntry is an entry of webwxverifyuser's VerifyUserList.
type verifyEntry struct {
	id, ticket string
}

// handleVerifyUser answers webwxverifyuser (PROTOCOL 11.2).
func (s *Server) handleVerifyUser(c *call) (obj, *refusal) {
	ss := c.ss
	skey, _ := c.req.str("skey")
	opcode, _ := c.req.num("Opcode")
	list, _ := c.req.arr("VerifyUserList")
	content, _ := c.req.str("VerifyContent")
	if !ss.validSkey(skey) {
		return nil, refuse(retParam, "the body's lower-case skey is not a skey of the session (PROTOCOL 11.2)")
	}
	var entries []verifyEntry
	for _, raw := range list {
		var v jobj
		if json.Unmarshal(raw, &v) != nil || v == nil {
			continue
		}
		un, _ := v.str("Value")
		ticket, _ := v.str("VerifyUserTicket")
		entries = append(entries, verifyEntry{ss.ids[un], ticket})
	}
	if len(entries) == 0 {
		return nil, refuse(retParam, "the VerifyUserList has no entry (PROTOCOL 11.2)")
	}
	switch opcode {
	case 3: // accept
		for _, v := range entries {
			ri, ok := s.acct.requests[v.id]
			if v.id == "" || !ok {
				return nil, refuse(retParam, "Opcode 3: no pending friend request from this Value")
			}
			if v.ticket != ri.Ticket {
				return nil, refuse(retParam, "Opcode 3: VerifyUserTicket is not the request's ticket (PROTOCOL 11.2)")
			}
		}
		for _, v := range entries {
			ri := s.acct.requests[v.id]
			delete(s.acct.requests, v.id)
			s.befriendLocked(v.id, ri)
		}
	case 1, 2: // add, send a request
		for _, v := range entries {
			if v.id == "" {
				return nil, refuse(retParam, "Opcode %d: a Value is not a UserName of this session", opcode)
			}
		}
		for _, v := range entries {
			if e := s.acct.byID[v.id]; e != nil && e.kind == kindStranger {
				s.acct.sentRequests[v.id] = RecommendInfo{ID: v.id, Content: content}
			}
		}
	case 4: // reject
		for _, v := range entries {
			delete(s.acct.requests, v.id)
		}
	case 5, 6: // replies: nothing the fake models
	default:
		return nil, refuse(retParam, "Opcode %d is not one of PROTOCOL 11.2", opcode)
	}
	return obj{{"BaseResponse", baseResponse(0)}}, nil
}

// befriendLocked makes id a friend, creating the person from ri if the account does not know
// them, and reports it.
func (s *Server) befriendLocked(id string, ri RecommendInfo) {
	e := s.acct.byID[id]
	if e == nil {
		e = &entity{id: id, kind: kindStranger, contact: Contact{ID: id}}
		s.acct.addEntity(e)
	}
	if e.kind != kindStranger {
		return
	}
	c := &e.contact
	fillStr(&c.NickName, ri.NickName)
	fillStr(&c.NickName, id)
	fillStr(&c.Alias, ri.Alias)
	fillStr(&c.Province, ri.Province)
	fillStr(&c.City, ri.City)
	if c.Sex == 0 {
		c.Sex = ri.Sex
	}
	c.ContactFlag = 3
	e.kind = kindPerson
	s.acct.contacts = append(s.acct.contacts, e)
	var m sysText
	m.text("你已添加了 ").name(c.NickName).text("，现在可以开始聊天了。")
	s.announceLocked(&change{mod: []string{id}}, Message{From: id, Type: 10000, Content: m.String()})
}

// handleCreateChatroom answers webwxcreatechatroom (PROTOCOL 11.3).
func (s *Server) handleCreateChatroom(c *call) (obj, *refusal) {
	ss := c.ss
	list, _ := c.req.arr("MemberList")
	topic, _ := c.req.str("Topic")
	var names []string
	for _, raw := range list {
		var v jobj
		if json.Unmarshal(raw, &v) != nil || v == nil {
			continue
		}
		un, _ := v.str("UserName")
		names = append(names, un)
	}
	ids, rf := s.friendsLocked(ss, names)
	if rf != nil {
		return nil, rf
	}
	if len(ids) < 2 {
		return nil, refuse(retLogic, "a group needs at least two friends besides self")
	}
	if len(ids)+1 > maxGroupMembers {
		return nil, refuse(retLogic, "a group has at most %d people", maxGroupMembers)
	}
	self := s.acct.self.id
	g := &Group{ID: fmt.Sprintf("%d@chatroom", 20000000000+s.nextSerial()), NickName: escapeHTML(topic), Owner: self}
	g.Members = append(g.Members, Member{ID: self})
	for _, id := range ids {
		g.Members = append(g.Members, Member{ID: id})
	}
	e := &entity{id: g.ID, kind: kindGroup, group: g}
	s.acct.addEntity(e)
	ss.assign(g.ID, kindGroup)
	s.announceLocked(&change{mod: []string{g.ID}}, s.inviteMessageLocked(e, self, ids))
	return obj{
		{"BaseResponse", baseResponse(0)},
		{"Topic", g.NickName},
		{"PYInitial", ""},
		{"QuanPin", ""},
		{"MemberCount", len(g.Members)},
		{"MemberList", s.memberListLocked(ss, g)},
		{"ChatRoomName", ss.userName(g.ID)},
		{"BlackList", ""},
	}, nil
}

// handleUpdateChatroom answers webwxupdatechatroom (PROTOCOL 11.4).
func (s *Server) handleUpdateChatroom(c *call) (obj, *refusal) {
	ss := c.ss
	fun := c.r.URL.Query().Get("fun")
	un, _ := c.req.str("ChatRoomName")
	e := s.acct.byID[ss.ids[un]]
	if e == nil || e.kind != kindGroup {
		return nil, refuse(retParam, "ChatRoomName is not a group of this session")
	}
	g := e.group
	self := s.acct.self.id
	if !g.hasMember(self) {
		return nil, refuse(retLogic, "self is not a member of the group")
	}
	switch fun {
	case "addmember", "invitemember":
		key := "AddMemberList"
		if fun == "invitemember" {
			key = "InviteMemberList"
		}
		list, ok := c.req.str(key)
		if !ok || list == "" {
			return nil, refuse(retParam, "fun=%s without %s (PROTOCOL 11.4)", fun, key)
		}
		ids, rf := s.friendsLocked(ss, strings.Split(list, ","))
		if rf != nil {
			return nil, rf
		}
		ids = slices.DeleteFunc(ids, g.hasMember)
		size := len(g.Members) + len(ids)
		switch {
		case size > maxGroupMembers:
			return nil, refuse(retLogic, "a group has at most %d members", maxGroupMembers)
		case fun == "addmember" && (g.InviteOnly || size >= inviteStartCount):
			return nil, refuse(retParam, "the group needs fun=invitemember (PROTOCOL 11.4: %d members or more, or invite-only)", inviteStartCount)
		}
		if len(ids) > 0 {
			for _, id := range ids {
				g.Members = append(g.Members, Member{ID: id})
			}
			s.announceLocked(&change{mod: []string{g.ID}}, s.inviteMessageLocked(e, self, ids))
		}
	case "delmember":
		list, ok := c.req.str("DelMemberList")
		if !ok || list == "" {
			return nil, refuse(retParam, "fun=delmember without DelMemberList (PROTOCOL 11.4)")
		}
		if g.Owner != self {
			return nil, refuse(retLogic, "only the owner removes members (PROTOCOL 11.4)")
		}
		var ids []string
		for _, un := range strings.Split(list, ",") {
			id := ss.ids[un]
			if id == "" || id == self || !g.hasMember(id) {
				return nil, refuse(retParam, "DelMemberList names someone who is not a member, or self")
			}
			ids = append(ids, id)
		}
		var m sysText
		m.text("你将").names(s.memberNamesLocked(g, ids)).text("移出了群聊")
		g.Members = slices.DeleteFunc(g.Members, func(m Member) bool { return slices.Contains(ids, m.ID) })
		s.announceLocked(&change{mod: []string{g.ID}}, Message{Group: g.ID, Type: 10000, Content: m.String()})
	case "modtopic":
		topic, ok := c.req.str("NewTopic")
		if !ok || topic == "" {
			return nil, refuse(retParam, "fun=modtopic without a NewTopic (PROTOCOL 11.4)")
		}
		g.NickName = escapeHTML(topic)
		var m sysText
		m.text("你修改群名为“").name(g.NickName).text("”")
		s.announceLocked(&change{mod: []string{g.ID}}, Message{Group: g.ID, Type: 10000, Content: m.String()})
	case "quitchatroom":
		g.Members = slices.DeleteFunc(g.Members, func(m Member) bool { return m.ID == self })
		s.announceLocked(&change{mod: []string{g.ID}})
	default:
		return nil, refuse(retParam, "fun=%q is not one of PROTOCOL 11.4", fun)
	}
	return obj{
		{"BaseResponse", baseResponse(0)},
		{"MemberCount", len(g.Members)},
		{"MemberList", s.memberListLocked(ss, g)},
	}, nil
}

// friendsLocked maps UserNames to the stable ids of friends, without duplicates: Ret 1 for
// an unknown UserName, -2 for someone who is not a friend (PROTOCOL 11.3: members must be
// friends).
func (s *Server) friendsLocked(ss *session, userNames []string) ([]string, *refusal) {
	var ids []string
	for _, un := range userNames {
		e := s.acct.byID[ss.ids[strings.TrimSpace(un)]]
		switch {
		case e == nil:
			return nil, refuse(retParam, "a UserName in the member list is not one of this session")
		case e.kind != kindPerson:
			return nil, refuse(retLogic, "a member is not a friend (PROTOCOL 11.3: members must be friends)")
		case !slices.Contains(ids, e.id):
			ids = append(ids, e.id)
		}
	}
	return ids, nil
}

// inviteMessageLocked is the system message of inviter adding ids to the group e.
func (s *Server) inviteMessageLocked(e *entity, inviter string, ids []string) Message {
	var m sysText
	m.names(s.memberNamesLocked(e.group, []string{inviter})).text("邀请").names(s.memberNamesLocked(e.group, ids)).text("加入了群聊")
	return Message{Group: e.id, Type: 10000, Content: m.String()}
}

// memberNamesLocked returns the wire names of ids in group g: their display name in the
// group, else their nickname.
func (s *Server) memberNamesLocked(g *Group, ids []string) []string {
	var out []string
	for _, id := range ids {
		m := Member{ID: id}
		for _, gm := range g.Members {
			if gm.ID == id {
				m = gm
			}
		}
		name := m.DisplayName
		if name == "" {
			name = s.acct.memberNickName(m)
		}
		if name == "" {
			name = id
		}
		out = append(out, name)
	}
	return out
}

// announceLocked records an account change and the messages that go with it for the next
// webwxsync, and wakes the waiting synccheck.
func (s *Server) announceLocked(ch *change, msgs ...Message) {
	s.appendEventLocked(event{created: time.Now().Unix(), selector: 4, change: ch})
	for _, m := range msgs {
		s.appendEventLocked(s.newEventLocked(m))
	}
	s.broadcastLocked()
}

// addEntity adds e to the index.
func (ix *index) addEntity(e *entity) {
	ix.byID[e.id] = e
	ix.all = append(ix.all, e)
	switch e.kind {
	case kindGroup:
		ix.groups = append(ix.groups, e)
	case kindPerson, kindMP, kindSpecial:
		ix.contacts = append(ix.contacts, e)
	}
}

// removeEntity removes the entity id from the index.
func (ix *index) removeEntity(id string) {
	delete(ix.byID, id)
	is := func(e *entity) bool { return e.id == id }
	ix.all = slices.DeleteFunc(ix.all, is)
	ix.groups = slices.DeleteFunc(ix.groups, is)
	ix.contacts = slices.DeleteFunc(ix.contacts, is)
}

// sysText builds the wire Content of a system message: literal text HTML-escaped, names
// (wire form, with their emoji spans and entities) as they are.
type sysText struct{ b strings.Builder }

func (t *sysText) text(s string) *sysText { t.b.WriteString(escapeHTML(s)); return t }
func (t *sysText) name(s string) *sysText { t.b.WriteString(s); return t }

// names writes "a"、"b".
func (t *sysText) names(ns []string) *sysText {
	for i, n := range ns {
		if i > 0 {
			t.text("、")
		}
		t.text(`"`).name(n).text(`"`)
	}
	return t
}

func (t *sysText) String() string { return t.b.String() }
