package fleet_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/fleet"
)

// TestRunnerRunsAccounts: one Runner leases and runs every account, each Client handles its
// account's messages, and when Run's ctx ends every Client stops, Run returns
// context.Canceled and every lease is released.
func TestRunnerRunsAccounts(t *testing.T) {
	t.Parallel()
	b := newBed(t, nil, "a", "b", "c")
	r := b.start()
	for range 3 {
		e := r.next(t, is(fleet.EventStarted, ""))
		assert.Positive(t, e.Token)
	}
	assert.Equal(t, []string{"a", "b", "c"}, r.Accounts())
	for _, bt := range b.bots {
		texts := bt.deliver("m", 5)
		assert.Zero(t, bt.waitHandled(t, 10*time.Second, texts))
	}
	r.shutdown(t)
	for range 3 {
		e := r.next(t, is(fleet.EventStopped, ""))
		assert.ErrorIs(t, e.Err, context.Canceled)
		assert.True(t, e.Retry.IsZero())
	}
	assert.Empty(t, r.Accounts())
	for _, bt := range b.bots {
		assert.False(t, bt.store.(*memLocker).held(), "%s: lease released", bt.name)
	}
}

// TestMaxAccountsAndTakeOver: a Runner limited to 2 of 3 accounts runs 2; a second Runner
// gets the third and skips the leased ones (ErrLeaseHeld is no event); when the first stops,
// the second takes its accounts over, resuming their sessions (no new login) with nothing
// lost: the second runner waits rather than fails.
func TestMaxAccountsAndTakeOver(t *testing.T) {
	t.Parallel()
	b := newBed(t, nil, "a", "b", "c")
	first := b.start(fleet.WithMaxAccounts(2))
	first.next(t, is(fleet.EventStarted, ""))
	first.next(t, is(fleet.EventStarted, ""))
	assertNoEvent(t, first, 200*time.Millisecond, is(fleet.EventStarted, ""))
	mine := first.Accounts()
	require.Len(t, mine, 2)
	second := b.start()
	e := second.next(t, is(fleet.EventStarted, ""))
	assert.NotContains(t, mine, e.Account)
	assert.Equal(t, []string{e.Account}, second.Accounts())

	var texts = map[string][]string{}
	for _, n := range mine {
		texts[n] = b.bots[n].deliver("before", 3)
		b.bots[n].waitHandled(t, 10*time.Second, texts[n])
	}
	first.shutdown(t)
	for range 2 {
		second.next(t, is(fleet.EventStarted, ""))
	}
	assert.Equal(t, []string{"a", "b", "c"}, second.Accounts())
	for _, n := range mine {
		more := b.bots[n].deliver("after", 3)
		assert.Zero(t, b.bots[n].waitHandled(t, 10*time.Second, append(texts[n], more...)), "a clean stop repeats nothing")
		assert.Equal(t, 1, loginsOf(b.bots[n]), "%s resumed its session", n)
	}
	for len(second.events) > 0 {
		e := <-second.events
		assert.NotEqual(t, fleet.EventLockFailed, e.Kind, "ErrLeaseHeld is no failure: %v", e)
	}
}

// loginsOf counts the QR logins the bot's fake saw (jslogin requests).
func loginsOf(b *bot) int {
	n := 0
	for _, r := range b.srv.Requests() {
		if r.Path == "/jslogin" {
			n++
		}
	}
	return n
}

// TestLeaseLostRetriedAtNextScan: when another holder takes the lease, the Client stops at
// once with ErrLeaseLost, reported with no backoff; the Runner takes the account back as soon
// as it is free, and the messages handled before and after are all there.
func TestLeaseLostRetriedAtNextScan(t *testing.T) {
	t.Parallel()
	b := newBed(t, nil, "a")
	bt := b.bots["a"]
	r := b.start()
	first := r.next(t, is(fleet.EventStarted, "a"))
	before := bt.deliver("before", 3)
	bt.waitHandled(t, 10*time.Second, before)

	bt.store.(*memLocker).steal()
	e := r.next(t, is(fleet.EventStopped, "a"))
	require.ErrorIs(t, e.Err, wechat.ErrLeaseLost)
	assert.True(t, e.Retry.IsZero(), "a lost lease is retried at the next scan, without backoff")
	assert.Empty(t, r.Accounts())
	assertNoEvent(t, r, 300*time.Millisecond, is(fleet.EventStarted, "a")) // held by the thief

	bt.store.(*memLocker).free()
	again := r.next(t, is(fleet.EventStarted, "a"))
	assert.Greater(t, again.Token, first.Token)
	after := bt.deliver("after", 3)
	bt.waitHandled(t, 10*time.Second, append(before, after...))
}

