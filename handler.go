package wechat

import (
	"context"
	"fmt"
	"hash/maphash"
	"runtime/debug"
	"sync"
	"time"
)

// A Handler handles an incoming message. The ctx it gets ends when Run returns. An error it
// returns is logged; it never stops Run.
type Handler interface {
	HandleMessage(ctx context.Context, m *Message) error
}

// HandlerFunc adapts a function to a [Handler].
type HandlerFunc func(ctx context.Context, m *Message) error

// HandleMessage calls f(ctx, m).
func (f HandlerFunc) HandleMessage(ctx context.Context, m *Message) error { return f(ctx, m) }

// A Matcher selects the messages a handler receives.
type Matcher func(m *Message) bool

// A Middleware wraps a Handler, as net/http middleware wraps an http.Handler.
type Middleware func(Handler) Handler

type route struct {
	match Matcher
	h     Handler
}

// Handle registers h for the messages match selects; a nil match selects every message. Each
// message goes to the first registered handler whose matcher selects it. Handle must be
// called before Run; it panics if h is nil.
func (c *Client) Handle(match Matcher, h Handler) {
	if h == nil {
		panic("wechat: Handle called with a nil handler")
	}
	c.routes = append(c.routes, route{match, h})
}

// HandleFunc registers f like [Client.Handle]. It panics if f is nil.
func (c *Client) HandleFunc(match Matcher, f func(ctx context.Context, m *Message) error) {
	if f == nil {
		panic("wechat: HandleFunc called with a nil function")
	}
	c.Handle(match, HandlerFunc(f))
}

// Use adds middleware around every handler. The first middleware added is the outermost. Use
// must be called before Run.
func (c *Client) Use(mw ...Middleware) {
	c.middleware = append(c.middleware, mw...)
}

// Recover returns middleware that turns a panic in the handler into an error (with the stack),
// which the Client then logs. The Client recovers panics in any case so that one message cannot
// stop Run; Recover makes them ordinary errors for middleware further out.
func Recover() Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, m *Message) (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("wechat: handler panic: %v\n%s", r, debug.Stack())
				}
			}()
			return next.HandleMessage(ctx, m)
		})
	}
}

// router is the Handler that picks the first matching route.
func (c *Client) router() Handler {
	routes := c.routes
	var h Handler = HandlerFunc(func(ctx context.Context, m *Message) error {
		for _, r := range routes {
			if r.match == nil || r.match(m) {
				return r.h.HandleMessage(ctx, m)
			}
		}
		return nil
	})
	for i := len(c.middleware) - 1; i >= 0; i-- {
		h = c.middleware[i](h)
	}
	return h
}

// dispatcher runs handlers on a fixed set of workers owned by Run. Messages are assigned to a
// worker by chat, so the messages of one chat are handled in order, and the number of
// handlers running at once is bounded. A full queue blocks the sync loop (back-pressure)
// instead of growing or dropping.
//
// It also keeps the books that make delivery lossless: every message belongs to the batch
// (one webwxsync answer) it came in, and a batch's SyncKey becomes the committed one (the one
// a restart resumes from) only when all its messages, and all earlier batches, have been
// handled (PROTOCOL 6.2; STYLE "persist the SyncKey only once every message ... handled").
type dispatcher struct {
	c      *Client
	h      Handler
	seed   maphash.Seed
	queues []chan item
	wg     sync.WaitGroup

	mu       sync.Mutex
	inflight map[string]struct{} // MsgIds dispatched and not handled yet
	batches  []*batch            // uncommitted batches, oldest first
}

type item struct {
	m *Message
	b *batch
}

// batch is one webwxsync answer: the keys it advances to and how many of its messages are
// still being handled.
type batch struct {
	keys   syncState
	left   int
	sealed bool // every message of the batch has been dispatched
}

// syncState is the pair of keys the loop advances.
type syncState struct{ syncKey, syncCheckKey syncKey }

const queueLen = 16

// newDispatcher starts the workers. Handlers get ctx. The workers run until [dispatcher.wait].
func (c *Client) newDispatcher(ctx context.Context) *dispatcher {
	d := &dispatcher{c: c, h: c.router(), seed: maphash.MakeSeed(), inflight: make(map[string]struct{})}
	d.queues = make([]chan item, c.cfg.workers)
	for i := range d.queues {
		q := make(chan item, queueLen)
		d.queues[i] = q
		d.wg.Go(func() {
			for it := range q {
				if ctx.Err() != nil {
					continue // not handled, so not recorded: fetched again after a restart
				}
				d.handle(ctx, it.m)
				d.done(it)
			}
		})
	}
	return d
}

// begin opens a batch that will advance the keys to keys once handled.
func (d *dispatcher) begin(keys syncState) *batch {
	b := &batch{keys: keys}
	d.mu.Lock()
	d.batches = append(d.batches, b)
	d.mu.Unlock()
	return b
}

