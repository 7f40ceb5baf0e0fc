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

// TestOffline runs the program as `groupadmin -offline` does.
func TestOffline(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), &out, true, nil))
	got := out.String()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	assert.Equal(t, "welcomed 2 members, removed 1", lines[len(lines)-1])
	assert.Contains(t, got, "welcomed Dave in Book Club\n")
	assert.Contains(t, got, "welcomed Erin in Book Club\n")
	assert.Contains(t, got, "declined /kick from Bobby: not the owner\n")
	assert.Contains(t, got, "removed Dave from Book Club\n")
	assert.Contains(t, got, "server: group Book Club has members self, alice, bob, erin\n")
}
