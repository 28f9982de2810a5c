package otlp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	common "go.opentelemetry.io/proto/otlp/common/v1"
	metrics "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"rrdash/ingest/internal/pbwire"
	"rrdash/store"
)

// The protobuf ExportMetricsServiceRequest, decoded by hand with
// protowire and converted as it is read: the generated types allocate per
// attribute and data point, which cost more than the rest of the
// protocol's work. Field numbers (opentelemetry-proto v1.x):
//
//	ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
//	ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; }
//	Resource        { repeated KeyValue attributes = 1; }
//	ScopeMetrics    { InstrumentationScope scope = 1; repeated Metric metrics = 2; }
//	InstrumentationScope { repeated KeyValue attributes = 3; }
//	Metric { string name = 1; string unit = 3; oneof data { Gauge gauge = 5; Sum sum = 7;
//	         Histogram histogram = 9; ExponentialHistogram exponential_histogram = 10; Summary summary = 11; } }
//	Gauge { repeated NumberDataPoint data_points = 1; }
//	Sum, Histogram, ExponentialHistogram { data_points = 1; AggregationTemporality aggregation_temporality = 2; }
//	Sum { bool is_monotonic = 3; }
//	Summary { repeated SummaryDataPoint data_points = 1; }
//	NumberDataPoint { attributes = 7; fixed64 time_unix_nano = 3; double as_double = 4; sfixed64 as_int = 6; uint32 flags = 8; }
//	HistogramDataPoint { attributes = 9; time = 3; fixed64 count = 4; optional double sum = 5;
//	                     repeated fixed64 bucket_counts = 6; repeated double explicit_bounds = 7;
//	                     flags = 10; optional double min = 11; optional double max = 12; }
//	ExponentialHistogramDataPoint { attributes = 1; time = 3; count = 4; sum = 5; flags = 10; min = 12; max = 13; }
//	SummaryDataPoint { attributes = 7; time = 3; count = 4; double sum = 5;
//	                   repeated ValueAtQuantile quantile_values = 6 { double quantile = 1; double value = 2; }; flags = 8; }
//	KeyValue { string key = 1; AnyValue value = 2; }
//	AnyValue { oneof { string = 1; bool = 2; int64 = 3; double = 4; ArrayValue = 5; KeyValueList = 6; bytes = 7; int32 strindex = 8 } }
//
// Protobuf merges a singular message field given twice (and a oneof's
// message given twice in a row); no encoder does that, so the decoder
// hands such bodies to the generated types (errFallback) rather than
// reimplementing merging. Like the generated types it skips unknown
// fields and known ones of another wire type, takes the last of a
// scalar given twice, and refuses strings it reads that are not UTF-8;
// fields it does not read (descriptions, exemplars, exponential buckets)
// are checked for framing only.

// errFallback: the body is well framed but uses an encoding the wire
// decoder leaves to the generated types.
var errFallback = errors.New("otlp: encoding left to the generated types")

var errUTF8 = errors.New("string field is not valid UTF-8")

// convertWire decodes a protobuf ExportMetricsServiceRequest and
// converts it into c.pts (c reset before).
func (c *converter) convertWire(b []byte) error {
	c.keyed = true
	ri := 0
	for off := 0; off < len(b); {
		f, n, err := pbwire.Next(b[off:])
		if err != nil {
			return &pbwire.DecodeError{Offset: off, Where: "ExportMetricsServiceRequest", Err: err}
		}
		if f.Num == 1 && f.Typ == protowire.BytesType {
			if err := c.resourceMetrics(f.Bytes, off+n-len(f.Bytes), ri); err != nil {
				return err
			}
			ri++
		}
		off += n
	}
	return nil
}

