package kinesis

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"rrdash/ingest/horizon"
)

// Reason names why an item of a record was not applied. The names appear in
// the dead-letter file and in the metrics.
type Reason string

// Reasons for dead-lettering.
const (
	ReasonNotJSON      Reason = "not_json"       // the record or line is not JSON
	ReasonNotObject    Reason = "not_object"     // a JSON value that is not an object
	ReasonMissingField Reason = "missing_field"  // timestamp, name or value absent or null
	ReasonBadName      Reason = "bad_name"       // name empty, not a string, control characters…
	ReasonBadValue     Reason = "bad_value"      // value not a finite number or numeric string
	ReasonBadTime      Reason = "bad_time"       // timestamp unparsable
	ReasonAbsurdTime   Reason = "absurd_time"    // timestamp before MinTime or too far after arrival
	ReasonBadTag       Reason = "bad_tag"        // an extra field that cannot be a Graphite tag
	ReasonLate         Reason = "late"           // older than the grace window or than the last applied point
	ReasonDuplicate    Reason = "duplicate_time" // a second point for the same series and second
	ReasonRejected     Reason = "store_rejected" // the store refused the update
)

// Point is one decoded metric reading.
type Point struct {
	Series string // name, plus ";tag=value" pairs sorted by tag when tags are kept
	Sec    int64
	Usec   int64
	Value  string // canonical decimal text of a finite float64
	Units  string
}

// Micros is the point's time in microseconds since the epoch.
func (p Point) Micros() int64 { return p.Sec*1e6 + p.Usec }

// ItemError is one item of a record that could not be decoded.
type ItemError struct {
	Sub    int // 1 + sub-sequence index of the user record in a KPL aggregate, 0 for a plain record
	Item   int // index of the JSON value in the record (array element or line), 0 for a whole record
	Reason Reason
	Detail string
}

func (e ItemError) Error() string {
	if e.Sub > 0 {
		return fmt.Sprintf("sub-sequence %d item %d: %s: %s", e.Sub-1, e.Item, e.Reason, e.Detail)
	}
	return fmt.Sprintf("item %d: %s: %s", e.Item, e.Reason, e.Detail)
}

// DecodedItem is a point with the index of the JSON value it came from.
type DecodedItem struct {
	Sub   int // as in ItemError
	Item  int
	Point Point
}

// DecoderConfig controls record decoding.
type DecoderConfig struct {
	// Tags lists the extra fields kept as Graphite tags; "*" keeps every
	// extra field. Empty keeps none (extra fields are ignored).
	Tags []string
	// MinTime rejects points before it as absurd (default 1990-01-01).
	MinTime time.Time
	// MaxFuture rejects points more than this after the record's arrival
	// time as absurd (default horizon.DefaultMaxFuture). Measured against
	// the arrival time, not the clock, so re-reading a record after a
	// restart decides the same.
	MaxFuture time.Duration
	// MaxNameLen bounds series names in bytes (default 1024).
	MaxNameLen int
}

// Decoder turns Kinesis record data into points. It is safe for concurrent
// use once built.
type Decoder struct {
	allTags   bool
	tags      map[string]bool
	minSec    int64
	maxFuture int64 // microseconds
	maxName   int
}

// NewDecoder checks cfg and builds a decoder.
func NewDecoder(cfg DecoderConfig) (*Decoder, error) {
	d := &Decoder{tags: map[string]bool{}, minSec: 631152000, maxFuture: int64(horizon.DefaultMaxFuture / time.Microsecond), maxName: 1024}
	for _, t := range cfg.Tags {
		switch {
		case t == "*":
			d.allTags = true
		case !validTagPart(t):
			return nil, fmt.Errorf("tag field %q: must be non-empty without ';', '=', '~', '!' or control characters", t)
		case t == "timestamp" || t == "name" || t == "value" || t == "units":
			return nil, fmt.Errorf("tag field %q: a record field, not an extra one", t)
		default:
			d.tags[t] = true
		}
	}
	if !cfg.MinTime.IsZero() {
		d.minSec = cfg.MinTime.Unix()
	}
	if cfg.MaxFuture < 0 {
		return nil, fmt.Errorf("max future %v is negative", cfg.MaxFuture)
	}
	if cfg.MaxFuture > 0 {
		d.maxFuture = int64(cfg.MaxFuture / time.Microsecond)
	}
	if cfg.MaxNameLen < 0 {
		return nil, fmt.Errorf("max name length %d is negative", cfg.MaxNameLen)
	}
	if cfg.MaxNameLen > 0 {
		d.maxName = cfg.MaxNameLen
	}
	return d, nil
}

