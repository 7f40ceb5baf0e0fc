package backoff

import (
	"context"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// highest and lowest make the jitter draw its largest and smallest value.
func highest(n int64) int64 { return n - 1 }
func lowest(int64) int64    { return 0 }

func draws(b *Backoff, n int) []time.Duration {
	got := make([]time.Duration, n)
	for i := range got {
		got[i] = b.Next()
	}
	return got
}

func TestNextGrowthAndCap(t *testing.T) {
	s := time.Second
	tests := []struct {
		name  string
		b     Backoff
		randN func(int64) int64
		want  []time.Duration
	}{
		{
			name: "zero value, upper end", randN: highest,
			want: []time.Duration{1 * s, 2 * s, 4 * s, 8 * s, 16 * s, 30 * s, 30 * s, 30 * s},
		},
		{
			name: "zero value, lower end", randN: lowest,
			want: []time.Duration{s / 2, 1 * s, 2 * s, 4 * s, 8 * s, 15 * s, 15 * s},
		},
		{
			name: "custom", b: Backoff{Min: 2 * s, Max: 10 * s}, randN: highest,
			want: []time.Duration{2 * s, 4 * s, 8 * s, 10 * s, 10 * s},
		},
		{
			name: "only Min set", b: Backoff{Min: 10 * s}, randN: highest,
			want: []time.Duration{10 * s, 20 * s, 30 * s, 30 * s},
		},
		{
			name: "only Max set", b: Backoff{Max: 3 * s}, randN: highest,
			want: []time.Duration{1 * s, 2 * s, 3 * s, 3 * s},
		},
		{
			name: "negative means default", b: Backoff{Min: -s, Max: -s}, randN: highest,
			want: []time.Duration{1 * s, 2 * s, 4 * s},
		},
		{
			name: "Min above Max is capped", b: Backoff{Min: time.Minute, Max: 10 * s}, randN: highest,
			want: []time.Duration{10 * s, 10 * s, 10 * s},
		},
		{
			name: "Max equal to Min", b: Backoff{Min: 5 * s, Max: 5 * s}, randN: lowest,
			want: []time.Duration{5 * s / 2, 5 * s / 2},
		},
		{
			name: "nanosecond", b: Backoff{Min: 1, Max: 4}, randN: highest,
			want: []time.Duration{1, 2, 4, 4},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.b
			b.randN = tt.randN
			assert.Equal(t, tt.want, draws(&b, len(tt.want)))
		})
	}
}

func TestReset(t *testing.T) {
	b := Backoff{randN: highest}
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, draws(&b, 3))
	b.Reset()
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second}, draws(&b, 2))

	// Reset after reaching the cap too.
	draws(&b, 50)
	b.Reset()
	assert.Equal(t, time.Second, b.Next())
}

func TestNextBounds(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}
	seen := map[time.Duration]bool{}
	for range 200 {
		b.Reset()
		d := b.Min
		for range 10 {
			got := b.Next()
			require.GreaterOrEqual(t, got, d/2)
			require.LessOrEqual(t, got, d)
			seen[got] = true
			d = min(2*d, b.Max)
		}
	}
	assert.Greater(t, len(seen), 100, "the delays should be jittered")
}

func TestNextNoOverflow(t *testing.T) {
	for _, b := range []Backoff{
		{},
		{Min: time.Hour, Max: math.MaxInt64},
		{Min: math.MaxInt64 / 3, Max: math.MaxInt64},
		{Min: math.MaxInt64, Max: math.MaxInt64},
		{Min: 1, Max: math.MaxInt64},
	} {
		limit := b.Max
		if limit == 0 {
			limit = 30 * time.Second
		}
		var highestSoFar time.Duration
		for i := range 100 {
			got := b.Next()
			require.GreaterOrEqual(t, got, time.Duration(0), "attempt %d of %+v", i, b)
			require.LessOrEqual(t, got, limit, "attempt %d of %+v", i, b)
			require.GreaterOrEqual(t, got, highestSoFar/2, "attempt %d of %+v: delays must not shrink", i, b)
			highestSoFar = max(highestSoFar, got)
		}
		b.randN = highest
		assert.Equal(t, limit, b.Next(), "after 100 attempts the delay is at the cap")
	}
}

func TestSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		require.NoError(t, Sleep(t.Context(), 10*time.Second))
		assert.Equal(t, 10*time.Second, time.Since(start))
	})
}

func TestSleepContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		defer cancel()
		start := time.Now()
		err := Sleep(ctx, time.Hour)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 3*time.Second, time.Since(start))
	})
}

func TestSleepCancelledWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- Sleep(ctx, time.Hour) }()
		synctest.Wait() // Sleep is blocked in its select
		cancel()
		require.ErrorIs(t, <-done, context.Canceled)
		assert.Zero(t, time.Since(start))
	})
}

func TestSleepAlreadyCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	// Outside synctest: a real clock, and the call must not wait an hour.
	start := time.Now()
	require.ErrorIs(t, Sleep(ctx, time.Hour), context.Canceled)
	assert.Less(t, time.Since(start), time.Second)
}

func TestSleepNonPositive(t *testing.T) {
	assert.NoError(t, Sleep(t.Context(), 0))
	assert.NoError(t, Sleep(t.Context(), -time.Second))

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	assert.ErrorIs(t, Sleep(ctx, 0), context.Canceled)
}
