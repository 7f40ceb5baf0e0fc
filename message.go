package wechat

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/wxkit/wechat/internal/textfmt"
	"github.com/wxkit/wechat/internal/wire"
)

// MsgType is the type of a message (PROTOCOL 7.2).
type MsgType int

// Message types. A message whose type the client does not know keeps the server's number;
// one the client could not read at all keeps its type if that much could be read (else it has
// MsgTypeUnknown), and its Raw object.
const (
	MsgTypeUnknown        MsgType = 0
	MsgTypeText           MsgType = 1
	MsgTypeImage          MsgType = 3
	MsgTypeVoice          MsgType = 34
	MsgTypeVerify         MsgType = 37 // friend request
	MsgTypePossibleFriend MsgType = 40
	MsgTypeShareCard      MsgType = 42
	MsgTypeVideo          MsgType = 43
	MsgTypeEmoticon       MsgType = 47
	MsgTypeLocation       MsgType = 48
	MsgTypeApp            MsgType = 49
	MsgTypeVoIP           MsgType = 50
	MsgTypeStatusNotify   MsgType = 51
	MsgTypeVoIPNotify     MsgType = 52
	MsgTypeVoIPInvite     MsgType = 53
	MsgTypeMicroVideo     MsgType = 62
	MsgTypeSysNotice      MsgType = 9999
	MsgTypeSys            MsgType = 10000
	MsgTypeRecalled       MsgType = 10002
)

var msgTypeNames = map[MsgType]string{
	MsgTypeUnknown:        "unknown",
	MsgTypeText:           "text",
	MsgTypeImage:          "image",
	MsgTypeVoice:          "voice",
	MsgTypeVerify:         "verify",
	MsgTypePossibleFriend: "possible friend",
	MsgTypeShareCard:      "share card",
	MsgTypeVideo:          "video",
	MsgTypeEmoticon:       "emoticon",
	MsgTypeLocation:       "location",
	MsgTypeApp:            "app",
	MsgTypeVoIP:           "voip",
	MsgTypeStatusNotify:   "status notify",
	MsgTypeVoIPNotify:     "voip notify",
	MsgTypeVoIPInvite:     "voip invite",
	MsgTypeMicroVideo:     "micro video",
	MsgTypeSysNotice:      "sys notice",
	MsgTypeSys:            "sys",
	MsgTypeRecalled:       "recalled",
}

// String returns a short lower-case name ("text", "app", "recalled", ...), or "MsgType(n)"
// for a type without a constant.
func (t MsgType) String() string {
	if s, ok := msgTypeNames[t]; ok {
		return s
	}
	return "MsgType(" + strconv.Itoa(int(t)) + ")"
}

// AppMsgType is the kind of an app message (MsgType 49): the <type> of its <appmsg>
// (PROTOCOL 7.3). Values without a constant occur (57, a quote, is reported by other
// protocols); they keep their number.
type AppMsgType int

// App message types.
const (
	AppMsgText                  AppMsgType = 1    // text shared from an app
	AppMsgImage                 AppMsgType = 2    // image shared from an app
	AppMsgAudio                 AppMsgType = 3    // music
	AppMsgVideo                 AppMsgType = 4    // video link
	AppMsgURL                   AppMsgType = 5    // link or article; official accounts send several
	AppMsgAttach                AppMsgType = 6    // file attachment
	AppMsgOpen                  AppMsgType = 7    // open-platform app message
	AppMsgEmoji                 AppMsgType = 8    // emoji from an app
	AppMsgVoiceRemind           AppMsgType = 9    // voice reminder
	AppMsgScanGood              AppMsgType = 10   // product scan
	AppMsgGood                  AppMsgType = 13   // product
	AppMsgEmotion               AppMsgType = 15   // sticker share
	AppMsgCardTicket            AppMsgType = 16   // card or coupon
	AppMsgRealtimeShareLocation AppMsgType = 17   // real-time location sharing started
	AppMsgChatHistory           AppMsgType = 19   // merged forward of a chat history
	AppMsgMiniProgram           AppMsgType = 33   // mini program
	AppMsgTransfers             AppMsgType = 2000 // money transfer
	AppMsgRedEnvelopes          AppMsgType = 2001 // red packet; may come as MsgType 1
)

var appMsgTypeNames = map[AppMsgType]string{
	AppMsgText:                  "text",
	AppMsgImage:                 "image",
	AppMsgAudio:                 "audio",
	AppMsgVideo:                 "video",
	AppMsgURL:                   "url",
	AppMsgAttach:                "attach",
	AppMsgOpen:                  "open",
	AppMsgEmoji:                 "emoji",
	AppMsgVoiceRemind:           "voice remind",
	AppMsgScanGood:              "scan good",
	AppMsgGood:                  "good",
	AppMsgEmotion:               "emotion",
	AppMsgCardTicket:            "card ticket",
	AppMsgRealtimeShareLocation: "realtime share location",
	AppMsgChatHistory:           "chat history",
	AppMsgMiniProgram:           "mini program",
	AppMsgTransfers:             "transfers",
	AppMsgRedEnvelopes:          "red envelopes",
}

