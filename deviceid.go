package wechat

import (
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"
)

// newDeviceID returns "e" followed by 15 random decimal digits (PROTOCOL 12.1). The client
// makes one per session.
func newDeviceID() string {
	b := make([]byte, 16)
	b[0] = 'e'
	for i := 1; i < len(b); i++ {
		b[i] = byte('0' + rand.IntN(10))
	}
	return string(b)
}

// idSource hands out the client-generated ids of PROTOCOL 12.1. It is safe for concurrent use.
type idSource struct {
	last atomic.Int64 // last ClientMsgId handed out
	seq  atomic.Int64 // the "_" cache-buster
}

// clientMsgID returns a 17-digit LocalID/ClientMsgId: the ms timestamp followed by 4 random
// digits, strictly increasing so that two sends in the same millisecond never collide.
func (s *idSource) clientMsgID(now time.Time) string {
	for {
		last := s.last.Load()
		id := now.UnixMilli()*10000 + rand.Int64N(10000)
		if id <= last {
			id = last + 1
		}
		if s.last.CompareAndSwap(last, id) {
			return strconv.FormatInt(id, 10)
		}
	}
}

// cacheBuster returns the jQuery "_" parameter: a ms timestamp taken once, then +1 per request.
func (s *idSource) cacheBuster(now time.Time) string {
	s.seq.CompareAndSwap(0, now.UnixMilli())
	return strconv.FormatInt(s.seq.Add(1), 10)
}

// notMillis returns ~ms, the bitwise NOT of the 32-bit-truncated ms timestamp, which the
// official client sends as r on the login poll and webwxinit, and as rr on webwxsync.
func notMillis(now time.Time) int32 {
	return int32(^uint32(uint64(now.UnixMilli())))
}
