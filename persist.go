package wechat

import (
	"context"
	"errors"
	"sync"
	"time"
)

// persister is the one owner of the SessionStore side: it saves snapshots of the session
// (assembled from the owners of the session, the delivery ledger and the contacts, which it
// asks and never reaches into), at most once per saveInterval when woken, and clears the
// store. Saves and clears are serialised by its lock, so that a clear is never undone by a
// save that started before it.
type persister struct {
	store SessionStore // nil: the session is kept in memory only
	mu    sync.Mutex   // serialises Save and Clear
	wake  chan struct{}
	saved saveMark    // what the last save held
	lost  func(error) // while Run holds a lease: told when the store refuses a save with ErrLeaseLost
}

// onLeaseLost makes f the function told of a save refused with ErrLeaseLost; nil for none.
func (p *persister) onLeaseLost(f func(error)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lost = f
}

// saveMark tells whether anything a snapshot shows changed since the last save.
type saveMark struct {
	sess     *session
	ledger   uint64
	contacts string
	ids      uint64
	cookies  uint64
}

const saveInterval = time.Second

func newPersister(st SessionStore) persister {
	return persister{store: st, wake: make(chan struct{}, 1)}
}

// soon asks the save loop to save.
func (p *persister) soon() {
	if p.store == nil || p.wake == nil {
		return
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// loop saves when woken by soon, at most once per saveInterval, until ctx ends. A save that
// failed is tried again saveInterval later, even if nothing changes meanwhile: a store that
// was down must not be left behind until the next message. save is Client.save.
func (p *persister) loop(ctx context.Context, save func(context.Context) error) {
	if p.store == nil {
		return
	}
	var (
		last  time.Time
		timer *time.Timer
		fire  <-chan time.Time
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
			if fire != nil {
				continue // a save is already scheduled
			}
			timer = time.NewTimer(max(0, saveInterval-time.Since(last)))
			fire = timer.C
		case <-fire:
			fire = nil
			err := save(ctx)
			last = time.Now()
			if err != nil && ctx.Err() == nil {
				timer = time.NewTimer(saveInterval)
				fire = timer.C
			}
		}
	}
}

// save writes the snapshot build returns, unless nothing changed since the last save (mark,
// cheap, says so) or there is nothing to save (build returns nil). It reports the store's
// error.
func (p *persister) save(ctx context.Context, mark func() saveMark, build func() (*Session, saveMark)) error {
	if p.store == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if m := mark(); m.sess == nil || m == p.saved {
		return nil
	}
	snap, m := build()
	if snap == nil || m == p.saved {
		return nil
	}
	if err := p.store.Save(ctx, snap); err != nil {
		if p.lost != nil && errors.Is(err, ErrLeaseLost) {
			p.lost(err)
		}
		return err
	}
	p.saved = m
	return nil
}

// clear removes the stored session, then, if keep is not nil, saves it instead.
func (p *persister) clear(ctx context.Context, keep *Session) error {
	if p.store == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.saved = saveMark{}
	if keep != nil {
		return p.store.Save(ctx, keep)
	}
	return p.store.Clear(ctx)
}

// mark returns what the next snapshot would show, without building it: a nil sess when there
// is nothing to save.
func (c *Client) mark() saveMark {
	s, err := c.sess.usable()
	if s == nil || err != nil {
		return saveMark{}
	}
	book, ids := c.contacts.versions()
	return saveMark{sess: s, ledger: c.ledger.changes(), contacts: book, ids: ids, cookies: c.jar.changes()}
}

// snapshot returns the session to save, assembled from its owners: the credentials, the
// committed position and handled ids of the ledger, the cookies, the address book and the
// identity table. It returns nil without a session.
func (c *Client) snapshot() (*Session, saveMark) {
	s, err := c.sess.usable()
	if s == nil || err != nil { // no session, or another process holds it now
		return nil, saveMark{}
	}
	led := c.ledger.snapshot()
	bookVersion, book := c.contacts.book()
	_, ids, idsVersion := c.contacts.exportIDs()
	cookies, cookiesVersion := c.jar.snapshot()
	mark := saveMark{sess: s, ledger: led.version, contacts: bookVersion, ids: idsVersion, cookies: cookiesVersion}
	return &Session{
		Version:         sessionVersion,
		Mode:            c.cfg.mode.String(),
		MainHost:        s.hosts.main,
		Uin:             s.uin,
		Sid:             s.sid,
		Skey:            s.skey,
		PassTicket:      s.passTicket,
		DeviceID:        s.deviceID,
		SelfUserName:    s.self,
		SyncKey:         keyVals(led.position.syncKey),
		SyncCheckKey:    keyVals(led.position.syncCheckKey),
		Cookies:         cookies,
		Handled:         led.handled,
		Sent:            c.sent.list(),
		SavedAt:         time.Now().UTC(),
		Contacts:        book,
		ContactsVersion: bookVersion,
		IDs:             ids,
	}, mark
}

// save writes the session to the store, if there is one. A failure is logged and returned:
// the session keeps running, and the save loop tries again.
func (c *Client) save(ctx context.Context) error {
	err := c.persist.save(ctx, c.mark, c.snapshot)
	if err != nil {
		c.log.Warn("saving the session failed", "err", err)
	}
	return err
}

// saveNow saves with a short deadline of its own, even after ctx ended: what was handled
// before a stop must reach the store.
func (c *Client) saveNow(ctx context.Context) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	c.save(sctx)
}

