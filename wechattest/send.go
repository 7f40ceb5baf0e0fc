package wechattest

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// SentMessage is a message the client sent, as the server accepted it.
type SentMessage struct {
	Endpoint string // "webwxsendmsg", "webwxsendmsgimg", "webwxsendappmsg", "webwxrevokemsg", ...
	Type     int    // Msg.Type
	From, To string // stable ids resolved from the UserNames ("" if unknown)

	FromUserName, ToUserName string
	// Content is Msg.Content as the server decoded it; a "\/" the client
	// escaped stays a backslash and a slash (PROTOCOL 3.7).
	Content string
	// MediaID is Msg.MediaId, or for webwxsendappmsg the <attachid> of the
	// Content, or for webwxsendemoticon the EMoticonMd5.
	MediaID     string
	LocalID     string
	ClientMsgID string
	MsgID       string // the MsgID the server answered (revokes: SvrMsgId)
	Scene       int
	MsgSource   string // Msg.MsgSource (mentions, PROTOCOL 8.2)
	Signature   string // Msg.Signature (files over 25 MB, PROTOCOL 9.2)
}

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

// Upload is a file the client uploaded with webwxuploadmedia, all chunks
// assembled.
type Upload struct {
	MediaID     string
	Name        string // the name field
	MediaType   string // the mediatype field: "pic", "video" or "doc"
	ContentType string // the type field (MIME type)
	Signature   string // for files over 25 MB, from webwxcheckupload (PROTOCOL 9.2)
	// Data is the file, or nil with [WithUploadDigestOnly]: [Upload.Size]
	// and [Upload.MD5] describe it either way.
	Data []byte

	size int64  // with WithUploadDigestOnly
	md5  string // with WithUploadDigestOnly
}

// Size returns the size of the uploaded file in bytes.
func (u Upload) Size() int64 {
	if u.Data == nil {
		return u.size
	}
	return int64(len(u.Data))
}

// MD5 returns the lower-case hex MD5 of the uploaded file.
func (u Upload) MD5() string {
	if u.Data == nil {
		return u.md5
	}
	sum := md5.Sum(u.Data)
	return hex.EncodeToString(sum[:])
}

// Uploads returns every completed upload so far, in order. The Data slices
// are shared with the server and must not be modified.
func (s *Server) Uploads() []Upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Upload(nil), s.uploads...)
}

// sendRule is what a send endpoint accepts.
type sendRule struct {
	types    []int
	media    bool // MediaId must be known, or "" with a Content (forward)
	appmsg   bool // Content must be set; a type 6 needs a known <attachid>
	emoticon bool // a known MediaId or an EMoticonMd5
	echoType int  // MsgType of the echo in AddMsgList (0: Msg.Type)
}

func sendRuleFor(name string) (sendRule, bool) {
	switch name {
	case "webwxsendmsg":
		return sendRule{types: []int{1, 48}}, true
	case "webwxsendmsgimg":
		return sendRule{types: []int{3}, media: true}, true
	case "webwxsendvideomsg":
		return sendRule{types: []int{43, 62}, media: true, echoType: 43}, true
	case "webwxsendappmsg":
		return sendRule{appmsg: true, echoType: 49}, true
	case "webwxsendemoticon":
		return sendRule{types: []int{47}, emoticon: true}, true
	}
	return sendRule{}, false
}

func zeroSend(ret int) obj {
	return obj{{"BaseResponse", baseResponse(ret)}, {"MsgID", ""}, {"LocalID", ""}}
}

func zeroRevoke(ret int) obj {
	return obj{{"BaseResponse", baseResponse(ret)}, {"Introduction", ""}, {"SysWording", ""}}
}

// attachIDRe finds the MediaId in a file appmsg (PROTOCOL 8.5).
var attachIDRe = regexp.MustCompile(`<attachid>([^<]*)</attachid>`)

