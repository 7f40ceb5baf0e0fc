package wechat

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var sendEndpoints = []string{"webwxsendmsg", "webwxsendmsgimg", "webwxsendvideomsg", "webwxsendappmsg", "webwxsendemoticon"}

// TestParseSendResponseEveryFixture: each send answer is a MsgID or an *Error of that step
// (internal/wire's FuzzDecodeResponses fuzzes the decoder itself).
func TestParseSendResponseEveryFixture(t *testing.T) {
	for _, ep := range sendEndpoints {
		for _, name := range parserFixtureNames(t, ep) {
			id, err := parseSendResponse(ep, parserFixture(t, ep, name))
			if err == nil {
				assert.NotEmpty(t, id, "%s/%s", ep, name)
				continue
			}
			var e *Error
			require.ErrorAs(t, err, &e, "%s/%s", ep, name)
			assert.Equal(t, ep, e.Op)
			assert.Empty(t, id)
		}
	}
}

func TestParseSendResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		endpoint, file string
		wantID         string
		wantRet        int
		wantErr        error
	}{
		{"webwxsendmsgimg", "ok_compact.json", "6812345678901234567", 0, nil},
		{"webwxsendmsgimg", "ok_multiline.json", "6812345678901234567", 0, nil},
		{"webwxsendmsgimg", "ret_1.json", "", 1, nil},
		{"webwxsendvideomsg", "ok_compact.json", "6812345678901234567", 0, nil},
		{"webwxsendvideomsg", "ret_1204.json", "", 1204, nil},
		{"webwxsendappmsg", "ok_compact.json", "6812345678901234567", 0, nil},
		{"webwxsendappmsg", "ret_1.json", "", 1, nil},
		{"webwxsendappmsg", "ret_minus1.json", "", -1, nil},
		{"webwxsendappmsg", "ok_no_msgid.json", "", 0, ErrBadResponse},
		{"webwxsendemoticon", "ok_compact.json", "6812345678901234567", 0, nil},
		{"webwxsendemoticon", "ret_1205.json", "", 1205, ErrRateLimited},
		{"webwxsendemoticon", "html_error_page.html", "", 0, ErrBadResponse},
		{"webwxsendmsg", "ret_1101.json", "", 1101, ErrLoggedOut},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint+"/"+tt.file, func(t *testing.T) {
			id, err := parseSendResponse(tt.endpoint, parserFixture(t, tt.endpoint, tt.file))
			if tt.wantID != "" {
				require.NoError(t, err)
				assert.Equal(t, tt.wantID, id)
				return
			}
			require.Error(t, err)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.endpoint, e.Op)
			assert.Equal(t, tt.wantRet, e.Ret)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			}
			if tt.wantRet != 0 {
				assert.NotErrorIs(t, err, ErrBadResponse, "a server code is not a bad response")
			}
			assertNoSecret(t, err.Error())
		})
	}
}

func TestParseCheckUpload(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file      string
		wantMedia string
		wantSig   bool
		wantRet   int
		wantErr   error
	}{
		{"new_file.json", "", true, 0, nil},
		{"compact.json", "", true, 0, nil},
		{"known_file.json", "@crypt_cd2308ca_e13f0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a", true, 0, nil},
		{"no_signature.json", "", false, 0, ErrBadResponse},
		{"ret_1.json", "", false, 1, nil},
		{"ret_1101.json", "", false, 1101, ErrLoggedOut},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := parseCheckUpload(parserFixture(t, "webwxcheckupload", tt.file))
			if tt.wantRet != 0 || tt.wantErr != nil {
				var e *Error
				require.ErrorAs(t, err, &e)
				assert.Equal(t, tt.wantRet, e.Ret)
				if tt.wantErr != nil {
					assert.ErrorIs(t, err, tt.wantErr)
				}
				assert.Zero(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantMedia, got.MediaID)
			assert.Equal(t, "0a1b2c3d4e5f60718293a4b5c6d7e8f9", got.AESKey)
			assert.Len(t, got.Signature, 64)
			assert.Equal(t, "big%2Ezip", got.EncryFileName)
		})
	}
}

func TestParseRevokeResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file    string
		ret     int
		refused bool
		also    error
	}{
		{"ok_compact.json", 0, false, nil},
		{"ret_1.json", 1, true, nil},
		{"ret_minus1.json", -1, true, nil},
		{"ret_minus1_errmsg.json", -1, true, nil},
		{"ret_1101.json", 1101, false, ErrLoggedOut},
		{"ret_1205.json", 1205, false, ErrRateLimited},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			err := parseRevokeResponse(parserFixture(t, "webwxrevokemsg", tt.file))
			if tt.ret == 0 {
				require.NoError(t, err)
				return
			}
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.ret, e.Ret)
			assert.Equal(t, tt.refused, errors.Is(err, ErrRevokeRefused))
			if tt.also != nil {
				assert.ErrorIs(t, err, tt.also)
			}
		})
	}
	err := parseRevokeResponse(parserFixture(t, "webwxrevokemsg", "ret_minus1_errmsg.json"))
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "撤回失败", e.Msg, "the server's ErrMsg, verbatim")
}

func TestErrorIsRevokeRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *Error
		want bool
	}{
		{&Error{Op: opRevokeMsg, Ret: 1}, true},
		{&Error{Op: opRevokeMsg, Ret: -1}, true},
		{&Error{Op: opRevokeMsg, Ret: 1204}, true},
		{&Error{Op: opRevokeMsg, Ret: 1100}, false},
		{&Error{Op: opRevokeMsg, Ret: 1101}, false},
		{&Error{Op: opRevokeMsg, Ret: 1102}, false},
		{&Error{Op: opRevokeMsg, Ret: 1205}, false},
		{&Error{Op: opRevokeMsg}, false},
		{&Error{Op: opSendMsg, Ret: 1}, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, errors.Is(tt.err, ErrRevokeRefused), "%+v", *tt.err)
	}
}

func TestParseUploadResponse(t *testing.T) {
	t.Parallel()
	id, err := parseUploadResponse(parserFixture(t, "webwxuploadmedia", "ok.json"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(id, "@crypt_cd2308ca_"))
	id, err = parseUploadResponse(parserFixture(t, "webwxuploadmedia", "chunk_compact.json"))
	require.NoError(t, err)
	assert.Empty(t, id, "intermediate chunks carry no MediaId")
	id, err = parseUploadResponse(parserFixture(t, "webwxuploadmedia", "no_media_id.json"))
	require.NoError(t, err, "the upload, not the parser, refuses a last chunk without MediaId")
	assert.Empty(t, id)
	_, err = parseUploadResponse(parserFixture(t, "webwxuploadmedia", "ret_minus1.json"))
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, -1, e.Ret)
	assert.True(t, retryableChunk(t.Context(), err))
}

func TestRetryableChunk(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	transport := &Error{Op: opUploadMedia, Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("unreachable")}}
	assert.True(t, retryableChunk(ctx, transport))
	assert.True(t, retryableChunk(ctx, &Error{Op: opUploadMedia, Ret: -1}))
	assert.False(t, retryableChunk(ctx, &Error{Op: opUploadMedia, Ret: 1}))
	assert.False(t, retryableChunk(ctx, &Error{Op: opUploadMedia, Ret: 1101}))
	assert.False(t, retryableChunk(ctx, badResponse(opUploadMedia, errors.New("HTTP status 502"))))
	assert.False(t, retryableChunk(ctx, errors.New("not an *Error")))
	done, cancel := context.WithCancel(ctx)
	cancel()
	assert.False(t, retryableChunk(done, transport), "never after ctx ended")
}

