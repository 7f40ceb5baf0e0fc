package wechat

import (
	"fmt"
	"maps"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestREADMEFigures fails when a deterministic figure of the README's performance table (the
// heap per contact and per group member, the allocations per decoded message) is more than 10 %
// away from a fresh measurement: the table is then stale, and `go run ./internal/cmd/benchtable`
// regenerates it. The timing figures are not checked: they depend on the machine.
func TestREADMEFigures(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	perContact, perMember := contactHeap(t)
	r := testing.Benchmark(BenchmarkParseSyncAndDecode)
	if r.N == 0 {
		t.Fatal("BenchmarkParseSyncAndDecode failed")
	}
	allocs := float64(r.AllocsPerOp()) / 100
	t.Logf("measured %.0f B/contact, %.1f B/member, %.2f allocs/msg", perContact, perMember, allocs)
	for _, msg := range staleFigures(string(readme), map[string]float64{
		"B/contact":  perContact,
		"B/member":   perMember,
		"allocs/msg": allocs,
	}) {
		t.Error(msg)
	}
}

// staleFigures returns a message for each figure of want that the benchtable block of readme
// does not show within 10 %. A figure is looked up in the row of its benchmark: B/contact and
// B/member in BenchmarkContactHeap's, allocs/msg in BenchmarkParseSyncAndDecode's.
func staleFigures(readme string, want map[string]float64) []string {
	bench := map[string]string{
		"B/contact":  "BenchmarkContactHeap",
		"B/member":   "BenchmarkContactHeap",
		"allocs/msg": "BenchmarkParseSyncAndDecode",
	}
	_, block, ok := strings.Cut(readme, "<!-- benchtable:start -->")
	block, _, ok2 := strings.Cut(block, "<!-- benchtable:end -->")
	if !ok || !ok2 {
		return []string{"README.md has no benchtable block"}
	}
	var out []string
	for _, unit := range slices.Sorted(maps.Keys(want)) {
		got := want[unit]
		fig := regexp.MustCompile(`([0-9][0-9,]*(?:\.[0-9]+)?) ` + regexp.QuoteMeta(unit) + `\b`)
		var shown string
		for _, line := range strings.Split(block, "\n") {
			if strings.Contains(line, "`"+bench[unit]+"`") {
				if m := fig.FindStringSubmatch(line); m != nil {
					shown = m[1]
				}
			}
		}
		if shown == "" {
			out = append(out, fmt.Sprintf("README.md shows no %s in the row of %s", unit, bench[unit]))
			continue
		}
		v, err := strconv.ParseFloat(strings.ReplaceAll(shown, ",", ""), 64)
		if err != nil {
			out = append(out, fmt.Sprintf("README.md: %s %s: %v", shown, unit, err))
			continue
		}
		if math.Abs(v-got) > 0.10*got {
			out = append(out, fmt.Sprintf("README.md shows %s %s, a fresh measurement gives %.1f (more than 10 %% apart): "+
				"run go run ./internal/cmd/benchtable", shown, unit, got))
		}
	}
	return out
}

func TestStaleFigures(t *testing.T) {
	readme := "x 1 B/contact\n<!-- benchtable:start -->\n| heap | `BenchmarkContactHeap` | 1,000 B/contact, 100 B/member | ≤ 500 B/contact |\n" +
		"| decode | `BenchmarkParseSyncAndDecode` | 250 MB/s, 9.1 allocs/msg | t |\n<!-- benchtable:end -->\n"
	tests := []struct {
		name   string
		readme string
		want   map[string]float64
		stale  int
	}{
		{"equal", readme, map[string]float64{"B/contact": 1000, "B/member": 100, "allocs/msg": 9.1}, 0},
		{"within 10 %", readme, map[string]float64{"B/contact": 1090, "B/member": 92, "allocs/msg": 8.5}, 0},
		{"contact off", readme, map[string]float64{"B/contact": 1120, "B/member": 100}, 1},
		{"member off", readme, map[string]float64{"B/member": 80}, 1},
		{"allocs off", readme, map[string]float64{"allocs/msg": 12}, 1},
		{"no block", "x 1 B/contact", map[string]float64{"B/contact": 1}, 1},
		{"no figure", "<!-- benchtable:start -->\n| x | `BenchmarkContactHeap` | 5 MB/s |\n<!-- benchtable:end -->", map[string]float64{"B/contact": 1}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := staleFigures(tt.readme, tt.want); len(got) != tt.stale {
				t.Errorf("staleFigures = %q, want %d messages", got, tt.stale)
			}
		})
	}
}
