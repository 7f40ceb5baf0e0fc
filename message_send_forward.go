package wechat

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/wxkit/wechat/internal/wire"
)

// Forward sends a copy of the received message m to the chat to, as the official client's
// "forward" does (PROTOCOL 8.7): the server re-uses the original's media, so nothing is
// downloaded or uploaded. It forwards text, locations, images, videos, emoticons, files and
// other app messages (links, ...). For a message it cannot forward (voice, cards, system
// messages, store stickers, money transfers, a file without MediaId, ...) it returns an error
// matching errors.ErrUnsupported, without a request, and for a nil m one matching
// [ErrInvalidArgument]. Otherwise it returns what [Client.SendText] returns.
func (c *Client) Forward(ctx context.Context, m *Message, to string) (*SentMessage, error) {
	if m == nil {
		return nil, &Error{Op: opSendMsg, Err: fmt.Errorf("%w: Forward of a nil message", ErrInvalidArgument)}
	}
	sd, err := forwardOf(m)
	if err != nil {
		return nil, err
	}
	return c.send(ctx, to, sd)
}

// forwardOf returns the send that forwards m (PROTOCOL 8.7).
func forwardOf(m *Message) (sendReq, error) {
	unsupported := func(why string) (sendReq, error) {
		return sendReq{}, fmt.Errorf("wechat: cannot forward message %s (type %d): %s: %w", m.MsgID, m.MsgType, why, errors.ErrUnsupported)
	}
	async := url.Values{"fun": {"async"}, "f": {"json"}}
	switch {
	case m.isLocation():
		if m.OriContent == "" {
			return unsupported("location without OriContent")
		}
		return sendReq{op: opSendMsg, typ: MsgTypeLocation, scene: 2,
			msg: sendMsg{Type: int(MsgTypeLocation), Content: new(m.OriContent)}}, nil
	case IsText(m):
		return sendReq{op: opSendMsg, typ: MsgTypeText, scene: 2,
			msg: sendMsg{Type: int(MsgTypeText), Content: new(m.Content)}}, nil
	case m.MsgType == MsgTypeImage:
		// The original XML (prefix stripped, unescaped): the server re-uses its CDN references.
		return sendReq{op: opSendMsgImg, query: async, typ: MsgTypeImage, scene: 2,
			msg: sendMsg{Type: int(MsgTypeImage), MediaID: new(""), Content: new(m.Content)}}, nil
	case m.MsgType == MsgTypeVideo || m.MsgType == MsgTypeMicroVideo:
		return sendReq{op: opSendVideo, query: async, typ: MsgTypeVideo, scene: 2,
			msg: sendMsg{Type: int(MsgTypeVideo), MediaID: new(""), Content: new(m.Content)}}, nil
	case m.MsgType == MsgTypeEmoticon:
		e, _ := m.Emoticon()
		switch {
		case e.Store:
			return unsupported("store sticker")
		case e.MD5 == "":
			return unsupported("no md5 in the emoticon")
		}
		// The official client forwards emoticons with Scene 0 (PROTOCOL 8.7).
		return emoticonByMD5(e.MD5), nil
	case m.MsgType == MsgTypeApp:
		switch m.AppMsgType {
		case 0, AppMsgTransfers, AppMsgRedEnvelopes:
			return unsupported("app message of this kind")
		}
		content, ok := appMsgElement(m.Content)
		if !ok {
			return unsupported("no appmsg element")
		}
		if m.AppMsgType == AppMsgAttach {
			if m.MediaID == "" {
				return unsupported("file without MediaId")
			}
			if content, ok = replaceAttachID(content, m.MediaID); !ok {
				return unsupported("file without attachid")
			}
		}
		// Msg.Type of an app message is its AppMsgType (PROTOCOL 8.1).
		return sendReq{op: opSendAppMsg, query: async, typ: MsgTypeApp, scene: 2,
			msg: sendMsg{Type: int(m.AppMsgType), Content: new(content)}}, nil
	}
	return unsupported("not forwardable")
}

// appMsgElement returns the <appmsg> element of an app message's XML: what the official
// client sends (PROTOCOL 8.5), without the <msg> around it and the junk after it.
func appMsgElement(content string) (string, bool) {
	i := strings.Index(content, "<appmsg")
	j := strings.LastIndex(content, "</appmsg>")
	if i < 0 || j < i {
		return "", false
	}
	return content[i : j+len("</appmsg>")], true
}