// Decode decodes one record: a JSON object, a JSON array of objects, or
// newline-delimited JSON. arrival is the record's approximate arrival time
// (zero: no future check). Good points and bad items are appended to the
// given slices, so the caller can reuse them.
func (d *Decoder) Decode(data []byte, arrival time.Time, items []DecodedItem, bad []ItemError) ([]DecodedItem, []ItemError) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return items, append(bad, ItemError{Item: 0, Reason: ReasonNotJSON, Detail: "empty record"})
	}
	var arrivalMicros int64
	if !arrival.IsZero() {
		arrivalMicros = arrival.UnixMicro()
	}
	if json.Valid(trimmed) {
		if trimmed[0] == '[' {
			var elems []json.RawMessage
			if err := json.Unmarshal(trimmed, &elems); err != nil {
				return items, append(bad, ItemError{Item: 0, Reason: ReasonNotJSON, Detail: err.Error()})
			}
			if len(elems) == 0 { // nothing to apply, but not silently
				return items, append(bad, ItemError{Item: 0, Reason: ReasonNotObject, Detail: "empty array"})
			}
			for i, e := range elems {
				items, bad = d.decodeValue(i, e, arrivalMicros, items, bad)
			}
			return items, bad
		}
		return d.decodeValue(0, trimmed, arrivalMicros, items, bad)
	}
	if !bytes.Contains(trimmed, []byte{'\n'}) {
		return items, append(bad, ItemError{Item: 0, Reason: ReasonNotJSON, Detail: syntaxDetail(trimmed)})
	}
	// Newline-delimited JSON: each non-blank line is one item, numbered by
	// its position among the non-blank lines.
	item := 0
	for line := range bytes.SplitSeq(trimmed, []byte{'\n'}) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if !json.Valid(line) {
			bad = append(bad, ItemError{Item: item, Reason: ReasonNotJSON, Detail: syntaxDetail(line)})
		} else {
			items, bad = d.decodeValue(item, line, arrivalMicros, items, bad)
		}
		item++
	}
	return items, bad
}

func syntaxDetail(b []byte) string {
	var v any
	err := json.Unmarshal(b, &v)
	if err == nil {
		return "invalid JSON"
	}
	return err.Error()
}

func (d *Decoder) decodeValue(item int, raw []byte, arrival int64, items []DecodedItem, bad []ItemError) ([]DecodedItem, []ItemError) {
	p, ie := d.decodeObject(raw, arrival)
	if ie != nil {
		ie.Item = item
		return items, append(bad, *ie)
	}
	return append(items, DecodedItem{Item: item, Point: p}), bad
}

func (d *Decoder) decodeObject(raw []byte, arrival int64) (Point, *ItemError) {
	if len(raw) == 0 || raw[0] != '{' {
		return Point{}, &ItemError{Reason: ReasonNotObject, Detail: "want a JSON object {timestamp, name, value, units}"}
	}
	var buf [8]member
	fields := objectMembers(raw, buf[:0])
	var p Point
	ts, ok := present(fields, "timestamp")
	if !ok {
		return Point{}, &ItemError{Reason: ReasonMissingField, Detail: "no timestamp"}
	}
	nameRaw, ok := present(fields, "name")
	if !ok {
		return Point{}, &ItemError{Reason: ReasonMissingField, Detail: "no name"}
	}
	valRaw, ok := present(fields, "value")
	if !ok {
		return Point{}, &ItemError{Reason: ReasonMissingField, Detail: "no value"}
	}
	name, ok := jsonString(nameRaw)
	if !ok {
		return Point{}, &ItemError{Reason: ReasonBadName, Detail: "name is not a string"}
	}
	if err := d.checkName(name); err != nil {
		return Point{}, &ItemError{Reason: ReasonBadName, Detail: err.Error()}
	}
	var err error
	if p.Value, err = parseValue(valRaw); err != nil {
		return Point{}, &ItemError{Reason: ReasonBadValue, Detail: err.Error()}
	}
	if p.Sec, p.Usec, err = parseTimestamp(ts); err != nil {
		return Point{}, &ItemError{Reason: ReasonBadTime, Detail: err.Error()}
	}
	if p.Sec < d.minSec {
		return Point{}, &ItemError{Reason: ReasonAbsurdTime, Detail: fmt.Sprintf("timestamp %s is before %s", fmtTime(p.Sec, p.Usec), fmtTime(d.minSec, 0))}
	}
	if arrival != 0 {
		if err := horizon.CheckAt(time.UnixMicro(arrival), time.Duration(d.maxFuture)*time.Microsecond, p.Sec, p.Usec); err != nil {
			return Point{}, &ItemError{Reason: ReasonAbsurdTime, Detail: err.Error() + " when the record arrived"}
		}
	}
	if u, ok := present(fields, "units"); ok {
		if p.Units, ok = jsonString(u); !ok {
			return Point{}, &ItemError{Reason: ReasonMissingField, Detail: "units is not a string"}
		}
	}
	p.Series = name
	if d.allTags || len(d.tags) > 0 {
		if p.Series, err = d.withTags(name, fields); err != nil {
			return Point{}, &ItemError{Reason: ReasonBadTag, Detail: err.Error()}
		}
	}
	return p, nil
}

