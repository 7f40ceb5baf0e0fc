package wechat

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
)

// Bulk sending (PROTOCOL 8.8): the protocol has no endpoint for it, so the Client sends to
// each recipient in turn, paced like every send.

// SendResult is the outcome of a bulk send for one recipient.
type SendResult struct {
	To   string       // the recipient, as given
	Sent *SentMessage // the message sent to To, or nil if none was
	Err  error        // why nothing was sent, or nil
}

// SendTextToMany sends text to each of the chats to (UserNames, as for [Client.SendText]),
// one after the other, in order. The sends are paced as every send is ([WithSendRate]: by
// default a burst of 5, then one a second), and after a refusal for sending too often
// (1205) the sends pause; PROTOCOL 8.8 and 12.7 explain why mass sending must be slow. A
// recipient refused with 1205 is tried once more, after the pause. progress, if not nil, is
// called with each recipient's result as soon as it is final, in order, from the calling
// goroutine; a long send can drive a progress display with it.
//
// It returns one result per element of to, in order. A recipient that fails (one the
// session does not know, one the server refuses) does not stop the others. A recipient
// given twice is sent the text once: the repeat's result holds the same SentMessage. The
// send stops early when ctx ends or when the session can no longer send (an error matching
// [ErrLoggedOut], [ErrNotLoggedIn] or [ErrLeaseLost]): every recipient not sent to yet gets
// that error as its result, and progress is still called for each, so that the results say
// exactly who got the text. A send cut by ctx during its request may have reached the
// server all the same.
//
// The error is nil when every recipient was sent the text. Otherwise it is ctx.Err() when
// ctx ended, the error that stopped the send, or an error counting the recipients not sent
// that wraps the first recipient's error, so that errors.Is sees its cause.
func (c *Client) SendTextToMany(ctx context.Context, to []string, text string, progress func(SendResult)) ([]SendResult, error) {
	results := make([]SendResult, len(to))
	sent := make(map[string]*SentMessage, len(to))
	var stop, first error
	if _, err := c.loggedIn(); err != nil {
		stop = err // ErrNotLoggedIn: nobody can be sent to, not even an empty list
	}
	failed := 0
	for i, u := range to {
		r := SendResult{To: u}
		if stop == nil && ctx.Err() != nil {
			stop = ctx.Err()
		}
		switch s, again := sent[u]; {
		case stop != nil:
			r.Err = stop
		case again && s != nil:
			r.Sent = s
		default:
			r.Sent, r.Err = c.SendText(ctx, u, text)
			if errors.Is(r.Err, ErrRateLimited) && ctx.Err() == nil {
				r.Sent, r.Err = c.SendText(ctx, u, text) // after the pause the 1205 caused
			}
			sent[u] = r.Sent
			switch {
			case ctx.Err() != nil:
				stop = ctx.Err()
			case errors.Is(r.Err, ErrLoggedOut) || errors.Is(r.Err, ErrNotLoggedIn) || errors.Is(r.Err, ErrLeaseLost):
				stop = r.Err
			}
		}
		if r.Err != nil {
			failed++
			first = cmp.Or(first, r.Err)
		}
		results[i] = r
		if progress != nil {
			progress(r)
		}
	}
	switch {
	case stop != nil:
		return results, stop
	case failed > 0:
		return results, &bulkError{failed: failed, total: len(to), first: first}
	}
	return results, nil
}

// bulkError is SendTextToMany's error when some recipients failed.
type bulkError struct {
	failed, total int
	first         error
}

func (e *bulkError) Error() string {
	return fmt.Sprintf("wechat: %d of %d recipients not sent; the first: %s", e.failed, e.total,
		strings.TrimPrefix(e.first.Error(), "wechat: "))
}

func (e *bulkError) Unwrap() error { return e.first }
