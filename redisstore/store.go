package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wxkit/wechat"
)

// DefaultTTL is the lease's time to live when no [WithTTL] option is given.
const DefaultTTL = 10 * time.Second

// DefaultPrefix starts the Store's keys when no [WithPrefix] option is given.
const DefaultPrefix = "wechat:"

const minTTL = 30 * time.Millisecond

// Store is a [wechat.SessionStore] and [wechat.SessionLocker] that keeps the session of one
// account in Redis. It is safe for concurrent use; Lock, Save and Clear run one at a time.
//
// A Store that holds a lease (from [Store.Lock]) fences its Save and Clear with the lease's
// token: they fail with an error matching [wechat.ErrLeaseLost] once the lease is lost, or a
// newer one was issued for the account. A Store without a lease (none taken, or released)
// saves and clears only while nobody holds the account's lease, and fails with an error
// matching [wechat.ErrLeaseHeld] otherwise: a process that does not run the account cannot
// overwrite the session of one that does.
type Store struct {
	rdb     redis.UniversalClient
	account string
	keys    keys
	ttl     time.Duration

	lockScript, renewScript, releaseScript, saveScript, clearScript *redis.Script

	mu    sync.Mutex // serializes Lock, Save and Clear; guards the fields below
	lease *lease     // the lease taken by Lock until it is released; nil without one
	book  bookCache
}

// bookCache is what this Store wrote last of the address book, with the generations that name
// those values in Redis. A part is skipped on Save only when it is unchanged and Redis still
// records its generation.
type bookCache struct {
	contacts    string // the Session.ContactsVersion of the last save that wrote the contacts
	contactsGen string
	ids         map[string]string // a copy of the IDs of the last save that wrote them
	idsGen      string
}

// An Option configures a Store.
type Option func(*Store)

// WithPrefix makes the Store's keys start with prefix instead of [DefaultPrefix]. An empty
// prefix makes them start with the account's hash tag.
func WithPrefix(prefix string) Option {
	return func(s *Store) { s.keys = keysFor(prefix, s.account) }
}

// WithTTL sets the lease's time to live: a lease not renewed for d expires, and another process
// may take the account. The lease is renewed every d/3. A d <= 0 means [DefaultTTL]; a d under
// 30 ms is raised to 30 ms.
func WithTTL(d time.Duration) Option {
	return func(s *Store) {
		if d <= 0 {
			d = DefaultTTL
		}
		s.ttl = max(d, minTTL)
	}
}

