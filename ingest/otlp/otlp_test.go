package otlp

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"rrdash/ingest/push/pushtest"
	"strings"
	"testing"
	"time"

	colmetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	common "go.opentelemetry.io/proto/otlp/common/v1"
	metrics "go.opentelemetry.io/proto/otlp/metrics/v1"
	resource "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"rrdash/ingest/horizon"
	"rrdash/ingest/push"
	"rrdash/store"
)

const base = 1795356000 // 2026-11-22T14:00:00Z

var fixedHorizon = horizon.Horizon{MaxFuture: time.Minute, Now: func() time.Time { return time.Unix(base+100, 0) }}

func newTestHandler(t testing.TB) (*Handler, *store.DB, *httptest.Server) {
	t.Helper()
	db := pushtest.Store(t)
	tmpl, err := store.ParseSpecArgs(1, 0, []string{"DS:value:GAUGE:10:U:U", "RRA:LAST:0.5:1:4000"})
	if err != nil {
		t.Fatal(err)
	}
	w := pushtest.Writer(t, db, push.WriterConfig{Template: tmpl, Grace: 5 * time.Second, MaxDelay: 5 * time.Millisecond})
	h, err := New(w, Config{MaxBodyBytes: 1 << 20, Horizon: fixedHorizon})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, db, srv
}

func last(t testing.TB, db *store.DB, series string, sec int64) float64 {
	t.Helper()
	r, err := db.Fetch(series, store.FetchRequest{CF: store.Last, Start: sec - 1, End: sec})
	if err != nil {
		t.Fatalf("fetch %s: %v", series, err)
	}
	for i, v := range r.Values[0] {
		if r.Start+int64(i+1)*r.Step == sec {
			return v
		}
	}
	return math.NaN()
}

func str(k, v string) *common.KeyValue {
	return &common.KeyValue{Key: k, Value: &common.AnyValue{Value: &common.AnyValue_StringValue{StringValue: v}}}
}

func ns(sec int64) uint64 { return uint64(sec) * 1e9 }

func num(sec int64, v float64, attrs ...*common.KeyValue) *metrics.NumberDataPoint {
	return &metrics.NumberDataPoint{TimeUnixNano: ns(sec), Value: &metrics.NumberDataPoint_AsDouble{AsDouble: v}, Attributes: attrs}
}

func request(ms ...*metrics.Metric) *colmetrics.ExportMetricsServiceRequest {
	return &colmetrics.ExportMetricsServiceRequest{ResourceMetrics: []*metrics.ResourceMetrics{{
		Resource: &resource.Resource{Attributes: []*common.KeyValue{str("service.name", "api"), str("host", "r")}},
		ScopeMetrics: []*metrics.ScopeMetrics{{
			Scope:   &common.InstrumentationScope{Name: "test", Attributes: []*common.KeyValue{str("host", "s")}},
			Metrics: ms,
		}},
	}}}
}

func export(t *testing.T, url string, req *colmetrics.ExportMetricsServiceRequest, json bool) (int, *colmetrics.ExportMetricsServiceResponse, string) {
	t.Helper()
	var body []byte
	var err error
	ct := "application/x-protobuf"
	if json {
		body, err = protojson.Marshal(req)
		ct = "application/json"
	} else {
		body, err = proto.Marshal(req)
	}
	if err != nil {
		t.Fatal(err)
	}
	hr, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(body))
	hr.Header.Set("Content-Type", ct)
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	unmarshal := proto.Unmarshal
	if json {
		unmarshal = protojson.Unmarshal
	}
	if resp.StatusCode != 200 {
		var st status.Status
		if err := unmarshal(raw, &st); err != nil {
			t.Fatalf("error body %q: %v", raw, err)
		}
		return resp.StatusCode, nil, st.GetMessage()
	}
	var out colmetrics.ExportMetricsServiceResponse
	if err := unmarshal(raw, &out); err != nil {
		t.Fatalf("response %q: %v", raw, err)
	}
	return 200, &out, out.GetPartialSuccess().GetErrorMessage()
}

type want struct {
	typ store.DSType
	at  int64
	v   float64
}

