package otlp

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	colmetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	common "go.opentelemetry.io/proto/otlp/common/v1"
	metrics "go.opentelemetry.io/proto/otlp/metrics/v1"

	"rrdash/ingest/horizon"
	"rrdash/ingest/push"
	"rrdash/store"
)

// converter turns a request into points; it is reused between requests
// (not concurrently).
type converter struct {
	hz    horizon.Horizon
	names push.Names
	buf   []byte
	base  []kv // resource and scope attributes
	tags  []push.Tag
	arena []byte // the tags' bytes, one array per data point
	pts   []push.Point

	bad     int
	first   error
	noValue int // data points flagged "no recorded value"
}

type kv struct{ k, v string }

func (c *converter) reset() {
	clear(c.pts)
	c.pts, c.bad, c.first, c.noValue = c.pts[:0], 0, nil, 0
}

// where names a data point for error messages.
type where struct {
	res, scope, metric, point int
	name                      string
}

func (w where) String() string {
	return fmt.Sprintf("resource_metrics[%d].scope_metrics[%d].metrics[%d] (%q).data_points[%d]", w.res, w.scope, w.metric, w.name, w.point)
}

func (c *converter) badPoint(w where, n int, format string, args ...any) {
	c.bad += n
	if c.first == nil {
		c.first = fmt.Errorf("%v: %s", w, fmt.Sprintf(format, args...))
	}
}

// convert appends the points of req to c.pts.
func (c *converter) convert(req *colmetrics.ExportMetricsServiceRequest) {
	for ri, rm := range req.GetResourceMetrics() {
		c.base = appendAttrs(c.base[:0], rm.GetResource().GetAttributes())
		nres := len(c.base)
		for si, sm := range rm.GetScopeMetrics() {
			c.base = appendAttrs(c.base[:nres], sm.GetScope().GetAttributes())
			for mi, m := range sm.GetMetrics() {
				c.metric(m, where{res: ri, scope: si, metric: mi, name: m.GetName()})
			}
		}
	}
}

// typeOf is the data source type for an aggregation: cumulative monotonic
// sums are DERIVE (resets read as unknown), other cumulative ones GAUGE
// (an up-down counter's value is a level), deltas ABSOLUTE (a count per
// interval).
func typeOf(t metrics.AggregationTemporality, monotonic bool) (store.DSType, error) {
	switch t {
	case metrics.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE:
		if monotonic {
			return store.Derive, nil
		}
		return store.Gauge, nil
	case metrics.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA:
		return store.Absolute, nil
	}
	return 0, fmt.Errorf("aggregation temporality %v: want CUMULATIVE or DELTA", t)
}

const flagNoValue = uint32(metrics.DataPointFlags_DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK)

func (c *converter) metric(m *metrics.Metric, w where) {
	name, unit := m.GetName(), m.GetUnit()
	switch d := m.GetData().(type) {
	case *metrics.Metric_Gauge:
		for i, p := range d.Gauge.GetDataPoints() {
			w.point = i
			c.number(name, unit, store.Gauge, p, w)
		}
	case *metrics.Metric_Sum:
		typ, err := typeOf(d.Sum.GetAggregationTemporality(), d.Sum.GetIsMonotonic())
		for i, p := range d.Sum.GetDataPoints() {
			w.point = i
			if err != nil {
				c.badPoint(w, 1, "%v", err)
				continue
			}
			c.number(name, unit, typ, p, w)
		}
	case *metrics.Metric_Histogram:
		typ, err := typeOf(d.Histogram.GetAggregationTemporality(), true)
		for i, p := range d.Histogram.GetDataPoints() {
			w.point = i
			if err != nil {
				c.badPoint(w, 1, "%v", err)
				continue
			}
			c.histogram(name, unit, typ, p, w)
		}
	case *metrics.Metric_ExponentialHistogram:
		typ, err := typeOf(d.ExponentialHistogram.GetAggregationTemporality(), true)
		for i, p := range d.ExponentialHistogram.GetDataPoints() {
			w.point = i
			if err != nil {
				c.badPoint(w, 1, "%v", err)
				continue
			}
			if p.GetFlags()&flagNoValue != 0 {
				c.noValue++
				continue
			}
			sec, usec, ok := c.time(p.GetTimeUnixNano(), w)
			if !ok {
				continue
			}
			c.tagsFor(p.GetAttributes())
			c.emit(name+".count", unit, "", typ, sec, usec, float64(p.GetCount()), w)
			if p.Sum != nil {
				c.emit(name+".sum", unit, "", typ, sec, usec, p.GetSum(), w)
			}
			c.minMax(name, unit, p.Min, p.Max, sec, usec, w)
		}
	case *metrics.Metric_Summary:
		for i, p := range d.Summary.GetDataPoints() {
			w.point = i
			if p.GetFlags()&flagNoValue != 0 {
				c.noValue++
				continue
			}
			sec, usec, ok := c.time(p.GetTimeUnixNano(), w)
			if !ok {
				continue
			}
			c.tagsFor(p.GetAttributes())
			c.emit(name+".count", unit, "", store.Derive, sec, usec, float64(p.GetCount()), w)
			c.emit(name+".sum", unit, "", store.Derive, sec, usec, p.GetSum(), w)
			for _, q := range p.GetQuantileValues() {
				c.emit(name, unit, "quantile="+formatBound(q.GetQuantile()), store.Gauge, sec, usec, q.GetValue(), w)
			}
		}
	case nil:
		w.point = -1
		c.badPoint(w, 1, "metric has no data (gauge, sum, histogram, exponential_histogram or summary)")
	}
}