func TestFileAppMsg(t *testing.T) {
	t.Parallel()
	const tail = "</title><des></des><action></action><type>6</type><content></content><url></url><lowurl></lowurl><appattach><totallen>1048576</totallen><attachid>@crypt_1a2b3c_x</attachid><fileext>"
	tests := []struct {
		mode        Mode
		title, want string
	}{
		{ModeWeb, "report.pdf", "<appmsg appid='wxeb7ec651dd0aefa9' sdkver=''><title>report.pdf" + tail + "pdf</fileext></appattach><extinfo></extinfo></appmsg>"},
		{ModeDesktop, "report.pdf", "<appmsg appid='' sdkver=''><title>report.pdf" + tail + "pdf</fileext></appattach><extinfo></extinfo></appmsg>"},
		{ModeWeb, "Tom's <b>&\"Q\".TAR.GZ", "<appmsg appid='wxeb7ec651dd0aefa9' sdkver=''><title>Tom&apos;s &lt;b&gt;&amp;&quot;Q&quot;.TAR.GZ" + tail + "gz</fileext></appattach><extinfo></extinfo></appmsg>"},
		{ModeWeb, "README", "<appmsg appid='wxeb7ec651dd0aefa9' sdkver=''><title>README" + tail + "</fileext></appattach><extinfo></extinfo></appmsg>"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, fileAppMsg(tt.mode, tt.title, 1048576, "@crypt_1a2b3c_x"))
	}
}

func TestUploadName(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, head, want string }{
		{"report.pdf", "%PDF", "report.pdf"},
		{"dir/sub/report.pdf", "%PDF", "report.pdf"},
		{"", "\x89PNG\r\n\x1a\n", "file.png"},
		{"", "GIF89a", "file.gif"},
		{"/", "\x01", "file"},
		{".", "\xFF\xD8\xFF", "file.jpg"},
	} {
		assert.Equal(t, tt.want, uploadName(tt.name, []byte(tt.head)), tt.name)
	}
}

func TestSniffKind(t *testing.T) {
	t.Parallel()
	mp4 := "\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
	tests := []struct {
		head, name string
		want       fileKind
	}{
		{"\xFF\xD8\xFF\xE0\x00\x10JFIF", "a.bin", kindImage},
		{"\x89PNG\r\n\x1a\n", "", kindImage},
		{"BM\x00\x00", "a.bmp", kindImage},
		{"GIF89a", "a.jpg", kindGIF},
		{"GIF87a", "", kindGIF},
		{mp4, "a", kindVideo},
		{"RIFF\x00\x00\x00\x00WEBPVP8 ", "a.jpg", kindFile}, // not an image the official client sends
		{"%PDF-1.4", "a.jpg", kindFile},
		{"hello, world", "a.png", kindFile}, // text, whatever its name
		{"\x01\x02\x03", "a.JPG", kindImage},
		{"\x01\x02\x03", "a.gif", kindGIF},
		{"\x01\x02\x03", "a.mp4", kindVideo},
		{"\x01\x02\x03", "a.zip", kindFile},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, sniffKind([]byte(tt.head), tt.name), "%q %s", tt.head, tt.name)
	}
}

