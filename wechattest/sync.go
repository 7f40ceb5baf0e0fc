package wechattest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The receiving side: the event log of a session, synccheck and webwxsync
// (PROTOCOL 6, 7).

// event is one entry of a session's event log.
type event struct {
	seq     int64  // SyncKey key 1 value of this event
	msgID   string // "" for an event that is no message
	created int64  // Unix seconds
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

// newEventLocked wraps m in an event with its MsgId and time.
func (s *Server) newEventLocked(m Message) event {
	id := m.MsgID
	if id == "" {
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
// below 2^63, in decimal.
func (s *Server) newMsgIDLocked() string {
	s.msgSeq++
	return strconv.FormatInt(6012345678901234567+s.msgSeq*1000003, 10)
}

// newMsgID renders NewMsgId as the server does, a bare number (PROTOCOL 14.3), when id is
// decimal; any other id a test gave is sent as a string.
func newMsgID(id string) any {
	if _, err := strconv.ParseUint(id, 10, 64); err == nil {
		return json.Number(id)
	}
	return id
}

// selectorAfter returns the selector synccheck answers for a synckey whose
// key 1 is key1, when newer events exist: the one of the first newer event,
// 2 for a message.
func (ss *session) selectorAfter(key1 int64) int {
	i := max(0, key1-ss.base)
	if i < int64(ss.events.len()) && ss.events.at(int(i)).selector != 0 {
		return ss.events.at(int(i)).selector
	}
	return 2
}

// serveSyncCheck answers the synccheck long poll (PROTOCOL 6.1). At once:
// retcode 1100 on a push host other than the session's (webpush.<main> by
// the table of PROTOCOL 2.2, or the fallback webpush2.<main>), 1102
// without the wxuin and wxsid cookies of a session, the end code of an
// ended session, 1101 when the sid, uin or skey parameter is not the
// session's, and selector 0 when the synckey parameter is missing or has no
// key 1 (PROTOCOL 6.1: a misspelt parameter returns at once). Otherwise it
// answers selector 2 (or a raised one) as long as events newer than key 1
// exist, so a client that does not sync busy-loops visibly, and holds for
// the long poll when there are none.
func (s *Server) serveSyncCheck(x *exchange) {
	answer := func(retcode, selector int) {
		writeJS(x.w, `window.synccheck={retcode:"`+strconv.Itoa(retcode)+`",selector:"`+strconv.Itoa(selector)+`"}`)
	}
	refused := func(retcode int, reason string) {
		s.noteLocked(x, retcode, reason)
		s.mu.Unlock()
		answer(retcode, 0)
	}
	q := x.r.URL.Query()
	timer := time.NewTimer(s.cfg.longPoll)
	defer timer.Stop()

	s.mu.Lock()
	_, _, push := derivedHosts(s.cfg.mainHost)
	if x.host != push && x.host != "webpush2."+s.cfg.mainHost {
		refused(1100, "the session's push host is "+push+" (PROTOCOL 2.2: a wrong push host answers 1100 at once)")
		return
	}
	ss := s.sessionByCookiesLocked(x.r)
	switch {
	case ss == nil:
		refused(1102, "no wxuin and wxsid cookies of a session (PROTOCOL 3.6, 6.1)")
		return
	case ss.ended != 0:
		refused(ss.ended, "the session has ended with "+strconv.Itoa(ss.ended)+" (PROTOCOL 12.5)")
		return
	case q.Get("sid") != ss.sid:
		refused(1101, "the sid parameter is not the session's sid (a + must be sent as %2B, PROTOCOL 6.1)")
		return
	case q.Get("uin") != strconv.FormatInt(ss.uin, 10):
		refused(1101, "the uin parameter is not the session's uin")
		return
	case !ss.validSkey(q.Get("skey")):
		refused(1101, "the skey parameter is not a skey of the session")
		return
	}
	key1, ok := syncCheckKey1(q)
	if !ok {
		s.noteLocked(x, 0, "no synckey parameter with a key 1: answered selector 0 at once (PROTOCOL 6.1)")
		s.mu.Unlock()
		answer(0, 0)
		return
	}
	for {
		switch {
		case s.closed || s.unreachable[x.host]:
			s.mu.Unlock()
			panic(http.ErrAbortHandler)
		case ss.ended != 0:
			refused(ss.ended, "the session ended with "+strconv.Itoa(ss.ended)+" while the poll was held (PROTOCOL 12.5)")
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
		case <-x.r.Context().Done():
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

// syncBody returns a webwxsync answer; msgs, an arr or a premulti, holds n
// messages.
func syncBody(ret int, msgs any, n int, mods, dels arr, cont int, syncKey, syncCheckKey obj) obj {
	return obj{
		{"BaseResponse", baseResponse(ret)},
		{"AddMsgCount", n},
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
	return syncBody(ret, arr{}, 0, arr{}, arr{}, 0, zeroSyncKey(), zeroSyncKey())
}

// handleSync answers webwxsync (PROTOCOL 6.2): the events after key 1 of
// the request's SyncKey, at most the batch size, with ContinueFlag 1 when
// more are pending. The log is kept, so an older SyncKey gets the old
// events again, as a real re-fetch does. Account changes among them are
// answered in ModContactList (contacts and groups, with their members, as
// they are now) and DelContactList.
//
// The SyncKey must be an object with a key 1 in its List, else Ret 1 (the
// parameter error of PROTOCOL 13): webwxsync sends back the SyncKey it was
// given, and without key 1 there is no telling which events are new. Its
// Count is not checked, nor are the other keys.
func (s *Server) handleSync(c *call) (obj, *refusal) {
	ss := c.ss
	sk, ok := c.req.obj("SyncKey")
	if !ok {
		return nil, refuse(1, "no SyncKey object (PROTOCOL 6.2: send back the SyncKey as received)")
	}
	list, _ := sk.arr("List")
	key1, found := int64(0), false
	for _, raw := range list {
		kv, ok := parseRequest(raw)
		if !ok {
			continue
		}
		k, ok1 := kv.num("Key")
		v, ok2 := kv.num("Val")
		if ok1 && ok2 && k == 1 {
			key1, found = v, true
		}
	}
	if !found {
		return nil, refuse(1, "the SyncKey List has no key 1 (PROTOCOL 6.2: send back the SyncKey as received)")
	}
	ss.acked = max(ss.acked, min(key1, ss.head()))

	next := min(key1, ss.head())
	var msgs []*event
	var batch []int64
	var changes []*change
	cont := 0
	// events.at(i) has sequence base+i+1: start right after key1.
	for ev := range ss.events.from(int(max(0, min(key1-ss.base, int64(ss.events.len()))))) {
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
		msgs = append(msgs, ev)
		batch = append(batch, ev.seq)
		next = ev.seq
	}
	if s.useModLocked(c.exchange, FaultResend) {
		msgs = append(s.resendBatchLocked(ss, key1), msgs...)
	}
	rendered := s.renderLocked(ss, msgs, c.skew)
	if len(batch) > 0 {
		ss.lastBatch = append(ss.lastBatch[:0], batch...)
	}

	now := c.now()
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
	syncKey, checkKey := ss.syncKey(next), ss.syncCheckKey(next)
	switch {
	case s.useModLocked(c.exchange, FaultSyncKeyBack):
		syncKey, checkKey = ss.syncKey(ss.base), ss.syncCheckKey(ss.base)
	case s.useModLocked(c.exchange, FaultSyncKeyEmpty):
		syncKey, checkKey = zeroSyncKey(), zeroSyncKey()
	}
	return syncBody(0, rendered, len(msgs), mods, dels, cont, syncKey, checkKey), nil
}

// resendBatchLocked returns the messages FaultResend repeats in an answer
// to a request with key 1 key1: the messages of the previous answer that
// key1 covers, or else the last message at or before key1.
func (s *Server) resendBatchLocked(ss *session, key1 int64) []*event {
	var out []*event
	for _, seq := range ss.lastBatch {
		if seq <= key1 {
			out = append(out, ss.events.at(int(seq-ss.base-1)))
		}
	}
	if len(out) > 0 {
		return out
	}
	for j := min(key1-ss.base, int64(ss.events.len())) - 1; j >= 0; j-- {
		if ev := ss.events.at(int(j)); ev.selector == 0 && ev.change == nil {
			return []*event{ev}
		}
	}
	return nil
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

// renderLocked renders evs as the AddMsgList array of a webwxsync answer:
// each entry with every field of PROTOCOL 7.1, its CreateTime on a clock off
// by skew. The entries are written straight into the answer's buffer when
// it is encoded (serveJSON, under the same hold of s.mu), in the layout
// writeMulti gives the obj of each (TestRenderMatchesObj checks that they
// are the same bytes): the messages are most of the work of a sync.
func (s *Server) renderLocked(ss *session, evs []*event, skew time.Duration) premulti {
	return premulti{composite: len(evs) > 0, write: func(b []byte) []byte {
		if len(evs) == 0 {
			return append(b, "[]"...)
		}
		b = append(b, '[')
		for i, ev := range evs {
			if i > 0 {
				b = append(b, "\n,"...)
			}
			b = s.appendMessageLocked(b, ss, ev, skew)
		}
		return append(b, "\n]"...)
	}}
}

// appendMessageLocked appends ev as one AddMsgList entry to b.
func (s *Server) appendMessageLocked(b []byte, ss *session, ev *event, skew time.Duration) []byte {
	m := &ev.msg
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
	b, w := beginObj(b)
	b = w.str(b, "MsgId", ev.msgID)
	b = w.str(b, "FromUserName", fromUN)
	b = w.str(b, "ToUserName", toUN)
	b = w.int(b, "MsgType", int64(typ))
	b = w.key(b, "Content", false)
	b = append(b, '"')
	b = appendStringBody(b, prefix) // ends in ASCII: no character spans the two
	b = append(appendStringBody(b, content), '"')
	b = w.int(b, "Status", 3)
	b = w.int(b, "ImgStatus", int64(imgStatus))
	b = w.int(b, "CreateTime", ev.created+int64(skew/time.Second))
	b = w.int(b, "VoiceLength", int64(m.VoiceLength))
	b = w.int(b, "PlayLength", int64(m.PlayLength))
	b = w.str(b, "FileName", m.FileName)
	b = w.key(b, "FileSize", false)
	b = append(b, '"')
	if m.FileSize > 0 {
		b = strconv.AppendInt(b, m.FileSize, 10)
	}
	b = append(b, '"')
	b = w.str(b, "MediaId", m.MediaID)
	b = w.str(b, "Url", m.URL)
	b = w.int(b, "AppMsgType", int64(m.AppMsgType))
	b = w.int(b, "StatusNotifyCode", int64(m.StatusNotifyCode))
	b = w.key(b, "StatusNotifyUserName", false)
	b = append(b, '"')
	for i, id := range m.StatusNotifyUserName {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendStringBody(b, ss.userName(id))
	}
	b = append(b, '"')
	b, ri := w.obj(b, "RecommendInfo")
	b = s.appendRecommendInfoLocked(b, &ri, ss, m.RecommendInfo)
	b = ri.end(b)
	b = w.int(b, "ForwardFlag", 0)
	b, ai := w.obj(b, "AppInfo")
	b = ai.str(b, "AppID", "")
	b = ai.int(b, "Type", 0)
	b = ai.end(b)
	b = w.int(b, "HasProductId", int64(m.HasProductID))
	b = w.str(b, "Ticket", "")
	b = w.int(b, "ImgHeight", int64(m.ImgHeight))
	b = w.int(b, "ImgWidth", int64(m.ImgWidth))
	b = w.int(b, "SubMsgType", int64(m.SubMsgType))
	b = w.key(b, "NewMsgId", false)
	if n, ok := newMsgID(ev.msgID).(json.Number); ok {
		b = append(b, n...) // a bare number, as the server sends it (PROTOCOL 14.3)
	} else {
		b = append(b, strconv.Quote(ev.msgID)...)
	}
	b = w.str(b, "OriContent", m.OriContent)
	b = w.key(b, "EncryFileName", false)
	b = append(b, '"')
	if m.MediaID != "" && m.FileName != "" {
		b = appendStringBody(b, encryFileName(m.FileName))
	}
	b = append(b, '"')
	return w.end(b)
}

// appendRecommendInfoLocked appends the members of a RecommendInfo object
// (PROTOCOL 7.5).
func (s *Server) appendRecommendInfoLocked(b []byte, w *objWriter, ss *session, ri RecommendInfo) []byte {
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
	b = w.str(b, "UserName", ss.userName(ri.ID))
	b = w.str(b, "NickName", ri.NickName)
	b = w.int(b, "QQNum", 0)
	b = w.str(b, "Province", ri.Province)
	b = w.str(b, "City", ri.City)
	b = w.str(b, "Content", escapeHTML(ri.Content))
	b = w.str(b, "Signature", "")
	b = w.str(b, "Alias", ri.Alias)
	b = w.int(b, "Scene", int64(ri.Scene))
	b = w.int(b, "VerifyFlag", 0)
	b = w.int(b, "AttrStatus", attr)
	b = w.int(b, "Sex", int64(ri.Sex))
	b = w.str(b, "Ticket", ri.Ticket)
	return w.int(b, "OpCode", int64(ri.OpCode))
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
