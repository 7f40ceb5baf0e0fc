package wechat

import (
	"context"
	"errors"
	"sync"
)

// sessionHolder is the one owner of the current session: its credentials (a *session is
// replaced, never modified, once installed), the session state, the push-login hint kept
// after a session ends, and the run that uses it. Nothing else takes its lock.
type sessionHolder struct {
	mu      sync.Mutex
	cur     *session
	state   State
	changed chan struct{} // closed and replaced at every state change
	hint    pushHint
	running bool
	end     context.CancelCauseFunc // ends the running session early (Logout); nil outside Run
	logout  chan struct{}           // closed once a Logout asked of Run is done
	fenced  error                   // the lease on the account was lost: nothing may be sent
}

// pushHint is what a push login needs from an earlier session.
type pushHint struct {
	uin  int64
	main string
}

// get returns the current session, or nil.
func (h *sessionHolder) get() *session {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cur
}

// usable returns the current session, or the error that forbids using it.
func (h *sessionHolder) usable() (*session, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fenced != nil {
		return nil, h.fenced
	}
	return h.cur, nil
}

// fence forbids using the session, with err, until unfence: another process holds its lease.
func (h *sessionHolder) fence(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fenced = err
}

// unfence lifts the fence of a new lease.
func (h *sessionHolder) unfence() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fenced = nil
}

// update applies f to a copy of the current session and installs the copy.
func (h *sessionHolder) update(f func(s *session)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cur == nil {
		return
	}
	s := *h.cur
	f(&s)
	h.cur = &s
}

// install makes s the current session.
func (h *sessionHolder) install(s *session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cur = s
}

// forget drops the current session; its uin and host stay as the hint for a push login,
// unless forgetHint (a logout by the user: no push login to this account next time).
func (h *sessionHolder) forget(forgetHint bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cur != nil {
		h.hint = pushHint{uin: h.cur.uin, main: h.cur.hosts.main}
	}
	if forgetHint {
		h.hint = pushHint{}
	}
	h.cur = nil
}

// pushHint returns the hint for a push login.
func (h *sessionHolder) pushHint() pushHint {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hint
}

// setState records st and reports whether it changed.
func (h *sessionHolder) setState(st State) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state == st {
		return false
	}
	h.state = st
	if h.changed != nil {
		close(h.changed)
		h.changed = nil
	}
	return true
}

// current returns the state, and a channel closed at its next change.
func (h *sessionHolder) current() (State, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.changed == nil {
		h.changed = make(chan struct{})
	}
	return h.state, h.changed
}

// errRunning is returned by Run when it is running already.
var errRunning = errors.New("wechat: Run called while already running")

// startRun marks the Client as running.
func (h *sessionHolder) startRun() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.running {
		return errRunning
	}
	h.running, h.logout = true, nil
	return nil
}

// attach makes end the way to end the running session early. If a Logout is waiting
// already, it ends the session at once.
func (h *sessionHolder) attach(end context.CancelCauseFunc) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.end = end
	if h.logout != nil {
		end(errLogoutCalled)
	}
}

// detach forgets the session's end function.
func (h *sessionHolder) detach() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.end = nil
}

// stopRun marks the Client as no longer running, first telling a Logout waiting on Run that
// it is done.
func (h *sessionHolder) stopRun() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.logout != nil {
		close(h.logout)
	}
	h.running, h.end, h.logout = false, nil, nil
}

// askLogout asks the running Run to log out on its way out, ending its session with
// errLogoutCalled. It returns a channel closed once Run is done, or nil when Run is not
// running.
func (h *sessionHolder) askLogout() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.running {
		return nil
	}
	if h.logout == nil {
		h.logout = make(chan struct{})
		if h.end != nil {
			h.end(errLogoutCalled)
		}
	}
	return h.logout
}

// logoutAsked reports whether a Logout waits on the running Run.
func (h *sessionHolder) logoutAsked() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.logout != nil
}

// errLogoutCalled ends a run whose session [Client.Logout] ended. It matches ErrLoggedOut.
var errLogoutCalled = &logoutError{}

type logoutError struct{}

func (*logoutError) Error() string        { return "wechat: logged out by Logout" }
func (*logoutError) Is(target error) bool { return target == ErrLoggedOut }
