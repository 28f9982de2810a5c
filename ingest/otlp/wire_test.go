package otlp

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	colmetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	common "go.opentelemetry.io/proto/otlp/common/v1"
	metrics "go.opentelemetry.io/proto/otlp/metrics/v1"
	resource "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"rrdash/ingest/push"
)

// converted is what a conversion gave, comparable across decoders.
type converted struct {
	pts          string
	bad, noValue int
	first        string
}

func result(c *converter) converted {
	return converted{pts: fmt.Sprintf("%+v", withoutRefs(c.pts)), bad: c.bad, noValue: c.noValue, first: fmt.Sprint(c.first)}
}

// withoutRefs copies pts without their writer handles (a cache's own).
func withoutRefs(pts []push.Point) []push.Point {
	out := slices.Clone(pts)
	for i := range out {
		out[i].SetRef(nil)
	}
	return out
}

// sameAsGenerated fails t unless the wire decoder converts b exactly as
// the generated types do, whenever those decode b (or it leaves b to
// them): with a fresh series cache, again with the cache that conversion
// filled, and with shared, a cache other bodies filled (nil: none).
func sameAsGenerated(t *testing.T, b []byte, shared *seriesCache) {
	t.Helper()
	req, err := decode(encProto, b)
	if err != nil {
		return // the wire decoder may take what it does not read
	}
	gc := &converter{hz: fixedHorizon}
	gc.reset()
	gc.convert(req)
	gc.finish()
	wc := &converter{hz: fixedHorizon}
	wc.reset()
	if err := wc.convertWire(b); errors.Is(err, errFallback) {
		return
	} else if err != nil {
		t.Fatalf("the wire decoder refuses what the generated types take: %v", err)
	}
	wc.finish()
	if got, want := result(wc), result(gc); got != want {
		t.Fatalf("wire decoder:\n%+v\ngenerated types:\n%+v", got, want)
	}
	caches := map[string]*seriesCache{"the cache the first conversion filled": wc.cache}
	if shared != nil {
		caches["a cache other bodies filled"] = shared
	}
	for name, cache := range caches {
		for range 2 {
			cc := &converter{hz: fixedHorizon, cache: cache}
			cc.reset()
			if err := cc.convertWire(b); err != nil {
				t.Fatalf("with %s: %v", name, err)
			}
			cc.finish()
			if got, want := result(cc), result(gc); got != want {
				t.Fatalf("wire decoder with %s:\n%+v\ngenerated types:\n%+v", name, got, want)
			}
		}
	}
}

func anyKV(k string, v *common.AnyValue) *common.KeyValue { return &common.KeyValue{Key: k, Value: v} }

