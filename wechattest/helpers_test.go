package wechattest

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// harness is a hand-written client: raw requests, as a test of the server
// must be independent of the real client.
type harness struct {
	t  testing.TB
	s  *Server
	hc *http.Client

	main       string // main host from the redirect
	fileHost   string // upload host; "" means the one of PROTOCOL 2.2
	ticket     string // webwx_data_ticket field of uploads; "" means the jar's
	uin        int64
	sid        string
	xmlSkey    string
	skey       string
	passTicket string
	selfUN     string
	syncKey    syncKey
	checkKey   syncKey
}

type baseResp struct {
	Ret    int
	ErrMsg string
}

type keyVal struct {
	Key int
	Val int64
}

type syncKey struct {
	Count int
	List  []keyVal
}

func (k syncKey) String() string {
	parts := make([]string, len(k.List))
	for i, kv := range k.List {
		parts[i] = fmt.Sprintf("%d_%d", kv.Key, kv.Val)
	}
	return strings.Join(parts, "|")
}

func (k syncKey) val(key int) int64 {
	for _, kv := range k.List {
		if kv.Key == key {
			return kv.Val
		}
	}
	return -1
}

type contactResp struct {
	Uin             int64
	UserName        string
	NickName        string
	HeadImgUrl      string
	ContactFlag     int
	MemberCount     int
	MemberList      []contactResp
	RemarkName      string
	VerifyFlag      int
	OwnerUin        int64
	AttrStatus      int64
	DisplayName     string
	KeyWord         string
	EncryChatRoomId string
	IsOwner         int
	ChatRoomOwner   string
}

type initResp struct {
	BaseResponse        baseResp
	Count               int
	ContactList         []contactResp
	SyncKey             syncKey
	User                contactResp
	ChatSet             string
	SKey                string
	InviteStartCount    int
	MPSubscribeMsgCount int
}

type msgResp struct {
	MsgId                string
	NewMsgId             json.Number
	FromUserName         string
	ToUserName           string
	MsgType              int
	Content              string
	FileSize             string
	MediaId              string
	StatusNotifyCode     int
	StatusNotifyUserName string
	CreateTime           int64
}

type syncResp struct {
	BaseResponse baseResp
	AddMsgCount  int
	AddMsgList   []msgResp
	ContinueFlag int
	SyncKey      syncKey
	SyncCheckKey syncKey
	SKey         string
}

type sendResp struct {
	BaseResponse baseResp
	MsgID        string
	LocalID      string
}

type uploadResp struct {
	BaseResponse      baseResp
	MediaId           string
	StartPos          int64
	CDNThumbImgHeight int
	EncryFileName     string
}

func newHarness(t testing.TB, opts ...Option) *harness {
	t.Helper()
	s := NewServer(opts...)
	t.Cleanup(s.Close)
	return &harness{t: t, s: s, hc: s.Client()}
}

// do sends a request and returns the response with its body read.
func (h *harness) do(req *http.Request) (*http.Response, []byte) {
	h.t.Helper()
	resp, err := h.hc.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	return resp, body
}

func (h *harness) get(rawURL string) (*http.Response, []byte) {
	h.t.Helper()
	req, err := http.NewRequestWithContext(h.t.Context(), http.MethodGet, rawURL, nil)
	require.NoError(h.t, err)
	return h.do(req)
}

// postRaw posts body to https://<host>/cgi-bin/mmwebwx-bin/<endpoint>?<q>.
func (h *harness) postRaw(host, endpoint string, q url.Values, body []byte) (*http.Response, []byte) {
	h.t.Helper()
	u := "https://" + host + "/cgi-bin/mmwebwx-bin/" + endpoint
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(h.t.Context(), http.MethodPost, u, bytes.NewReader(body))
	require.NoError(h.t, err)
	req.Header.Set("Content-Type", "application/json;charset=UTF-8")
	return h.do(req)
}

