// Command benchtable runs the benchmarks behind the README's performance table and rewrites
// the table from their medians, so that every figure there comes from a run anyone can repeat:
//
//	go run ./internal/cmd/benchtable             # run everything (-count 6) and rewrite README.md
//	go run ./internal/cmd/benchtable -rows heap  # rerun the rows whose measure matches "heap" only
//	go run ./internal/cmd/benchtable -in out.txt # build the table from saved `go test -bench` output
//
// The table sits in README.md between the lines <!-- benchtable:start --> and
// <!-- benchtable:end -->; everything else in the file is kept. A row that is not rerun (see
// -rows) keeps the figures it had. The machine the figures come from (CPU, cores, OS and
// architecture, Go version) and the command are written above the table. The raw output of
// `go test` is echoed to standard error, and saved with -o for benchstat.
//
// It must be run from the module root. It exits with status 1 if a benchmark fails or a
// figure of a row is missing from the output.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A row is one line of the table: a measure, the benchmark that measures it, the figures
// shown (medians of the benchmark's metrics) and the target.
type row struct {
	measure string
	pkg     string // package of the benchmark, relative to the module root
	bench   string // full benchmark name, sub-benchmark included, without the -GOMAXPROCS suffix
	figures []figure
	target  string
}

// A figure is one metric of a benchmark, as shown in the table.
type figure struct {
	unit  string  // the metric's unit in the benchmark output
	scale float64 // the shown value is the median times scale; 0 means 1
	as    string  // the unit shown; "" means unit
	prec  int     // digits after the decimal point
}

var rows = []row{
	{"end to end, wechattest push to handler return, over loopback HTTP, 20,000 texts", ".", "BenchmarkEndToEndLoopback",
		[]figure{{unit: "msgs/s"}, {unit: "allocs/msg", prec: 1}}, "≥ 3× openwechat (≈ 60,000 msgs/s)"},
	{"end to end, in-memory transport, 1,000 texts per round", ".", "BenchmarkEndToEnd",
		[]figure{{unit: "msgs/s"}, {unit: "allocs/msg", prec: 1}}, "—"},
	{"parse + decode of a webwxsync body of 100 messages", ".", "BenchmarkParseSyncAndDecode",
		[]figure{{unit: "MB/s"}, {unit: "allocs/op", scale: 0.01, as: "allocs/msg", prec: 1}}, "≥ 250 MB/s, ≤ 4 allocs/msg"},
	{"live heap per contact, 5,000-friend address book (the contact store alone)", ".", "BenchmarkContactHeap",
		[]figure{{unit: "B/contact"}}, "≤ 500 B/contact"},
	{"live heap per group member, 20 groups × 500", ".", "BenchmarkContactHeap",
		[]figure{{unit: "B/member"}}, "≤ 120 B/member"},
	{"login → first message handled, 5,000 friends + 300 groups × 500", ".", "BenchmarkLoginToFirstMessage",
		[]figure{{unit: "ms/first-msg"}, {unit: "ms/contacts-loaded"}}, "< 1,000 ms; sync never waits for the contacts"},
	{"1,000 idle online clients, 100 friends each, in-memory transport", ".", "BenchmarkIdleClients/memory",
		[]figure{{unit: "goroutines/client", prec: 2}, {unit: "KB/client", prec: 1}, {unit: "idle-CPU-%", prec: 2}},
		"≤ 5 goroutines, ≤ 64 KB per client, idle CPU ≈ 0"},
	{"1,000 idle online clients, 100 friends each, loopback HTTP (heap includes the servers' connections)", ".", "BenchmarkIdleClients/loopback",
		[]figure{{unit: "goroutines/client", prec: 2}, {unit: "KB/client", prec: 1}, {unit: "idle-CPU-%", prec: 2}},
		"≤ 5 goroutines per client, idle CPU ≈ 0"},
	{"upload of 50 MB from an io.ReadSeeker: peak extra heap", ".", "BenchmarkUpload/ReadSeeker",
		[]figure{{unit: "peak-extra-heap-MB", as: "MB", prec: 1}}, "≤ 4 MB"},
	{"upload of 50 MB from an io.Reader: peak extra heap", ".", "BenchmarkUpload/Reader",
		[]figure{{unit: "peak-extra-heap-MB", as: "MB", prec: 1}}, "≤ 4 MB"},
	{"rejected answer of 100 MB (limit 64 MiB), announced by its Content-Length: peak extra heap", ".", "BenchmarkRejectedBody/content-length",
		[]figure{{unit: "peak-extra-heap-MB", as: "MB", prec: 1}}, "bounded by a small fixed buffer"},
	{"rejected answer of 100 MB (limit 64 MiB), of unknown length: peak extra heap", ".", "BenchmarkRejectedBody/unknown-length",
		[]figure{{unit: "peak-extra-heap-MB", as: "MB", prec: 1}}, "bounded by a small fixed buffer"},
}

