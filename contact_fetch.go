package wechat

import (
	"context"
	"fmt"
	"github.com/wxkit/wechat/internal/wire"
	"strings"
)

// FetchContact fetches the contact userName from the server (webwxbatchgetcontact,
// PROTOCOL 5.4), stores it in the address book and returns it: the current profile of a
// friend, group (with its members) or official account, or, for a group member who is not
// a friend, the profile the server shows through a group the Client knows them in (the
// group's EncryChatRoomId goes with the request). Run keeps the address book current
// through the sync and [Client.Refresh] fetches all of it; FetchContact is for one contact,
// on demand. Fetching details once per incoming message is a known cause of 1205 (PROTOCOL
// 5.4): keep what it returns.
//
// It returns an error matching [ErrUnknownContact] when userName is empty or is not a
// UserName of the session (a nickname, say), without a request, or when the server returns
// no contact for it; [ErrNotLoggedIn] before login; otherwise the *Error of the failed
// request, one matching [ErrRateLimited] or [ErrLoggedOut] for example.
func (c *Client) FetchContact(ctx context.Context, userName string) (Contact, error) {
	s, err := c.loggedIn()
	if err != nil {
		return Contact{}, err
	}
	known, _ := c.Contact(userName)
	switch {
	case userName == "":
		return Contact{}, &Error{Op: opBatchContact, Err: fmt.Errorf("%w: empty UserName", ErrUnknownContact)}
	case !strings.HasPrefix(userName, "@") && !specialAccounts[userName] && known.UserName == "":
		return Contact{}, &Error{Op: opBatchContact, Err: fmt.Errorf("%w: %q is not a UserName of this session; to find a contact "+
			"by name, use ContactsByName or SearchContacts", ErrUnknownContact, userName)}
	}
	e := wire.BatchContactEntry{UserName: userName}
	if !isGroupName(userName) && (known.UserName == "" || known.Kind == KindStranger) {
		e.EncryChatRoomID = c.roomOf(userName) // a member who is not a contact (PROTOCOL 5.4)
	}
	cs, err := c.batchGet(ctx, s, []wire.BatchContactEntry{e})
	if err != nil {
		return Contact{}, err
	}
	for _, ct := range cs {
		if ct.UserName == userName {
			if got, ok := c.Contact(userName); ok {
				return got, nil
			}
		}
	}
	return Contact{}, &Error{Op: opBatchContact, Err: fmt.Errorf("%w: the server returned no contact for %s", ErrUnknownContact, userName)}
}
