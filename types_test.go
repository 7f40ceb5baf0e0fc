package wechat

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFlexInt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    flexInt
		wantErr bool
	}{
		{in: `0`, want: 0},
		{in: `1`, want: 1},
		{in: `-1`, want: -1},
		{in: `1205`, want: 1205},
		{in: `"1"`, want: 1},
		{in: `"1700000000"`, want: 1700000000},
		{in: `" 42 "`, want: 42},
		{in: `"-2013"`, want: -2013},
		{in: `""`, want: 0},
		{in: `null`, want: 0},
		{in: `2212345678`, want: 2212345678},   // Uin above 2^31
		{in: `"2212345678"`, want: 2212345678}, // the same, as a string
		{in: `9223372036854775807`, want: 9223372036854775807},
		{in: `-9223372036854775808`, want: -9223372036854775808},
		{in: `6012345678901234567`, want: 6012345678901234567}, // above 2^53: no float rounding
		{in: `1.0`, want: 1},
		{in: `1e3`, want: 1000},
		{in: `"2.0"`, want: 2},
		{in: `-0.0`, want: 0},
		{in: `1.5`, wantErr: true},
		{in: `1e30`, wantErr: true},
		{in: `"abc"`, wantErr: true},
		{in: `"1a"`, wantErr: true},
		{in: `"NaN"`, wantErr: true},
		{in: `"Inf"`, wantErr: true},
		{in: `true`, wantErr: true},
		{in: `false`, wantErr: true},
		{in: `[1]`, wantErr: true},
		{in: `{"v":1}`, wantErr: true},
		{in: `18446744073709551616`, wantErr: true}, // 2^64
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := flexInt(-99)
			err := json.Unmarshal([]byte(tt.in), &got)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestFlexIntAbove2To63KeepsTheBits(t *testing.T) {
	t.Parallel()
	const v = uint64(1)<<63 + 1
	for _, in := range []string{`9223372036854775809`, `"9223372036854775809"`} {
		var n flexInt
		require.NoError(t, json.Unmarshal([]byte(in), &n), in)
		assert.Equal(t, v, uint64(n), in)
	}
	var n flexInt
	require.NoError(t, json.Unmarshal([]byte(`18446744073709551615`), &n))
	assert.Equal(t, ^uint64(0), uint64(n))
}

func TestFlexIntInStruct(t *testing.T) {
	t.Parallel()
	var v struct {
		Ret   flexInt `json:"Ret"`
		Count flexInt `json:"Count"`
		Gone  flexInt `json:"Gone"`
	}
	require.NoError(t, json.Unmarshal([]byte(`{"Ret": "1101", "Count": null}`), &v))
	assert.Equal(t, flexInt(1101), v.Ret)
	assert.Zero(t, v.Count)
	assert.Zero(t, v.Gone)
}

func TestFlexString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    flexString
		wantErr bool
	}{
		{in: `"6012345678901234567"`, want: "6012345678901234567"},
		{in: `6012345678901234567`, want: "6012345678901234567"}, // a bare number > 2^53, exact
		{in: `18446744073709551616`, want: "18446744073709551616"},
		{in: `-1`, want: "-1"},
		{in: `1.0`, want: "1.0"},
		{in: `""`, want: ""},
		{in: `null`, want: ""},
		{in: `"a &lt;b&gt; <br/>"`, want: "a &lt;b&gt; <br/>"},
		{in: `"\u6587\u4ef6"`, want: "文件"},
		{in: `" spaced "`, want: " spaced "},
		{in: `true`, wantErr: true},
		{in: `{"text":"oops"}`, wantErr: true},
		{in: `["a"]`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := flexString("unchanged")
			err := json.Unmarshal([]byte(tt.in), &got)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestFlexStringInStruct(t *testing.T) {
	t.Parallel()
	var v struct {
		MsgID    flexString `json:"MsgId"`
		NewMsgID flexString `json:"NewMsgId"`
	}
	require.NoError(t, json.Unmarshal([]byte(`{"MsgId": "5512345678901234567", "NewMsgId": 5512345678901234567}`), &v))
	assert.Equal(t, v.MsgID, v.NewMsgID)
}

var testSyncKey = syncKey{Count: 4, List: []syncKeyPair{
	{Key: 1, Val: 636444437},
	{Key: 2, Val: 636445049},
	{Key: 3, Val: 636444675},
	{Key: 1000, Val: 1463740202},
}}

func TestSyncKeyString(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "1_636444437|2_636445049|3_636444675|1000_1463740202", testSyncKey.String())
	assert.Equal(t, "", syncKey{}.String())
	assert.Equal(t, "1_1", syncKey{List: []syncKeyPair{{1, 1}}}.String())
	big := syncKey{List: []syncKeyPair{{Key: 1000, Val: 2212345678901}}}
	assert.Equal(t, "1000_2212345678901", big.String())
}

func TestSyncKeyMarshalJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(testSyncKey)
	require.NoError(t, err)
	assert.Equal(t, `{"Count":4,"List":[{"Key":1,"Val":636444437},{"Key":2,"Val":636445049},{"Key":3,"Val":636444675},{"Key":1000,"Val":1463740202}]}`, string(b))

	// Count is the list length, whatever the server sent.
	wrong := syncKey{Count: 9, List: testSyncKey.List[:2]}
	b, err = json.Marshal(wrong)
	require.NoError(t, err)
	assert.Equal(t, `{"Count":2,"List":[{"Key":1,"Val":636444437},{"Key":2,"Val":636445049}]}`, string(b))

	b, err = json.Marshal(syncKey{})
	require.NoError(t, err)
	assert.Equal(t, `{"Count":0,"List":[]}`, string(b))

	// Inside a request body, through a pointer too, and back.
	req := struct {
		SyncKey *syncKey `json:"SyncKey"`
		RR      int32    `json:"rr"`
	}{&testSyncKey, -1890000001}
	b, err = encodeJSON(req)
	require.NoError(t, err)
	assert.Equal(t, `{"SyncKey":{"Count":4,"List":[{"Key":1,"Val":636444437},{"Key":2,"Val":636445049},{"Key":3,"Val":636444675},{"Key":1000,"Val":1463740202}]},"rr":-1890000001}`, string(b))
	var back struct{ SyncKey syncKey }
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, testSyncKey, back.SyncKey)
}

func TestSyncKeyValid(t *testing.T) {
	t.Parallel()
	assert.True(t, testSyncKey.valid())
	assert.False(t, syncKey{}.valid())
	assert.False(t, syncKey{Count: 0, List: []syncKeyPair{}}.valid())
	assert.False(t, syncKey{Count: 4}.valid())
	assert.False(t, syncKey{List: testSyncKey.List}.valid())

	var zeroed syncKey
	require.NoError(t, json.Unmarshal([]byte(`{"Count":0,"List":[]}`), &zeroed))
	assert.False(t, zeroed.valid(), "an error body's key must not replace the stored one")

	var strs syncKey
	require.NoError(t, json.Unmarshal([]byte(`{"Count":"1","List":[{"Key":"1","Val":"636444437"}]}`), &strs))
	assert.True(t, strs.valid())
	assert.Equal(t, "1_636444437", strs.String())
}

func TestEncodeJSONNoEscapes(t *testing.T) {
	t.Parallel()
	// PROTOCOL 3.7: raw UTF-8, no HTML escaping, no escaped slashes, no trailing newline.
	b, err := encodeJSON(map[string]string{"Content": "a<b>&c /d 文件 😄"})
	require.NoError(t, err)
	assert.Equal(t, `{"Content":"a<b>&c /d 文件 😄"}`, string(b))
}
