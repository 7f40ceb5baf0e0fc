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

// TestOffline runs the program as `media -offline -dir <tmp>` does.
func TestOffline(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), &out, true, dir, "", nil))
	text := out.String()
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	assert.Equal(t, "saved 5 files", lines[len(lines)-1])
	for _, kind := range []string{"image", "voice", "video", "emoticon", "file"} {
		assert.Contains(t, text, "saved "+kind+": ")
	}
	assert.Contains(t, text, `server received a webwxsendappmsg to filehelper: "Q3 report.pdf"`, "the file is forwarded")
	assert.Contains(t, text, "\ruploading photos.zip [==============================] 100%\n", "the upload's progress bar")
	assert.Contains(t, text, `server received a webwxsendappmsg to filehelper: "photos.zip"`, "the upload is sent")

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var exts []string
	for _, e := range entries {
		exts = append(exts, filepath.Ext(e.Name()))
		fi, err := e.Info()
		require.NoError(t, err)
		assert.Positive(t, fi.Size(), e.Name())
	}
	sort.Strings(exts)
	assert.Equal(t, []string{".gif", ".jpg", ".mp3", ".mp4", ".pdf"}, exts, "named by their sniffed type")
}
