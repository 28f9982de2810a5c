package rpn

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"rrdash/store"
)

// twoArchives answers fetches as a file with a 300 s archive (rows 1, 2,
// 3, …) and a 1800 s one (all 0), picking like rrd_fetch: the 300 s one
// for resolutions up to 300·2, else the 1800 s one.
type twoArchives struct{ asked []int64 }

func (f *twoArchives) Fetch(name string, req store.FetchRequest) (*store.FetchResult, error) {
	f.asked = append(f.asked, req.Resolution)
	step := int64(1800)
	if req.Resolution <= 600 {
		step = 300
	}
	start := req.Start - req.Start%step
	end := req.End + step - req.End%step
	n := (end - start) / step
	col := make([]float64, n)
	for i := range col {
		if step == 300 {
			col[i] = float64((start + int64(i+1)*step) / 300)
		}
	}
	return &store.FetchResult{Start: start, End: end, Step: step, DS: []string{"v"}, Values: [][]float64{col}, CF: req.CF}, nil
}

// TestReduceStepDEF: a DEF's step= below the base step picks the archive
// (rrdtool fetches at the DEF's step) and the rows are then reduced to
// the base step, as rrdtool's data_fetch does. Before, the fetch asked for
// the base step and got the coarse archive, unreduced.
func TestReduceStepDEF(t *testing.T) {
	t.Parallel()
	sc, err := ParseScript([]string{"DEF:a=s:v:MAX:step=600", "DEF:b=s:v:MAX", "XPORT:a", "XPORT:b"})
	if err != nil {
		t.Fatal(err)
	}
	const start, end = 1700065799, 1700324999
	f := &twoArchives{}
	vals, err := sc.Evaluate(context.Background(), f, Request{Start: start, End: end, MaxRows: 193})
	if err != nil {
		t.Fatal(err)
	}
	step0 := int64((end - start) / 193) // 1343
	if len(f.asked) != 2 || f.asked[0] != 600 || f.asked[1] != step0 {
		t.Errorf("fetch resolutions %v, want [600 %d]", f.asked, step0)
	}
	a, _, _ := sc.Lookup(vals, "a")
	if a.Step != 1500 { // ceil(1343/300)·300
		t.Fatalf("a: step %d, want 1500 (300 s rows reduced by 5)", a.Step)
	}
	// Row k covers 300 s rows whose values are their end time / 300;
	// MAX of a group of 5 is the last one's.
	for i, v := range a.Values {
		if math.IsNaN(v) {
			continue
		}
		if want := float64((a.Start + int64(i+1)*a.Step) / 300); v != want {
			t.Fatalf("a row %d = %v, want %v", i, v, want)
		}
	}
	b, _, _ := sc.Lookup(vals, "b")
	if b.Step != 1800 {
		t.Errorf("b: step %d, want 1800 (the coarse archive, not reduced)", b.Step)
	}
}

type failingFetcher struct{}

func (failingFetcher) Fetch(name string, req store.FetchRequest) (*store.FetchResult, error) {
	return nil, fmt.Errorf("no series %q", name)
}

// TestMissingAsNaN: with MissingAsNaN a DEF whose fetch fails is unknown
// rows of its step (rrdtool graph --use-nan-for-all-missing-data), two
// data sources of one missing series included; without it, an error.
func TestMissingAsNaN(t *testing.T) {
	t.Parallel()
	sc, err := ParseScript([]string{"DEF:a=gone:x:AVERAGE:step=600", "DEF:b=gone:y:AVERAGE", "CDEF:c=a,b,+", "XPORT:c"})
	if err != nil {
		t.Fatal(err)
	}
	req := Request{Start: 1700000100, End: 1700086400, MaxRows: 100}
	if _, err := sc.Evaluate(context.Background(), failingFetcher{}, req); err == nil {
		t.Fatal("no error for a missing series")
	}
	req.MissingAsNaN = true
	vals, err := sc.Evaluate(context.Background(), failingFetcher{}, req)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b", "c"} {
		s, _, _ := sc.Lookup(vals, name)
		if len(s.Values) == 0 {
			t.Fatalf("%s: no rows", name)
		}
		for i, v := range s.Values {
			if !math.IsNaN(v) {
				t.Fatalf("%s row %d = %v, want NaN", name, i, v)
			}
		}
	}
	if a, _, _ := sc.Lookup(vals, "a"); a.Step != 1200 { // 600 reduced to ≥ 863: 2×600
		t.Errorf("a: step %d, want 1200", a.Step)
	}
	if b, _, _ := sc.Lookup(vals, "b"); b.Step != 863 { // (86400-100)/100
		t.Errorf("b: step %d, want 863", b.Step)
	}
	// As rrdtool: the first empty fetch of a series (its data source only)
	// serves every DEF with the same CF and step, so another data source
	// is missing from it.
	sc, err = ParseScript([]string{"DEF:a=gone:x:AVERAGE", "DEF:b=gone:x:AVERAGE", "DEF:c=gone:y:AVERAGE", "XPORT:a"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Evaluate(context.Background(), failingFetcher{}, req); err == nil || !strings.Contains(err.Error(), `no data source "y"`) {
		t.Errorf("a second data source of a missing series: err = %v", err)
	}
}
