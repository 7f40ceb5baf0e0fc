package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/wxkit/wechat"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestOffline runs the program as `notify -offline` does.
func TestOffline(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"-offline"}, &out))
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	assert.Equal(t, []string{"Alice: sent", "Test Group: sent", "notified 2 of 2"}, lines[len(lines)-3:])
}

// TestNoSession: without a stored session and without -login, notify fails at once, asking
// for a scan, and sends nothing.
func TestNoSession(t *testing.T) {
	t.Chdir(t.TempDir()) // no notify.session here
	var out bytes.Buffer
	err := run(t.Context(), []string{"-to", "Alice", "hello"}, &out)
	require.ErrorIs(t, err, wechat.ErrScanNeeded)
	assert.Empty(t, out.String())
}
