package wechattest

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deliverAll delivers msgs and returns their MsgIds as webwxsync serves them.
func (h *harness) deliverAll(msgs ...Message) []msgResp {
	h.t.Helper()
	h.s.Deliver(msgs...)
	sr := h.sync()
	require.Equal(h.t, 0, sr.BaseResponse.Ret)
	require.Len(h.t, sr.AddMsgList, len(msgs))
	return sr.AddMsgList
}

// media GETs a main-host download.
func (h *harness) media(endpoint string, q url.Values, header http.Header) (*http.Response, []byte) {
	h.t.Helper()
	req, err := http.NewRequestWithContext(h.t.Context(), http.MethodGet, "https://"+h.main+"/cgi-bin/mmwebwx-bin/"+endpoint+"?"+q.Encode(), nil)
	require.NoError(h.t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	return h.do(req)
}

func TestMediaMessages(t *testing.T) {
	h := loggedIn(t)
	msgs := h.deliverAll(Image("friend"), Voice("friend", 1500), Video("friend", 7), Emoticon("friend", "e68363487d8f0519c4e1047de403b2e7"),
		File("friend", "a.zip", 2000, "@crypt_0a1b2c3d_azip"))
	wantTypes := []int{3, 34, 43, 47, 49}
	for i, m := range msgs {
		assert.Equal(t, wantTypes[i], m.MsgType)
	}
	assert.Equal(t, "2000", msgs[4].FileSize)
	assert.True(t, strings.HasPrefix(msgs[4].MediaId, "@crypt_"), msgs[4].MediaId)
	assert.True(t, strings.HasPrefix(msgs[3].Content, "&lt;msg&gt;&lt;emoji fromusername=&quot;friend&quot;"), msgs[3].Content)

	skey := url.Values{"skey": {h.skey}}
	with := func(k, v string) url.Values {
		q := url.Values{"skey": {h.skey}}
		q.Set(k, v)
		return q
	}
	// Image: full and thumbnail, JPEG.
	resp, body := h.media("webwxgetmsgimg", with("MsgID", msgs[0].MsgId), nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "image/jpeg", resp.Header.Get("Content-Type"))
	assert.Equal(t, h.s.Media(msgs[0].MsgId), body)
	assert.Equal(t, "image/jpeg", http.DetectContentType(body))
	assert.Len(t, body, imageSize)
	q := with("MsgID", msgs[0].MsgId)
	q.Set("type", "slave")
	_, body = h.media("webwxgetmsgimg", q, nil)
	assert.Equal(t, h.s.Thumbnail(msgs[0].MsgId), body)
	assert.Len(t, body, thumbSize)
	_, body = h.media("webwxgetmsgimg", with("msgid", msgs[0].MsgId), nil)
	assert.Len(t, body, imageSize, "msgid works too (IC)")

	// Emoticon: a GIF labelled image/jpeg (PROTOCOL 14.3).
	q = with("MsgID", msgs[3].MsgId)
	q.Set("type", "big")
	resp, body = h.media("webwxgetmsgimg", q, nil)
	assert.Equal(t, "image/jpeg", resp.Header.Get("Content-Type"))
	assert.Equal(t, "image/gif", http.DetectContentType(body))
	assert.Equal(t, h.s.Media(msgs[3].MsgId), body)

	// Voice.
	resp, body = h.media("webwxgetvoice", with("msgid", msgs[1].MsgId), nil)
	assert.Equal(t, "audio/mp3", resp.Header.Get("Content-Type"))
	assert.Equal(t, "audio/mpeg", http.DetectContentType(body))
	assert.Equal(t, h.s.Media(msgs[1].MsgId), body)

	// Video: nothing without Range; 206 with it.
	resp, body = h.media("webwxgetvideo", with("msgid", msgs[2].MsgId), nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, body, "PROTOCOL 14.18")
	resp, body = h.media("webwxgetvideo", with("msgid", msgs[2].MsgId), http.Header{"Range": {"bytes=0-"}})
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
	assert.Equal(t, fmt.Sprintf("bytes 0-%d/%d", videoSize-1, videoSize), resp.Header.Get("Content-Range"))
	assert.Equal(t, "video/mp4", resp.Header.Get("Content-Type"))
	assert.Equal(t, h.s.Media(msgs[2].MsgId), body)
	resp, body = h.media("webwxgetvideo", with("msgid", msgs[2].MsgId), http.Header{"Range": {"bytes=10-19"}})
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
	assert.Equal(t, h.s.Media(msgs[2].MsgId)[10:20], body)
	q = with("MsgID", msgs[2].MsgId)
	q.Set("type", "slave")
	_, body = h.media("webwxgetmsgimg", q, nil)
	assert.Equal(t, h.s.Thumbnail(msgs[2].MsgId), body, "the video's thumbnail")

	// Wrong skey, wrong endpoint for the type, unknown message: empty.
	for _, tt := range []struct {
		endpoint string
		q        url.Values
	}{
		{"webwxgetmsgimg", url.Values{"MsgID": {msgs[0].MsgId}, "skey": {"@crypt_wrong"}}},
		{"webwxgetmsgimg", url.Values{"MsgID": {msgs[0].MsgId}}},
		{"webwxgetvoice", with("msgid", msgs[0].MsgId)},
		{"webwxgetmsgimg", with("MsgID", msgs[1].MsgId)},
		{"webwxgetmsgimg", with("MsgID", "6012345678901234567")},
		{"webwxgetmsgimg", with("MsgID", "0")},
		{"webwxgetmsgimg", skey},
	} {
		resp, body := h.media(tt.endpoint, tt.q, nil)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Empty(t, body, "%s %v", tt.endpoint, tt.q)
	}

	// A message that expired, and one empty answer.
	h.s.EmptyNextMedia()
	_, body = h.media("webwxgetvoice", with("msgid", msgs[1].MsgId), nil)
	assert.Empty(t, body)
	_, body = h.media("webwxgetvoice", with("msgid", msgs[1].MsgId), nil)
	assert.NotEmpty(t, body, "only the next one")
	h.s.ExpireMedia(msgs[1].MsgId)
	_, body = h.media("webwxgetvoice", with("msgid", msgs[1].MsgId), nil)
	assert.Empty(t, body)
	assert.NotEmpty(t, h.s.Media(msgs[1].MsgId), "Media still tells what it was")

	assert.Nil(t, h.s.Media("123"))
	assert.Nil(t, h.s.Thumbnail(msgs[1].MsgId), "voice has no thumbnail")
}

func TestGetMedia(t *testing.T) {
	h := loggedIn(t)
	file := File("alice", "Q3 report.pdf", 3000, "@crypt_0a1b2c3d_q3")
	file.Group = "group"
	msgs := h.deliverAll(file)
	ticket := ""
	for _, c := range h.hc.Jar.Cookies(&url.URL{Scheme: "https", Host: "file.wx2.qq.com", Path: "/"}) {
		if c.Name == "webwx_data_ticket" {
			ticket = c.Value
		}
	}
	require.NotEmpty(t, ticket)
	good := func() url.Values {
		return url.Values{
			"sender": {h.s.UserName("group")}, "mediaid": {msgs[0].MediaId}, "encryfilename": {"Q3%20report%2Epdf"},
			"fromuser": {strconv.FormatInt(h.uin, 10)}, "pass_ticket": {"undefined"}, "webwx_data_ticket": {ticket},
		}
	}
	get := func(q url.Values) (*http.Response, []byte) {
		return h.get("https://file.wx2.qq.com/cgi-bin/mmwebwx-bin/webwxgetmedia?" + q.Encode())
	}
	resp, body := get(good())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, h.s.Media(msgs[0].MsgId), body)
	assert.Len(t, body, 3000)
	assert.Equal(t, `attachment; filename="Q3%20report%2Epdf"`, resp.Header.Get("Content-Disposition"))

	for name, edit := range map[string]func(url.Values){
		"filename instead":    func(q url.Values) { q.Del("encryfilename"); q.Set("filename", "Q3 report.pdf") },
		"self UserName (W4U)": func(q url.Values) { q.Set("fromuser", h.selfUN) },
		"decoded name":        func(q url.Values) { q.Set("encryfilename", "Q3 report.pdf") },
		// Not checked: clients send them in several forms (PROTOCOL 10.4).
		"another sender": func(q url.Values) { q.Set("sender", h.s.UserName("alice")) },
		"another uin":    func(q url.Values) { q.Set("fromuser", "1") },
		"another name":   func(q url.Values) { q.Set("encryfilename", "other.pdf") },
		"no name":        func(q url.Values) { q.Del("encryfilename") },
	} {
		q := good()
		edit(q)
		resp, _ := get(q)
		assert.Equal(t, http.StatusOK, resp.StatusCode, name)
	}
	for name, edit := range map[string]func(url.Values){
		"no ticket":     func(q url.Values) { q.Del("webwx_data_ticket") },
		"wrong ticket":  func(q url.Values) { q.Set("webwx_data_ticket", "x") },
		"unknown media": func(q url.Values) { q.Set("mediaid", "@crypt_nope") },
		"empty mediaid": func(q url.Values) { q.Set("mediaid", "") },
	} {
		q := good()
		edit(q)
		resp, body := get(q)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, name)
		assert.True(t, bytes.HasPrefix(body, []byte("<html>")), name)
	}
	resp, _ = h.get("https://file.wx.qq.com/cgi-bin/mmwebwx-bin/webwxgetmedia?" + good().Encode())
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "another file host")

	h.s.ExpireMedia(msgs[0].MsgId)
	resp, _ = get(good())
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "expired")
}

