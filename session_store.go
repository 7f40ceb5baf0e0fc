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
	"path/filepath"
	"strings"
	"sync"
	"time"
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
	SavedAt      time.Time `json:"saved_at"`

	// Contacts is the address book of the session, restored at once by a restart that
	// resumes the session (the loader then refreshes it in the background).
	Contacts []Contact `json:"contacts,omitempty"`
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
// 0600 and atomically (a temporary file beside it, synced, then renamed). It is safe for
// concurrent use.
type FileStore struct {
	path     string
	mu       sync.Mutex
	book     []Contact // the Contacts of the last save, and their encoding
	bookJSON []byte
}

// NewFileStore returns a FileStore keeping the session in the file at path.
func NewFileStore(path string) *FileStore { return &FileStore{path: path} }

// Load reads the session. It returns an error matching ErrNoSession if the file does not
// exist, and one matching ErrBadResponse if it cannot be decoded.
func (f *FileStore) Load(ctx context.Context) (*Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
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
// session, is encoded again only when s.Contacts is not the slice of the previous save: the
// Client hands the same slice while the book does not change.
func (f *FileStore) Save(ctx context.Context, s *Session) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := f.encode(s)
	if err != nil {
		return fmt.Errorf("wechat: encoding session: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.path), "."+filepath.Base(f.path)+".tmp*")
	if err != nil {
		return fmt.Errorf("wechat: saving session: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if err := tmp.Chmod(0o600); err == nil {
		_, err = tmp.Write(b)
		if err == nil {
			err = tmp.Sync()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), f.path)
		}
		if err == nil {
			return nil
		}
	}
	tmp.Close()
	return fmt.Errorf("wechat: saving session: %w", err)
}

// encode marshals s, reusing the encoding of an unchanged address book.
func (f *FileStore) encode(s *Session) ([]byte, error) {
	if len(s.Contacts) == 0 {
		return json.Marshal(s)
	}
	if len(f.book) != len(s.Contacts) || &f.book[0] != &s.Contacts[0] {
		enc, err := json.Marshal(s.Contacts)
		if err != nil {
			return nil, err
		}
		f.book, f.bookJSON = s.Contacts, enc
	}
	type session Session // without its methods
	return json.Marshal(struct {
		*session
		Contacts json.RawMessage `json:"contacts"`
	}{(*session)(s), f.bookJSON})
}

// Clear removes the file.
func (f *FileStore) Clear(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := os.Remove(f.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("wechat: clearing session: %w", err)
	}
	return nil
}

// recordingJar wraps the client's cookie jar and remembers every cookie with its attributes,
// which net/http/cookiejar does not give back, so that a session can be saved and restored
// with Domain and expiry intact (PROTOCOL 3.6, 12.3).
type recordingJar struct {
	inner http.CookieJar
	mu    sync.Mutex
	all   map[string]Cookie // by domain-or-host, path, name
}

func (j *recordingJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	j.inner.SetCookies(u, cookies)
	now := time.Now()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.all == nil {
		j.all = make(map[string]Cookie)
	}
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

// snapshot returns the live cookies.
func (j *recordingJar) snapshot() []Cookie {
	now := time.Now()
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]Cookie, 0, len(j.all))
	for _, c := range j.all {
		if c.Expires.IsZero() || c.Expires.After(now) {
			out = append(out, c)
		}
	}
	return out
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
}

func keyVals(k syncKey) []KeyVal {
	out := make([]KeyVal, len(k.List))
	for i, p := range k.List {
		out[i] = KeyVal{Key: int64(p.Key), Val: int64(p.Val)}
	}
	return out
}

func fromKeyVals(kv []KeyVal) syncKey {
	k := syncKey{Count: len(kv), List: make([]syncKeyPair, len(kv))}
	for i, p := range kv {
		k.List[i] = syncKeyPair{Key: p.Key, Val: p.Val}
	}
	return k
}

// pushHint is what a push login needs from an earlier session.
type pushHint struct {
	uin  int64
	main string
}

// snapshot returns the session to save: the credentials, the committed keys, the cookies and
// the handled ids. It returns nil without a session.
func (c *Client) snapshot() *Session {
	c.mu.Lock()
	s, committed := c.session, c.committed
	c.mu.Unlock()
	if s == nil {
		return nil
	}
	_, ids := c.contacts.exportIDs()
	return &Session{
		Version:      sessionVersion,
		Mode:         c.cfg.mode.String(),
		MainHost:     s.hosts.main,
		Uin:          s.uin,
		Sid:          s.sid,
		Skey:         s.skey,
		PassTicket:   s.passTicket,
		DeviceID:     s.deviceID,
		SelfUserName: s.self,
		SyncKey:      keyVals(committed.syncKey),
		SyncCheckKey: keyVals(committed.syncCheckKey),
		Cookies:      c.jar.snapshot(),
		Handled:      c.handled.list(),
		SavedAt:      time.Now().UTC(),
		Contacts:     c.book(),
		IDs:          ids,
	}
}

