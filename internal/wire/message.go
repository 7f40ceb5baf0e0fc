package wire

import (
	"errors"
	"strings"

	"github.com/wxkit/wechat/internal/textfmt"
)

// Message is an AddMsgList entry of webwxsync (PROTOCOL 7.1), decoded. Content is decoded
// as the protocol says (PROTOCOL 7.4): in a message from a group (FromUserName "@@..." or
// "...@chatroom", not a system message) the "<member>:<br/>" prefix is taken off into
// Sender; then emoji spans, <br/> and HTML entities are decoded.
//
// When the entry could not be read (Err is non-nil) only MsgID, MsgType, FromUserName,
// ToUserName and CreateTime are set, those of them that could be read, and Raw holds the
// entry.
type Message struct {
	MsgID                string // MsgId, else NewMsgId
	MsgType              int
	FromUserName         string
	ToUserName           string
	Sender               string // the group member of the Content prefix, or ""
	Content              string
	CreateTime           int64
	AppMsgType           int
	SubMsgType           int
	FileName             string
	FileSize             int64
	MediaID              string
	URL                  string
	VoiceLength          int
	PlayLength           int
	ImgWidth             int
	ImgHeight            int
	OriContent           string
	EncryFileName        string
	HasProductID         int
	StatusNotifyCode     int
	StatusNotifyUserName string
	RecommendInfo        RecommendInfo

	Raw []byte // the entry's JSON, a sub-slice of the body
	Err error  // why the entry could not be read, or nil
}

// RecommendInfo is the RecommendInfo object of a message (PROTOCOL 7.1). NickName, Content
// and Signature are decoded like names (emoji spans, entities).
type RecommendInfo struct {
	UserName   string
	NickName   string
	QQNum      int64
	Province   string
	City       string
	Content    string
	Signature  string
	Alias      string
	Scene      int
	VerifyFlag int
	AttrStatus int64
	Sex        int
	Ticket     string
	OpCode     int
}

// Errors of entries that cannot be read, wrapped in Message.Err and Unreadable.Err.
var (
	ErrTooDeep  = errors.New("wire: entry nested too deeply")
	ErrTooLarge = errors.New("wire: entry too large")
	ErrNotEntry = errors.New("wire: entry is not a JSON object")
)

// DecodeMessage decodes one AddMsgList entry. It never fails: an entry it cannot read has Err
// set (see [Message]). Raw is raw itself.
func DecodeMessage(raw []byte) Message {
	var d decoder
	var m Message
	if _, err := d.message(&m, raw, skipWS(raw, 0)); err != nil {
		return Message{Raw: raw, Err: err}
	}
	m.Raw = raw
	return m
}

// decoder holds what the decoding of one body reuses from entry to entry.
type decoder struct {
	scratch []byte // JSON strings with escapes are unescaped here first
}

// String fields of a message, by index into msgRaw.strs. The RecommendInfo ones follow.
const (
	sFrom = iota
	sTo
	sContent
	sFileName
	sMediaID
	sURL
	sStatusNotifyUserName
	sOriContent
	sEncryFileName
	sRIUserName
	sRINickName
	sRIProvince
	sRICity
	sRIContent
	sRISignature
	sRIAlias
	sRITicket
	numStrs
)

// msgRaw holds the raw string values of a message while its members are read, so that its
// strings can be decoded into one allocation of the right size.
type msgRaw struct {
	strs     [numStrs][]byte
	msgID    []byte
	newMsgID []byte
}

