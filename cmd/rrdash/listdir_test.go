package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"rrdash/store/rrdtooltest"
)

// list DIR and list --recursive DIR list series as rrdtool list lists a
// tree of .rrd files with the same names (sorted, without ".rrd"); a glob
// or no argument keep rrdash's listing of names.
func TestListDirectories(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	data := filepath.Join(dir, "data")
	names := []string{"a/b/c", "a/b/d", "a/e", "top", "web 1", "x/y/z/deep"}
	for _, n := range names {
		p := filepath.Join(tree, n+".rrd")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		rrdtoolIn(t, bin, dir, "create", p, "--start", "1000000000", "DS:v:GAUGE:600:U:U", "RRA:AVERAGE:0.5:1:5")
		if _, ok, err := rrdashRun(t, data, "create", n, "--start", "1000000000", "DS:v:GAUGE:600:U:U", "RRA:AVERAGE:0.5:1:5"); !ok {
			t.Fatal(err)
		}
	}
	if _, ok, err := rrdashRun(t, data, "create", "//host/check#m", "--start", "1000000000", "DS:v:GAUGE:600:U:U", "RRA:AVERAGE:0.5:1:5"); !ok {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"."}, {"a"}, {"a/b"}, {"x/y"}, {"--recursive", "."}, {"--recursive", "a"}, {"--noflush", "a/"}, {"x", "--recursive"}} {
		rargs := slices.Clone(args)
		for i, a := range rargs {
			if !strings.HasPrefix(a, "-") {
				rargs[i] = filepath.Join(tree, a)
			}
		}
		out, _, ok := rrdtoolIn(t, bin, dir, append([]string{"list"}, rargs...)...)
		if !ok {
			t.Fatalf("rrdtool list %q failed", args)
		}
		var want []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			want = append(want, strings.TrimSuffix(l, ".rrd"))
		}
		slices.Sort(want)
		got, ok, err := rrdashRun(t, data, append([]string{"list"}, args...)...)
		if !ok || got != strings.Join(want, "\n")+"\n" {
			t.Errorf("list %q: %v\n%q\nrrdtool (sorted, no .rrd):\n%q", args, err, got, want)
		}
	}
	for _, c := range []struct {
		args []string
		out  string
		err  string
	}{
		{[]string{"list", "[tw]*"}, "top\nweb 1\n", ""},
		{[]string{"list", "nope"}, "", "list nope: no series under it"},
		{[]string{"list", "../a"}, "", "not a directory of series names"},
		{[]string{"list", "--recursive"}, "", "usage: rrdash list"},
		{[]string{"list", "--noflush"}, "", "--noflush goes with a directory"},
	} {
		got, ok, err := rrdashRun(t, data, c.args...)
		if got != c.out || (c.err == "") != ok || c.err != "" && !strings.Contains(err.Error(), c.err) {
			t.Errorf("%q: %q %v, want %q %q", c.args, got, err, c.out, c.err)
		}
	}
	if all, _, _ := rrdashRun(t, data, "list"); strings.Count(all, "\n") != len(names)+1 {
		t.Errorf("list: %q", all)
	}
}
