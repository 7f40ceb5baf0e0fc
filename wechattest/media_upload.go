package wechattest

import (
	"bytes"
	"crypto/md5"
	"encoding"
	"encoding/hex"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Uploads (PROTOCOL 9): webwxuploadmedia, webwxcheckupload for files over
// 25 MB, digest-only uploads; and the limits of sending: revoke windows and
// send limits (PROTOCOL 8.9, 12.7).

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

// checkUploadMin: uploads of larger files need webwxcheckupload first
// (PROTOCOL 9.2).
const checkUploadMin = 25 << 20

// defaultRevokeWindow is how old a message may be to be revoked (PROTOCOL
// 8.9).
const defaultRevokeWindow = 2 * time.Minute

// fileConfig holds the options of this file.
type fileConfig struct {
	digestOnly   bool
	revokeWindow time.Duration
	sendLimit    int
	sendPer      time.Duration
}

// WithUploadDigestOnly makes the server keep only the size and MD5 of
// uploaded files, not their bytes: [Upload.Data] is nil and the bodies of
// webwxuploadmedia requests are left out of [Server.Requests]. For
// benchmarks and tests of large files, whose memory would otherwise be
// held by the server.
func WithUploadDigestOnly() Option {
	return func(c *config) { c.files.digestOnly = true }
}

// WithRevokeWindow sets how old, by the server's clock, a message may be
// for webwxrevokemsg to revoke it. The default is 2 minutes (PROTOCOL 8.9);
// d <= 0 means the default. The server's clock is time.Now, so inside a
// testing/synctest bubble a test moves it with time.Sleep.
func WithRevokeWindow(d time.Duration) Option {
	return func(c *config) { c.files.revokeWindow = d }
}

// WithSendLimit makes the send endpoints answer Ret 1205 ("operation too
// frequent", PROTOCOL 8.1, 12.7), with the zeroed body of PROTOCOL 14.2,
// to a send that comes after n sends accepted in the last per, by the
// server's clock. Refused sends do not count. n <= 0 or per <= 0, the
// default, means no limit.
func WithSendLimit(n int, per time.Duration) Option {
	return func(c *config) { c.files.sendLimit, c.files.sendPer = n, per }
}

// fileState is the state of this file; guarded by Server.mu. Its maps are
// made on first use.
type fileState struct {
	expired map[string]bool         // ExpireMedia, by MsgId
	sends   []time.Time             // accepted sends, for WithSendLimit
	sentAt  map[string]time.Time    // accepted sends by MsgID, for the revoke window
	checks  map[string]*bigUpload   // webwxcheckupload answers, by Signature
	info    map[string]*mediaRecord // completed uploads, by MediaId
	scratch []byte                  // chunk buffer of uploads
}

// mediaRecord is a completed upload.
type mediaRecord struct {
	size      int64
	md5       string
	signature string
	data      []byte // nil with WithUploadDigestOnly
}

// bigUpload is what webwxcheckupload handed out for a file.
type bigUpload struct {
	md5, aesKey string
	size        int64
}

// uploadedLocked records a completed upload.
func (f *fileState) uploadedLocked(mediaID string, rec *mediaRecord) {
	if f.info == nil {
		f.info = make(map[string]*mediaRecord)
	}
	f.info[mediaID] = rec
}

// sentLocked records a send accepted at t.
func (f *fileState) sentLocked(msgID string, t time.Time) {
	if f.sentAt == nil {
		f.sentAt = make(map[string]time.Time)
	}
	f.sentAt[msgID] = t
	f.sends = append(f.sends, t)
}

// nowLocked is the server's clock for revoke windows and send limits:
// time.Now, which a testing/synctest bubble makes a fake clock.
func (s *Server) nowLocked() time.Time { return time.Now() }

func (s *Server) revokeWindow() time.Duration {
	if s.cfg.files.revokeWindow > 0 {
		return s.cfg.files.revokeWindow
	}
	return defaultRevokeWindow
}

// sendLimitedLocked reports whether WithSendLimit refuses a send now.
func (s *Server) sendLimitedLocked() bool {
	n, per := s.cfg.files.sendLimit, s.cfg.files.sendPer
	if n <= 0 || per <= 0 {
		return false
	}
	now := s.nowLocked()
	recent := s.files.sends[:0]
	for _, t := range s.files.sends {
		if now.Sub(t) < per {
			recent = append(recent, t)
		}
	}
	s.files.sends = recent
	return len(recent) >= n
}

// loggedBody is the body [Server.Requests] keeps for a request to path.
func (s *Server) loggedBody(path string, body []byte) []byte {
	if s.cfg.files.digestOnly && strings.HasSuffix(path, "/webwxuploadmedia") {
		return nil
	}
	return body
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
	data    []byte // nil with WithUploadDigestOnly
	size    int64  // bytes received
	sum     hash.Hash
	chunks  int
	next    int    // index of the next chunk expected
	prevSum []byte // the MD5 state before the last chunk, to take a repeated chunk again
	lastLen int    // length of the last chunk
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

// serveUpload answers webwxuploadmedia on the file host (PROTOCOL 9.1). On
// any host but the session's file host it answers a plain 404 (WXB falls
// back to file2.<main> on such a failure).
func (s *Server) serveUpload(x *exchange) {
	if !s.isFileHost(x.host) {
		s.note(x, 0, "not the session's file host (PROTOCOL 2.2): answered 404")
		notFound(x.w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	resp, rf := s.uploadLocked(x)
	if rf != nil {
		s.noteLocked(x, rf.ret, rf.reason)
		writeJSONBody(x.w, multiline(uploadBody(rf.ret, "", 0, 0, "")))
		return
	}
	writeJSONBody(x.w, compact(resp))
}

// uploadLocked takes one chunk. It refuses: with 1100 (or the session's end
// code) a request without the cookies of a live session; with 1200 a body
// that is not multipart with a file part, or an uploadmediarequest that is
// not JSON (PROTOCOL 13); with the 1100 of checkBase an uploadmediarequest
// whose BaseRequest is not the session's; with Ret 1 a webwx_data_ticket
// field or cookie that is missing or differs (PROTOCOL 9.1: MUST), a size
// that is not a positive number, chunk fields that do not cut the file in
// 524288-byte chunks sent in order (PROTOCOL 9.1), and a file over 25 MB
// without the AESKey and Signature of webwxcheckupload for its MD5 and size
// (PROTOCOL 9.2). The name, mediatype, TotalLen and FileMd5 of files up to
// 25 MB are taken as given. A chunk sent again (a retry after a dropped
// answer) replaces the first copy, and the last chunk of a completed upload
// sent again gets the same answer.
func (s *Server) uploadLocked(x *exchange) (obj, *refusal) {
	r := x.r
	ss := s.sessionByCookiesLocked(r)
	switch {
	case ss == nil:
		return nil, refuse(1100, "no wxuin and wxsid cookies of a session (PROTOCOL 9.1)")
	case ss.ended != 0:
		return nil, refuse(ss.ended, "the session has ended with %d (PROTOCOL 12.5)", ss.ended)
	}
	if s.files.scratch == nil {
		s.files.scratch = make([]byte, 0, chunkSize+1024) // room for bytes.Buffer.ReadFrom's MinRead
	}
	form, data, ok := parseUploadForm(r, x.body, s.files.scratch[:0])
	if !ok {
		return nil, refuse(1200, "the body is not multipart/form-data with a filename part (PROTOCOL 9.1)")
	}
	if cookieValue(r, "webwx_data_ticket") != ss.dataTicket {
		return nil, refuse(1, "no webwx_data_ticket cookie of the session (PROTOCOL 9.1: MUST)")
	}
	if form["webwx_data_ticket"] != ss.dataTicket {
		return nil, refuse(1, "the webwx_data_ticket field is not the cookie's value (PROTOCOL 9.1: MUST)")
	}
	umr, ok := parseRequest([]byte(form["uploadmediarequest"]))
	if !ok {
		return nil, refuse(1200, "the uploadmediarequest field is not a JSON object (PROTOCOL 9.1)")
	}
	if rf := checkBase(ss, umr, false); rf != nil {
		return nil, rf
	}
	name := form["name"]
	size, err := strconv.ParseInt(form["size"], 10, 64)
	if err != nil || size <= 0 {
		return nil, refuse(1, "the size field is not a positive number (PROTOCOL 9.1)")
	}

	chunks, chunk := 1, 0
	wantChunks := int((size + chunkSize - 1) / chunkSize)
	if cs, hasChunks := form["chunks"]; hasChunks {
		if chunks, err = strconv.Atoi(cs); err != nil {
			return nil, refuse(1, "the chunks field is not a number (PROTOCOL 9.1)")
		}
		if chunk, err = strconv.Atoi(form["chunk"]); err != nil {
			return nil, refuse(1, "the chunk field is not a number (PROTOCOL 9.1)")
		}
	}
	if chunks != wantChunks {
		return nil, refuse(1, "chunks is %d; a file of %d bytes has %d chunks of 524288 bytes (PROTOCOL 9.1)", chunks, size, wantChunks)
	}
	if chunk < 0 || chunk >= chunks {
		return nil, refuse(1, "chunk %d is not one of the %d chunks (PROTOCOL 9.1)", chunk, chunks)
	}
	wantLen := int64(chunkSize)
	if chunk == chunks-1 {
		wantLen = size - int64(chunks-1)*chunkSize
	}
	if int64(len(data)) != wantLen {
		return nil, refuse(1, "chunk %d has %d bytes, not %d (PROTOCOL 9.1: 524288-byte chunks)", chunk, len(data), wantLen)
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
			return nil, refuse(1, "a file over 25 MB needs the AESKey and Signature webwxcheckupload gave for its FileMd5 and size (PROTOCOL 9.2)")
		}
	}

	clientMediaID, _ := umr.idString("ClientMediaId")
	key := clientMediaID + "\x00" + name + "\x00" + strconv.FormatInt(size, 10)
	p := ss.uploads[key]
	switch {
	case chunk == chunks-1 && ss.done[key] != nil && (p == nil || p.next != chunk):
		return ss.done[key], nil // the last chunk again: the upload is complete
	case chunk == 0:
		p = &partialUpload{chunks: chunks, sum: md5.New()}
		ss.uploads[key] = p
	case p != nil && p.chunks == chunks && chunk == p.next-1:
		p.undoLast() // a retry of the last chunk
	case p == nil || p.next != chunk || p.chunks != chunks:
		delete(ss.uploads, key)
		return nil, refuse(1, "chunk %d out of order (PROTOCOL 9.1: chunks go one at a time, in order)", chunk)
	}
	p.add(data, !s.cfg.files.digestOnly)
	encry := encryFileName(name)
	if chunk < chunks-1 {
		return uploadBody(0, "", p.size, 0, encry), nil
	}
	delete(ss.uploads, key)
	sum := hex.EncodeToString(p.sum.Sum(nil))
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
	resp := uploadBody(0, mediaID, size, thumb, encry)
	ss.done[key] = resp
	return resp, nil
}

// add takes the next chunk, keeping its bytes if keep.
func (p *partialUpload) add(data []byte, keep bool) {
	p.prevSum, _ = p.sum.(encoding.BinaryMarshaler).MarshalBinary()
	p.lastLen = len(data)
	p.sum.Write(data)
	p.size += int64(len(data))
	if keep {
		p.data = append(p.data, data...)
	}
	p.next++
}

// undoLast forgets the last chunk, which is being sent again.
func (p *partialUpload) undoLast() {
	_ = p.sum.(encoding.BinaryUnmarshaler).UnmarshalBinary(p.prevSum)
	p.size -= int64(p.lastLen)
	if p.data != nil {
		p.data = p.data[:len(p.data)-p.lastLen]
	}
	p.next--
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

// webwxcheckupload (PROTOCOL 9.2).

func zeroCheckUpload(ret int) obj {
	return obj{{"BaseResponse", baseResponse(ret)}, {"MediaId", ""}, {"AESKey", ""}, {"Signature", ""}, {"EncryFileName", ""}}
}

// handleCheckUpload answers webwxcheckupload (PROTOCOL 9.2). FileMd5 must
// be 32 lower-case hex digits and FileSize a positive number (else Ret 1):
// the server matches files by them. FileName, FileType and the UserNames
// are not checked. For a file the server has (an upload with the same MD5
// and size) it answers its MediaId; otherwise a new AESKey and Signature,
// which the upload of a file over 25 MB must carry in its
// uploadmediarequest, and the send of its appmsg in Msg.Signature (else
// Ret 1).
func (s *Server) handleCheckUpload(c *call) (obj, *refusal) {
	md5sum, _ := c.req.str("FileMd5")
	name, _ := c.req.str("FileName")
	size, _ := c.req.num("FileSize")
	if len(md5sum) != 32 || strings.ToLower(md5sum) != md5sum {
		return nil, refuse(1, "FileMd5 is not a lower-case hex MD5 (PROTOCOL 9.2)")
	}
	if size <= 0 {
		return nil, refuse(1, "FileSize is not a positive number (PROTOCOL 9.2)")
	}
	encry := encryFileName(name)
	for mediaID, rec := range s.files.info {
		if rec.md5 == md5sum && rec.size == size && rec.signature != "" {
			aes := s.files.checks[rec.signature].aesKey
			return obj{{"BaseResponse", baseResponse(0)}, {"MediaId", mediaID}, {"AESKey", aes}, {"Signature", rec.signature}, {"EncryFileName", encry}}, nil
		}
	}
	n := strconv.FormatInt(s.nextSerial(), 10)
	ck := &bigUpload{md5: md5sum, size: size, aesKey: hashHex(32, "aeskey", n)}
	sig := hashHex(64, "signature", n, md5sum)
	if s.files.checks == nil {
		s.files.checks = make(map[string]*bigUpload)
	}
	s.files.checks[sig] = ck
	return obj{{"BaseResponse", baseResponse(0)}, {"MediaId", ""}, {"AESKey", ck.aesKey}, {"Signature", sig}, {"EncryFileName", encry}}, nil
}
