package wechattest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loggedIn returns a harness whose session is online and whose login
// events were consumed.
func loggedIn(t *testing.T, opts ...Option) *harness {
	t.Helper()
	h := newHarness(t, opts...)
	h.login()
	h.initSession()
	sr := h.sync()
	require.Equal(t, 0, sr.BaseResponse.Ret)
	return h
}

func TestSyncCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := loggedIn(t, WithLongPoll(time.Hour))
		start := time.Now()
		for _, host := range []string{"webpush.wx.qq.com", "webpush.weixin.qq.com", "webpush2.wechat.com"} {
			rc, _ := h.syncCheck(host)
			assert.Equal(t, "1100", rc, host)
		}

		stranger := &harness{t: t, s: h.s, hc: h.s.Client()} // no cookies
		stranger.uin, stranger.sid, stranger.skey, stranger.checkKey = h.uin, h.sid, h.skey, h.checkKey
		rc, _ := stranger.syncCheck(h.pushHost())
		assert.Equal(t, "1102", rc, "no cookies")

		bad := *h
		bad.sid = "wrong"
		rc, _ = bad.syncCheck(h.pushHost())
		assert.Equal(t, "1101", rc, "wrong sid")
		bad = *h
		bad.skey = h.xmlSkey
		rc, _ = bad.syncCheck(h.pushHost())
		assert.Equal(t, "0", rc, "the login skey stays good after webwxinit")
		assert.Equal(t, time.Hour, time.Since(start), "and that poll held")
		start = time.Now()

		// The misspelt parameter syncKey returns at once.
		q := url.Values{"skey": {h.skey}, "sid": {h.sid}, "uin": {"2212345678"}, "syncKey": {h.checkKey.String()}}
		_, body := h.get("https://" + h.pushHost() + "/cgi-bin/mmwebwx-bin/synccheck?" + q.Encode())
		assert.Equal(t, `window.synccheck={retcode:"0",selector:"0"}`, string(body))
		assert.Zero(t, time.Since(start), "every answer came at once")

		// The SyncKey (instead of the SyncCheckKey) is accepted too.
		h.s.Deliver(Text("bob", "x"))
		mixed := *h
		mixed.checkKey = h.syncKey
		_, sel := mixed.syncCheck(h.pushHost())
		assert.Equal(t, "2", sel)
	})
}

func TestSyncCheckRawBody(t *testing.T) {
	h := loggedIn(t, WithLongPoll(time.Millisecond))
	q := url.Values{"r": {"1"}, "skey": {h.skey}, "sid": {h.sid}, "uin": {"2212345678"}, "deviceid": {"e1"}, "synckey": {h.checkKey.String()}}
	resp, body := h.get("https://webpush.wx2.qq.com/cgi-bin/mmwebwx-bin/synccheck?" + q.Encode())
	assert.Equal(t, "text/javascript", resp.Header.Get("Content-Type"))
	assert.Equal(t, `window.synccheck={retcode:"0",selector:"0"}`, string(body))
	assert.Len(t, body, 43)
}

func TestDeliverWakesSyncCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := loggedIn(t, WithLongPoll(25*time.Second))
		start := time.Now()
		sel := make(chan string)
		go func() {
			_, s := h.syncCheck(h.pushHost())
			sel <- s
		}()
		synctest.Wait()
		h.s.Deliver(Text("friend", "wake up"))
		assert.Equal(t, "2", <-sel)
		assert.Zero(t, time.Since(start))

		// Busy selector: until the client syncs, selector 2 comes at once.
		_, s := h.syncCheck(h.pushHost())
		assert.Equal(t, "2", s)
		h.sync()
		_, s = h.syncCheck(h.pushHost())
		assert.Equal(t, "0", s)
		assert.Equal(t, 25*time.Second, time.Since(start))
	})
}

func TestEndSessionWakesSyncCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := loggedIn(t, WithLongPoll(25*time.Second))
		rc := make(chan string)
		go func() {
			r, _ := h.syncCheck(h.pushHost())
			rc <- r
		}()
		synctest.Wait()
		h.s.EndSession(1100)
		assert.Equal(t, "1100", <-rc)
		var ir initResp
		raw := h.post("webwxinit", nil, map[string]any{"BaseRequest": h.base()}, &ir)
		assert.Equal(t, string(multiline(zeroInit(1100))), string(raw), "zeroed body")
		assert.Equal(t, 0, ir.SyncKey.Count)
	})
}

func TestSyncBatchesAndReplay(t *testing.T) {
	h := loggedIn(t, WithSyncBatchSize(2))
	initial := h.syncKey
	for i := range 5 {
		h.s.Deliver(Text("friend", strconv.Itoa(i)))
	}
	var got []string
	flags := []int{}
	for {
		sr := h.sync()
		require.LessOrEqual(t, sr.AddMsgCount, 2)
		for _, m := range sr.AddMsgList {
			got = append(got, m.Content)
		}
		flags = append(flags, sr.ContinueFlag)
		if sr.ContinueFlag == 0 {
			break
		}
	}
	assert.Equal(t, []string{"0", "1", "2", "3", "4"}, got)
	assert.Equal(t, []int{1, 1, 0}, flags)

	// An older SyncKey gets the old events again.
	h.syncKey = initial
	sr := h.sync()
	require.Equal(t, 2, sr.AddMsgCount)
	assert.Equal(t, "0", sr.AddMsgList[0].Content)

	// A restart (webwxinit again) continues after the highest key 1 a
	// webwxsync request carried: the batch it answered last ("4") was never
	// acknowledged.
	var ir initResp
	h.post("webwxinit", nil, map[string]any{"BaseRequest": h.base()}, &ir)
	require.Equal(t, 0, ir.BaseResponse.Ret)
	assert.Equal(t, h.skey, ir.SKey, "a second webwxinit keeps the skey")
	h.syncKey = ir.SyncKey
	sr = h.sync()
	require.Equal(t, 1, sr.AddMsgCount, "events after the highest key 1 sent: %+v", sr.AddMsgList)
	assert.Equal(t, "4", sr.AddMsgList[0].Content)
}

func TestDeliverBeforeLogin(t *testing.T) {
	h := newHarness(t)
	h.s.Deliver(Text("filehelper", "hello"), Message{From: "friend", Type: 1, Text: "dup", MsgID: "7012345678901234567"})
	h.s.Deliver(Message{From: "friend", Type: 1, Text: "dup", MsgID: "7012345678901234567"})
	h.login()
	h.initSession()
	sr := h.sync()
	require.Equal(t, 4, sr.AddMsgCount)
	assert.Equal(t, 51, sr.AddMsgList[0].MsgType)
	assert.Equal(t, "filehelper", sr.AddMsgList[1].FromUserName)
	assert.Equal(t, "hello", sr.AddMsgList[1].Content)
	assert.Equal(t, "7012345678901234567", sr.AddMsgList[2].MsgId)
	assert.Equal(t, sr.AddMsgList[2].MsgId, sr.AddMsgList[3].MsgId, "the same MsgId twice")
}

