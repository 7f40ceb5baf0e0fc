package fleet_test

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/fleet"
	"github.com/wxkit/wechat/internal/redistest"
	"github.com/wxkit/wechat/redisstore"
)

// redisBed is a bed whose accounts keep their sessions in Redis (rdb, under a prefix of this
// test's own), each logged in once, so that the Runners' Clients resume them
// (LoginResumeOnly).
func redisBed(t *testing.T, rdb redis.UniversalClient, ttl time.Duration, names ...string) *bed {
	t.Helper()
	prefix := "fleet:" + crand.Text()[:8] + ":"
	b := newBed(t, func(name string) wechat.SessionLocker {
		return redisstore.New(rdb, name, redisstore.WithPrefix(prefix), redisstore.WithTTL(ttl))
	}, names...)
	for _, bt := range b.bots {
		c := wechat.New(wechat.WithHTTPClient(bt.srv.Client()), wechat.WithQRHandler(func(wechat.QRCode) {}),
			wechat.WithSessionStore(bt.store))
		require.NoError(t, c.Login(t.Context()), bt.name)
	}
	b.opts = []wechat.Option{wechat.WithLoginPolicy(wechat.LoginResumeOnly)}
	return b
}

// TestRedisSecondRunnerWaits: on real Redis, a second Runner of the same accounts runs none
// of them while the first holds their leases, reporting no failure (a held lease is no
// error); when the first stops, releasing them, the second takes every account over at its
// next scans and resumes them: nothing lost, nothing handled twice.
func TestRedisSecondRunnerWaits(t *testing.T) {
	t.Parallel()
	srv := sharedServer(t)
	b := redisBed(t, srv.Client(t), 3*time.Second, "a", "b", "c")
	first := b.start()
	for range 3 {
		first.next(t, is(fleet.EventStarted, ""))
	}
	texts := map[string][]string{}
	for n, bt := range b.bots {
		texts[n] = bt.deliver("first", 3)
		bt.waitHandled(t, 10*time.Second, texts[n])
	}
	second := b.start()
	assertNoEvent(t, second, 500*time.Millisecond, func(fleet.Event) bool { return true })
	assert.Empty(t, second.Accounts())

	first.shutdown(t)
	stopped := time.Now()
	for range 3 {
		second.next(t, is(fleet.EventStarted, ""))
	}
	assert.Less(t, time.Since(stopped), 2*time.Second, "released leases are taken at the next scan, not after the TTL")
	for n, bt := range b.bots {
		texts[n] = append(texts[n], bt.deliver("second", 3)...)
		assert.Zero(t, bt.waitHandled(t, 10*time.Second, texts[n]), n)
		assert.Equal(t, 1, loginsOf(bt), "%s resumed its session", n)
	}
}

// TestRedisAccountSet: the accounts come from a Redis set; an account added to it is started
// at the next scan, one removed is stopped and its lease released.
func TestRedisAccountSet(t *testing.T) {
	t.Parallel()
	srv := sharedServer(t)
	rdb := srv.Client(t)
	b := redisBed(t, rdb, 3*time.Second, "a", "b")
	key := "fleet:bots:" + crand.Text()[:8]
	require.NoError(t, rdb.SAdd(t.Context(), key, "a").Err())
	r := b.start(fleet.WithAccountSource(func(ctx context.Context) ([]string, error) {
		return rdb.SMembers(ctx, key).Result()
	}))
	r.next(t, is(fleet.EventStarted, "a"))
	require.NoError(t, rdb.SAdd(t.Context(), key, "b").Err())
	r.next(t, is(fleet.EventStarted, "b"))
	require.NoError(t, rdb.SRem(t.Context(), key, "a").Err())
	e := r.next(t, is(fleet.EventStopped, "a"))
	assert.ErrorIs(t, e.Err, context.Canceled)
	assert.Equal(t, []string{"b"}, r.Accounts())
	l, err := b.storeFor("a").Lock(t.Context())
	require.NoError(t, err, "the removed account's lease was released")
	require.NoError(t, l.Release(t.Context()))
}

