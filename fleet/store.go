package fleet

import (
	"context"
	"fmt"
	"sync"

	"github.com/wxkit/wechat"
)

// leasedStore is the store a Client of the Runner gets: the account's store, whose first Lock
// hands over the lease the Runner took, so that the Client's Run fences its saves with it,
// stops at once when it is lost and releases it when it returns. Later Locks (a second Run of
// the same Client) take a new lease from the store.
type leasedStore struct {
	wechat.SessionLocker

	mu     sync.Mutex
	lease  wechat.Lease // taken by the Runner; nil once handed over
	locked bool         // Lock was called
}

// Lock hands over the Runner's lease the first time, or returns the error of a lease lost
// before that; afterwards it takes a new lease from the store.
func (s *leasedStore) Lock(ctx context.Context) (wechat.Lease, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.locked = true
	l := s.lease
	if l == nil {
		return s.SessionLocker.Lock(ctx)
	}
	s.lease = nil
	if err := l.Err(); err != nil {
		return nil, fmt.Errorf("fleet: the lease ended before the Client took it over: %w", err)
	}
	return l, nil
}

// used reports whether the Client asked for its lease.
func (s *leasedStore) used() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.locked
}
