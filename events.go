package wechat

import "strconv"

// State is the state of a Client's session, reported to the handler of [WithStateHandler].
type State int

const (
	StateLoggedOut    State = iota // no session: before the first login, or after the server ended it
	StateLoggingIn                 // restoring a stored session, waiting for a push-login confirmation or a QR scan
	StateOnline                    // initialised; the sync loop is receiving
	StateReconnecting              // the push host does not answer; the loop retries with backoff
	// StateStopped: logged in, with no sync loop receiving: after Login and before Run, or
	// after Run returned because its ctx ended. The send methods work; Run resumes.
	StateStopped
)

var stateNames = [...]string{"logged out", "logging in", "online", "reconnecting", "stopped"}

// String returns the state's name: "online", "reconnecting", ...
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// StateChange reports a new session state. Err gives the reason where there is one: for
// StateReconnecting the network error, for StateLoggedOut the error that ended the session
// (an *Error carrying the server's code, matching ErrLoggedOut), nil for a Logout call.
type StateChange struct {
	State State
	Err   error
}

// WithStateHandler makes the Client call f at every change of session state. f is called from
// the goroutine that noticed the change (Login's or Run's) and must return quickly. A nil f,
// the default, ignores state changes.
func WithStateHandler(f func(StateChange)) Option {
	return func(c *config) { c.stateHandler = f }
}

// ContactChangeKind says what happened to a contact.
type ContactChangeKind int

const (
	ContactAdded    ContactChangeKind = iota + 1 // a new friend, a new group, ...
	ContactModified                              // renamed, remark changed, group members changed
	ContactRemoved                               // deleted from the address book, or a group left
)

var changeNames = [...]string{"", "added", "modified", "removed"}

// String returns "added", "modified" or "removed".
func (k ContactChangeKind) String() string {
	if k > 0 && int(k) < len(changeNames) {
		return changeNames[k]
	}
	return "ContactChangeKind(" + strconv.Itoa(int(k)) + ")"
}

// ContactChange reports a change the server pushed through the sync (ModContactList,
// DelContactList, ModChatRoomMemberList). For a group, Joined and Left list the members that
// appeared in or disappeared from its member list.
type ContactChange struct {
	Kind    ContactChangeKind
	Contact Contact
	Joined  []Member
	Left    []Member
}

// WithContactHandler makes the Client call f for every contact change the sync brings, before
// the messages of the same sync are dispatched. f is called from Run's sync loop and must
// return quickly. A nil f, the default, ignores contact changes; the Client's contact store is
// updated in any case.
func WithContactHandler(f func(ContactChange)) Option {
	return func(c *config) { c.contactHandler = f }
}

func (c *Client) setState(st State, err error) {
	if !c.sess.setState(st) {
		return
	}
	c.log.Info("session state", "state", st.String(), "err", err)
	if c.cfg.stateHandler != nil {
		c.cfg.stateHandler(StateChange{State: st, Err: err})
	}
}

// State returns the current state of the session.
func (c *Client) State() State {
	st, _ := c.sess.current()
	return st
}

// membersDiff returns the members of now not in before, and of before not in now.
func membersDiff(before, now []Member) (joined, left []Member) {
	was := make(map[string]bool, len(before))
	for _, m := range before {
		was[m.UserName] = true
	}
	is := make(map[string]bool, len(now))
	for _, m := range now {
		is[m.UserName] = true
		if !was[m.UserName] {
			joined = append(joined, m)
		}
	}
	for _, m := range before {
		if !is[m.UserName] {
			left = append(left, m)
		}
	}
	return joined, left
}
