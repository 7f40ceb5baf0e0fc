package wire

import (
	"errors"
	"fmt"
	"io"
)

// ErrBodyTooLarge is wrapped by the error of ReadBody for a body over its limit.
var ErrBodyTooLarge = errors.New("wire: body too large")

// readChunk is the size of the first buffer ReadBody reads into, and the cap of the chunks it
// adds while the body keeps coming.
const (
	firstChunk = 4 << 10
	maxChunk   = 1 << 20
)

// ReadBody reads all of r, a body of size bytes (an HTTP Content-Length; -1 if unknown), and
// returns it, or an error wrapping ErrBodyTooLarge when it is longer than limit bytes. The
// memory a rejected body costs is bounded by the limit: a size over the limit is refused
// before reading anything; a body of unknown size is read in chunks (never more than limit
// plus one chunk of at most 1 MiB in all), and copied into one buffer of the right size only
// once it has ended within the limit. Other read errors are returned as they are.
func ReadBody(r io.Reader, size, limit int64) ([]byte, error) {
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
		return readChunks(r, buf, limit)
	}
	return readChunks(r, nil, limit)
}

// readChunks reads the rest of r after head, in chunks that double up to maxChunk.
func readChunks(r io.Reader, head []byte, limit int64) ([]byte, error) {
	var chunks [][]byte
	total := int64(len(head))
	if len(head) > 0 {
		chunks = append(chunks, head)
	}
	size := int64(firstChunk)
	for {
		// Never ask for more than one byte past the limit.
		size = max(min(size, limit+1-total), 1)
		buf := make([]byte, size)
		n, err := io.ReadFull(r, buf)
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
		size = min(size*2, maxChunk)
	}
	if len(chunks) == 1 {
		return chunks[0], nil
	}
	out := make([]byte, 0, total)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return out, nil
}
