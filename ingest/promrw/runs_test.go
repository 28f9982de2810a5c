package promrw

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"testing"

	"rrdash/ingest/push"
	"rrdash/ingest/push/pushtest"
	"rrdash/store"
)

// pointsOnly hides the writer's EnqueueRuns (and Enqueue): the handler
// then writes points, as for any PointWriter.
type pointsOnly struct{ w *push.Writer }

func (p pointsOnly) Write(ctx context.Context, pts []push.Point) (push.WriteResult, error) {
	return p.w.Write(ctx, pts)
}

// TestRunsAsPoints: a request handed to the writer as runs
// (push.RunEnqueuer) answers and stores what it does as points: the same
// series, values, types and answer, with a series of more than
// batchPoints samples (split), one named twice, stale markers, samples
// in the future and counters.
func TestRunsAsPoints(t *testing.T) {
	tmpl, err := store.ParseSpecArgs(1, 0, []string{"DS:value:GAUGE:10:U:U", "RRA:LAST:0.5:1:12000"})
	if err != nil {
		t.Fatal(err)
	}
	ms := func(sec int64) int64 { return sec * 1000 }
	long := tsIn{labels: [][2]string{{"__name__", "long_total"}, {"job", "x"}}}
	for i := range int64(batchPoints + 900) {
		long.samples = append(long.samples, Sample{float64(i * 3), ms(base-10000) + i*1000})
	}
	reqs := [][]byte{
		encodeRequest([]tsIn{
			long,
			{labels: [][2]string{{"__name__", "g"}, {"i", "1"}}, samples: []Sample{{0.5, ms(base + 1)}, {math.Float64frombits(staleNaN), ms(base + 2)}, {7, ms(base + 3)}, {8, ms(base + 1000)}}},
			{labels: [][2]string{{"__name__", "g"}, {"i", "2"}}, samples: []Sample{{1.25, ms(base+1) + 500}, {2.5, ms(base + 2)}}},
			{labels: [][2]string{{"__name__", "g"}, {"i", "1"}}, samples: []Sample{{9, ms(base + 2)}, {10, ms(base + 4)}}},
		}, []mdIn{{TypeCounter, "c"}}),
		encodeRequest([]tsIn{
			{labels: [][2]string{{"__name__", "c"}}, samples: []Sample{{1, ms(base + 1)}, {5, ms(base + 2)}, {9, ms(base + 3)}}},
			{labels: [][2]string{{"__name__", "g"}, {"i", "1"}}, samples: []Sample{{11, ms(base + 3)}, {12, ms(base + 5)}}},
		}, nil),
	}
	type result struct {
		answers []string
		stored  map[string]string
	}
	run := func(points bool) result {
		db := pushtest.Store(t)
		w := pushtest.Writer(t, db, push.WriterConfig{Template: tmpl})
		var pw push.PointWriter = w
		if points {
			pw = pointsOnly{w}
		}
		h, err := New(pw, Config{MaxBodyBytes: 1 << 20, Horizon: fixedHorizon})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		defer srv.Close()
		var r result
		for _, raw := range reqs {
			resp := postRW(t, srv.URL, raw)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			r.answers = append(r.answers, fmt.Sprintf("%d %s", resp.StatusCode, body))
		}
		r.stored = map[string]string{}
		for _, s := range []string{"long_total;job=x", "g;i=1", "g;i=2", "c"} {
			info, err := db.Info(s)
			if err != nil {
				t.Fatalf("%s: %v", s, err)
			}
			f, err := db.Fetch(s, store.FetchRequest{CF: store.Last, Start: base - 11000, End: base + 10})
			if err != nil {
				t.Fatal(err)
			}
			r.stored[s] = fmt.Sprint(info.DS[0].Type, f.Start, f.Values)
		}
		return r
	}
	want, got := run(true), run(false)
	if fmt.Sprint(got.answers) != fmt.Sprint(want.answers) {
		t.Errorf("answers as runs %q, as points %q", got.answers, want.answers)
	}
	for s, w := range want.stored {
		if got.stored[s] != w {
			t.Errorf("series %s as runs:\n%.300s\nas points:\n%.300s", s, got.stored[s], w)
		}
	}
	if want.answers[0][:3] != "400" { // the sample in the future
		t.Errorf("first answer %q, want a 400", want.answers[0])
	}
}

// TestConvertSamples: convert's loop (the usual sample without a call,
// any other apart) gives each series' samples as a plain loop over them
// does: stale markers dropped, future ones bad, counters rounded
// (infinities unknown), in every order.
func TestConvertSamples(t *testing.T) {
	ms := func(sec int64) int64 { return sec * 1000 }
	vals := []float64{1, 2.5, -3, math.Inf(1), math.Inf(-1), math.NaN(), math.Float64frombits(staleNaN), 1e300, -0.4}
	times := []int64{ms(base + 1), ms(base+2) + 250, ms(base + 100 + 61), ms(base + 100 + 60), -1500, ms(base + 3)}
	rng := rand.New(rand.NewPCG(24, 4))
	for round := range 200 {
		var series []tsIn
		for _, name := range []string{"c_total", "g"} {
			ts := tsIn{labels: [][2]string{{"__name__", name}}}
			for range rng.IntN(12) {
				ts.samples = append(ts.samples, Sample{vals[rng.IntN(len(vals))], times[rng.IntN(len(times))]})
			}
			series = append(series, ts)
		}
		h := newConvertHandler(t)
		got, gbad, _ := converted(t, h, encodeRequest(series, nil))
		var want []string
		wbad := 0
		limit := fixedHorizon.Limit()
		for _, ts := range series {
			typ := store.Gauge
			if ts.labels[0][1] == "c_total" {
				typ = store.Derive
			}
			for _, sm := range ts.samples {
				if math.Float64bits(sm.Value) == staleNaN {
					continue
				}
				sec, usec := splitMillis(sm.Timestamp)
				if limit.Check(sec, usec) != nil {
					wbad++
					continue
				}
				want = append(want, fmt.Sprint(ts.labels[0][1], sec, usec, math.Float64bits(sampleValue(sm.Value, typ))))
			}
		}
		var gs []string
		for _, p := range got {
			gs = append(gs, fmt.Sprint(p.Series, p.Sec, p.Usec, math.Float64bits(p.Num)))
		}
		if fmt.Sprint(gs) != fmt.Sprint(want) || gbad != wbad {
			t.Fatalf("round %d: %v (%d bad)\nwant %v (%d bad)", round, gs, gbad, want, wbad)
		}
	}
}