// save writes the session to the store, if there is one. A failure is logged: the session
// keeps running, and the next save tries again.
func (c *Client) save(ctx context.Context) {
	if c.cfg.store == nil {
		return
	}
	c.saveMu.Lock()
	defer c.saveMu.Unlock()
	snap := c.snapshot()
	if snap == nil {
		return
	}
	if err := c.cfg.store.Save(ctx, snap); err != nil {
		c.log.Warn("saving the session failed", "err", err)
	}
}

// saveSoon asks the save loop to save the session.
func (c *Client) saveSoon() {
	select {
	case c.saveCh <- struct{}{}:
	default:
	}
}

const saveInterval = time.Second

// saveLoop saves the session when asked, at most once per saveInterval, until ctx ends.
// Run saves once more after it has stopped its handlers.
func (c *Client) saveLoop(ctx context.Context) {
	if c.cfg.store == nil {
		return
	}
	var (
		last  time.Time
		timer *time.Timer
		fire  <-chan time.Time
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.saveCh:
			if fire != nil {
				continue // a save is already scheduled
			}
			timer = time.NewTimer(max(0, saveInterval-time.Since(last)))
			fire = timer.C
		case <-fire:
			fire = nil
			c.save(ctx)
			last = time.Now()
		}
	}
}

// clearStore removes the stored session, if there is a store. With keepIDs (the server ended
// the session), a Session that holds only the identity table replaces it, if the table is not
// empty: an expired session must not cost the contacts their IDs (Contact.ID). Logout removes
// everything.
func (c *Client) clearStore(ctx context.Context, keepIDs bool) {
	if c.cfg.store == nil {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	c.saveMu.Lock()
	defer c.saveMu.Unlock()
	if uin, ids := c.contacts.exportIDs(); keepIDs && len(ids) > 0 {
		st := &Session{Version: sessionVersion, Uin: uin, IDs: ids, SavedAt: time.Now().UTC()}
		if err := c.cfg.store.Save(cctx, st); err != nil {
			c.log.Warn("saving the contact IDs failed", "err", err)
		}
		return
	}
	if err := c.cfg.store.Clear(cctx); err != nil {
		c.log.Warn("clearing the stored session failed", "err", err)
	}
}

// restore resumes the stored session, checked with webwxinit (PROTOCOL 12.4). It reports false
// when there is no usable stored session; the stored cookies then stay in the jar for a push
// login. It returns an error only when the check failed for another reason than a dead
// session (the network, ctx), in which case the stored session is kept for the next try.
func (c *Client) restore(ctx context.Context) (bool, error) {
	if c.cfg.store == nil {
		return false, nil
	}
	st, err := c.cfg.store.Load(ctx)
	if err != nil {
		if !errors.Is(err, ErrNoSession) {
			c.log.Warn("loading the stored session failed", "err", err)
		}
		return false, nil
	}
	c.contacts.loadIDs(st.Uin, st.IDs) // for this login or the next one, whichever it is
	if st.MainHost == "" || st.Uin == 0 || st.Sid == "" {
		return false, nil
	}
	c.jar.restore(st.Cookies)
	c.handled.reset(st.Handled)
	deviceID := st.DeviceID
	if deviceID == "" {
		deviceID = newDeviceID()
	}
	c.installSession(&session{
		hosts:        hostsFor(st.MainHost),
		uin:          st.Uin,
		sid:          st.Sid,
		skey:         st.Skey,
		passTicket:   st.PassTicket,
		deviceID:     deviceID,
		syncKey:      fromKeyVals(st.SyncKey),
		syncCheckKey: fromKeyVals(st.SyncCheckKey),
	})
	// The same session, so the same UserNames: the saved address book is good until the
	// loader has refreshed it. webwxinit's contacts, put next, are fresher.
	c.contacts.restore(st.Contacts)
	err = c.webwxInit(ctx)
	if err == nil {
		c.log.Info("login: resumed the stored session", "host", st.MainHost)
		return true, nil
	}
	c.endSession()
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	var e *Error
	if errors.As(err, &e) && e.Ret != 0 || errors.Is(err, ErrBadResponse) {
		c.log.Info("login: the stored session is no longer valid", "err", err)
		return false, nil
	}
	return false, err
}
