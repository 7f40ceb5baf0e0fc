package wechattest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image/jpeg"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWholeSession drives a complete session with hand-made requests:
// login, init, contacts, receiving, sending, uploading and the end.
func TestWholeSession(t *testing.T) {
	h := newHarness(t, WithLongPoll(50*time.Millisecond), WithContactPageSize(3))
	ctx := t.Context()

	// jslogin: exact body, two Content-Type headers.
	q := url.Values{"appid": {appID}, "fun": {"new"}, "lang": {"zh_CN"},
		"redirect_uri": {"https://wx.qq.com/cgi-bin/mmwebwx-bin/webwxnewloginpage"}}
	resp, body := h.get("https://login.wx.qq.com/jslogin?" + q.Encode())
	assert.Equal(t, []string{"text/javascript", "text/html; charset=gbk"}, resp.Header.Values("Content-Type"))
	m := reQRLogin.FindSubmatch(body)
	require.NotNil(t, m, "%q", body)
	uuid := string(m[1])
	assert.Len(t, uuid, 12)
	assert.True(t, strings.HasSuffix(uuid, "=="))
	got, err := h.s.WaitQR(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, uuid, got)

	// Nobody scans: the poll holds, then 408.
	code, pollBody := h.poll(uuid)
	assert.Equal(t, 408, code)
	assert.Equal(t, "window.code=408;", pollBody)

	// The phone scans and confirms: 201 with the avatar, then 200.
	h.s.ConfirmLogin()
	code, pollBody = h.poll(uuid)
	require.Equal(t, 201, code)
	av := regexp.MustCompile(`^window\.code=201;window\.userAvatar = 'data:img/jpg;base64,([^']+)';$`).FindStringSubmatch(pollBody)
	require.NotNil(t, av, pollBody)
	img, err := base64.StdEncoding.DecodeString(av[1])
	require.NoError(t, err)
	_, err = jpeg.Decode(bytes.NewReader(img))
	require.NoError(t, err, "the avatar is a valid JPEG")
	code, pollBody = h.poll(uuid)
	require.Equal(t, 200, code)
	assert.Regexp(t, `^window\.code=200;\nwindow\.redirect_uri="https://wx2\.qq\.com/cgi-bin/mmwebwx-bin/webwxnewloginpage\?ticket=[A-Za-z0-9]+@qrticket_0&uuid=`+regexp.QuoteMeta(uuid)+`&lang=zh_CN&scan=\d+";$`, pollBody)
	redirect := reRedirect.FindStringSubmatch(pollBody)[1]
	h.main = "wx2.qq.com"

	// webwxnewloginpage: XML, cookies with the real domains.
	resp, x, xmlBody := h.newLoginPage(redirect, nil)
	require.Equal(t, 0, x.Ret)
	assert.Equal(t, "text/plain", resp.Header.Get("Content-Type"))
	assert.Regexp(t, `^<error><ret>0</ret><message></message><skey>@crypt_[0-9a-f]{8}_[0-9a-f]{32}</skey><wxsid>[A-Za-z0-9]{13}\+[A-Za-z0-9]/</wxsid><wxuin>2212345678</wxuin><pass_ticket>[^<]*%2B[^<]*%2F[^<]*%3D</pass_ticket><isgrayscale>1</isgrayscale></error>$`, string(xmlBody))
	h.uin, h.sid, h.xmlSkey, h.skey, h.passTicket = x.Wxuin, x.Wxsid, x.Skey, x.Skey, x.PassTicket
	setCookies := strings.Join(resp.Header.Values("Set-Cookie"), "\n")
	assert.Contains(t, setCookies, "webwx_data_ticket=")
	assert.Regexp(t, `(?m)^webwx_data_ticket=[^;]+; Domain=\.qq\.com; Path=/; Expires=\w{3}, \d\d-\w{3}-\d{4} \d\d:\d\d:\d\d GMT; Secure$`, setCookies)
	assert.Regexp(t, `(?m)^wxsid=[^;]+; Domain=wx2\.qq\.com; Path=/;`, setCookies)
	assert.Regexp(t, `(?m)^wxuin=2212345678; Domain=\.qq\.com;`, setCookies)
	assert.Len(t, resp.Header.Values("Set-Cookie"), 8)
	names := func(host string) map[string]string {
		out := map[string]string{}
		for _, c := range h.hc.Jar.Cookies(&url.URL{Scheme: "https", Host: host, Path: "/"}) {
			out[c.Name] = c.Value
		}
		return out
	}
	push := names("webpush.wx2.qq.com")
	assert.Equal(t, "2212345678", push["wxuin"])
	assert.Equal(t, h.sid, push["wxsid"])
	assert.Contains(t, names("file.wx2.qq.com"), "webwx_data_ticket")
	parent := names("www.qq.com")
	assert.Contains(t, parent, "webwx_data_ticket")
	assert.Contains(t, parent, "wxuin")
	assert.NotContains(t, parent, "wxsid", "wxsid is a cookie of the main host only")
	assert.Empty(t, h.s.UserName("nobody"))

	// webwxinit with a string Uin and the XML skey: new SKey, self, recent chats.
	var ir initResp
	raw := h.post("webwxinit", url.Values{"r": {"-1890000000"}, "pass_ticket": {h.passTicket}},
		map[string]any{"BaseRequest": map[string]any{"Uin": "2212345678", "Sid": h.sid, "Skey": h.xmlSkey, "DeviceID": "e123456789012345"}}, &ir)
	require.Equal(t, 0, ir.BaseResponse.Ret)
	assert.True(t, bytes.HasPrefix(raw, []byte("{\n\"BaseResponse\": {\n\"Ret\": 0,\n\"ErrMsg\": \"\"\n}\n,\n\"Count\": ")), "multi-line layout: %.80q", raw)
	assert.True(t, bytes.HasSuffix(raw, []byte("\n}\n")))
	assert.NotEqual(t, h.xmlSkey, ir.SKey)
	assert.Regexp(t, `^@crypt_[0-9a-f]{8}_[0-9a-f]{32}$`, ir.SKey)
	assert.Equal(t, h.s.UserName("self"), ir.User.UserName)
	assert.Equal(t, int64(2212345678), ir.User.Uin)
	assert.Equal(t, "Me", ir.User.NickName)
	assert.Equal(t, 40, ir.InviteStartCount)
	assert.Equal(t, 1, ir.MPSubscribeMsgCount)
	assert.Equal(t, 4, ir.SyncKey.Count)
	assert.Equal(t, ir.Count, len(ir.ContactList))
	var team *contactResp
	for i, c := range ir.ContactList {
		if c.UserName == h.s.UserName("team") {
			team = &ir.ContactList[i]
		}
	}
	require.NotNil(t, team, "the unsaved group is in the recent chats")
	assert.Equal(t, 0, team.MemberCount)
	assert.Empty(t, team.MemberList)
	assert.Equal(t, "filehelper", ir.ContactList[0].UserName)
	assert.True(t, strings.HasSuffix(ir.ChatSet, ","))
	assert.Equal(t, 2, strings.Count(ir.ChatSet, "filehelper,"), "ChatSet repeats entries: %s", ir.ChatSet)
	h.skey, h.selfUN, h.syncKey, h.checkKey = ir.SKey, ir.User.UserName, ir.SyncKey, ir.SyncKey

	// statusnotify Code 3: the session is online.
	var sn struct {
		BaseResponse baseResp
		MsgID        string
	}
	raw = h.post("webwxstatusnotify", url.Values{"lang": {"zh_CN"}, "pass_ticket": {h.passTicket}}, map[string]any{
		"BaseRequest": h.base(), "Code": 3, "FromUserName": h.selfUN, "ToUserName": h.selfUN, "ClientMsgId": 1700000000000,
	}, &sn)
	assert.Regexp(t, `^\{"BaseResponse": \{"Ret": 0,"ErrMsg": ""\},"MsgID": "\d{19}"\}$`, string(raw))
	require.NoError(t, h.s.WaitOnline(ctx))

	// webwxgetcontact, 3 per page: 8 entries (3 persons, 1 MP, 2 special, 1 saved group, self).
	var all []contactResp
	seq := "0"
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5)
		resp, body := h.get("https://wx2.qq.com/cgi-bin/mmwebwx-bin/webwxgetcontact?" +
			url.Values{"r": {"1700000000000"}, "seq": {seq}, "skey": {h.skey}}.Encode())
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var page struct {
			BaseResponse baseResp
			MemberCount  int
			MemberList   []contactResp
			Seq          int
		}
		require.NoError(t, json.Unmarshal(body, &page))
		require.Equal(t, 0, page.BaseResponse.Ret)
		assert.Equal(t, page.MemberCount, len(page.MemberList))
		all = append(all, page.MemberList...)
		if page.Seq == 0 {
			break
		}
		seq = strconv.Itoa(page.Seq)
	}
	require.Len(t, all, 8)
	byUN := map[string]contactResp{}
	for _, c := range all {
		byUN[c.UserName] = c
	}
	assert.Contains(t, byUN, h.s.UserName("group"))
	assert.NotContains(t, byUN, h.s.UserName("team"), "unsaved groups are not in the contact list")
	assert.Equal(t, 24, byUN[h.s.UserName("gh_news")].VerifyFlag)
	assert.Equal(t, `Alice<span class="emoji emoji1f31b"></span> &amp; Co`, byUN[h.s.UserName("alice")].NickName)
	assert.Contains(t, byUN, "filehelper")
	assert.Contains(t, byUN, h.selfUN)

	// webwxbatchgetcontact: groups with members, a stranger through the group.
	var bc struct {
		BaseResponse baseResp
		Count        int
		ContactList  []contactResp
	}
	h.post("webwxbatchgetcontact", url.Values{"type": {"ex"}, "r": {"1700000000000"}}, map[string]any{
		"BaseRequest": h.base(), "Count": 3, "List": []map[string]string{
			{"UserName": h.s.UserName("group"), "EncryChatRoomId": ""},
			{"UserName": h.s.UserName("team"), "ChatRoomId": ""},
			{"UserName": "@0000000000000000000000000000dead", "EncryChatRoomId": ""},
		},
	}, &bc)
	require.Equal(t, 0, bc.BaseResponse.Ret)
	require.Equal(t, 2, bc.Count, "unknown UserNames are skipped")
	grp := bc.ContactList[0]
	assert.Equal(t, "Test Group", grp.NickName)
	assert.Equal(t, 4, grp.MemberCount)
	require.Len(t, grp.MemberList, 4)
	assert.Equal(t, 1, grp.IsOwner)
	assert.Equal(t, int64(2212345678), grp.OwnerUin)
	assert.Equal(t, h.selfUN, grp.ChatRoomOwner)
	assert.Regexp(t, `^@[0-9a-f]{32}$`, grp.EncryChatRoomId)
	carol := grp.MemberList[3]
	assert.Equal(t, h.s.UserName("carol"), carol.UserName)
	assert.Equal(t, "Carol in group", carol.DisplayName)
	assert.Equal(t, "Friend", grp.MemberList[1].NickName, "a member's NickName comes from the contact")
	assert.Equal(t, h.s.UserName("alice"), bc.ContactList[1].ChatRoomOwner)
	h.post("webwxbatchgetcontact", url.Values{"type": {"ex"}}, map[string]any{
		"BaseRequest": h.base(), "Count": 1, "List": []map[string]string{{"UserName": carol.UserName, "EncryChatRoomId": grp.EncryChatRoomId}},
	}, &bc)
	require.Equal(t, 1, bc.Count)
	assert.Equal(t, "Carol", bc.ContactList[0].NickName)

	// Deliver: synccheck answers selector 2 at once, webwxsync has the messages.
	h.s.Deliver(Text("friend", "a<b & \"c\" 'd'\nline2"), GroupText("group", "carol", "hi all"))
	rc, sel := h.syncCheck(h.pushHost())
	assert.Equal(t, "0", rc)
	assert.Equal(t, "2", sel)
	resp, body = h.postRaw(h.main, "webwxsync", url.Values{"sid": {h.sid}, "skey": {h.skey}, "pass_ticket": {h.passTicket}},
		mustJSON(t, map[string]any{"BaseRequest": h.base(), "SyncKey": h.syncKey, "rr": -1890000001}))
	var sr syncResp
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	require.NoError(t, d.Decode(&sr))
	require.Equal(t, 0, sr.BaseResponse.Ret)
	assert.Contains(t, string(body), "\n}\n,{\n\"MsgId\": ", "array elements are joined by }\\n,{")
	sc := strings.Join(resp.Header.Values("Set-Cookie"), "\n")
	assert.Regexp(t, `(?m)^wxloadtime=\d+_expired; Domain=wx2\.qq\.com;`, sc)
	assert.Regexp(t, `(?m)^wxpluginkey=\d+;`, sc)
	require.Equal(t, 3, sr.AddMsgCount)
	notify, text, group := sr.AddMsgList[0], sr.AddMsgList[1], sr.AddMsgList[2]
	assert.Equal(t, 51, notify.MsgType)
	assert.Equal(t, 4, notify.StatusNotifyCode)
	assert.Equal(t, h.selfUN, notify.FromUserName)
	assert.Contains(t, notify.StatusNotifyUserName, h.s.UserName("team"))
	assert.Equal(t, h.s.UserName("friend"), text.FromUserName)
	assert.Equal(t, h.selfUN, text.ToUserName)
	assert.Equal(t, "a&lt;b &amp; &quot;c&quot; &#39;d&#39;<br/>line2", text.Content)
	assert.Equal(t, "", text.FileSize)
	assert.Regexp(t, `^\d{19}$`, text.MsgId)
	assert.Equal(t, text.MsgId, text.NewMsgId.String())
	assert.Regexp(t, `"NewMsgId": `+text.MsgId+`,\n`, string(body), "NewMsgId is a bare number")
	assert.Equal(t, h.s.UserName("group"), group.FromUserName)
	assert.Equal(t, h.s.UserName("carol")+":<br/>hi all", group.Content)
	assert.Equal(t, 0, sr.ContinueFlag)
	assert.Equal(t, sr.SyncKey.val(1), sr.SyncCheckKey.val(1))
	assert.NotEqual(t, sr.SyncKey.val(2), sr.SyncCheckKey.val(2))
	h.syncKey, h.checkKey = sr.SyncKey, sr.SyncCheckKey

	// Nothing new: synccheck holds, then selector 0.
	rc, sel = h.syncCheck(h.pushHost())
	assert.Equal(t, [2]string{"0", "0"}, [2]string{rc, sel})

	// Send a text: compact answer, recorded, echoed from self.
	localID := "17000000000001234"
	resp, body = h.postRaw(h.main, "webwxsendmsg", url.Values{"lang": {"zh_CN"}, "pass_ticket": {h.passTicket}},
		mustJSON(t, map[string]any{"BaseRequest": h.base(), "Msg": map[string]any{"Type": 1, "Content": "pong <3",
			"FromUserName": h.selfUN, "ToUserName": h.s.UserName("friend"), "LocalID": localID, "ClientMsgId": localID}, "Scene": 0}))
	assert.Regexp(t, `^\{"BaseResponse": \{"Ret": 0,"ErrMsg": ""\},"MsgID": "\d{19}","LocalID": "17000000000001234"\}$`, string(body))
	assert.Equal(t, "text/plain", resp.Header.Get("Content-Type"))
	sent, err := h.s.WaitSent(ctx, 1)
	require.NoError(t, err)
	require.Len(t, sent, 1)
	assert.Equal(t, SentMessage{Endpoint: "webwxsendmsg", Type: 1, From: "self", To: "friend",
		FromUserName: h.selfUN, ToUserName: h.s.UserName("friend"), Content: "pong <3",
		LocalID: localID, ClientMsgID: localID, MsgID: sent[0].MsgID}, sent[0])
	rc, sel = h.syncCheck(h.pushHost())
	assert.Equal(t, [2]string{"0", "2"}, [2]string{rc, sel}, "the echo is a new event")
	sr = h.sync()
	require.Equal(t, 1, sr.AddMsgCount)
	echo := sr.AddMsgList[0]
	assert.Equal(t, sent[0].MsgID, echo.MsgId)
	assert.Equal(t, h.selfUN, echo.FromUserName)
	assert.Equal(t, h.s.UserName("friend"), echo.ToUserName)
	assert.Equal(t, "pong &lt;3", echo.Content)

	// Upload 1.2 MB in three chunks, then send it as an image.
	data := make([]byte, 1200000)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rnd.Uint32())
	}
	mediaID := h.upload("photo.jpg", "image/jpeg", "pic", data, h.s.UserName("group"))
	ups := h.s.Uploads()
	require.Len(t, ups, 1)
	assert.Equal(t, Upload{MediaID: mediaID, Name: "photo.jpg", MediaType: "pic", ContentType: "image/jpeg", Data: data}, ups[0])
	var img3 sendResp
	h.post("webwxsendmsgimg", url.Values{"fun": {"async"}, "f": {"json"}, "pass_ticket": {h.passTicket}}, map[string]any{
		"BaseRequest": h.base(), "Msg": map[string]any{"Type": 3, "MediaId": mediaID, "Content": "",
			"FromUserName": h.selfUN, "ToUserName": h.s.UserName("group"), "LocalID": "17000000000005678", "ClientMsgId": "17000000000005678"}, "Scene": 0,
	}, &img3)
	require.Equal(t, 0, img3.BaseResponse.Ret)
	sent = h.s.Sent()
	require.Len(t, sent, 2)
	assert.Equal(t, "webwxsendmsgimg", sent[1].Endpoint)
	assert.Equal(t, "group", sent[1].To)
	assert.Equal(t, mediaID, sent[1].MediaID)
	sr = h.sync()
	require.Equal(t, 1, sr.AddMsgCount)
	assert.Equal(t, 3, sr.AddMsgList[0].MsgType)
	assert.Equal(t, h.s.UserName("group"), sr.AddMsgList[0].ToUserName)
	assert.NotContains(t, sr.AddMsgList[0].Content, ":<br/>", "own group messages have no prefix")

	// The server ends the session.
	h.s.EndSession(1101)
	rc, sel = h.syncCheck(h.pushHost())
	assert.Equal(t, [2]string{"1101", "0"}, [2]string{rc, sel})
	raw = h.post("webwxsync", nil, map[string]any{"BaseRequest": h.base(), "SyncKey": h.syncKey, "rr": 1}, &sr)
	assert.Equal(t, 1101, sr.BaseResponse.Ret)
	assert.Equal(t, string(multiline(zeroSync(1101))), string(raw))
	assert.Contains(t, string(raw), "\"SyncKey\": {\n\"Count\": 0,\n\"List\": []\n}\n,\n")
}

