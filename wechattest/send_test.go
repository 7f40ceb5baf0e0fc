package wechattest

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBatchGetContactLimit(t *testing.T) {
	h := loggedIn(t)
	list := make([]map[string]string, 51)
	for i := range list {
		list[i] = map[string]string{"UserName": h.s.UserName("friend"), "EncryChatRoomId": ""}
	}
	raw := h.post("webwxbatchgetcontact", url.Values{"type": {"ex"}}, map[string]any{"BaseRequest": h.base(), "Count": 51, "List": list}, nil)
	assert.Equal(t, "{\n\"BaseResponse\": {\n\"Ret\": 1,\n\"ErrMsg\": \"\"\n}\n,\n\"Count\": 0,\n\"ContactList\": []\n}\n", string(raw))

	var bc struct {
		BaseResponse baseResp
		Count        int
		ContactList  []contactResp
	}
	h.post("webwxbatchgetcontact", nil, map[string]any{"BaseRequest": h.base(), "Count": 50, "List": list[:50]}, &bc)
	assert.Equal(t, 0, bc.BaseResponse.Ret)
	assert.Equal(t, 50, bc.Count)

	// A stranger without the group is not returned.
	h.post("webwxbatchgetcontact", nil, map[string]any{"BaseRequest": h.base(), "Count": 2, "List": []map[string]string{
		{"UserName": h.s.UserName("carol"), "EncryChatRoomId": ""},
		{"UserName": h.s.UserName("carol"), "EncryChatRoomId": h.s.UserName("team")},
	}}, &bc)
	assert.Equal(t, 0, bc.Count)
	h.post("webwxbatchgetcontact", nil, map[string]any{"BaseRequest": h.base(), "Count": 1, "List": []map[string]string{
		{"UserName": h.s.UserName("carol"), "EncryChatRoomId": h.s.UserName("group")},
	}}, &bc)
	assert.Equal(t, 1, bc.Count, "the official client names the group by its UserName")
}

func TestSend(t *testing.T) {
	h := loggedIn(t)
	friend := h.s.UserName("friend")
	send := func(msg map[string]any) sendResp {
		var r sendResp
		h.post("webwxsendmsg", nil, map[string]any{"BaseRequest": h.base(), "Msg": msg, "Scene": 0}, &r)
		return r
	}
	msg := func(edit func(m map[string]any)) map[string]any {
		m := map[string]any{"Type": 1, "Content": "hi", "FromUserName": h.selfUN, "ToUserName": friend, "LocalID": "17000000000000001", "ClientMsgId": "17000000000000001"}
		edit(m)
		return m
	}
	for name, tt := range map[string]struct {
		edit func(m map[string]any)
		ret  int
	}{
		"to self":             {func(m map[string]any) { m["ToUserName"] = h.selfUN }, 1204},
		"unknown peer":        {func(m map[string]any) { m["ToUserName"] = "@0123" }, 1204},
		"from another":        {func(m map[string]any) { m["FromUserName"] = friend }, 1204},
		"numeric ids (IC)":    {func(m map[string]any) { m["LocalID"], m["ClientMsgId"] = 17000000000000003, 17000000000000003 }, 0},
		"location (type 48)":  {func(m map[string]any) { m["Type"] = 48 }, 0},
		"to filehelper":       {func(m map[string]any) { m["ToUserName"] = "filehelper" }, 0},
		"to the unsaved team": {func(m map[string]any) { m["ToUserName"] = h.s.UserName("team") }, 0},
	} {
		r := send(msg(tt.edit))
		assert.Equal(t, tt.ret, r.BaseResponse.Ret, name)
		if tt.ret != 0 {
			assert.Empty(t, r.MsgID, name)
		}
	}
	assert.Len(t, h.s.Sent(), 4)

	// A client that escapes slashes is caught: the server keeps the backslash.
	body := fmt.Sprintf(`{"BaseRequest":{"Uin":%d,"Sid":%q,"Skey":%q,"DeviceID":"e1"},"Msg":{"Type":1,"Content":"see https:\/\/example.com\/x","FromUserName":%q,"ToUserName":%q,"LocalID":"1","ClientMsgId":"1"},"Scene":0}`,
		h.uin, h.sid, h.skey, h.selfUN, friend)
	h.postRaw(h.main, "webwxsendmsg", nil, []byte(body))
	sent := h.s.Sent()
	assert.Equal(t, `see https:\/\/example.com\/x`, sent[len(sent)-1].Content)

	// Text to a group is echoed without a prefix.
	r := h.sendText(h.s.UserName("group"), "hello group", "17000000000000009")
	require.Equal(t, 0, r.BaseResponse.Ret)
	sr := h.sync()
	last := sr.AddMsgList[len(sr.AddMsgList)-1]
	assert.Equal(t, r.MsgID, last.MsgId)
	assert.Equal(t, h.selfUN, last.FromUserName)
	assert.Equal(t, h.s.UserName("group"), last.ToUserName)
	assert.Equal(t, "hello group", last.Content)
}

