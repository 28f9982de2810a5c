package monitor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Metric is one custom value a script printed.
type Metric struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit,omitempty"`
	Line  int     `json:"line"` // stdout line it came from, 1-based
}

// validMetricName keeps metric names usable as the last component of a
// series name and as a Prometheus-style identifier: [A-Za-z_][A-Za-z0-9_]*,
// at most 63 bytes. (Hand-written: a regexp with {0,62} costs a
// millisecond at every process start.)
func validMetricName(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// validUnit accepts a unit such as ms, %, MB/s or µs: a letter, %, /, µ or
// _ first, then also digits and . * ^ -; at most 16 characters.
func validUnit(s string) bool {
	n := 0
	for i, r := range s {
		n++
		ok := r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == '%' || r == '/' || r == 'µ' || r == '_'
		if i > 0 {
			ok = ok || r >= '0' && r <= '9' || r == '.' || r == '*' || r == '^' || r == '-'
		}
		if !ok {
			return false
		}
	}
	return n >= 1 && n <= 16
}

// maxLine bounds the bytes kept for one stdout line while scanning for
// metrics; a longer line cannot be a metric line and is counted, not kept.
const maxLine = 64 << 10

// maxMetrics bounds how many metrics one run may report, so a runaway script
// cannot create series without end.
const maxMetrics = 100

// metricScanner is an io.Writer that parses complete stdout lines as they
// arrive, so metrics are found even when the captured output is truncated.
type metricScanner struct {
	line     int
	buf      []byte
	long     bool   // the current line exceeded maxLine
	longHead []byte // its first bytes, to tell whether it was meant as metrics
	metrics  []Metric
	byName   map[string]int // name → line reported
	jsonLine int            // line of the JSON metrics object, 0 if none
	err      error          // first error; later lines are still counted
}

func (s *metricScanner) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.add(p)
			break
		}
		s.add(p[:i])
		s.endLine()
		p = p[i+1:]
	}
	return n, nil
}

func (s *metricScanner) add(p []byte) {
	if s.long {
		return
	}
	if len(s.buf)+len(p) > maxLine {
		s.long = true
		head := append(s.buf, p[:min(len(p), 32)]...)
		s.longHead = append(s.longHead[:0], head[:min(len(head), 32)]...)
		s.buf = s.buf[:0]
		return
	}
	s.buf = append(s.buf, p...)
}

// Close parses a last line that had no newline.
func (s *metricScanner) Close() error {
	if len(s.buf) > 0 || s.long {
		s.endLine()
	}
	return nil
}

func (s *metricScanner) endLine() {
	s.line++
	line, long := s.buf, s.long
	s.buf, s.long = s.buf[:0], false
	if s.err != nil {
		return
	}
	if long {
		head := bytes.TrimLeft(s.longHead, " \t")
		if bytes.HasPrefix(head, []byte("METRIC ")) || bytes.HasPrefix(head, []byte(`{"metrics"`)) {
			s.err = fmt.Errorf("stdout line %d: line longer than %d bytes", s.line, maxLine)
		}
		return
	}
	if err := s.parseLine(string(bytes.TrimRight(line, "\r"))); err != nil {
		s.err = fmt.Errorf("stdout line %d: %w", s.line, err)
	}
}

func (s *metricScanner) parseLine(line string) error {
	switch {
	case strings.HasPrefix(line, "METRIC ") || line == "METRIC":
		f := strings.Fields(line)
		if len(f) < 3 || len(f) > 4 {
			return fmt.Errorf("METRIC line has %d fields, want `METRIC name value [unit]`", len(f))
		}
		v, err := parseValue(f[2])
		if err != nil {
			return fmt.Errorf("METRIC %s: %w", f[1], err)
		}
		unit := ""
		if len(f) == 4 {
			unit = f[3]
		}
		return s.addMetric(f[1], v, unit)
	case strings.HasPrefix(strings.TrimLeft(line, " \t"), "{"):
		return s.parseJSON(line)
	}
	return nil
}

