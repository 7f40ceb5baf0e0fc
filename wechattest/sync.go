package wechattest

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Message is a message the server delivers to the client through
// webwxsync's AddMsgList (PROTOCOL 7). Ids are stable ids; the server
// turns them into the session's UserNames when it serves the message.
type Message struct {
	// From is the sender: a contact, "self" for a message sent from the
	// phone, or in a group the member who wrote. It may be "" only for a
	// group system message.
	From string
	// To is the receiver; "" means self.
	To string
	// Group is the group of a group message, "" otherwise. For a message
	// from a member FromUserName is then the group and Content starts with
	// "@<member UserName>:<br/>" (PROTOCOL 7.4); for a message From self it
	// goes from self to the group, without a prefix.
	Group string
	// Type is the MsgType (1 text, 3 image, 49 app, 51 status notify,
	// 10000 system, ...); 0 means 1.
	Type int
	// Text is plain text for Type 1 and 10000: the server HTML-escapes
	// & < > " ', turns "\n" into "<br/>" and adds the group sender prefix.
	Text string
	// Content, if non-empty, is used verbatim as the wire Content (after
	// the group prefix), for other types or exact wire tests.
	Content string

	// MsgID is the server id; 0 means a new one (a 19-digit number above
	// 2^53). Deliver the same MsgID twice to test de-duplication.
	MsgID int64

	// Optional wire fields (PROTOCOL 7.1); zero values are sent as zero.
	AppMsgType       int
	FileName         string
	FileSize         int64 // sent as a string, "" when 0
	MediaID          string
	URL              string
	SubMsgType       int
	OriContent       string
	VoiceLength      int // ms
	PlayLength       int // s
	ImgWidth         int
	ImgHeight        int
	StatusNotifyCode int
	// StatusNotifyUserName lists stable ids, sent as comma-separated
	// UserNames.
	StatusNotifyUserName []string
	HasProductID         int

	// RecommendInfo describes the person behind a friend request (Type
	// 37); its zero value sends an empty RecommendInfo, as for other
	// messages.
	RecommendInfo RecommendInfo
}

// RecommendInfo is the RecommendInfo of a message (PROTOCOL 7.5): the person
// behind a friend request. The server sends ID as the person's session
// UserName and fills NickName, Sex, Province and City from the account
// when they are empty. A delivered Type 37 message with a RecommendInfo is
// a pending request, which webwxverifyuser (Opcode 3) accepts when it
// presents the UserName and Ticket.
type RecommendInfo struct {
	ID       string // stable id of the person; "" means no RecommendInfo
	NickName string // wire form
	Content  string // the greeting, plain text
	Ticket   string // the verify ticket ("v2_...@stranger")
	Alias    string
	Province string
	City     string
	Sex      int
	Scene    int // 30 for a request found by WeChat ID or phone number
	OpCode   int // 2 for a request
}

// Text returns a text message from the stable id from to self.
func Text(from, text string) Message {
	return Message{From: from, Type: 1, Text: text}
}

// GroupText returns a text message written by the member from in group.
func GroupText(group, from, text string) Message {
	return Message{Group: group, From: from, Type: 1, Text: text}
}

// event is one entry of a session's event log.
type event struct {
	seq     int64 // SyncKey key 1 value of this event
	msgID   int64
	created int64 // Unix seconds
	msg     Message
	// selector, if not 0, makes the event a change that is no message
	// (RaiseSelector): it raises this selector and takes a sequence number,
	// but webwxsync sends no AddMsgList entry for it.
	selector int
	// change, if not nil, is a change of the account (selector 4) that
	// webwxsync reports in ModContactList and DelContactList.
	change *change
}

// change is what an account change puts in webwxsync's contact lists.
type change struct {
	mod []string // stable ids, rendered as they are when the sync is answered
	del []string // stable ids of contacts and groups that are gone
}

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

// newEventLocked wraps m in an event with its MsgId and time.
func (s *Server) newEventLocked(m Message) event {
	id := m.MsgID
	if id == 0 {
		id = s.newMsgIDLocked()
	}
	return event{msgID: id, created: time.Now().Unix(), msg: m}
}

// appendEventLocked adds ev to the live session's log or keeps it for the
// next session.
func (s *Server) appendEventLocked(ev event) {
	if s.sess != nil && s.sess.ended == 0 {
		s.sess.add(ev)
	} else {
		s.pending = append(s.pending, ev)
	}
}

