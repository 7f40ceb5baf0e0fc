package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/wxkit/wechat/internal/redact"
	"github.com/wxkit/wechat/internal/wire"
)

// This file holds the HTTP plumbing shared by every protocol step: building URLs, sending
// requests through the configured *http.Client, and decoding answers into typed errors.

// Operation names, used as Error.Op and in logs.
const (
	opJSLogin       = "jslogin"
	opLoginPoll     = "login"
	opNewLoginPage  = "webwxnewloginpage"
	opInit          = "webwxinit"
	opStatusNotify  = "webwxstatusnotify"
	opGetContact    = "webwxgetcontact"
	opBatchContact  = "webwxbatchgetcontact"
	opSyncCheck     = "synccheck"
	opSync          = "webwxsync"
	opSendMsg       = "webwxsendmsg"
	opSendMsgImg    = "webwxsendmsgimg"
	opUploadMedia   = "webwxuploadmedia"
	opLogout        = "webwxlogout"
	opPushLogin     = "webwxpushloginurl"
	cgiPath         = "/cgi-bin/mmwebwx-bin/"
	maxJSONBody     = 64 << 20 // a large account's contact page is a few MB
	maxScriptBody   = 1 << 20  // window.x=...; bodies (the 201 avatar is the largest)
	jsonContentType = "application/json;charset=UTF-8"
	uploadTimeout   = 30 * time.Second // an upload chunk: this, plus a second per uploadRate bytes
	uploadRate      = 32 << 10
)

// cgiURL returns https://host/cgi-bin/mmwebwx-bin/name?query.
func cgiURL(host, name string, q url.Values) string {
	u := "https://" + host + cgiPath + name
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// newRequest builds a request with the headers every call carries (PROTOCOL 3.5).
func (c *Client) newRequest(ctx context.Context, method, u string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, redact.Error(err)
	}
	req.Header.Set("User-Agent", c.cfg.userAgent)
	if s := c.sess.get(); s != nil {
		req.Header.Set("Referer", "https://"+s.hosts.main+"/")
	}
	return req, nil
}

// do sends req and reads the whole body (at most limit bytes; a longer one is
// ErrBadResponse). Transport errors are wrapped in an *Error with the URL redacted; the
// caller's context error stays reachable with errors.Is. Any status is returned to the caller
// to judge.
func (c *Client) do(op string, req *http.Request, limit int64) (*http.Response, []byte, error) {
	c.log.Debug("request", "op", op, "host", req.URL.Host)
	// Every call gets a deadline (PROTOCOL 12.2); the long polls set their own, longer one.
	if op != opSyncCheck && op != opLoginPoll {
		ctx, cancel := context.WithTimeout(req.Context(), c.callTimeout(op, req.ContentLength))
		defer cancel()
		req = req.WithContext(ctx)
	}
	start := time.Now()
	resp, err := c.roundTrip(req)
	if err != nil {
		return nil, nil, &Error{Op: op, Err: silent(req, start, redact.Error(err))}
	}
	defer resp.Body.Close()
	// Bounded while reading: a body over the limit costs at most the limit (wire.ReadBody).
	body, err := c.bodies.Read(resp.Body, resp.ContentLength, limit)
	if errors.Is(err, wire.ErrBodyTooLarge) {
		return nil, nil, badResponse(op, err)
	}
	if err != nil {
		return nil, nil, &Error{Op: op, Err: redact.Error(err)}
	}
	return resp, body, nil
}

// roundTrip sends req through the Client's http.Client with the cookies of its jar, and gives the
// jar the cookies of the answer, as an http.Client with that jar would (it follows no
// redirects, see New): the jar keeps the Cookie header and skips the Set-Cookie lines it has
// just applied (recordingJar.header, setFrom).
func (c *Client) roundTrip(req *http.Request) (*http.Response, error) {
	if h := c.jar.header(req.URL); h != "" {
		req.Header.Set("Cookie", h)
	}
	resp, err := c.hc.Do(req)
	if err == nil {
		c.jar.setFrom(req.URL, resp)
	}
	return resp, err
}

// silent names the host and the wait when a request timed out without an answer (a silent
// proxy or host), instead of a bare "context deadline exceeded".
func silent(req *http.Request, start time.Time, err error) error {
	if !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("no answer from %s after %v: %w", req.URL.Hostname(), time.Since(start).Round(time.Second), context.DeadlineExceeded)
}