func TestSendMediaAndRevoke(t *testing.T) {
	h := loggedIn(t)
	friend := h.s.UserName("friend")
	post := func(endpoint string, msg map[string]any) sendResp {
		msg["FromUserName"], msg["ToUserName"] = h.selfUN, friend
		msg["LocalID"], msg["ClientMsgId"] = "17000000000000001", "17000000000000001"
		var r sendResp
		h.post(endpoint, url.Values{"fun": {"async"}, "f": {"json"}}, map[string]any{"BaseRequest": h.base(), "Msg": msg, "Scene": 0}, &r)
		return r
	}
	assert.Equal(t, 1, post("webwxsendmsgimg", map[string]any{"Type": 3, "MediaId": "@crypt_unknown", "Content": ""}).BaseResponse.Ret)
	assert.Equal(t, 1, post("webwxsendmsgimg", map[string]any{"Type": 3, "MediaId": "", "Content": ""}).BaseResponse.Ret)
	assert.Equal(t, 0, post("webwxsendmsgimg", map[string]any{"Type": 3, "MediaId": "", "Content": "<msg><img /></msg>"}).BaseResponse.Ret, "a forward")

	doc := []byte(strings.Repeat("report ", 100))
	mediaID := h.upload("report.pdf", "application/pdf", "doc", doc, friend)
	appmsg := "<appmsg appid='wxeb7ec651dd0aefa9' sdkver=''><title>report.pdf</title><des></des><action></action><type>6</type><content></content><url></url><lowurl></lowurl><appattach><totallen>700</totallen><attachid>%s</attachid><fileext>pdf</fileext></appattach><extinfo></extinfo></appmsg>"
	assert.Equal(t, 1, post("webwxsendappmsg", map[string]any{"Type": 6, "Content": fmt.Sprintf(appmsg, "@crypt_nope")}).BaseResponse.Ret)
	r := post("webwxsendappmsg", map[string]any{"Type": 6, "Content": fmt.Sprintf(appmsg, mediaID)})
	require.Equal(t, 0, r.BaseResponse.Ret)
	sent := h.s.Sent()
	assert.Equal(t, mediaID, sent[len(sent)-1].MediaID)

	assert.Equal(t, 0, post("webwxsendvideomsg", map[string]any{"Type": 43, "MediaId": mediaID, "Content": ""}).BaseResponse.Ret)
	assert.Equal(t, 0, post("webwxsendemoticon", map[string]any{"Type": 47, "EmojiFlag": 2, "EMoticonMd5": "e68363487d8f0519c4e1047de403b2e7"}).BaseResponse.Ret)
	assert.Equal(t, 1, post("webwxsendemoticon", map[string]any{"Type": 47, "EmojiFlag": 2}).BaseResponse.Ret)

	sr := h.sync()
	var types []int
	for _, m := range sr.AddMsgList {
		types = append(types, m.MsgType)
	}
	assert.Equal(t, []int{3, 49, 43, 47}, types, "echoes")
	assert.Equal(t, mediaID, sr.AddMsgList[1].MediaId)

	var rv struct {
		BaseResponse baseResp
		Introduction string
		SysWording   string
	}
	raw := h.post("webwxrevokemsg", nil, map[string]any{"BaseRequest": h.base(), "ClientMsgId": "17000000000000001", "SvrMsgId": r.MsgID, "ToUserName": friend}, &rv)
	assert.Equal(t, `{"BaseResponse": {"Ret": 0,"ErrMsg": ""},"Introduction": "","SysWording": ""}`, string(raw))
	sent = h.s.Sent()
	assert.Equal(t, SentMessage{Endpoint: "webwxrevokemsg", From: "self", To: "friend", FromUserName: h.selfUN, ToUserName: friend,
		ClientMsgID: "17000000000000001", MsgID: r.MsgID}, sent[len(sent)-1])
	h.post("webwxrevokemsg", nil, map[string]any{"BaseRequest": h.base(), "ClientMsgId": "1", "SvrMsgId": "123", "ToUserName": friend}, &rv)
	assert.Equal(t, 1, rv.BaseResponse.Ret)
}

func TestUpload(t *testing.T) {
	h := loggedIn(t)
	data := make([]byte, 2*chunkSize+10)
	for i := range data {
		data[i] = byte(i * 7)
	}
	sum := md5.Sum(data)
	good := hex.EncodeToString(sum[:])
	last := func(rs []uploadResp) int { return rs[len(rs)-1].BaseResponse.Ret }

	rs := h.uploadChunks("a.bin", "application/octet-stream", "doc", data, "filehelper", good, func(i int, f map[string]string) {
		f["webwx_data_ticket"] = "forged"
	})
	assert.Equal(t, 1, last(rs), "data ticket field must equal the cookie")
	assert.Len(t, rs, 1)
	rs = h.uploadChunks("a.bin", "application/octet-stream", "doc", data, "filehelper", good, func(i int, f map[string]string) {
		delete(f, "chunks")
		delete(f, "chunk")
	})
	assert.Equal(t, 1, last(rs), "chunks are needed above 512 KiB")
	rs = h.uploadChunks("a.bin", "application/octet-stream", "doc", data, "filehelper", good, func(i int, f map[string]string) {
		if i == 1 {
			f["chunk"] = "2"
		}
	})
	assert.Equal(t, 1, last(rs), "chunks in order")
	assert.Empty(t, h.s.Uploads())

	// The right file host only.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "https://file.wx.qq.com/cgi-bin/mmwebwx-bin/webwxuploadmedia?f=json", strings.NewReader("x"))
	require.NoError(t, err)
	resp, _ := h.do(req)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	// A small file, one request; then the file2 fallback host.
	id := h.upload("pic.png", "image/png", "pic", []byte("\x89PNG tiny"), "filehelper")
	assert.Regexp(t, `^@crypt_[0-9a-f]{8}_[0-9a-f]{256}$`, id)
	h.s.SetUnreachable("file.wx2.qq.com", true)
	h.fileHost = "file2.wx2.qq.com"
	h.upload("big.bin", "application/octet-stream", "doc", data, "filehelper")
	ups := h.s.Uploads()
	require.Len(t, ups, 2)
	assert.Equal(t, data, ups[1].Data)
}