func (c *converter) time(ns uint64, w where) (sec, usec int64, ok bool) {
	if ns == 0 {
		c.badPoint(w, 1, "time_unix_nano is missing")
		return 0, 0, false
	}
	if ns > math.MaxInt64 {
		c.badPoint(w, 1, "time_unix_nano %d is out of range", ns)
		return 0, 0, false
	}
	sec, usec = int64(ns/1e9), int64(ns%1e9/1e3)
	if err := c.hz.Check(sec, usec); err != nil {
		c.badPoint(w, 1, "%v", err)
		return 0, 0, false
	}
	return sec, usec, true
}

func (c *converter) number(name, unit string, typ store.DSType, p *metrics.NumberDataPoint, w where) {
	if p.GetFlags()&flagNoValue != 0 {
		c.noValue++
		return
	}
	sec, usec, ok := c.time(p.GetTimeUnixNano(), w)
	if !ok {
		return
	}
	c.tagsFor(p.GetAttributes())
	switch v := p.GetValue().(type) {
	case *metrics.NumberDataPoint_AsDouble:
		c.emit(name, unit, "", typ, sec, usec, v.AsDouble, w)
	case *metrics.NumberDataPoint_AsInt:
		// Integers keep every digit (a float64 would round past 2^53).
		c.emitText(name, unit, "", typ, sec, usec, strconv.FormatInt(v.AsInt, 10), w)
	default:
		c.badPoint(w, 1, "number data point without as_double or as_int")
	}
}

func (c *converter) histogram(name, unit string, typ store.DSType, p *metrics.HistogramDataPoint, w where) {
	if p.GetFlags()&flagNoValue != 0 {
		c.noValue++
		return
	}
	counts, bounds := p.GetBucketCounts(), p.GetExplicitBounds()
	if len(counts) != 0 && len(counts) != len(bounds)+1 {
		c.badPoint(w, 1, "%d bucket_counts for %d explicit_bounds: want one more count than bounds", len(counts), len(bounds))
		return
	}
	sec, usec, ok := c.time(p.GetTimeUnixNano(), w)
	if !ok {
		return
	}
	c.tagsFor(p.GetAttributes())
	c.emitText(name+".count", unit, "", typ, sec, usec, strconv.FormatUint(p.GetCount(), 10), w)
	if p.Sum != nil {
		c.emit(name+".sum", unit, "", typ, sec, usec, p.GetSum(), w)
	}
	// Buckets as Prometheus keeps them: cumulative counts up to each
	// upper bound le, the last one le=+Inf.
	var cum uint64
	for i, n := range counts {
		cum += n
		le := "+Inf"
		if i < len(bounds) {
			le = formatBound(bounds[i])
		}
		c.emitText(name+".bucket", unit, "le="+le, typ, sec, usec, strconv.FormatUint(cum, 10), w)
	}
	c.minMax(name, unit, p.Min, p.Max, sec, usec, w)
}