// TestRedisDownAtStart: Redis is down when the fleet starts (its sessions are in its
// append-only file). A Client's Run fails at once with a clear error, which is neither lease
// sentinel; the Runner reports the same error as EventLockFailed at each scan and starts
// nothing. Messages arrive meanwhile. Once Redis is up, the Runner starts every account,
// resuming its session, and every message is handled, once: 0 lost.
func TestRedisDownAtStart(t *testing.T) {
	t.Parallel()
	redistest.Require(t, sharedErr)
	srv := redistest.New(t, "--appendonly", "yes", "--appendfsync", "always")
	b := redisBed(t, srv.Client(t), 3*time.Second, "a", "b")
	srv.Kill()

	c := b.clientFor("a", b.storeFor("a"))
	start := time.Now()
	err := c.Run(t.Context())
	require.Error(t, err)
	assert.Less(t, time.Since(start), 5*time.Second, "Run fails at once")
	assert.Contains(t, err.Error(), `redisstore: lock of account "a": `)
	assert.Contains(t, err.Error(), "connection refused")
	assert.NotErrorIs(t, err, wechat.ErrLeaseHeld)
	assert.NotErrorIs(t, err, wechat.ErrLeaseLost)

	texts := map[string][]string{}
	for n, bt := range b.bots {
		texts[n] = bt.deliver("down", 5)
	}
	r := b.start()
	for range 2 {
		e := r.next(t, is(fleet.EventLockFailed, ""))
		assert.Contains(t, e.Err.Error(), "connection refused")
	}
	assert.Empty(t, r.Accounts())

	require.NoError(t, srv.Start())
	r.next(t, is(fleet.EventStarted, ""))
	r.next(t, is(fleet.EventStarted, ""))
	for n, bt := range b.bots {
		texts[n] = append(texts[n], bt.deliver("up", 5)...)
		assert.Zero(t, bt.waitHandled(t, 10*time.Second, texts[n]), "%s: nothing handled twice", n)
		assert.Equal(t, 1, loginsOf(bt), "%s resumed its session", n)
	}
}

// TestRedisStalled10s: Redis stalls (SIGSTOP: connections hang, as in a partition) for 10 s
// while a Runner runs an account under a 3 s lease, with messages arriving all along. The
// Client stops with ErrLeaseLost before the key can expire; the Runner reports the Lock
// failures that follow; once Redis answers again the Runner takes the account back (its key
// has expired) and the Client resumes from its committed position: every message is handled,
// 0 lost (the messages handled since the last save before the stall may be handled again).
func TestRedisStalled10s(t *testing.T) {
	t.Parallel()
	redistest.Require(t, sharedErr)
	srv := redistest.New(t)
	const ttl = 3 * time.Second
	b := redisBed(t, srv.Client(t), ttl, "a")
	bt := b.bots["a"]
	r := b.start(fleet.WithScanInterval(200 * time.Millisecond))
	first := r.next(t, is(fleet.EventStarted, "a"))
	texts := bt.deliver("before", 5)
	bt.waitHandled(t, 10*time.Second, texts)

	srv.Pause()
	paused := time.Now()
	resume := time.After(10 * time.Second)
	tick := time.NewTicker(500 * time.Millisecond)
	var lost fleet.Event
	i := 0
loop:
	for {
		select {
		case <-tick.C:
			texts = append(texts, bt.deliver(fmt.Sprint("during", i), 1)...)
			i++
		case e := <-r.events:
			if e.Kind == fleet.EventStopped {
				lost = e
				assert.Less(t, time.Since(paused), ttl, "stopped before the key could expire")
			}
		case <-resume:
			break loop
		}
	}
	tick.Stop()
	require.ErrorIs(t, lost.Err, wechat.ErrLeaseLost, "the Client stopped during the stall")
	assert.Contains(t, lost.Err.Error(), "not renewed within the TTL")
	srv.Resume()

	again := r.next(t, is(fleet.EventStarted, "a"))
	assert.Greater(t, again.Token, first.Token)
	texts = append(texts, bt.deliver("after", 5)...)
	dups := bt.waitHandled(t, 15*time.Second, texts)
	t.Logf("%d messages handled, %d of them twice", len(texts), dups)
	assert.Equal(t, 1, loginsOf(bt), "resumed its session")
}
