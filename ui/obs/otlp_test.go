package obs

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	colmetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/proto"
)

// receiver is a real OTLP/HTTP endpoint: it decodes each request with the
// official generated types.
type receiver struct {
	mu   sync.Mutex
	reqs []*colmetrics.ExportMetricsServiceRequest
	hdrs []http.Header
	errs []error
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body := io.Reader(r.Body)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	req := &colmetrics.ExportMetricsServiceRequest{}
	if err == nil {
		err = proto.Unmarshal(b, req)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err != nil || r.URL.Path != "/v1/metrics" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		rc.errs = append(rc.errs, err)
		http.Error(w, "bad request", 400)
		return
	}
	rc.reqs = append(rc.reqs, req)
	rc.hdrs = append(rc.hdrs, r.Header.Clone())
	b, _ = proto.Marshal(&colmetrics.ExportMetricsServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(b)
}

func TestOTLPExportToReceiver(t *testing.T) {
	t.Parallel()
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	m := NewMetrics()
	m.Applied(7, 1)
	m.JournalSynced(3 * time.Millisecond)
	m.JournalSynced(300 * time.Millisecond)
	m.ObserveHTTP("GET:/g/{id}", 200, 2*time.Millisecond)
	m.MonitorStarted("x")
	m.AddIngestSource("push", func() IngestCounts { return IngestCounts{Records: 42} })
	RegisterRuntime(m.Registry, BuildInfo{Version: "1.0", GoVersion: "go1.26"})
	env := map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT":    srv.URL,
		"OTEL_EXPORTER_OTLP_HEADERS":     "Authorization=Bearer%20tok,x-team=obs",
		"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
		"OTEL_METRIC_EXPORT_INTERVAL":    "3600000",
		"OTEL_RESOURCE_ATTRIBUTES":       "deployment.environment=test",
	}
	cfg, err := OTLPConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	exp := NewOTLPExporter(m.Registry, cfg)
	mon := NewMonitoring(NewRegistry(), nil)
	mon.Add("otlp", exp, SinkOptions{FlushInterval: exp.Interval()})
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the sink exports once more when closed
	if err := mon.Run(ctx); err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.errs) > 0 || len(rc.reqs) != 1 {
		t.Fatalf("receiver: %d requests, errors %v", len(rc.reqs), rc.errs)
	}
	if h := rc.hdrs[0]; h.Get("Authorization") != "Bearer tok" || h.Get("X-Team") != "obs" || h.Get("Content-Encoding") != "gzip" {
		t.Errorf("headers %v", h)
	}
	rm := rc.reqs[0].ResourceMetrics
	if len(rm) != 1 || len(rm[0].ScopeMetrics) != 1 {
		t.Fatalf("resource metrics %v", rm)
	}
	res := map[string]string{}
	for _, kv := range rm[0].Resource.Attributes {
		res[kv.Key] = kv.Value.GetStringValue()
	}
	if res["service.name"] != "rrdash" || res["deployment.environment"] != "test" {
		t.Errorf("resource %v", res)
	}
	got := map[string]*metricspb.Metric{}
	for _, mt := range rm[0].ScopeMetrics[0].Metrics {
		got[mt.Name] = mt
	}
	upd := got["rrdash.store.updates"]
	if upd == nil || upd.Unit != "1" || !upd.GetSum().IsMonotonic || upd.GetSum().AggregationTemporality != metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE {
		t.Fatalf("rrdash.store.updates: %v", upd)
	}
	vals := map[string]float64{}
	for _, dp := range upd.GetSum().DataPoints {
		if len(dp.Attributes) != 1 || dp.Attributes[0].Key != "result" || dp.StartTimeUnixNano == 0 || dp.TimeUnixNano < dp.StartTimeUnixNano {
			t.Errorf("data point %v", dp)
		}
		vals[dp.Attributes[0].Value.GetStringValue()] = dp.GetAsDouble()
	}
	if vals["applied"] != 7 || vals["refused"] != 1 {
		t.Errorf("updates %v", vals)
	}
	fs := got["rrdash.journal.fsync"]
	if fs == nil || fs.Unit != "s" || len(fs.GetHistogram().DataPoints) != 1 {
		t.Fatalf("rrdash.journal.fsync: %v", fs)
	}
	h := fs.GetHistogram().DataPoints[0]
	var sum uint64
	for _, n := range h.BucketCounts {
		sum += n
	}
	if h.Count != 2 || sum != 2 || len(h.BucketCounts) != len(h.ExplicitBounds)+1 || h.GetSum() < 0.3 {
		t.Errorf("fsync histogram %v", h)
	}
	for _, name := range []string{"rrdash.http.requests", "rrdash.http.request.duration", "rrdash.monitor.active.executions", "rrdash.ingest.records"} {
		if got[name] == nil {
			t.Errorf("%s did not arrive", name)
		}
	}
	if g := got["rrdash.monitor.active.executions"].GetGauge(); g == nil || g.DataPoints[0].GetAsDouble() != 1 {
		t.Errorf("active executions: %v", g)
	}
	// Collected histograms (GC pauses) export as histograms too.
	if gc := got["go.gc.duration"]; gc == nil || gc.Unit != "s" || len(gc.GetHistogram().GetDataPoints()) != 1 ||
		len(gc.GetHistogram().DataPoints[0].BucketCounts) != len(gcPauseBuckets)+1 {
		t.Errorf("go.gc.duration: %v", gc)
	}
	if fds := got["process.open.fds"]; fds == nil || fds.GetGauge().GetDataPoints()[0].GetAsDouble() <= 0 {
		t.Errorf("process.open.fds: %v", fds)
	}
	if v := got["rrdash.ingest.records"].GetSum().DataPoints[0].GetAsDouble(); v != 42 {
		t.Errorf("ingest records %v", v)
	}
}