func TestClientTransport(t *testing.T) {
	s := NewServer()
	hc := s.Client()
	assert.NotSame(t, hc, s.Client(), "a new client each call")
	assert.NotSame(t, hc.Jar, s.Client().Jar)

	_, err := hc.Get("https://example.com/")
	require.Error(t, err, "other hosts are not routed")

	resp, err := hc.Get("https://wx2.qq.com/cgi-bin/mmwebwx-bin/nothing")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "text/html", resp.Header.Get("Content-Type"))

	// QR image.
	resp, err = hc.Get("https://login.weixin.qq.com/jslogin?appid=" + appID + "&fun=new")
	require.NoError(t, err)
	resp.Body.Close()
	uuid, err := s.WaitQR(t.Context(), 1)
	require.NoError(t, err)
	resp, err = hc.Get("https://login.weixin.qq.com/qrcode/" + uuid)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "image/jpeg", resp.Header.Get("Content-Type"))

	s.SetUnreachable("webpush.wx2.qq.com", true)
	_, err = hc.Get("https://webpush.wx2.qq.com/cgi-bin/mmwebwx-bin/synccheck")
	var opErr *net.OpError
	require.ErrorAs(t, err, &opErr)
	s.SetUnreachable("webpush.wx2.qq.com", false)
	resp, err = hc.Get("https://webpush.wx2.qq.com/cgi-bin/mmwebwx-bin/synccheck")
	require.NoError(t, err)
	resp.Body.Close()

	s.Close()
	s.Close()
	_, err = hc.Get("https://wx2.qq.com/")
	require.ErrorAs(t, err, &opErr, "a closed server refuses connections")
	require.ErrorIs(t, err, ErrClosed)
	_, err = s.WaitSent(t.Context(), 1)
	require.ErrorIs(t, err, ErrClosed)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	s2 := NewServer()
	defer s2.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://login.wx.qq.com/jslogin?appid="+appID+"&fun=new", nil)
	require.NoError(t, err)
	_, err = s2.Client().Do(req)
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, s2.Requests(), "a canceled request never reaches the server")
	assert.Panics(t, func() { NewServer(WithMainHost("evil.example.com")) })
}

