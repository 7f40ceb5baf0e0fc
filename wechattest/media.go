package wechattest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Media messages and their downloads (PROTOCOL 7.5, 10).

// Sizes of the generated media: those the XML of the constructors of
// messages.go gives, where it gives one.
const (
	imageSize = 24 << 10
	thumbSize = 3 << 10
	gifSize   = 86235  // Emoticon's len
	videoSize = 491469 // Video's length
	iconSize  = 4 << 10
)

// voiceSize is the size of the MP3 of a voice message: 2 bytes per ms, as
// in the XML of Voice.
func voiceSize(m Message) int { return max(m.VoiceLength, 1000) * 2 }

// Media returns the bytes the server serves as the media of the message
// msgID, a delivered message or the echo of a sent one: the full image of
// an image (webwxgetmsgimg), the GIF of an emoticon, the MP3 of a voice
// message, the MP4 of a video, the file of an attachment (webwxgetmedia).
// The bytes are deterministic: generated from the message (a JPEG, GIF,
// MP3 or MP4 header, then pseudo-random bytes), or for the echo of a sent
// upload the uploaded bytes. It returns nil for a message without media,
// an unknown one, and an upload kept with [WithUploadDigestOnly].
func (s *Server) Media(msgID string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev, ok := s.eventLocked(msgID)
	if !ok {
		return nil
	}
	return s.mediaLocked(ev, false)
}

// Thumbnail returns the bytes webwxgetmsgimg serves with type=slave for the
// image, video or emoticon msgID (a small JPEG), or nil.
func (s *Server) Thumbnail(msgID string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev, ok := s.eventLocked(msgID)
	if !ok {
		return nil
	}
	return s.mediaLocked(ev, true)
}

// Avatar returns the JPEG the server serves as the avatar of the stable id
// (webwxgeticon, webwxgetheadimg; PROTOCOL 10.5), or nil for an id the
// account does not have.
func (s *Server) Avatar(id string) []byte {
	if s.acct.byID[id] == nil {
		return nil
	}
	return generate("jpeg", iconSize, "avatar", id)
}

// eventLocked finds the message msgID in the event logs, newest session
// first, then among the messages waiting for a session.
func (s *Server) eventLocked(msgID string) (event, bool) {
	id := msgID
	if id == "" { // events that are no message have no id
		return event{}, false
	}
	for i := len(s.sessions) - 1; i >= 0; i-- {
		for ev := range s.sessions[i].events.from(0) {
			if ev.msgID == id {
				return *ev, true
			}
		}
	}
	for _, ev := range s.pending {
		if ev.msgID == id {
			return ev, true
		}
	}
	return event{}, false
}

// mediaLocked returns the media (or thumbnail) of ev, or nil.
func (s *Server) mediaLocked(ev event, thumb bool) []byte {
	m := ev.msg
	seed := ev.msgID
	if thumb {
		switch m.Type {
		case 3, 43, 47, 62:
			return generate("jpeg", thumbSize, "thumb", seed)
		}
		return nil
	}
	if rec := s.files.info[m.MediaID]; rec != nil && m.Type != 49 {
		return rec.data // the echo of a sent image or video
	}
	switch {
	case m.Type == 3:
		return generate("jpeg", imageSize, "image", seed)
	case m.Type == 47:
		return generate("gif", gifSize, "emoticon", seed)
	case m.Type == 34:
		return generate("mp3", voiceSize(m), "voice", seed)
	case m.Type == 43 || m.Type == 62:
		return generate("mp4", videoSize, "video", seed)
	case m.Type == 49 && m.AppMsgType == 6 && m.MediaID != "":
		if rec := s.files.info[m.MediaID]; rec != nil {
			return rec.data // the echo of a sent file
		}
		return generate("file", int(max(m.FileSize, 1)), "file", m.MediaID)
	}
	return nil
}