func (c *converter) minMax(name, unit string, lo, hi *float64, sec, usec int64, w where) {
	if lo != nil {
		c.emit(name+".min", unit, "", store.Gauge, sec, usec, *lo, w)
	}
	if hi != nil {
		c.emit(name+".max", unit, "", store.Gauge, sec, usec, *hi, w)
	}
}

func formatBound(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// tagsFor fills c.tags from the resource, scope and data point
// attributes (a data point's attribute wins over the scope's, the scope's
// over the resource's).
func (c *converter) tagsFor(attrs []*common.KeyValue) {
	c.tags = c.tags[:0]
	// The tags live until this data point's series names are built (they
	// are copied then), so the arena is reused from the start.
	c.arena = c.arena[:0]
	all := appendAttrs(c.base[:len(c.base):len(c.base)], attrs)
	for i := len(all) - 1; i >= 0; i-- {
		a := all[i]
		dup := false
		for _, t := range c.tags {
			if string(t.Key) == a.k {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		n := len(c.arena)
		c.arena = append(append(c.arena, a.k...), a.v...)
		c.tags = append(c.tags, push.Tag{Key: c.arena[n : n+len(a.k) : n+len(a.k)], Value: c.arena[n+len(a.k) : len(c.arena) : len(c.arena)]})
	}
}

// emit stores one value: counters as integers (rrdtool's DERIVE takes
// only those; rounding keeps the cumulative value within ±0.5).
func (c *converter) emit(name, unit, extra string, typ store.DSType, sec, usec int64, v float64, w where) {
	var s string
	switch {
	case math.IsNaN(v), math.IsInf(v, 0) && typ != store.Gauge && typ != store.Absolute:
		s = "U"
	case typ == store.Derive || typ == store.Counter:
		s = strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	default:
		s = strconv.FormatFloat(v, 'g', -1, 64)
	}
	c.emitText(name, unit, extra, typ, sec, usec, s, w)
}

func (c *converter) emitText(name, unit, extra string, typ store.DSType, sec, usec int64, v string, w where) {
	tags := c.tags
	if extra != "" {
		k, val, _ := strings.Cut(extra, "=")
		tags = append(tags[:len(tags):len(tags)], push.Tag{Key: []byte(k), Value: []byte(val)})
	}
	var err error
	c.buf, err = push.SeriesName(c.buf[:0], []byte(name), tags)
	if err != nil {
		c.badPoint(w, 1, "%v", err)
		return
	}
	c.pts = append(c.pts, push.Point{Series: c.names.Intern(c.buf), Sec: sec, Usec: usec, Value: v, Units: unit, Type: typ})
}

// appendAttrs renders attributes as text: strings as they are, numbers
// and booleans as their literals, arrays and maps as compact JSON-like
// text, bytes as hex.
func appendAttrs(dst []kv, attrs []*common.KeyValue) []kv {
	for _, a := range attrs {
		dst = append(dst, kv{a.GetKey(), anyText(a.GetValue())})
	}
	return dst
}

func anyText(v *common.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *common.AnyValue_StringValue:
		return x.StringValue
	case *common.AnyValue_BoolValue:
		return strconv.FormatBool(x.BoolValue)
	case *common.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *common.AnyValue_DoubleValue:
		return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
	case *common.AnyValue_BytesValue:
		return fmt.Sprintf("%x", x.BytesValue)
	case *common.AnyValue_ArrayValue:
		parts := make([]string, 0, len(x.ArrayValue.GetValues()))
		for _, e := range x.ArrayValue.GetValues() {
			parts = append(parts, strconv.Quote(anyText(e)))
		}
		return "[" + strings.Join(parts, ",") + "]"
	case *common.AnyValue_KvlistValue:
		parts := make([]string, 0, len(x.KvlistValue.GetValues()))
		for _, e := range x.KvlistValue.GetValues() {
			parts = append(parts, strconv.Quote(e.GetKey())+":"+strconv.Quote(anyText(e.GetValue())))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return ""
}
