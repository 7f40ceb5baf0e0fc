package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/internal/backoff"
)

// Runner runs the accounts of a fleet that it can lease, each with its own [wechat.Client].
// Create one with [New]; the zero Runner cannot run (Run returns an error saying so).
//
// At every scan (see [WithScanInterval]) the Runner lists the accounts (see [WithAccounts]
// and [WithAccountSource]) and, in a random order, tries to take the lease of each account
// it does not run, until it runs [WithMaxAccounts] of them: an account leased by another
// process is skipped until the next scan; for each account it leases it makes a Client with
// the Client factory and runs it. The Client takes over the lease (its [wechat.Client.Run]
// gets it from the store's Lock), fences its saves with it and releases it when it returns.
//
// When the Run of an account's Client returns, the Runner tries the account again, with a new
// Client: at a later scan after a lost lease
// ([wechat.ErrLeaseLost]); after a backoff (jittered, doubling from the scan interval up to
// 5 minutes, reset by a Run that lasted a minute) after an error matching
// [wechat.ErrLoggedOut] or [wechat.ErrScanNeeded] (see [wechat.WithLoginPolicy]) or any other
// error. When a process dies, its leases expire, and the other Runners of the fleet take its
// accounts over at their next scans, each Client resuming the stored session from the
// position it committed.
//
// A Runner is safe for concurrent use. Run may not be called again while it runs.
type Runner struct {
	storeFor  func(account string) wechat.SessionLocker
	clientFor func(account string, store wechat.SessionLocker) *wechat.Client
	cfg       config
	log       *slog.Logger

	mu      sync.Mutex
	running bool
	held    map[string]bool // accounts whose Client runs now
}

// New returns a Runner of the accounts that opts name (one of [WithAccounts] and
// [WithAccountSource] is needed). storeFor returns the store of an account: a
// [wechat.SessionLocker] such as a *redisstore.Store; it is called whenever the Runner tries
// to take the account's lease. clientFor returns a new Client for an account, with the bot's
// handlers and options, which must keep its session in store:
//
//	func(account string, store wechat.SessionLocker) *wechat.Client {
//		c := wechat.New(wechat.WithSessionStore(store), wechat.WithLoginPolicy(wechat.LoginNoQR))
//		c.HandleFunc(wechat.IsText, reply)
//		return c
//	}
//
// It is called once the lease is taken, before each Run of the account. A Client that keeps
// its session elsewhere still runs only while the Runner holds the lease (the Runner stops it
// when the lease is lost), but its saves are not fenced and it stops with the grace of
// [wechat.WithShutdownGrace] instead of at once; its EventStopped reports the mistake.
//
// New does no I/O. It panics if storeFor or clientFor is nil.
func New(storeFor func(account string) wechat.SessionLocker, clientFor func(account string, store wechat.SessionLocker) *wechat.Client, opts ...Option) *Runner {
	if storeFor == nil || clientFor == nil {
		panic("fleet: New with a nil store or Client factory")
	}
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.interval <= 0 {
		cfg.interval = DefaultScanInterval
	}
	log := cfg.logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner{storeFor: storeFor, clientFor: clientFor, cfg: cfg, log: log, held: make(map[string]bool)}
}

var (
	errZeroRunner = errors.New("fleet: Runner not created with fleet.New")
	errRunning    = errors.New("fleet: Run called while the Runner runs")
	errNoAccounts = errors.New("fleet: no accounts: use WithAccounts or WithAccountSource")
)

const (
	callTimeout = 5 * time.Second // a Lock, a Release, a call of the account source
	maxBackoff  = 5 * time.Minute
	healthyRun  = time.Minute // a Run that lasted this long resets the account's backoff
)

