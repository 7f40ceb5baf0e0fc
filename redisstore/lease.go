package redisstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/wxkit/wechat"
)

// Lock takes the lease on the Store's account: SET NX PX on the lease key, with a value
// naming this process and a fencing token from INCR on the account's fence counter, in one
// script. The lease is renewed every TTL/3 by a goroutine the Lease owns, until it is released
// or lost; it is lost (Done closed, Err matching [wechat.ErrLeaseLost]) when a renewal finds
// the key gone, held by someone else or revoked (a newer token issued), when Redis refuses a
// Save or Clear made under it for the same reasons, or when no renewal has succeeded for 9/10
// of the TTL since the last one was sent (Redis unreachable or stalled), so that the holder
// knows before another process can take the account.
//
// While the Lease is held, Save and Clear are fenced by its token. Lock fails at once with an
// error matching [wechat.ErrLeaseHeld] when another holder (or this Store) holds the lease, and
// with Redis's error (wrapping ctx.Err() when ctx ended) when Redis cannot be reached.
func (s *Store) Lock(ctx context.Context) (wechat.Lease, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lease != nil && s.lease.Err() == nil {
		return nil, fmt.Errorf("redisstore: lock of account %q: this Store holds its lease already: %w", s.account, wechat.ErrLeaseHeld)
	}
	prefix := holderPrefix()
	sent := time.Now()
	res, err := s.lockScript.Run(ctx, s.rdb, []string{s.keys.lease, s.keys.fence}, prefix, s.ttl.Milliseconds()).Slice()
	if err != nil {
		if ctx.Err() != nil {
			err = errors.Join(ctx.Err(), err)
		}
		return nil, s.errorf("lock", err)
	}
	if len(res) < 2 || len(res) < 3 && res[0] != int64(1) {
		return nil, fmt.Errorf("redisstore: lock of account %q: unexpected answer %v from the script", s.account, res)
	}
	if ok, _ := res[0].(int64); ok != 1 {
		value, _ := res[1].(string)
		pttl, _ := res[2].(int64)
		return nil, fmt.Errorf("redisstore: lock of account %q: leased by %s for %v more: %w",
			s.account, holderOf(value), time.Duration(pttl)*time.Millisecond, wechat.ErrLeaseHeld)
	}
	token, _ := res[1].(int64)
	l := &lease{
		store:  s,
		token:  token,
		value:  fmt.Sprint(prefix, token),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.stop = cancel
	go l.renew(rctx, sent) // owned by l: Release stops it, a loss ends it
	s.lease = l
	return l, nil
}

// lease is the Lease of a Store.
type lease struct {
	store  *Store
	token  int64
	value  string // the lease key's value while the lease is ours
	stop   context.CancelFunc
	done   chan struct{} // closed when the lease ends
	exited chan struct{} // closed when the renewal goroutine has returned

	mu       sync.Mutex
	err      error // why the lease ended; nil while held
	released bool
}

func (l *lease) Token() int64 { return l.token }

func (l *lease) Done() <-chan struct{} { return l.done }

func (l *lease) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Release stops the renewal, waits for its goroutine (bounded by the client's timeouts, or
// by ctx), deletes the lease key if it is still ours, so that another process may take the
// account at once, and detaches the lease from the Store. It returns Redis's error if the key
// could not be deleted (it then expires after the TTL), or ctx.Err() if ctx ended first.
// Releasing a lease that ended already does nothing more and returns nil.
func (l *lease) Release(ctx context.Context) error {
	l.mu.Lock()
	if l.released {
		l.mu.Unlock()
		return nil
	}
	l.released = true
	wasHeld := l.err == nil
	l.mu.Unlock()
	l.end(context.Canceled)
	l.stop()
	select {
	case <-l.exited:
	case <-ctx.Done():
		l.detach()
		return fmt.Errorf("redisstore: releasing the lease of account %q: %w", l.store.account, ctx.Err())
	}
	var err error
	if wasHeld {
		err = l.store.releaseScript.Run(ctx, l.store.rdb, []string{l.store.keys.lease}, l.value).Err()
		if err != nil {
			err = l.store.errorf("releasing the lease", err)
		}
	}
	l.detach()
	return err
}

// detach makes the Store forget l, so that it saves without a lease again.
func (l *lease) detach() {
	l.store.mu.Lock()
	defer l.store.mu.Unlock()
	if l.store.lease == l {
		l.store.lease = nil
	}
}

// end records why the lease ended, if it had not yet, and closes Done.
func (l *lease) end(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = err
		close(l.done)
	}
}

func (l *lease) lose(reason string, cause error) {
	if cause != nil {
		reason += " (" + cause.Error() + ")"
	}
	l.end(fmt.Errorf("redisstore: lease of account %q: %s: %w", l.store.account, reason, wechat.ErrLeaseLost))
}

// refused ends the lease with err (matching wechat.ErrLeaseLost), when Redis refused a save
// or clear made under it, and stops its renewal: Done closes at once, so that the Client stops
// syncing and sending without waiting for its next renewal to find out.
func (l *lease) refused(err error) {
	l.end(err)
	l.stop()
}

type renewal struct {
	sent time.Time
	res  any
	err  error
}

// renew extends the lease every TTL/3 until ctx ends or the lease is lost. The call runs on a
// goroutine of its own, so that a stalled Redis cannot keep the loop from declaring the lease
// lost in time; renew waits for it before it returns.
func (l *lease) renew(ctx context.Context, acquired time.Time) {
	defer close(l.exited)
	ctx, cancel := context.WithCancel(ctx)
	s := l.store
	interval := s.ttl / 3
	retry := max(interval/4, time.Millisecond)
	expiry := func(sent time.Time) time.Duration { return time.Until(sent.Add(s.ttl - s.ttl/10)) }
	expire := time.NewTimer(expiry(acquired))
	defer expire.Stop()
	next := time.NewTimer(interval)
	defer next.Stop()
	var (
		inflight sync.WaitGroup
		results  chan renewal // non-nil while a renewal is in flight
		lastErr  error
		deadline = acquired.Add(s.ttl - s.ttl/10)
	)
	defer inflight.Wait()
	defer cancel() // first: ends a renewal in flight
	for {
		select {
		case <-ctx.Done():
			return
		case <-expire.C:
			l.lose("not renewed within the TTL", lastErr)
			return
		case <-next.C:
			results = make(chan renewal, 1)
			sent, dl := time.Now(), deadline
			inflight.Go(func() {
				cctx, cancel := context.WithDeadline(ctx, dl)
				defer cancel()
				res, err := s.renewScript.Run(cctx, s.rdb, []string{s.keys.lease, s.keys.fence},
					l.value, s.ttl.Milliseconds(), l.token).Result()
				results <- renewal{sent, res, err}
			})
		case r := <-results:
			results = nil
			switch res := r.res; {
			case r.err != nil:
				lastErr = r.err
				next.Reset(retry)
			case res == int64(1):
				lastErr = nil
				deadline = r.sent.Add(s.ttl - s.ttl/10)
				expire.Reset(expiry(r.sent))
				next.Reset(interval)
			case res == int64(0):
				l.lose("the lease key is gone", nil)
				return
			default:
				if v, _ := res.([]any); len(v) == 2 && v[0] == "revoked" {
					l.lose(fmt.Sprintf("revoked by a newer token (%v)", v[1]), nil)
				} else {
					l.lose("taken by "+holderOf(fmt.Sprint(v...)), nil)
				}
				return
			}
		}
	}
}

// holderPrefix returns the start of a new lease value: host/pid/random#, unique per Lock call.
// It names the process for people reading the key; it holds no secret.
func holderPrefix() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	host = strings.ReplaceAll(host, "#", "_")
	return fmt.Sprintf("%s/%d/%s#", host, os.Getpid(), rand.Text()[:8])
}

// holderOf describes a lease value for an error: "host/pid (token n)".
func holderOf(value string) string {
	who, token, ok := strings.Cut(value, "#")
	if !ok {
		return fmt.Sprintf("%q", value)
	}
	if i := strings.LastIndexByte(who, '/'); i >= 0 {
		who = who[:i]
	}
	return fmt.Sprintf("%s (token %s)", who, token)
}
