package graphite

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"rrdash/store"
)

// benchStore holds n series "bench.hNNNN.cpu" of one day of minutely
// points (diffSpec's archives) ending at diffNow.
func benchStore(tb testing.TB, n int) (*store.DB, []diffSeries) {
	tb.Helper()
	var data []diffSeries
	for i := 0; i < n; i++ {
		s := diffSeries{path: fmt.Sprintf("bench.h%04d.cpu", i), points: map[int64]float64{}}
		for t := diffNow - 86400; t < diffNow; t += 60 {
			s.points[t] = float64((t/60+int64(i))%100) / 4
		}
		data = append(data, s)
	}
	db, err := store.Open(tb.TempDir(), store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	for _, s := range data {
		if err := db.Create(s.path, diffSpec(), false); err != nil {
			tb.Fatal(err)
		}
		ups := make([]store.Update, 0, len(s.points))
		for t := diffNow - 86400; t < diffNow; t += 60 {
			ups = append(ups, store.Update{Series: s.path, Time: t + 60, Values: []string{strconv.FormatFloat(s.points[t], 'g', -1, 64)}})
		}
		if res, err := db.Apply(context.Background(), store.Batch{Updates: ups}); err != nil || len(res.Errors) > 0 {
			tb.Fatal(err, res.Errors)
		}
	}
	return db, data
}

var benchQuery = url.Values{"target": {"sumSeries(bench.*.cpu)"}, "from": {"-1d"}, "now": {strconv.FormatInt(diffNow, 10)}, "format": {"json"}}

// BenchmarkRenderSumSeries: /render of sumSeries over 1,000 series × 1 day.
func BenchmarkRenderSumSeries(b *testing.B) {
	db, _ := benchStore(b, 1000)
	api := New(db, Options{})
	for b.Loop() {
		rec := httptest.NewRecorder()
		api.Render(rec, httptest.NewRequest(http.MethodGet, "/render?"+benchQuery.Encode(), nil))
		if rec.Code != 200 {
			b.Fatal(rec.Body.String())
		}
	}
}

// BenchmarkFind: /metrics/find of bench.*.cpu over 1,000 series.
func BenchmarkFind(b *testing.B) {
	db, _ := benchStore(b, 1000)
	api := New(db, Options{})
	for b.Loop() {
		rec := httptest.NewRecorder()
		api.Find(rec, httptest.NewRequest(http.MethodGet, "/metrics/find?query=bench.*.cpu", nil))
		if rec.Code != 200 {
			b.Fatal(rec.Body.String())
		}
	}
}

// TestBenchAgainstGraphiteWeb times the same /render on rrdash and on
// graphite-web 1.1.8 (RRDASH_GRAPHITE_BENCH=1; docs/BENCHMARKS.md).
func TestBenchAgainstGraphiteWeb(t *testing.T) {
	if os.Getenv("RRDASH_GRAPHITE_BENCH") == "" {
		t.Skip("set RRDASH_GRAPHITE_BENCH=1 to compare with graphite-web")
	}
	needGraphiteWeb(t)
	db, data := benchStore(t, 1000)
	gw := startGraphiteWeb(t, data)
	api := New(db, Options{})
	time1 := func(f func()) time.Duration {
		best := time.Duration(math.MaxInt64)
		for i := 0; i < 5; i++ {
			st := time.Now()
			f()
			best = min(best, time.Since(st))
		}
		return best
	}
	var gwBody, ourBody []renderedSeries
	dg := time1(func() {
		code, out, msg := getRender(t, nil, gw, benchQuery)
		if code != 200 {
			t.Fatal(msg)
		}
		gwBody = out
	})
	dr := time1(func() {
		code, out, msg := getRender(t, http.HandlerFunc(api.Render), "", benchQuery)
		if code != 200 {
			t.Fatal(msg)
		}
		ourBody = out
	})
	if d := diffRendered(ourBody, gwBody); d != "" {
		t.Errorf("answers differ: %s", d)
	}
	t.Logf("sumSeries over 1,000 series × 1 day, best of 5: graphite-web %v, rrdash %v (%.1f×)", dg, dr, float64(dg)/float64(dr))
}
