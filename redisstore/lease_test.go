package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/internal/redistest"
)

// grace is what a "within one renewal interval" check allows on top of the interval for
// scheduling on a loaded machine.
const grace = 250 * time.Millisecond

// waitDone waits up to limit for the lease to end and returns how long it took; it fails t if
// the lease is still held then.
func waitDone(t *testing.T, l wechat.Lease, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case <-l.Done():
		return time.Since(start)
	case <-timer.C:
		t.Fatalf("the lease is still held after %v", limit)
		return 0
	}
}

// assertHeldFor fails t if the lease ends within d.
func assertHeldFor(t *testing.T, l wechat.Lease, d time.Duration) {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-l.Done():
		t.Fatalf("the lease ended: %v", l.Err())
	case <-timer.C:
	}
}

// waitRenewed waits up to a third of st's TTL for a renewal: the lease key's TTL back within
// the top sixth of the TTL.
func waitRenewed(t *testing.T, srv *redistest.Server, st *Store) {
	t.Helper()
	rdb := srv.Client(t)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	limit := time.After(st.ttl / 3)
	for {
		pttl, err := rdb.PTTL(t.Context(), st.keys.lease).Result()
		require.NoError(t, err)
		if pttl > st.ttl-st.ttl/6 {
			return
		}
		select {
		case <-tick.C:
		case <-limit:
			t.Fatalf("the lease was not renewed: PTTL %v", pttl)
		}
	}
}

// TestLockHeld: a second Store of the account gets ErrLeaseHeld at once, naming the holder;
// after Release it takes the lease with a newer token.
func TestLockHeld(t *testing.T) {
	t.Parallel()
	srv := sharedServer(t)
	ctx := t.Context()
	a := newStore(t, srv)
	b := sameAccount(t, srv, a)
	la, err := a.Lock(ctx)
	require.NoError(t, err)
	assert.Positive(t, la.Token())

	start := time.Now()
	_, err = b.Lock(ctx)
	require.ErrorIs(t, err, wechat.ErrLeaseHeld)
	assert.Less(t, time.Since(start), time.Second, "Lock must fail at once, not wait")
	assert.Regexp(t, `leased by .+/\d+ \(token \d+\) for \d.*s more`, err.Error())
	_, err = a.Lock(ctx)
	require.ErrorIs(t, err, wechat.ErrLeaseHeld, "a second Lock on the holding Store")

	require.NoError(t, la.Release(ctx))
	<-la.Done()
	assert.ErrorIs(t, la.Err(), context.Canceled)
	require.NoError(t, la.Release(ctx), "releasing twice")

	lb, err := b.Lock(ctx)
	require.NoError(t, err, "a released lease is free at once")
	defer lb.Release(ctx)
	assert.Greater(t, lb.Token(), la.Token())
	// The Store that released saves without a lease again: refused while b holds it.
	require.ErrorIs(t, a.Save(ctx, testSession(1)), wechat.ErrLeaseHeld)
}

// TestRenewal holds a lease with a short TTL for several TTLs: renewals keep it.
func TestRenewal(t *testing.T) {
	t.Parallel()
	srv := sharedServer(t)
	ctx := t.Context()
	ttl := 1500 * time.Millisecond
	st := newStore(t, srv, WithTTL(ttl))
	l, err := st.Lock(ctx)
	require.NoError(t, err)
	assertHeldFor(t, l, 3*ttl)
	pttl, err := srv.Client(t).PTTL(ctx, st.keys.lease).Result()
	require.NoError(t, err)
	assert.Greater(t, pttl, ttl/2)
	require.NoError(t, st.Save(ctx, testSession(1)))
	require.NoError(t, l.Release(ctx))
	n, err := srv.Client(t).Exists(ctx, st.keys.lease).Result()
	require.NoError(t, err)
	assert.Zero(t, n, "Release deletes the lease key")
}

