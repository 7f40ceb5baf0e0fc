package wechat_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

// rewriteSync is a transport that puts extra first entries into the next webwxsync answer
// that carries messages, the way a server would send an entry the client cannot read.
type rewriteSync struct {
	base  http.RoundTripper
	entry string
	done  atomic.Bool
}

var addMsgList = regexp.MustCompile(`"AddMsgList"\s*:\s*\[\s*\{`)

func (r *rewriteSync) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if err != nil || !strings.HasSuffix(req.URL.Path, "/webwxsync") || r.done.Load() {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if loc := addMsgList.FindIndex(body); loc != nil && r.done.CompareAndSwap(false, true) {
		at := loc[1] - 1 // the first entry's '{'
		body = append(body[:at:at], append([]byte(r.entry+",\n"), body[at:]...)...)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// TestUnreadableEntryDelivered: a webwxsync entry nested too deeply to read is delivered as a
// message with its raw object, its type and its ids, logged at Warn, and the message beside
// it in the same batch is delivered as usual.
func TestUnreadableEntryDelivered(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("[", 70) + strings.Repeat("]", 70)
	entry := `{"MsgId": "9000000000000000001", "MsgType": 1, "FromUserName": "@unknownsender", "Content": "x", "Odd": ` + deep + `}`
	var logs syncBuffer
	b := setup(t, withTransport(func(next http.RoundTripper) http.RoundTripper {
		return &rewriteSync{base: next, entry: entry}
	}), withClient(wechat.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))))
	srv := b.srv

	srv.Deliver(wechattest.Text("friend", "after the odd one"))
	got := map[string]*wechat.Message{}
	for range 2 {
		m := b.next(t)
		got[m.MsgID] = m
	}
	odd := got["9000000000000000001"]
	require.NotNil(t, odd, "the unreadable entry was not delivered")
	assert.Equal(t, wechat.MsgTypeUnknown, odd.MsgType, "an unreadable entry is of unknown type")
	assert.Equal(t, "@unknownsender", odd.FromUserName)
	assert.Empty(t, odd.Content)
	assert.Equal(t, entry, string(odd.Raw))
	var texts []string
	for _, m := range got {
		if m != odd {
			texts = append(texts, m.Content)
		}
	}
	assert.Equal(t, []string{"after the odd one"}, texts)
	assert.Contains(t, logs.String(), "level=WARN msg=\"unreadable message delivered raw\" op=webwxsync msg_id=9000000000000000001 bytes=")
}