// replaceAttachID puts mediaID into the <attachid> element of an appmsg (PROTOCOL 8.7).
func replaceAttachID(appmsg, mediaID string) (string, bool) {
	const open, shut = "<attachid>", "</attachid>"
	i := strings.Index(appmsg, open)
	if i < 0 {
		if i = strings.Index(appmsg, "<attachid/>"); i < 0 {
			return "", false
		}
		return appmsg[:i] + open + xmlEscape(mediaID) + shut + appmsg[i+len("<attachid/>"):], true
	}
	j := strings.Index(appmsg[i:], shut)
	if j < 0 {
		return "", false
	}
	return appmsg[:i+len(open)] + xmlEscape(mediaID) + appmsg[i+j:], true
}

// Revoke recalls the message s that this Client sent (PROTOCOL 8.9). The server revokes only
// messages younger than about 2 minutes; when it refuses, Revoke returns an *Error matching
// [ErrRevokeRefused] with the server's Ret and ErrMsg. It also returns errors matching
// [ErrLoggedOut] and [ErrRateLimited], [ErrNotLoggedIn] before login, and, without a
// request, one matching [ErrInvalidArgument] when s is nil or has no MsgID or ToUserName.
// Revokes are paced with the sends ([WithSendRate]).
func (c *Client) Revoke(ctx context.Context, s *SentMessage) error {
	sess, err := c.loggedIn()
	if err != nil {
		return err
	}
	if s == nil || s.MsgID == "" || s.ToUserName == "" {
		return &Error{Op: opRevokeMsg, Err: fmt.Errorf("%w: not a sent message: no MsgID or ToUserName", ErrInvalidArgument)}
	}
	if err := c.pacer.wait(ctx); err != nil {
		return &Error{Op: opRevokeMsg, Err: err}
	}
	clientID := s.LocalID
	if clientID == "" {
		clientID = c.ids.clientMsgID(time.Now()) // a fresh id works too (PROTOCOL 8.9)
	}
	req := struct {
		BaseRequest baseRequest `json:"BaseRequest"`
		ClientMsgID string      `json:"ClientMsgId"`
		SvrMsgID    string      `json:"SvrMsgId"`
		ToUserName  string      `json:"ToUserName"`
	}{sess.baseRequest(), clientID, s.MsgID, s.ToUserName}
	q := url.Values{"lang": {c.cfg.lang}, "pass_ticket": {sess.passTicket}}
	body, err := c.postRaw(ctx, opRevokeMsg, cgiURL(sess.hosts.main, "webwxrevokemsg", q), req)
	if err == nil {
		err = parseRevokeResponse(body)
	}
	c.paced(opRevokeMsg, err)
	if err == nil {
		c.log.Debug("revoked", "op", opRevokeMsg, "msg_id", s.MsgID)
	}
	return err
}

// parseRevokeResponse decodes the answer of webwxrevokemsg (PROTOCOL 8.9). A non-zero Ret is
// an *Error, matching ErrRevokeRefused unless it is a logout or 1205.
func parseRevokeResponse(body []byte) error {
	_, err := decodeJSON(opRevokeMsg, body, wire.DecodeRevoke)
	return err
}

// Revoke recalls s, as [Client.Revoke] does with the Client that sent it, and returns what
// that returns: an error matching [ErrRevokeRefused] once the message is older than about
// 2 minutes or revoked already. For a nil s or one built by hand, which has no Client, it
// returns an error matching [ErrInvalidArgument], without a request.
func (s *SentMessage) Revoke(ctx context.Context) error {
	if s == nil || s.c == nil {
		return &Error{Op: opRevokeMsg, Err: errNoSender}
	}
	return s.c.Revoke(ctx, s)
}

// Forward sends s again, to the chat to, as the official client forwards (PROTOCOL 8.7):
// the same text, or the same media without a new upload (the server keeps what was
// uploaded for the session). A mention's text is sent as it is, without its list of
// mentioned members, which belong to the original group. It returns the new message, or
// what [Client.SendText] returns on failure; for a nil s or one built by hand, which has no
// Client, an error matching [ErrInvalidArgument], without a request.
func (s *SentMessage) Forward(ctx context.Context, to string) (*SentMessage, error) {
	if s == nil || s.c == nil || s.req.op == "" {
		return nil, &Error{Op: opSendMsg, Err: errNoSender}
	}
	sd := s.req
	sd.msg.MsgSource = ""
	if sd.op != opSendEmoticon {
		sd.scene = 2 // emoticons are forwarded with Scene 0 (PROTOCOL 8.7)
	}
	return s.c.send(ctx, to, sd)
}

// errNoSender is the cause of the error of the methods of a SentMessage without a Client.
var errNoSender = fmt.Errorf("%w: a SentMessage not returned by a send of a Client", ErrInvalidArgument)