const (
	startMarker = "<!-- benchtable:start -->"
	endMarker   = "<!-- benchtable:end -->"
)

func main() {
	count := flag.Int("count", 6, "runs of each benchmark; the table shows the medians")
	readme := flag.String("readme", "README.md", "the file whose table is rewritten")
	only := flag.String("rows", "", "rerun only the rows whose measure or benchmark matches this regexp")
	in := flag.String("in", "", "read `go test -bench` output from this file instead of running the benchmarks")
	out := flag.String("o", "", "also write the raw benchmark output to this file")
	flag.Parse()
	if err := run(*count, *readme, *only, *in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func run(count int, readme, only, in, out string) error {
	sel := rows
	if only != "" {
		re, err := regexp.Compile(only)
		if err != nil {
			return err
		}
		sel = slices.DeleteFunc(slices.Clone(rows), func(r row) bool { return !re.MatchString(r.measure) && !re.MatchString(r.bench) })
		if len(sel) == 0 {
			return fmt.Errorf("no row matches %q", only)
		}
	}
	old, err := os.ReadFile(readme)
	if err != nil {
		return err
	}
	var raw []byte
	if in != "" {
		if raw, err = os.ReadFile(in); err != nil {
			return err
		}
	} else if raw, err = runBenchmarks(sel, count); err != nil {
		return err
	}
	if out != "" {
		if err := os.WriteFile(out, raw, 0o644); err != nil {
			return err
		}
	}
	res := parse(raw)
	m := machine{cores: runtime.NumCPU(), goos: res.goos, goarch: res.goarch, cpu: res.cpu, goVersion: goVersion(), date: time.Now().UTC().Format("2006-01-02")}
	cmd := "go run ./internal/cmd/benchtable"
	if count != 6 {
		cmd += " -count " + strconv.Itoa(count)
	}
	if only != "" {
		cmd += " -rows '" + only + "'"
	}
	updated, err := rewrite(old, sel, res, m, cmd)
	if err != nil {
		return err
	}
	return os.WriteFile(readme, updated, 0o644)
}

// runBenchmarks runs the benchmarks of rows, package by package, echoing the output to
// standard error, and returns it.
func runBenchmarks(rs []row, count int) ([]byte, error) {
	byPkg := map[string][]string{}
	var pkgs []string
	for _, r := range rs {
		top, _, _ := strings.Cut(r.bench, "/")
		if _, ok := byPkg[r.pkg]; !ok {
			pkgs = append(pkgs, r.pkg)
		}
		if !slices.Contains(byPkg[r.pkg], top) {
			byPkg[r.pkg] = append(byPkg[r.pkg], top)
		}
	}
	var all bytes.Buffer
	for _, pkg := range pkgs {
		args := []string{"test", "-run", "^$", "-bench", "^(" + strings.Join(byPkg[pkg], "|") + ")$",
			"-benchmem", "-count", strconv.Itoa(count), "-timeout", "2h", pkg}
		fmt.Fprintln(os.Stderr, "go", strings.Join(args, " "))
		cmd := exec.Command("go", args...)
		cmd.Stdout = io.MultiWriter(&all, os.Stderr)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("go test %s: %w", pkg, err)
		}
	}
	return all.Bytes(), nil
}

// results are the metrics of a benchmark run: for each benchmark (without the -GOMAXPROCS
// suffix), every value of each unit, in the order of the runs.
type results struct {
	values       map[string]map[string][]float64
	goos, goarch string
	cpu          string
	procs        int // the -GOMAXPROCS suffix
}

var procsSuffix = regexp.MustCompile(`-(\d+)$`)

// parse reads the output of go test -bench.
func parse(out []byte) results {
	res := results{values: map[string]map[string][]float64{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "goos: "):
			res.goos = strings.TrimPrefix(line, "goos: ")
		case strings.HasPrefix(line, "goarch: "):
			res.goarch = strings.TrimPrefix(line, "goarch: ")
		case strings.HasPrefix(line, "cpu: "):
			res.cpu = strings.TrimPrefix(line, "cpu: ")
		case strings.HasPrefix(line, "Benchmark"):
			f := strings.Fields(line)
			if len(f) < 4 || len(f)%2 != 0 {
				continue // a benchmark's name printed before its log lines, or a failure
			}
			if _, err := strconv.Atoi(f[1]); err != nil {
				continue
			}
			name := f[0]
			if m := procsSuffix.FindStringSubmatch(name); m != nil {
				name = strings.TrimSuffix(name, m[0])
				res.procs, _ = strconv.Atoi(m[1])
			}
			if res.values[name] == nil {
				res.values[name] = map[string][]float64{}
			}
			for i := 2; i+1 < len(f); i += 2 {
				v, err := strconv.ParseFloat(f[i], 64)
				if err != nil {
					continue
				}
				res.values[name][f[i+1]] = append(res.values[name][f[i+1]], v)
			}
		}
	}
	return res
}

