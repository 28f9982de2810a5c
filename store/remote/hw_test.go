package remote

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"rrdash/store"
)

// XINFO carries the Holt-Winters parameters and state and the rrd
// version (0004 with MHWPREDICT) exactly.
func TestInfoHoltWintersRoundTrip(t *testing.T) {
	t.Parallel()
	db, err := store.Open(filepath.Join(t.TempDir(), "data"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	spec, err := store.ParseSpecArgs(60, 1_000_000_000, []string{"DS:v:GAUGE:120:U:U", "RRA:MHWPREDICT:12:0.5:0.2:4"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Create("hw", spec, false); err != nil {
		t.Fatal(err)
	}
	var b store.Batch
	for i := int64(1); i <= 40; i++ {
		b.Updates = append(b.Updates, store.Update{Series: "hw", Time: 1_000_000_000 + 60*i, Values: []string{fmt.Sprint(10 + i%4*3)}})
	}
	if _, err := db.Apply(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	want, err := db.Info("hw")
	if err != nil {
		t.Fatal(err)
	}
	res, err := exchange(t, db, "XINFO", "hw")
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseInfo(res.lines)
	if err != nil {
		t.Fatal(err)
	}
	if got.RRDVersion != 4 || want.RRDVersion != 4 {
		t.Fatalf("rrd version %d, store %d, want 4", got.RRDVersion, want.RRDVersion)
	}
	for i, r := range want.RRA {
		g := got.RRA[i]
		if (r.HW == nil) != (g.HW == nil) || r.HW != nil && *r.HW != *g.HW {
			t.Fatalf("archive %d: params %+v, want %+v", i, g.HW, r.HW)
		}
		for k, c := range r.CDP {
			if (c.HW == nil) != (g.CDP[k].HW == nil) || c.HW != nil && *c.HW != *g.CDP[k].HW {
				t.Fatalf("archive %d ds %d: words %v, want %v", i, k, g.CDP[k].HW, c.HW)
			}
		}
	}
}
