package wechat_test

// End-to-end tests of sending, forwarding and revoking against wechattest. Uploads and their
// benchmark are in e2e_upload_test.go, downloads in e2e_media_test.go.

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/wechattest"
)

// lastSent returns the last message the server accepted.
func lastSent(t *testing.T, srv *wechattest.Server) wechattest.SentMessage {
	t.Helper()
	sent := srv.Sent()
	require.NotEmpty(t, sent)
	return sent[len(sent)-1]
}

// sendBody decodes the JSON body of the last request to a send endpoint.
func sendBody(t *testing.T, srv *wechattest.Server, endpoint string) (req struct {
	Msg   map[string]any
	Scene int
}, query url.Values) {
	t.Helper()
	rs := requestsTo(srv, "/cgi-bin/mmwebwx-bin/"+endpoint)
	require.NotEmpty(t, rs)
	r := rs[len(rs)-1]
	require.NoError(t, json.Unmarshal(r.Body, &req))
	return req, r.Query
}

func TestSendFile(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		mode  wechat.Mode
		appID string
	}{{wechat.ModeWeb, "wxeb7ec651dd0aefa9"}, {wechat.ModeDesktop, ""}} {
		t.Run(tt.mode.String(), func(t *testing.T) {
			t.Parallel()
			b := setup(t, withClient(wechat.WithMode(tt.mode)))
			srv := b.srv
			data := randomBytes(1200*1000, "%PDF-1.4\n")
			sent, err := b.c.SendFile(t.Context(), "filehelper", "docs/Report & <Q3>.PDF", bytes.NewReader(data))
			require.NoError(t, err)

			ups := srv.Uploads()
			require.Len(t, ups, 1)
			assert.Equal(t, data, ups[0].Data)
			assert.Equal(t, "doc", ups[0].MediaType)
			assert.Equal(t, "Report & <Q3>.PDF", ups[0].Name, "the base name")
			assert.Equal(t, "application/pdf", ups[0].ContentType)
			chunks := requestsTo(srv, uploadPath)
			require.Len(t, chunks, 3, "1.2 MB in 512 KiB chunks")
			sum := md5.Sum(data)
			for i, r := range chunks {
				form := uploadForm(t, r)
				assert.Equal(t, "WU_FILE_0", form["id"])
				assert.Equal(t, "1200000", form["size"])
				assert.Equal(t, "3", form["chunks"])
				assert.Equal(t, fmt.Sprint(i), form["chunk"])
				assert.Equal(t, "doc", form["mediatype"])
				assert.NotContains(t, form["pass_ticket"], "%", "decoded in the form (PROTOCOL 3.4)")
				var umr map[string]any
				require.NoError(t, json.Unmarshal([]byte(form["uploadmediarequest"]), &umr))
				assert.Equal(t, hex.EncodeToString(sum[:]), umr["FileMd5"])
				assert.Equal(t, float64(1200000), umr["TotalLen"])
				assert.Equal(t, float64(1200000), umr["DataLen"])
				assert.Equal(t, float64(0), umr["StartPos"])
				assert.Equal(t, float64(4), umr["MediaType"])
				assert.Equal(t, float64(2), umr["UploadType"])
				assert.NotContains(t, umr, "Signature", "only for files over 25 MB")
			}

			got := lastSent(t, srv)
			assert.Equal(t, "webwxsendappmsg", got.Endpoint)
			assert.Equal(t, 6, got.Type)
			assert.Equal(t, "filehelper", got.To)
			assert.Equal(t, ups[0].MediaID, got.MediaID)
			want := "<appmsg appid='" + tt.appID + "' sdkver=''><title>Report &amp; &lt;Q3&gt;.PDF</title><des></des><action></action>" +
				"<type>6</type><content></content><url></url><lowurl></lowurl><appattach><totallen>1200000</totallen>" +
				"<attachid>" + ups[0].MediaID + "</attachid><fileext>pdf</fileext></appattach><extinfo></extinfo></appmsg>"
			assert.Equal(t, want, got.Content, "the appmsg of PROTOCOL 8.5, byte for byte")
			assert.Empty(t, got.Signature, "no Signature under 25 MB")

			_, q := sendBody(t, srv, "webwxsendappmsg")
			assert.Equal(t, "async", q.Get("fun"))
			if tt.mode == wechat.ModeDesktop {
				assert.Equal(t, "desktop", q.Get("mod"))
			} else {
				assert.Empty(t, q.Get("mod"))
			}

			assert.Equal(t, got.MsgID, sent.MsgID)
			assert.Equal(t, got.LocalID, sent.LocalID)
			assert.Equal(t, "filehelper", sent.ToUserName)
			assert.Equal(t, wechat.MsgTypeApp, sent.Type)
			assert.WithinDuration(t, time.Now(), sent.Time, time.Minute)
		})
	}
}

