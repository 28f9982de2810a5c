package store

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// reduceRef is rrdtool's reduce_data written plainly, group by group, over
// a fetched column: the reference FetchConsolidated must equal.
func reduceRef(by CF, start, step int64, col []float64, want int64) (int64, int64, []float64) {
	if want <= step {
		return start, step, col
	}
	by = by.ReduceAs()
	f := (want + step - 1) / step
	ns := step * f
	var out []float64
	if off := start % ns; off != 0 {
		out = append(out, math.NaN())
		col = col[min(int((ns-off)/step), len(col)):]
	}
	for ; len(col) > 0; col = col[min(int(f), len(col)):] {
		if len(col) < int(f) {
			out = append(out, math.NaN())
			break
		}
		var known []float64
		for _, x := range col[:f] {
			if !math.IsNaN(x) {
				known = append(known, x)
			}
		}
		v := math.NaN()
		for k, x := range known {
			switch {
			case k == 0:
				v = x
			case by == Average:
				v += x
			case by == Min && !(v < x), by == Max && !(v > x), by == Last:
				v = x
			}
		}
		if by == Average && len(known) > 0 {
			v /= float64(len(known))
		}
		out = append(out, v)
	}
	return start - start%ns, ns, out
}

// TestFetchConsolidatedMatchesFetchAndReduce: on random data with holes,
// a wrapped ring, a damaged block and random requests, FetchConsolidated
// returns what Fetch followed by reduce_data returns, bit for bit.
func TestFetchConsolidatedMatchesFetchAndReduce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := openBoot(t, dir, "A")
	spec, err := ParseSpecArgs(10, 1000000000, []string{"DS:g:GAUGE:30:U:U", "DS:h:GAUGE:30:U:U",
		"RRA:AVERAGE:0.5:1:300", "RRA:MIN:0.5:1:300", "RRA:MAX:0.5:5:100", "RRA:LAST:0.5:3:200"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Create("s", spec, false); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 17))
	var us []Update
	const n = 700 // the one-step rings wrap twice
	for i := range n {
		vals := []string{fmt.Sprint(rng.NormFloat64() * 1e3), fmt.Sprint(rng.IntN(100))}
		if rng.IntN(7) == 0 {
			vals[0] = "U"
		}
		if i%97 < 20 {
			vals[1] = "U"
		}
		us = append(us, Update{Series: "s", Time: 1000000000 + 10*int64(i+1), Values: vals})
	}
	if res, err := db.Apply(context.Background(), Batch{Updates: us}); err != nil || len(res.Errors) > 0 {
		t.Fatal(err, res.Errors)
	}
	db.Close()
	// a damaged block of the first archive: its rows read unknown
	lay := archiveLayout(t, dir)
	flipArchive(t, dir, "s", lay.ringOff[0]+130*16+3)
	db = openBoot(t, dir, "A")
	defer db.Close()

	last := int64(1000000000 + 10*n)
	cfs := []CF{Average, Min, Max, Last}
	for k := range 400 {
		start := last - int64(rng.IntN(4000)) - 10
		end := start + int64(rng.IntN(3500)) + 1
		req := ConsolidateRequest{
			FetchRequest: FetchRequest{CF: cfs[rng.IntN(len(cfs))], Start: start, End: end,
				Resolution: int64(rng.IntN(60)), DS: []string{"g", "h"}[rng.IntN(2)]},
			Step: int64(rng.IntN(300)),
		}
		if k%3 == 0 {
			req.By = cfs[rng.IntN(len(cfs))]
		}
		name := fmt.Sprintf("%d:%+v", k, req)
		plain, err := db.Fetch("s", req.FetchRequest)
		if err != nil {
			t.Fatalf("%s: fetch: %v", name, err)
		}
		got, err := db.FetchConsolidated("s", req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		by := req.By
		if by == 0 {
			by = req.CF
		}
		ws, wstep, wv := reduceRef(by, plain.Start, plain.Step, plain.Column(req.DS), req.Step)
		if got.Start != ws || got.Step != wstep || len(got.Values) != len(wv) || got.End != ws+int64(len(wv))*wstep {
			t.Fatalf("%s: %d..%d/%d %d rows, want %d/%d %d rows", name, got.Start, got.End, got.Step, len(got.Values), ws, wstep, len(wv))
		}
		if got.RRA != plain.RRA || got.CF != plain.CF || got.ArchiveStep != plain.Step || got.ArchiveRows != int64(plain.Rows()) {
			t.Fatalf("%s: archive %d %v step %d rows %d, want %d %v %d %d", name, got.RRA, got.CF, got.ArchiveStep, got.ArchiveRows,
				plain.RRA, plain.CF, plain.Step, plain.Rows())
		}
		for i, w := range wv {
			if g := got.Values[i]; math.Float64bits(g) != math.Float64bits(w) && !(math.IsNaN(g) && math.IsNaN(w)) {
				t.Fatalf("%s: row %d = %v, want %v", name, i, g, w)
			}
		}
	}
	if db.DamagedBlocks() == 0 {
		t.Error("the damaged block was never read")
	}
}

// TestFetchConsolidatedErrors: a data source the series lacks and a
// request Fetch refuses are errors.
func TestFetchConsolidatedErrors(t *testing.T) {
	t.Parallel()
	r := rowSumRef(t, 50)
	for _, req := range []ConsolidateRequest{
		{FetchRequest: FetchRequest{CF: Average, Start: 1000000000, End: 1000000500, DS: "nope"}, Step: 60},
		{FetchRequest: FetchRequest{CF: Average, Start: 1000000000, End: 1000000500}, Step: 60},
		{FetchRequest: FetchRequest{CF: Average, Start: 1000000500, End: 1000000000, DS: "g"}, Step: 60},
		{FetchRequest: FetchRequest{CF: Average, Start: 10, End: 1000000000, DS: "g"}, Step: 60},
		{FetchRequest: FetchRequest{CF: HWPredict, Start: 1000000000, End: 1000000500, DS: "g"}, Step: 60}, // no such archive
	} {
		if res, err := r.FetchConsolidated(req); err == nil {
			t.Errorf("%+v: %+v, want an error", req, res)
		}
	}
}

// BenchmarkFetchConsolidated: a year of 1-minute rows reduced to 800
// points, against Fetch (the reduction then costs another pass).
func BenchmarkFetchConsolidated(b *testing.B) {
	db, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const rows = 366 * 1440
	spec, err := ParseSpecArgs(60, 1600000000, []string{"DS:v:GAUGE:120:U:U", "DS:w:GAUGE:120:U:U", fmt.Sprintf("RRA:AVERAGE:0.5:1:%d", rows)})
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Create("s", spec, false); err != nil {
		b.Fatal(err)
	}
	for k := 0; k < rows; k += 10000 {
		var batch Batch
		for i := k; i < min(k+10000, rows); i++ {
			batch.Updates = append(batch.Updates, Update{Series: "s", Time: 1600000000 + 60*int64(i+1), Values: []string{fmt.Sprint(i % 1000), "1"}})
		}
		if _, err := db.Apply(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	end := int64(1600000000 + 60*rows)
	req := ConsolidateRequest{FetchRequest: FetchRequest{CF: Average, Start: end - 365*86400, End: end, Resolution: 39420, DS: "v"}, Step: 39420}
	b.Run("consolidated", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.FetchConsolidated("s", req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fetch", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.Fetch("s", req.FetchRequest); err != nil {
				b.Fatal(err)
			}
		}
	})
}
