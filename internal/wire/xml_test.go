package wire

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeXMLLenient(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // Title
	}{
		{"plain", `<msg><appmsg><title>a &amp; b</title></appmsg></msg>`, "a & b"},
		{"declaration and trailing junk", `<?xml version="1.0" encoding="gbk"?><msg><appmsg><title>t</title></appmsg></msg> junk <`, "t"},
		{"single quotes, HTML entity", `<msg><appmsg appid='x'><title>&nbsp;t&hellip;</title></appmsg></msg>`, "\u00a0t…"},
		{"invalid UTF-8", "<msg><appmsg><title>t\xff\xfe</title></appmsg></msg>", "t\uFFFD\uFFFD"},
		{"control character", "<msg><appmsg><title>t\x01</title></appmsg></msg>", "t\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := ParseAppXML(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, x.AppMsg.Title)
		})
	}
	for _, in := range []string{``, `plain text`, `<msg><appmsg>`} {
		_, err := ParseAppXML(in)
		assert.Error(t, err, in)
	}
	assert.Equal(t, int64(1580), XMLInt(" 1580 "))
	assert.Zero(t, XMLInt("1.5"))
}
