package main

import (
	"path/filepath"
	"strings"
	"testing"

	"rrdash/store/rrdtooltest"
)

// create --template OLD makes the series rrdtool create --template makes
// from the same file: same errors, then the same dump, fresh and after
// the same updates.
func TestCreateTemplateAgainstRRDtool(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	tmpl := filepath.Join(dir, "tt.rrd")
	rrdtoolIn(t, bin, dir, "create", tmpl, "--start", "1000000000", "--step", "10", "DS:g:GAUGE:30:U:U", "DS:c:COUNTER:30:0:U",
		"RRA:AVERAGE:0.5:1:5", "RRA:MAX:0.5:3:4")
	rrdtoolIn(t, bin, dir, "update", tmpl, "1000000010:1:100", "1000000020:2:300")
	if _, ok, err := rrdashRun(t, data, "import", tmpl, "tt"); !ok {
		t.Fatal(err)
	}
	ups := []string{"1000000110:5:1000", "1000000125:7:1300", "1000000150:U:1900", "1000000161:2:2000"}
	for _, extra := range [][]string{nil, {"--step", "20"}, {"DS:n:GAUGE:60:U:U"}, {"RRA:LAST:0.5:2:3"}, {"RRA:AVERAGE:0.5:1:9", "DS:d:DERIVE:20:U:U"},
		{"DS:g:DERIVE:60:U:U"}} {
		file := filepath.Join(dir, "n.rrd")
		args := append([]string{"--start", "1000000100", "--template"}, extra...)
		_, wantErr, wantOK := rrdtoolIn(t, bin, dir, append(append([]string{"create", file}, args[:2]...), append([]string{"--template", tmpl}, extra...)...)...)
		_, ok, err := rrdashRun(t, data, append([]string{"create", "n", "--start", "1000000100", "--template", "tt"}, extra...)...)
		if ok != wantOK || !ok && err.Error() != wantErr {
			t.Fatalf("create --template %q: ok=%v (%v), rrdtool ok=%v %q", extra, ok, err, wantOK, wantErr)
		}
		if !ok {
			continue
		}
		nds := strings.Count(strings.Join(extra, " "), "DS:") + 2
		var u []string
		for _, x := range ups {
			u = append(u, x+strings.Repeat(":3", nds-2))
		}
		for round := 0; round < 2; round++ {
			want, _, _ := rrdtoolIn(t, bin, dir, "dump", file)
			got, _, err := rrdashRun(t, data, "dump", "n")
			if got != want {
				t.Fatalf("create --template %q, round %d: dump (%v):\n%s", extra, round, err, firstDiff(want, got))
			}
			rrdtoolIn(t, bin, dir, append([]string{"update", file}, u...)...)
			rrdashRun(t, data, append([]string{"update", "n"}, u...)...)
		}
		rrdashRun(t, data, "create", "n", "--start", "1000000100", "DS:x:GAUGE:5:U:U", "RRA:LAST:0:1:1") // replaced next round
	}
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"create", "m", "--template", "nope"}, "Cannot open template RRD nope"},
		{[]string{"create", "m", "--source", "nope", "DS:g:GAUGE:30:U:U", "RRA:LAST:0:1:1"}, "Cannot open source RRD nope"},
		{[]string{"create", "m", "--source"}, "option --source needs a value"},
	} {
		if _, ok, err := rrdashRun(t, data, c.args...); ok || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%q: %v, want %q", c.args, err, c.err)
		}
	}
}
