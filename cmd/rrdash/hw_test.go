package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rrdash/store/rrdtooltest"
)

// hwCLILayouts are Holt-Winters series for the CLI comparisons: implicit
// creation (version 0003), MHWPREDICT (0004), explicit archives with a
// smoothing window, two data sources.
var hwCLILayouts = []struct {
	name   string
	create []string
}{
	{"implicit", []string{"DS:v:GAUGE:240:U:U", "RRA:AVERAGE:0.5:1:100", "RRA:HWPREDICT:120:0.3:0.05:48"}},
	{"mult", []string{"DS:v:GAUGE:240:U:U", "RRA:MHWPREDICT:100:0.2:0.1:24"}},
	{"explicit", []string{"DS:v:GAUGE:240:U:U", "DS:w:GAUGE:240:0:U", "RRA:FAILURES:30:3:5:4", "RRA:SEASONAL:30:0.2:3:smoothing-window=0.2",
		"RRA:HWPREDICT:90:0.4:0.1:30:2", "RRA:DEVSEASONAL:30:0.3:3", "RRA:DEVPREDICT:90:4", "RRA:MAX:0.5:5:20"}},
}

// hwStart is where the Holt-Winters CLI tests' series start (a step of
// 60 s).
const hwStart = 1_700_000_000

// hwFile creates dir/s.rrd with rrdtool (create: its DS and RRA
// arguments) and returns it, the data directory beside it and the update
// calls for its data sources (hwUpdates).
func hwFile(t *testing.T, bin, dir string, create []string) (file, data string, calls [][]string) {
	t.Helper()
	file, data = filepath.Join(dir, "s.rrd"), filepath.Join(dir, "data")
	rrdtoolRun(t, bin, append([]string{"create", file, "--start", fmt.Sprint(hwStart), "--step", "60"}, create...)...)
	return file, data, hwUpdates(hwStart, strings.Count(strings.Join(create, " "), "DS:"))
}

// hwUpdates is a season of 24 steps with spikes, unknowns and a gap, in
// update calls of 25 readings.
func hwUpdates(start int64, nds int) [][]string {
	var calls [][]string
	var cur []string
	t := start
	for i := 0; i < 400; i++ {
		t += 60
		if i == 200 {
			t += 600 // a gap: the model learns nothing from it
		}
		var vals []string
		for d := 0; d < nds; d++ {
			v := 100 + 30*math.Sin(float64(t/60)/24*2*math.Pi+float64(d)) + float64((i*7+d*3)%5)
			switch {
			case i%97 == 50:
				v += 150 // a spike
			case i > 300 && i < 310:
				v -= 60 // a dip long enough to be a failure
			}
			s := fmt.Sprintf("%.2f", v)
			if i%53 == 7 {
				s = "U"
			}
			vals = append(vals, s)
		}
		cur = append(cur, fmt.Sprintf("%d:%s", t, strings.Join(vals, ":")))
		if len(cur) == 25 {
			calls, cur = append(calls, cur), nil
		}
	}
	if len(cur) > 0 {
		calls = append(calls, cur)
	}
	return calls
}

// A Holt-Winters file made by rrdtool, imported by rrdash from its binary
// form and restored from its dump, dumps byte for byte as rrdtool dumps it
// and fetches every archive as rrdtool fetches it.
func TestHoltWintersImportDumpFetchAgainstRRDtool(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	for _, l := range hwCLILayouts {
		t.Run(l.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			file, data, calls := hwFile(t, bin, dir, l.create)
			for _, call := range calls {
				if _, ok := rrdtoolRun(t, bin, append([]string{"update", file}, call...)...); !ok {
					t.Fatalf("rrdtool update %v failed", call[0])
				}
			}
			want, _ := rrdtoolRun(t, bin, "dump", file)
			xml := filepath.Join(dir, "s.xml")
			if err := os.WriteFile(xml, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, ok, err := rrdashRun(t, data, "import", file, "bin"); !ok {
				t.Fatal(err)
			}
			if _, ok, err := rrdashRun(t, data, "restore", xml, "xml"); !ok {
				t.Fatal(err)
			}
			for _, name := range []string{"bin", "xml"} {
				got, ok, err := rrdashRun(t, data, "dump", name)
				if !ok || got != want {
					t.Fatalf("dump of %s (%v): %s", name, err, firstDiff(want, got))
				}
			}
			// info: rrdtool's keys and values (the filename is the series' name)
			wantInfo, _ := rrdtoolRun(t, bin, "info", file)
			gotInfo, ok, err := rrdashRun(t, data, "info", "bin")
			// (rrdash adds meta[…] lines of its own at the end)
			dropFirst := func(s string) string {
				_, rest, _ := strings.Cut(s, "\n")
				if i := strings.Index(rest, "meta["); i >= 0 {
					rest = rest[:i]
				}
				return rest
			}
			if !ok || dropFirst(gotInfo) != dropFirst(wantInfo) {
				t.Fatalf("info (%v): %s", err, firstDiff(dropFirst(wantInfo), dropFirst(gotInfo)))
			}
			// the RPN reads the archives: FAILURES as a 0/1 series (reduced
			// by MAX), the confidence band from HWPREDICT and DEVPREDICT
			// (reduced by AVERAGE)
			pred := "HWPREDICT"
			if l.name == "mult" {
				pred = "MHWPREDICT"
			}
			for _, step := range []string{"60", "300"} {
				defs := func(f string) []string {
					return []string{"xport", "--start", fmt.Sprint(hwStart + 100*60), "--end", fmt.Sprint(hwStart + 390*60), "--step", step,
						"DEF:f=" + f + ":v:FAILURES", "DEF:p=" + f + ":v:" + pred, "DEF:d=" + f + ":v:DEVPREDICT",
						"CDEF:upper=p,d,2,*,+", "CDEF:alarm=f,0,GT", "XPORT:f", "XPORT:upper", "XPORT:alarm"}
				}
				want, wantOK := rrdtoolRun(t, bin, defs(file)...)
				got, ok, err := rrdashRun(t, data, defs("bin")...)
				if ok != wantOK || got != want {
					t.Fatalf("xport --step %s: ok=%v (%v), rrdtool ok=%v: %s", step, ok, err, wantOK, firstDiff(want, got))
				}
			}
			for _, cf := range []string{"HWPREDICT", "MHWPREDICT", "SEASONAL", "DEVSEASONAL", "DEVPREDICT", "FAILURES", "AVERAGE", "MAX"} {
				args := []string{cf, "--start", fmt.Sprint(hwStart + 100*60), "--end", fmt.Sprint(hwStart + 380*60), "-r", "60"}
				want, wantOK := rrdtoolRun(t, bin, append([]string{"fetch", file}, args...)...)
				got, ok, err := rrdashRun(t, data, append([]string{"fetch", "bin"}, args...)...)
				if ok != wantOK || got != want {
					t.Fatalf("fetch %s: ok=%v (%v), rrdtool ok=%v: %s", cf, ok, err, wantOK, firstDiff(want, got))
				}
			}
		})
	}
}

