package wechat

import (
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cookieServer answers every request with the Set-Cookie lines of its path's entry in
// answers, and records the Cookie header of every request.
type cookieServer struct {
	mu      sync.Mutex
	answers map[string][]string
	got     []string
}

func (s *cookieServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, r.Header.Get("Cookie"))
	for _, l := range s.answers[r.URL.Path] {
		w.Header().Add("Set-Cookie", l)
	}
}

func (s *cookieServer) headers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

// TestRoundTripCookies: the Client's requests carry the Cookie headers an http.Client with a
// cookie jar sends, for the same answers: repeated, changed, expired, Max-Age, quoted and
// host-only cookies, with the Client's own jar (which skips repeated lines) and with one the
// caller gave.
func TestRoundTripCookies(t *testing.T) {
	exp := time.Now().Add(12 * time.Hour).UTC().Format(http.TimeFormat)
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	answers := map[string][]string{
		"/sync":   {"wxuin=1; Path=/; Expires=" + exp, "wxsid=abc; Path=/", `q="a b"; Path=/`},
		"/change": {"wxsid=def; Path=/; Expires=" + exp},
		"/expire": {"q=x; Path=/; Expires=" + past},
		"/maxage": {"m=1; Path=/; Max-Age=100", "m2=2; Path=/sub"},
		"/maxsid": {"wxsid=zzz; Path=/; Max-Age=100"},
		"/none":   nil,
		"/sub/x":  {"p=1"}, // default path /sub
	}
	steps := []string{"/none", "/sync", "/sync", "/sync", "/change", "/sync", "/sync", "/expire", "/sync",
		"/maxage", "/maxage", "/sub/x", "/sub/x", "/sync", "/none", "/sub/y", "/sync", "/maxsid", "/sync", "/none"}

	run := func(t *testing.T, send func(*http.Request) (*http.Response, error)) []string {
		srv := &cookieServer{answers: answers}
		hs := httptest.NewServer(srv)
		defer hs.Close()
		for _, p := range steps {
			req, err := http.NewRequest(http.MethodGet, hs.URL+p, nil)
			require.NoError(t, err)
			resp, err := send(req)
			require.NoError(t, err)
			resp.Body.Close()
		}
		return srv.headers()
	}
	plainJar, err := cookiejar.New(nil)
	require.NoError(t, err)
	plain := &http.Client{Jar: plainJar}
	want := run(t, plain.Do)
	require.Contains(t, want, `wxuin=1; wxsid=abc; q="a b"`, "the reference sends the cookies")

	for _, own := range []bool{true, false} {
		t.Run(map[bool]string{true: "own jar", false: "the caller's jar"}[own], func(t *testing.T) {
			var opts []Option
			if !own {
				j, err := cookiejar.New(nil)
				require.NoError(t, err)
				opts = append(opts, WithHTTPClient(&http.Client{Jar: j}))
			}
			c := New(opts...)
			require.Equal(t, own, c.jar.own)
			require.Nil(t, c.hc.Jar, "the http.Client itself has no jar: roundTrip does it")
			assert.Equal(t, want, run(t, c.roundTrip))
		})
	}
}

// TestJarSkipsRepeatedLines: the Client's own jar does not apply again the Set-Cookie lines it
// applied last for the same URL, and applies them again once anything else changed the jar.
func TestJarSkipsRepeatedLines(t *testing.T) {
	c := New()
	u, _ := url.Parse("https://wx2.qq.com/cgi-bin/mmwebwx-bin/webwxsync")
	other, _ := url.Parse("https://wx2.qq.com/cgi-bin/mmwebwx-bin/webwxinit")
	answer := func(lines ...string) *http.Response {
		return &http.Response{Header: http.Header{"Set-Cookie": lines}}
	}
	sync := answer("wxuin=1; Domain=.qq.com; Path=/", "wxsid=abc; Domain=.qq.com; Path=/")
	c.jar.setFrom(u, sync)
	v := c.jar.changes()
	c.jar.setFrom(u, sync)
	assert.Equal(t, v, c.jar.changes(), "the same lines again: skipped")
	c.jar.setFrom(other, sync)
	assert.Greater(t, c.jar.changes(), v, "another URL: applied")
	v = c.jar.changes()
	c.jar.setFrom(u, answer("wxsid=new; Domain=.qq.com; Path=/"))
	c.jar.setFrom(u, sync)
	assert.Greater(t, c.jar.changes(), v+1, "lines that changed the jar in between: applied")
	assert.Contains(t, c.jar.header(u), "wxsid=abc")
	v = c.jar.changes()
	c.jar.reset()
	c.jar.setFrom(u, sync)
	assert.Greater(t, c.jar.changes(), v+1, "after a reset: applied")
	v = c.jar.changes()
	maxAge := answer("m=1; Path=/; Max-Age=60")
	c.jar.setFrom(u, maxAge)
	c.jar.setFrom(u, maxAge)
	assert.Equal(t, v+2, c.jar.changes(), "Max-Age lines: always applied")
	assert.True(t, strings.Contains(c.jar.header(u), "m=1"))
}
