package main

import (
	"fmt"
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
	create := []string{"--start", "1000000000", "--step", "10", "DS:g:GAUGE:30:U:U", "DS:c:COUNTER:30:0:U",
		"DS:s:COMPUTE:g,c,+,10,/", "DS:d:DERIVE:30:U:U", "RRA:AVERAGE:0.5:1:8", "RRA:MAX:0.5:3:5", "RRA:LAST:0.3:2:4"}
	b, err := os.ReadFile(rrdtoolBase(t, bin, dir, create, tuneBase.updates))
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-r", "g:gg"}, {"-r", "c:cc", "-r", "s:ss"}, {"DS:t:COMPUTE:s,d,MAX,2,*"}, {"DEL:s"}, {"DEL:d", "DS:u:COMPUTE:g,UN,0,g,IF"},
		{"-d", "g:DERIVE"},
	} {
		tuneAgainstRRDtool(t, bin, dir, b, args, tuneMore, tuneOpts{sameError: true, imported: true})
	}
}

// create --source through the CLI: the new series dumps byte for byte as
// the file rrdtool creates from the same source (imported as a series),
// with mappings, another step and --start; fetches agree.
func TestCreateSourceAgainstRRDtool(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	dir := t.TempDir()
	base := rrdtoolBase(t, bin, dir, tuneBase.create, append(tuneBase.updates, tuneMore...))
	data := filepath.Join(dir, "data")
	if _, ok, err := rrdashRun(t, data, "import", base, "base"); !ok {
		t.Fatal(err)
	}
	for k, args := range [][]string{
		{"--step", "10", "DS:g:GAUGE:30:U:U", "DS:c:COUNTER:30:U:U", "RRA:AVERAGE:0.5:1:20", "RRA:MAX:0.5:3:10", "RRA:LAST:0.5:2:7"},
		{"--step", "20", "DS:x=d:DERIVE:60:U:U", "DS:y=g[1]:GAUGE:60:U:U", "DS:z:GAUGE:60:U:U", "RRA:AVERAGE:0.3:1:12", "RRA:MIN:0.5:2:10"},
		{"--step", "5", "--start", "1000000100", "DS:g:GAUGE:30:U:U", "DS:w=c[2]:COUNTER:30:U:U", "RRA:AVERAGE:0.5:1:50", "RRA:MAX:0.9:6:9"},
		{"--step", "10", "DS:g:GAUGE:30:U:U", "DS:s:COMPUTE:g,2,*", "RRA:AVERAGE:0.5:4:9"},
	} {
		file := filepath.Join(dir, "new.rrd")
		_ = os.Remove(file)
		what := strings.Join(args, " ")
		_, wantErr, wantOK := rrdtoolIn(t, bin, dir, append([]string{"create", file, "--source", base}, args...)...)
		name := "new" + string(rune('a'+k))
		_, ok, err := rrdashRun(t, data, append([]string{"create", name, "--source", "base"}, args...)...)
		if ok != wantOK {
			t.Fatalf("create --source %s: ok=%v (%v); rrdtool ok=%v %q", what, ok, err, wantOK, wantErr)
		}
		if !ok {
			continue
		}
		want, _, _ := rrdtoolIn(t, bin, dir, "dump", file)
		got, _, err := rrdashRun(t, data, "dump", name)
		if got != want {
			t.Fatalf("create --source %s: dump (%v):\n%s", what, err, firstDiff(want, got))
		}
		for _, cf := range []string{"AVERAGE", "MIN", "MAX", "LAST"} {
			c := []string{"fetch", "@", cf, "-s", "999999900", "-e", "1000000200"}
			w, _, _ := rrdtoolIn(t, bin, dir, slicesReplace(c, "@", file)...)
			g, _, _ := rrdashRun(t, data, slicesReplace(c, "@", name)...)
			if g != w {
				t.Fatalf("create --source %s: %q:\n%s", what, c, firstDiff(w, g))
			}
		}
	}
	// a source that is no series may be an rrdtool file, as rrdtool takes it
	args := []string{"--step", "20", "DS:x=d:DERIVE:60:U:U", "DS:g:GAUGE:60:U:U", "RRA:AVERAGE:0.3:1:12", "RRA:MAX:0.5:2:10"}
	file := filepath.Join(dir, "fromfile.rrd")
	rrdtoolIn(t, bin, dir, append([]string{"create", file, "--source", base}, args...)...)
	if _, ok, err := rrdashRun(t, data, append([]string{"create", "fromfile", "--source", base}, args...)...); !ok {
		t.Fatal(err)
	}
	want, _, _ := rrdtoolIn(t, bin, dir, "dump", file)
	if got, _, _ := rrdashRun(t, data, "dump", "fromfile"); got != want {
		t.Fatalf("create --source FILE.rrd: dump:\n%s", firstDiff(want, got))
	}
	if _, _, err := rrdashRun(t, data, "create", "x", "--source", "nope", "DS:g:GAUGE:30:U:U", "RRA:AVERAGE:0.5:1:5"); err == nil || err.Error() != "Cannot open source RRD nope" {
		t.Fatalf("create --source of a missing series: %v", err)
	}
}

