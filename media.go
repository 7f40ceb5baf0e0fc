package wechat

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/wxkit/wechat/internal/redact"
	"github.com/wxkit/wechat/internal/wire"
)

// Downloads (PROTOCOL 10).

// Operations of the download endpoints, used as Error.Op.
const (
	opGetMsgImg  = "webwxgetmsgimg"
	opGetVoice   = "webwxgetvoice"
	opGetVideo   = "webwxgetvideo"
	opGetMedia   = "webwxgetmedia"
	opGetIcon    = "webwxgeticon"
	opGetHeadImg = "webwxgetheadimg"
)

// maxPageBody bounds what is read of a JSON page answered instead of media.
const maxPageBody = 64 << 10

// Media is a download in progress: the body of the server's answer, streamed, to be read and
// closed by the caller. It is tied to the ctx the download was started with: reading fails
// once ctx ends.
//
// A Media is not safe for concurrent use.
type Media struct {
	// ContentType is sniffed from the first bytes with http.DetectContentType, because the
	// server's Content-Type header lies (PROTOCOL 14.3: a GIF emoticon comes labelled
	// image/jpeg): "image/jpeg", "image/gif", "audio/mpeg", "video/mp4", ...
	ContentType string
	// Size is the length of the media in bytes, or -1 if the server did not say.
	Size int64
	// FileName is the name of a file attachment, as the message gave it; "" for other media.
	FileName string

	r    *bufio.Reader
	body io.Closer
}

// Read reads the media.
func (m *Media) Read(p []byte) (int, error) { return m.r.Read(p) }

// Close closes the download. It may be called more than once.
func (m *Media) Close() error { return m.body.Close() }

// Ext returns a file name extension for the media, with its dot: the extension of FileName
// for a file attachment, else one matching ContentType (".jpg", ".png", ".gif", ".mp3",
// ".mp4", ...), or "" if there is none.
func (m *Media) Ext() string {
	if m.FileName != "" {
		return filepath.Ext(m.FileName)
	}
	return extFor(m.ContentType)
}

// extFor returns the file name extension of a sniffed content type, or "".
func extFor(contentType string) string {
	ct, _, _ := strings.Cut(contentType, ";")
	switch ct {
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "image/gif":
		return ".gif"
	case "image/bmp":
		return ".bmp"
	case "image/webp":
		return ".webp"
	case "audio/mpeg":
		return ".mp3"
	case "audio/amr":
		return ".amr"
	case "video/mp4":
		return ".mp4"
	}
	return ""
}

// SaveTo writes the rest of the media to the file path and closes m. It writes atomically: to
// a temporary file beside path, synced, then renamed over path with mode 0644, so that path
// never holds a partial file. It returns the number of bytes written, and on failure an error
// (the temporary file is removed, path is untouched).
func (m *Media) SaveTo(path string) (n int64, err error) {
	defer m.Close()
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if n, err = io.Copy(f, m); err != nil {
		return n, err
	}
	if m.Size >= 0 && n != m.Size {
		return n, fmt.Errorf("wechat: media truncated: %d bytes of %d: %w", n, m.Size, io.ErrUnexpectedEOF)
	}
	if err = f.Sync(); err != nil {
		return n, err
	}
	if err = f.Close(); err != nil {
		return n, err
	}
	if err = os.Chmod(f.Name(), 0o644); err != nil {
		return n, err
	}
	return n, os.Rename(f.Name(), path)
}

// Download starts downloading the media of the received message m (PROTOCOL 10): the full
// image of an image, the GIF of an emoticon, the MP3 of a voice message, the MP4 of a video,
// the bytes of a file attachment. The caller must close the returned [Media]; it can save it
// with [Media.SaveTo].
//
// It returns an error matching [ErrNoMedia] when m has no media or the server answered
// without it (the media expired: an empty body, retried once (PROTOCOL 14.17), an HTML or
// JSON page, a 404), so a broken answer is never mistaken for media. It returns an *Error for
// other failures, one matching [ErrLoggedOut] when the session ended, and [ErrNotLoggedIn]
// before login.
func (c *Client) Download(ctx context.Context, m *Message) (*Media, error) {
	s := c.sess()
	if s == nil {
		return nil, ErrNotLoggedIn
	}
	switch {
	case m.MsgType == MsgTypeImage || m.MsgType == MsgTypeApp && m.AppMsgType == AppMsgEmoji:
		return c.getMsgImg(ctx, s, m, "")
	case m.MsgType == MsgTypeEmoticon:
		return c.getMsgImg(ctx, s, m, "big") // as the official client does (PROTOCOL 10.1)
	case m.MsgType == MsgTypeVoice:
		u := cgiURL(s.hosts.main, "webwxgetvoice", url.Values{"msgid": {m.MsgID}, "skey": {s.skey}})
		return c.fetchMedia(ctx, opGetVoice, u, false, "")
	case m.MsgType == MsgTypeVideo || m.MsgType == MsgTypeMicroVideo:
		u := cgiURL(s.hosts.main, "webwxgetvideo", url.Values{"msgid": {m.MsgID}, "skey": {s.skey}})
		// Without Range the server sends nothing (PROTOCOL 10.3, 14.18).
		return c.fetchMedia(ctx, opGetVideo, u, false, "bytes=0-")
	case m.MsgType == MsgTypeApp && m.AppMsgType == AppMsgAttach && m.MediaID != "":
		md, err := c.fetchMedia(ctx, opGetMedia, c.fileURL(s, m), true, "")
		if md != nil {
			md.FileName = m.FileName
		}
		return md, err
	}
	return nil, noMedia(m)
}

