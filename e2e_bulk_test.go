package wechat_test

// End-to-end tests of SendTextToMany: pacing, per-recipient results and progress, and a
// clean stop on cancellation, on logout and after refusals for sending too often.

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

// TestSendTextToMany: each recipient gets one result, in order and through progress as it
// is known; failures do not stop the others; a repeat is sent once; sends are paced.
func TestSendTextToMany(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ts := setup(t, loginOnly(), withClient(wechat.WithSendRate(time.Second, 1)))
		friend, alice, group := ts.srv.UserName("friend"), ts.srv.UserName("alice"), ts.srv.UserName("group")
		to := []string{friend, "Alice", alice, friend, group, "@nobody"}
		var progress []wechat.SendResult
		start := time.Now()
		results, err := ts.c.SendTextToMany(t.Context(), to, "meeting at 3", func(r wechat.SendResult) {
			progress = append(progress, r)
		})
		elapsed := time.Since(start)

		require.Len(t, results, len(to))
		assert.Equal(t, results, progress, "progress saw every result, in order")
		for i, r := range results {
			assert.Equal(t, to[i], r.To)
			assert.Equal(t, r.Sent == nil, r.Err != nil, "result %d is sent or failed: %+v", i, r)
		}
		assert.ErrorIs(t, results[1].Err, wechat.ErrUnknownContact, "a nickname fails without a request")
		assert.Same(t, results[0].Sent, results[3].Sent, "a repeated recipient is sent once")
		var we *wechat.Error
		require.ErrorAs(t, results[5].Err, &we)
		assert.Equal(t, 1204, we.Ret, "the server refused the unknown UserName")

		require.Error(t, err)
		assert.ErrorIs(t, err, wechat.ErrUnknownContact, "the error wraps the first failure")
		assert.Contains(t, err.Error(), "2 of 6 recipients not sent")

		sent := ts.srv.Sent()
		require.Len(t, sent, 3)
		for i, id := range []string{"friend", "alice", "group"} {
			assert.Equal(t, id, sent[i].To)
			assert.Equal(t, "meeting at 3", sent[i].Content)
		}
		// Four sends reached the pacer (the nickname failed before it): one a second.
		assert.GreaterOrEqual(t, elapsed, 3*time.Second, "paced")
		assert.Less(t, elapsed, 4*time.Second)
	})
}

// TestSendTextToManyCancel: cancelling ctx stops the send at once; the results say who got
// the text and who did not.
func TestSendTextToManyCancel(t *testing.T) {
	t.Parallel()
	ts := setup(t, loginOnly(), withClient(wechat.WithSendRate(0, 0)))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	to := []string{ts.srv.UserName("friend"), ts.srv.UserName("alice"), ts.srv.UserName("bob"), ts.srv.UserName("group")}
	calls := 0
	results, err := ts.c.SendTextToMany(ctx, to, "hello", func(r wechat.SendResult) {
		if calls++; calls == 2 {
			cancel()
		}
	})
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 4, calls, "progress is called for the recipients not sent to as well")
	require.Len(t, results, 4)
	for i, r := range results {
		if i < 2 {
			assert.NoError(t, r.Err)
			assert.NotNil(t, r.Sent)
			continue
		}
		assert.ErrorIs(t, r.Err, context.Canceled, "result %d", i)
		assert.Nil(t, r.Sent, "result %d", i)
	}
	assert.Len(t, ts.srv.Sent(), 2, "nothing sent after the cancellation")
}

// TestSendTextToManyLoggedOut: a session the server ends stops the send; the rest fail with
// ErrLoggedOut, without a request each.
func TestSendTextToManyLoggedOut(t *testing.T) {
	t.Parallel()
	ts := setup(t, loginOnly(), withClient(wechat.WithSendRate(0, 0)))
	to := []string{ts.srv.UserName("friend"), ts.srv.UserName("alice"), ts.srv.UserName("bob"), "filehelper"}
	results, err := ts.c.SendTextToMany(t.Context(), to, "hello", func(r wechat.SendResult) {
		if r.To == to[0] {
			ts.srv.EndSession(1101)
		}
	})
	require.ErrorIs(t, err, wechat.ErrLoggedOut)
	require.NoError(t, results[0].Err)
	for _, r := range results[1:] {
		assert.ErrorIs(t, r.Err, wechat.ErrLoggedOut, r.To)
		assert.Nil(t, r.Sent)
	}
	assert.Len(t, requestsTo(ts.srv, "/cgi-bin/mmwebwx-bin/webwxsendmsg"), 2, "one refused request, then none")
}

// TestSendTextToManyRateLimited: a recipient refused with 1205 is sent to again after the
// pause the refusal causes, so that every recipient gets the text.
func TestSendTextToManyRateLimited(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ts := setup(t, loginOnly(), withServer(wechattest.WithSendLimit(2, 3*time.Second)))
		var to []string
		for _, id := range []string{"friend", "alice", "bob", "group", "filehelper"} {
			to = append(to, ts.srv.UserName(id))
		}
		results, err := ts.c.SendTextToMany(t.Context(), to, "hello", nil)
		require.NoError(t, err)
		for _, r := range results {
			assert.NotNil(t, r.Sent, r.To)
		}
		assert.Len(t, ts.srv.Sent(), 5)
		assert.Greater(t, countRequests(ts.srv, "/cgi-bin/mmwebwx-bin/webwxsendmsg"), 5, "some sends were refused, then retried")
	})
}

// countRequests returns how many requests the server received for path.
func countRequests(srv *wechattest.Server, path string) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Path == path {
			n++
		}
	}
	return n
}

// TestSendTextToManyNotLoggedIn: before login every recipient fails with ErrNotLoggedIn.
func TestSendTextToManyNotLoggedIn(t *testing.T) {
	t.Parallel()
	calls := 0
	results, err := wechat.New().SendTextToMany(t.Context(), []string{"filehelper", "@x"}, "hi", func(wechat.SendResult) { calls++ })
	require.ErrorIs(t, err, wechat.ErrNotLoggedIn)
	require.Len(t, results, 2)
	for _, r := range results {
		assert.ErrorIs(t, r.Err, wechat.ErrNotLoggedIn)
		assert.Nil(t, r.Sent)
	}
	assert.Equal(t, 2, calls)
}
