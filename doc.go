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
//   - Send: [Client.SendText], [Client.SendImage] (uploaded in 512 KiB chunks), ...; each
//     returns a [SentMessage] handle ([SentMessage.Revoke], [SentMessage.Forward]). A message
//     delivered to a handler answers itself: [Message.Reply].
//
// [Client.Run] does all of this until its context ends or the server ends the session, in
// which case the error matches [ErrLoggedOut]. Failures are reported as [*Error] values that
// carry the server's Ret code and match the package's sentinel errors with errors.Is.
//
// Handlers run on a bounded set of goroutines owned by Run ([WithConcurrency]); messages of one
// chat are handled one at a time, in order, and a handler that blocks holds up its own chat
// only. The server echoes every message the account sends; echoes of messages this Client
// sent are not delivered, messages sent from the phone are, with [Message.IsSelf] set.
//
// # Architecture
//
// Each piece of a Client's state has one owner with one lock; the others ask it through its
// methods, never reach into it. [Client] wires them together, as net/http's Client sits over
// a Transport:
//
//	                 Client (public API: Login, Run, Send*, contacts, State)
//	                   │
//	   ┌───────────────┼───────────────┬──────────────┬─────────────┐
//	session holder   ledger        contact store    persister      router
//	credentials,     open batches,  address book,    SessionStore   handlers,
//	state, the run   in flight,     identities,      save / clear   middleware
//	(session.go)     handled ids,   a version        (persist.go)   (handler.go)
//	                 committed      (contact_store.go)
//	                 position
//	                 (ledger.go)
//
// Run's goroutine runs the sync loop (sync.go); Run starts and stops every other goroutine of
// a session: the handler workers (the dispatcher), the contact loader, the saver, and the
// keepalive when enabled. Nothing outlives Run.
//
// A message travels like this:
//
//  1. The loop asks the ledger for room (at most 1,024 messages wait for their batch to be
//     committed; when the window is full the loop waits), long-polls synccheck, then calls
//     webwxsync: one answer is one batch, opened in the ledger with the SyncKey it advances to.
//  2. Each new message is claimed in the ledger (a duplicate of one handled or in flight is
//     dropped there) and queued behind the other messages of its chat; the batch is sealed
//     once all its messages are queued.
//  3. A worker runs the handler chain of the router; the ledger records the message as
//     handled when the handler returns, or as cut off when Run stopped past its grace.
//  4. When every message of the oldest open batches is handled, the ledger commits their
//     SyncKey: the position a restart resumes from. The persister saves the ledger's
//     snapshot (position and handled ids, also while a batch is still open) with the
//     credentials and the address book, at most once a second, and once more when Run
//     returns. A restart fetches the open batches again and the handled ids skip what was
//     handled: nothing is lost, and a clean stop delivers nothing twice.
//
// The package wechattest provides a fake Web WeChat server that runs in memory, so that bots
// and their tests run the whole protocol offline; the examples use it.
//
// The protocol as this package speaks it (endpoints, parameters, fields, codes and the
// server's quirks, one section each) is described in docs/PROTOCOL.md in the module's
// repository; comments cite its sections as "PROTOCOL n.m".
package wechat
