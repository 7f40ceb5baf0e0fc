package wechat_test

// End-to-end tests of uploads against wechattest, and the upload benchmark.

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

const uploadPath = "/cgi-bin/mmwebwx-bin/webwxuploadmedia"

// uploadForm parses the multipart form of an upload request: its text fields.
func uploadForm(t *testing.T, r wechattest.Request) map[string]string {
	t.Helper()
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	require.NoError(t, err)
	mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
	form := map[string]string{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return form
		}
		require.NoError(t, err)
		b, err := io.ReadAll(p)
		require.NoError(t, err)
		if p.FormName() != "filename" {
			form[p.FormName()] = string(b)
		}
	}
}

// patternFile is a file of size pseudo-random bytes made on the fly, starting with head: an
// io.ReadSeeker and io.ReaderAt that holds no memory, for uploads of tens of MB.
type patternFile struct {
	size, off int64
	head      []byte
}

// patternBlock repeats with a prime period, so chunks differ.
var patternBlock = func() []byte {
	b := make([]byte, 65521)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}()

func (p *patternFile) ReadAt(b []byte, off int64) (int, error) {
	if off >= p.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(b) && off < p.size {
		var c int
		if off < int64(len(p.head)) {
			c = copy(b[n:], p.head[off:])
		} else {
			i := off % int64(len(patternBlock))
			c = copy(b[n:min(len(b), n+int(p.size-off))], patternBlock[i:])
		}
		n += c
		off += int64(c)
	}
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

func (p *patternFile) Read(b []byte) (int, error) {
	n, err := p.ReadAt(b, p.off)
	p.off += int64(n)
	return n, err
}

func (p *patternFile) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		off += p.off
	case io.SeekEnd:
		off += p.size
	}
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	p.off = off
	return off, nil
}

func (p *patternFile) md5() string {
	h := md5.New()
	io.Copy(h, io.NewSectionReader(p, 0, p.size))
	return hex.EncodeToString(h.Sum(nil))
}

// onlyReader hides every method of r but Read: the client must spool it.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// onlyReaderAt is an io.ReaderAt without Seek.
type onlyReaderAt struct{ r io.ReaderAt }

func (o onlyReaderAt) ReadAt(p []byte, off int64) (int, error) { return o.r.ReadAt(p, off) }
func (o onlyReaderAt) Read([]byte) (int, error)                { return 0, errors.New("use ReadAt") }

func randomBytes(n int, head string) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = patternBlock[i%len(patternBlock)]
	}
	copy(b, head)
	return b
}

// TestSendFileReaders: every kind of reader is uploaded whole, from its current offset, and
// a plain reader goes through a temporary file that is removed afterwards.
func TestSendFileReaders(t *testing.T) {
	// Not parallel: t.Setenv.
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	b := setup(t, withClient(wechat.WithSendRate(0, 0)))
	srv := b.srv
	data := randomBytes(700*1000, "PK\x03\x04")
	path := filepath.Join(t.TempDir(), "a.zip")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.Seek(100, io.SeekStart)
	require.NoError(t, err)
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeAll(pw, data)) }()

	tests := []struct {
		name string
		r    io.Reader
		want []byte
	}{
		{"bytes.Reader", bytes.NewReader(data), data},
		{"os.File at offset 100", f, data[100:]},
		{"plain reader", onlyReader{bytes.NewReader(data)}, data},
		{"pipe", pr, data},
		{"ReaderAt", onlyReaderAt{bytes.NewReader(data)}, data},
		{"ReadSeeker", &patternFile{size: 600_000, head: []byte("PK")}, nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.c.SendFile(t.Context(), "filehelper", "a.zip", tt.r)
			require.NoError(t, err)
			ups := srv.Uploads()
			require.Len(t, ups, i+1)
			if tt.want != nil {
				assert.Equal(t, tt.want, ups[i].Data)
			} else {
				assert.Equal(t, tt.r.(*patternFile).md5(), ups[i].MD5())
			}
			entries, err := os.ReadDir(tmp)
			require.NoError(t, err)
			assert.Empty(t, entries, "the temporary copy is removed")
		})
	}
}