// TestServeHTTP checks that the server also works behind a real listener
// or with httptest.NewRecorder.
func TestServeHTTP(t *testing.T) {
	s := NewServer()
	defer s.Close()
	req, err := http.NewRequest(http.MethodGet, "https://login.wx.qq.com/jslogin?appid="+appID+"&fun=new", nil)
	require.NoError(t, err)
	rec := &recorder{header: http.Header{}}
	s.ServeHTTP(rec, req)
	assert.Regexp(t, reQRLogin, rec.body.String())
	s.Close()
	assert.PanicsWithValue(t, http.ErrAbortHandler, func() { s.ServeHTTP(rec, req) })
}

type recorder struct {
	header http.Header
	body   bytes.Buffer
	code   int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(code int)        { r.code = code }

// TestCloseWakesHeldPolls checks that Close ends held long polls at once
// with a transport error.
func TestCloseWakesHeldPolls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, WithLongPoll(time.Hour))
		h.login()
		h.initSession()
		h.sync() // consume the login events
		uuid := h.jslogin()
		errs := make(chan error, 2)
		start := time.Now()
		go func() {
			_, err := h.hc.Get("https://login.wx.qq.com/cgi-bin/mmwebwx-bin/login?loginicon=true&tip=0&uuid=" + url.QueryEscape(uuid))
			errs <- err
		}()
		go func() {
			q := url.Values{"skey": {h.skey}, "sid": {h.sid}, "uin": {"2212345678"}, "synckey": {h.checkKey.String()}}
			_, err := h.hc.Get("https://webpush.wx2.qq.com/cgi-bin/mmwebwx-bin/synccheck?" + q.Encode())
			errs <- err
		}()
		synctest.Wait()
		h.s.Close()
		for range 2 {
			err := <-errs
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrClosed), "%v", err)
		}
		assert.Zero(t, time.Since(start), "no waiting")
	})
}

