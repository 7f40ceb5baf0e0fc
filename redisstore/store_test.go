package redisstore

import (
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/internal/redistest"
)

// newStore returns a Store on srv for a new account named after the test, unique to this
// call, so that tests on the shared server never meet, in parallel or with -count.
// sameAccount gives a second Store of that account.
func newStore(t *testing.T, srv *redistest.Server, opts ...Option) *Store {
	t.Helper()
	return New(srv.Client(t), t.Name()+"#"+rand.Text()[:8], opts...)
}

func sameAccount(t *testing.T, srv *redistest.Server, st *Store, opts ...Option) *Store {
	t.Helper()
	return New(srv.Client(t), st.account, opts...)
}

// testSession returns a session shaped like the Client's snapshot, with n contacts.
func testSession(n int) *wechat.Session {
	s := &wechat.Session{
		Version:      1,
		Mode:         "desktop",
		MainHost:     "wx2.qq.com",
		Uin:          2_000_000_001,
		Sid:          "SID-secret-value",
		Skey:         "@crypt_SKEY-secret-value",
		PassTicket:   "PASS-TICKET-secret-value",
		DeviceID:     "e123456789012345",
		SelfUserName: "@self",
		SyncKey:      []wechat.KeyVal{{Key: 1, Val: 700}, {Key: 2, Val: 701}},
		SyncCheckKey: []wechat.KeyVal{{Key: 1, Val: 700}},
		Cookies: []wechat.Cookie{{Name: "wxsid", Value: "SID-secret-value", Domain: ".wx2.qq.com", Path: "/",
			Expires: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), Secure: true, HTTPOnly: true}},
		Handled: []string{"1001", "1002"},
		SavedAt: time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC),
		IDs:     map[string]string{},
	}
	for i := range n {
		c := wechat.Contact{UserName: fmt.Sprintf("@%064x", i), ID: fmt.Sprintf("wxid_%d", i),
			NickName: fmt.Sprintf("Friend %d", i), Sex: 1 + i%2, Kind: wechat.KindFriend}
		if i%10 == 0 {
			c.Kind = wechat.KindGroup
			c.Members = []wechat.Member{{UserName: "@m1", ID: "uin:5", NickName: "M"}}
			c.MemberCount = 1
		}
		s.Contacts = append(s.Contacts, c)
		s.IDs["pid:"+c.ID] = c.ID
	}
	if n > 0 {
		s.ContactsVersion = fmt.Sprintf("book-%d", n)
	}
	return s
}

func TestSaveLoad(t *testing.T) {
	t.Parallel()
	st := newStore(t, sharedServer(t))
	ctx := t.Context()

	_, err := st.Load(ctx)
	require.ErrorIs(t, err, wechat.ErrNoSession)

	want := testSession(50)
	require.NoError(t, st.Save(ctx, want))
	got, err := st.Load(ctx)
	require.NoError(t, err)
	assert.Equal(t, want, got)

	// A later save replaces everything, including a book that shrank to nothing.
	next := testSession(0)
	next.Handled = []string{"1003"}
	next.IDs = nil
	require.NoError(t, st.Save(ctx, next))
	got, err = st.Load(ctx)
	require.NoError(t, err)
	assert.Equal(t, next, got)
}

func TestSaveNil(t *testing.T) {
	st := New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), "a")
	defer st.rdb.Close()
	assert.Error(t, st.Save(t.Context(), nil))
}

func TestNewPanics(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	assert.PanicsWithValue(t, "redisstore: New with an empty account name", func() { New(rdb, "") })
	assert.PanicsWithValue(t, "redisstore: New with a nil client", func() { New(nil, "a") })
}

func TestKeyLayout(t *testing.T) {
	tests := []struct {
		prefix, account string
		want            keys
	}{
		{DefaultPrefix, "shop-1", keys{"wechat:{shop-1}:session", "wechat:{shop-1}:contacts", "wechat:{shop-1}:ids", "wechat:{shop-1}:lease", "wechat:{shop-1}:fence"}},
		{"", "a", keys{"{a}:session", "{a}:contacts", "{a}:ids", "{a}:lease", "{a}:fence"}},
		{"bots/", "客服", keys{"bots/{客服}:session", "bots/{客服}:contacts", "bots/{客服}:ids", "bots/{客服}:lease", "bots/{客服}:fence"}},
	}
	for _, tt := range tests {
		t.Run(tt.account, func(t *testing.T) {
			got := keysFor(tt.prefix, tt.account)
			assert.Equal(t, tt.want, got)
			// One hash slot for all of an account's keys, as scripts on Redis Cluster need.
			for _, k := range got.list() {
				assert.Equal(t, hashTag(got.session), hashTag(k), k)
			}
		})
	}
}

// hashTag returns the part of key Redis Cluster hashes: the first {...} if not empty.
func hashTag(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key[i+1 : i+1+j]
		}
	}
	return key
}

