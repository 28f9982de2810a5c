package otlp

import (
	"slices"
	"testing"

	colmetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	common "go.opentelemetry.io/proto/otlp/common/v1"
	metrics "go.opentelemetry.io/proto/otlp/metrics/v1"
	resource "go.opentelemetry.io/proto/otlp/resource/v1"
)

// TestSeriesCache: one converter (one cache) takes requests that differ
// only in what its key must tell apart — the resource, the scope, the
// metric, a data point's attributes, a histogram bucket — and names each
// series as a fresh converter does.
func TestSeriesCache(t *testing.T) {
	t.Parallel()
	gauge := func(name string, attrs ...*common.KeyValue) *metrics.Metric {
		return &metrics.Metric{Name: name, Data: &metrics.Metric_Gauge{Gauge: &metrics.Gauge{DataPoints: []*metrics.NumberDataPoint{num(base+1, 1, attrs...)}}}}
	}
	sum := 3.0
	hist := &metrics.Metric{Name: "lat", Data: &metrics.Metric_Histogram{Histogram: &metrics.Histogram{
		AggregationTemporality: metrics.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE,
		DataPoints:             []*metrics.HistogramDataPoint{{TimeUnixNano: ns(base + 1), Count: 2, Sum: &sum, ExplicitBounds: []float64{1, 2}, BucketCounts: []uint64{1, 1, 0}}}}}}
	req := func(res, scope []*common.KeyValue, ms ...*metrics.Metric) *colmetrics.ExportMetricsServiceRequest {
		return &colmetrics.ExportMetricsServiceRequest{ResourceMetrics: []*metrics.ResourceMetrics{{
			Resource:     &resource.Resource{Attributes: res},
			ScopeMetrics: []*metrics.ScopeMetrics{{Scope: &common.InstrumentationScope{Name: "s", Attributes: scope}, Metrics: ms}},
		}}}
	}
	svc := func(v string) []*common.KeyValue { return []*common.KeyValue{str("service.name", v)} }
	tests := []struct {
		name string
		req  *colmetrics.ExportMetricsServiceRequest
		want []string
	}{
		{"first", req(svc("a"), nil, gauge("g", str("k", "1"))), []string{"g;k=1;service.name=a"}},
		{"another resource", req(svc("b"), nil, gauge("g", str("k", "1"))), []string{"g;k=1;service.name=b"}},
		{"a scope attribute", req(svc("a"), []*common.KeyValue{str("k", "9"), str("z", "s")}, gauge("g")), []string{"g;k=9;service.name=a;z=s"}},
		{"the point's attribute wins over the scope's", req(svc("a"), []*common.KeyValue{str("k", "9"), str("z", "s")}, gauge("g", str("k", "1"))), []string{"g;k=1;service.name=a;z=s"}},
		{"another point attribute", req(svc("a"), nil, gauge("g", str("k", "2"))), []string{"g;k=2;service.name=a"}},
		{"two attributes", req(svc("a"), nil, gauge("g", str("k", "1"), str("l", "2"))), []string{"g;k=1;l=2;service.name=a"}},
		{"another metric", req(svc("a"), nil, gauge("h", str("k", "1"))), []string{"h;k=1;service.name=a"}},
		{"histogram", req(svc("a"), nil, hist), []string{"lat.count;service.name=a", "lat.sum;service.name=a",
			"lat.bucket;le=1;service.name=a", "lat.bucket;le=2;service.name=a", "lat.bucket;le=+Inf;service.name=a"}},
	}
	c := &converter{hz: fixedHorizon}
	for round := range 2 {
		for _, tt := range tests {
			b := marshal(t, tt.req)
			if err := c.decodeAndConvert(encProto, b); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range c.pts {
				got = append(got, p.Series)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("round %d, %s: series %q, want %q", round, tt.name, got, tt.want)
			}
		}
	}
	if n := c.cache.names.Len(); n != 12 {
		t.Errorf("%d series cached, want 12", n)
	}
}
