package wechattest

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// contactObj renders a person, official account, special account, self or
// stranger as a Contact object (PROTOCOL 5.5).
func (s *Server) contactObj(ss *session, e *entity) obj {
	c := e.contact
	un := ss.userName(e.id)
	attr, sns, keyword := int64(0), 0, ""
	switch e.kind {
	case kindPerson, kindSelf, kindStranger:
		attr, sns = int64(hash32(e.id)), 1
	case kindMP, kindSpecial:
		keyword = e.id[:min(3, len(e.id))]
	}
	return obj{
		{"Uin", c.Uin},
		{"UserName", un},
		{"NickName", c.NickName},
		{"HeadImgUrl", fmt.Sprintf("/cgi-bin/mmwebwx-bin/webwxgeticon?seq=%d&username=%s&skey=%s", hash32("seq"+e.id)%1000000000, un, ss.skey)},
		{"ContactFlag", c.ContactFlag},
		{"MemberCount", 0},
		{"MemberList", arr{}},
		{"RemarkName", c.RemarkName},
		{"HideInputBarFlag", 0},
		{"Sex", c.Sex},
		{"Signature", c.Signature},
		{"VerifyFlag", c.VerifyFlag},
		{"OwnerUin", 0},
		{"PYInitial", ""},
		{"PYQuanPin", ""},
		{"RemarkPYInitial", ""},
		{"RemarkPYQuanPin", ""},
		{"StarFriend", c.StarFriend},
		{"AppAccountFlag", 0},
		{"Statues", 0},
		{"AttrStatus", attr},
		{"Province", c.Province},
		{"City", c.City},
		{"Alias", c.Alias},
		{"SnsFlag", sns},
		{"UniFriend", 0},
		{"DisplayName", ""},
		{"ChatRoomId", 0},
		{"KeyWord", keyword},
		{"EncryChatRoomId", ""},
		{"IsOwner", 0},
	}
}

// groupObj renders a group. With members it carries the MemberList, the
// EncryChatRoomId and the owner, as webwxbatchgetcontact does; without,
// MemberCount is 0 and MemberList empty, as in webwxinit and
// webwxgetcontact (PROTOCOL 5.1, 5.3).
func (s *Server) groupObj(ss *session, e *entity, members bool) obj {
	g := e.group
	un := ss.userName(e.id)
	flag := 2
	if g.Saved {
		flag = 7 // CONTACTFLAG_CONTACT | CHATCONTACT | CHATROOMCONTACT (PROTOCOL 5.6)
	}
	if g.Pinned {
		flag |= flagTop
	}
	o := s.contactObj(ss, &entity{id: e.id, kind: kindGroup, contact: Contact{NickName: g.NickName, ContactFlag: flag}})
	o = o.set("HeadImgUrl", fmt.Sprintf("/cgi-bin/mmwebwx-bin/webwxgetheadimg?seq=%d&username=%s&skey=", hash32("seq"+e.id)%1000000000, un))
	o = o.set("Statues", 1)
	if !members {
		return o
	}
	list := s.memberListLocked(ss, g)
	var ownerUin int64
	isOwner := 0
	if g.Owner != "" && g.Owner == s.acct.self.id {
		ownerUin, isOwner = s.acct.self.contact.Uin, 1
	}
	o = o.set("MemberCount", len(g.Members))
	o = o.set("MemberList", list)
	o = o.set("OwnerUin", ownerUin)
	o = o.set("EncryChatRoomId", ss.encry[e.id])
	o = o.set("IsOwner", isOwner)
	return append(o, member{"ChatRoomOwner", ss.userName(g.Owner)})
}

// memberListLocked renders a group's MemberList (PROTOCOL 5.5).
func (s *Server) memberListLocked(ss *session, g *Group) arr {
	list := make(arr, 0, len(g.Members))
	for _, m := range g.Members {
		var uin int64
		if m.ID == s.acct.self.id {
			uin = s.acct.self.contact.Uin
		}
		list = append(list, obj{
			{"Uin", uin},
			{"UserName", ss.userName(m.ID)},
			{"NickName", s.acct.memberNickName(m)},
			{"AttrStatus", int64(hash32(m.ID))},
			{"PYInitial", ""},
			{"PYQuanPin", ""},
			{"RemarkPYInitial", ""},
			{"RemarkPYQuanPin", ""},
			{"MemberStatus", 0},
			{"DisplayName", m.DisplayName},
			{"KeyWord", ""},
		})
	}
	return list
}

// entityObj renders any entity, groups without members.
func (s *Server) entityObj(ss *session, e *entity) obj {
	if e.kind == kindGroup {
		return s.groupObj(ss, e, false)
	}
	return s.contactObj(ss, e)
}

