package wechat_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

// bigSession returns a session holding secrets and a large address book, slow enough to
// save that a kill lands in the middle of a save.
func bigSession() *wechat.Session {
	s := &wechat.Session{
		Version: 1, MainHost: "wx2.qq.com", Uin: 2212345678, Sid: "SID-SECRET-0001",
		Skey: "@crypt_SKEY-SECRET", PassTicket: "PASS-TICKET-SECRET",
	}
	for i := range 5000 {
		s.Contacts = append(s.Contacts, wechat.Contact{UserName: fmt.Sprintf("@%064d", i), NickName: fmt.Sprintf("friend %d", i)})
	}
	return s
}

// saveLoop is the child process of TestFileStoreKilledMidSave (see TestMain): it saves a
// session to path over and over until it is killed.
func saveLoop(path string) {
	store := wechat.NewFileStore(path)
	s := bigSession()
	fmt.Println("saving")
	for i := 0; ; i++ {
		s.SavedAt = time.Unix(int64(i), 0)
		s.ContactsVersion = fmt.Sprint(i) // re-encode the book every time
		if err := store.Save(context.Background(), s); err != nil {
			panic(err)
		}
	}
}

// TestFileStoreKilledMidSave: a process saving a session is killed (SIGKILL) 30 times at
// random moments. The temporary files the kills leave are removed by the next save, which
// leaves the session file alone; Clear then leaves nothing holding the credentials.
func TestFileStoreKilledMidSave(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "session")
	leftovers := 0
	for range 30 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "WECHAT_TEST_SAVE_LOOP="+path)
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		line, err := bufio.NewReader(out).ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "saving\n", line)
		// Kill it as soon as a save has created its temporary file, after a random extra
		// delay of up to a millisecond: mid-save, at different points of it.
		require.Eventually(t, func() bool { return hasTemp(t, dir) }, 20*time.Second, 50*time.Microsecond)
		time.Sleep(time.Duration(rand.IntN(1000)) * time.Microsecond)
		require.NoError(t, cmd.Process.Kill())
		_ = cmd.Wait()
		if hasTemp(t, dir) {
			leftovers++
		}
	}
	assert.GreaterOrEqual(t, leftovers, 10, "few kills left a temporary file: the test proves little")

	store := wechat.NewFileStore(path)
	require.NoError(t, store.Save(t.Context(), bigSession()))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "files left beside the session: %v", entries)
	assert.Equal(t, "session", entries[0].Name())
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	got, err := store.Load(t.Context())
	require.NoError(t, err)
	assert.Len(t, got.Contacts, 5000)

	require.NoError(t, store.Clear(t.Context()))
	entries, err = os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries)
}

// hasTemp reports whether dir holds a temporary file of a save of "session".
func hasTemp(t *testing.T, dir string) bool {
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".session.") {
			return true
		}
	}
	return false
}

// TestFileStoreClearRemovesTemps: Clear removes a stale temporary file holding the skey.
func TestFileStoreClearRemovesTemps(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "session")
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".session.123.tmp"), []byte(`{"skey":"@crypt_SKEY-SECRET"}`), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "other"), []byte("keep"), 0o600))
	require.NoError(t, wechat.NewFileStore(path).Clear(t.Context()))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "other", entries[0].Name(), "only the store's own files are removed")
	b, _ := os.ReadFile(filepath.Join(dir, "other"))
	assert.False(t, bytes.Contains(b, []byte("SECRET")))
}

// flakyStore fails its next n saves (a store briefly down), then saves.
type flakyStore struct {
	mu   sync.Mutex
	fail int
	s    *wechat.Session
}

func (f *flakyStore) Load(context.Context) (*wechat.Session, error) { return nil, wechat.ErrNoSession }
func (f *flakyStore) Clear(context.Context) error                   { return nil }
func (f *flakyStore) Save(_ context.Context, s *wechat.Session) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail > 0 {
		f.fail--
		return errors.New("store down")
	}
	cp := *s
	f.s = &cp
	return nil
}

func (f *flakyStore) handled() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.s == nil {
		return nil
	}
	return f.s.Handled
}

// TestFailedSaveRetried: the save after a handled message fails once, and nothing else
// happens: the session must still reach the store soon, not only at the next change.
func TestFailedSaveRetried(t *testing.T) {
	t.Parallel()
	store := &flakyStore{}
	ts := setup(t, withClient(wechat.WithSessionStore(store)))
	time.Sleep(2 * time.Second) // the saves of the login are done
	store.mu.Lock()
	store.fail = 1
	store.mu.Unlock()
	ts.srv.Deliver(wechattest.Text("friend", "one"))
	id := ts.next(t).MsgID
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Contains(store.handled(), id) {
		require.True(t, time.Now().Before(deadline), "the handled message was not saved 5 s after a failed save")
		time.Sleep(50 * time.Millisecond)
	}
}
