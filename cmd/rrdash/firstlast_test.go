package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"rrdash/store/rrdtooltest"
)

// rrdtoolRun runs real rrdtool and returns its stdout and whether it
// exited 0.
func rrdtoolRun(t *testing.T, bin string, args ...string) (string, bool) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("rrdtool %q: %v", args, err)
	}
	return out.String(), err == nil
}

// rrdashRun runs one rrdash command on data and returns its stdout and
// whether it succeeded.
func rrdashRun(t *testing.T, data string, args ...string) (string, bool, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), append([]string{"--data", data}, args...), strings.NewReader(""), &out, io.Discard)
	return out.String(), err == nil, err
}

// diffLayouts are series made the same way by rrdtool and rrdash, then
// updated with the same ARGs (some refused, as rrdtool refuses them).
var diffLayouts = []struct {
	name    string
	create  []string // after NAME
	updates [][]string
}{
	{"fresh", []string{"--start", "1000000000", "--step", "10", "DS:g:GAUGE:30:U:U", "RRA:AVERAGE:0.5:1:20", "RRA:MAX:0.5:3:10"}, nil},
	{"mixed", []string{"--start", "1000000000", "--step", "10", "DS:g:GAUGE:30:U:U", "DS:c:COUNTER:30:0:U", "RRA:AVERAGE:0.5:1:20", "RRA:MAX:0.5:3:10", "RRA:AVERAGE:0.5:3:10"},
		[][]string{{"1000000010:1:100", "1000000020:2.5:200", "1000000041.25:0.3333:450"}, {"1000000030:1:1"}, {"1000000200:U:1000"}}},
	{"wrapped", []string{"--start", "1000000003", "--step", "7", "DS:a:DERIVE:100:U:U", "DS:b:ABSOLUTE:100:U:U", "DS:c:GAUGE:100:0:10", "RRA:LAST:0:1:3", "RRA:MIN:0.9:4:5", "RRA:AVERAGE:0.1:13:2"},
		[][]string{{"1000000010:5:5:5", "1000000017:-3:1e3:11", "1000000100:12345678901234567890:0.5:U"}, {"1000000599.999:7:7:7"}}},
	{"float", []string{"--start", "1000000000", "--step", "10", "DS:dc:DCOUNTER:30:U:U", "DS:dd:DDERIVE:30:-100:100", "DS:g:GAUGE:30:U:U", "RRA:AVERAGE:0.5:1:20", "RRA:MIN:0.5:3:10"},
		[][]string{{"1000000010:1.5:-2.25:1", "1000000020:3.75:10:2", "1000000033:2:12.5e1:3"}, {"1000000040:-1:0:4", "1000000055:-3.5:-0.5:5"}, {"1000000060:x:1:6"}, {"1000000070:7:y:7"}}},
	{"template", []string{"--start", "999999999", "--step", "300", "DS:in:COUNTER:600:U:U", "DS:out:COUNTER:600:U:U", "RRA:AVERAGE:0.5:1:600", "RRA:AVERAGE:0.5:6:700", "RRA:MAX:0.5:288:797"},
		[][]string{{"--template", "out:in", "1000000300:10:20", "1000000600:30:40.5"}}},
	{"compute", []string{"--start", "1000000000", "--step", "10", "DS:a:GAUGE:30:U:U", "DS:b:COUNTER:30:U:U", "DS:s:COMPUTE:a,b,+,2.0,*", "DS:m:COMPUTE:s,a,MAX,UN,INF,a,IF", "RRA:AVERAGE:0.5:1:20", "RRA:MAX:0.5:3:10"},
		[][]string{{"1000000010:1:100", "1000000020:2.5:200", "1000000041.25:U:450"}, {"--template", "b:a", "1000000055:300:7"}, {"1000000070:1:1:1"}, {"1000000090:4:500"}}},
}

