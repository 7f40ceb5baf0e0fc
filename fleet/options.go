package fleet

import (
	"context"
	"log/slog"
	"slices"
	"time"
)

// DefaultScanInterval is the time between two scans when no [WithScanInterval] option is
// given.
const DefaultScanInterval = 5 * time.Second

// An Option configures a Runner. Options are applied in order; the last wins.
type Option func(*config)

type config struct {
	accounts []string
	source   func(ctx context.Context) ([]string, error) // nil: accounts
	listed   bool                                        // WithAccounts or WithAccountSource was used
	max      int
	interval time.Duration
	onEvent  func(Event)
	logger   *slog.Logger
}

// WithAccounts makes the Runner run the given accounts, each named as the store and Client
// factories of [New] know it. It replaces an earlier WithAccountSource.
func WithAccounts(accounts ...string) Option {
	return func(c *config) {
		c.accounts, c.source, c.listed = slices.Clone(accounts), nil, true
	}
}

// WithAccountSource makes the Runner ask source for the accounts to run at every scan, such
// as the members of a Redis set:
//
//	fleet.WithAccountSource(func(ctx context.Context) ([]string, error) {
//		return rdb.SMembers(ctx, "bots").Result()
//	})
//
// An account that is no longer listed is stopped, as when Run's ctx ends (its handlers may
// finish; its session is saved and its lease released). When source fails, the Runner keeps
// running what it runs and asks again at the next scan. source is called from Run's
// goroutine, with a ctx that ends after 5 s. It replaces an earlier WithAccounts; a nil
// source means none, and Run then fails as without either option.
func WithAccountSource(source func(ctx context.Context) ([]string, error)) Option {
	return func(c *config) {
		c.accounts, c.source, c.listed = nil, source, source != nil
	}
}

// WithMaxAccounts limits the accounts the Runner runs at once to n, so that a fleet of
// processes shares them out: a process at its limit leaves the others to the rest of the
// fleet. n <= 0, the default, means no limit.
func WithMaxAccounts(n int) Option {
	return func(c *config) { c.max = max(n, 0) }
}

// WithScanInterval sets the time between two scans, when the Runner looks for accounts it
// can lease. Each wait is drawn at random within a quarter of d either way, so that the
// processes of a fleet do not scan in step. An account left by a dead process is taken over
// at most 1.25 d after its lease expired. d <= 0 means [DefaultScanInterval].
func WithScanInterval(d time.Duration) Option {
	return func(c *config) { c.interval = d }
}

// WithEventHandler makes the Runner call f with every [Event]: an account started or
// stopped, a lease it could not take because of an error, a failing account source. f is
// called from Run's goroutine, one event at a time, and must return quickly. A nil f, the
// default, ignores events.
func WithEventHandler(f func(Event)) Option {
	return func(c *config) { c.onEvent = f }
}

// WithLogger makes the Runner log to l: accounts started and stopped at Info, store and
// source failures at Warn, leases held elsewhere at Debug. A nil l, the default, discards
// all logs. The Clients log through their own [wechat.WithLogger].
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}
