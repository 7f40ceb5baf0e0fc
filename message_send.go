package wechat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/wxkit/wechat/internal/backoff"
	"github.com/wxkit/wechat/internal/wire"
)

// Sending (PROTOCOL 8). Uploads are in message_send_upload.go, forwards and revokes in
// message_send_forward.go.

// Operations of the send endpoints, used as Error.Op.
const (
	opSendVideo    = "webwxsendvideomsg"
	opSendAppMsg   = "webwxsendappmsg"
	opSendEmoticon = "webwxsendemoticon"
	opRevokeMsg    = "webwxrevokemsg"
	opCheckUpload  = "webwxcheckupload"
)

// Size limits of the official client (PROTOCOL 9.1); the server's own are not documented.
const (
	maxImageSize       = 20 << 20 // images and GIF emoticons
	maxVideoSize       = 20 << 20 // videos must be smaller; larger ones go as files
	defaultMaxFileSize = 50 << 20
)

// SentMessage is a message this Client sent: the ids the server answered, needed to refer to
// the message later, and what it was. The send methods return one; [SentMessage.Revoke]
// recalls it and [SentMessage.Forward] sends it again to another chat.
//
// A SentMessage is a handle returned as a pointer, nil when the send failed. One built by
// hand (a SentMessage literal with MsgID and ToUserName) can be revoked with
// [Client.Revoke]; its own methods return an error matching [ErrInvalidArgument], since it
// has no Client. Its methods are safe for concurrent use.
type SentMessage struct {
	MsgID      string // the server's id of the message (SvrMsgId when revoking)
	LocalID    string // the client's id, also sent as ClientMsgId
	ToUserName string // the chat it was sent to
	// Type is the message's type as it appears in the chat: MsgTypeText, MsgTypeLocation,
	// MsgTypeImage, MsgTypeVideo, MsgTypeEmoticon, or MsgTypeApp for a file or link.
	Type MsgType
	// Time is when the server accepted it, by the client's clock. The server revokes only
	// messages younger than about 2 minutes (PROTOCOL 8.9).
	Time time.Time

	c   *Client // the Client that sent it; nil for one built by hand
	req sendReq // what was sent, for Forward
}

// sendMsg is the Msg object of the send endpoints (PROTOCOL 8.1). Content and MediaId are
// pointers because some messages must carry them empty and others must not carry them.
type sendMsg struct {
	Type         int     `json:"Type"`
	Content      *string `json:"Content,omitempty"`
	MediaID      *string `json:"MediaId,omitempty"`
	EmojiFlag    int     `json:"EmojiFlag,omitempty"`
	EMoticonMd5  string  `json:"EMoticonMd5,omitempty"`
	Signature    string  `json:"Signature,omitempty"`
	MsgSource    string  `json:"MsgSource,omitempty"`
	FromUserName string  `json:"FromUserName"`
	ToUserName   string  `json:"ToUserName"`
	LocalID      string  `json:"LocalID"`
	ClientMsgID  string  `json:"ClientMsgId"`
}

// sendReq is one call to a send endpoint.
type sendReq struct {
	op    string     // also the endpoint's name
	query url.Values // on top of lang and pass_ticket
	typ   MsgType    // SentMessage.Type
	scene int        // 0, or 2 for a forward (PROTOCOL 8.7)
	msg   sendMsg
}

// SendText sends text to the chat to (a UserName: a friend, a group, "filehelper"). The text
// is sent as typed: real newlines and emoji, no HTML escaping. To mention group members, use
// [Client.SendMention].
//
// It returns the sent message, with the server's ids. On failure it returns nil and an
// error: one matching [ErrUnknownContact], before any request, when to is not a UserName of
// this session (a nickname, say); an *Error carrying the Ret code, one that matches
// [ErrRateLimited] (1205, sending too often), [ErrLoggedOut], or 1204 (recipient refused,
// often self); [ErrNotLoggedIn] before login. Like every send, it first waits for its turn
// ([WithSendRate]); if ctx ends meanwhile it returns an error matching ctx.Err().
func (c *Client) SendText(ctx context.Context, to, text string) (*SentMessage, error) {
	return c.send(ctx, to, sendReq{op: opSendMsg, typ: MsgTypeText, msg: sendMsg{Type: int(MsgTypeText), Content: new(text)}})
}

