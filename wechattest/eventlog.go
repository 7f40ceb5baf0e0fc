package wechattest

// eventLog is a session's event log, kept in chunks of eventChunk events:
// appending never copies the events logged before (a plain slice would copy
// the whole log, and clear its new array, every time it doubles, with the
// server's lock held), and an event's address never changes. Its zero value
// is an empty log.
type eventLog struct {
	chunks [][]event
	n      int
}

const eventChunk = 512

// len returns the number of events logged.
func (l *eventLog) len() int { return l.n }

// at returns the i-th event, 0 <= i < l.len().
func (l *eventLog) at(i int) *event { return &l.chunks[i/eventChunk][i%eventChunk] }

// add appends ev.
func (l *eventLog) add(ev event) {
	if l.n%eventChunk == 0 {
		l.chunks = append(l.chunks, make([]event, 0, eventChunk))
	}
	last := &l.chunks[len(l.chunks)-1]
	*last = append(*last, ev)
	l.n++
}

// from returns the events from the i-th on, oldest first, as a range function.
func (l *eventLog) from(i int) func(yield func(*event) bool) {
	return func(yield func(*event) bool) {
		for ; i < l.n; i++ {
			if !yield(l.at(i)) {
				return
			}
		}
	}
}
