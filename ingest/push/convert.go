package push

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"rrdash/ingest/horizon"
	"rrdash/store"
)

// Point is one reading for the store: one series, one time, one value.
type Point struct {
	Series string
	Sec    int64
	Usec   int64  // 0 ≤ Usec < 1e6
	Value  string // decimal text, as store.Update takes it
	// Num is the value as a number when Numeric is set (Value is then
	// unused): protocols with binary values (remote_write, OTLP) hand it
	// over without formatting text, and the store takes it as such
	// (store.Update.Nums).
	Num     float64
	Numeric bool
	Units   string // kept as metadata when the series is created
	// Type is the data source type a new series gets (counter types with
	// minimum 0); zero means the writer's template's.
	Type store.DSType
	// Graphite marks a point from a Graphite-like source (plaintext,
	// pickle, statsd): a series it creates follows carbon's data model
	// unless a retention rule says otherwise.
	Graphite bool

	// ref, when set, is where a Writer keeps this series' state for the
	// stream's later points (a Graphite connection's name cache)
	ref *seriesRef
}

// Text is the point's value as decimal text, as store.Update.Values takes
// it: Value, or Num as the Writer formats it for a sink that is not the
// store (a Graphite number gives back its line's text).
func (p *Point) Text() string {
	if !p.Numeric {
		return p.Value
	}
	return string(store.AppendReading(nil, p.Num, p.Type))
}

// ConvertStats counts what a conversion did with the fields it saw.
type ConvertStats struct {
	Lines        int // points (lines) parsed
	Points       int // numeric and boolean fields turned into points
	StringFields int // string fields, which have no place in a numeric series: ignored
	BoolFields   int // boolean fields, stored as 1 (true) or 0 (false)
	Future       int // lines refused for a timestamp beyond the horizon
}

// Converter turns parsed lines into points: each numeric field of a line
// becomes series `measurement.field;tag1=v1;tag2=v2` (Graphite tag syntax,
// tags sorted by key). Booleans become 1 and 0; strings are counted and
// ignored. A Converter is not safe for concurrent use.
type Converter struct {
	Precision Precision
	// Now stamps points without a timestamp; nil means time.Now.
	Now func() time.Time
	// Horizon refuses lines stamped too far ahead of the clock.
	Horizon horizon.Horizon

	// names interns series names (most writes repeat them), each with
	// the Writer's handle on its state (seriesRef), as a Graphite
	// connection's name cache does: the Writer finds the series without a
	// lookup by name
	names graphiteNames
	buf   []byte
	tags  []Tag
	vals  valueArena // the points' value text, a chunk at a time
	// limit is the horizon read once rather than for every line (zero:
	// not read yet); ResetClock drops it
	limit horizon.Limit
	Stats ConvertStats
}

// maxSec bounds point times (about ±278,000 years) so that microseconds
// since the epoch fit an int64.
const maxSec = 1 << 43

// maxInterned bounds the name cache; it is dropped when full.
const maxInterned = 1 << 16

// intern returns b as a string, checked by store.ValidSeriesName once,
// and the series' writer handle.
func (c *Converter) intern(b []byte) (graphiteName, error) {
	if gn, ok := c.names.get(b); ok {
		return gn, nil
	}
	s := string(b)
	if err := store.ValidSeriesName(s); err != nil {
		return graphiteName{}, err
	}
	gn := graphiteName{name: s, ref: &seriesRef{}}
	c.names.put(s, gn, maxInterned)
	return gn, nil
}

// ResetClock makes the next line read the clock for the horizon again (a
// Converter reused for another request).
func (c *Converter) ResetClock() { c.limit = horizon.Limit{} }