func TestSendMedia(t *testing.T) {
	t.Parallel()
	b := setup(t, withClient(wechat.WithSendRate(0, 0)))
	srv := b.srv
	mp4 := randomBytes(600*1000, "\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")
	sent, err := b.c.SendVideo(t.Context(), "filehelper", "clip.mp4", bytes.NewReader(mp4))
	require.NoError(t, err)
	assert.Equal(t, wechat.MsgTypeVideo, sent.Type)
	got := lastSent(t, srv)
	assert.Equal(t, "webwxsendvideomsg", got.Endpoint)
	assert.Equal(t, 43, got.Type)
	ups := srv.Uploads()
	require.Len(t, ups, 1)
	assert.Equal(t, "video", ups[0].MediaType)
	assert.Equal(t, "video/mp4", ups[0].ContentType)
	assert.Equal(t, ups[0].MediaID, got.MediaID)

	gif := randomBytes(5000, "GIF89a")
	sent, err = b.c.SendEmoticon(t.Context(), "filehelper", "wave.gif", bytes.NewReader(gif))
	require.NoError(t, err)
	assert.Equal(t, wechat.MsgTypeEmoticon, sent.Type)
	got = lastSent(t, srv)
	assert.Equal(t, "webwxsendemoticon", got.Endpoint)
	assert.Equal(t, 47, got.Type)
	ups = srv.Uploads()
	assert.Equal(t, "doc", ups[1].MediaType, "GIFs are uploaded as documents (PROTOCOL 8.6)")
	assert.Equal(t, ups[1].MediaID, got.MediaID)
	body, q := sendBody(t, srv, "webwxsendemoticon")
	assert.Equal(t, "sys", q.Get("fun"))
	assert.Equal(t, float64(2), body.Msg["EmojiFlag"])
	assert.NotContains(t, body.Msg, "Content", "emoticons carry no Content")

	_, err = b.c.SendEmoticonMD5(t.Context(), "filehelper", "e68363487d8f0519c4e1047de403b2e7")
	require.NoError(t, err)
	got = lastSent(t, srv)
	assert.Equal(t, "e68363487d8f0519c4e1047de403b2e7", got.MediaID, "the server records the md5")
	body, _ = sendBody(t, srv, "webwxsendemoticon")
	assert.Equal(t, "e68363487d8f0519c4e1047de403b2e7", body.Msg["EMoticonMd5"])
	assert.NotContains(t, body.Msg, "MediaId")
	assert.Len(t, srv.Uploads(), 2)

	body, _ = sendBody(t, srv, "webwxsendvideomsg")
	assert.Equal(t, "", body.Msg["Content"], "video sends carry an empty Content")
}

