package wechat_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat/wechattest"
)

// TestDownloadFileNames: the names the server sends reach Media.FileName made safe, and
// SaveIn keeps every file inside its directory.
func TestDownloadFileNames(t *testing.T) {
	t.Parallel()
	b := setup(t)
	srv := b.srv
	root := t.TempDir()
	dir := filepath.Join(root, "saved")
	require.NoError(t, os.Mkdir(dir, 0o755))
	tests := []struct {
		name string
		msg  wechattest.Message
		want string // "" for the MsgID and the extension
	}{
		{"plain", wechattest.File("friend", "notes.txt", 300, "@crypt_0a1b2c3d_notes"), "notes.txt"},
		{"parent dirs", wechattest.File("friend", "../../etc/x", 300, "@crypt_0a1b2c3d_x"), "x"},
		{"absolute", wechattest.File("friend", "/abs", 300, "@crypt_0a1b2c3d_abs"), "abs"},
		{"backslash", wechattest.File("friend", `a\b`, 300, "@crypt_0a1b2c3d_ab"), "b"},
		{"NUL", wechattest.File("friend", "evil\x00.txt", 300, "@crypt_0a1b2c3d_nul"), "evil.txt"},
		{"nothing left", wechattest.File("friend", "..", 300, "@crypt_0a1b2c3d_dots"), ""},
		{"image", wechattest.Image("friend"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := b.deliver(t, tt.msg)
			md, err := b.c.Download(t.Context(), m)
			require.NoError(t, err)
			want := tt.want
			if want == "" {
				want = m.MsgID + md.Ext()
			}
			assert.Equal(t, want, md.FileName)
			path, n, err := md.SaveIn(dir)
			require.NoError(t, err)
			assert.Equal(t, filepath.Join(dir, want), path)
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, srv.Media(m.MsgID), got)
			assert.Equal(t, int64(len(got)), n)

			thumb, err := b.c.DownloadThumbnail(t.Context(), m)
			if tt.name == "image" {
				require.NoError(t, err)
				assert.Equal(t, m.MsgID+"_thumb.jpg", thumb.FileName)
				require.NoError(t, thumb.Close())
			} else {
				assert.Error(t, err)
			}
		})
	}
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	require.Len(t, entries, 1, "nothing written beside dir")
	entries, err = os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, len(tests))

	md, err := b.c.Avatar(t.Context(), srv.UserName("group"))
	require.NoError(t, err)
	defer md.Close()
	assert.Equal(t, srv.UserName("group")+md.Ext(), md.FileName)
}
