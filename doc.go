// Package wechat is a client for the Web WeChat protocol, the protocol behind wx.qq.com, for
// writing bots that run on a personal WeChat account.
//
// A [Client] runs the whole session:
//
//   - Login: jslogin gives a uuid, shown as a QR code ([WithQRHandler]); the login poll waits
//     for the phone to scan it (201) and confirm (200); webwxnewloginpage exchanges the ticket
//     for the session credentials and cookies. The host the server redirects to (wx.qq.com,
//     wx2.qq.com, web.wechat.com, ...) chooses the file and push hosts for the session.
//   - Init: webwxinit gives self, the SyncKey and the recent chats; webwxstatusnotify tells
//     the phone the client is online. The address book (webwxgetcontact, then
//     webwxbatchgetcontact for group members) loads in the background: the sync loop does not
//     wait for it, and a message from a chat not yet known fetches that chat first.
//   - Sync: synccheck long-polls the push host; when it reports news, webwxsync fetches the
//     messages and contact changes, and the client hands each message to the handlers
//     registered with [Client.Handle] before advancing the SyncKey.
//   - Send: [Client.SendText], [Client.SendImage] (uploaded in 512 KiB chunks).
//
// [Client.Run] does all of this until its context ends or the server ends the session, in
// which case the error matches [ErrLoggedOut]. Failures are reported as [*Error] values that
// carry the server's Ret code and match the package's sentinel errors with errors.Is.
//
// Handlers run on a bounded set of goroutines owned by Run; messages of one chat are handled
// one at a time, in order. The server echoes every message the account sends; echoes of
// messages this Client sent are not delivered, messages sent from the phone are, with
// [Message.IsSelf] set.
//
// The package wechattest provides a fake Web WeChat server that runs in memory, so that bots
// and their tests run the whole protocol offline; the examples use it.
//
// The protocol as this package speaks it (endpoints, parameters, fields, codes and the
// server's quirks, one section each) is described in docs/PROTOCOL.md in the module's
// repository; comments cite its sections as "PROTOCOL n.m".
package wechat
