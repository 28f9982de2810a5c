package push

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"rrdash/store"
)

// InfluxDB line protocol:
//
//	measurement[,tag=value...] field=value[,field=value...] [timestamp]
//
// One point per line ('\n'; a '\r' before it is ignored); blank lines and
// lines starting with '#' are skipped. Measurements escape ',' and ' ';
// tag keys, tag values and field keys escape ',', '=' and ' '; a double
// backslash is one backslash; any other backslash is literal. String field
// values are double-quoted and escape '"' and '\'. Newlines are not allowed
// inside values (the spec says so), which keeps every error on one line.

// FieldKind is the type of a line-protocol field value.
type FieldKind uint8

// Field kinds.
const (
	KindFloat FieldKind = iota + 1
	KindInt
	KindUint
	KindString
	KindBool
)

func (k FieldKind) String() string {
	switch k {
	case KindFloat:
		return "float"
	case KindInt:
		return "integer"
	case KindUint:
		return "unsigned"
	case KindString:
		return "string"
	case KindBool:
		return "boolean"
	}
	return fmt.Sprintf("FieldKind(%d)", uint8(k))
}

// Tag is one tag of a line, unescaped.
type Tag struct{ Key, Value []byte }

// Field is one field of a line, unescaped. Num is the number's text without
// its i/u suffix (floats, integers, unsigned); Str the unquoted string;
// Bool the boolean.
type Field struct {
	Key  []byte
	Kind FieldKind
	Num  []byte
	Str  []byte
	Bool bool
}

// Line is one parsed point. Its slices point into the parser's input or
// scratch memory and are valid until the next call of Next.
type Line struct {
	Num         int // 1-based line number in the input
	Measurement []byte
	Tags        []Tag
	Fields      []Field
	Time        int64 // in the parser's precision; valid when HasTime
	HasTime     bool
}

// SyntaxError is a line that does not parse.
type SyntaxError struct {
	Line   int
	Col    int // 1-based byte column
	Reason string
	Text   string // the line, truncated
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d col %d: %s: %q", e.Line, e.Col, e.Reason, e.Text)
}

// Parser reads line protocol from a byte slice.
type Parser struct {
	data  []byte
	pos   int
	num   int
	line  Line
	start int // offset of the current line
	end   int // offset of the current line's end (before '\n' and '\r')
}

// NewParser returns a parser over data.
func NewParser(data []byte) *Parser { return &Parser{data: data} }

// Next returns the next point, or (nil, nil) at the end of the input. A
// *SyntaxError leaves the parser at the following line, so the caller may
// go on to find more errors.
func (p *Parser) Next() (*Line, error) {
	for p.pos < len(p.data) {
		p.num++
		p.start = p.pos
		nl := bytes.IndexByte(p.data[p.pos:], '\n')
		if nl < 0 {
			p.end = len(p.data)
			p.pos = len(p.data)
		} else {
			p.end = p.pos + nl
			p.pos = p.end + 1
		}
		if p.end > p.start && p.data[p.end-1] == '\r' {
			p.end--
		}
		i := p.start
		for i < p.end && (p.data[i] == ' ' || p.data[i] == '\t') {
			i++
		}
		if i == p.end || p.data[i] == '#' {
			continue
		}
		if err := p.parse(i); err != nil {
			return nil, err
		}
		return &p.line, nil
	}
	return nil, nil
}

func (p *Parser) fail(i int, format string, args ...any) *SyntaxError {
	text := p.data[p.start:p.end]
	if len(text) > 200 {
		text = append(text[:200:200], "…"...)
	}
	return &SyntaxError{Line: p.num, Col: i - p.start + 1, Reason: fmt.Sprintf(format, args...), Text: string(text)}
}

// scanName scans a name up to an unescaped ',' or ' ' (or '='), returning
// the unescaped name and the index of the stop byte (or p.end).
// stopEq says whether '=' stops it (keys and tag values) or not (measurements).
func (p *Parser) scanName(i int, stopEq bool) ([]byte, int) {
	d := p.data[:p.end]
	start := i
	escaped := false
	mask := nameStopMeasurement
	if stopEq {
		mask = nameStopKey
	}
	for i < len(d) {
		// the bytes that cannot end a name, by table (this loop was most
		// of the parser's instructions, a byte at a time)
		for i < len(d) && nameStop[d[i]]&mask == 0 {
			i++
		}
		if i >= len(d) {
			break
		}
		if d[i] == '\\' {
			if i+1 < len(d) {
				escaped = true
				i += 2
				continue
			}
			i++ // a backslash ending the line is literal
			continue
		}
		break // ',', ' ' or (stopEq) '='
	}
	if !escaped {
		return d[start:i], i
	}
	special := ", "
	if stopEq {
		special = ",= "
	}
	return unescapeName(d[start:i], special), i
}

// nameStop marks the bytes scanName stops at: a backslash (an escape),
// ',' and ' ' for every name, '=' for keys and tag values.
const (
	nameStopMeasurement uint8 = 1
	nameStopKey         uint8 = 2
)