// post posts v as JSON to the main host and decodes the answer into out.
func (h *harness) post(endpoint string, q url.Values, v any, out any) []byte {
	h.t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	require.NoError(h.t, enc.Encode(v))
	resp, body := h.postRaw(h.main, endpoint, q, b.Bytes())
	require.Equal(h.t, http.StatusOK, resp.StatusCode)
	assert.Equal(h.t, "text/plain", resp.Header.Get("Content-Type"))
	if out != nil {
		d := json.NewDecoder(bytes.NewReader(body))
		d.UseNumber()
		require.NoError(h.t, d.Decode(out), "body: %s", body)
	}
	return body
}

func (h *harness) base() map[string]any {
	return map[string]any{"Uin": h.uin, "Sid": h.sid, "Skey": h.skey, "DeviceID": "e123456789012345"}
}

var (
	reQRLogin  = regexp.MustCompile(`^window\.QRLogin\.code = 200; window\.QRLogin\.uuid = "([^"]+)";$`)
	reCode     = regexp.MustCompile(`window\.code=(\d+);`)
	reRedirect = regexp.MustCompile(`window\.redirect_uri="([^"]+)";`)
	reSync     = regexp.MustCompile(`^window\.synccheck=\{retcode:"(\d+)",selector:"(\d+)"\}$`)
)

// jslogin asks for a uuid like the UOS client does.
func (h *harness) jslogin() string {
	h.t.Helper()
	q := url.Values{
		"appid":        {appID},
		"fun":          {"new"},
		"lang":         {"zh_CN"},
		"redirect_uri": {"https://wx.qq.com/cgi-bin/mmwebwx-bin/webwxnewloginpage?mod=desktop"},
		"_":            {"1700000000000"},
	}
	resp, body := h.get("https://login.wx.qq.com/jslogin?" + q.Encode())
	require.Equal(h.t, http.StatusOK, resp.StatusCode)
	m := reQRLogin.FindSubmatch(body)
	require.NotNil(h.t, m, "jslogin body %q", body)
	return string(m[1])
}

// poll runs one login poll and returns the code and body.
func (h *harness) poll(uuid string) (int, string) {
	h.t.Helper()
	q := url.Values{"loginicon": {"true"}, "uuid": {uuid}, "tip": {"0"}, "r": {"-1890000000"}, "_": {"1700000000001"}}
	resp, body := h.get("https://login.wx.qq.com/cgi-bin/mmwebwx-bin/login?" + q.Encode())
	require.Equal(h.t, http.StatusOK, resp.StatusCode)
	m := reCode.FindSubmatch(body)
	require.NotNil(h.t, m, "poll body %q", body)
	code, _ := strconv.Atoi(string(m[1]))
	return code, string(body)
}

type loginXML struct {
	Ret        int    `xml:"ret"`
	Message    string `xml:"message"`
	Skey       string `xml:"skey"`
	Wxsid      string `xml:"wxsid"`
	Wxuin      int64  `xml:"wxuin"`
	PassTicket string `xml:"pass_ticket"`
}

