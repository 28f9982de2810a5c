package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

// TestFetchOneDS: FetchRequest.DS reads one data source, the same values
// as a fetch of all; an unknown name reads them all.
func TestFetchOneDS(t *testing.T) {
	t.Parallel()
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	spec, err := ParseSpecArgs(60, 1000000000, []string{"DS:a:GAUGE:120:U:U", "DS:b:GAUGE:120:U:U", "DS:c:GAUGE:120:U:U", "RRA:AVERAGE:0.5:1:100"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Create("s", spec, false); err != nil {
		t.Fatal(err)
	}
	var batch Batch
	for i := 1; i <= 150; i++ { // the ring wraps
		batch.Updates = append(batch.Updates, Update{Series: "s", Time: 1000000000 + 60*int64(i),
			Values: []string{fmt.Sprint(i), fmt.Sprint(2 * i), fmt.Sprint(3 * i)}})
	}
	if _, err := db.Apply(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	req := FetchRequest{CF: Average, Start: 1000000000 + 60*20, End: 1000000000 + 60*160, Resolution: 60}
	all, err := db.Fetch("s", req)
	if err != nil {
		t.Fatal(err)
	}
	for _, ds := range []string{"a", "b", "c"} {
		req.DS = ds
		one, err := db.Fetch("s", req)
		if err != nil {
			t.Fatal(err)
		}
		for i, name := range one.DS {
			if got := one.Values[i]; name == ds {
				if !slices.EqualFunc(got, all.Values[i], func(x, y float64) bool { return x == y || x != x && y != y }) {
					t.Errorf("DS %s: %v, want %v", ds, got, all.Values[i])
				}
			} else if got != nil {
				t.Errorf("DS=%s: column %s read too", ds, name)
			}
		}
	}
	req.DS = "nope"
	if r, err := db.Fetch("s", req); err != nil || r.Column("a") == nil || r.Column("c") == nil {
		t.Errorf("an unknown DS: %v, %v", r, err)
	}
}
