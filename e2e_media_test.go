package wechat_test

// End-to-end tests of downloads against wechattest.

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

func TestDownload(t *testing.T) {
	t.Parallel()
	b := setup(t)
	srv := b.srv
	groupFile := wechattest.File("alice", "Q3 report.PDF", 700*1000, "@crypt_0a1b2c3d_q3report")
	groupFile.Group = "group"
	tests := []struct {
		name        string
		msg         wechattest.Message
		contentType string
		ext         string
		thumb       bool
	}{
		{"image", wechattest.Image("friend"), "image/jpeg", ".jpg", true},
		{"emoticon", wechattest.Emoticon("friend", "e68363487d8f0519c4e1047de403b2e7"), "image/gif", ".gif", true},
		{"voice", wechattest.Voice("friend", 2300), "audio/mpeg", ".mp3", false},
		{"video", wechattest.Video("friend", 9), "video/mp4", ".mp4", true},
		{"file", wechattest.File("friend", "notes.TXT", 3000, "@crypt_0a1b2c3d_notes"), "application/octet-stream", ".TXT", false},
		{"file in a group", groupFile, "application/octet-stream", ".PDF", false},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := b.deliver(t, tt.msg)
			want := srv.Media(m.MsgID)
			require.NotEmpty(t, want)

			md, err := b.c.Download(t.Context(), m)
			require.NoError(t, err)
			assert.Equal(t, tt.contentType, md.ContentType, "sniffed, not the header")
			assert.Equal(t, int64(len(want)), md.Size)
			assert.Equal(t, tt.ext, md.Ext())
			path := filepath.Join(dir, tt.name+md.Ext())
			n, err := md.SaveTo(path)
			require.NoError(t, err)
			assert.Equal(t, int64(len(want)), n)
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, want, got)
			fi, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())

			th, err := b.c.DownloadThumbnail(t.Context(), m)
			if !tt.thumb {
				assert.ErrorIs(t, err, wechat.ErrNoMedia)
				return
			}
			require.NoError(t, err)
			defer th.Close()
			gotThumb, err := io.ReadAll(th)
			require.NoError(t, err)
			assert.Equal(t, srv.Thumbnail(m.MsgID), gotThumb)
			assert.Equal(t, "image/jpeg", th.ContentType)
		})
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, len(tests), "no temporary files left")

	videos := requestsTo(srv, "/cgi-bin/mmwebwx-bin/webwxgetvideo")
	require.Len(t, videos, 1)
	assert.Equal(t, "bytes=0-", videos[0].Header.Get("Range"), "PROTOCOL 10.3")
	files := requestsTo(srv, "/cgi-bin/mmwebwx-bin/webwxgetmedia")
	require.Len(t, files, 2)
	assert.Equal(t, "file.wx2.qq.com", files[1].Host)
	q := files[1].Query
	assert.Equal(t, srv.UserName("group"), q.Get("sender"), "a group file's sender is the group")
	assert.Equal(t, groupFile.MediaID, q.Get("mediaid"))
	assert.Equal(t, "2212345678", q.Get("fromuser"))
	assert.Equal(t, "Q3 report.PDF", q.Get("encryfilename"), "EncryFileName appended verbatim, so decoded once")
	assert.NotEmpty(t, q.Get("webwx_data_ticket"))
	assert.NotEmpty(t, q.Get("pass_ticket"))

	m := b.deliver(t, wechattest.Text("friend", "no media"))
	_, err = b.c.Download(t.Context(), m)
	assert.ErrorIs(t, err, wechat.ErrNoMedia)
}

// TestDownloadSentMedia: the echo of an image the bot sent serves the uploaded bytes.
func TestDownloadSentMedia(t *testing.T) {
	t.Parallel()
	b := setup(t)
	srv := b.srv
	img := randomBytes(2000, "\x89PNG\r\n\x1a\n")
	sent, err := b.c.SendImage(t.Context(), "filehelper", "a.png", bytes.NewReader(img))
	require.NoError(t, err)
	assert.Equal(t, img, srv.Media(sent.MsgID))
}

