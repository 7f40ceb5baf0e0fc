package wechat

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// SentMessage is what the server answered to a send: the ids needed to refer to the message
// later (to revoke it, for example).
type SentMessage struct {
	MsgID      string // the server's id of the message
	LocalID    string // the client's id (also sent as ClientMsgId)
	ToUserName string
}

// sendMsg is the Msg object of the send endpoints (PROTOCOL 8.1).
type sendMsg struct {
	Type         int    `json:"Type"`
	Content      string `json:"Content"`
	MediaID      string `json:"MediaId,omitempty"`
	FromUserName string `json:"FromUserName"`
	ToUserName   string `json:"ToUserName"`
	LocalID      string `json:"LocalID"`
	ClientMsgID  string `json:"ClientMsgId"`
}

// SendText sends text to the chat to (a UserName: a friend, a group, "filehelper"). The text
// is sent as typed: real newlines and emoji, no HTML escaping; to mention a group member write
// "@" + their group name + "\u2005".
//
// It returns the server's ids for the message, or an *Error carrying the Ret code: one that
// matches [ErrRateLimited] (1205, sending too often), [ErrLoggedOut], or 1204 (recipient
// refused, often self). It returns [ErrNotLoggedIn] before login.
func (c *Client) SendText(ctx context.Context, to, text string) (SentMessage, error) {
	return c.send(ctx, opSendMsg, "webwxsendmsg", nil, to, sendMsg{Type: int(MsgTypeText), Content: text})
}

// SendImage uploads the image read from r (name gives its file name, used for the upload's
// metadata) and sends it to the chat to. If r is an io.ReadSeeker (an *os.File, a
// bytes.Reader) it is read twice and streamed in 512 KiB chunks; otherwise it is read into
// memory first. GIFs should be sent as emoticons.
//
// It returns what [Client.SendText] returns, or an error wrapping the upload's failure.
func (c *Client) SendImage(ctx context.Context, to, name string, r io.Reader) (SentMessage, error) {
	mediaID, err := c.upload(ctx, to, name, "pic", r)
	if err != nil {
		return SentMessage{}, err
	}
	q := url.Values{"fun": {"async"}, "f": {"json"}}
	return c.send(ctx, opSendMsgImg, "webwxsendmsgimg", q, to, sendMsg{Type: int(MsgTypeImage), MediaID: mediaID})
}

// send posts a message to one of the send endpoints.
func (c *Client) send(ctx context.Context, op, endpoint string, q url.Values, to string, msg sendMsg) (SentMessage, error) {
	s := c.sess()
	if s == nil || s.self == "" {
		return SentMessage{}, ErrNotLoggedIn
	}
	if to == "" {
		return SentMessage{}, &Error{Op: op, Err: fmt.Errorf("%w: empty recipient", ErrUnknownContact)}
	}
	if q == nil {
		q = url.Values{}
	}
	q.Set("lang", c.cfg.lang)
	q.Set("pass_ticket", s.passTicket)
	id := c.ids.clientMsgID(time.Now())
	msg.FromUserName, msg.ToUserName, msg.LocalID, msg.ClientMsgID = s.self, to, id, id
	req := struct {
		BaseRequest baseRequest `json:"BaseRequest"`
		Msg         sendMsg     `json:"Msg"`
		Scene       int         `json:"Scene"`
	}{s.baseRequest(), msg, 0}
	var resp struct {
		hasBase
		MsgID   flexString `json:"MsgID"`
		LocalID flexString `json:"LocalID"`
	}
	c.sent.begin()
	err := c.postJSON(ctx, op, cgiURL(s.hosts.main, endpoint, q), req, &resp)
	c.sent.end(string(resp.MsgID))
	if err != nil {
		return SentMessage{}, err
	}
	if resp.MsgID == "" {
		return SentMessage{}, badResponse(op, errors.New("no MsgID"))
	}
	c.log.Debug("sent", "op", op, "msg_id", string(resp.MsgID))
	return SentMessage{MsgID: string(resp.MsgID), LocalID: id, ToUserName: to}, nil
}

// Uploads (PROTOCOL 9.1).
const chunkSize = 524288

