package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/wxkit/wechat/wechattest"
)

// A scenario seeds the fake: the account, the messages waiting for the
// first session, the faults waiting for their requests. It is read from a
// JSON file (-scenario); unknown keys are an error, so a typo does not pass
// silently. Names match case-insensitively, as encoding/json does.
//
//	{
//	  "mainHost": "wx2.qq.com",
//	  "longPoll": "25s",
//	  "confirmLogin": true,
//	  "account": {"Self": {"ID": "self", "NickName": "Bot"}, "Contacts": [...], "Groups": [...]},
//	  "deliver": [{"From": "friend", "Text": "ping"}],
//	  "faults": [{"endpoint": "synccheck", "fault": "BadGateway", "count": 2}]
//	}
type scenario struct {
	// MainHost is the main host of the login redirect; "" means wx2.qq.com.
	MainHost string `json:"mainHost"`
	// LongPoll is how long the login poll and synccheck hold ("25s"); ""
	// means the -longpoll flag.
	LongPoll duration `json:"longPoll"`
	// ConfirmLogin makes the phone scan and confirm the first QR code as
	// soon as a client asks for one.
	ConfirmLogin bool `json:"confirmLogin"`
	// WebLoginBanned makes the web login answer 1203 unless the client
	// logs in as UOS desktop.
	WebLoginBanned bool `json:"webLoginBanned"`
	// Account is the account; absent means wechattest.DefaultAccount.
	Account *wechattest.Account `json:"account"`
	// Deliver lists messages delivered at start: they wait for the first
	// session and arrive in its first webwxsync.
	Deliver []wechattest.Message `json:"deliver"`
	// Faults lists faults injected at start.
	Faults []faultJSON `json:"faults"`
}

// faultJSON is a fault of a scenario or of POST /fault.
type faultJSON struct {
	Endpoint string           `json:"endpoint"` // "synccheck", "webwxsync", "send", "download", ...
	Fault    wechattest.Fault `json:"fault"`    // "Reset", "BadGateway", "Code", "Delay", ...
	Code     int              `json:"code"`     // for "Code"
	Duration duration         `json:"duration"` // for "Delay", "SlowBody", "ClockSkew": "5s"
	Count    int              `json:"count"`    // requests to fail; 0 means 1
}

// inject injects f into srv, turning Inject's panic on a bad fault into an
// error.
func (f faultJSON) inject(srv *wechattest.Server) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%v", v)
		}
	}()
	n := f.Count
	if n == 0 {
		n = 1
	}
	srv.Inject(f.Endpoint, wechattest.FaultSpec{Fault: f.Fault, Code: f.Code, Duration: time.Duration(f.Duration)}, n)
	return nil
}

// duration is a time.Duration written as a string ("25s") in JSON.
type duration time.Duration

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`a duration is a string such as "25s"`)
	}
	v, err := time.ParseDuration(s)
	*d = duration(v)
	return err
}

func (d duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// loadScenario reads the scenario file path; "" means the empty scenario.
func loadScenario(path string) (*scenario, error) {
	sc := &scenario{}
	if path == "" {
		return sc, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(sc); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	return sc, nil
}

// options are the server options of the scenario; longPoll is the -longpoll
// flag, which the scenario's longPoll overrides.
func (sc *scenario) options(longPoll time.Duration) []wechattest.Option {
	var opts []wechattest.Option
	if sc.MainHost != "" {
		opts = append(opts, wechattest.WithMainHost(sc.MainHost))
	}
	if sc.LongPoll > 0 {
		longPoll = time.Duration(sc.LongPoll)
	}
	opts = append(opts, wechattest.WithLongPoll(longPoll))
	if sc.WebLoginBanned {
		opts = append(opts, wechattest.WithWebLoginBanned())
	}
	if sc.Account != nil {
		opts = append(opts, wechattest.WithAccount(*sc.Account))
	}
	return opts
}

// start applies what the scenario does at start to srv.
func (sc *scenario) start(srv *wechattest.Server) error {
	if sc.ConfirmLogin {
		srv.ConfirmLogin()
	}
	srv.Deliver(sc.Deliver...)
	for i, f := range sc.Faults {
		if err := f.inject(srv); err != nil {
			return fmt.Errorf("scenario: fault %d: %w", i, err)
		}
	}
	return nil
}
