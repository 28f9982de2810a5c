package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"rrdash/store/rrdtooltest"
)

// restore takes rrdtool restore's arguments: a dump rrdtool wrote becomes
// a series that fetches as the file does; an existing series needs -f;
// unknown options are refused; --range-check stores values outside the
// limits as unknown, as rrdtool's.
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
		{[]string{"restore", "-r", "-f", xml, "s"}, ""},
		{[]string{"restore", "-r", file, "s2"}, "reads an XML dump"},
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

// TestRestoreRangeCheckAgainstRRDtool: rows written before the limits were
// tightened (tune) are out of range in the dump; restore -r makes them
// unknown in every archive, as rrdtool restore -r does.
func TestRestoreRangeCheckAgainstRRDtool(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	file := filepath.Join(dir, "s.rrd")
	xml := filepath.Join(dir, "s.xml")
	rrdtoolRun(t, bin, "create", file, "--start", "1000000000", "--step", "10", "DS:g:GAUGE:30:U:U", "DS:h:GAUGE:30:U:U", "RRA:AVERAGE:0.5:1:20", "RRA:MAX:0.5:3:10", "RRA:MIN:0.5:2:10")
	var ups []string
	for i := 1; i <= 12; i++ {
		ups = append(ups, fmt.Sprintf("%d:%d:%d", 1000000000+10*i, i%7-2, 40-3*i))
	}
	rrdtoolRun(t, bin, append([]string{"update", file}, ups...)...)
	rrdtoolRun(t, bin, "tune", file, "-i", "g:0", "-a", "g:3", "-a", "h:20")
	if _, ok := rrdtoolRun(t, bin, "dump", file, xml); !ok {
		t.Fatal("rrdtool dump failed")
	}
	checked := filepath.Join(dir, "checked.rrd")
	if _, ok := rrdtoolRun(t, bin, "restore", "-r", xml, checked); !ok {
		t.Fatal("rrdtool restore -r failed")
	}
	if _, ok, err := rrdashRun(t, data, "restore", "--range-check", xml, "s"); !ok {
		t.Fatal(err)
	}
	unknown := 0
	for _, c := range [][]string{
		{"fetch", "@", "AVERAGE", "-s", "1000000000", "-e", "1000000120"},
		{"fetch", "@", "MAX", "-s", "1000000000", "-e", "1000000120", "-r", "30"},
		{"fetch", "@", "MIN", "-s", "1000000000", "-e", "1000000120", "-r", "20"},
	} {
		want, _ := rrdtoolRun(t, bin, slicesReplace(c, "@", checked)...)
		got, _, err := rrdashRun(t, data, slicesReplace(c, "@", "s")...)
		if got != want {
			t.Errorf("%q after restore -r: %v\n%s\nrrdtool:\n%s", c, err, got, want)
		}
		unknown += strings.Count(want, "nan")
	}
	// the case must test something: values were dropped
	if plain, _ := rrdtoolRun(t, bin, "fetch", file, "AVERAGE", "-s", "1000000000", "-e", "1000000120"); strings.Count(plain, "nan") >= unknown/3 {
		t.Errorf("restore -r made no value unknown: %d nan after, the file has %d in AVERAGE alone", unknown, strings.Count(plain, "nan"))
	}
}
