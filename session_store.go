package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wxkit/wechat/internal/atomicfile"
)

// ErrNoSession is returned by [SessionStore.Load] when nothing is stored.
var ErrNoSession = errors.New("wechat: no stored session")

// Session is what a restart needs to resume a login without a new QR scan ("hot login"):
// the hosts, the credentials, the cookies with all their attributes, the SyncKeys, the ids
// of the messages already handled, the address book and the table that gives contacts
// their ID across logins. It holds secrets: it never prints or logs them (see String and
// LogValue), and [FileStore] writes it with mode 0600.
//
// When the server ends the session, the store keeps a Session holding only Uin and IDs, so
// that contacts keep their IDs at the next login; [Client.Logout] clears the store.
type Session struct {
	Version      int       `json:"version"`
	Mode         string    `json:"mode"` // "desktop" or "web"
	MainHost     string    `json:"main_host"`
	Uin          int64     `json:"uin"`
	Sid          string    `json:"sid"`
	Skey         string    `json:"skey"`
	PassTicket   string    `json:"pass_ticket"`
	DeviceID     string    `json:"device_id"`
	SelfUserName string    `json:"self_user_name,omitempty"`
	SyncKey      []KeyVal  `json:"sync_key,omitempty"`
	SyncCheckKey []KeyVal  `json:"sync_check_key,omitempty"`
	Cookies      []Cookie  `json:"cookies"`
	Handled      []string  `json:"handled,omitempty"` // MsgIds of the messages handled lately, oldest first
	Sent         []string  `json:"sent,omitempty"`    // MsgIds of the messages this client sent lately, whose echoes are not delivered
	SavedAt      time.Time `json:"saved_at"`

	// Contacts is the address book of the session, restored at once by a restart that
	// resumes the session (the loader then refreshes it in the background).
	Contacts []Contact `json:"contacts,omitempty"`
	// ContactsVersion differs whenever Contacts differs (and is empty without contacts): a
	// store may skip encoding an address book whose version it has just saved.
	ContactsVersion string `json:"contacts_version,omitempty"`
	// IDs is the identity table that gives contacts their [Contact.ID] across logins: stable
	// keys ("pid:wxid_...", "uin:...", "alias:...", fingerprints) mapped to IDs, "" for a
	// key two contacts shared. It belongs to the account Uin.
	IDs map[string]string `json:"ids,omitempty"`
}

// KeyVal is one entry of a SyncKey.
type KeyVal struct {
	Key int64 `json:"key"`
	Val int64 `json:"val"`
}

// Cookie is a cookie as the server set it. Domain is empty for a host-only cookie, which then
// belongs to Host.
type Cookie struct {
	Name     string    `json:"name"`
	Value    string    `json:"value"`
	Domain   string    `json:"domain,omitempty"`
	Host     string    `json:"host,omitempty"`
	Path     string    `json:"path,omitempty"`
	Expires  time.Time `json:"expires,omitzero"`
	Secure   bool      `json:"secure,omitempty"`
	HTTPOnly bool      `json:"http_only,omitempty"`
}

const sessionVersion = 1

// String describes the session without its secrets.
func (s *Session) String() string {
	if s == nil {
		return "wechat.Session(nil)"
	}
	return fmt.Sprintf("wechat.Session{host: %s, mode: %s, cookies: %d, contacts: %d, saved: %s}",
		s.MainHost, s.Mode, len(s.Cookies), len(s.Contacts), s.SavedAt.Format(time.RFC3339))
}

// LogValue implements slog.LogValuer: a Session never logs its credentials.
func (s *Session) LogValue() slog.Value {
	if s == nil {
		return slog.StringValue("nil")
	}
	return slog.GroupValue(
		slog.String("host", s.MainHost),
		slog.Bool("has_skey", s.Skey != ""),
		slog.Int("cookies", len(s.Cookies)),
	)
}

// A SessionStore keeps a [Session] between runs of a program. Implementations must be safe
// for concurrent use.
type SessionStore interface {
	// Load returns the stored session, or an error matching ErrNoSession if there is none.
	Load(ctx context.Context) (*Session, error)
	// Save replaces the stored session.
	Save(ctx context.Context, s *Session) error
	// Clear removes the stored session; clearing an empty store is not an error.
	Clear(ctx context.Context) error
}