// member is one key and raw value of a JSON object.
type member struct {
	key string
	val []byte
}

// objectMembers splits a JSON object that passed json.Valid into its
// members without building a map: decoding is the consumer's hot path. A
// key given twice keeps its last value, as encoding/json does.
func objectMembers(raw []byte, out []member) []member {
	i := skipSpace(raw, 1)
	for i < len(raw) && raw[i] == '"' {
		end := stringEnd(raw, i)
		key, _ := jsonString(raw[i:end])
		i = skipSpace(raw, end)
		i = skipSpace(raw, i+1) // after the colon
		vend := valueEnd(raw, i)
		val := raw[i:vend]
		replaced := false
		for j := range out {
			if out[j].key == key {
				out[j].val, replaced = val, true
			}
		}
		if !replaced {
			out = append(out, member{key, val})
		}
		i = skipSpace(raw, vend)
		if i >= len(raw) || raw[i] != ',' {
			break
		}
		i = skipSpace(raw, i+1)
	}
	return out
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the string starting at b[i] == '"'.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// valueEnd returns the index after the value starting at b[i].
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = stringEnd(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
			j++
		}
		return j
	}
}

// jsonString decodes a JSON string value; false if raw is not a string.
func jsonString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// present returns a field that exists and is not null.
func present(fields []member, key string) ([]byte, bool) {
	for _, m := range fields {
		if m.key == key {
			if string(m.val) == "null" {
				return nil, false
			}
			return m.val, true
		}
	}
	return nil, false
}

func (d *Decoder) checkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty name")
	case len(name) > d.maxName:
		return fmt.Errorf("name is %d bytes, more than %d", len(name), d.maxName)
	case !utf8.ValidString(name):
		return fmt.Errorf("name %q is not valid UTF-8", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("name %q has a control character", name)
		}
	}
	return nil
}

func validTagPart(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == ';' || r == '=' || r == '~' || r == '!' {
			return false
		}
	}
	return true
}

// withTags appends the kept extra fields as Graphite tags, sorted by tag
// name so one set of tags always names the same series.
func (d *Decoder) withTags(name string, fields []member) (string, error) {
	var tags []member
	for _, m := range fields {
		switch m.key {
		case "timestamp", "name", "value", "units":
			continue
		}
		if d.allTags || d.tags[m.key] {
			tags = append(tags, m)
		}
	}
	if len(tags) == 0 {
		return name, nil
	}
	slices.SortFunc(tags, func(a, b member) int { return strings.Compare(a.key, b.key) })
	var b strings.Builder
	b.WriteString(name)
	for _, m := range tags {
		k, raw := m.key, m.val
		if string(raw) == "null" {
			continue
		}
		var v string
		switch raw[0] {
		case '"':
			v, _ = jsonString(raw)
		case '{', '[':
			return "", fmt.Errorf("tag %q: value is an object or array", k)
		default: // number, true, false: their JSON text
			v = string(raw)
		}
		if !validTagPart(k) {
			return "", fmt.Errorf("tag name %q: must be non-empty without ';', '=', '~', '!' or control characters", k)
		}
		if !validTagPart(v) {
			return "", fmt.Errorf("tag %q value %q: must be non-empty without ';', '=', '~', '!' or control characters", k, v)
		}
		b.WriteByte(';')
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
	}
	return b.String(), nil
}

// parseValue accepts a JSON number or a string holding a decimal number and
// returns canonical text. NaN and infinities are refused: rrdtool's unknown
// is "U", which a producer should express by sending nothing.
func parseValue(raw []byte) (string, error) {
	s := string(raw)
	if raw[0] == '"' {
		s, _ = jsonString(raw)
		s = strings.TrimSpace(s)
	} else if raw[0] == '{' || raw[0] == '[' || s == "true" || s == "false" {
		return "", fmt.Errorf("value %s is not a number", truncate(s))
	}
	if !isDecimal(s) {
		return "", fmt.Errorf("value %q is not a decimal number", truncate(s))
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) {
		return "", fmt.Errorf("value %q is out of range", truncate(s))
	}
	return strconv.FormatFloat(v, 'g', -1, 64), nil
}

