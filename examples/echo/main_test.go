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

// TestOffline runs the program as `echo -offline -n 3` does.
func TestOffline(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), &out, true, 3, nil))
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	assert.Equal(t, "echoed 3 messages", lines[len(lines)-1])
	assert.Contains(t, out.String(), "QR code: https://login.weixin.qq.com/l/")
	assert.Contains(t, out.String(), "█", "the QR code is drawn")
	assert.Contains(t, out.String(), `server received a reply to friend: "hello 1"`)
	assert.Contains(t, out.String(), `server received a reply to group: "hi all 2"`)
	assert.Contains(t, out.String(), `server received a reply to friend: "hello 3"`)
	assert.Equal(t, 3, strings.Count(out.String(), "server received a reply"))
}