// TestSend: Send picks the call by the file's bytes, the extension only when they say nothing.
func TestSend(t *testing.T) {
	t.Parallel()
	b := setup(t, withServer(wechattest.WithUploadDigestOnly()), withClient(wechat.WithSendRate(0, 0)))
	srv := b.srv
	mp4Head := "\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
	tests := []struct {
		name     string
		file     string
		r        io.Reader
		endpoint string
		typ      wechat.MsgType
		media    string
	}{
		{"png named .bin", "x.bin", bytes.NewReader(randomBytes(3000, "\x89PNG\r\n\x1a\n")), "webwxsendmsgimg", wechat.MsgTypeImage, "pic"},
		{"jpeg", "x.jpg", bytes.NewReader(randomBytes(3000, "\xFF\xD8\xFF\xE0")), "webwxsendmsgimg", wechat.MsgTypeImage, "pic"},
		{"gif named .jpg", "x.jpg", bytes.NewReader(randomBytes(3000, "GIF89a")), "webwxsendemoticon", wechat.MsgTypeEmoticon, "doc"},
		{"mp4", "x", bytes.NewReader(randomBytes(3000, mp4Head)), "webwxsendvideomsg", wechat.MsgTypeVideo, "video"},
		{"mp4 of 20 MB", "x.mp4", &patternFile{size: 20 << 20, head: []byte(mp4Head)}, "webwxsendappmsg", wechat.MsgTypeApp, "doc"},
		{"image over 20 MB", "x.png", &patternFile{size: 20<<20 + 1, head: []byte("\x89PNG\r\n\x1a\n")}, "webwxsendappmsg", wechat.MsgTypeApp, "doc"},
		{"text", "notes.jpg", strings.NewReader("just some text, not a picture"), "webwxsendappmsg", wechat.MsgTypeApp, "doc"},
		{"unknown bytes named .jpg", "x.jpg", bytes.NewReader(randomBytes(3000, "\x01\x02")), "webwxsendmsgimg", wechat.MsgTypeImage, "pic"},
		{"unknown bytes named .mp4", "x.MP4", bytes.NewReader(randomBytes(3000, "\x01\x02")), "webwxsendvideomsg", wechat.MsgTypeVideo, "video"},
		{"unknown bytes", "x.dat", onlyReader{bytes.NewReader(randomBytes(3000, "\x01\x02"))}, "webwxsendappmsg", wechat.MsgTypeApp, "doc"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sent, err := b.c.Send(t.Context(), "filehelper", tt.file, tt.r)
			require.NoError(t, err)
			assert.Equal(t, tt.typ, sent.Type)
			assert.Equal(t, tt.endpoint, lastSent(t, srv).Endpoint)
			ups := srv.Uploads()
			require.Len(t, ups, i+1)
			assert.Equal(t, tt.media, ups[i].MediaType)
		})
	}
}

func TestSendMention(t *testing.T) {
	t.Parallel()
	b := setup(t)
	srv := b.srv
	require.NoError(t, b.c.WaitContacts(t.Context()))
	group := srv.UserName("group")
	friend, carol := srv.UserName("friend"), srv.UserName("carol")
	sent, err := b.c.SendMention(t.Context(), group, "lunch?", friend, carol)
	require.NoError(t, err)
	assert.Equal(t, wechat.MsgTypeText, sent.Type)
	got := lastSent(t, srv)
	assert.Equal(t, "webwxsendmsg", got.Endpoint)
	assert.Equal(t, "group", got.To)
	assert.Equal(t, "@Friend\u2005@Carol in group\u2005lunch?", got.Content, "display name in the group, else nickname")
	assert.Equal(t, "<msgsource><atusername>"+friend+","+carol+"</atusername><atchatroomname>"+group+"</atchatroomname></msgsource>", got.MsgSource)

	n := len(srv.Sent())
	_, err = b.c.SendMention(t.Context(), group, "x", srv.UserName("bob"))
	assert.ErrorIs(t, err, wechat.ErrUnknownContact, "bob is not in the group")
	_, err = b.c.SendMention(t.Context(), srv.UserName("friend"), "x", carol)
	assert.ErrorIs(t, err, wechat.ErrUnknownContact, "not a group")
	assert.Len(t, srv.Sent(), n)
}