func TestAvatars(t *testing.T) {
	h := loggedIn(t)
	icon := func(endpoint string, q url.Values) []byte {
		_, body := h.media(endpoint, q, nil)
		return body
	}
	room := ""
	var bc struct {
		ContactList []contactResp
	}
	h.post("webwxbatchgetcontact", nil, map[string]any{"BaseRequest": h.base(), "Count": 1, "List": []map[string]string{{"UserName": h.s.UserName("group"), "EncryChatRoomId": ""}}}, &bc)
	require.Len(t, bc.ContactList, 1)
	room = bc.ContactList[0].EncryChatRoomId

	for _, id := range []string{"friend", "self", "gh_news", "filehelper"} {
		got := icon("webwxgeticon", url.Values{"seq": {"0"}, "username": {h.s.UserName(id)}, "skey": {h.skey}})
		assert.Equal(t, h.s.Avatar(id), got, id)
		assert.Equal(t, "image/jpeg", http.DetectContentType(got))
	}
	assert.Equal(t, h.s.Avatar("group"), icon("webwxgetheadimg", url.Values{"seq": {"0"}, "username": {h.s.UserName("group")}, "skey": {""}}), "groups: an empty skey, as in HeadImgUrl")
	assert.Equal(t, h.s.Avatar("carol"), icon("webwxgeticon", url.Values{"username": {h.s.UserName("carol")}, "skey": {h.skey}, "chatroomid": {room}}))
	assert.Equal(t, h.s.Avatar("carol"), icon("webwxgeticon", url.Values{"username": {h.s.UserName("carol")}, "skey": {h.skey}, "chatroomid": {h.s.UserName("group")}}))

	for name, tt := range map[string]struct {
		endpoint string
		q        url.Values
	}{
		"stranger without the group": {"webwxgeticon", url.Values{"username": {h.s.UserName("carol")}, "skey": {h.skey}}},
		"stranger, other group":      {"webwxgeticon", url.Values{"username": {h.s.UserName("carol")}, "skey": {h.skey}, "chatroomid": {h.s.UserName("team")}}},
		"group on geticon":           {"webwxgeticon", url.Values{"username": {h.s.UserName("group")}, "skey": {h.skey}}},
		"person on getheadimg":       {"webwxgetheadimg", url.Values{"username": {h.s.UserName("friend")}, "skey": {h.skey}}},
		"wrong skey":                 {"webwxgeticon", url.Values{"username": {h.s.UserName("friend")}, "skey": {"x"}}},
		"no skey":                    {"webwxgeticon", url.Values{"username": {h.s.UserName("friend")}}},
		"unknown":                    {"webwxgeticon", url.Values{"username": {"@0000"}, "skey": {h.skey}}},
	} {
		assert.Empty(t, icon(tt.endpoint, tt.q), name)
	}
	assert.Nil(t, h.s.Avatar("nobody"))
}