// tune's Holt-Winters options change an imported rrdtool file as rrdtool
// tune changes the file itself (parameters, errors, reset state), and
// updates after them compute the same: the dumps are byte-identical.
func TestHoltWintersTuneAgainstRRDtool(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	tunes := [][]string{
		{"--alpha", "0.5", "--beta", "0.01"},
		{"--gamma", "0.3", "--gamma-deviation", "0.2"},
		{"--deltapos", "3", "--deltaneg", "1.5"},
		{"--failure-threshold", "2", "--window-length", "4"},
		{"--smoothing-window", "0.25", "--smoothing-window-deviation", "0.1"},
		{"--aberrant-reset", "v"},
		{"-x", "0.2", "-y", "0.3", "-z", "0.4", "-v", "0.5", "-p", "2.5", "-n", "2.5", "-f", "3", "-w", "6", "-s", "0.05", "-S", "0.5"},
		{"--alpha", "1"},          // out of range
		{"--beta", "x"},           // not a number
		{"--deltapos", "0.01"},    // too small
		{"--window-length", "40"}, // out of range
		{"--alpha", "0.3", "--aberrant-reset", "nosuch"}, // a later option fails: the first stays
		{"--smoothing-window", "1.5"},                    // out of range
	}
	for _, l := range hwCLILayouts {
		for k, tune := range tunes {
			t.Run(fmt.Sprintf("%s/%d", l.name, k), func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				file, data, calls := hwFile(t, bin, dir, l.create)
				half := len(calls) / 2
				for _, call := range calls[:half] {
					rrdtoolRun(t, bin, append([]string{"update", file}, call...)...)
				}
				if _, ok, err := rrdashRun(t, data, "import", file, "s"); !ok {
					t.Fatal(err)
				}
				_, wantOK := rrdtoolRun(t, bin, append([]string{"tune", file}, tune...)...)
				_, ok, err := rrdashRun(t, data, append([]string{"tune", "s"}, tune...)...)
				if ok != wantOK {
					t.Fatalf("tune %q: ok=%v (%v), rrdtool ok=%v", tune, ok, err, wantOK)
				}
				for _, call := range calls[half:] {
					_, wantOK := rrdtoolRun(t, bin, append([]string{"update", file}, call...)...)
					if _, ok, err := rrdashRun(t, data, append([]string{"update", "s"}, call...)...); ok != wantOK {
						t.Fatalf("update: ok=%v (%v), rrdtool ok=%v", ok, err, wantOK)
					}
				}
				want, _ := rrdtoolRun(t, bin, "dump", file)
				got, ok, err := rrdashRun(t, data, "dump", "s")
				if !ok || got != want {
					t.Fatalf("dump after tune %q (%v): %s", tune, err, firstDiff(want, got))
				}
			})
		}
	}
}

// updatev reports the rows of Holt-Winters archives as rrdtool's updatev
// does (a bulk update's skipped seasonal rows are not reported).
func TestHoltWintersUpdatevAgainstRRDtool(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	for _, l := range hwCLILayouts {
		t.Run(l.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			file, data, calls := hwFile(t, bin, dir, l.create)
			for _, call := range calls[:4] {
				rrdtoolRun(t, bin, append([]string{"update", file}, call...)...)
			}
			if _, ok, err := rrdashRun(t, data, "import", file, "s"); !ok {
				t.Fatal(err)
			}
			for _, call := range calls[4:10] {
				want, wantOK := rrdtoolRun(t, bin, append([]string{"updatev", file}, call...)...)
				got, ok, err := rrdashRun(t, data, append([]string{"updatev", "s"}, call...)...)
				if got != want || ok != wantOK {
					t.Fatalf("updatev: ok=%v (%v), rrdtool ok=%v: %s", ok, err, wantOK, firstDiff(want, got))
				}
			}
		})
	}
}
