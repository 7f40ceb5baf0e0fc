package wechattest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// session is one logged-in session: the credentials of PROTOCOL 3.1, the
// UserNames of this login and the event log that webwxsync serves.
type session struct {
	no         int // login number, salts the UserNames
	mainHost   string
	uin        int64
	sid        string
	xmlSkey    string // skey of the newloginpage XML
	skey       string // SKey webwxinit issued; xmlSkey until then
	passTicket string // percent-encoded, as in the XML
	dataTicket string
	uvid       string
	authTicket string
	desktop    bool // newloginpage had mod=desktop or the UOS headers
	loginTime  time.Time

	inited bool // webwxinit answered
	online bool // webwxinit + statusnotify Code 3
	ended  int  // retcode once the session is over, else 0

	names map[string]string // stable id -> UserName
	ids   map[string]string // UserName -> stable id
	encry map[string]string // group id -> EncryChatRoomId

	base      int64    // SyncKey key 1 before the first event
	acked     int64    // highest key 1 a webwxsync request carried
	events    eventLog // event log; events.at(i) has sequence base+i+1
	lastBatch []int64  // sequences of the messages of the last webwxsync answer (FaultResend)

	uploads map[string]*partialUpload // chunked uploads in progress
	done    map[string]obj            // answers of completed uploads, for a repeated last chunk
}

// validSkey reports whether k is a skey of the session: the SKey webwxinit
// issued, or the skey of the login XML, which the real server keeps
// accepting after webwxinit (openwechat and ItChat keep using it).
func (ss *session) validSkey(k string) bool {
	return k != "" && (k == ss.skey || k == ss.xmlSkey)
}

// head is the sequence of the last event of the log.
func (ss *session) head() int64 { return ss.base + int64(ss.events.len()) }

// add appends ev to the log.
func (ss *session) add(ev event) {
	ev.seq = ss.head() + 1
	ss.events.add(ev)
}