// variedMetrics covers every metric kind, temporality, flag and
// attribute type, and the bad points conversion reports.
func variedMetrics() []*metrics.Metric {
	f := func(v float64) *float64 { return &v }
	cum, delta := metrics.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE, metrics.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA
	noValue := uint32(metrics.DataPointFlags_DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK)
	attrs := []*common.KeyValue{
		str("s", "text"),
		anyKV("b", &common.AnyValue{Value: &common.AnyValue_BoolValue{BoolValue: true}}),
		anyKV("i", &common.AnyValue{Value: &common.AnyValue_IntValue{IntValue: -42}}),
		anyKV("d", &common.AnyValue{Value: &common.AnyValue_DoubleValue{DoubleValue: 0.125}}),
		anyKV("by", &common.AnyValue{Value: &common.AnyValue_BytesValue{BytesValue: []byte{0xde, 0xad}}}),
		anyKV("a", &common.AnyValue{Value: &common.AnyValue_ArrayValue{ArrayValue: &common.ArrayValue{Values: []*common.AnyValue{
			{Value: &common.AnyValue_StringValue{StringValue: "x"}}, {Value: &common.AnyValue_IntValue{IntValue: 1}}}}}}),
		anyKV("m", &common.AnyValue{Value: &common.AnyValue_KvlistValue{KvlistValue: &common.KeyValueList{Values: []*common.KeyValue{str("k", "v")}}}}),
		anyKV("empty", &common.AnyValue{}),
		anyKV("none", nil),
		anyKV("idx", &common.AnyValue{Value: &common.AnyValue_StringValueStrindex{StringValueStrindex: 3}}),
		str("host", "point"), // wins over the scope's and the resource's
		str("s", "later"),    // a later one of the same list wins
	}
	numInt := func(sec int64, v int64) *metrics.NumberDataPoint {
		return &metrics.NumberDataPoint{TimeUnixNano: ns(sec), Value: &metrics.NumberDataPoint_AsInt{AsInt: v}}
	}
	return []*metrics.Metric{
		{Name: "g.double", Unit: "By", Data: &metrics.Metric_Gauge{Gauge: &metrics.Gauge{DataPoints: []*metrics.NumberDataPoint{
			num(base+1, 1.5, attrs...), num(base+2, math.NaN()), num(base+3, math.Inf(1)), numInt(base+4, math.MaxInt64),
			{TimeUnixNano: ns(base + 5)}, // no value
			{TimeUnixNano: ns(base + 6), Flags: noValue, Value: &metrics.NumberDataPoint_AsDouble{AsDouble: 1}},
			{Value: &metrics.NumberDataPoint_AsDouble{AsDouble: 1}}, // no time
			num(base+1000, 1),                   // beyond the horizon
			num(base+7, 1, str("bad;key", "v")), // not a tag
			{TimeUnixNano: math.MaxUint64, Value: &metrics.NumberDataPoint_AsInt{AsInt: 1}},
		}}}},
		{Name: "s.cum", Data: &metrics.Metric_Sum{Sum: &metrics.Sum{AggregationTemporality: cum, IsMonotonic: true, DataPoints: []*metrics.NumberDataPoint{
			num(base+1, 10.4), num(base+2, math.Inf(1)), numInt(base+3, 12)}}}},
		{Name: "s.updown", Data: &metrics.Metric_Sum{Sum: &metrics.Sum{AggregationTemporality: cum, DataPoints: []*metrics.NumberDataPoint{num(base+1, -3)}}}},
		{Name: "s.delta", Data: &metrics.Metric_Sum{Sum: &metrics.Sum{AggregationTemporality: delta, IsMonotonic: true, DataPoints: []*metrics.NumberDataPoint{num(base+1, 2), num(base+2, math.Inf(-1))}}}},
		{Name: "s.unspecified", Data: &metrics.Metric_Sum{Sum: &metrics.Sum{DataPoints: []*metrics.NumberDataPoint{num(base+1, 2), num(base+2, 3)}}}},
		{Name: "h", Unit: "ms", Data: &metrics.Metric_Histogram{Histogram: &metrics.Histogram{AggregationTemporality: cum, DataPoints: []*metrics.HistogramDataPoint{
			{TimeUnixNano: ns(base + 1), Count: 6, Sum: f(12.5), Min: f(0.5), Max: f(9), ExplicitBounds: []float64{1, 2.5, 1e300}, BucketCounts: []uint64{1, 2, 0, 3}, Attributes: attrs[:3]},
			{TimeUnixNano: ns(base + 2), Count: 0},
			{TimeUnixNano: ns(base + 3), ExplicitBounds: []float64{1}, BucketCounts: []uint64{1}}, // one count short
			{TimeUnixNano: ns(base + 4), Flags: noValue},
			{TimeUnixNano: ns(base + 5), ExplicitBounds: []float64{1}, BucketCounts: []uint64{1, 1}, Attributes: []*common.KeyValue{str("le", "x")}}, // le twice
		}}}},
		{Name: "h.delta", Data: &metrics.Metric_Histogram{Histogram: &metrics.Histogram{AggregationTemporality: delta, DataPoints: []*metrics.HistogramDataPoint{
			{TimeUnixNano: ns(base + 1), Count: 2, Sum: f(math.NaN()), BucketCounts: []uint64{2}}}}}},
		{Name: "h.unspecified", Data: &metrics.Metric_Histogram{Histogram: &metrics.Histogram{DataPoints: []*metrics.HistogramDataPoint{{TimeUnixNano: ns(base + 1)}}}}},
		{Name: "e", Data: &metrics.Metric_ExponentialHistogram{ExponentialHistogram: &metrics.ExponentialHistogram{AggregationTemporality: cum, DataPoints: []*metrics.ExponentialHistogramDataPoint{
			{TimeUnixNano: ns(base + 1), Count: 7, Sum: f(3.25), Min: f(-1), Max: f(2), Scale: 3, ZeroCount: 1,
				Positive: &metrics.ExponentialHistogramDataPoint_Buckets{Offset: -2, BucketCounts: []uint64{1, 2, 3}}, Attributes: attrs[3:6]},
			{TimeUnixNano: ns(base + 2), Flags: noValue},
			{Count: 1},
		}}}},
		{Name: "e.delta", Data: &metrics.Metric_ExponentialHistogram{ExponentialHistogram: &metrics.ExponentialHistogram{AggregationTemporality: delta, DataPoints: []*metrics.ExponentialHistogramDataPoint{
			{TimeUnixNano: ns(base + 1), Count: 3}}}}},
		{Name: "sum.mary", Data: &metrics.Metric_Summary{Summary: &metrics.Summary{DataPoints: []*metrics.SummaryDataPoint{
			{TimeUnixNano: ns(base + 1), Count: 4, Sum: 10.5, QuantileValues: []*metrics.SummaryDataPoint_ValueAtQuantile{{Quantile: 0.5, Value: 2}, {Quantile: 0.99, Value: 9.5}, {Quantile: 1}}, Attributes: attrs[6:]},
			{TimeUnixNano: ns(base + 2), Flags: noValue},
			{TimeUnixNano: ns(base + 3), Count: 1, QuantileValues: []*metrics.SummaryDataPoint_ValueAtQuantile{{Quantile: 0.5, Value: 1}}, Attributes: []*common.KeyValue{str("quantile", "q")}},
		}}}},
		{Name: "nodata"},
		{Name: "", Data: &metrics.Metric_Gauge{Gauge: &metrics.Gauge{DataPoints: []*metrics.NumberDataPoint{num(base+1, 1)}}}},
	}
}

