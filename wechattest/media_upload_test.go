package wechattest

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckUploadAndSignature(t *testing.T) {
	h := loggedIn(t, WithUploadDigestOnly())
	data := bytes.Repeat([]byte("0123456789abcdef"), (checkUploadMin+chunkSize)/16)
	sum := md5.Sum(data)
	md5sum := hex.EncodeToString(sum[:])
	type checkResp struct {
		BaseResponse                              baseResp
		MediaId, AESKey, Signature, EncryFileName string
	}
	check := func(edit func(m map[string]any)) checkResp {
		m := map[string]any{"BaseRequest": h.base(), "FileMd5": md5sum, "FileName": "big.bin", "FileSize": len(data), "FileType": 7,
			"FromUserName": h.selfUN, "ToUserName": "filehelper"}
		if edit != nil {
			edit(m)
		}
		var r checkResp
		h.post("webwxcheckupload", nil, m, &r)
		return r
	}
	for name, edit := range map[string]func(m map[string]any){
		"upper-case md5": func(m map[string]any) { m["FileMd5"] = strings.ToUpper(md5sum) },
		"short md5":      func(m map[string]any) { m["FileMd5"] = md5sum[:31] },
		"size 0":         func(m map[string]any) { m["FileSize"] = 0 },
	} {
		assert.Equal(t, 1, check(edit).BaseResponse.Ret, name)
		assert.True(t, h.last("webwxcheckupload").Refused(), name)
	}
	// Not checked: no source shows the server refusing them.
	for name, edit := range map[string]func(m map[string]any){
		"no name":      func(m map[string]any) { delete(m, "FileName") },
		"type 1":       func(m map[string]any) { m["FileType"] = 1 },
		"from another": func(m map[string]any) { m["FromUserName"] = "filehelper" },
		"unknown peer": func(m map[string]any) { m["ToUserName"] = "@nobody" },
	} {
		assert.Equal(t, 0, check(edit).BaseResponse.Ret, name)
	}

	// Without the check, a big upload is refused on its first chunk.
	rs := h.uploadChunks("big.bin", "application/octet-stream", "doc", data, "filehelper", md5sum, nil)
	assert.Equal(t, 1, rs[len(rs)-1].BaseResponse.Ret)
	assert.Len(t, rs, 1)

	ck := check(nil)
	require.Equal(t, 0, ck.BaseResponse.Ret)
	assert.Empty(t, ck.MediaId)
	assert.Len(t, ck.AESKey, 32)
	assert.Len(t, ck.Signature, 64)
	assert.Equal(t, "big%2Ebin", ck.EncryFileName)

	// The uploadmediarequest must carry them; the harness's does not, so add them.
	upload := func(aes, sig string) []uploadResp {
		return h.uploadChunks("big.bin", "application/octet-stream", "doc", data, "filehelper", md5sum, func(_ int, f map[string]string) {
			f["uploadmediarequest"] = strings.TrimSuffix(f["uploadmediarequest"], "}\n") +
				fmt.Sprintf(`,"AESKey":%q,"Signature":%q}`, aes, sig)
		})
	}
	rs = upload(ck.AESKey, "forged")
	assert.Equal(t, 1, rs[len(rs)-1].BaseResponse.Ret)
	rs = upload("forged", ck.Signature)
	assert.Equal(t, 1, rs[len(rs)-1].BaseResponse.Ret)
	rs = upload(ck.AESKey, ck.Signature)
	require.Equal(t, 0, rs[len(rs)-1].BaseResponse.Ret)
	mediaID := rs[len(rs)-1].MediaId
	ups := h.s.Uploads()
	require.Len(t, ups, 1)
	assert.Nil(t, ups[0].Data)
	assert.Equal(t, int64(len(data)), ups[0].Size())
	assert.Equal(t, md5sum, ups[0].MD5())
	assert.Equal(t, ck.Signature, ups[0].Signature)
	for _, r := range h.s.Requests() {
		if strings.HasSuffix(r.Path, "/webwxuploadmedia") {
			assert.Nil(t, r.Body, "digest only: upload bodies are not kept")
		}
	}

	// Known now: the check answers the MediaId.
	again := check(nil)
	assert.Equal(t, mediaID, again.MediaId)
	assert.Equal(t, ck.Signature, again.Signature)

	// The appmsg must carry the Signature.
	appmsg := fmt.Sprintf("<appmsg appid='' sdkver=''><title>big.bin</title><type>6</type><appattach><totallen>%d</totallen><attachid>%s</attachid><fileext>bin</fileext></appattach></appmsg>", len(data), mediaID)
	send := func(sig string) int {
		var r sendResp
		msg := map[string]any{"Type": 6, "Content": appmsg, "FromUserName": h.selfUN, "ToUserName": "filehelper", "LocalID": "1", "ClientMsgId": "1"}
		if sig != "" {
			msg["Signature"] = sig
		}
		h.post("webwxsendappmsg", nil, map[string]any{"BaseRequest": h.base(), "Msg": msg, "Scene": 0}, &r)
		return r.BaseResponse.Ret
	}
	assert.Equal(t, 1, send(""))
	assert.Equal(t, 1, send("forged"))
	assert.Equal(t, 0, send(ck.Signature))
	assert.Equal(t, ck.Signature, h.s.Sent()[0].Signature)
}

