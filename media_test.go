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
	"unicode"
	"unicode/utf8"

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

func TestSafeFileName(t *testing.T) {
	long := strings.Repeat("文", 100) + ".pdf" // 304 bytes
	tests := []struct{ in, want string }{
		{"report.pdf", "report.pdf"},
		{"Q3 report & summary.PDF", "Q3 report & summary.PDF"},
		{"文件🌛.docx", "文件🌛.docx"},
		{"../../etc/x", "x"},
		{"../../../../etc/passwd", "passwd"},
		{"/abs", "abs"},
		{"/etc/", ""},
		{`a\b`, "b"},
		{`C:\Users\me\report.pdf`, "report.pdf"},
		{`..\..\boot.ini`, "boot.ini"},
		{"a\x00b.txt", "ab.txt"},
		{"\x00", ""},
		{"line\nbreak\r.txt", "linebreak.txt"},
		{"tab\there\x7f\u0085.txt", "tabhere.txt"},
		{"invoice\u202Efdp.exe", "invoicefdp.exe"}, // a right-to-left override hides ".exe"
		{"\u2066x\u2069.txt", "x.txt"},
		{"", ""},
		{".", ""},
		{"..", ""},
		{"...", ""},
		{" .. ", ""},
		{"./..", ""},
		{"a/..", ""},
		{"../", ""},
		{"  spaced.txt  ", "spaced.txt"},
		{"trailing.", "trailing"},
		{".hidden", ".hidden"},
		{"..dots", "..dots"},
		{`what?<is>this:"x"|*.txt`, "what__is_this__x___.txt"},
		{"bad\xff\xfeutf8.txt", "bad_utf8.txt"},
		{"a\u200db.txt", "a\u200db.txt"}, // a zero-width joiner, as in emoji sequences, stays
		{long, strings.Repeat("文", 83) + ".pdf"},
		{strings.Repeat("a", 300), strings.Repeat("a", 255)},
		{strings.Repeat("a", 250) + "." + strings.Repeat("b", 40), strings.Repeat("a", 250) + "." + strings.Repeat("b", 4)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := safeFileName(tt.in)
			assert.Equal(t, tt.want, got)
			if got == "" {
				return
			}
			assert.True(t, filepath.IsLocal(got), "%q is local", got)
			assert.Equal(t, got, filepath.Base(got))
			assert.NotContains(t, got, "/")
			assert.NotContains(t, got, `\`)
			assert.NotContains(t, got, "\x00")
			assert.LessOrEqual(t, len(got), 255)
			assert.True(t, utf8.ValidString(got))
			assert.Equal(t, got, safeFileName(got), "made safe once for all")
		})
	}
}

func FuzzSafeFileName(f *testing.F) {
	for _, s := range []string{"report.pdf", "../../etc/x", "/abs", `a\b`, "a\x00b", "..", "CON", "文件.txt"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := safeFileName(name)
		if got == "" {
			return
		}
		if !filepath.IsLocal(got) || strings.ContainsAny(got, `/\`+"\x00") || len(got) > 255 || !utf8.ValidString(got) {
			t.Errorf("safeFileName(%q) = %q: not a safe base name", name, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
				t.Errorf("safeFileName(%q) = %q keeps %U", name, got, r)
			}
		}
		if again := safeFileName(got); again != got {
			t.Errorf("safeFileName(%q) = %q, then %q", name, got, again)
		}
	})
}

func TestMediaSetName(t *testing.T) {
	tests := []struct {
		name, stem, ct, want string
	}{
		{"report.pdf", "6012345678901234567", "application/pdf", "report.pdf"},
		{"../../etc/x", "6012345678901234567", "text/plain; charset=utf-8", "x"},
		{"..", "6012345678901234567", "image/jpeg", "6012345678901234567.jpg"},
		{"", "6012345678901234567", "image/gif", "6012345678901234567.gif"},
		{"", "6012345678901234567_thumb", "image/jpeg", "6012345678901234567_thumb.jpg"},
		{"", "@@0f1e2d", "image/jpeg", "@@0f1e2d.jpg"},
		{"", "../../x", "audio/mpeg", "x.mp3"},
		{"", "", "video/mp4", "media.mp4"},
		{"", "", "application/octet-stream", "media"},
		{"/", "..", "application/octet-stream", "media"},
	}
	for _, tt := range tests {
		md := &Media{ContentType: tt.ct}
		md.setName(tt.name, tt.stem)
		assert.Equal(t, tt.want, md.FileName, "setName(%q, %q)", tt.name, tt.stem)
	}
}

// TestSaveInHostileNames: whatever the name, SaveIn writes one file, inside dir, and nothing
// anywhere else.
func TestSaveInHostileNames(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "media")
	require.NoError(t, os.Mkdir(dir, 0o755))
	outside := filepath.Join(root, "outside")
	require.NoError(t, os.WriteFile(outside, []byte("keep me"), 0o600))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "link")))
	data := []byte("payload")

	tests := []struct{ fileName, want string }{
		{"../../etc/x", "x"},
		{"../outside", "outside"}, // a file of that name in dir, not root's
		{"/abs", "abs"},
		{`a\b`, "b"},
		{"a\x00b", "ab"},
		{"link", "link"}, // the symbolic link is replaced, not followed
		{"ok.txt", "ok.txt"},
	}
	for _, tt := range tests {
		md := newMedia(bytes.NewReader(data), int64(len(data)))
		md.FileName = tt.fileName // set as a caller might: SaveIn makes it safe again
		path, n, err := md.SaveIn(dir)
		require.NoError(t, err, tt.fileName)
		assert.Equal(t, filepath.Join(dir, tt.want), path, tt.fileName)
		assert.Equal(t, int64(len(data)), n)
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, data, got)
	}
	got, err := os.ReadFile(outside)
	require.NoError(t, err)
	assert.Equal(t, "keep me", string(got), "nothing written through the link or outside dir")
	fi, err := os.Lstat(filepath.Join(dir, "link"))
	require.NoError(t, err)
	assert.True(t, fi.Mode().IsRegular(), "the link became a file")
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	assert.Len(t, entries, 2, "root holds only media/ and outside")

	for _, bad := range []string{"", "..", "/", "\x00", " . "} {
		md := newMedia(bytes.NewReader(data), int64(len(data)))
		md.FileName = bad
		_, _, err := md.SaveIn(dir)
		assert.Error(t, err, "%q", bad)
	}
	_, _, err = newMedia(bytes.NewReader(data), -1).SaveIn(filepath.Join(root, "missing"))
	assert.Error(t, err, "the directory must exist")
	assert.NoDirExists(t, filepath.Join(root, "missing"))
}

// TestFileURL: the webwxgetmedia URL carries what PROTOCOL 10.4 lists, EncryFileName
// verbatim when it is already URL-encoded.
func TestFileURL(t *testing.T) {
	t.Parallel()
	c := New()
	s := &session{hosts: hostsFor("wx2.qq.com"), uin: 2212345678, passTicket: "Wq7Er8Ty9Ui0%2BOpAsDf%2FGhJkLz%3D"}
	c.jar.SetCookies(&url.URL{Scheme: "https", Host: "wx2.qq.com"},
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
