// Package fleet runs many WeChat accounts on many processes: each process runs whichever
// accounts it can lease, up to a limit, and when a process dies the others take its accounts
// over once their leases expire, each resuming the stored session from the position it
// committed, so that no message is lost.
//
// A [Runner] needs a store factory, giving each account a [wechat.SessionLocker] (in
// production a *redisstore.Store, which keeps the session in Redis and leases the account to
// one process at a time), a Client factory, giving each account a [wechat.Client] with the
// bot's handlers and that store, and the accounts: a list ([WithAccounts]) or a function
// asked at every scan ([WithAccountSource]), such as the members of a Redis set.
//
//	r := fleet.New(
//		func(account string) wechat.SessionLocker { return redisstore.New(rdb, account) },
//		func(account string, store wechat.SessionLocker) *wechat.Client {
//			c := wechat.New(wechat.WithSessionStore(store), wechat.WithLoginPolicy(wechat.LoginNoQR))
//			c.HandleFunc(wechat.IsText, reply)
//			return c
//		},
//		fleet.WithAccountSource(func(ctx context.Context) ([]string, error) {
//			return rdb.SMembers(ctx, "bots").Result()
//		}),
//		fleet.WithMaxAccounts(50),
//	)
//	err := r.Run(ctx) // ctx.Err(), once every Client has stopped and released its lease
//
// Run the same program in as many processes as you like. Every few seconds
// ([WithScanInterval], with jitter) each Runner tries, in a random order, to take the lease of
// each listed account it does not run, until it runs [WithMaxAccounts]: the lease of an
// account another process runs is refused ([wechat.ErrLeaseHeld]) and the account skipped.
// The Client of a leased account takes the lease over; its Run fences every save with it,
// stops at once when the lease is lost, and releases it when it returns.
//
// # What happens when
//
//   - A process dies: its leases are no longer renewed and expire after their TTL (10 s by
//     default for redisstore); at its next scan another Runner takes each account, and its
//     Client resumes the stored session, from the delivery position committed last. The
//     messages the dead process had handled since its last save (at most a second before,
//     the Client saves at most once a second) are delivered again; nothing is lost.
//   - A process stops (Run's ctx ends): its Clients finish their handlers in flight, save and
//     release their leases, and the other Runners take the accounts at their next scans,
//     without waiting for a TTL and without delivering anything twice.
//   - A lease is lost while its Client runs (Redis unreachable for most of the TTL, a key
//     deleted, an operator's revocation, a save refused by the fencing check): the Client stops
//     at once with [wechat.ErrLeaseLost], and the Runner tries the account again at a later
//     scan, when it may have gone to another process.
//   - A Client cannot log in ([wechat.ErrScanNeeded] with [wechat.WithLoginPolicy], or
//     [wechat.ErrLoggedOut], or any other error of Run): the Runner releases the lease and
//     tries again after a backoff, so that another process may try meanwhile.
//   - Redis is down: Lock fails, the Runner reports it ([EventLockFailed]) and starts nothing
//     until it is back; the Clients that run keep running, and their saves fail until then,
//     as long as the outage is shorter than the lease's TTL.
//
// [WithEventHandler] reports each of these as an [Event].
//
// The lease guarantees that two processes never run one account at the same time as far as
// the store can tell; see the redisstore package for what it does and does not guarantee
// about a process that has not yet noticed that its lease is gone. TestFailover, in this
// package's tests, runs 20 accounts on 3 processes, kills two of them with SIGKILL while
// 10,000 messages arrive, and checks that every message is answered, that only messages in
// flight at a kill are answered twice, and that the fake servers never see two processes
// serve one account at once.
package fleet