// first and lastupdate print what rrdtool 1.7.2 prints, exit as it exits,
// on series made by both with the same create and update arguments.
func TestFirstLastUpdateAgainstRRDtool(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	for _, l := range diffLayouts {
		t.Run(l.name, func(t *testing.T) {
			t.Parallel()
			data, file := createBoth(t, bin, l.create)
			for _, u := range l.updates {
				_, wantOK := rrdtoolRun(t, bin, append([]string{"update", file}, u...)...)
				if _, ok, err := rrdashRun(t, data, append([]string{"update", "s"}, u...)...); ok != wantOK {
					t.Fatalf("update %q: rrdash ok=%v (%v), rrdtool ok=%v", u, ok, err, wantOK)
				}
			}
			cases := [][]string{{"lastupdate", "@"}, {"first", "@"}}
			for _, idx := range []string{"0", "1", "2", "3", "-1", "0x1", "010", "1x", "x", "", "+2"} {
				cases = append(cases, []string{"first", "@", "--rraindex", idx}, []string{"first", "--rraindex=" + idx, "@"})
			}
			for _, c := range cases {
				rargs := slicesReplace(c, "@", file)
				want, wantOK := rrdtoolRun(t, bin, rargs...)
				got, ok, err := rrdashRun(t, data, slicesReplace(c, "@", "s")...)
				if got != want || ok != wantOK {
					t.Errorf("%q: rrdash %q ok=%v (%v)\nrrdtool %q ok=%v", c, got, ok, err, want, wantOK)
				}
			}
		})
	}
}

func slicesReplace(s []string, from, to string) []string {
	r := make([]string, len(s))
	for i, v := range s {
		if v == from {
			v = to
		}
		r[i] = v
	}
	return r
}

// Errors: as rrdtool, first prints -1 and fails; both refuse options they
// do not have (rrdtool ignores names after the first; rrdash refuses them).
func TestFirstLastUpdateErrors(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	if _, ok, err := rrdashRun(t, data, "create", "s", "--start", "1000000000", "DS:g:GAUGE:600:U:U", "RRA:AVERAGE:0.5:1:10"); !ok {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args    []string
		out     string
		errWant string
	}{
		{[]string{"first", "nope"}, "-1\n", "series not found: nope"},
		{[]string{"first", "s", "--rraindex", "1"}, "-1\n", "invalid rraindex number"},
		{[]string{"first", "s", "--bogus"}, "-1\n", "unknown option --bogus"},
		{[]string{"first", "s", "-r", "1"}, "-1\n", "unknown option -r"},
		{[]string{"first", "s", "t"}, "-1\n", "first takes one series name"},
		{[]string{"first", "s", "--rraindex"}, "-1\n", "option --rraindex needs a value"},
		{[]string{"lastupdate", "nope"}, "", "series not found: nope"},
		{[]string{"lastupdate", "s", "t"}, "", "Usage: rrdash lastupdate NAME"},
		{[]string{"lastupdate", "s", "--bogus"}, "", "unknown option --bogus"},
	} {
		out, ok, err := rrdashRun(t, data, c.args...)
		if ok || out != c.out || !strings.Contains(err.Error(), c.errWant) {
			t.Errorf("%q: out %q, err %v; want out %q, error with %q", c.args, out, err, c.out, c.errWant)
		}
	}
	// no arguments: the usage, exit 0, as rrdtool
	for _, cmd := range []string{"first", "lastupdate"} {
		out, ok, err := rrdashRun(t, data, cmd)
		if !ok || !strings.Contains(out, fmt.Sprintf("usage: rrdash %s NAME", cmd)) {
			t.Errorf("%s without arguments: %q, %v", cmd, out, err)
		}
	}
}

func TestStrtol(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"0": 0, "12": 12, "-3": -3, "+2": 2, " 7": 7, "0x1f": 31, "0X10z": 16, "010": 8, "09": 0,
		"1x": 1, "x": 0, "": 0, "0x": 0, "-": 0, "99999999999999999999": 1<<63 - 1, "-99999999999999999999": -1 << 63} {
		if got := strtol(in); got != want {
			t.Errorf("strtol(%q) = %d, want %d", in, got, want)
		}
	}
}

func FuzzStrtol(f *testing.F) {
	for _, s := range []string{"0", "-12", "0x1F", "010", "1x", " +7", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := strtol(s)
		// a plain decimal reads as ParseInt reads it
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && (len(s) < 2 || s[0] != '0') && !strings.HasPrefix(s, "-0") && !strings.HasPrefix(s, "+0") && v != n {
			t.Fatalf("strtol(%q) = %d, ParseInt %d", s, v, n)
		}
	})
}

// createBoth makes series s in a new data directory with rrdash and the
// file s.rrd beside it with rrdtool (bin), from the same create arguments.
func createBoth(t *testing.T, bin string, create []string) (data, file string) {
	t.Helper()
	dir := t.TempDir()
	data, file = filepath.Join(dir, "data"), filepath.Join(dir, "s.rrd")
	rrdtoolRun(t, bin, append([]string{"create", file}, create...)...)
	if _, ok, err := rrdashRun(t, data, append([]string{"create", "s"}, create...)...); !ok {
		t.Fatalf("create: %v", err)
	}
	return data, file
}
