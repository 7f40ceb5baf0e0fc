package wechat_test

// Tests of WithProgress: uploads, downloads, and the loading of the address book.

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

// progressLog records the reports of WithProgress; they may come from several goroutines.
type progressLog struct {
	mu  sync.Mutex
	all []wechat.Progress
}

func (l *progressLog) add(p wechat.Progress) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, p)
}

// of returns the reports of kind, in order.
func (l *progressLog) of(kind wechat.ProgressKind) []wechat.Progress {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []wechat.Progress
	for _, p := range l.all {
		if p.Kind == kind {
			out = append(out, p)
		}
	}
	return out
}

func (l *progressLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = nil
}

// TestProgressUpload: an upload is reported before its first chunk and after each chunk the
// server acknowledged; a file the server already has is reported done at once.
func TestProgressUpload(t *testing.T) {
	t.Parallel()
	var log progressLog
	ts := setup(t, loginOnly(), withServer(wechattest.WithUploadDigestOnly()), withClient(wechat.WithProgress(log.add)))
	ctx := t.Context()
	friend := ts.srv.UserName("friend")

	const size = 2*512<<10 + 1000 // three chunks
	_, err := ts.c.SendFile(ctx, friend, "notes.txt", bytes.NewReader(bytes.Repeat([]byte("n"), size)))
	require.NoError(t, err)
	want := []wechat.Progress{}
	for _, done := range []int64{0, 512 << 10, 1024 << 10, size} {
		want = append(want, wechat.Progress{Kind: wechat.ProgressUpload, Name: "notes.txt", To: friend, Done: done, Total: size})
	}
	assert.Equal(t, want, log.of(wechat.ProgressUpload))
	assert.Empty(t, log.of(wechat.ProgressDownload))

	// Over 25 MB, the second time the server has the file (webwxcheckupload, PROTOCOL 9.2).
	big := bytes.Repeat([]byte("0123456789abcdef"), (25<<20)/16+1000)
	_, err = ts.c.SendFile(ctx, friend, "big.bin", bytes.NewReader(big))
	require.NoError(t, err)
	log.reset()
	_, err = ts.c.SendFile(ctx, friend, "big.bin", bytes.NewReader(big))
	require.NoError(t, err)
	n := int64(len(big))
	assert.Equal(t, []wechat.Progress{{Kind: wechat.ProgressUpload, Name: "big.bin", To: friend, Done: n, Total: n}},
		log.of(wechat.ProgressUpload), "nothing uploaded: done at once")
}

// TestProgressDownload: a download is reported as the caller reads it, and at its end.
func TestProgressDownload(t *testing.T) {
	t.Parallel()
	var log progressLog
	ts := setup(t, withClient(wechat.WithProgress(log.add)))
	ts.srv.Deliver(wechattest.File("friend", "report.pdf", 200_000, "@crypt_progress_report"))
	m := ts.next(t)
	md, err := ts.c.Download(t.Context(), m)
	require.NoError(t, err)
	n, err := io.Copy(io.Discard, md)
	require.NoError(t, err)
	require.NoError(t, md.Close())
	require.EqualValues(t, 200_000, n)

	got := log.of(wechat.ProgressDownload)
	require.NotEmpty(t, got)
	var prev int64
	for _, p := range got {
		assert.Equal(t, "report.pdf", p.Name)
		assert.Equal(t, m.MsgID, p.MsgID)
		assert.GreaterOrEqual(t, p.Done, prev, "Done never goes back")
		prev = p.Done
	}
	last := got[len(got)-1]
	assert.EqualValues(t, 200_000, last.Done)
	assert.EqualValues(t, 200_000, last.Total)
	assert.Greater(t, len(got), 2, "reported while reading, not only at the end")
}

// TestProgressContacts: the address book's pages are reported as they come (Total unknown
// until the last), then the groups' member lists.
func TestProgressContacts(t *testing.T) {
	t.Parallel()
	var log progressLog
	ts := setup(t, withServer(wechattest.WithContactPageSize(2)), withClient(wechat.WithProgress(log.add)))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	require.NoError(t, ts.c.WaitContacts(ctx))

	contacts := log.of(wechat.ProgressContacts)
	require.Greater(t, len(contacts), 2, "one report per page")
	for i, p := range contacts[:len(contacts)-1] {
		assert.EqualValues(t, -1, p.Total, "page %d: total not known yet", i)
		assert.EqualValues(t, 2*(i+1), p.Done, "page %d", i)
	}
	last := contacts[len(contacts)-1]
	assert.Equal(t, last.Done, last.Total, "the last report is complete")
	assert.GreaterOrEqual(t, last.Done, int64(7), "the default account's contacts")

	groups := log.of(wechat.ProgressGroups)
	assert.Equal(t, []wechat.Progress{{Kind: wechat.ProgressGroups, Total: 2}, {Kind: wechat.ProgressGroups, Done: 2, Total: 2}}, groups)
	assert.Equal(t, "contacts", wechat.ProgressContacts.String())
	assert.Equal(t, "ProgressKind(9)", wechat.ProgressKind(9).String())
}