// assertNoEvent fails t if an event matching ok comes within d.
func assertNoEvent(t *testing.T, r *runner, d time.Duration, ok func(fleet.Event) bool) {
	t.Helper()
	limit := time.After(d)
	for {
		select {
		case e := <-r.events:
			if ok(e) {
				t.Fatalf("unexpected event: %v", e)
			}
		case <-limit:
			return
		}
	}
}

// TestScanNeededBacksOff: a Client that cannot log in without a QR scan (LoginResumeOnly and
// no stored session) stops with ErrScanNeeded; the Runner retries it after a backoff that
// grows, and runs the others meanwhile.
func TestScanNeededBacksOff(t *testing.T) {
	t.Parallel()
	b := newBed(t, nil, "a")
	b.opts = []wechat.Option{wechat.WithLoginPolicy(wechat.LoginResumeOnly)}
	r := b.start(fleet.WithScanInterval(100 * time.Millisecond))
	var waits []time.Duration
	for range 4 {
		e := r.next(t, is(fleet.EventStopped, "a"))
		require.ErrorIs(t, e.Err, wechat.ErrScanNeeded)
		require.False(t, e.Retry.IsZero())
		waits = append(waits, time.Until(e.Retry))
	}
	t.Logf("backoffs: %v", waits)
	// Equal jitter: attempt n waits within [d/2, d] for d = 100ms·2ⁿ.
	assert.GreaterOrEqual(t, waits[3], 350*time.Millisecond)
	assert.Greater(t, waits[3], waits[0])
	assert.False(t, b.bots["a"].store.(*memLocker).held(), "the lease is released between tries")
}

// TestLockFailedEndsScan: a store whose Lock fails (Redis down) is reported as
// EventLockFailed with the store's error, and ends the scan; once it works, every account
// starts.
func TestLockFailedEndsScan(t *testing.T) {
	t.Parallel()
	b := newBed(t, nil, "a", "b")
	for _, bt := range b.bots {
		bt.store.(*memLocker).setLockErr(errDown)
	}
	r := b.start()
	e := r.next(t, is(fleet.EventLockFailed, ""))
	require.ErrorIs(t, e.Err, errDown)
	e2 := r.next(t, is(fleet.EventLockFailed, ""))
	require.ErrorIs(t, e2.Err, errDown)
	locks := 0
	for _, bt := range b.bots {
		m := bt.store.(*memLocker)
		m.mu.Lock()
		locks += m.locks
		m.mu.Unlock()
	}
	assert.LessOrEqual(t, locks, 3, "each failing scan stops at its first failure")
	for _, bt := range b.bots {
		bt.store.(*memLocker).setLockErr(nil)
	}
	r.next(t, is(fleet.EventStarted, ""))
	r.next(t, is(fleet.EventStarted, ""))
	assert.Len(t, r.Accounts(), 2)
}

// TestAccountSource: the accounts come from a source asked at every scan; an account it no
// longer lists is stopped (saved, released, no retry), one it lists again is started, and a
// failing source is reported and changes nothing.
func TestAccountSource(t *testing.T) {
	t.Parallel()
	b := newBed(t, nil, "a", "b")
	var mu sync.Mutex
	list, fail := []string{"a", "b", "a", ""}, error(nil)
	set := func(l []string, err error) {
		mu.Lock()
		defer mu.Unlock()
		list, fail = l, err
	}
	r := b.start(fleet.WithAccountSource(func(ctx context.Context) ([]string, error) {
		mu.Lock()
		defer mu.Unlock()
		return list, fail
	}))
	r.next(t, is(fleet.EventStarted, ""))
	r.next(t, is(fleet.EventStarted, ""))
	assert.Equal(t, []string{"a", "b"}, r.Accounts(), "duplicates and empty names are ignored")

	set(nil, errDown)
	e := r.next(t, is(fleet.EventSourceFailed, ""))
	assert.ErrorIs(t, e.Err, errDown)
	assert.Equal(t, []string{"a", "b"}, r.Accounts(), "a failing source stops nothing")

	set([]string{"b"}, nil)
	e = r.next(t, is(fleet.EventStopped, "a"))
	assert.ErrorIs(t, e.Err, context.Canceled)
	assert.True(t, e.Retry.IsZero())
	assert.Equal(t, []string{"b"}, r.Accounts())
	assert.False(t, b.bots["a"].store.(*memLocker).held())

	set([]string{"a", "b"}, nil)
	r.next(t, is(fleet.EventStarted, "a"))
	assert.Equal(t, 1, loginsOf(b.bots["a"]), "a resumed its saved session")
}