// handleSend answers the send endpoints (PROTOCOL 8). Msg.FromUserName must
// be self and ToUserName a UserName of this session other than self (else
// Ret 1204); LocalID and ClientMsgId must be equal and non-empty, Msg.Type
// must suit the endpoint and media must be known (else Ret 1). The message
// is recorded and echoed to the event log, as the real server does
// (PROTOCOL 14.21).
func (s *Server) handleSend(c *call, endpoint string, rule sendRule) (obj, int) {
	ss := c.ss
	if s.sendLimitedLocked() {
		return nil, 1205
	}
	msg, ok := c.req.obj("Msg")
	if !ok {
		return nil, 1
	}
	typ, _ := msg.num("Type")
	content, _ := msg.str("Content")
	fromUN, _ := msg.str("FromUserName")
	toUN, _ := msg.str("ToUserName")
	localID, _ := msg.idString("LocalID")
	clientID, _ := msg.idString("ClientMsgId")
	mediaID, _ := msg.str("MediaId")
	msgSource, _ := msg.str("MsgSource")
	signature, _ := msg.str("Signature")
	scene, _ := c.req.num("Scene")

	selfUN := ss.userName(s.acct.self.id)
	to := ss.ids[toUN]
	if fromUN != selfUN || to == "" || toUN == selfUN {
		return nil, 1204
	}
	if localID == "" || localID != clientID {
		return nil, 1
	}
	if len(rule.types) > 0 && !slices.Contains(rule.types, int(typ)) {
		return nil, 1
	}
	switch {
	case rule.media:
		if mediaID == "" && content == "" || mediaID != "" && !s.media[mediaID] {
			return nil, 1
		}
	case rule.appmsg:
		if typ <= 0 || content == "" {
			return nil, 1
		}
		if typ == 6 {
			m := attachIDRe.FindStringSubmatch(content)
			if m == nil || !s.media[m[1]] {
				return nil, 1
			}
			mediaID = m[1]
			// A file over 25 MB is sent with the Signature of its upload
			// (PROTOCOL 9.2).
			if rec := s.files.info[mediaID]; rec != nil && rec.signature != "" && rec.signature != signature {
				return nil, 1
			}
		}
	case rule.emoticon:
		md5sum, _ := msg.str("EMoticonMd5")
		if mediaID != "" && !s.media[mediaID] || mediaID == "" && md5sum == "" {
			return nil, 1
		}
		if mediaID == "" {
			mediaID = md5sum
		}
	}

	msgID := s.newMsgIDLocked()
	sm := SentMessage{
		Endpoint:     endpoint,
		Type:         int(typ),
		From:         s.acct.self.id,
		To:           to,
		FromUserName: fromUN,
		ToUserName:   toUN,
		Content:      content,
		MediaID:      mediaID,
		LocalID:      localID,
		ClientMsgID:  clientID,
		MsgID:        strconv.FormatInt(msgID, 10),
		Scene:        int(scene),
		MsgSource:    msgSource,
		Signature:    signature,
	}
	s.sent = append(s.sent, sm)
	s.files.sentLocked(sm.MsgID, s.nowLocked())

	echo := Message{From: s.acct.self.id, To: to, Type: int(typ), MsgID: msgID}
	switch {
	case rule.echoType == 49:
		echo.Type, echo.AppMsgType = 49, int(typ)
		echo.Content = escapeHTML(content)
		echo.MediaID = mediaID
	case rule.echoType != 0:
		echo.Type = rule.echoType
	}
	if echo.Type == 1 || echo.Type == 48 {
		echo.Text = content
	}
	if rule.media && mediaID != "" {
		echo.MediaID = mediaID
	}
	s.appendEventLocked(s.newEventLocked(echo))
	s.broadcastLocked()
	return obj{{"BaseResponse", baseResponse(0)}, {"MsgID", sm.MsgID}, {"LocalID", localID}}, 0
}

