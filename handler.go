package wechat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// A Handler handles an incoming message. The ctx it gets stays valid until Run has stopped
// and the grace of [WithShutdownGrace] has passed. An error it returns is reported to the
// error handler ([WithErrorHandler]); it never stops Run.
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

// ErrHandlerPanic is matched by the error reported for a handler that panicked: the Client
// recovers the panic, so that one message cannot stop Run, and reports it with its value and
// stack to the error handler ([WithErrorHandler]).
var ErrHandlerPanic = errors.New("wechat: handler panicked")

// WithErrorHandler makes the Client call f with every error a handler returns, and every
// handler panic (an error matching [ErrHandlerPanic], with the stack), from the goroutine that
// ran the handler. ctx is the handler's. A nil f means the default, which reports them like
// net/http reports handler panics: at level Error to the [WithLogger] logger if one is given,
// else to slog.Default(), so that a failing bot is never silent.
func WithErrorHandler(f func(ctx context.Context, m *Message, err error)) Option {
	return func(c *config) { c.errorHandler = f }
}

// reportHandlerError returns the default error handler: it logs to l, or to slog.Default()
// when l is nil.
func reportHandlerError(l *slog.Logger) func(context.Context, *Message, error) {
	return func(ctx context.Context, m *Message, err error) {
		log := l
		if log == nil {
			log = slog.Default()
		}
		log.ErrorContext(ctx, "wechat: handler failed", "msg_id", m.MsgID, "msg_type", int(m.MsgType), "err", err)
	}
}

type route struct {
	match Matcher
	h     Handler
}

// router is the one owner of the handlers and middleware. Registration builds a new handler
// chain and publishes it; the dispatcher loads the current chain for every message, so
// registering while Run runs is safe and applies to the messages dispatched after it.
type router struct {
	mu         sync.Mutex
	routes     []route
	middleware []Middleware
	chain      atomic.Pointer[Handler]
}

func (r *router) add(rt *route, mw []Middleware) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rt != nil {
		r.routes = append(r.routes[:len(r.routes):len(r.routes)], *rt)
	}
	r.middleware = append(r.middleware[:len(r.middleware):len(r.middleware)], mw...)
	routes := r.routes
	var h Handler = HandlerFunc(func(ctx context.Context, m *Message) error {
		for _, r := range routes {
			if r.match == nil || r.match(m) {
				return r.h.HandleMessage(ctx, m)
			}
		}
		return nil
	})
	for i := len(r.middleware) - 1; i >= 0; i-- {
		h = r.middleware[i](h)
	}
	r.chain.Store(&h)
}

// handler returns the current chain, or nil when nothing was registered.
func (r *router) handler() Handler {
	if h := r.chain.Load(); h != nil {
		return *h
	}
	return nil
}

// Handle registers h for the messages match selects; a nil match selects every message. Each
// message goes to the first registered handler whose matcher selects it. Handle may be called
// while Run runs: the handler receives the messages dispatched after the call. It panics if h
// is nil.
func (c *Client) Handle(match Matcher, h Handler) {
	if h == nil {
		panic("wechat: Handle called with a nil handler")
	}
	c.routes.add(&route{match, h}, nil)
}

// HandleFunc registers f like [Client.Handle]. It panics if f is nil.
func (c *Client) HandleFunc(match Matcher, f func(ctx context.Context, m *Message) error) {
	if f == nil {
		panic("wechat: HandleFunc called with a nil function")
	}
	c.Handle(match, HandlerFunc(f))
}

// Use adds middleware around every handler. The first middleware added is the outermost. Use
// may be called while Run runs: the middleware wraps the messages dispatched after the call.
func (c *Client) Use(mw ...Middleware) {
	c.routes.add(nil, mw)
}

// Recover returns middleware that turns a panic in the handler into an error matching
// [ErrHandlerPanic] (with the stack), for middleware further out. The Client recovers panics
// in any case, so that one message cannot stop Run, and reports them to the error handler.
func Recover() Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, m *Message) (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = panicError(r)
				}
			}()
			return next.HandleMessage(ctx, m)
		})
	}
}

func panicError(r any) error {
	return fmt.Errorf("%w: %v\n%s", ErrHandlerPanic, r, debug.Stack())
}

// dispatcher runs handlers on a fixed set of workers owned by Run. Each chat has a queue, and
// at most one worker takes a chat's messages at a time, so the messages of one chat are
// handled one at a time and in order, while a handler that blocks holds up its own chat only.
// The number of handlers running at once is bounded by the workers; the number of messages
// queued is bounded by the ledger's window, which makes the sync loop wait (back-pressure)
// instead of growing or dropping. The dispatcher executes; the ledger keeps the books: every
// message is claimed in the ledger before it is dispatched and finished there after its
// handler returned, or when it was not started.
type dispatcher struct {
	c   *Client
	ctx context.Context // the handlers'
	wg  sync.WaitGroup

	mu      sync.Mutex
	chats   map[string]*chatQueue // chats with messages queued or being handled
	ready   []*chatQueue          // chats with messages queued and no worker, oldest first
	workers int                   // running; at most c.cfg.workers, none while idle
	skip    bool                  // stopping: queued messages are not started
}

