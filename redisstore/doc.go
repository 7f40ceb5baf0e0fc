// Package redisstore keeps a [wechat.Session] in Redis, so that an account is not tied to one
// machine's disk, and leases each account to one process at a time, so that two processes
// never run the same account (the server would log both out).
//
// A [Store] is a [wechat.SessionStore] for one account: give it to the Client in place of a
// file.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
//	c := wechat.New(wechat.WithSessionStore(redisstore.New(rdb, "support-desk-1")))
//
// To run many accounts over many processes, each running those it can lease, see the
// [github.com/wxkit/wechat/fleet] package.
//
// It is also a [wechat.SessionLocker]: [Store.Lock] takes the account's lease, which a
// goroutine of the [wechat.Lease] renews until it is released or lost. [wechat.Client.Run]
// takes the lease itself before it goes online and releases it when it returns: a second
// process for the same account gets an error matching [wechat.ErrLeaseHeld] from Run, and a
// Run whose lease is lost stops at once (no shutdown grace, nothing more sent or saved) with
// one matching [wechat.ErrLeaseLost]:
//
//	c := wechat.New(wechat.WithSessionStore(redisstore.New(rdb, "support-desk-1")))
//	err := c.Run(ctx)
//	switch {
//	case errors.Is(err, wechat.ErrLeaseHeld):
//		// another process runs this account
//	case errors.Is(err, wechat.ErrLeaseLost):
//		// another process may run it now
//	}
//
// # What the lease guarantees
//
// The lease key is set with SET NX semantics and a TTL (default 10 s, [WithTTL]), renewed
// every TTL/3. Its holder declares it lost when a renewal finds the key gone or another
// holder's, or when no renewal has succeeded for 9/10 of the TTL since the last one was sent:
// before the key can expire, so before another process can take the account. Every lease
// carries a fencing token from a per-account counter, and every Save and Clear made under it
// is checked in Redis, in the same script that writes: it is refused (an error matching
// [wechat.ErrLeaseLost]) unless the lease key is still this holder's and no newer token was
// issued. So a holder that was paused (GC, a stalled VM) past its TTL, and has not noticed,
// cannot overwrite the session of the process that took the account over; the refusal ends
// its lease at once, so its Client stops without waiting for the next renewal.
//
// What it does not guarantee: that a process which lost its lease stops its network traffic
// to WeChat before the new holder starts its own. The lease is time-based; the holder stops
// when it learns of the loss, within one renewal interval, and the new holder can start once
// the key has expired. Only the store is protected absolutely, by the fencing token. Nor does
// it survive a Redis that loses its data: run Redis with an append-only file
// (appendonly yes) if sessions must survive a Redis restart. Without one, a restart empties the
// store, ends every lease and restarts the tokens from 1; a stale holder is still refused,
// since the lease key is not its own.
//
// An operator revokes a lease with INCR on the account's fence key: the holder's next renewal
// and save fail, and the account is free for a new Lock at once.
//
// # Keys
//
// The keys of an account share the Redis Cluster hash tag {account}, so that one script can
// touch them all. With the default prefix "wechat:" ([WithPrefix]):
//
//	wechat:{account}:session   hash: the session without its address book (JSON), the
//	                           generations of the two book parts, the writer's token
//	wechat:{account}:contacts  string: JSON of Session.Contacts
//	wechat:{account}:ids       string: JSON of Session.IDs
//	wechat:{account}:lease     string: "host/pid/nonce#token", with the lease's TTL
//	wechat:{account}:fence     integer: the newest token issued; Clear keeps it
//
// The account name is the caller's and appears in key names and errors: never use a uin, skey
// or sid. No key name holds anything the server sent.
//
// Each Save is one script: everything changes together or not at all. The address book and
// the identity table, most of a large account's bytes, are sent only when they changed, and
// only when Redis still holds what this Store wrote last; the usual save, whose delivery
// position moved, sends the rest (BenchmarkSave measures both against the file store).
package redisstore
