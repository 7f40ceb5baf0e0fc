package wechat_test

// End-to-end tests of the address book: stable IDs across logins and restarts, the stored
// address book, lazy group members, Refresh and search, against the wechattest fake.

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

// checkStore checks that the client's address book agrees with the server's model: every
// contact and group with its remark name, pin, name and members.
func checkStore(t *testing.T, srv *wechattest.Server, c *wechat.Client) {
	t.Helper()
	acct := srv.Account()
	for _, want := range acct.Contacts {
		got, ok := c.Contact(srv.UserName(want.ID))
		if !assert.True(t, ok, "contact %s is in the store", want.ID) {
			continue
		}
		if !strings.Contains(want.RemarkName, "<span") {
			assert.Equal(t, html.UnescapeString(want.RemarkName), got.RemarkName, "remark of %s", want.ID)
		}
		assert.Equal(t, want.ContactFlag&0x800 != 0, got.Pinned(), "pin of %s", want.ID)
	}
	for _, want := range acct.Groups {
		got, ok := c.Contact(srv.UserName(want.ID))
		if !assert.True(t, ok, "group %s is in the store", want.ID) {
			continue
		}
		assert.Equal(t, wechat.KindGroup, got.Kind)
		assert.Equal(t, html.UnescapeString(want.NickName), got.NickName, "name of %s", want.ID)
		assert.Equal(t, want.Pinned, got.Pinned(), "pin of %s", want.ID)
		var wantMembers, gotMembers []string
		for _, m := range want.Members {
			wantMembers = append(wantMembers, srv.UserName(m.ID)+" "+m.DisplayName)
		}
		for _, m := range got.Members {
			gotMembers = append(gotMembers, m.UserName+" "+m.DisplayName)
		}
		slices.Sort(wantMembers)
		slices.Sort(gotMembers)
		assert.Equal(t, wantMembers, gotMembers, "members of %s", want.ID)
	}
	for _, s := range acct.Strangers {
		if got, ok := c.Contact(srv.UserName(s.ID)); ok {
			assert.NotEqual(t, wechat.KindFriend, got.Kind, "%s is no friend", s.ID)
		}
	}
}

// ids returns the ID of every contact and group member the client knows, by stable id.
func ids(srv *wechattest.Server, c *wechat.Client, stable ...string) map[string]string {
	out := make(map[string]string)
	for _, id := range stable {
		if ct, ok := c.Contact(srv.UserName(id)); ok {
			out[id] = ct.ID
		}
	}
	return out
}

// every stable id of DefaultAccount that is a contact or group.
var defaultIDs = []string{"self", "friend", "alice", "bob", "filehelper", "weixin", "gh_news", "group", "team"}

func TestContactIDs(t *testing.T) {
	t.Parallel()
	b := setup(t, contactsReady())
	srv := b.srv
	got := ids(srv, b.c, defaultIDs...)
	assert.Equal(t, map[string]string{
		"self":       "uin:2212345678", // the uin webwxinit gives
		"friend":     "friend",         // permanent ids of the chat list (StatusNotify code 4)
		"alice":      "alice",
		"group":      "group",
		"team":       "team",
		"filehelper": "filehelper", // special accounts: the UserName is permanent
		"weixin":     "weixin",
		"bob":        "alias:bob123", // not in the chat list: the Alias
		"gh_news":    "alias:news_daily",
	}, got)
	for id, want := range got {
		ct, ok := b.c.ContactByID(want)
		require.True(t, ok, id)
		assert.Equal(t, srv.UserName(id), ct.UserName)
	}

	g, ok := b.c.Contact(srv.UserName("group"))
	require.True(t, ok)
	byUser := map[string]wechat.Member{}
	for _, m := range g.Members {
		byUser[m.UserName] = m
	}
	assert.Equal(t, "uin:2212345678", byUser[srv.UserName("self")].ID, "self in a group has self's ID")
	assert.Equal(t, "friend", byUser[srv.UserName("friend")].ID, "a friend in a group has the friend's ID")
	carol := byUser[srv.UserName("carol")]
	assert.True(t, strings.HasPrefix(carol.ID, "m:"), "a stranger's ID is derived from the group and names: %q", carol.ID)
}

