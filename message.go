package wechat

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/wxkit/wechat/internal/textfmt"
)

// MsgType is the type of a message (PROTOCOL 7.2).
type MsgType int

// Message types. A message whose type the client does not know keeps the server's number;
// one the client could not decode at all has MsgTypeUnknown and its Raw object.
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

// Message is a message received through the sync loop (PROTOCOL 7.1), with the fields a bot
// needs already worked out: the chat it belongs to, the real sender in a group, and the
// decoded text.
type Message struct {
	MsgID        string  // the server's id, a decimal string (it exceeds 2^53)
	MsgType      MsgType // see the MsgType constants
	FromUserName string
	ToUserName   string

	// Content is the decoded content: the group sender prefix removed, emoji spans turned into
	// emoji, <br/> into newlines and HTML entities unescaped. For a text message it is the
	// text; for XML payloads (app messages, emoticons, ...) the XML.
	Content string

	CreateTime    int64 // Unix seconds
	AppMsgType    int
	SubMsgType    int
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

	StatusNotifyCode     int
	StatusNotifyUserName string

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

	// Chat and Sender are the contacts behind ChatUserName and SenderUserName when the
	// client knows them, else nil. For a group member who is not a friend, Sender is built
	// from the group's member list (Kind KindStranger, DisplayName set).
	Chat   *Contact
	Sender *Contact

	// Raw is the message object exactly as the server sent it.
	Raw json.RawMessage
}

// Time returns CreateTime as a time.Time.
func (m *Message) Time() time.Time { return time.Unix(m.CreateTime, 0) }

// IsText reports whether m is a text message. It is a [Matcher].
func IsText(m *Message) bool { return m.MsgType == MsgTypeText && m.SubMsgType != 48 }

// wireMessage is an AddMsgList entry (PROTOCOL 7.1).
type wireMessage struct {
	MsgID                flexString `json:"MsgId"`
	NewMsgID             flexString `json:"NewMsgId"`
	FromUserName         flexString `json:"FromUserName"`
	ToUserName           flexString `json:"ToUserName"`
	MsgType              flexInt    `json:"MsgType"`
	Content              flexString `json:"Content"`
	CreateTime           flexInt    `json:"CreateTime"`
	VoiceLength          flexInt    `json:"VoiceLength"`
	PlayLength           flexInt    `json:"PlayLength"`
	FileName             flexString `json:"FileName"`
	FileSize             flexInt    `json:"FileSize"`
	MediaID              flexString `json:"MediaId"`
	URL                  flexString `json:"Url"`
	AppMsgType           flexInt    `json:"AppMsgType"`
	StatusNotifyCode     flexInt    `json:"StatusNotifyCode"`
	StatusNotifyUserName flexString `json:"StatusNotifyUserName"`
	ImgHeight            flexInt    `json:"ImgHeight"`
	ImgWidth             flexInt    `json:"ImgWidth"`
	SubMsgType           flexInt    `json:"SubMsgType"`
	OriContent           flexString `json:"OriContent"`
	EncryFileName        flexString `json:"EncryFileName"`
}

// decodeMessage decodes one AddMsgList entry. It never fails: an entry it cannot decode
// becomes a MsgTypeUnknown message carrying the raw object, so nothing is dropped.
func decodeMessage(raw json.RawMessage, self string) *Message {
	var w wireMessage
	if err := json.Unmarshal(raw, &w); err != nil {
		m := &Message{Raw: raw}
		var id struct {
			MsgID flexString `json:"MsgId"`
		}
		if json.Unmarshal(raw, &id) == nil {
			m.MsgID = string(id.MsgID)
		}
		return m
	}
	m := &Message{
		MsgID:                string(w.MsgID),
		MsgType:              MsgType(w.MsgType),
		FromUserName:         string(w.FromUserName),
		ToUserName:           string(w.ToUserName),
		CreateTime:           int64(w.CreateTime),
		AppMsgType:           int(w.AppMsgType),
		SubMsgType:           int(w.SubMsgType),
		FileName:             string(w.FileName),
		FileSize:             int64(w.FileSize),
		MediaID:              string(w.MediaID),
		URL:                  string(w.URL),
		VoiceLength:          int(w.VoiceLength),
		PlayLength:           int(w.PlayLength),
		ImgWidth:             int(w.ImgWidth),
		ImgHeight:            int(w.ImgHeight),
		OriContent:           string(w.OriContent),
		EncryFileName:        string(w.EncryFileName),
		StatusNotifyCode:     int(w.StatusNotifyCode),
		StatusNotifyUserName: string(w.StatusNotifyUserName),
		Raw:                  raw,
	}
	if m.MsgID == "" {
		m.MsgID = string(w.NewMsgID)
	}
	content := string(w.Content)
	m.IsSelf = self != "" && m.FromUserName == self
	m.SenderUserName = m.FromUserName
	m.ChatUserName = m.FromUserName
	if m.IsSelf {
		m.ChatUserName = m.ToUserName
	}
	m.IsGroup = isGroupName(m.ChatUserName)
	// Messages from others in a group start with "<member>:<br/>"; own messages and system
	// messages have no prefix (PROTOCOL 7.4).
	if m.IsGroup && !m.IsSelf && m.MsgType != MsgTypeSys {
		if sender, rest, ok := textfmt.SplitSender(content); ok {
			m.SenderUserName, content = sender, rest
		}
	}
	m.Content = textfmt.Text(content)
	return m
}

// resolve fills Chat and Sender from the store.
func (m *Message) resolve(s *contactStore) {
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