func variedRequest() *colmetrics.ExportMetricsServiceRequest {
	req := request(variedMetrics()...)
	// A second resource with two scopes: the base attributes are per
	// resource and scope.
	req.ResourceMetrics = append(req.ResourceMetrics, &metrics.ResourceMetrics{
		Resource: &resource.Resource{Attributes: []*common.KeyValue{str("service.name", "db"), anyKV("pid", &common.AnyValue{Value: &common.AnyValue_IntValue{IntValue: 7}})}},
		ScopeMetrics: []*metrics.ScopeMetrics{
			{Scope: &common.InstrumentationScope{Name: "a", Attributes: []*common.KeyValue{str("scope", "a")}}, Metrics: variedMetrics()[:2]},
			{Metrics: variedMetrics()[5:6]},
		},
	}, &metrics.ResourceMetrics{})
	return req
}

// field appends field num holding b (length-delimited).
func field(dst []byte, num protowire.Number, b []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(dst, num, protowire.BytesType), b)
}

func marshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wireEncodings are bodies that no generated encoder writes but
// protobuf allows, each with what it exercises.
func wireEncodings(t testing.TB) map[string][]byte {
	res := marshal(t, &resource.Resource{Attributes: []*common.KeyValue{str("service.name", "api")}})
	sm := marshal(t, &metrics.ScopeMetrics{Metrics: variedMetrics()[:6]})
	out := map[string][]byte{}
	// resource after scope_metrics: the resource's attributes still apply
	out["resource last"] = field(nil, 1, field(field(nil, 2, sm), 1, res))
	// resource twice: protobuf merges, the generated types decode it
	out["resource twice"] = field(nil, 1, field(field(field(nil, 1, res), 1, marshal(t, &resource.Resource{Attributes: []*common.KeyValue{str("host", "h")}})), 2, sm))
	// histogram buckets and bounds unpacked, an unknown field, a known
	// field of another wire type (skipped as unknown), value given twice
	var dp []byte
	dp = protowire.AppendTag(dp, 3, protowire.Fixed64Type)
	dp = protowire.AppendFixed64(dp, ns(base+1))
	for _, c := range []uint64{1, 2} {
		dp = protowire.AppendTag(dp, 6, protowire.Fixed64Type)
		dp = protowire.AppendFixed64(dp, c)
	}
	dp = protowire.AppendTag(dp, 7, protowire.Fixed64Type)
	dp = protowire.AppendFixed64(dp, math.Float64bits(1.5))
	dp = protowire.AppendTag(dp, 99, protowire.VarintType)
	dp = protowire.AppendVarint(dp, 5)
	dp = protowire.AppendTag(dp, 4, protowire.VarintType) // count as a varint: unknown
	dp = protowire.AppendVarint(dp, 5)
	dp = protowire.AppendTag(dp, 4, protowire.Fixed64Type)
	dp = protowire.AppendFixed64(dp, 3)
	hist := field(protowire.AppendVarint(protowire.AppendTag(nil, 2, protowire.VarintType), 2), 1, dp)
	metric := field(field(nil, 9, hist), 1, []byte("unpacked"))
	out["unpacked, unknown, name last"] = field(nil, 1, field(nil, 2, field(nil, 2, metric)))
	// a number data point with as_double then as_int: the last wins
	var np []byte
	np = protowire.AppendTag(np, 3, protowire.Fixed64Type)
	np = protowire.AppendFixed64(np, ns(base+1))
	np = protowire.AppendTag(np, 4, protowire.Fixed64Type)
	np = protowire.AppendFixed64(np, math.Float64bits(2.5))
	np = protowire.AppendTag(np, 6, protowire.Fixed64Type)
	np = protowire.AppendFixed64(np, 9)
	out["oneof last wins"] = field(nil, 1, field(nil, 2, field(nil, 2, field(field(nil, 1, []byte("two")), 5, field(nil, 1, np)))))
	// gauge then sum: the oneof's last member, which protobuf keeps
	g := field(nil, 5, field(nil, 1, np))
	s := field(nil, 7, field(protowire.AppendVarint(protowire.AppendTag(nil, 2, protowire.VarintType), 1), 1, np))
	out["data twice"] = field(nil, 1, field(nil, 2, field(nil, 2, append(append(field(nil, 1, []byte("twice")), g...), s...))))
	// an attribute value given twice (merged) and one in two pieces
	kv := field(field(field(nil, 1, []byte("k")), 2, field(nil, 1, []byte("a"))), 2, field(nil, 3, []byte{}))
	out["value twice"] = field(nil, 1, field(nil, 1, field(nil, 1, kv)))
	return out
}

