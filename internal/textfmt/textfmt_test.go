package textfmt

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func span(code string) string { return `<span class="emoji emoji` + code + `"></span>` }

func TestEmoji(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"no span", "hello", "hello"},
		{"empty", "", ""},
		{"five hex", span("1f604"), "😄"},
		{"four hex", span("2600"), "☀"},
		{"upper-case hex", span("1F604"), "😄"},
		{"mixed case", span("1f60D"), "😍"},
		{"keycap six hex", span("2320e3"), "#\u20e3"},
		{"eight hex", span("2764fe0f"), "❤\ufe0f"},
		{"flag ten hex", span("1f1e81f1f3"), "🇨🇳"},
		{"flag upper-case", span("1F1E81F1F3"), "🇨🇳"},
		{"in text", "a" + span("1f604") + "b" + span("1f60a") + "c", "a😄b😊c"},
		{"adjacent", span("1f604") + span("1f604"), "😄😄"},
		{"truncated at end", `<span class="emoji emoji1f450"></span`, "👐"},
		{"truncated then text", `<span class="emoji emoji1f450"></span hi`, "👐 hi"},
		{"truncated then span", `<span class="emoji emoji1f450"></span` + span("1f604"), "👐😄"},
		{"unknown length 3", span("1f6"), span("1f6")},
		{"unknown length 7", span("1f6041f"), span("1f6041f")},
		{"too long", span("1f6041f6041"), span("1f6041f6041")},
		{"no hex", span(""), span("")},
		{"plane 15", span("fffff"), "\U000fffff"},
		{"invalid code point", span("d800"), span("d800")},
		{"surrogate in eight hex", span("2764dc00"), span("2764dc00")},
		{"surrogate in ten hex", span("1f1e80d800"), span("1f1e80d800")},
		{"length 9", span("1f1e8dc00"), span("1f1e8dc00")},
		{"control character", span("0000"), span("0000")},
		{"not hex", `<span class="emoji emoji1g604"></span>`, `<span class="emoji emoji1g604"></span>`},
		{"other attributes", `<span class="emoji emoji1f604" title="x"></span>`, `<span class="emoji emoji1f604" title="x"></span>`},
		{"opening only", `<span class="emoji emoji`, `<span class="emoji emoji`},
		{"opening and code only", `<span class="emoji emoji1f604`, `<span class="emoji emoji1f604`},
		{"bad then good", span("zz") + span("1f604"), span("zz") + "😄"},
		{"escaped span is text", `&lt;span class="emoji emoji1f604"&gt;&lt;/span&gt;`, `&lt;span class="emoji emoji1f604"&gt;&lt;/span&gt;`},
		{"invalid UTF-8 kept", "\xff" + span("1f604") + "\xfe", "\xff😄\xfe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Emoji(tt.in))
		})
	}
}

func TestEmojiRemap(t *testing.T) {
	// PROTOCOL.md 5.9: the server's wrong code points and what they stand for.
	remaps := map[string]string{
		"1f63c": "😁", // U+1F601
		"1f639": "😂", // U+1F602
		"1f63a": "😃", // U+1F603
		"1f4ab": "😖", // U+1F616
		"1f64d": "😔", // U+1F614
		"1f63b": "😍", // U+1F60D
		"1f63d": "😘", // U+1F618
		"1f64e": "😡", // U+1F621
		"1f63f": "😢", // U+1F622
	}
	for code, want := range remaps {
		t.Run(code, func(t *testing.T) {
			assert.Equal(t, want, Emoji(span(code)))
			assert.Equal(t, want, Emoji(span(strings.ToUpper(code))))
		})
	}
}

func TestText(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"plain", "hello world", "hello world"},
		{"empty", "", ""},
		{"entities", "a &lt;b&gt; &amp; &quot;c&quot; &#39;d&#39;", `a <b> & "c" 'd'`},
		{"other entities", "&nbsp;&copy;&#x4f60;&#20320;", "\u00a0©你你"},
		{"line breaks", "one<br/>two<br/><br/>three", "one\ntwo\n\nthree"},
		{"escaped br stays text", "a&lt;br/&gt;b", "a<br/>b"},
		{"other tags kept", "a<br>b<b>c</b>", "a<br>b<b>c</b>"},
		{"emoji then entity", "&lt;" + span("1f604") + "&gt;", "<😄>"},
		{"name with emoji", "Alice" + span("1f338"), "Alice🌸"},
		{"PROTOCOL 7.4 rest", `a &lt;b&gt; &amp; c<br/>@Bob<span class="emoji emoji1f604"></span> hi`, "a <b> & c\n@Bob😄 hi"},
		{"bare ampersand", "a & b", "a & b"},
		{"invalid UTF-8 kept", "\xff&amp;\xfe", "\xff&\xfe"},
		{"unknown code kept", span("1f6") + "&amp;", `<span class="emoji emoji1f6"></span>&`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Text(tt.in))
		})
	}
}

func TestTextPlainDoesNotAllocate(t *testing.T) {
	s := strings.Repeat("plain ASCII text, no markup. ", 7)
	allocs := testing.AllocsPerRun(100, func() {
		if Text(s) != s {
			t.Fatal("Text changed plain text")
		}
	})
	assert.Zero(t, allocs)
}