func TestForward(t *testing.T) {
	t.Parallel()
	b := setup(t, withClient(wechat.WithSendRate(0, 0)))
	srv := b.srv
	location := wechattest.Message{From: "friend", Type: 1, SubMsgType: 48,
		Text:       "Some street:\n/cgi-bin/mmwebwx-bin/webwxgetpubliclinkimg?url=xxx&msgid=1&pictype=location",
		URL:        "http://apis.map.qq.com/uri/v1/geocoder?coord=22.540503,113.934528",
		OriContent: "<?xml version=\"1.0\"?>\n<msg>\n\t<location x=\"22.540503\" y=\"113.934528\" scale=\"16\" label=\"Some street\" maptype=\"0\" poiname=\"[位置]\" poiid=\"\" />\n</msg>\n"}
	sticker := wechattest.Emoticon("friend", "0123456789abcdef0123456789abcdef")
	sticker.HasProductID = 1
	voice := wechattest.Voice("friend", 1500)
	link := wechattest.Message{From: "friend", Type: 49, AppMsgType: 5, FileName: "An article", URL: "https://example.com/a",
		Content: "&lt;msg&gt;&lt;appmsg appid=&quot;&quot; sdkver=&quot;0&quot;&gt;&lt;title&gt;An article&lt;/title&gt;&lt;type&gt;5&lt;/type&gt;&lt;url&gt;https://example.com/a&lt;/url&gt;&lt;/appmsg&gt;&lt;/msg&gt;"}
	file := wechattest.File("friend", "Plan.xlsx", 2048, "@crypt_0a1b2c3d_plan")
	file.Group = "group"

	tests := []struct {
		name     string
		msg      wechattest.Message
		endpoint string
		typ      int
		scene    int
		check    func(t *testing.T, m *wechat.Message, got wechattest.SentMessage)
	}{
		{"text", wechattest.GroupText("group", "alice", "a <b> & c\nd"), "webwxsendmsg", 1, 2, func(t *testing.T, _ *wechat.Message, got wechattest.SentMessage) {
			assert.Equal(t, "a <b> & c\nd", got.Content, "decoded, without the group prefix")
		}},
		{"location", location, "webwxsendmsg", 48, 2, func(t *testing.T, _ *wechat.Message, got wechattest.SentMessage) {
			assert.Equal(t, location.OriContent, got.Content)
		}},
		{"image", wechattest.Image("friend"), "webwxsendmsgimg", 3, 2, func(t *testing.T, m *wechat.Message, got wechattest.SentMessage) {
			assert.Equal(t, `<msg><img length="6503" hdlength="0" /><commenturl></commenturl></msg>`, got.Content)
			assert.Empty(t, got.MediaID)
		}},
		{"video", wechattest.Video("friend", 12), "webwxsendvideomsg", 43, 2, func(t *testing.T, m *wechat.Message, got wechattest.SentMessage) {
			assert.Equal(t, m.Content, got.Content)
			assert.Contains(t, got.Content, "<videomsg ")
		}},
		{"emoticon", wechattest.Emoticon("friend", "e68363487d8f0519c4e1047de403b2e7"), "webwxsendemoticon", 47, 0, func(t *testing.T, _ *wechat.Message, got wechattest.SentMessage) {
			assert.Equal(t, "e68363487d8f0519c4e1047de403b2e7", got.MediaID, "EMoticonMd5")
		}},
		{"file", file, "webwxsendappmsg", 6, 2, func(t *testing.T, m *wechat.Message, got wechattest.SentMessage) {
			assert.Equal(t, file.MediaID, got.MediaID, "the attachid is the MediaId")
			assert.True(t, strings.HasPrefix(got.Content, `<appmsg appid="wx6618f1cfc6c132f8" sdkver="0"><title>Plan.xlsx</title>`), got.Content)
			assert.True(t, strings.HasSuffix(got.Content, "</appmsg>"), got.Content)
			assert.Contains(t, got.Content, "<attachid>"+file.MediaID+"</attachid>")
		}},
		{"link", link, "webwxsendappmsg", 5, 2, func(t *testing.T, _ *wechat.Message, got wechattest.SentMessage) {
			assert.Equal(t, `<appmsg appid="" sdkver="0"><title>An article</title><type>5</type><url>https://example.com/a</url></appmsg>`, got.Content)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := b.deliver(t, tt.msg)
			sent, err := b.c.Forward(t.Context(), m, "filehelper")
			require.NoError(t, err)
			got := lastSent(t, srv)
			assert.Equal(t, sent.MsgID, got.MsgID)
			assert.Equal(t, tt.endpoint, got.Endpoint)
			assert.Equal(t, tt.typ, got.Type)
			assert.Equal(t, tt.scene, got.Scene)
			assert.Equal(t, "filehelper", got.To)
			tt.check(t, m, got)
		})
	}

	n := len(srv.Sent())
	for _, msg := range []wechattest.Message{sticker, voice, {From: "friend", Type: 49, AppMsgType: 2001, Content: "&lt;msg&gt;&lt;appmsg&gt;&lt;/appmsg&gt;&lt;/msg&gt;"}} {
		m := b.deliver(t, msg)
		_, err := b.c.Forward(t.Context(), m, "filehelper")
		assert.ErrorIs(t, err, errors.ErrUnsupported, "type %d", msg.Type)
	}
	assert.Len(t, srv.Sent(), n, "nothing sent")
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t)
		srv := b.srv
		sent, err := b.c.SendText(t.Context(), "filehelper", "oops")
		require.NoError(t, err)
		require.NoError(t, b.c.Revoke(t.Context(), sent))
		got := lastSent(t, srv)
		assert.Equal(t, "webwxrevokemsg", got.Endpoint)
		assert.Equal(t, sent.MsgID, got.MsgID)
		assert.Equal(t, sent.LocalID, got.ClientMsgID, "the original ClientMsgId")
		assert.Equal(t, "filehelper", got.To)

		err = b.c.Revoke(t.Context(), sent)
		assert.ErrorIs(t, err, wechat.ErrRevokeRefused, "already revoked")

		late, err := b.c.SendText(t.Context(), "filehelper", "too late")
		require.NoError(t, err)
		time.Sleep(2*time.Minute + time.Second) // fake time: the server's clock moves
		err = b.c.Revoke(t.Context(), late)
		require.ErrorIs(t, err, wechat.ErrRevokeRefused)
		assert.NotErrorIs(t, err, wechat.ErrLoggedOut)
		var we *wechat.Error
		require.ErrorAs(t, err, &we)
		assert.Equal(t, "webwxrevokemsg", we.Op)
		assert.NotZero(t, we.Ret)

		err = b.c.Revoke(t.Context(), &wechat.SentMessage{})
		assert.Error(t, err)
		assert.NotErrorIs(t, err, wechat.ErrRevokeRefused, "no request for an empty SentMessage")
	})
}