// single checks b's framing and counts the BytesType occurrences of
// field num; at most one is allowed (else errFallback), which it returns.
func single(b []byte, base int, num protowire.Number, path func() string) ([]byte, int, error) {
	var got []byte
	at, seen := 0, 0
	for off := 0; off < len(b); {
		f, n, err := pbwire.Next(b[off:])
		if err != nil {
			return nil, 0, &pbwire.DecodeError{Offset: base + off, Where: path(), Err: err}
		}
		if f.Num == num && f.Typ == protowire.BytesType {
			seen++
			got, at = f.Bytes, base+off+n-len(f.Bytes)
		}
		off += n
	}
	if seen > 1 {
		return nil, 0, errFallback
	}
	return got, at, nil
}

func (c *converter) resourceMetrics(b []byte, base, ri int) error {
	path := func() string { return fmt.Sprintf("resource_metrics[%d]", ri) }
	res, resAt, err := single(b, base, 1, path)
	if err != nil {
		return err
	}
	c.baseAttrs, c.baseArena = c.baseAttrs[:0], c.baseArena[:0]
	if err := c.attributes(res, resAt, 1, &c.baseAttrs, &c.baseArena, func() string { return path() + ".resource" }); err != nil {
		return err
	}
	c.resBytes = res
	nres, ares := len(c.baseAttrs), len(c.baseArena)
	si := 0
	for off := 0; off < len(b); {
		f, n, _ := pbwire.Next(b[off:]) // framing checked by single
		if f.Num == 2 && f.Typ == protowire.BytesType {
			c.baseAttrs, c.baseArena = c.baseAttrs[:nres], c.baseArena[:ares]
			if err := c.scopeMetrics(f.Bytes, base+off+n-len(f.Bytes), ri, si); err != nil {
				return err
			}
			si++
		}
		off += n
	}
	return nil
}

func (c *converter) scopeMetrics(b []byte, base, ri, si int) error {
	path := func() string { return fmt.Sprintf("resource_metrics[%d].scope_metrics[%d]", ri, si) }
	scope, scopeAt, err := single(b, base, 1, path)
	if err != nil {
		return err
	}
	if err := c.attributes(scope, scopeAt, 3, &c.baseAttrs, &c.baseArena, func() string { return path() + ".scope" }); err != nil {
		return err
	}
	// The whole Resource and InstrumentationScope messages number the
	// base: more than the attributes that make tags, never less.
	c.key = append(protowire.AppendVarint(c.key[:0], uint64(len(c.resBytes))), c.resBytes...)
	c.base = c.cache.baseOf(append(c.key, scope...))
	mi := 0
	for off := 0; off < len(b); {
		f, n, _ := pbwire.Next(b[off:])
		if f.Num == 2 && f.Typ == protowire.BytesType {
			if err := c.metricWire(f.Bytes, base+off+n-len(f.Bytes), where{res: ri, scope: si, metric: mi}); err != nil {
				return err
			}
			mi++
		}
		off += n
	}
	return nil
}

func (w where) metricPath() string {
	return fmt.Sprintf("resource_metrics[%d].scope_metrics[%d].metrics[%d]", w.res, w.scope, w.metric)
}

