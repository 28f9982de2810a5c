package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rrdash/store/rrdtooltest"
)

// A series with COMPUTE data sources prints (dump, info, fetch) as the
// rrdtool file made and updated with the same arguments, and tune acts on
// it as rrdtool's: renaming a data source an expression reads renames it
// in the expression, DS: adds a COMPUTE, DEL: deletes one.
func TestComputeTuneAgainstRRDtool(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	dir := t.TempDir()
	base := filepath.Join(dir, "base.rrd")
	create := []string{"--start", "1000000000", "--step", "10", "DS:g:GAUGE:30:U:U", "DS:c:COUNTER:30:0:U",
		"DS:s:COMPUTE:g,c,+,10,/", "DS:d:DERIVE:30:U:U", "RRA:AVERAGE:0.5:1:8", "RRA:MAX:0.5:3:5", "RRA:LAST:0.3:2:4"}
	rrdtoolIn(t, bin, dir, append([]string{"create", base}, create...)...)
	rrdtoolIn(t, bin, dir, append([]string{"update", base}, tuneBase.updates...)...)
	b, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-r", "g:gg"}, {"-r", "c:cc", "-r", "s:ss"}, {"DS:t:COMPUTE:s,d,MAX,2,*"}, {"DEL:s"}, {"DEL:d", "DS:u:COMPUTE:g,UN,0,g,IF"},
		{"-d", "g:DERIVE"},
	} {
		file := filepath.Join(dir, "t.rrd")
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
		data := filepath.Join(dir, "data")
		if _, ok, err := rrdashRun(t, data, "import", "--force", file, "s"); !ok {
			t.Fatal(err)
		}
		what := strings.Join(args, " ")
		compareSeries(t, bin, dir, file, data, "s", "imported")
		_, wantErr, wantOK := rrdtoolIn(t, bin, dir, append([]string{"tune", file}, args...)...)
		out, ok, err := rrdashRun(t, data, append([]string{"tune", "s"}, args...)...)
		if ok != wantOK || out != "" || !ok && err.Error() != wantErr {
			t.Fatalf("tune %s: ok=%v %q (%v); rrdtool ok=%v %q", what, ok, out, err, wantOK, wantErr)
		}
		compareSeries(t, bin, dir, file, data, "s", "after tune "+what)
		_, _, wantOK = rrdtoolIn(t, bin, dir, append([]string{"update", file}, tuneMore...)...)
		if _, ok, err := rrdashRun(t, data, append([]string{"update", "s"}, tuneMore...)...); ok != wantOK {
			t.Fatalf("tune %s, then update: ok=%v (%v), rrdtool ok=%v", what, ok, err, wantOK)
		}
		compareSeries(t, bin, dir, file, data, "s", "after tune "+what+" and updates")
	}
}
