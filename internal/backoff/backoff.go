// Package backoff computes retry delays and waits for them without
// outliving a context.
//
// The sync loop backs off after transient failures (PROTOCOL.md 6.1: "back
// off (2 s, 4 s, …) and retry") and resets after a success:
//
//	var b backoff.Backoff
//	for {
//		if err := step(ctx); err == nil {
//			b.Reset()
//			continue
//		}
//		if err := backoff.Sleep(ctx, b.Next()); err != nil {
//			return err
//		}
//	}
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Defaults used for a zero or negative Min or Max.
const (
	defaultMin = time.Second
	defaultMax = 30 * time.Second
)

// Backoff computes exponential, jittered, capped retry delays. The zero
// value is ready to use, with Min 1s and Max 30s. A Backoff is not safe for
// concurrent use.
type Backoff struct {
	// Min is the delay before the first retry, before jitter. Zero or
	// negative means 1s.
	Min time.Duration
	// Max caps the delay. Zero or negative means 30s.
	Max time.Duration

	attempt int // retries since the last Reset; stops growing at the cap

	// randN, if set, replaces rand.Int64N (tests make the jitter
	// predictable with it). It must return a value in [0, n).
	randN func(n int64) int64
}

// Next returns the delay before the next retry and counts the attempt. For
// attempt n (0 after a Reset), with d = min(Max, Min·2ⁿ), the delay is drawn
// uniformly from [d/2, d] ("equal jitter"). The computation never
// overflows, however many attempts there have been.
func (b *Backoff) Next() time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = defaultMin
	}
	if hi <= 0 {
		hi = defaultMax
	}
	d := lo
	for i := 0; i < b.attempt && d < hi; i++ {
		if d > hi/2 {
			d = hi // doubling would pass the cap, or overflow
		} else {
			d *= 2
		}
	}
	d = min(d, hi)
	if d < hi {
		// Count only attempts that can still grow the delay, so the
		// counter, and the loop above, stay small.
		b.attempt++
	}
	half := d / 2
	// d-half+1 cannot overflow: d-half <= MaxInt64/2+1.
	return half + time.Duration(b.int64N(int64(d-half)+1))
}

// Reset makes the next delay the first one again, after a success.
func (b *Backoff) Reset() {
	b.attempt = 0
}

func (b *Backoff) int64N(n int64) int64 {
	if b.randN != nil {
		return b.randN(n)
	}
	return rand.Int64N(n)
}

// Sleep waits for d or until ctx is done, whichever comes first. It returns
// nil after waiting d, and ctx.Err() if ctx is done first (or already was).
// A zero or negative d returns ctx.Err() at once. Sleep waits on a timer
// and ctx.Done() together, so a cancelled ctx ends the wait at once.
func Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil || d <= 0 {
		return err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