// Run scans for accounts and runs those it can lease, until ctx ends. It then stops every
// Client as ctx ending stops a Client's Run (the handlers in flight may finish within their
// grace; each session is saved and its lease released), waits for all of them, and returns
// ctx.Err(). When Run returns, every goroutine it started has returned.
//
// Run returns an error at once, without running anything, if no option named the accounts,
// or if it is already running.
func (r *Runner) Run(ctx context.Context) error {
	if r.storeFor == nil {
		return errZeroRunner
	}
	if !r.cfg.listed {
		return errNoAccounts
	}
	if err := r.begin(); err != nil {
		return err
	}
	defer r.end()
	if err := ctx.Err(); err != nil {
		return err
	}
	s := &scan{r: r, slots: make(map[string]*slot), retry: make(map[string]*retry), exits: make(chan exit)}
	defer s.stopAll(ctx)
	timer := time.NewTimer(0) // the first scan at once
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			s.run(ctx)
			timer.Reset(jitter(r.cfg.interval))
		case e := <-s.exits:
			s.exited(ctx, e)
		}
	}
}

// Accounts returns the accounts whose Client the Runner runs now, sorted: those whose lease
// it holds, including those stopping.
func (r *Runner) Accounts() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.held))
	for a := range r.held {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

func (r *Runner) begin() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running {
		return errRunning
	}
	r.running = true
	return nil
}

func (r *Runner) end() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.running = false
}

func (r *Runner) setHeld(account string, held bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if held {
		r.held[account] = true
	} else {
		delete(r.held, account)
	}
}

func (r *Runner) emit(e Event) {
	if r.cfg.onEvent != nil {
		r.cfg.onEvent(e)
	}
}

