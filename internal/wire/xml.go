package wire

import (
	"bytes"
	"encoding/xml"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file holds the XML payloads inside messages (PROTOCOL 7.5) as far as the client reads
// them, and the lenient XML decoding they and webwxnewloginpage need (PROTOCOL 14.9).

// DecodeXML decodes the first element of s into v, as leniently as the server's XML needs
// (PROTOCOL 7.4, 14.9): a leading <?xml ...?> declaration (whatever encoding it names: s is
// UTF-8 already), anything after the first element, single-quoted attributes, HTML entities,
// the common mistakes encoding/xml's non-strict mode accepts, and bytes that are not UTF-8 or
// characters XML forbids (replaced by U+FFFD). It fails when s holds no element or the first
// one is not well-formed.
func DecodeXML(s string, v any) error {
	if !xmlClean(s) {
		return decodeXML(sanitizeXML([]byte(s)), v)
	}
	return decodeXMLFrom(strings.NewReader(s), v)
}

func decodeXML(b []byte, v any) error {
	if !xmlCleanBytes(b) {
		b = sanitizeXML(b)
	}
	return decodeXMLFrom(bytes.NewReader(b), v)
}

func decodeXMLFrom(r io.Reader, v any) error {
	d := xml.NewDecoder(r)
	d.Strict = false
	d.Entity = xml.HTMLEntity
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		if se, ok := tok.(xml.StartElement); ok {
			return d.DecodeElement(v, &se)
		}
	}
}

// xmlClean reports whether s is valid UTF-8 without characters XML forbids.
func xmlClean(s string) bool {
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || !xmlChar(r) {
			return false
		}
		i += n
	}
	return true
}

// xmlCleanBytes is xmlClean for bytes.
func xmlCleanBytes(b []byte) bool {
	for i := 0; i < len(b); {
		if c := b[i]; c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 || !xmlChar(r) {
			return false
		}
		i += n
	}
	return true
}

// sanitizeXML returns b with invalid UTF-8 and characters XML forbids replaced by U+FFFD.
func sanitizeXML(b []byte) []byte {
	out := make([]byte, 0, len(b)+16)
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 || !xmlChar(r) {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return out
}

// xmlChar reports whether XML 1.0 allows r.
func xmlChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// XMLInt parses a decimal attribute or element value, spaces trimmed; anything else is 0.
func XMLInt(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// ImageXML is the payload of an image (MsgType 3): <msg><img length hdlength .../>.
type ImageXML struct {
	Img struct {
		Length   string `xml:"length,attr"`
		HDLength string `xml:"hdlength,attr"`
	} `xml:"img"`
}

// VoiceXML is the payload of a voice message (34): <msg><voicemsg voicelength .../>.
type VoiceXML struct {
	VoiceMsg struct {
		VoiceLength string `xml:"voicelength,attr"`
	} `xml:"voicemsg"`
}

// VideoXML is the payload of a video (43, 62): <msg><videomsg length playlength .../>.
type VideoXML struct {
	VideoMsg struct {
		Length     string `xml:"length,attr"`
		PlayLength string `xml:"playlength,attr"`
	} `xml:"videomsg"`
}

// EmojiXML is the payload of a sticker (47): <msg><emoji md5 len cdnurl width height/>.
type EmojiXML struct {
	Emoji struct {
		MD5    string `xml:"md5,attr"`
		Len    string `xml:"len,attr"`
		CDNURL string `xml:"cdnurl,attr"`
		Width  string `xml:"width,attr"`
		Height string `xml:"height,attr"`
	} `xml:"emoji"`
}

// LocationXML is the OriContent of a location: <msg><location x y scale label poiname/>.
type LocationXML struct {
	Location struct {
		X       string `xml:"x,attr"`
		Y       string `xml:"y,attr"`
		Scale   string `xml:"scale,attr"`
		Label   string `xml:"label,attr"`
		POIName string `xml:"poiname,attr"`
	} `xml:"location"`
}

// CardXML is the payload of a contact card (42): the attributes of its root <msg>.
type CardXML struct {
	UserName string `xml:"username,attr"`
	NickName string `xml:"nickname,attr"`
	Alias    string `xml:"alias,attr"`
	Province string `xml:"province,attr"`
	City     string `xml:"city,attr"`
	Sex      string `xml:"sex,attr"`
}

// VerifyXML is the payload of a friend request (37): the attributes of its root <msg>.
type VerifyXML struct {
	FromUserName string `xml:"fromusername,attr"`
	FromNickName string `xml:"fromnickname,attr"`
	Content      string `xml:"content,attr"`
	Ticket       string `xml:"ticket,attr"`
	Scene        string `xml:"scene,attr"`
	Sex          string `xml:"sex,attr"`
	Province     string `xml:"province,attr"`
	City         string `xml:"city,attr"`
	Alias        string `xml:"alias,attr"`
	Sign         string `xml:"sign,attr"`
}

// RevokeXML is the payload of a revoke notice (10002): <sysmsg type="revokemsg"><revokemsg>.
type RevokeXML struct {
	RevokeMsg struct {
		Session    string `xml:"session"`
		OldMsgID   string `xml:"oldmsgid"`
		MsgID      string `xml:"msgid"`
		ReplaceMsg string `xml:"replacemsg"`
	} `xml:"revokemsg"`
}

// StatusNotifyXML is the payload of a status notification (51): <msg><op><username>, the
// permanent ids of the phone's chats, comma-separated.
type StatusNotifyXML struct {
	Op struct {
		UserName string `xml:"username"`
	} `xml:"op"`
}

// AppXML is the payload of an app message (49): <msg><appmsg>...</appmsg><appinfo>...
type AppXML struct {
	AppMsg struct {
		AppID             string `xml:"appid,attr"`
		Title             string `xml:"title"`
		Des               string `xml:"des"`
		Type              string `xml:"type"`
		URL               string `xml:"url"`
		SourceDisplayName string `xml:"sourcedisplayname"`
		RecordItem        string `xml:"recorditem"`
		AppAttach         struct {
			TotalLen string `xml:"totallen"`
			AttachID string `xml:"attachid"`
			FileExt  string `xml:"fileext"`
		} `xml:"appattach"`
		MMReader struct {
			Category struct {
				Items []struct {
					Title  string `xml:"title"`
					URL    string `xml:"url"`
					Cover  string `xml:"cover"`
					Digest string `xml:"digest"`
				} `xml:"item"`
			} `xml:"category"`
		} `xml:"mmreader"`
		WeAppInfo struct {
			UserName string `xml:"username"`
			AppID    string `xml:"appid"`
			PagePath string `xml:"pagepath"`
		} `xml:"weappinfo"`
		WCPayInfo struct {
			FeeDesc string `xml:"feedesc"`
		} `xml:"wcpayinfo"`
	} `xml:"appmsg"`
	AppInfo struct {
		AppName string `xml:"appname"`
	} `xml:"appinfo"`
}

// RecordItemXML is the <recorditem> of a chat history (AppMsgType 19), itself XML.
type RecordItemXML struct {
	Title string `xml:"title"`
	Desc  string `xml:"desc"`
}

// ParseAppXML decodes the payload of an app message, content being its decoded Content. It
// returns the zero AppXML and the error when the payload is not well-formed XML.
func ParseAppXML(content string) (AppXML, error) {
	var x AppXML
	if err := DecodeXML(content, &x); err != nil {
		return AppXML{}, err
	}
	return x, nil
}
