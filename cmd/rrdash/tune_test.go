package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"rrdash/store/rrdtooltest"
)

// rrdtoolIn runs rrdtool in dir and returns stdout, the error text (its
// "ERROR: " line) and whether it exited 0.
func rrdtoolIn(t *testing.T, bin, dir string, args ...string) (string, string, bool) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("rrdtool %q: %v", args, err)
	}
	return out.String(), strings.TrimSpace(strings.TrimPrefix(errb.String(), "ERROR: ")), err == nil
}

// tuneBase is an rrdtool file the tune and resize tests start from, the
// same file imported as the series (ring positions included).
var tuneBase = struct{ create, updates []string }{
	[]string{"--start", "1000000000", "--step", "10", "DS:g:GAUGE:30:U:U", "DS:c:COUNTER:30:0:U", "DS:d:DERIVE:30:U:U",
		"RRA:AVERAGE:0.5:1:8", "RRA:MAX:0.5:3:5", "RRA:LAST:0.3:2:4"},
	[]string{"1000000013:1:100:-5", "1000000021:2.5:200:-2", "1000000037:3:350:4", "1000000044:U:400:9", "1000000058:7:700:3",
		"1000000061:8:701:1", "1000000079:9:900:20", "1000000083:10:1000:21", "1000000099:11:1200:30", "1000000104.5:12:1300:25"},
}

var tuneMore = []string{"1000000117:13:1500:27", "1000000128:U:1600:26", "1000000142:15:1900:40", "1000000163:16:2500:41"}

// infoDrop removes the lines of info that differ by design.
var infoDrop = regexp.MustCompile(`(?m)^(filename|meta\[.*\]) = .*\n`)

// curRows is info's cur_row lines (rrdash prints them as rrdtool).
var curRows = regexp.MustCompile(`(?m)^rra\[\d+\]\.cur_row = \d+$`)

// compareSeries checks that the series prints as the rrdtool file: dump,
// every archive's cur_row, and fetches.
func compareSeries(t *testing.T, bin, dir, file, data, name, what string) {
	t.Helper()
	want, _, _ := rrdtoolIn(t, bin, dir, "dump", file)
	got, _, err := rrdashRun(t, data, "dump", name)
	if got != want {
		t.Fatalf("%s: dump (%v):\n%s", what, err, firstDiff(want, got))
	}
	wi, _, _ := rrdtoolIn(t, bin, dir, "info", file)
	gi, _, _ := rrdashRun(t, data, "info", name)
	if w, g := curRows.FindAllString(wi, -1), curRows.FindAllString(gi, -1); strings.Join(w, ",") != strings.Join(g, ",") {
		t.Fatalf("%s: cur_row %q, rrdtool %q", what, g, w)
	}
	// info: every key and value as rrdtool's but the file name (and
	// rrdash's own meta[…] lines)
	if w, g := infoDrop.ReplaceAllString(wi, ""), infoDrop.ReplaceAllString(gi, ""); g != w {
		t.Fatalf("%s: info:\n%s", what, firstDiff(w, g))
	}
	for _, cf := range []string{"AVERAGE", "MAX", "LAST"} {
		c := []string{"fetch", "@", cf, "-s", "999999900", "-e", "1000000200", "-r", "20"}
		w, _, _ := rrdtoolIn(t, bin, dir, slicesReplace(c, "@", file)...)
		g, _, _ := rrdashRun(t, data, slicesReplace(c, "@", name)...)
		if g != w {
			t.Fatalf("%s: %q:\n%s", what, c, firstDiff(w, g))
		}
	}
}

// tune changes a series as rrdtool 1.7.2's tune changes the same file:
// the same exit status and error text, and afterwards the same dump,
// ring positions and fetches — also after further updates to both.
func TestTuneAgainstRRDtool(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	dir := t.TempDir()
	b, err := os.ReadFile(rrdtoolBase(t, bin, dir, tuneBase.create, tuneBase.updates))
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-h", "g:50"},
		{"--heartbeat", "g:50", "-i", "c:5", "--maximum=c:1e6", "-a", "d:1e400"},
		{"-d", "c:DERIVE"}, {"-d", "g:GAUGE"}, {"--data-source-type", "c:ABSOLUTE", "-d", "c:COUNTER"},
		{"-r", "g:gg"}, {"--data-source-rename", "g:abcdefghijklmnopqrstuvwxyz"},
		{"-h", "g:50", "-h", "nope:5"}, {"-h", "g"}, {"-h", "5"}, {"-h", "g:7x"}, {"-i", "g:abc"}, {"-a", "g:U"}, {"-i", "g:-1.5e3"},
		{"-d", "g:FOO"}, {"-d", "nope:GAUGE"}, {"-r", "nope:x"}, {"-r", "g"},
		{"--alpha", "0.5"}, {"--aberrant-reset", "g"},
		{"DEL:c"}, {"DS:n:COUNTER:60:U:U"}, {"DS:n:GAUGE:60:0:100", "DEL:g"}, {"DELRRA:2"},
		{"RRA#0:=12"}, {"RRA#1:-2"}, {"RRA#2:+3"}, {"RRA#0:=8"}, {"DEL:zz"}, {"DELRRA:9"}, {"RRA#7:=3"},
		{"-h", "g:5", "DEL:c", "RRA#0:+1"}, {"BAR"}, {"RRA#0:x"}, {"DS:g:GAUGE:5:U:U"},
	} {
		tuneAgainstRRDtool(t, bin, dir, b, args, tuneMore, tuneOpts{sameError: true})
	}
}

