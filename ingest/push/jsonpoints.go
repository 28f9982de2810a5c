package push

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"rrdash/ingest/horizon"
	"rrdash/store"
)

// The body of POST /api/v1/points is a JSON array of the Kinesis record
// shape:
//
//	[{"timestamp": "2026-11-22T14:00:00Z" | 1795356000, "name": "web.requests",
//	  "value": 12.5, "units": "req/s", "tags": {"route": "GET:/g"}}]
//
// timestamp is ISO 8601 (UTC when no zone is given) or epoch seconds
// (fraction allowed); value a JSON number or a string holding one; units
// and tags are optional. Tags become Graphite tags, sorted by key. Unknown
// members are refused rather than silently dropped.

type jsonPoint struct {
	Timestamp json.RawMessage   `json:"timestamp"`
	Name      *string           `json:"name"`
	Value     json.RawMessage   `json:"value"`
	Units     string            `json:"units"`
	Tags      map[string]string `json:"tags"`
}

// PointError is a JSON point that could not be taken.
type PointError struct {
	Index  int // 0-based index in the array; -1 for the array itself
	Reason string
	// Fatal: the body is not valid JSON from here on, so nothing after
	// this point can be read; otherwise only this point is refused.
	Fatal bool
	// Err is the cause when it is a sentinel (horizon.ErrFuture).
	Err error
}

func (e *PointError) Error() string {
	if e.Index < 0 {
		return "points: " + e.Reason
	}
	return fmt.Sprintf("point %d: %s", e.Index, e.Reason)
}

func (e *PointError) Unwrap() error { return e.Err }

// DefaultMaxPointBytes bounds one JSON point (whitespace before it
// included), so that streaming a body holds at most that much of it.
const DefaultMaxPointBytes = 256 << 10

// JSONPointReader reads the points of a JSON array one at a time, holding
// at most one point of the input in memory.
type JSONPointReader struct {
	dec     *json.Decoder
	cr      *pointLimitReader
	Horizon horizon.Horizon
	index   int
	started bool
	err     *PointError // sticky fatal error
	raw     json.RawMessage
	rd      bytes.Reader
}

// pointLimitReader fails once the decoder holds more than max bytes past
// its last complete value, which bounds the memory one point can take.
type pointLimitReader struct {
	r    io.Reader
	dec  *json.Decoder
	read int64
	max  int64
}

var errPointTooLarge = errors.New("point too large")

func (p *pointLimitReader) Read(b []byte) (int, error) {
	if p.read-p.dec.InputOffset() > p.max {
		return 0, fmt.Errorf("%w: more than %d bytes", errPointTooLarge, p.max)
	}
	n, err := p.r.Read(b)
	p.read += int64(n)
	return n, err
}

// NewJSONPointReader reads from r; maxPoint bounds one point's bytes
// (0: DefaultMaxPointBytes).
func NewJSONPointReader(r io.Reader, maxPoint int) *JSONPointReader {
	if maxPoint <= 0 {
		maxPoint = DefaultMaxPointBytes
	}
	cr := &pointLimitReader{r: r, max: int64(maxPoint)}
	dec := json.NewDecoder(cr)
	cr.dec = dec
	return &JSONPointReader{dec: dec, cr: cr}
}

// Next returns the next point, io.EOF after a well-formed end of the
// array, or a *PointError: a bad point (Next may be called again for the
// next one) or, when Fatal, a body that cannot be read further.
func (jr *JSONPointReader) Next() (Point, error) {
	if jr.err != nil {
		return Point{}, jr.err
	}
	fatal := func(i int, reason string, err error) (Point, error) {
		jr.err = &PointError{Index: i, Reason: reason, Fatal: true, Err: err}
		return Point{}, jr.err
	}
	if !jr.started {
		jr.started = true
		tok, err := jr.dec.Token()
		if err != nil {
			return fatal(-1, fmt.Sprintf("not JSON: %v", err), err)
		}
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			return fatal(-1, "want a JSON array of {timestamp, name, value, units?, tags?}", nil)
		}
	}
	if !jr.dec.More() {
		if _, err := jr.dec.Token(); err != nil {
			return fatal(-1, fmt.Sprintf("array not closed: %v", err), err)
		}
		if _, err := jr.dec.Token(); !errors.Is(err, io.EOF) {
			return fatal(-1, "unexpected data after the array", nil)
		}
		jr.err = &PointError{Index: -1, Reason: "read past the end", Fatal: true, Err: io.EOF}
		return Point{}, io.EOF
	}
	i := jr.index
	jr.index++
	jr.raw = jr.raw[:0]
	if err := jr.dec.Decode(&jr.raw); err != nil {
		return fatal(i, jsonReason(err), err)
	}
	if err := checkJSONText(jr.raw); err != nil {
		return Point{}, &PointError{Index: i, Reason: err.Error()}
	}
	// A second decoder over the point alone: DisallowUnknownFields needs
	// one, and the outer one must stay positioned in the array.
	jr.rd.Reset(jr.raw)
	d := json.NewDecoder(&jr.rd)
	d.DisallowUnknownFields()
	d.UseNumber()
	var jp jsonPoint
	if err := d.Decode(&jp); err != nil {
		return Point{}, &PointError{Index: i, Reason: jsonReason(err)}
	}
	p, err := jp.point()
	if err == nil {
		err = jr.Horizon.Check(p.Sec, p.Usec)
	}
	if err != nil {
		var cause error
		if errors.Is(err, horizon.ErrFuture) {
			cause = horizon.ErrFuture
		}
		return Point{}, &PointError{Index: i, Reason: err.Error(), Err: cause}
	}
	return p, nil
}