var nameStop = [256]uint8{
	'\\': nameStopMeasurement | nameStopKey,
	',':  nameStopMeasurement | nameStopKey,
	' ':  nameStopMeasurement | nameStopKey,
	'=':  nameStopKey,
}

// unescapeName drops the backslash before an escapable byte or a backslash.
func unescapeName(b []byte, special string) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+1 < len(b) && (b[i+1] == '\\' || strings.IndexByte(special, b[i+1]) >= 0) {
			i++
		}
		out = append(out, b[i])
	}
	return out
}

func (p *Parser) parse(i int) error {
	d := p.data[:p.end]
	l := &p.line
	*l = Line{Num: p.num, Tags: l.Tags[:0], Fields: l.Fields[:0]}
	if !validUTF8(d[p.start:]) {
		return p.fail(i, "line is not valid UTF-8")
	}
	var j int
	// Measurement: the ',' and ' ' stop it; '=' is an ordinary byte.
	l.Measurement, j = p.scanName(i, false)
	if len(l.Measurement) == 0 {
		return p.fail(i, "missing measurement")
	}
	// Tag set.
	for j < len(d) && d[j] == ',' {
		k, e := p.scanName(j+1, true)
		if len(k) == 0 {
			return p.fail(j+1, "missing tag key")
		}
		if e >= len(d) || d[e] != '=' {
			return p.fail(e, "missing tag value for tag key %q (want key=value)", k)
		}
		v, e2 := p.scanName(e+1, true)
		if len(v) == 0 {
			return p.fail(e+1, "missing tag value for tag key %q", k)
		}
		if e2 < len(d) && d[e2] == '=' {
			return p.fail(e2, "unescaped '=' in tag value of %q", k)
		}
		l.Tags = append(l.Tags, Tag{Key: k, Value: v})
		j = e2
	}
	if j >= len(d) {
		return p.fail(j, "missing fields")
	}
	if d[j] != ' ' {
		return p.fail(j, "unexpected %q after tag set (want a space before the fields)", d[j])
	}
	for j < len(d) && d[j] == ' ' {
		j++
	}
	if j >= len(d) {
		return p.fail(j, "missing fields")
	}
	// Field set.
	for {
		k, e := p.scanName(j, true)
		if len(k) == 0 {
			return p.fail(j, "missing field key")
		}
		if e >= len(d) || d[e] != '=' {
			return p.fail(e, "missing field value for field key %q (want key=value)", k)
		}
		f := Field{Key: k}
		var err error
		if j, err = p.fieldValue(e+1, &f); err != nil {
			return err
		}
		l.Fields = append(l.Fields, f)
		if j < len(d) && d[j] == ',' {
			j++
			continue
		}
		break
	}
	if j >= len(d) {
		return nil
	}
	if d[j] != ' ' {
		return p.fail(j, "unexpected %q after field value (want ',' or a space)", d[j])
	}
	for j < len(d) && d[j] == ' ' {
		j++
	}
	if j >= len(d) {
		return nil // trailing spaces
	}
	e := j
	for e < len(d) && d[e] != ' ' {
		e++
	}
	ts, ok := timestampDigits(d[j:e])
	if !ok {
		var err error
		if ts, err = strconv.ParseInt(string(d[j:e]), 10, 64); err != nil {
			return p.fail(j, "bad timestamp %q (want an integer)", d[j:e])
		}
	}
	l.Time, l.HasTime = ts, true
	for e < len(d) && d[e] == ' ' {
		e++
	}
	if e < len(d) {
		return p.fail(e, "unexpected text %q after the timestamp", d[e:])
	}
	return nil
}

// validUTF8 is utf8.Valid with the usual all-ASCII line checked eight
// bytes at a time (utf8.Valid goes a byte at a time after its first
// non-multiple of eight).
func validUTF8(b []byte) bool {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&0x8080808080808080 != 0 {
			return utf8.Valid(b[i:]) // b[:i] is ASCII
		}
	}
	for ; i < len(b); i++ {
		if b[i] >= 0x80 {
			return utf8.Valid(b[i:])
		}
	}
	return true
}

