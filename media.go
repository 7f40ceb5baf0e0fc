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
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/wxkit/wechat/internal/atomicfile"
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
	// FileName is a name to save the media under, safe to join to a directory: never empty,
	// never "." or "..", and with no path separator, control character or other character
	// some system refuses in a file name. For a file attachment it is the name the message
	// gave, made safe: reduced to its last element ("../../etc/x" becomes "x", `C:\a\b.pdf`
	// "b.pdf"), without control and bidirectional-override characters, with each of
	// <>:"|?* replaced by "_", leading and trailing spaces and trailing dots removed, and cut
	// to 255 bytes keeping its extension. Other media, and an attachment whose name leaves
	// nothing, are named after the message: its MsgID and [Media.Ext] ("6012345678.jpg"), with
	// "_thumb" for a thumbnail; an avatar after the contact's UserName. [Media.SaveIn] saves
	// the media under it.
	FileName string

	r    *bufio.Reader
	body io.Closer

	report func(Progress) // WithProgress; nil when off
	prog   Progress       // what was read so far
	ended  bool           // the last report was made
}

// Read reads the media. With [WithProgress] it reports the bytes read so far.
func (m *Media) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	if m.report != nil && (n > 0 || err == io.EOF && !m.ended) {
		m.prog.Done += int64(n)
		if err == io.EOF {
			m.ended = true
			m.prog.Total = m.prog.Done
		}
		m.report(m.prog)
	}
	return n, err
}

// track makes md report its progress as the download of the media of msgID ("" for an
// avatar), when WithProgress is on.
func (c *Client) track(md *Media, msgID string) {
	if c.cfg.progress != nil {
		md.report = c.cfg.progress
		md.prog = Progress{Kind: ProgressDownload, Name: md.FileName, MsgID: msgID, Total: md.Size}
	}
}

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
// (the temporary file is removed, path is untouched); a body shorter than the server
// announced is an error matching io.ErrUnexpectedEOF.
func (m *Media) SaveTo(path string) (int64, error) {
	defer m.Close()
	var n int64
	err := atomicfile.Write(path, 0o644, func(w io.Writer) error {
		var err error
		if n, err = io.Copy(w, m); err != nil {
			return err
		}
		if m.Size >= 0 && n != m.Size {
			return fmt.Errorf("wechat: media truncated: %d bytes of %d: %w", n, m.Size, io.ErrUnexpectedEOF)
		}
		return nil
	})
	return n, err
}

// SaveIn writes the rest of the media to the file [Media.FileName] in the directory dir, as
// [Media.SaveTo] does, replacing a file of that name, and closes m. It returns the path it
// wrote and the number of bytes written.
//
// It never writes outside dir: FileName is made safe again in case it was changed (a name
// that leaves nothing is an error), and a symbolic link of that name in dir is replaced, not
// followed. The directory must exist. Names come from the senders: two attachments called
// "report.pdf" get the same one; a bot that keeps every file can save each chat's media in
// its own directory, or use SaveTo with a name made unique by the MsgID.
func (m *Media) SaveIn(dir string) (string, int64, error) {
	name := safeFileName(m.FileName)
	if name == "" || !filepath.IsLocal(name) {
		m.Close()
		return "", 0, fmt.Errorf("wechat: media file name %q leaves nothing to save under", m.FileName)
	}
	path := filepath.Join(dir, name)
	n, err := m.SaveTo(path)
	if err != nil {
		return "", n, err
	}
	return path, n, nil
}

// maxFileName is the longest file name most file systems accept, in bytes.
const maxFileName = 255

// safeFileName returns name made safe as [Media.FileName] documents, or "" if nothing is left.
func safeFileName(name string) string {
	name = strings.ToValidUTF8(name, "_")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r), unicode.Is(unicode.Bidi_Control, r):
			return -1
		case strings.ContainsRune(`<>:"|?*`, r):
			return '_'
		}
		return r
	}, name)
	trim := func(s string) string {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
		return strings.TrimRightFunc(s, func(r rune) bool { return r == '.' || unicode.IsSpace(r) })
	}
	name = trim(name)
	if len(name) > maxFileName {
		ext := filepath.Ext(name)
		if len(ext) > 32 {
			ext = ""
		}
		name = trim(strings.ToValidUTF8(name[:maxFileName-len(ext)], "") + ext)
	}
	if name == "" {
		return ""
	}
	if !filepath.IsLocal(name) { // a reserved name on Windows: NUL, COM1, ...
		name = "_" + name
		if !filepath.IsLocal(name) {
			return ""
		}
	}
	return name
}

