package wechat

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mediaResponse builds the answer of a download from a fixture of testdata/download.
func mediaResponse(t testing.TB, status int, file string, header http.Header) *http.Response {
	body := parserFixture(t, "download", file)
	if header == nil {
		header = http.Header{}
	}
	return &http.Response{StatusCode: status, Header: header, ContentLength: int64(len(body)),
		Body: io.NopCloser(bytes.NewReader(body))}
}

func TestCheckMedia(t *testing.T) {
	t.Parallel()
	attachment := http.Header{"Content-Disposition": {`attachment; filename="notes.txt"`}}
	tests := []struct {
		name    string
		status  int
		file    string
		header  http.Header
		isFile  bool
		wantCT  string
		wantErr []error
		wantRet int
	}{
		{"jpeg", 200, "image.jpg", nil, false, "image/jpeg", nil, 0},
		{"gif labelled jpeg", 200, "gif_as_jpeg.gif", http.Header{"Content-Type": {"image/jpeg"}}, false, "image/gif", nil, 0},
		{"mp3", 200, "voice.mp3", nil, false, "audio/mpeg", nil, 0},
		{"mp4, 206", 206, "video.mp4", http.Header{"Content-Range": {"bytes 0-791/792"}}, false, "video/mp4", nil, 0},
		{"text file", 200, "notes.txt", attachment, true, "text/plain; charset=utf-8", nil, 0},
		{"html file", 200, "page.html", attachment, true, "text/html; charset=utf-8", nil, 0},
		{"empty", 200, "empty.bin", nil, false, "", []error{ErrNoMedia, errEmptyBody}, 0},
		{"empty file", 200, "empty.bin", attachment, true, "", []error{ErrNoMedia, errEmptyBody}, 0},
		{"html instead of an image", 200, "html_200.html", nil, false, "", []error{ErrNoMedia}, 0},
		{"html instead of a file", 200, "html_200.html", nil, true, "", []error{ErrNoMedia}, 0},
		{"xml instead of an image", 200, "xml_error.xml", nil, false, "", []error{ErrNoMedia}, 0},
		{"json instead of an image", 200, "json_ret_0.json", nil, false, "", []error{ErrNoMedia}, 0},
		{"json logged out", 200, "json_ret_1101.json", nil, false, "", []error{ErrNoMedia, ErrLoggedOut}, 1101},
		{"404", 404, "html_404.html", nil, true, "", []error{ErrNoMedia}, 0},
		{"502", 502, "html_404.html", nil, false, "", []error{ErrBadResponse}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := mediaResponse(t, tt.status, tt.file, tt.header)
			md, err := checkMedia(opGetMsgImg, resp, tt.isFile)
			if tt.wantErr != nil {
				require.Error(t, err)
				assert.Nil(t, md)
				for _, want := range tt.wantErr {
					assert.ErrorIs(t, err, want)
				}
				var e *Error
				require.ErrorAs(t, err, &e)
				assert.Equal(t, opGetMsgImg, e.Op)
				assert.Equal(t, tt.wantRet, e.Ret)
				assertNoSecret(t, err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantCT, md.ContentType)
			want := parserFixture(t, "download", tt.file)
			assert.Equal(t, int64(len(want)), md.Size)
			got, err := io.ReadAll(md)
			require.NoError(t, err)
			assert.Equal(t, want, got, "the sniffed bytes are not lost")
			require.NoError(t, md.Close())
		})
	}
}

func FuzzCheckMedia(f *testing.F) {
	seedParserFuzz(f, "download")
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, file := range []bool{false, true} {
			resp := &http.Response{StatusCode: 200, Header: http.Header{}, ContentLength: -1, Body: io.NopCloser(bytes.NewReader(body))}
			md, err := checkMedia(opGetMedia, resp, file)
			if err != nil {
				if !errors.Is(err, ErrNoMedia) {
					t.Errorf("checkMedia(%q) = %v; want nil or ErrNoMedia", body, err)
				}
				continue
			}
			got, err := io.ReadAll(md)
			if err != nil || !bytes.Equal(got, body) {
				t.Errorf("checkMedia(%q) read %q, %v", body, got, err)
			}
		}
	})
}

func TestRangeTotal(t *testing.T) {
	t.Parallel()
	for h, want := range map[string]int64{
		"bytes 0-791/792":  792,
		"bytes 0-9/ 10":    10,
		"bytes 0-791/*":    -1,
		"":                 -1,
		"bytes 0-1/-5":     -1,
		"bytes 0-1/banana": -1,
	} {
		assert.Equal(t, want, rangeTotal(h), h)
	}
}

func TestURLSafe(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"report%2Epdf":          true,
		"Q3%20report%2EPDF":     true,
		"a-b_c.d~e":             true,
		"report.pdf":            true,
		"a b":                   false,
		"a&b":                   false,
		"a%2":                   false,
		"a%zz":                  false,
		"%E6%96%87%E4%BB%B6%2E": true,
		"文件.pdf":                false,
	} {
		assert.Equal(t, want, urlSafe(s), s)
	}
}

