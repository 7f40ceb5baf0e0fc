package wechat

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wxkit/wechat/internal/backoff"
	"github.com/wxkit/wechat/internal/wire"
)

// Uploads (PROTOCOL 9).
const (
	chunkSize      = 524288   // bytes per webwxuploadmedia request
	checkUploadMin = 25 << 20 // larger files go through webwxcheckupload first (PROTOCOL 9.2)
	sniffLen       = 512      // what http.DetectContentType looks at
	chunkRetries   = 2        // extra attempts for a failed chunk
)

// source is a file to upload, readable twice from its start: once for its size and MD5 (the
// upload request of every chunk carries them), once to send it.
type source struct {
	size int64
	md5  string // lower-case hex
	head []byte // the first bytes, up to 512, for sniffing
	buf  []byte // the chunk buffer, also used for the first pass

	open    func() (io.Reader, error) // the file from its start, limited to size bytes
	cleanup func()                    // removes a temporary copy
}

func (s *source) close() {
	if s.cleanup != nil {
		s.cleanup()
	}
}

// headWriter keeps the first sniffLen bytes written to it.
type headWriter struct{ b []byte }

func (w *headWriter) Write(p []byte) (int, error) {
	if n := sniffLen - len(w.b); n > 0 {
		w.b = append(w.b, p[:min(n, len(p))]...)
	}
	return len(p), nil
}

// prepare reads r once for the size, MD5 and first bytes of the file, and makes it readable
// again (see SendFile for how). A file over limit bytes or an empty one is refused, if
// possible before reading it.
func (c *Client) prepare(r io.Reader, limit int64) (*source, error) {
	if _, err := c.loggedIn(); err != nil {
		return nil, err // before reading r
	}
	src := &source{buf: make([]byte, chunkSize)}
	h := md5.New()
	hw := &headWriter{b: make([]byte, 0, sniffLen)}
	w := io.MultiWriter(h, hw)
	var err error
	rs, isSeeker := r.(io.ReadSeeker)
	ra, isReaderAt := r.(io.ReaderAt)
	switch {
	case isSeeker && canSeek(rs):
		err = src.fromSeeker(rs, limit, w)
	case isReaderAt && !isSeeker:
		err = src.fromReaderAt(ra, limit, w)
	default: // a plain reader, or one that cannot seek (an *os.File on a pipe)
		err = src.spool(r, limit, w)
	}
	if err != nil {
		src.close()
		return nil, &Error{Op: opUploadMedia, Err: err}
	}
	src.md5 = hex.EncodeToString(h.Sum(nil))
	src.head = hw.b
	return src, nil
}

// canSeek reports whether r can actually seek: an *os.File on a pipe cannot.
func canSeek(r io.Seeker) bool {
	_, err := r.Seek(0, io.SeekCurrent)
	return err == nil
}