// TestContextEndsHeldPoll checks that a held request ends with its context.
func TestContextEndsHeldPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, WithLongPoll(time.Hour))
		uuid := h.jslogin()
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://login.wx.qq.com/cgi-bin/mmwebwx-bin/login?uuid="+url.QueryEscape(uuid), nil)
		require.NoError(t, err)
		_, err = h.hc.Do(req)
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

// TestConcurrentUse runs a client loop against concurrent deliveries, for
// the race detector.
func TestConcurrentUse(t *testing.T) {
	h := newHarness(t, WithLongPoll(20*time.Millisecond), WithSyncBatchSize(7))
	h.login()
	h.initSession()
	const n = 60
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Go(func() {
			for i := range n / 3 {
				h.s.Deliver(Text("friend", strconv.Itoa(g*100+i)))
				_ = h.s.Requests()
				_ = h.s.UserName("friend")
			}
		})
	}
	seen := map[string]bool{}
	for len(seen) < n {
		if _, sel := h.syncCheck(h.pushHost()); sel == "0" {
			continue
		}
		for {
			sr := h.sync()
			require.Equal(t, 0, sr.BaseResponse.Ret)
			for _, m := range sr.AddMsgList {
				if m.MsgType == 1 {
					seen[m.Content] = true
				}
			}
			if sr.ContinueFlag == 0 {
				break
			}
		}
	}
	wg.Wait()
	assert.Len(t, seen, n)
}