// TestLeaseEnds: the holder learns within one renewal interval that its lease key was
// deleted, taken by another holder, or revoked by a newer token; its saves are refused from
// then on, and a new Lock of the same Store gets a newer token.
func TestLeaseEnds(t *testing.T) {
	tests := []struct {
		name   string
		do     func(ctx context.Context, rdb *redis.Client, k keys) error
		reason string
	}{
		{"key deleted", func(ctx context.Context, rdb *redis.Client, k keys) error {
			return rdb.Del(ctx, k.lease).Err()
		}, "the lease key is gone"},
		{"key taken", func(ctx context.Context, rdb *redis.Client, k keys) error {
			return rdb.Set(ctx, k.lease, "other-host/42/x#99", time.Minute).Err()
		}, "taken by other-host/42 (token 99)"},
		{"revoked", func(ctx context.Context, rdb *redis.Client, k keys) error {
			return rdb.Incr(ctx, k.fence).Err()
		}, "revoked by a newer token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := sharedServer(t)
			ctx := t.Context()
			ttl := 1500 * time.Millisecond
			st := newStore(t, srv, WithTTL(ttl))
			rdb := srv.Client(t)
			l, err := st.Lock(ctx)
			require.NoError(t, err)

			require.NoError(t, tt.do(ctx, rdb, st.keys))
			took := waitDone(t, l, ttl)
			assert.LessOrEqual(t, took, ttl/3+grace, "the holder must stop within one renewal interval")
			require.ErrorIs(t, l.Err(), wechat.ErrLeaseLost)
			assert.Contains(t, l.Err().Error(), tt.reason)
			require.ErrorIs(t, st.Save(ctx, testSession(1)), wechat.ErrLeaseLost)
			require.ErrorIs(t, st.Clear(ctx), wechat.ErrLeaseLost)
			require.NoError(t, l.Release(ctx), "releasing a lost lease")

			if tt.name == "key taken" {
				return
			}
			l2, err := st.Lock(ctx)
			require.NoError(t, err)
			defer l2.Release(ctx)
			assert.Greater(t, l2.Token(), l.Token())
		})
	}
}

// TestStaleTokenRefused: a holder whose lease ended without its knowing yet (long TTL, no
// renewal due) cannot save: refused because the lease key is another holder's, or because a
// newer token was issued while the key still names it. The newer holder's session stays, and
// the refusal ends the refused holder's lease at once.
func TestStaleTokenRefused(t *testing.T) {
	t.Parallel()
	srv := sharedServer(t)
	ctx := t.Context()
	rdb := srv.Client(t)
	old := newStore(t, srv, WithTTL(time.Minute))
	lold, err := old.Lock(ctx)
	require.NoError(t, err)
	defer lold.Release(ctx)

	// The key expires (deleted here, as the TTL would) and a new holder takes the account.
	require.NoError(t, rdb.Del(ctx, old.keys.lease).Err())
	cur := sameAccount(t, srv, old)
	lcur, err := cur.Lock(ctx)
	require.NoError(t, err)
	want := testSession(4)
	require.NoError(t, cur.Save(ctx, want))

	require.NoError(t, lold.Err(), "the old holder has not noticed yet")
	err = old.Save(ctx, testSession(1))
	require.ErrorIs(t, err, wechat.ErrLeaseLost)
	assert.Contains(t, err.Error(), "the lease is held by ")
	// The refusal ends the lease at once, without waiting for the renewal 20 s away.
	waitDone(t, lold, time.Second)
	require.ErrorIs(t, lold.Err(), wechat.ErrLeaseLost)
	assert.Contains(t, lold.Err().Error(), "saving the session")
	require.ErrorIs(t, old.Clear(ctx), wechat.ErrLeaseLost)
	got, err := cur.Load(ctx)
	require.NoError(t, err)
	assert.Equal(t, want, got)

	// A newer token issued while the key still names the holder (an operator's INCR on the
	// fence key): refused too.
	require.NoError(t, rdb.Incr(ctx, cur.keys.fence).Err())
	err = cur.Save(ctx, testSession(1))
	require.ErrorIs(t, err, wechat.ErrLeaseLost)
	assert.Contains(t, err.Error(), "a newer lease (token ")
	waitDone(t, lcur, time.Second)
	require.ErrorIs(t, lcur.Err(), wechat.ErrLeaseLost)
	got, err = cur.Load(ctx)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	require.NoError(t, lcur.Release(ctx))
}

