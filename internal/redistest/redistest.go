// Package redistest runs a real redis-server for tests: a subprocess on a free loopback port,
// without persistence unless asked, that a test can stop, kill, restart and pause.
//
// Tests that need Redis call [Require] (or use a [Server] started by TestMain and report its
// start error through Require): when redis-server is not on PATH they are skipped with a
// clear message, unless the environment variable WECHAT_REQUIRE_REDIS is "1", in which case
// they fail. CI sets it, so Redis tests can never be skipped silently there.
package redistest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RequireEnv is the environment variable that turns a missing redis-server from a skip into a
// failure.
const RequireEnv = "WECHAT_REQUIRE_REDIS"

// ErrNotInstalled is matched by the error of [Start] when redis-server is not on PATH.
var ErrNotInstalled = errors.New("redistest: redis-server is not on PATH (install it: apt-get install -y redis-server)")

// Server is a redis-server subprocess listening on 127.0.0.1. Its methods are safe for
// concurrent use.
type Server struct {
	port int
	dir  string
	args []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
	out    *syncBuffer
	paused bool
}

// Start starts a redis-server on a free loopback port, without persistence (--save ""
// --appendonly no), its working directory a new temporary directory; extra args (e.g.
// "--appendonly", "yes") are appended to its command line. It returns once the server
// answers PING, or an error matching ErrNotInstalled when redis-server is not on PATH.
func Start(extra ...string) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, ErrNotInstalled
	}
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("redistest: finding a free port: %w", err)
	}
	dir, err := os.MkdirTemp("", "redistest")
	if err != nil {
		return nil, fmt.Errorf("redistest: %w", err)
	}
	s := &Server{port: port, dir: dir}
	s.args = append([]string{bin,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "",
	}, extra...)
	if err := s.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// Require skips tb with a clear message when err (from [Start]) says redis-server is not
// installed, or fails tb when WECHAT_REQUIRE_REDIS=1 or err is another error.
func Require(tb testing.TB, err error) {
	tb.Helper()
	switch {
	case err == nil:
	case errors.Is(err, ErrNotInstalled) && os.Getenv(RequireEnv) != "1":
		tb.Skipf("skipped: %v; set %s=1 to make this a failure", err, RequireEnv)
	default:
		tb.Fatalf("redis-server needed: %v", err)
	}
}

// New starts a Server for tb alone (see [Start]), skipping or failing tb as [Require] says
// when it cannot, and stops it when tb ends.
func New(tb testing.TB, extra ...string) *Server {
	tb.Helper()
	s, err := Start(extra...)
	Require(tb, err)
	tb.Cleanup(s.Close)
	return s
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Client returns a go-redis client of the server, closed when tb ends. It honours context
// deadlines (ContextTimeoutEnabled) and gives up dialing after a second.
func (s *Server) Client(tb testing.TB) *redis.Client {
	rdb := redis.NewClient(&redis.Options{
		Addr:                  s.Addr(),
		ContextTimeoutEnabled: true,
		DialTimeout:           time.Second,
		ReadTimeout:           time.Second,
		DialerRetries:         1,
	})
	tb.Cleanup(func() { rdb.Close() })
	return rdb
}

// Start starts the server again after Stop or Kill, on the same port with the same
// directory (so an append-only file, if enabled, is read back). It returns once the server
// answers PING.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("redistest: server already running")
	}
	cmd := exec.Command(s.args[0], s.args[1:]...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("redistest: starting redis-server: %w", err)
	}
	exited := make(chan struct{})
	go func() { // owned by s: ends with the process, which Stop, Kill and Close end
		_ = cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited, s.out, s.paused = cmd, exited, out, false
	if err := s.waitReady(exited); err != nil {
		_ = cmd.Process.Kill()
		<-exited
		s.cmd = nil
		return fmt.Errorf("redistest: redis-server did not start: %w\n%s", err, out.String())
	}
	return nil
}

// waitReady polls PING until the server answers, exits or 10 s pass.
func (s *Server) waitReady(exited <-chan struct{}) error {
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if ping(s.Addr()) == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("it exited")
		case <-deadline.C:
			return errors.New("no answer to PING within 10s")
		case <-tick.C:
		}
	}
}

// ping sends PING over a fresh connection and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	buf := make([]byte, 7)
	n, err := c.Read(buf)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(string(buf[:n]), "+PONG") {
		return fmt.Errorf("PING answered %q", buf[:n])
	}
	return nil
}

// Stop shuts the server down with SIGTERM (SIGKILL after 5 s) and waits for it to exit.
// Stopping a stopped server does nothing.
func (s *Server) Stop() { s.end(syscall.SIGTERM) }

// Kill kills the server with SIGKILL, as a crash would, and waits for it to exit.
func (s *Server) Kill() { s.end(syscall.SIGKILL) }

func (s *Server) end(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	if s.paused {
		_ = s.cmd.Process.Signal(syscall.SIGCONT)
	}
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-s.exited:
	case <-t.C:
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// Restart kills the server (SIGKILL) and starts it again on the same port.
func (s *Server) Restart() error {
	s.Kill()
	return s.Start()
}

// Pause freezes the server (SIGSTOP): connections stay open and commands hang, as with a
// stalled server or a network partition, until Resume.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP, true) }

// Resume lets a paused server run again (SIGCONT).
func (s *Server) Resume() { s.signal(syscall.SIGCONT, false) }

func (s *Server) signal(sig syscall.Signal, paused bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(sig)
		s.paused = paused
	}
}

// Close stops the server and removes its directory.
func (s *Server) Close() {
	s.Stop()
	os.RemoveAll(s.dir)
}

// Log returns what the running (or last) server process printed.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.out == nil {
		return ""
	}
	return s.out.String()
}

// Do runs one command on a fresh client; for tests that poke at keys.
func (s *Server) Do(ctx context.Context, args ...any) (any, error) {
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr(), ContextTimeoutEnabled: true, MaxRetries: -1})
	defer rdb.Close()
	return rdb.Do(ctx, args...).Result()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// syncBuffer is a bytes.Buffer safe for the process's writes and a test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b.Len() > 1<<20 {
		return len(p), nil // enough to explain a failure
	}
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