// TestKeysHoldNoSecrets saves and locks, then lists every key of the server: all are under the
// prefix and the account's tag, and no key name holds a secret or the uin.
func TestKeysHoldNoSecrets(t *testing.T) {
	srv, err := redistest.Start()
	redistest.Require(t, err)
	defer srv.Close()
	ctx := t.Context()
	st := New(srv.Client(t), "acct", WithPrefix("bots:"))
	l, err := st.Lock(ctx)
	require.NoError(t, err)
	defer l.Release(ctx)
	sess := testSession(3)
	require.NoError(t, st.Save(ctx, sess))

	names, err := srv.Client(t).Keys(ctx, "*").Result()
	require.NoError(t, err)
	slices.Sort(names)
	assert.Equal(t, []string{"bots:{acct}:contacts", "bots:{acct}:fence", "bots:{acct}:ids", "bots:{acct}:lease", "bots:{acct}:session"}, names)
	for _, n := range names {
		for _, secret := range []string{sess.Sid, sess.Skey, sess.PassTicket, fmt.Sprint(sess.Uin)} {
			assert.NotContains(t, n, secret)
		}
	}
}

// TestClear removes the session, the book and the IDs, and keeps the lease while it is held
// and the fence counter always, so that tokens keep growing.
func TestClear(t *testing.T) {
	t.Parallel()
	srv := sharedServer(t)
	ctx := t.Context()
	st := newStore(t, srv)
	require.NoError(t, st.Clear(ctx), "clearing an empty store")
	l, err := st.Lock(ctx)
	require.NoError(t, err)
	require.NoError(t, st.Save(ctx, testSession(5)))
	require.NoError(t, st.Clear(ctx))
	_, err = st.Load(ctx)
	require.ErrorIs(t, err, wechat.ErrNoSession)
	assert.Equal(t, []string{st.keys.fence, st.keys.lease}, accountKeys(t, srv, st))
	require.NoError(t, l.Err(), "Clear must not end the lease")

	require.NoError(t, l.Release(ctx))
	assert.Equal(t, []string{st.keys.fence}, accountKeys(t, srv, st))
	l2, err := st.Lock(ctx)
	require.NoError(t, err)
	defer l2.Release(ctx)
	assert.Greater(t, l2.Token(), l.Token())

	// After a Clear the book is written whole again, though the slice is the same.
	sess := testSession(5)
	require.NoError(t, st.Save(ctx, sess))
	require.NoError(t, st.Clear(ctx))
	require.NoError(t, st.Save(ctx, sess))
	got, err := st.Load(ctx)
	require.NoError(t, err)
	assert.Equal(t, sess, got)
}

func accountKeys(t *testing.T, srv *redistest.Server, st *Store) []string {
	t.Helper()
	names, err := srv.Client(t).Keys(t.Context(), DefaultPrefix+"{"+st.account+"}:*").Result()
	require.NoError(t, err)
	slices.Sort(names)
	return names
}

// TestBookSkippedWhenUnchanged proves that a save with the same Contacts slice and equal IDs
// does not send them (a marker planted in Redis survives it), that a new slice or changed IDs
// are sent, and that a skip never happens when Redis holds another writer's book.
func TestBookSkippedWhenUnchanged(t *testing.T) {
	t.Parallel()
	srv := sharedServer(t)
	ctx := t.Context()
	rdb := srv.Client(t)
	st := newStore(t, srv)
	sess := testSession(20)
	require.NoError(t, st.Save(ctx, sess))

	// Plant markers under the same generation: a skipped part leaves them in place.
	require.NoError(t, rdb.Set(ctx, st.keys.contacts, `[{"UserName":"@marker"}]`, 0).Err())
	require.NoError(t, rdb.Set(ctx, st.keys.ids, `{"marker":"m"}`, 0).Err())
	sess.Handled = append(sess.Handled, "1003")
	sess.IDs = maps.Clone(sess.IDs) // a fresh map with equal content, as the Client hands
	require.NoError(t, st.Save(ctx, sess))
	got, err := st.Load(ctx)
	require.NoError(t, err)
	assert.Equal(t, "@marker", got.Contacts[0].UserName, "unchanged contacts were sent")
	assert.Equal(t, map[string]string{"marker": "m"}, got.IDs, "unchanged IDs were sent")
	assert.Equal(t, []string{"1001", "1002", "1003"}, got.Handled)

	// A new version (the book changed) and changed IDs are written.
	sess.Contacts = slices.Clone(sess.Contacts)
	sess.ContactsVersion += "+"
	sess.IDs["pid:new"] = "new"
	require.NoError(t, st.Save(ctx, sess))
	got, err = st.Load(ctx)
	require.NoError(t, err)
	assert.Equal(t, sess, got)

	// Another writer's book (another generation) is replaced, though this Store's part is
	// unchanged: each part on its own (the other part changed), then both.
	other := New(rdb, st.account)
	for _, change := range []string{"ids", "contacts", "none"} {
		theirs := testSession(2)
		require.NoError(t, other.Save(ctx, theirs), change)
		got, err = st.Load(ctx)
		require.NoError(t, err, change)
		require.Equal(t, theirs, got, "the other writer's save, before: %s", change)
		switch change {
		case "ids":
			sess.IDs["pid:"+change] = change
		case "contacts":
			sess.Contacts = slices.Clone(sess.Contacts)
			sess.ContactsVersion += "+"
		}
		require.NoError(t, st.Save(ctx, sess), change)
		got, err = st.Load(ctx)
		require.NoError(t, err, change)
		assert.Equal(t, sess, got, "changed: %s", change)
	}
}