// parseJSON accepts {"metrics": {"name": number | {"value": number, "unit": "ms"}}}.
// Other JSON objects are ordinary output (scripts may log JSON).
func (s *metricScanner) parseJSON(line string) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(line), &top); err != nil {
		if strings.Contains(line, `"metrics"`) {
			return fmt.Errorf("metrics JSON: %w", err)
		}
		return nil
	}
	raw, ok := top["metrics"]
	if !ok {
		return nil
	}
	if s.jsonLine != 0 {
		return fmt.Errorf("a second metrics JSON line (the first was line %d)", s.jsonLine)
	}
	s.jsonLine = s.line
	var ms map[string]json.RawMessage
	if err := json.Unmarshal(raw, &ms); err != nil || ms == nil {
		return fmt.Errorf(`metrics JSON: "metrics" must be an object of name to number`)
	}
	names := make([]string, 0, len(ms))
	for n := range ms {
		names = append(names, n)
	}
	// Map order is random; sort so errors and the result are deterministic.
	slices.Sort(names)
	for _, n := range names {
		var v float64
		unit := ""
		if err := json.Unmarshal(ms[n], &v); err != nil {
			var obj struct {
				Value *float64 `json:"value"`
				Unit  string   `json:"unit"`
			}
			if err := json.Unmarshal(ms[n], &obj); err != nil || obj.Value == nil {
				return fmt.Errorf("metrics JSON: %q: want a number or {\"value\": number, \"unit\": string}", n)
			}
			v, unit = *obj.Value, obj.Unit
		}
		if err := s.addMetric(n, v, unit); err != nil {
			return fmt.Errorf("metrics JSON: %w", err)
		}
	}
	return nil
}

func (s *metricScanner) addMetric(name string, v float64, unit string) error {
	if !validMetricName(name) {
		return fmt.Errorf("metric name %q: want a letter or _ then up to 62 of A-Z a-z 0-9 _", name)
	}
	if unit != "" && !validUnit(unit) {
		return fmt.Errorf("metric %s: invalid unit %q", name, unit)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("metric %s: value must be finite", name)
	}
	if s.byName == nil {
		s.byName = map[string]int{}
	}
	if l, dup := s.byName[name]; dup {
		return fmt.Errorf("metric %s reported twice (first on line %d)", name, l)
	}
	if len(s.metrics) >= maxMetrics {
		return fmt.Errorf("more than %d metrics", maxMetrics)
	}
	s.byName[name] = s.line
	s.metrics = append(s.metrics, Metric{Name: name, Value: v, Unit: unit, Line: s.line})
	return nil
}

func parseValue(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("value %q is not a number", s)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("value %q must be finite", s)
	}
	return v, nil
}

// ParseMetrics parses a script's whole stdout for metrics. Errors name the
// line.
func ParseMetrics(stdout []byte) ([]Metric, error) {
	var s metricScanner
	s.Write(stdout)
	s.Close()
	return s.metrics, s.err
}

// Op is a comparison in a threshold.
type Op string

// Threshold is a condition on a metric that a successful run satisfies.
type Threshold struct {
	Metric string
	Op     Op
	Value  float64
}

var ops = []Op{"<=", ">=", "==", "!=", "<", ">"} // two-character ones first

// ParseThreshold parses "name op number", e.g. "latency_ms < 500".
func ParseThreshold(s string) (Threshold, error) {
	i := 0
	skip := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
	}
	skip()
	start := i
	for i < len(s) && (s[i] == '_' || s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9') {
		i++
	}
	name := s[start:i]
	if !validMetricName(name) {
		return Threshold{}, fmt.Errorf("threshold %q: position %d: want a metric name", s, start+1)
	}
	skip()
	var op Op
	for _, o := range ops {
		if strings.HasPrefix(s[i:], string(o)) {
			op = o
			break
		}
	}
	if op == "" {
		return Threshold{}, fmt.Errorf("threshold %q: position %d: want one of < <= > >= == !=", s, i+1)
	}
	i += len(op)
	skip()
	numStart := i
	rest := strings.TrimRight(s[i:], " \t")
	if rest == "" {
		return Threshold{}, fmt.Errorf("threshold %q: position %d: want a number", s, numStart+1)
	}
	v, err := parseValue(rest)
	if err != nil {
		return Threshold{}, fmt.Errorf("threshold %q: position %d: %w", s, numStart+1, err)
	}
	return Threshold{Metric: name, Op: op, Value: v}, nil
}

// String formats t as it is parsed.
func (t Threshold) String() string {
	return fmt.Sprintf("%s %s %s", t.Metric, t.Op, strconv.FormatFloat(t.Value, 'g', -1, 64))
}

// Holds reports whether v satisfies the threshold.
func (t Threshold) Holds(v float64) bool {
	switch t.Op {
	case "<":
		return v < t.Value
	case "<=":
		return v <= t.Value
	case ">":
		return v > t.Value
	case ">=":
		return v >= t.Value
	case "==":
		return v == t.Value
	case "!=":
		return v != t.Value
	}
	return false
}

func (t Threshold) check(ms []Metric) string {
	for _, m := range ms {
		if m.Name == t.Metric {
			if t.Holds(m.Value) {
				return ""
			}
			return fmt.Sprintf("threshold %s violated: %s = %s", t, m.Name, strconv.FormatFloat(m.Value, 'g', -1, 64))
		}
	}
	return fmt.Sprintf("threshold %s: metric %s was not reported", t, t.Metric)
}
