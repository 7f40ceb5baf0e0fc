package wechat

import (
	"cmp"
	"slices"
	"strings"
	"unicode"
)

// SearchContacts returns the known contacts of the given kinds (every kind if none is given)
// whose remark name, nickname or Alias matches query, best matches first.
//
// Names are matched as decoded (emoji spans turned into emoji, HTML entities unescaped,
// PROTOCOL 5.9), ignoring case, and also in a normalized form that keeps only letters and
// digits, lower-cased, with full-width forms folded to ASCII: "alice co" finds
// "Alice🌛 & Co", and "🌛" finds it too. A contact matching the whole name comes first, then
// one whose name starts with query, then one containing it; within each, a remark name before
// a nickname before an Alias, then by [Contact.Name]. An empty query matches nothing.
func (c *Client) SearchContacts(query string, kinds ...ContactKind) []Contact {
	q := newQuery(query)
	if q.empty() {
		return nil
	}
	type hit struct {
		c     Contact
		score int
	}
	var hits []hit
	for _, ct := range c.contacts.all() {
		if len(kinds) > 0 && !slices.Contains(kinds, ct.Kind) {
			continue
		}
		if score, ok := q.best(ct.RemarkName, ct.NickName, ct.Alias); ok {
			hits = append(hits, hit{*ct, score})
		}
	}
	slices.SortFunc(hits, func(a, b hit) int {
		return cmp.Or(cmp.Compare(a.score, b.score), strings.Compare(a.c.Name(), b.c.Name()), strings.Compare(a.c.ID, b.c.ID))
	})
	out := make([]Contact, len(hits))
	for i, h := range hits {
		out[i] = h.c
	}
	return out
}

// SearchMembers returns the members of the group c whose group display name or nickname
// matches query, best matches first, as [Client.SearchContacts] matches names (a display
// name before a nickname). A leading "@", as in a mention, is ignored.
func (c *Contact) SearchMembers(query string) []Member {
	q := newQuery(strings.TrimPrefix(strings.TrimSpace(query), "@"))
	if q.empty() {
		return nil
	}
	type hit struct {
		m     Member
		score int
		i     int
	}
	var hits []hit
	for i, m := range c.Members {
		if score, ok := q.best(m.DisplayName, m.NickName); ok {
			hits = append(hits, hit{m, score, i})
		}
	}
	slices.SortFunc(hits, func(a, b hit) int { return cmp.Or(cmp.Compare(a.score, b.score), cmp.Compare(a.i, b.i)) })
	out := make([]Member, len(hits))
	for i, h := range hits {
		out[i] = h.m
	}
	return out
}

// query is a search query in its two forms.
type query struct {
	lower, norm string
}

func newQuery(s string) query {
	s = strings.TrimSpace(s)
	return query{lower: strings.ToLower(s), norm: normalizeName(s)}
}

func (q query) empty() bool { return q.lower == "" }

// Match qualities, best first.
const (
	matchExact = iota
	matchPrefix
	matchContains
	matchNone
)

// best returns the best score of q over fields, in order of preference: the quality of the
// match times the number of fields, plus the field's index.
func (q query) best(fields ...string) (int, bool) {
	best := -1
	for i, f := range fields {
		if m := q.match(f); m != matchNone {
			if s := m*len(fields) + i; best < 0 || s < best {
				best = s
			}
		}
	}
	return best, best >= 0
}

// match returns how well name matches q: in its lower-cased form, or in its normalized
// form when the query has letters or digits.
func (q query) match(name string) int {
	if name == "" {
		return matchNone
	}
	lower := strings.ToLower(name)
	var norm string
	if q.norm != "" {
		norm = normalizeName(name)
	}
	switch {
	case lower == q.lower, q.norm != "" && norm == q.norm:
		return matchExact
	case strings.HasPrefix(lower, q.lower), q.norm != "" && strings.HasPrefix(norm, q.norm):
		return matchPrefix
	case strings.Contains(lower, q.lower), q.norm != "" && strings.Contains(norm, q.norm):
		return matchContains
	}
	return matchNone
}

// normalizeName folds a name for searching: letters and digits only (spaces, punctuation,
// symbols and emoji, joiners and variation selectors dropped), lower case, full-width ASCII
// forms (Ａ, １) folded to ASCII.
func normalizeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 0xFF01 && r <= 0xFF5E { // full-width ASCII
			r -= 0xFEE0
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}
