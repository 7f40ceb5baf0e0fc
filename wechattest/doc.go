// Package wechattest provides a faithful, strict, in-memory fake of the Web
// WeChat servers, for testing clients the way net/http/httptest is used
// for HTTP. It speaks the wire protocol of PROTOCOL.md only, so it works
// with any Go client that accepts an *http.Client.
//
// A test creates a [Server], hands [Server.Client] to the client under
// test, plays the phone with [Server.ConfirmLogin], [Server.Deliver] and
// [Server.EndSession], and checks what the client did with
// [Server.WaitSent], [Server.Uploads] and [Server.Requests]:
//
//	srv := wechattest.NewServer(wechattest.WithLongPoll(50 * time.Millisecond))
//	defer srv.Close()
//	srv.ConfirmLogin()                             // the phone scans and taps "Log in"
//	srv.Deliver(wechattest.Text("friend", "ping")) // waits for the client's first webwxsync
//	// ... run a client with srv.Client() ...
//	sent, err := srv.WaitSent(ctx, 1)
//
// The server serves login.wx.qq.com and login.weixin.qq.com (jslogin, the
// login poll, /qrcode/<uuid>), the main host chosen with [WithMainHost]
// (webwxnewloginpage, webwxinit, webwxstatusnotify, webwxgetcontact,
// webwxbatchgetcontact, webwxsync, webwxsendmsg, webwxsendmsgimg,
// webwxsendvideomsg, webwxsendappmsg, webwxsendemoticon, webwxrevokemsg,
// webwxcheckupload, webwxpushloginurl, webwxlogout, the downloads
// webwxgetmsgimg, webwxgetvoice, webwxgetvideo, webwxgeticon and
// webwxgetheadimg, and the contact operations webwxoplog, webwxverifyuser,
// webwxcreatechatroom and webwxupdatechatroom), its file host
// (webwxuploadmedia, webwxgetmedia) and its push host (synccheck). Answers are byte-faithful: JavaScript bodies without
// trailing newline, the newloginpage XML with root <error>, JSON served as
// text/plain in the server's multi-line layout (PROTOCOL 14.2) or, for
// short send answers, in its compact one-line layout, cookies with the
// real domains and expiries. UserNames change at every login; use
// [Server.UserName] to map the stable ids of the [Account] to them.
//
// # Strictness
//
// The server rejects what the real server rejects, and a little more where
// the real behaviour is a hazard for clients:
//
//   - jslogin needs appid wx782c26e4c19acffb and fun=new, else it answers
//     window.QRLogin.code = 400.
//   - The login poll answers 400 for an unknown or expired uuid and 202 after
//     [Server.Cancel]; it holds for [WithLongPoll] and then answers 408.
//   - webwxnewloginpage needs fun=new, version=v2, the uuid and an unused
//     ticket issued for it, on the main host the redirect named; otherwise,
//     and for a ticket presented twice, it answers <error><ret>1</ret>.
//     With [WithWebLoginBanned] it answers ret 1203 unless the request
//     carries the UOS headers client-version: 2.0.0 and the exact extspam.
//   - Every JSON call of the main host needs the session's main host (Ret
//     1100 on another one), the wxuin and wxsid cookies (Ret 1100), a JSON
//     body (Ret 1200), and a BaseRequest whose Uin (number or numeric
//     string), Sid and Skey match the session (Ret 1100). The Skey must be
//     the SKey webwxinit returned; only webwxinit also accepts "" or the
//     skey of the login XML. After [Server.EndSession] or webwxlogout every
//     call answers the session's end code. Error answers are the endpoint's
//     full body with zero values (PROTOCOL 14.6).
//   - Request JSON keys match case-sensitively, and "\/" is not unescaped:
//     a client that escapes slashes sends a backslash (PROTOCOL 3.7).
//   - webwxgetcontact needs the current skey in its query (Ret 1100).
//   - webwxbatchgetcontact answers Ret 1 for more than 50 entries (the real
//     server's limit is not documented; all clients chunk by 50). A group
//     member who is not a contact is only returned when EncryChatRoomId (or
//     ChatRoomId) names a group that has them; unknown UserNames are
//     skipped.
//   - webwxstatusnotify needs FromUserName self, ToUserName self for Code 3
//     and a known ToUserName for Codes 1, 2 and 5 (Ret 1 otherwise, also for
//     other codes).
//   - synccheck answers retcode 1100 at once on a push host other than the
//     session's (webpush.<main> by the table of PROTOCOL 2.2, or the
//     fallback webpush2.<main>), 1102 without the session's wxuin/wxsid
//     cookies, 1101 when sid, uin or skey do not match, and at once with
//     selector 0 when the synckey parameter is missing or has no key 1.
//     It answers selector 2 as long as events newer than key 1 exist, so a
//     client that does not sync busy-loops visibly.
//   - webwxsync answers Ret 1 when SyncKey is missing, its Count is 0 or
//     differs from the length of List, or it has no key 1.
//   - The send endpoints answer Ret 1204 unless Msg.FromUserName is self and
//     ToUserName is a UserName of this session other than self; Ret 1 when
//     LocalID and ClientMsgId differ or are empty, when Msg.Type does not
//     suit the endpoint (webwxsendmsg 1 or 48, webwxsendmsgimg 3,
//     webwxsendvideomsg 43 or 62, webwxsendemoticon 47), or when the media
//     is unknown: MediaId must come from an upload or a delivered message
//     (an empty MediaId with a Content is a forward, PROTOCOL 8.7), a file
//     appmsg (Type 6) must name such a MediaId in <attachid>, an emoticon
//     needs a known MediaId or an EMoticonMd5.
//   - webwxrevokemsg answers Ret 1 unless SvrMsgId is a MsgID the server
//     answered for a send to ToUserName.
//   - webwxuploadmedia answers a plain 404 on any host but the session's
//     file host (file.<main> by PROTOCOL 2.2, or the fallback
//     file2.<main>). It needs the session cookies and a BaseRequest in
//     uploadmediarequest like the JSON calls, a multipart body (Ret 1200),
//     the webwx_data_ticket form field equal to the cookie (Ret 1), name,
//     size equal to TotalLen, mediatype, and for files over 524288 bytes
//     chunks = ceil(size/524288) and chunk; chunks must arrive in order and
//     hold exactly 524288 bytes except the last (Ret 1), and FileMd5 must be
//     the lower-case hex MD5 of the whole file (Ret 1 on the last chunk).
//   - webwxpushloginurl needs the wxuin, webwxuvid and webwx_auth_ticket
//     cookies of an earlier session of the account on that host: ret "1"
//     (args error) without a matching uin, ret "3" (device authinfo
//     invalid) without the auth cookies; its uuid is then polled like a QR
//     code's, and the phone actions apply to the prompt.
//   - Downloads need the session cookies and the current skey; expired media
//     is a 200 with an empty body on the main host and a 404 page for
//     webwxgetmedia; webwxgetvideo sends nothing without Range: bytes=0-.
//     Uploads over 25 MB need the AESKey and Signature of webwxcheckupload,
//     and their appmsg needs Msg.Signature.
//   - The contact operations check tickets, ownership, member counts and
//     group existence; their refusal codes are listed in ops.go (Ret 1 for
//     malformed or unknown requests, Ret -2 for refused ones, 1205 after
//     [Server.RateLimitOps]). Their effects arrive in the next webwxsync as
//     ModContactList / DelContactList entries and a MsgType 10000 message.
//   - Faults can be injected on synccheck and webwxsync with
//     [Server.InjectFault] and [Server.InjectRetcode] (see faults.go).
//   - Unknown paths answer 404 with a small HTML page; hosts that are not
//     Web WeChat hosts, hosts set with [Server.SetUnreachable] and any
//     request after [Server.Close] fail with a transport error.
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
//
// The server runs no goroutines. [Server.Client] calls [Server.ServeHTTP]
// in the caller's goroutine, so held polls end with the request context,
// and tests can run inside testing/synctest, where [WithLongPoll] waits
// take no real time.
package wechattest