// clearStore removes the stored session, if there is a store. With keepIDs (the server ended
// the session), a Session that holds only the identity table replaces it, if the table is not
// empty: an expired session must not cost the contacts their IDs (Contact.ID). Logout removes
// everything.
func (c *Client) clearStore(ctx context.Context, keepIDs bool) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var keep *Session
	if uin, ids, _ := c.contacts.exportIDs(); keepIDs && len(ids) > 0 {
		keep = &Session{Version: sessionVersion, Uin: uin, IDs: ids, SavedAt: time.Now().UTC()}
	}
	if err := c.persist.clear(cctx, keep); err != nil {
		c.log.Warn("clearing the stored session failed", "err", err)
	}
}

// begin makes s the current session, resuming at position with the ids handled before, with a
// fresh contact store.
func (c *Client) begin(s *session, handled []string) {
	c.sess.install(s)
	c.ledger.reset(syncState{s.syncKey, s.syncCheckKey}, handled)
	c.contacts.reset()
}

// end forgets the session (see sessionHolder.forget) and its books.
func (c *Client) end(forgetHint bool) {
	c.sess.forget(forgetHint)
	c.ledger.reset(syncState{}, nil)
	c.contacts.reset()
}

// restore resumes the stored session, checked with webwxinit (PROTOCOL 12.4). It reports false
// when there is no usable stored session; the stored cookies then stay in the jar for a push
// login. It returns an error only when the check failed for another reason than a dead
// session (the network, ctx), in which case the stored session is kept for the next try.
func (c *Client) restore(ctx context.Context) (bool, error) {
	if c.persist.store == nil {
		return false, nil
	}
	st, err := c.persist.store.Load(ctx)
	if err != nil {
		if !errors.Is(err, ErrNoSession) {
			c.log.Warn("loading the stored session failed", "err", err)
		}
		return false, nil
	}
	c.contacts.loadIDs(st.Uin, st.IDs) // for this login or the next one, whichever it is
	if st.MainHost == "" || st.Uin == 0 || st.Sid == "" {
		return false, nil
	}
	c.jar.restore(st.Cookies)
	c.sent.reset(st.Sent)
	deviceID := st.DeviceID
	if deviceID == "" {
		deviceID = newDeviceID()
	}
	c.begin(&session{
		hosts:        hostsFor(st.MainHost),
		uin:          st.Uin,
		sid:          st.Sid,
		skey:         st.Skey,
		passTicket:   st.PassTicket,
		deviceID:     deviceID,
		syncKey:      fromKeyVals(st.SyncKey),
		syncCheckKey: fromKeyVals(st.SyncCheckKey),
		resumed:      true,
	}, st.Handled)
	// The same session, so the same UserNames: the saved address book is good until the
	// loader has refreshed it. webwxinit's contacts, put next, are fresher.
	c.contacts.restore(st.Contacts)
	err = c.webwxInit(ctx)
	if err == nil {
		c.log.Info("login: resumed the stored session", "host", st.MainHost)
		return true, nil
	}
	c.end(false)
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	var e *Error
	if errors.As(err, &e) && e.Ret != 0 || errors.Is(err, ErrBadResponse) {
		c.log.Info("login: the stored session is no longer valid", "err", err)
		return false, nil
	}
	return false, err
}

func keyVals(k syncKey) []KeyVal {
	out := make([]KeyVal, len(k.List))
	for i, p := range k.List {
		out[i] = KeyVal{Key: int64(p.Key), Val: int64(p.Val)}
	}
	return out
}

func fromKeyVals(kv []KeyVal) syncKey {
	k := syncKey{Count: len(kv), List: make([]syncKeyPair, len(kv))}
	for i, p := range kv {
		k.List[i] = syncKeyPair{Key: p.Key, Val: p.Val}
	}
	return k
}
