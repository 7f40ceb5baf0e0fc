package wechattest

import (
	"strconv"
	"strings"
	"time"
)

// The obj form of an AddMsgList entry, as the server built it before
// renderLocked wrote the entries straight into bytes: the reference
// TestRenderMatchesObj checks renderLocked against.

// renderObjLocked renders ev as an AddMsgList entry with every field of
// PROTOCOL 7.1, its CreateTime on a clock off by skew.
func (s *Server) renderObjLocked(ss *session, ev event, skew time.Duration) obj {
	m := ev.msg
	typ := m.Type
	if typ == 0 {
		typ = 1
	}
	self := s.acct.self.id
	to := m.To
	if to == "" {
		to = self
	}
	fromUN, toUN, prefix := ss.userName(m.From), ss.userName(to), ""
	if m.Group != "" {
		if m.From == self {
			fromUN, toUN = ss.userName(self), ss.userName(m.Group)
		} else {
			fromUN = ss.userName(m.Group)
			if m.From != "" && typ != 10000 {
				prefix = ss.userName(m.From) + ":<br/>"
			}
		}
	}
	content := m.Content
	switch {
	case content != "":
	case m.Text != "" || typ == 1 || typ == 10000:
		content = encodeText(m.Text)
	case typ == 3:
		content = escapeHTML(`<msg><img length="6503" hdlength="0" /><commenturl></commenturl></msg>`)
	}
	imgStatus := 1
	switch typ {
	case 3, 43, 47, 62:
		imgStatus = 2
	}
	fileSize := ""
	if m.FileSize > 0 {
		fileSize = strconv.FormatInt(m.FileSize, 10)
	}
	encryName := ""
	if m.MediaID != "" && m.FileName != "" {
		encryName = encryFileName(m.FileName)
	}
	var notify []string
	for _, id := range m.StatusNotifyUserName {
		notify = append(notify, ss.userName(id))
	}
	return obj{
		{"MsgId", ev.msgID},
		{"FromUserName", fromUN},
		{"ToUserName", toUN},
		{"MsgType", typ},
		{"Content", prefix + content},
		{"Status", 3},
		{"ImgStatus", imgStatus},
		{"CreateTime", ev.created + int64(skew/time.Second)},
		{"VoiceLength", m.VoiceLength},
		{"PlayLength", m.PlayLength},
		{"FileName", m.FileName},
		{"FileSize", fileSize},
		{"MediaId", m.MediaID},
		{"Url", m.URL},
		{"AppMsgType", m.AppMsgType},
		{"StatusNotifyCode", m.StatusNotifyCode},
		{"StatusNotifyUserName", strings.Join(notify, ",")},
		{"RecommendInfo", s.recommendInfoObjLocked(ss, m.RecommendInfo)},
		{"ForwardFlag", 0},
		{"AppInfo", obj{{"AppID", ""}, {"Type", 0}}},
		{"HasProductId", m.HasProductID},
		{"Ticket", ""},
		{"ImgHeight", m.ImgHeight},
		{"ImgWidth", m.ImgWidth},
		{"SubMsgType", m.SubMsgType},
		{"NewMsgId", newMsgID(ev.msgID)},
		{"OriContent", m.OriContent},
		{"EncryFileName", encryName},
	}
}

// recommendInfoObjLocked renders a RecommendInfo object (PROTOCOL 7.5).
func (s *Server) recommendInfoObjLocked(ss *session, ri RecommendInfo) obj {
	var attr int64
	if ri.ID != "" {
		if e := s.acct.byID[ri.ID]; e != nil {
			c := e.contact
			fillStr(&ri.NickName, c.NickName)
			fillStr(&ri.Province, c.Province)
			fillStr(&ri.City, c.City)
			fillStr(&ri.Alias, c.Alias)
			if ri.Sex == 0 {
				ri.Sex = c.Sex
			}
		}
		fillStr(&ri.NickName, ri.ID)
		attr = int64(hash32(ri.ID))
	}
	return obj{
		{"UserName", ss.userName(ri.ID)}, {"NickName", ri.NickName}, {"QQNum", 0}, {"Province", ri.Province}, {"City", ri.City},
		{"Content", escapeHTML(ri.Content)}, {"Signature", ""}, {"Alias", ri.Alias}, {"Scene", ri.Scene}, {"VerifyFlag", 0},
		{"AttrStatus", attr}, {"Sex", ri.Sex}, {"Ticket", ri.Ticket}, {"OpCode", ri.OpCode},
	}
}
