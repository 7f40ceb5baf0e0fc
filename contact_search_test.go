package wechat

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestNormalizeName(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"Alice🌛 & Co", "aliceco"},
		{"ＡＢＣ１２３", "abc123"}, // full-width forms
		{"  Bob (work) ", "bobwork"},
		{"张三👨‍👩‍👧", "张三"},  // a ZWJ sequence is dropped whole
		{"❤️Love", "love"}, // variation selector
		{"Ünïcödé", "ünïcödé"},
		{"🌛🌛", ""},
		{"", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, normalizeName(tt.in), "normalizeName(%q)", tt.in)
	}
}

func TestQueryMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query, name string
		want        int
	}{
		{"alice", "Alice", matchExact},
		{"ALICE CO", "Alice🌛 & Co", matchExact}, // normalized
		{"alice", "Alice🌛 & Co", matchPrefix},
		{"co", "Alice🌛 & Co", matchContains},
		{"🌛", "Alice🌛 & Co", matchContains}, // the emoji itself
		{"🌛", "Alice", matchNone},
		{"三", "张三", matchContains},
		{"ａｌｉ", "Alice", matchPrefix}, // full-width query
		{"bob", "", matchNone},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, newQuery(tt.query).match(tt.name), "%q in %q", tt.query, tt.name)
	}
}

func TestSearchContacts(t *testing.T) {
	t.Parallel()
	c := New()
	c.contacts.put(
		&Contact{UserName: "@1", NickName: "Annabel", Kind: KindFriend},
		&Contact{UserName: "@2", NickName: "Zed", RemarkName: "Ann", Kind: KindFriend},
		&Contact{UserName: "@3", NickName: "Joanna", Kind: KindFriend},
		&Contact{UserName: "@4", NickName: "Bob", Alias: "ann_b", Kind: KindFriend},
		&Contact{UserName: "@@5", NickName: "Ann's group", Kind: KindGroup},
	)
	var got []string
	for _, ct := range c.SearchContacts("ann") {
		got = append(got, ct.UserName)
	}
	// exact remark; then prefixes: names ("Ann's group" < "Annabel"), alias; then contains.
	assert.Equal(t, []string{"@2", "@@5", "@1", "@4", "@3"}, got)
	assert.Len(t, c.SearchContacts("ann", KindGroup), 1)
	assert.Empty(t, c.SearchContacts("  "))
}

func TestSearchMembers(t *testing.T) {
	t.Parallel()
	g := &Contact{Kind: KindGroup, Members: []Member{
		{UserName: "@1", NickName: "Dave", DisplayName: "Big D"},
		{UserName: "@2", NickName: "Davey"},
		{UserName: "@3", NickName: "Eve", DisplayName: "dave"},
	}}
	var got []string
	for _, m := range g.SearchMembers("@Dave") {
		got = append(got, m.UserName)
	}
	assert.Equal(t, []string{"@3", "@1", "@2"}, got, "display name exact, nickname exact, prefix")
	assert.Empty(t, g.SearchMembers("@"))
}
