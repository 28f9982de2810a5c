package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"rrdash/tools/testdeps"
)

// TestGraphvDifferential runs generated `rrdtool graphv` command lines
// through rrdtool 1.7.2 and `rrdash graphv` on the same data (rrdtool's
// files, imported from their dumps) and compares print[], graph_start/end
// and value_min/max exactly, legend[] texts and their line grouping
// exactly, and the geometry (image_*, graph_*, coords[]) within 1 px.
// RRDASH_GRAPHV_CASES sets the number of cases (default 120).
func TestGraphvDifferential(t *testing.T) {
	rrdtool := testdeps.Program(t, "rrdtool")
	n := 120
	if v := os.Getenv("RRDASH_GRAPHV_CASES"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	ctx := context.Background()
	const t0 = 1700000000
	rng := rand.New(rand.NewSource(17))
	files := []struct {
		name string
		step int
		rows int
	}{{"fast", 60, 3000}, {"slow", 300, 1200}}
	// The same create and update arguments to both: rrdash's store
	// computes what rrdtool's does (a dump would round values to 10 digits).
	for _, f := range files {
		rrd := filepath.Join(dir, f.name+".rrd")
		def := []string{"--start", strconv.Itoa(t0), "--step", strconv.Itoa(f.step),
			fmt.Sprintf("DS:a:GAUGE:%d:U:U", 2*f.step), fmt.Sprintf("DS:b:GAUGE:%d:U:U", 2*f.step),
			fmt.Sprintf("RRA:AVERAGE:0.5:1:%d", f.rows), fmt.Sprintf("RRA:MAX:0.5:6:%d", f.rows),
			fmt.Sprintf("RRA:MIN:0.5:6:%d", f.rows), fmt.Sprintf("RRA:LAST:0.5:1:%d", f.rows)}
		mustRun(t, rrdtool, append([]string{"create", rrd}, def...)...)
		ours := func(args ...string) {
			t.Helper()
			var buf bytes.Buffer
			if err := run(ctx, append([]string{"--data", data}, args...), nil, &buf, &buf); err != nil {
				t.Fatalf("%s: %v\n%s", args[0], err, buf.String())
			}
		}
		ours(append([]string{"create", f.name}, def...)...)
		var ups []string
		for i := 1; i < f.rows; i++ {
			a, b := "U", "U"
			if rng.Intn(20) != 0 { // some gaps
				a = strconv.FormatFloat(rng.Float64()*math.Pow(10, float64(rng.Intn(4))), 'f', 3, 64)
			}
			if rng.Intn(30) != 0 {
				b = strconv.FormatFloat(rng.NormFloat64()*20-5, 'f', 4, 64)
			}
			ups = append(ups, fmt.Sprintf("%d:%s:%s", t0+f.step*i, a, b))
		}
		for len(ups) > 0 {
			k := min(500, len(ups))
			mustRun(t, rrdtool, append([]string{"update", rrd}, ups[:k]...)...)
			ours(append([]string{"update", f.name}, ups[:k]...)...)
			ups = ups[k:]
		}
	}
	for _, d := range []string{"rrdtool", "rrdash"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	stats := map[string][2]int{} // what → [matched, compared]
	count := func(what string, ok bool) {
		s := stats[what]
		s[1]++
		if ok {
			s[0]++
		}
		stats[what] = s
	}
	failures := 0
	// rrdtool runs in a few processes at once while rrdash takes the
	// cases in order: the test waits on processes, not on work.
	type result struct {
		out []byte
		err error
	}
	// RRDASH_GRAPHV_ONLY=k runs case k alone (the others are generated,
	// not run, so k is the same case) and logs both outputs.
	only := -1
	if v := os.Getenv("RRDASH_GRAPHV_ONLY"); v != "" {
		only, _ = strconv.Atoi(v)
	}
	ours := make([][]string, n)
	results := make([]chan result, n)
	sem := make(chan struct{}, 4)
	for c := 0; c < n; c++ {
		args := genGraphArgs(rng, t0)
		rrdArgs := make([]string, len(args))
		ours[c] = make([]string, len(args))
		for i, a := range args {
			rrdArgs[i] = strings.ReplaceAll(a, "@FILE@", dir+"/")
			rrdArgs[i] = strings.ReplaceAll(rrdArgs[i], "@EXT@", ".rrd")
			ours[c][i] = strings.ReplaceAll(strings.ReplaceAll(a, "@FILE@", ""), "@EXT@", "")
		}
		results[c] = make(chan result, 1)
		if only >= 0 && c != only {
			continue
		}
		go func(c int) {
			sem <- struct{}{}
			defer func() { <-sem }()
			out, err := exec.Command(rrdtool, append([]string{"graphv", filepath.Join(dir, "rrdtool", fmt.Sprintf("c%d.png", c))}, rrdArgs...)...).CombinedOutput()
			results[c] <- result{out, err}
		}(c)
	}
	for c := 0; c < n; c++ {
		if only >= 0 && c != only {
			continue
		}
		ourArgs := ours[c]
		r := <-results[c]
		want, werr := r.out, r.err
		var got bytes.Buffer
		var gerr error
		for try := 0; try < 50; try++ {
			got.Reset()
			gerr = run(ctx, append([]string{"--data", data, "graphv", filepath.Join(dir, "rrdash", fmt.Sprintf("c%d.png", c))}, ourArgs...), nil, &got, &got)
			// An rrdtool being forked holds the store's lock descriptor
			// until its exec closes it: try again.
			if gerr == nil || !strings.Contains(gerr.Error(), "in use by another process") {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if werr != nil || gerr != nil {
			ok := (werr != nil) == (gerr != nil)
			count("errors agree", ok)
			if !ok {
				failures++
				t.Errorf("case %d: rrdtool %v: %s\nrrdash %v: %s\nargs: %q", c, werr, want, gerr, got.String(), ourArgs)
			}
			continue
		}
		if only >= 0 {
			t.Logf("rrdtool:\n%s\nrrdash:\n%s", want, got.String())
		}
		w, g := parseInfo(string(want)), parseInfo(got.String())
		var diffs []string
		exact := func(what string, keys ...string) {
			ok := true
			for _, k := range keys {
				if w[k] != g[k] {
					ok = false
					diffs = append(diffs, fmt.Sprintf("%s: rrdtool %q, rrdash %q", k, w[k], g[k]))
				}
			}
			count(what, ok)
		}
		near := func(what string, keys ...string) {
			ok := true
			for _, k := range keys {
				if !within1(w[k], g[k]) {
					ok = false
					diffs = append(diffs, fmt.Sprintf("%s: rrdtool %q, rrdash %q", k, w[k], g[k]))
				}
			}
			count(what, ok)
		}
		exact("print[]", prefixed(w, g, "print[")...)
		exact("graph_start/end", "graph_start", "graph_end")
		exact("value_min/max", "value_min", "value_max")
		exact("legend[] texts", prefixed(w, g, "legend[")...)
		exact("image_info", "image_info")
		count("legend lines", legendLines(w) == legendLines(g))
		if legendLines(w) != legendLines(g) {
			diffs = append(diffs, fmt.Sprintf("legend lines: rrdtool %s, rrdash %s", legendLines(w), legendLines(g)))
		}
		near("image/graph geometry", "image_width", "image_height", "graph_left", "graph_top", "graph_width", "graph_height")
		near("coords[]", prefixed(w, g, "coords[")...)
		if len(diffs) > 0 {
			failures++
			t.Errorf("case %d: %s\nargs: %q", c, strings.Join(diffs, "\n  "), ourArgs)
		}
		if failures > 10 {
			t.Fatal("too many failures")
		}
	}
	for _, what := range []string{"errors agree", "print[]", "graph_start/end", "value_min/max", "legend[] texts", "image_info", "legend lines", "image/graph geometry", "coords[]"} {
		s := stats[what]
		t.Logf("%-22s %d/%d", what, s[0], s[1])
	}
}

func mustRun(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
}

// parseInfo reads graphv's key = value lines (up to an image blob).
func parseInfo(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, " = ")
		if !ok {
			continue
		}
		if k == "image" {
			break
		}
		m[k] = v
	}
	return m
}

// prefixed lists the keys starting with p in either map.
func prefixed(a, b map[string]string, p string) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range []map[string]string{a, b} {
		for k := range m {
			if strings.HasPrefix(k, p) && !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// legendLines groups the legend indexes by their coords' bottom edge:
// "0,1|2" means legends 0 and 1 on one line, 2 on the next.
func legendLines(m map[string]string) string {
	var out []string
	var cur []string
	last := ""
	for i := 0; ; i++ {
		c, ok := m[fmt.Sprintf("coords[%d]", i)]
		if !ok {
			break
		}
		f := strings.Split(strings.Trim(c, `"`), ",")
		y := f[len(f)-1]
		if i > 0 && y != last {
			out = append(out, strings.Join(cur, ","))
			cur = nil
		}
		cur = append(cur, strconv.Itoa(i))
		last = y
	}
	if cur != nil {
		out = append(out, strings.Join(cur, ","))
	}
	return strings.Join(out, "|")
}

// within1 compares numbers or "x,y,x,y" lists, each within 1.
func within1(a, b string) bool {
	if a == b {
		return true
	}
	fa, fb := strings.Split(strings.Trim(a, `"`), ","), strings.Split(strings.Trim(b, `"`), ",")
	if len(fa) != len(fb) {
		return false
	}
	for i := range fa {
		x, e1 := strconv.ParseFloat(fa[i], 64)
		y, e2 := strconv.ParseFloat(fb[i], 64)
		if e1 != nil || e2 != nil || math.Abs(x-y) > 1 {
			return false
		}
	}
	return true
}

// genGraphArgs makes one random rrdtool graph command line over the test
// files (@FILE@name@EXT@ is the file for rrdtool, the series for rrdash).
func genGraphArgs(rng *rand.Rand, t0 int) []string {
	pick := func(s ...string) string { return s[rng.Intn(len(s))] }
	var a []string
	spans := []int{3600, 6 * 3600, 86400, 3 * 86400}
	span := spans[rng.Intn(len(spans))]
	start := t0 + rng.Intn(86400)
	a = append(a, "--start", strconv.Itoa(start), "--end", strconv.Itoa(start+span))
	w, h := 100+rng.Intn(600), 50+rng.Intn(250)
	a = append(a, "-w", strconv.Itoa(w), "-h", strconv.Itoa(h))
	opt := func(p int, o ...string) {
		if rng.Intn(100) < p {
			a = append(a, o...)
		}
	}
	opt(40, "--title", pick("Requests", "Load on web1", `two\nlines`, "Ünïcode ✓"))
	opt(30, "--vertical-label", pick("req/s", "bytes"))
	opt(15, "--rigid")
	opt(25, "--lower-limit", pick("0", "-10", "5"))
	opt(25, "--upper-limit", pick("100", "1000", "1"))
	opt(10, pick("--alt-autoscale", "--alt-autoscale-min", "--alt-autoscale-max"))
	opt(8, "--no-legend")
	opt(5, "--only-graph")
	opt(12, "--full-size-mode")
	opt(10, "--base", "1024")
	opt(10, "--units-exponent", pick("0", "3", "-3", "6"))
	opt(10, "--units-length", pick("4", "8", "10"))
	opt(8, "--y-grid", pick("none", "10:2", "0.5:1"))
	opt(8, "--x-grid", "none")
	opt(15, "--disable-rrdtool-tag")
	opt(15, "--legend-position", pick("north", "south", "west", "east"))
	opt(10, "--legend-direction", pick("topdown", "bottomup", "bottomup2"))
	opt(8, "--tabwidth", pick("20", "60"))
	opt(10, "--watermark", "rrdash test")
	opt(15, "--font", pick("LEGEND:10", "TITLE:12", "AXIS:6", "DEFAULT:9", "UNIT:9", "LEGEND:7"))
	opt(8, "--force-rules-legend")
	opt(6, "--logarithmic")
	opt(10, "--step", pick("300", "600", "1800"))
	opt(5, "--slope-mode")
	opt(5, "--grid-dash", "3:1")
	opt(5, "--color", pick("BACK#000000", "CANVAS#eeeeee80", "FONT#ffffff"))
	opt(5, "--border", pick("0", "5"))
	opt(5, "--x-grid", "MINUTE:10:HOUR:1:HOUR:4:0:%X")
	opt(5, "--week-fmt", "W%V")
	opt(5, "--allow-shrink")
	opt(5, "--no-minor")
	opt(8, "--dynamic-labels")
	opt(6, "--alt-y-grid")
	opt(6, "--interlaced")
	opt(3, "--lazy") // the files are new: never lazy, but accepted
	opt(8, "--imginfo", pick("%s %lu %lu", `<img src="%s" width="%lu" height="%lu"> 100%%`))
	markup := rng.Intn(100) < 10
	if markup {
		a = append(a, "--pango-markup")
	}
	opt(4, "--left-axis-formatter", pick("numeric", "duration"))
	if rng.Intn(100) < 12 {
		a = append(a, "--right-axis", pick("2:0", "0.001:5", "1:-100", "1e3:0"))
		opt(40, "--right-axis-label", pick("right", "bytes/s"))
		switch rng.Intn(4) {
		case 0:
			a = append(a, "--right-axis-format", pick("%5.1lf", "%.2le"))
		case 1:
			a = append(a, "--right-axis-formatter", pick("timestamp", "duration"))
		}
	}
	nanMissing := rng.Intn(100) < 8
	if nanMissing {
		a = append(a, "--use-nan-for-all-missing-data")
	}
	// DEFs
	nd := 1 + rng.Intn(3)
	var vars []string
	for i := 0; i < nd; i++ {
		v := fmt.Sprintf("d%d", i)
		file := pick("fast", "slow")
		if i > 0 && (nanMissing && rng.Intn(2) == 0 || rng.Intn(100) == 0) {
			file = "gone" // no such file: unknown with --use-nan-for-all-missing-data, else an error
		}
		def := fmt.Sprintf("DEF:%s=@FILE@%s@EXT@:%s:%s", v, file, pick("a", "b"), pick("AVERAGE", "AVERAGE", "MAX", "MIN", "LAST"))
		if rng.Intn(10) == 0 {
			def += ":step=" + pick("600", "3600")
		}
		if rng.Intn(12) == 0 {
			def += ":start=" + strconv.Itoa(start-3600) + ":end=" + strconv.Itoa(start+span/2)
		}
		a = append(a, def)
		vars = append(vars, v)
	}
	if rng.Intn(2) == 0 {
		a = append(a, "CDEF:c0="+vars[0]+","+pick("2,*", "10,+", "ABS", "100,/", "UN,0,"+vars[0]+",IF"))
		vars = append(vars, "c0")
	}
	var vdefs []string
	for i := 0; i < 1+rng.Intn(3); i++ {
		v := fmt.Sprintf("v%d", i)
		a = append(a, fmt.Sprintf("VDEF:%s=%s,%s", v, vars[rng.Intn(len(vars))],
			pick("AVERAGE", "MAXIMUM", "MINIMUM", "LAST", "FIRST", "TOTAL", "95,PERCENT", "STDEV")))
		vdefs = append(vdefs, v)
	}
	if rng.Intn(100) < 10 {
		a = append(a, "SHIFT:"+vars[rng.Intn(len(vars))]+":"+pick("3600", "-1800", "86400", "599", vdefs[0]))
	}
	colors := []string{"#ff0000", "#00ff00", "#0000ff80", "#123456"}
	ctl := func() string {
		return pick("", "", "", `\l`, `\r`, `\c`, `\j`, `\g`, `\s`, `\n`)
	}
	legend := func() string {
		l := pick("", "in", "requests per second", "out\\tbound", "a\\: b", "Ärger")
		if markup && rng.Intn(3) == 0 {
			l = pick("<b>in</b>", "x &amp; y", `<span foreground="red">hot</span> day`, "&#9731; snow")
		}
		return l + ctl()
	}
	fmts := []string{"%lf", "%6.2lf", "%le", "%5.1lf%s", "%6.2lf %S", "avg %8.3lf", "%.0lf%%", "%+.3lg", "max\\: %lf"}
	for i := 0; i < 2+rng.Intn(8); i++ {
		switch rng.Intn(9) {
		case 0, 1:
			a = append(a, fmt.Sprintf("LINE%s:%s%s:%s", pick("1", "2", "0.5", "3"), vars[rng.Intn(len(vars))], pick(colors...), legend())+
				pick("", "", ":STACK", ":skipscale", ":dashes", ":dashes=5,3"))
		case 2:
			col := pick(colors...)
			grad := ""
			if rng.Intn(4) == 0 {
				col += pick("#0000ff", "#ffffff80")
				grad = pick("", "", ":gradheight=10", ":gradheight=-20", ":gradheight=0")
			}
			a = append(a, fmt.Sprintf("AREA:%s%s:%s", vars[rng.Intn(len(vars))], col, legend())+pick("", ":STACK")+grad)
			if rng.Intn(3) == 0 {
				a = append(a, fmt.Sprintf("STACK:%s%s:%s", vars[rng.Intn(len(vars))], pick(colors...), legend()))
			}
		case 3:
			a = append(a, fmt.Sprintf("GPRINT:%s:%s%s", vdefs[rng.Intn(len(vdefs))], pick(fmts...), ctl()))
		case 4:
			a = append(a, "COMMENT:"+pick("hello", "a longer comment text here", "x\\ty", "  spaced  ", "Zeit\\: jetzt")+ctl())
		case 5:
			a = append(a, fmt.Sprintf("HRULE:%s%s:%s", pick("0", "50", "500", "5000", vdefs[0]), pick(colors...), legend()))
		case 6:
			a = append(a, pick(fmt.Sprintf("PRINT:%s:%s", vdefs[rng.Intn(len(vdefs))], pick(fmts...)),
				fmt.Sprintf("PRINT:%s:%%Y-%%m-%%d %%H\\:%%M:valstrftime", vdefs[0]),
				fmt.Sprintf("GPRINT:%s:%%H\\:%%02m\\:%%02s:valstrfduration", vdefs[0]),
				fmt.Sprintf("PRINT:%s:%%a %%d %%b %%T:strftime", vdefs[rng.Intn(len(vdefs))])))
		case 7:
			a = append(a, pick(fmt.Sprintf("GPRINT:%s:%%H\\:%%M %%Y-%%m-%%d:strftime", vdefs[0]),
				fmt.Sprintf("VRULE:%d#ff00ff:%s", start+rng.Intn(2*span)-span/2, legend()),
				fmt.Sprintf("TICK:%s#00000080:0.%d:%s", vars[0], 1+rng.Intn(8), legend()),
				"TEXTALIGN:"+pick("left", "right", "center", "justified")))
		case 8:
			a = append(a, fmt.Sprintf("GPRINT:%s:%s:%s", vars[rng.Intn(nd)], pick("AVERAGE", "MAX", "MIN", "LAST"), pick(fmts...)))
		}
	}
	return a
}