// Convert appends the points of l to out; on error (naming the line) it
// appends none.
func (c *Converter) Convert(p *Parser, l *Line, out []Point) ([]Point, error) {
	n0 := len(out)
	var sec, usec int64
	if l.HasTime {
		prec := c.Precision
		if prec == 0 {
			prec = Nanosecond
		}
		var ok bool
		if sec, usec, ok = prec.split(l.Time); !ok || sec > maxSec || sec < -maxSec {
			return out, p.fail(p.start, "timestamp %d is out of range", l.Time)
		}
		if c.limit.Check(sec, usec) != nil {
			// beyond the clock as last read: read it again (the reading
			// only falls behind), and keep that reading for the next lines
			c.limit = c.Horizon.Limit()
			if err := c.limit.Check(sec, usec); err != nil {
				c.Stats.Future++
				return out, p.fail(p.start, "%v", err)
			}
		}
	} else {
		now := time.Now
		if c.Now != nil {
			now = c.Now
		}
		t := now()
		sec, usec = t.Unix(), int64(t.Nanosecond()/1000)
	}
	if bytes.IndexByte(l.Measurement, ';') >= 0 {
		return out, p.fail(p.start, "measurement %q contains ';', which separates Graphite tags", l.Measurement)
	}
	c.tags = append(c.tags[:0], l.Tags...)
	if len(c.tags) > 1 { // (sorting none or one was ~50 instructions a line)
		slices.SortFunc(c.tags, func(a, b Tag) int { return bytes.Compare(a.Key, b.Key) })
	}
	for i, t := range c.tags {
		if i > 0 && bytes.Equal(t.Key, c.tags[i-1].Key) {
			return out, p.fail(p.start, "tag key %q given twice", t.Key)
		}
		if err := checkTag(t.Key, t.Value); err != nil {
			return out, p.fail(p.start, "%v", err)
		}
	}
	c.Stats.Lines++
	for _, f := range l.Fields {
		// A value goes as a number (Point.Num: no copy, no parse in the
		// store, 8 bytes in the journal) where the store's text path gives
		// exactly the same for every data source type (graphiteNumber);
		// any other stays text.
		pt := Point{Sec: sec, Usec: usec}
		switch f.Kind {
		case KindString:
			c.Stats.StringFields++
			continue
		case KindBool:
			c.Stats.BoolFields++
			pt.Numeric = true // 1 or 0, written back as "1" and "0"
			if f.Bool {
				pt.Num = 1
			}
		default:
			// f.Num passed floatSyntax and floatInRange, or is an integer
			// without its suffix (which graphiteNumber reads the same)
			if v, ok := graphiteNumber(f.Num); ok {
				pt.Num, pt.Numeric = v, true
			} else {
				pt.Value = c.vals.str(f.Num)
			}
		}
		if bytes.IndexByte(f.Key, ';') >= 0 {
			return out[:n0], p.fail(p.start, "field key %q contains ';', which separates Graphite tags", f.Key)
		}
		b := append(c.buf[:0], l.Measurement...)
		b = append(b, '.')
		b = append(b, f.Key...)
		for _, t := range c.tags {
			b = append(b, ';')
			b = append(b, t.Key...)
			b = append(b, '=')
			b = append(b, t.Value...)
		}
		c.buf = b
		gn, err := c.intern(b)
		if err != nil {
			return out[:n0], p.fail(p.start, "%v", err)
		}
		pt.Series, pt.ref = gn.name, gn.ref
		out = append(out, pt)
		c.Stats.Points++
	}
	return out, nil
}

// checkTag applies Graphite's tag rules: a key is not empty and has none of
// ";!^="; a value is not empty, has no ';' and does not start with '~'.
func checkTag(k, v []byte) error {
	switch {
	case len(k) == 0:
		return fmt.Errorf("empty tag key")
	case bytes.ContainsAny(k, ";!^="):
		return fmt.Errorf("tag key %q contains one of ;!^= (not allowed in Graphite tags)", k)
	case hasControl(k):
		return fmt.Errorf("tag key %q has a control character", k)
	case len(v) == 0:
		return fmt.Errorf("tag %q has an empty value", k)
	case hasControl(v):
		return fmt.Errorf("value %q of tag %q has a control character", v, k)
	case bytes.IndexByte(v, ';') >= 0:
		return fmt.Errorf("value %q of tag %q contains ';' (not allowed in Graphite tags)", v, k)
	case v[0] == '~':
		return fmt.Errorf("value %q of tag %q starts with '~' (not allowed in Graphite tags)", v, k)
	}
	return nil
}

func hasControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}

// ParseError is the outcome of a body that did not parse: the first error
// and how many lines were bad.
type ParseError struct {
	First *SyntaxError
	Bad   int
}

func (e *ParseError) Error() string {
	if e.Bad > 1 {
		return fmt.Sprintf("%v (and %d more bad lines)", e.First, e.Bad-1)
	}
	return e.First.Error()
}

// ParseLineProtocol parses a whole body into points, all or nothing: on
// any bad line it returns a *ParseError naming the first one and counting
// all of them, and no points.
func (c *Converter) ParseLineProtocol(data []byte, out []Point) ([]Point, error) {
	p := NewParser(data)
	var perr *ParseError
	for {
		l, err := p.Next()
		if err == nil && l == nil {
			break
		}
		if err == nil {
			out, err = c.Convert(p, l, out)
		}
		if err != nil {
			se, ok := err.(*SyntaxError)
			if !ok {
				return nil, err
			}
			if perr == nil {
				perr = &ParseError{First: se}
			}
			perr.Bad++
		}
	}
	if perr != nil {
		return nil, perr
	}
	return out, nil
}

// seriesWithSortedTags puts the ";k=v" tags of a Graphite name in key order,
// so one set of tags always names one series; it refuses bad tags.
func seriesWithSortedTags(name string) (string, error) {
	base, rest, ok := strings.Cut(name, ";")
	if !ok {
		return name, nil
	}
	if base == "" {
		return "", fmt.Errorf("series %q: empty name before the tags", name)
	}
	tags := strings.Split(rest, ";")
	for _, t := range tags {
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			return "", fmt.Errorf("series %q: tag %q is not key=value", name, t)
		}
		if err := checkTag([]byte(k), []byte(v)); err != nil {
			return "", fmt.Errorf("series %q: %w", name, err)
		}
	}
	sorted := slices.IsSortedFunc(tags, cmpTagKey)
	if !sorted {
		slices.SortStableFunc(tags, cmpTagKey)
	}
	for i := 1; i < len(tags); i++ {
		if cmpTagKey(tags[i-1], tags[i]) == 0 {
			return "", fmt.Errorf("series %q: tag %q given twice", name, tags[i])
		}
	}
	if sorted {
		return name, nil
	}
	return base + ";" + strings.Join(tags, ";"), nil
}

func cmpTagKey(a, b string) int {
	ka, _, _ := strings.Cut(a, "=")
	kb, _, _ := strings.Cut(b, "=")
	return strings.Compare(ka, kb)
}