// DownloadThumbnail starts downloading the thumbnail of the image, video or emoticon m
// (webwxgetmsgimg with type=slave, PROTOCOL 10.1). It returns what [Client.Download]
// returns, and an error matching [ErrNoMedia] for other messages.
func (c *Client) DownloadThumbnail(ctx context.Context, m *Message) (*Media, error) {
	s := c.sess()
	if s == nil {
		return nil, ErrNotLoggedIn
	}
	switch m.MsgType {
	case MsgTypeImage, MsgTypeVideo, MsgTypeMicroVideo, MsgTypeEmoticon:
		return c.getMsgImg(ctx, s, m, "slave")
	}
	return nil, noMedia(m)
}

func noMedia(m *Message) error {
	return fmt.Errorf("wechat: message %s (type %d) has no media to download: %w", m.MsgID, m.MsgType, ErrNoMedia)
}

func (c *Client) getMsgImg(ctx context.Context, s *session, m *Message, typ string) (*Media, error) {
	q := url.Values{"MsgID": {m.MsgID}, "skey": {s.skey}}
	if typ != "" {
		q.Set("type", typ)
	}
	return c.fetchMedia(ctx, opGetMsgImg, cgiURL(s.hosts.main, "webwxgetmsgimg", q), false, "")
}

// fileURL is the webwxgetmedia URL of a file attachment, on the file host (PROTOCOL 10.4).
func (c *Client) fileURL(s *session, m *Message) string {
	q := url.Values{
		"sender":            {m.FromUserName},
		"mediaid":           {m.MediaID},
		"fromuser":          {strconv.FormatInt(s.uin, 10)},
		"pass_ticket":       {s.passTicket},
		"webwx_data_ticket": {c.cookie("https://"+s.hosts.file+"/", "webwx_data_ticket")},
	}
	u := cgiURL(s.hosts.file, "webwxgetmedia", q)
	switch {
	case m.EncryFileName != "" && urlSafe(m.EncryFileName):
		// Already URL-encoded by the server: the official client appends it verbatim.
		u += "&encryfilename=" + m.EncryFileName
	case m.EncryFileName != "":
		u += "&encryfilename=" + url.QueryEscape(m.EncryFileName)
	default:
		u += "&filename=" + url.QueryEscape(m.FileName) // what IC and W4U send (PROTOCOL 10.4)
	}
	return u
}

// urlSafe reports whether s can go into a query as it is: unreserved characters and
// well-formed percent escapes only.
func urlSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
		case c == '%' && i+2 < len(s) && isHexDigit(s[i+1]) && isHexDigit(s[i+2]):
			i += 2
		default:
			return false
		}
	}
	return true
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// Avatar starts downloading the avatar of userName: a contact, a group, self, or a member of
// a group the Client knows (PROTOCOL 10.5). Groups use webwxgetheadimg; people
// webwxgeticon, with the group's EncryChatRoomId for a member who is not a contact. The
// avatar is a JPEG. It returns what [Client.Download] returns.
func (c *Client) Avatar(ctx context.Context, userName string) (*Media, error) {
	s := c.sess()
	if s == nil {
		return nil, ErrNotLoggedIn
	}
	if userName == "" {
		return nil, &Error{Op: opGetIcon, Err: fmt.Errorf("%w: empty UserName", ErrUnknownContact)}
	}
	seq := "0"
	ct, known := c.Contact(userName)
	if known && ct.HeadImgURL != "" {
		if u, err := url.Parse(ct.HeadImgURL); err == nil {
			seq = cmp.Or(u.Query().Get("seq"), seq) // changes with the avatar
		}
	}
	// Built anew rather than taken from HeadImgURL, whose skey may be stale.
	q := url.Values{"seq": {seq}, "username": {userName}, "skey": {s.skey}}
	if isGroupName(userName) {
		return c.fetchMedia(ctx, opGetHeadImg, cgiURL(s.hosts.main, "webwxgetheadimg", q), false, "")
	}
	if !known || ct.Kind == KindStranger {
		if room := c.roomOf(userName); room != "" {
			q.Set("chatroomid", room)
		}
	}
	return c.fetchMedia(ctx, opGetIcon, cgiURL(s.hosts.main, "webwxgeticon", q), false, "")
}