// chatQueue is one chat's messages waiting for their handler, oldest first.
type chatQueue struct {
	name  string
	items []item
}

type item struct {
	m *Message
	b *batch
}

// newDispatcher returns a dispatcher whose handlers get ctx. Workers start when messages
// come and exit when none is left; [dispatcher.stop] waits for them.
func (c *Client) newDispatcher(ctx context.Context) *dispatcher {
	return &dispatcher{c: c, ctx: ctx, chats: make(map[string]*chatQueue)}
}

// work takes chats with messages waiting, and handles their messages in order, until none is
// left.
func (d *dispatcher) work() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for len(d.ready) > 0 {
		q := d.ready[0]
		d.ready = d.ready[1:]
		for len(q.items) > 0 {
			it := q.items[0]
			q.items = q.items[1:]
			skip := d.skip
			d.mu.Unlock()
			handled := !skip && d.handle(it.m)
			d.c.ledger.finish(it.b, it.m.MsgID, handled)
			d.c.persist.soon()
			d.mu.Lock()
		}
		delete(d.chats, q.name)
	}
	d.workers--
}

// dispatch queues m, claimed in b, behind the other messages of its chat, starting a worker
// if the chat has none and fewer than the limit run.
func (d *dispatcher) dispatch(m *Message, b *batch) {
	m.client = d.c // for m.Reply and the other helpers (message_reply.go)
	d.mu.Lock()
	defer d.mu.Unlock()
	q := d.chats[m.ChatUserName]
	if q == nil {
		q = &chatQueue{name: m.ChatUserName}
		d.chats[m.ChatUserName] = q
		d.ready = append(d.ready, q)
		if d.workers < d.c.cfg.workers {
			d.workers++
			d.wg.Go(d.work)
		}
	}
	q.items = append(q.items, item{m, b})
}

// stop ends the workers, after the last dispatch. With skipQueued the messages queued and not
// started are left unhandled (and unrecorded: fetched again after a restart); otherwise they
// are handled, which is what a session the server ended needs, since they cannot be fetched
// again. The handlers' ctx stays valid for grace, then cancel ends it; stop returns once every
// worker has returned.
func (d *dispatcher) stop(skipQueued bool, grace time.Duration, cancel context.CancelFunc) {
	d.mu.Lock()
	d.skip = skipQueued
	d.mu.Unlock()
	t := time.AfterFunc(grace, cancel)
	d.wg.Wait()
	t.Stop()
	cancel()
}

// handle runs the handlers for m and reports whether m counts as handled: the handler
// returned (with or without an error) before its ctx ended. A handler that returns after
// the grace of a stop was cut off, and its message is delivered again after a restart.
func (d *dispatcher) handle(m *Message) (handled bool) {
	h := d.c.routes.handler()
	if h == nil {
		return true
	}
	defer func() {
		if r := recover(); r != nil {
			d.c.cfg.errorHandler(d.ctx, m, panicError(r))
		}
		handled = d.ctx.Err() == nil
	}()
	if err := h.HandleMessage(d.ctx, m); err != nil {
		d.c.cfg.errorHandler(d.ctx, m, err)
	}
	return
}

// sentSet tracks the messages this Client sent, so that their echoes in the sync
// (FromUserName == self, PROTOCOL 14.21) are not delivered back to the handlers. An echo can
// arrive before the send's answer has told the client its MsgID, so the sync loop first waits
// for sends in flight (briefly) before deciding. Its zero value is ready.
type sentSet struct {
	mu       sync.Mutex
	inflight int
	idle     chan struct{} // closed while no send is in flight
	ids      idRing
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
	s.mu.Lock()
	defer s.mu.Unlock()
	if msgID != "" {
		s.ids.add(msgID)
	}
	s.inflight--
	if s.inflight == 0 {
		close(s.idle)
	}
}

// list returns the ids of the messages sent lately, oldest first.
func (s *sentSet) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ids.list()
}

// reset replaces the ids by those a stored session saved.
func (s *sentSet) reset(ids []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids = idRing{}
	for _, id := range ids {
		s.ids.add(id)
	}
}

func (s *sentSet) has(msgID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ids.has(msgID)
}

// isOwn reports whether msgID is a message this Client sent, waiting for sends in flight to
// finish first (at most sendSettleMax, or until ctx ends).
func (s *sentSet) isOwn(ctx context.Context, msgID string) bool {
	s.mu.Lock()
	own := s.ids.has(msgID)
	idle := s.idle
	busy := s.inflight > 0
	s.mu.Unlock()
	if own {
		return true
	}
	if busy {
		t := time.NewTimer(sendSettleMax)
		defer t.Stop()
		select {
		case <-idle:
		case <-t.C:
		case <-ctx.Done():
		}
	}
	return s.has(msgID)
}