// generate returns size deterministic bytes of a kind: a header that
// http.DetectContentType recognises, then pseudo-random bytes from seed.
func generate(kind string, size int, seed ...string) []byte {
	var head []byte
	switch kind {
	case "jpeg":
		head = []byte("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
	case "gif":
		head = []byte("GIF89a\x50\x00\x50\x00\xf7\x00\x00")
	case "mp3":
		head = []byte("ID3\x03\x00\x00\x00\x00\x00\x0a")
	case "mp4":
		head = []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")
	}
	b := make([]byte, 0, size)
	b = append(b, head[:min(len(head), size)]...)
	sum := sha256.Sum256([]byte(kind + "\x00" + strings.Join(seed, "\x00")))
	var ctr [8]byte
	for i := uint64(0); len(b) < size; i++ {
		binary.BigEndian.PutUint64(ctr[:], i)
		block := sha256.Sum256(append(sum[:], ctr[:]...))
		b = append(b, block[:min(len(block), size-len(b))]...)
	}
	return b
}

// Downloads.

// isMediaEndpoint reports whether name is a download of the main host.
func isMediaEndpoint(name string) bool {
	switch name {
	case "webwxgetmsgimg", "webwxgetvoice", "webwxgetvideo", "webwxgeticon", "webwxgetheadimg", "webwxgetpubliclinkimg":
		return true
	}
	return false
}

// serveMedia answers the main-host downloads (PROTOCOL 10.1-10.3, 10.5,
// 10.6): webwxgetmsgimg, webwxgetvoice, webwxgetvideo, webwxgeticon,
// webwxgetheadimg and webwxgetpubliclinkimg. They need the session checks
// of authLocked and a skey of the session in the query (webwxgetheadimg
// also accepts an empty one, as group HeadImgUrls carry it, PROTOCOL 5.4,
// and webwxgetpubliclinkimg, whose path comes from a message, PROTOCOL 7.5);
// a request that fails them, an unknown or expired message, and
// webwxgetvideo without a Range header (PROTOCOL 10.3, 14.18) get 200 with
// an empty body.
func (s *Server) serveMedia(x *exchange) {
	s.mu.Lock()
	q := x.r.URL.Query()
	endpoint := x.ep
	ss, rf := s.authLocked(x)
	skey := q.Get("skey")
	if rf == nil && !ss.validSkey(skey) && !(skey == "" && (endpoint == "webwxgetheadimg" || endpoint == "webwxgetpubliclinkimg")) {
		rf = refuse(0, "the skey parameter is not a skey of the session (PROTOCOL 10)")
	}
	if rf != nil {
		s.noteLocked(x, 0, rf.reason+": answered an empty body")
		s.mu.Unlock()
		serveEmpty(x.w)
		return
	}
	var data []byte
	why := "no message with this id has such media"
	contentType := "image/jpeg" // also for GIFs (PROTOCOL 14.3)
	switch endpoint {
	case "webwxgetmsgimg":
		msgID := q.Get("MsgID")
		if msgID == "" {
			msgID = q.Get("msgid")
		}
		if ev, ok := s.liveEventLocked(ss, msgID); ok {
			switch typ := q.Get("type"); {
			case typ == "slave":
				data = s.mediaLocked(ev, true)
			case ev.msg.Type == 3 || ev.msg.Type == 47:
				data = s.mediaLocked(ev, false)
			}
		}
	case "webwxgetvoice":
		if ev, ok := s.liveEventLocked(ss, q.Get("msgid")); ok && ev.msg.Type == 34 {
			data, contentType = s.mediaLocked(ev, false), "audio/mp3"
		}
	case "webwxgetvideo":
		ev, ok := s.liveEventLocked(ss, q.Get("msgid"))
		switch {
		case ok && (ev.msg.Type == 43 || ev.msg.Type == 62) && x.r.Header.Get("Range") == "":
			why = "webwxgetvideo without a Range header sends nothing (PROTOCOL 10.3, 14.18)"
		case ok && (ev.msg.Type == 43 || ev.msg.Type == 62):
			data, contentType = s.mediaLocked(ev, false), "video/mp4"
		}
	case "webwxgeticon", "webwxgetheadimg":
		data = s.avatarLocked(ss, q, endpoint == "webwxgetheadimg")
		why = "no contact with this username; a group member who is no contact needs the chatroomid of a group that has them (PROTOCOL 10.5)"
	case "webwxgetpubliclinkimg":
		data = generate("jpeg", thumbSize, "map", q.Get("url"), q.Get("msgid"))
	}
	if data == nil {
		s.noteLocked(x, 0, why+": answered an empty body")
	}
	s.mu.Unlock()
	if data == nil {
		serveEmpty(x.w)
		return
	}
	x.w.Header().Set("Content-Type", contentType)
	http.ServeContent(x.w, x.r, "", time.Time{}, bytes.NewReader(data))
}

// liveEventLocked finds the message msgID of session ss that has not
// expired ([Server.ExpireMedia]).
func (s *Server) liveEventLocked(ss *session, msgID string) (event, bool) {
	if s.files.expired[msgID] {
		return event{}, false
	}
	id := msgID
	if id == "" { // events that are no message have no id
		return event{}, false
	}
	for ev := range ss.events.from(0) {
		if ev.msgID == id {
			return *ev, true
		}
	}
	return event{}, false
}

// avatarLocked returns the avatar a webwxgeticon (or, with group,
// webwxgetheadimg) query asks for, or nil. A group member who is not a
// contact needs chatroomid, the EncryChatRoomId (or UserName) of a group
// that has them (PROTOCOL 10.5).
func (s *Server) avatarLocked(ss *session, q url.Values, group bool) []byte {
	e := s.acct.byID[ss.ids[q.Get("username")]]
	switch {
	case e == nil, group != (e.kind == kindGroup):
		return nil
	case e.kind == kindStranger:
		g := s.groupByRoomLocked(ss, q.Get("chatroomid"))
		if g == nil || !g.group.hasMember(e.id) {
			return nil
		}
	}
	return s.Avatar(e.id)
}

// serveGetMedia answers webwxgetmedia on the file host (PROTOCOL 10.4). It
// needs the cookies of a live session and the webwx_data_ticket parameter
// equal to the cookie (PROTOCOL 10.4: MUST), and mediaid must be the file
// attachment of a message the session delivered that has not expired. The
// sender, fromuser and file name parameters are not checked (clients send
// them in several forms, PROTOCOL 10.4). It answers the file with
// Content-Disposition, and 404 with an HTML page when anything is wrong.
func (s *Server) serveGetMedia(x *exchange) {
	s.mu.Lock()
	q := x.r.URL.Query()
	ss := s.sessionByCookiesLocked(x.r)
	var why string
	switch {
	case !s.isFileHost(x.host):
		why = "not the session's file host (PROTOCOL 2.2)"
	case ss == nil:
		why = "no wxuin and wxsid cookies of a session"
	case ss.ended != 0:
		why = "the session has ended"
	case cookieValue(x.r, "webwx_data_ticket") != ss.dataTicket:
		why = "no webwx_data_ticket cookie of the session (PROTOCOL 10.4)"
	case q.Get("webwx_data_ticket") != ss.dataTicket:
		why = "the webwx_data_ticket parameter is not the cookie's value (PROTOCOL 10.4: MUST)"
	}
	var (
		data []byte
		name string
	)
	if why == "" {
		why = "mediaid is not the file of a delivered message, or it expired"
		for ev := range ss.events.from(0) {
			m := ev.msg
			if m.Type != 49 || m.AppMsgType != 6 || m.MediaID == "" || m.MediaID != q.Get("mediaid") ||
				s.files.expired[ev.msgID] {
				continue
			}
			data, name = s.mediaLocked(*ev, false), m.FileName
			break
		}
	}
	if data == nil {
		s.noteLocked(x, 0, why+": answered 404")
	}
	s.mu.Unlock()
	if data == nil {
		notFound(x.w)
		return
	}
	x.w.Header().Set("Content-Type", "application/octet-stream")
	x.w.Header().Set("Content-Disposition", `attachment; filename="`+encryFileName(name)+`"`)
	http.ServeContent(x.w, x.r, "", time.Time{}, bytes.NewReader(data))
}

// serveEmpty answers 200 with an empty body (PROTOCOL 14.17).
func serveEmpty(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}