// FileStore is a [SessionStore] that keeps the session as JSON in one file, written with mode
// 0600 and atomically: a temporary file beside it (named after it, starting with a dot),
// synced, renamed over it, then the directory synced. A temporary file left behind by a
// writer that was killed is removed by the next Load, Save or Clear, so that no copy of the
// credentials outlives the session. It is safe for concurrent use.
type FileStore struct {
	path        string
	mu          sync.Mutex
	bookVersion string // the ContactsVersion of the last save, and its encoding
	bookJSON    []byte
}

// NewFileStore returns a FileStore keeping the session in the file at path.
func NewFileStore(path string) *FileStore { return &FileStore{path: path} }

// Load reads the session. It returns an error matching ErrNoSession if the file does not
// exist, and one matching ErrBadResponse if it cannot be decoded.
func (f *FileStore) Load(ctx context.Context) (*Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removeTemps()
	b, err := os.ReadFile(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("wechat: reading session: %w", err)
	}
	var s Session
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("wechat: session file %s: %w: %w", f.path, ErrBadResponse, jsonError(err))
	}
	if s.Version != sessionVersion {
		return nil, fmt.Errorf("wechat: session file %s has version %d: %w", f.path, s.Version, ErrNoSession)
	}
	return &s, nil
}

// Save writes s atomically with mode 0600. The address book, the bulk of a large account's
// session, is encoded again only when s.ContactsVersion is not that of the previous save.
func (f *FileStore) Save(ctx context.Context, s *Session) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removeTemps()
	b, err := f.encode(s)
	if err != nil {
		return fmt.Errorf("wechat: encoding session: %w", err)
	}
	if err := atomicfile.WriteFile(f.path, b, 0o600); err != nil {
		return fmt.Errorf("wechat: saving session: %w", err)
	}
	return nil
}

// encode marshals s, reusing the encoding of an unchanged address book.
func (f *FileStore) encode(s *Session) ([]byte, error) {
	if len(s.Contacts) == 0 {
		return json.Marshal(s)
	}
	if s.ContactsVersion == "" || s.ContactsVersion != f.bookVersion {
		enc, err := json.Marshal(s.Contacts)
		if err != nil {
			return nil, err
		}
		f.bookVersion, f.bookJSON = s.ContactsVersion, enc
	}
	type session Session // without its methods
	return json.Marshal(struct {
		*session
		Contacts json.RawMessage `json:"contacts"`
	}{(*session)(s), f.bookJSON})
}

// Clear removes the file and any temporary file of it.
func (f *FileStore) Clear(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removeTemps()
	f.bookVersion, f.bookJSON = "", nil
	if err := os.Remove(f.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("wechat: clearing session: %w", err)
	}
	return nil
}

// removeTemps removes the temporary files a killed save of f.path left behind.
func (f *FileStore) removeTemps() { atomicfile.RemoveStale(f.path) }

// recordingJar wraps the client's cookie jar and remembers every cookie with its attributes,
// which net/http/cookiejar does not give back, so that a session can be saved and restored
// with Domain and expiry intact (PROTOCOL 3.6, 12.3). The Client's requests take their cookies
// from it and give it their answers' cookies (header, setFrom) as an http.Client with the jar
// would, keeping what a long sync makes it do again and again: the Cookie header of the same
// cookies, the Set-Cookie lines just applied.
type recordingJar struct {
	inner   http.CookieJar
	own     bool              // inner is the Client's own: nothing else changes it
	mu      sync.Mutex        // also serialises the changes of inner, for last
	all     map[string]Cookie // by domain-or-host, path, name
	version uint64            // bumped by every change of all

	hdr     string         // the Cookie header of hdrOf
	hdrOf   []*http.Cookie // the cookies of the last header built
	last    []string       // the Set-Cookie lines of the last change of inner, if setFrom made it
	lastURL url.URL        // ... for this URL
}

// header returns the Cookie header of the jar's cookies for u, as http.Client builds it
// (Request.AddCookie for each), or "" without cookies. The header built last is kept for the
// same cookies.
func (j *recordingJar) header(u *url.URL) string {
	cookies := j.inner.Cookies(u)
	j.mu.Lock()
	defer j.mu.Unlock()
	if !sameCookies(cookies, j.hdrOf) {
		r := &http.Request{Header: make(http.Header, 1)}
		for _, c := range cookies {
			r.AddCookie(c)
		}
		j.hdr, j.hdrOf = r.Header.Get("Cookie"), cookies
	}
	return j.hdr
}

