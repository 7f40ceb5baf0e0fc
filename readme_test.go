package wechat_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadmeBots: each bot the README shows after a "<!-- examples/<name>/main.go -->" marker
// is that program's code up to the end of its function, verbatim (one tab less), in 20 to 40
// lines: the README cannot drift from what CI runs.
func TestReadmeBots(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	blocks := regexp.MustCompile("<!-- (examples/[a-z]+/main.go) -->\n```go\n((?s:.*?))\n```").FindAllStringSubmatch(string(readme), -1)
	require.Len(t, blocks, 3, "notify, autoreply, saver")
	for _, b := range blocks {
		src, err := os.ReadFile(b[1])
		require.NoError(t, err)
		lines := strings.Split(b[2], "\n")
		for i, l := range lines {
			if l != "" {
				lines[i] = "\t" + l
			}
		}
		code := strings.Join(lines, "\n") + "\n}\n" // up to the end of the function
		assert.Contains(t, string(src), code, "%s: the README shows the program's code", b[1])
		assert.True(t, len(lines) >= 20 && len(lines) <= 40, "%s: %d lines", b[1], len(lines))
	}
}
