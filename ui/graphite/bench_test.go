package graphite

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
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
	// both over HTTP on loopback; the time is the request and reading
	// the whole answer (decoded afterwards, once, to compare)
	srv := httptest.NewServer(http.HandlerFunc(api.Render))
	defer srv.Close()
	fetch := func(base string, q url.Values) []byte {
		resp, err := http.Get(base + "/render?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v %.4000s", base, resp.StatusCode, err, body)
		}
		return body
	}
	// interleaved (the machine is shared: both see the same load), best
	// of 7 each; rrdash's CPU time is this process's (server and client:
	// an upper bound)
	compare := func(what string, gwURL, ourURL string, q url.Values) {
		var gwBody, ourBody []byte
		dg, dr, cpu := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
		for i := 0; i < 7; i++ {
			st := time.Now()
			gwBody = fetch(gwURL, q)
			dg = min(dg, time.Since(st))
			c0 := processCPU()
			st = time.Now()
			ourBody = fetch(ourURL, q)
			dr = min(dr, time.Since(st))
			cpu = min(cpu, processCPU()-c0)
		}
		var want, got []renderedSeries
		if err := json.Unmarshal([]byte(strings.ReplaceAll(string(gwBody), "1e9999", "1e308")), &want); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(ourBody, &got); err != nil {
			t.Fatal(err)
		}
		if d := diffRendered(got, want); d != "" {
			t.Errorf("%s: answers differ: %s", what, d)
		}
		t.Logf("%s, best of 7 interleaved: graphite-web %v, rrdash %v (%.1f×; rrdash CPU %v)", what, dg, dr, float64(dg)/float64(dr), cpu)
	}

	// one series × 1 year: minutely points, an hourly archive of 366 days
	yearDB, year := yearStore(t)
	gwYear := startGraphiteWeb(t, year)
	yearSrv := httptest.NewServer(http.HandlerFunc(New(yearDB, Options{}).Render))
	defer yearSrv.Close()
	q := url.Values{"target": {"year.cpu"}, "from": {"-1y"}, "now": {strconv.FormatInt(diffNow, 10)}, "format": {"json"}}
	compare("one series × 1 year (8,760 points)", gwYear, yearSrv.URL, q)
	// second: on a loaded machine graphite-web's 1,000-series fetch may
	// trip its FETCH_TIMEOUT (6 s), which must not hide the year's figure
	compare("sumSeries over 1,000 series × 1 day", gw, srv.URL, benchQuery)
}

// yearStore holds "year.cpu": a year of minutely points, archives 1m×1d,
// 5m×1w, 1h×366d.
func yearStore(tb testing.TB) (*store.DB, []diffSeries) {
	tb.Helper()
	s := diffSeries{path: "year.cpu", points: map[int64]float64{}, archives: [][2]int64{{60, 1440}, {300, 2016}, {3600, 8784}}}
	start := diffNow - 365*86400
	for t := start; t < diffNow; t += 60 {
		s.points[t] = float64(t/60%1000) / 8
	}
	db, err := store.Open(tb.TempDir(), store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	sp := diffSpec()
	sp.Start = start
	sp.RRA[2].Rows = 8784
	if err := db.Create(s.path, sp, false); err != nil {
		tb.Fatal(err)
	}
	var ups []store.Update
	flush := func() {
		if res, err := db.Apply(context.Background(), store.Batch{Updates: ups}); err != nil || len(res.Errors) > 0 {
			tb.Fatal(err, res.Errors)
		}
		ups = ups[:0]
	}
	for t := start; t < diffNow; t += 60 {
		ups = append(ups, store.Update{Series: s.path, Time: t + 60, Values: []string{strconv.FormatFloat(s.points[t], 'g', -1, 64)}})
		if len(ups) == 10000 {
			flush()
		}
	}
	flush()
	return db, []diffSeries{s}
}

// BenchmarkRenderYear: /render of one series over a year (8,760 hourly points).
func BenchmarkRenderYear(b *testing.B) {
	db, _ := yearStore(b)
	api := New(db, Options{})
	q := url.Values{"target": {"year.cpu"}, "from": {"-1y"}, "now": {strconv.FormatInt(diffNow, 10)}, "format": {"json"}}
	for b.Loop() {
		rec := httptest.NewRecorder()
		api.Render(rec, httptest.NewRequest(http.MethodGet, "/render?"+q.Encode(), nil))
		if rec.Code != 200 {
			b.Fatal(rec.Body.String())
		}
	}
}

// processCPU is this process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