// TestContactIDsAcrossLogins: two sessions of the same account, without a session store:
// every UserName differs, every ID is the same.
func TestContactIDsAcrossLogins(t *testing.T) {
	t.Parallel()
	first := setup(t, contactsReady())
	srv := first.srv
	ids1 := ids(srv, first.c, defaultIDs...)
	names1 := map[string]string{}
	for _, id := range defaultIDs {
		names1[id] = srv.UserName(id)
	}
	g1, _ := first.c.Contact(srv.UserName("group"))
	require.ErrorIs(t, first.shutdown(t), context.Canceled)

	second := setup(t, onServer(srv), contactsReady())
	ids2 := ids(srv, second.c, defaultIDs...)
	assert.Equal(t, ids1, ids2)
	assert.Len(t, ids2, len(defaultIDs))
	for _, id := range defaultIDs {
		if id != "filehelper" && id != "weixin" {
			assert.NotEqual(t, names1[id], srv.UserName(id), "a new login gives %s a new UserName", id)
		}
	}
	g2, _ := second.c.Contact(srv.UserName("group"))
	memberIDs := func(g wechat.Contact) []string {
		var out []string
		for _, m := range g.Members {
			out = append(out, m.ID)
		}
		slices.Sort(out)
		return out
	}
	assert.Equal(t, memberIDs(g1), memberIDs(g2), "members keep their IDs too")
}

// TestContactIDsWithStore: IDs that only the identity table can give back. In the first
// session carol, accepted as a friend, gets her permanent id from the request, and a friend
// known only by fingerprint gets a remark. The session then expires; the next login (push
// login, same store) gives both their old IDs, although carol is not in the chat list and the
// friend's strongest key is now the remark.
func TestContactIDsWithStore(t *testing.T) {
	t.Parallel()
	acct := wechattest.LargeAccount(5, 1, 4)
	acct.Strangers = []wechattest.Contact{{ID: "carol", NickName: "Carol", Sex: 2, City: "Hangzhou"}}
	store := wechat.NewFileStore(filepath.Join(t.TempDir(), "bot.session"))

	first := setup(t, withServer(wechattest.WithAccount(acct)), withClient(wechat.WithSessionStore(store)), contactsReady())
	srv := first.srv
	ctx := t.Context()
	srv.Deliver(wechattest.FriendRequest("carol", "hi"))
	fr, _ := first.nextWhere(t, func(m *wechat.Message) bool { return m.MsgType == wechat.MsgTypeVerify }).FriendRequest()
	carol, err := first.c.AcceptFriend(ctx, fr)
	require.NoError(t, err)
	assert.Equal(t, "carol", carol.ID, "the request's fromusername is carol's permanent id")
	f3 := srv.UserName("friend0003")
	before, ok := first.c.Contact(f3)
	require.True(t, ok)
	require.True(t, strings.HasPrefix(before.ID, "fp:"), "friend0003 is known by fingerprint only: %q", before.ID)
	require.NoError(t, first.c.SetRemark(ctx, f3, "Boss"))
	first.waitChange(t, f3)
	require.ErrorIs(t, first.shutdown(t), context.Canceled)

	saved, err := store.Load(ctx)
	require.NoError(t, err)
	assert.NotEmpty(t, saved.IDs)
	assert.NotEmpty(t, saved.Contacts)

	srv.EndSession(1101) // the session expired while the program was not running
	// setup confirms the push-login prompt.
	second := setup(t, onServer(srv), withClient(wechat.WithSessionStore(store), noQR(t)), contactsReady())
	c2, ok := second.c.Contact(srv.UserName("carol"))
	require.True(t, ok)
	assert.Equal(t, "carol", c2.ID)
	f, ok := second.c.Contact(srv.UserName("friend0003"))
	require.True(t, ok)
	assert.Equal(t, "Boss", f.RemarkName)
	assert.Equal(t, before.ID, f.ID)
	assert.NotEqual(t, f3, f.UserName)

	// Without the table, friend0003's ID is made from its remark now: another one.
	third := setup(t, onServer(srv), contactsReady())
	f, _ = third.c.Contact(srv.UserName("friend0003"))
	assert.NotEqual(t, before.ID, f.ID)
}

