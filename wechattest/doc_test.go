package wechattest

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// This file checks the "Strictness" section of doc.go: every refusal the
// server keeps still refuses (TestRefusals), with the real server's code,
// a reason in Requests and in the log; and what the real server accepts is
// accepted (TestTolerance).

// logSink collects what the server logs.
type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (l *logSink) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// ret posts body (with the harness's BaseRequest unless it has one) to the
// main-host JSON endpoint ep and returns the answer's BaseResponse.Ret.
func (h *harness) ret(ep string, body map[string]any) int {
	h.t.Helper()
	if _, ok := body["BaseRequest"]; !ok {
		body["BaseRequest"] = h.base()
	}
	var r struct{ BaseResponse baseResp }
	h.post(ep, nil, body, &r)
	return r.BaseResponse.Ret
}

// textMsg is a webwxsendmsg Msg from self to the friend, edited.
func (h *harness) textMsg(edit func(m map[string]any)) map[string]any {
	m := map[string]any{"Type": 1, "Content": "hi", "FromUserName": h.selfUN, "ToUserName": h.s.UserName("friend"),
		"LocalID": "17000000000000001", "ClientMsgId": "17000000000000001"}
	if edit != nil {
		edit(m)
	}
	return m
}

// syncCheckQuery is the query of a synccheck with the harness's
// credentials, edited.
func (h *harness) syncCheckQuery(edit func(q url.Values)) string {
	q := url.Values{"r": {"1"}, "skey": {h.skey}, "sid": {h.sid}, "uin": {strconv.FormatInt(h.uin, 10)},
		"deviceid": {"e123456789012345"}, "synckey": {h.checkKey.String()}}
	if edit != nil {
		edit(q)
	}
	return q.Encode()
}

// dataTicket returns the webwx_data_ticket cookie of the jar.
func (h *harness) dataTicket() string {
	for _, c := range h.hc.Jar.Cookies(&url.URL{Scheme: "https", Host: "file.wx2.qq.com", Path: "/"}) {
		if c.Name == "webwx_data_ticket" {
			return c.Value
		}
	}
	return ""
}