// timestampDigits reads the usual timestamp, `-?[0-9]{1,19}` within
// int64 (nanoseconds since the epoch have 19 digits), without strconv;
// anything else ('+', 20 digits, overflow) is left to strconv.ParseInt,
// which gives the same for these.
func timestampDigits(b []byte) (int64, bool) {
	d := b
	neg := len(d) > 0 && d[0] == '-'
	if neg {
		d = d[1:]
	}
	if len(d) == 0 || len(d) > 19 { // 19 digits fit a uint64
		return 0, false
	}
	var u uint64
	head := len(d) % 8
	for _, c := range d[:head] {
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	for k := head; k < len(d); k += 8 { // eight digits at a time
		x, ok := store.EightDigits(binary.LittleEndian.Uint64(d[k:]))
		if !ok {
			return 0, false
		}
		u = u*1e8 + x
	}
	switch {
	case neg && u <= 1<<63:
		return -int64(u), true // 1<<63 is MinInt64, its own negation
	case !neg && u < 1<<63:
		return int64(u), true
	}
	return 0, false
}

// fieldValue parses the value starting at d[i] and returns the index after it.
func (p *Parser) fieldValue(i int, f *Field) (int, error) {
	d := p.data[:p.end]
	if i >= len(d) || d[i] == ' ' || d[i] == ',' {
		return 0, p.fail(i, "missing field value for field key %q", f.Key)
	}
	if d[i] == '"' {
		j := i + 1
		escaped := false
		for j < len(d) && d[j] != '"' {
			if d[j] == '\\' && j+1 < len(d) && (d[j+1] == '"' || d[j+1] == '\\') {
				escaped = true
				j++
			}
			j++
		}
		if j >= len(d) {
			return 0, p.fail(i, "unterminated string value of field %q", f.Key)
		}
		f.Kind, f.Str = KindString, d[i+1:j]
		if escaped {
			f.Str = unescapeString(f.Str)
		}
		return j + 1, nil
	}
	e := i
	for e < len(d) && d[e] != ',' && d[e] != ' ' {
		e++
	}
	v := d[i:e]
	switch string(v) {
	case "t", "T", "true", "True", "TRUE":
		f.Kind, f.Bool = KindBool, true
		return e, nil
	case "f", "F", "false", "False", "FALSE":
		f.Kind, f.Bool = KindBool, false
		return e, nil
	}
	switch v[len(v)-1] {
	case 'i':
		if _, err := strconv.ParseInt(string(v[:len(v)-1]), 10, 64); err != nil || !plainInteger(v[:len(v)-1], true) {
			return 0, p.fail(i, "invalid integer %q for field %q (want -9223372036854775808i..9223372036854775807i)", v, f.Key)
		}
		f.Kind, f.Num = KindInt, v[:len(v)-1]
		return e, nil
	case 'u':
		if _, err := strconv.ParseUint(string(v[:len(v)-1]), 10, 64); err != nil || !plainInteger(v[:len(v)-1], false) {
			return 0, p.fail(i, "invalid unsigned integer %q for field %q (want 0u..18446744073709551615u)", v, f.Key)
		}
		f.Kind, f.Num = KindUint, v[:len(v)-1]
		return e, nil
	}
	if !floatSyntax(v) {
		return 0, p.fail(i, "invalid field value %q for field %q (want a number, 1i, 1u, a quoted string or a boolean)", v, f.Key)
	}
	if !floatInRange(v) {
		return 0, p.fail(i, "float %q for field %q is out of range", v, f.Key)
	}
	f.Kind, f.Num = KindFloat, v
	return e, nil
}

// plainInteger refuses what ParseInt would take but the protocol doesn't:
// a '+' sign or underscores.
func plainInteger(b []byte, signed bool) bool {
	if signed && len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// floatSyntax accepts [-]digits[.digits][e[+-]digits] (either the integer or
// the fraction part may be empty, not both); it refuses NaN, Inf, hex and
// underscores, which strconv would take.
func floatSyntax(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
		digits++
	}
	if i < len(b) && b[i] == '.' {
		i++
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		exp := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(b)
}

func unescapeString(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+1 < len(b) && (b[i+1] == '"' || b[i+1] == '\\') {
			i++
		}
		out = append(out, b[i])
	}
	return out
}

// Precision is the unit of line-protocol timestamps.
type Precision int64

// Precisions, as nanoseconds per unit.
const (
	Nanosecond  Precision = 1
	Microsecond Precision = 1e3
	Millisecond Precision = 1e6
	Second      Precision = 1e9
	Minute      Precision = 60e9
	Hour        Precision = 3600e9
)

// ParsePrecision takes the `precision` parameter of the InfluxDB v1 and v2
// write APIs: ns (also n), us (also u, µ), ms, s, m, h. Empty is ns.
func ParsePrecision(s string) (Precision, error) {
	switch s {
	case "", "ns", "n":
		return Nanosecond, nil
	case "us", "u", "µ":
		return Microsecond, nil
	case "ms":
		return Millisecond, nil
	case "s":
		return Second, nil
	case "m":
		return Minute, nil
	case "h":
		return Hour, nil
	}
	return 0, fmt.Errorf("precision %q: want ns, us, ms, s, m or h", s)
}

// split converts a timestamp in units of p to seconds and microseconds
// (floored, so negative times stay ordered); false if out of range.
func (p Precision) split(ts int64) (sec, usec int64, ok bool) {
	switch {
	case p >= Second:
		n := int64(p / Second)
		if ts > math.MaxInt64/n || ts < math.MinInt64/n {
			return 0, 0, false
		}
		return ts * n, 0, true
	default:
		per := int64(Second / p) // units per second
		sec, rem := ts/per, ts%per
		if rem < 0 {
			sec--
			rem += per
		}
		return sec, rem * int64(p) / 1000, true
	}
}
