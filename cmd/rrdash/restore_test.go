package main

import (
	"path/filepath"
	"strings"
	"testing"

	"rrdash/store/rrdtooltest"
)

// restore takes rrdtool restore's arguments: a dump rrdtool wrote becomes
// a series that fetches as the file does; an existing series needs -f;
// --range-check and unknown options are refused.
func TestRestoreAgainstRRDtool(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	file := filepath.Join(dir, "s.rrd")
	xml := filepath.Join(dir, "s.xml")
	rrdtoolRun(t, bin, "create", file, "--start", "1000000000", "--step", "10", "DS:g:GAUGE:30:U:U", "DS:c:COUNTER:30:0:U", "RRA:AVERAGE:0.5:1:20", "RRA:MAX:0.5:3:10")
	rrdtoolRun(t, bin, "update", file, "1000000010:1:100", "1000000020:2.5:200", "1000000041.25:0.3333:450", "1000000070:4:900")
	if _, ok := rrdtoolRun(t, bin, "dump", file, xml); !ok {
		t.Fatal("rrdtool dump failed")
	}
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"restore", xml, "s"}, ""},
		{[]string{"restore", xml, "s"}, "exists"},
		{[]string{"restore", "-f", xml, "s"}, ""},
		{[]string{"restore", "--force-overwrite", xml, "s"}, ""},
		{[]string{"restore", "-r", xml, "s"}, "--range-check (-r) is not supported"},
		{[]string{"restore", "--range-check", "-f", xml, "s"}, "--range-check (-r) is not supported"},
		{[]string{"restore", xml}, "usage: rrdash restore"},
		{[]string{"restore", "--bogus", xml, "s"}, "unknown option --bogus"},
		{[]string{"restore", "-x", xml, "s"}, "unknown option -x"},
	} {
		_, ok, err := rrdashRun(t, data, c.args...)
		if c.err == "" && !ok || c.err != "" && (ok || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%q: %v; want error %q", c.args, err, c.err)
		}
	}
	for _, c := range [][]string{
		{"fetch", "@", "AVERAGE", "-s", "1000000000", "-e", "1000000100"},
		{"fetch", "@", "MAX", "-s", "1000000000", "-e", "1000000100", "-r", "30"},
		{"lastupdate", "@"}, {"first", "@", "--rraindex", "1"},
	} {
		want, _ := rrdtoolRun(t, bin, slicesReplace(c, "@", file)...)
		got, _, err := rrdashRun(t, data, slicesReplace(c, "@", "s")...)
		if got != want {
			t.Errorf("%q after restore: %v\n%s\nrrdtool:\n%s", c, err, got, want)
		}
	}
}
