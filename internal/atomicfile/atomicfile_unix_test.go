//go:build unix

package atomicfile

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteModeIgnoresUmask(t *testing.T) {
	old := syscall.Umask(0o077) // process-wide: this test is not parallel
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "media.jpg")
	require.NoError(t, WriteFile(path, []byte("x"), 0o644))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o644), fi.Mode().Perm())
}