func TestForwardOf(t *testing.T) {
	t.Parallel()
	fileXML := "<msg><appmsg appid=\"wx6618f1cfc6c132f8\" sdkver=\"0\"><title>a.zip</title><type>6</type><appattach><totallen>3</totallen><attachid>@cdn_x_1</attachid><fileext>zip</fileext></appattach></appmsg><fromusername>wxid_a</fromusername></msg><br/>\n"
	tests := []struct {
		name    string
		m       Message
		op      string
		typ     int
		scene   int
		content string
		md5     string
	}{
		{"text", Message{MsgType: MsgTypeText, Content: "hi <b>"}, opSendMsg, 1, 2, "hi <b>", ""},
		{"location as text", Message{MsgType: MsgTypeText, SubMsgType: 48, Content: "label:\n/x", OriContent: "<msg><location x=\"1\" /></msg>"}, opSendMsg, 48, 2, "<msg><location x=\"1\" /></msg>", ""},
		{"location", Message{MsgType: MsgTypeLocation, OriContent: "<msg/>"}, opSendMsg, 48, 2, "<msg/>", ""},
		{"location by its map link", Message{MsgType: MsgTypeText, URL: "http://apis.map.qq.com/uri/v1/geocoder?coord=1,2",
			Content: "label:\n/cgi-bin/mmwebwx-bin/webwxgetpubliclinkimg?url=x&msgid=1&pictype=location", OriContent: "<msg/>"}, opSendMsg, 48, 2, "<msg/>", ""},
		{"image", Message{MsgType: MsgTypeImage, Content: "<msg><img length=\"1\" /></msg>"}, opSendMsgImg, 3, 2, "<msg><img length=\"1\" /></msg>", ""},
		{"video", Message{MsgType: MsgTypeVideo, Content: "<msg><videomsg /></msg>"}, opSendVideo, 43, 2, "<msg><videomsg /></msg>", ""},
		{"micro video", Message{MsgType: MsgTypeMicroVideo, Content: "<msg/>"}, opSendVideo, 43, 2, "<msg/>", ""},
		{"emoticon", Message{MsgType: MsgTypeEmoticon, Content: "<msg><emoji fromusername=\"a\" md5='e6836348' len=\"1\" /><gameext type=\"0\" /></msg>"}, opSendEmoticon, 47, 0, "", "e6836348"},
		{"file", Message{MsgType: MsgTypeApp, AppMsgType: 6, MediaID: "@crypt_&_x", Content: fileXML}, opSendAppMsg, 6, 2,
			"<appmsg appid=\"wx6618f1cfc6c132f8\" sdkver=\"0\"><title>a.zip</title><type>6</type><appattach><totallen>3</totallen><attachid>@crypt_&amp;_x</attachid><fileext>zip</fileext></appattach></appmsg>", ""},
		{"file with an empty attachid", Message{MsgType: MsgTypeApp, AppMsgType: 6, MediaID: "@crypt_y", Content: "<msg><appmsg><type>6</type><appattach><attachid/></appattach></appmsg></msg>"}, opSendAppMsg, 6, 2,
			"<appmsg><type>6</type><appattach><attachid>@crypt_y</attachid></appattach></appmsg>", ""},
		{"link", Message{MsgType: MsgTypeApp, AppMsgType: 5, Content: "<msg><appmsg><type>5</type><url>u</url></appmsg></msg>"}, opSendAppMsg, 5, 2, "<appmsg><type>5</type><url>u</url></appmsg>", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sd, err := forwardOf(&tt.m)
			require.NoError(t, err)
			assert.Equal(t, tt.op, sd.op)
			assert.Equal(t, tt.typ, sd.msg.Type)
			assert.Equal(t, tt.scene, sd.scene)
			if tt.content != "" {
				require.NotNil(t, sd.msg.Content)
				assert.Equal(t, tt.content, *sd.msg.Content)
			}
			assert.Equal(t, tt.md5, sd.msg.EMoticonMd5)
			if tt.op == opSendMsgImg || tt.op == opSendVideo {
				require.NotNil(t, sd.msg.MediaID, "MediaId is sent, empty (PROTOCOL 8.7)")
				assert.Empty(t, *sd.msg.MediaID)
			}
		})
	}

	for name, m := range map[string]Message{
		"voice":                 {MsgType: MsgTypeVoice},
		"card":                  {MsgType: MsgTypeShareCard},
		"system":                {MsgType: MsgTypeSys, Content: "joined"},
		"store sticker":         {MsgType: MsgTypeEmoticon, Content: "<msg><emoji md5=\"a\" /></msg>", HasProductID: 1},
		"emoticon without md5":  {MsgType: MsgTypeEmoticon, Content: "<msg><emoji /></msg>"},
		"emoticon not XML":      {MsgType: MsgTypeEmoticon, Content: "@0a1b2c"},
		"location without XML":  {MsgType: MsgTypeLocation},
		"red packet":            {MsgType: MsgTypeApp, AppMsgType: 2001, Content: "<msg><appmsg/></msg>"},
		"transfer":              {MsgType: MsgTypeApp, AppMsgType: 2000, Content: "<msg><appmsg></appmsg></msg>"},
		"file without MediaId":  {MsgType: MsgTypeApp, AppMsgType: 6, Content: fileXML},
		"file without attachid": {MsgType: MsgTypeApp, AppMsgType: 6, MediaID: "@x", Content: "<msg><appmsg><type>6</type></appmsg></msg>"},
		"app without appmsg":    {MsgType: MsgTypeApp, AppMsgType: 5, Content: "garbage"},
		"unknown":               {MsgType: 12345},
	} {
		_, err := forwardOf(&m)
		assert.ErrorIs(t, err, errors.ErrUnsupported, name)
	}
}

