package wechat

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat/internal/wire"
)

func TestParseSyncCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file    string
		want    syncCheck
		wantErr error
	}{
		{"new_message.txt", syncCheck{Retcode: 0, Selector: 2}, nil},
		{"idle.txt", syncCheck{Retcode: 0, Selector: 0}, nil},
		{"selector_7.txt", syncCheck{Retcode: 0, Selector: 7}, nil},
		{"retcode_1100.txt", syncCheck{Retcode: 1100}, nil},
		{"logged_out.txt", syncCheck{Retcode: 1101}, nil},
		{"retcode_1102.txt", syncCheck{Retcode: 1102}, nil},
		{"no_selector.txt", syncCheck{Retcode: 1101}, nil},
		{"spaces.txt", syncCheck{Retcode: 0, Selector: 6}, nil},
		{"newline.txt", syncCheck{Retcode: 0, Selector: 2}, nil},
		{"crlf_semicolon.txt", syncCheck{Retcode: 0, Selector: 4}, nil},
		{"html_error_page.txt", syncCheck{}, ErrBadResponse},
		{"empty.txt", syncCheck{}, ErrBadResponse},
		{"truncated.txt", syncCheck{}, ErrBadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := parseSyncCheck(parserFixture(t, "synccheck", tt.file))
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				var e *Error
				require.ErrorAs(t, err, &e)
				assert.Equal(t, opSyncCheck, e.Op)
				assert.NotErrorIs(t, err, ErrLoggedOut)
				assert.Equal(t, syncCheck{}, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestParseSyncCheckCapturedBody: parseSyncCheck reads the body exactly as the server sends
// it (PROTOCOL 6.1, 14.1: 43 bytes, no newline, no semicolon), and refuses every cut of it: a
// synccheck answer cut short (a closed connection, FaultTruncate) is never read as an answer.
func TestParseSyncCheckCapturedBody(t *testing.T) {
	t.Parallel()
	const captured = `window.synccheck={retcode:"0",selector:"2"}`
	body := parserFixture(t, "synccheck", "new_message.txt")
	require.Equal(t, captured, string(body), "the fixture is the captured body")
	got, err := parseSyncCheck(body)
	require.NoError(t, err)
	assert.Equal(t, syncCheck{Retcode: 0, Selector: 2}, got)
	for i := range len(body) {
		got, err := parseSyncCheck(body[:i])
		assert.ErrorIs(t, err, ErrBadResponse, "the body cut to %q gave %+v", body[:i], got)
	}
}

func TestParseSyncCheckOtherBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body    string
		want    syncCheck
		wantErr bool
	}{
		{body: `window.synccheck={retcode:0,selector:2}`, want: syncCheck{Selector: 2}},
		{body: `window.synccheck={"retcode":"0","selector":"3"}`, want: syncCheck{Selector: 3}},
		{body: `window.synccheck={retcode:"1205",selector:"0"}`, want: syncCheck{Retcode: 1205}},
		{body: `window.synccheck={selector:"2"}`, wantErr: true},
		{body: `window.synccheck={retcode:"x",selector:"2"}`, wantErr: true},
		{body: `window.code=200;`, wantErr: true},
		{body: `window.synccheck={retcode:"0",selector:"2"}garbage`, wantErr: true},
		{body: "0 -", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			got, err := parseSyncCheck([]byte(tt.body))
			if tt.wantErr {
				require.ErrorIs(t, err, ErrBadResponse)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseSync(t *testing.T) {
	t.Parallel()
	syncKey4 := "1_636444437|2_636445049|3_636444675|1000_1463740202"
	tests := []struct {
		file         string
		wantMsgs     int
		wantContinue int
		wantKey      string // SyncKey.String()
		wantCheckKey string // SyncCheckKey.String()
		wantSKey     string
		wantMod      int // ModContactList entries
		wantDel      int // DelContactList entries
		wantRet      int // Ret of the *Error
		wantErr      error
	}{
		{file: "text_100.json", wantMsgs: 100, wantKey: syncKey4, wantCheckKey: syncKey4},
		{file: "text_100_compact.json", wantMsgs: 100, wantKey: syncKey4, wantCheckKey: syncKey4},
		{file: "group_text.json", wantMsgs: 1, wantKey: syncKey4, wantCheckKey: syncKey4},
		{file: "self_group.json", wantMsgs: 1, wantKey: syncKey4, wantCheckKey: syncKey4},
		{file: "continue_flag.json", wantMsgs: 1, wantContinue: 1, wantKey: syncKey4, wantCheckKey: syncKey4},
		{
			file: "sync_check_key.json", wantMsgs: 1, wantMod: 1, wantDel: 1,
			wantKey:      "1_636444440|2_636445100|3_636444675|11_636444401|201_1463740300|1000_1463740250",
			wantCheckKey: "1_636444440|2_636445100|3_636444675|1000_1463740250",
			wantSKey:     "@crypt_5f3c9a1e_99887766554433221100ffeeddccbbaa",
		},
		{file: "numbers_as_strings.json", wantMsgs: 2, wantKey: syncKey4, wantCheckKey: syncKey4},
		{file: "strings_as_numbers.json", wantMsgs: 1, wantKey: syncKey4, wantCheckKey: syncKey4},
		{file: "malformed_message.json", wantMsgs: 3, wantKey: syncKey4, wantCheckKey: syncKey4},
		{file: "unknown_type.json", wantMsgs: 1, wantKey: syncKey4, wantCheckKey: syncKey4},
		{file: "ret_1101.json", wantRet: 1101, wantErr: ErrLoggedOut},
		{file: "ret_minus1.json", wantRet: -1},
		{file: "html_error_page.html", wantErr: ErrBadResponse},
		{file: "truncated.json", wantErr: ErrBadResponse},
		{file: "empty.json", wantErr: ErrBadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := parseSync(parserFixture(t, "webwxsync", tt.file))
			if tt.wantRet != 0 || tt.wantErr != nil {
				require.Error(t, err)
				assert.Nil(t, got)
				var e *Error
				require.ErrorAs(t, err, &e)
				assert.Equal(t, opSync, e.Op)
				assert.Equal(t, tt.wantRet, e.Ret)
				if tt.wantErr != nil {
					assert.ErrorIs(t, err, tt.wantErr)
				}
				if tt.wantRet != 0 {
					assert.NotErrorIs(t, err, ErrBadResponse, "a server code is not a bad response")
				}
				if tt.wantErr != ErrLoggedOut {
					assert.NotErrorIs(t, err, ErrLoggedOut)
				}
				return
			}
			require.NoError(t, err)
			require.NotNil(t, got)
			assert.Len(t, got.AddMsgList, tt.wantMsgs)
			assert.Equal(t, tt.wantContinue, got.ContinueFlag)
			assert.Equal(t, tt.wantKey, got.SyncKey.String())
			assert.Equal(t, tt.wantCheckKey, got.SyncCheckKey.String())
			assert.True(t, got.SyncKey.valid())
			assert.True(t, got.SyncCheckKey.valid())
			assert.Equal(t, tt.wantSKey, got.SKey)
			assert.Len(t, got.ModContactList, tt.wantMod)
			assert.Len(t, got.DelContactList, tt.wantDel)
		})
	}
}

func TestParseSyncZeroedBodyKeepsKeysInvalid(t *testing.T) {
	t.Parallel()
	// An error body carries SyncKey {"Count":0,"List":[]}; it must never look replaceable,
	// even if a caller ignored the error (PROTOCOL 6.2, 14.6).
	w, err := wire.DecodeSync(parserFixture(t, "webwxsync", "ret_minus1.json"))
	require.NoError(t, err)
	assert.Equal(t, -1, w.Base.Ret)
	assert.False(t, syncKey(w.SyncKey).valid())
	assert.False(t, syncKey(w.SyncCheckKey).valid())
	assert.Empty(t, w.Messages)
	_, err = parseSync(parserFixture(t, "webwxsync", "ret_minus1.json"))
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, -1, e.Ret)
}

func TestParseSyncModContacts(t *testing.T) {
	t.Parallel()
	got, err := parseSync(parserFixture(t, "webwxsync", "sync_check_key.json"))
	require.NoError(t, err)
	var cs []*Contact
	for i := range got.ModContactList {
		cs = append(cs, newContact(&got.ModContactList[i], testSelf))
	}
	require.Len(t, cs, 1)
	g := cs[0]
	assert.Equal(t, KindGroup, g.Kind)
	assert.Equal(t, 2, g.MemberCount)
	require.Len(t, g.Members, 2)
	assert.Equal(t, "D&D", g.Members[1].DisplayName)
}

// TestParseSyncLayoutsAgree checks that the multi-line and the compact layouts of the same
// answer decode to the same messages (PROTOCOL 14.2).
func TestParseSyncLayoutsAgree(t *testing.T) {
	t.Parallel()
	multi, err := parseSync(parserFixture(t, "webwxsync", "text_100.json"))
	require.NoError(t, err)
	compact, err := parseSync(parserFixture(t, "webwxsync", "text_100_compact.json"))
	require.NoError(t, err)
	require.Len(t, compact.AddMsgList, len(multi.AddMsgList))
	for i := range multi.AddMsgList {
		a := decodeMessage(multi.AddMsgList[i], testSelf)
		b := decodeMessage(compact.AddMsgList[i], testSelf)
		a.Raw, b.Raw = nil, nil
		assert.Equal(t, a, b, "message %d", i)
	}
}

// TestParseSyncServerLayout: parseSync reads the server's multi-line layout (PROTOCOL 14.2:
// one key per line, no indentation, "}\n," after nested objects, "}\n,{" between array
// entries, "}\n" at the end) entry by entry, and reads every other layout of the same JSON
// (compact, indented, CRLF line ends) to the same answer: it never parses line by line.
func TestParseSyncServerLayout(t *testing.T) {
	t.Parallel()
	body := parserFixture(t, "webwxsync", "text_100.json")
	errBody := parserFixture(t, "webwxsync", "ret_1101.json")
	// The fixtures have the server's layout, or this test proves nothing.
	for _, part := range []string{
		"{\n\"BaseResponse\": {\n\"Ret\": 0,\n\"ErrMsg\": \"\"\n}\n,\n\"AddMsgCount\": 100,\n\"AddMsgList\": [{\n\"MsgId\": \"6012345678901234000\",\n",
		"\"OpCode\": 0\n}\n,\n\"ForwardFlag\": 0,\n",
		"\"EncryFileName\": \"\",\n\"MD5\": \"\"\n}\n,{\n\"MsgId\": \"6012345678901234001\",\n",
	} {
		require.Contains(t, string(body), part)
	}
	require.NotContains(t, string(body), "\n ")
	require.NotContains(t, string(body), "\n\t")
	require.True(t, strings.HasSuffix(string(body), "\n}\n"))
	require.Contains(t, string(errBody), "\"SyncKey\": {\n\"Count\": 0,\n\"List\": []\n}\n,\n")

	want, err := parseSync(body)
	require.NoError(t, err)
	require.Equal(t, 100, len(want.AddMsgList), "the entries are split at \"}\\n,{\"")
	for i, raw := range want.AddMsgList {
		assert.True(t, json.Valid(raw.Raw), "entry %d is one whole object: %q", i, raw.Raw)
		assert.Equal(t, testMsgID(i), decodeMessage(raw, testSelf).MsgID, "entry %d", i)
	}

	layouts := map[string]func([]byte) []byte{
		"compact": func(b []byte) []byte {
			var out bytes.Buffer
			require.NoError(t, json.Compact(&out, b))
			return out.Bytes()
		},
		"indented": func(b []byte) []byte {
			var out bytes.Buffer
			require.NoError(t, json.Indent(&out, b, "", "\t"))
			return out.Bytes()
		},
		"crlf": func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")) },
	}
	for name, layout := range layouts {
		t.Run(name, func(t *testing.T) {
			got, err := parseSync(layout(body))
			require.NoError(t, err)
			require.Equal(t, len(want.AddMsgList), len(got.AddMsgList))
			for i := range want.AddMsgList {
				assert.Equal(t, withoutRaw(decodeMessage(want.AddMsgList[i], testSelf)),
					withoutRaw(decodeMessage(got.AddMsgList[i], testSelf)), "message %d", i)
			}
			assert.Equal(t, want.SyncKey, got.SyncKey)
			assert.Equal(t, want.SyncCheckKey, got.SyncCheckKey)
			assert.Equal(t, want.ContinueFlag, got.ContinueFlag)
			assert.Equal(t, want.SKey, got.SKey)

			// The zeroed error body in this layout: the server's Ret, never a key to take.
			_, err = parseSync(layout(errBody))
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, 1101, e.Ret)
			assert.ErrorIs(t, err, ErrLoggedOut)
		})
	}
}

func BenchmarkParseSync(b *testing.B) {
	body := parserFixture(b, "webwxsync", "text_100.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := parseSync(body)
		if err != nil {
			b.Fatal(err)
		}
		if len(r.AddMsgList) != 100 {
			b.Fatalf("%d messages", len(r.AddMsgList))
		}
	}
}

func BenchmarkParseSyncAndDecode(b *testing.B) {
	body := parserFixture(b, "webwxsync", "text_100.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := parseSync(body)
		if err != nil {
			b.Fatal(err)
		}
		for _, w := range r.AddMsgList {
			decodeMessage(w, testSelf)
		}
	}
}

// TestSyncUnreadableEntries: the entries of a batch that cannot be read (nested too deeply,
// broken inside, not objects) are delivered as messages with their raw bytes, the others as
// usual, the SyncKey advances, and each unreadable entry is one Warn line with op and bytes.
func TestSyncUnreadableEntries(t *testing.T) {
	resp, err := parseSync(parserFixture(t, "webwxsync", "unreadable_entries.json"))
	require.NoError(t, err)
	require.Len(t, resp.AddMsgList, 6)
	assert.Equal(t, "1_636444440|2_636445100|3_636444675|1000_1463740250", resp.SyncKey.String())
	var msgs []*Message
	for _, w := range resp.AddMsgList {
		msgs = append(msgs, decodeMessage(w, testSelf))
	}
	assert.Equal(t, "hello 0", msgs[0].Content)
	assert.Equal(t, "hello 5", msgs[5].Content)
	for _, i := range []int{1, 2} { // too deep, broken: the ids could be read; the type is unknown
		assert.Equal(t, testMsgID(i), msgs[i].MsgID)
		assert.Equal(t, MsgTypeUnknown, msgs[i].MsgType)
		assert.Equal(t, testFriend, msgs[i].ChatUserName)
		assert.Empty(t, msgs[i].Content)
		assert.NotEmpty(t, msgs[i].Raw)
	}
	for _, i := range []int{3, 4} { // not objects
		assert.Equal(t, MsgTypeUnknown, msgs[i].MsgType)
		assert.Empty(t, msgs[i].MsgID)
		assert.NotEmpty(t, msgs[i].Raw)
	}

	var logs bytes.Buffer
	c := New(WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	c.warnUnreadable(resp)
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 4, logs.String())
	for i, line := range lines {
		var rec struct {
			Level string
			Op    string `json:"op"`
			Bytes int    `json:"bytes"`
			MsgID string `json:"msg_id"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &rec))
		assert.Equal(t, "WARN", rec.Level)
		assert.Equal(t, opSync, rec.Op)
		assert.Equal(t, len(resp.AddMsgList[i+1].Raw), rec.Bytes)
		assert.NotContains(t, line, "hello", "no message text in a Warn line")
	}
}

// TestSyncUnreadableContacts: contact entries that cannot be read are skipped, each logged;
// the readable ones (odd fields read as zero) and the batch's messages are kept.
func TestSyncUnreadableContacts(t *testing.T) {
	resp, err := parseSync(parserFixture(t, "webwxsync", "contact_entries.json"))
	require.NoError(t, err)
	require.Len(t, resp.AddMsgList, 1)
	require.Len(t, resp.ModContactList, 2)
	assert.Equal(t, []string{"@gone"}, resp.DelContactList)

	var logs bytes.Buffer
	c := New(WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	c.warnUnreadable(resp)
	assert.Equal(t, 5, strings.Count(logs.String(), "level=WARN"), logs.String())
	assert.Equal(t, 5, strings.Count(logs.String(), "op=webwxsync"))
	assert.Equal(t, 5, strings.Count(logs.String(), " bytes="))
}

// TestSyncRequest: the webwxsync URL and body syncRun.request makes, kept from one request
// to the next, are those of the request's struct through wire.EncodeJSON and of its query
// through url.Values, also when the session's values change between two requests.
func TestSyncRequest(t *testing.T) {
	sessions := []*session{
		{hosts: hostsFor("wx2.qq.com"), uin: 2212345678, sid: "QfLp+M8Sx2Ib3Kjk", skey: "@crypt_2ccf8ab9_4414c9f723cbe6e9caca30b2b27a3d4d",
			passTicket: "Wq7Er8Ty9Ui0%2BOpAsDf%2FGhJkLz%3D", deviceID: "e123456789012345",
			syncKey: syncKey{Count: 2, List: []syncKeyPair{{Key: 1, Val: 636444437}, {Key: 2, Val: 636445049}}}},
		{hosts: hostsFor("wx2.qq.com"), uin: 2212345678, sid: "QfLp+M8Sx2Ib3Kjk", skey: "@crypt_new<&>\u2028\"\\\x01\xff",
			passTicket: "a b&c", deviceID: "e123456789012345",
			syncKey: syncKey{Count: 5, List: []syncKeyPair{{Key: 1, Val: 1}}}},
		{hosts: hostsFor("web.wechat.com"), uin: -1, sid: "s", skey: "k", deviceID: "d"},
	}
	var l syncRun
	now := time.Unix(1764770645, 123e6)
	for i, s := range append(sessions, sessions[0], sessions[0]) {
		u, body, err := l.request("zh_CN", s, now)
		require.NoError(t, err)
		want, err := wire.EncodeJSON(struct {
			BaseRequest baseRequest `json:"BaseRequest"`
			SyncKey     syncKey     `json:"SyncKey"`
			RR          int32       `json:"rr"`
		}{s.baseRequest(), s.syncKey, notMillis(now)})
		require.NoError(t, err)
		assert.Equal(t, string(want), string(body), "session %d", i)
		q := url.Values{"sid": {s.sid}, "skey": {s.skey}, "lang": {"zh_CN"}, "pass_ticket": {s.passTicket}}
		assert.Equal(t, cgiURL(s.hosts.main, "webwxsync", q), u, "session %d", i)
	}
}
