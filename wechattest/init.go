package wechattest

import (
	"html"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// call is one JSON call on the main host that passed the session checks.
type call struct {
	w   http.ResponseWriter
	r   *http.Request
	ss  *session
	req jobj
}

// jsonEndpoint describes a JSON endpoint of the main host.
type jsonEndpoint struct {
	zero     func(ret int) obj // the zeroed error body (PROTOCOL 14.6)
	initCall bool              // webwxinit's skey rule
	compact  bool              // answer in the one-line layout
	handle   func(s *Server, c *call) (obj, int)
}

// jsonEndpointFor returns the JSON endpoint named name.
func jsonEndpointFor(name string) (jsonEndpoint, bool) {
	switch name {
	case "webwxinit":
		return jsonEndpoint{zero: zeroInit, initCall: true, handle: (*Server).handleInit}, true
	case "webwxstatusnotify":
		return jsonEndpoint{zero: zeroMsgID, compact: true, handle: (*Server).handleStatusNotify}, true
	case "webwxbatchgetcontact":
		return jsonEndpoint{zero: zeroBatch, handle: (*Server).handleBatchGetContact}, true
	case "webwxsync":
		return jsonEndpoint{zero: zeroSync, handle: (*Server).handleSync}, true
	case "webwxrevokemsg":
		return jsonEndpoint{zero: zeroRevoke, compact: true, handle: (*Server).handleRevoke}, true
	}
	if ep, ok := opEndpointFor(name); ok {
		return ep, true
	}
	if rule, ok := sendRuleFor(name); ok {
		return jsonEndpoint{zero: zeroSend, compact: true, handle: func(s *Server, c *call) (obj, int) {
			return s.handleSend(c, name, rule)
		}}, true
	}
	return jsonEndpoint{}, false
}

// serveJSON runs the checks every JSON call of the main host goes through,
// then the endpoint: the host must be the session's main host, the session
// live, the wxuin/wxsid cookies present (else Ret 1100, or the retcode the
// session ended with); the body must be JSON (else Ret 1200); and the
// BaseRequest must carry the session's Uin, Sid and current Skey (else Ret
// 1100).
func (s *Server) serveJSON(w http.ResponseWriter, r *http.Request, host string, body []byte, ep jsonEndpoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fail := func(ret int) { writeJSONBody(w, multiline(ep.zero(ret))) }
	ss, ret := s.authLocked(r, host)
	if ret != 0 {
		fail(ret)
		return
	}
	req, ok := parseRequest(body)
	if !ok {
		fail(1200)
		return
	}
	if ret := checkBase(ss, req, ep.initCall); ret != 0 {
		fail(ret)
		return
	}
	resp, ret := ep.handle(s, &call{w: w, r: r, ss: ss, req: req})
	if ret != 0 {
		fail(ret)
		return
	}
	if ep.compact {
		writeJSONBody(w, compact(resp))
	} else {
		writeJSONBody(w, multiline(resp))
	}
}

func zeroMsgID(ret int) obj {
	return obj{{"BaseResponse", baseResponse(ret)}, {"MsgID", ""}}
}

// zeroUser is the empty User of an error body.
func zeroUser() obj {
	return obj{
		{"Uin", 0}, {"UserName", ""}, {"NickName", ""}, {"HeadImgUrl", ""}, {"RemarkName", ""},
		{"PYInitial", ""}, {"PYQuanPin", ""}, {"RemarkPYInitial", ""}, {"RemarkPYQuanPin", ""},
		{"HideInputBarFlag", 0}, {"StarFriend", 0}, {"Sex", 0}, {"Signature", ""}, {"AppAccountFlag", 0},
		{"VerifyFlag", 0}, {"ContactFlag", 0}, {"WebWxPluginSwitch", 0}, {"HeadImgFlag", 0}, {"SnsFlag", 0},
	}
}

func zeroInit(ret int) obj {
	return obj{
		{"BaseResponse", baseResponse(ret)},
		{"Count", 0},
		{"ContactList", arr{}},
		{"SyncKey", zeroSyncKey()},
		{"User", zeroUser()},
		{"ChatSet", ""},
		{"SKey", ""},
		{"ClientVersion", 0},
		{"SystemTime", 0},
		{"GrayScale", 0},
		{"InviteStartCount", 0},
		{"MPSubscribeMsgCount", 0},
		{"MPSubscribeMsgList", arr{}},
		{"ClickReportInterval", 0},
	}
}

// initContacts are the recent chats of webwxinit's ContactList:
// filehelper, the unsaved groups and up to ten saved ones, and two friends.
func (s *Server) initContacts() []*entity {
	var list []*entity
	if e := s.acct.byID["filehelper"]; e != nil && e.kind == kindSpecial {
		list = append(list, e)
	}
	saved := 0
	for _, g := range s.acct.groups {
		if !g.group.Saved || saved < 10 {
			list = append(list, g)
		}
		if g.group.Saved {
			saved++
		}
	}
	persons := 0
	for _, e := range s.acct.contacts {
		if e.kind == kindPerson && persons < 2 {
			list = append(list, e)
			persons++
		}
	}
	return list
}

// handleInit answers webwxinit (PROTOCOL 5.1). The first call replaces the
// XML skey by a new SKey; later calls (a client restarting) answer the
// current one, and a SyncKey whose key 1 is the last one a webwxsync
// request acknowledged.
func (s *Server) handleInit(c *call) (obj, int) {
	ss := c.ss
	if !ss.inited {
		ss.inited = true
		ss.skey = "@crypt_" + hashHex(8, "skey", strconv.Itoa(ss.no)) + "_" + hashHex(32, "skey2", strconv.Itoa(ss.no))
	}
	self := s.acct.self
	contacts := arr{}
	var chatSet strings.Builder
	for _, e := range s.initContacts() {
		contacts = append(contacts, s.entityObj(ss, e))
		chatSet.WriteString(ss.userName(e.id) + ",")
	}
	if len(contacts) > 0 {
		// The real ChatSet repeats entries and ends with a comma (PROTOCOL 14.25).
		chatSet.WriteString(ss.userName(s.initContacts()[0].id) + ",")
	}
	user := s.contactObj(ss, self)
	userObj := obj{
		{"Uin", self.contact.Uin},
		{"UserName", ss.userName(self.id)},
		{"NickName", self.contact.NickName},
		{"HeadImgUrl", user.get("HeadImgUrl")},
		{"RemarkName", ""},
		{"PYInitial", ""},
		{"PYQuanPin", ""},
		{"RemarkPYInitial", ""},
		{"RemarkPYQuanPin", ""},
		{"HideInputBarFlag", 0},
		{"StarFriend", 0},
		{"Sex", self.contact.Sex},
		{"Signature", self.contact.Signature},
		{"AppAccountFlag", 0},
		{"VerifyFlag", 0},
		{"ContactFlag", 0},
		{"WebWxPluginSwitch", 0},
		{"HeadImgFlag", 1},
		{"SnsFlag", 17},
	}
	mps := arr{}
	for _, e := range s.acct.contacts {
		if e.kind == kindMP && len(mps) < 2 {
			mps = append(mps, obj{
				{"UserName", ss.userName(e.id)},
				{"MPArticleCount", 1},
				{"MPArticleList", arr{obj{
					{"Title", "Today in " + html.UnescapeString(e.contact.NickName)},
					{"Digest", "What happened today"},
					{"Cover", "https://mmbiz.qpic.cn/mmbiz_jpg/" + hashHex(16, "cover", e.id) + "/0?wx_fmt=jpeg"},
					{"Url", "http://mp.weixin.qq.com/s?__biz=" + hashHex(12, "biz", e.id) + "&mid=1&idx=1&sn=" + hashHex(32, "sn", e.id) + "#rd"},
				}}},
				{"Time", ss.loginTime.Unix() - 3600},
				{"NickName", e.contact.NickName},
			})
		}
	}
	return obj{
		{"BaseResponse", baseResponse(0)},
		{"Count", len(contacts)},
		{"ContactList", contacts},
		{"SyncKey", ss.syncKey(ss.acked)},
		{"User", userObj},
		{"ChatSet", chatSet.String()},
		{"SKey", ss.skey},
		{"ClientVersion", 369299473},
		{"SystemTime", time.Now().Unix()},
		{"GrayScale", 1},
		{"InviteStartCount", 40},
		{"MPSubscribeMsgCount", len(mps)},
		{"MPSubscribeMsgList", mps},
		{"ClickReportInterval", 600000},
	}, 0
}

// handleStatusNotify answers webwxstatusnotify (PROTOCOL 5.2). FromUserName
// must be self; Code 3 needs ToUserName self and, after webwxinit, puts the
// session online; Codes 1, 2 and 5 need a known ToUserName; other codes
// answer Ret 1.
func (s *Server) handleStatusNotify(c *call) (obj, int) {
	ss := c.ss
	selfUN := ss.userName(s.acct.self.id)
	code, ok := c.req.num("Code")
	from, _ := c.req.str("FromUserName")
	to, _ := c.req.str("ToUserName")
	if !ok || from != selfUN {
		return nil, 1
	}
	switch code {
	case 3:
		if to != selfUN {
			return nil, 1
		}
		if ss.inited && !ss.online {
			ss.online = true
			s.broadcastLocked()
		}
	case 1, 2, 5:
		if ss.ids[to] == "" {
			return nil, 1
		}
	default:
		return nil, 1
	}
	return obj{{"BaseResponse", baseResponse(0)}, {"MsgID", strconv.FormatInt(s.newMsgIDLocked(), 10)}}, 0
}

// chatListEventLocked is the MsgType 51 StatusNotifyCode 4 message that
// carries the phone's chat list after login (PROTOCOL 7.5).
func (s *Server) chatListEventLocked() event {
	var ids []string
	for _, e := range s.initContacts() {
		ids = append(ids, e.id)
	}
	xml := "<msg><op id='4'><username>" + strings.Join(ids, ",") + "</username>" +
		"<unreadchatlist><chat><username>MomentsUnreadMsgStatus</username><lastreadtime>" +
		strconv.FormatInt(time.Now().Unix()-600, 10) + "</lastreadtime></chat></unreadchatlist>" +
		"<unreadfunctionlist></unreadfunctionlist></op></msg>"
	self := s.acct.self.id
	return s.newEventLocked(Message{
		From: self, To: self, Type: 51,
		Content:              escapeHTML(xml),
		StatusNotifyCode:     4,
		StatusNotifyUserName: ids,
	})
}
