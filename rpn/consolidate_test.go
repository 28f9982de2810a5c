package rpn

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"rrdash/store"
)

// plainFetcher hides a DB's FetchConsolidated: evaluation then fetches
// every row and reduces them itself.
type plainFetcher struct{ db *store.DB }

func (p plainFetcher) Fetch(name string, req store.FetchRequest) (*store.FetchResult, error) {
	return p.db.Fetch(name, req)
}

// TestConsolidatedFetchEvaluatesAsPlain: scripts evaluated over a DB
// (which consolidates while it reads) give the same series, VDEFs and
// budget as over the plain fetch followed by reduceSeries, bit for bit.
func TestConsolidatedFetchEvaluatesAsPlain(t *testing.T) {
	t.Parallel()
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	spec, err := store.ParseSpecArgs(60, 1600000000, []string{"DS:v:GAUGE:120:U:U", "DS:w:GAUGE:120:U:U",
		"RRA:AVERAGE:0.5:1:3000", "RRA:MAX:0.5:1:3000", "RRA:AVERAGE:0.5:7:600", "RRA:MIN:0.5:7:600", "RRA:LAST:0.5:30:200"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Create("s", spec, false); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 5))
	var batch store.Batch
	const rows = 5000
	for i := range rows {
		v := fmt.Sprint(rng.NormFloat64() * 100)
		if rng.IntN(9) == 0 {
			v = "U"
		}
		batch.Updates = append(batch.Updates, store.Update{Series: "s", Time: 1600000000 + 60*int64(i+1), Values: []string{v, fmt.Sprint(rng.IntN(50))}})
	}
	if _, err := db.Apply(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	end := int64(1600000000 + 60*rows)
	scripts := [][]string{
		{"DEF:a=s:v:AVERAGE", "DEF:b=s:w:MAX", "CDEF:c=a,b,+", "VDEF:m=a,MAXIMUM", "VDEF:g=c,AVERAGE", "VDEF:l=b,LAST"},
		{"DEF:a=s:v:AVERAGE:reduce=MIN", "DEF:b=s:v:AVERAGE:reduce=LAST", "DEF:c=s:w:MIN:step=420", "VDEF:p=a,95,PERCENT", "VDEF:t=b,MINIMUM"},
		{"DEF:a=s:v:LAST:step=60", "DEF:b=s:v:AVERAGE:start=end-1d", "DEF:c=s:v:MAX:reduce=AVERAGE", "CDEF:d=a,b,c,+,+", "VDEF:s=d,TOTAL"},
	}
	for k := range 60 {
		sc, err := ParseScript(scripts[k%len(scripts)])
		if err != nil {
			t.Fatal(err)
		}
		start := end - int64(60+rng.IntN(300000))
		req := Request{Start: start, End: start + int64(60+rng.IntN(200000)), MaxRows: 10 + rng.IntN(900),
			Env: Env{Loc: nil, Now: end}}
		if k%4 == 0 {
			req.Step = int64(rng.IntN(3000))
		}
		name := fmt.Sprintf("%d %v %+v", k, scripts[k%len(scripts)], req)
		got, gm, err := sc.evaluate(context.Background(), db, req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want, wm, err := sc.evaluate(context.Background(), plainFetcher{db}, req)
		if err != nil {
			t.Fatalf("%s: plain: %v", name, err)
		}
		if gm.used != wm.used {
			t.Errorf("%s: work %d, plain %d", name, gm.used, wm.used)
		}
		for i, st := range sc.Stmts {
			g, w := got.Series[i], want.Series[i]
			if (g == nil) != (w == nil) || g != nil && (g.Start != w.Start || g.Step != w.Step || len(g.Values) != len(w.Values)) {
				t.Fatalf("%s: %s: %+v, want %+v", name, st.Text, g, w)
			}
			for r := range len(values(g)) {
				if !sameBits(g.Values[r], w.Values[r]) {
					t.Fatalf("%s: %s row %d = %v, want %v", name, st.Text, r, g.Values[r], w.Values[r])
				}
			}
			if gv, wv := got.V[i], want.V[i]; !sameBits(gv.Value, wv.Value) || gv.Time != wv.Time || gv.HasTime != wv.HasTime {
				t.Fatalf("%s: %s = %+v, want %+v", name, st.Text, gv, wv)
			}
		}
	}
}

func values(s *Series) []float64 {
	if s == nil {
		return nil
	}
	return s.Values
}

func sameBits(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || math.IsNaN(a) && math.IsNaN(b)
}
