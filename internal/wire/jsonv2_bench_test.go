//go:build goexperiment.jsonv2

package wire

import (
	jsonv1 "encoding/json"
	jsonv2 "encoding/json/v2"
	"testing"
)

// The decoders this package chose not to use, on the body of BenchmarkDecodeSync, in their
// best case: types that fit this fixture exactly, with no lenient number or string rule, no
// per-entry tolerance and no Content decoding (prefix, emoji, entities), all of which
// DecodeSync does. Run with
//
//	GOEXPERIMENT=jsonv2 go test -run '^$' -bench 'DecodeSync/text_100.json|Reflect' -benchmem -count 6 ./internal/wire

type reflectRecommendInfo struct {
	UserName, NickName      string
	QQNum                   int64
	Province, City, Content string
	Signature, Alias        string
	Scene, VerifyFlag       int
	AttrStatus              int64
	Sex                     int
	Ticket                  string
	OpCode                  int
}

type reflectMessage struct {
	MsgId, FromUserName, ToUserName string
	MsgType                         int
	Content                         string
	CreateTime                      int64
	VoiceLength, PlayLength         int
	FileName, FileSize, MediaId     string
	Url                             string
	AppMsgType, StatusNotifyCode    int
	StatusNotifyUserName            string
	RecommendInfo                   reflectRecommendInfo
	HasProductId                    int
	ImgHeight, ImgWidth, SubMsgType int
	NewMsgId                        int64
	OriContent, EncryFileName       string
}

type reflectSyncKey struct {
	Count int
	List  []struct{ Key, Val int64 }
}

type reflectSync struct {
	BaseResponse struct {
		Ret    int
		ErrMsg string
	}
	AddMsgList            []reflectMessage
	ContinueFlag          int
	SyncKey, SyncCheckKey reflectSyncKey
	SKey                  string
}

func BenchmarkReflectJSONv1(b *testing.B) {
	body := rootFixture(b, "webwxsync", "text_100.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var r reflectSync
		if err := jsonv1.Unmarshal(body, &r); err != nil || len(r.AddMsgList) != 100 {
			b.Fatal(err)
		}
	}
}

func BenchmarkReflectJSONv2(b *testing.B) {
	body := rootFixture(b, "webwxsync", "text_100.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var r reflectSync
		if err := jsonv2.Unmarshal(body, &r); err != nil || len(r.AddMsgList) != 100 {
			b.Fatal(err)
		}
	}
}
