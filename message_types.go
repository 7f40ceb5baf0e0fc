package wechat

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wxkit/wechat/internal/wire"
)

// This file holds the typed accessors of Message: one per kind of message, each reading the
// top-level fields and the XML payload of PROTOCOL 7.5. An accessor returns false only when
// the message is of another kind. A payload that is missing or not well-formed XML costs only
// the values it would have given: the accessor then returns what the top-level fields give,
// with true. No input makes an accessor panic.

// Image describes an image message (PROTOCOL 7.5). Width and Height come from ImgWidth and
// ImgHeight and are often 0; Length and HDLength, the sizes in bytes of the image and of its
// HD version, come from the XML payload, which newer servers replace with an opaque string.
type Image struct {
	Width, Height    int
	Length, HDLength int64
}

// Image returns the details of an image message (MsgTypeImage); for any other message it
// returns the zero value and false. Download the image by MsgID.
func (m *Message) Image() (Image, bool) {
	if m.MsgType != MsgTypeImage {
		return Image{}, false
	}
	img := Image{Width: m.ImgWidth, Height: m.ImgHeight}
	var x wire.ImageXML
	if wire.DecodeXML(m.Content, &x) == nil {
		img.Length = wire.XMLInt(x.Img.Length)
		img.HDLength = wire.XMLInt(x.Img.HDLength)
	}
	return img, true
}

// Voice describes a voice message.
type Voice struct {
	Duration time.Duration
}

// Voice returns the details of a voice message (MsgTypeVoice); for any other message it returns
// the zero value and false. Duration comes from VoiceLength (milliseconds), else from the
// payload's voicelength.
func (m *Message) Voice() (Voice, bool) {
	if m.MsgType != MsgTypeVoice {
		return Voice{}, false
	}
	ms := int64(m.VoiceLength)
	if ms <= 0 {
		var x wire.VoiceXML
		if wire.DecodeXML(m.Content, &x) == nil {
			ms = wire.XMLInt(x.VoiceMsg.VoiceLength)
		}
	}
	return Voice{Duration: duration(ms, time.Millisecond)}, true
}

// Video describes a video (MsgTypeVideo) or short video (MsgTypeMicroVideo). Length is the
// size in bytes when the payload is XML (it is often an opaque string); Micro reports a short
// video.
type Video struct {
	Duration      time.Duration
	Width, Height int
	Length        int64
	Micro         bool
}

// Video returns the details of a video or short video; for any other message it returns the
// zero value and false. Duration comes from PlayLength (seconds), else from the payload's
// playlength.
func (m *Message) Video() (Video, bool) {
	if m.MsgType != MsgTypeVideo && m.MsgType != MsgTypeMicroVideo {
		return Video{}, false
	}
	v := Video{Width: m.ImgWidth, Height: m.ImgHeight, Micro: m.MsgType == MsgTypeMicroVideo}
	s := int64(m.PlayLength)
	var x wire.VideoXML
	if wire.DecodeXML(m.Content, &x) == nil {
		v.Length = wire.XMLInt(x.VideoMsg.Length)
		if s <= 0 {
			s = wire.XMLInt(x.VideoMsg.PlayLength)
		}
	}
	v.Duration = duration(s, time.Second)
	return v, true
}

// Emoticon describes a sticker (PROTOCOL 7.5). MD5 is what re-sending it needs; Length is its
// size in bytes; CDNURL where the payload says it is stored. Store reports a store sticker
// (HasProductId 1), which has no usable content and cannot be forwarded.
type Emoticon struct {
	MD5           string
	Length        int64
	CDNURL        string
	Width, Height int
	Store         bool
}

// Emoticon returns the details of a sticker (MsgTypeEmoticon); for any other message it returns
// the zero value and false. Width and Height come from ImgWidth and ImgHeight, else from the
// payload.
func (m *Message) Emoticon() (Emoticon, bool) {
	if m.MsgType != MsgTypeEmoticon {
		return Emoticon{}, false
	}
	e := Emoticon{Width: m.ImgWidth, Height: m.ImgHeight, Store: m.HasProductID == 1}
	var x wire.EmojiXML
	if wire.DecodeXML(m.Content, &x) == nil {
		e.MD5 = strings.TrimSpace(x.Emoji.MD5)
		e.Length = wire.XMLInt(x.Emoji.Len)
		e.CDNURL = strings.TrimSpace(x.Emoji.CDNURL)
		if e.Width <= 0 && e.Height <= 0 {
			e.Width, e.Height = int(wire.XMLInt(x.Emoji.Width)), int(wire.XMLInt(x.Emoji.Height))
		}
	}
	return e, true
}

