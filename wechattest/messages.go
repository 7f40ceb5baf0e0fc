package wechattest

import (
	"strconv"
	"strings"
)

// Message is a message the server delivers to the client through
// webwxsync's AddMsgList (PROTOCOL 7). Ids are stable ids; the server
// turns them into the session's UserNames when it serves the message.
type Message struct {
	// From is the sender: a contact, "self" for a message sent from the
	// phone, or in a group the member who wrote. It may be "" only for a
	// group system message.
	From string
	// To is the receiver; "" means self.
	To string
	// Group is the group of a group message, "" otherwise. For a message
	// from a member FromUserName is then the group and Content starts with
	// "@<member UserName>:<br/>" (PROTOCOL 7.4); for a message From self it
	// goes from self to the group, without a prefix.
	Group string
	// Type is the MsgType (1 text, 3 image, 49 app, 51 status notify,
	// 10000 system, ...); 0 means 1.
	Type int
	// Text is plain text for Type 1 and 10000: the server HTML-escapes
	// & < > " ', turns "\n" into "<br/>" and adds the group sender prefix.
	Text string
	// Content, if non-empty, is used verbatim as the wire Content (after
	// the group prefix), for other types or exact wire tests.
	Content string

	// MsgID is the server id, in decimal like [wechat.Message].MsgID; ""
	// means a new one (a 19-digit number above 2^53). Deliver the same MsgID
	// twice to test de-duplication.
	MsgID string

	// Optional wire fields (PROTOCOL 7.1); zero values are sent as zero.
	AppMsgType       int
	FileName         string
	FileSize         int64 // sent as a string, "" when 0
	MediaID          string
	URL              string
	SubMsgType       int
	OriContent       string
	VoiceLength      int // ms
	PlayLength       int // s
	ImgWidth         int
	ImgHeight        int
	StatusNotifyCode int
	// StatusNotifyUserName lists stable ids, sent as comma-separated
	// UserNames.
	StatusNotifyUserName []string
	HasProductID         int

	// RecommendInfo describes the person behind a friend request (Type
	// 37); its zero value sends an empty RecommendInfo, as for other
	// messages.
	RecommendInfo RecommendInfo
}

// RecommendInfo is the RecommendInfo of a message (PROTOCOL 7.5): the person
// behind a friend request. The server sends ID as the person's session
// UserName and fills NickName, Sex, Province and City from the account
// when they are empty. A delivered Type 37 message with a RecommendInfo is
// a pending request, which webwxverifyuser (Opcode 3) accepts when it
// presents the UserName and Ticket.
type RecommendInfo struct {
	ID       string // stable id of the person; "" means no RecommendInfo
	NickName string // wire form
	Content  string // the greeting, plain text
	Ticket   string // the verify ticket ("v2_...@stranger")
	Alias    string
	Province string
	City     string
	Sex      int
	Scene    int // 30 for a request found by WeChat ID or phone number
	OpCode   int // 2 for a request
}

// Text returns a text message from the stable id from to self.
func Text(from, text string) Message {
	return Message{From: from, Type: 1, Text: text}
}

// GroupText returns a text message written by the member from in group.
func GroupText(group, from, text string) Message {
	return Message{Group: group, From: from, Type: 1, Text: text}
}

// The constructors below build the kinds of messages of PROTOCOL 7.5 other than text.
// Each returns a Message from the stable id from to self, with the wire fields and the
// HTML-escaped XML Content the real server sends for that kind. To have one arrive in a
// group, set Group on the result (and From to the member who sent it):
//
//	m := wechattest.Image("alice")
//	m.Group = "group"
//	srv.Deliver(m)
//
// The XML names people by their stable ids, as the real XML names them by permanent ids
// (PROTOCOL 5.7), and uses the stable id where the real XML has a nickname.

// Image returns an image message (MsgType 3) with the XML Content of older servers,
// <msg><img length="6503" hdlength="0" />...</msg>.
func Image(from string) Message {
	return Message{From: from, Type: 3}
}