// TestContactIDsAfterServerLogout: when the server ends the session, the store keeps the
// identity table (and nothing else), so the next program run gets the same IDs; Logout
// clears everything.
func TestContactIDsAfterServerLogout(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "bot.session")
	b := setup(t, withClient(wechat.WithSession(path)), contactsReady())
	b.srv.EndSession(1100)
	require.ErrorIs(t, b.wait(t), wechat.ErrLoggedOut)
	st, err := wechat.NewFileStore(path).Load(t.Context())
	require.NoError(t, err)
	assert.Empty(t, st.Sid)
	assert.Empty(t, st.Cookies)
	assert.Empty(t, st.Contacts)
	assert.Equal(t, int64(2212345678), st.Uin)
	assert.Equal(t, "alias:bob123", st.IDs["alias:bob123"])
}

// TestRestartRestoresAddressBook: a restart on a stored session has the address book at
// once and does not fetch the groups again.
func TestRestartRestoresAddressBook(t *testing.T) {
	t.Parallel()
	store := wechat.NewFileStore(filepath.Join(t.TempDir(), "bot.session"))
	first := setup(t, withClient(wechat.WithSessionStore(store)), contactsReady())
	srv := first.srv
	want := first.c.Contacts()
	require.ErrorIs(t, first.shutdown(t), context.Canceled)
	batches := len(requestsTo(srv, "/cgi-bin/mmwebwx-bin/webwxbatchgetcontact"))

	second := setup(t, onServer(srv), withClient(wechat.WithSessionStore(store), noQR(t)), contactsReady())
	assert.Len(t, requestsTo(srv, "/jslogin"), 1, "resumed without a QR login")
	got := second.c.Contacts()
	require.Len(t, got, len(want))
	for i := range want {
		assert.Equal(t, want[i].UserName, got[i].UserName)
		assert.Equal(t, want[i].ID, got[i].ID)
		assert.Equal(t, want[i].Members, got[i].Members)
	}
	assert.Equal(t, batches, len(requestsTo(srv, "/cgi-bin/mmwebwx-bin/webwxbatchgetcontact")),
		"the restored groups are not fetched again")
	checkStore(t, srv, second.c)
}

// gate is a transport that holds the webwxbatchgetcontact requests for more than one
// contact until it is opened (or the request's context ends).
type gate struct {
	next http.RoundTripper
	open chan struct{}
	once sync.Once
}

func (g *gate) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, "/webwxbatchgetcontact") && req.GetBody != nil {
		body, err := req.GetBody()
		if err == nil {
			var v struct{ Count int }
			if json.NewDecoder(body).Decode(&v) == nil && v.Count > 1 {
				select {
				case <-g.open:
				case <-req.Context().Done():
					return nil, req.Context().Err()
				}
			}
		}
	}
	return g.next.RoundTrip(req)
}

func (g *gate) release() { g.once.Do(func() { close(g.open) }) }

