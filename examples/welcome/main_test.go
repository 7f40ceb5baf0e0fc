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

// TestOffline runs the program as `welcome -offline` does.
func TestOffline(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), &out, true, config{keyword: "golang", group: "Gophers"}))
	got := out.String()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	assert.Equal(t, "welcomed 2 new friends", lines[len(lines)-1])
	assert.Contains(t, got, "accepted Carol (ID carol)\n")
	assert.Contains(t, got, `ignored the request of Dave: "Cheap watches, best prices"`)
	assert.Contains(t, got, "greeted Erin and invited them into Gophers\n")
	assert.Contains(t, got, "server: friends Alice, Carol, Erin\n")
	assert.Contains(t, got, "server: group Gophers has members self, alice, carol, erin\n")
	assert.Contains(t, got, `server received a message to carol: "Welcome, Carol! I am inviting you to Gophers."`)
}
