package obs

import (
	"bytes"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func parseText(t *testing.T, b []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, b)
	}
	return fams
}

func TestExpositionParses(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	c := r.Counter("x_requests_total", "Requests with \"quotes\", a \\ and\na newline.", "route", "code")
	c.With(`GET:/g/{id}`, "200").Add(3)
	c.With("we\"ird\\la\nbel", "500").Inc()
	c.With("neg", "200").Add(-5) // counters never go down
	g := r.Gauge("x_lag_seconds", "Lag.", "shard")
	g.With("s1").Set(1.5)
	g.With("s1").Add(-0.25)
	h := r.Histogram("x_duration_seconds", "Durations.", []float64{0.1, 1, 10})
	for _, v := range []float64{0.05, 0.1, 0.5, 5, 50, 0.1} {
		h.With().Observe(v)
	}
	r.CollectFunc("x_records_total", "Pulled.", KindCounter, []string{"source"}, func(emit func(float64, ...string)) {
		emit(7, "push")
		emit(9, "graphite")
		emit(1) // wrong label count: dropped, not a broken exposition
	})
	var buf bytes.Buffer
	if err := WriteText(&buf, r.Gather()); err != nil {
		t.Fatal(err)
	}
	fams := parseText(t, buf.Bytes())
	type want struct {
		fam    string
		labels map[string]string
		value  float64
	}
	for _, w := range []want{
		{"x_requests_total", map[string]string{"route": "GET:/g/{id}", "code": "200"}, 3},
		{"x_requests_total", map[string]string{"route": "we\"ird\\la\nbel", "code": "500"}, 1},
		{"x_requests_total", map[string]string{"route": "neg", "code": "200"}, 0},
		{"x_lag_seconds", map[string]string{"shard": "s1"}, 1.25},
		{"x_records_total", map[string]string{"source": "push"}, 7},
		{"x_records_total", map[string]string{"source": "graphite"}, 9},
	} {
		f := fams[w.fam]
		if f == nil {
			t.Errorf("family %s missing", w.fam)
			continue
		}
		found := false
		for _, m := range f.Metric {
			ok := len(m.Label) == len(w.labels)
			for _, l := range m.Label {
				ok = ok && w.labels[l.GetName()] == l.GetValue()
			}
			if !ok {
				continue
			}
			found = true
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			if v != w.value {
				t.Errorf("%s%v = %v, want %v", w.fam, w.labels, v, w.value)
			}
		}
		if !found {
			t.Errorf("%s%v missing", w.fam, w.labels)
		}
	}
	if n := len(fams["x_records_total"].Metric); n != 2 {
		t.Errorf("x_records_total has %d metrics, want 2", n)
	}
	if got := fams["x_requests_total"].GetHelp(); got != "Requests with \"quotes\", a \\ and\na newline." {
		t.Errorf("help round trip: %q", got)
	}
	hist := fams["x_duration_seconds"].Metric[0].GetHistogram()
	if hist.GetSampleCount() != 6 || math.Abs(hist.GetSampleSum()-55.75) > 1e-9 {
		t.Errorf("histogram count %d sum %v, want 6 and 55.75", hist.GetSampleCount(), hist.GetSampleSum())
	}
	// le is inclusive: 0.05, 0.1, 0.1 ≤ 0.1; + 0.5 ≤ 1; + 5 ≤ 10.
	for i, want := range []uint64{3, 4, 5} {
		if got := hist.Bucket[i].GetCumulativeCount(); got != want {
			t.Errorf("bucket le=%v: %d, want %d", hist.Bucket[i].GetUpperBound(), got, want)
		}
	}
}

func TestRegistryConcurrent(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	c := r.Counter("c_total", "c", "k")
	h := r.Histogram("h_seconds", "h", []float64{1, 2}, "k")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				k := []string{"a", "b"}[(g+i)%2]
				c.With(k).Inc()
				h.With(k).Observe(float64(i % 3))
				if i%100 == 0 {
					WriteText(&bytes.Buffer{}, r.Gather())
				}
			}
		}()
	}
	wg.Wait()
	if got := c.With("a").Value() + c.With("b").Value(); got != 8000 {
		t.Errorf("counter total %v, want 8000", got)
	}
	if got := h.With("a").Count() + h.With("b").Count(); got != 8000 {
		t.Errorf("histogram count %d, want 8000", got)
	}
}

func TestMetricsInstruments(t *testing.T) {
	t.Parallel()
	m := NewMetrics()
	m.JournalSynced(2 * time.Millisecond)
	m.Checkpointed(30*time.Millisecond, 4)
	m.Applied(10, 2)
	m.MonitorStarted("disk")
	m.MonitorStarted("web")
	m.MonitorFinished("disk", "ok", 1500*time.Millisecond)
	m.AddIngestSource("tracelog", func() IngestCounts { return IngestCounts{Records: 5, Bad: 1, Late: 2} })
	m.AddKinesisLag(func() map[string]time.Duration {
		return map[string]time.Duration{"shardId-000000000001": 2500 * time.Millisecond}
	})
	m.ObserveHTTP("GET:/g/{id}", 200, 5*time.Millisecond)
	var nilM *Metrics // optional everywhere
	nilM.Applied(1, 1)
	nilM.ObserveHTTP("x", 200, 0)
	nilM.MonitorFinished("x", "ok", 0)

	rec := httptest.NewRecorder()
	m.Registry.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/-/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	fams := parseText(t, rec.Body.Bytes())
	checks := []struct {
		name string
		get  func(*dto.Metric) float64
		want float64
	}{
		{"rrdash_journal_fsync_seconds", func(m *dto.Metric) float64 { return float64(m.GetHistogram().GetSampleCount()) }, 1},
		{"rrdash_store_checkpoint_seconds", func(m *dto.Metric) float64 { return float64(m.GetHistogram().GetSampleCount()) }, 1},
		{"rrdash_store_checkpoint_archives_total", func(m *dto.Metric) float64 { return m.GetCounter().GetValue() }, 4},
		{"rrdash_monitor_active_executions", func(m *dto.Metric) float64 { return m.GetGauge().GetValue() }, 1},
		{"rrdash_monitor_executions_total", func(m *dto.Metric) float64 { return m.GetCounter().GetValue() }, 1},
		{"rrdash_monitor_execution_duration_seconds", func(m *dto.Metric) float64 { return m.GetHistogram().GetSampleSum() }, 1.5},
		{"rrdash_ingest_late_points_total", func(m *dto.Metric) float64 { return m.GetCounter().GetValue() }, 2},
		{"rrdash_kinesis_lag_seconds", func(m *dto.Metric) float64 { return m.GetGauge().GetValue() }, 2.5},
		{"rrdash_http_request_duration_seconds", func(m *dto.Metric) float64 { return float64(m.GetHistogram().GetSampleCount()) }, 1},
	}
	for _, c := range checks {
		f := fams[c.name]
		if f == nil || len(f.Metric) == 0 {
			t.Errorf("%s missing", c.name)
			continue
		}
		if got := c.get(f.Metric[0]); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	upd := fams["rrdash_store_updates_total"]
	if upd == nil || len(upd.Metric) != 2 {
		t.Fatalf("rrdash_store_updates_total: %v", upd)
	}
	rec = httptest.NewRecorder()
	m.Registry.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/-/metrics", strings.NewReader("")))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", rec.Code)
	}
}