func FuzzAppMsgElement(f *testing.F) {
	f.Add("<msg><appmsg appid=\"\"><type>6</type><appattach><attachid>@cdn_1</attachid></appattach></appmsg></msg><br/>")
	f.Add("<appmsg><attachid/></appmsg>")
	f.Fuzz(func(t *testing.T, s string) {
		if app, ok := appMsgElement(s); ok && !strings.HasPrefix(app, "<appmsg") {
			t.Errorf("appMsgElement(%q) = %q", s, app)
		}
		if out, ok := replaceAttachID(s, "@id"); ok && !strings.Contains(out, "<attachid>@id</attachid>") {
			t.Errorf("replaceAttachID(%q) = %q", s, out)
		}
	})
}

// TestPrepare: each kind of reader gives the same size, MD5 and head, and can be read again.
func TestPrepare(t *testing.T) {
	// Not parallel: t.Setenv.
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	data := bytes.Repeat([]byte("0123456789abcdef"), 70000) // 1.1 MB
	sum := md5.Sum(data)
	path := tmp + "/file"
	require.NoError(t, os.WriteFile(path, data, 0o600))
	open := func() *os.File {
		f, err := os.Open(path)
		require.NoError(t, err)
		t.Cleanup(func() { f.Close() })
		return f
	}
	atOffset := open()
	_, err := atOffset.Seek(16, io.SeekStart)
	require.NoError(t, err)
	pr, pw, err := os.Pipe() // an *os.File that cannot seek
	require.NoError(t, err)
	go func() {
		pw.Write(data)
		pw.Close()
	}()
	defer pr.Close()

	c := loggedInClient()
	tests := []struct {
		name  string
		r     io.Reader
		want  []byte
		spool bool
	}{
		{"bytes.Reader", bytes.NewReader(data), data, false},
		{"file", open(), data, false},
		{"file at offset 16", atOffset, data[16:], false},
		{"ReadSeeker only", struct{ io.ReadSeeker }{bytes.NewReader(data)}, data, false},
		{"ReaderAt only", readerAtOnly{bytes.NewReader(data)}, data, false},
		{"plain reader", struct{ io.Reader }{bytes.NewReader(data)}, data, true},
		{"pipe", pr, data, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := c.prepare(tt.r, 2<<20)
			require.NoError(t, err)
			want := md5.Sum(tt.want)
			assert.Equal(t, int64(len(tt.want)), src.size)
			assert.Equal(t, hex.EncodeToString(want[:]), src.md5)
			assert.Equal(t, tt.want[:512], src.head)
			for range 2 {
				r, err := src.open()
				require.NoError(t, err)
				got, err := io.ReadAll(r)
				require.NoError(t, err)
				assert.True(t, bytes.Equal(tt.want, got), "second pass")
			}
			entries, _ := os.ReadDir(tmp)
			assert.Len(t, entries, map[bool]int{true: 2, false: 1}[tt.spool], "a temporary copy only for readers that cannot seek")
			src.close()
			entries, _ = os.ReadDir(tmp)
			assert.Len(t, entries, 1, "the temporary copy is removed")
		})
	}
	assert.Equal(t, hex.EncodeToString(sum[:]), func() string {
		src, err := c.prepare(bytes.NewReader(data), int64(len(data)))
		require.NoError(t, err, "a file of exactly the limit is accepted")
		defer src.close()
		return src.md5
	}())
}

