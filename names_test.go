package wechat_test

// Tests of the names made consistent: the IsSelf matcher and field, and a nil logger.

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

// TestIsSelfMatcher: the matcher IsSelf reads the field IsSelf; the old name agrees.
func TestIsSelfMatcher(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	ts.srv.Deliver(wechattest.Message{From: "self", To: "friend", Text: "from the phone"}, wechattest.Text("friend", "to me"))
	for _, m := range ts.collect(t, 2) {
		assert.Equal(t, m.IsSelf, wechat.IsSelf(m), m.Content)
		assert.Equal(t, m.Content == "from the phone", wechat.IsSelf(m), m.Content)
		assert.Equal(t, wechat.IsSelf(m), wechat.IsSentByMe(m), m.Content) // the deprecated name agrees
	}
}

// TestNilLoggerDiscards: a nil logger discards, for WithLogger and Logging alike; neither
// falls back to slog.Default. Not parallel: it replaces slog.Default.
func TestNilLoggerDiscards(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(old) })

	ts := setup(t, loginOnly(), withClient(wechat.WithLogger(nil)))
	_, err := ts.c.SendText(t.Context(), "filehelper", "hello")
	require.NoError(t, err)

	failure := errors.New("boom")
	h := wechat.Logging(nil)(wechat.HandlerFunc(func(context.Context, *wechat.Message) error { return failure }))
	require.ErrorIs(t, h.HandleMessage(t.Context(), &wechat.Message{MsgID: "42"}), failure)
	assert.Empty(t, buf.String(), "nothing reached slog.Default")
}
