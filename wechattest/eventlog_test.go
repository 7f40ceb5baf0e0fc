package wechattest

import "testing"

// TestEventLog checks the chunked log across chunk boundaries: every event
// keeps its place and its address, and from starts where it is asked to.
func TestEventLog(t *testing.T) {
	var l eventLog
	const n = 2*eventChunk + 7
	var first *event
	for i := range n {
		l.add(event{seq: int64(i + 1)})
		if i == 0 {
			first = l.at(0)
		}
	}
	if l.len() != n {
		t.Fatalf("len = %d; want %d", l.len(), n)
	}
	if l.at(0) != first {
		t.Error("the first event moved when the log grew")
	}
	for i := range n {
		if got := l.at(i).seq; got != int64(i+1) {
			t.Fatalf("at(%d).seq = %d; want %d", i, got, i+1)
		}
	}
	for _, start := range []int{0, eventChunk - 1, eventChunk, n - 1, n} {
		want := int64(start + 1)
		for ev := range l.from(start) {
			if ev.seq != want {
				t.Fatalf("from(%d): seq %d; want %d", start, ev.seq, want)
			}
			want++
		}
		if want != n+1 {
			t.Errorf("from(%d) ended before seq %d, at %d", start, n+1, want)
		}
	}
	stopped := 0
	for range l.from(0) {
		if stopped++; stopped == 3 {
			break
		}
	}
	if stopped != 3 {
		t.Errorf("from did not stop when asked: %d", stopped)
	}
}
