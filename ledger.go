package wechat

import (
	"context"
	"sync"
)

// deliveryWindow is how many fetched messages may wait for their batch to be committed: when
// that many are open (dispatched, handled or not, in batches not committed yet), the sync loop
// fetches nothing more until the oldest batches are committed. A handler that blocks in one
// chat therefore stops the fetching after at most this many messages, instead of letting an
// unbounded window grow behind it.
const deliveryWindow = 1024

// recentMax bounds the handled ids remembered from committed batches, to drop the duplicates
// the server sends (PROTOCOL 14.20). It is large enough that ids restored from a saved
// session survive the refetch of a whole window after a restart.
const recentMax = 4 * deliveryWindow

// ledger is the one owner of delivery state: which messages of the open batches are in flight
// or handled, the committed sync position (the keys a restart resumes from: every message
// before them handled), and the recently handled ids. Nothing else reads its fields; its lock
// is taken by its methods only.
//
// A batch is one webwxsync answer. Its keys become the committed position once the batch is
// sealed (all its messages dispatched) and all its messages, and those of every earlier batch,
// were handled: like a consumer that commits its offset after processing (PROTOCOL 6.2). A
// message cut off before it was handled (Run stopped past its grace) keeps its batch, and
// every later one, from being committed: a restart fetches them again, and the handled ids,
// saved with the position, skip what was handled already.
type ledger struct {
	mu        sync.Mutex
	committed syncState
	batches   []*batch            // open batches, oldest first
	open      int                 // messages claimed in open batches
	inflight  map[string]struct{} // claimed, not finished
	handled   map[string]struct{} // handled, in an open batch
	recent    idRing              // handled, in a committed batch (or restored)
	room      chan struct{}       // closed and replaced when open batches are committed
	version   uint64              // bumped by every change a snapshot shows
}

// batch is one webwxsync answer: the keys it advances to and its messages' progress.
type batch struct {
	keys   syncState
	ids    []string // handled ids, moved to recent at commit
	left   int      // claimed, not finished
	n      int      // claimed
	sealed bool     // every message of the batch was dispatched
	cut    bool     // a message was cut off: this batch is never committed
}

// syncState is the pair of keys the loop advances.
type syncState struct{ syncKey, syncCheckKey syncKey }

// reset starts the books of a session at position, with handled the ids handled before (a
// restored session's, oldest first).
func (l *ledger) reset(position syncState, handled []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.committed = position
	l.batches, l.open = nil, 0
	l.inflight = make(map[string]struct{})
	l.handled = make(map[string]struct{})
	l.recent = idRing{}
	for _, id := range handled {
		l.recent.add(id)
	}
	l.signalLocked()
	l.version++
}

// startAt sets the committed position if there is none yet (a new session's first
// webwxinit).
func (l *ledger) startAt(keys syncState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.committed.syncKey.valid() {
		l.committed = keys
		l.version++
	}
}

// waitRoom blocks while the window is full, until open batches are committed or ctx ends.
func (l *ledger) waitRoom(ctx context.Context) error {
	for {
		l.mu.Lock()
		if l.open < deliveryWindow {
			l.mu.Unlock()
			return nil
		}
		room := l.roomLocked()
		l.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// begin opens a batch that advances the position to keys once handled.
func (l *ledger) begin(keys syncState) *batch {
	b := &batch{keys: keys}
	l.mu.Lock()
	l.batches = append(l.batches, b)
	l.mu.Unlock()
	return b
}

// claim takes the message id for delivery in b. It reports false, claiming nothing, when the
// message was handled already or is being handled (a duplicate, PROTOCOL 14.20). A message
// without an id is always claimed.
func (l *ledger) claim(b *batch, id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if id != "" {
		if l.seenLocked(id) {
			return false
		}
		l.inflight[id] = struct{}{}
	}
	b.left++
	b.n++
	l.open++
	return true
}

// seen reports whether the message id was handled or is being handled.
func (l *ledger) seen(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seenLocked(id)
}

func (l *ledger) seenLocked(id string) bool {
	if _, ok := l.inflight[id]; ok {
		return true
	}
	if _, ok := l.handled[id]; ok {
		return true
	}
	return l.recent.has(id)
}

// finish records the end of a claimed message: handled, or cut off (not handled, so that it is
// delivered again after a restart).
func (l *ledger) finish(b *batch, id string, handled bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if id != "" {
		delete(l.inflight, id)
	}
	b.left--
	if !handled {
		b.cut = true
		return
	}
	if id != "" {
		l.handled[id] = struct{}{}
		b.ids = append(b.ids, id)
		l.version++
	}
	l.commitLocked()
}

// seal marks b as complete: once its messages are handled, its keys can be committed.
func (l *ledger) seal(b *batch) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b.sealed = true
	l.commitLocked()
}

// commitLocked commits the keys of the leading batches that are fully handled.
func (l *ledger) commitLocked() {
	n := 0
	for n < len(l.batches) {
		b := l.batches[n]
		if !b.sealed || b.left > 0 || b.cut {
			break
		}
		for _, id := range b.ids {
			delete(l.handled, id)
			l.recent.add(id)
		}
		l.open -= b.n
		l.committed = b.keys
		n++
	}
	if n == 0 {
		return
	}
	clear(l.batches[:n])
	l.batches = l.batches[n:]
	l.version++
	l.signalLocked()
}

func (l *ledger) roomLocked() chan struct{} {
	if l.room == nil {
		l.room = make(chan struct{})
	}
	return l.room
}

func (l *ledger) signalLocked() {
	if l.room != nil {
		close(l.room)
		l.room = nil
	}
}

// ledgerSnapshot is what a restart resumes from.
type ledgerSnapshot struct {
	position syncState
	handled  []string // committed batches' ids, oldest first, then the open batches'
	version  uint64
}

// snapshot returns a consistent copy of what a restart needs: the committed position, and
// every id handled after it (those of open batches, which a restart fetches again) besides
// the recent ones.
func (l *ledger) snapshot() ledgerSnapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := l.recent.list()
	for _, b := range l.batches {
		ids = append(ids, b.ids...)
	}
	return ledgerSnapshot{position: l.committed, handled: ids, version: l.version}
}

// changes returns the version of the books: it grows with every change a snapshot shows.
func (l *ledger) changes() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.version
}

// idRing remembers the last recentMax ids added; it grows as ids are added. Its zero value is
// empty and ready; it is not safe for concurrent use.
type idRing struct {
	ids   map[string]struct{}
	order []string // oldest first once full, from next
	next  int      // where the next id goes, once full
}

// add records id and reports whether it was new.
func (r *idRing) add(id string) bool {
	if r.ids == nil {
		r.ids = make(map[string]struct{})
	}
	if _, ok := r.ids[id]; ok {
		return false
	}
	r.ids[id] = struct{}{}
	if len(r.order) < recentMax {
		r.order = append(r.order, id)
		return true
	}
	delete(r.ids, r.order[r.next])
	r.order[r.next] = id
	r.next = (r.next + 1) % recentMax
	return true
}

func (r *idRing) has(id string) bool {
	_, ok := r.ids[id]
	return ok
}

// list returns the ids, oldest first.
func (r *idRing) list() []string {
	out := make([]string, 0, len(r.order))
	out = append(out, r.order[r.next:]...)
	return append(out, r.order[:r.next]...)
}