func TestMediaExt(t *testing.T) {
	t.Parallel()
	for ct, want := range map[string]string{
		"image/jpeg":                ".jpg",
		"image/png":                 ".png",
		"image/gif":                 ".gif",
		"image/bmp":                 ".bmp",
		"image/webp":                ".webp",
		"audio/mpeg":                ".mp3",
		"video/mp4":                 ".mp4",
		"text/plain; charset=utf-8": "",
		"application/octet-stream":  "",
	} {
		assert.Equal(t, want, (&Media{ContentType: ct}).Ext(), ct)
	}
	assert.Equal(t, ".Zip", (&Media{ContentType: "image/jpeg", FileName: "a.b.Zip"}).Ext(), "a file keeps its extension")
	assert.Equal(t, "", (&Media{ContentType: "image/jpeg", FileName: "README"}).Ext())
}

// newMedia wraps r as a download of size bytes.
func newMedia(r io.Reader, size int64) *Media {
	resp := &http.Response{StatusCode: 200, Header: http.Header{}, ContentLength: size, Body: io.NopCloser(r)}
	md, err := checkMedia(opGetMedia, resp, true)
	if err != nil {
		panic(err)
	}
	return md
}

func TestSaveTo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "a.jpg")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o600))
	data := parserFixture(t, "download", "image.jpg")

	n, err := newMedia(bytes.NewReader(data), int64(len(data))).SaveTo(path)
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), n)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, data, got, "replaced")
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())

	// A download that breaks off leaves the old file and no temporary file.
	big := bytes.Repeat(data, 4)
	broken := io.MultiReader(bytes.NewReader(big[:1000]), errReader{})
	_, err = newMedia(broken, int64(len(big))).SaveTo(path)
	require.ErrorIs(t, err, errBroken)
	got, _ = os.ReadFile(path)
	assert.Equal(t, data, got)

	// A body shorter than announced is an error too.
	_, err = newMedia(bytes.NewReader(data[:100]), int64(len(data))).SaveTo(filepath.Join(dir, "b.jpg"))
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.NoFileExists(t, filepath.Join(dir, "b.jpg"))

	// A size the server did not announce is not checked.
	_, err = newMedia(bytes.NewReader(data), -1).SaveTo(filepath.Join(dir, "c.jpg"))
	require.NoError(t, err)

	_, err = newMedia(bytes.NewReader(data), -1).SaveTo(filepath.Join(dir, "missing", "d.jpg"))
	assert.Error(t, err, "no such directory")

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"a.jpg", "c.jpg"}, names, "no temporary files left")
}

// TestFileURL: the webwxgetmedia URL carries what PROTOCOL 10.4 lists, EncryFileName
// verbatim when it is already URL-encoded.
func TestFileURL(t *testing.T) {
	t.Parallel()
	c := New()
	s := &session{hosts: hostsFor("wx2.qq.com"), uin: 2212345678, passTicket: "Wq7Er8Ty9Ui0%2BOpAsDf%2FGhJkLz%3D"}
	c.hc.Jar.SetCookies(&url.URL{Scheme: "https", Host: "wx2.qq.com"},
		[]*http.Cookie{{Name: "webwx_data_ticket", Value: "gSfPZ+abc", Domain: ".qq.com", Path: "/"}})
	m := &Message{FromUserName: "@@group", MediaID: "@crypt_1&2", FileName: "Q3 report.pdf", EncryFileName: "Q3%20report%2Epdf"}
	u, err := url.Parse(c.fileURL(s, m))
	require.NoError(t, err)
	assert.Equal(t, "file.wx2.qq.com", u.Host)
	assert.Equal(t, "/cgi-bin/mmwebwx-bin/webwxgetmedia", u.Path)
	assert.True(t, strings.HasSuffix(u.RawQuery, "&encryfilename=Q3%20report%2Epdf"), u.RawQuery)
	q := u.Query()
	assert.Equal(t, "@@group", q.Get("sender"))
	assert.Equal(t, "@crypt_1&2", q.Get("mediaid"))
	assert.Equal(t, strconv.Itoa(2212345678), q.Get("fromuser"))
	assert.Equal(t, "gSfPZ+abc", q.Get("webwx_data_ticket"))
	assert.Equal(t, s.passTicket, q.Get("pass_ticket"))

	m.EncryFileName = "a b&c"
	u, err = url.Parse(c.fileURL(s, m))
	require.NoError(t, err)
	assert.Equal(t, "a b&c", u.Query().Get("encryfilename"), "escaped when not URL-safe")

	m.EncryFileName = ""
	u, err = url.Parse(c.fileURL(s, m))
	require.NoError(t, err)
	assert.Equal(t, "Q3 report.pdf", u.Query().Get("filename"), "FileName when there is no EncryFileName")
}
