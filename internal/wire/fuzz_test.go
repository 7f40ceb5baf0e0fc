package wire

import (
	"bytes"
	"errors"
	"testing"
)

// The fuzz targets check that no input makes a decoder panic, that its errors are the
// documented ones, and the invariants of the tolerant decoding: every entry of a list is
// accounted for, Raw is a sub-slice of the input, unreadable entries carry only what
// identifies them.

// seed adds the fixtures of a root testdata directory (and of this package's, if any).
func seed(f *testing.F, dirs ...string) {
	for _, dir := range dirs {
		for _, name := range rootFixtures(f, dir) {
			f.Add(rootFixture(f, dir, name))
		}
	}
}

func FuzzDecodeSync(f *testing.F) {
	seed(f, "webwxsync")
	for _, name := range []string{"odd_fields.json", "unreadable_entries.json", "contact_entries.json", "ret_1101_cut.json"} {
		f.Add(rootFixture(f, "webwxsync", name))
	}
	// Small bodies too: the fixtures are large, which makes mutating them slow.
	f.Add([]byte(`{"BaseResponse":{"Ret":0,"ErrMsg":""},"AddMsgList":[{"MsgId":"1","MsgType":1,"FromUserName":"@@g","Content":"@a:<br/>x"},null,{"MsgId":2,"X":[[[]]]}],"ContinueFlag":0,"SyncKey":{"Count":1,"List":[{"Key":1,"Val":2}]},"SKey":""}`))
	f.Add([]byte("{\n\"BaseResponse\": {\n\"Ret\": \"1101\",\n\"ErrMsg\": \"\"\n}\n,\n\"SyncKey\": {\n\"Count\": 0,\n\"List\": []\n}\n}\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := DecodeSync(body)
		if s == nil {
			t.Fatalf("DecodeSync(%q) = nil", body)
		}
		if err != nil && !errors.Is(err, ErrSyntax) {
			t.Fatalf("DecodeSync(%q) error %v does not wrap ErrSyntax", body, err)
		}
		if s.SyncKey.Valid() && len(s.SyncKey.List) == 0 {
			t.Errorf("a valid SyncKey without entries")
		}
		for i, m := range s.Messages {
			checkMessage(t, body, &m, i)
		}
		for _, u := range s.Unreadable {
			if u.Err == nil || !contains(body, u.Raw) {
				t.Errorf("unreadable entry %q: err %v, not a sub-slice of the body", u.Raw, u.Err)
			}
		}
		for _, c := range s.ModContacts {
			if c.UserName == "" {
				t.Errorf("a contact without UserName was kept")
			}
		}
	})
}

func FuzzDecodeMessage(f *testing.F) {
	for _, name := range rootFixtures(f, "messages") {
		f.Add(rootFixture(f, "messages", name))
	}
	if s, err := DecodeSync(rootFixture(f, "webwxsync", "text_100.json")); err == nil {
		for _, m := range s.Messages[:13] {
			f.Add(m.Raw)
		}
	}
	f.Add([]byte(`{"MsgId":"1","FromUserName":"@@g","ToUserName":"@@g","Content":"@a:<br/>x"}`))
	f.Add([]byte(`{"MsgId":"1","FromUserName":"","ToUserName":"","Content":":<br/>"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := DecodeMessage(raw)
		if !bytes.Equal(m.Raw, raw) {
			t.Errorf("DecodeMessage(%q).Raw = %q; want the input", raw, m.Raw)
		}
		checkMessage(t, raw, &m, 0)
	})
}

// checkMessage checks the invariants of a decoded message.
func checkMessage(t *testing.T, body []byte, m *Message, i int) {
	t.Helper()
	if !contains(body, m.Raw) {
		t.Errorf("message %d: Raw %q is not a sub-slice of the body", i, m.Raw)
	}
	if m.Err != nil {
		if m.Content != "" || m.Sender != "" || m.RecommendInfo != (RecommendInfo{}) || m.FileName != "" {
			t.Errorf("message %d: unreadable (%v) but decoded: %+v", i, m.Err, m)
		}
		return
	}
	if m.Sender != "" && !IsGroupName(m.FromUserName) {
		t.Errorf("message %d: sender prefix %q outside a group (%q)", i, m.Sender, m.FromUserName)
	}
}

// contains reports whether sub is a sub-slice of b (the same memory).
func contains(b, sub []byte) bool {
	if len(sub) == 0 {
		return true
	}
	if len(b) == 0 {
		return false
	}
	for i := 0; i+len(sub) <= len(b); i++ {
		if &b[i] == &sub[0] {
			return true
		}
	}
	return false
}

func FuzzDecodeInit(f *testing.F) {
	seed(f, "webwxinit")
	f.Add([]byte(`{"BaseResponse":{"Ret":0},"User":{"UserName":"@self","Uin":"2212345678"},"ContactList":[{"UserName":"@@g","MemberList":[{"UserName":"@m"}]},{"UserName":""},5],"SyncKey":{"Count":1,"List":[{"Key":1,"Val":"2"}]},"SKey":"@crypt","SystemTime":1700000000}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := DecodeInit(body)
		if in == nil || err != nil && !errors.Is(err, ErrSyntax) {
			t.Fatalf("DecodeInit(%q) = %v, %v", body, in, err)
		}
		for _, c := range in.Contacts {
			if c.UserName == "" {
				t.Errorf("a contact without UserName was kept")
			}
		}
	})
}

