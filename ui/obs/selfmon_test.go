package obs

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"rrdash/store"
)

func exactQuantile(vals []float64, q float64) float64 {
	s := slices.Clone(vals)
	slices.Sort(s)
	r := max(int(math.Ceil(q*float64(len(s)))), 1)
	return s[r-1]
}

func TestSketchAccuracy(t *testing.T) {
	t.Parallel()
	gen := func(n int, f func(i int) float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = f(i)
		}
		return v
	}
	tests := []struct {
		name string
		vals []float64
	}{
		{"one", []float64{12.5}},
		{"constant", gen(1000, func(int) float64 { return 3 })},
		{"uniform", gen(10000, func(i int) float64 { return 1 + float64(i%997) })},
		{"long tail", gen(5000, func(i int) float64 { return math.Exp(float64(i%500) / 50) })},
		{"sub-microsecond", gen(100, func(i int) float64 { return 1e-4 * float64(i+1) })},
		{"two clusters", gen(1000, func(i int) float64 { return []float64{0.8, 2400}[i%10/9] })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var sk sketch
			for _, v := range tc.vals {
				sk.add(v)
			}
			if sk.n != int64(len(tc.vals)) || sk.max != slices.Max(tc.vals) {
				t.Fatalf("count %d max %v", sk.n, sk.max)
			}
			for _, q := range []float64{0.5, 0.9, 0.99, 1} {
				want := exactQuantile(tc.vals, q)
				got := sk.quantile(q)
				if want <= sketchMin {
					if got > sketchMin {
						t.Errorf("q%v = %v, want ≤ %v", q, got, sketchMin)
					}
					continue
				}
				if math.Abs(got-want)/want > 0.01 {
					t.Errorf("q%v = %v, exact %v: off by more than 1%%", q, got, want)
				}
			}
		})
	}
	var empty sketch
	if !math.IsNaN(empty.quantile(0.5)) || empty.values()[1] != "U" {
		t.Error("empty sketch: want unknown percentiles")
	}
}

func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// row returns the AVERAGE row ending at end of every DS of a series.
func row(t *testing.T, db *store.DB, name string, end int64) map[string]float64 {
	t.Helper()
	res, err := db.Fetch(name, store.FetchRequest{CF: store.Average, Start: end - 60, End: end, Resolution: 60})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	out := map[string]float64{}
	for i, ds := range res.DS {
		out[ds] = res.Values[i][0]
	}
	return out
}

func TestSelfMonWritesSteps(t *testing.T) {
	t.Parallel()
	db := openStore(t)
	sm := NewSelfMon(db, SelfMonConfig{Step: 60})
	const t0 = 1_800_000_000 - 1_800_000_000%60
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	// Step 1: 100 requests of 1..100 ms on one route, two failures.
	for i := 1; i <= 100; i++ {
		sm.ObserveRequest("GET:/g/{id}", 200, "", ms(float64(i)))
	}
	sm.ObserveRequest("GET:/g/{id}", 404, "not_found", ms(2))
	sm.ObserveRequest(Unmatched, 404, "not_found", ms(1))
	ctx := context.Background()
	if err := sm.WriteStep(ctx, t0); err != nil {
		t.Fatal(err)
	}
	// Step 2: nothing. Step 3: one slow request.
	if err := sm.WriteStep(ctx, t0+60); err != nil {
		t.Fatal(err)
	}
	sm.ObserveRequest("GET:/g/{id}", 200, "", 1500*time.Millisecond)
	if err := sm.WriteStep(ctx, t0+120); err != nil {
		t.Fatal(err)
	}
	// Step 4, to close step 3's primary data point.
	if err := sm.WriteStep(ctx, t0+180); err != nil {
		t.Fatal(err)
	}
	ok := RequestSeriesName("GET:/g/{id}", 200)
	if ok != "rrdash.requests;route=GET:/g/{id};status_code=200" {
		t.Fatalf("series name %q", ok)
	}
	near := func(got, want float64) bool { return math.Abs(got-want) <= 0.01*want }
	tests := []struct {
		name string
		end  int64
		want map[string]float64 // NaN: unknown
	}{
		{ok, t0 + 60, map[string]float64{"count": 0, "p50": math.NaN(), "max": math.NaN()}},
		{ok, t0 + 120, map[string]float64{"count": 1, "p50": 1500, "p90": 1500, "p99": 1500, "max": 1500}},
		{RequestSeriesName("GET:/g/{id}", 404), t0 + 120, map[string]float64{"count": 0}},
		{ErrorSeriesName("GET:/g/{id}", 404, "not_found"), t0 + 60, map[string]float64{"count": 0}},
		{ErrorSeriesName(Unmatched, 404, "not_found"), t0 + 120, map[string]float64{"count": 0}},
	}
	for _, tc := range tests {
		got := row(t, db, tc.name, tc.end)
		for ds, w := range tc.want {
			g := got[ds]
			if math.IsNaN(w) != math.IsNaN(g) || !math.IsNaN(w) && !near(g, w) && g != w {
				t.Errorf("%s %s at %d = %v, want %v", tc.name, ds, tc.end, g, w)
			}
		}
	}
	// (The first step's values: TestSelfMonFirstStepValues.)
	sp, err := db.Spec(ok)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range sp.DS {
		names = append(names, d.Name+":"+d.Type.String())
	}
	if strings.Join(names, " ") != "count:GAUGE p50:GAUGE p90:GAUGE p99:GAUGE max:GAUGE" {
		t.Errorf("data sources %v", names)
	}
	// The same second again is refused by the store, and said so.
	sm.ObserveRequest("GET:/g/{id}", 200, "", ms(1))
	if err := sm.WriteStep(ctx, t0+180); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("second flush at the same time: %v, want refused", err)
	}
}