// handleRevoke answers webwxrevokemsg (PROTOCOL 8.9): SvrMsgId must be the
// MsgID of a message this server accepted for ToUserName, not revoked yet,
// and accepted at most the revoke window ago ([WithRevokeWindow], 2 minutes
// by default) by the server's clock; otherwise the answer is Ret 1 (PROTOCOL
// gives no code for a refusal). The revoke is recorded in [Server.Sent] with
// Endpoint "webwxrevokemsg".
func (s *Server) handleRevoke(c *call) (obj, int) {
	svr, _ := c.req.idString("SvrMsgId")
	toUN, _ := c.req.str("ToUserName")
	clientID, _ := c.req.idString("ClientMsgId")
	for _, m := range s.sent {
		if m.Endpoint == "webwxrevokemsg" && m.MsgID == svr {
			return nil, 1 // already revoked
		}
	}
	for _, m := range s.sent {
		if m.Endpoint != "webwxrevokemsg" && m.MsgID == svr && svr != "" && m.ToUserName == toUN {
			if s.nowLocked().Sub(s.files.sentAt[svr]) > s.revokeWindow() {
				return nil, 1
			}
			s.sent = append(s.sent, SentMessage{
				Endpoint: "webwxrevokemsg", From: s.acct.self.id, To: m.To,
				FromUserName: m.FromUserName, ToUserName: toUN,
				ClientMsgID: clientID, MsgID: svr,
			})
			s.broadcastLocked()
			return zeroRevoke(0), 0
		}
	}
	return nil, 1
}

// chunkSize is the upload chunk size (PROTOCOL 9.1).
const chunkSize = 524288

// isFileHost reports whether host is a file host of the server's main host (PROTOCOL 2.2):
// the derived one, or file2. before the main host.
func (s *Server) isFileHost(host string) bool {
	_, file, _ := derivedHosts(s.cfg.mainHost)
	return host == file || host == "file2."+s.cfg.mainHost
}

// partialUpload is a chunked upload in progress.
type partialUpload struct {
	data   []byte // nil with WithUploadDigestOnly
	size   int64  // bytes received
	sum    hash.Hash
	chunks int
	next   int // index of the next chunk expected
}

func uploadBody(ret int, mediaID string, startPos int64, thumb int, encry string) obj {
	return obj{
		{"BaseResponse", baseResponse(ret)},
		{"MediaId", mediaID},
		{"StartPos", startPos},
		{"CDNThumbImgHeight", thumb},
		{"CDNThumbImgWidth", thumb},
		{"EncryFileName", encry},
	}
}

