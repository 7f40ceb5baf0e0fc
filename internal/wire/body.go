package wire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
)

// ErrBodyTooLarge is wrapped by the error of ReadBody for a body over its limit.
var ErrBodyTooLarge = errors.New("wire: body too large")

// A body of unknown length is read into keepScratch scratch buffers of scratchSize bytes,
// which a BodyReader keeps for the next body, then, if it goes on, into chunks that double up
// to maxChunk.
const (
	scratchSize = 32 << 10
	keepScratch = 4
	maxChunk    = 1 << 20
)

// A BodyReader reads whole bodies, bounded by a limit, like [ReadBody], and keeps a few of the
// scratch buffers a body of unknown length is read into for the next one: such a body then
// costs one allocation of its exact size. Its zero value is ready to use; it is safe for
// concurrent use.
type BodyReader struct {
	scratch sync.Pool // *[scratchSize]byte
}

// ReadBody reads all of r, a body of size bytes (an HTTP Content-Length; -1 if unknown), and
// returns it, or an error wrapping ErrBodyTooLarge when it is longer than limit bytes. The
// memory a rejected body costs is bounded by the limit: a size over the limit is refused
// before reading anything; a body of unknown size is read in chunks (never more than limit
// plus one chunk of at most 1 MiB in all), and copied into one buffer of its size only once
// it has ended within the limit. Other read errors are returned as they are.
func ReadBody(r io.Reader, size, limit int64) ([]byte, error) {
	var br BodyReader
	return br.Read(r, size, limit)
}

// Read is [ReadBody], reusing the scratch buffers of earlier bodies.
func (br *BodyReader) Read(r io.Reader, size, limit int64) ([]byte, error) {
	if size > limit {
		return nil, fmt.Errorf("%w: %d bytes announced, the limit is %d", ErrBodyTooLarge, size, limit)
	}
	if size >= 0 {
		// Trust the announced size for the buffer, check it while reading: one byte more
		// tells a body longer than announced.
		buf := make([]byte, size+1)
		n, err := io.ReadFull(r, buf)
		switch {
		case err == io.ErrUnexpectedEOF || err == io.EOF:
			return buf[:n], nil // shorter than announced: the transport reports that itself
		case err != nil:
			return nil, err
		}
		// Longer than announced: go on reading, within the limit.
		return br.readChunks(r, buf, limit)
	}
	return br.readChunks(r, nil, limit)
}

// readChunks reads the rest of r after head, into scratch buffers then chunks, and returns
// head and the rest in one buffer of their size.
func (br *BodyReader) readChunks(r io.Reader, head []byte, limit int64) ([]byte, error) {
	var (
		chunks  [][]byte // the body: head, then the filled part of each buffer
		scratch [keepScratch]*[scratchSize]byte
		used    int // scratch buffers used
	)
	defer func() {
		for _, s := range scratch[:used] {
			br.scratch.Put(s)
		}
	}()
	total := int64(len(head))
	if len(head) > 0 {
		chunks = append(chunks, head)
	}
	size := int64(scratchSize)
	for {
		var buf []byte
		if used < keepScratch {
			s, _ := br.scratch.Get().(*[scratchSize]byte)
			if s == nil {
				s = new([scratchSize]byte)
			}
			scratch[used] = s
			used++
			buf = s[:]
		} else {
			size = min(size*2, maxChunk)
			buf = make([]byte, max(min(size, limit+1-total), 1))
		}
		// Never ask for more than one byte past the limit.
		n, err := io.ReadFull(r, buf[:max(min(int64(len(buf)), limit+1-total), 1)])
		total += int64(n)
		if n > 0 {
			chunks = append(chunks, buf[:n])
		}
		if total > limit {
			return nil, fmt.Errorf("%w: over the limit of %d bytes", ErrBodyTooLarge, limit)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if len(chunks) == 0 {
		return nil, nil
	}
	// One buffer of the body's size, not cleared first (bytes.Join): the caller keeps it,
	// the scratch buffers go back to br.
	return bytes.Join(chunks, nil), nil
}
