package fleet_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/wxkit/wechat/internal/redistest"
)

// shared is the redis-server of the tests that need no restart, started by TestMain; its
// start error, if any, is sharedErr.
var (
	shared    *redistest.Server
	sharedErr error
)

// TestMain runs a worker of TestFailover when the test binary was started as one (see
// failover_worker_test.go); otherwise it starts the shared redis-server, runs the tests,
// stops it and fails the run if any test left a goroutine behind.
func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) != "" {
		os.Exit(workerMain())
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	redis.SetLogger(quiet{}) // go-redis logs dial failures, which the outage tests provoke
	shared, sharedErr = redistest.Start()
	code := m.Run()
	if shared != nil {
		shared.Close()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			return 1
		}
	}
	return code
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// sharedServer returns the shared server, skipping or failing t (see redistest.Require) when
// it could not start.
func sharedServer(t testing.TB) *redistest.Server {
	t.Helper()
	redistest.Require(t, sharedErr)
	return shared
}