// TestDownloadFailures: expired media and empty answers are typed errors, never a corrupt
// file; an empty answer is retried once.
func TestDownloadFailures(t *testing.T) {
	t.Parallel()
	b := setup(t)
	srv := b.srv
	img := b.deliver(t, wechattest.Image("friend"))
	file := b.deliver(t, wechattest.File("friend", "a.zip", 100, "@crypt_0a1b2c3d_azip"))
	imgPath := "/cgi-bin/mmwebwx-bin/webwxgetmsgimg"

	srv.EmptyNextMedia()
	md, err := b.c.Download(t.Context(), img)
	require.NoError(t, err, "one empty answer is retried")
	got, err := io.ReadAll(md)
	require.NoError(t, err)
	md.Close()
	assert.Equal(t, srv.Media(img.MsgID), got)
	assert.Len(t, requestsTo(srv, imgPath), 2)

	srv.ExpireMedia(img.MsgID)
	srv.ExpireMedia(file.MsgID)
	_, err = b.c.Download(t.Context(), img)
	require.ErrorIs(t, err, wechat.ErrNoMedia)
	var we *wechat.Error
	require.ErrorAs(t, err, &we)
	assert.Equal(t, "webwxgetmsgimg", we.Op)
	assert.Len(t, requestsTo(srv, imgPath), 4, "the empty answer was retried once")

	_, err = b.c.Download(t.Context(), file)
	require.ErrorIs(t, err, wechat.ErrNoMedia, "404 on the file host")
	assert.Len(t, requestsTo(srv, "/cgi-bin/mmwebwx-bin/webwxgetmedia"), 1, "a 404 is not retried")

	srv.EndSession(1101)
	require.ErrorIs(t, b.wait(t), wechat.ErrLoggedOut)
	_, err = b.c.Download(t.Context(), img)
	assert.ErrorIs(t, err, wechat.ErrNotLoggedIn, "the session is forgotten")
}

func TestAvatar(t *testing.T) {
	t.Parallel()
	b := setup(t)
	srv := b.srv
	require.NoError(t, b.c.WaitContacts(t.Context()))
	for _, id := range []string{"friend", "group", "self", "carol", "filehelper", "team"} {
		t.Run(id, func(t *testing.T) {
			md, err := b.c.Avatar(t.Context(), srv.UserName(id))
			require.NoError(t, err)
			defer md.Close()
			got, err := io.ReadAll(md)
			require.NoError(t, err)
			assert.Equal(t, srv.Avatar(id), got)
			assert.Equal(t, "image/jpeg", md.ContentType)
		})
	}
	carol := requestsTo(srv, "/cgi-bin/mmwebwx-bin/webwxgeticon")
	require.NotEmpty(t, carol)
	assert.NotEmpty(t, carol[2].Query.Get("chatroomid"), "a member who is not a contact is asked for through the group")
	assert.Len(t, requestsTo(srv, "/cgi-bin/mmwebwx-bin/webwxgetheadimg"), 2)

	_, err := b.c.Avatar(t.Context(), "@0000nobody")
	assert.ErrorIs(t, err, wechat.ErrNoMedia)
	_, err = b.c.Avatar(t.Context(), "")
	assert.ErrorIs(t, err, wechat.ErrUnknownContact)
}

func TestMediaNotLoggedIn(t *testing.T) {
	t.Parallel()
	c := wechat.New()
	ctx := t.Context()
	m := &wechat.Message{MsgID: "1", MsgType: wechat.MsgTypeImage}
	_, err := c.Download(ctx, m)
	assert.ErrorIs(t, err, wechat.ErrNotLoggedIn)
	_, err = c.DownloadThumbnail(ctx, m)
	assert.ErrorIs(t, err, wechat.ErrNotLoggedIn)
	_, err = c.Avatar(ctx, "@x")
	assert.ErrorIs(t, err, wechat.ErrNotLoggedIn)
	_, err = c.SendFile(ctx, "filehelper", "a", strings.NewReader("x"))
	assert.ErrorIs(t, err, wechat.ErrNotLoggedIn)
	_, err = c.Forward(ctx, &wechat.Message{MsgType: wechat.MsgTypeText, Content: "x"}, "filehelper")
	assert.ErrorIs(t, err, wechat.ErrNotLoggedIn)
	assert.ErrorIs(t, c.Revoke(ctx, &wechat.SentMessage{MsgID: "1", ToUserName: "filehelper"}), wechat.ErrNotLoggedIn)
}
