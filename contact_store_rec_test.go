package wechat

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSplitHead(t *testing.T) {
	const u = "@abc"
	tests := []struct {
		head string
		f    recFlags
		seq  uint32
		tail string
		ok   bool
	}{
		{headIcon + "620802813&username=@abc&skey=@crypt_1_2", recHeadIcon, 620802813, "@crypt_1_2", true},
		{headImg + "0&username=@abc&skey=", recHeadImg, 0, "", true},
		{headIcon + "4294967295&username=@abc&skey=x", recHeadIcon, math.MaxUint32, "x", true},
		{headIcon + "4294967296&username=@abc&skey=x", 0, 0, "", false}, // too big
		{headIcon + "012&username=@abc&skey=x", 0, 0, "", false},        // would lose the zero
		{headIcon + "+12&username=@abc&skey=x", 0, 0, "", false},
		{headIcon + "&username=@abc&skey=x", 0, 0, "", false},
		{headIcon + "12&username=@abd&skey=x", 0, 0, "", false}, // another UserName
		{headIcon + "12&username=@abc&chatroomid=x", 0, 0, "", false},
		{headIcon + "12", 0, 0, "", false},
		{"/cgi-bin/mmwebwx-bin/webwxgeticon?username=@abc&seq=12&skey=", 0, 0, "", false},
		{"", 0, 0, "", false},
	}
	for _, tt := range tests {
		f, seq, tail, ok := splitHead(tt.head, u)
		assert.Equal(t, tt.ok, ok, tt.head)
		if ok {
			assert.Equal(t, []any{tt.f, tt.seq, tt.tail}, []any{f, seq, tail}, tt.head)
		}
	}
}

// roundTrip packs c into a record, as the store keeps it, and builds the Contact back.
func roundTrip(t *atomTable, c *Contact) Contact {
	r := newRec(c.UserName)
	r.setNames(c.NickName, c.RemarkName)
	in := *c
	in.UserName, in.NickName, in.RemarkName = r.userName(), r.nick(), r.remark()
	t.pack(r, &in)
	var out Contact
	t.fill(&out, r)
	return out
}

func TestContactRecRoundTrip(t *testing.T) {
	var atoms atomTable
	rnd := rand.New(rand.NewPCG(1, 2))
	pick := func(vs ...string) string { return vs[rnd.IntN(len(vs))] }
	ints := []int{0, 1, 2, 15, 16, -1, math.MaxInt32, math.MinInt32, math.MaxInt32 + 1, math.MinInt32 - 1, math.MaxInt, math.MinInt}
	int64s := []int64{0, 1, 4293221, math.MaxUint32, math.MaxUint32 + 1, -1, math.MaxInt64, math.MinInt64}
	for i := range 20000 {
		u := pick("@"+strings.Repeat("a", 64), "@@g", "filehelper", "", "@x")
		c := Contact{
			UserName:        u,
			ID:              pick("", "fp:1", "wxid_a"),
			NickName:        pick("", "Ann", "李雷😄"),
			RemarkName:      pick("", "Boss"),
			DisplayName:     pick("", "shown"),
			Alias:           pick("", "al"),
			Signature:       pick("", "sig"),
			Province:        pick("", "广东", "Bavaria"),
			City:            pick("", "深圳"),
			Sex:             ints[rnd.IntN(len(ints))],
			Uin:             int64s[rnd.IntN(len(int64s))],
			ContactFlag:     ints[rnd.IntN(len(ints))],
			VerifyFlag:      ints[rnd.IntN(len(ints))],
			AttrStatus:      int64s[rnd.IntN(len(int64s))],
			StarFriend:      rnd.IntN(2) == 0,
			HeadImgURL:      pick("", headIcon+strconv.Itoa(i)+"&username="+u+"&skey=@crypt_"+strconv.Itoa(i%3), headImg+"7&username="+u+"&skey=", "/x"),
			Kind:            ContactKind(ints[rnd.IntN(len(ints))]),
			MemberCount:     ints[rnd.IntN(len(ints))],
			EncryChatRoomID: pick("", "@enc"),
			OwnerUin:        int64s[rnd.IntN(len(int64s))],
			IsOwner:         rnd.IntN(2) == 0,
			membersLoaded:   rnd.IntN(2) == 0,
		}
		switch rnd.IntN(3) {
		case 0:
			c.Members = []Member{{UserName: "@m", ID: "m:1", NickName: "M", DisplayName: "d", Uin: 3, AttrStatus: 4}}
		case 1:
			c.Members = []Member{}
		}
		got := roundTrip(&atoms, &c)
		require.Equal(t, c, got, "contact %d", i)
		if len(c.Members) > 0 {
			assert.Same(t, &c.Members[0], &got.Members[0], "the member list is shared, not copied")
		}
	}
}

func TestContactRecAtomTableFull(t *testing.T) {
	var atoms atomTable
	for i := range 0xffff {
		_, ok := atoms.intern(strconv.Itoa(i))
		require.True(t, ok)
	}
	_, ok := atoms.intern("one more")
	require.False(t, ok)
	u := "@" + strings.Repeat("b", 64)
	c := Contact{UserName: u, Province: "new province", City: "0", HeadImgURL: headIcon + "1&username=" + u + "&skey=new skey", Kind: KindFriend}
	assert.Equal(t, c, roundTrip(&atoms, &c), "what the table cannot hold is kept as it is")
}

func TestContactRecSize(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(contactRec{}), uintptr(80), "a record fits the 80-byte size class")
	assert.LessOrEqual(t, unsafe.Sizeof(idEntry{}), uintptr(48), "an entry fits the 48-byte size class")
}

func FuzzContactRecRoundTrip(f *testing.F) {
	f.Add("@abc", "Ann", "", headIcon+"620802813&username=@abc&skey=@crypt_1", "广东", 1, int64(4293221), 3, 0)
	f.Add("@@g", "", "Boss", headImg+"0&username=@@g&skey=", "", 0, int64(-1), 1<<40, 24)
	f.Add("", "", "", headIcon+"01&username=&skey=", "x", 99, int64(1)<<33, -1, -1)
	f.Fuzz(func(t *testing.T, userName, nick, remark, head, province string, sex int, attr int64, contactFlag, verifyFlag int) {
		var atoms atomTable
		c := Contact{UserName: userName, NickName: nick, RemarkName: remark, HeadImgURL: head, Province: province, City: province,
			Sex: sex, AttrStatus: attr, ContactFlag: contactFlag, VerifyFlag: verifyFlag, Kind: KindFriend}
		if got := roundTrip(&atoms, &c); !reflect.DeepEqual(got, c) {
			t.Errorf("round trip of %+v gives %+v", c, got)
		}
	})
}
