//go:build linux

package fleet_test

import (
	"bufio"
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/redisstore"
	"github.com/wxkit/wechat/wechattest"
)

// The failover test's parameters (the acceptance): 3 worker processes, 20 accounts,
// 500 messages each paced over 20 s, two SIGKILLs.
const (
	foWorkers  = 3
	foAccounts = 20
	foPerAcct  = 500
	foPace     = 40 * time.Millisecond // one message per account per tick: 500 ticks, 20 s
	foTTL      = 3 * time.Second
	foScan     = 300 * time.Millisecond
	foMax      = 10 // 3 × 10 ≥ 20, and the 2 survivors of a kill can hold all 20
	foRestart  = time.Second
	foMsgBase  = int64(7_100_000_000_000_000_000)
	foLate     = 2 * time.Second // how late this process may read a request sent before a kill
)

// TestFailover runs 20 accounts, each on its own wechattest server served by this process over
// loopback HTTP, on 3 worker processes (this test binary again, see failover_worker_test.go)
// sharing a real Redis. 10,000 messages arrive, 500 per account paced over 20 s; each worker's
// handler answers "ack:<MsgID>". Twice during the run a worker process that runs accounts is
// killed with SIGKILL, at a random moment and chosen at random; a supervisor starts it again
// a second later. The survivors take the dead worker's accounts over once their leases expire
// and resume from the committed positions.
//
// It asserts that every message was acknowledged (0 lost); that every message acknowledged
// more than once had been handled first by a worker that was then killed, or lost its
// lease, shortly before (the messages handled since its last save: in flight at the kill);
// and that no account was ever served by two processes at once: a handler in front of each
// fake records the requests in flight per worker, and two workers with requests in flight
// for one account at the same moment count as a concurrent session.
func TestFailover(t *testing.T) {
	t.Parallel()
	rs := sharedServer(t)
	start := time.Now()
	rdb := rs.Client(t)
	prefix := "failover:" + crand.Text()[:8] + ":"

	accts := make([]*watched, foAccounts)
	addrs := make(map[string]string)
	for i := range accts {
		name := fmt.Sprintf("acct-%02d", i)
		fake := wechattest.NewServer()
		t.Cleanup(fake.Close)
		w := &watched{name: name, fake: fake, inflight: make(map[string]int), acks: make(map[string][]ackAt)}
		hs := httptest.NewServer(w)
		t.Cleanup(hs.Close)
		accts[i] = w
		addrs[name] = strings.TrimPrefix(hs.URL, "http://")

		// Log each account in once, here, so the workers resume it (LoginResumeOnly).
		fake.ConfirmLogin()
		c := wechat.New(wechat.WithHTTPClient(fake.Client()), wechat.WithQRHandler(func(wechat.QRCode) {}),
			wechat.WithSessionStore(redisstore.New(rdb, name, redisstore.WithPrefix(prefix))))
		require.NoError(t, c.Login(t.Context()), name)
	}
	cfg, err := json.Marshal(workerConfig{Redis: rs.Addr(), Prefix: prefix, Accounts: addrs, TTL: foTTL, Scan: foScan, Max: foMax})
	require.NoError(t, err)

	sup := &supervisor{t: t, cfg: string(cfg)}
	t.Cleanup(sup.killAll)
	for slot := range foWorkers {
		sup.start(slot)
	}
	waitFor(t, 30*time.Second, "every account served by a worker", func() bool {
		for _, a := range accts {
			if w, _ := a.servedBy(); w == "" {
				return false
			}
		}
		return true
	})
	setup := time.Since(start)

	// Deliver, and kill a worker twice at random moments of the delivery.
	delivered := time.Now()
	killAt := []time.Duration{randBetween(4*time.Second, 7*time.Second), randBetween(11*time.Second, 14*time.Second)}
	var kills []kill
	tick := time.NewTicker(foPace)
	for i := 0; i < foPerAcct; {
		<-tick.C
		// Catch up on the ticks this busy process missed: the pace is by the clock.
		for due := min(foPerAcct, int(time.Since(delivered)/foPace)+1); i < due; i++ {
			for a, w := range accts {
				from := []string{"friend", "alice", "bob"}[i%3]
				w.fake.Deliver(wechattest.Message{From: from, Type: 1, Text: fmt.Sprintf("%s%d:%d", msgPrefix, a, i), MsgID: strconv.FormatInt(msgID(a, i), 10)})
			}
		}
		if len(kills) < len(killAt) && time.Since(delivered) >= killAt[len(kills)] {
			kills = append(kills, sup.killOne(accts))
		}
	}
	tick.Stop()
	deliveredIn := time.Since(delivered)

	// Every message acknowledged, at least once.
	var lost int
	waitErr := func() error {
		deadline := time.After(40 * time.Second)
		poll := time.NewTicker(100 * time.Millisecond)
		defer poll.Stop()
		for {
			lost = 0
			for a, w := range accts {
				lost += foPerAcct - len(ackCounts(w.fake, a))
			}
			if lost == 0 {
				return nil
			}
			select {
			case <-poll.C:
			case <-deadline:
				return fmt.Errorf("%d messages not acknowledged 40 s after the last delivery", lost)
			}
		}
	}()
	drained := time.Since(delivered) - deliveredIn
	sup.stopAll()

	total, dups := 0, 0
	var dupIDs []string
	for a, w := range accts {
		for id, n := range ackCounts(w.fake, a) {
			total += n
			if n > 1 {
				dups += n - 1
				dupIDs = append(dupIDs, id)
			}
		}
	}
	concurrent := 0
	var handovers int
	for _, w := range accts {
		w.mu.Lock()
		concurrent += len(w.overlaps)
		for _, o := range w.overlaps {
			t.Errorf("%s: concurrent session: %s", w.name, o)
		}
		handovers += len(w.handovers)
		w.mu.Unlock()
	}

	// Every duplicate was first acknowledged by a worker that was killed, or that lost its
	// lease, after that first ack: it was in flight (handled, not yet saved) then.
	ends := sup.ends()
	var lag time.Duration
	unexplained := 0
	for _, w := range accts {
		w.mu.Lock()
		for _, id := range dupIDs {
			acks := w.acks[id]
			if len(acks) == 0 {
				continue
			}
			first := acks[0]
			end, ok := ends.explains(first.worker, w.name, first.at)
			if !ok {
				unexplained++
				t.Errorf("%s: message %s acknowledged %d times; its first ack (by %s at +%v) is not explained by a kill or lease loss of %s",
					w.name, id, len(acks), first.worker, first.at.Sub(delivered).Round(time.Millisecond), first.worker)
				continue
			}
			lag = max(lag, end.Sub(first.at))
		}
		w.mu.Unlock()
	}

	// How long the killed worker's accounts were unserved: from the kill to the first
	// request of their new worker, the longest of each kill.
	var killDesc []string
	for _, k := range kills {
		var gap time.Duration
		for _, w := range accts {
			w.mu.Lock()
			for _, h := range w.handovers {
				if h.from == k.worker && h.at.After(k.at) {
					gap = max(gap, h.at.Sub(k.at))
				}
			}
			w.mu.Unlock()
		}
		killDesc = append(killDesc, fmt.Sprintf("%s at +%v holding %d accounts, taken over within %v",
			k.worker, k.at.Sub(delivered).Round(time.Millisecond), k.held, gap.Round(time.Millisecond)))
	}
	t.Logf("failover: %d messages, %d acks, %d lost, %d duplicates (oldest first ack %v before its kill or lease loss), "+
		"%d concurrent sessions, %d handovers; kills: %s; lease losses without a kill: %d; setup %v, delivery %v, drain %v, total %v",
		foAccounts*foPerAcct, total, lost, dups, lag.Round(time.Millisecond), concurrent, handovers,
		strings.Join(killDesc, "; "), sup.lossCount(), setup.Round(time.Millisecond), deliveredIn.Round(time.Millisecond),
		drained.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	require.NoError(t, waitErr)
	assert.Zero(t, lost)
	assert.Zero(t, concurrent, "accounts served by two processes at once")
	assert.Zero(t, unexplained, "duplicates of messages not in flight at a kill or lease loss")
	require.Len(t, kills, 2)
	for _, k := range kills {
		assert.Positive(t, k.held, "a kill of a worker running accounts")
	}
	sup.check()
}

func msgID(acct, i int) int64 { return foMsgBase + int64(acct)*1_000_000 + int64(i) }

// ackCounts counts the acks the fake of account a accepted, by acknowledged MsgID; only the
// ids of the messages delivered count.
func ackCounts(fake *wechattest.Server, a int) map[string]int {
	out := make(map[string]int)
	lo, hi := msgID(a, 0), msgID(a, foPerAcct-1)
	for _, s := range fake.Sent() {
		id, ok := strings.CutPrefix(s.Content, ackPrefix)
		if !ok {
			continue
		}
		var n int64
		if _, err := fmt.Sscan(id, &n); err == nil && n >= lo && n <= hi {
			out[id]++
		}
	}
	return out
}

func randBetween(lo, hi time.Duration) time.Duration { return lo + rand.N(hi-lo) }

// watched is the handler in front of one account's fake: it records, per worker process,
// the requests in flight, every time two workers had requests in flight at once, the
// handovers from one worker to another, and who sent each ack when.
type watched struct {
	name string
	fake *wechattest.Server

	mu        sync.Mutex
	inflight  map[string]int // worker -> requests in flight
	overlaps  []string
	serving   string // the worker of the latest request
	lastAt    time.Time
	handovers []handover
	acks      map[string][]ackAt // MsgID -> every ack sent, in order
}

// handover is the first request of a worker for an account after another worker's.
type handover struct {
	from, to string
	at       time.Time
}

type ackAt struct {
	worker string
	at     time.Time
}

var ackContent = regexp.MustCompile(`"Content":"` + ackPrefix + `(\d+)"`)

func (w *watched) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	worker := r.Header.Get(workerHeader)
	now := time.Now()
	var body []byte
	if strings.HasSuffix(r.URL.Path, "/webwxsendmsg") {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	w.mu.Lock()
	for other, n := range w.inflight {
		if other != worker && n > 0 {
			w.overlaps = append(w.overlaps, fmt.Sprintf("%s sent %s while %d requests of %s were in flight", worker, r.URL.Path, n, other))
		}
	}
	w.inflight[worker]++
	if worker != w.serving {
		w.handovers = append(w.handovers, handover{from: w.serving, to: worker, at: now})
		w.serving = worker
	}
	w.lastAt = now
	if m := ackContent.FindSubmatch(body); m != nil {
		id := string(m[1])
		w.acks[id] = append(w.acks[id], ackAt{worker, now})
	}
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.inflight[worker]--
		w.mu.Unlock()
	}()
	w.fake.ServeHTTP(rw, r)
}

