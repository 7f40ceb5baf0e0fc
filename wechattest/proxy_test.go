package wechattest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// proxyHarness is a harness whose client goes through a Proxy over TCP and
// TLS.
func proxyHarness(t *testing.T, opts ...Option) (*harness, *Proxy) {
	t.Helper()
	h := newHarness(t, opts...)
	p, err := NewProxy(h.s, nil)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	h.hc = p.Client()
	t.Cleanup(h.hc.CloseIdleConnections)
	return h, p
}

// TestProxySession runs a whole session through the proxy: login, init,
// sync, a send and a chunked upload, over HTTP/2 inside TLS tunnels with
// certificates the proxy minted for each host.
func TestProxySession(t *testing.T) {
	h, p := proxyHarness(t, WithLongPoll(50*time.Millisecond))
	assert.True(t, strings.HasPrefix(p.URL, "http://127.0.0.1:"))
	h.login()
	h.initSession()
	h.s.Deliver(Text("friend", "through the tunnel"))
	rc, sel := h.syncCheck(h.pushHost())
	assert.Equal(t, "0", rc)
	assert.Equal(t, "2", sel)
	sr := h.sync()
	require.NotEmpty(t, sr.AddMsgList)
	assert.Equal(t, "through the tunnel", sr.AddMsgList[len(sr.AddMsgList)-1].Content)
	assert.Equal(t, 0, h.sendText(h.s.UserName("friend"), "back", "1").BaseResponse.Ret)
	data := make([]byte, chunkSize+100)
	h.upload("a.bin", "application/octet-stream", "doc", data, "filehelper")
	require.Len(t, h.s.Uploads(), 1)
	assert.Equal(t, data, h.s.Uploads()[0].Data)

	resp, err := h.hc.Get("https://webpush.wx2.qq.com/cgi-bin/mmwebwx-bin/nosuch")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "HTTP/2.0", resp.Proto)
	require.NotNil(t, resp.TLS)
	leaf := resp.TLS.PeerCertificates[0]
	assert.Equal(t, []string{"webpush.wx2.qq.com"}, leaf.DNSNames)
	_, err = leaf.Verify(x509.VerifyOptions{DNSName: "webpush.wx2.qq.com", Roots: p.CertPool()})
	assert.NoError(t, err, "minted from the proxy's CA")
	for _, r := range h.s.Requests() {
		assert.NotZero(t, r.Status, "%s %s", r.Host, r.Path)
	}
}

// TestProxyRefusesOtherHosts: CONNECT and plain requests for hosts that are
// not Web WeChat hosts are refused with 403, logged, and fail WithStrict.
func TestProxyRefusesOtherHosts(t *testing.T) {
	var log, fails logSink
	h, p := proxyHarness(t, WithLogf(log.logf), WithStrict(fails.logf))
	_, err := h.hc.Get("https://example.com/")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Forbidden")
	u, _ := url.Parse(p.URL)
	plain := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(u)}}
	defer plain.CloseIdleConnections()
	resp, err := plain.Get("http://example.com/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Contains(t, log.String(), "proxy: CONNECT example.com: not a Web WeChat host")
	assert.Contains(t, fails.String(), "wechattest: strict: proxy: GET example.com")
	assert.Empty(t, h.s.Requests(), "the fake never saw them")

	// A host made unreachable answers CONNECT with 502.
	h.s.SetUnreachable("login.wx.qq.com", true)
	_, err = h.hc.Get("https://login.wx.qq.com/jslogin?appid=" + appID)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Bad Gateway")
}

// TestProxyPlainHTTP: plain-HTTP proxy requests and requests sent to the
// proxy's port with a Web WeChat Host header reach the fake too.
func TestProxyPlainHTTP(t *testing.T) {
	h, p := proxyHarness(t)
	u, _ := url.Parse(p.URL)
	plain := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(u)}}
	defer plain.CloseIdleConnections()
	resp, err := plain.Get("http://login.wx.qq.com/jslogin?appid=" + appID)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Regexp(t, reQRLogin, string(body))

	req, err := http.NewRequest(http.MethodGet, p.URL+"/jslogin?appid="+appID, nil)
	require.NoError(t, err)
	req.Host = "login.weixin.qq.com"
	direct := &http.Client{}
	resp, err = direct.Do(req)
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	direct.CloseIdleConnections()
	assert.Regexp(t, reQRLogin, string(body))
	// Some libraries send https requests to the proxy in absolute form,
	// without CONNECT.
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.URL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	io.WriteString(conn, "GET https://login.wx.qq.com/jslogin?appid="+appID+" HTTP/1.1\r\nHost: login.wx.qq.com\r\nConnection: close\r\n\r\n")
	raw, err := io.ReadAll(conn)
	require.NoError(t, err)
	assert.Contains(t, string(raw), "window.QRLogin.code = 200;")

	rs := h.s.Requests()
	require.Len(t, rs, 3)
	assert.Equal(t, "login.weixin.qq.com", rs[1].Host)
	assert.Equal(t, "login.wx.qq.com", rs[2].Host)
}

func TestProxyCACert(t *testing.T) {
	h, p := proxyHarness(t)
	_ = h
	path := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, p.WriteCACert(path))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, p.CACert(), b)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
	block, rest := pem.Decode(b)
	require.NotNil(t, block)
	assert.Empty(t, rest)
	ca, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	assert.True(t, ca.IsCA)
	assert.NotEmpty(t, ca.SubjectKeyId, "for strict verifiers (Python 3.13's VERIFY_X509_STRICT)")
	assert.Error(t, p.WriteCACert(filepath.Join(t.TempDir(), "no", "such", "dir", "ca.pem")))

	// No certificate for other names, even through a raw TLS handshake.
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.URL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	io.WriteString(conn, "CONNECT wx2.qq.com:443 HTTP/1.1\r\nHost: wx2.qq.com:443\r\n\r\n")
	buf := make([]byte, 64)
	n, err := conn.Read(buf)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(buf[:n]), "HTTP/1.1 200"), "%q", buf[:n])
	tc := tls.Client(conn, &tls.Config{ServerName: "example.com", RootCAs: p.CertPool()})
	assert.Error(t, tc.Handshake())
}

// TestProxyCloseEndsHeldPolls: Close returns once held long polls have
// ended; later requests fail.
func TestProxyCloseEndsHeldPolls(t *testing.T) {
	h, p := proxyHarness(t, WithLongPoll(time.Hour))
	h.login()
	h.initSession()
	h.sync()
	errs := make(chan error, 1)
	go func() {
		resp, err := h.hc.Do(h.syncCheckRequest(t.Context()))
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		errs <- err
	}()
	require.Eventually(t, func() bool {
		rs := h.s.Requests()
		return len(rs) > 0 && rs[len(rs)-1].Endpoint == "synccheck"
	}, 10*time.Second, time.Millisecond)
	require.NoError(t, p.Close())
	assert.Error(t, <-errs, "the held poll ended with the proxy")
	require.NoError(t, p.Close(), "idempotent")
	_, err := h.hc.Get("https://login.wx.qq.com/jslogin?appid=" + appID)
	assert.Error(t, err)
}