func (c *converter) metricWire(b []byte, base int, w where) error {
	var name, unit, data []byte
	var kind protowire.Number
	dataAt, datas := 0, 0
	for off := 0; off < len(b); {
		f, n, err := pbwire.Next(b[off:])
		if err != nil {
			return &pbwire.DecodeError{Offset: base + off, Where: w.metricPath(), Err: err}
		}
		if f.Typ == protowire.BytesType {
			switch f.Num {
			case 1, 3:
				if !utf8.Valid(f.Bytes) {
					return &pbwire.DecodeError{Offset: base + off, Where: fmt.Sprintf("%s field %d", w.metricPath(), f.Num), Err: errUTF8}
				}
				if f.Num == 1 {
					name = f.Bytes
				} else {
					unit = f.Bytes
				}
			case 5, 7, 9, 10, 11:
				datas++
				kind, data, dataAt = f.Num, f.Bytes, base+off+n-len(f.Bytes)
			}
		}
		off += n
	}
	if datas > 1 {
		return errFallback
	}
	w.name = name
	u := c.names.Intern(unit)
	c.mkey = binary.LittleEndian.AppendUint64(c.mkey[:0], c.base)
	c.mkey = append(protowire.AppendVarint(c.mkey, uint64(len(name))), name...)
	if datas == 0 {
		w.point = -1
		c.badPoint(w, 1, "metric has no data (gauge, sum, histogram, exponential_histogram or summary)")
		return nil
	}
	// The aggregation's temporality and monotonicity (last wins), and the
	// framing of the data message.
	var temporality int32
	var monotonic bool
	for off := 0; off < len(data); {
		f, n, err := pbwire.Next(data[off:])
		if err != nil {
			return &pbwire.DecodeError{Offset: dataAt + off, Where: w.metricPath(), Err: err}
		}
		switch {
		case f.Num == 2 && f.Typ == protowire.VarintType && kind != 5 && kind != 11:
			temporality = int32(f.U)
		case f.Num == 3 && f.Typ == protowire.VarintType && kind == 7:
			monotonic = protowire.DecodeBool(f.U)
		}
		off += n
	}
	var typ store.DSType
	var typErr error
	switch kind {
	case 5:
		typ = store.Gauge
	case 7:
		typ, typErr = typeOf(metrics.AggregationTemporality(temporality), monotonic)
	case 9, 10:
		typ, typErr = typeOf(metrics.AggregationTemporality(temporality), true)
	}
	pi := 0
	for off := 0; off < len(data); {
		f, n, _ := pbwire.Next(data[off:])
		off += n
		if f.Num != 1 || f.Typ != protowire.BytesType {
			continue
		}
		w.point = pi
		pi++
		if typErr != nil {
			c.badPoint(w, 1, "%v", typErr)
			continue
		}
		at := dataAt + off - len(f.Bytes)
		if err := c.dataPointWire(kind, f.Bytes, at, w); err != nil {
			return err
		}
		switch kind {
		case 5, 7:
			c.number(name, u, typ, w)
		case 9:
			c.histogram(name, u, typ, w)
		case 10:
			c.expHistogram(name, u, typ, w)
		case 11:
			c.summary(name, u, w)
		}
		// Attributes no cached series vouched for are checked even when
		// the point made no series (no value, a bad time): a body with
		// a malformed attribute is refused whole, wherever it is.
		if c.err == nil && !c.attrsKnown {
			c.err = c.decodeAttrs()
		}
		if c.err != nil {
			return c.err
		}
	}
	return nil
}

// rawAttr is a data point's attribute field, not yet decoded.
type rawAttr struct {
	b  []byte
	at int // its offset in the body
}

// decodeAttrs decodes the data point's attributes into c.attrs (once).
func (c *converter) decodeAttrs() error {
	if c.attrsDecoded || !c.keyed {
		return nil // the generated types' path fills c.attrs itself
	}
	c.attrsDecoded = true
	wherePt := func() string { return fmt.Sprintf("%v", c.ptWhere) }
	for _, a := range c.rawAttrs {
		if err := c.keyValue(a.b, a.at, &c.attrs, &c.ptArena, wherePt); err != nil {
			return err
		}
	}
	return nil
}