// setName sets md.FileName to name made safe, else to stem (the MsgID, or a UserName) with
// the media's extension.
func (md *Media) setName(name, stem string) {
	if n := safeFileName(name); n != "" {
		md.FileName = n
		return
	}
	ext := extFor(md.ContentType)
	if st := safeFileName(stem); st != "" {
		md.FileName = safeFileName(st + ext)
		return
	}
	md.FileName = "media" + ext
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
	s := c.sess.get()
	if s == nil {
		return nil, ErrNotLoggedIn
	}
	var md *Media
	var err error
	name := "" // a file attachment's own name
	switch {
	case m.MsgType == MsgTypeImage || m.MsgType == MsgTypeApp && m.AppMsgType == AppMsgEmoji:
		md, err = c.getMsgImg(ctx, s, m, "")
	case m.MsgType == MsgTypeEmoticon:
		md, err = c.getMsgImg(ctx, s, m, "big") // as the official client does (PROTOCOL 10.1)
	case m.MsgType == MsgTypeVoice:
		u := cgiURL(s.hosts.main, "webwxgetvoice", url.Values{"msgid": {m.MsgID}, "skey": {s.skey}})
		md, err = c.fetchMedia(ctx, opGetVoice, u, false, "")
	case m.MsgType == MsgTypeVideo || m.MsgType == MsgTypeMicroVideo:
		u := cgiURL(s.hosts.main, "webwxgetvideo", url.Values{"msgid": {m.MsgID}, "skey": {s.skey}})
		// Without Range the server sends nothing (PROTOCOL 10.3, 14.18).
		md, err = c.fetchMedia(ctx, opGetVideo, u, false, "bytes=0-")
	case m.MsgType == MsgTypeApp && m.AppMsgType == AppMsgAttach && m.MediaID != "":
		md, err = c.fetchMedia(ctx, opGetMedia, c.fileURL(s, m), true, "")
		name = m.FileName
	default:
		return nil, noMedia(m)
	}
	if err != nil {
		return nil, err
	}
	md.setName(name, m.MsgID)
	c.track(md, m.MsgID)
	return md, nil
}

// DownloadThumbnail starts downloading the thumbnail of the image, video or emoticon m
// (webwxgetmsgimg with type=slave, PROTOCOL 10.1). It returns what [Client.Download]
// returns, and an error matching [ErrNoMedia] for other messages.
func (c *Client) DownloadThumbnail(ctx context.Context, m *Message) (*Media, error) {
	s := c.sess.get()
	if s == nil {
		return nil, ErrNotLoggedIn
	}
	switch m.MsgType {
	case MsgTypeImage, MsgTypeVideo, MsgTypeMicroVideo, MsgTypeEmoticon:
		md, err := c.getMsgImg(ctx, s, m, "slave")
		if err != nil {
			return nil, err
		}
		md.setName("", m.MsgID+"_thumb")
		c.track(md, m.MsgID)
		return md, nil
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
	s := c.sess.get()
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
	op, endpoint := opGetIcon, "webwxgeticon"
	if isGroupName(userName) {
		op, endpoint = opGetHeadImg, "webwxgetheadimg"
	} else if !known || ct.Kind == KindStranger {
		if room := c.roomOf(userName); room != "" {
			q.Set("chatroomid", room)
		}
	}
	md, err := c.fetchMedia(ctx, op, cgiURL(s.hosts.main, endpoint, q), false, "")
	if err != nil {
		return nil, err
	}
	md.setName("", userName)
	c.track(md, "")
	return md, nil
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
	// The headers must come within the per-call deadline; the body streams for as long as
	// the caller's ctx allows.
	hctx, cancel := context.WithCancel(ctx)
	wait := c.callTimeout(op, 0)
	t := time.AfterFunc(wait, cancel)
	resp, err := c.roundTrip(req.WithContext(hctx))
	if fired := !t.Stop(); fired || err != nil {
		cancel()
		if err == nil {
			resp.Body.Close()
		}
		if fired && ctx.Err() == nil {
			err = fmt.Errorf("no answer within %v: %w", wait, context.DeadlineExceeded)
		}
		return nil, &Error{Op: op, Err: redact.Error(err)}
	}
	resp.Body = &cancelOnClose{resp.Body, cancel}
	md, err := checkMedia(op, resp, file)
	if err != nil {
		resp.Body.Close()
		return nil, err
	}
	return md, nil
}

// cancelOnClose releases the context of a download when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
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
