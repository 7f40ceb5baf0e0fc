package redact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// secretURL is a synccheck URL carrying every credential in its query.
const secretURL = "https://webpush.wx2.qq.com/cgi-bin/mmwebwx-bin/synccheck?r=1700000000000&skey=%40crypt_3bb2969_SECRETSKEY&sid=SECRETSID%2Babc&uin=2212345678&deviceid=e123456789012345&synckey=1_636444437%7C2_636445049&pass_ticket=SECRETPASS%252Bx"

// secrets are the credential values of secretURL, in every form they may
// take in a text.
var secrets = []string{"SECRETSKEY", "SECRETSID", "SECRETPASS", "2212345678", "crypt_3bb2969", "pass_ticket", "skey="}

func assertNoSecret(t *testing.T, s string) {
	t.Helper()
	for _, secret := range secrets {
		assert.NotContains(t, s, secret)
	}
}

func TestURL(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"query", secretURL, "https://webpush.wx2.qq.com/cgi-bin/mmwebwx-bin/synccheck?REDACTED"},
		{"no query", "https://wx.qq.com/cgi-bin/mmwebwx-bin/webwxinit", "https://wx.qq.com/cgi-bin/mmwebwx-bin/webwxinit"},
		{"fragment", "https://wx.qq.com/#skey=x", "https://wx.qq.com/?REDACTED"},
		{"query and fragment", "https://wx.qq.com/a?sid=1#frag", "https://wx.qq.com/a?REDACTED"},
		{"empty query", "https://wx.qq.com/a?", "https://wx.qq.com/a"},
		{"port kept", "https://wx.qq.com:8443/a?b=c", "https://wx.qq.com:8443/a?REDACTED"},
		{"escaped path kept", "https://wx.qq.com/a%20b/c?d=e", "https://wx.qq.com/a%20b/c?REDACTED"},
		{"password", "https://user:hunter2@wx.qq.com/a", "https://user:REDACTED@wx.qq.com/a"},
		{"user only", "https://user@wx.qq.com/a", "https://user@wx.qq.com/a"},
		{"relative", "/cgi-bin/mmwebwx-bin/webwxsync?sid=x&skey=y", "/cgi-bin/mmwebwx-bin/webwxsync?REDACTED"},
		{"opaque", "mailto:a@b.c?subject=secret", "mailto:a@b.c?REDACTED"},
		{"empty", "", ""},
		{"bad escape in host", "https://wx%zz.qq.com/?skey=x", "REDACTED"},
		{"control character", "https://wx.qq.com/\x7f?skey=x", "REDACTED"},
		{"bad port", "https://wx.qq.com:port/?skey=x", "REDACTED"},
		{"missing bracket", "https://[::1/?skey=x", "REDACTED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, URL(tt.in))
		})
	}
}

func TestErrorNil(t *testing.T) {
	assert.NoError(t, Error(nil))
}

func TestErrorWithoutURLUnchanged(t *testing.T) {
	for _, err := range []error{
		io.EOF,
		context.Canceled,
		fmt.Errorf("wechat: sync: %w", io.ErrUnexpectedEOF),
		errors.Join(io.EOF, context.DeadlineExceeded),
	} {
		assert.Same(t, err, Error(err), "%v", err)
	}
	// Comparable error values come back equal too.
	assert.Equal(t, os.ErrNotExist, Error(os.ErrNotExist))
}

func TestErrorURLError(t *testing.T) {
	orig := &url.Error{Op: "Get", URL: secretURL, Err: context.Canceled}
	origText := orig.Error()

	got := Error(orig)
	require.Error(t, got)
	assert.Equal(t, `Get "https://webpush.wx2.qq.com/cgi-bin/mmwebwx-bin/synccheck?REDACTED": context canceled`, got.Error())
	assertNoSecret(t, got.Error())
	assert.ErrorIs(t, got, context.Canceled)

	var ue *url.Error
	require.ErrorAs(t, got, &ue)
	assert.NotSame(t, orig, ue, "the *url.Error must be copied")
	assert.Equal(t, "Get", ue.Op)
	assert.Equal(t, "https://webpush.wx2.qq.com/cgi-bin/mmwebwx-bin/synccheck?REDACTED", ue.URL)

	// The original is untouched.
	assert.Equal(t, secretURL, orig.URL)
	assert.Equal(t, origText, orig.Error())
}

