package push

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"rrdash/store"
)

// TestEnqueueRunsAsPoints: EnqueueRuns takes runs exactly as Enqueue
// takes their points: the same results per write, counts and stored
// values, through late, out-of-order, same-second (replaced, also across
// writes in flight together), out-of-range and sub-second samples, series
// named twice in a write, handles and new series of another type.
func TestEnqueueRunsAsPoints(t *testing.T) {
	ctx := context.Background()
	type side struct {
		db *store.DB
		w  *Writer
	}
	var sides [2]side
	for i := range sides {
		db := openStore(t)
		w, err := NewWriter(db, WriterConfig{Template: exactTemplate(t)})
		if err != nil {
			t.Fatal(err)
		}
		sides[i] = side{db, w}
	}
	rng := rand.New(rand.NewPCG(24, 3))
	const base = int64(1_700_000_000)
	names := []string{"a", "b;k=v", "c", "d"}
	refs := [2][]*SeriesRef{} // each side's handles (a handle is one writer's)
	for i := range refs {
		for range names {
			refs[i] = append(refs[i], &SeriesRef{})
		}
	}
	next := base
	// runs makes a write's runs; ref picks side i's handles.
	genRuns := func() []NumRun {
		var runs []NumRun
		for range 1 + rng.IntN(5) {
			si := rng.IntN(len(names))
			r := NumRun{Series: names[si]}
			if si == 3 {
				r.Type = store.Derive
			}
			for range rng.IntN(30) {
				s := NumSample{Sec: next + int64(rng.IntN(40)) - 30, Usec: int64(rng.IntN(3)) * 250_000, Num: float64(rng.IntN(1000))}
				switch rng.IntN(40) {
				case 0:
					s.Sec = maxSec + 1
				case 1:
					s.Usec = 1_000_000
				}
				r.Samples = append(r.Samples, s)
			}
			runs = append(runs, r)
		}
		next += 20
		return runs
	}
	withRefs := func(runs []NumRun, i int) []NumRun {
		out := make([]NumRun, len(runs))
		for k, r := range runs {
			for si, n := range names {
				if n == r.Series && rng.IntN(2) == 0 {
					r.Ref = refs[i][si]
				}
			}
			out[k] = r
		}
		return out
	}
	for round := range 60 {
		// one to three writes in flight together
		writes := make([][]NumRun, 1+rng.IntN(3))
		for k := range writes {
			writes[k] = genRuns()
		}
		var got [2][]string
		for i, sd := range sides {
			var pds []*Pending
			for _, runs := range writes {
				var pd *Pending
				var err error
				if i == 0 {
					pd, err = sd.w.Enqueue(Points(nil, withRefs(runs, i)))
				} else {
					pd, err = sd.w.EnqueueRuns(withRefs(runs, i))
				}
				if err != nil {
					t.Fatal(err)
				}
				pds = append(pds, pd)
			}
			for _, pd := range pds {
				res, err := pd.Wait(ctx)
				got[i] = append(got[i], fmt.Sprintf("%+v %v", res, err))
			}
			got[i] = append(got[i], fmt.Sprintf("%+v", sd.w.Counts()))
		}
		if fmt.Sprint(got[0]) != fmt.Sprint(got[1]) {
			t.Fatalf("round %d: points %v\nruns %v", round, got[0], got[1])
		}
	}
	for _, n := range names {
		want, got := stored(t, sides[0].db, n, base-100, next+100), stored(t, sides[1].db, n, base-100, next+100)
		if len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("series %s: runs stored %v, points %v", n, got, want)
		}
	}
}

// TestPointsOfRuns: Points gives a run's samples as points, in order.
func TestPointsOfRuns(t *testing.T) {
	ref := &SeriesRef{}
	pts := Points([]Point{{Series: "x"}}, []NumRun{{Series: "a", Ref: ref, Type: store.Derive, Samples: []NumSample{{1, 2, 3}, {4, 5, 6}}}, {Series: "b"}})
	want := []Point{{Series: "x"}, {Series: "a", Sec: 1, Usec: 2, Num: 3, Numeric: true, Type: store.Derive, ref: ref}, {Series: "a", Sec: 4, Usec: 5, Num: 6, Numeric: true, Type: store.Derive, ref: ref}}
	if fmt.Sprint(pts) != fmt.Sprint(want) {
		t.Fatalf("%+v, want %+v", pts, want)
	}
}