func TestSplitSender(t *testing.T) {
	tests := []struct {
		name       string
		content    string
		wantSender string
		wantRest   string
		wantOK     bool
	}{
		{"session id", "@0123abcd:<br/>hello", "@0123abcd", "hello", true},
		{"long session id", "@fedcba9876543210fedcba9876543210:<br/>hi<br/>there", "@fedcba9876543210fedcba9876543210", "hi<br/>there", true},
		{"wxid", "wxid_abc-12:<br/>hi", "wxid_abc-12", "hi", true},
		{"empty rest", "@abc:<br/>", "@abc", "", true},
		{"only first prefix", "@abc:<br/>@def:<br/>x", "@abc", "@def:<br/>x", true},
		{"no prefix", "hello", "", "hello", false},
		{"empty", "", "", "", false},
		{"no br", "@abc:hello", "", "@abc:hello", false},
		{"at alone", "@:<br/>x", "", "@:<br/>x", false},
		{"double at", "@@abc:<br/>x", "", "@@abc:<br/>x", false},
		{"underscore after at", "@ab_c:<br/>x", "", "@ab_c:<br/>x", false},
		{"space in name", "a b:<br/>x", "", "a b:<br/>x", false},
		{"colon only", ":<br/>x", "", ":<br/>x", false},
		{"newline instead of br", "@abc:\nx", "", "@abc:\nx", false},
		{"not at start", "x @abc:<br/>y", "", "x @abc:<br/>y", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sender, rest, ok := SplitSender(tt.content)
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.wantSender, sender)
			assert.Equal(t, tt.wantRest, rest)
		})
	}
}

func TestProtocolExample(t *testing.T) {
	// PROTOCOL.md 7.4: strip the group prefix, then decode.
	const wire = `@0123abcd:<br/>a &lt;b&gt; &amp; c<br/>@Bob<span class="emoji emoji1f604"></span> hi`
	sender, rest, ok := SplitSender(wire)
	require.True(t, ok)
	assert.Equal(t, "@0123abcd", sender)
	text := Text(rest)
	assert.Equal(t, "a <b> & c\n@Bob😄 hi", text)
	assert.False(t, Mentions(text, "Bob"), "Bob is followed by an emoji")
	assert.True(t, Mentions(text, "Bob😄"))
}

func TestMentions(t *testing.T) {
	tests := []struct {
		name string
		text string
		who  string
		want bool
	}{
		{"four-per-em space", "@Alice\u2005hello", "Alice", true},
		{"normal space", "hi @Alice how", "Alice", true},
		{"end of text", "hello @Alice", "Alice", true},
		{"whole text", "@Alice", "Alice", true},
		{"second occurrence", "@Alicex @Alice\u2005", "Alice", true},
		{"prefix of a longer name", "@Alicex hi", "Alice", false},
		{"no at", "Alice hi", "Alice", false},
		{"followed by newline", "@Alice\nhi", "Alice", false},
		{"followed by comma", "@Alice, hi", "Alice", false},
		{"empty name", "@ hi", "", false},
		{"empty text", "", "Alice", false},
		{"name with space", "@Big Bob\u2005hi", "Big Bob", true},
		{"unicode name", "你好 @小明\u2005", "小明", true},
		{"name with emoji", "@Bob😄 hi", "Bob😄", true},
		{"double at", "@@Alice hi", "Alice", true},
		{"overlapping", "@a@a@a ", "a@a", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Mentions(tt.text, tt.who))
		})
	}
}

func FuzzText(f *testing.F) {
	for _, s := range []string{
		"",
		"hello",
		`a &lt;b&gt; &amp; c<br/>@Bob<span class="emoji emoji1f604"></span> hi`,
		span("1f1e81f1f3") + span("2320e3") + span("1F63C"),
		`<span class="emoji emoji1f450"></span`,
		span("d800") + span("1f6") + "\xff&#x110000;",
		"&lt;br/&gt;<br/>&",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Text(s)
		if !strings.ContainsAny(s, "<&") && got != s {
			t.Fatalf("Text(%q) = %q; want it unchanged", s, got)
		}
		if !strings.Contains(s, spanOpen) && Emoji(s) != s {
			t.Fatalf("Emoji(%q) changed a string without a span", s)
		}
		if utf8.ValidString(s) && !utf8.ValidString(Emoji(s)) {
			t.Fatalf("Emoji(%q) made invalid UTF-8", s)
		}
	})
}

func FuzzSplitSender(f *testing.F) {
	for _, s := range []string{
		"", "@0123abcd:<br/>hello", "wxid_a-b:<br/>", "@:<br/>", "@@a:<br/>", "a b:<br/>x", ":<br/>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		sender, rest, ok := SplitSender(content)
		if !ok {
			if sender != "" || rest != content {
				t.Fatalf("SplitSender(%q) = %q, %q, false; want \"\", content", content, sender, rest)
			}
			return
		}
		if sender == "" || sender+":<br/>"+rest != content {
			t.Fatalf("SplitSender(%q) = %q, %q, true: does not rebuild content", content, sender, rest)
		}
		if strings.ContainsAny(sender, ":<> \n") {
			t.Fatalf("SplitSender(%q) gave sender %q", content, sender)
		}
	})
}

// message is a 200-byte group text with one emoji span.
var message = func() string {
	s := `Hello everyone, the meeting moves to room 4 &amp; starts at 10:30.<br/>Please bring your notes ` +
		span("1f604") + ` and &lt;laptops&gt;. `
	return s + strings.Repeat("x", 200-len(s))
}()

func BenchmarkTextEmoji(b *testing.B) {
	if len(message) != 200 {
		b.Fatalf("message is %d bytes", len(message))
	}
	b.ReportAllocs()
	for b.Loop() {
		Text(message)
	}
}

func BenchmarkTextPlain(b *testing.B) {
	s := strings.Repeat("plain ASCII text, no markup at all. ", 6)[:200]
	b.ReportAllocs()
	for b.Loop() {
		Text(s)
	}
}