// SendMention sends text to the group, mentioning each of members (UserNames of group
// members): the text starts with "@" + name + "\u2005" for each of them, where name is the
// member's display name in the group, else their nickname (PROTOCOL 7.4, 8.2), and the
// message carries the MsgSource the official client adds for mentions.
//
// The names come from the group's member list that the Client holds ([Client.Contact]; Run
// loads it in the background, see [Client.WaitContacts]); a group or member it does not know
// gives an error matching [ErrUnknownContact], without a request. Otherwise it returns what
// [Client.SendText] returns.
func (c *Client) SendMention(ctx context.Context, group, text string, members ...string) (*SentMessage, error) {
	content, source, err := c.mention(group, text, members)
	if err != nil {
		return nil, err
	}
	return c.send(ctx, group, sendReq{op: opSendMsg, typ: MsgTypeText,
		msg: sendMsg{Type: int(MsgTypeText), Content: new(content), MsgSource: source}})
}

// mention builds the text and the MsgSource of a mention.
func (c *Client) mention(group, text string, members []string) (content, source string, err error) {
	g, ok := c.Contact(group)
	if !ok || g.Kind != KindGroup {
		return "", "", &Error{Op: opSendMsg, Err: fmt.Errorf("%w: not a known group", ErrUnknownContact)}
	}
	var b strings.Builder
	for _, u := range members {
		mem, ok := g.Member(u)
		name := mem.DisplayName
		if name == "" {
			name = mem.NickName
		}
		if name == "" {
			if ct, known := c.Contact(u); known && ok {
				name = ct.NickName
			}
		}
		if !ok || name == "" {
			return "", "", &Error{Op: opSendMsg, Err: fmt.Errorf("%w: not a known member of the group", ErrUnknownContact)}
		}
		b.WriteString("@" + name + "\u2005")
	}
	b.WriteString(text)
	if len(members) > 0 {
		source = "<msgsource><atusername>" + xmlEscape(strings.Join(members, ",")) +
			"</atusername><atchatroomname>" + xmlEscape(group) + "</atchatroomname></msgsource>"
	}
	return b.String(), source, nil
}

// SendImage uploads the image read from r and sends it to the chat to. name is its file name,
// sent with the upload. r is streamed in 512 KiB chunks; see [Client.SendFile] for how it is
// read. Images larger than 20 MB are refused with an error matching [ErrTooLarge], empty ones
// with [ErrEmptyFile]. GIFs should be sent with [Client.SendEmoticon]; [Client.Send] picks
// the right call by the file's content.
//
// It returns what [Client.SendText] returns, or an *Error for a failed upload.
func (c *Client) SendImage(ctx context.Context, to, name string, r io.Reader) (*SentMessage, error) {
	src, err := c.prepare(r, maxImageSize)
	if err != nil {
		return nil, err
	}
	defer src.close()
	return c.sendMedia(ctx, to, name, src, "pic", opSendMsgImg, MsgTypeImage)
}

// SendVideo uploads the MP4 video read from r and sends it to the chat to (PROTOCOL 8.4).
// The official client sends only videos under 20 MB as videos; a larger one is refused with
// an error matching [ErrTooLarge] (send it with [Client.SendFile], or use [Client.Send], which
// does). Otherwise it behaves like [Client.SendImage].
func (c *Client) SendVideo(ctx context.Context, to, name string, r io.Reader) (*SentMessage, error) {
	src, err := c.prepare(r, maxVideoSize-1)
	if err != nil {
		return nil, err
	}
	defer src.close()
	return c.sendMedia(ctx, to, name, src, "video", opSendVideo, MsgTypeVideo)
}

