package wechattest

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRenderMatchesObj checks that renderLocked, which writes AddMsgList
// entries straight into bytes, writes what writeMulti writes for the obj of
// each entry (renderObjLocked, the form the server built before), for every
// kind of message the package makes and the fields set by hand, on a clock
// with and without a skew.
func TestRenderMatchesObj(t *testing.T) {
	h := newHarness(t)
	h.login()
	h.initSession()
	fr := FriendRequest("stranger1", "hi <there> & \"you\"")
	fr.RecommendInfo.Ticket = "v2_abc@stranger"
	notify := Message{From: "self", To: "filehelper", Type: 51, StatusNotifyCode: 4,
		StatusNotifyUserName: []string{"friend", "group", "nobody", "filehelper"}}
	odd := Message{From: "friend", Type: 49, AppMsgType: 6, FileName: "résumé final.pdf", FileSize: 123456,
		MediaID: "@crypt_media", URL: "https://example.com/a?b=c&d=\"e\"", SubMsgType: 7, OriContent: "<ori>\x01</ori>",
		VoiceLength: 1, PlayLength: 2, ImgWidth: 640, ImgHeight: 480, HasProductID: 1, Content: "raw\tcontent\xff\n"}
	msgs := []Message{
		Text("friend", "hello"),
		Text("alice", "line 1\nline 2 <b>&amp;</b> \"q\" 'a' \\ 😄 \x00\x1f \xe4\xb8"),
		GroupText("group", "alice", "in the group"),
		GroupText("group", "carol", "a member who is no contact"),
		GroupText("group", "self", "from self to the group"),
		Image("friend"),
		Voice("bob", 3000),
		Video("friend", 12),
		Emoticon("alice", "0123456789abcdef0123456789abcdef"),
		File("friend", "report 2024.xlsx", 98765, "@crypt_file"),
		Link("bob", "a <title>", "https://example.com/x?y=1&z=2"),
		Location("friend", "Somewhere & there", 22.5, 114.05),
		Card("alice", "bob"),
		fr,
		Revoke("friend", "6012345678901234567"),
		System("group", "alice invited carol"),
		notify,
		odd,
		{From: "self", To: "friend", Text: "from the phone"},
		{From: "gh_news", Type: 49, AppMsgType: 5, Text: "news"},
		{},
	}
	h.s.Deliver(msgs...)

	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	ss := h.s.sess
	require.NotNil(t, ss)
	var evs []*event
	for ev := range ss.events.from(0) {
		if ev.selector == 0 && ev.change == nil {
			evs = append(evs, ev)
		}
	}
	require.GreaterOrEqual(t, len(evs), len(msgs))
	evs = evs[len(evs)-len(msgs):] // the login's own events first
	for _, skew := range []time.Duration{0, -90 * time.Minute, 3*time.Second + time.Millisecond} {
		want := arr{}
		for _, ev := range evs {
			want = append(want, h.s.renderObjLocked(ss, *ev, skew))
		}
		var wantBody, gotBody bytes.Buffer
		writeMulti(&wantBody, obj{{"AddMsgList", want}, {"Next", 1}})
		writeMulti(&gotBody, obj{{"AddMsgList", h.s.renderLocked(ss, evs, skew)}, {"Next", 1}})
		assert.Equal(t, wantBody.String(), gotBody.String(), "skew %v", skew)
		var v any
		assert.NoError(t, json.Unmarshal(gotBody.Bytes(), &v), "valid JSON")
		for i, ev := range evs { // one at a time: the first entry of an array
			var w, g bytes.Buffer
			writeMulti(&w, arr{h.s.renderObjLocked(ss, *ev, skew)})
			writeMulti(&g, h.s.renderLocked(ss, evs[i:i+1], skew))
			assert.Equal(t, w.String(), g.String(), "message %d", i)
		}
	}
	var w, g bytes.Buffer
	writeMulti(&w, obj{{"AddMsgList", arr{}}, {"Next", 1}})
	writeMulti(&g, obj{{"AddMsgList", h.s.renderLocked(ss, nil, 0)}, {"Next", 1}})
	assert.Equal(t, w.String(), g.String(), "no messages")
}
