package otlp

import (
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"sync/atomic"

	common "go.opentelemetry.io/proto/otlp/common/v1"
	metrics "go.opentelemetry.io/proto/otlp/metrics/v1"

	"rrdash/ingest/horizon"
	"rrdash/ingest/internal/namecache"
	"rrdash/ingest/push"
	"rrdash/store"
)

// converter turns a request into points; it is reused between requests
// (not concurrently). Two front ends feed it: the wire decoder
// (wire.go, protobuf bodies, no allocation per point) and the generated
// types (JSON bodies, and the protobuf encodings the wire decoder leaves
// to them); both hand it the same dataPoint, so they name and format
// alike.
type converter struct {
	hz    horizon.Horizon
	limit horizon.Limit // hz read once per request (reset)
	names push.Names
	// cache is shared by the converters of a handler (nil: the converter
	// makes its own). The wire decoder keys a data point's series by the
	// bytes that determine it (keyed set): its resource and scope (as a
	// number, base), its metric's name and its attribute fields, each as
	// they are in the body; the series name then costs one lookup.
	cache      *seriesCache
	keyed      bool
	base       uint64          // the resource and scope's number in cache.bases
	resBytes   []byte          // the resource message being converted
	mkey       []byte          // base and metric name
	ptKey      []byte          // mkey and the data point's attribute bytes
	key        []byte          // ptKey plus a series' suffix and extra tag
	seriesName string          // the series name series() chose
	seriesRef  *push.SeriesRef // and the writer's handle on it (nil: none)
	// tagsOK: c.tags holds the data point's tags (filled on a cache miss)
	tagsOK bool
	// The wire decoder's data point attributes, decoded into attrs on a
	// cache miss (attrsDecoded); attrsKnown: a cached series had exactly
	// these bytes, so they decode without error. err: the error a lazy
	// decoding found, which refuses the request.
	rawAttrs     []rawAttr
	attrsDecoded bool
	attrsKnown   bool
	ptWhere      where
	err          error

	baseAttrs []kv   // resource and scope attributes
	baseArena []byte // their rendered values that are not in the body
	attrs     []kv   // the data point's attributes
	ptArena   []byte
	tags      []push.Tag
	xtags     []push.Tag // tags plus le or quantile
	name      []byte     // metric name and suffix
	buf       []byte     // series name
	bound     []byte     // le or quantile value

	// Values are numbers (push.Point.Num) but for integers beyond 2^53,
	// which keep every digit as text: formatted into vals and made
	// strings once per request (finish), point valAt[i].pt ending at
	// valAt[i].end.
	vals  []byte
	valAt []valRef
	pts   []push.Point

	dp dataPoint // the data point being decoded (wire.go)

	bad     int
	first   error
	noValue int // data points flagged "no recorded value"
}

// kv is one attribute; its bytes are in the body or in an arena.
type kv struct{ k, v []byte }

// dataPoint is what conversion takes of any data point.
type dataPoint struct {
	timeNs uint64
	flags  uint32
	// number data points
	kind valueKind
	dbl  float64
	i64  int64
	// histograms and summaries
	count                  uint64
	sum, min, max          float64
	hasSum, hasMin, hasMax bool
	counts                 []uint64
	bounds                 []float64
	quantiles              []quantile
}

type valueKind uint8

const (
	noValue valueKind = iota
	asDouble
	asInt
)

type quantile struct{ q, v float64 }

// seriesCache is what the converters of one handler share across
// requests (see converter.cache).
type seriesCache struct {
	names *namecache.Cache[namedSeries] // key → series name
	bases *namecache.Cache[uint64]      // resource and scope bytes → base number
	next  atomic.Uint64                 // the last base number given out
}

// maxCachedSeries bounds the series names cache (about 300 bytes an
// entry); resources and scopes are far fewer.
const maxCachedSeries, maxCachedBases = 1 << 17, 1 << 12

func newSeriesCache() *seriesCache {
	return &seriesCache{names: namecache.New[namedSeries](maxCachedSeries), bases: namecache.New[uint64](maxCachedBases)}
}

// baseOf numbers a resource and scope (their message bytes in b). A
// number is never given out twice, so a forgotten base's series names
// are never found again under a new one's.
func (sc *seriesCache) baseOf(b []byte) uint64 {
	if n, ok := sc.bases.Get(b); ok {
		return n
	}
	n := sc.next.Add(1)
	sc.bases.Put(b, n)
	return n
}