func TestPrepareNeedsSession(t *testing.T) {
	t.Parallel()
	_, err := New().prepare(&endlessSeeker{}, 100)
	assert.ErrorIs(t, err, ErrNotLoggedIn, "before reading the file")
}

func TestPrepareRefuses(t *testing.T) {
	// Not parallel: t.Setenv.
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	c := loggedInClient()
	for name, tt := range map[string]struct {
		r    io.Reader
		want error
	}{
		"over the limit":              {bytes.NewReader(make([]byte, 101)), ErrTooLarge},
		"plain reader over the limit": {struct{ io.Reader }{bytes.NewReader(make([]byte, 5000))}, ErrTooLarge},
		"ReaderAt over the limit":     {readerAtOnly{bytes.NewReader(make([]byte, 101))}, ErrTooLarge},
		"huge, never read":            {&endlessSeeker{}, ErrTooLarge},
		"empty":                       {bytes.NewReader(nil), ErrEmptyFile},
		"empty plain reader":          {struct{ io.Reader }{strings.NewReader("")}, ErrEmptyFile},
		"empty ReaderAt":              {readerAtOnly{strings.NewReader("")}, ErrEmptyFile},
		"failing reader":              {struct{ io.Reader }{io.MultiReader(strings.NewReader("x"), errReader{})}, errBroken},
	} {
		src, err := c.prepare(tt.r, 100)
		assert.Nil(t, src, name)
		assert.ErrorIs(t, err, tt.want, name)
		var e *Error
		assert.ErrorAs(t, err, &e, name)
		entries, _ := os.ReadDir(tmp)
		assert.Empty(t, entries, "%s: no temporary file left", name)
	}
}

// readerAtOnly is an io.ReaderAt that cannot seek; it is read from offset 0.
type readerAtOnly struct{ io.ReaderAt }

func (readerAtOnly) Read([]byte) (int, error) { return 0, errors.New("use ReadAt") }

// endlessSeeker claims to be 1 TB long; reading it fails the test.
type endlessSeeker struct{}

func (*endlessSeeker) Read([]byte) (int, error) { panic("read a file over the limit") }
func (*endlessSeeker) Seek(off int64, whence int) (int64, error) {
	if whence == io.SeekEnd {
		return 1 << 40, nil
	}
	return 0, nil
}

var errBroken = errors.New("broken reader")

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBroken }

func TestPacer(t *testing.T) {
	t.Parallel()
	assert.Nil(t, newPacer(sendConfig{rateSet: true}), "WithSendRate(0, 0) is off")
	assert.Nil(t, newPacer(sendConfig{rateSet: true, interval: -1, burst: 5}))
	var off *pacer
	assert.NoError(t, off.wait(t.Context()))
	assert.Zero(t, off.done(&Error{Op: opSendMsg, Ret: 1205}))

	p := newPacer(sendConfig{})
	require.NotNil(t, p, "on by default")
	rateLimited := &Error{Op: opSendMsg, Ret: 1205}
	var pauses []time.Duration
	for range 4 {
		pauses = append(pauses, p.done(rateLimited))
	}
	assert.GreaterOrEqual(t, pauses[0], 2500*time.Millisecond)
	assert.LessOrEqual(t, pauses[0], 5*time.Second)
	assert.Greater(t, pauses[3], pauses[0], "consecutive refusals pause longer")
	assert.Zero(t, p.done(nil))
	assert.LessOrEqual(t, p.done(rateLimited), 5*time.Second, "a success resets the pause")
	assert.Zero(t, p.done(&Error{Op: opSendMsg, Ret: 1}), "other errors do not pause")
}

// loggedInClient returns a Client with a session, for the steps that need one but no server.
func loggedInClient() *Client {
	c := New()
	c.sess.install(&session{hosts: hostsFor("wx2.qq.com"), uin: 2212345678, self: "@self", skey: "@crypt_0_1"})
	return c
}
