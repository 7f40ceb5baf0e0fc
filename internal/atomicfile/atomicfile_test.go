package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// names returns the names in dir, sorted.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	slices.Sort(out)
	return out
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.session")

	require.NoError(t, WriteFile(path, []byte("one"), 0o644))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "one", string(got))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o644), fi.Mode().Perm())

	require.NoError(t, WriteFile(path, []byte("two"), 0o600), "replaces")
	got, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "two", string(got))
	fi, err = os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o600), fi.Mode().Perm())
	assert.Equal(t, []string{"a.session"}, names(t, dir), "no temporary file left")
}

func TestWriteRelativePath(t *testing.T) {
	t.Chdir(t.TempDir())
	require.NoError(t, WriteFile("plain", []byte("x"), 0o600))
	got, err := os.ReadFile("plain")
	require.NoError(t, err)
	assert.Equal(t, "x", string(got))
}

// TestWriteFailures: whatever goes wrong before the rename, the target keeps its old content
// and the temporary file is gone.
func TestWriteFailures(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "target")
	require.NoError(t, WriteFile(path, []byte("old"), 0o600))
	boom := errors.New("boom")

	err := Write(path, 0o600, func(w io.Writer) error {
		_, _ = w.Write([]byte("half of the new"))
		return boom
	})
	require.ErrorIs(t, err, boom, "write's error is returned")

	func() {
		defer func() { assert.Equal(t, "write panicked", recover()) }()
		_ = Write(path, 0o600, func(w io.Writer) error {
			_, _ = w.Write([]byte("half"))
			panic("write panicked")
		})
	}()

	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "old", string(got))
	assert.Equal(t, []string{"target"}, names(t, dir))

	// The rename fails when the target is a directory.
	sub := filepath.Join(dir, "sub")
	require.NoError(t, os.Mkdir(sub, 0o700))
	assert.Error(t, WriteFile(sub, []byte("x"), 0o600))
	assert.Equal(t, []string{"sub", "target"}, names(t, dir))

	assert.Error(t, WriteFile(filepath.Join(dir, "missing", "x"), []byte("x"), 0o600), "no such directory")
	assert.Error(t, WriteFile(dir+string(filepath.Separator), []byte("x"), 0o600), "no file name")
}

// killedWriter leaves what a writer of path killed before its rename leaves: a temporary file
// holding part of the data.
func killedWriter(t *testing.T, path string) string {
	t.Helper()
	dir, name := filepath.Split(path)
	f, err := createTemp(dir, name)
	require.NoError(t, err)
	_, err = f.WriteString("partial")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	return filepath.Base(f.Name())
}

func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bot.session")
	require.NoError(t, WriteFile(path, []byte("session"), 0o600))
	stale1 := killedWriter(t, path)
	stale2 := killedWriter(t, path)
	assert.NotEqual(t, stale1, stale2)
	assert.True(t, strings.HasPrefix(stale1, ".bot.session.") && strings.HasSuffix(stale1, ".tmp"), stale1)
	other := killedWriter(t, filepath.Join(dir, "bot.session2")) // another target's
	keep := []string{
		"bot.session", other,
		".bot.session.12ab.tmp",   // not digits
		".bot.session..tmp",       // no digits
		".bot.session.123.tmp.gz", // another suffix
		"bot.session.123.tmp",     // not hidden
		".bot.session.tmpx1",      // legacy form, not digits
		".Bot.session.123.tmp",    // another name
	}
	legacy := ".bot.session.tmp4242" // os.CreateTemp(dir, ".bot.session.tmp*")
	for _, n := range append(keep[2:], legacy) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o600))
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, ".bot.session.77.tmp"), 0o700)) // a directory
	keep = append(keep, ".bot.session.77.tmp")

	n, err := RemoveStale(path)
	require.NoError(t, err)
	assert.Equal(t, 3, n, "two temporary files and the legacy one")
	want := slices.Clone(keep)
	slices.Sort(want)
	assert.Equal(t, want, names(t, dir))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "session", string(got), "the target is never touched")

	n, err = RemoveStale(path)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing left to remove")

	n, err = RemoveStale(filepath.Join(dir, "missing", "x"))
	require.NoError(t, err, "a missing directory is no error")
	assert.Zero(t, n)
	_, err = RemoveStale(dir + string(filepath.Separator))
	assert.Error(t, err, "no file name")
}

// TestLongNames: a name too long for the temporary file's additions still writes, and its
// temporary files are told apart from those of a name with the same beginning.
func TestLongNames(t *testing.T) {
	dir := t.TempDir()
	long1 := strings.Repeat("文", 80) + "-1.bin" // 246 bytes: at the limit of most file systems
	long2 := strings.Repeat("文", 80) + "-2.bin"
	require.Equal(t, 246, len(long1))
	for _, n := range []string{long1, long2} {
		require.NoError(t, WriteFile(filepath.Join(dir, n), []byte(n), 0o600))
	}
	stale := killedWriter(t, filepath.Join(dir, long1))
	assert.LessOrEqual(t, len(stale), 255)
	assert.NotEqual(t, tempStem(long1), tempStem(long2))
	killedWriter(t, filepath.Join(dir, long2))

	n, err := RemoveStale(filepath.Join(dir, long1))
	require.NoError(t, err)
	assert.Equal(t, 1, n, "only long1's")
	assert.Len(t, names(t, dir), 3)
	assert.True(t, strings.HasPrefix(tempStem(strings.Repeat("é", 100)), strings.Repeat("é", 59)+"~"), "cut at a rune boundary")
}