// newMsgIDLocked returns a new 19-digit server message id, above 2^53 and
// below 2^63.
func (s *Server) newMsgIDLocked() int64 {
	s.msgSeq++
	return 6012345678901234567 + s.msgSeq*1000003
}

// serveSyncCheck answers the synccheck long poll (PROTOCOL 6.1).
func (s *Server) serveSyncCheck(w http.ResponseWriter, r *http.Request, host string) {
	answer := func(retcode, selector int) {
		writeJS(w, `window.synccheck={retcode:"`+strconv.Itoa(retcode)+`",selector:"`+strconv.Itoa(selector)+`"}`)
	}
	q := r.URL.Query()
	timer := time.NewTimer(s.cfg.longPoll)
	defer timer.Stop()

	s.mu.Lock()
	_, _, push := derivedHosts(s.cfg.mainHost)
	if host != push && host != "webpush2."+s.cfg.mainHost {
		s.mu.Unlock()
		answer(1100, 0) // the wrong push host answers at once (PROTOCOL 2.2)
		return
	}
	ss := s.sessionByCookiesLocked(r)
	if ss == nil {
		s.mu.Unlock()
		answer(1102, 0)
		return
	}
	if ss.ended != 0 {
		s.mu.Unlock()
		answer(ss.ended, 0)
		return
	}
	if q.Get("sid") != ss.sid || q.Get("uin") != strconv.FormatInt(ss.uin, 10) || q.Get("skey") != ss.skey {
		s.mu.Unlock()
		answer(1101, 0)
		return
	}
	key1, ok := syncCheckKey1(q)
	if !ok {
		// A missing or misspelt synckey parameter returns at once
		// (PROTOCOL 6.1).
		s.mu.Unlock()
		answer(0, 0)
		return
	}
	for {
		switch {
		case s.closed || s.unreachable[host]:
			s.mu.Unlock()
			panic(http.ErrAbortHandler)
		case ss.ended != 0:
			s.mu.Unlock()
			answer(ss.ended, 0)
			return
		case ss.head() > key1:
			sel := ss.selectorAfter(key1)
			s.mu.Unlock()
			answer(0, sel)
			return
		}
		wake := s.wake
		s.mu.Unlock()
		select {
		case <-wake:
		case <-timer.C:
			answer(0, 0)
			return
		case <-r.Context().Done():
			return
		}
		s.mu.Lock()
	}
}

