package wire

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadBody(t *testing.T) {
	const limit = 10000
	body := bytes.Repeat([]byte("0123456789"), 1000) // exactly the limit
	tests := []struct {
		name    string
		r       io.Reader
		size    int64
		want    []byte
		wantErr error
	}{
		{"known size", bytes.NewReader(body), limit, body, nil},
		{"unknown size", bytes.NewReader(body), -1, body, nil},
		{"unknown size, one byte at a time", iotest.OneByteReader(bytes.NewReader(body)), -1, body, nil},
		{"empty", strings.NewReader(""), 0, []byte{}, nil},
		{"empty, unknown size", strings.NewReader(""), -1, nil, nil},
		{"shorter than announced", strings.NewReader("abc"), 10, []byte("abc"), nil},
		{"longer than announced, within the limit", strings.NewReader("abcdef"), 3, []byte("abcdef"), nil},
		{"announced over the limit", strings.NewReader("x"), limit + 1, nil, ErrBodyTooLarge},
		{"over the limit, unknown size", bytes.NewReader(append(body, 'x')), -1, nil, ErrBodyTooLarge},
		{"longer than announced, over the limit", bytes.NewReader(append(body, 'x')), 5, nil, ErrBodyTooLarge},
		{"read error", iotest.ErrReader(io.ErrClosedPipe), -1, nil, io.ErrClosedPipe},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadBody(tt.r, tt.size, limit)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, len(tt.want), len(got))
			assert.True(t, bytes.Equal(tt.want, got))
		})
	}
}

func TestReadBodyRefusesAnnouncedSizeWithoutReading(t *testing.T) {
	r := &zeros{n: 100 << 20}
	_, err := ReadBody(r, 100<<20, 64<<20)
	require.ErrorIs(t, err, ErrBodyTooLarge)
	assert.Zero(t, r.read, "nothing read")
	assert.NotContains(t, err.Error(), "0000", "no body bytes in the error")
}

func TestReadBodyRejectedMemory(t *testing.T) {
	// A rejected body of unknown size costs at most the limit plus one chunk.
	const limit = 8 << 20
	allocs := testing.AllocsPerRun(1, func() {
		_, err := ReadBody(&zeros{n: 20 << 20}, -1, limit)
		if !errors.Is(err, ErrBodyTooLarge) {
			t.Fatal(err)
		}
	})
	assert.Less(t, allocs, 40.0)
}

// TestBodyReaderReuse: the bodies a BodyReader returns never share its scratch buffers, and a
// body of unknown length read by a warm BodyReader costs its own buffer and little more.
func TestBodyReaderReuse(t *testing.T) {
	var br BodyReader
	const limit = 1 << 20
	var got [][]byte
	var want [][]byte
	for i, n := range []int{10, scratchSize - 1, scratchSize, scratchSize + 1, 3*scratchSize + 5, 5*scratchSize + 7, 300 << 10} {
		body := bytes.Repeat([]byte{byte('a' + i)}, n)
		b, err := br.Read(iotest.HalfReader(bytes.NewReader(body)), -1, limit)
		require.NoError(t, err)
		got, want = append(got, b), append(want, body)
	}
	for i := range got {
		assert.True(t, bytes.Equal(want[i], got[i]), "body %d changed after the next ones were read", i)
	}
	body := bytes.Repeat([]byte("x"), 30<<10) // a webwxsync answer of 30 messages
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := br.Read(bytes.NewReader(body), -1, limit); err != nil {
			t.Fatal(err)
		}
	})
	assert.LessOrEqual(t, allocs, 3.0, "the body, the list of its pieces")
}