// TestSelfMonFirstStepValues checks the values of the first step, which
// the store turns into a row once the series' start precedes it.
func TestSelfMonFirstStepValues(t *testing.T) {
	t.Parallel()
	db := openStore(t)
	sm := NewSelfMon(db, SelfMonConfig{Step: 60})
	const t0 = 1_800_000_000 - 1_800_000_000%60
	name := RequestSeriesName("POST:/api/v1/write", 204)
	if err := sm.Precreate(t0-60, name); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 1000; i++ {
		sm.ObserveRequest("POST:/api/v1/write", 204, "", time.Duration(i)*time.Millisecond)
	}
	if err := sm.WriteStep(context.Background(), t0); err != nil {
		t.Fatal(err)
	}
	if err := sm.WriteStep(context.Background(), t0+60); err != nil {
		t.Fatal(err)
	}
	got := row(t, db, name, t0)
	for ds, want := range map[string]float64{"count": 1000, "p50": 500, "p90": 900, "p99": 990, "max": 1000} {
		if g := got[ds]; math.Abs(g-want) > 0.01*want {
			t.Errorf("%s = %v, want %v ±1%%", ds, g, want)
		}
	}
	if got := row(t, db, name, t0+60)["count"]; got != 0 {
		t.Errorf("quiet step count %v, want 0", got)
	}
}

func TestSelfMonOverflow(t *testing.T) {
	t.Parallel()
	db := openStore(t)
	sm := NewSelfMon(db, SelfMonConfig{Step: 60, MaxSeries: 3})
	for _, r := range []string{"GET:/a", "GET:/b", "GET:/c", "GET:/d", "GET:/e"} {
		sm.ObserveRequest(r, 200, "", time.Millisecond)
	}
	if err := sm.WriteStep(context.Background(), 1_800_000_000); err != nil {
		t.Fatal(err)
	}
	names, err := db.List("")
	if err != nil {
		t.Fatal(err)
	}
	// The first three routes seen keep their names.
	want := []string{RequestSeriesName("GET:/a", 200), RequestSeriesName("GET:/b", 200), RequestSeriesName("GET:/c", 200), RequestSeriesName("overflow", 200)}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("series %v, want %v", names, want)
	}
}

// TestSelfMonSinkFlushesAtShutdown: as the `rrdash` monitoring sink, a
// request point queued before shutdown is in the partial step written when
// the sink is closed.
func TestSelfMonSinkFlushesAtShutdown(t *testing.T) {
	t.Parallel()
	db := openStore(t)
	now := time.Unix(1_800_000_030, 0)
	sm := NewSelfMon(db, SelfMonConfig{Step: 60, Now: func() time.Time { return now }})
	mon := NewMonitoring(NewRegistry(), nil)
	mon.Add("rrdash", sm, SinkOptions{FlushInterval: time.Hour})
	mon.ObserveRequest(&Request{Route: "GET:/", Status: 200, Duration: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sm.Run(ctx); err != context.Canceled {
		t.Fatalf("Run: %v", err)
	}
	if err := mon.Run(ctx); err != nil {
		t.Fatalf("monitoring: %v", err)
	}
	last, err := db.LastUpdate(RequestSeriesName("GET:/", 200))
	if err != nil || last != now.Unix() {
		t.Errorf("last update %d (%v), want %d", last, err, now.Unix())
	}
}

// TestSelfMonNodeTag: with Node set (cluster mode) every series carries
// the node's tag, in sorted tag order, so the nodes' series are distinct
// cluster series.
func TestSelfMonNodeTag(t *testing.T) {
	t.Parallel()
	db := openStore(t)
	sm := NewSelfMon(db, SelfMonConfig{Step: 60, Node: "n2"})
	const t0 = 1_800_000_000 - 1_800_000_000%60
	sm.ObserveRequest("GET:/g/{id}", 200, "", time.Millisecond)
	sm.ObserveRequest("GET:/g/{id}", 404, "not_found", time.Millisecond)
	if err := sm.WriteStep(context.Background(), t0); err != nil {
		t.Fatal(err)
	}
	names, err := db.List("")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"rrdash.errors;error_code=not_found;node=n2;route=GET:/g/{id};status_code=404",
		"rrdash.requests;node=n2;route=GET:/g/{id};status_code=200",
		"rrdash.requests;node=n2;route=GET:/g/{id};status_code=404",
	}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Fatalf("series %q, want %q", names, want)
	}
}