// syncCheckKey1 returns the value of key 1 of the synckey parameter
// ("1_636444437|2_636445049|...").
func syncCheckKey1(q map[string][]string) (int64, bool) {
	v, ok := q["synckey"]
	if !ok || len(v) == 0 {
		return 0, false
	}
	for _, kv := range strings.Split(v[0], "|") {
		k, val, ok := strings.Cut(kv, "_")
		if ok && k == "1" {
			n, err := strconv.ParseInt(val, 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

func zeroProfile() obj {
	buff := func() obj { return obj{{"Buff", ""}} }
	return obj{
		{"BitFlag", 0},
		{"UserName", buff()},
		{"NickName", buff()},
		{"BindUin", 0},
		{"BindEmail", buff()},
		{"BindMobile", buff()},
		{"Status", 0},
		{"Sex", 0},
		{"PersonalCard", 0},
		{"Alias", ""},
		{"HeadImgUpdateFlag", 0},
		{"HeadImgUrl", ""},
		{"Signature", ""},
	}
}

func syncBody(ret int, msgs, mods, dels arr, cont int, syncKey, syncCheckKey obj) obj {
	return obj{
		{"BaseResponse", baseResponse(ret)},
		{"AddMsgCount", len(msgs)},
		{"AddMsgList", msgs},
		{"ModContactCount", len(mods)},
		{"ModContactList", mods},
		{"DelContactCount", len(dels)},
		{"DelContactList", dels},
		{"ModChatRoomMemberCount", 0},
		{"ModChatRoomMemberList", arr{}},
		{"Profile", zeroProfile()},
		{"ContinueFlag", cont},
		{"SyncKey", syncKey},
		{"SKey", ""},
		{"SyncCheckKey", syncCheckKey},
	}
}

func zeroSync(ret int) obj {
	return syncBody(ret, arr{}, arr{}, arr{}, 0, zeroSyncKey(), zeroSyncKey())
}

// handleSync answers webwxsync (PROTOCOL 6.2): the events after key 1 of
// the request's SyncKey, at most the batch size, with ContinueFlag 1 when
// more are pending. The log is kept, so an older SyncKey gets the old
// events again, as a real re-fetch does. Account changes among them are
// answered in ModContactList (contacts and groups, with their members, as
// they are now) and DelContactList.
func (s *Server) handleSync(c *call) (obj, int) {
	ss := c.ss
	sk, ok := c.req.obj("SyncKey")
	if !ok {
		return nil, 1
	}
	count, ok := sk.num("Count")
	list, okList := sk.arr("List")
	if !ok || !okList || count == 0 || count != int64(len(list)) {
		return nil, 1
	}
	key1, found := int64(0), false
	for _, raw := range list {
		kv, ok := parseRequest(raw)
		if !ok {
			return nil, 1
		}
		k, ok1 := kv.num("Key")
		v, ok2 := kv.num("Val")
		if !ok1 || !ok2 {
			return nil, 1
		}
		if k == 1 {
			key1, found = v, true
		}
	}
	if !found {
		return nil, 1
	}
	ss.acked = max(ss.acked, min(key1, ss.head()))

	next := min(key1, ss.head())
	msgs := arr{}
	var changes []*change
	cont := 0
	// events[i] has sequence base+i+1: start right after key1.
	for _, ev := range ss.events[max(0, min(key1-ss.base, int64(len(ss.events)))):] {
		if ev.seq <= key1 {
			continue
		}
		if ev.change != nil {
			changes = append(changes, ev.change)
			next = ev.seq
			continue
		}
		if ev.selector != 0 {
			next = ev.seq // a change without a message (RaiseSelector)
			continue
		}
		if len(msgs) == s.cfg.batchSize {
			cont = 1
			break
		}
		msgs = append(msgs, s.renderLocked(ss, ev))
		next = ev.seq
	}
	if again := s.resendLocked(ss, key1); len(again) > 0 {
		msgs = append(again, msgs...) // FaultResend
	}

	now := time.Now()
	day := now.Add(12 * time.Hour)
	_, _, k1000 := ss.syncKeyVals()
	uin := strconv.FormatInt(ss.uin, 10)
	setCookie(c.w, "wxuin", uin, ss.mainHost, day)
	setCookie(c.w, "wxsid", ss.sid, ss.mainHost, day)
	setCookie(c.w, "wxloadtime", strconv.FormatInt(now.Unix(), 10)+"_expired", ss.mainHost, day)
	setCookie(c.w, "webwx_data_ticket", ss.dataTicket, cookieDomain(ss.mainHost), day)
	setCookie(c.w, "wxpluginkey", strconv.FormatInt(k1000, 10), ss.mainHost, day)
	setCookie(c.w, "wxuin", uin, cookieDomain(ss.mainHost), day)
	mods, dels := s.renderChangesLocked(ss, changes)
	return syncBody(0, msgs, mods, dels, cont, ss.syncKey(next), ss.syncCheckKey(next)), 0
}

// renderChangesLocked renders account changes as ModContactList and
// DelContactList entries, each contact once, as it is now.
func (s *Server) renderChangesLocked(ss *session, changes []*change) (mods, dels arr) {
	mods, dels = arr{}, arr{}
	seen := make(map[string]bool)
	for _, ch := range changes {
		for _, id := range ch.del {
			if !seen["del "+id] {
				seen["del "+id] = true
				dels = append(dels, obj{{"UserName", ss.userName(id)}, {"ContactFlag", 0}})
			}
		}
		for _, id := range ch.mod {
			e := s.acct.byID[id]
			if e == nil || seen["mod "+id] {
				continue
			}
			seen["mod "+id] = true
			if e.kind == kindGroup {
				mods = append(mods, s.groupObj(ss, e, true))
			} else {
				mods = append(mods, s.contactObj(ss, e))
			}
		}
	}
	return mods, dels
}

// renderLocked renders ev as an AddMsgList entry with every field of
// PROTOCOL 7.1.
func (s *Server) renderLocked(ss *session, ev event) obj {
	m := ev.msg
	typ := m.Type
	if typ == 0 {
		typ = 1
	}
	self := s.acct.self.id
	to := m.To
	if to == "" {
		to = self
	}
	fromUN, toUN, prefix := ss.userName(m.From), ss.userName(to), ""
	if m.Group != "" {
		if m.From == self {
			fromUN, toUN = ss.userName(self), ss.userName(m.Group)
		} else {
			fromUN = ss.userName(m.Group)
			if m.From != "" && typ != 10000 {
				prefix = ss.userName(m.From) + ":<br/>"
			}
		}
	}
	content := m.Content
	switch {
	case content != "":
	case m.Text != "" || typ == 1 || typ == 10000:
		content = encodeText(m.Text)
	case typ == 3:
		content = escapeHTML(`<msg><img length="6503" hdlength="0" /><commenturl></commenturl></msg>`)
	}
	imgStatus := 1
	switch typ {
	case 3, 43, 47, 62:
		imgStatus = 2
	}
	fileSize := ""
	if m.FileSize > 0 {
		fileSize = strconv.FormatInt(m.FileSize, 10)
	}
	encryName := ""
	if m.MediaID != "" && m.FileName != "" {
		encryName = encryFileName(m.FileName)
	}
	var notify []string
	for _, id := range m.StatusNotifyUserName {
		notify = append(notify, ss.userName(id))
	}
	return obj{
		{"MsgId", strconv.FormatInt(ev.msgID, 10)},
		{"FromUserName", fromUN},
		{"ToUserName", toUN},
		{"MsgType", typ},
		{"Content", prefix + content},
		{"Status", 3},
		{"ImgStatus", imgStatus},
		{"CreateTime", ev.created},
		{"VoiceLength", m.VoiceLength},
		{"PlayLength", m.PlayLength},
		{"FileName", m.FileName},
		{"FileSize", fileSize},
		{"MediaId", m.MediaID},
		{"Url", m.URL},
		{"AppMsgType", m.AppMsgType},
		{"StatusNotifyCode", m.StatusNotifyCode},
		{"StatusNotifyUserName", strings.Join(notify, ",")},
		{"RecommendInfo", s.recommendInfoLocked(ss, m.RecommendInfo)},
		{"ForwardFlag", 0},
		{"AppInfo", obj{{"AppID", ""}, {"Type", 0}}},
		{"HasProductId", m.HasProductID},
		{"Ticket", ""},
		{"ImgHeight", m.ImgHeight},
		{"ImgWidth", m.ImgWidth},
		{"SubMsgType", m.SubMsgType},
		{"NewMsgId", ev.msgID},
		{"OriContent", m.OriContent},
		{"EncryFileName", encryName},
	}
}

// recommendInfoLocked renders a RecommendInfo object (PROTOCOL 7.5).
func (s *Server) recommendInfoLocked(ss *session, ri RecommendInfo) obj {
	var attr int64
	if ri.ID != "" {
		if e := s.acct.byID[ri.ID]; e != nil {
			c := e.contact
			fillStr(&ri.NickName, c.NickName)
			fillStr(&ri.Province, c.Province)
			fillStr(&ri.City, c.City)
			fillStr(&ri.Alias, c.Alias)
			if ri.Sex == 0 {
				ri.Sex = c.Sex
			}
		}
		fillStr(&ri.NickName, ri.ID)
		attr = int64(hash32(ri.ID))
	}
	return obj{
		{"UserName", ss.userName(ri.ID)}, {"NickName", ri.NickName}, {"QQNum", 0}, {"Province", ri.Province}, {"City", ri.City},
		{"Content", escapeHTML(ri.Content)}, {"Signature", ""}, {"Alias", ri.Alias}, {"Scene", ri.Scene}, {"VerifyFlag", 0},
		{"AttrStatus", attr}, {"Sex", ri.Sex}, {"Ticket", ri.Ticket}, {"OpCode", ri.OpCode},
	}
}

func fillStr(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

// htmlEscaper escapes the five characters the server escapes in Content
// (PROTOCOL 7.4).
var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")

// escapeHTML HTML-escapes s as the server does.
func escapeHTML(s string) string { return htmlEscaper.Replace(s) }

// encodeText turns plain text into wire Content: HTML-escaped, with
// "<br/>" for line breaks (PROTOCOL 7.4).
func encodeText(s string) string {
	return strings.ReplaceAll(escapeHTML(s), "\n", "<br/>")
}
