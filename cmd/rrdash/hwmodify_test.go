package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"rrdash/store/rrdtooltest"
)

// hwModifyLayouts are the series the rrd_modify and resize comparisons
// start from: implicit HW archives (0 AVERAGE, 1 HWPREDICT, 2 SEASONAL,
// 3 DEVSEASONAL, 4 DEVPREDICT, 5 FAILURES, 6 MAX) with two data sources,
// and explicit ones in another order (0 FAILURES, 1 SEASONAL, 2
// HWPREDICT, 3 DEVSEASONAL, 4 DEVPREDICT, 5 MAX, 6 AVERAGE) with a
// smoothing window (version 0004).
var hwModifyLayouts = []struct {
	name   string
	create []string
}{
	{"implicit", []string{"DS:v:GAUGE:240:U:U", "DS:w:GAUGE:240:0:U", "RRA:AVERAGE:0.5:1:100", "RRA:HWPREDICT:120:0.3:0.05:48", "RRA:MAX:0.5:4:30"}},
	{"explicit", []string{"DS:v:GAUGE:240:U:U", "DS:w:GAUGE:240:0:U", "RRA:FAILURES:30:3:5:4", "RRA:SEASONAL:30:0.2:3:smoothing-window=0.2",
		"RRA:HWPREDICT:90:0.4:0.1:30:2", "RRA:DEVSEASONAL:30:0.3:3", "RRA:DEVPREDICT:90:4", "RRA:MAX:0.5:5:20", "RRA:AVERAGE:0.5:1:60"}},
}

// hwModifyCase runs one tune (or resize) on an rrdtool file with
// Holt-Winters archives and on the same file imported, then the rest of
// the updates on both: dump byte for byte, info, ring positions and
// fetches of every archive type must agree after each. refused names
// the error rrdash gives where rrdtool 1.7.2 breaks the file.
type hwModifyCase struct {
	args    []string // after "tune FILE" or, with resize, "resize FILE"
	resize  bool
	refused string
}

var hwModifyCases = []hwModifyCase{
	{args: []string{"DS:n:GAUGE:240:U:U"}},
	{args: []string{"DEL:v"}},
	{args: []string{"DEL:w", "DS:x:GAUGE:300:0:1000"}},
	{args: []string{"RRA#0:+20"}},
	{args: []string{"RRA#1:+7"}},
	{args: []string{"RRA#2:+5"}},
	{args: []string{"RRA#3:-4"}},
	{args: []string{"RRA#2:=40", "RRA#4:=10"}},
	{args: []string{"RRA#5:-2", "RRA#6:+3"}},
	{args: []string{"RRA:AVERAGE:0.5:2:30"}},
	{args: []string{"RRA:MIN:0.5:1:40", "DS:n:GAUGE:240:U:U", "RRA#2:+3"}},
	{args: []string{"DELRRA:6"}},
	{args: []string{"DELRRA:0"}, refused: "dependent archive indexes unchanged"},
	{args: []string{"DELRRA:3"}, refused: "dependent archive indexes unchanged"},
	{args: []string{"RRA:HWPREDICT:50:0.2:0.1:12"}, refused: "model state zeroed"},
	{args: []string{"RRA:SEASONAL:12:0.2:2"}, refused: "model state zeroed"},
	{args: []string{"--step", "30", "RRA#0:+0"}, refused: "tune --step is not supported on a series with Holt-Winters"},
	{resize: true, args: []string{"1", "GROW", "5"}},
	{resize: true, args: []string{"2", "GROW", "6"}},
	{resize: true, args: []string{"3", "SHRINK", "25"}},
	{resize: true, args: []string{"5", "SHRINK", "3"}},
	{resize: true, args: []string{"0", "GROW", "4"}},
}

// hwDepIdx finds the dependent archive indexes in a dump.
var hwDepIdx = regexp.MustCompile(`<cf>(\w+)</cf>|<dependent_rra_idx>(\d+)</dependent_rra_idx>`)