// newLoginPage exchanges the redirect for a session.
func (h *harness) newLoginPage(redirect string, header http.Header) (*http.Response, loginXML, []byte) {
	h.t.Helper()
	req, err := http.NewRequestWithContext(h.t.Context(), http.MethodGet, redirect+"&fun=new&version=v2", nil)
	require.NoError(h.t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, body := h.do(req)
	var x loginXML
	require.NoError(h.t, xml.Unmarshal(body, &x), "body %q", body)
	return resp, x, body
}

// redirect scans, confirms and polls until the 200 answer.
func (h *harness) redirect() string {
	h.t.Helper()
	h.s.ConfirmLogin()
	uuid := h.jslogin()
	code, _ := h.poll(uuid)
	require.Equal(h.t, 201, code)
	code, body := h.poll(uuid)
	require.Equal(h.t, 200, code)
	m := reRedirect.FindStringSubmatch(body)
	require.NotNil(h.t, m)
	return m[1]
}

// login runs the whole QR login.
func (h *harness) login() {
	h.t.Helper()
	redirect := h.redirect()
	u, err := url.Parse(redirect)
	require.NoError(h.t, err)
	h.main = u.Host
	_, x, _ := h.newLoginPage(redirect, nil)
	require.Equal(h.t, 0, x.Ret)
	h.uin, h.sid, h.xmlSkey, h.skey, h.passTicket = x.Wxuin, x.Wxsid, x.Skey, x.Skey, x.PassTicket
}

// initSession runs webwxinit and statusnotify Code 3.
func (h *harness) initSession() initResp {
	h.t.Helper()
	var ir initResp
	h.post("webwxinit", url.Values{"r": {"-1890000000"}, "pass_ticket": {h.passTicket}},
		map[string]any{"BaseRequest": h.base()}, &ir)
	require.Equal(h.t, 0, ir.BaseResponse.Ret)
	h.skey, h.selfUN, h.syncKey, h.checkKey = ir.SKey, ir.User.UserName, ir.SyncKey, ir.SyncKey
	var sr struct {
		BaseResponse baseResp
		MsgID        string
	}
	h.post("webwxstatusnotify", url.Values{"pass_ticket": {h.passTicket}}, map[string]any{
		"BaseRequest": h.base(), "Code": 3, "FromUserName": h.selfUN, "ToUserName": h.selfUN, "ClientMsgId": 1700000000000,
	}, &sr)
	require.Equal(h.t, 0, sr.BaseResponse.Ret)
	return ir
}

// pushHost returns the push host of the session.
func (h *harness) pushHost() string {
	_, _, push := derivedHosts(h.main)
	return push
}

// syncCheck runs synccheck on host with the current SyncCheckKey.
func (h *harness) syncCheck(host string) (retcode, selector string) {
	h.t.Helper()
	q := url.Values{
		"r": {"1700000000000"}, "skey": {h.skey}, "sid": {h.sid}, "uin": {strconv.FormatInt(h.uin, 10)},
		"deviceid": {"e123456789012345"}, "synckey": {h.checkKey.String()}, "_": {"1700000000002"},
	}
	resp, body := h.get("https://" + host + "/cgi-bin/mmwebwx-bin/synccheck?" + q.Encode())
	require.Equal(h.t, http.StatusOK, resp.StatusCode)
	m := reSync.FindStringSubmatch(string(body))
	require.NotNil(h.t, m, "synccheck body %q", body)
	return m[1], m[2]
}

// sync runs webwxsync with the current SyncKey and takes the new keys.
func (h *harness) sync() syncResp {
	h.t.Helper()
	var sr syncResp
	h.post("webwxsync", url.Values{"sid": {h.sid}, "skey": {h.skey}, "pass_ticket": {h.passTicket}},
		map[string]any{"BaseRequest": h.base(), "SyncKey": h.syncKey, "rr": -1890000001}, &sr)
	if sr.BaseResponse.Ret == 0 {
		h.syncKey, h.checkKey = sr.SyncKey, sr.SyncCheckKey
	}
	return sr
}

// sendText sends text to the UserName to.
func (h *harness) sendText(to, text, localID string) sendResp {
	h.t.Helper()
	var sr sendResp
	h.post("webwxsendmsg", url.Values{"lang": {"zh_CN"}, "pass_ticket": {h.passTicket}}, map[string]any{
		"BaseRequest": h.base(),
		"Msg": map[string]any{"Type": 1, "Content": text, "FromUserName": h.selfUN, "ToUserName": to,
			"LocalID": localID, "ClientMsgId": localID},
		"Scene": 0,
	}, &sr)
	return sr
}

// last returns the last request to the endpoint ep.
func (h *harness) last(ep string) Request {
	h.t.Helper()
	rs := h.s.Requests()
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i].Endpoint == ep {
			return rs[i]
		}
	}
	h.t.Fatalf("no request to %s", ep)
	return Request{}
}

func multipartWriter(w io.Writer) *multipart.Writer { return multipart.NewWriter(w) }

