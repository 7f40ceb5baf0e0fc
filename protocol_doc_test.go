package wechat

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The code cites docs/PROTOCOL.md as "PROTOCOL 6.1", "PROTOCOL 10.1-10.3, 10.5",
// "PROTOCOL.md 5.9 and 7.4" or "PROTOCOL §6.1", the list possibly running on to the next
// comment line. These tests keep every such citation pointing at a section the document has.

const protocolDoc = "docs/PROTOCOL.md"

var (
	// docHeading is a numbered heading of the document: "## 6. Receiving", "### 6.1 synccheck".
	docHeading = regexp.MustCompile(`^#{2,4}[ \t]+(\d+(?:\.\d+)*)\.?[ \t]`)
	// citation is "PROTOCOL" (or "PROTOCOL.md") and a list of section numbers, or a bare
	// "§n.m"; the list is joined by commas, "and", or a dash for a range.
	citation  = regexp.MustCompile(`(?:PROTOCOL(?:\.md)?[ \t]*§?|§)[ \t]*(` + sectionNum + `(?:[ \t]*(?:,|and|-|–)[ \t]*` + sectionNum + `)*)`)
	sectionRe = regexp.MustCompile(sectionNum)
)

const sectionNum = `\d+(?:\.\d+)*`

// docSections returns the section numbers of the headings of the document at path.
func docSections(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	out := make(map[string]bool)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := docHeading.FindStringSubmatch(sc.Text()); m != nil {
			out[m[1]] = true
		}
	}
	require.NoError(t, sc.Err())
	return out
}

// A cite is one section number cited at a line of a file.
type cite struct {
	pos     string // file:line
	section string
}

// citations returns the sections src cites, with name:line positions. A citation may run on
// to the next line: each line is read together with the next one, comment markers removed,
// and the matches that start on the first are kept.
func citations(name string, src []byte) []cite {
	lines := strings.Split(string(src), "\n")
	var out []cite
	for i, line := range lines {
		if !strings.Contains(line, "PROTOCOL") && !strings.Contains(line, "§") {
			continue
		}
		joined := line
		if i+1 < len(lines) {
			next := strings.TrimLeft(lines[i+1], " \t")
			next = strings.TrimLeft(strings.TrimPrefix(next, "//"), " \t")
			joined += " " + next
		}
		for _, loc := range citation.FindAllStringSubmatchIndex(joined, -1) {
			if loc[0] >= len(line) {
				continue // starts on the next line: found there
			}
			for _, s := range sectionRe.FindAllString(joined[loc[2]:loc[3]], -1) {
				out = append(out, cite{pos: name + ":" + itoa(i+1), section: s})
			}
		}
	}
	return out
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// moduleCitations returns the citations of every .go file of the module rooted at root.
func moduleCitations(t *testing.T, root string) []cite {
	t.Helper()
	var out []cite
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			if path != root {
				if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
					return filepath.SkipDir // another module
				}
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out = append(out, citations(filepath.ToSlash(path), src)...)
		return nil
	})
	require.NoError(t, err)
	return out
}

// TestProtocolCitations fails for each citation in the module's Go files of a section that
// docs/PROTOCOL.md has no heading for, naming the file and line.
func TestProtocolCitations(t *testing.T) {
	sections := docSections(t, protocolDoc)
	for _, s := range []string{"0", "2.2", "6.1", "14.20", "16"} {
		require.True(t, sections[s], "%s has a heading for section %s", protocolDoc, s)
	}
	cites := moduleCitations(t, ".")
	require.Greater(t, len(cites), 300, "the module cites the document; a scan that finds nothing proves nothing")
	for _, c := range cites {
		if !sections[c.section] {
			t.Errorf("%s: cites PROTOCOL %s, which %s has no section for", c.pos, c.section, protocolDoc)
		}
	}
}

// TestProtocolCitationsScan checks the scanner on the forms the code uses, so that a
// citation cannot slip past it. The cited text is built at run time so that the scan of this
// file does not find it.
func TestProtocolCitationsScan(t *testing.T) {
	p := "PROTO" + "COL"
	src := strings.Join([]string{
		"// see " + p + " 6.1.",                       // 1
		"// (" + p + " 10.1-10.3, 10.5): downloads",   // 2
		"// " + p + ".md 5.9 and 7.4, 14.8 and 14.16", // 3
		"// the host (" + p,                           // 4: runs on
		"// 2.2) and the rest",                        // 5
		"// " + p + " 3.1,",                           // 6: the list runs on
		"// 14.5) and " + p + " §4.4",                 // 7
		"// " + p + " 12.7 asks for 0.5-3 s",          // 8: not a list
		`	return fmt.Errorf("see ` + p + ` 99.1")`,    // 9: in a string
		"// " + p + ".md only, so nothing",            // 10
		"// " + "§" + "13",                            // 11
	}, "\n")
	var got []string
	for _, c := range citations("f.go", []byte(src)) {
		got = append(got, c.pos+" "+c.section)
	}
	assert.Equal(t, []string{
		"f.go:1 6.1",
		"f.go:2 10.1", "f.go:2 10.3", "f.go:2 10.5",
		"f.go:3 5.9", "f.go:3 7.4", "f.go:3 14.8", "f.go:3 14.16",
		"f.go:4 2.2",
		"f.go:6 3.1", "f.go:6 14.5",
		"f.go:7 4.4",
		"f.go:8 12.7",
		"f.go:9 99.1",
		"f.go:11 13",
	}, got)

	sections := map[string]bool{"6.1": true}
	var missing []string
	for _, c := range citations("f.go", []byte(src)) {
		if !sections[c.section] {
			missing = append(missing, c.pos)
		}
	}
	assert.Contains(t, missing, "f.go:9", "an unknown section is reported with its position")
	assert.NotContains(t, missing, "f.go:1")
}

func TestDocHeadings(t *testing.T) {
	for line, want := range map[string]string{
		"## 6. Receiving: the long poll": "6",
		"### 6.1 synccheck":              "6.1",
		"### 14.20 Duplicates":           "14.20",
		"#### 7.4.1 deeper":              "7.4.1",
		"# 1. Title level":               "",
		"### synccheck":                  "",
		"text 6.1 in a paragraph":        "",
	} {
		m := docHeading.FindStringSubmatch(line)
		if want == "" {
			assert.Nil(t, m, line)
			continue
		}
		require.NotNil(t, m, line)
		assert.Equal(t, want, m[1], line)
	}
}