// userName returns the UserName of id in this session, assigning a
// stranger's one to an id the account does not know.
func (ss *session) userName(id string) string {
	if id == "" {
		return ""
	}
	if un, ok := ss.names[id]; ok {
		return un
	}
	un := newUserName(ss.no, id, kindStranger)
	if isSpecial(id) {
		un = id
	}
	ss.names[id] = un
	ss.ids[un] = id
	return un
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

// syncKeyVals returns the values of SyncKey keys 2, 3 and 1000.
func (ss *session) syncKeyVals() (k2, k3, k1000 int64) {
	return ss.base + 612, ss.base + 238, ss.loginTime.Unix()
}

// syncKey builds a SyncKey object with key 1 = k1 (PROTOCOL 6.2).
func (ss *session) syncKey(k1 int64) obj {
	k2, k3, k1000 := ss.syncKeyVals()
	return keyObj([][2]int64{{1, k1}, {2, k2}, {3, k3}, {1000, k1000}})
}

// syncCheckKey builds the SyncCheckKey that goes with syncKey(k1). It has
// more keys and a different key 2, so that a client mixing the two up shows
// in [Server.Requests]; key 1 is the same.
func (ss *session) syncCheckKey(k1 int64) obj {
	k2, k3, k1000 := ss.syncKeyVals()
	return keyObj([][2]int64{{1, k1}, {2, k2 + 1}, {3, k3}, {11, ss.base + 77}, {201, k1000}, {1000, k1000}})
}

func keyObj(kv [][2]int64) obj {
	list := make(arr, len(kv))
	for i, p := range kv {
		list[i] = obj{{"Key", int(p[0])}, {"Val", p[1]}}
	}
	return obj{{"Count", len(kv)}, {"List", list}}
}

// zeroSyncKey is the SyncKey of an error body.
func zeroSyncKey() obj { return obj{{"Count", 0}, {"List", arr{}}} }

// newSessionLocked logs a new session in; s.mu must be held. A session that
// was still live ends with 1101, as when the account logs in elsewhere.
func (s *Server) newSessionLocked(desktop bool, now time.Time) *session {
	if old := s.sess; old != nil && old.ended == 0 {
		old.ended = 1101
	}
	s.logins++
	no := s.logins
	salt := strconv.Itoa(no)
	uin := s.acct.self.contact.Uin
	ss := &session{
		no:         no,
		mainHost:   s.cfg.mainHost,
		uin:        uin,
		sid:        alnum(13, "sid", salt) + "+" + alnum(1, "sid2", salt) + "/",
		xmlSkey:    "@crypt_" + hashHex(8, "xskey", salt) + "_" + hashHex(32, "xskey2", salt),
		passTicket: url.QueryEscape(alnum(24, "pt", salt) + "+" + alnum(16, "pt2", salt) + "/" + alnum(20, "pt3", salt) + "="),
		dataTicket: alnum(20, "dt", salt) + "+" + alnum(7, "dt2", salt),
		uvid:       hashHex(32, "uvid", salt),
		authTicket: alnum(60, "auth", salt) + "/" + alnum(26, "auth2", salt) + "=",
		desktop:    desktop,
		loginTime:  now,
		names:      make(map[string]string),
		ids:        make(map[string]string),
		encry:      make(map[string]string),
		base:       636444437 + int64(no)*1000000,
		uploads:    make(map[string]*partialUpload),
		done:       make(map[string]obj),
	}
	ss.skey = ss.xmlSkey
	ss.acked = ss.base
	for _, e := range s.acct.all {
		un := newUserName(no, e.id, e.kind)
		if e.kind == kindSelf {
			un = "@" + hashHex(64, "self", salt, e.id)
		}
		ss.names[e.id] = un
		ss.ids[un] = e.id
		if e.kind == kindGroup {
			ss.encry[e.id] = "@" + hashHex(32, "encry", salt, e.id)
		}
	}
	s.sess = ss
	s.sessions = append(s.sessions, ss)
	// Like the real server, the first webwxsync after login carries the
	// phone's chat list as a MsgType 51 status notification (PROTOCOL 7.5).
	s.appendEventLocked(s.chatListEventLocked())
	for _, ev := range s.pending {
		ss.add(ev)
	}
	s.pending = nil
	return ss
}

// sessionByCookiesLocked returns the session, current or ended, whose
// wxuin and wxsid cookies the request carries, or nil.
func (s *Server) sessionByCookiesLocked(r *http.Request) *session {
	for i := len(s.sessions) - 1; i >= 0; i-- {
		if checkCookies(r, s.sessions[i]) {
			return s.sessions[i]
		}
	}
	return nil
}

// checkCookies reports whether the request carries the wxuin and wxsid
// cookies of ss.
func checkCookies(r *http.Request, ss *session) bool {
	var uinOK, sidOK bool
	uin := strconv.FormatInt(ss.uin, 10)
	for _, c := range r.Cookies() {
		switch c.Name {
		case "wxuin":
			uinOK = uinOK || c.Value == uin
		case "wxsid":
			sidOK = sidOK || c.Value == ss.sid
		}
	}
	return uinOK && sidOK
}

// cookieValue returns the value of the first cookie named name, or "".
func cookieValue(r *http.Request, name string) string {
	if c, err := r.Cookie(name); err == nil {
		return c.Value
	}
	return ""
}

// refusal is a handler's reason to refuse a request: the code its answer
// carries and why (recorded in [Request.Ret] and [Request.Reason]).
type refusal struct {
	ret    int
	reason string
}

func refuse(ret int, format string, args ...any) *refusal {
	return &refusal{ret: ret, reason: fmt.Sprintf(format, args...)}
}

// authLocked checks a call of a session host: the wxuin/wxsid cookies must
// name a session (else 1100: without cookies the server answers 1100,
// PROTOCOL 3.6), the host must be its main host (else 1100: the session
// lives on the host of the redirect, PROTOCOL 2.2), and the session must be
// live (else the code it ended with, PROTOCOL 12.5).
func (s *Server) authLocked(x *exchange) (*session, *refusal) {
	ss := s.sessionByCookiesLocked(x.r)
	switch {
	case ss == nil:
		return nil, refuse(1100, "no wxuin and wxsid cookies of a session (PROTOCOL 3.6)")
	case x.host != ss.mainHost:
		return nil, refuse(1100, "the session's main host is %s, not this one (PROTOCOL 2.2)", ss.mainHost)
	case ss.ended != 0:
		return nil, refuse(ss.ended, "the session has ended with %d (PROTOCOL 12.5)", ss.ended)
	}
	return ss, nil
}

// checkBase checks the BaseRequest of a JSON body against ss (PROTOCOL
// 3.2): Uin (a number or a numeric string), Sid and Skey must be the
// session's, else Ret 1100 as for stale credentials (PROTOCOL 5.1).
// DeviceID is not checked (PROTOCOL 14.23). With initCall, Skey may also be
// "" (PROTOCOL 3.2).
func checkBase(ss *session, req jobj, initCall bool) *refusal {
	br, ok := req.obj("BaseRequest")
	if !ok {
		return refuse(1100, "no BaseRequest object (PROTOCOL 3.2; keys are case-sensitive, 3.7)")
	}
	if uin, ok := br.num("Uin"); !ok || uin != ss.uin {
		return refuse(1100, "BaseRequest.Uin is not the session's uin")
	}
	if sid, _ := br.str("Sid"); sid != ss.sid {
		return refuse(1100, "BaseRequest.Sid is not the session's sid")
	}
	skey, _ := br.str("Skey")
	if ss.validSkey(skey) || initCall && skey == "" {
		return nil
	}
	return refuse(1100, "BaseRequest.Skey is not a skey of the session")
}

// call is one JSON call on the main host that passed the session checks.
type call struct {
	*exchange
	ss  *session
	req jobj
}

// jsonEndpoint describes a JSON endpoint of the main host.
type jsonEndpoint struct {
	zero     func(ret int) obj // the zeroed error body (PROTOCOL 14.6)
	initCall bool              // webwxinit's skey rule
	compact  bool              // answer in the one-line layout
	handle   func(s *Server, c *call) (obj, *refusal)
}

// jsonEndpointFor returns the JSON endpoint named name.
func jsonEndpointFor(name string) (jsonEndpoint, bool) {
	switch name {
	case "webwxinit":
		return jsonEndpoint{zero: zeroInit, initCall: true, handle: (*Server).handleInit}, true
	case "webwxstatusnotify":
		return jsonEndpoint{zero: zeroMsgID, compact: true, handle: (*Server).handleStatusNotify}, true
	case "webwxstatreport":
		return jsonEndpoint{zero: zeroBase, compact: true, handle: (*Server).handleStatReport}, true
	case "webwxbatchgetcontact":
		return jsonEndpoint{zero: zeroBatch, handle: (*Server).handleBatchGetContact}, true
	case "webwxsync":
		return jsonEndpoint{zero: zeroSync, handle: (*Server).handleSync}, true
	case "webwxrevokemsg":
		return jsonEndpoint{zero: zeroRevoke, compact: true, handle: (*Server).handleRevoke}, true
	case "webwxcheckupload":
		return jsonEndpoint{zero: zeroCheckUpload, handle: (*Server).handleCheckUpload}, true
	}
	if ep, ok := opEndpointFor(name); ok {
		return ep, true
	}
	if rule, ok := sendRuleFor(name); ok {
		return jsonEndpoint{zero: zeroSend, compact: true, handle: func(s *Server, c *call) (obj, *refusal) {
			return s.handleSend(c, name, rule)
		}}, true
	}
	return jsonEndpoint{}, false
}

// serveJSON runs the checks every JSON call of the main host goes through,
// then the endpoint: the session checks of authLocked, a JSON body (else Ret
// 1200, the parse error of PROTOCOL 13), and the BaseRequest of checkBase.
// A refusal answers the endpoint's full body with zero values (PROTOCOL
// 14.6).
func (s *Server) serveJSON(x *exchange, ep jsonEndpoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	resp, rf := s.jsonLocked(x, ep)
	if rf != nil {
		s.noteLocked(x, rf.ret, rf.reason)
		writeJSONBody(x.w, multiline(ep.zero(rf.ret)))
		return
	}
	// Encoded in a buffer of the server's pool: the ResponseWriter copies what it is given.
	b, _ := s.bufs.Get().(*bytes.Buffer)
	if b == nil {
		b = new(bytes.Buffer)
	}
	if ep.compact {
		writeCompact(b, resp)
	} else {
		writeMulti(b, resp)
		b.WriteByte('\n')
	}
	writeJSONBody(x.w, b.Bytes())
	if b.Cap() <= maxPooledBuffer {
		b.Reset()
		s.bufs.Put(b)
	}
}

// maxPooledBuffer bounds the buffers serveJSON keeps for the next answer: a
// large contact page's is dropped.
const maxPooledBuffer = 256 << 10

func (s *Server) jsonLocked(x *exchange, ep jsonEndpoint) (obj, *refusal) {
	ss, rf := s.authLocked(x)
	if rf != nil {
		return nil, rf
	}
	req, ok := parseRequest(x.body)
	if !ok {
		return nil, refuse(1200, "the body is not a JSON object (PROTOCOL 13: 1200 request parse error)")
	}
	if rf := checkBase(ss, req, ep.initCall); rf != nil {
		return nil, rf
	}
	return ep.handle(s, &call{exchange: x, ss: ss, req: req})
}

func zeroBase(ret int) obj { return obj{{"BaseResponse", baseResponse(ret)}} }

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

// handleInit answers webwxinit (PROTOCOL 5.1). The first call issues a new
// SKey; later calls (a client restarting) answer the same one, and a
// SyncKey whose key 1 is the last one a webwxsync request acknowledged (or,
// with FaultSyncKeyBack, the session's first one).
func (s *Server) handleInit(c *call) (obj, *refusal) {
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
				{"Time", ss.loginTime.Add(c.skew).Unix() - 3600},
				{"NickName", e.contact.NickName},
			})
		}
	}
	key1 := ss.acked
	if s.useModLocked(c.exchange, FaultSyncKeyBack) {
		key1 = ss.base
	}
	return obj{
		{"BaseResponse", baseResponse(0)},
		{"Count", len(contacts)},
		{"ContactList", contacts},
		{"SyncKey", ss.syncKey(key1)},
		{"User", userObj},
		{"ChatSet", chatSet.String()},
		{"SKey", ss.skey},
		{"ClientVersion", 369299473},
		{"SystemTime", c.now().Unix()},
		{"GrayScale", 1},
		{"InviteStartCount", 40},
		{"MPSubscribeMsgCount", len(mps)},
		{"MPSubscribeMsgList", mps},
		{"ClickReportInterval", 600000},
	}, nil
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

