package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rrdash/store/rrdtooltest"
)

// nanTextCreate has COMPUTE data sources whose unknown rows rrdtool prints
// "nan" (the absolute value of an unknown, a negative one raised to an odd
// power, and what keeps their NaN: FLOOR, +, -, MAX, LIMIT, IF) beside ones
// it prints "-nan", in archives that keep a row's NaN (LAST, one-PDP) and
// ones that make their own (AVERAGE, MAX over several PDPs).
var nanTextCreate = []string{"--start", "1000000000", "--step", "10", "DS:a:GAUGE:30:U:U",
	"DS:b:COMPUTE:a,ABS", "DS:c:COMPUTE:a,-1,POW", "DS:d:COMPUTE:a,SQRT", "DS:e:COMPUTE:a,0,%", "DS:f:COMPUTE:a,LOG",
	"DS:g:COMPUTE:a,ABS,FLOOR", "DS:h:COMPUTE:a,ABS,1,+", "DS:i:COMPUTE:1,a,ABS,-", "DS:j:COMPUTE:a,ABS,a,MAX",
	"DS:k:COMPUTE:a,a,ABS,MAX", "DS:l:COMPUTE:a,ABS,0,1,LIMIT", "DS:m:COMPUTE:2,a,POW", "DS:n:COMPUTE:a,ABS,UN,a,ABS,a,IF",
	"DS:o:COMPUTE:a,ABS,-3,POW", "DS:p:COMPUTE:a,2,POW", "DS:q:COMPUTE:a,ABS,SIN,a,ADDNAN", "DS:r:COMPUTE:a,ABS,2,/,EXP",
	"RRA:LAST:0.5:1:20", "RRA:LAST:0.5:2:20", "RRA:AVERAGE:0.9:2:20", "RRA:MAX:0.5:1:20", "RRA:MIN:0.5:3:20"}

// fetch prints every value as rrdtool fetch prints the same value, down
// to the sign of a NaN ("-nan" or "nan", glibc's printf by the sign bit):
// series updated by both, an rrdtool file imported (its rows' NaNs kept
// bit for bit) and a dump restored (rrdtool's restore reads "NaN" as its
// negative unknown).
func TestFetchNaNTextAgainstRRDtool(t *testing.T) {
	t.Parallel()
	bin := rrdtooltest.Bin(t)
	dir := t.TempDir()
	file, data := filepath.Join(dir, "n.rrd"), filepath.Join(dir, "data")
	rrdtoolIn(t, bin, dir, append([]string{"create", file}, nanTextCreate...)...)
	if _, ok, err := rrdashRun(t, data, append([]string{"create", "n"}, nanTextCreate...)...); !ok {
		t.Fatal(err)
	}
	var ups []string
	for i := 1; i <= 40; i++ {
		v := []string{"1", "U", "-4", "0", "-2", "U", "U", "3.5", "-0.5", "U"}[i%10]
		ups = append(ups, fmt.Sprintf("%d:%s", 1000000000+10*i+(i%3), v))
	}
	rrdtoolIn(t, bin, dir, append([]string{"update", file}, ups...)...)
	if _, ok, err := rrdashRun(t, data, append([]string{"update", "n"}, ups...)...); !ok {
		t.Fatal(err)
	}
	dump, _, _ := rrdtoolIn(t, bin, dir, "dump", file)
	xml := filepath.Join(dir, "n.xml")
	if err := os.WriteFile(xml, []byte(dump), 0o644); err != nil {
		t.Fatal(err)
	}
	restored := filepath.Join(dir, "r.rrd")
	rrdtoolIn(t, bin, dir, "restore", xml, restored)
	if _, ok, err := rrdashRun(t, data, "import", file, "imported"); !ok {
		t.Fatal(err)
	}
	if _, ok, err := rrdashRun(t, data, "restore", xml, "restored"); !ok {
		t.Fatal(err)
	}
	nans, pos := 0, 0
	for _, c := range []struct{ file, name string }{{file, "n"}, {file, "imported"}, {restored, "restored"}} {
		for _, cf := range []string{"LAST", "AVERAGE", "MAX", "MIN"} {
			for _, r := range []string{"10", "20", "30"} {
				args := []string{cf, "-s", "1000000000", "-e", "1000000420", "-r", r}
				want, _, wantOK := rrdtoolIn(t, bin, dir, append([]string{"fetch", c.file}, args...)...)
				got, ok, err := rrdashRun(t, data, append([]string{"fetch", c.name}, args...)...)
				if ok != wantOK || got != want {
					t.Fatalf("fetch %s %q: ok=%v (%v), rrdtool ok=%v:\n%s", c.name, args, ok, err, wantOK, firstDiff(want, got))
				}
				nans += strings.Count(want, "nan")
				pos += strings.Count(want, " nan")
			}
		}
	}
	t.Logf("%d NaNs printed as rrdtool prints them, %d of them \"nan\"", nans, pos)
	if pos == 0 {
		t.Fatal("no value rrdtool prints \"nan\": the cases do not test the sign")
	}
}