// servedBy returns the worker of the latest request, and when it came.
func (w *watched) servedBy() (string, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.serving, w.lastAt
}

// supervisor starts, kills and restarts the worker processes. Worker ids are
// "w<slot>.<n>", n counting the processes started in the slot from 0.
type supervisor struct {
	t   *testing.T
	cfg string

	mu       sync.Mutex
	procs    map[int]*proc // by slot, the live ones
	all      []*proc
	gens     map[int]int    // by slot, the processes started
	readers  sync.WaitGroup // the goroutines reading the workers' output
	restarts sync.WaitGroup // the restarts killOne scheduled
}

type proc struct {
	id     string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr bytes.Buffer
	killed time.Time // zero unless killed

	mu    sync.Mutex
	lines []workerLine
}

type kill struct {
	worker string
	at     time.Time
	held   int // accounts it served
}

func (s *supervisor) start(slot int) {
	t := s.t
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.procs == nil {
		s.procs, s.gens = make(map[int]*proc), make(map[int]int)
	}
	p := &proc{id: fmt.Sprintf("w%d.%d", slot, s.gens[slot])}
	s.gens[slot]++
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), workerEnv+"="+p.id, workerConfigEnv+"="+s.cfg)
	cmd.Stderr = &p.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // no orphan if the test dies
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Error(err)
		return
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Error(err)
		return
	}
	if err := cmd.Start(); err != nil {
		t.Errorf("starting worker %s: %v", p.id, err)
		return
	}
	p.cmd, p.stdin = cmd, stdin
	s.procs[slot] = p
	s.all = append(s.all, p)
	s.readers.Go(func() { // ends at EOF, when the process has exited
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var l workerLine
			if json.Unmarshal(sc.Bytes(), &l) == nil {
				p.mu.Lock()
				p.lines = append(p.lines, l)
				p.mu.Unlock()
			}
		}
	})
}

