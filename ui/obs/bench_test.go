package obs

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// BenchmarkMiddleware: the per-request cost of request ids, metrics and
// monitoring around a ServeMux route that does nothing.
func BenchmarkMiddleware(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /g/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	for _, tc := range []struct {
		name string
		obs  func() []HTTPObserver
	}{
		{"none", func() []HTTPObserver { return nil }},
		{"metrics", func() []HTTPObserver { return []HTTPObserver{NewMetrics()} }},
		{"metrics+monitoring", func() []HTTPObserver {
			m := NewMetrics()
			mon := NewMonitoring(m.Registry, nil)
			mon.Add("discard", discardSink{}, SinkOptions{FlushInterval: time.Second})
			startMonitoring(b, mon)
			return []HTTPObserver{m, mon}
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h := Middleware(mux, nil, tc.obs()...)
			req := httptest.NewRequest(http.MethodGet, "/g/abc", nil)
			w := httptest.NewRecorder()
			for b.Loop() {
				h.ServeHTTP(w, req)
			}
		})
	}
}

// discardSink accepts every batch.
type discardSink struct{}

func (discardSink) Flush(context.Context, []Request) error { return nil }
func (discardSink) Close() error                           { return nil }

// BenchmarkMonitoringPath is the monitoring path of one request: the point
// made and handed to two sinks' queues (drained concurrently, as in serve).
// The budget: under 1 µs and 0 allocations.
func BenchmarkMonitoringPath(b *testing.B) {
	mon := NewMonitoring(NewRegistry(), nil)
	for _, n := range []string{"a", "b"} {
		mon.Add(n, discardSink{}, SinkOptions{FlushInterval: time.Second, BatchSize: 4096, QueueSize: 1 << 16})
	}
	startMonitoring(b, mon)
	t0 := time.Now()
	var id RequestID
	b.ReportAllocs()
	for b.Loop() {
		id++
		req := Request{ID: id, Start: t0, Duration: time.Millisecond, Route: "POST:/api/v1/write", Status: 204}
		mon.ObserveRequest(&req)
	}
}

func startMonitoring(b *testing.B, mon *Monitoring) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { mon.Run(ctx) })
	b.Cleanup(func() { cancel(); wg.Wait() })
}

// BenchmarkInfluxSinkFlush is the sink side of the InfluxDB path: 5,000
// points encoded, gzipped and POSTed (to a loopback server that discards
// the body). ns/point × 10,000 is the share of a core that a sink of
// 10,000 points/s takes.
func BenchmarkInfluxSinkFlush(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	s, err := NewInfluxSink(InfluxConfig{URL: srv.URL, Database: "mon", Gzip: true})
	if err != nil {
		b.Fatal(err)
	}
	pts := make([]Request, 5000)
	t0 := time.Now()
	for i := range pts {
		status := 200
		if i%10 == 0 {
			status = 404
		}
		pts[i] = Request{ID: RequestID(i), Start: t0.Add(time.Duration(i)), Duration: time.Millisecond, Route: "GET:/g/{id}", Status: status}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Flush(context.Background(), pts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(pts)), "ns/point")
}