// TestWireMatchesGenerated: the wire decoder gives exactly the points,
// bad counts and first error of the generated types, on varied requests
// and on encodings generated encoders do not write.
func TestWireMatchesGenerated(t *testing.T) {
	t.Parallel()
	cases := map[string][]byte{
		"varied": marshal(t, variedRequest()),
		"seed":   marshal(t, request(seedRequest()...)),
		"empty":  nil,
		"deterministic": func() []byte {
			b, err := proto.MarshalOptions{Deterministic: true}.Marshal(variedRequest())
			if err != nil {
				t.Fatal(err)
			}
			return b
		}(),
	}
	for name, b := range wireEncodings(t) {
		cases[name] = b
	}
	shared := newSeriesCache()
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sameAsGenerated(t, b, shared)
			// And through decodeAndConvert, fallbacks included.
			req, err := decode(encProto, b)
			if err != nil {
				t.Fatal(err)
			}
			gc := &converter{hz: fixedHorizon}
			gc.reset()
			gc.convert(req)
			gc.finish()
			c := &converter{hz: fixedHorizon}
			if err := c.decodeAndConvert(encProto, b); err != nil {
				t.Fatal(err)
			}
			if got, want := result(c), result(gc); got != want {
				t.Fatalf("decodeAndConvert:\n%+v\ngenerated types:\n%+v", got, want)
			}
			if name == "varied" && (len(c.pts) < 40 || c.bad < 10) {
				t.Fatalf("the varied request gave %d points, %d bad: it no longer covers what it should", len(c.pts), c.bad)
			}
		})
	}
}