func writeAll(w io.Writer, b []byte) error {
	for len(b) > 0 {
		n := min(len(b), 1000)
		if _, err := w.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// TestSendFileOver25MB: a file over 25 MB goes through webwxcheckupload: the upload carries
// its AESKey and Signature, the send its Signature; the same file again is not uploaded.
func TestSendFileOver25MB(t *testing.T) {
	t.Parallel()
	b := setup(t, withServer(wechattest.WithUploadDigestOnly()))
	srv := b.srv
	file := &patternFile{size: 26 << 20, head: []byte("big file")}
	_, err := b.c.SendFile(t.Context(), "filehelper", "big.bin", file)
	require.NoError(t, err)

	checks := requestsTo(srv, "/cgi-bin/mmwebwx-bin/webwxcheckupload")
	require.Len(t, checks, 1)
	var check struct {
		FileMd5, FileName, FromUserName, ToUserName string
		FileSize, FileType                          int64
	}
	require.NoError(t, json.Unmarshal(checks[0].Body, &check))
	assert.Equal(t, file.md5(), check.FileMd5)
	assert.Equal(t, "big.bin", check.FileName)
	assert.Equal(t, int64(26<<20), check.FileSize)
	assert.Equal(t, int64(7), check.FileType)
	assert.Equal(t, "filehelper", check.ToUserName)

	ups := srv.Uploads()
	require.Len(t, ups, 1)
	assert.Nil(t, ups[0].Data, "digest only")
	assert.Equal(t, int64(26<<20), ups[0].Size())
	assert.Equal(t, file.md5(), ups[0].MD5())
	assert.NotEmpty(t, ups[0].Signature)
	chunks := requestsTo(srv, uploadPath)
	assert.Len(t, chunks, 52)
	assert.Nil(t, chunks[0].Body, "digest only: no bodies kept")
	sent := lastSent(t, srv)
	assert.Equal(t, ups[0].Signature, sent.Signature)
	assert.Equal(t, ups[0].MediaID, sent.MediaID)

	// The server has it now: no second upload.
	file.off = 0
	_, err = b.c.SendFile(t.Context(), "filehelper", "big again.bin", file)
	require.NoError(t, err)
	assert.Len(t, requestsTo(srv, uploadPath), 52)
	assert.Len(t, srv.Uploads(), 1)
	assert.Equal(t, ups[0].MediaID, lastSent(t, srv).MediaID)
	assert.Equal(t, ups[0].Signature, lastSent(t, srv).Signature)
}

func TestSendRefusedBeforeUpload(t *testing.T) {
	t.Parallel()
	b := setup(t, withClient(wechat.WithMaxFileSize(1000), wechat.WithSendRate(0, 0)))
	srv := b.srv
	ctx := t.Context()
	tests := []struct {
		name string
		send func() error
		want error
	}{
		{"file over the limit", func() error {
			_, err := b.c.SendFile(ctx, "filehelper", "a.txt", bytes.NewReader(make([]byte, 1001)))
			return err
		}, wechat.ErrTooLarge},
		{"plain reader over the limit", func() error {
			_, err := b.c.SendFile(ctx, "filehelper", "a.txt", onlyReader{bytes.NewReader(make([]byte, 5000))})
			return err
		}, wechat.ErrTooLarge},
		{"Send over the file limit", func() error {
			_, err := b.c.Send(ctx, "filehelper", "a.txt", bytes.NewReader(make([]byte, 1001)))
			return err
		}, wechat.ErrTooLarge},
		{"image over 20 MB", func() error {
			_, err := b.c.SendImage(ctx, "filehelper", "a.png", &patternFile{size: 20<<20 + 1})
			return err
		}, wechat.ErrTooLarge},
		{"video of 20 MB", func() error {
			_, err := b.c.SendVideo(ctx, "filehelper", "a.mp4", &patternFile{size: 20 << 20})
			return err
		}, wechat.ErrTooLarge},
		{"emoticon over 20 MB", func() error {
			_, err := b.c.SendEmoticon(ctx, "filehelper", "a.gif", &patternFile{size: 20<<20 + 1})
			return err
		}, wechat.ErrTooLarge},
		{"empty file", func() error {
			_, err := b.c.SendFile(ctx, "filehelper", "a.txt", bytes.NewReader(nil))
			return err
		}, wechat.ErrEmptyFile},
		{"empty plain reader", func() error {
			_, err := b.c.Send(ctx, "filehelper", "a.txt", onlyReader{strings.NewReader("")})
			return err
		}, wechat.ErrEmptyFile},
		{"empty image", func() error {
			_, err := b.c.SendImage(ctx, "filehelper", "a.png", bytes.NewReader(nil))
			return err
		}, wechat.ErrEmptyFile},
		{"empty md5", func() error {
			_, err := b.c.SendEmoticonMD5(ctx, "filehelper", "")
			return err
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.send()
			require.Error(t, err)
			if tt.want != nil {
				assert.ErrorIs(t, err, tt.want)
			}
			var we *wechat.Error
			assert.ErrorAs(t, err, &we)
		})
	}
	assert.Empty(t, requestsTo(srv, uploadPath), "nothing was uploaded")
	assert.Empty(t, srv.Sent())
}

// TestUploadChunkRetry: a chunk that fails once is sent again and the upload goes on; one
// that fails three times fails the upload. Runs on synctest's fake clock (the retries back
// off).
func TestUploadChunkRetry(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t)
		srv := b.srv

		data := randomBytes(1200*1000, "PK")
		srv.FailNextChunk()
		_, err := b.c.SendFile(t.Context(), "filehelper", "a.zip", bytes.NewReader(data))
		require.NoError(t, err)
		assert.Len(t, requestsTo(srv, uploadPath), 4, "3 chunks, the first one twice")
		require.Len(t, srv.Uploads(), 1)
		assert.Equal(t, data, srv.Uploads()[0].Data)

		for range 3 {
			srv.FailNextChunk()
		}
		_, err = b.c.SendFile(t.Context(), "filehelper", "b.zip", bytes.NewReader(data))
		var we *wechat.Error
		require.ErrorAs(t, err, &we)
		assert.Equal(t, -1, we.Ret)
		assert.Equal(t, "webwxuploadmedia", we.Op)
		assert.Len(t, requestsTo(srv, uploadPath), 7, "three attempts")
		assert.Len(t, srv.Uploads(), 1)

		// A transport error is retried too, but a host that stays down fails the upload.
		srv.SetUnreachable("file.wx2.qq.com", true)
		_, err = b.c.SendFile(t.Context(), "filehelper", "c.zip", bytes.NewReader(data))
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "skey")
		srv.SetUnreachable("file.wx2.qq.com", false)
	})
}