// message decodes the entry starting at d[i] (a whole entry when i is 0 and d is the entry)
// into m and returns the offset after it. It returns an error only when the end of the entry
// cannot be found, which breaks the list around it.
func (dec *decoder) message(m *Message, d []byte, i int) (int, error) {
	var r msgRaw
	it, err := openObject(d, i)
	if err != nil {
		end, _, serr := skipValue(d, i)
		if serr != nil {
			return 0, serr
		}
		*m = Message{Raw: d[i:end], Err: ErrNotEntry}
		return end, nil
	}
	for {
		k, ok := it.key()
		if !ok {
			break
		}
		if string(k) == "RecommendInfo" {
			// Decoded in place: it is a quarter of a message's bytes.
			end, depth, err := recommendInfo(&m.RecommendInfo, &r, d, it.i)
			if err != nil {
				it.fail(err)
				break
			}
			it.depth = max(it.depth, depth)
			it.valueEnd(end)
			continue
		}
		v, ok := it.value()
		if !ok {
			break
		}
		switch string(k) {
		case "MsgId":
			r.msgID = v
		case "NewMsgId":
			r.newMsgID = v
		case "FromUserName":
			r.strs[sFrom] = v
		case "ToUserName":
			r.strs[sTo] = v
		case "MsgType":
			m.MsgType = intField(v)
		case "Content":
			r.strs[sContent] = v
		case "CreateTime":
			m.CreateTime = int64Field(v)
		case "VoiceLength":
			m.VoiceLength = intField(v)
		case "PlayLength":
			m.PlayLength = intField(v)
		case "FileName":
			r.strs[sFileName] = v
		case "FileSize":
			m.FileSize = int64Field(v)
		case "MediaId":
			r.strs[sMediaID] = v
		case "Url":
			r.strs[sURL] = v
		case "AppMsgType":
			m.AppMsgType = intField(v)
		case "StatusNotifyCode":
			m.StatusNotifyCode = intField(v)
		case "StatusNotifyUserName":
			r.strs[sStatusNotifyUserName] = v
		case "ImgHeight":
			m.ImgHeight = intField(v)
		case "ImgWidth":
			m.ImgWidth = intField(v)
		case "SubMsgType":
			m.SubMsgType = intField(v)
		case "OriContent":
			r.strs[sOriContent] = v
		case "EncryFileName":
			r.strs[sEncryFileName] = v
		case "HasProductId":
			m.HasProductID = intField(v)
		}
	}
	end := it.end
	switch {
	case it.err != nil:
		// Broken inside: find where it ends by its brackets, and keep what was read.
		var serr error
		if end, _, serr = skipValue(d, i); serr != nil {
			return 0, serr
		}
		err = it.err
	case it.depth+1 > MaxDepth:
		err = ErrTooDeep
	case end-i > MaxEntry:
		err = ErrTooLarge
	}
	m.Raw = d[i:end]
	if err != nil {
		dec.unreadable(m, &r, err)
		return end, nil
	}
	dec.messageStrings(m, &r)
	return end, nil
}

// unreadable keeps of m what identifies it.
func (dec *decoder) unreadable(m *Message, r *msgRaw, err error) {
	*m = Message{
		MsgType:    m.MsgType,
		CreateTime: m.CreateTime,
		Raw:        m.Raw,
		Err:        err,
	}
	m.MsgID = dec.msgID(r)
	var a strings.Builder
	a.Grow(len(r.strs[sFrom]) + len(r.strs[sTo]))
	m.FromUserName = dec.text(&a, r.strs[sFrom])
	m.ToUserName = dec.text(&a, r.strs[sTo])
}

// msgID returns MsgId, else NewMsgId (a bare number above 2^53: read as its digits, never as
// a float), in an allocation of its own: ids outlive their messages in dedupe sets.
func (dec *decoder) msgID(r *msgRaw) string {
	id, ok := textBytes(r.msgID, &dec.scratch)
	if !ok || len(id) == 0 {
		id, _ = textBytes(r.newMsgID, &dec.scratch)
	}
	return string(id)
}