// sendMedia uploads src as mediaType ("pic" or "video") and sends it with op as a message of
// type typ (PROTOCOL 8.3, 8.4).
func (c *Client) sendMedia(ctx context.Context, to, name string, src *source, mediaType, op string, typ MsgType) (*SentMessage, error) {
	up, err := c.upload(ctx, to, name, mediaType, src)
	if err != nil {
		return nil, err
	}
	return c.send(ctx, to, sendReq{op: op, query: url.Values{"fun": {"async"}, "f": {"json"}}, typ: typ,
		msg: sendMsg{Type: int(typ), MediaID: new(up.mediaID), Content: new("")}})
}

// SendFile uploads the file read from r and sends it to the chat to as an attachment named
// name (PROTOCOL 8.5, 9). Files over 50 MB (or the limit set with [WithMaxFileSize]) are
// refused with an error matching [ErrTooLarge], empty ones with [ErrEmptyFile]; files over
// 25 MB are first offered to webwxcheckupload, and not uploaded again if the server already
// has them.
//
// The file's MD5, which the upload needs first, takes a first pass over it, so r is read
// twice: an io.ReadSeeker (an *os.File, a bytes.Reader) from its current offset to its end,
// an io.ReaderAt that cannot seek from offset 0 to its end. Any other reader, an *os.File on
// a pipe included, is first copied to a temporary file (os.CreateTemp), removed afterwards.
// Either way the file is never held in memory: it is sent in 512 KiB chunks through one
// buffer, each chunk retried twice, with backoff, after a transport error or Ret -1 before
// the upload fails.
//
// It returns what [Client.SendText] returns, or an *Error for a failed upload.
func (c *Client) SendFile(ctx context.Context, to, name string, r io.Reader) (*SentMessage, error) {
	src, err := c.prepare(r, c.maxFileSize())
	if err != nil {
		return nil, err
	}
	defer src.close()
	return c.sendFile(ctx, to, name, src)
}

func (c *Client) sendFile(ctx context.Context, to, name string, src *source) (*SentMessage, error) {
	up, err := c.upload(ctx, to, name, "doc", src)
	if err != nil {
		return nil, err
	}
	q := url.Values{"fun": {"async"}, "f": {"json"}}
	if c.cfg.mode == ModeDesktop {
		q.Set("mod", "desktop") // as the official UOS client does (PROTOCOL 8.5)
	}
	content := fileAppMsg(c.cfg.mode, uploadName(name, src.head), src.size, up.mediaID)
	return c.send(ctx, to, sendReq{op: opSendAppMsg, query: q, typ: MsgTypeApp,
		msg: sendMsg{Type: 6, Content: new(content), Signature: up.signature}})
}

// webAppID is the appid of file messages in web mode (PROTOCOL 8.5).
const webAppID = "wxeb7ec651dd0aefa9"

// fileAppMsg returns the appmsg XML of a file message exactly as the official client writes
// it (PROTOCOL 8.5): one line, single-quoted attributes, values XML-escaped, and the appid of
// the mode (” for the UOS desktop client).
func fileAppMsg(mode Mode, title string, size int64, mediaID string) string {
	appID := webAppID
	if mode == ModeDesktop {
		appID = ""
	}
	ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(title), "."))
	return "<appmsg appid='" + xmlEscape(appID) + "' sdkver=''><title>" + xmlEscape(title) +
		"</title><des></des><action></action><type>6</type><content></content><url></url><lowurl></lowurl>" +
		"<appattach><totallen>" + fmt.Sprint(size) + "</totallen><attachid>" + xmlEscape(mediaID) +
		"</attachid><fileext>" + xmlEscape(ext) + "</fileext></appattach><extinfo></extinfo></appmsg>"
}

