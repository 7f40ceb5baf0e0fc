// Package ratelimit spaces operations with a token bucket whose waits end
// with a context.
//
// The client sends every message through one [Limiter], so that a bot that
// answers a burst of messages does not trip the server's frequency limit
// (Ret 1205, PROTOCOL.md 12.7):
//
//	l := ratelimit.New(time.Second, 5) // 5 at once, then one a second
//	if err := l.Wait(ctx); err != nil {
//		return err // ctx ended while waiting
//	}
//	send()
package ratelimit

import (
	"context"
	"sync"
	"time"
)

// A Limiter is a token bucket holding up to burst tokens, refilled with one
// token every interval. Each [Limiter.Wait] takes a token, waiting for it if
// none is left; waiters are served in the order they called Wait.
//
// It is implemented as a generic cell rate algorithm: it keeps only the
// theoretical arrival time (tat) of the next operation, which each Wait
// moves one interval further, so it needs no timer of its own and no
// goroutine.
//
// A nil *Limiter never waits. A Limiter is safe for concurrent use.
type Limiter struct {
	interval time.Duration
	tau      time.Duration // burst tolerance: (burst-1) intervals

	mu  sync.Mutex
	tat time.Time // theoretical arrival time of the next operation
}

// New returns a Limiter that lets burst operations through at once and then
// one per interval. burst < 1 means 1. It returns nil, a Limiter that never
// waits, if interval <= 0.
func New(interval time.Duration, burst int) *Limiter {
	if interval <= 0 {
		return nil
	}
	burst = max(burst, 1)
	return &Limiter{interval: interval, tau: time.Duration(burst-1) * interval}
}

// Wait takes a token, waiting until one is available or ctx ends. It
// returns nil once the caller may go ahead, or ctx.Err() if ctx ended first
// (or already had); the token is then given back when no later caller has
// reserved one since.
func (l *Limiter) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil || l == nil {
		return err
	}
	d, tat := l.reserve()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		l.cancel(tat)
		return ctx.Err()
	}
}

// reserve takes the next token and returns how long to wait for it and the
// tat the reservation left, which identifies it for cancel.
func (l *Limiter) reserve() (time.Duration, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	t := l.tat
	if t.Before(now) {
		t = now // the bucket is full: idle time is not saved beyond burst
	}
	l.tat = t.Add(l.interval)
	return t.Sub(now) - l.tau, l.tat
}

// cancel gives back the token of a reservation that left tat, if it is
// still the last one. A reservation made after it keeps its place, and the
// token is then lost: a cancelled wait never lets later callers go earlier
// than they were promised.
func (l *Limiter) cancel(tat time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tat.Equal(tat) {
		l.tat = l.tat.Add(-l.interval)
	}
}

// Pause makes the operations that have not reserved a token yet wait until
// d from now, and then go one per interval, without a burst, as after a
// refusal by the server. A Pause shorter than the wait already ahead does
// nothing. Pause on a nil Limiter does nothing.
func (l *Limiter) Pause(d time.Duration) {
	if l == nil || d <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// The next token is available at tat-tau; make that now+d.
	if t := time.Now().Add(d + l.tau); t.After(l.tat) {
		l.tat = t
	}
}
