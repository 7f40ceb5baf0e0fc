package ratelimit

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waits calls l.Wait n times in a row and returns how long each call took, on synctest's
// fake clock.
func waits(t *testing.T, l *Limiter, n int) []time.Duration {
	t.Helper()
	out := make([]time.Duration, n)
	for i := range out {
		start := time.Now()
		require.NoError(t, l.Wait(t.Context()))
		out[i] = time.Since(start)
	}
	return out
}

func TestBurstThenInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(time.Second, 3)
		s := time.Second
		assert.Equal(t, []time.Duration{0, 0, 0, s, s, s}, waits(t, l, 6))
	})
}

func TestIdleRefillsUpToBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(time.Second, 2)
		waits(t, l, 2)
		<-time.After(10 * time.Second) // idle: the bucket refills, but only to 2
		assert.Equal(t, []time.Duration{0, 0, time.Second}, waits(t, l, 3))

		<-time.After(1500 * time.Millisecond) // 1.5 tokens back
		assert.Equal(t, []time.Duration{0, 500 * time.Millisecond, time.Second}, waits(t, l, 3))
	})
}

func TestBurstBelowOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, burst := range []int{0, -3, 1} {
			l := New(time.Second, burst)
			assert.Equal(t, []time.Duration{0, time.Second, time.Second}, waits(t, l, 3), "burst %d", burst)
		}
	})
}

func TestOff(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second} {
		l := New(d, 5)
		assert.Nil(t, l)
		for range 100 {
			require.NoError(t, l.Wait(t.Context()), "a nil Limiter never waits")
		}
		l.Pause(time.Hour) // no effect, no panic
		require.NoError(t, l.Wait(t.Context()))
	}
}

func TestWaitEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(time.Minute, 1)
		require.NoError(t, l.Wait(t.Context()))

		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		start := time.Now()
		err := l.Wait(ctx)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 5*time.Second, time.Since(start), "the wait ends with ctx, not with the token")

		// The cancelled reservation was the last one: its token is given back, so the next
		// caller waits for the first free token (a minute after the first Wait), not two.
		assert.Equal(t, []time.Duration{55 * time.Second}, waits(t, l, 1))

		done, cancelDone := context.WithCancel(t.Context())
		cancelDone()
		assert.ErrorIs(t, l.Wait(done), context.Canceled, "an ended ctx fails at once")
		assert.ErrorIs(t, (*Limiter)(nil).Wait(done), context.Canceled)
	})
}

// TestCancelKeepsLaterReservations: a caller that gives up does not let the callers queued
// behind it go earlier than promised, and never twice.
func TestCancelKeepsLaterReservations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(time.Second, 1)
		require.NoError(t, l.Wait(t.Context())) // t=0

		ctx, cancel := context.WithCancel(t.Context())
		errA := make(chan error, 1)
		go func() { errA <- l.Wait(ctx) }() // reserves t=1s
		synctest.Wait()
		doneB := make(chan time.Duration, 1)
		start := time.Now()
		go func() { // reserves t=2s
			_ = l.Wait(t.Context())
			doneB <- time.Since(start)
		}()
		synctest.Wait()
		cancel()
		require.ErrorIs(t, <-errA, context.Canceled)
		assert.Equal(t, 2*time.Second, <-doneB)
	})
}

func TestPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(time.Second, 5)
		waits(t, l, 1)
		l.Pause(30 * time.Second)
		s := time.Second
		assert.Equal(t, []time.Duration{30 * s, s, s}, waits(t, l, 3), "after a pause: no burst")

		l.Pause(0)
		l.Pause(-s)
		assert.Equal(t, []time.Duration{s}, waits(t, l, 1), "a zero pause changes nothing")

		// A pause shorter than the queue ahead does not shorten it.
		l2 := New(10*time.Second, 1)
		waits(t, l2, 1)
		l2.Pause(time.Second)
		assert.Equal(t, []time.Duration{10 * s}, waits(t, l2, 1))
	})
}

// TestConcurrentWaiters: many goroutines share the bucket; each token is taken once.
func TestConcurrentWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(100*time.Millisecond, 4)
		start := time.Now()
		var (
			mu   sync.Mutex
			ends []time.Duration
			wg   sync.WaitGroup
		)
		for range 20 {
			wg.Go(func() {
				require.NoError(t, l.Wait(t.Context()))
				mu.Lock()
				ends = append(ends, time.Since(start))
				mu.Unlock()
			})
		}
		wg.Wait()
		require.Len(t, ends, 20)
		counts := map[time.Duration]int{}
		for _, e := range ends {
			counts[e]++
		}
		assert.Equal(t, 4, counts[0], "the burst goes at once")
		for i := 1; i <= 16; i++ {
			assert.Equal(t, 1, counts[time.Duration(i)*100*time.Millisecond], "one per interval after the burst (%d)", i)
		}
		assert.Equal(t, 1600*time.Millisecond, time.Since(start))
	})
}
