package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestOffline runs the program as `autoreply -offline` does: the friend who writes twice is
// answered once, the group member who mentions the account is answered, the one who does
// not is not.
func TestOffline(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"-offline"}, &out))
	got := out.String()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	assert.Equal(t, "answered 3", lines[len(lines)-1])
	assert.Equal(t, 1, strings.Count(got, "answered Friend\n"))
	assert.Contains(t, got, "answered Carol\n")
	assert.Contains(t, got, "answered Bob (work)\n")
}
