package wechattest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// A Proxy serves a [Server] as an HTTP proxy for the Web WeChat hosts, so
// that any client, in any language, can be tested unmodified: pointed at
// the proxy through the standard environment (HTTPS_PROXY, and the CA
// bundle setting of its language: SSL_CERT_FILE for Go and OpenSSL,
// REQUESTS_CA_BUNDLE for Python requests, NODE_EXTRA_CA_CERTS for Node), it
// runs its real code against the fake.
//
// The proxy answers CONNECT for the Web WeChat hosts ([IsWeChatHost]) and
// terminates TLS itself, with a certificate for the host that it mints from
// its own certificate authority ([Proxy.CACert]); the requests inside the
// tunnel (HTTP/1.1 or HTTP/2) go to the Server's ServeHTTP. It also serves
// requests sent to it in absolute form (GET http://wx2.qq.com/..., or
// https://, as some libraries send them without CONNECT) and requests sent
// to it directly with a Web WeChat Host header. CONNECT to any other host is
// refused with 403 and logged ([WithLogf]; a failure with [WithStrict]): the
// proxy never reaches the Internet. A host made unreachable with
// [Server.SetUnreachable] answers CONNECT with 502.
//
// A Proxy owns a listener and the goroutines that serve it; [Proxy.Close]
// stops them. Its methods are safe for concurrent use.
type Proxy struct {
	// URL is the proxy's address, such as "http://127.0.0.1:54321": the
	// value for HTTPS_PROXY (and HTTP_PROXY).
	URL string

	s     *Server
	ca    *authority
	ln    net.Listener
	outer *http.Server // CONNECT, plain-HTTP proxy requests, direct requests
	inner *http.Server // the requests inside the tunnels
	tun   *connListener

	mu       sync.Mutex
	closed   bool
	handlers sync.WaitGroup // requests being served
	serving  sync.WaitGroup // the Serve goroutines
}

// NewProxy starts a proxy for s on ln, or, if ln is nil, on a new listener
// on 127.0.0.1 with a port the system chooses. It creates a new certificate
// authority for the proxy. It returns an error if it cannot listen or
// create the authority; ln is then left open.
func NewProxy(s *Server, ln net.Listener) (*Proxy, error) {
	ca, err := newAuthority()
	if err != nil {
		return nil, err
	}
	if ln == nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("wechattest: proxy: %w", err)
		}
	}
	p := &Proxy{
		URL: "http://" + ln.Addr().String(),
		s:   s,
		ca:  ca,
		ln:  ln,
		tun: &connListener{addr: ln.Addr(), conns: make(chan net.Conn), done: make(chan struct{})},
	}
	errLog := log.New(logWriter{s}, "", 0)
	p.outer = &http.Server{Handler: http.HandlerFunc(p.serveOuter), ErrorLog: errLog, ReadHeaderTimeout: 30 * time.Second}
	p.inner = &http.Server{
		Handler:   p.track(s),
		ErrorLog:  errLog,
		TLSConfig: &tls.Config{GetCertificate: ca.certFor, MinVersion: tls.VersionTLS12},
	}
	p.serving.Add(2)
	go func() {
		defer p.serving.Done()
		p.outer.Serve(ln)
	}()
	go func() {
		defer p.serving.Done()
		p.inner.ServeTLS(p.tun, "", "")
	}()
	return p, nil
}

// CACert returns the certificate of the proxy's certificate authority, PEM
// encoded: the bundle a client must trust.
func (p *Proxy) CACert() []byte { return append([]byte(nil), p.ca.pem...) }

// CertPool returns a new pool holding only the proxy's certificate
// authority, for a Go client's tls.Config.RootCAs.
func (p *Proxy) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.ca.cert)
	return pool
}

