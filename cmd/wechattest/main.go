// Command wechattest runs the wechattest fake Web WeChat server on its own,
// so that a bot written in any language can be tested against it in CI:
//
//	go run github.com/wxkit/wechat/cmd/wechattest -scenario scenario.json
//
// It serves the fake as an HTTPS proxy for the Web WeChat hosts (-proxy):
// point the bot at it with HTTPS_PROXY and make it trust the proxy's
// certificate authority, which is written to a PEM file (-ca) for
// SSL_CERT_FILE (Go, OpenSSL), REQUESTS_CA_BUNDLE (Python requests) or
// NODE_EXTRA_CA_CERTS (Node). With -http it also serves the fake as plain
// HTTP, routed on the Host header, for clients whose transport a test
// controls. A small admin API (-admin) plays the phone and reads what the
// bot did: POST /confirm confirms the QR scan, POST /deliver delivers a
// message, GET /sent lists the messages the bot sent; see admin.go.
//
// The account, messages waiting for the first session and faults come from
// a JSON scenario file (-scenario, see scenario.go); without one the
// account is wechattest.DefaultAccount. The addresses are printed on
// standard output once the server listens, and written as JSON to
// -addr-file if given. The server runs until interrupted or POST /shutdown.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wxkit/wechat/wechattest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "wechattest:", err)
		os.Exit(1)
	}
}

// addrs are the addresses the server listens on, as -addr-file has them.
type addrs struct {
	Proxy string `json:"proxy,omitempty"` // http://host:port, for HTTPS_PROXY
	HTTP  string `json:"http,omitempty"`  // http://host:port, plain HTTP routed on Host
	Admin string `json:"admin"`           // http://host:port
	CA    string `json:"ca,omitempty"`    // the CA certificate file
}

// run runs the server with the command-line arguments args until ctx ends
// or the admin API is told to shut down. It returns an error if the
// arguments or the scenario are wrong, if it cannot listen, and, with
// -strict, if a client asked for a path or host the fake does not serve.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wechattest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	proxyAddr := fs.String("proxy", "127.0.0.1:8443", "serve the HTTPS proxy on `addr` (\"\": no proxy)")
	httpAddr := fs.String("http", "", "also serve plain HTTP, routed on the Host header, on `addr`")
	adminAddr := fs.String("admin", "127.0.0.1:8444", "serve the admin API on `addr`")
	caFile := fs.String("ca", filepath.Join(os.TempDir(), "wechattest-ca.pem"), "write the proxy's CA certificate to `file`")
	scenarioFile := fs.String("scenario", "", "seed the fake from the JSON scenario `file`")
	longPoll := fs.Duration("longpoll", 25*time.Second, "how long the login poll and synccheck hold, like the real server")
	addrFile := fs.String("addr-file", "", "write the addresses as JSON to `file` once listening")
	verbose := fs.Bool("v", false, "log every refusal and injected fault on standard error")
	strict := fs.Bool("strict", false, "report requests for paths or hosts the fake does not serve, and fail at exit if there were any")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	sc, err := loadScenario(*scenarioFile)
	if err != nil {
		return err
	}

	logger := log.New(stderr, "wechattest: ", log.LstdFlags)
	var violations strictLog
	opts := sc.options(*longPoll)
	if *verbose {
		opts = append(opts, wechattest.WithLogf(func(f string, a ...any) { logger.Printf(strings.TrimPrefix(f, "wechattest: "), a...) }))
	}
	if *strict {
		opts = append(opts, wechattest.WithStrict(func(f string, a ...any) {
			violations.add(fmt.Sprintf(f, a...))
			logger.Printf("ERROR "+strings.TrimPrefix(f, "wechattest: "), a...)
		}))
	}
	srv, err := newServer(opts)
	if err != nil {
		return err
	}
	defer srv.Close()
	if err := sc.start(srv); err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		out     addrs
		servers []*http.Server
		serving sync.WaitGroup
		errs    = make(chan error, 3)
	)
	serve := func(hs *http.Server, ln net.Listener) {
		servers = append(servers, hs)
		serving.Go(func() {
			if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				errs <- err
			}
		})
	}
	var ca []byte
	if *proxyAddr != "" {
		ln, err := net.Listen("tcp", *proxyAddr)
		if err != nil {
			return err
		}
		p, err := wechattest.NewProxy(srv, ln)
		if err != nil {
			ln.Close()
			return err
		}
		defer p.Close()
		if err := p.WriteCACert(*caFile); err != nil {
			return err
		}
		ca = p.CACert()
		out.Proxy, out.CA = p.URL, *caFile
	}
	if *httpAddr != "" {
		ln, err := net.Listen("tcp", *httpAddr)
		if err != nil {
			return err
		}
		serve(&http.Server{Handler: srv, ReadHeaderTimeout: 30 * time.Second}, ln)
		out.HTTP = "http://" + ln.Addr().String()
	}
	ln, err := net.Listen("tcp", *adminAddr)
	if err != nil {
		return err
	}
	adm := &admin{srv: srv, ca: ca, shutdown: cancel, strict: violations.list}
	serve(&http.Server{Handler: adm.handler(), ReadHeaderTimeout: 30 * time.Second}, ln)
	out.Admin = "http://" + ln.Addr().String()

	if out.Proxy != "" {
		fmt.Fprintf(stdout, "wechattest: proxy %s (HTTPS_PROXY)\n", out.Proxy)
		fmt.Fprintf(stdout, "wechattest: CA certificate %s (SSL_CERT_FILE, REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS)\n", out.CA)
	}
	if out.HTTP != "" {
		fmt.Fprintf(stdout, "wechattest: plain HTTP %s (routed on the Host header)\n", out.HTTP)
	}
	fmt.Fprintf(stdout, "wechattest: admin API %s\n", out.Admin)
	if *addrFile != "" {
		b, _ := json.Marshal(out)
		err = os.WriteFile(*addrFile, append(b, '\n'), 0o644)
	}

	if err == nil {
		select {
		case <-ctx.Done():
		case err = <-errs:
		}
	}
	srv.Close() // ends held polls and waits: the servers' requests end at once
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	for _, hs := range servers {
		if hs.Shutdown(sctx) != nil {
			hs.Close()
		}
	}
	scancel()
	serving.Wait()
	if err != nil {
		return err
	}
	if v := violations.list(); len(v) > 0 {
		return fmt.Errorf("strict: %d requests for paths or hosts the fake does not serve; the first: %s", len(v), v[0])
	}
	return nil
}

// newServer is wechattest.NewServer, its panic on a bad main host turned
// into an error.
func newServer(opts []wechattest.Option) (srv *wechattest.Server, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%v", v)
		}
	}()
	return wechattest.NewServer(opts...), nil
}

// strictLog collects the strict-mode violations.
type strictLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *strictLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
}

func (l *strictLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}