// TestClientIgnoringStore: a Client factory that does not give the Client its store is
// reported when the Client stops; the Runner still stops it when the lease is lost.
func TestClientIgnoringStore(t *testing.T) {
	t.Parallel()
	b := newBed(t, nil, "a")
	b.ignoreStore = true
	r := b.start()
	r.next(t, is(fleet.EventStarted, "a"))
	require.NoError(t, b.bots["a"].srv.WaitOnline(t.Context()))
	b.bots["a"].store.(*memLocker).steal()
	e := r.next(t, is(fleet.EventStopped, "a"))
	require.ErrorIs(t, e.Err, wechat.ErrLeaseLost)
	assert.Contains(t, e.Err.Error(), "the Client did not keep its session in the store given to it")
}

// TestRunErrors: the zero Runner, a Runner without accounts and a second Run fail at once;
// New panics without its factories.
func TestRunErrors(t *testing.T) {
	t.Parallel()
	var zero fleet.Runner
	assert.Error(t, zero.Run(t.Context()))
	assert.Empty(t, zero.Accounts())

	b := newBed(t, nil, "a")
	none := fleet.New(b.storeFor, b.clientFor)
	err := none.Run(t.Context())
	assert.ErrorContains(t, err, "no accounts")

	r := b.start()
	r.next(t, is(fleet.EventStarted, "a"))
	assert.ErrorContains(t, r.Run(t.Context()), "while the Runner runs")

	assert.Panics(t, func() { fleet.New(nil, b.clientFor) })
	assert.Panics(t, func() { fleet.New(b.storeFor, nil) })
}

// TestEventString: events print their kind, account, token, error and retry time.
func TestEventString(t *testing.T) {
	retry := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		e    fleet.Event
		want string
	}{
		{fleet.Event{Kind: fleet.EventStarted, Account: "a", Token: 7}, `started "a" (token 7)`},
		{fleet.Event{Kind: fleet.EventStopped, Account: "a", Err: wechat.ErrScanNeeded, Retry: retry},
			`stopped "a": wechat: a QR code scan is needed; retry after 2026-01-02T03:04:05Z`},
		{fleet.Event{Kind: fleet.EventLockFailed, Account: "a", Err: errors.New("down")}, `lock failed "a": down`},
		{fleet.Event{Kind: fleet.EventSourceFailed, Err: errors.New("down")}, `source failed: down`},
		{fleet.Event{Kind: 99}, `EventKind(99)`},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.e.String())
	}
}

// TestLoggedOutBacksOff: the server ends a session (retcode 1101): the Client stops with
// ErrLoggedOut, which the Runner reports with a backoff, then runs the account again with a
// new Client, which logs in anew (here with a QR code the phone confirms).
func TestLoggedOutBacksOff(t *testing.T) {
	t.Parallel()
	b := newBed(t, nil, "a")
	bt := b.bots["a"]
	r := b.start(fleet.WithScanInterval(100 * time.Millisecond))
	r.next(t, is(fleet.EventStarted, "a"))
	require.NoError(t, bt.srv.WaitOnline(t.Context()))
	bt.srv.ConfirmLogin() // for the next QR code
	bt.srv.EndSession(1101)
	e := r.next(t, is(fleet.EventStopped, "a"))
	require.ErrorIs(t, e.Err, wechat.ErrLoggedOut)
	assert.False(t, e.Retry.IsZero(), "retried after a backoff")
	r.next(t, is(fleet.EventStarted, "a"))
	texts := bt.deliver("again", 3)
	assert.Zero(t, bt.waitHandled(t, 10*time.Second, texts))
	assert.Equal(t, 2, loginsOf(bt))
	bt.mu.Lock()
	defer bt.mu.Unlock()
	assert.Equal(t, 2, bt.runs, "a new Client for the second Run")
}
