package wechat

import (
	"path"
	"strings"

	"github.com/wxkit/wechat/internal/wire"
)

// AppMessage is the payload of an app message (PROTOCOL 7.3, 7.5): a link, a file, music, a
// mini program, a chat history, a transfer, a red packet, ... Type says which; fields that do
// not apply to it are empty.
type AppMessage struct {
	Type        AppMsgType
	Title       string // <title>, else FileName
	Description string // <des>
	URL         string // <url>, else Url
	AppID       string // the appid attribute of <appmsg>
	AppName     string // <appinfo><appname>, such as "微信电脑版"

	// Attachments (AppMsgAttach). FileName is the top-level FileName, else <title>; FileExt
	// <fileext>, else FileName's extension; FileSize the top-level FileSize, else
	// <totallen>. MediaID and EncryFileName, the top-level fields, are what downloading the
	// file needs; AttachID is the <attachid> a re-send needs.
	FileName      string
	FileExt       string
	FileSize      int64
	AttachID      string
	MediaID       string
	EncryFileName string

	// Articles are the articles of an official account's push (<mmreader>), in order.
	Articles []Article
	// MiniProgram is the mini program a message shares, when its <weappinfo> names one.
	MiniProgram *MiniProgram
	// RecordTitle and RecordDesc summarise a chat history (AppMsgChatHistory): the title and
	// the description of its <recorditem>, else of the message.
	RecordTitle, RecordDesc string
	// Fee is the amount of a transfer (AppMsgTransfers) as shown, such as "￥0.10".
	Fee string
}

// Article is one article of an official account's push.
type Article struct {
	Title, URL, Cover, Digest string
}

// MiniProgram is a shared mini program: its account (UserName, "gh_...@app"), AppID, the
// page shared (PagePath) and its display name (Title, <sourcedisplayname>).
type MiniProgram struct {
	UserName, AppID, PagePath, Title string
}

// App returns the payload of an app message (MsgTypeApp), or of a red packet the server sends
// as MsgTypeText with AppMsgType 2001; for any other message it returns the zero value and
// false. Type is the top-level AppMsgType, else the payload's <type>. When Content is not an
// <appmsg> payload, the values come from the top-level fields alone.
func (m *Message) App() (AppMessage, bool) {
	if !m.isApp() {
		return AppMessage{}, false
	}
	a := AppMessage{
		Type:          m.AppMsgType,
		FileSize:      m.FileSize,
		MediaID:       m.MediaID,
		EncryFileName: m.EncryFileName,
	}
	x, _ := wire.ParseAppXML(m.Content) // the zero payload when malformed
	am := &x.AppMsg
	if a.Type == 0 {
		a.Type = AppMsgType(wire.XMLInt(am.Type))
	}
	a.Title = strings.TrimSpace(am.Title)
	fill(&a.Title, m.FileName)
	a.Description = strings.TrimSpace(am.Des)
	a.URL = strings.TrimSpace(am.URL)
	fill(&a.URL, m.URL)
	a.AppID = strings.TrimSpace(am.AppID)
	a.AppName = strings.TrimSpace(x.AppInfo.AppName)

	a.FileExt = strings.TrimSpace(am.AppAttach.FileExt)
	a.AttachID = strings.TrimSpace(am.AppAttach.AttachID)
	if a.FileSize <= 0 {
		a.FileSize = max(wire.XMLInt(am.AppAttach.TotalLen), 0)
	}
	if a.Type == AppMsgAttach {
		a.FileName = strings.TrimSpace(m.FileName)
		fill(&a.FileName, am.Title)
		if a.FileExt == "" {
			a.FileExt = strings.TrimPrefix(path.Ext(a.FileName), ".")
		}
	}

	for _, it := range am.MMReader.Category.Items {
		art := Article{
			Title:  strings.TrimSpace(it.Title),
			URL:    strings.TrimSpace(it.URL),
			Cover:  strings.TrimSpace(it.Cover),
			Digest: strings.TrimSpace(it.Digest),
		}
		if art != (Article{}) {
			a.Articles = append(a.Articles, art)
		}
	}

	if w := am.WeAppInfo; strings.TrimSpace(w.UserName+w.AppID+w.PagePath) != "" {
		a.MiniProgram = &MiniProgram{
			UserName: strings.TrimSpace(w.UserName),
			AppID:    strings.TrimSpace(w.AppID),
			PagePath: strings.TrimSpace(w.PagePath),
			Title:    strings.TrimSpace(am.SourceDisplayName),
		}
	}

	if a.Type == AppMsgChatHistory {
		var r wire.RecordItemXML
		if strings.TrimSpace(am.RecordItem) != "" && wire.DecodeXML(am.RecordItem, &r) == nil {
			a.RecordTitle = strings.TrimSpace(r.Title)
			a.RecordDesc = strings.TrimSpace(r.Desc)
		}
		fill(&a.RecordTitle, a.Title)
		fill(&a.RecordDesc, a.Description)
	}

	a.Fee = strings.TrimSpace(am.WCPayInfo.FeeDesc)
	return a, true
}

// isApp reports whether m is an app message, a red packet sent as text included (PROTOCOL 7.1).
func (m *Message) isApp() bool {
	return m.MsgType == MsgTypeApp || m.MsgType == MsgTypeText && m.AppMsgType == AppMsgRedEnvelopes
}
