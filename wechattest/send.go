package wechattest

import (
	"regexp"
)

// Sending: the send endpoints and webwxrevokemsg (PROTOCOL 8).

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

// sendRule is what a send endpoint accepts.
type sendRule struct {
	media    bool // MediaId must be known, or "" with a Content (forward)
	appmsg   bool // Content must be set; a type 6 needs a known <attachid>
	emoticon bool // a known MediaId or an EMoticonMd5
	echoType int  // MsgType of the echo in AddMsgList (0: Msg.Type)
}

func sendRuleFor(name string) (sendRule, bool) {
	switch name {
	case "webwxsendmsg":
		return sendRule{}, true
	case "webwxsendmsgimg":
		return sendRule{media: true}, true
	case "webwxsendvideomsg":
		return sendRule{media: true, echoType: 43}, true
	case "webwxsendappmsg":
		return sendRule{appmsg: true, echoType: 49}, true
	case "webwxsendemoticon":
		return sendRule{emoticon: true}, true
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

// handleSend answers the send endpoints (PROTOCOL 8). It refuses:
//
//   - with Ret 1204, a Msg.FromUserName that is not self (PROTOCOL 8.1: MUST) and a
//     ToUserName that is self or not a UserName of this session (PROTOCOL 8.1: 1204);
//   - with Ret 1, a request without a Msg object, and media the server does not have: a
//     MediaId that no upload or delivered message produced, a webwxsendmsgimg or
//     webwxsendvideomsg with neither a MediaId nor a Content (a forward, PROTOCOL 8.7), an
//     appmsg without a Content, a file appmsg (Type 6) whose <attachid> names no such
//     media, an emoticon with neither a known MediaId nor an EMoticonMd5, and a file over
//     25 MB sent without the Signature of its upload (PROTOCOL 9.2);
//   - with Ret 1205, sends over the limit of [WithSendLimit].
//
// LocalID and ClientMsgId are not checked (ItChat computes them apart, so they may differ,
// PROTOCOL 8.1), nor is Msg.Type against the endpoint. The message is recorded and echoed
// to the event log, as the real server does (PROTOCOL 14.21).
func (s *Server) handleSend(c *call, endpoint string, rule sendRule) (obj, *refusal) {
	ss := c.ss
	if s.sendLimitedLocked() {
		return nil, refuse(1205, "more than %d sends in %v (WithSendLimit; PROTOCOL 8.1: 1205 frequency limit)", s.cfg.files.sendLimit, s.cfg.files.sendPer)
	}
	msg, ok := c.req.obj("Msg")
	if !ok {
		return nil, refuse(1, "no Msg object (PROTOCOL 8.1)")
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
	switch {
	case fromUN != selfUN:
		return nil, refuse(1204, "Msg.FromUserName is not self (PROTOCOL 8.1)")
	case toUN == selfUN:
		return nil, refuse(1204, "Msg.ToUserName is self; send to filehelper (PROTOCOL 8.1)")
	case to == "":
		return nil, refuse(1204, "Msg.ToUserName is not a UserName of this session (PROTOCOL 8.1)")
	}
	switch {
	case rule.media:
		if mediaID == "" && content == "" {
			return nil, refuse(1, "neither a MediaId nor a Content to forward (PROTOCOL 8.3, 8.7)")
		}
		if mediaID != "" && !s.media[mediaID] {
			return nil, refuse(1, "the MediaId is not one an upload or a delivered message produced")
		}
	case rule.appmsg:
		if content == "" {
			return nil, refuse(1, "an appmsg without a Content (PROTOCOL 8.5)")
		}
		if typ == 6 {
			m := attachIDRe.FindStringSubmatch(content)
			if m == nil || !s.media[m[1]] {
				return nil, refuse(1, "the file appmsg's <attachid> is not a MediaId of an upload or a delivered message (PROTOCOL 8.5)")
			}
			mediaID = m[1]
			// A file over 25 MB is sent with the Signature of its upload
			// (PROTOCOL 9.2).
			if rec := s.files.info[mediaID]; rec != nil && rec.signature != "" && rec.signature != signature {
				return nil, refuse(1, "a file over 25 MB needs Msg.Signature from webwxcheckupload (PROTOCOL 9.2)")
			}
		}
	case rule.emoticon:
		md5sum, _ := msg.str("EMoticonMd5")
		if mediaID != "" && !s.media[mediaID] {
			return nil, refuse(1, "the MediaId is not one an upload or a delivered message produced")
		}
		if mediaID == "" && md5sum == "" {
			return nil, refuse(1, "an emoticon needs a MediaId or an EMoticonMd5 (PROTOCOL 8.6)")
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
		MsgID:        msgID,
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
	return obj{{"BaseResponse", baseResponse(0)}, {"MsgID", sm.MsgID}, {"LocalID", localID}}, nil
}

// handleRevoke answers webwxrevokemsg (PROTOCOL 8.9): SvrMsgId must be the
// MsgID of a message this server accepted for ToUserName, not revoked yet,
// and accepted at most the revoke window ago ([WithRevokeWindow], 2 minutes
// by default) by the server's clock; otherwise the answer is Ret 1 (PROTOCOL
// 8.9 gives no code for a refusal). The revoke is recorded in [Server.Sent]
// with Endpoint "webwxrevokemsg".
func (s *Server) handleRevoke(c *call) (obj, *refusal) {
	svr, _ := c.req.idString("SvrMsgId")
	toUN, _ := c.req.str("ToUserName")
	clientID, _ := c.req.idString("ClientMsgId")
	for _, m := range s.sent {
		if m.Endpoint == "webwxrevokemsg" && m.MsgID == svr {
			return nil, refuse(1, "the message is already revoked")
		}
	}
	for _, m := range s.sent {
		if m.Endpoint != "webwxrevokemsg" && m.MsgID == svr && svr != "" && m.ToUserName == toUN {
			if s.nowLocked().Sub(s.files.sentAt[svr]) > s.revokeWindow() {
				return nil, refuse(1, "the message is older than the revoke window of %v (PROTOCOL 8.9)", s.revokeWindow())
			}
			s.sent = append(s.sent, SentMessage{
				Endpoint: "webwxrevokemsg", From: s.acct.self.id, To: m.To,
				FromUserName: m.FromUserName, ToUserName: toUN,
				ClientMsgID: clientID, MsgID: svr,
			})
			s.broadcastLocked()
			return zeroRevoke(0), nil
		}
	}
	return nil, refuse(1, "SvrMsgId is not the MsgID of a message sent to ToUserName (PROTOCOL 8.9)")
}