func TestOTLPExport(t *testing.T) {
	t.Parallel()
	cum := metrics.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE
	delta := metrics.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA
	sum, cnt := 6.0, 0.5
	tests := []struct {
		name     string
		metrics  []*metrics.Metric
		rejected int64
		msg      string
		check    map[string]want
	}{
		{name: "gauge and sums",
			metrics: []*metrics.Metric{
				{Name: "temp", Unit: "Cel", Data: &metrics.Metric_Gauge{Gauge: &metrics.Gauge{DataPoints: []*metrics.NumberDataPoint{num(base+1, 21.5, str("room", "a"))}}}},
				{Name: "requests", Data: &metrics.Metric_Sum{Sum: &metrics.Sum{AggregationTemporality: cum, IsMonotonic: true,
					DataPoints: []*metrics.NumberDataPoint{num(base+1, 10), num(base+2, 30.4)}}}},
				{Name: "queue", Data: &metrics.Metric_Sum{Sum: &metrics.Sum{AggregationTemporality: cum,
					DataPoints: []*metrics.NumberDataPoint{{TimeUnixNano: ns(base + 1), Value: &metrics.NumberDataPoint_AsInt{AsInt: -4}}}}}},
				{Name: "bytes", Data: &metrics.Metric_Sum{Sum: &metrics.Sum{AggregationTemporality: delta, IsMonotonic: true,
					DataPoints: []*metrics.NumberDataPoint{num(base+1, 5), num(base+2, 8)}}}},
			},
			check: map[string]want{
				"temp;host=s;room=a;service.name=api": {store.Gauge, base + 1, 21.5}, // scope's host wins over the resource's
				"requests;host=s;service.name=api":    {store.Derive, base + 2, 20},  // 30 - 10, rounded
				"queue;host=s;service.name=api":       {store.Gauge, base + 1, -4},
				"bytes;host=s;service.name=api":       {store.Absolute, base + 2, 8},
			}},
		{name: "histogram",
			metrics: []*metrics.Metric{{Name: "latency", Unit: "s", Data: &metrics.Metric_Histogram{Histogram: &metrics.Histogram{AggregationTemporality: delta,
				DataPoints: []*metrics.HistogramDataPoint{{TimeUnixNano: ns(base + 1), Count: 6, Sum: &sum, Min: &cnt,
					ExplicitBounds: []float64{0.1, 1}, BucketCounts: []uint64{1, 2, 3}}}}}}},
			check: map[string]want{
				"latency.count;host=s;service.name=api":          {store.Absolute, base + 1, 6},
				"latency.sum;host=s;service.name=api":            {store.Absolute, base + 1, 6},
				"latency.bucket;host=s;le=0.1;service.name=api":  {store.Absolute, base + 1, 1},
				"latency.bucket;host=s;le=1;service.name=api":    {store.Absolute, base + 1, 3},
				"latency.bucket;host=s;le=+Inf;service.name=api": {store.Absolute, base + 1, 6},
				"latency.min;host=s;service.name=api":            {store.Gauge, base + 1, 0.5},
			}},
		{name: "summary",
			metrics: []*metrics.Metric{{Name: "rpc", Data: &metrics.Metric_Summary{Summary: &metrics.Summary{DataPoints: []*metrics.SummaryDataPoint{{
				TimeUnixNano: ns(base + 1), Count: 3, Sum: 1.5, QuantileValues: []*metrics.SummaryDataPoint_ValueAtQuantile{{Quantile: 0.99, Value: 0.7}}}}}}}},
			check: map[string]want{"rpc;host=s;quantile=0.99;service.name=api": {store.Gauge, base + 1, 0.7}}},
		{name: "bad points keep the good", rejected: 3, msg: `metrics[1] ("bad").data_points[0]: value "a;b" of tag "path"`,
			metrics: []*metrics.Metric{
				{Name: "good", Data: &metrics.Metric_Gauge{Gauge: &metrics.Gauge{DataPoints: []*metrics.NumberDataPoint{num(base+1, 1)}}}},
				{Name: "bad", Data: &metrics.Metric_Gauge{Gauge: &metrics.Gauge{DataPoints: []*metrics.NumberDataPoint{num(base+1, 1, str("path", "a;b")), {Value: &metrics.NumberDataPoint_AsDouble{AsDouble: 1}}}}}},
				{Name: "future", Data: &metrics.Metric_Gauge{Gauge: &metrics.Gauge{DataPoints: []*metrics.NumberDataPoint{num(base+3600, 1)}}}},
			},
			check: map[string]want{"good;host=s;service.name=api": {store.Gauge, base + 1, 1}}},
		{name: "unspecified temporality", rejected: 1, msg: "aggregation temporality",
			metrics: []*metrics.Metric{{Name: "s", Data: &metrics.Metric_Sum{Sum: &metrics.Sum{DataPoints: []*metrics.NumberDataPoint{num(base+1, 1)}}}}}},
	}
	for _, tt := range tests {
		for _, json := range []bool{false, true} {
			name := tt.name + " protobuf"
			if json {
				name = tt.name + " json"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				_, db, srv := newTestHandler(t)
				code, resp, msg := export(t, srv.URL, request(tt.metrics...), json)
				if code != 200 {
					t.Fatalf("status %d: %s", code, msg)
				}
				if got := resp.GetPartialSuccess().GetRejectedDataPoints(); got != tt.rejected || !strings.Contains(msg, tt.msg) {
					t.Errorf("rejected %d %q, want %d with %q", got, msg, tt.rejected, tt.msg)
				}
				for name, w := range tt.check {
					spec, err := db.Spec(name)
					if err != nil {
						t.Fatalf("series %s: %v", name, err)
					}
					if spec.DS[0].Type != w.typ {
						t.Errorf("%s: type %v, want %v", name, spec.DS[0].Type, w.typ)
					}
					if got := last(t, db, name, w.at); got != w.v {
						t.Errorf("%s at %d = %v, want %v", name, w.at, got, w.v)
					}
				}
			})
		}
	}
}

func TestOTLPRefusals(t *testing.T) {
	t.Parallel()
	_, _, srv := newTestHandler(t)
	tests := []struct {
		name, method, ctype, body string
		status                    int
		msg                       string
	}{
		{"get", http.MethodGet, "application/x-protobuf", "", 405, "use POST"},
		{"text", http.MethodPost, "text/plain", "x", 415, "want application/x-protobuf or application/json"},
		{"bad protobuf", http.MethodPost, "application/x-protobuf", "\x0a\x05\x0a", 400, "ExportMetricsServiceRequest"},
		{"bad json", http.MethodPost, "application/json", `{"resourceMetrics": [}`, 400, "ExportMetricsServiceRequest (application/json)"},
		{"too large", http.MethodPost, "application/json", strings.Repeat(" ", 2<<20), 413, "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest(tt.method, srv.URL, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.ctype)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || !strings.Contains(string(raw), tt.msg) {
				t.Errorf("%d %q, want %d with %q", resp.StatusCode, raw, tt.status, tt.msg)
			}
		})
	}
}