// TestLockRetryIsIdempotent runs the lock script twice with the same holder prefix, as
// go-redis does when a reply is lost: the second run returns the same token instead of
// reporting the lease held by ourselves.
func TestLockRetryIsIdempotent(t *testing.T) {
	t.Parallel()
	srv := sharedServer(t)
	ctx := t.Context()
	st := newStore(t, srv)
	k := []string{st.keys.lease, st.keys.fence}
	first, err := st.lockScript.Run(ctx, st.rdb, k, "h/1/abc#", 60000).Slice()
	require.NoError(t, err)
	again, err := st.lockScript.Run(ctx, st.rdb, k, "h/1/abc#", 60000).Slice()
	require.NoError(t, err)
	assert.Equal(t, first, again)
	other, err := st.lockScript.Run(ctx, st.rdb, k, "h/1/xyz#", 60000).Slice()
	require.NoError(t, err)
	assert.Equal(t, int64(0), other[0])
}

// TestRedisRestartWithoutPersistence: a Redis without persistence (the tests' default) comes
// back empty, so the lease key is gone and the holder learns it at the first renewal after
// the restart, within one interval. The fence counter is gone too and tokens start again
// from 1; the old holder is still refused, because the lease key is not its own.
func TestRedisRestartWithoutPersistence(t *testing.T) {
	t.Parallel()
	srv := redistest.New(t)
	ctx := t.Context()
	ttl := 1500 * time.Millisecond
	old := New(srv.Client(t), "acct", WithTTL(ttl))
	l, err := old.Lock(ctx)
	require.NoError(t, err)
	require.NoError(t, old.Save(ctx, testSession(2)))

	require.NoError(t, srv.Restart())
	took := waitDone(t, l, ttl)
	assert.LessOrEqual(t, took, ttl/3+grace)
	require.ErrorIs(t, l.Err(), wechat.ErrLeaseLost)
	assert.Contains(t, l.Err().Error(), "the lease key is gone")

	cur := New(srv.Client(t), "acct")
	lcur, err := cur.Lock(ctx)
	require.NoError(t, err)
	defer lcur.Release(ctx)
	assert.Equal(t, int64(1), lcur.Token(), "the counter restarted with the data")
	require.NoError(t, l.Release(ctx))
	require.ErrorIs(t, old.Save(ctx, testSession(1)), wechat.ErrLeaseHeld, "released: saves without a lease, refused while held")
}

// TestRedisRestartWithAOF: with the append-only file synced at every write, the lease key
// survives a crash of Redis (its expiry is an absolute time), so an outage shorter than the
// TTL does not end the lease: at once (a restart), and down for 10 s (connections refused)
// under a 24 s lease, whose renewal falls due meanwhile (at 8 s), during which saves fail with
// a clear error. Once Redis is back, renewals
// go on, the session saved before is there, and saves work.
func TestRedisRestartWithAOF(t *testing.T) {
	tests := []struct {
		name      string
		ttl, down time.Duration
	}{
		{"restart", 3 * time.Second, 0},
		{"down 10s", 24 * time.Second, 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := redistest.New(t, "--appendonly", "yes", "--appendfsync", "always")
			ctx := t.Context()
			st := New(srv.Client(t), "acct", WithTTL(tt.ttl))
			l, err := st.Lock(ctx)
			require.NoError(t, err)
			want := testSession(3)
			require.NoError(t, st.Save(ctx, want))

			srv.Kill()
			if tt.down > 0 {
				err := st.Save(ctx, testSession(1))
				require.Error(t, err)
				assert.Contains(t, err.Error(), "connection refused")
				assert.NotErrorIs(t, err, wechat.ErrLeaseLost)
				assertHeldFor(t, l, tt.down)
			}
			require.NoError(t, srv.Start())
			got, err := st.Load(ctx)
			require.NoError(t, err)
			assert.Equal(t, want, got)
			if tt.down > 0 {
				waitRenewed(t, srv, st)
			} else {
				assertHeldFor(t, l, 4*time.Second) // longer than the TTL: renewed
			}
			require.NoError(t, st.Save(ctx, testSession(4)))
			require.NoError(t, l.Release(ctx))
		})
	}
}