func TestFailNextChunk(t *testing.T) {
	h := loggedIn(t)
	data := bytes.Repeat([]byte("x"), chunkSize+10)
	sum := md5.Sum(data)
	h.s.FailNextChunk()
	rs := h.uploadChunks("a.bin", "application/octet-stream", "doc", data, "filehelper", hex.EncodeToString(sum[:]), nil)
	require.Len(t, rs, 1)
	assert.Equal(t, -1, rs[0].BaseResponse.Ret)
	// The next attempt of the whole file works: nothing was kept.
	id := h.upload("a.bin", "application/octet-stream", "doc", data, "filehelper")
	assert.NotEmpty(t, id)
	assert.Equal(t, data, h.s.Uploads()[0].Data)
	assert.Equal(t, int64(len(data)), h.s.Uploads()[0].Size())
	assert.Equal(t, hex.EncodeToString(sum[:]), h.s.Uploads()[0].MD5())
}

// TestSendLimitAndRevokeWindow runs in a testing/synctest bubble: the
// server's clock is time.Now, so time.Sleep moves it past the windows.
func TestSendLimitAndRevokeWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := loggedIn(t, WithSendLimit(2, time.Minute), WithRevokeWindow(30*time.Second))
		friend := h.s.UserName("friend")
		a := h.sendText(friend, "a", "1")
		require.Equal(t, 0, a.BaseResponse.Ret)
		require.Equal(t, 0, h.sendText(friend, "b", "2").BaseResponse.Ret)
		r := h.sendText(friend, "c", "3")
		assert.Equal(t, 1205, r.BaseResponse.Ret)
		assert.Empty(t, r.MsgID)
		assert.Len(t, h.s.Sent(), 2, "refused sends are not recorded")

		revoke := func(msgID string) int {
			var rv struct{ BaseResponse baseResp }
			h.post("webwxrevokemsg", nil, map[string]any{"BaseRequest": h.base(), "ClientMsgId": "1", "SvrMsgId": msgID, "ToUserName": friend}, &rv)
			return rv.BaseResponse.Ret
		}
		time.Sleep(31 * time.Second)
		assert.Equal(t, 1, revoke(a.MsgID), "older than the window")
		assert.Equal(t, 1205, h.sendText(friend, "c", "3").BaseResponse.Ret, "the minute has not passed")
		time.Sleep(30 * time.Second)
		c := h.sendText(friend, "c", "3")
		require.Equal(t, 0, c.BaseResponse.Ret, "a minute later")
		assert.Equal(t, 0, revoke(c.MsgID))
		assert.Equal(t, 1, revoke(c.MsgID), "only once")
	})
}