func TestErrorNested(t *testing.T) {
	opErr := &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}
	tests := []struct {
		name     string
		err      error
		wantText string
		is       []error
	}{
		{
			name:     "fmt wrap of a cancelled request",
			err:      fmt.Errorf("wechat: synccheck: %w", &url.Error{Op: "Get", URL: secretURL, Err: context.Canceled}),
			wantText: `wechat: synccheck: Get "https://webpush.wx2.qq.com/cgi-bin/mmwebwx-bin/synccheck?REDACTED": context canceled`,
			is:       []error{context.Canceled},
		},
		{
			name: "two levels of fmt wrap",
			err: fmt.Errorf("wechat: run: %w",
				fmt.Errorf("wechat: synccheck: %w", &url.Error{Op: "Get", URL: secretURL, Err: opErr})),
			wantText: `wechat: run: wechat: synccheck: Get "https://webpush.wx2.qq.com/cgi-bin/mmwebwx-bin/synccheck?REDACTED": dial tcp: i/o timeout`,
			is:       []error{os.ErrDeadlineExceeded},
		},
		{
			name:     "several %w",
			err:      fmt.Errorf("%w: %w", io.ErrUnexpectedEOF, &url.Error{Op: "Post", URL: secretURL, Err: io.EOF}),
			wantText: `unexpected EOF: Post "https://webpush.wx2.qq.com/cgi-bin/mmwebwx-bin/synccheck?REDACTED": EOF`,
			is:       []error{io.ErrUnexpectedEOF, io.EOF},
		},
		{
			name:     "errors.Join",
			err:      errors.Join(context.DeadlineExceeded, &url.Error{Op: "Get", URL: secretURL, Err: context.DeadlineExceeded}),
			wantText: "context deadline exceeded\n" + `Get "https://webpush.wx2.qq.com/cgi-bin/mmwebwx-bin/synccheck?REDACTED": context deadline exceeded`,
			is:       []error{context.DeadlineExceeded},
		},
		{
			name:     "URL with a quote",
			err:      fmt.Errorf("x: %w", &url.Error{Op: "Get", URL: `https://wx.qq.com/a"b?skey=SECRETSKEY`, Err: io.EOF}),
			wantText: `x: Get "https://wx.qq.com/a%22b?REDACTED": EOF`,
			is:       []error{io.EOF},
		},
		{
			name:     "wrapper formats the URL itself",
			err:      &custom{url: secretURL, err: &url.Error{Op: "Get", URL: secretURL, Err: io.EOF}},
			wantText: `custom https://webpush.wx2.qq.com/cgi-bin/mmwebwx-bin/synccheck?REDACTED`,
			is:       []error{io.EOF, errCustom},
		},
		{
			name: "cause quotes the URL",
			err: &url.Error{Op: "Get", URL: secretURL,
				Err: fmt.Errorf("redirect to %s refused: %w", secretURL, io.EOF)},
			wantText: `Get "https://webpush.wx2.qq.com/cgi-bin/mmwebwx-bin/synccheck?REDACTED": redirect to https://webpush.wx2.qq.com/cgi-bin/mmwebwx-bin/synccheck?REDACTED refused: EOF`,
			is:       []error{io.EOF},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			origText := tt.err.Error()
			got := Error(tt.err)
			require.Error(t, got)
			assert.Equal(t, tt.wantText, got.Error())
			assertNoSecret(t, got.Error())
			for _, target := range tt.is {
				assert.ErrorIs(t, got, target)
			}

			var ue *url.Error
			require.ErrorAs(t, got, &ue)
			assert.True(t, strings.HasSuffix(ue.URL, "?REDACTED"), ue.URL)
			assertNoSecret(t, ue.Error())

			assert.Equal(t, origText, tt.err.Error(), "the original must not change")
		})
	}
}

func TestErrorKeepsNetErrors(t *testing.T) {
	opErr := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	err := fmt.Errorf("wechat: webwxsync: %w", &url.Error{Op: "Post", URL: secretURL, Err: opErr})
	got := Error(err)

	var ne net.Error
	require.ErrorAs(t, got, &ne)
	assert.True(t, ne.Timeout())
	var op *net.OpError
	require.ErrorAs(t, got, &op)
	assert.Same(t, opErr, op)
	assert.ErrorIs(t, got, os.ErrDeadlineExceeded)
	assert.Same(t, opErr, errors.Unwrap(errors.Unwrap(got)), "errors.Unwrap walks the chain")
}

func TestErrorFromHTTPClient(t *testing.T) {
	// A real transport failure: the request is cancelled before it is sent.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, secretURL, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	if resp != nil {
		resp.Body.Close()
	}
	require.Error(t, err)
	require.Contains(t, err.Error(), "SECRETSKEY", "precondition: net/http leaks the URL")

	got := Error(fmt.Errorf("wechat: synccheck: %w", err))
	assertNoSecret(t, got.Error())
	assert.ErrorIs(t, got, context.Canceled)
}

func TestErrorWrapperIs(t *testing.T) {
	ue := &url.Error{Op: "Get", URL: secretURL, Err: io.EOF}
	c := &custom{err: ue}
	got := Error(c)
	assert.ErrorIs(t, got, errCustom, "the wrapper's Is method")
	assert.NotErrorIs(t, got, io.ErrClosedPipe)

	// A comparable wrapper value still matches itself.
	v := valueErr{ue}
	assert.ErrorIs(t, Error(v), v)
	var target *custom
	assert.False(t, errors.As(got, &target), "wrappers are not handed out: they hold the full URL")
}

func TestErrorTypedNilURLError(t *testing.T) {
	var ue *url.Error
	err := fmt.Errorf("x: %w", ue)
	assert.NotPanics(t, func() { _ = Error(err) })
}

var errCustom = errors.New("custom")

// custom is a wrapper with its own text and Is method.
type custom struct {
	url string
	err error
}

func (c *custom) Error() string        { return "custom " + c.url }
func (c *custom) Unwrap() error        { return c.err }
func (c *custom) Is(target error) bool { return target == errCustom }

// valueErr is a comparable, non-pointer wrapper.
type valueErr struct{ err error }

func (v valueErr) Error() string { return "value: " + v.err.Error() }
func (v valueErr) Unwrap() error { return v.err }