// contactList is what webwxgetcontact pages over: persons, official
// accounts, special accounts, saved groups, then self.
func (s *Server) contactList() []*entity {
	var list []*entity
	for _, k := range []kind{kindPerson, kindMP, kindSpecial} {
		for _, e := range s.acct.contacts {
			if e.kind == k {
				list = append(list, e)
			}
		}
	}
	for _, e := range s.acct.groups {
		if e.group.Saved {
			list = append(list, e)
		}
	}
	return append(list, s.acct.self)
}

// serveGetContact answers webwxgetcontact (PROTOCOL 5.3): GET, or POST with
// any body, after the session checks of authLocked; the skey parameter must
// be a skey of the session (Ret 1100, as for stale credentials). Seq is the
// cursor of the next page, 0 on the last one; a seq that is not a number
// means the first page.
func (s *Server) serveGetContact(x *exchange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, rf := s.authLocked(x)
	if rf == nil && !ss.validSkey(x.r.URL.Query().Get("skey")) {
		rf = refuse(1100, "the skey parameter is not a skey of the session (PROTOCOL 5.3)")
	}
	if rf != nil {
		s.noteLocked(x, rf.ret, rf.reason)
		writeJSONBody(x.w, multiline(zeroGetContact(rf.ret)))
		return
	}
	seq, err := strconv.Atoi(x.r.URL.Query().Get("seq"))
	if err != nil || seq < 0 {
		seq = 0
	}
	all := s.contactList()
	start := min(seq, len(all))
	end := min(start+s.cfg.pageSize, len(all))
	page := make(arr, 0, end-start)
	for _, e := range all[start:end] {
		page = append(page, s.entityObj(ss, e))
	}
	next := 0
	if end < len(all) {
		next = end
	}
	writeJSONBody(x.w, multiline(obj{
		{"BaseResponse", baseResponse(0)},
		{"MemberCount", len(page)},
		{"MemberList", page},
		{"Seq", next},
	}))
}

func zeroGetContact(ret int) obj {
	return obj{{"BaseResponse", baseResponse(ret)}, {"MemberCount", 0}, {"MemberList", arr{}}, {"Seq", 0}}
}

// maxBatch is the largest List webwxbatchgetcontact accepts (PROTOCOL 5.4).
const maxBatch = 50

func zeroBatch(ret int) obj {
	return obj{{"BaseResponse", baseResponse(ret)}, {"Count", 0}, {"ContactList", arr{}}}
}

// handleBatchGetContact answers webwxbatchgetcontact (PROTOCOL 5.4). More
// than 50 entries answer Ret 1: 50 is the limit PROTOCOL 5.4 gives, which
// every client chunks by. Entries that are not objects, and UserNames the
// session does not know, are skipped, as the official client expects of a
// failing UserName; a missing List is an empty one. A group member who is
// not a contact is only returned when EncryChatRoomId (or ChatRoomId) names
// a group that has them (PROTOCOL 5.8).
func (s *Server) handleBatchGetContact(c *call) (obj, *refusal) {
	list, _ := c.req.arr("List")
	if len(list) > maxBatch {
		return nil, refuse(1, "%d entries; at most %d per request (PROTOCOL 5.4)", len(list), maxBatch)
	}
	out := arr{}
	for _, raw := range list {
		var ent jobj
		if json.Unmarshal(raw, &ent) != nil || ent == nil {
			continue
		}
		un, _ := ent.str("UserName")
		room, ok := ent.str("EncryChatRoomId")
		if !ok || room == "" {
			room, _ = ent.str("ChatRoomId")
		}
		e := s.acct.byID[c.ss.ids[un]]
		switch {
		case e == nil:
			// unknown UserNames are skipped
		case e.kind == kindGroup:
			out = append(out, s.groupObj(c.ss, e, true))
		case e.kind == kindStranger:
			// A stranger is only visible through a group that has them.
			if g := s.groupByRoomLocked(c.ss, room); g != nil && g.group.hasMember(e.id) {
				out = append(out, s.contactObj(c.ss, e))
			}
		default:
			out = append(out, s.contactObj(c.ss, e))
		}
	}
	return obj{{"BaseResponse", baseResponse(0)}, {"Count", len(out)}, {"ContactList", out}}, nil
}

// groupByRoomLocked finds a group by its EncryChatRoomId or UserName.
func (s *Server) groupByRoomLocked(ss *session, room string) *entity {
	if room == "" {
		return nil
	}
	for _, g := range s.acct.groups {
		if ss.encry[g.id] == room || ss.names[g.id] == room {
			return g
		}
	}
	return nil
}