// serveUpload answers webwxuploadmedia on the file host (PROTOCOL 9.1).
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request, host string, body []byte) {
	if !s.isFileHost(host) {
		notFound(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	resp, ret := s.uploadLocked(r, body)
	if ret != 0 {
		writeJSONBody(w, multiline(uploadBody(ret, "", 0, 0, "")))
		return
	}
	writeJSONBody(w, compact(resp))
}

func (s *Server) uploadLocked(r *http.Request, body []byte) (obj, int) {
	ss := s.sessionByCookiesLocked(r)
	switch {
	case ss == nil:
		return nil, 1100
	case ss.ended != 0:
		return nil, ss.ended
	case s.files.failChunks > 0:
		s.files.failChunks-- // FailNextChunk: a system error, nothing kept
		return nil, -1
	}
	if s.files.scratch == nil {
		s.files.scratch = make([]byte, 0, chunkSize+1024) // room for bytes.Buffer.ReadFrom's MinRead
	}
	form, data, ok := parseUploadForm(r, body, s.files.scratch[:0])
	if !ok {
		return nil, 1200
	}
	if form["webwx_data_ticket"] != ss.dataTicket || cookieValue(r, "webwx_data_ticket") != ss.dataTicket {
		return nil, 1
	}
	umr, ok := parseRequest([]byte(form["uploadmediarequest"]))
	if !ok {
		return nil, 1200
	}
	if ret := checkBase(ss, umr, false); ret != 0 {
		return nil, ret
	}
	name := form["name"]
	size, err := strconv.ParseInt(form["size"], 10, 64)
	total, _ := umr.num("TotalLen")
	if err != nil || size <= 0 || total != size || name == "" || form["mediatype"] == "" {
		return nil, 1
	}

	chunks, chunk := 1, 0
	wantChunks := int((size + chunkSize - 1) / chunkSize)
	cs, hasChunks := form["chunks"]
	if hasChunks {
		chunks, err = strconv.Atoi(cs)
		if err != nil {
			return nil, 1
		}
		if chunk, err = strconv.Atoi(form["chunk"]); err != nil {
			return nil, 1
		}
	}
	if chunks != wantChunks || chunk < 0 || chunk >= chunks {
		return nil, 1
	}
	wantLen := int64(chunkSize)
	if chunk == chunks-1 {
		wantLen = size - int64(chunks-1)*chunkSize
	}
	if int64(len(data)) != wantLen {
		return nil, 1
	}

	md5sum, _ := umr.str("FileMd5")
	signature := ""
	if size > checkUploadMin {
		// Files over 25 MB need the AESKey and Signature webwxcheckupload
		// gave for this MD5 (PROTOCOL 9.2).
		aesKey, _ := umr.str("AESKey")
		signature, _ = umr.str("Signature")
		ck := s.files.checks[signature]
		if ck == nil || ck.aesKey != aesKey || ck.md5 != md5sum || ck.size != size {
			return nil, 1
		}
	}

	clientMediaID, _ := umr.idString("ClientMediaId")
	key := clientMediaID + "\x00" + name
	p := ss.uploads[key]
	switch {
	case chunk == 0:
		p = &partialUpload{chunks: chunks, sum: md5.New()}
		ss.uploads[key] = p
	case p == nil || p.next != chunk || p.chunks != chunks:
		delete(ss.uploads, key)
		return nil, 1
	}
	p.sum.Write(data)
	p.size += int64(len(data))
	if !s.cfg.files.digestOnly {
		p.data = append(p.data, data...)
	}
	p.next++
	encry := encryFileName(name)
	if chunk < chunks-1 {
		return uploadBody(0, "", p.size, 0, encry), 0
	}
	delete(ss.uploads, key)
	sum := hex.EncodeToString(p.sum.Sum(nil))
	if md5sum != sum {
		return nil, 1
	}
	n := strconv.FormatInt(s.nextSerial(), 10)
	mediaID := "@crypt_" + hashHex(8, "media", n) + "_" + hashHex(256, "media2", n)
	s.media[mediaID] = true
	up := Upload{
		MediaID: mediaID, Name: name, MediaType: form["mediatype"], ContentType: form["type"],
		Signature: signature, Data: p.data,
	}
	if p.data == nil {
		up.size, up.md5 = size, sum
	}
	s.uploads = append(s.uploads, up)
	s.files.uploadedLocked(mediaID, &mediaRecord{size: size, md5: sum, signature: signature, data: p.data})
	s.broadcastLocked()
	thumb := 0
	if form["mediatype"] == "pic" {
		thumb = 100
	}
	return uploadBody(0, mediaID, size, thumb, encry), 0
}

// parseUploadForm reads the multipart form of an upload: the text fields
// and the bytes of the "filename" part, read into buf, which grows if it
// is too small.
func parseUploadForm(r *http.Request, body []byte, buf []byte) (map[string]string, []byte, bool) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, nil, false
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	form := make(map[string]string)
	var data []byte
	gotFile := false
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, false
		}
		if part.FormName() == "filename" && part.FileName() != "" {
			b := bytes.NewBuffer(buf[:0])
			if _, err := b.ReadFrom(part); err != nil {
				return nil, nil, false
			}
			data, gotFile = b.Bytes(), true
			continue
		}
		b, err := io.ReadAll(part)
		if err != nil {
			return nil, nil, false
		}
		form[part.FormName()] = string(b)
	}
	return form, data, gotFile
}

// encryFileName is the EncryFileName of a file name: URL-encoded, with
// '.' as %2E (PROTOCOL 7.1, 9.1).
func encryFileName(name string) string {
	return strings.ReplaceAll(strings.ReplaceAll(url.QueryEscape(name), "+", "%20"), ".", "%2E")
}