// handleStatusNotify answers webwxstatusnotify (PROTOCOL 5.2). No source
// shows the server refusing one (not even for codes other than 1-5,
// PROTOCOL 15), so every request that passes the session checks is
// accepted; Code 3 after webwxinit puts the session online.
func (s *Server) handleStatusNotify(c *call) (obj, *refusal) {
	ss := c.ss
	if code, _ := c.req.num("Code"); code == 3 && ss.inited && !ss.online {
		ss.online = true
		s.broadcastLocked()
	}
	return obj{{"BaseResponse", baseResponse(0)}, {"MsgID", s.newMsgIDLocked()}}, nil
}

// handleStatReport answers webwxstatreport, the client telemetry of
// PROTOCOL 11.6 (W4U sends it), with Ret 0 whatever it reports.
func (s *Server) handleStatReport(*call) (obj, *refusal) {
	return obj{{"BaseResponse", baseResponse(0)}}, nil
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

// setCookie writes a Set-Cookie header in the real server's form
// (PROTOCOL 3.6, 4.4): Domain as given (with its leading dot), Path=/, a
// Netscape-style Expires and Secure.
func setCookie(w http.ResponseWriter, name, value, domain string, expires time.Time) {
	// Built by hand, not with fmt: webwxsync sets six cookies per answer.
	b := make([]byte, 0, 64+len(name)+len(value)+len(domain))
	b = append(b, name...)
	b = append(b, '=')
	b = append(b, value...)
	b = append(b, "; Domain="...)
	b = append(b, domain...)
	b = append(b, "; Path=/; Expires="...)
	b = expires.UTC().AppendFormat(b, "Mon, 02-Jan-2006 15:04:05 GMT")
	b = append(b, "; Secure"...)
	w.Header().Add("Set-Cookie", string(b))
}

// jobj is a JSON object of a request body. Keys match case-sensitively, as
// on the real server (PROTOCOL 3.7); Go's encoding/json would match them
// case-insensitively.
type jobj map[string]json.RawMessage

// parseRequest decodes a JSON request body. Like the real server it does
// not unescape "\/" (PROTOCOL 3.7, 14.14): the two characters stay in the
// decoded strings. It reads the body as json.Unmarshal into a jobj does
// (FuzzParseRequest checks it): json.Valid checks it, then splitObject
// takes its members, without reflection; the values are sub-slices of the
// body.
func parseRequest(b []byte) (jobj, bool) {
	b = keepSlashEscapes(b)
	if !json.Valid(b) {
		return nil, false
	}
	return splitObject(b)
}

// splitObject returns the members of v, one valid JSON value, if it is an
// object, as json.Unmarshal into a jobj does: keys unquoted, the last of a
// repeated key kept, each value's bytes exactly (a sub-slice of v). It
// reports false for anything else, null included.
func splitObject(v []byte) (jobj, bool) {
	i := skipSpace(v, 0)
	if i >= len(v) || v[i] != '{' {
		return nil, false
	}
	o := make(jobj)
	i = skipSpace(v, i+1)
	if i < len(v) && v[i] == '}' {
		return o, true
	}
	for i < len(v) && v[i] == '"' {
		kend := endOfValue(v, i)
		key, ok := unquote(v[i:kend])
		if !ok {
			return nil, false
		}
		i = skipSpace(v, kend)
		if i >= len(v) || v[i] != ':' {
			return nil, false
		}
		i = skipSpace(v, i+1)
		vend := endOfValue(v, i)
		if vend <= i {
			return nil, false
		}
		o[key] = json.RawMessage(v[i:vend:vend])
		i = skipSpace(v, vend)
		if i < len(v) && v[i] == '}' {
			return o, true
		}
		if i >= len(v) || v[i] != ',' {
			return nil, false
		}
		i = skipSpace(v, i+1)
	}
	return nil, false
}

// splitArray returns the elements of v, one valid JSON value, if it is an
// array, as json.Unmarshal into a []json.RawMessage does (an empty array is
// an empty, non-nil slice); false for anything else, null included.
func splitArray(v []byte) ([]json.RawMessage, bool) {
	i := skipSpace(v, 0)
	if i >= len(v) || v[i] != '[' {
		return nil, false
	}
	out := []json.RawMessage{}
	i = skipSpace(v, i+1)
	if i < len(v) && v[i] == ']' {
		return out, true
	}
	for i < len(v) {
		end := endOfValue(v, i)
		if end <= i {
			return nil, false
		}
		out = append(out, json.RawMessage(v[i:end:end]))
		i = skipSpace(v, end)
		if i < len(v) && v[i] == ']' {
			return out, true
		}
		if i >= len(v) || v[i] != ',' {
			return nil, false
		}
		i = skipSpace(v, i+1)
	}
	return nil, false
}

// unquote returns the JSON string q (with its quotes) unquoted as
// encoding/json does.
func unquote(q []byte) (string, bool) {
	if len(q) < 2 || q[0] != '"' || q[len(q)-1] != '"' {
		return "", false
	}
	plain := true
	for _, c := range q[1 : len(q)-1] {
		if c < 0x20 || c == '\\' || c == '"' || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain {
		return string(q[1 : len(q)-1]), true
	}
	var s string
	if json.Unmarshal(q, &s) != nil {
		return "", false
	}
	return s, true
}

// skipSpace returns the offset of the first byte at or after i that is not
// JSON white space.
func skipSpace(v []byte, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t' || v[i] == '\n' || v[i] == '\r') {
		i++
	}
	return i
}

// endOfValue returns the offset just after the JSON value that starts at
// v[i], v being valid JSON around it; i when there is none.
func endOfValue(v []byte, i int) int {
	if i >= len(v) {
		return i
	}
	switch c := v[i]; {
	case c == '"':
		for j := i + 1; j < len(v); j++ {
			switch v[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return i
	case c == '{' || c == '[':
		depth := 0
		for j := i; j < len(v); j++ {
			switch v[j] {
			case '"':
				end := endOfValue(v, j)
				if end == j {
					return i
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return i
	default: // a number, true, false or null
		j := i
		for j < len(v) && !strings.ContainsRune(",}] \t\n\r", rune(v[j])) {
			j++
		}
		return j
	}
}

// keepSlashEscapes rewrites every `\/` inside a JSON string as `\\/`, so
// that decoding yields a backslash followed by a slash.
func keepSlashEscapes(b []byte) []byte {
	if !strings.Contains(string(b), `\/`) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case !inString:
			inString = c == '"'
		case c == '\\' && i+1 < len(b):
			if b[i+1] == '/' {
				out = append(out, '\\', '\\', '/')
			} else {
				out = append(out, c, b[i+1])
			}
			i++
			continue
		case c == '"':
			inString = false
		}
		out = append(out, c)
	}
	return out
}

func (o jobj) obj(k string) (jobj, bool) {
	raw, ok := o[k]
	if !ok {
		return nil, false
	}
	return splitObject(raw)
}

func (o jobj) arr(k string) ([]json.RawMessage, bool) {
	raw, ok := o[k]
	if !ok {
		return nil, false
	}
	return splitArray(raw)
}

// str returns a string member; null reads as "", as json.Unmarshal into a
// string leaves it.
func (o jobj) str(k string) (string, bool) {
	raw, ok := o[k]
	if !ok {
		return "", false
	}
	if string(raw) == "null" {
		return "", true
	}
	return unquote(raw)
}

// num returns an integer member given as a number or a numeric string
// (PROTOCOL 14.4).
func (o jobj) num(k string) (int64, bool) {
	s, ok := o.idString(k)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// idString returns a member given as a string or a number, as a string
// (ClientMsgId and LocalID come in both forms, PROTOCOL 8.1).
func (o jobj) idString(k string) (string, bool) {
	raw, ok := o[k]
	if !ok || len(raw) == 0 {
		return "", false
	}
	// raw is one valid JSON value, exactly (json.Unmarshal checked it when it made o): its
	// first byte tells its kind, and a number stands for itself, as json.Number would.
	switch c := raw[0]; {
	case c == '"':
		var v string
		if json.Unmarshal(raw, &v) != nil {
			return "", false
		}
		return v, true
	case c == '-' || '0' <= c && c <= '9':
		return string(raw), true
	}
	return "", false
}

// alnum returns n letters and digits derived from the parts.
func alnum(n int, parts ...string) string {
	var b strings.Builder
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	for b.Len() < n {
		for _, c := range base64.StdEncoding.EncodeToString(sum[:]) {
			if b.Len() < n && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				b.WriteRune(c)
			}
		}
		sum = sha256.Sum256(sum[:])
	}
	return b.String()
}