func TestRefusals(t *testing.T) {
	big := make([]byte, 2*chunkSize+10)
	for i := range big {
		big[i] = byte(i * 7)
	}
	sum := md5.Sum(big)
	bigMD5 := hex.EncodeToString(sum[:])
	upload := func(h *harness, edit func(i int, f map[string]string)) {
		h.uploadChunks("a.bin", "application/octet-stream", "doc", big, "filehelper", bigMD5, edit)
	}
	const main = "https://wx2.qq.com/cgi-bin/mmwebwx-bin/"

	tests := []struct {
		name  string
		fresh bool   // a harness that has not logged in
		ep    string // the endpoint of the refused request
		ret   int    // the code the refusal carries (0: none)
		do    func(h *harness)
	}{
		// Login (PROTOCOL 4).
		{"jslogin another appid", true, "jslogin", 400, func(h *harness) {
			h.get("https://login.wx.qq.com/jslogin?appid=wxeb7ec651dd0aefa9&fun=new")
		}},
		{"login poll unknown uuid", true, "login", 400, func(h *harness) { h.poll("nosuchuuid==") }},
		{"login poll expired", true, "login", 400, func(h *harness) {
			uuid := h.jslogin()
			h.s.ExpireQR()
			h.poll(uuid)
		}},
		{"login poll cancelled", true, "login", 202, func(h *harness) {
			uuid := h.jslogin()
			h.s.Cancel()
			h.poll(uuid)
		}},
		{"qrcode unknown uuid", true, "qrcode", 0, func(h *harness) { h.get("https://login.weixin.qq.com/qrcode/nosuchuuid==") }},
		{"newloginpage unknown ticket", true, "webwxnewloginpage", 1, func(h *harness) {
			h.get(main + "webwxnewloginpage?ticket=forged@qrticket_0&uuid=x&lang=zh_CN&scan=1&fun=new&version=v2")
		}},
		{"newloginpage another main host", true, "webwxnewloginpage", 1, func(h *harness) {
			h.get(strings.Replace(h.redirect(), "wx2.qq.com", "wx.qq.com", 1) + "&fun=new&version=v2")
		}},
		{"newloginpage web login banned", true, "webwxnewloginpage", 1203, func(h *harness) {
			h.s.cfg.banned = true
			h.get(h.redirect())
		}},
		{"newloginpage RefuseLogin", true, "webwxnewloginpage", 1205, func(h *harness) {
			redirect := h.redirect()
			h.s.RefuseLogin(1205, "too often")
			h.get(redirect)
		}},
		{"pushloginurl wrong uin", false, "webwxpushloginurl", 1, func(h *harness) { h.get(main + "webwxpushloginurl?uin=1") }},
		{"pushloginurl no auth cookies", false, "webwxpushloginurl", 3, func(h *harness) {
			jar := h.hc.Jar
			h.hc = h.s.Client()
			u := &url.URL{Scheme: "https", Host: "wx2.qq.com", Path: "/"}
			for _, c := range jar.Cookies(u) {
				if c.Name == "wxuin" {
					h.hc.Jar.SetCookies(u, []*http.Cookie{c})
				}
			}
			h.get(main + "webwxpushloginurl?uin=2212345678")
		}},

		// Every JSON call (PROTOCOL 3).
		{"no session cookies", false, "webwxinit", 1100, func(h *harness) {
			h.hc = h.s.Client()
			h.ret("webwxinit", map[string]any{})
		}},
		{"another main host", false, "webwxinit", 1100, func(h *harness) {
			h.main = "wx.qq.com"
			h.ret("webwxinit", map[string]any{})
		}},
		{"ended session", false, "webwxsync", 1101, func(h *harness) {
			h.s.EndSession(1101)
			h.sync()
		}},
		{"body not JSON", false, "webwxsync", 1200, func(h *harness) { h.postRaw(h.main, "webwxsync", nil, []byte("sid=1&uin=2")) }},
		{"no BaseRequest (keys are case-sensitive)", false, "webwxsync", 1100, func(h *harness) {
			h.ret("webwxsync", map[string]any{"BaseRequest": nil, "baseRequest": h.base(), "SyncKey": h.syncKey})
		}},
		{"another Uin", false, "webwxsync", 1100, func(h *harness) {
			h.ret("webwxsync", map[string]any{"BaseRequest": map[string]any{"Uin": 1, "Sid": h.sid, "Skey": h.skey}, "SyncKey": h.syncKey})
		}},
		{"another Sid", false, "webwxsync", 1100, func(h *harness) {
			h.ret("webwxsync", map[string]any{"BaseRequest": map[string]any{"Uin": h.uin, "Sid": "x", "Skey": h.skey}, "SyncKey": h.syncKey})
		}},
		{"no Skey after webwxinit", false, "webwxsync", 1100, func(h *harness) {
			h.ret("webwxsync", map[string]any{"BaseRequest": map[string]any{"Uin": h.uin, "Sid": h.sid, "Skey": ""}, "SyncKey": h.syncKey})
		}},
		{"a Skey of another session", false, "webwxsync", 1100, func(h *harness) {
			h.ret("webwxsync", map[string]any{"BaseRequest": map[string]any{"Uin": h.uin, "Sid": h.sid, "Skey": "@crypt_00000000_0"}, "SyncKey": h.syncKey})
		}},
		{"getcontact without a skey", false, "webwxgetcontact", 1100, func(h *harness) { h.get(main + "webwxgetcontact?seq=0") }},
		{"batchgetcontact over 50", false, "webwxbatchgetcontact", 1, func(h *harness) {
			list := make([]map[string]string, 51)
			for i := range list {
				list[i] = map[string]string{"UserName": h.s.UserName("friend")}
			}
			h.ret("webwxbatchgetcontact", map[string]any{"Count": 51, "List": list})
		}},

		// synccheck (PROTOCOL 6.1).
		{"synccheck another push host", false, "synccheck", 1100, func(h *harness) { h.syncCheck("webpush.weixin.qq.com") }},
		{"synccheck no cookies", false, "synccheck", 1102, func(h *harness) {
			h.hc = h.s.Client()
			h.syncCheck(h.pushHost())
		}},
		{"synccheck ended session", false, "synccheck", 1100, func(h *harness) {
			h.s.EndSession(1100)
			h.syncCheck(h.pushHost())
		}},
		{"synccheck another sid (a + sent raw)", false, "synccheck", 1101, func(h *harness) {
			h.get("https://" + h.pushHost() + "/cgi-bin/mmwebwx-bin/synccheck?" + strings.ReplaceAll(h.syncCheckQuery(nil), "%2B", "+"))
		}},
		{"synccheck another uin", false, "synccheck", 1101, func(h *harness) {
			h.get("https://" + h.pushHost() + "/cgi-bin/mmwebwx-bin/synccheck?" + h.syncCheckQuery(func(q url.Values) { q.Set("uin", "1") }))
		}},
		{"synccheck another skey", false, "synccheck", 1101, func(h *harness) {
			h.get("https://" + h.pushHost() + "/cgi-bin/mmwebwx-bin/synccheck?" + h.syncCheckQuery(func(q url.Values) { q.Set("skey", "x") }))
		}},
		{"synccheck misspelt synckey", false, "synccheck", 0, func(h *harness) {
			h.get("https://" + h.pushHost() + "/cgi-bin/mmwebwx-bin/synccheck?" + h.syncCheckQuery(func(q url.Values) {
				q["syncKey"] = q["synckey"]
				delete(q, "synckey")
			}))
		}},

		// webwxsync (PROTOCOL 6.2).
		{"sync without SyncKey", false, "webwxsync", 1, func(h *harness) { h.ret("webwxsync", map[string]any{"rr": 1}) }},
		{"sync SyncKey without key 1", false, "webwxsync", 1, func(h *harness) {
			h.ret("webwxsync", map[string]any{"SyncKey": map[string]any{"Count": 1, "List": []keyVal{{Key: 2, Val: 5}}}})
		}},
		{"sync empty SyncKey", false, "webwxsync", 1, func(h *harness) {
			h.ret("webwxsync", map[string]any{"SyncKey": map[string]any{"Count": 0, "List": []any{}}})
		}},

		// Sends (PROTOCOL 8).
		{"send without Msg", false, "webwxsendmsg", 1, func(h *harness) { h.ret("webwxsendmsg", map[string]any{"Scene": 0}) }},
		{"send from another", false, "webwxsendmsg", 1204, func(h *harness) {
			h.ret("webwxsendmsg", map[string]any{"Msg": h.textMsg(func(m map[string]any) { m["FromUserName"] = h.s.UserName("friend") })})
		}},
		{"send to self", false, "webwxsendmsg", 1204, func(h *harness) {
			h.ret("webwxsendmsg", map[string]any{"Msg": h.textMsg(func(m map[string]any) { m["ToUserName"] = h.selfUN })})
		}},
		{"send to an unknown UserName", false, "webwxsendmsg", 1204, func(h *harness) {
			h.ret("webwxsendmsg", map[string]any{"Msg": h.textMsg(func(m map[string]any) { m["ToUserName"] = "@0123" })})
		}},
		{"image with an unknown MediaId", false, "webwxsendmsgimg", 1, func(h *harness) {
			h.ret("webwxsendmsgimg", map[string]any{"Msg": h.textMsg(func(m map[string]any) { m["Type"], m["MediaId"], m["Content"] = 3, "@crypt_nope", "" })})
		}},
		{"image with neither MediaId nor Content", false, "webwxsendmsgimg", 1, func(h *harness) {
			h.ret("webwxsendmsgimg", map[string]any{"Msg": h.textMsg(func(m map[string]any) { m["Type"], m["Content"] = 3, "" })})
		}},
		{"video with an unknown MediaId", false, "webwxsendvideomsg", 1, func(h *harness) {
			h.ret("webwxsendvideomsg", map[string]any{"Msg": h.textMsg(func(m map[string]any) { m["Type"], m["MediaId"], m["Content"] = 43, "@crypt_nope", "" })})
		}},
		{"appmsg without Content", false, "webwxsendappmsg", 1, func(h *harness) {
			h.ret("webwxsendappmsg", map[string]any{"Msg": h.textMsg(func(m map[string]any) { m["Type"], m["Content"] = 5, "" })})
		}},
		{"file appmsg with an unknown attachid", false, "webwxsendappmsg", 1, func(h *harness) {
			h.ret("webwxsendappmsg", map[string]any{"Msg": h.textMsg(func(m map[string]any) {
				m["Type"], m["Content"] = 6, "<appmsg><type>6</type><appattach><attachid>@crypt_nope</attachid></appattach></appmsg>"
			})})
		}},
		{"file appmsg without attachid", false, "webwxsendappmsg", 1, func(h *harness) {
			h.ret("webwxsendappmsg", map[string]any{"Msg": h.textMsg(func(m map[string]any) { m["Type"], m["Content"] = 6, "<appmsg><type>6</type></appmsg>" })})
		}},
		{"emoticon with an unknown MediaId", false, "webwxsendemoticon", 1, func(h *harness) {
			h.ret("webwxsendemoticon", map[string]any{"Msg": h.textMsg(func(m map[string]any) { m["Type"], m["MediaId"], m["Content"] = 47, "@crypt_nope", "" })})
		}},
		{"emoticon with neither MediaId nor md5", false, "webwxsendemoticon", 1, func(h *harness) {
			h.ret("webwxsendemoticon", map[string]any{"Msg": h.textMsg(func(m map[string]any) { m["Type"], m["Content"] = 47, "" })})
		}},
		{"send over WithSendLimit", false, "webwxsendmsg", 1205, func(h *harness) {
			h.s.cfg.files.sendLimit, h.s.cfg.files.sendPer = 1, 1<<62
			h.ret("webwxsendmsg", map[string]any{"Msg": h.textMsg(nil)})
			h.ret("webwxsendmsg", map[string]any{"Msg": h.textMsg(nil)})
		}},
		{"revoke an unknown message", false, "webwxrevokemsg", 1, func(h *harness) {
			h.ret("webwxrevokemsg", map[string]any{"SvrMsgId": "123", "ToUserName": h.s.UserName("friend"), "ClientMsgId": "1"})
		}},
		{"revoke to another peer", false, "webwxrevokemsg", 1, func(h *harness) {
			r := h.sendText(h.s.UserName("friend"), "x", "1")
			h.ret("webwxrevokemsg", map[string]any{"SvrMsgId": r.MsgID, "ToUserName": "filehelper", "ClientMsgId": "1"})
		}},
		{"revoke twice", false, "webwxrevokemsg", 1, func(h *harness) {
			r := h.sendText(h.s.UserName("friend"), "x", "1")
			for range 2 {
				h.ret("webwxrevokemsg", map[string]any{"SvrMsgId": r.MsgID, "ToUserName": h.s.UserName("friend"), "ClientMsgId": "1"})
			}
		}},
		// The revoke window: TestSendLimitAndRevokeWindow.

		// Uploads (PROTOCOL 9). Files over 25 MB: TestCheckUploadAndSignature.
		{"upload on another file host", false, "webwxuploadmedia", 0, func(h *harness) {
			h.fileHost = "file.wx.qq.com"
			h.postRaw("file.wx.qq.com", "webwxuploadmedia", url.Values{"f": {"json"}}, []byte("x"))
		}},
		{"upload without session cookies", false, "webwxuploadmedia", 1100, func(h *harness) {
			h.hc = h.s.Client()
			h.postRaw("file.wx2.qq.com", "webwxuploadmedia", nil, []byte("x"))
		}},
		{"upload not multipart", false, "webwxuploadmedia", 1200, func(h *harness) {
			h.postRaw("file.wx2.qq.com", "webwxuploadmedia", nil, []byte("x"))
		}},
		{"upload with another data ticket", false, "webwxuploadmedia", 1, func(h *harness) {
			upload(h, func(_ int, f map[string]string) { f["webwx_data_ticket"] = "forged" })
		}},
		{"upload without the data ticket cookie", false, "webwxuploadmedia", 1, func(h *harness) {
			ticket := h.dataTicket()
			jar := h.hc.Jar
			h.hc = h.s.Client()
			for _, host := range []string{"wx2.qq.com", "file.wx2.qq.com"} {
				u := &url.URL{Scheme: "https", Host: host, Path: "/"}
				for _, c := range jar.Cookies(u) {
					if c.Name != "webwx_data_ticket" {
						h.hc.Jar.SetCookies(u, []*http.Cookie{c})
					}
				}
			}
			h.ticket = ticket
			upload(h, nil)
		}},
		{"uploadmediarequest not JSON", false, "webwxuploadmedia", 1200, func(h *harness) {
			upload(h, func(_ int, f map[string]string) { f["uploadmediarequest"] = "{" })
		}},
		{"uploadmediarequest with another Sid", false, "webwxuploadmedia", 1100, func(h *harness) {
			upload(h, func(_ int, f map[string]string) {
				f["uploadmediarequest"] = strings.Replace(f["uploadmediarequest"], h.sid, "x", 1)
			})
		}},
		{"upload size not a number", false, "webwxuploadmedia", 1, func(h *harness) {
			upload(h, func(_ int, f map[string]string) { f["size"] = "big" })
		}},
		{"upload without chunks over 512 KiB", false, "webwxuploadmedia", 1, func(h *harness) {
			upload(h, func(_ int, f map[string]string) { delete(f, "chunks"); delete(f, "chunk") })
		}},
		{"upload chunk out of range", false, "webwxuploadmedia", 1, func(h *harness) {
			upload(h, func(i int, f map[string]string) { f["chunk"] = "3" })
		}},
		{"upload chunk of the wrong size", false, "webwxuploadmedia", 1, func(h *harness) {
			upload(h, func(_ int, f map[string]string) { f["size"] = strconv.Itoa(len(big) + 1) })
		}},
		{"upload chunks out of order", false, "webwxuploadmedia", 1, func(h *harness) {
			upload(h, func(i int, f map[string]string) {
				if i == 1 {
					f["chunk"] = "2"
				}
			})
		}},
		{"checkupload upper-case md5", false, "webwxcheckupload", 1, func(h *harness) {
			h.ret("webwxcheckupload", map[string]any{"FileMd5": strings.ToUpper(bigMD5), "FileName": "a", "FileSize": 1, "FileType": 7})
		}},

		// Downloads (PROTOCOL 10).
		{"download with another skey", false, "webwxgeticon", 0, func(h *harness) {
			h.get(main + "webwxgeticon?seq=0&username=" + url.QueryEscape(h.s.UserName("friend")) + "&skey=x")
		}},
		{"download of an unknown message", false, "webwxgetmsgimg", 0, func(h *harness) {
			h.get(main + "webwxgetmsgimg?MsgID=123&skey=" + url.QueryEscape(h.skey))
		}},
		{"video without Range", false, "webwxgetvideo", 0, func(h *harness) {
			msgs := h.deliverAll(Video("friend", 3))
			h.get(main + "webwxgetvideo?msgid=" + msgs[0].MsgId + "&skey=" + url.QueryEscape(h.skey))
		}},
		{"member avatar without chatroomid", false, "webwxgeticon", 0, func(h *harness) {
			h.get(main + "webwxgeticon?seq=0&username=" + url.QueryEscape(h.s.UserName("carol")) + "&skey=" + url.QueryEscape(h.skey))
		}},
		{"getmedia without the data ticket", false, "webwxgetmedia", 0, func(h *harness) {
			msgs := h.deliverAll(File("alice", "a.pdf", 10, "@crypt_0a1b2c3d_a"))
			h.get("https://file.wx2.qq.com/cgi-bin/mmwebwx-bin/webwxgetmedia?mediaid=" + url.QueryEscape(msgs[0].MediaId))
		}},
		{"getmedia of unknown media", false, "webwxgetmedia", 0, func(h *harness) {
			h.get("https://file.wx2.qq.com/cgi-bin/mmwebwx-bin/webwxgetmedia?mediaid=x&webwx_data_ticket=" + url.QueryEscape(h.dataTicket()))
		}},

		// Contact operations (PROTOCOL 11); more in ops_test.go.
		{"oplog unknown UserName", false, "webwxoplog", 1, func(h *harness) {
			h.ret("webwxoplog", map[string]any{"CmdId": 2, "RemarkName": "x", "UserName": "@nobody"})
		}},
		{"oplog unknown CmdId", false, "webwxoplog", 1, func(h *harness) {
			h.ret("webwxoplog", map[string]any{"CmdId": 9, "UserName": h.s.UserName("friend")})
		}},
		{"oplog remark without RemarkName", false, "webwxoplog", 1, func(h *harness) {
			h.ret("webwxoplog", map[string]any{"CmdId": 2, "UserName": h.s.UserName("friend")})
		}},
		{"oplog pin with OP 2", false, "webwxoplog", 1, func(h *harness) {
			h.ret("webwxoplog", map[string]any{"CmdId": 3, "OP": 2, "UserName": h.s.UserName("friend")})
		}},
		{"verifyuser another skey", false, "webwxverifyuser", 1, func(h *harness) {
			h.ret("webwxverifyuser", map[string]any{"Opcode": 2, "VerifyUserList": []map[string]string{{"Value": h.s.UserName("carol")}}, "skey": "x"})
		}},
		{"verifyuser accept without a request", false, "webwxverifyuser", 1, func(h *harness) {
			h.ret("webwxverifyuser", map[string]any{"Opcode": 3, "VerifyUserList": []map[string]string{{"Value": h.s.UserName("carol"), "VerifyUserTicket": "v2_carol@stranger"}}, "skey": h.skey})
		}},
		{"createchatroom with a stranger", false, "webwxcreatechatroom", -2, func(h *harness) {
			h.ret("webwxcreatechatroom", map[string]any{"MemberList": []map[string]string{{"UserName": h.s.UserName("friend")}, {"UserName": h.s.UserName("carol")}}})
		}},
		{"updatechatroom unknown fun", false, "webwxupdatechatroom", 1, func(h *harness) {
			var r struct{ BaseResponse baseResp }
			h.post("webwxupdatechatroom", url.Values{"fun": {"nosuch"}}, map[string]any{"BaseRequest": h.base(), "ChatRoomName": h.s.UserName("group")}, &r)
		}},

		// Unknown paths.
		{"unknown path", false, "", 0, func(h *harness) { h.get(main + "webwxnosuch") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log logSink
			var h *harness
			if tt.fresh {
				h = newHarness(t, WithLogf(log.logf))
			} else {
				h = loggedIn(t, WithLogf(log.logf))
			}
			tt.do(h)
			r := h.last(tt.ep)
			assert.True(t, r.Refused(), "%s %s%s was not refused", r.Method, r.Host, r.Path)
			assert.Equal(t, tt.ret, r.Ret)
			assert.Zero(t, r.Fault)
			if r.Reason != "" {
				assert.Contains(t, log.String(), r.Reason, "the refusal is logged with its reason")
			}
		})
	}
}

