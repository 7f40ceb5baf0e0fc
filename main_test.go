package wechat_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: Run, its handlers and its
// contact loader must all have returned.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
