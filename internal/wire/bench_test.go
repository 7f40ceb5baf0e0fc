package wire

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// rootFixture reads a fixture of the module's testdata/<endpoint>/, shared with the root
// package: the bodies are shaped like the server's.
func rootFixture(tb testing.TB, dir, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", dir, name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkDecodeSync decodes the 100-message mixed webwxsync body (text, group text with a
// sender prefix, image, voice, file, system, status notify, location, sticker, revoke, friend
// request) into messages, in the server's multi-line layout.
func BenchmarkDecodeSync(b *testing.B) {
	for _, name := range []string{"text_100.json", "text_100_compact.json"} {
		b.Run(name, func(b *testing.B) {
			body := rootFixture(b, "webwxsync", name)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				s, err := DecodeSync(body)
				if err != nil || len(s.Messages) != 100 {
					b.Fatal(err, len(s.Messages))
				}
			}
			b.ReportMetric(float64(testing.AllocsPerRun(10, func() { DecodeSync(body) }))/100, "allocs/msg")
		})
	}
}

// BenchmarkReadBodyRejected measures the heap a 100 MB body costs when its limit is 64 MB:
// announced by its Content-Length (refused before reading), or of unknown length (read up to
// the limit in chunks). "io.ReadAll" is what the client did before: io.ReadAll over an
// io.LimitReader of limit+1 bytes. B/op is every byte allocated, an upper bound of the peak.
func BenchmarkReadBodyRejected(b *testing.B) {
	const size, limit = 100 << 20, 64 << 20
	cases := []struct {
		name string
		read func(r io.Reader) error
	}{
		{"content-length", func(r io.Reader) error { _, err := ReadBody(r, size, limit); return err }},
		{"unknown-length", func(r io.Reader) error { _, err := ReadBody(r, -1, limit); return err }},
		{"io.ReadAll", func(r io.Reader) error {
			body, err := io.ReadAll(io.LimitReader(r, limit+1))
			if err == nil && len(body) > limit {
				return ErrBodyTooLarge
			}
			return err
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var peak uint64
			for b.Loop() {
				r := &zeros{n: size}
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				r.sample = func() {
					var ms runtime.MemStats
					runtime.ReadMemStats(&ms)
					if ms.HeapAlloc > before.HeapAlloc {
						peak = max(peak, ms.HeapAlloc-before.HeapAlloc)
					}
				}
				if err := tc.read(r); err == nil {
					b.Fatal("a 100 MB body was accepted")
				}
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
		})
	}
}

// zeros is an io.Reader of n zero bytes that calls sample every 8 MiB read.
type zeros struct {
	n, read, next int
	sample        func()
}

func (z *zeros) Read(p []byte) (int, error) {
	if z.n == 0 {
		return 0, io.EOF
	}
	n := min(len(p), z.n)
	clear(p[:n])
	z.n -= n
	z.read += n
	if z.read >= z.next {
		z.next += 8 << 20
		if z.sample != nil {
			z.sample()
		}
	}
	return n, nil
}

var _ = bytes.MinRead