func TestOTLPExportErrors(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "collector overloaded", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	exp := NewOTLPExporter(NewMetrics().Registry, OTLPConfig{URL: srv.URL + "/v1/metrics"})
	err := exp.Export(context.Background())
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "collector overloaded") {
		t.Errorf("export to a failing collector: %v", err)
	}
}

func TestOTLPConfigFromEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		url     string
		wantErr string
	}{
		{"generic endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"}, "http://c:4318/v1/metrics", ""},
		{"metrics endpoint as is", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:1", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "https://b/custom"}, "https://b/custom", ""},
		{"unset", map[string]string{}, "", "not set"},
		{"not a URL", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "c:4318"}, "", "http:// or https://"},
		{"grpc", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "", "only http/protobuf"},
		{"bad timeout", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_TIMEOUT": "10s"}, "", "OTEL_EXPORTER_OTLP_TIMEOUT"},
		{"bad interval", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_METRIC_EXPORT_INTERVAL": "-1"}, "", "OTEL_METRIC_EXPORT_INTERVAL"},
		{"bad header", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_HEADERS": "novalue"}, "", "key=value"},
		{"bad compression", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION": "zstd"}, "", "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			getenv := func(k string) string { return tc.env[k] }
			cfg, err := OTLPConfigFromEnv(getenv)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || cfg.URL != tc.url {
				t.Fatalf("url %q err %v, want %q", cfg.URL, err, tc.url)
			}
			if !OTLPConfigured(getenv) {
				t.Error("OTLPConfigured false")
			}
		})
	}
}

// FuzzOTLPHeaders: the key=value lists of OTEL_EXPORTER_OTLP_HEADERS and
// OTEL_RESOURCE_ATTRIBUTES parse or fail with an error, and what parses
// has non-empty, trimmed keys.
func FuzzOTLPHeaders(f *testing.F) {
	for _, s := range []string{"a=b", "Authorization=Bearer%20x,k=v", " a = b , c=d ", "novalue", "=x", "a=%zz", ",,", "a=b=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseKV(s)
		if err != nil {
			if !strings.Contains(err.Error(), "key=value") && !strings.Contains(err.Error(), "escape") {
				t.Fatalf("%q: unclear error %v", s, err)
			}
			return
		}
		for k := range m {
			if k == "" || strings.TrimSpace(k) != k {
				t.Fatalf("%q: key %q", s, k)
			}
		}
	})
}