// sameCookies reports whether a and b are the same cookies as a Cookie header shows them.
func sameCookies(a, b []*http.Cookie) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Value != b[i].Value || a[i].Quoted != b[i].Quoted {
			return false
		}
	}
	return true
}

// setFrom gives the jar the cookies of resp, the answer to a request for u, as http.Client
// does (SetCookies with resp.Cookies(), if there are any). With the Client's own jar, an answer
// whose Set-Cookie lines are those of the last change of the jar, for the same URL, is skipped:
// applying them again would change nothing a request or a snapshot shows (webwxsync sets the
// same six cookies on every answer within a second). Lines with a Max-Age, whose expiry counts
// from now, are always applied.
func (j *recordingJar) setFrom(u *url.URL, resp *http.Response) {
	lines := resp.Header["Set-Cookie"]
	if len(lines) == 0 {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.own && j.last != nil && j.lastURL == *u && slices.Equal(lines, j.last) {
		return
	}
	rc := resp.Cookies()
	if len(rc) == 0 {
		return
	}
	j.setLocked(u, rc)
	if j.own && !hasMaxAge(lines) {
		j.last, j.lastURL = slices.Clone(lines), *u
	}
}

// hasMaxAge reports whether a Set-Cookie line has a Max-Age attribute.
func hasMaxAge(lines []string) bool {
	for _, l := range lines {
		if strings.Contains(strings.ToLower(l), "max-age") {
			return true
		}
	}
	return false
}

func (j *recordingJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.setLocked(u, cookies)
}

// setLocked gives cookies to the inner jar and records them; j.mu is held.
func (j *recordingJar) setLocked(u *url.URL, cookies []*http.Cookie) {
	j.inner.SetCookies(u, cookies)
	j.last = nil
	now := time.Now()
	if j.all == nil {
		j.all = make(map[string]Cookie)
	}
	j.version++
	for _, c := range cookies {
		rc := Cookie{Name: c.Name, Value: c.Value, Path: c.Path, Secure: c.Secure, HTTPOnly: c.HttpOnly}
		if rc.Path == "" || rc.Path[0] != '/' {
			rc.Path = "/"
		}
		if c.Domain != "" {
			rc.Domain = "." + strings.TrimPrefix(strings.ToLower(c.Domain), ".")
		} else {
			rc.Host = u.Hostname()
		}
		switch {
		case c.MaxAge < 0:
			rc.Expires = now.Add(-time.Second)
		case c.MaxAge > 0:
			rc.Expires = now.Add(time.Duration(c.MaxAge) * time.Second)
		case !c.Expires.IsZero():
			rc.Expires = c.Expires
		}
		k := rc.Domain + rc.Host + "\x00" + rc.Path + "\x00" + rc.Name
		if !rc.Expires.IsZero() && !rc.Expires.After(now) {
			delete(j.all, k)
			continue
		}
		j.all[k] = rc
	}
}

func (j *recordingJar) Cookies(u *url.URL) []*http.Cookie { return j.inner.Cookies(u) }

// changes returns the version of the jar: it grows with every change of the cookies.
func (j *recordingJar) changes() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.version
}

// snapshot returns the live cookies, and the version of the jar.
func (j *recordingJar) snapshot() ([]Cookie, uint64) {
	now := time.Now()
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]Cookie, 0, len(j.all))
	for _, c := range j.all {
		if c.Expires.IsZero() || c.Expires.After(now) {
			out = append(out, c)
		}
	}
	return out, j.version
}

// restore puts saved cookies back into the jar, as if the server had set them again.
func (j *recordingJar) restore(cookies []Cookie) {
	for _, c := range cookies {
		host := c.Host
		hc := &http.Cookie{Name: c.Name, Value: c.Value, Path: c.Path, Secure: c.Secure, HttpOnly: c.HTTPOnly, Expires: c.Expires}
		if c.Domain != "" {
			host = strings.TrimPrefix(c.Domain, ".")
			hc.Domain = c.Domain
		}
		if host == "" {
			continue
		}
		j.SetCookies(&url.URL{Scheme: "https", Host: host, Path: "/"}, []*http.Cookie{hc})
	}
}

// reset forgets the recorded cookies (after a logout). The inner jar's cookies expire on
// their own and are replaced by the next login.
func (j *recordingJar) reset() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.all = nil
	j.last = nil
	j.version++
}