// upload sends the file read from r to webwxuploadmedia in 512 KiB chunks and returns the
// MediaId of the last chunk's answer.
func (c *Client) upload(ctx context.Context, to, name, mediaType string, r io.Reader) (string, error) {
	s := c.sess()
	if s == nil || s.self == "" {
		return "", ErrNotLoggedIn
	}
	rs, ok := r.(io.ReadSeeker)
	if !ok {
		b, err := io.ReadAll(r)
		if err != nil {
			return "", &Error{Op: opUploadMedia, Err: err}
		}
		rs = bytes.NewReader(b)
	}
	// First pass: size and MD5 of the whole file, which every chunk's request carries.
	start, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return "", &Error{Op: opUploadMedia, Err: err}
	}
	h := md5.New()
	head := make([]byte, 512)
	n, _ := io.ReadFull(rs, head)
	head = head[:n]
	h.Write(head)
	rest, err := io.Copy(h, rs)
	if err != nil {
		return "", &Error{Op: opUploadMedia, Err: err}
	}
	size := int64(n) + rest
	if size == 0 {
		return "", &Error{Op: opUploadMedia, Err: errors.New("empty file")}
	}
	if _, err := rs.Seek(start, io.SeekStart); err != nil {
		return "", &Error{Op: opUploadMedia, Err: err}
	}
	ticket := c.cookie("https://"+s.hosts.file+"/", "webwx_data_ticket")
	if ticket == "" {
		return "", &Error{Op: opUploadMedia, Err: errors.New("no webwx_data_ticket cookie")}
	}
	contentType := mime.TypeByExtension(strings.ToLower(filepath.Ext(name)))
	if contentType == "" || mediaType == "pic" {
		contentType = http.DetectContentType(head)
	}
	ureq, err := encodeJSON(struct {
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
	}{2, s.baseRequest(), time.Now().UnixMilli(), size, 0, size, 4, s.self, to, hex.EncodeToString(h.Sum(nil))})
	if err != nil {
		return "", &Error{Op: opUploadMedia, Err: err}
	}
	passTicket, err := url.QueryUnescape(s.passTicket)
	if err != nil {
		passTicket = s.passTicket
	}
	fields := [][2]string{
		{"id", "WU_FILE_0"},
		{"name", name},
		{"type", contentType},
		{"lastModifiedDate", time.Now().Format("Mon Jan 02 2006 15:04:05 GMT-0700 (MST)")},
		{"size", strconv.FormatInt(size, 10)},
	}
	chunks := (size + chunkSize - 1) / chunkSize
	buf := make([]byte, chunkSize)
	var mediaID string
	for i := range chunks {
		n, err := io.ReadFull(rs, buf[:min(chunkSize, size-i*chunkSize)])
		if err != nil {
			return "", &Error{Op: opUploadMedia, Err: fmt.Errorf("reading chunk %d: %w", i, err)}
		}
		f := fields
		if chunks > 1 {
			f = append(f[:len(f):len(f)], [2]string{"chunks", strconv.FormatInt(chunks, 10)}, [2]string{"chunk", strconv.FormatInt(i, 10)})
		}
		f = append(f[:len(f):len(f)],
			[2]string{"mediatype", mediaType},
			[2]string{"uploadmediarequest", string(ureq)},
			[2]string{"webwx_data_ticket", ticket},
			[2]string{"pass_ticket", passTicket},
		)
		mediaID, err = c.uploadChunk(ctx, s, f, name, contentType, buf[:n])
		if err != nil {
			return "", err
		}
	}
	if mediaID == "" {
		return "", badResponse(opUploadMedia, errors.New("no MediaId"))
	}
	return mediaID, nil
}

func (c *Client) uploadChunk(ctx context.Context, s *session, fields [][2]string, name, contentType string, data []byte) (string, error) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, f := range fields {
		if err := w.WriteField(f[0], f[1]); err != nil {
			return "", &Error{Op: opUploadMedia, Err: err}
		}
	}
	hdr := make(map[string][]string)
	hdr["Content-Disposition"] = []string{`form-data; name="filename"; filename="` + escapeQuotes(name) + `"`}
	hdr["Content-Type"] = []string{contentType}
	part, err := w.CreatePart(hdr)
	if err == nil {
		_, err = part.Write(data)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return "", &Error{Op: opUploadMedia, Err: err}
	}
	req, err := c.newRequest(ctx, http.MethodPost, cgiURL(s.hosts.file, "webwxuploadmedia", url.Values{"f": {"json"}}), &body)
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Origin", "https://"+s.hosts.main)
	var resp struct {
		hasBase
		MediaID string `json:"MediaId"`
	}
	if err := c.doJSON(opUploadMedia, req, &resp); err != nil {
		return "", err
	}
	return resp.MediaID, nil
}

var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"")

func escapeQuotes(s string) string { return quoteEscaper.Replace(s) }

// cookie returns the value of the named cookie the jar would send to u, or "".
func (c *Client) cookie(u, name string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return ""
	}
	for _, ck := range c.hc.Jar.Cookies(pu) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}
