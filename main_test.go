package wechat_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: Run, its handlers and its
// contact loader must all have returned.
func TestMain(m *testing.M) {
	if path := os.Getenv("WECHAT_TEST_SAVE_LOOP"); path != "" {
		saveLoop(path) // the child of TestFileStoreKilledMidSave; never returns
	}
	goleak.VerifyTestMain(m)
}
