package wechattest_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/wxkit/wechat/wechattest"
)

const jslogin = "https://login.wx.qq.com/jslogin?appid=wx782c26e4c19acffb&fun=new"

func get(hc *http.Client, url string) string {
	resp, err := hc.Get(url)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %.30s", resp.StatusCode, strings.ReplaceAll(string(b), "\r\n", " "))
}

// A fault meets the next requests to its endpoint; then the real answers
// come again.
func ExampleServer_Inject() {
	srv := wechattest.NewServer()
	defer srv.Close()
	srv.Inject("jslogin", wechattest.FaultSpec{Fault: wechattest.FaultBadGateway}, 1)
	hc := srv.Client()
	fmt.Println(get(hc, jslogin))
	fmt.Println(get(hc, jslogin))
	fmt.Println(srv.Requests()[0].Fault)
	// Output:
	// 502 <html> <head><title>502 Bad Ga
	// 200 window.QRLogin.code = 200; win
	// BadGateway
}

// WithLogf explains every refusal; Requests records its code and reason.
func ExampleWithLogf() {
	srv := wechattest.NewServer(wechattest.WithLogf(func(format string, args ...any) {
		fmt.Printf(format+"\n", args...)
	}))
	defer srv.Close()
	get(srv.Client(), "https://login.wx.qq.com/jslogin?appid=wxeb7ec651dd0aefa9")
	r := srv.Requests()[0]
	fmt.Println(r.Endpoint, r.Ret, r.Refused())
	// Output:
	// wechattest: refused GET https://login.wx.qq.com/jslogin with 400: appid is not wx782c26e4c19acffb, the Web WeChat AppID (PROTOCOL 4.1)
	// jslogin 400 true
}

// A Proxy serves the fake to clients that know nothing of it: over TCP and
// TLS, with certificates from its own CA.
func ExampleNewProxy() {
	srv := wechattest.NewServer()
	defer srv.Close()
	p, err := wechattest.NewProxy(srv, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	fmt.Println(strings.HasPrefix(p.URL, "http://127.0.0.1:"))
	hc := p.Client() // or any client with HTTPS_PROXY=p.URL and p.CACert() trusted
	defer hc.CloseIdleConnections()
	fmt.Println(get(hc, jslogin))
	// Output:
	// true
	// 200 window.QRLogin.code = 200; win
}