// Location describes a shared location (PROTOCOL 7.5). Label is the address, POIName the
// place's name ("[位置]" when none was picked), Scale the map zoom. MapURL is the map link
// the server sends in Url (apis.map.qq.com).
type Location struct {
	Label, POIName      string
	Latitude, Longitude float64
	Scale               int
	MapURL              string
}

// Location returns a shared location; for any other message it returns the zero value and
// false. The server sends locations as MsgTypeText with SubMsgType 48 (or with a map Url and a
// location picture in Content), rarely as MsgTypeLocation. The values come from the <location>
// XML of OriContent; without it, Label comes from Content ("<label>:\n/cgi-bin/...") and the
// coordinates from the coord parameter of Url.
func (m *Message) Location() (Location, bool) {
	if !m.isLocation() {
		return Location{}, false
	}
	l := Location{MapURL: m.URL}
	var x wire.LocationXML
	src := m.OriContent
	if strings.TrimSpace(src) == "" {
		src = m.Content // MsgTypeLocation may carry the XML in Content
	}
	if wire.DecodeXML(src, &x) == nil {
		l.Label = strings.TrimSpace(x.Location.Label)
		l.POIName = strings.TrimSpace(x.Location.POIName)
		l.Scale = int(wire.XMLInt(x.Location.Scale))
		l.Latitude, l.Longitude = parseCoord(x.Location.X, x.Location.Y)
	}
	if l.Label == "" {
		// "Some street:\n/cgi-bin/mmwebwx-bin/webwxgetpubliclinkimg?...&pictype=location"
		// (the group prefix, if any, is gone already).
		if i := strings.LastIndex(m.Content, ":\n/cgi-bin/"); i >= 0 {
			l.Label = strings.TrimSpace(m.Content[:i])
		}
	}
	if l.Latitude == 0 && l.Longitude == 0 {
		l.Latitude, l.Longitude = coordFromURL(m.URL)
	}
	return l, true
}

// isLocation reports whether m is a location (PROTOCOL 7.5).
func (m *Message) isLocation() bool {
	switch m.MsgType {
	case MsgTypeLocation:
		return true
	case MsgTypeText:
		return m.SubMsgType == 48 ||
			strings.Contains(m.URL, "apis.map.qq.com") && strings.Contains(m.Content, "pictype=location")
	}
	return false
}

// Card describes a shared contact card (PROTOCOL 7.5). UserName is the contact's UserName in
// this session ("@..."), from RecommendInfo; PermanentID the id in the card's XML
// (v1_...@stranger, a wxid or gh_... for an official account). The other values come from
// RecommendInfo, else from the XML. Official reports an official account's card.
type Card struct {
	UserName, NickName, Alias, Province, City string
	Sex                                       int
	PermanentID                               string
	Official                                  bool
}

// Card returns the contact a card shares (MsgTypeShareCard); for any other message it returns
// the zero value and false.
func (m *Message) Card() (Card, bool) {
	if m.MsgType != MsgTypeShareCard {
		return Card{}, false
	}
	ri := m.RecommendInfo
	c := Card{
		UserName: ri.UserName, NickName: ri.NickName, Alias: ri.Alias,
		Province: ri.Province, City: ri.City, Sex: ri.Sex,
	}
	var x wire.CardXML
	if wire.DecodeXML(m.Content, &x) == nil {
		c.PermanentID = strings.TrimSpace(x.UserName)
		fill(&c.NickName, x.NickName)
		fill(&c.Alias, x.Alias)
		fill(&c.Province, x.Province)
		fill(&c.City, x.City)
		if c.Sex == 0 {
			c.Sex = int(wire.XMLInt(x.Sex))
		}
	}
	c.Official = ri.VerifyFlag&8 != 0 || strings.HasPrefix(c.PermanentID, "gh_")
	return c, true
}

// FriendRequest describes a friend request (PROTOCOL 7.5): UserName and Ticket are what
// accepting it needs (webwxverifyuser); Greeting is the requester's message; PermanentID the
// requester's id in the XML (fromusername). Values come from RecommendInfo, else from the XML.
type FriendRequest struct {
	UserName, NickName, Greeting, Ticket string
	Scene                                int
	Sex                                  int
	Province, City, Alias, Signature     string
	PermanentID                          string
}