// TestTolerance: what the real server accepts from the clients in use, the
// fake accepts.
func TestTolerance(t *testing.T) {
	t.Run("jslogin without fun or redirect_uri (IC, WXB)", func(t *testing.T) {
		h := newHarness(t)
		_, body := h.get("https://login.weixin.qq.com/jslogin?appid=" + appID)
		assert.Regexp(t, reQRLogin, string(body))
	})
	t.Run("newloginpage without fun and version (openwechat, ItChat)", func(t *testing.T) {
		h := newHarness(t)
		redirect := h.redirect()
		for _, extra := range []string{"", "&version=v2"} {
			_, body := h.get(redirect + extra)
			assert.True(t, strings.HasPrefix(string(body), "<error><ret>0</ret>"), "%s", body)
		}
		assert.Len(t, h.s.sessions, 1, "a ticket presented again answers its session again")
	})
	t.Run("the login skey after webwxinit (openwechat, ItChat)", func(t *testing.T) {
		h := loggedIn(t)
		require.NotEqual(t, h.xmlSkey, h.skey)
		login := *h
		login.skey = h.xmlSkey
		notify := map[string]any{"Code": 3, "FromUserName": h.selfUN, "ToUserName": h.selfUN, "ClientMsgId": 1700000000}
		assert.Equal(t, 0, login.ret("webwxstatusnotify", notify))
		assert.Equal(t, 0, login.sync().BaseResponse.Ret)
		_, body := login.get("https://wx2.qq.com/cgi-bin/mmwebwx-bin/webwxgetcontact?seq=0&skey=" + url.QueryEscape(h.xmlSkey))
		assert.Contains(t, string(body), "\"Ret\": 0")
		rc, _ := login.syncCheck(h.pushHost())
		assert.Equal(t, "0", rc)
		assert.Equal(t, 0, login.sendText(h.s.UserName("friend"), "hi", "1").BaseResponse.Ret)
	})
	t.Run("statusnotify of any code and peer (PROTOCOL 15)", func(t *testing.T) {
		h := loggedIn(t)
		for _, m := range []map[string]any{
			{"Code": 9, "FromUserName": h.selfUN, "ToUserName": h.selfUN},
			{"Code": 1, "FromUserName": h.s.UserName("friend"), "ToUserName": "@nobody"},
			{"Code": 3, "FromUserName": h.selfUN, "ToUserName": "filehelper"},
		} {
			assert.Equal(t, 0, h.ret("webwxstatusnotify", m), "%v", m)
		}
	})
	t.Run("sends with LocalID and ClientMsgId apart (ItChat), any Type", func(t *testing.T) {
		h := loggedIn(t)
		for name, edit := range map[string]func(m map[string]any){
			"ids differ":   func(m map[string]any) { m["LocalID"], m["ClientMsgId"] = 17000000000000001, 17000000000000002 },
			"no ids":       func(m map[string]any) { delete(m, "LocalID"); delete(m, "ClientMsgId") },
			"another Type": func(m map[string]any) { m["Type"] = 3 },
			"Uin string":   func(m map[string]any) {},
		} {
			body := map[string]any{"Msg": h.textMsg(edit)}
			if name == "Uin string" {
				body["BaseRequest"] = map[string]any{"Uin": strconv.FormatInt(h.uin, 10), "Sid": h.sid, "Skey": h.skey, "DeviceID": h.passTicket}
			}
			assert.Equal(t, 0, h.ret("webwxsendmsg", body), name)
		}
	})
	t.Run("webwxsync with a SyncKey Count that differs", func(t *testing.T) {
		h := loggedIn(t)
		assert.Equal(t, 0, h.ret("webwxsync", map[string]any{"SyncKey": map[string]any{"Count": 9, "List": h.syncKey.List}}))
	})
	t.Run("batchgetcontact without List, with junk entries", func(t *testing.T) {
		h := loggedIn(t)
		assert.Equal(t, 0, h.ret("webwxbatchgetcontact", map[string]any{"Count": 0}))
		assert.Equal(t, 0, h.ret("webwxbatchgetcontact", map[string]any{"List": []any{1, "x", map[string]string{"UserName": "@nobody"}}}))
	})
	t.Run("createchatroom without Topic, MemberCount off", func(t *testing.T) {
		h := loggedIn(t)
		assert.Equal(t, 0, h.ret("webwxcreatechatroom", map[string]any{"MemberCount": 7,
			"MemberList": []map[string]string{{"UserName": h.s.UserName("friend")}, {"UserName": h.s.UserName("alice")}}}))
	})
	t.Run("upload without name checks, wrong FileMd5 (up to 25 MB)", func(t *testing.T) {
		h := loggedIn(t)
		data := []byte("\x89PNG tiny")
		rs := h.uploadChunks("pic.png", "image/png", "", data, "filehelper", strings.Repeat("0", 32), func(_ int, f map[string]string) {
			delete(f, "mediatype")
		})
		require.Len(t, rs, 1)
		assert.Equal(t, 0, rs[0].BaseResponse.Ret)
		assert.NotEmpty(t, rs[0].MediaId)
	})
	t.Run("webwxstatreport (W4U)", func(t *testing.T) {
		h := loggedIn(t)
		assert.Equal(t, 0, h.ret("webwxstatreport", map[string]any{"Count": 1, "List": []map[string]any{{"Type": 1, "Text": "{}"}}}))
	})
	t.Run("pushloginurl on the login host (IC)", func(t *testing.T) {
		h := loggedIn(t)
		jar := h.hc.Jar
		u := &url.URL{Scheme: "https", Host: "login.weixin.qq.com", Path: "/"}
		for _, c := range jar.Cookies(&url.URL{Scheme: "https", Host: "wx2.qq.com", Path: "/"}) {
			jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: c.Value}}) // IC rebuilds its cookies
		}
		_, body := h.get("https://login.weixin.qq.com/cgi-bin/mmwebwx-bin/webwxpushloginurl?uin=2212345678")
		assert.Contains(t, string(body), `"ret":"0"`)
	})
}