func FuzzDecodeContactPage(f *testing.F) {
	seed(f, "webwxgetcontact", "webwxbatchgetcontact")
	f.Add(rootFixture(f, "webwxgetcontact", "odd_entries.json"))
	f.Add([]byte(`{"BaseResponse":{"Ret":0},"MemberList":[{"UserName":"@a","Sex":"x","MemberList":[{"UserName":"@m","Uin":1e3},{}]}],"Seq":"7"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := DecodeContactPage(body)
		if p == nil || err != nil && !errors.Is(err, ErrSyntax) {
			t.Fatalf("DecodeContactPage(%q) = %v, %v", body, p, err)
		}
		for _, c := range p.Contacts {
			for _, m := range c.Members {
				if m.UserName == "" {
					t.Errorf("a member without UserName was kept")
				}
			}
		}
	})
}

// FuzzDecodeResponses runs the decoders of the small answers (send, status notify, upload,
// check upload, revoke, create chatroom, push login, BaseResponse only) on the same input.
func FuzzDecodeResponses(f *testing.F) {
	seed(f, "webwxsendmsg", "webwxsendmsgimg", "webwxsendappmsg", "webwxsendemoticon", "webwxsendvideomsg",
		"webwxuploadmedia", "webwxcheckupload", "webwxrevokemsg")
	f.Add([]byte(`{"ret":"0","msg":"all ok","uuid":"AbCdEf12Gh=="}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		check := func(name string, err error) {
			if err != nil && !errors.Is(err, ErrSyntax) {
				t.Errorf("%s(%q) error %v does not wrap ErrSyntax", name, body, err)
			}
		}
		s, err := DecodeSend(body)
		check("DecodeSend", err)
		if s == nil {
			t.Fatal("DecodeSend returned nil")
		}
		_, err = DecodeUpload(body)
		check("DecodeUpload", err)
		_, err = DecodeCheckUpload(body)
		check("DecodeCheckUpload", err)
		_, err = DecodeRevoke(body)
		check("DecodeRevoke", err)
		_, err = DecodeCreateChatroom(body)
		check("DecodeCreateChatroom", err)
		_, err = DecodeBase(body)
		check("DecodeBase", err)
		_, err = DecodePushLogin(body)
		check("DecodePushLogin", err)
	})
}

func FuzzParseSyncCheck(f *testing.F) {
	seed(f, "synccheck")
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, err := ParseSyncCheck(body); err != nil && !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseSyncCheck(%q) = %v; want nil or ErrSyntax", body, err)
		}
	})
}

func FuzzParseJSLogin(f *testing.F) {
	seed(f, "jslogin")
	f.Fuzz(func(t *testing.T, body []byte) {
		l, err := ParseJSLogin(body)
		if err != nil && !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseJSLogin(%q) = %v; want nil or ErrSyntax", body, err)
		}
		if err == nil && l.Code == 200 && !ValidUUID(l.UUID) {
			t.Errorf("ParseJSLogin(%q) = code 200 with uuid %q", body, l.UUID)
		}
	})
}

func FuzzParseLoginPoll(f *testing.F) {
	seed(f, "login")
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := ParseLoginPoll(body)
		if err != nil && !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseLoginPoll(%q) = %v; want nil or ErrSyntax", body, err)
		}
		if err == nil && p.Code == 200 && p.RedirectURI == "" {
			t.Errorf("ParseLoginPoll(%q) = 200 without a redirect", body)
		}
	})
}

func FuzzParseLoginPage(f *testing.F) {
	seed(f, "webwxnewloginpage")
	f.Add(rootFixture(f, "webwxnewloginpage", "invalid_utf8.xml"))
	f.Add(rootFixture(f, "webwxnewloginpage", "ret_1203_gbk.xml"))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err := ParseLoginPage(body)
		if err != nil && !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrEmptyPage) && !errors.Is(err, ErrHTMLPage) {
			t.Errorf("ParseLoginPage(%q) = %v", body, err)
		}
	})
}

// FuzzDecodeXML decodes the input as every message payload the client reads.
func FuzzDecodeXML(f *testing.F) {
	if s, err := DecodeSync(rootFixture(f, "webwxsync", "text_100.json")); err == nil {
		for _, m := range s.Messages[:13] {
			f.Add(m.Content)
		}
	}
	for _, name := range rootFixtures(f, "messages") {
		f.Add(DecodeMessage(rootFixture(f, "messages", name)).Content)
	}
	f.Add("<msg><appmsg appid='x'><title>t\xff</title><recorditem><![CDATA[<recordinfo><title>a</title></recordinfo>]]></recorditem></appmsg></msg>")
	f.Fuzz(func(t *testing.T, s string) {
		for _, v := range []any{
			&ImageXML{}, &VoiceXML{}, &VideoXML{}, &EmojiXML{}, &LocationXML{}, &CardXML{},
			&VerifyXML{}, &RevokeXML{}, &StatusNotifyXML{}, &RecordItemXML{},
		} {
			_ = DecodeXML(s, v)
		}
		if x, err := ParseAppXML(s); err == nil {
			_ = DecodeXML(x.AppMsg.RecordItem, &RecordItemXML{})
		}
	})
}