// TestDiagnostics: Requests records the endpoint, status, code and reason
// of each answer; WithLogf explains refusals; WithStrict fails on unknown
// paths and hosts; after Close nothing is logged.
func TestDiagnostics(t *testing.T) {
	var log, fails logSink
	h := loggedIn(t, WithLogf(log.logf), WithStrict(fails.logf))
	before := len(h.s.Requests())
	h.sendText(h.selfUN, "to myself", "1")
	r := h.last("webwxsendmsg")
	assert.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, 1204, r.Ret)
	assert.True(t, r.Refused())
	assert.Equal(t, "Msg.ToUserName is self; send to filehelper (PROTOCOL 8.1)", r.Reason)
	assert.Contains(t, log.String(), "wechattest: refused POST https://wx2.qq.com/cgi-bin/mmwebwx-bin/webwxsendmsg with 1204: Msg.ToUserName is self")
	assert.Empty(t, fails.String(), "refusals are no failures")

	ok := h.sendText("filehelper", "fine", "2")
	require.Equal(t, 0, ok.BaseResponse.Ret)
	r = h.last("webwxsendmsg")
	assert.False(t, r.Refused())
	assert.Zero(t, r.Ret)

	h.get("https://wx2.qq.com/cgi-bin/mmwebwx-bin/webwxnosuch?x=1")
	r = h.last("")
	assert.Equal(t, http.StatusNotFound, r.Status)
	assert.Equal(t, "/cgi-bin/mmwebwx-bin/webwxnosuch", r.Path)
	assert.Contains(t, fails.String(), "wechattest: strict: GET https://wx2.qq.com/cgi-bin/mmwebwx-bin/webwxnosuch: no such endpoint")

	_, err := h.hc.Get("https://res.wx.qq.com/a.png")
	require.Error(t, err)
	assert.Contains(t, fails.String(), "res.wx.qq.com")
	assert.Len(t, h.s.Requests(), before+3, "the host that is not served never reaches the server")

	h.s.Close()
	n := len(log.String())
	h.hc.Get("https://wx2.qq.com/cgi-bin/mmwebwx-bin/webwxnosuch")
	assert.Len(t, log.String(), n, "silent after Close")
}

