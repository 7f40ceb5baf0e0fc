package wechattest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// session is one logged-in session: the credentials of PROTOCOL 3.1, the
// UserNames of this login and the event log that webwxsync serves.
type session struct {
	no         int // login number, salts the UserNames
	mainHost   string
	uin        int64
	sid        string
	xmlSkey    string // skey of the newloginpage XML, valid for webwxinit only
	skey       string // current skey
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

	base   int64   // SyncKey key 1 before the first event
	acked  int64   // highest key 1 a webwxsync request carried
	events []event // event log; events[i] has sequence base+i+1

	uploads map[string]*partialUpload // chunked uploads in progress
}

// head is the sequence of the last event of the log.
func (ss *session) head() int64 { return ss.base + int64(len(ss.events)) }

// add appends ev to the log.
func (ss *session) add(ev event) {
	ev.seq = ss.head() + 1
	ss.events = append(ss.events, ev)
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
func (s *Server) newSessionLocked(desktop bool) *session {
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
		loginTime:  time.Now(),
		names:      make(map[string]string),
		ids:        make(map[string]string),
		encry:      make(map[string]string),
		base:       636444437 + int64(no)*1000000,
		uploads:    make(map[string]*partialUpload),
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

// checkCookies reports whether the request carries the wxuin and wxsid
// cookies of ss.
func checkCookies(r *http.Request, ss *session) (present, match bool) {
	var uinOK, sidOK, uinSeen, sidSeen bool
	uin := strconv.FormatInt(ss.uin, 10)
	for _, c := range r.Cookies() {
		switch c.Name {
		case "wxuin":
			uinSeen = true
			uinOK = uinOK || c.Value == uin
		case "wxsid":
			sidSeen = true
			sidOK = sidOK || c.Value == ss.sid
		}
	}
	return uinSeen && sidSeen, uinOK && sidOK
}

// cookieValue returns the value of the first cookie named name, or "".
func cookieValue(r *http.Request, name string) string {
	if c, err := r.Cookie(name); err == nil {
		return c.Value
	}
	return ""
}

// sessionByCookiesLocked returns the session, current or ended, whose
// wxuin and wxsid cookies the request carries, or nil.
func (s *Server) sessionByCookiesLocked(r *http.Request) *session {
	for i := len(s.sessions) - 1; i >= 0; i-- {
		if _, ok := checkCookies(r, s.sessions[i]); ok {
			return s.sessions[i]
		}
	}
	return nil
}

// authLocked checks a main-host call: the wxuin/wxsid cookies must name a
// session, the host must be its main host (else 1100), and the session must
// be live (else the retcode it ended with, e.g. 1101 after a login
// elsewhere). It returns the session, or the Ret to answer.
func (s *Server) authLocked(r *http.Request, host string) (*session, int) {
	ss := s.sessionByCookiesLocked(r)
	if ss == nil || host != ss.mainHost {
		return nil, 1100
	}
	if ss.ended != 0 {
		return nil, ss.ended
	}
	return ss, 0
}

// checkBase checks the BaseRequest of a JSON body against ss. With
// initCall, Skey may also be "" or the skey of the newloginpage XML.
func checkBase(ss *session, req jobj, initCall bool) int {
	br, ok := req.obj("BaseRequest")
	if !ok {
		return 1100
	}
	uin, ok := br.num("Uin")
	if !ok || uin != ss.uin {
		return 1100
	}
	if sid, _ := br.str("Sid"); sid != ss.sid {
		return 1100
	}
	skey, _ := br.str("Skey")
	if skey == ss.skey || initCall && (skey == "" || skey == ss.xmlSkey) {
		return 0
	}
	return 1100
}

// setCookie writes a Set-Cookie header in the real server's form
// (PROTOCOL 3.6, 4.4): Domain as given (with its leading dot), Path=/, a
// Netscape-style Expires and Secure.
func setCookie(w http.ResponseWriter, name, value, domain string, expires time.Time) {
	w.Header().Add("Set-Cookie", fmt.Sprintf("%s=%s; Domain=%s; Path=/; Expires=%s; Secure",
		name, value, domain, expires.UTC().Format("Mon, 02-Jan-2006 15:04:05 GMT")))
}

// jobj is a JSON object of a request body. Keys match case-sensitively, as
// on the real server (PROTOCOL 3.7); Go's encoding/json would match them
// case-insensitively.
type jobj map[string]json.RawMessage

// parseRequest decodes a JSON request body. Like the real server it does
// not unescape "\/" (PROTOCOL 3.7, 14.14): the two characters stay in the
// decoded strings.
func parseRequest(b []byte) (jobj, bool) {
	var o jobj
	if err := json.Unmarshal(keepSlashEscapes(b), &o); err != nil || o == nil {
		return nil, false
	}
	return o, true
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
	var v jobj
	if json.Unmarshal(raw, &v) != nil || v == nil {
		return nil, false
	}
	return v, true
}

func (o jobj) arr(k string) ([]json.RawMessage, bool) {
	raw, ok := o[k]
	if !ok {
		return nil, false
	}
	var v []json.RawMessage
	if json.Unmarshal(raw, &v) != nil || v == nil {
		return nil, false
	}
	return v, true
}

// str returns a string member.
func (o jobj) str(k string) (string, bool) {
	raw, ok := o[k]
	if !ok {
		return "", false
	}
	var v string
	if json.Unmarshal(raw, &v) != nil {
		return "", false
	}
	return v, true
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
	if !ok {
		return "", false
	}
	var v any
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	if d.Decode(&v) != nil {
		return "", false
	}
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
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
