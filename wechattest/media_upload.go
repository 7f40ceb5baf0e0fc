package wechattest

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Large uploads, digest-only uploads, failing chunks (PROTOCOL 9), revoke
// windows and send limits (PROTOCOL 8.9, 12.7), and the server's clock.

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
// d <= 0 means the default. [Server.AdvanceClock] moves the clock.
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
	skew       time.Duration           // AdvanceClock
	failChunks int                     // FailNextChunk
	emptyNext  int                     // EmptyNextMedia
	expired    map[string]bool         // ExpireMedia, by MsgId
	sends      []time.Time             // accepted sends, for WithSendLimit
	sentAt     map[string]time.Time    // accepted sends by MsgID, for the revoke window
	checks     map[string]*bigUpload   // webwxcheckupload answers, by Signature
	info       map[string]*mediaRecord // completed uploads, by MediaId
	scratch    []byte                  // chunk buffer of uploads
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

// nowLocked is the server's clock: the time plus what [Server.AdvanceClock]
// added; s.mu must be held.
func (s *Server) nowLocked() time.Time { return time.Now().Add(s.files.skew) }

// AdvanceClock moves the server's clock forward by d, as if d had passed:
// messages get older for webwxrevokemsg ([WithRevokeWindow]) and sends leave
// the window of [WithSendLimit]. Long polls and other timers are not
// affected. d <= 0 does nothing.
func (s *Server) AdvanceClock(d time.Duration) {
	if d <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files.skew += d
}

// FailNextChunk makes the next webwxuploadmedia request fail with Ret -1
// (a system error, PROTOCOL 13) and the zeroed answer, without keeping its
// chunk: a client that sends the chunk again goes on with the upload. Each
// call fails one more request.
func (s *Server) FailNextChunk() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files.failChunks++
}

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

// memBody is the body of a request that [Server.Client]'s transport hands
// to ServeHTTP: ServeHTTP takes the bytes instead of copying them again.
type memBody struct {
	*bytes.Reader
	b []byte
}

func (*memBody) Close() error { return nil }

// readBody reads a request body of length n (-1 if unknown) in one
// allocation when n is known: a 512 KiB upload chunk read by io.ReadAll
// would cost three times its size.
func readBody(r io.Reader, n int64) ([]byte, error) {
	if n <= 0 {
		return io.ReadAll(r)
	}
	b := bytes.NewBuffer(make([]byte, 0, n+bytes.MinRead))
	_, err := b.ReadFrom(r)
	return b.Bytes(), err
}

// requestBody returns the body of a request to ServeHTTP.
func requestBody(r *http.Request) []byte {
	if mb, ok := r.Body.(*memBody); ok {
		return mb.b
	}
	b, _ := readBody(r.Body, r.ContentLength)
	return b
}

// webwxcheckupload (PROTOCOL 9.2).

func zeroCheckUpload(ret int) obj {
	return obj{{"BaseResponse", baseResponse(ret)}, {"MediaId", ""}, {"AESKey", ""}, {"Signature", ""}, {"EncryFileName", ""}}
}

// checkUploadEndpoint is webwxcheckupload as a JSON endpoint of the main
// host.
var checkUploadEndpoint = jsonEndpoint{zero: zeroCheckUpload, handle: (*Server).handleCheckUpload}

// handleCheckUpload answers webwxcheckupload: FileMd5 (lower-case hex),
// FileName, FileSize, FileType 7 and FromUserName self are needed, and
// ToUserName a UserName of this session (else Ret 1). For a file the
// server has (an upload with the same MD5 and size) it answers its MediaId;
// otherwise a new AESKey and Signature, which the upload of a file over
// 25 MB must carry in its uploadmediarequest, and the send of its appmsg in
// Msg.Signature (else Ret 1).
func (s *Server) handleCheckUpload(c *call) (obj, int) {
	md5sum, _ := c.req.str("FileMd5")
	name, _ := c.req.str("FileName")
	size, _ := c.req.num("FileSize")
	typ, _ := c.req.num("FileType")
	from, _ := c.req.str("FromUserName")
	to, _ := c.req.str("ToUserName")
	if len(md5sum) != 32 || strings.ToLower(md5sum) != md5sum || name == "" || size <= 0 || typ != 7 ||
		from != c.ss.userName(s.acct.self.id) || c.ss.ids[to] == "" {
		return nil, 1
	}
	encry := encryFileName(name)
	for mediaID, rec := range s.files.info {
		if rec.md5 == md5sum && rec.size == size && rec.signature != "" {
			aes := s.files.checks[rec.signature].aesKey
			return obj{{"BaseResponse", baseResponse(0)}, {"MediaId", mediaID}, {"AESKey", aes}, {"Signature", rec.signature}, {"EncryFileName", encry}}, 0
		}
	}
	n := strconv.FormatInt(s.nextSerial(), 10)
	ck := &bigUpload{md5: md5sum, size: size, aesKey: hashHex(32, "aeskey", n)}
	sig := hashHex(64, "signature", n, md5sum)
	if s.files.checks == nil {
		s.files.checks = make(map[string]*bigUpload)
	}
	s.files.checks[sig] = ck
	return obj{{"BaseResponse", baseResponse(0)}, {"MediaId", ""}, {"AESKey", ck.aesKey}, {"Signature", sig}, {"EncryFileName", encry}}, 0
}