// TestRequestEndpoints: the names of Request.Endpoint.
func TestRequestEndpoints(t *testing.T) {
	for _, tt := range []struct{ host, path, want string }{
		{"login.wx.qq.com", "/jslogin", "jslogin"},
		{"login.weixin.qq.com", "/qrcode/abc==", "qrcode"},
		{"login.wx.qq.com", "/cgi-bin/mmwebwx-bin/login", "login"},
		{"login.weixin.qq.com", "/cgi-bin/mmwebwx-bin/webwxpushloginurl", "webwxpushloginurl"},
		{"webpush.wx2.qq.com", "/cgi-bin/mmwebwx-bin/synccheck", "synccheck"},
		{"file.wx2.qq.com", "/cgi-bin/mmwebwx-bin/webwxuploadmedia", "webwxuploadmedia"},
		{"wx2.qq.com", "/cgi-bin/mmwebwx-bin/webwxsync", "webwxsync"},
		{"wx2.qq.com", "/cgi-bin/mmwebwx-bin/webwxgetmsgimg", "webwxgetmsgimg"},
		{"wx2.qq.com", "/cgi-bin/mmwebwx-bin/synccheck", ""},
		{"wx2.qq.com", "/jslogin", ""},
		{"example.com", "/cgi-bin/mmwebwx-bin/webwxsync", ""},
	} {
		assert.Equal(t, tt.want, endpointOf(tt.host, tt.path), "%s%s", tt.host, tt.path)
	}
	for _, ep := range faultEndpoints {
		known := false
		for _, host := range []string{"login.wx.qq.com", "wx2.qq.com", "file.wx2.qq.com", "webpush.wx2.qq.com"} {
			for _, path := range []string{"/" + ep, "/qrcode/x", "/cgi-bin/mmwebwx-bin/" + ep} {
				known = known || endpointOf(host, path) == ep
			}
		}
		assert.True(t, known, "the fault endpoint %s is served", ep)
	}
	assert.True(t, IsWeChatHost("WX2.qq.com:443"))
	assert.False(t, IsWeChatHost("qq.com"))
}
