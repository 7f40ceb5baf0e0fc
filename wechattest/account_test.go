package wechattest

import (
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultAccount(t *testing.T) {
	a := DefaultAccount()
	assert.Equal(t, "self", a.Self.ID)
	assert.Equal(t, int64(2212345678), a.Self.Uin)
	assert.Greater(t, a.Self.Uin, int64(1)<<31)
	ids := map[string]Contact{}
	for _, c := range a.Contacts {
		ids[c.ID] = c
	}
	for _, id := range []string{"friend", "alice", "bob", "filehelper", "weixin", "gh_news"} {
		assert.Contains(t, ids, id)
	}
	assert.Equal(t, 24, ids["gh_news"].VerifyFlag)
	assert.Contains(t, ids["alice"].NickName, `<span class="emoji emoji`)
	assert.Contains(t, ids["alice"].NickName, "&amp;")
	require.Len(t, a.Groups, 2)
	assert.True(t, a.Groups[0].Saved)
	assert.False(t, a.Groups[1].Saved)
	assert.Equal(t, Member{ID: "carol", NickName: "Carol", DisplayName: "Carol in group"}, a.Groups[0].Members[3])

	ix := newIndex(a)
	assert.Equal(t, kindSpecial, ix.byID["filehelper"].kind)
	assert.Equal(t, kindSpecial, ix.byID["weixin"].kind, "special before official account")
	assert.Equal(t, kindMP, ix.byID["gh_news"].kind)
	assert.Equal(t, kindStranger, ix.byID["carol"].kind)
	assert.Equal(t, 1, ix.byID["gh_news"].contact.ContactFlag)
	assert.Equal(t, 3, ix.byID["friend"].contact.ContactFlag)
}

func TestWithAccountCopies(t *testing.T) {
	a := DefaultAccount()
	h := newHarness(t, WithAccount(a), WithLongPoll(10*time.Millisecond))
	a.Contacts[0].NickName = "changed"
	a.Groups[0].Members[1].DisplayName = "changed"
	h.login()
	h.initSession()
	var bc struct {
		ContactList []contactResp
	}
	h.post("webwxbatchgetcontact", nil, map[string]any{"BaseRequest": h.base(), "Count": 2, "List": []map[string]string{
		{"UserName": h.s.UserName("friend")}, {"UserName": h.s.UserName("group")},
	}}, &bc)
	require.Len(t, bc.ContactList, 2)
	assert.Equal(t, "Friend", bc.ContactList[0].NickName)
	assert.Empty(t, bc.ContactList[1].MemberList[1].DisplayName)
}

func TestAttrStatusAbove31Bits(t *testing.T) {
	h := loggedIn(t)
	var bc struct{ ContactList []contactResp }
	var list []map[string]string
	for _, id := range []string{"friend", "alice", "bob"} {
		list = append(list, map[string]string{"UserName": h.s.UserName(id)})
	}
	h.post("webwxbatchgetcontact", nil, map[string]any{"BaseRequest": h.base(), "Count": len(list), "List": list}, &bc)
	big := false
	for _, c := range bc.ContactList {
		big = big || c.AttrStatus > 1<<31
	}
	assert.True(t, big, "some AttrStatus exceeds 2^31 (PROTOCOL 14.5)")
}

func TestLargeAccount(t *testing.T) {
	a := LargeAccount(2000, 30, 40)
	assert.Equal(t, a, LargeAccount(2000, 30, 40), "deterministic")
	require.Len(t, a.Groups, 30)
	assert.Equal(t, "friend0001", a.Contacts[0].ID)
	assert.Len(t, a.Groups[0].Members, 40)
	assert.Equal(t, "self", a.Groups[0].Members[0].ID)
	assert.Equal(t, "stranger00044", a.Groups[0].Members[4].ID)
	assert.Empty(t, LargeAccount(0, 0, 0).Contacts[2:], "only the special accounts")

	h := loggedIn(t, WithAccount(a))
	total, pages := 0, 0
	seq := "0"
	for {
		var page struct {
			BaseResponse baseResp
			MemberCount  int
			Seq          int
		}
		_, body := h.get("https://wx2.qq.com/cgi-bin/mmwebwx-bin/webwxgetcontact?" + url.Values{"seq": {seq}, "skey": {h.skey}}.Encode())
		decode(t, body, &page)
		require.Equal(t, 0, page.BaseResponse.Ret)
		total += page.MemberCount
		pages++
		if page.Seq == 0 {
			break
		}
		seq = strconv.Itoa(page.Seq)
	}
	// 2000 friends, 100 official accounts, 2 special, 30 groups, self.
	assert.Equal(t, 2133, total)
	assert.Equal(t, 3, pages)

	var bc struct {
		Count       int
		ContactList []contactResp
	}
	var list []map[string]string
	for _, g := range a.Groups {
		list = append(list, map[string]string{"UserName": h.s.UserName(g.ID), "EncryChatRoomId": ""})
	}
	h.post("webwxbatchgetcontact", nil, map[string]any{"BaseRequest": h.base(), "Count": len(list), "List": list}, &bc)
	require.Equal(t, 30, bc.Count)
	for _, g := range bc.ContactList {
		assert.Equal(t, 40, g.MemberCount)
	}
}

func TestHostTable(t *testing.T) {
	for _, tt := range []struct {
		host string
		role role
	}{
		{"login.wx.qq.com", roleLogin},
		{"login.weixin.qq.com", roleLogin},
		{"wx2.qq.com", roleMain},
		{"web.wechat.com", roleMain},
		{"file.wx8.qq.com", roleFile},
		{"file2.wx.qq.com", roleFile},
		{"webpush.wx2.qq.com", rolePush},
		{"webpush2.web2.wechat.com", rolePush},
		{"webpush.weixin.qq.com", rolePush},
		{"webpush1.wechat.com", rolePush},
		{"qq.com", roleNone},
		{"evil.wx.qq.com", roleNone},
		{"webpush.example.com", roleNone},
	} {
		assert.Equal(t, tt.role, hostRole(tt.host), tt.host)
	}
	login, file, push := derivedHosts("example.org")
	assert.Equal(t, [3]string{"login.weixin.qq.com", "file.wx.qq.com", "webpush.weixin.qq.com"}, [3]string{login, file, push})
	assert.Equal(t, "wx2.qq.com", canonicalHost("WX2.qq.com:443"))
}
