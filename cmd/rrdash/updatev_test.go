package main

import (
	"strings"
	"testing"

	"rrdash/store/rrdtooltest"
)

// updatev prints what rrdtool 1.7.2 prints (the rows written, with
// rrdtool's row times, and return_value) and exits as it does, on series
// made by both with the same arguments; update --skip-past-updates passes
// over the same ARGs.
func TestUpdatevAgainstRRDtool(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	extra := map[string][][]string{
		"fresh": {{"1000000010:1", "1000000020:2", "1000000015:3", "1000000030:4"},
			{"--skip-past-updates", "1000000010:1", "1000000040:2", "1000000035:3", "1000000050.5:4", "1000000050.25:9"},
			{"-s", "1000000049:1"}, {"1000000061:x"}, {"1000000070"}, {"1000000075.5:7"}, {"1000000090.75:1", "1000000200.125:2"},
			{"1000009999:3"}, {"-t", "g", "1000010001:U", "1000010031:5"}},
		"mixed":    {{"1000000210:1:1010", "1000000260.5:2:1100"}, {"--skip-past-updates", "1000000100:1:1"}, {"1000000100:1:1", "1000000900:1:1"}},
		"wrapped":  {{"1000000700:1:1:1", "1000000701:2:2:2", "1000000800.5:3:3:3", "1000000950:4:4:4"}},
		"template": {{"--template", "in:out", "1000000900:50:60", "1000001200:70:U", "1000090000:1:1"}},
	}
	for _, l := range diffLayouts {
		t.Run(l.name, func(t *testing.T) {
			t.Parallel()
			data, file := createBoth(t, bin, l.create)
			for _, u := range append(append([][]string{}, l.updates...), extra[l.name]...) {
				want, wantOK := rrdtoolRun(t, bin, append([]string{"updatev", file}, u...)...)
				got, ok, err := rrdashRun(t, data, append([]string{"updatev", "s"}, u...)...)
				if got != want || ok != wantOK {
					t.Fatalf("updatev %q: rrdash ok=%v (%v)\n%s\nrrdtool ok=%v\n%s", u, ok, err, got, wantOK, want)
				}
				if !strings.HasPrefix(want, "return_value = ") {
					t.Fatalf("rrdtool updatev %q printed %q", u, want)
				}
			}
			// the state after is the same too
			for _, c := range [][]string{{"lastupdate", "@"}, {"first", "@", "--rraindex", "1"}} {
				want, _ := rrdtoolRun(t, bin, slicesReplace(c, "@", file)...)
				got, _, err := rrdashRun(t, data, slicesReplace(c, "@", "s")...)
				if got != want {
					t.Errorf("%q after updatev: rrdash %q (%v), rrdtool %q", c, got, err, want)
				}
			}
		})
	}
}

// update --skip-past-updates and --locking, against rrdtool's update: the
// same ARGs are passed over (the fetched rows are equal).
func TestUpdateSkipPastAgainstRRDtool(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	data, file := createBoth(t, bin, []string{"--start", "1000000000", "--step", "10", "DS:g:GAUGE:30:U:U", "RRA:AVERAGE:0.5:1:30", "RRA:LAST:0.5:2:30"})
	for _, u := range [][]string{
		{"1000000010:1", "1000000020:2"},
		{"--skip-past-updates", "1000000020:5", "1000000015:6", "1000000030:3", "1000000030:4", "1000000041:7"},
		{"-s", "1000000030:1"},
		{"-s", "1000000050:1", "1000000060:x", "1000000070:2"}, // a bad value still stops
		{"1000000055:1"},
		{"-s", "-t", "g", "1000000080:8", "1000000070:9"},
	} {
		_, wantOK := rrdtoolRun(t, bin, append([]string{"update", file}, u...)...)
		if _, ok, err := rrdashRun(t, data, append([]string{"update", "s"}, u...)...); ok != wantOK {
			t.Fatalf("update %q: rrdash ok=%v (%v), rrdtool ok=%v", u, ok, err, wantOK)
		}
	}
	for _, cf := range []string{"AVERAGE", "LAST"} {
		want, _ := rrdtoolRun(t, bin, "fetch", file, cf, "-s", "1000000000", "-e", "1000000100")
		got, _, err := rrdashRun(t, data, "fetch", "s", cf, "-s", "1000000000", "-e", "1000000100")
		if got != want {
			t.Errorf("fetch %s after --skip-past-updates: %v\n%s\nrrdtool:\n%s", cf, err, got, want)
		}
	}
	want, _ := rrdtoolRun(t, bin, "lastupdate", file)
	if got, _, _ := rrdashRun(t, data, "lastupdate", "s"); got != want {
		t.Errorf("lastupdate: %q, rrdtool %q", got, want)
	}

	// --locking: try and block (TestUpdateLockingBlock); none is refused, never ignored
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"update", "s", "--locking", "try", "1000000090:1"}, ""},
		{[]string{"update", "s", "-L", "try", "1000000091:1"}, ""},
		{[]string{"update", "s", "--locking", "block", "1000000092:1"}, ""},
		{[]string{"update", "s", "--locking=none", "1000000093:1"}, "--locking none is not supported"},
		{[]string{"update", "s", "--locking", "sometimes", "1000000092:1"}, "unsupported locking mode 'sometimes'"},
		{[]string{"update", "s", "-x", "1000000092:1"}, "unknown option -x"},
		{[]string{"update", "s", "-L", "try", "-5:1", "--", "-1:1"}, ""}, // ARGs (seconds before now), not options
		{[]string{"update", "s", "--bogus", "1000000092:1"}, "unknown option --bogus"},
		{[]string{"updatev", "s", "--bogus", "1000000092:1"}, "unknown option --bogus"},
		{[]string{"updatev", "s", "-"}, "updatev reads no ARGs from stdin"},
	} {
		out, ok, err := rrdashRun(t, data, c.args...)
		switch {
		case c.err == "" && !ok:
			t.Errorf("%q: %v", c.args, err)
		case c.err != "" && (ok || !strings.Contains(err.Error(), c.err) || out != ""):
			t.Errorf("%q: out %q, err %v; want an error with %q and no output", c.args, out, err, c.err)
		}
	}
}