// TestLoadCorrupt: undecodable stored parts give ErrBadResponse, an unknown layout
// ErrNoSession.
func TestLoadCorrupt(t *testing.T) {
	t.Parallel()
	srv := sharedServer(t)
	ctx := t.Context()
	rdb := srv.Client(t)
	st := newStore(t, srv)
	require.NoError(t, st.Save(ctx, testSession(2)))

	require.NoError(t, rdb.Set(ctx, st.keys.contacts, "not json", 0).Err())
	_, err := st.Load(ctx)
	require.ErrorIs(t, err, wechat.ErrBadResponse)

	require.NoError(t, rdb.Del(ctx, st.keys.contacts).Err())
	_, err = st.Load(ctx)
	require.ErrorIs(t, err, wechat.ErrBadResponse, "the hash names contacts that are gone")

	require.NoError(t, rdb.HSet(ctx, st.keys.session, "v", "2").Err())
	_, err = st.Load(ctx)
	require.ErrorIs(t, err, wechat.ErrNoSession)
}

// TestUnleasedSaveWhileHeld: a Store without the lease can neither save nor clear while
// another holds it, so a process that does not run the account cannot overwrite it.
func TestUnleasedSaveWhileHeld(t *testing.T) {
	t.Parallel()
	srv := sharedServer(t)
	ctx := t.Context()
	holder := newStore(t, srv)
	l, err := holder.Lock(ctx)
	require.NoError(t, err)
	defer l.Release(ctx)
	want := testSession(3)
	require.NoError(t, holder.Save(ctx, want))

	bystander := sameAccount(t, srv, holder)
	err = bystander.Save(ctx, testSession(1))
	require.ErrorIs(t, err, wechat.ErrLeaseHeld)
	assert.Contains(t, err.Error(), "(token ")
	require.ErrorIs(t, bystander.Clear(ctx), wechat.ErrLeaseHeld)
	got, err := bystander.Load(ctx)
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

// TestConcurrentSaves runs saves, loads and a lock from several goroutines (for -race): every
// Load sees one whole session, never a mix of two saves.
func TestConcurrentSaves(t *testing.T) {
	t.Parallel()
	srv := sharedServer(t)
	ctx := t.Context()
	st := newStore(t, srv)
	l, err := st.Lock(ctx)
	require.NoError(t, err)
	defer l.Release(ctx)
	sessions := []*wechat.Session{testSession(10), testSession(30)}
	for i, s := range sessions {
		s.Handled = []string{fmt.Sprint(len(s.Contacts))}
		s.Uin = int64(i)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 20 {
				s := sessions[(g+i)%2]
				if err := st.Save(ctx, s); err != nil {
					t.Error(err)
					return
				}
				got, err := st.Load(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if got.Handled[0] != fmt.Sprint(len(got.Contacts)) || len(got.IDs) != len(got.Contacts) {
					t.Errorf("torn session: %d contacts, %d ids, handled %v", len(got.Contacts), len(got.IDs), got.Handled)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestUnavailableAtStart: against a port where nothing listens, Lock, Load and Save fail fast
// with an error naming the operation and the dial failure, which is neither a lease sentinel
// nor ErrNoSession.
func TestUnavailableAtStart(t *testing.T) {
	t.Parallel()
	redistest.Require(t, sharedErr) // the same skip/fail rule as every Redis test
	srv, err := redistest.Start()
	require.NoError(t, err)
	rdb := srv.Client(t)
	srv.Close() // nothing listens on its port now
	st := New(rdb, "down")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	start := time.Now()
	_, err = st.Lock(ctx)
	require.Error(t, err)
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Contains(t, err.Error(), `redisstore: lock of account "down": `)
	assert.Contains(t, err.Error(), "connection refused")
	assert.NotErrorIs(t, err, wechat.ErrLeaseHeld)
	assert.NotErrorIs(t, err, wechat.ErrLeaseLost)

	_, err = st.Load(ctx)
	require.Error(t, err)
	assert.NotErrorIs(t, err, wechat.ErrNoSession)
	assert.Contains(t, err.Error(), "connection refused")
	err = st.Save(ctx, testSession(1))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "redisstore: saving the session")

	// ctx ending while Redis is unreachable: the error says so.
	cctx, ccancel := context.WithCancel(ctx)
	ccancel()
	_, err = st.Lock(cctx)
	require.ErrorIs(t, err, context.Canceled)
}
