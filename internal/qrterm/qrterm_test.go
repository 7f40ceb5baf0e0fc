package qrterm

import (
	"bytes"
	"image/png"
	"strings"
	"testing"
	"unicode/utf8"

	qrcode "github.com/skip2/go-qrcode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const loginURL = "https://login.weixin.qq.com/l/Xk3fQ9mZaA=="

// want re-derives the module bitmap with a 2-module quiet zone from
// go-qrcode's own Bitmap, which has a 4-module one.
func want(t *testing.T, text string) [][]bool {
	t.Helper()
	q, err := qrcode.New(text, qrcode.Low)
	require.NoError(t, err)
	full := q.Bitmap()
	const trim = 4 - quietZone
	bits := full[trim : len(full)-trim]
	for y := range bits {
		bits[y] = bits[y][trim : len(bits[y])-trim]
	}
	return bits
}

// halves returns whether the top and bottom half of a character are light.
func halves(t *testing.T, r rune) (top, bottom bool) {
	t.Helper()
	switch r {
	case '█':
		return true, true
	case '▀':
		return true, false
	case '▄':
		return false, true
	case ' ':
		return false, false
	}
	t.Fatalf("unexpected character %q", r)
	return false, false
}

func TestRender(t *testing.T) {
	for _, text := range []string{
		loginURL,
		"https://login.weixin.qq.com/l/AYZr_4mkgA==",
		"x",
		strings.Repeat("https://login.weixin.qq.com/l/", 10), // a bigger version
	} {
		t.Run(text, func(t *testing.T) {
			got, err := Render(text)
			require.NoError(t, err)
			bits := want(t, text)
			n := len(bits)

			require.True(t, strings.HasSuffix(got, "\n"))
			lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
			assert.Len(t, lines, (n+1)/2, "two module rows per line")

			for i, line := range lines {
				require.Equal(t, n, utf8.RuneCountInString(line), "line %d", i)
				for x, r := range []rune(line) {
					top, bottom := halves(t, r)
					assert.Equal(t, !bits[2*i][x], top, "module (%d,%d)", x, 2*i)
					if 2*i+1 < n {
						assert.Equal(t, !bits[2*i+1][x], bottom, "module (%d,%d)", x, 2*i+1)
					} else {
						assert.False(t, bottom, "below the last row is the dark background")
					}
				}
			}
			// The quiet zone is light all round.
			assert.Equal(t, strings.Repeat("█", n), lines[0])
			for _, line := range lines[:len(lines)-1] {
				assert.True(t, strings.HasPrefix(line, "██"), line)
				assert.True(t, strings.HasSuffix(line, "██"), line)
			}
			// n is odd: the last line holds the last light row in its top
			// half only.
			require.Equal(t, 1, n%2)
			assert.Equal(t, strings.Repeat("▀", n), lines[len(lines)-1])
		})
	}
}

func TestRenderLoginURLFits80Columns(t *testing.T) {
	got, err := Render(loginURL)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	for _, line := range lines {
		assert.LessOrEqual(t, utf8.RuneCountInString(line), 80)
	}
	// Version 3 (29 modules) plus the quiet zone.
	assert.Equal(t, 33, utf8.RuneCountInString(lines[0]))
	assert.Len(t, lines, 17)
}

func TestRenderErrors(t *testing.T) {
	for _, text := range []string{"", strings.Repeat("x", 3000)} {
		got, err := Render(text)
		require.Error(t, err)
		assert.Empty(t, got)
		assert.True(t, strings.HasPrefix(err.Error(), "qrterm: "), err.Error())
	}
}

func TestPNG(t *testing.T) {
	tests := []struct {
		size, want int
	}{
		{0, 256},
		{-1, 256},
		{256, 256},
		{512, 512},
		{10, 37}, // too small: the smallest image that holds the code
	}
	for _, tt := range tests {
		img, err := PNG(loginURL, tt.size)
		require.NoError(t, err)
		assert.True(t, bytes.HasPrefix(img, []byte("\x89PNG\r\n\x1a\n")), "PNG magic")
		cfg, err := png.DecodeConfig(bytes.NewReader(img))
		require.NoError(t, err)
		assert.Equal(t, tt.want, cfg.Width, "size %d", tt.size)
		assert.Equal(t, tt.want, cfg.Height, "size %d", tt.size)
	}
}

func TestPNGErrors(t *testing.T) {
	_, err := PNG(loginURL, maxPNGSize+1)
	assert.Error(t, err)
	_, err = PNG(strings.Repeat("x", 3000), 0)
	assert.Error(t, err)
}

func FuzzRender(f *testing.F) {
	f.Add(loginURL)
	f.Add("")
	f.Add("\xff\x00你好")
	f.Fuzz(func(t *testing.T, text string) {
		got, err := Render(text)
		if err != nil {
			return
		}
		lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
		w := utf8.RuneCountInString(lines[0])
		for _, line := range lines {
			if utf8.RuneCountInString(line) != w {
				t.Fatalf("Render(%q): ragged lines", text)
			}
		}
	})
}