// list returns the accounts to run now, without duplicates or empty names.
func (r *Runner) list(ctx context.Context) ([]string, error) {
	names := r.cfg.accounts
	if r.cfg.source != nil {
		sctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		var err error
		if names, err = r.cfg.source(sctx); err != nil {
			return nil, err
		}
	}
	seen := make(map[string]bool, len(names))
	out := make([]string, 0, len(names))
	for _, n := range names {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// scan is the state of one Run, owned by Run's goroutine.
type scan struct {
	r     *Runner
	slots map[string]*slot  // the accounts whose Client runs, by name
	retry map[string]*retry // the accounts waiting for a backoff, or with one to grow
	exits chan exit         // each account's goroutine sends its exit, then returns
	wg    sync.WaitGroup    // the accounts' goroutines
}

// slot is an account whose Client runs.
type slot struct {
	stop    context.CancelFunc
	removed bool // stopped because the account is no longer listed
}

// retry is the backoff of an account whose last Run failed.
type retry struct {
	bo backoff.Backoff
	at time.Time // not tried before
}

// exit is how an account's Run ended.
type exit struct {
	account string
	err     error
	ran     time.Duration
}

// run is one scan: it stops the accounts no longer listed and leases and starts what it can.
// A store error other than a held lease ends the scan: the store is likely down for the
// other accounts too.
func (s *scan) run(ctx context.Context) {
	r := s.r
	names, err := r.list(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("listing the accounts failed", "err", err)
			r.emit(Event{Kind: EventSourceFailed, Err: fmt.Errorf("fleet: listing the accounts: %w", err)})
		}
		return
	}
	listed := make(map[string]bool, len(names))
	for _, n := range names {
		listed[n] = true
	}
	for name, sl := range s.slots {
		if !listed[name] && !sl.removed {
			r.log.Info("account removed; stopping it", "account", name)
			sl.removed = true
			sl.stop()
		}
	}
	for name := range s.retry {
		if !listed[name] {
			delete(s.retry, name)
		}
	}
	now := time.Now()
	var todo []string
	for _, n := range names {
		if s.slots[n] == nil && (s.retry[n] == nil || !now.Before(s.retry[n].at)) {
			todo = append(todo, n)
		}
	}
	rand.Shuffle(len(todo), func(i, j int) { todo[i], todo[j] = todo[j], todo[i] })
	for _, name := range todo {
		if r.cfg.max > 0 && len(s.slots) >= r.cfg.max || ctx.Err() != nil {
			return
		}
		if !s.lease(ctx, name) {
			return
		}
	}
}

// lease tries to take the lease of account and to start it. It reports false when the scan
// should end.
func (s *scan) lease(ctx context.Context, account string) bool {
	r := s.r
	st := r.storeFor(account)
	if st == nil {
		r.emit(Event{Kind: EventLockFailed, Account: account, Err: fmt.Errorf("fleet: account %q: the store factory returned nil", account)})
		return true
	}
	lctx, cancel := context.WithTimeout(ctx, callTimeout)
	l, err := st.Lock(lctx)
	cancel()
	switch {
	case err == nil:
	case errors.Is(err, wechat.ErrLeaseHeld):
		r.log.Debug("account leased elsewhere", "account", account)
		return true
	case ctx.Err() != nil:
		return false
	default:
		r.log.Warn("taking the lease failed", "account", account, "err", err)
		r.emit(Event{Kind: EventLockFailed, Account: account, Err: err})
		return false
	}
	actx, stop := context.WithCancel(ctx)
	s.slots[account] = &slot{stop: stop}
	r.setHeld(account, true)
	r.log.Info("account started", "account", account, "token", l.Token())
	r.emit(Event{Kind: EventStarted, Account: account, Token: l.Token()})
	s.wg.Go(func() {
		start := time.Now()
		err := r.runAccount(actx, account, st, l)
		s.exits <- exit{account: account, err: err, ran: time.Since(start)}
	})
	return true
}

// exited records the end of an account's Run and when to try the account again.
func (s *scan) exited(ctx context.Context, e exit) {
	r := s.r
	sl := s.slots[e.account]
	sl.stop()
	delete(s.slots, e.account)
	r.setHeld(e.account, false)
	ev := Event{Kind: EventStopped, Account: e.account, Err: e.err}
	switch {
	case ctx.Err() != nil || sl.removed:
		delete(s.retry, e.account)
	case errors.Is(e.err, wechat.ErrLeaseLost):
		delete(s.retry, e.account) // another process may run it now; the next scan will see
	default:
		rt := s.retry[e.account]
		if rt == nil {
			rt = &retry{bo: backoff.Backoff{Min: r.cfg.interval, Max: maxBackoff}}
			s.retry[e.account] = rt
		}
		if e.ran >= healthyRun {
			rt.bo.Reset()
		}
		rt.at = time.Now().Add(rt.bo.Next())
		ev.Retry = rt.at
	}
	r.log.Info("account stopped", "account", e.account, "err", e.err)
	r.emit(ev)
}

// stopAll stops every account and waits for their goroutines.
func (s *scan) stopAll(ctx context.Context) {
	for _, sl := range s.slots {
		sl.stop()
	}
	for len(s.slots) > 0 {
		s.exited(ctx, <-s.exits)
	}
	s.wg.Wait()
}

// runAccount runs the Client of account under lease l, taken from st, and releases l when
// the Client's Run returns (the Client has released it already, if it took it over). It
// returns what Run returned.
func (r *Runner) runAccount(ctx context.Context, account string, st wechat.SessionLocker, l wechat.Lease) error {
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
		defer cancel()
		if err := l.Release(rctx); err != nil {
			r.log.Warn("releasing the lease failed", "account", account, "err", err)
		}
	}()
	ls := &leasedStore{SessionLocker: st, lease: l}
	c := r.clientFor(account, ls)
	if c == nil {
		return fmt.Errorf("fleet: account %q: the Client factory returned nil", account)
	}
	// A Client that does not use ls must still stop when the lease is lost.
	rctx, cancel := context.WithCancelCause(ctx)
	var watch sync.WaitGroup
	watch.Go(func() {
		select {
		case <-l.Done():
			if err := l.Err(); errors.Is(err, wechat.ErrLeaseLost) {
				cancel(err)
			}
		case <-rctx.Done():
		}
	})
	err := c.Run(rctx)
	cancel(nil)
	watch.Wait()
	if !ls.used() {
		err = fmt.Errorf("fleet: account %q: the Client did not keep its session in the store given to it: %w", account, err)
	}
	return err
}

// jitter returns d moved at random by up to a quarter of d either way.
func jitter(d time.Duration) time.Duration {
	return d - d/4 + rand.N(d/2+1)
}
