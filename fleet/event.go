package fleet

import (
	"fmt"
	"time"
)

// EventKind says what happened to an account of a [Runner].
type EventKind int

const (
	// EventStarted: the Runner took the account's lease and started its Client's Run.
	EventStarted EventKind = iota + 1
	// EventStopped: the account's Run returned; Err is what it returned. Retry is the earliest
	// time the Runner tries the account again (after a backoff for an error matching
	// wechat.ErrLoggedOut, wechat.ErrScanNeeded or any other failure), or zero when it tries
	// at its next scan (wechat.ErrLeaseLost) or not at all (the Runner is stopping, or the
	// account was removed from its list).
	EventStopped
	// EventLockFailed: taking the account's lease failed for another reason than another
	// holder having it (the store is unreachable, say); Err is the store's error. The Runner
	// ends the scan there and tries again at its next scan.
	EventLockFailed
	// EventSourceFailed: the account source of [WithAccountSource] failed; Account is empty
	// and Err is the source's error. The Runner keeps running what it runs and asks the
	// source again at its next scan.
	EventSourceFailed
)

// String returns "started", "stopped", "lock failed" or "source failed".
func (k EventKind) String() string {
	switch k {
	case EventStarted:
		return "started"
	case EventStopped:
		return "stopped"
	case EventLockFailed:
		return "lock failed"
	case EventSourceFailed:
		return "source failed"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is something that happened to an account of a [Runner], reported to the handler of
// [WithEventHandler].
type Event struct {
	Kind    EventKind
	Account string    // empty for EventSourceFailed
	Token   int64     // EventStarted: the fencing token of the lease taken
	Err     error     // EventStopped: what Run returned; EventLockFailed, EventSourceFailed: the error
	Retry   time.Time // EventStopped: when the account is tried again at the earliest; zero: see EventStopped
}

// String describes the event for a log line, without secrets (an account name is the
// caller's, and errors of the wechat and redisstore packages hold none).
func (e Event) String() string {
	s := e.Kind.String()
	if e.Account != "" {
		s = fmt.Sprintf("%s %q", s, e.Account)
	}
	if e.Kind == EventStarted {
		s += fmt.Sprintf(" (token %d)", e.Token)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if !e.Retry.IsZero() {
		s += "; retry after " + e.Retry.Format(time.RFC3339)
	}
	return s
}
