package redisstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

// TestClientLease runs the real Client on a Store against wechattest: Run takes the lease (a
// second Run on the account gets ErrLeaseHeld), resumes from Redis after a restart, and stops
// with ErrLeaseLost within a renewal interval when the lease key is deleted.
func TestClientLease(t *testing.T) {
	t.Parallel()
	srv := sharedServer(t)
	fake := wechattest.NewServer()
	defer fake.Close()
	const ttl = 1500 * time.Millisecond
	account := t.Name()
	newClient := func(got chan<- string) *wechat.Client {
		c := wechat.New(wechat.WithHTTPClient(fake.Client()), wechat.WithQRHandler(func(wechat.QRCode) {}),
			wechat.WithSessionStore(New(srv.Client(t), account, WithTTL(ttl))))
		c.HandleFunc(nil, func(_ context.Context, m *wechat.Message) error {
			got <- m.Content
			return nil
		})
		return c
	}
	fake.ConfirmLogin()
	got := make(chan string, 10)
	first := newClient(got)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- first.Run(ctx) }()
	require.NoError(t, first.WaitOnline(t.Context()))

	second := newClient(got)
	assert.ErrorIs(t, second.Run(t.Context()), wechat.ErrLeaseHeld)

	fake.Deliver(wechattest.Text("friend", "one"))
	assert.Equal(t, "one", <-got)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)

	// A restart resumes from Redis: no QR code, nothing delivered twice.
	third := wechat.New(wechat.WithHTTPClient(fake.Client()),
		wechat.WithQRHandler(func(wechat.QRCode) { t.Error("a QR code was shown") }),
		wechat.WithSessionStore(New(srv.Client(t), account, WithTTL(ttl))))
	third.HandleFunc(nil, func(_ context.Context, m *wechat.Message) error {
		got <- m.Content
		return nil
	})
	done = make(chan error, 1)
	go func() { done <- third.Run(t.Context()) }()
	require.NoError(t, third.WaitOnline(t.Context()))
	fake.Deliver(wechattest.Text("friend", "two"))
	assert.Equal(t, "two", <-got, "the first message after the restart")

	keys := keysFor(DefaultPrefix, account)
	start := time.Now()
	require.NoError(t, srv.Client(t).Del(t.Context(), keys.lease).Err())
	select {
	case err := <-done:
		require.True(t, errors.Is(err, wechat.ErrLeaseLost), "Run returned %v", err)
		assert.Less(t, time.Since(start), ttl, "Run stopped before the lease could have expired")
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop after its lease was deleted")
	}
	_, err := third.SendText(t.Context(), "filehelper", "after")
	assert.ErrorIs(t, err, wechat.ErrLeaseLost)
}