// dataPointWire decodes one data point of the metric kind into c.dp and
// c.attrs.
func (c *converter) dataPointWire(kind protowire.Number, b []byte, base int, w where) error {
	dp := &c.dp
	*dp = dataPoint{counts: dp.counts[:0], bounds: dp.bounds[:0], quantiles: dp.quantiles[:0]}
	c.attrs, c.ptArena = c.attrs[:0], c.ptArena[:0]
	c.rawAttrs, c.attrsDecoded, c.attrsKnown, c.ptWhere = c.rawAttrs[:0], false, false, w
	c.ptKey = append(c.ptKey[:0], c.mkey...)
	// The numbers of the fields that differ between kinds.
	var attrs, count, sum, flags, min, max protowire.Number = 7, 4, 5, 8, 0, 0
	switch kind {
	case 9:
		attrs, flags, min, max = 9, 10, 11, 12
	case 10:
		attrs, flags, min, max = 1, 10, 12, 13
	}
	wherePt := func() string { return fmt.Sprintf("%v", w) }
	for off := 0; off < len(b); {
		f, n, err := pbwire.Next(b[off:])
		if err != nil {
			return &pbwire.DecodeError{Offset: base + off, Where: wherePt(), Err: err}
		}
		at := base + off + n - len(f.Bytes)
		off += n
		switch f.Typ {
		case protowire.BytesType:
			switch {
			case f.Num == attrs:
				// Decoded only when the series is not in the cache
				// (decodeAttrs): bytes the cache knows decoded before.
				c.rawAttrs = append(c.rawAttrs, rawAttr{f.Bytes, at})
				c.ptKey = append(protowire.AppendVarint(append(c.ptKey, 1), uint64(len(f.Bytes))), f.Bytes...)
			case kind == 9 && f.Num == 6:
				if dp.counts, err = pbwire.AppendPackedFixed64(dp.counts, f.Bytes); err != nil {
					return &pbwire.DecodeError{Offset: at, Where: wherePt() + ".bucket_counts", Err: err}
				}
			case kind == 9 && f.Num == 7:
				for v := f.Bytes; len(v) > 0; {
					u, n := protowire.ConsumeFixed64(v)
					if n < 0 {
						return &pbwire.DecodeError{Offset: at, Where: wherePt() + ".explicit_bounds", Err: protowire.ParseError(n)}
					}
					dp.bounds = append(dp.bounds, math.Float64frombits(u))
					v = v[n:]
				}
			case kind == 11 && f.Num == 6:
				q, err := valueAtQuantile(f.Bytes)
				if err != nil {
					return &pbwire.DecodeError{Offset: at, Where: wherePt() + ".quantile_values", Err: err}
				}
				dp.quantiles = append(dp.quantiles, q)
			}
		case protowire.Fixed64Type:
			switch {
			case f.Num == 3:
				dp.timeNs = f.U
			case (kind == 5 || kind == 7) && f.Num == 4:
				dp.kind, dp.dbl = asDouble, math.Float64frombits(f.U)
			case (kind == 5 || kind == 7) && f.Num == 6:
				dp.kind, dp.i64 = asInt, int64(f.U)
			case kind >= 9 && f.Num == count:
				dp.count = f.U
			case kind >= 9 && f.Num == sum:
				dp.sum, dp.hasSum = math.Float64frombits(f.U), true
			case kind == 9 && f.Num == 6:
				dp.counts = append(dp.counts, f.U)
			case kind == 9 && f.Num == 7:
				dp.bounds = append(dp.bounds, math.Float64frombits(f.U))
			case min != 0 && f.Num == min:
				dp.min, dp.hasMin = math.Float64frombits(f.U), true
			case max != 0 && f.Num == max:
				dp.max, dp.hasMax = math.Float64frombits(f.U), true
			}
		case protowire.VarintType:
			if f.Num == flags {
				dp.flags = uint32(f.U)
			}
		}
	}
	c.ptKey = append(c.ptKey, 0) // the attributes end
	return nil
}

func valueAtQuantile(b []byte) (quantile, error) {
	var q quantile
	for off := 0; off < len(b); {
		f, n, err := pbwire.Next(b[off:])
		if err != nil {
			return q, err
		}
		off += n
		if f.Typ == protowire.Fixed64Type {
			switch f.Num {
			case 1:
				q.q = math.Float64frombits(f.U)
			case 2:
				q.v = math.Float64frombits(f.U)
			}
		}
	}
	return q, nil
}