// SendEmoticon uploads the GIF read from r and sends it to the chat to as an animated
// emoticon (PROTOCOL 8.6). GIFs over 20 MB are refused with an error matching
// [ErrTooLarge]. Otherwise it behaves like [Client.SendImage].
func (c *Client) SendEmoticon(ctx context.Context, to, name string, r io.Reader) (*SentMessage, error) {
	src, err := c.prepare(r, maxImageSize)
	if err != nil {
		return nil, err
	}
	defer src.close()
	return c.sendEmoticon(ctx, to, name, src)
}

func (c *Client) sendEmoticon(ctx context.Context, to, name string, src *source) (*SentMessage, error) {
	// The official client uploads GIFs as documents (PROTOCOL 8.6).
	up, err := c.upload(ctx, to, name, "doc", src)
	if err != nil {
		return nil, err
	}
	return c.send(ctx, to, sendReq{op: opSendEmoticon, query: url.Values{"fun": {"sys"}}, typ: MsgTypeEmoticon,
		msg: sendMsg{Type: int(MsgTypeEmoticon), EmojiFlag: 2, MediaID: new(up.mediaID)}})
}

// SendEmoticonMD5 sends to the chat to the emoticon the server knows by md5, the md5 of a
// received emoticon (PROTOCOL 7.5, 8.6): nothing is uploaded. Store stickers cannot be
// re-sent. It returns what [Client.SendText] returns.
func (c *Client) SendEmoticonMD5(ctx context.Context, to, md5 string) (*SentMessage, error) {
	if md5 == "" {
		return nil, &Error{Op: opSendEmoticon, Err: errors.New("empty md5")}
	}
	return c.send(ctx, to, emoticonByMD5(md5))
}

// emoticonByMD5 returns the send of the emoticon the server knows by md5 (PROTOCOL 8.6, 8.7).
func emoticonByMD5(md5 string) sendReq {
	return sendReq{op: opSendEmoticon, query: url.Values{"fun": {"sys"}}, typ: MsgTypeEmoticon,
		msg: sendMsg{Type: int(MsgTypeEmoticon), EmojiFlag: 2, EMoticonMd5: md5}}
}

// Send uploads the file read from r and sends it to the chat to as what its content is, as
// the official client does when a file is dropped on a chat (PROTOCOL 9.1): a JPEG, PNG or
// BMP image up to 20 MB as an image, a GIF up to 20 MB as an emoticon, an MP4 video under
// 20 MB as a video, and anything else, larger ones included, as a file. The kind is sniffed
// from the first 512 bytes with http.DetectContentType; the extension of name decides only
// when the bytes are not recognised. It reads r as [Client.SendFile] does and returns what
// the chosen call returns.
func (c *Client) Send(ctx context.Context, to, name string, r io.Reader) (*SentMessage, error) {
	src, err := c.prepare(r, c.maxFileSize())
	if err != nil {
		return nil, err
	}
	defer src.close()
	switch kind := sniffKind(src.head, name); {
	case kind == kindImage && src.size <= maxImageSize:
		return c.sendMedia(ctx, to, name, src, "pic", opSendMsgImg, MsgTypeImage)
	case kind == kindGIF && src.size <= maxImageSize:
		return c.sendEmoticon(ctx, to, name, src)
	case kind == kindVideo && src.size < maxVideoSize:
		return c.sendMedia(ctx, to, name, src, "video", opSendVideo, MsgTypeVideo)
	}
	return c.sendFile(ctx, to, name, src)
}

// fileKind is what Send sends a file as.
type fileKind int

const (
	kindFile fileKind = iota
	kindImage
	kindGIF
	kindVideo
)

// sniffKind classifies a file by its first bytes, or by the extension of name when the bytes
// say nothing (PROTOCOL 9.1).
func sniffKind(head []byte, name string) fileKind {
	ct := http.DetectContentType(head)
	if ct == "application/octet-stream" {
		switch strings.ToLower(filepath.Ext(name)) {
		case ".jpg", ".jpeg", ".png", ".bmp":
			return kindImage
		case ".gif":
			return kindGIF
		case ".mp4":
			return kindVideo
		}
		return kindFile
	}
	switch ct {
	case "image/jpeg", "image/png", "image/bmp":
		return kindImage
	case "image/gif":
		return kindGIF
	case "video/mp4":
		return kindVideo
	}
	return kindFile
}