// TestWireFallback: only encodings that need protobuf's merging are
// left to the generated types.
func TestWireFallback(t *testing.T) {
	t.Parallel()
	enc := wireEncodings(t)
	for name, want := range map[string]bool{"resource last": false, "resource twice": true, "unpacked, unknown, name last": false,
		"oneof last wins": false, "data twice": true, "value twice": true} {
		c := &converter{hz: fixedHorizon}
		c.reset()
		err := c.convertWire(enc[name])
		if got := errors.Is(err, errFallback); got != want {
			t.Errorf("%s: fallback %v (err %v), want %v", name, got, err, want)
		}
		if !want && err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// badAttrPoint is a NumberDataPoint whose attribute key is not UTF-8,
// flagged "no recorded value" when noValue is set.
func badAttrPoint(noValue bool) []byte {
	var dp []byte
	dp = protowire.AppendTag(dp, 3, protowire.Fixed64Type)
	dp = protowire.AppendFixed64(dp, ns(base+1))
	dp = protowire.AppendTag(dp, 4, protowire.Fixed64Type)
	dp = protowire.AppendFixed64(dp, math.Float64bits(1))
	dp = field(dp, 7, field(nil, 1, []byte{0xff}))
	if noValue {
		dp = protowire.AppendVarint(protowire.AppendTag(dp, 8, protowire.VarintType), 1)
	}
	return dp
}

// TestWireErrors: a body that does not decode is refused with where.
func TestWireErrors(t *testing.T) {
	t.Parallel()
	good := marshal(t, request(seedRequest()...))
	for name, tc := range map[string]struct {
		b    []byte
		want string
	}{
		"truncated":            {good[:len(good)-3], "ExportMetricsServiceRequest at byte 0"},
		"truncated inside":     {field(nil, 1, field(nil, 2, field(nil, 2, []byte{0x0a, 0x05, 'x'}))), "resource_metrics[0].scope_metrics[0].metrics[0]"},
		"bad tag":              {[]byte{0x0a, 0x02, 0x00, 0x00}, "resource_metrics[0]"},
		"name not UTF-8":       {field(nil, 1, field(nil, 2, field(nil, 2, field(nil, 1, []byte{0xff})))), "metrics[0] field 1"},
		"key not UTF-8":        {field(nil, 1, field(nil, 1, field(nil, 1, field(nil, 1, []byte{0xc3})))), "resource: attribute key"},
		"point key not UTF-8":  {field(nil, 1, field(nil, 2, field(nil, 2, field(field(nil, 1, []byte("g")), 5, field(nil, 1, badAttrPoint(false)))))), "data_points[0]: attribute key"},
		"no-value point's key": {field(nil, 1, field(nil, 2, field(nil, 2, field(field(nil, 1, []byte("g")), 5, field(nil, 1, badAttrPoint(true)))))), "data_points[0]: attribute key"},
		"packed bounds":        {field(nil, 1, field(nil, 2, field(nil, 2, field(nil, 9, field([]byte{0x10, 0x02}, 1, field(nil, 7, []byte{1, 2, 3})))))), "explicit_bounds"},
	} {
		c := &converter{hz: fixedHorizon}
		c.reset()
		err := c.convertWire(tc.b)
		if err == nil || errors.Is(err, errFallback) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %q", name, err, tc.want)
		}
		if _, gerr := decode(encProto, tc.b); gerr == nil {
			t.Errorf("%s: the generated types take the body", name)
		}
	}
}

// TestWireAllocations: converting a request of good points through the
// wire decoder allocates per request, not per point or attribute (the
// series names are interned after the first request).
func TestWireAllocations(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	attrs := []*common.KeyValue{str("http.route", "/a"), anyKV("code", &common.AnyValue{Value: &common.AnyValue_IntValue{IntValue: 200}}),
		anyKV("ok", &common.AnyValue{Value: &common.AnyValue_BoolValue{BoolValue: true}})}
	var ms []*metrics.Metric
	for i := range 10 {
		ms = append(ms, &metrics.Metric{Name: fmt.Sprintf("g%d", i), Data: &metrics.Metric_Gauge{Gauge: &metrics.Gauge{DataPoints: []*metrics.NumberDataPoint{num(base+1, 1.5, attrs...), num(base+1, 2.5)}}}},
			&metrics.Metric{Name: fmt.Sprintf("h%d", i), Data: &metrics.Metric_Histogram{Histogram: &metrics.Histogram{
				AggregationTemporality: metrics.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA, DataPoints: []*metrics.HistogramDataPoint{
					{TimeUnixNano: ns(base + 1), Count: 3, Sum: f(2), ExplicitBounds: []float64{1, 2}, BucketCounts: []uint64{1, 1, 1}, Attributes: attrs}}}}})
	}
	b := marshal(t, request(ms...))
	c := &converter{hz: fixedHorizon}
	if err := c.decodeAndConvert(encProto, b); err != nil || c.bad > 0 {
		t.Fatal(err, c.first)
	}
	points := len(c.pts)
	allocs := testing.AllocsPerRun(20, func() {
		if err := c.decodeAndConvert(encProto, b); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 2 { // the values' string
		t.Fatalf("%v allocations for %d points", allocs, points)
	}
}