// What rrdash refuses on COMPUTE data sources where rrdtool 1.7.2 writes
// over the stored expression or shifts its references onto other data
// sources, and what create refuses as rrdtool does.
func TestComputeRefuses(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	if _, ok, err := rrdashRun(t, data, "create", "s", "--start", "1000000000", "DS:g:GAUGE:30:U:U", "DS:c:GAUGE:30:U:U",
		"DS:s:COMPUTE:g,c,+", "RRA:AVERAGE:0.5:1:5"); !ok {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"tune", "s", "-h", "s:5"}, "DS s is COMPUTE"},
		{[]string{"tune", "s", "-i", "s:0"}, "DS s is COMPUTE"},
		{[]string{"tune", "s", "-d", "s:GAUGE"}, "DS s is COMPUTE"},
		{[]string{"tune", "s", "DEL:g"}, "cannot delete DS g: COMPUTE data source s reads it"},
		{[]string{"create", "x", "DS:a:GAUGE:30:U:U", "DS:c:COMPUTE:a,2", "RRA:AVERAGE:0.5:1:5"}, "failed to parse computed data source"},
		{[]string{"create", "x", "DS:a:GAUGE:30:U:U", "DS:c:COMPUTE:a,TIME,+", "RRA:AVERAGE:0.5:1:5"}, "not supported with DS COMPUTE"},
		{[]string{"create", "x", "DS:a:GAUGE:30:U:U", "DS:c:COMPUTE:a,1.5,+", "RRA:AVERAGE:0.5:1:5"}, "constants must be integers in the interval (-32768, 32767)"},
		{[]string{"create", "x", "DS:c:COMPUTE:a,1,+", "DS:a:GAUGE:30:U:U", "RRA:AVERAGE:0.5:1:5"}, "failed to parse computed data source"},
		{[]string{"create", "x", "DS:a:GAUGE:30:U:U", "DS:c:COMPUTE:a,a", "RRA:AVERAGE:0.5:1:5"}, "RPN final stack size != 1"},
		{[]string{"update", "s", "1000000010:1:2:3"}, "expected 2 data source readings (got 3)"},
	} {
		if _, ok, err := rrdashRun(t, data, c.args...); ok || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%q: %v, want %q", c.args, err, c.err)
		}
	}
	// renaming a data source an expression reads renames it there too
	if _, ok, err := rrdashRun(t, data, "tune", "s", "-r", "g:gg"); !ok {
		t.Fatal(err)
	}
	if out, _, _ := rrdashRun(t, data, "info", "s"); !strings.Contains(out, `ds[s].cdef = "gg,c,+"`) {
		t.Fatalf("info after rename:\n%s", out)
	}
}

// flushcached succeeds on existing series and prints nothing; a missing
// one is an error, as a missing file is for rrdtool.
func TestFlushcached(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	if _, ok, err := rrdashRun(t, data, "create", "s", "DS:g:GAUGE:30:U:U", "RRA:AVERAGE:0.5:1:5"); !ok {
		t.Fatal(err)
	}
	if out, ok, err := rrdashRun(t, data, "flushcached", "s"); !ok || out != "" {
		t.Fatalf("flushcached s: %q %v", out, err)
	}
	if _, ok, err := rrdashRun(t, data, "flushcached", "s", "nope"); ok || err.Error() != "series not found: nope" {
		t.Fatalf("flushcached of a missing series: %v", err)
	}
	if _, ok, err := rrdashRun(t, data, "flushcached", "--bogus", "s"); ok || !strings.Contains(err.Error(), "unknown option --bogus") {
		t.Fatalf("flushcached --bogus: %v", err)
	}
}

// create --template without --start starts at the template's last
// update, as rrdtool's (and with --source, at the sources' latest).
func TestCreateTemplateStartsAtItsLastUpdate(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	tmpl := filepath.Join(dir, "tt.rrd")
	rrdtoolIn(t, bin, dir, "create", tmpl, "--start", "1000000000", "--step", "10", "DS:g:GAUGE:30:U:U", "RRA:AVERAGE:0.5:1:5", "RRA:MAX:0.5:3:4")
	rrdtoolIn(t, bin, dir, "update", tmpl, "1000000010:1", "1000000027:2")
	if _, ok, err := rrdashRun(t, data, "import", tmpl, "tt"); !ok {
		t.Fatal(err)
	}
	for k, extra := range [][]string{nil, {"--source", "@"}, {"DS:h:GAUGE:30:U:U"}} {
		file := filepath.Join(dir, fmt.Sprintf("n%d.rrd", k))
		name := fmt.Sprintf("n%d", k)
		rrdtoolIn(t, bin, dir, append([]string{"create", file, "--template", tmpl}, slicesReplace(extra, "@", tmpl)...)...)
		if _, ok, err := rrdashRun(t, data, append([]string{"create", name, "--template", "tt"}, slicesReplace(extra, "@", "tt")...)...); !ok {
			t.Fatal(err)
		}
		want, _, _ := rrdtoolIn(t, bin, dir, "dump", file)
		got, _, _ := rrdashRun(t, data, "dump", name)
		if got != want {
			t.Fatalf("create --template %q: dump:\n%s", extra, firstDiff(want, got))
		}
	}
}