// Voice returns a voice message (MsgType 34) of ms milliseconds.
func Voice(from string, ms int) Message {
	n := strconv.Itoa(ms)
	return Message{
		From: from, Type: 34, VoiceLength: ms,
		Content: escapeHTML(`<msg><voicemsg endflag="1" cancelflag="0" forwardflag="0" voiceformat="4" voicelength="` + n +
			`" length="` + strconv.Itoa(ms*2) + `" bufid="0" clientmsgid="0" fromusername="` + xmlAttr(from) + `" /></msg>`),
	}
}

// Video returns a video message (MsgType 43) of the given length in seconds, 540×960
// pixels and 491469 bytes.
func Video(from string, seconds int) Message {
	return Message{
		From: from, Type: 43, PlayLength: seconds, ImgWidth: 540, ImgHeight: 960,
		Content: encodeText(`<?xml version="1.0"?>` + "\n<msg>\n\t" + `<videomsg length="491469" playlength="` + strconv.Itoa(seconds) +
			`" fromusername="` + xmlAttr(from) + `" />` + "\n</msg>\n"),
	}
}

// Emoticon returns a sticker (MsgType 47) whose MD5 is md5, 80×80 pixels.
func Emoticon(from, md5 string) Message {
	return Message{
		From: from, Type: 47, ImgWidth: 80, ImgHeight: 80,
		Content: escapeHTML(`<msg><emoji fromusername="` + xmlAttr(from) + `" type="2" idbuffer="media:0_0" md5="` + xmlAttr(md5) +
			`" len="86235" productid="" cdnurl="http://emoji.qpic.cn/wx_emoji/` + xmlAttr(md5) + `/" width="80" height="80" ></emoji></msg>`),
	}
}

// File returns a file attachment (MsgType 49, AppMsgType 6) named name, of size bytes. A
// non-empty mediaID (such as "@crypt_...") becomes the message's MediaId, which the server
// then accepts in downloads and forwards, and the payload's <attachid>.
func File(from, name string, size int64, mediaID string) Message {
	ext := ""
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		ext = name[i+1:]
	}
	return Message{
		From: from, Type: 49, AppMsgType: 6, FileName: name, FileSize: size, MediaID: mediaID,
		Content: escapeHTML(`<msg><appmsg appid="wx6618f1cfc6c132f8" sdkver="0"><title>` + xmlAttr(name) + `</title><des></des>` +
			`<action>view</action><type>6</type><showtype>0</showtype><content></content><url></url>` +
			`<appattach><totallen>` + strconv.FormatInt(size, 10) + `</totallen><attachid>` + xmlAttr(mediaID) + `</attachid>` +
			`<emoticonmd5></emoticonmd5><fileext>` + xmlAttr(ext) + `</fileext></appattach></appmsg>` +
			`<fromusername>` + xmlAttr(from) + `</fromusername><scene>0</scene><appinfo><version>1</version><appname>微信电脑版</appname></appinfo></msg>`),
	}
}

// Link returns a shared link (MsgType 49, AppMsgType 5) to url with the given title.
func Link(from, title, url string) Message {
	return Message{
		From: from, Type: 49, AppMsgType: 5, FileName: title, URL: url,
		Content: escapeHTML(`<msg><appmsg appid="" sdkver="0"><title>` + xmlAttr(title) + `</title><des></des>` +
			`<action>view</action><type>5</type><showtype>0</showtype><content></content><url>` + xmlAttr(url) + `</url>` +
			`<appattach><totallen>0</totallen><attachid></attachid><fileext></fileext></appattach></appmsg>` +
			`<fromusername>` + xmlAttr(from) + `</fromusername><scene>0</scene><appinfo><version>1</version><appname></appname></appinfo></msg>`),
	}
}

// Location returns a shared location as the web server sends it: MsgType 1 with SubMsgType
// 48, the <location> XML in OriContent, "<label>:<br/>" and the map picture's path in
// Content, and the map link with coord=<lat>,<lng> in Url. The picture's path has no msgid
// parameter.
func Location(from, label string, lat, lng float64) Message {
	x := strconv.FormatFloat(lat, 'f', -1, 64)
	y := strconv.FormatFloat(lng, 'f', -1, 64)
	return Message{
		From: from, Type: 1, SubMsgType: 48,
		URL: "http://apis.map.qq.com/uri/v1/geocoder?coord=" + x + "," + y,
		OriContent: `<?xml version="1.0"?>` + "\n<msg>\n\t" + `<location x="` + x + `" y="` + y + `" scale="16" label="` + xmlAttr(label) +
			`" maptype="0" poiname="[位置]" poiid="" />` + "\n</msg>\n",
		Content: encodeText(label) + ":<br/>/cgi-bin/mmwebwx-bin/webwxgetpubliclinkimg?url=xxx&amp;pictype=location",
	}
}

