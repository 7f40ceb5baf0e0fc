package wechat

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxkit/wechat/internal/wire"
)

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
	assert.Equal(t, "1_1", syncKey{List: []syncKeyPair{{Key: 1, Val: 1}}}.String())
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
	b, err = wire.EncodeJSON(req)
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

	zeroed, err := parseSync([]byte(`{"BaseResponse":{"Ret":0,"ErrMsg":""},"SyncKey":{"Count":0,"List":[]}}`))
	require.NoError(t, err)
	assert.False(t, zeroed.SyncKey.valid(), "an error body's key must not replace the stored one")

	strs, err := parseSync([]byte(`{"BaseResponse":{"Ret":0,"ErrMsg":""},"SyncKey":{"Count":"1","List":[{"Key":"1","Val":"636444437"}]}}`))
	require.NoError(t, err)
	assert.True(t, strs.SyncKey.valid())
	assert.Equal(t, "1_636444437", strs.SyncKey.String())
}

func TestEncodeJSONNoEscapes(t *testing.T) {
	t.Parallel()
	// PROTOCOL 3.7: raw UTF-8, no HTML escaping, no escaped slashes, no trailing newline.
	b, err := wire.EncodeJSON(map[string]string{"Content": "a<b>&c /d 文件 😄"})
	require.NoError(t, err)
	assert.Equal(t, `{"Content":"a<b>&c /d 文件 😄"}`, string(b))
}