// killOne kills, with SIGKILL, a worker chosen at random among those that served an account
// in the last second, and starts its slot again after foRestart.
func (s *supervisor) killOne(accts []*watched) kill {
	active := map[string]int{}
	for _, a := range accts {
		if w, at := a.servedBy(); w != "" && time.Since(at) < time.Second {
			active[w]++
		}
	}
	s.mu.Lock()
	var slots []int
	for slot, p := range s.procs {
		if active[p.id] > 0 {
			slots = append(slots, slot)
		}
	}
	sort.Ints(slots)
	if len(slots) == 0 {
		s.mu.Unlock()
		s.t.Error("no worker serves an account")
		return kill{}
	}
	slot := slots[rand.N(len(slots))]
	p := s.procs[slot]
	delete(s.procs, slot)
	s.mu.Unlock()
	k := kill{worker: p.id, at: time.Now(), held: active[p.id]}
	p.killed = k.at
	require.NoError(s.t, p.cmd.Process.Signal(syscall.SIGKILL))
	_ = p.cmd.Wait()
	s.t.Logf("killed %s (%d accounts) at %v", p.id, k.held, k.at.Format(time.StampMilli))
	s.restarts.Add(1)
	time.AfterFunc(foRestart, func() {
		defer s.restarts.Done()
		s.start(slot)
	})
	return k
}

