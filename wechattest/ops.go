package wechattest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file serves the contact and group operations of PROTOCOL 11 (webwxoplog,
// webwxverifyuser, webwxcreatechatroom, webwxupdatechatroom) and the phone-side changes of
// groups. Each accepted operation changes the account, and the change reaches the client
// through the next webwxsync as the real server sends it: the contact or group in
// ModContactList (a group with its whole member list), a deleted group in DelContactList,
// and, where the real server writes one, a system message (MsgType 10000) in the chat:
//
//	accept a friend request  你已添加了 Carol，现在可以开始聊天了。 (from the new friend)
//	create a group, add      "Me"邀请"Bob"、"Carol"加入了群聊 (in the group)
//	or invite members
//	remove members           你将"Bob"移出了群聊
//	rename a group           你修改群名为“New name”
//
// Refusals answer the endpoint's zeroed body with a Ret code. The real codes for most of
// these cases are not documented (PROTOCOL 13, 15); the fake uses Ret 1 (parameter error)
// for a request it cannot parse or that names something it does not know, and Ret -2
// (MMWEBWX_ERR_LOGIC) for a request it understands but refuses:
//
//   - webwxoplog: Ret 1 for a CmdId other than 2 (remark) and 3 (pin), a UserName that is not
//     a friend (CmdId 2) or not a chat (CmdId 3), an OP other than 0 and 1. CmdId 3 sets the
//     remark to the RemarkName sent, "" if none, as the real server does (PROTOCOL 11.1).
//   - webwxverifyuser: Ret 1 unless the lower-case skey is the session's, VerifyUserListSize
//     and SceneListCount match their lists and the SceneList is not empty; Opcode 3 needs,
//     for each Value, a friend request delivered from that person and not accepted yet, and
//     its Ticket (Ret 1); Opcode 2 needs people who are not contacts (Ret 1); other Opcodes
//     answer Ret 1.
//   - webwxcreatechatroom: Ret 1 if MemberCount differs from the list's length, Topic is
//     missing or a UserName is unknown; Ret -2 for a member who is not a friend, fewer than
//     two members, or more than 500 people.
//   - webwxupdatechatroom: Ret 1 for an unknown fun or ChatRoomName (a group deleted with
//     [Server.DeleteGroup] no longer exists), a missing list, an unknown UserName in it;
//     Ret -2 if self is not a member, for a member who is not a friend (addmember,
//     invitemember) and for more than 500 members. fun=addmember answers Ret 1 when the
//     group would reach 40 members (InviteStartCount) or is [Group.InviteOnly]: the client
//     must use fun=invitemember, whose invitees the fake lets join at once. fun=delmember
//     answers Ret -2 unless self owns the group (the owner is the only one who may remove
//     members), Ret 1 for someone who is not a member or for self. fun=modtopic needs a
//     NewTopic (Ret 1).
//
// [Server.RateLimitOps] makes the next operations answer Ret 1205 (too frequent) without
// effect.

const (
	flagTop          = 0x800 // CONTACTFLAG_TOPCONTACT (PROTOCOL 5.6)
	inviteStartCount = 40    // webwxinit's InviteStartCount (PROTOCOL 5.1)
	maxGroupMembers  = 500
	retParam         = 1
	retLogic         = -2
	retFreq          = 1205
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

func zeroBase(ret int) obj { return obj{{"BaseResponse", baseResponse(ret)}} }

func zeroCreateChatroom(ret int) obj {
	return obj{
		{"BaseResponse", baseResponse(ret)}, {"Topic", ""}, {"PYInitial", ""}, {"QuanPin", ""},
		{"MemberCount", 0}, {"MemberList", arr{}}, {"ChatRoomName", ""}, {"BlackList", ""},
	}
}

func zeroUpdateChatroom(ret int) obj {
	return obj{{"BaseResponse", baseResponse(ret)}, {"MemberCount", 0}, {"MemberList", arr{}}}
}

// RateLimitOps makes the next n contact and group operations (webwxoplog, webwxverifyuser,
// webwxcreatechatroom, webwxupdatechatroom) answer Ret 1205, "operation too frequent"
// (PROTOCOL 12.7), without effect. n <= 0 does nothing.
func (s *Server) RateLimitOps(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.acct.refuse = append(s.acct.refuse, retFreq)
	}
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

// takeRefusalLocked returns the Ret the next operation must answer, or 0.
func (s *Server) takeRefusalLocked() int {
	if len(s.acct.refuse) == 0 {
		return 0
	}
	ret := s.acct.refuse[0]
	s.acct.refuse = s.acct.refuse[1:]
	return ret
}

// handleOplog answers webwxoplog (PROTOCOL 11.1).
func (s *Server) handleOplog(c *call) (obj, int) {
	if ret := s.takeRefusalLocked(); ret != 0 {
		return nil, ret
	}
	cmd, _ := c.req.num("CmdId")
	un, _ := c.req.str("UserName")
	remark, hasRemark := c.req.str("RemarkName")
	e := s.acct.byID[c.ss.ids[un]]
	if e == nil {
		return nil, retParam
	}
	switch cmd {
	case 2:
		if !hasRemark || e.kind != kindPerson {
			return nil, retParam
		}
		e.contact.RemarkName = escapeHTML(remark)
	case 3:
		op, ok := c.req.num("OP")
		if !ok || op != 0 && op != 1 {
			return nil, retParam
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
			return nil, retParam
		}
	default:
		return nil, retParam
	}
	s.announceLocked(&change{mod: []string{e.id}})
	return obj{{"BaseResponse", baseResponse(0)}}, 0
}

// verifyEntry is an entry of webwxverifyuser's VerifyUserList.
type verifyEntry struct {
	id, ticket string
}

// handleVerifyUser answers webwxverifyuser (PROTOCOL 11.2).
func (s *Server) handleVerifyUser(c *call) (obj, int) {
	if ret := s.takeRefusalLocked(); ret != 0 {
		return nil, ret
	}
	ss := c.ss
	skey, _ := c.req.str("skey")
	opcode, _ := c.req.num("Opcode")
	size, _ := c.req.num("VerifyUserListSize")
	list, okList := c.req.arr("VerifyUserList")
	scenes, okScenes := c.req.arr("SceneList")
	sceneCount, _ := c.req.num("SceneListCount")
	content, _ := c.req.str("VerifyContent")
	if skey != ss.skey || !okList || len(list) == 0 || size != int64(len(list)) ||
		!okScenes || len(scenes) == 0 || sceneCount != int64(len(scenes)) {
		return nil, retParam
	}
	var entries []verifyEntry
	for _, raw := range list {
		var v jobj
		if json.Unmarshal(raw, &v) != nil || v == nil {
			return nil, retParam
		}
		un, _ := v.str("Value")
		ticket, _ := v.str("VerifyUserTicket")
		entries = append(entries, verifyEntry{ss.ids[un], ticket})
	}
	switch opcode {
	case 3: // accept
		for _, v := range entries {
			ri, ok := s.acct.requests[v.id]
			if v.id == "" || !ok || v.ticket != ri.Ticket {
				return nil, retParam
			}
		}
		for _, v := range entries {
			ri := s.acct.requests[v.id]
			delete(s.acct.requests, v.id)
			s.befriendLocked(v.id, ri)
		}
	case 2: // send a request
		for _, v := range entries {
			if e := s.acct.byID[v.id]; e == nil || e.kind != kindStranger {
				return nil, retParam
			}
		}
		for _, v := range entries {
			s.acct.sentRequests[v.id] = RecommendInfo{ID: v.id, Content: content}
		}
	default:
		return nil, retParam
	}
	return obj{{"BaseResponse", baseResponse(0)}}, 0
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
func (s *Server) handleCreateChatroom(c *call) (obj, int) {
	if ret := s.takeRefusalLocked(); ret != 0 {
		return nil, ret
	}
	ss := c.ss
	count, _ := c.req.num("MemberCount")
	list, ok := c.req.arr("MemberList")
	topic, okTopic := c.req.str("Topic")
	if !ok || !okTopic || count != int64(len(list)) {
		return nil, retParam
	}
	var names []string
	for _, raw := range list {
		var v jobj
		if json.Unmarshal(raw, &v) != nil || v == nil {
			return nil, retParam
		}
		un, _ := v.str("UserName")
		names = append(names, un)
	}
	ids, ret := s.friendsLocked(ss, names)
	if ret != 0 {
		return nil, ret
	}
	if len(ids) < 2 || len(ids)+1 > maxGroupMembers {
		return nil, retLogic
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
	}, 0
}

// handleUpdateChatroom answers webwxupdatechatroom (PROTOCOL 11.4).
func (s *Server) handleUpdateChatroom(c *call) (obj, int) {
	if ret := s.takeRefusalLocked(); ret != 0 {
		return nil, ret
	}
	ss := c.ss
	fun := c.r.URL.Query().Get("fun")
	un, _ := c.req.str("ChatRoomName")
	e := s.acct.byID[ss.ids[un]]
	if e == nil || e.kind != kindGroup {
		return nil, retParam
	}
	g := e.group
	self := s.acct.self.id
	if !g.hasMember(self) {
		return nil, retLogic
	}
	switch fun {
	case "addmember", "invitemember":
		key := "AddMemberList"
		if fun == "invitemember" {
			key = "InviteMemberList"
		}
		list, ok := c.req.str(key)
		if !ok || list == "" {
			return nil, retParam
		}
		ids, ret := s.friendsLocked(ss, strings.Split(list, ","))
		if ret != 0 {
			return nil, ret
		}
		ids = slices.DeleteFunc(ids, g.hasMember)
		size := len(g.Members) + len(ids)
		switch {
		case size > maxGroupMembers:
			return nil, retLogic
		case fun == "addmember" && (g.InviteOnly || size >= inviteStartCount):
			return nil, retParam // use invitemember (PROTOCOL 11.4)
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
			return nil, retParam
		}
		if g.Owner != self {
			return nil, retLogic
		}
		var ids []string
		for _, un := range strings.Split(list, ",") {
			id := ss.ids[un]
			if id == "" || id == self || !g.hasMember(id) {
				return nil, retParam
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
			return nil, retParam
		}
		g.NickName = escapeHTML(topic)
		var m sysText
		m.text("你修改群名为“").name(g.NickName).text("”")
		s.announceLocked(&change{mod: []string{g.ID}}, Message{Group: g.ID, Type: 10000, Content: m.String()})
	default:
		return nil, retParam
	}
	return obj{
		{"BaseResponse", baseResponse(0)},
		{"MemberCount", len(g.Members)},
		{"MemberList", s.memberListLocked(ss, g)},
	}, 0
}

// friendsLocked maps UserNames to the stable ids of friends, without duplicates: Ret 1 for
// an unknown UserName, -2 for someone who is not a friend.
func (s *Server) friendsLocked(ss *session, userNames []string) ([]string, int) {
	var ids []string
	for _, un := range userNames {
		e := s.acct.byID[ss.ids[strings.TrimSpace(un)]]
		switch {
		case e == nil:
			return nil, retParam
		case e.kind != kindPerson:
			return nil, retLogic
		case !slices.Contains(ids, e.id):
			ids = append(ids, e.id)
		}
	}
	return ids, 0
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

// assign gives the new entity id of kind k its UserName in the session.
func (ss *session) assign(id string, k kind) {
	if _, ok := ss.names[id]; ok {
		return
	}
	un := newUserName(ss.no, id, k)
	ss.names[id] = un
	ss.ids[un] = id
	if k == kindGroup {
		ss.encry[id] = "@" + hashHex(32, "encry", strconv.Itoa(ss.no), id)
	}
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