// String returns a short lower-case name ("url", "attach", "mini program", ...), or
// "AppMsgType(n)" for a type without a constant, 0 included.
func (t AppMsgType) String() string {
	if s, ok := appMsgTypeNames[t]; ok {
		return s
	}
	return "AppMsgType(" + strconv.Itoa(int(t)) + ")"
}

// Message is a message received through the sync loop (PROTOCOL 7.1), with the fields a bot
// needs already worked out: the chat it belongs to, the real sender in a group, and the
// decoded text.
//
// The typed accessors ([Message.Image], [Message.App], [Message.Revoke], ...) read the
// payload of each kind of message; each reports false for a message of another kind. A
// message delivered to a handler also knows the Client that received it, for the helpers
// that answer it: [Message.Reply], [Message.ReplyMention], [Message.ReplyImage],
// [Message.ReplyFile], [Message.Forward] and [Message.AcceptFriend]. On a Message built by
// hand they return an error.
//
// Its methods only read it: they are safe for concurrent use while nobody modifies it.
type Message struct {
	MsgID        string  // the server's id, a decimal string (it exceeds 2^53)
	MsgType      MsgType // see the MsgType constants
	FromUserName string
	ToUserName   string

	// Content is the decoded content: the group sender prefix removed, emoji spans turned into
	// emoji, <br/> into newlines and HTML entities unescaped. For a text message it is the
	// text; for XML payloads (app messages, emoticons, ...) the XML.
	Content string

	CreateTime    int64      // Unix seconds
	AppMsgType    AppMsgType // for MsgTypeApp; 0 otherwise, except red packets sent as MsgTypeText
	SubMsgType    int        // 48 for a location sent as MsgTypeText
	FileName      string
	FileSize      int64 // the server sends it as a string
	MediaID       string
	URL           string
	VoiceLength   int // milliseconds
	PlayLength    int // seconds
	ImgWidth      int
	ImgHeight     int
	OriContent    string
	EncryFileName string
	HasProductID  int // 1 for a store sticker (PROTOCOL 7.5)

	StatusNotifyCode     int
	StatusNotifyUserName string

	// RecommendInfo describes the person behind a friend request (MsgTypeVerify), a
	// recommendation (MsgTypePossibleFriend) or a card (MsgTypeShareCard); it is zero for
	// other messages.
	RecommendInfo RecommendInfo

	// ChatUserName is the conversation the message belongs to: the group for a group
	// message, otherwise the other party (the recipient when self sent it).
	ChatUserName string
	// SenderUserName is who wrote it: the member in a group, FromUserName otherwise.
	SenderUserName string
	// IsGroup reports whether the conversation is a group.
	IsGroup bool
	// IsSelf reports whether the logged-in account sent the message, from the phone or
	// another device. Messages sent by this Client are not delivered at all.
	IsSelf bool
	// MentionsMe reports whether a text message someone else wrote in a group mentions the
	// logged-in account: the text holds "@" and self's name in the group, followed by
	// U+2005, a space or the end of the text (PROTOCOL 7.4). The name is self's display
	// name in that group if set, else self's nickname (from the contact list, else from the
	// group's member list). It is false when the client does not know that name yet.
	MentionsMe bool

	// Chat and Sender are the contacts behind ChatUserName and SenderUserName when the
	// client knows them, else nil. For a group member who is not a friend, Sender is built
	// from the group's member list (Kind KindStranger, DisplayName set).
	Chat   *Contact
	Sender *Contact

	// Raw is the message object exactly as the server sent it.
	Raw json.RawMessage

	client *Client // the Client that delivered it, for Reply and the other helpers; nil if built by hand
}

// RecommendInfo is the RecommendInfo object of a message (PROTOCOL 7.1): the person behind a
// friend request, a recommendation or a card. UserName is a session UserName ("@..."); names,
// Content and Signature are decoded like [Contact] names.
type RecommendInfo struct {
	UserName   string
	NickName   string
	QQNum      int64
	Province   string
	City       string
	Content    string // a friend request's greeting
	Signature  string
	Alias      string
	Scene      int
	VerifyFlag int // official accounts have bit 8 set
	AttrStatus int64
	Sex        int // 0 unknown, 1 male, 2 female
	Ticket     string
	OpCode     int // 2 for a friend request
}

// Time returns CreateTime as a time.Time.
func (m *Message) Time() time.Time { return time.Unix(m.CreateTime, 0) }

// IsText reports whether m is a text message: MsgTypeText, but not a location or a red
// packet, which the server also sends with that type. It is a [Matcher].
func IsText(m *Message) bool {
	return m.MsgType == MsgTypeText && m.AppMsgType != AppMsgRedEnvelopes && !m.isLocation()
}