// stopAll closes the live workers' standard input, so that they stop their Runners, and
// waits for them.
func (s *supervisor) stopAll() {
	s.restarts.Wait()
	s.mu.Lock()
	live := make([]*proc, 0, len(s.procs))
	for _, p := range s.procs {
		live = append(live, p)
	}
	s.mu.Unlock()
	for _, p := range live {
		p.stdin.Close()
	}
	for _, p := range live {
		done := make(chan error, 1)
		go func() { done <- p.cmd.Wait() }()
		select {
		case err := <-done:
			assert.NoError(s.t, err, "%s: exit status; stderr:\n%s", p.id, p.stderr.String())
		case <-time.After(30 * time.Second):
			s.t.Errorf("%s did not stop 30 s after its stdin was closed", p.id)
			_ = p.cmd.Process.Kill()
			<-done
		}
	}
	s.readers.Wait()
}

// killAll kills whatever still runs (a failed test).
func (s *supervisor) killAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.procs {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
		}
	}
}

// check fails the test if a worker reported a data race or did not end its Run with
// context.Canceled.
func (s *supervisor) check() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.all {
		if strings.Contains(p.stderr.String(), "DATA RACE") {
			s.t.Errorf("%s reported a data race:\n%s", p.id, p.stderr.String())
		}
		if !p.killed.IsZero() {
			continue
		}
		p.mu.Lock()
		last := workerLine{}
		if len(p.lines) > 0 {
			last = p.lines[len(p.lines)-1]
		}
		p.mu.Unlock()
		assert.Equal(s.t, "exit", last.Kind, "%s: the last line", p.id)
		assert.Equal(s.t, context.Canceled.Error(), last.Err, "%s: Run's error", p.id)
	}
}

// lossCount counts the leases lost by workers that were not killed.
func (s *supervisor) lossCount() int {
	n := 0
	for _, p := range s.all {
		p.mu.Lock()
		for _, l := range p.lines {
			if l.Kind == "stopped" && l.Lost {
				n++
				s.t.Logf("%s lost the lease of %s at %v: %s", p.id, l.Account, l.At.Format(time.StampMilli), l.Err)
			}
		}
		p.mu.Unlock()
	}
	return n
}

// endings are the moments a worker stopped serving accounts abruptly: killed (all its
// accounts), or a lost lease (one account).
type endings struct {
	killed map[string]time.Time
	lost   map[string][]time.Time // "worker account" -> times
}

func (s *supervisor) ends() endings {
	e := endings{killed: map[string]time.Time{}, lost: map[string][]time.Time{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.all {
		if !p.killed.IsZero() {
			e.killed[p.id] = p.killed
		}
		p.mu.Lock()
		for _, l := range p.lines {
			if l.Kind == "stopped" && l.Lost {
				k := p.id + " " + l.Account
				e.lost[k] = append(e.lost[k], l.At)
			}
		}
		p.mu.Unlock()
	}
	return e
}

// explains returns the first abrupt end of worker on account that can explain an ack the
// fake received from it at t, and whether there is one: a kill or a loss at most
// foLate before t (a request sent before the end may be read by this busy process after it),
// or any time after.
func (e endings) explains(worker, account string, t time.Time) (time.Time, bool) {
	var best time.Time
	ok := func(end time.Time) bool {
		return end.After(t.Add(-foLate)) && (best.IsZero() || end.Before(best))
	}
	if k, found := e.killed[worker]; found && ok(k) {
		best = k
	}
	for _, l := range e.lost[worker+" "+account] {
		if ok(l) {
			best = l
		}
	}
	return best, !best.IsZero()
}
