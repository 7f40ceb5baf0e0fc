package wechattest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMessageConstructors(t *testing.T) {
	tests := []struct {
		name string
		m    Message
		want Message // the fields other than Content and OriContent
		xml  string  // a piece of the unescaped wire Content
	}{
		{"Image", Image("alice"), Message{From: "alice", Type: 3}, `<msg><img length="6503" hdlength="0" />`},
		{"Voice", Voice("alice", 1580), Message{From: "alice", Type: 34, VoiceLength: 1580}, `voicelength="1580"`},
		{"Video", Video("alice", 8), Message{From: "alice", Type: 43, PlayLength: 8, ImgWidth: 540, ImgHeight: 960}, `playlength="8"`},
		{"Emoticon", Emoticon("alice", "abc"), Message{From: "alice", Type: 47, ImgWidth: 80, ImgHeight: 80}, `md5="abc"`},
		{"File", File("alice", `a&b".pdf`, 1024, "@crypt_1"),
			Message{From: "alice", Type: 49, AppMsgType: 6, FileName: `a&b".pdf`, FileSize: 1024, MediaID: "@crypt_1"},
			`<title>a&amp;b&quot;.pdf</title>`},
		{"Link", Link("alice", "T", "https://x/?a=1&b=2"), Message{From: "alice", Type: 49, AppMsgType: 5, FileName: "T", URL: "https://x/?a=1&b=2"},
			`<url>https://x/?a=1&amp;b=2</url>`},
		{"Location", Location("alice", "A & B", 22.5, 113.9),
			Message{From: "alice", Type: 1, SubMsgType: 48, URL: "http://apis.map.qq.com/uri/v1/geocoder?coord=22.5,113.9"},
			"A & B:\n/cgi-bin/"},
		{"Card", Card("alice", "gh_news"), Message{From: "alice", Type: 42}, `username="gh_news"`},
		{"FriendRequest", FriendRequest("dave", "hi <3"), Message{From: "fmessage", Type: 37,
			RecommendInfo: RecommendInfo{ID: "dave", Content: "hi <3", Ticket: "v2_dave@stranger", Scene: 30, OpCode: 2}},
			`content="hi &lt;3"`},
		{"Revoke", Revoke("alice", "123"), Message{From: "alice", Type: 10002}, "\n\t\t<msgid>123</msgid>"},
		{"System", System("group", `"Alice" joined`), Message{Group: "group", Type: 10000, Text: `"Alice" joined`}, `"Alice" joined`},
	}
	unescape := strings.NewReplacer("<br/>", "\n", "&lt;", "<", "&gt;", ">", "&quot;", `"`, "&#39;", "'", "&amp;", "&")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NotEmpty(t, tt.xml, "every row checks its Content")
			got := tt.m
			got.Content, got.OriContent = "", ""
			assert.Equal(t, tt.want, got)
			// The Content the server sends for it (made at delivery when the constructor
			// leaves it empty) is escaped as on the wire: the only raw tag is <br/> (PROTOCOL 7.4).
			h := loggedIn(t)
			h.s.Deliver(tt.m)
			sr := h.sync()
			require.Len(t, sr.AddMsgList, 1)
			content := sr.AddMsgList[0].Content
			if tt.m.Group != "" && tt.m.Type != 10000 {
				_, content, _ = strings.Cut(content, ":<br/>") // the sender prefix
			}
			assert.NotContains(t, strings.ReplaceAll(content, "<br/>", ""), "<")
			assert.Contains(t, unescape.Replace(content), tt.xml)
		})
	}
	assert.Contains(t, Location("a", "x", 1, 2).OriContent, `<location x="1" y="2" scale="16" label="x"`)
}