// send posts a message to one of the send endpoints, after waiting for its turn.
func (c *Client) send(ctx context.Context, to string, sd sendReq) (*SentMessage, error) {
	s, err := c.loggedIn()
	if err != nil {
		return nil, err
	}
	if err := c.checkRecipient(sd.op, to); err != nil {
		return nil, err
	}
	if err := c.pacer.wait(ctx); err != nil {
		return nil, &Error{Op: sd.op, Err: err}
	}
	q := url.Values{}
	for k, v := range sd.query {
		q[k] = v
	}
	q.Set("lang", c.cfg.lang)
	q.Set("pass_ticket", s.passTicket)
	id := c.ids.clientMsgID(time.Now())
	msg := sd.msg
	msg.FromUserName, msg.ToUserName, msg.LocalID, msg.ClientMsgID = s.self, to, id, id
	req := struct {
		BaseRequest baseRequest `json:"BaseRequest"`
		Msg         sendMsg     `json:"Msg"`
		Scene       int         `json:"Scene"`
	}{s.baseRequest(), msg, sd.scene}
	c.sent.begin()
	body, err := c.postRaw(ctx, sd.op, cgiURL(s.hosts.main, sd.op, q), req)
	var msgID string
	if err == nil {
		msgID, err = parseSendResponse(sd.op, body)
	}
	c.sent.end(msgID)
	c.paced(sd.op, err)
	if err != nil {
		return nil, err
	}
	c.log.Debug("sent", "op", sd.op, "msg_id", msgID)
	return &SentMessage{MsgID: msgID, LocalID: id, ToUserName: to, Type: sd.typ, Time: time.Now(), c: c, req: sd}, nil
}

// checkRecipient refuses, before any request, a recipient that cannot be a UserName of the
// session: the server would answer 1204. A UserName starting with "@" is let through even if
// the address book does not know it (yet): the loader may still be at work.
func (c *Client) checkRecipient(op, to string) error {
	switch {
	case to == "":
		return &Error{Op: op, Err: fmt.Errorf("%w: empty recipient", ErrUnknownContact)}
	case strings.HasPrefix(to, "@") || specialAccounts[to] || c.contacts.get(to) != nil:
		return nil
	}
	return &Error{Op: op, Err: fmt.Errorf("%w: %q is not a UserName of this session; to send by name, "+
		"find the contact with ContactsByName or SearchContacts and use its UserName", ErrUnknownContact, to)}
}

// parseSendResponse decodes the answer of a send endpoint (PROTOCOL 8.1) and returns the
// server's MsgID. A non-zero Ret is an *Error; Ret 0 without a MsgID is ErrBadResponse.
func parseSendResponse(op string, body []byte) (string, error) {
	resp, err := decodeJSON(op, body, wire.DecodeSend)
	if err != nil {
		return "", err
	}
	if resp.MsgID == "" {
		return "", badResponse(op, errors.New("no MsgID"))
	}
	return resp.MsgID, nil
}

// paced tells the pacer how a paced call ended: a 1205 pauses the sends that follow.
func (c *Client) paced(op string, err error) {
	if d := c.pacer.done(err); d > 0 {
		c.log.Warn("rate limited; pausing sends", "op", op, "ret", 1205, "pause", d)
	}
}

// sendConfig holds the options of this file.
type sendConfig struct {
	rateSet     bool // WithSendRate was used
	interval    time.Duration
	burst       int
	maxFileSize int64
}

// Default pacing (WithSendRate): PROTOCOL 12.7 asks for 0.5-3 s between sends.
const (
	defaultSendInterval = time.Second
	defaultSendBurst    = 5
)