// messageStrings decodes the strings of m into one allocation.
func (dec *decoder) messageStrings(m *Message, r *msgRaw) {
	m.MsgID = dec.msgID(r)
	n := 0
	for _, s := range r.strs {
		n += len(s)
	}
	var a strings.Builder
	a.Grow(n) // decoding never lengthens a string
	m.FromUserName = dec.text(&a, r.strs[sFrom])
	m.ToUserName = dec.text(&a, r.strs[sTo])
	m.FileName = dec.text(&a, r.strs[sFileName])
	m.MediaID = dec.text(&a, r.strs[sMediaID])
	m.URL = dec.text(&a, r.strs[sURL])
	m.StatusNotifyUserName = dec.text(&a, r.strs[sStatusNotifyUserName])
	m.OriContent = dec.text(&a, r.strs[sOriContent])
	m.EncryFileName = dec.text(&a, r.strs[sEncryFileName])

	// Content: the group sender prefix, then the text (PROTOCOL 7.4). Own messages and system
	// messages have no prefix; own messages are never from a group.
	if content, ok := textBytes(r.strs[sContent], &dec.scratch); ok && len(content) > 0 {
		if IsGroupName(m.FromUserName) && m.MsgType != msgTypeSys {
			if sender, rest, ok := textfmt.SplitSender(content); ok {
				m.Sender = write(&a, sender)
				content = rest
			}
		}
		start := a.Len()
		textfmt.WriteText(&a, content)
		m.Content = a.String()[start:]
	}

	ri := &m.RecommendInfo
	ri.UserName = dec.text(&a, r.strs[sRIUserName])
	ri.NickName = dec.name(&a, r.strs[sRINickName])
	ri.Province = dec.text(&a, r.strs[sRIProvince])
	ri.City = dec.text(&a, r.strs[sRICity])
	ri.Content = dec.name(&a, r.strs[sRIContent])
	ri.Signature = dec.name(&a, r.strs[sRISignature])
	ri.Alias = dec.text(&a, r.strs[sRIAlias])
	ri.Ticket = dec.text(&a, r.strs[sRITicket])
}

// text decodes the raw JSON value val with the string-or-number rule into a; an odd value
// is "".
func (dec *decoder) text(a *strings.Builder, val []byte) string {
	b, ok := textBytes(val, &dec.scratch)
	if !ok || len(b) == 0 {
		return ""
	}
	return write(a, b)
}

// name decodes val like text, then as a name: emoji spans and entities (PROTOCOL 5.9).
func (dec *decoder) name(a *strings.Builder, val []byte) string {
	b, ok := textBytes(val, &dec.scratch)
	if !ok || len(b) == 0 {
		return ""
	}
	start := a.Len()
	textfmt.WriteText(a, b)
	return a.String()[start:]
}

func write(a *strings.Builder, b []byte) string {
	start := a.Len()
	a.Write(b)
	return a.String()[start:]
}

// recommendInfo decodes the RecommendInfo value at d[i] into ri (numbers) and r (strings)
// and returns the offset after it and its depth. A value that is not an object leaves ri
// zero; the error is that of a value whose end cannot be found.
func recommendInfo(ri *RecommendInfo, r *msgRaw, d []byte, i int) (int, int, error) {
	it, err := openObject(d, i)
	if err != nil {
		return skipValue(d, i)
	}
	for {
		k, v, ok := it.next()
		if !ok {
			break
		}
		switch string(k) {
		case "UserName":
			r.strs[sRIUserName] = v
		case "NickName":
			r.strs[sRINickName] = v
		case "QQNum":
			ri.QQNum = int64Field(v)
		case "Province":
			r.strs[sRIProvince] = v
		case "City":
			r.strs[sRICity] = v
		case "Content":
			r.strs[sRIContent] = v
		case "Signature":
			r.strs[sRISignature] = v
		case "Alias":
			r.strs[sRIAlias] = v
		case "Scene":
			ri.Scene = intField(v)
		case "VerifyFlag":
			ri.VerifyFlag = intField(v)
		case "AttrStatus":
			ri.AttrStatus = int64Field(v)
		case "Sex":
			ri.Sex = intField(v)
		case "Ticket":
			r.strs[sRITicket] = v
		case "OpCode":
			ri.OpCode = intField(v)
		}
	}
	if it.err != nil {
		return 0, 0, it.err
	}
	return it.end, it.depth + 1, nil
}

const msgTypeSys = 10000 // MSGTYPE_SYS: system texts in groups carry no sender prefix

// IsGroupName reports whether userName names a group: "@@..." in a session, "...@chatroom" as
// a permanent id (PROTOCOL 5.6).
func IsGroupName(userName string) bool {
	return strings.HasPrefix(userName, "@@") || strings.HasSuffix(userName, "@chatroom")
}