// isDecimal accepts [+-]digits[.digits][e[+-]digits] with at least one
// digit in the mantissa; strconv alone would also take "Inf", "NaN", hex
// floats and underscores.
func isDecimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// parseTimestamp accepts an ISO 8601 string (UTC when no zone is given) or
// epoch seconds as a JSON number or numeric string.
func parseTimestamp(raw []byte) (sec, usec int64, err error) {
	s := string(raw)
	if raw[0] == '"' {
		s, _ = jsonString(raw)
		s = strings.TrimSpace(s)
		if len(s) >= 5 && s[4] == '-' {
			return parseISO(s)
		}
	} else if raw[0] == '{' || raw[0] == '[' || s == "true" || s == "false" {
		return 0, 0, fmt.Errorf("timestamp %s is neither a string nor a number", truncate(s))
	}
	return parseEpoch(s)
}

// parseEpoch parses decimal epoch seconds with up to 6 fraction digits kept
// exactly (more are truncated to the microsecond).
func parseEpoch(s string) (sec, usec int64, err error) {
	if !isDecimal(s) || strings.ContainsAny(s, "eE") {
		return 0, 0, fmt.Errorf("timestamp %q is neither ISO 8601 nor epoch seconds", truncate(s))
	}
	intPart, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimLeft(intPart, "+-")
	if intPart == "" {
		intPart = "0"
	}
	sec, err = strconv.ParseInt(intPart, 10, 64)
	if err != nil || sec > 1<<43 { // keeps sec·1e6 within int64
		return 0, 0, fmt.Errorf("timestamp %q is out of range", truncate(s))
	}
	if len(frac) > 6 {
		frac = frac[:6]
	}
	if frac != "" {
		f, _ := strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64)
		usec = f
	}
	if neg {
		sec, usec = -sec, -usec
		if usec < 0 {
			sec--
			usec += 1e6
		}
	}
	return sec, usec, nil
}

// parseISO parses YYYY-MM-DD[T ]hh:mm:ss[.fraction][Z|±hh:mm|±hhmm|±hh].
func parseISO(s string) (sec, usec int64, err error) {
	bad := func(what string) (int64, int64, error) {
		return 0, 0, fmt.Errorf("timestamp %q: %s (want ISO 8601 like 2014-12-13T16:14:47.820000[Z|+01:00])", truncate(s), what)
	}
	num := func(from, n int) (int, bool) {
		if from+n > len(s) {
			return 0, false
		}
		v := 0
		for i := from; i < from+n; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 2)
	day, ok3 := num(8, 2)
	if !ok1 || !ok2 || !ok3 || s[4] != '-' || s[7] != '-' {
		return bad("bad date")
	}
	if len(s) < 19 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':' {
		return bad("want a time of day hh:mm:ss after the date")
	}
	hour, ok1 := num(11, 2)
	minute, ok2 := num(14, 2)
	second, ok3 := num(17, 2)
	if !ok1 || !ok2 || !ok3 {
		return bad("bad time of day")
	}
	i := 19
	if i < len(s) && (s[i] == '.' || s[i] == ',') {
		i++
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if i-start < 6 {
				usec = usec*10 + int64(s[i]-'0')
			}
			i++
		}
		n := i - start
		if n == 0 {
			return bad("empty fraction")
		}
		for ; n < 6; n++ {
			usec *= 10
		}
	}
	offset := 0
	switch {
	case i == len(s):
	case s[i] == 'Z' || s[i] == 'z':
		i++
	case s[i] == '+' || s[i] == '-':
		sign := 1
		if s[i] == '-' {
			sign = -1
		}
		i++
		oh, ok := num(i, 2)
		if !ok {
			return bad("bad zone offset")
		}
		i += 2
		om := 0
		if i < len(s) {
			if s[i] == ':' {
				i++
			}
			if om, ok = num(i, 2); !ok {
				return bad("bad zone offset")
			}
			i += 2
		}
		if oh > 23 || om > 59 {
			return bad("zone offset out of range")
		}
		offset = sign * (oh*3600 + om*60)
	}
	if i != len(s) {
		return bad("unexpected text after the time")
	}
	if month < 1 || month > 12 || hour > 23 || minute > 59 || second > 60 {
		return bad("field out of range")
	}
	if second == 60 { // a leap second is the last instant of its minute
		second = 59
		usec = 999999
	}
	t := time.Date(year, time.Month(month), day, hour, minute, second, 0, time.UTC)
	if t.Day() != day {
		return bad("no such day")
	}
	return t.Unix() - int64(offset), usec, nil
}

func fmtTime(sec, usec int64) string {
	return time.Unix(sec, usec*1000).UTC().Format("2006-01-02T15:04:05.999999Z")
}