// callTimeout returns the deadline of one call of op sending size bytes (see WithHTTPClient):
// an upload's grows with its size, any other call gets the caller's http.Client.Timeout or
// 15 s. The long polls set their own.
func (c *Client) callTimeout(op string, size int64) time.Duration {
	if op == opUploadMedia {
		return uploadTimeout + time.Duration(max(size, 0)/uploadRate)*time.Second
	}
	return c.cfg.callTimeout
}

// getScript GETs a JavaScript-assignment endpoint and returns its body.
func (c *Client) getScript(ctx context.Context, op, u string) ([]byte, error) {
	req, err := c.newRequest(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, body, err := c.do(op, req, maxScriptBody)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, badResponse(op, fmt.Errorf("HTTP status %d", resp.StatusCode))
	}
	return body, nil
}

// getRaw GETs a JSON endpoint and returns the body of its 200 answer.
func (c *Client) getRaw(ctx context.Context, op, u string) ([]byte, error) {
	req, err := c.newRequest(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return c.doOK(op, req)
}

// postJSON POSTs in to a call whose answer is only its BaseResponse, and checks it.
func (c *Client) postJSON(ctx context.Context, op, u string, in any) error {
	body, err := c.postRaw(ctx, op, u, in)
	if err != nil {
		return err
	}
	_, err = decodeJSON(op, body, wire.DecodeBase)
	return err
}

// postRaw POSTs in as JSON, encoded without HTML or slash escaping (PROTOCOL 3.7), and returns
// the answer's body, which must come with status 200.
func (c *Client) postRaw(ctx context.Context, op, u string, in any) ([]byte, error) {
	body, err := wire.EncodeJSON(in)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	return c.postBody(ctx, op, u, body)
}

// postBody POSTs body, JSON already encoded, and returns the answer's body, which must come
// with status 200.
func (c *Client) postBody(ctx context.Context, op, u string, body []byte) ([]byte, error) {
	req, err := c.newRequest(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", jsonContentType)
	return c.doOK(op, req)
}

// doOK sends req and returns the body of a 200 answer; any other status is ErrBadResponse.
func (c *Client) doOK(op string, req *http.Request) ([]byte, error) {
	resp, body, err := c.do(op, req, maxJSONBody)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, badResponse(op, fmt.Errorf("HTTP status %d", resp.StatusCode))
	}
	return body, nil
}

// jsonObjectBody returns body without surrounding white space if it looks like a JSON object;
// an empty body, an HTML page or anything else is ErrBadResponse.
func jsonObjectBody(op string, body []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		return nil, badResponse(op, errors.New("empty body"))
	case trimmed[0] == '<':
		return nil, badResponse(op, errors.New("HTML page instead of JSON"))
	case trimmed[0] != '{':
		return nil, badResponse(op, errors.New("body is not a JSON object"))
	}
	return trimmed, nil
}

// jsonError drops anything of the input from an encoding/json error (the session file
// is decoded with it), keeping its kind and offset.
func jsonError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at offset %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		// Value is "number 2212345678" for a number that does not fit: keep only the kind.
		kind := te.Value
		if i := bytes.IndexByte([]byte(kind), ' '); i >= 0 {
			kind = kind[:i]
		}
		return fmt.Errorf("JSON %s where %s %s was expected", kind, te.Field, te.Type)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("truncated JSON")
	}
	return errors.New("invalid JSON")
}

// cookie returns the value of the named cookie the jar would send to u, or "".
func (c *Client) cookie(u, name string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return ""
	}
	for _, ck := range c.jar.Cookies(pu) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// loggedIn returns the session once webwxinit has told the client who self is, or
// ErrNotLoggedIn, or the error matching ErrLeaseLost once the account's lease was lost.
func (c *Client) loggedIn() (*session, error) {
	s, err := c.sess.usable()
	if err != nil {
		return nil, err
	}
	if s != nil && s.self != "" {
		return s, nil
	}
	return nil, ErrNotLoggedIn
}

// ms formats a millisecond timestamp.
func ms(n int64) string { return strconv.FormatInt(n, 10) }
