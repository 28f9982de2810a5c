package remote

import (
	"context"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"rrdash/store"
)

// XDUMP carries every value of store.DB.Dump exactly (NaN, infinities,
// the last digit), and its errors as the store's.
func TestDumpRoundTrip(t *testing.T) {
	t.Parallel()
	db, err := store.Open(filepath.Join(t.TempDir(), "data"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	spec, err := store.ParseSpecArgs(10, 1000000000, []string{"DS:g:GAUGE:30:U:U", "DS:c:COUNTER:30:0:1e300", "RRA:AVERAGE:0.5:1:5", "RRA:MAX:0.25:3:4",
		"RRA:HWPREDICT:6:0.5:0.5:3"}) // and its Holt-Winters archives
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Create("a b", spec, false); err != nil {
		t.Fatal(err)
	}
	var ups []store.Update
	for i, v := range []string{"0.1:5", "inf:9", "1e-300:20", "U:21", "3:40", "-inf:41"} {
		ups = append(ups, store.Update{Series: "a b", Time: 1000000010 + int64(i)*7, Values: strings.Split(v, ":")})
	}
	if res, err := db.Apply(context.Background(), store.Batch{Updates: ups}); err != nil || len(res.Errors) > 0 {
		t.Fatal(err, res.Errors)
	}
	want, err := db.Dump("a b")
	if err != nil {
		t.Fatal(err)
	}
	res, err := exchange(t, db, "XDUMP", "a b")
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseDump(res.lines)
	if err != nil {
		t.Fatal(err)
	}
	want.Spec.Start = 0 // not carried: dump does not print it
	if !reflect.DeepEqual(dumpBits(got), dumpBits(want)) {
		t.Errorf("XDUMP:\n%+v\nwant\n%+v", dumpBits(got), dumpBits(want))
	}
	if _, err := exchange(t, db, "XDUMP", "nope"); err == nil || err.Error() != "series not found: nope" {
		t.Errorf("XDUMP of a missing series: %v", err)
	}
	if _, err := exchange(t, db, "XDUMP"); err == nil || !strings.Contains(err.Error(), "Usage: XDUMP <series>") {
		t.Errorf("XDUMP without a series: %v", err)
	}
}

// dumpBits replaces every float by its bits, so NaN compares equal.
func dumpBits(d *store.DumpData) any {
	b := func(v float64) uint64 {
		if math.IsNaN(v) {
			return math.Float64bits(math.NaN()) // "NaN" carries no payload
		}
		return math.Float64bits(v)
	}
	type ds struct {
		Name, Type      string
		HB              int64
		Min, Max, Value uint64
		Unkn            int64
		Last            string
	}
	var out struct {
		Step, Last int64
		DS         []ds
		RRA        [][]uint64
		HW         []store.HWParams
		Words      []store.HWWords
	}
	out.Step, out.Last = d.Spec.Step, d.LastUpdate
	for i, x := range d.Spec.DS {
		out.DS = append(out.DS, ds{x.Name, x.Type.String(), x.Heartbeat, b(x.Min), b(x.Max), b(d.DS[i].Value), d.DS[i].UnknownSec, d.DS[i].LastDS})
	}
	for i, r := range d.Spec.RRA {
		a := d.RRA[i]
		v := []uint64{uint64(r.CF), b(r.XFF), uint64(r.Steps), uint64(r.Rows), uint64(a.CurRow)}
		for _, c := range a.CDP {
			v = append(v, b(c.Primary), b(c.Secondary), b(c.Value), uint64(c.UnknownPDP))
			out.Words = append(out.Words, c.HW)
		}
		out.HW = append(out.HW, r.HW)
		for _, row := range a.Rows {
			for _, x := range row {
				v = append(v, b(x))
			}
		}
		out.RRA = append(out.RRA, v)
	}
	return out
}

func FuzzParseDump(f *testing.F) {
	f.Add("step 10\nlast_update 5\nds g GAUGE 30 NaN +Inf 0.5 3 \"U\"\nrra AVERAGE 0.5 1 2 1\ncdp 0 0 NaN 0\nr 1\nr NaN")
	f.Add("rra MAX 0 3 1 0\ncdp 1 1 1 1\nr -Inf")
	f.Add("ds a COUNTER 1 0 1 2 3 \"x\"\nrra LAST 0 1 0 0")
	f.Add("step 10\nds g GAUGE 30 NaN NaN 0 0 \"U\"\nrra FAILURES 0 1 2 1\nhwdef RRA:FAILURES:2:7:9:3\ncdp 0 0 NaN 0\nhw 1 0 0 0 0 0 0 0\nr 0\nr 1")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDump(strings.Split(s, "\n"))
		if err != nil {
			return
		}
		for i, a := range d.RRA {
			if int64(len(a.Rows)) != d.Spec.RRA[i].Rows || len(a.CDP) != len(d.DS) {
				t.Fatalf("archive %d: %d rows of %d, %d cdp", i, len(a.Rows), d.Spec.RRA[i].Rows, len(a.CDP))
			}
			for _, r := range a.Rows {
				if len(r) != len(d.DS) {
					t.Fatalf("row of %d values, %d DS", len(r), len(d.DS))
				}
			}
		}
	})
}