// TestRedisStalledShorterThanTTL: Redis frozen for 10 s (SIGSTOP: connections hang, as in a
// partition) under a 24 s lease, whose renewal falls due during the stall (at 8 s). Saves
// meanwhile fail with a clear error at their deadline; the lease is kept; once Redis answers
// again the renewal, retried, succeeds, and saves succeed.
func TestRedisStalledShorterThanTTL(t *testing.T) {
	t.Parallel()
	srv := redistest.New(t)
	ctx := t.Context()
	ttl := 24 * time.Second
	st := New(srv.Client(t), "acct", WithTTL(ttl))
	l, err := st.Lock(ctx)
	require.NoError(t, err)
	require.NoError(t, st.Save(ctx, testSession(1)))

	srv.Pause()
	resumed := time.After(10 * time.Second)
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	err = st.Save(sctx, testSession(2))
	cancel()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `redisstore: saving the session of account "acct": `)
	assert.NotErrorIs(t, err, wechat.ErrLeaseLost)
	select {
	case <-l.Done():
		t.Fatalf("lease ended during the stall: %v", l.Err())
	case <-resumed:
	}
	srv.Resume()

	want := testSession(3)
	require.NoError(t, st.Save(ctx, want))
	got, err := st.Load(ctx)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	// The renewal (due at 8 s, failed, retried every 2 s) catches up.
	waitRenewed(t, srv, st)
	require.NoError(t, l.Err())
	require.NoError(t, l.Release(ctx))
}

// TestRedisStalledPastTTL: Redis frozen longer than the lease's TTL, with a client that does
// not honour context deadlines (go-redis's defaults: a 5 s read timeout). The holder declares
// the lease lost 9/10 of the TTL after its last renewal was sent, though the renewal call
// still hangs, so it stops before another process can take the account; its saves are
// refused; once the key has expired another Store takes the lease.
func TestRedisStalledPastTTL(t *testing.T) {
	t.Parallel()
	srv := redistest.New(t)
	ctx := t.Context()
	ttl := 3 * time.Second // 9/10 of it plus slack for a loaded machine
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	st := New(rdb, "acct", WithTTL(ttl))
	l, err := st.Lock(ctx)
	require.NoError(t, err)

	srv.Pause()
	took := waitDone(t, l, 2*ttl)
	srv.Resume()
	assert.LessOrEqual(t, took, ttl)
	require.ErrorIs(t, l.Err(), wechat.ErrLeaseLost)
	assert.Contains(t, l.Err().Error(), "not renewed within the TTL")
	require.ErrorIs(t, st.Save(ctx, testSession(1)), wechat.ErrLeaseLost)
	require.NoError(t, l.Release(ctx))

	// The key itself expires by Redis's clock, up to a tenth of the TTL later.
	next := New(srv.Client(t), "acct")
	var ln wechat.Lease
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	limit := time.After(ttl)
	for ln == nil {
		ln, err = next.Lock(ctx)
		if err == nil {
			break
		}
		require.ErrorIs(t, err, wechat.ErrLeaseHeld)
		select {
		case <-tick.C:
		case <-limit:
			t.Fatalf("the lease key did not expire: %v", err)
		}
	}
	assert.Greater(t, ln.Token(), l.Token())
	require.NoError(t, ln.Release(ctx))
}