// New returns a Store keeping the session of account in rdb. account is the caller's name for
// the account (an id, a login name, any string): it becomes part of the key names, so it
// must not be a secret; never use the uin, skey or sid. New does no I/O. It panics if rdb is
// nil or account is empty.
//
// For a stalled Redis not to hold a call past its context's deadline, give rdb
// ContextTimeoutEnabled (see [redis.Options]); the lease detects a stall in time either way.
func New(rdb redis.UniversalClient, account string, opts ...Option) *Store {
	if rdb == nil {
		panic("redisstore: New with a nil client")
	}
	if account == "" {
		panic("redisstore: New with an empty account name")
	}
	s := &Store{
		rdb:           rdb,
		account:       account,
		keys:          keysFor(DefaultPrefix, account),
		ttl:           DefaultTTL,
		lockScript:    redis.NewScript(lockScript),
		renewScript:   redis.NewScript(renewScript),
		releaseScript: redis.NewScript(releaseScript),
		saveScript:    redis.NewScript(saveScript),
		clearScript:   redis.NewScript(clearScript),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Load returns the stored session with its address book and identity table, read at one
// instant (MULTI/EXEC). It returns an error matching [wechat.ErrNoSession] when the account
// has none, one matching [wechat.ErrBadResponse] when what is stored cannot be decoded, or
// Redis's error.
func (s *Store) Load(ctx context.Context) (*wechat.Session, error) {
	var hash *redis.MapStringStringCmd
	var contacts, ids *redis.StringCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		hash = p.HGetAll(ctx, s.keys.session)
		contacts = p.Get(ctx, s.keys.contacts)
		ids = p.Get(ctx, s.keys.ids)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, s.errorf("loading the session", err)
	}
	h := hash.Val()
	if len(h) == 0 {
		return nil, wechat.ErrNoSession
	}
	if h["v"] != "1" {
		return nil, fmt.Errorf("redisstore: account %q: stored layout %q is not known: %w", s.account, h["v"], wechat.ErrNoSession)
	}
	var sess wechat.Session
	if err := json.Unmarshal([]byte(h["session"]), &sess); err != nil {
		return nil, s.badf("session", err)
	}
	if h["contacts"] != "" {
		b, err := contacts.Bytes()
		if err == nil {
			err = json.Unmarshal(b, &sess.Contacts)
		}
		if err != nil {
			return nil, s.badf("contacts", err)
		}
	}
	if h["ids"] != "" {
		b, err := ids.Bytes()
		if err == nil {
			err = json.Unmarshal(b, &sess.IDs)
		}
		if err != nil {
			return nil, s.badf("contact IDs", err)
		}
	}
	return &sess, nil
}

// Save replaces the stored session with sess, atomically (one script): the session, its
// delivery position and handled ids, the address book and the identity table change together
// or not at all. The address book and the identity table, the bulk of a large account, are
// sent only when they changed: Contacts when its [wechat.Session].ContactsVersion is not that
// of the previous save (or is empty), IDs when their content differs. Either is sent anyway when
// Redis does not hold what this Store wrote last (another writer, a Clear).
//
// Save fails with an error matching [wechat.ErrLeaseLost] when the Store's lease was lost or a
// newer one was issued, with one matching [wechat.ErrLeaseHeld] when the Store holds no lease
// and another holder does, or with Redis's error; the stored session is then unchanged.
func (s *Store) Save(ctx context.Context, sess *wechat.Session) error {
	if sess == nil {
		return errors.New("redisstore: Save of a nil session")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mode, value, token, err := s.fence("saving the session")
	if err != nil {
		return err
	}
	small := *sess
	small.Contacts, small.IDs = nil, nil
	sessJSON, err := json.Marshal(&small)
	if err != nil {
		return fmt.Errorf("redisstore: encoding the session: %w", err)
	}
	keys := s.keys.list()
	for try := 0; ; try++ {
		c, err := s.planContacts(sess.Contacts, sess.ContactsVersion)
		if err != nil {
			return err
		}
		i, err := s.planIDs(sess.IDs)
		if err != nil {
			return err
		}
		res, err := s.saveScript.Run(ctx, s.rdb, keys, mode, value, token, sessJSON,
			c.op, c.gen, c.value, i.op, i.gen, i.value).Slice()
		if err != nil {
			return s.errorf("saving the session", err)
		}
		if len(res) > 0 && res[0] == "BOOK" && try == 0 {
			s.book = bookCache{} // Redis holds another book than ours: send it whole
			continue
		}
		if err := s.refusal("saving the session", res); err != nil {
			return err
		}
		s.book.contacts, s.book.contactsGen = sess.ContactsVersion, c.gen
		if i.op != "keep" {
			s.book.ids, s.book.idsGen = maps.Clone(sess.IDs), i.gen
		}
		return nil
	}
}

// part is how one part of the address book is saved: op 'set', 'keep' or 'del' (see
// saveScript), its generation, and its JSON for 'set'.
type part struct {
	op, gen string
	value   []byte
}

func (s *Store) planContacts(cs []wechat.Contact, version string) (part, error) {
	switch {
	case len(cs) == 0:
		return part{op: "del"}, nil
	case s.book.contactsGen != "" && version != "" && s.book.contacts == version:
		return part{op: "keep", gen: s.book.contactsGen}, nil
	}
	b, err := json.Marshal(cs)
	if err != nil {
		return part{}, fmt.Errorf("redisstore: encoding the contacts: %w", err)
	}
	return part{op: "set", gen: rand.Text(), value: b}, nil
}

func (s *Store) planIDs(ids map[string]string) (part, error) {
	switch {
	case len(ids) == 0:
		return part{op: "del"}, nil
	case s.book.idsGen != "" && maps.Equal(s.book.ids, ids):
		return part{op: "keep", gen: s.book.idsGen}, nil
	}
	b, err := json.Marshal(ids)
	if err != nil {
		return part{}, fmt.Errorf("redisstore: encoding the contact IDs: %w", err)
	}
	return part{op: "set", gen: rand.Text(), value: b}, nil
}

// Clear removes the account's session, address book and identity table, atomically. It keeps
// the fence counter (so tokens keep growing) and the lease. Clearing an empty store is not an
// error. It fails as [Store.Save] does when the lease forbids it.
func (s *Store) Clear(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	mode, value, token, err := s.fence("clearing the session")
	if err != nil {
		return err
	}
	res, err := s.clearScript.Run(ctx, s.rdb, s.keys.list(), mode, value, token).Slice()
	if err != nil {
		return s.errorf("clearing the session", err)
	}
	if err := s.refusal("clearing the session", res); err != nil {
		return err
	}
	s.book = bookCache{}
	return nil
}

// fence returns the guard arguments of a save or clear (see the guard script), or the lease's
// error if the lease was lost. s.mu is held.
func (s *Store) fence(op string) (mode, value, token string, err error) {
	l := s.lease
	if l == nil {
		return "U", "", "0", nil
	}
	if err := l.Err(); err != nil {
		return "", "", "", fmt.Errorf("redisstore: %s: %w", op, err)
	}
	return "L", l.value, fmt.Sprint(l.token), nil
}

// refusal turns a script's answer into nil for {'OK'}, else into the error it names. A refusal
// of a save or clear under the lease (the key is not ours, or a newer token was issued) ends
// the lease, as a renewal finding the same would. s.mu is held.
func (s *Store) refusal(op string, res []any) error {
	if len(res) == 0 {
		return fmt.Errorf("redisstore: %s: empty answer from the script", op)
	}
	code, _ := res[0].(string)
	detail := ""
	if len(res) > 1 {
		detail = fmt.Sprint(res[1])
	}
	var lost error
	switch code {
	case "OK":
		return nil
	case "LOST":
		lost = fmt.Errorf("redisstore: %s of account %q: the lease is held by %s: %w", op, s.account, holderOf(detail), wechat.ErrLeaseLost)
		if detail == "" {
			lost = fmt.Errorf("redisstore: %s of account %q: the lease is gone: %w", op, s.account, wechat.ErrLeaseLost)
		}
	case "STALE":
		lost = fmt.Errorf("redisstore: %s of account %q: a newer lease (token %s) was issued: %w", op, s.account, detail, wechat.ErrLeaseLost)
	case "HELD":
		return fmt.Errorf("redisstore: %s of account %q without its lease: leased by %s: %w", op, s.account, holderOf(detail), wechat.ErrLeaseHeld)
	}
	if lost != nil {
		if s.lease != nil {
			s.lease.refused(lost) // its holder must stop now, not at its next renewal
		}
		return lost
	}
	return fmt.Errorf("redisstore: %s: unexpected answer %v from the script", op, res)
}

func (s *Store) errorf(op string, err error) error {
	return fmt.Errorf("redisstore: %s of account %q: %w", op, s.account, err)
}

func (s *Store) badf(what string, err error) error {
	return fmt.Errorf("redisstore: account %q: stored %s: %w: %w", s.account, what, wechat.ErrBadResponse, err)
}

// keys are the Redis keys of one account. They share the hash tag {account}, so that they live
// in one Redis Cluster slot, as a script's keys must.
type keys struct {
	session  string // hash: v (layout), session (JSON), contacts, ids (generations), token
	contacts string // string: JSON of Session.Contacts
	ids      string // string: JSON of Session.IDs
	lease    string // string: holder#token, with the lease's TTL
	fence    string // integer: the newest token issued; never deleted
}

func keysFor(prefix, account string) keys {
	base := prefix + "{" + account + "}:"
	return keys{
		session:  base + "session",
		contacts: base + "contacts",
		ids:      base + "ids",
		lease:    base + "lease",
		fence:    base + "fence",
	}
}

// list returns the KEYS of saveScript and clearScript.
func (k keys) list() []string {
	return []string{k.session, k.contacts, k.ids, k.lease, k.fence}
}