// attributes appends the KeyValues of field num of message b (a Resource
// or InstrumentationScope; nil: none) to dst.
func (c *converter) attributes(b []byte, base int, num protowire.Number, dst *[]kv, arena *[]byte, path func() string) error {
	for off := 0; off < len(b); {
		f, n, err := pbwire.Next(b[off:])
		if err != nil {
			return &pbwire.DecodeError{Offset: base + off, Where: path(), Err: err}
		}
		if f.Num == num && f.Typ == protowire.BytesType {
			if err := c.keyValue(f.Bytes, base+off+n-len(f.Bytes), dst, arena, path); err != nil {
				return err
			}
		}
		off += n
	}
	return nil
}

// keyValue appends one KeyValue to dst: strings as they are in the body,
// other values rendered into arena as appendAnyText renders them.
func (c *converter) keyValue(b []byte, base int, dst *[]kv, arena *[]byte, path func() string) error {
	var key, val []byte
	vals := 0
	for off := 0; off < len(b); {
		f, n, err := pbwire.Next(b[off:])
		if err != nil {
			return &pbwire.DecodeError{Offset: base + off, Where: path() + ": attribute", Err: err}
		}
		if f.Typ == protowire.BytesType {
			switch f.Num {
			case 1:
				if !utf8.Valid(f.Bytes) {
					return &pbwire.DecodeError{Offset: base + off, Where: path() + ": attribute key", Err: errUTF8}
				}
				key = f.Bytes
			case 2:
				vals++
				val = f.Bytes
			}
		}
		off += n
	}
	if vals > 1 {
		return errFallback
	}
	text, err := c.anyValue(val, arena)
	if err != nil {
		return &pbwire.DecodeError{Offset: base, Where: fmt.Sprintf("%s: attribute %q", path(), key), Err: err}
	}
	*dst = append(*dst, kv{key, text})
	return nil
}

// anyValue renders an AnyValue: the last member of its oneof wins.
func (c *converter) anyValue(b []byte, arena *[]byte) ([]byte, error) {
	var last protowire.Number
	var u uint64
	var s []byte
	for off := 0; off < len(b); {
		f, n, err := pbwire.Next(b[off:])
		if err != nil {
			return nil, err
		}
		off += n
		switch {
		case f.Num == 1 && f.Typ == protowire.BytesType:
			if !utf8.Valid(f.Bytes) {
				return nil, errUTF8
			}
			last, s = 1, f.Bytes
		case (f.Num == 2 || f.Num == 3 || f.Num == 8) && f.Typ == protowire.VarintType:
			last, u = f.Num, f.U
		case f.Num == 4 && f.Typ == protowire.Fixed64Type:
			last, u = 4, f.U
		case (f.Num == 5 || f.Num == 6 || f.Num == 7) && f.Typ == protowire.BytesType:
			last, s = f.Num, f.Bytes
		}
	}
	n := len(*arena)
	switch last {
	case 1:
		return s, nil
	case 2:
		*arena = strconv.AppendBool(*arena, protowire.DecodeBool(u))
	case 3:
		*arena = strconv.AppendInt(*arena, int64(u), 10)
	case 4:
		*arena = strconv.AppendFloat(*arena, math.Float64frombits(u), 'g', -1, 64)
	case 7:
		*arena = appendHex(*arena, s)
	case 5, 6:
		// Arrays and maps are rare in tags: the generated types render
		// them (and merge what protobuf merges).
		var v common.AnyValue
		if err := proto.Unmarshal(b, &v); err != nil {
			return nil, err
		}
		*arena = appendAnyText(*arena, &v)
	default: // none, or a string table index: no text
		return nil, nil
	}
	return (*arena)[n:len(*arena):len(*arena)], nil
}

func appendHex(dst, b []byte) []byte {
	const digits = "0123456789abcdef"
	for _, x := range b {
		dst = append(dst, digits[x>>4], digits[x&15])
	}
	return dst
}