// WithSendRate paces the messages the Client sends (every Send* call, Forward and Revoke):
// burst of them may go at once, then one every interval, so that a bot answering a burst of
// messages stays under the server's frequency limit (Ret 1205; PROTOCOL 12.7 asks for
// 0.5-3 s between sends). A send waits for its turn with its ctx and is never dropped. After
// a send refused with 1205 the Client also pauses the sends that follow, for 5 s at first,
// doubling up to 5 minutes while the refusals go on.
//
// The default is one send a second with a burst of 5. interval <= 0 switches pacing off,
// the pause after a 1205 included; burst < 1 means 1.
func WithSendRate(interval time.Duration, burst int) Option {
	return func(c *config) {
		c.send.rateSet, c.send.interval, c.send.burst = true, interval, burst
	}
}

// WithMaxFileSize sets the largest file [Client.SendFile] and [Client.Send] upload, in
// bytes. n <= 0 means 50 MB, the official client's limit (PROTOCOL 9.1; the server's own
// limit is not documented). Images and GIF emoticons are limited to 20 MB and videos to less
// than 20 MB whatever n is, as in the official client.
func WithMaxFileSize(n int64) Option {
	return func(c *config) { c.send.maxFileSize = n }
}

func (c *Client) maxFileSize() int64 {
	if c.cfg.send.maxFileSize > 0 {
		return c.cfg.send.maxFileSize
	}
	return defaultMaxFileSize
}

// pacer spaces the Client's sends (WithSendRate) and pauses them after a 1205. A nil pacer
// does nothing. Its token bucket is a rate.Limiter; the waits are its own, a select on the
// timer and ctx, so that a wait longer than ctx's deadline still ends with ctx.Err() when ctx
// ends (rate.Limiter.Wait would fail at once with an error of its own).
type pacer struct {
	l *rate.Limiter

	mu sync.Mutex
	bo backoff.Backoff // pause after consecutive 1205s
}

func newPacer(sc sendConfig) *pacer {
	interval, burst := sc.interval, sc.burst
	if !sc.rateSet {
		interval, burst = defaultSendInterval, defaultSendBurst
	}
	if interval <= 0 {
		return nil
	}
	return &pacer{
		l:  rate.NewLimiter(rate.Every(interval), max(burst, 1)),
		bo: backoff.Backoff{Min: 5 * time.Second, Max: 5 * time.Minute},
	}
}

// wait takes a token, waiting for it until ctx ends. Waiters are served in the order they
// called wait. A wait that ctx ends gives its token back, unless a later caller has reserved
// one since: a cancelled wait never lets later callers go earlier than they were promised.
func (p *pacer) wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil || p == nil {
		return err
	}
	r := p.l.Reserve() // never fails: the limit is finite and a reservation takes one token
	d := r.Delay()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		r.Cancel()
		return ctx.Err()
	}
}

// done records the outcome of a paced call and returns the pause it caused, if any.
func (p *pacer) done(err error) time.Duration {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case err == nil:
		p.bo.Reset()
	case errors.Is(err, ErrRateLimited):
		d := p.bo.Next()
		p.pause(d)
		return d
	}
	return 0
}

// pause makes the sends that have not reserved a token yet wait until d from now, and then
// go one per interval, without a burst, as after a refusal by the server. A pause shorter
// than the wait already ahead does nothing.
//
// rate.Limiter has no pause: it is made by reserving the tokens that the bucket must lack for
// its next token to come d from now, reservations that are never used, a debt the bucket
// pays back at its rate.
func (p *pacer) pause(d time.Duration) {
	if d <= 0 {
		return
	}
	now := time.Now()
	debt := p.l.TokensAt(now) - 1 + d.Seconds()*float64(p.l.Limit())
	burst := p.l.Burst()
	for n := int(math.Ceil(debt)); n > 0; n -= burst {
		p.l.ReserveN(now, min(n, burst))
	}
}

var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")

// xmlEscape escapes s for an XML attribute value or element text.
func xmlEscape(s string) string { return xmlEscaper.Replace(s) }
