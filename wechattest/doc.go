// Package wechattest provides a faithful in-memory fake of the Web WeChat
// servers, for testing clients the way net/http/httptest is used for HTTP.
// It speaks the wire protocol of PROTOCOL.md only, so it works with any
// client: a Go client through [Server.Client] or [Server.ServeHTTP], and a
// client in any language, unmodified, through the HTTPS proxy of [Proxy]
// (the cmd/wechattest command runs it on its own).
//
// A test creates a [Server], hands [Server.Client] to the client under
// test, plays the phone with [Server.ConfirmLogin], [Server.Deliver] and
// [Server.EndSession], and checks what the client did with
// [Server.WaitSent], [Server.Uploads] and [Server.Requests]:
//
//	srv := wechattest.NewServer(wechattest.WithLogf(t.Logf))
//	defer srv.Close()
//	srv.ConfirmLogin()                             // the phone scans and taps "Log in"
//	srv.Deliver(wechattest.Text("friend", "ping")) // waits for the client's first webwxsync
//	// ... run a client with srv.Client() ...
//	sent, err := srv.WaitSent(ctx, 1)
//
// The server serves login.wx.qq.com and login.weixin.qq.com (jslogin, the
// login poll, /qrcode/<uuid>, webwxpushloginurl), the main host chosen with
// [WithMainHost] (webwxnewloginpage, webwxinit, webwxstatusnotify,
// webwxstatreport, webwxgetcontact, webwxbatchgetcontact, webwxsync, the
// send endpoints webwxsendmsg, webwxsendmsgimg, webwxsendvideomsg,
// webwxsendappmsg and webwxsendemoticon, webwxrevokemsg, webwxcheckupload,
// webwxpushloginurl, webwxlogout, the downloads webwxgetmsgimg,
// webwxgetvoice, webwxgetvideo, webwxgeticon, webwxgetheadimg and
// webwxgetpubliclinkimg, and the contact operations webwxoplog,
// webwxverifyuser, webwxcreatechatroom and webwxupdatechatroom), its file
// host (webwxuploadmedia, webwxgetmedia) and its push host (synccheck).
// Answers are byte-faithful: JavaScript bodies without trailing newline,
// the newloginpage XML with root <error>, JSON served as text/plain in the
// server's multi-line layout (PROTOCOL 14.2) or, for short send answers, in
// its compact one-line layout, cookies with the real domains and expiries.
// UserNames change at every login; use [Server.UserName] to map the stable
// ids of the [Account] to them.
//
// The files follow the ideas: server.go (the Server, its options, routing
// and Requests), client.go (the in-memory transport), session.go (the
// session's credentials, the checks every call goes through, webwxinit and
// webwxstatusnotify), login.go, sync.go, contacts.go and contacts_ops.go,
// send.go, media.go and media_upload.go, faults.go, proxy.go, driver.go
// (what a test does in place of the phone, and the waits), and account.go,
// messages.go and encode.go for the data.
//
// # Strictness
//
// The server is as strict as the real one, as far as PROTOCOL.md shows it:
// it refuses what the real server refuses, so client bugs fail tests, and
// accepts the variants the real server is reported to accept from the
// clients in use (the official web client, openwechat, ItChat, wechat4u),
// so any of them runs against it. Each
// refusal answers the real server's code (or, where no source gives one,
// the code of PROTOCOL 13 that fits: Ret 1 for a parameter error) in the
// endpoint's full body with zero values (PROTOCOL 14.6), and records its
// code and reason in [Request.Ret] and [Request.Reason] and through
// [WithLogf]. The refusals, and why each is kept:
//
//   - jslogin: window.QRLogin.code 400 for an appid other than
//     wx782c26e4c19acffb (PROTOCOL 4.1: it names the Web WeChat app; no
//     working client uses another).
//   - Login poll: 400 for a uuid jslogin never issued or one that expired,
//     202 after [Server.Cancel] (PROTOCOL 4.3). /qrcode/<uuid> answers 404
//     for a uuid jslogin never issued.
//   - webwxnewloginpage: ret 1 for a ticket the login poll never handed
//     out (the server's credential; PROTOCOL 4.4) or on a main host other
//     than the redirect's (PROTOCOL 2.2); ret 1203 with
//     [WithWebLoginBanned] unless the request has the UOS headers
//     (PROTOCOL 4.4, 4.5); the answer set by [Server.RefuseLogin].
//   - webwxpushloginurl: ret "1" without the account's uin (parameter and
//     wxuin cookie), ret "3" without the webwxuvid and webwx_auth_ticket
//     cookies of an earlier session (PROTOCOL 4.6).
//   - Every call of the session hosts: Ret 1100 without the wxuin and wxsid
//     cookies of a session (PROTOCOL 3.6) or on another main host
//     (PROTOCOL 2.2: the session lives on the host of the redirect); the
//     session's end code once it ended ([Server.EndSession], webwxlogout,
//     a new login, a logout code; PROTOCOL 12.5); Ret 1200 for a body that
//     is not JSON (PROTOCOL 13); Ret 1100 for a BaseRequest that is missing
//     or whose Uin, Sid or Skey is not the session's (PROTOCOL 3.2, 5.1:
//     stale credentials). The Skey may be the SKey of webwxinit or the skey
//     of the login XML (openwechat and ItChat keep using it); webwxinit
//     also takes "" (PROTOCOL 3.2). Keys match case-sensitively and "\/"
//     is not unescaped (PROTOCOL 3.7), so a client that gets either wrong
//     sends a missing key or a backslash.
//   - webwxgetcontact: Ret 1100 for a skey parameter that is not a skey of
//     the session (PROTOCOL 5.3). webwxbatchgetcontact: Ret 1 for more than
//     50 entries (PROTOCOL 5.4); a group member who is not a contact is
//     only returned when EncryChatRoomId (or ChatRoomId) names a group that
//     has them (PROTOCOL 5.8).
//   - synccheck: at once, retcode 1100 on a push host other than the
//     session's (PROTOCOL 2.2), 1102 without the session's cookies
//     (PROTOCOL 6.1), 1101 when sid, uin or skey is not the session's
//     (a sid whose + was not sent as %2B included), selector 0 when the
//     synckey parameter is missing or misspelt (PROTOCOL 6.1). It answers
//     selector 2 as long as events newer than key 1 exist, so a client
//     that does not sync busy-loops visibly (PROTOCOL 14.13).
//   - webwxsync: Ret 1 for a SyncKey that is missing or has no key 1
//     (PROTOCOL 6.2: the SyncKey is sent back as received).
//   - Sends: Ret 1204 when Msg.FromUserName is not self or ToUserName is
//     self or no UserName of the session (PROTOCOL 8.1); Ret 1 without a
//     Msg, or for media the server does not have: an unknown MediaId, an
//     image or video with neither MediaId nor Content, an appmsg without
//     Content, a file appmsg whose <attachid> is unknown, an emoticon with
//     neither MediaId nor EMoticonMd5, a file over 25 MB without the
//     Signature of its upload (PROTOCOL 8.3-8.7, 9.2); Ret 1205 over
//     [WithSendLimit]. webwxrevokemsg: Ret 1 for a message that was not
//     sent to ToUserName, is revoked already or is older than the revoke
//     window (PROTOCOL 8.9).
//   - webwxuploadmedia: 404 on a host other than the session's file host
//     (PROTOCOL 2.2); the session checks, with the BaseRequest of
//     uploadmediarequest; Ret 1200 for a body that is not multipart with a
//     file part or an uploadmediarequest that is not JSON; Ret 1 when the
//     webwx_data_ticket field or cookie is missing or differs (PROTOCOL
//     9.1: MUST), for a size that is not a positive number, for chunk
//     fields that do not cut the file into 524288-byte chunks sent in
//     order (PROTOCOL 9.1), and for a file over 25 MB without the AESKey
//     and Signature of webwxcheckupload (PROTOCOL 9.2). webwxcheckupload:
//     Ret 1 for a FileMd5 that is not lower-case hex or a FileSize that is
//     not positive.
//   - Downloads: the session checks and a skey of the session (empty
//     allowed for webwxgetheadimg and webwxgetpubliclinkimg); a refused
//     request, an unknown or expired message and webwxgetvideo without
//     Range (PROTOCOL 10.3, 14.18) get 200 with an empty body, a group
//     member's avatar needs the chatroomid of a group that has them
//     (PROTOCOL 10.5). webwxgetmedia answers a 404 page without the
//     cookies of a live session, without the webwx_data_ticket parameter
//     equal to the cookie (PROTOCOL 10.4: MUST), or for a mediaid that is
//     no delivered file.
//   - The contact operations check what their request names and what
//     PROTOCOL 11 allows; their refusals are listed in contacts_ops.go.
//   - Unknown paths answer 404 with a small HTML page; hosts that are not
//     Web WeChat hosts, hosts set with [Server.SetUnreachable] and any
//     request after [Server.Close] fail with a transport error. Both are
//     logged, and fail the test with [WithStrict].
//
// What the real server accepts and the fake therefore does not check:
// jslogin's fun, lang and redirect_uri; webwxnewloginpage's fun, version
// and uuid (openwechat sends no fun=new, ItChat neither fun nor version),
// and a ticket presented again (it answers the same session); statusnotify's
// code and UserNames (PROTOCOL 15); DeviceID (PROTOCOL 14.23); the
// SyncKey's Count; whether LocalID and ClientMsgId are equal (ItChat sends
// two values) and Msg.Type against the endpoint; the counts of
// webwxverifyuser and webwxcreatechatroom; the name, mediatype, TotalLen and
// FileMd5 of uploads up to 25 MB; webwxcheckupload's name, type and
// UserNames; webwxgetmedia's sender, fromuser and file name. A missing List
// of webwxbatchgetcontact is an empty one, and entries it cannot read are
// skipped.
//
// # Diagnostics
//
// [Server.Requests] lists every request with its [Request.Endpoint],
// [Request.Status], and for a refusal its [Request.Ret] and
// [Request.Reason]; [Request.Fault] names an injected fault. [WithLogf]
// sends every refusal, served fault and unknown path or host to a log such
// as t.Logf, so a failing test explains itself; [WithStrict] makes unknown
// paths and hosts fail the test.
//
// # Faults
//
// [Server.Inject] makes the next requests to any endpoint fail in one of
// the ways of [Fault]: a code, the nginx 502 page, a 200 HTML portal page,
// an empty 200, a truncated body, a connection reset mid-body, a slow body,
// a delay, a hang; and the protocol's own hazards: a SyncKey that goes back
// or comes empty, a duplicated batch, a clock that is off. [WithSendLimit],
// [Server.RateLimitOps], [Server.FailNextChunk], [Server.EmptyNextMedia] and
// [Server.ExpireMedia] cover the rest.
//
// # Time
//
// The server runs no goroutines and keeps time with time.Now and timers in
// the goroutine of the request. [Server.Client] calls [Server.ServeHTTP] in
// the caller's goroutine, so held polls end with the request context, and
// tests run inside testing/synctest: long polls, the delays and slow bodies
// of faults take no real time, and time.Sleep moves the server's clock past
// revoke windows and send limits. ([Proxy] uses real sockets and does not
// run in a bubble.)
//
// # Behaviour worth knowing
//
// Messages delivered before login (or after the session ended) wait for the
// next session. Each session's event log starts with the MsgType 51
// StatusNotifyCode 4 chat-list message the real server sends after login
// (PROTOCOL 7.5), which clients must not surface as a user message. Sends
// are echoed to the event log from self (PROTOCOL 14.21), without a group
// prefix. SyncKey key 1 is the event sequence; the log is kept, so a client
// that sends an older SyncKey gets the old events again, and webwxinit
// answers the highest key 1 a webwxsync request carried. The SyncCheckKey has
// more keys than the SyncKey and a different key 2, so a client that mixes
// them up shows in [Server.Requests]; synccheck accepts either. A new login
// ends a live session with 1101.
package wechattest