// decodeMessage turns an AddMsgList entry decoded by internal/wire (PROTOCOL 7.1) into a
// Message for self. It never fails: an entry that could not be read (too deep, too large,
// broken) becomes a message of MsgTypeUnknown, so that no handler matching its type gets it
// half-read, with its MsgId, FromUserName, ToUserName and CreateTime when readable and its raw
// object, so nothing is dropped. Raw shares the body's bytes.
func decodeMessage(w wire.Message, self string) *Message {
	m := &Message{
		MsgID:        w.MsgID,
		MsgType:      MsgType(w.MsgType),
		FromUserName: w.FromUserName,
		ToUserName:   w.ToUserName,
		CreateTime:   w.CreateTime,
		Raw:          w.Raw,
	}
	if w.Err != nil {
		m.MsgType = MsgTypeUnknown
	} else {
		m.Content = w.Content
		m.AppMsgType = AppMsgType(w.AppMsgType)
		m.SubMsgType = w.SubMsgType
		m.FileName = w.FileName
		m.FileSize = w.FileSize
		m.MediaID = w.MediaID
		m.URL = w.URL
		m.VoiceLength = w.VoiceLength
		m.PlayLength = w.PlayLength
		m.ImgWidth = w.ImgWidth
		m.ImgHeight = w.ImgHeight
		m.OriContent = w.OriContent
		m.EncryFileName = w.EncryFileName
		m.HasProductID = w.HasProductID
		m.StatusNotifyCode = w.StatusNotifyCode
		m.StatusNotifyUserName = w.StatusNotifyUserName
		m.RecommendInfo = RecommendInfo(w.RecommendInfo)
	}
	m.IsSelf = self != "" && m.FromUserName == self
	m.SenderUserName = m.FromUserName
	m.ChatUserName = m.FromUserName
	if m.IsSelf {
		m.ChatUserName = m.ToUserName
	}
	m.IsGroup = isGroupName(m.ChatUserName)
	// Messages from others in a group start with "<member>:<br/>", which internal/wire took
	// off; own messages and system messages have none (PROTOCOL 7.4).
	if m.IsGroup && !m.IsSelf && w.Sender != "" {
		m.SenderUserName = w.Sender
	}
	return m
}

// resolve fills Chat, Sender and MentionsMe from the store.
func (m *Message) resolve(s *contactStore) {
	m.resolveContacts(s)
	m.MentionsMe = m.mentions(s)
}

// mentions reports whether m, a text someone else wrote in a group, mentions self
// (PROTOCOL 7.4 item 6).
func (m *Message) mentions(s *contactStore) bool {
	if !m.IsGroup || m.IsSelf || !IsText(m) {
		return false
	}
	s.mu.RLock()
	self := s.self
	s.mu.RUnlock()
	if self == "" || m.SenderUserName == self {
		return false
	}
	var mem Member
	var inGroup bool
	if m.Chat != nil {
		mem, inGroup = m.Chat.Member(self)
	}
	name := mem.DisplayName
	if name == "" {
		if c := s.get(self); c != nil {
			name = c.NickName
		}
	}
	if name == "" && inGroup {
		name = mem.NickName
	}
	return textfmt.Mentions(m.Content, name)
}

// resolveContacts fills Chat and Sender from the store.
func (m *Message) resolveContacts(s *contactStore) {
	m.Chat = s.get(m.ChatUserName)
	if !m.IsGroup || m.SenderUserName == m.ChatUserName {
		m.Sender = m.Chat
		if m.IsSelf {
			m.Sender = s.get(m.SenderUserName)
		}
		return
	}
	if c := s.get(m.SenderUserName); c != nil {
		m.Sender = c
		if m.Chat != nil {
			if mem, ok := m.Chat.Member(m.SenderUserName); ok && mem.DisplayName != "" {
				cp := *c
				cp.DisplayName = mem.DisplayName
				m.Sender = &cp
			}
		}
		return
	}
	if m.Chat != nil {
		if mem, ok := m.Chat.Member(m.SenderUserName); ok {
			m.Sender = &Contact{
				UserName:    mem.UserName,
				NickName:    mem.NickName,
				DisplayName: mem.DisplayName,
				Uin:         mem.Uin,
				AttrStatus:  mem.AttrStatus,
				Kind:        KindStranger,
			}
		}
	}
}

// needsFetch reports the UserNames the client should fetch before dispatching m: an unknown
// chat, or a group whose members (or this sender) are not known yet.
func (m *Message) needsFetch(s *contactStore) []string {
	if m.ChatUserName == "" || specialAccounts[m.ChatUserName] {
		return nil
	}
	c := s.get(m.ChatUserName)
	if c == nil || (m.IsGroup && !c.membersLoaded) {
		return []string{m.ChatUserName}
	}
	if m.IsGroup && !m.IsSelf && m.SenderUserName != m.ChatUserName && strings.HasPrefix(m.SenderUserName, "@") {
		if _, ok := c.Member(m.SenderUserName); !ok {
			return []string{m.ChatUserName}
		}
	}
	return nil
}

// String returns a short description for logs: type and id, never the content.
func (m *Message) String() string {
	return "message " + m.MsgID + " type " + strconv.Itoa(int(m.MsgType))
}