func TestMessageRendering(t *testing.T) {
	h := loggedIn(t)
	h.s.Deliver(
		Message{Group: "group", Type: 10000, Text: `"Alice" invited "Carol" to the group`},
		Message{Group: "group", From: "self", Type: 1, Text: "sent from my phone"},
		Message{From: "friend", Type: 49, AppMsgType: 6, FileName: "report.pdf", FileSize: 1024, MediaID: "@crypt_file_1", Content: "&lt;msg&gt;&lt;appmsg&gt;&lt;/appmsg&gt;&lt;/msg&gt;"},
		GroupText("team", "newbie", "who am I"),
		Message{From: "self", To: "self", Type: 51, StatusNotifyCode: 1, StatusNotifyUserName: []string{"friend", "group"}},
		Message{From: "friend", Type: 3},
	)
	resp, body := h.postRaw(h.main, "webwxsync", nil, mustJSON(t, map[string]any{"BaseRequest": h.base(), "SyncKey": h.syncKey, "rr": 1}))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var sr syncResp
	require.NoError(t, json.Unmarshal(body, &sr))
	require.Equal(t, 6, sr.AddMsgCount)
	sys, own, file, stranger, notify, img := sr.AddMsgList[0], sr.AddMsgList[1], sr.AddMsgList[2], sr.AddMsgList[3], sr.AddMsgList[4], sr.AddMsgList[5]

	assert.Equal(t, h.s.UserName("group"), sys.FromUserName)
	assert.Equal(t, "&quot;Alice&quot; invited &quot;Carol&quot; to the group", sys.Content, "no prefix on system messages")
	assert.Equal(t, h.selfUN, own.FromUserName)
	assert.Equal(t, h.s.UserName("group"), own.ToUserName)
	assert.Equal(t, "sent from my phone", own.Content)
	assert.Equal(t, "1024", file.FileSize)
	assert.Equal(t, "@crypt_file_1", file.MediaId)
	assert.Contains(t, string(body), `"EncryFileName": "report%2Epdf"`)
	assert.Regexp(t, `^@[0-9a-f]{32}:<br/>who am I$`, stranger.Content)
	assert.Equal(t, h.s.UserName("newbie"), stranger.Content[:33], "unknown ids get a UserName")
	assert.Equal(t, h.s.UserName("friend")+","+h.s.UserName("group"), notify.StatusNotifyUserName)
	assert.Contains(t, img.Content, "&lt;msg&gt;&lt;img ")

	// Every field of PROTOCOL 7.1 is present.
	var raw struct{ AddMsgList []map[string]json.RawMessage }
	require.NoError(t, json.Unmarshal(body, &raw))
	var keys []string
	for k := range raw.AddMsgList[0] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	assert.Equal(t, []string{"AppInfo", "AppMsgType", "Content", "CreateTime", "EncryFileName", "FileName", "FileSize",
		"ForwardFlag", "FromUserName", "HasProductId", "ImgHeight", "ImgStatus", "ImgWidth", "MediaId", "MsgId", "MsgType",
		"NewMsgId", "OriContent", "PlayLength", "RecommendInfo", "Status", "StatusNotifyCode", "StatusNotifyUserName",
		"SubMsgType", "Ticket", "ToUserName", "Url", "VoiceLength"}, keys)
	assert.True(t, bytes.HasPrefix(body, []byte("{\n\"BaseResponse\": {\n")))
}

// BenchmarkServeSync measures the server's side of one webwxsync answer of 30 texts (the
// default batch): ServeHTTP from the request to the written answer (its checks, the rendering
// and encoding, the cookies), into an httptest.ResponseRecorder. The same SyncKey is sent
// every time, so that the same 30 messages are answered again.
func BenchmarkServeSync(b *testing.B) {
	h := newHarness(b)
	h.login()
	h.initSession()
	msgs := make([]Message, 30)
	for i := range msgs {
		msgs[i] = Text([]string{"friend", "alice", "bob"}[i%3], fmt.Sprint("message number ", i))
	}
	h.s.Deliver(msgs...)
	q := url.Values{"sid": {h.sid}, "skey": {h.skey}, "pass_ticket": {h.passTicket}}
	u := "https://" + h.main + "/cgi-bin/mmwebwx-bin/webwxsync?" + q.Encode()
	body := mustJSON(b, map[string]any{"BaseRequest": h.base(), "SyncKey": h.syncKey, "rr": -1890000001})
	pu, err := url.Parse(u)
	require.NoError(b, err)
	var cookies []string
	for _, c := range h.hc.Jar.Cookies(pu) {
		cookies = append(cookies, c.String())
	}
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, u, bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json;charset=UTF-8")
		r.Header.Set("Cookie", strings.Join(cookies, "; "))
		w := httptest.NewRecorder()
		h.s.ServeHTTP(w, r)
		if w.Code != http.StatusOK || w.Body.Len() < 30*800 {
			b.Fatalf("status %d, %d bytes: %.300s", w.Code, w.Body.Len(), w.Body.Bytes())
		}
	}
}
