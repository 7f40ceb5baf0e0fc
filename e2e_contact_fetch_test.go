package wechat_test

// End-to-end tests of FetchContact (one contact's detail on demand) and of the official
// accounts list.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat"
)

// TestFetchContact: one webwxbatchgetcontact per call, for a friend, a group with its
// members, an official account and a group member who is not a friend (through the group's
// EncryChatRoomId); the result is stored.
func TestFetchContact(t *testing.T) {
	t.Parallel()
	ts := setup(t, loginOnly())
	ctx := t.Context()
	const path = "/cgi-bin/mmwebwx-bin/webwxbatchgetcontact"

	before := countRequests(ts.srv, path)
	friend, err := ts.c.FetchContact(ctx, ts.srv.UserName("friend"))
	require.NoError(t, err)
	assert.Equal(t, before+1, countRequests(ts.srv, path), "one request")
	assert.Equal(t, "Friend", friend.NickName)
	assert.Equal(t, wechat.KindFriend, friend.Kind)
	stored, ok := ts.c.Contact(friend.UserName)
	require.True(t, ok, "stored")
	assert.Equal(t, friend, stored)

	group, err := ts.c.FetchContact(ctx, ts.srv.UserName("group"))
	require.NoError(t, err)
	assert.Equal(t, wechat.KindGroup, group.Kind)
	assert.Len(t, group.Members, 4, "a group comes with its members")

	news, err := ts.c.FetchContact(ctx, ts.srv.UserName("gh_news"))
	require.NoError(t, err)
	assert.Equal(t, wechat.KindOfficial, news.Kind)
	assert.Equal(t, "News Daily", news.NickName)

	carol, err := ts.c.FetchContact(ctx, ts.srv.UserName("carol"))
	require.NoError(t, err, "a member who is not a friend, through the group")
	assert.Equal(t, wechat.KindStranger, carol.Kind)
	assert.Equal(t, "Carol", carol.NickName)
	reqs := ts.srv.Requests()
	last := reqs[len(reqs)-1]
	require.Equal(t, path, last.Path)
	assert.Contains(t, string(last.Body), `"EncryChatRoomId":"`+group.EncryChatRoomID+`"`)
	assert.NotEmpty(t, group.EncryChatRoomID)
}

// TestFetchContactErrors: names that are no UserName fail before any request, with a hint;
// a UserName the server does not know fails after it; no session means ErrNotLoggedIn.
func TestFetchContactErrors(t *testing.T) {
	t.Parallel()
	ts := setup(t, loginOnly())
	ctx := t.Context()
	const path = "/cgi-bin/mmwebwx-bin/webwxbatchgetcontact"
	before := countRequests(ts.srv, path)
	for _, name := range []string{"", "Alice"} {
		_, err := ts.c.FetchContact(ctx, name)
		require.ErrorIs(t, err, wechat.ErrUnknownContact, "%q", name)
		assert.Equal(t, 1, strings.Count(err.Error(), "wechat:"), "one prefix: %v", err)
	}
	_, err := ts.c.FetchContact(ctx, "Alice")
	assert.Contains(t, err.Error(), "ContactsByName", "a nickname gets a hint")
	assert.Equal(t, before, countRequests(ts.srv, path), "no request")

	_, err = ts.c.FetchContact(ctx, "@0123456789abcdef")
	require.ErrorIs(t, err, wechat.ErrUnknownContact)
	assert.Equal(t, before+1, countRequests(ts.srv, path))

	_, err = wechat.New().FetchContact(ctx, "@x")
	require.ErrorIs(t, err, wechat.ErrNotLoggedIn)
}

// TestOfficialAccounts: Contacts(KindOfficial) lists the official accounts of the address
// book (VerifyFlag bit 8, PROTOCOL 5.6: the WeChat team's account too), and nothing else.
func TestOfficialAccounts(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	require.NoError(t, ts.c.WaitContacts(ctx))
	var names []string
	for _, ct := range ts.c.Contacts(wechat.KindOfficial) {
		assert.Equal(t, wechat.KindOfficial, ct.Kind)
		names = append(names, ct.NickName)
	}
	assert.Equal(t, []string{"News Daily", "微信团队"}, names, "sorted by name")
}