// WriteCACert writes [Proxy.CACert] to the file path (mode 0644, through a
// temporary file beside it that is renamed), for SSL_CERT_FILE and its
// equivalents. It returns the error of the first step that fails.
func (p *Proxy) WriteCACert(path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".wechattest-ca-*.pem")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(p.ca.pem); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// Client returns a new *http.Client that reaches the Server through the
// proxy, over TCP and TLS, trusting only the proxy's authority; it has a
// fresh cookie jar and follows no redirects, like [Server.Client]. Its
// connections close with [Proxy.Close] or the client's
// CloseIdleConnections.
func (p *Proxy) Client() *http.Client {
	u, _ := url.Parse(p.URL)
	jar, _ := cookiejar.New(nil) // never fails with nil options
	return &http.Client{
		Transport: &http.Transport{
			Proxy:             http.ProxyURL(u),
			TLSClientConfig:   &tls.Config{RootCAs: p.CertPool()},
			ForceAttemptHTTP2: true,
		},
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Close stops the proxy: it closes its listener and every connection, and
// returns once every request it was serving has returned. It does not close
// the Server. Close is idempotent and returns nil.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	p.tun.close()
	p.outer.Close()
	p.inner.Close()
	p.serving.Wait()
	p.handlers.Wait()
	return nil
}

// track wraps h so that Close waits for the requests it serves, and drops
// the ones that come after Close.
func (p *Proxy) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			panic(http.ErrAbortHandler)
		}
		p.handlers.Add(1)
		p.mu.Unlock()
		defer p.handlers.Done()
		h.ServeHTTP(w, r)
	})
}

// serveOuter answers what reaches the proxy's own port.
func (p *Proxy) serveOuter(w http.ResponseWriter, r *http.Request) {
	host := canonicalHost(r.Host)
	if r.Method != http.MethodConnect {
		if r.URL.Host != "" {
			host = canonicalHost(r.URL.Host) // a plain-HTTP proxy request
			r.Host = r.URL.Host
		}
		if !IsWeChatHost(host) {
			p.refuseHost(w, r.Method, host)
			return
		}
		p.track(p.s).ServeHTTP(w, r)
		return
	}
	if !IsWeChatHost(host) {
		p.refuseHost(w, "CONNECT", host)
		return
	}
	if err := p.s.reachable(host); err != nil {
		http.Error(w, "wechattest: "+err.Error(), http.StatusBadGateway)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "wechattest: cannot tunnel: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		conn.Close()
		return
	}
	if n := brw.Reader.Buffered(); n > 0 {
		// The client sent its TLS hello with the CONNECT.
		buf, _ := brw.Reader.Peek(n)
		conn = &prefixConn{Conn: conn, prefix: append([]byte(nil), buf...)}
	}
	p.tun.hand(conn)
}

// refuseHost answers 403 to a request for a host that is not a Web WeChat
// host, and reports it.
func (p *Proxy) refuseHost(w http.ResponseWriter, method, host string) {
	p.s.mu.Lock()
	p.s.unknownLocked("proxy: %s %s: not a Web WeChat host; answered 403", method, host)
	p.s.mu.Unlock()
	http.Error(w, "wechattest: "+host+" is not a Web WeChat host", http.StatusForbidden)
}

// connListener is a net.Listener of the tunnels' connections.
type connListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// hand passes c to the server of the tunnels, or closes it after Close.
func (l *connListener) hand(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *connListener) close() { l.once.Do(func() { close(l.done) }) }

// Close implements net.Listener; the proxy closes the listener itself.
func (l *connListener) Close() error { l.close(); return nil }

func (l *connListener) Addr() net.Addr { return l.addr }

// prefixConn is a connection whose first bytes were already read.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(b []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(b, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}

// logWriter sends the errors of the proxy's HTTP servers to WithLogf.
type logWriter struct{ s *Server }

func (w logWriter) Write(b []byte) (int, error) {
	w.s.mu.Lock()
	w.s.logfLocked("proxy: %s", strings.TrimRight(string(b), "\n"))
	w.s.mu.Unlock()
	return len(b), nil
}

// authority is the proxy's certificate authority.
type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte

	mu     sync.Mutex
	leaves map[string]*tls.Certificate
}

// newAuthority creates a self-signed authority, valid for ten years.
func newAuthority() (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("wechattest: proxy CA: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "wechattest proxy CA", Organization: []string{"wechattest"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("wechattest: proxy CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("wechattest: proxy CA: %w", err)
	}
	return &authority{
		cert:   cert,
		key:    key,
		pem:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		leaves: make(map[string]*tls.Certificate),
	}, nil
}

// certFor mints (once per host) the certificate of the Web WeChat host the
// client names in its TLS hello.
func (a *authority) certFor(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	host := canonicalHost(hello.ServerName)
	if !IsWeChatHost(host) {
		return nil, errors.New("wechattest: no certificate for " + host + ": not a Web WeChat host")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if c := a.leaves[host]; c != nil {
		return c, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return nil, err
	}
	c := &tls.Certificate{Certificate: [][]byte{der, a.cert.Raw}, PrivateKey: key}
	a.leaves[host] = c
	return c, nil
}

// serial returns a random certificate serial number.
func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}