// decode decodes a JSON body, numbers kept exact.
func decode(t *testing.T, body []byte, out any) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	require.NoError(t, d.Decode(out), "body: %s", body)
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(v))
	return b.Bytes()
}

// upload sends data in 512 KiB chunks as the official client does and
// returns the MediaId of the last answer.
func (h *harness) upload(name, mime, mediatype string, data []byte, to string) string {
	h.t.Helper()
	sum := md5.Sum(data)
	var mediaID string
	for _, r := range h.uploadChunks(name, mime, mediatype, data, to, hex.EncodeToString(sum[:]), nil) {
		require.Equal(h.t, 0, r.BaseResponse.Ret)
		mediaID = r.MediaId
	}
	require.NotEmpty(h.t, mediaID)
	return mediaID
}

// uploadChunks posts the chunks of data; edit may alter each chunk's form.
func (h *harness) uploadChunks(name, mime, mediatype string, data []byte, to, fileMD5 string, edit func(chunk int, fields map[string]string)) []uploadResp {
	h.t.Helper()
	file := h.fileHost
	if file == "" {
		_, file, _ = derivedHosts(h.main)
	}
	ticket := h.ticket
	for _, c := range h.hc.Jar.Cookies(&url.URL{Scheme: "https", Host: file, Path: "/"}) {
		if c.Name == "webwx_data_ticket" {
			ticket = c.Value
		}
	}
	require.NotEmpty(h.t, ticket)
	umr := string(mustJSON(h.t, map[string]any{"UploadType": 2, "BaseRequest": h.base(), "ClientMediaId": 1700000000000,
		"TotalLen": len(data), "StartPos": 0, "DataLen": len(data), "MediaType": 4,
		"FromUserName": h.selfUN, "ToUserName": to, "FileMd5": fileMD5}))
	chunks := (len(data) + chunkSize - 1) / chunkSize
	var out []uploadResp
	for i := 0; i < chunks; i++ {
		part := data[i*chunkSize : min(len(data), (i+1)*chunkSize)]
		fields := map[string]string{
			"id": "WU_FILE_0", "name": name, "type": mime, "lastModifiedDate": "Mon Jan 02 2006 15:04:05 GMT+0800 (中国标准时间)",
			"size": strconv.Itoa(len(data)), "mediatype": mediatype, "uploadmediarequest": umr,
			"webwx_data_ticket": ticket, "pass_ticket": "undefined",
		}
		if chunks > 1 {
			fields["chunks"], fields["chunk"] = strconv.Itoa(chunks), strconv.Itoa(i)
		}
		if edit != nil {
			edit(i, fields)
		}
		var b bytes.Buffer
		mw := multipartWriter(&b)
		for _, k := range []string{"id", "name", "type", "lastModifiedDate", "size", "chunks", "chunk", "mediatype", "uploadmediarequest", "webwx_data_ticket", "pass_ticket"} {
			if v, ok := fields[k]; ok {
				require.NoError(h.t, mw.WriteField(k, v))
			}
		}
		fw, err := mw.CreateFormFile("filename", name)
		require.NoError(h.t, err)
		fw.Write(part)
		require.NoError(h.t, mw.Close())
		req, err := http.NewRequestWithContext(h.t.Context(), http.MethodPost, "https://"+file+"/cgi-bin/mmwebwx-bin/webwxuploadmedia?f=json", &b)
		require.NoError(h.t, err)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		_, body := h.do(req)
		var r uploadResp
		require.NoError(h.t, json.Unmarshal(body, &r), "%s", body)
		out = append(out, r)
		if r.BaseResponse.Ret != 0 {
			break
		}
		if i < chunks-1 {
			assert.Empty(h.t, r.MediaId, "intermediate chunks carry no MediaId")
		} else {
			assert.Equal(h.t, int64(len(data)), r.StartPos)
			assert.Equal(h.t, strings.ReplaceAll(name, ".", "%2E"), r.EncryFileName)
		}
	}
	return out
}
