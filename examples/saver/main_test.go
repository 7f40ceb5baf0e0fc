package main

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestOffline runs the program as `saver -offline -dir <tmp>` does: every file lands in the
// directory, the attachment whose name tries to leave it included.
func TestOffline(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "saved")
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"-offline", "-dir", dir}, &out))
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	assert.Equal(t, "saved 4 files", lines[len(lines)-1])

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var exts []string
	for _, e := range entries {
		exts = append(exts, filepath.Ext(e.Name()))
		if filepath.Ext(e.Name()) == ".pdf" {
			assert.Equal(t, "Q3 report.pdf", e.Name(), "reduced to its base name")
		}
	}
	sort.Strings(exts)
	assert.Equal(t, []string{".jpg", ".mp3", ".mp4", ".pdf"}, exts)
	others, err := os.ReadDir(parent)
	require.NoError(t, err)
	assert.Len(t, others, 1, "nothing was written beside the directory")
}