// TestHoltWintersModifyAgainstRRDtool: tune's rrd_modify forms and
// resize on series with Holt-Winters archives give what rrdtool 1.7.2
// gives on the same file, before and after further updates; the forms
// rrdtool breaks such a file with are refused, and the test shows the
// break in rrdtool's own output.
func TestHoltWintersModifyAgainstRRDtool(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	for _, l := range hwModifyLayouts {
		for k, c := range hwModifyCases {
			t.Run(fmt.Sprintf("%s/%d", l.name, k), func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				file, data, calls := hwFile(t, bin, dir, l.create)
				half := len(calls)*2/3 + k%3 // past the burn-in: the smoother runs
				for _, call := range calls[:half] {
					rrdtoolRun(t, bin, append([]string{"update", file}, call...)...)
				}
				if _, ok, err := rrdashRun(t, data, "import", file, "s"); !ok {
					t.Fatal(err)
				}
				what := strings.Join(c.args, " ")
				cmd := "tune"
				if c.resize {
					cmd = "resize"
				}
				_, wantErr, wantOK := rrdtoolIn(t, bin, dir, append([]string{cmd, file}, c.args...)...)
				out, ok, err := rrdashRun(t, data, append([]string{cmd, "s"}, c.args...)...)
				if c.refused != "" {
					if ok || !strings.Contains(err.Error(), c.refused) {
						t.Fatalf("%s %s: ok=%v %v, want refused with %q", cmd, what, ok, err, c.refused)
					}
					if !wantOK {
						t.Fatalf("%s %s: rrdtool refuses it too (%s): no need to refuse with another text", cmd, what, wantErr)
					}
					hwShowBreak(t, bin, dir, file, c)
					return
				}
				if ok != wantOK || out != "" {
					t.Fatalf("%s %s: ok=%v %q (%v); rrdtool ok=%v %q", cmd, what, ok, out, err, wantOK, wantErr)
				}
				if !ok {
					return
				}
				ref := file
				if c.resize {
					ref = filepath.Join(dir, "resize.rrd")
				}
				hwCompare(t, bin, dir, ref, data, hwStart, cmd+" "+what)
				nds := 2
				if strings.Contains(what, "DEL:") != strings.Contains(what, "DS:") {
					nds = map[bool]int{true: 1, false: 3}[strings.Contains(what, "DEL:")]
				}
				for _, call := range hwUpdates(hwStart, nds)[half:] {
					_, wantOK := rrdtoolRun(t, bin, append([]string{"update", ref}, call...)...)
					if _, ok, err := rrdashRun(t, data, append([]string{"update", "s"}, call...)...); ok != wantOK {
						t.Fatalf("update after %s: ok=%v (%v), rrdtool ok=%v", what, ok, err, wantOK)
					}
				}
				hwCompare(t, bin, dir, ref, data, hwStart, cmd+" "+what+" and updates")
			})
		}
	}
}

// hwCompare compares dump, info and fetches of every archive type.
func hwCompare(t *testing.T, bin, dir, file, data string, start int64, what string) {
	t.Helper()
	want, _, _ := rrdtoolIn(t, bin, dir, "dump", file)
	got, _, err := rrdashRun(t, data, "dump", "s")
	if got != want {
		t.Fatalf("%s: dump (%v):\n%s", what, err, firstDiff(want, got))
	}
	wi, _, _ := rrdtoolIn(t, bin, dir, "info", file)
	gi, _, _ := rrdashRun(t, data, "info", "s")
	if w, g := infoDrop.ReplaceAllString(wi, ""), infoDrop.ReplaceAllString(gi, ""); g != w {
		t.Fatalf("%s: info:\n%s", what, firstDiff(w, g))
	}
	for _, cf := range []string{"HWPREDICT", "SEASONAL", "DEVSEASONAL", "DEVPREDICT", "FAILURES", "AVERAGE", "MAX", "MIN"} {
		args := []string{cf, "--start", fmt.Sprint(start + 100*60), "--end", fmt.Sprint(start + 420*60), "-r", "60"}
		w, _, wantOK := rrdtoolIn(t, bin, dir, append([]string{"fetch", file}, args...)...)
		g, ok, err := rrdashRun(t, data, append([]string{"fetch", "s"}, args...)...)
		if ok != wantOK || g != w {
			t.Fatalf("%s: fetch %s: ok=%v (%v), rrdtool ok=%v:\n%s", what, cf, ok, err, wantOK, firstDiff(w, g))
		}
	}
}

// hwShowBreak checks that rrdtool's result of a form rrdash refuses is
// indeed broken, as the refusal says.
func hwShowBreak(t *testing.T, bin, dir, file string, c hwModifyCase) {
	t.Helper()
	dump, _, _ := rrdtoolIn(t, bin, dir, "dump", file)
	switch {
	case strings.Contains(c.refused, "dependent archive indexes"):
		// some Holt-Winters archive names one of the wrong type
		var cfs []string
		var deps []int
		for _, m := range hwDepIdx.FindAllStringSubmatch(dump, -1) {
			if m[1] != "" {
				cfs = append(cfs, m[1])
				deps = append(deps, -1)
			} else {
				fmt.Sscan(m[2], &deps[len(deps)-1])
			}
		}
		want := map[string][]string{"HWPREDICT": {"SEASONAL"}, "MHWPREDICT": {"SEASONAL"}, "SEASONAL": {"HWPREDICT", "MHWPREDICT"},
			"DEVSEASONAL": {"HWPREDICT", "MHWPREDICT"}, "DEVPREDICT": {"DEVSEASONAL"}, "FAILURES": {"DEVSEASONAL"}}
		for i, cf := range cfs {
			if ok := want[cf]; ok != nil && (deps[i] >= len(cfs) || !strings.Contains(strings.Join(ok, ","), cfs[deps[i]])) {
				return
			}
		}
		t.Fatalf("rrdtool's file after %q keeps consistent dependent archives: %v %v", c.args, cfs, deps)
	case strings.Contains(c.refused, "model state zeroed"):
		// a burn-in count of 0, which no created file has
		if !strings.Contains(dump, "<init_flag>0</init_flag>") {
			t.Fatalf("rrdtool's dump after %q has no zeroed seasonal state", c.args)
		}
	case strings.Contains(c.refused, "--step"):
		info, _, _ := rrdtoolIn(t, bin, dir, "info", file)
		if !regexp.MustCompile(`(?m)^rra\[\d+\]\.cf = "HWPREDICT"\n(.*\n)*?rra\[\d+\]\.pdp_per_row = 2$`).MatchString(info) {
			t.Fatalf("rrdtool's file after %q: no Holt-Winters archive of 2 PDPs per row:\n%s", c.args, info)
		}
	default:
		t.Fatalf("no check for %q", c.refused)
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
}