// Card returns a contact card (MsgType 42) sharing the account cardOf, named in the XML by
// its stable id (a "gh_" id is an official account). The server sends an empty
// RecommendInfo, so the card has no session UserName.
func Card(from, cardOf string) Message {
	return Message{
		From: from, Type: 42,
		Content: encodeText(`<?xml version="1.0"?>` + "\n" + `<msg bigheadimgurl="" smallheadimgurl="" username="` + xmlAttr(cardOf) +
			`" nickname="` + xmlAttr(cardOf) + `" shortpy="" alias="" imagestatus="3" scene="17" province="" city="" sign="" sex="0"` +
			` certflag="0" certinfo="" brandIconUrl="" brandHomeUrl="" brandSubscriptConfigUrl="" brandFlags="0" regionCode=""` +
			` antispamticket="v2_` + xmlAttr(cardOf) + `@stranger" />` + "\n"),
	}
}

// FriendRequest returns a friend request (MsgType 37) from the stable id from, with the
// given greeting. As on the real server it comes from "fmessage"; the XML carries from as
// fromusername and fromnickname and the ticket "v2_<from>@stranger", and so does its
// RecommendInfo, which the server sends with from's session UserName (and NickName, sex and
// region from the account, if from is in it). Once delivered, the request can be accepted
// with webwxverifyuser (Opcode 3) with that UserName and ticket, until it is.
func FriendRequest(from, greeting string) Message {
	ticket := "v2_" + from + "@stranger"
	return Message{
		From: "fmessage", Type: 37,
		RecommendInfo: RecommendInfo{ID: from, Content: greeting, Ticket: ticket, Scene: 30, OpCode: 2},
		Content: escapeHTML(`<msg fromusername="` + xmlAttr(from) + `" encryptusername="v1_` + xmlAttr(from) + `@stranger" fromnickname="` +
			xmlAttr(from) + `" content="` + xmlAttr(greeting) + `" shortpy="" imagestatus="3" scene="30" country="CN" province="" city=""` +
			` sign="" percard="1" sex="0" alias="" weibo="" albumflag="0" albumstyle="0" albumbgimgid="" snsflag="1" snsbgimgid=""` +
			` snsbgobjectid="0" mhash="" mfullhash="" bigheadimgurl="" smallheadimgurl="" ticket="` + xmlAttr(ticket) + `"` +
			` opcode="2" googlecontact="" qrticket="" chatroomusername="" sourceusername="" sourcenickname="">` +
			`<brandlist count="0" ver="1"></brandlist></msg>`),
	}
}

// Revoke returns the notice (MsgType 10002) that from revoked the message whose MsgId is
// msgID. The XML names from as the session and in the replace text.
func Revoke(from, msgID string) Message {
	return Message{
		From: from, Type: 10002,
		Content: encodeText(`<sysmsg type="revokemsg">` + "\n\t<revokemsg>\n\t\t<session>" + xmlAttr(from) + "</session>\n\t\t" +
			"<oldmsgid>1660000000</oldmsgid>\n\t\t<msgid>" + xmlAttr(msgID) + "</msgid>\n\t\t" +
			`<replacemsg><![CDATA["` + strings.ReplaceAll(from, "]]>", "") + `" 撤回了一条消息]]></replacemsg>` + "\n\t</revokemsg>\n</sysmsg>\n"),
	}
}

// System returns a system message (MsgType 10000) with the given text in group, such as
// `"Alice"邀请"Bob"加入了群聊`. It has no sender prefix, as on the real server.
func System(group, text string) Message {
	return Message{Group: group, Type: 10000, Text: text}
}

// xmlEscaper escapes text for an XML attribute or element.
var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")

// xmlAttr escapes s for an XML attribute value or element text.
func xmlAttr(s string) string { return xmlEscaper.Replace(s) }