func (c *converter) reset() {
	if c.cache == nil {
		c.cache = newSeriesCache()
	}
	c.keyed, c.err = false, nil
	c.limit = c.hz.Limit()
	clear(c.pts)
	c.pts, c.vals, c.valAt = c.pts[:0], c.vals[:0], c.valAt[:0]
	c.bad, c.first, c.noValue = 0, nil, 0
}

// namedSeries is a cached series name and the writer's handle on it.
type namedSeries struct {
	name string
	ref  *push.SeriesRef
}

// valRef is where the text of a point's value ends in converter.vals.
type valRef struct{ pt, end int }

// finish gives the points with text values their text.
func (c *converter) finish() {
	if len(c.valAt) == 0 {
		return
	}
	all := string(c.vals)
	start := 0
	for _, r := range c.valAt {
		c.pts[r.pt].Value = all[start:r.end]
		start = r.end
	}
}

// where names a data point for error messages.
type where struct {
	res, scope, metric, point int
	name                      []byte
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

// convert appends the points of req (the generated types) to c.pts.
func (c *converter) convert(req *metrics.MetricsData) {
	for ri, rm := range req.GetResourceMetrics() {
		c.baseAttrs, c.baseArena = appendAttrs(c.baseAttrs[:0], c.baseArena[:0], rm.GetResource().GetAttributes())
		nres, ares := len(c.baseAttrs), len(c.baseArena)
		for si, sm := range rm.GetScopeMetrics() {
			c.baseAttrs, c.baseArena = appendAttrs(c.baseAttrs[:nres], c.baseArena[:ares], sm.GetScope().GetAttributes())
			for mi, m := range sm.GetMetrics() {
				c.metric(m, where{res: ri, scope: si, metric: mi, name: []byte(m.GetName())})
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

// metric converts one metric of the generated types.
func (c *converter) metric(m *metrics.Metric, w where) {
	name, unit := w.name, m.GetUnit()
	dp := &c.dp
	switch d := m.GetData().(type) {
	case *metrics.Metric_Gauge:
		for i, p := range d.Gauge.GetDataPoints() {
			w.point = i
			c.fromNumber(p)
			c.number(name, unit, store.Gauge, w)
		}
	case *metrics.Metric_Sum:
		typ, err := typeOf(d.Sum.GetAggregationTemporality(), d.Sum.GetIsMonotonic())
		for i, p := range d.Sum.GetDataPoints() {
			w.point = i
			if err != nil {
				c.badPoint(w, 1, "%v", err)
				continue
			}
			c.fromNumber(p)
			c.number(name, unit, typ, w)
		}
	case *metrics.Metric_Histogram:
		typ, err := typeOf(d.Histogram.GetAggregationTemporality(), true)
		for i, p := range d.Histogram.GetDataPoints() {
			w.point = i
			if err != nil {
				c.badPoint(w, 1, "%v", err)
				continue
			}
			*dp = dataPoint{timeNs: p.GetTimeUnixNano(), flags: p.GetFlags(), count: p.GetCount(),
				counts: p.GetBucketCounts(), bounds: p.GetExplicitBounds()}
			dp.sum, dp.hasSum = p.GetSum(), p.Sum != nil
			dp.min, dp.hasMin = p.GetMin(), p.Min != nil
			dp.max, dp.hasMax = p.GetMax(), p.Max != nil
			c.attrs, c.ptArena = appendAttrs(c.attrs[:0], c.ptArena[:0], p.GetAttributes())
			c.histogram(name, unit, typ, w)
		}
	case *metrics.Metric_ExponentialHistogram:
		typ, err := typeOf(d.ExponentialHistogram.GetAggregationTemporality(), true)
		for i, p := range d.ExponentialHistogram.GetDataPoints() {
			w.point = i
			if err != nil {
				c.badPoint(w, 1, "%v", err)
				continue
			}
			*dp = dataPoint{timeNs: p.GetTimeUnixNano(), flags: p.GetFlags(), count: p.GetCount()}
			dp.sum, dp.hasSum = p.GetSum(), p.Sum != nil
			dp.min, dp.hasMin = p.GetMin(), p.Min != nil
			dp.max, dp.hasMax = p.GetMax(), p.Max != nil
			c.attrs, c.ptArena = appendAttrs(c.attrs[:0], c.ptArena[:0], p.GetAttributes())
			c.expHistogram(name, unit, typ, w)
		}
	case *metrics.Metric_Summary:
		for i, p := range d.Summary.GetDataPoints() {
			w.point = i
			*dp = dataPoint{timeNs: p.GetTimeUnixNano(), flags: p.GetFlags(), count: p.GetCount(), sum: p.GetSum(), quantiles: dp.quantiles[:0]}
			for _, q := range p.GetQuantileValues() {
				dp.quantiles = append(dp.quantiles, quantile{q.GetQuantile(), q.GetValue()})
			}
			c.attrs, c.ptArena = appendAttrs(c.attrs[:0], c.ptArena[:0], p.GetAttributes())
			c.summary(name, unit, w)
		}
	case nil:
		w.point = -1
		c.badPoint(w, 1, "metric has no data (gauge, sum, histogram, exponential_histogram or summary)")
	}
}

func (c *converter) fromNumber(p *metrics.NumberDataPoint) {
	c.dp = dataPoint{timeNs: p.GetTimeUnixNano(), flags: p.GetFlags(), quantiles: c.dp.quantiles[:0]}
	switch v := p.GetValue().(type) {
	case *metrics.NumberDataPoint_AsDouble:
		c.dp.kind, c.dp.dbl = asDouble, v.AsDouble
	case *metrics.NumberDataPoint_AsInt:
		c.dp.kind, c.dp.i64 = asInt, v.AsInt
	}
	c.attrs, c.ptArena = appendAttrs(c.attrs[:0], c.ptArena[:0], p.GetAttributes())
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
	if err := c.limit.Check(sec, usec); err != nil {
		c.badPoint(w, 1, "%v", err)
		return 0, 0, false
	}
	return sec, usec, true
}

// The conversions of one data point (c.dp, its attributes in c.attrs).

func (c *converter) number(name []byte, unit string, typ store.DSType, w where) {
	p := &c.dp
	if p.flags&flagNoValue != 0 {
		c.noValue++
		return
	}
	sec, usec, ok := c.time(p.timeNs, w)
	if !ok {
		return
	}
	c.tagsOK = false
	switch p.kind {
	case asDouble:
		c.emitFloat(name, "", unit, nil, nil, typ, sec, usec, p.dbl, w)
	case asInt:
		// Integers keep every digit (a float64 would round past 2^53).
		if c.series(name, "", nil, nil, w) {
			if p.i64 >= -1<<53 && p.i64 <= 1<<53 {
				c.pointNum(unit, typ, sec, usec, float64(p.i64))
			} else {
				c.vals = strconv.AppendInt(c.vals, p.i64, 10)
				c.point(unit, typ, sec, usec)
			}
		}
	default:
		c.badPoint(w, 1, "number data point without as_double or as_int")
	}
}

func (c *converter) histogram(name []byte, unit string, typ store.DSType, w where) {
	p := &c.dp
	if p.flags&flagNoValue != 0 {
		c.noValue++
		return
	}
	if len(p.counts) != 0 && len(p.counts) != len(p.bounds)+1 {
		c.badPoint(w, 1, "%d bucket_counts for %d explicit_bounds: want one more count than bounds", len(p.counts), len(p.bounds))
		return
	}
	sec, usec, ok := c.time(p.timeNs, w)
	if !ok {
		return
	}
	c.tagsOK = false
	c.emitUint(name, ".count", unit, nil, nil, typ, sec, usec, p.count, w)
	if p.hasSum {
		c.emitFloat(name, ".sum", unit, nil, nil, typ, sec, usec, p.sum, w)
	}
	// Buckets as Prometheus keeps them: cumulative counts up to each
	// upper bound le, the last one le=+Inf.
	var cum uint64
	for i, n := range p.counts {
		cum += n
		if i < len(p.bounds) {
			c.bound = strconv.AppendFloat(c.bound[:0], p.bounds[i], 'g', -1, 64)
		} else {
			c.bound = append(c.bound[:0], "+Inf"...)
		}
		c.emitUint(name, ".bucket", unit, leKey, c.bound, typ, sec, usec, cum, w)
	}
	c.minMax(name, unit, sec, usec, w)
}

var leKey, quantileKey = []byte("le"), []byte("quantile")

func (c *converter) expHistogram(name []byte, unit string, typ store.DSType, w where) {
	p := &c.dp
	if p.flags&flagNoValue != 0 {
		c.noValue++
		return
	}
	sec, usec, ok := c.time(p.timeNs, w)
	if !ok {
		return
	}
	c.tagsOK = false
	c.emitFloat(name, ".count", unit, nil, nil, typ, sec, usec, float64(p.count), w)
	if p.hasSum {
		c.emitFloat(name, ".sum", unit, nil, nil, typ, sec, usec, p.sum, w)
	}
	c.minMax(name, unit, sec, usec, w)
}

func (c *converter) summary(name []byte, unit string, w where) {
	p := &c.dp
	if p.flags&flagNoValue != 0 {
		c.noValue++
		return
	}
	sec, usec, ok := c.time(p.timeNs, w)
	if !ok {
		return
	}
	c.tagsOK = false
	c.emitFloat(name, ".count", unit, nil, nil, store.Derive, sec, usec, float64(p.count), w)
	c.emitFloat(name, ".sum", unit, nil, nil, store.Derive, sec, usec, p.sum, w)
	for _, q := range p.quantiles {
		c.bound = strconv.AppendFloat(c.bound[:0], q.q, 'g', -1, 64)
		c.emitFloat(name, "", unit, quantileKey, c.bound, store.Gauge, sec, usec, q.v, w)
	}
}

func (c *converter) minMax(name []byte, unit string, sec, usec int64, w where) {
	if c.dp.hasMin {
		c.emitFloat(name, ".min", unit, nil, nil, store.Gauge, sec, usec, c.dp.min, w)
	}
	if c.dp.hasMax {
		c.emitFloat(name, ".max", unit, nil, nil, store.Gauge, sec, usec, c.dp.max, w)
	}
}

// tagsFor fills c.tags from the resource, scope and data point
// attributes (a data point's attribute wins over the scope's, the scope's
// over the resource's; a later one over an earlier one of the same list).
func (c *converter) tagsFor() {
	c.tagsOK = true
	c.tags = c.tags[:0]
	add := func(a kv) {
		for _, t := range c.tags {
			if string(t.Key) == string(a.k) {
				return
			}
		}
		c.tags = append(c.tags, push.Tag{Key: a.k, Value: a.v})
	}
	for i := len(c.attrs) - 1; i >= 0; i-- {
		add(c.attrs[i])
	}
	for i := len(c.baseAttrs) - 1; i >= 0; i-- {
		add(c.baseAttrs[i])
	}
}

// series builds the series name of name+suffix with c.tags and the tag
// xk=xv when xk is set, for the point c.point appends next; a name that
// cannot be one is a bad point.
func (c *converter) series(name []byte, suffix string, xk, xv []byte, w where) bool {
	if c.keyed {
		// ptKey ends with its attributes' terminator: suffix, xk and xv
		// follow unambiguously (neither suffix nor xk holds a 0 byte).
		c.key = append(append(append(append(append(c.key[:0], c.ptKey...), suffix...), 0), xk...), 0)
		c.key = append(c.key, xv...)
		if s, ok := c.cache.names.Get(c.key); ok {
			c.seriesName, c.seriesRef = s.name, s.ref
			c.attrsKnown = true
			return true
		}
	}
	if !c.tagsOK {
		if err := c.decodeAttrs(); err != nil {
			c.err = err // the caller refuses the request
			return false
		}
		c.tagsFor()
	}
	tags := c.tags
	if xk != nil {
		c.xtags = append(append(c.xtags[:0], c.tags...), push.Tag{Key: xk, Value: xv})
		tags = c.xtags
	}
	c.name = append(append(c.name[:0], name...), suffix...)
	var err error
	c.buf, err = push.SeriesName(c.buf[:0], c.name, tags)
	if err != nil {
		c.badPoint(w, 1, "%v", err)
		return false
	}
	if c.keyed {
		c.seriesName, c.seriesRef = string(c.buf), &push.SeriesRef{}
		c.cache.names.Put(c.key, namedSeries{c.seriesName, c.seriesRef})
	} else {
		c.seriesName, c.seriesRef = c.names.Intern(c.buf), nil
	}
	return true
}

// point appends the point whose series c.series built and whose value
// was appended to c.vals.
func (c *converter) point(unit string, typ store.DSType, sec, usec int64) {
	c.valAt = append(c.valAt, valRef{len(c.pts), len(c.vals)})
	c.pts = append(c.pts, push.Point{Series: c.seriesName, Sec: sec, Usec: usec, Units: unit, Type: typ})
	c.pts[len(c.pts)-1].SetRef(c.seriesRef)
}

// pointNum appends the point whose series c.series built, of value x.
func (c *converter) pointNum(unit string, typ store.DSType, sec, usec int64, x float64) {
	c.pts = append(c.pts, push.Point{Series: c.seriesName, Sec: sec, Usec: usec, Units: unit, Type: typ, Num: x, Numeric: true})
	c.pts[len(c.pts)-1].SetRef(c.seriesRef)
}

// emitFloat stores one value: counters as integers (rrdtool's DERIVE
// takes only those; rounding keeps the cumulative value within ±0.5).
func (c *converter) emitFloat(name []byte, suffix, unit string, xk, xv []byte, typ store.DSType, sec, usec int64, v float64, w where) {
	if !c.series(name, suffix, xk, xv, w) {
		return
	}
	c.pointNum(unit, typ, sec, usec, floatValue(v, typ))
}

// floatValue is the reading of v the store takes as a number
// (store.Update.Nums): counters rounded to integers, their infinities
// unknown (NaN).
func floatValue(v float64, typ store.DSType) float64 {
	switch {
	case math.IsInf(v, 0) && typ != store.Gauge && typ != store.Absolute:
		return math.NaN()
	case typ == store.Derive || typ == store.Counter:
		return math.Round(v) // NaN stays NaN
	}
	return v
}

func (c *converter) emitUint(name []byte, suffix, unit string, xk, xv []byte, typ store.DSType, sec, usec int64, v uint64, w where) {
	if !c.series(name, suffix, xk, xv, w) {
		return
	}
	if v <= 1<<53 {
		c.pointNum(unit, typ, sec, usec, float64(v))
		return
	}
	c.vals = strconv.AppendUint(c.vals, v, 10) // every digit
	c.point(unit, typ, sec, usec)
}

// appendAttrs renders attributes of the generated types as text into
// dst, their values in arena (see appendAnyText).
func appendAttrs(dst []kv, arena []byte, attrs []*common.KeyValue) ([]kv, []byte) {
	for _, a := range attrs {
		n := len(arena)
		arena = append(arena, a.GetKey()...)
		arena = appendAnyText(arena, a.GetValue())
		dst = append(dst, kv{arena[n : n+len(a.GetKey()) : n+len(a.GetKey())], arena[n+len(a.GetKey()) : len(arena) : len(arena)]})
	}
	return dst, arena
}

// appendAnyText renders an attribute value as text: strings as they
// are, numbers and booleans as their literals, arrays and maps as compact
// JSON-like text, bytes as hex.
func appendAnyText(dst []byte, v *common.AnyValue) []byte {
	switch x := v.GetValue().(type) {
	case *common.AnyValue_StringValue:
		return append(dst, x.StringValue...)
	case *common.AnyValue_BoolValue:
		return strconv.AppendBool(dst, x.BoolValue)
	case *common.AnyValue_IntValue:
		return strconv.AppendInt(dst, x.IntValue, 10)
	case *common.AnyValue_DoubleValue:
		return strconv.AppendFloat(dst, x.DoubleValue, 'g', -1, 64)
	case *common.AnyValue_BytesValue:
		return hex.AppendEncode(dst, x.BytesValue)
	case *common.AnyValue_ArrayValue:
		dst = append(dst, '[')
		for i, e := range x.ArrayValue.GetValues() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendQuote(dst, string(appendAnyText(nil, e)))
		}
		return append(dst, ']')
	case *common.AnyValue_KvlistValue:
		dst = append(dst, '{')
		for i, e := range x.KvlistValue.GetValues() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendQuote(dst, e.GetKey())
			dst = append(dst, ':')
			dst = strconv.AppendQuote(dst, string(appendAnyText(nil, e.GetValue())))
		}
		return append(dst, '}')
	}
	return dst
}