// BenchmarkUpload sends a 50 MB file through wechattest (keeping only its digest) and
// reports the throughput (b.SetBytes), the allocations, and the peak extra heap of the whole
// process, client and fake server together.
//
// Method: a goroutine owned by the benchmark samples /memory/classes/heap/objects:bytes (live
// objects and garbage not yet swept, the runtime/metrics twin of HeapAlloc; reading it does
// not stop the world, unlike runtime.ReadMemStats) every 100 µs, and the largest sample minus
// a baseline read right after a runtime.GC is the peak extra heap. Garbage counts until it is
// collected, and at the default GOGC=100 the collector lets it grow to the size of the live
// heap before it runs, so that figure (peak-extra-heap-gogc100-MB, sampled during the timed
// loop) measures the GC's pacing more than the upload. The figure that measures the upload,
// peak-extra-heap-MB, is taken on one more upload after the timed loop with GOGC=10, where
// garbage is collected as soon as it exceeds 10% of the live heap: it is what an upload
// holds at once. The file is made on the fly (patternFile), so it adds no heap of its own,
// and each iteration changes its first bytes so that webwxcheckupload never finds it
// already uploaded.
func BenchmarkUpload(b *testing.B) {
	for _, kind := range []string{"ReadSeeker", "Reader"} {
		b.Run(kind, func(b *testing.B) {
			const size = 50 << 20
			ts := setup(b, withServer(wechattest.WithUploadDigestOnly()), withClient(wechat.WithSendRate(0, 0)))
			srv, c, ctx := ts.srv, ts.c, b.Context()
			i := 0
			upload := func() {
				i++
				file := &patternFile{size: size, head: fmt.Appendf(nil, "iteration %d", i)}
				var r io.Reader = file
				if kind == "Reader" {
					r = onlyReader{file}
				}
				if _, err := c.SendFile(ctx, "filehelper", "big.bin", r); err != nil {
					b.Fatal(err)
				}
			}

			b.SetBytes(size)
			b.ReportAllocs()
			stop := sampleHeap()
			for b.Loop() {
				upload()
			}
			b.ReportMetric(stop(), "peak-extra-heap-gogc100-MB")

			old := debug.SetGCPercent(10)
			stop = sampleHeap()
			upload()
			b.ReportMetric(stop(), "peak-extra-heap-MB")
			debug.SetGCPercent(old)
			if n := len(srv.Uploads()); n != i {
				b.Fatalf("%d uploads for %d iterations", n, i)
			}
		})
	}
}

// sampleHeap runs a GC, reads the baseline and starts sampling the heap every 100 µs. The
// function it returns stops the sampling goroutine, waits for it and returns the peak above
// the baseline, in MB.
func sampleHeap() (stop func() float64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	runtime.GC()
	base := read()
	var (
		peak uint64
		wg   sync.WaitGroup
		done = make(chan struct{})
	)
	wg.Go(func() {
		t := time.NewTicker(100 * time.Microsecond)
		defer t.Stop()
		for {
			peak = max(peak, read())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() float64 {
		close(done)
		wg.Wait()
		return float64(peak-min(base, peak)) / (1 << 20)
	}
}