// Deleting an archive that others follow keeps the others' rows. (rrdtool
// 1.7.2 fills each following archive with the rows at the old position of
// the one before it — the deleted archive's rows, in the next archive's
// shape; rrdash does not reproduce that.)
func TestTuneDeleteMiddleArchive(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	if _, ok, err := rrdashRun(t, data, append([]string{"create", "s"}, tuneBase.create...)...); !ok {
		t.Fatal(err)
	}
	if _, ok, err := rrdashRun(t, data, append([]string{"update", "s"}, tuneBase.updates...)...); !ok {
		t.Fatal(err)
	}
	fetch := func(cf string) string {
		out, _, _ := rrdashRun(t, data, "fetch", "s", cf, "-s", "999999900", "-e", "1000000200", "-r", "20")
		return out
	}
	avg, last := fetch("AVERAGE"), fetch("LAST")
	if _, ok, err := rrdashRun(t, data, "tune", "s", "DELRRA:1"); !ok {
		t.Fatal(err)
	}
	if a, l := fetch("AVERAGE"), fetch("LAST"); a != avg || l != last {
		t.Errorf("after DELRRA:1:\n%s\n%s\nwant\n%s\n%s", a, l, avg, last)
	}
	if out, _, _ := rrdashRun(t, data, "info", "s"); strings.Contains(out, `"MAX"`) || !strings.Contains(out, `rra[1].cf = "LAST"`) {
		t.Errorf("after DELRRA:1: %s", out)
	}
}

// What rrdash refuses where rrdtool 1.7.2 writes a file that breaks or
// that rrdash cannot hold, and what it does not do yet.
func TestTuneRefuses(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	if _, ok, err := rrdashRun(t, data, append([]string{"create", "s"}, tuneBase.create...)...); !ok {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"-r", "g:c"}, "Duplicate DS name: c"},
		{[]string{"-r", "g:a-b"}, `invalid DS name "a-b"`},
		{[]string{"-h", "g:0"}, "heartbeat of g must be positive"},
		{[]string{"-h", "g:-5"}, "heartbeat of g must be positive"},
		{[]string{"-d", "g:COMPUTE"}, "a data source cannot become COMPUTE by tune"},
		{[]string{"--step", "5"}, "tune --step changes the step only together with"},
		{[]string{"--step", "3", "RRA#0:+0"}, "invalid 'newstep' parameter"},
		{[]string{"--step", "0", "RRA#0:+0"}, "invalid 'newstep' parameter"},
		{[]string{"DS:s:COMPUTE:g,c,+", "-h", "s:5"}, "unknown data source name 's'"},
		{[]string{"RRA#0:=0"}, "RRA#0: the number of rows must be positive"},
		{[]string{"--bogus", "1"}, "invalid option -- 'bogus'"},
		{[]string{"-h"}, "option -h requires an argument"},
	} {
		if _, ok, err := rrdashRun(t, data, append([]string{"tune", "s"}, c.args...)...); ok || !strings.Contains(err.Error(), c.err) {
			t.Errorf("tune %q: %v, want %q", c.args, err, c.err)
		}
	}
	for _, args := range [][]string{{"tune", "s", "RRA#0:=99999999999"}, {"resize", "s", "0", "GROW", "99999999999"}} {
		if _, ok, err := rrdashRun(t, data, args...); ok || !strings.Contains(err.Error(), "archives too large") {
			t.Errorf("%q: %v, want archives too large", args, err)
		}
	}
	if _, ok, err := rrdashRun(t, data, "tune", "nope", "-h", "g:5"); ok || err.Error() != "series not found: nope" {
		t.Errorf("tune of a missing series: %v", err)
	}
}

// resize grows or shrinks an archive as rrdtool resize does to the file
// it writes (./resize.rrd), with its exit status and error texts.
func TestResizeAgainstRRDtool(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	dir := t.TempDir()
	base := rrdtoolBase(t, bin, dir, tuneBase.create, tuneBase.updates)
	data := filepath.Join(dir, "data")
	resized := filepath.Join(dir, "resize.rrd")
	for _, args := range [][]string{
		{"0", "GROW", "3"}, {"1", "SHRINK", "2"}, {"2", "SHRINK", "1"}, {"0", "SHRINK", "7"}, {"1", "GROW", "1"},
		{"1", "SHRINK", "5"}, {"3", "GROW", "1"}, {"0", "BIG", "1"}, {"0", "GROW", "0"}, {"0", "GROW"}, {"x", "GROW", "2"},
	} {
		if _, ok, err := rrdashRun(t, data, "import", "--force", base, "s"); !ok {
			t.Fatal(err)
		}
		os.Remove(resized)
		what := strings.Join(args, " ")
		_, wantErr, wantOK := rrdtoolIn(t, bin, dir, append([]string{"resize", base}, args...)...)
		out, ok, err := rrdashRun(t, data, append([]string{"resize", "s"}, args...)...)
		if ok != wantOK || out != "" || !ok && err.Error() != wantErr {
			t.Fatalf("resize %s: ok=%v %q (%v); rrdtool ok=%v %q", what, ok, out, err, wantOK, wantErr)
		}
		if !ok {
			continue
		}
		compareSeries(t, bin, dir, resized, data, "s", "after resize "+what)
		rrdtoolIn(t, bin, dir, append([]string{"update", resized}, tuneMore...)...)
		rrdashRun(t, data, append([]string{"update", "s"}, tuneMore...)...)
		compareSeries(t, bin, dir, resized, data, "s", "after resize "+what+" and updates")
	}
}