// checkSize refuses an empty file and one over limit.
func checkSize(size, limit int64) error {
	switch {
	case size <= 0:
		return ErrEmptyFile
	case size > limit:
		return fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	return nil
}

// fromSeeker reads r from its current offset to its end. An io.ReaderAt is read with ReadAt
// both times, leaving its offset alone; otherwise r is sought back for the second pass.
func (s *source) fromSeeker(r io.ReadSeeker, limit int64, w io.Writer) error {
	off, err := r.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	end, err := r.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if _, err := r.Seek(off, io.SeekStart); err != nil {
		return err
	}
	s.size = end - off
	if err := checkSize(s.size, limit); err != nil {
		return err
	}
	if ra, ok := r.(io.ReaderAt); ok {
		s.open = func() (io.Reader, error) { return io.NewSectionReader(ra, off, s.size), nil }
	} else {
		s.open = func() (io.Reader, error) {
			if _, err := r.Seek(off, io.SeekStart); err != nil {
				return nil, err
			}
			return io.LimitReader(r, s.size), nil
		}
	}
	first, err := s.open()
	if err != nil {
		return err
	}
	n, err := io.CopyBuffer(w, first, s.buf)
	if err == nil && n != s.size {
		err = fmt.Errorf("read %d bytes of %d: the file changed", n, s.size)
	}
	return err
}

// fromReaderAt reads r from offset 0 to the end, which the first pass finds.
func (s *source) fromReaderAt(r io.ReaderAt, limit int64, w io.Writer) error {
	n, err := io.CopyBuffer(w, io.NewSectionReader(r, 0, plusOne(limit)), s.buf)
	if err != nil {
		return err
	}
	s.size = n
	if err := checkSize(n, limit); err != nil {
		return err
	}
	s.open = func() (io.Reader, error) { return io.NewSectionReader(r, 0, n), nil }
	return nil
}

// spool copies r to a temporary file, and to w on the way; the file is the second pass.
func (s *source) spool(r io.Reader, limit int64, w io.Writer) error {
	f, err := os.CreateTemp("", "wechat-upload-*")
	if err != nil {
		return err
	}
	s.cleanup = func() {
		f.Close()
		os.Remove(f.Name())
	}
	n, err := io.CopyBuffer(io.MultiWriter(f, w), io.LimitReader(r, plusOne(limit)), s.buf)
	if err != nil {
		return err
	}
	s.size = n
	if err := checkSize(n, limit); err != nil {
		return err
	}
	s.open = func() (io.Reader, error) { return io.NewSectionReader(f, 0, n), nil }
	return nil
}

// plusOne returns n+1, or n if that overflows: how much to read to tell "too large".
func plusOne(n int64) int64 {
	if n == math.MaxInt64 {
		return n
	}
	return n + 1
}

// uploaded is the result of an upload.
type uploaded struct {
	mediaID   string
	signature string // Msg.Signature of the send, for files over 25 MB (PROTOCOL 9.2)
}

// upload sends the file src to webwxuploadmedia in 512 KiB chunks and returns the MediaId of
// the last chunk's answer (PROTOCOL 9.1). A file over 25 MB is first offered to
// webwxcheckupload (PROTOCOL 9.2), which may know it already.
func (c *Client) upload(ctx context.Context, to, name, mediaType string, src *source) (uploaded, error) {
	s, err := c.loggedIn()
	if err != nil {
		return uploaded{}, err
	}
	name = uploadName(name, src.head)
	var check checkUploadResponse
	if src.size > checkUploadMin {
		var err error
		if check, err = c.checkUpload(ctx, s, to, name, src); err != nil {
			return uploaded{}, err
		}
		if check.MediaID != "" {
			c.log.Debug("upload skipped: the server has the file", "op", opCheckUpload)
			c.report(Progress{Kind: ProgressUpload, Name: name, To: to, Done: src.size, Total: src.size})
			return uploaded{mediaID: check.MediaID, signature: check.Signature}, nil
		}
	}
	ticket := c.cookie("https://"+s.hosts.file+"/", "webwx_data_ticket")
	if ticket == "" {
		return uploaded{}, &Error{Op: opUploadMedia, Err: errors.New("no webwx_data_ticket cookie")}
	}
	contentType := mime.TypeByExtension(strings.ToLower(filepath.Ext(name)))
	if contentType == "" || mediaType == "pic" {
		contentType = http.DetectContentType(src.head)
	}
	ureq, err := wire.EncodeJSON(struct {
		UploadType    int         `json:"UploadType"`
		BaseRequest   baseRequest `json:"BaseRequest"`
		ClientMediaID int64       `json:"ClientMediaId"`
		TotalLen      int64       `json:"TotalLen"`
		StartPos      int64       `json:"StartPos"`
		DataLen       int64       `json:"DataLen"`
		MediaType     int         `json:"MediaType"`
		FromUserName  string      `json:"FromUserName"`
		ToUserName    string      `json:"ToUserName"`
		FileMd5       string      `json:"FileMd5"`
		AESKey        string      `json:"AESKey,omitempty"`
		Signature     string      `json:"Signature,omitempty"`
	}{2, s.baseRequest(), c.clientMediaID(), src.size, 0, src.size, 4, s.self, to, src.md5, check.AESKey, check.Signature})
	if err != nil {
		return uploaded{}, &Error{Op: opUploadMedia, Err: err}
	}
	passTicket, err := url.QueryUnescape(s.passTicket) // decoded in the form (PROTOCOL 3.4)
	if err != nil {
		passTicket = s.passTicket
	}
	fields := [][2]string{
		{"id", "WU_FILE_0"},
		{"name", name},
		{"type", contentType},
		{"lastModifiedDate", time.Now().Format("Mon Jan 02 2006 15:04:05 GMT-0700 (MST)")},
		{"size", strconv.FormatInt(src.size, 10)},
		{"chunks", ""}, // set below for files over one chunk, else dropped
		{"chunk", ""},
		{"mediatype", mediaType},
		{"uploadmediarequest", string(ureq)},
		{"webwx_data_ticket", ticket},
		{"pass_ticket", passTicket},
	}
	r, err := src.open()
	if err != nil {
		return uploaded{}, &Error{Op: opUploadMedia, Err: err}
	}
	chunks := (src.size + chunkSize - 1) / chunkSize
	u := cgiURL(s.hosts.file, "webwxuploadmedia", url.Values{"f": {"json"}})
	var mediaID string
	c.report(Progress{Kind: ProgressUpload, Name: name, To: to, Total: src.size})
	for i := range chunks {
		data := src.buf[:min(chunkSize, src.size-i*chunkSize)]
		if _, err := io.ReadFull(r, data); err != nil {
			return uploaded{}, &Error{Op: opUploadMedia, Err: fmt.Errorf("reading chunk %d: %w", i, err)}
		}
		f := fields
		if chunks > 1 {
			f[5][1], f[6][1] = strconv.FormatInt(chunks, 10), strconv.FormatInt(i, 10)
		} else {
			f = append(f[:5:5], f[7:]...)
		}
		if mediaID, err = c.uploadChunk(ctx, s, u, f, name, contentType, data); err != nil {
			return uploaded{}, err
		}
		c.report(Progress{Kind: ProgressUpload, Name: name, To: to, Done: min((i+1)*chunkSize, src.size), Total: src.size})
	}
	if mediaID == "" {
		return uploaded{}, badResponse(opUploadMedia, errors.New("no MediaId"))
	}
	return uploaded{mediaID: mediaID, signature: check.Signature}, nil
}

// uploadName is the name a file is uploaded as: the base name of name, or "file" with the
// extension of its content when name has none.
func uploadName(name string, head []byte) string {
	if b := filepath.Base(name); b != "." && b != string(filepath.Separator) {
		return b
	}
	return "file" + extFor(http.DetectContentType(head))
}

// clientMediaID returns a unique ClientMediaId (PROTOCOL 12.1): a ClientMsgId, which is a
// millisecond timestamp followed by 4 digits and never repeats within a Client.
func (c *Client) clientMediaID() int64 {
	n, _ := strconv.ParseInt(c.ids.clientMsgID(time.Now()), 10, 64)
	return n
}

// uploadChunk posts one chunk, retrying it twice with backoff after a transport error or
// Ret -1, and returns the answer's MediaId.
func (c *Client) uploadChunk(ctx context.Context, s *session, u string, fields [][2]string, name, contentType string, data []byte) (string, error) {
	// The multipart body is the fields and the part header, the chunk itself (never copied)
	// and the closing boundary.
	var head bytes.Buffer
	w := multipart.NewWriter(&head)
	for _, f := range fields {
		if err := w.WriteField(f[0], f[1]); err != nil {
			return "", &Error{Op: opUploadMedia, Err: err}
		}
	}
	hdr := make(map[string][]string, 2)
	hdr["Content-Disposition"] = []string{`form-data; name="filename"; filename="` + escapeQuotes(name) + `"`}
	hdr["Content-Type"] = []string{contentType}
	if _, err := w.CreatePart(hdr); err != nil {
		return "", &Error{Op: opUploadMedia, Err: err}
	}
	n := head.Len()
	if err := w.Close(); err != nil {
		return "", &Error{Op: opUploadMedia, Err: err}
	}
	pre, post := head.Bytes()[:n], head.Bytes()[n:]

	bo := backoff.Backoff{Min: time.Second, Max: 4 * time.Second}
	for attempt := 0; ; attempt++ {
		form := io.MultiReader(bytes.NewReader(pre), bytes.NewReader(data), bytes.NewReader(post))
		req, err := c.newRequest(ctx, http.MethodPost, u, form)
		if err != nil {
			return "", err
		}
		req.ContentLength = int64(len(pre) + len(data) + len(post))
		req.Header.Set("Content-Type", w.FormDataContentType())
		req.Header.Set("Origin", "https://"+s.hosts.main)
		body, err := c.doOK(opUploadMedia, req)
		if err == nil {
			var mediaID string
			if mediaID, err = parseUploadResponse(body); err == nil {
				return mediaID, nil
			}
		}
		if attempt == chunkRetries || !retryableChunk(ctx, err) {
			return "", err
		}
		c.log.Warn("upload chunk failed; retrying", "op", opUploadMedia, "err", err)
		if err := backoff.Sleep(ctx, bo.Next()); err != nil {
			return "", &Error{Op: opUploadMedia, Err: err}
		}
	}
}

// parseUploadResponse decodes the answer to a chunk of webwxuploadmedia (PROTOCOL 9.1) and
// returns its MediaId, which only the last chunk's answer is sure to carry.
func parseUploadResponse(body []byte) (string, error) {
	resp, err := decodeJSON(opUploadMedia, body, wire.DecodeUpload)
	if err != nil {
		return "", err
	}
	return resp.MediaID, nil
}

// retryableChunk reports whether a chunk that failed with err is worth sending again: after
// a transport error or Ret -1 (system error, PROTOCOL 13), unless ctx ended.
func retryableChunk(ctx context.Context, err error) bool {
	var e *Error
	if ctx.Err() != nil || !errors.As(err, &e) {
		return false
	}
	return e.Ret == -1 || e.Ret == 0 && e.Err != nil && !errors.Is(e.Err, ErrBadResponse)
}

// checkUploadResponse is the answer of webwxcheckupload (PROTOCOL 9.2).
type checkUploadResponse = wire.CheckUpload

// checkUpload asks webwxcheckupload about a file over 25 MB: a MediaId if the server has
// it, else the AESKey and Signature its upload needs.
func (c *Client) checkUpload(ctx context.Context, s *session, to, name string, src *source) (checkUploadResponse, error) {
	req := struct {
		BaseRequest  baseRequest `json:"BaseRequest"`
		FileMd5      string      `json:"FileMd5"`
		FileName     string      `json:"FileName"`
		FileSize     int64       `json:"FileSize"`
		FileType     int         `json:"FileType"`
		FromUserName string      `json:"FromUserName"`
		ToUserName   string      `json:"ToUserName"`
	}{s.baseRequest(), src.md5, name, src.size, 7, s.self, to}
	body, err := c.postRaw(ctx, opCheckUpload, cgiURL(s.hosts.main, "webwxcheckupload", nil), req)
	if err != nil {
		return checkUploadResponse{}, err
	}
	return parseCheckUpload(body)
}

// parseCheckUpload decodes the answer of webwxcheckupload: one without a MediaId needs a
// Signature, else it is ErrBadResponse.
func parseCheckUpload(body []byte) (checkUploadResponse, error) {
	resp, err := decodeJSON(opCheckUpload, body, wire.DecodeCheckUpload)
	if err != nil {
		return checkUploadResponse{}, err
	}
	if resp.MediaID == "" && resp.Signature == "" {
		return checkUploadResponse{}, badResponse(opCheckUpload, errors.New("neither MediaId nor Signature"))
	}
	return *resp, nil
}

var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"")

func escapeQuotes(s string) string { return quoteEscaper.Replace(s) }