// seen reports whether the message with this id was handled or is being handled.
func (d *dispatcher) seen(msgID string) bool {
	if d.c.handled.has(msgID) {
		return true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.inflight[msgID]
	return ok
}

// dispatch hands m to its chat's worker, waiting while that worker's queue is full.
func (d *dispatcher) dispatch(ctx context.Context, m *Message, b *batch) error {
	d.mu.Lock()
	b.left++
	if m.MsgID != "" {
		d.inflight[m.MsgID] = struct{}{}
	}
	d.mu.Unlock()
	q := d.queues[maphash.String(d.seed, m.ChatUserName)%uint64(len(d.queues))]
	select {
	case q <- item{m, b}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// seal marks b as complete: once its messages are handled, its keys can be committed.
func (d *dispatcher) seal(b *batch) {
	d.mu.Lock()
	b.sealed = true
	d.commitLocked()
	d.mu.Unlock()
}

// done records that m was handled (whatever the handler returned).
func (d *dispatcher) done(it item) {
	if it.m.MsgID != "" {
		d.c.handled.add(it.m.MsgID)
	}
	d.mu.Lock()
	delete(d.inflight, it.m.MsgID)
	it.b.left--
	d.commitLocked()
	d.mu.Unlock()
}

// commitLocked commits the keys of the leading batches that are fully handled.
func (d *dispatcher) commitLocked() {
	n := 0
	for n < len(d.batches) && d.batches[n].sealed && d.batches[n].left == 0 {
		n++
	}
	if n == 0 {
		return
	}
	d.c.commit(d.batches[n-1].keys)
	d.batches = d.batches[n:]
}

// wait lets the workers finish the messages already queued, then returns once they have
// exited. Call it after the last dispatch. If the ctx given to newDispatcher has ended, the
// queued messages are left unhandled (and unrecorded); otherwise they are handled, which is
// what a session that ended on the server's side needs, since they cannot be fetched again.
func (d *dispatcher) wait() {
	for _, q := range d.queues {
		close(q)
	}
	d.wg.Wait()
}

func (d *dispatcher) handle(ctx context.Context, m *Message) {
	defer func() {
		if r := recover(); r != nil {
			d.c.log.Error("handler panicked", "msg_id", m.MsgID, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	if err := d.h.HandleMessage(ctx, m); err != nil {
		d.c.log.Error("handler failed", "msg_id", m.MsgID, "msg_type", int(m.MsgType), "err", err)
	}
}

// recentSet remembers the last recentMax MsgIds handled, to drop the duplicates the server
// sends (PROTOCOL 14.20) and, persisted with the session, the messages of a batch that were
// handled before a restart. It is safe for concurrent use.
type recentSet struct {
	mu    sync.Mutex
	ids   map[string]struct{}
	order []string
	next  int
}

const recentMax = 2048

// add records id and reports whether it was new.
func (r *recentSet) add(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids == nil {
		r.ids = make(map[string]struct{}, recentMax)
		r.order = make([]string, recentMax)
	}
	if _, ok := r.ids[id]; ok {
		return false
	}
	if old := r.order[r.next]; old != "" {
		delete(r.ids, old)
	}
	r.order[r.next] = id
	r.next = (r.next + 1) % recentMax
	r.ids[id] = struct{}{}
	return true
}

// list returns the ids, oldest first.
func (r *recentSet) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.ids))
	for i := range r.order {
		if id := r.order[(r.next+i)%len(r.order)]; id != "" {
			out = append(out, id)
		}
	}
	return out
}

// reset empties the set, then adds ids in order.
func (r *recentSet) reset(ids []string) {
	r.mu.Lock()
	r.ids, r.order, r.next = nil, nil, 0
	r.mu.Unlock()
	for _, id := range ids {
		r.add(id)
	}
}

func (r *recentSet) has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.ids[id]
	return ok
}

// sentSet tracks the messages this Client sent, so that their echoes in the sync
// (FromUserName == self, PROTOCOL 14.21) are not delivered back to the handlers. An echo can
// arrive before the send's answer has told the client its MsgID, so the sync loop first waits
// for sends in flight (briefly) before deciding.
type sentSet struct {
	mu       sync.Mutex
	inflight int
	idle     chan struct{} // closed while no send is in flight
	ids      recentSet
}

const sendSettleMax = 5 * time.Second

func (s *sentSet) begin() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight == 0 {
		s.idle = make(chan struct{})
	}
	s.inflight++
}

// end records the MsgID of a finished send ("" when it failed).
func (s *sentSet) end(msgID string) {
	if msgID != "" {
		s.ids.add(msgID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight--
	if s.inflight == 0 {
		close(s.idle)
	}
}

// isOwn reports whether msgID is a message this Client sent, waiting for sends in flight to
// finish first (at most sendSettleMax, or until ctx ends).
func (s *sentSet) isOwn(ctx context.Context, msgID string) bool {
	if s.ids.has(msgID) {
		return true
	}
	s.mu.Lock()
	idle := s.idle
	busy := s.inflight > 0
	s.mu.Unlock()
	if busy {
		t := time.NewTimer(sendSettleMax)
		defer t.Stop()
		select {
		case <-idle:
		case <-t.C:
		case <-ctx.Done():
		}
	}
	return s.ids.has(msgID)
}