// TestGroupMembersFetchedLazily: GroupMembers fetches the members of a group the loader has
// not fetched yet.
func TestGroupMembersFetchedLazily(t *testing.T) {
	t.Parallel()
	g := &gate{open: make(chan struct{})}
	defer g.release()
	b := setup(t, withTransport(func(next http.RoundTripper) http.RoundTripper {
		g.next = next
		return g
	}))
	srv := b.srv
	ctx := t.Context()

	group := srv.UserName("group")
	_, known := b.c.Contact(group)
	require.True(t, known, "webwxinit lists the group, without members")
	members, err := b.c.GroupMembers(ctx, group)
	require.NoError(t, err)
	var names []string
	for _, m := range members {
		names = append(names, m.NickName+"/"+m.DisplayName)
	}
	assert.ElementsMatch(t, []string{"Me/", "Friend/", "Alice🌛 & Co/", "Carol/Carol in group"}, names)

	_, err = b.c.GroupMembers(ctx, srv.UserName("friend"))
	assert.ErrorIs(t, err, wechat.ErrWrongKind)
	_, err = b.c.GroupMembers(ctx, "@@0000")
	assert.ErrorIs(t, err, wechat.ErrUnknownContact)
	_, err = b.c.GroupMembers(ctx, "nobody")
	assert.ErrorIs(t, err, wechat.ErrUnknownContact)
	g.release()
	require.NoError(t, b.c.WaitContacts(ctx))
}

func TestRefresh(t *testing.T) {
	t.Parallel()
	b := setup(t, withServer(wechattest.WithContactPageSize(3)), contactsReady())
	srv := b.srv
	pages := len(requestsTo(srv, "/cgi-bin/mmwebwx-bin/webwxgetcontact"))
	batches := requestsTo(srv, "/cgi-bin/mmwebwx-bin/webwxbatchgetcontact")
	require.NoError(t, b.c.Refresh(t.Context()))
	assert.Equal(t, 2*pages, len(requestsTo(srv, "/cgi-bin/mmwebwx-bin/webwxgetcontact")), "every page again")
	after := requestsTo(srv, "/cgi-bin/mmwebwx-bin/webwxbatchgetcontact")[len(batches):]
	require.Len(t, after, 1)
	assert.Contains(t, string(after[0].Body), srv.UserName("group"))
	assert.Contains(t, string(after[0].Body), srv.UserName("team"))
	checkStore(t, srv, b.c)
}

func TestContactsAndSearch(t *testing.T) {
	t.Parallel()
	b := setup(t, contactsReady())
	srv := b.srv
	c := b.c
	names := func(cs []wechat.Contact) []string {
		var out []string
		for _, ct := range cs {
			out = append(out, ct.Name())
		}
		return out
	}
	assert.Equal(t, []string{"Alice", "Bob (work)", "Friend"}, names(c.Contacts(wechat.KindFriend)))
	assert.Equal(t, []string{"Team", "Test Group"}, names(c.Contacts(wechat.KindGroup)))
	assert.Equal(t, []string{"News Daily", "微信团队"}, names(c.Contacts(wechat.KindOfficial)))
	assert.Equal(t, []string{"文件传输助手"}, names(c.Contacts(wechat.KindSpecial)))
	assert.Len(t, c.Contacts(), 9)

	for _, tt := range []struct {
		query string
		kinds []wechat.ContactKind
		want  []string
	}{
		{"alice", nil, []string{"Alice"}},
		{"ALICE CO", nil, []string{"Alice"}},    // case and spaces, emoji and "&" ignored
		{"🌛", nil, []string{"Alice"}},           // the emoji itself
		{"bob123", nil, []string{"Bob (work)"}}, // Alias
		{"work", nil, []string{"Bob (work)"}},   // part of the remark name
		{"group", nil, []string{"Test Group"}},  // part of a name
		{"e", []wechat.ContactKind{wechat.KindGroup}, []string{"Team", "Test Group"}},
		{"news", nil, []string{"News Daily"}},
		{"文件", nil, []string{"文件传输助手"}},
		{"", nil, nil},
		{"zzz", nil, nil},
	} {
		assert.Equal(t, tt.want, names(c.SearchContacts(tt.query, tt.kinds...)), "query %q", tt.query)
	}

	g, _ := c.Contact(srv.UserName("group"))
	carol := g.SearchMembers("@carol in group")
	require.Len(t, carol, 1)
	assert.Equal(t, srv.UserName("carol"), carol[0].UserName)
	assert.Len(t, g.SearchMembers("Alice"), 1)
}