// checkJSONText refuses what encoding/json would silently turn into
// U+FFFD: bytes that are not UTF-8 and \u escapes of lone surrogates.
// raw is one valid JSON value, so a backslash only occurs in strings.
func checkJSONText(raw []byte) error {
	if !utf8.Valid(raw) {
		for i := 0; i < len(raw); {
			r, n := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && n <= 1 {
				return fmt.Errorf("invalid UTF-8 (byte 0x%02x at offset %d of the point)", raw[i], i)
			}
			i += n
		}
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if i+1 < len(raw) && raw[i+1] != 'u' {
			i++
			continue
		}
		r1, ok := hex4(raw, i+2)
		if !ok {
			return fmt.Errorf("bad \\u escape at offset %d of the point", i)
		}
		switch {
		case utf16.IsSurrogate(r1) && r1 < 0xdc00:
			r2, ok := rune(0), i+7 < len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u'
			if ok {
				r2, ok = hex4(raw, i+8)
			}
			if !ok || r2 < 0xdc00 || r2 > 0xdfff {
				return fmt.Errorf("lone surrogate \\u%04x at offset %d of the point (not a character)", r1, i)
			}
			i += 11
		case utf16.IsSurrogate(r1):
			return fmt.Errorf("lone surrogate \\u%04x at offset %d of the point (not a character)", r1, i)
		default:
			i += 5
		}
	}
	return nil
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(b[i:i+4]), 16, 32)
	return rune(v), err == nil
}

// DecodeJSONPoints decodes a JSON array of points, all or nothing: the
// first bad point is returned as a *PointError. The HTTP handler streams
// with JSONPointReader instead.
func DecodeJSONPoints(r io.Reader, out []Point) ([]Point, error) {
	jr := NewJSONPointReader(r, math.MaxInt)
	for {
		p, err := jr.Next()
		if err == io.EOF { // a *PointError may wrap io.EOF: that is no end
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
}

func jsonReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("member %q: want %v, got JSON %s", te.Field, te.Type, te.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func (jp *jsonPoint) point() (Point, error) {
	var p Point
	if jp.Name == nil || *jp.Name == "" {
		return p, errors.New("no name")
	}
	if len(jp.Timestamp) == 0 || string(jp.Timestamp) == "null" {
		return p, errors.New("no timestamp")
	}
	if len(jp.Value) == 0 || string(jp.Value) == "null" {
		return p, errors.New("no value")
	}
	var err error
	if p.Sec, p.Usec, err = parseTimestamp(jp.Timestamp); err != nil {
		return p, err
	}
	if p.Value, err = jsonValue(jp.Value); err != nil {
		return p, err
	}
	name := *jp.Name
	if strings.IndexByte(name, ';') >= 0 {
		return p, fmt.Errorf("name %q contains ';': give tags in \"tags\"", name)
	}
	if len(jp.Tags) > 0 {
		var b strings.Builder
		b.WriteString(name)
		for _, k := range slices.Sorted(maps.Keys(jp.Tags)) {
			if err := checkTag([]byte(k), []byte(jp.Tags[k])); err != nil {
				return p, err
			}
			b.WriteString(";" + k + "=" + jp.Tags[k])
		}
		name = b.String()
	}
	if err := store.ValidSeriesName(name); err != nil {
		return p, err
	}
	p.Series, p.Units = name, jp.Units
	return p, nil
}

func jsonValue(raw json.RawMessage) (string, error) {
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("value %s: %v", raw, err)
		}
	}
	if !floatSyntax([]byte(s)) {
		return "", fmt.Errorf("value %s is not a decimal number", raw)
	}
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return "", fmt.Errorf("value %s is out of range", raw)
	}
	return s, nil
}

// parseTimestamp takes epoch seconds (a JSON number, or a string holding
// one) or an ISO 8601 string. Sub-microsecond digits are dropped.
func parseTimestamp(raw json.RawMessage) (sec, usec int64, err error) {
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, 0, fmt.Errorf("timestamp %s: %v", raw, err)
		}
		if strings.ContainsAny(s, "T-:") && !strings.HasPrefix(s, "-") {
			return parseISO(s)
		}
	}
	return parseEpoch(s)
}

var isoLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05.999999999Z0700", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"}

func parseISO(s string) (int64, int64, error) {
	for _, l := range isoLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.Unix(), int64(t.Nanosecond() / 1000), nil
		}
	}
	return 0, 0, fmt.Errorf("timestamp %q is neither ISO 8601 (2026-11-22T14:00:00.5Z) nor epoch seconds", s)
}

// parseEpoch parses decimal seconds exactly (no float rounding), floored.
func parseEpoch(s string) (int64, int64, error) {
	// the error is made only when needed: building it for every
	// timestamp was a tenth of a Graphite stream's parsing
	bad := func() error { return fmt.Errorf("timestamp %q is neither epoch seconds nor ISO 8601", s) }
	if !floatSyntax([]byte(s)) {
		return 0, 0, bad()
	}
	if strings.ContainsAny(s, "eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f > maxSec || f < -maxSec {
			return 0, 0, bad()
		}
		sec := int64(f)
		if float64(sec) > f {
			sec--
		}
		return sec, int64((f - float64(sec)) * 1e6), nil
	}
	ip, fp, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(ip, "-")
	ip = strings.TrimPrefix(ip, "-")
	var sec int64
	if ip != "" {
		var err error
		if sec, err = strconv.ParseInt(ip, 10, 64); err != nil || sec > maxSec {
			return 0, 0, fmt.Errorf("timestamp %q is out of range", s)
		}
	}
	fp = (fp + "000000")[:6]
	usec, _ := strconv.ParseInt(fp, 10, 64) // six digits, checked by floatSyntax
	if neg {
		sec = -sec
		if usec > 0 {
			sec--
			usec = 1e6 - usec
		}
	}
	return sec, usec, nil
}