// FriendRequest returns the request a MsgTypeVerify message carries; for any other message it
// returns the zero value and false.
func (m *Message) FriendRequest() (FriendRequest, bool) {
	if m.MsgType != MsgTypeVerify {
		return FriendRequest{}, false
	}
	ri := m.RecommendInfo
	r := FriendRequest{
		UserName: ri.UserName, NickName: ri.NickName, Greeting: ri.Content, Ticket: ri.Ticket,
		Scene: ri.Scene, Sex: ri.Sex, Province: ri.Province, City: ri.City, Alias: ri.Alias,
		Signature: ri.Signature,
	}
	var x wire.VerifyXML
	if wire.DecodeXML(m.Content, &x) == nil {
		r.PermanentID = strings.TrimSpace(x.FromUserName)
		fill(&r.NickName, x.FromNickName)
		fill(&r.Greeting, x.Content)
		fill(&r.Ticket, x.Ticket)
		fill(&r.Province, x.Province)
		fill(&r.City, x.City)
		fill(&r.Alias, x.Alias)
		fill(&r.Signature, x.Sign)
		if r.Scene == 0 {
			r.Scene = int(wire.XMLInt(x.Scene))
		}
		if r.Sex == 0 {
			r.Sex = int(wire.XMLInt(x.Sex))
		}
	}
	return r, true
}

// Revoke describes a revoked message (PROTOCOL 7.5). MsgID is the MsgId of the message that
// was revoked ("0" means the last message self sent in that chat); OldMsgID a legacy 32-bit
// id; Session the permanent id of the conversation (not a UserName); ReplaceText the text to
// show instead, such as `"Alice" 撤回了一条消息`.
type Revoke struct {
	MsgID, OldMsgID, Session, ReplaceText string
}

// Revoke returns what a MsgTypeRecalled message revokes; for any other message it returns the
// zero value and false. The values are empty when Content holds no <revokemsg>.
func (m *Message) Revoke() (Revoke, bool) {
	if m.MsgType != MsgTypeRecalled {
		return Revoke{}, false
	}
	var x wire.RevokeXML
	if wire.DecodeXML(m.Content, &x) != nil {
		return Revoke{}, true
	}
	return Revoke{
		MsgID:       strings.TrimSpace(x.RevokeMsg.MsgID),
		OldMsgID:    strings.TrimSpace(x.RevokeMsg.OldMsgID),
		Session:     strings.TrimSpace(x.RevokeMsg.Session),
		ReplaceText: strings.TrimSpace(x.RevokeMsg.ReplaceMsg),
	}, true
}

// StatusNotify describes a status notification (PROTOCOL 5.2, 7.5): Code 4 lists the chats
// of the phone's chat list, as session UserNames (from StatusNotifyUserName) and as permanent
// ids in the same order (from the XML's <op><username>); codes 1, 2 and 5 name the chat the
// phone read, opened or left in UserNames. The sync loop does not hand these messages to
// handlers; the accessor serves code that decodes them itself.
type StatusNotify struct {
	Code         int
	UserNames    []string
	PermanentIDs []string
}

// StatusNotify returns the notification a MsgTypeStatusNotify message carries; for any other
// message it returns the zero value and false.
func (m *Message) StatusNotify() (StatusNotify, bool) {
	if m.MsgType != MsgTypeStatusNotify {
		return StatusNotify{}, false
	}
	n := StatusNotify{Code: m.StatusNotifyCode, UserNames: splitList(m.StatusNotifyUserName)}
	var x wire.StatusNotifyXML
	if wire.DecodeXML(m.Content, &x) == nil {
		n.PermanentIDs = splitList(x.Op.UserName)
	}
	return n, true
}

// SystemKind classifies the text of a system message (MsgTypeSys) by its wording.
type SystemKind int

const (
	SysOther              SystemKind = iota // a wording the client does not know
	SysFriendAdded                          // "你已添加了 Carol，现在可以开始聊天了。"
	SysGroupInvite                          // `"Alice"邀请"Bob"加入了群聊`, joins by QR code
	SysGroupRename                          // `"Alice"修改群名为"New name"`
	SysRedPacket                            // "收到红包，请在手机上查看"
	SysPat                                  // `"Alice" 拍了拍 "Bob"`
	SysLocationShareEnded                   // "位置共享已经结束"
)

var systemKindNames = [...]string{"other", "friend added", "group invite", "group rename", "red packet", "pat", "location share ended"}

// String returns the kind's name.
func (k SystemKind) String() string {
	if k >= 0 && int(k) < len(systemKindNames) {
		return systemKindNames[k]
	}
	return "SystemKind(" + strconv.Itoa(int(k)) + ")"
}

// System describes a system message: a plain text the server writes into a chat (PROTOCOL
// 7.5). Text is Content with its <a href="weixin://..."> links reduced to their text. Names
// are the names the text quotes ("..." or “...”), in order: for a rename the last is the new
// group name; for SysFriendAdded, the friend's name.
type System struct {
	Kind  SystemKind
	Text  string
	Names []string
}

