package otlp

import (
	"testing"

	metrics "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

func seedRequest() []*metrics.Metric {
	sum := 2.5
	return []*metrics.Metric{
		{Name: "g", Data: &metrics.Metric_Gauge{Gauge: &metrics.Gauge{DataPoints: []*metrics.NumberDataPoint{num(base+1, 1, str("k", "v"))}}}},
		{Name: "h", Data: &metrics.Metric_Histogram{Histogram: &metrics.Histogram{AggregationTemporality: metrics.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE,
			DataPoints: []*metrics.HistogramDataPoint{{TimeUnixNano: ns(base + 1), Count: 2, Sum: &sum, ExplicitBounds: []float64{1}, BucketCounts: []uint64{1, 1}}}}}},
		{Name: "s", Data: &metrics.Metric_Summary{Summary: &metrics.Summary{DataPoints: []*metrics.SummaryDataPoint{{TimeUnixNano: ns(base + 1), Count: 1}}}}},
	}
}

// fuzzDecode: decoding never panics, and a request that decodes converts
// without panicking, every bad point with an error. For protobuf the wire
// decoder gives exactly what the generated types give whenever those
// decode the body.
func fuzzDecode(t *testing.T, enc encoding, b []byte, shared *seriesCache) {
	c := &converter{hz: fixedHorizon}
	if err := c.decodeAndConvert(enc, b); err != nil {
		return
	}
	if c.bad > 0 && c.first == nil {
		t.Fatal("bad points without an error")
	}
	for _, p := range c.pts {
		if p.Series == "" || p.Value == "" && !p.Numeric || p.Value != "" && p.Numeric || p.Type == 0 {
			t.Fatalf("incomplete point %+v", p)
		}
	}
	if enc == encProto {
		sameAsGenerated(t, b, shared)
	}
}

// FuzzDecodeProtobuf: seeds in testdata/fuzz/FuzzDecodeProtobuf.
func FuzzDecodeProtobuf(f *testing.F) {
	b, err := proto.Marshal(request(seedRequest()...))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{0x0a, 0x02, 0x12, 0x00})
	// One series cache for every input: a key of one body must never
	// name another body's series.
	shared := newSeriesCache()
	f.Fuzz(func(t *testing.T, b []byte) { fuzzDecode(t, encProto, b, shared) })
}

// FuzzDecodeJSON: seeds in testdata/fuzz/FuzzDecodeJSON.
func FuzzDecodeJSON(f *testing.F) {
	b, err := protojson.Marshal(request(seedRequest()...))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"x","sum":{"aggregationTemporality":2,"isMonotonic":true,"dataPoints":[{"timeUnixNano":"1795356001000000000","asInt":"3"}]}}]}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) { fuzzDecode(t, encJSON, b, nil) })
}
