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
// matching errors.ErrUnsupported, without a request. Otherwise it returns what
// [Client.SendText] returns.
func (c *Client) Forward(ctx context.Context, m *Message, to string) (SentMessage, error) {
	sd, err := forwardOf(m)
	if err != nil {
		return SentMessage{}, err
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
// [ErrLoggedOut] and [ErrRateLimited], and [ErrNotLoggedIn] before login. Revokes are paced
// with the sends ([WithSendRate]).
func (c *Client) Revoke(ctx context.Context, s SentMessage) error {
	sess, err := c.loggedIn()
	if err != nil {
		return err
	}
	if s.MsgID == "" || s.ToUserName == "" {
		return &Error{Op: opRevokeMsg, Err: errors.New("not a sent message: no MsgID or ToUserName")}
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