// System returns the text and kind of a MsgTypeSys message; for any other message it returns
// the zero value and false. Chinese and English wordings are recognised; others are SysOther.
func (m *Message) System() (System, bool) {
	if m.MsgType != MsgTypeSys {
		return System{}, false
	}
	text := stripLinks(m.Content)
	names, skeleton := quoted(text)
	s := System{Text: text, Names: names, Kind: SysOther}
	lower := strings.ToLower(skeleton)
	has := strings.Contains
	switch {
	case strings.HasPrefix(text, "你已添加了"):
		s.Kind = SysFriendAdded
		if len(names) == 0 {
			s.Names = cutName(text, "你已添加了", "，", ",")
		}
	case strings.HasPrefix(lower, "you have added "):
		s.Kind = SysFriendAdded
		if len(names) == 0 {
			s.Names = cutName(text, "You have added ", " as ", ".")
		}
	case has(skeleton, "修改群名为"), has(lower, "changed the group name to"):
		s.Kind = SysGroupRename
	case has(skeleton, "加入了群聊"), has(skeleton, "加入群聊"),
		has(lower, "joined the group chat"), has(lower, "to the group chat"), has(lower, "to join the group chat"):
		s.Kind = SysGroupInvite
	case has(skeleton, "拍了拍"), has(lower, " patted "):
		s.Kind = SysPat
	case has(skeleton, "位置共享已经结束"), has(lower, "location sharing has ended"), has(lower, "location sharing ended"):
		s.Kind = SysLocationShareEnded
	case has(skeleton, "红包"), has(lower, "red packet"):
		s.Kind = SysRedPacket
	}
	return s, true
}

// duration returns n units, 0 for a negative n or one that overflows.
func duration(n int64, unit time.Duration) time.Duration {
	if n <= 0 || n > math.MaxInt64/int64(unit) {
		return 0
	}
	return time.Duration(n) * unit
}

// parseCoord parses a latitude and a longitude; both are 0 unless both are valid.
func parseCoord(lat, lng string) (float64, float64) {
	la, err1 := strconv.ParseFloat(strings.TrimSpace(lat), 64)
	lo, err2 := strconv.ParseFloat(strings.TrimSpace(lng), 64)
	if err1 != nil || err2 != nil || !(la >= -90 && la <= 90) || !(lo >= -180 && lo <= 180) {
		return 0, 0
	}
	return la, lo
}

// coordFromURL returns the coordinates of a map Url's coord parameter ("coord=<lat>,<lng>").
func coordFromURL(u string) (float64, float64) {
	_, query, ok := strings.Cut(u, "?")
	if !ok {
		return 0, 0
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return 0, 0
	}
	lat, lng, ok := strings.Cut(q.Get("coord"), ",")
	if !ok {
		return 0, 0
	}
	return parseCoord(lat, lng)
}

// fill sets *dst to the trimmed v if *dst is empty.
func fill(dst *string, v string) {
	if *dst == "" {
		*dst = strings.TrimSpace(v)
	}
}

// splitList splits a comma-separated list, dropping empty entries; nil if there are none.
func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// stripLinks removes the <a ...> and </a> tags of a system message, keeping their text.
func stripLinks(s string) string {
	if !strings.Contains(s, "<a") && !strings.Contains(s, "</a>") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i:]
		switch {
		case strings.HasPrefix(s, "</a>"):
			s = s[len("</a>"):]
		case strings.HasPrefix(s, "<a ") || strings.HasPrefix(s, "<a>"):
			end := strings.IndexByte(s, '>')
			if end < 0 {
				b.WriteString(s)
				return b.String()
			}
			s = s[end+1:]
		default:
			b.WriteByte('<')
			s = s[1:]
		}
	}
}

// quoted returns the names text quotes with "..." or “...”, and text with them removed (the
// quotes kept), so that a name cannot change how the text is classified.
func quoted(text string) (names []string, skeleton string) {
	var b strings.Builder
	for {
		i := strings.IndexAny(text, "\"“")
		if i < 0 {
			b.WriteString(text)
			return names, b.String()
		}
		closing := "\""
		open := 1
		if text[i] != '"' {
			closing, open = "”", len("“")
		}
		j := strings.Index(text[i+open:], closing)
		if j < 0 {
			b.WriteString(text)
			return names, b.String()
		}
		if name := strings.TrimSpace(text[i+open : i+open+j]); name != "" {
			names = append(names, name)
		}
		b.WriteString(text[:i+open])
		b.WriteString(closing)
		text = text[i+open+j+len(closing):]
	}
}

// cutName returns the name between prefix, which text starts with (in any case), and the
// first of ends (tried in order) that follows it, as a one-element list, or nil.
func cutName(text, prefix string, ends ...string) []string {
	if len(text) < len(prefix) || !strings.EqualFold(text[:len(prefix)], prefix) {
		return nil
	}
	rest := text[len(prefix):]
	for _, e := range ends {
		if j := strings.Index(rest, e); j >= 0 {
			rest = rest[:j]
			break
		}
	}
	if name := strings.TrimSpace(rest); name != "" {
		return []string{name}
	}
	return nil
}
