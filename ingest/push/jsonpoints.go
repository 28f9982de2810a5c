package push

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

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
}

func (e *PointError) Error() string {
	if e.Index < 0 {
		return "points: " + e.Reason
	}
	return fmt.Sprintf("point %d: %s", e.Index, e.Reason)
}

// DecodeJSONPoints decodes a JSON array of points, all or nothing: the
// first bad point is returned as a *PointError.
func DecodeJSONPoints(r io.Reader, out []Point) ([]Point, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, &PointError{Index: -1, Reason: fmt.Sprintf("not JSON: %v", err)}
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, &PointError{Index: -1, Reason: "want a JSON array of {timestamp, name, value, units?, tags?}"}
	}
	for i := 0; dec.More(); i++ {
		var jp jsonPoint
		if err := dec.Decode(&jp); err != nil {
			return nil, &PointError{Index: i, Reason: jsonReason(err)}
		}
		p, err := jp.point()
		if err != nil {
			return nil, &PointError{Index: i, Reason: err.Error()}
		}
		out = append(out, p)
	}
	if _, err := dec.Token(); err != nil {
		return nil, &PointError{Index: -1, Reason: fmt.Sprintf("array not closed: %v", err)}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &PointError{Index: -1, Reason: "unexpected data after the array"}
	}
	return out, nil
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
	bad := fmt.Errorf("timestamp %q is neither epoch seconds nor ISO 8601", s)
	if !floatSyntax([]byte(s)) {
		return 0, 0, bad
	}
	if strings.ContainsAny(s, "eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f > maxSec || f < -maxSec {
			return 0, 0, bad
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