func TestRevokeWindowOption(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, withServer(wechattest.WithRevokeWindow(10*time.Second)))
		sent, err := b.c.SendText(t.Context(), "filehelper", "quick")
		require.NoError(t, err)
		time.Sleep(11 * time.Second) // fake time
		assert.ErrorIs(t, b.c.Revoke(t.Context(), sent), wechat.ErrRevokeRefused)
	})
}

// TestRateLimitedThenSent: the server refuses a fourth send within a minute with 1205; the
// client pauses its sends, so resending after the refusals goes through once the server's
// window has passed. Runs on synctest's fake clock.
func TestRateLimitedThenSent(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, withServer(wechattest.WithSendLimit(3, time.Minute)))
		srv := b.srv

		for i := range 3 {
			_, err := b.c.SendText(t.Context(), "filehelper", fmt.Sprint(i))
			require.NoError(t, err)
		}
		start := time.Now()
		_, err := b.c.SendText(t.Context(), "filehelper", "too many")
		require.ErrorIs(t, err, wechat.ErrRateLimited)
		var we *wechat.Error
		require.ErrorAs(t, err, &we)
		assert.Equal(t, 1205, we.Ret)

		refusals := 1
		for errors.Is(err, wechat.ErrRateLimited) {
			_, err = b.c.SendText(t.Context(), "filehelper", "too many")
			if errors.Is(err, wechat.ErrRateLimited) {
				refusals++
			}
		}
		require.NoError(t, err)
		waited := time.Since(start)
		assert.GreaterOrEqual(t, waited, 50*time.Second, "the client paused before each retry")
		assert.Less(t, waited, 3*time.Minute)
		assert.LessOrEqual(t, refusals, 5, "the pauses grow: a few refusals, not a busy loop")
		assert.Len(t, srv.Sent(), 4)
	})
}

// TestSendPacing: by default five sends go at once, then one a second; WithSendRate(0, 0)
// switches pacing off. Runs on synctest's fake clock.
func TestSendPacing(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		opts []wechat.Option
		want time.Duration
	}{
		{"default", nil, 3 * time.Second},
		{"custom", []wechat.Option{wechat.WithSendRate(500*time.Millisecond, 2)}, 3 * time.Second},
		{"off", []wechat.Option{wechat.WithSendRate(0, 0)}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				b := setup(t, withClient(tt.opts...))
				srv := b.srv
				start := time.Now()
				for i := range 8 {
					_, err := b.c.SendText(t.Context(), "filehelper", fmt.Sprint(i))
					require.NoError(t, err)
				}
				assert.Equal(t, tt.want, time.Since(start))

				if tt.want > 0 {
					ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
					defer cancel()
					_, err := b.c.SendText(ctx, "filehelper", "no turn before ctx ends")
					assert.ErrorIs(t, err, context.DeadlineExceeded)
					assert.Len(t, srv.Sent(), 8, "a send whose ctx ends while it waits is not sent")
				}
			})
		})
	}
}
