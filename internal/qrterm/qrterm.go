// Package qrterm draws the login QR code (PROTOCOL.md 4.2) in a terminal,
// small enough for 80 columns on a headless server, or as a PNG image.
package qrterm

import (
	"fmt"
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

const (
	// quietZone is the light border, in modules, drawn around the symbol.
	// The standard asks for 4; 2 is enough for phone scanners and keeps
	// the drawing small.
	quietZone = 2

	// defaultPNGSize is the PNG width used for a size <= 0.
	defaultPNGSize = 256
	// maxPNGSize bounds the image PNG draws, so a bad size cannot
	// exhaust memory.
	maxPNGSize = 4096
)

// Render encodes text (the login URL https://login.weixin.qq.com/l/<uuid>)
// as a QR code with error correction Low and draws it with Unicode half
// blocks ('▀', '▄', '█' and ' '), two module rows per line of text, with a
// quiet zone of 2 modules. Colours are inverted so that the code scans on
// the usual dark terminal: light modules are drawn ('█', or the half block
// of the light half) and dark modules are left as spaces. Each line ends
// with "\n".
//
// A drawing is as many columns wide as the code has modules plus 4: 33 for
// a login URL (a version 3 code); any text of up to 458 bytes fits in 80
// columns. It returns an error when text is empty or too long to encode.
func Render(text string) (string, error) {
	bits, err := modules(text)
	if err != nil {
		return "", err
	}
	// Two module rows per line; a missing last row is drawn dark, the
	// terminal's background.
	light := func(y, x int) bool { return y < len(bits) && !bits[y][x] }
	var b strings.Builder
	b.Grow((len(bits) + 1) / 2 * (len(bits)*len("█") + 1))
	for y := 0; y < len(bits); y += 2 {
		for x := range bits[y] {
			top, bottom := light(y, x), light(y+1, x)
			switch {
			case top && bottom:
				b.WriteRune('█')
			case top:
				b.WriteRune('▀')
			case bottom:
				b.WriteRune('▄')
			default:
				b.WriteByte(' ')
			}
		}
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// PNG returns a PNG image of the QR code of text (error correction Low,
// dark modules black on white, with the standard 4-module quiet zone),
// size pixels wide and high. A size <= 0 means 256; a size too small for
// the code gives a larger image; a size above 4096 is an error, as is an
// empty text or one too long to encode.
func PNG(text string, size int) ([]byte, error) {
	if size <= 0 {
		size = defaultPNGSize
	}
	if size > maxPNGSize {
		return nil, fmt.Errorf("qrterm: PNG size %d above %d", size, maxPNGSize)
	}
	q, err := encode(text)
	if err != nil {
		return nil, err
	}
	img, err := q.PNG(size)
	if err != nil {
		return nil, fmt.Errorf("qrterm: %w", err)
	}
	return img, nil
}

// modules returns the QR code of text as rows of modules, true for dark,
// including a quiet zone of quietZone modules.
func modules(text string) ([][]bool, error) {
	q, err := encode(text)
	if err != nil {
		return nil, err
	}
	q.DisableBorder = true
	symbol := q.Bitmap()
	n := len(symbol) + 2*quietZone
	bits := make([][]bool, n)
	for y := range bits {
		bits[y] = make([]bool, n)
		if sy := y - quietZone; 0 <= sy && sy < len(symbol) {
			copy(bits[y][quietZone:], symbol[sy])
		}
	}
	return bits, nil
}

// encode builds the QR code of text with error correction Low.
func encode(text string) (*qrcode.QRCode, error) {
	q, err := qrcode.New(text, qrcode.Low)
	if err != nil {
		return nil, fmt.Errorf("qrterm: %w", err)
	}
	return q, nil
}
