package wire

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeSend(t *testing.T) {
	tests := []struct {
		dir, file string
		wantRet   int
		wantMsgID string
	}{
		{"webwxsendmsg", "ok_compact.json", 0, "6812345678901234567"},
		{"webwxsendmsg", "ret_1205.json", 1205, ""},
		{"webwxsendmsg", "ret_1101.json", 1101, ""},
		{"webwxsendmsgimg", "ok_multiline.json", 0, "6812345678901234567"},
		{"webwxsendappmsg", "ok_no_msgid.json", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.dir+"/"+tt.file, func(t *testing.T) {
			r, err := DecodeSend(rootFixture(t, tt.dir, tt.file))
			require.NoError(t, err)
			assert.True(t, r.Base.Found)
			assert.Equal(t, tt.wantRet, r.Base.Ret)
			if tt.wantMsgID != "" {
				assert.Equal(t, tt.wantMsgID, r.MsgID)
			}
		})
	}
	_, err := DecodeSend(rootFixture(t, "webwxsendemoticon", "html_error_page.html"))
	assert.ErrorIs(t, err, ErrSyntax)

	// The multi-line error layout of PROTOCOL 14.2 (79 bytes).
	body := "{\n\"BaseResponse\": {\n\"Ret\": 1205,\n\"ErrMsg\": \"\"\n}\n,\n\"MsgID\": \"\",\n\"LocalID\": \"\"\n}\n"
	require.Len(t, body, 79)
	r, err := DecodeSend([]byte(body))
	require.NoError(t, err)
	assert.Equal(t, 1205, r.Base.Ret)
	// MsgID as a number, odd ErrMsg.
	r, err = DecodeSend([]byte(`{"BaseResponse": {"Ret": "0", "ErrMsg": 5}, "MsgID": 6812345678901234567}`))
	require.NoError(t, err)
	assert.Equal(t, BaseResponse{ErrMsg: "5", Found: true}, r.Base)
	assert.Equal(t, "6812345678901234567", r.MsgID)
	// No BaseResponse at all.
	r, err = DecodeSend([]byte(`{"MsgID": "1"}`))
	require.NoError(t, err)
	assert.False(t, r.Base.Found)
}

func TestDecodeUploads(t *testing.T) {
	up, err := DecodeUpload(rootFixture(t, "webwxuploadmedia", "ok.json"))
	require.NoError(t, err)
	assert.Equal(t, 0, up.Base.Ret)
	assert.NotEmpty(t, up.MediaID)
	up, err = DecodeUpload(rootFixture(t, "webwxuploadmedia", "ret_minus1.json"))
	require.NoError(t, err)
	assert.Equal(t, -1, up.Base.Ret)

	cu, err := DecodeCheckUpload(rootFixture(t, "webwxcheckupload", "new_file.json"))
	require.NoError(t, err)
	assert.NotEmpty(t, cu.Signature)
	assert.NotEmpty(t, cu.AESKey)
	cu, err = DecodeCheckUpload(rootFixture(t, "webwxcheckupload", "known_file.json"))
	require.NoError(t, err)
	assert.NotEmpty(t, cu.MediaID)

	rv, err := DecodeRevoke(rootFixture(t, "webwxrevokemsg", "ret_minus1_errmsg.json"))
	require.NoError(t, err)
	assert.Equal(t, -1, rv.Base.Ret)
	assert.NotEmpty(t, rv.Base.ErrMsg)

	cc, err := DecodeCreateChatroom([]byte(`{"BaseResponse": {"Ret": 0, "ErrMsg": ""}, "ChatRoomName": "@@new"}`))
	require.NoError(t, err)
	assert.Equal(t, "@@new", cc.ChatRoomName)
	b, err := DecodeBase([]byte(`{"BaseResponse": {"Ret": 1101, "ErrMsg": ""}}`))
	require.NoError(t, err)
	assert.Equal(t, 1101, b.Base.Ret)
}