// median returns the median of vs, which is not empty.
func median(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

type machine struct {
	cores        int
	goos, goarch string
	cpu          string
	goVersion    string
	date         string
}

func goVersion() string {
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return runtime.Version()
	}
	return strings.TrimSpace(string(out))
}

// rewrite returns readme with the block between the markers rebuilt: rows of sel get the
// medians of res, the other rows keep the cells they had.
func rewrite(readme []byte, sel []row, res results, m machine, cmd string) ([]byte, error) {
	text := string(readme)
	i := strings.Index(text, startMarker)
	j := strings.Index(text, endMarker)
	if i < 0 || j < i {
		return nil, fmt.Errorf("no %s ... %s block in the README", startMarker, endMarker)
	}
	oldCells := oldRows(text[i:j])
	var b strings.Builder
	b.WriteString(startMarker + "\n")
	where := fmt.Sprintf("%s, %d cores (GOMAXPROCS %d), %s/%s, %s", orDash(m.cpu), m.cores, res.procs, m.goos, m.goarch, m.goVersion)
	if len(sel) == len(rows) {
		fmt.Fprintf(&b, "Medians of %s, generated by `%s` on %s:\n%s.\n\n", runsText(res), cmd, m.date, where)
	} else {
		// A partial rerun keeps the header of the last full run, and says which rows it changed.
		head, _, _ := strings.Cut(strings.TrimPrefix(text[i:j], startMarker+"\n"), "\n\n")
		lines := strings.Split(head, "\n")
		if len(lines) > 2 {
			lines = lines[:2]
		}
		var names []string
		for _, r := range sel {
			names = append(names, r.measure)
		}
		fmt.Fprintf(&b, "%s\nRerun since, by `%s` on %s (medians of %s; %s): %s.\n\n",
			strings.Join(lines, "\n"), cmd, m.date, runsText(res), where, strings.Join(names, "; "))
	}
	b.WriteString("| measure | benchmark | median | target |\n| --- | --- | --- | --- |\n")
	var missing []string
	for _, r := range rows {
		cells := ""
		if slices.ContainsFunc(sel, func(s row) bool { return s.measure == r.measure }) {
			var figs []string
			for _, f := range r.figures {
				vs := res.values[r.bench][f.unit]
				if len(vs) == 0 {
					missing = append(missing, r.bench+" "+f.unit)
					continue
				}
				figs = append(figs, f.format(median(vs)))
			}
			cells = strings.Join(figs, ", ")
		} else if c, ok := oldCells[r.measure]; ok {
			cells = c
		} else {
			cells = "not measured"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", r.measure, r.bench, cells, r.target)
	}
	if len(missing) > 0 {
		return nil, errors.New("no figure in the benchmark output for " + strings.Join(missing, ", "))
	}
	text = text[:i] + b.String() + text[j:]
	return []byte(text), nil
}

func runsText(res results) string {
	n := 0
	for _, units := range res.values {
		for _, vs := range units {
			n = max(n, len(vs))
		}
	}
	if n == 1 {
		return "1 run"
	}
	return strconv.Itoa(n) + " runs"
}

func orDash(s string) string {
	if s == "" {
		return "unknown CPU"
	}
	return s
}

// oldRows returns the median cell of each row of a table block, by measure.
func oldRows(block string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(block, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 6 {
			continue
		}
		out[strings.TrimSpace(cells[1])] = strings.TrimSpace(cells[3])
	}
	return out
}

// format shows v (a median) scaled, with thousands separators.
func (f figure) format(v float64) string {
	if f.scale != 0 {
		v *= f.scale
	}
	unit := f.unit
	if f.as != "" {
		unit = f.as
	}
	return group(strconv.FormatFloat(v, 'f', f.prec, 64)) + " " + unit
}

// group puts thousands separators into the integer part of a formatted number.
func group(s string) string {
	intPart, frac, hasFrac := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if neg {
		out = "-" + out
	}
	if hasFrac {
		out += "." + frac
	}
	return out
}
