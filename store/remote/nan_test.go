package remote

import (
	"context"
	"math"
	"testing"

	"rrdash/store"
	"rrdash/store/computeds"
)

// XFETCH carries the sign of rrdtool's positive NaN (a COMPUTE's ABS of an
// unknown), so fetch through a server prints "nan" where rrdtool does.
func TestFetchKeepsPositiveNaN(t *testing.T) {
	t.Parallel()
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	spec, err := store.ParseSpecArgs(10, 1000000000, []string{"DS:a:GAUGE:30:U:U", "DS:b:COMPUTE:a,ABS", "RRA:LAST:0.5:1:10"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Create("s", spec, false); err != nil {
		t.Fatal(err)
	}
	var ups []store.Update
	for i, v := range []string{"1", "U", "-2"} {
		ups = append(ups, store.Update{Series: "s", Time: 1000000010 + 10*int64(i), Values: []string{v, "U"}}) // the COMPUTE one is not read
	}
	if r, err := db.Apply(context.Background(), store.Batch{Updates: ups}); err != nil || len(r.Errors) > 0 {
		t.Fatal(err, r.Errors)
	}
	res, err := exchange(t, db, "XFETCH", "s", "LAST", "1000000000", "1000000030", "10", "0")
	if err != nil {
		t.Fatal(err)
	}
	out, err := parseFetch(res.lines)
	if err != nil {
		t.Fatal(err)
	}
	a, b := out.Values[0][1], out.Values[1][1] // the row of 1000000020
	if !math.IsNaN(a) || computeds.IsPosNaN(a) || !computeds.IsPosNaN(b) {
		t.Fatalf("row 1000000020: a %x, b %x; want a negative (rrdtool's) NaN and the positive one", math.Float64bits(a), math.Float64bits(b))
	}
	if out.Values[1][2] != 2 {
		t.Fatalf("b at 1000000030 = %v, want 2", out.Values[1][2])
	}
}
