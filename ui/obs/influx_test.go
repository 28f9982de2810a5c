package obs_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"rrdash/ui/obs"
	"rrdash/ui/obs/influxtest"
)

// monitoredServer serves routes that answer 2xx, 4xx, 5xx and panic
// through obs.Middleware with mon as an observer.
func monitoredServer(t *testing.T, mon *obs.Monitoring) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("POST /api/v1/write", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /g/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "missing" {
			http.Error(w, "no such graph", http.StatusNotFound)
		}
	})
	mux.HandleFunc("POST /bad", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "bad", http.StatusBadRequest) })
	mux.HandleFunc("GET /boom", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", http.StatusServiceUnavailable) })
	mux.HandleFunc("POST /panic", func(w http.ResponseWriter, r *http.Request) { panic("test panic") })
	srv := httptest.NewUnstartedServer(obs.Middleware(mux, nil, mon))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

type call struct {
	method, path, route, code string
	status                    int
}

var calls = []call{
	{"GET", "/ok", "GET:/ok", "", 200},
	{"POST", "/api/v1/write", "POST:/api/v1/write", "", 204},
	{"GET", "/g/abc", "GET:/g/{id}", "", 200},
	{"GET", "/g/missing", "GET:/g/{id}", "not_found", 404},
	{"POST", "/bad", "POST:/bad", "bad_request", 400},
	{"GET", "/boom", "GET:/boom", "service_unavailable", 503},
	{"GET", "/nowhere", obs.Unmatched, "not_found", 404},
	{"POST", "/panic", "POST:/panic", obs.ErrorCodePanic, 500},
}

// drive makes n requests cycling through calls and returns the request id
// of each answered one, by call index (a panic's answer never arrives).
func drive(t *testing.T, base string, n int, counts map[int]int) map[string]int {
	t.Helper()
	ids := map[string]int{}
	client := &http.Client{Timeout: 10 * time.Second}
	for i := range n {
		c := calls[i%len(calls)]
		req, _ := http.NewRequest(c.method, base+c.path, strings.NewReader("x"))
		resp, err := client.Do(req)
		counts[i%len(calls)]++
		if c.code == obs.ErrorCodePanic {
			if err == nil {
				resp.Body.Close()
				t.Fatalf("%s %s: answered %s, want a dropped connection", c.method, c.path, resp.Status)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Fatalf("%s %s: %s, want %d", c.method, c.path, resp.Status, c.status)
		}
		id := resp.Header.Get("X-Request-Id")
		if len(id) != 16 {
			t.Fatalf("%s %s: X-Request-Id %q", c.method, c.path, id)
		}
		ids[id] = i % len(calls)
	}
	return ids
}

func num(v any) int {
	var n int
	fmt.Sscan(fmt.Sprint(v), &n)
	return n
}

// TestInfluxSinkRealInfluxDB sends the request points of 1,000 requests to
// a real InfluxDB 1.6 and finds each exactly once with its tags, then stops
// InfluxDB: requests go on, points are dropped and counted, and sending
// resumes once it is back. (POST /panic: net/http's client would retry a
// GET whose connection dropped, and count it twice.)
func TestInfluxSinkRealInfluxDB(t *testing.T) {
	influx := influxtest.Start(t)
	influx.CreateDatabase("mon")
	sink, err := obs.NewInfluxSink(obs.InfluxConfig{URL: influx.URL, Database: "mon", Service: "rrdash-test", Gzip: true})
	if err != nil {
		t.Fatal(err)
	}
	reg := obs.NewRegistry()
	mon := obs.NewMonitoring(reg, nil)
	mon.Add("influxdb", sink, obs.SinkOptions{FlushInterval: 100 * time.Millisecond, BatchSize: 300, QueueSize: 2000,
		MaxAttempts: 2, RetryBackoff: 300 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { mon.Run(ctx) })
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			wg.Wait()
		}
	}
	defer stop()
	srv := monitoredServer(t, mon)

	counts := map[int]int{}
	ids := drive(t, srv.URL, 1000, counts)
	waitFor(t, "1000 request points in InfluxDB", func() bool {
		rows, err := influx.Query("mon", "SELECT count(execution_time) FROM requests")
		return err == nil && len(rows) == 1 && num(rows[0]["count"]) == 1000
	})

	// every request: route, status and service tags, once
	rows := influx.MustQuery("mon", "SELECT count(execution_time) FROM requests GROUP BY route, status_code, service")
	got := map[string]int{}
	for _, r := range rows {
		if r["service"] != "rrdash-test" {
			t.Errorf("service tag %v", r["service"])
		}
		got[fmt.Sprintf("%v %v", r["route"], r["status_code"])] = num(r["count"])
	}
	want := map[string]int{}
	for i, n := range counts {
		want[fmt.Sprintf("%s %d", calls[i].route, calls[i].status)] += n
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("requests by route and status:\n got %v\nwant %v", got, want)
	}
	// every answered request id exactly once, with its route
	rows = influx.MustQuery("mon", "SELECT request_id, route, execution_time FROM requests")
	seen := map[string]int{}
	for _, r := range rows {
		id := fmt.Sprint(r["request_id"])
		seen[id]++
		if ci, ok := ids[id]; ok && r["route"] != calls[ci].route {
			t.Errorf("request %s: route %v, want %s", id, r["route"], calls[ci].route)
		}
		if d := fmt.Sprint(r["execution_time"]); strings.HasPrefix(d, "-") {
			t.Errorf("request %s: execution_time %s", id, d)
		}
	}
	for id := range ids {
		if seen[id] != 1 {
			t.Errorf("request id %s seen %d times", id, seen[id])
		}
	}
	if len(seen) != 1000 {
		t.Errorf("%d distinct request ids, want 1000", len(seen))
	}
	// failed requests in `errors`, with their error codes
	rows = influx.MustQuery("mon", "SELECT count(request_id) FROM errors GROUP BY error_code, route, status_code")
	gotErr := map[string]int{}
	for _, r := range rows {
		gotErr[fmt.Sprintf("%v %v %v", r["route"], r["status_code"], r["error_code"])] = num(r["count"])
	}
	wantErr := map[string]int{}
	for i, n := range counts {
		if calls[i].status >= 400 {
			wantErr[fmt.Sprintf("%s %d %s", calls[i].route, calls[i].status, calls[i].code)] += n
		}
	}
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
		t.Errorf("errors by route, status and code:\n got %v\nwant %v", gotErr, wantErr)
	}

	// InfluxDB down: requests are answered as before, points are dropped
	// (queue full) or failed (retries spent), and counted.
	influx.Stop()
	for i := 0; ; i++ {
		drive(t, srv.URL, 500, map[int]int{})
		if c := sinkCounts(reg); c["dropped"] > 0 && c["failed"] > 0 {
			break
		}
		if i == 40 {
			t.Fatalf("InfluxDB down for 20,000 requests, and still %v", sinkCounts(reg))
		}
	}
	influx.Start()
	before := len(influx.MustQuery("mon", "SELECT request_id FROM requests"))
	drive(t, srv.URL, 100, map[int]int{})
	waitFor(t, "points sent again after InfluxDB is back", func() bool {
		rows, err := influx.Query("mon", "SELECT request_id FROM requests")
		return err == nil && len(rows) >= before+100
	})
	stop()
	c := sinkCounts(reg)
	t.Logf("sink counts: %v", c)
	if c["sent"] < 1100 {
		t.Errorf("sent %v, want at least 1100", c["sent"])
	}
}

func sinkCounts(reg *obs.Registry) map[string]float64 {
	out := map[string]float64{}
	for _, f := range reg.Gather() {
		if f.Name == "rrdash_monitoring_points_total" {
			for _, p := range f.Points {
				out[p.LabelValues[1]] = p.Value
			}
		}
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
