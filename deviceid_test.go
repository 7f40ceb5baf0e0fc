package wechat

import (
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewDeviceID(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^e[0-9]{15}$`)
	seen := make(map[string]bool)
	for range 1000 {
		id := newDeviceID()
		require.Regexp(t, re, id)
		seen[id] = true
	}
	assert.Greater(t, len(seen), 990, "device ids should be random")
}

func TestClientMsgIDIncreasesInOneMillisecond(t *testing.T) {
	t.Parallel()
	now := time.UnixMilli(1700000000000)
	var ids idSource
	re := regexp.MustCompile(`^[0-9]{17}$`)
	var last int64
	for i := range 10000 {
		id := ids.clientMsgID(now)
		require.Regexp(t, re, id)
		n, err := strconv.ParseInt(id, 10, 64)
		require.NoError(t, err)
		require.Greater(t, n, last, "call %d", i)
		last = n
		// The ms timestamp followed by 4 digits (PROTOCOL 8.1, 12.1).
		require.Equal(t, "1700000000", id[:10])
	}
}

func TestClientMsgIDLaterTime(t *testing.T) {
	t.Parallel()
	var ids idSource
	a := ids.clientMsgID(time.UnixMilli(1700000000000))
	b := ids.clientMsgID(time.UnixMilli(1700000000001))
	assert.Equal(t, "1700000000000", a[:13])
	assert.Equal(t, "1700000000001", b[:13])
	assert.Less(t, a, b)
	// A clock that goes back never repeats an id.
	c := ids.clientMsgID(time.UnixMilli(1690000000000))
	assert.Less(t, b, c)
}

func TestClientMsgIDConcurrent(t *testing.T) {
	t.Parallel()
	var ids idSource
	now := time.UnixMilli(1700000000000)
	const workers, each = 8, 500
	got := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range each {
				got[w] = append(got[w], ids.clientMsgID(now))
			}
		})
	}
	wg.Wait()
	seen := make(map[string]bool)
	for _, ids := range got {
		for _, id := range ids {
			require.False(t, seen[id], "duplicate id %s", id)
			seen[id] = true
		}
	}
	assert.Len(t, seen, workers*each)
}

func TestCacheBuster(t *testing.T) {
	t.Parallel()
	var ids idSource
	now := time.UnixMilli(1700000000000)
	assert.Equal(t, "1700000000001", ids.cacheBuster(now))
	assert.Equal(t, "1700000000002", ids.cacheBuster(now.Add(time.Hour)), "taken once, then +1")
	assert.Equal(t, "1700000000003", ids.cacheBuster(now))
}

func TestNotMillis(t *testing.T) {
	t.Parallel()
	// PROTOCOL 12.1: int32(^uint32(uint64(ms))), what JavaScript's ~new Date() gives.
	tests := []struct {
		ms   int64
		want int32
	}{
		{0, -1},
		{1, -2},
		{1<<31 - 1, -1 << 31},
		{1 << 31, 1<<31 - 1},
		{1 << 32, -1},
		{1700000000000, 807049215},
		{1463755895000, 827952935},
	}
	for _, tt := range tests {
		got := notMillis(time.UnixMilli(tt.ms))
		assert.Equal(t, tt.want, got, "ms %d", tt.ms)
		// JavaScript: ToInt32(ms), then bitwise NOT, i.e. -x-1.
		x := int32(uint32(uint64(tt.ms)))
		assert.Equal(t, -x-1, got, "ms %d", tt.ms)
	}
}