func TestDecodeInit(t *testing.T) {
	in, err := DecodeInit(rootFixture(t, "webwxinit", "ok.json"))
	require.NoError(t, err)
	assert.True(t, in.Base.Found)
	assert.NotEmpty(t, in.User.UserName)
	assert.True(t, in.SyncKey.Valid())
	assert.NotEmpty(t, in.SKey)
	assert.NotZero(t, in.SystemTime)
	assert.NotEmpty(t, in.Contacts)

	in, err = DecodeInit(rootFixture(t, "webwxinit", "ret_1100.json"))
	require.NoError(t, err)
	assert.Equal(t, 1100, in.Base.Ret)
	assert.False(t, in.SyncKey.Valid(), "a zeroed body (PROTOCOL 14.6)")
}

func TestDecodeContactPage(t *testing.T) {
	p, err := DecodeContactPage(rootFixture(t, "webwxgetcontact", "page1.json"))
	require.NoError(t, err)
	assert.NotEmpty(t, p.Contacts)
	assert.NotZero(t, p.Seq)
	assert.Equal(t, "Alice🌛", p.Contacts[0].NickName)
	assert.Equal(t, "Ali & Co", p.Contacts[0].RemarkName)

	g, err := DecodeContactPage(rootFixture(t, "webwxbatchgetcontact", "group.json"))
	require.NoError(t, err)
	require.NotEmpty(t, g.Contacts)
	assert.NotEmpty(t, g.Contacts[0].Members)

	// Odd fields read as zero; a broken entry is reported and left out; Seq as a string.
	o, err := DecodeContactPage(rootFixture(t, "webwxgetcontact", "odd_entries.json"))
	require.NoError(t, err)
	require.Len(t, o.Contacts, 2)
	assert.Equal(t, "@@0f1e2d3c", o.Contacts[0].UserName)
	assert.Equal(t, "@5c0a", o.Contacts[1].UserName)
	require.Len(t, o.Unreadable, 1)
	assert.Equal(t, "MemberList", o.Unreadable[0].List)
	assert.Zero(t, o.Seq)
}

func TestEncodeJSON(t *testing.T) {
	b, err := EncodeJSON(map[string]string{"Content": `<a href="x/y">&</a>`})
	require.NoError(t, err)
	assert.Equal(t, `{"Content":"<a href=\"x/y\">&</a>"}`, string(b))
}

// rootFixtures lists the files of a root testdata directory.
func rootFixtures(tb testing.TB, dir string) []string {
	tb.Helper()
	es, err := os.ReadDir(filepath.Join("..", "..", "testdata", dir))
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, e := range es {
		if !e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestDecodeContactMemberLists: a MemberList that is not a list is no members; members that
// cannot be read cost only themselves; the groups are kept.
func TestDecodeContactMemberLists(t *testing.T) {
	body := `{"BaseResponse": {"Ret": 0, "ErrMsg": ""}, "ContactList": [
{"UserName": "@@g", "MemberList": null, "NickName": "G"},
{"UserName": "@@h", "MemberList": 5},
{"UserName": "@@i", "MemberList": [{"UserName": "@a"}, {"NickName": "no name"}, 7, {"UserName": "@b", "X": tru}, {"UserName": "@c", "Deep": ` +
		strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}, {"UserName": "@d"}]}
], "Count": 3}`
	p, err := DecodeContactPage([]byte(body))
	require.NoError(t, err)
	require.Len(t, p.Contacts, 3)
	assert.Equal(t, "G", p.Contacts[0].NickName)
	assert.Empty(t, p.Contacts[0].Members)
	assert.Empty(t, p.Contacts[1].Members)
	var names []string
	for _, m := range p.Contacts[2].Members {
		names = append(names, m.UserName)
	}
	assert.Equal(t, []string{"@a", "@d"}, names)
	assert.Empty(t, p.Unreadable)
}
