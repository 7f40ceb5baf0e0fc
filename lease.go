package wechat

import (
	"context"
	"errors"
)

var (
	// ErrLeaseHeld is matched when another process holds the lease on the account of a
	// [SessionLocker]: Run returns it instead of going online, so that two processes never
	// run one account (the server would log both out).
	ErrLeaseHeld = errors.New("wechat: account leased by another process")

	// ErrLeaseLost is matched when a Client's lease on its account ended while it ran: it
	// expired before a renewal, another holder took it, or the store refused the fencing
	// token. Run stops syncing and sending at once and returns it; a [SessionLocker] refuses
	// saves made under a lost lease with it.
	ErrLeaseLost = errors.New("wechat: account lease lost")
)

// A SessionLocker is a [SessionStore] that leases its account to one process at a time. When
// the store given to [WithSessionStore] is one, Run takes the lease before it goes online and
// releases it when it returns; a lost lease ends Run with [ErrLeaseLost].
//
// Saves made through the store while a lease is held carry the lease's fencing token: the
// store refuses (with an error matching ErrLeaseLost) a save whose token is older than the
// newest one issued, so a holder that lost its lease can never overwrite a newer holder's
// session.
type SessionLocker interface {
	SessionStore
	// Lock takes the lease on the store's account and keeps it renewed until it is released
	// or lost. It returns an error matching ErrLeaseHeld at once if another holder has it,
	// ctx.Err() if ctx ends, or the store's error.
	Lock(ctx context.Context) (Lease, error)
}

// A Lease is a held lease on an account. Its methods are safe for concurrent use.
type Lease interface {
	// Token returns the fencing token: it grows with every lease issued for the account.
	Token() int64
	// Done is closed when the lease ends: released, or lost.
	Done() <-chan struct{}
	// Err returns nil while the lease is held, an error matching ErrLeaseLost once it was
	// lost, and context.Canceled once it was released.
	Err() error
	// Release gives the lease up, so that another process may take it at once, and stops
	// its renewal. Releasing a lease that ended already is not an error.
	Release(ctx context.Context) error
}
