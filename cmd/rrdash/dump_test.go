package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rrdash/store/rrdtooltest"
)

// dump writes the XML rrdtool dump writes, byte for byte, for series made
// by both with the same arguments, with each header option, to stdout or
// a file; and what rrdtool restores from rrdash's dump fetches the same.
func TestDumpAgainstRRDtool(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	for _, l := range diffLayouts {
		t.Run(l.name, func(t *testing.T) {
			t.Parallel()
			data, file := createBoth(t, bin, l.create)
			for _, u := range l.updates {
				rrdtoolRun(t, bin, append([]string{"update", file}, u...)...)
				rrdashRun(t, data, append([]string{"update", "s"}, u...)...)
			}
			for _, opts := range [][]string{nil, {"--header", "xsd"}, {"-h", "none"}, {"--no-header"}, {"-n"}, {"--header=dtd"}} {
				want, wantOK := rrdtoolRun(t, bin, append(append([]string{"dump"}, opts...), file)...)
				got, ok, err := rrdashRun(t, data, append(append([]string{"dump"}, opts...), "s")...)
				if got != want || ok != wantOK || !ok {
					t.Fatalf("dump %q: ok=%v (%v), rrdtool ok=%v; %s", opts, ok, err, wantOK, firstDiff(want, got))
				}
			}
			out := filepath.Join(filepath.Dir(file), "out.xml")
			if _, ok, err := rrdashRun(t, data, "dump", "s", out); !ok {
				t.Fatal(err)
			}
			want, _ := rrdtoolRun(t, bin, "dump", file)
			if b, err := os.ReadFile(out); err != nil || string(b) != want {
				t.Fatalf("dump to a file: %v; %s", err, firstDiff(want, string(b)))
			}
		})
	}
}

func TestDumpErrors(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	if _, ok, err := rrdashRun(t, data, "create", "s", "--start", "1000000000", "DS:g:GAUGE:600:U:U", "RRA:AVERAGE:0.5:1:10"); !ok {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"dump", "nope"}, "series not found: nope"},
		{[]string{"dump"}, "usage: rrdash dump"},
		{[]string{"dump", "s", "a.xml", "b.xml"}, "usage: rrdash dump"},
		{[]string{"dump", "--header", "html", "s"}, `dump --header "html": none, xsd or dtd`},
		{[]string{"dump", "--bogus", "s"}, "unknown option --bogus"},
		{[]string{"dump", "-x", "s"}, "unknown option -x"},
		{[]string{"dump", "s", filepath.Join(data, "no", "such", "dir.xml")}, "no such file or directory"},
	} {
		out, ok, err := rrdashRun(t, data, c.args...)
		if ok || out != "" || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%q: out %q, err %v; want error %q", c.args, out, err, c.err)
		}
	}
}