// roomOf returns the EncryChatRoomId of a known group that has the member userName, or "".
func (c *Client) roomOf(userName string) string {
	for _, g := range c.Contacts() {
		if g.Kind != KindGroup || g.EncryChatRoomID == "" {
			continue
		}
		if _, ok := g.Member(userName); ok {
			return g.EncryChatRoomID
		}
	}
	return ""
}

// errEmptyBody marks an empty answer, which is retried once (PROTOCOL 14.17).
var errEmptyBody = errors.New("empty body")

// fetchMedia GETs media at u, retrying once after an empty answer. file is set for file
// attachments, whose bytes may be anything; rng is the Range header to send, if any.
func (c *Client) fetchMedia(ctx context.Context, op, u string, file bool, rng string) (*Media, error) {
	md, err := c.fetchMediaOnce(ctx, op, u, file, rng)
	if errors.Is(err, errEmptyBody) && ctx.Err() == nil {
		c.log.Warn("empty media answer; retrying", "op", op)
		md, err = c.fetchMediaOnce(ctx, op, u, file, rng)
	}
	return md, err
}

func (c *Client) fetchMediaOnce(ctx context.Context, op, u string, file bool, rng string) (*Media, error) {
	req, err := c.newRequest(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	c.log.Debug("request", "op", op, "host", req.URL.Host)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, &Error{Op: op, Err: redact.Error(err)}
	}
	md, err := checkMedia(op, resp, file)
	if err != nil {
		resp.Body.Close()
		return nil, err
	}
	return md, nil
}

// checkMedia checks that resp carries media, looking at its status and first bytes, and
// wraps its body.
func checkMedia(op string, resp *http.Response, file bool) (*Media, error) {
	switch resp.StatusCode {
	case http.StatusOK, http.StatusPartialContent:
	case http.StatusNotFound, http.StatusGone:
		return nil, &Error{Op: op, Err: fmt.Errorf("%w: HTTP status %d", ErrNoMedia, resp.StatusCode)}
	default:
		return nil, badResponse(op, fmt.Errorf("HTTP status %d", resp.StatusCode))
	}
	br := bufio.NewReaderSize(resp.Body, sniffLen)
	head, err := br.Peek(sniffLen)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, &Error{Op: op, Err: redact.Error(err)}
	}
	if len(head) == 0 {
		return nil, &Error{Op: op, Err: fmt.Errorf("%w: %w", ErrNoMedia, errEmptyBody)}
	}
	ct := http.DetectContentType(head)
	// An attachment may be a text file; only one without Content-Disposition is a page.
	if isPage(ct, head) && (!file || resp.Header.Get("Content-Disposition") == "") {
		return nil, pageError(op, br, head)
	}
	size := resp.ContentLength
	if resp.StatusCode == http.StatusPartialContent {
		size = rangeTotal(resp.Header.Get("Content-Range"))
	}
	return &Media{ContentType: ct, Size: size, r: br, body: resp.Body}, nil
}

// isPage reports whether a body sniffed as ct, starting with head, is an HTML, XML or JSON
// page rather than media.
func isPage(ct string, head []byte) bool {
	t := bytes.TrimLeft(head, " \t\r\n")
	return strings.HasPrefix(ct, "text/html") || strings.HasPrefix(ct, "text/xml") ||
		len(t) > 0 && (t[0] == '{' || t[0] == '<') && strings.HasPrefix(ct, "text/")
}

// pageError describes a page answered instead of media. A JSON page with a BaseResponse
// keeps its Ret, so that a session that ended matches ErrLoggedOut.
func pageError(op string, br *bufio.Reader, head []byte) error {
	e := &Error{Op: op, Err: fmt.Errorf("%w: an HTML or JSON page instead of media", ErrNoMedia)}
	if t := bytes.TrimLeft(head, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		body, _ := io.ReadAll(io.LimitReader(br, maxPageBody))
		if h, _ := wire.DecodeBase(bytes.TrimSpace(body)); h.Base.Found {
			e.Ret, e.Msg = h.Base.Ret, h.Base.ErrMsg
		}
	}
	return e
}

// rangeTotal returns the total of a Content-Range header ("bytes 0-1023/4096"), or -1.
func rangeTotal(h string) int64 {
	_, total, ok := strings.Cut(h, "/")
	if !ok {
		return -1
	}
	n, err := strconv.ParseInt(strings.TrimSpace(total), 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}
