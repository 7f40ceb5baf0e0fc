package wechat

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The pacer's token bucket, on synctest's fake clock: the behaviour WithSendRate documents.

// pacerWith returns the pacer of WithSendRate(interval, burst).
func pacerWith(t *testing.T, interval time.Duration, burst int) *pacer {
	t.Helper()
	p := newPacer(sendConfig{rateSet: true, interval: interval, burst: burst})
	require.NotNil(t, p)
	return p
}

// pacerWaits calls p.wait n times in a row and returns how long each call took.
func pacerWaits(t *testing.T, p *pacer, n int) []time.Duration {
	t.Helper()
	out := make([]time.Duration, n)
	for i := range out {
		start := time.Now()
		require.NoError(t, p.wait(t.Context()))
		out[i] = time.Since(start)
	}
	return out
}

func TestPacerBurstThenInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := time.Second
		assert.Equal(t, []time.Duration{0, 0, 0, s, s, s}, pacerWaits(t, pacerWith(t, s, 3), 6))

		// The default: a burst of 5, then one a second.
		p := newPacer(sendConfig{})
		assert.Equal(t, []time.Duration{0, 0, 0, 0, 0, s, s}, pacerWaits(t, p, 7))
	})
}

func TestPacerIdleRefillsUpToBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pacerWith(t, time.Second, 2)
		pacerWaits(t, p, 2)
		time.Sleep(10 * time.Second) // idle: the bucket refills, but only to 2
		assert.Equal(t, []time.Duration{0, 0, time.Second}, pacerWaits(t, p, 3))

		time.Sleep(1500 * time.Millisecond) // 1.5 tokens back
		assert.Equal(t, []time.Duration{0, 500 * time.Millisecond, time.Second}, pacerWaits(t, p, 3))
	})
}

func TestPacerBurstBelowOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, burst := range []int{0, -3, 1} {
			p := pacerWith(t, time.Second, burst)
			assert.Equal(t, []time.Duration{0, time.Second, time.Second}, pacerWaits(t, p, 3), "burst %d", burst)
		}
	})
}

func TestPacerOff(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second} {
		p := newPacer(sendConfig{rateSet: true, interval: d, burst: 5})
		assert.Nil(t, p, "WithSendRate(%v, 5) is off", d)
		for range 100 {
			require.NoError(t, p.wait(t.Context()), "a nil pacer never waits")
		}
		assert.Zero(t, p.done(&Error{Op: opSendMsg, Ret: 1205}), "and never pauses")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	assert.ErrorIs(t, (*pacer)(nil).wait(ctx), context.Canceled, "an ended ctx fails at once")
}

func TestPacerWaitEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pacerWith(t, time.Minute, 1)
		require.NoError(t, p.wait(t.Context()))

		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		start := time.Now()
		err := p.wait(ctx)
		require.ErrorIs(t, err, context.DeadlineExceeded, "ctx.Err(), not an error of x/time/rate")
		assert.Equal(t, 5*time.Second, time.Since(start), "the wait ends with ctx, not at once nor with the token")

		// The cancelled reservation was the last one: its token is given back, so the next
		// caller waits for the first free token (a minute after the first wait), not two.
		assert.Equal(t, []time.Duration{55 * time.Second}, pacerWaits(t, p, 1))

		done, cancelDone := context.WithCancel(t.Context())
		cancelDone()
		assert.ErrorIs(t, p.wait(done), context.Canceled, "an ended ctx fails at once")
	})
}

// TestPacerCancelKeepsLaterReservations: a caller that gives up does not let the callers
// queued behind it go earlier than promised.
func TestPacerCancelKeepsLaterReservations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pacerWith(t, time.Second, 1)
		require.NoError(t, p.wait(t.Context())) // t=0

		ctx, cancel := context.WithCancel(t.Context())
		errA := make(chan error, 1)
		go func() { errA <- p.wait(ctx) }() // reserves t=1s
		synctest.Wait()
		doneB := make(chan time.Duration, 1)
		start := time.Now()
		go func() { // reserves t=2s
			_ = p.wait(t.Context())
			doneB <- time.Since(start)
		}()
		synctest.Wait()
		cancel()
		require.ErrorIs(t, <-errA, context.Canceled)
		assert.Equal(t, 2*time.Second, <-doneB)
	})
}

func TestPacerPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := time.Second
		p := pacerWith(t, s, 5)
		pacerWaits(t, p, 1)
		p.pause(30 * s)
		assert.Equal(t, []time.Duration{30 * s, s, s}, pacerWaits(t, p, 3), "after a pause: no burst")

		p.pause(0)
		p.pause(-s)
		assert.Equal(t, []time.Duration{s}, pacerWaits(t, p, 1), "a zero pause changes nothing")

		// A pause longer than burst intervals is reserved in several steps.
		p.pause(5 * time.Minute)
		assert.Equal(t, []time.Duration{5 * time.Minute, s}, pacerWaits(t, p, 2))

		// A pause shorter than the queue ahead does not shorten it.
		p2 := pacerWith(t, 10*s, 1)
		pacerWaits(t, p2, 1)
		p2.pause(s)
		assert.Equal(t, []time.Duration{10 * s}, pacerWaits(t, p2, 1))
	})
}

// TestPacerPausesAfter1205: done pauses the sends that follow a refusal, longer while the
// refusals go on, and a success resets the pause.
func TestPacerPausesAfter1205(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pacerWith(t, time.Second, 5)
		d := p.done(&Error{Op: opSendMsg, Ret: 1205})
		require.Positive(t, d)
		start := time.Now()
		require.NoError(t, p.wait(t.Context()))
		waited := time.Since(start)
		assert.GreaterOrEqual(t, waited, d, "the next send waits out the pause")
		assert.Less(t, waited, d+time.Second, "by at most one interval more")
	})
}

// TestPacerConcurrentWaiters: many goroutines share the bucket; each token is taken once.
func TestPacerConcurrentWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = 250 * time.Millisecond
		p := pacerWith(t, interval, 4)
		start := time.Now()
		var (
			mu   sync.Mutex
			ends []time.Duration
			wg   sync.WaitGroup
		)
		for range 20 {
			wg.Go(func() {
				assert.NoError(t, p.wait(t.Context()))
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
			assert.Equal(t, 1, counts[time.Duration(i)*interval], "one per interval after the burst (%d)", i)
		}
		assert.Equal(t, 16*interval, time.Since(start))
	})
}
