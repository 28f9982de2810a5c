package graphite

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

var (
	inf = math.Inf(1)
	nan = math.NaN()
)

// Series is graphite-web's TimeSeries: values at Start, Start+Step, …
// (slot starts), NaN for None. VPP > 1 means the values are read
// consolidated VPP at a time by ConsolidationFunc (consolidate()).
type Series struct {
	Name      string
	PathExpr  string
	Tags      map[string]string
	Start     int64
	End       int64
	Step      int64
	Values    []float64
	VPP       int
	ConsFunc  string
	XFF       float64
	Style     Style    // color, lineWidth, alpha: images only
	tagsOrder []string // keys in insertion order, for stable JSON
}

func newSeries(name string, start, end, step int64, values []float64, xff float64, tags map[string]string) *Series {
	s := &Series{Name: name, PathExpr: name, Start: start, End: end, Step: step, Values: values, VPP: 1, ConsFunc: "average", XFF: xff}
	if tags == nil {
		tags = parseTags(name)
	}
	s.Tags = tags
	return s
}

// parseTags is graphite-web's tag parsing of a series name: "a.b;k=v"
// gives {name: a.b, k: v}; names that look like a function call keep
// {name: <name>}.
func parseTags(name string) map[string]string {
	if isCallName(name) || !strings.Contains(name, ";") {
		return map[string]string{"name": name}
	}
	path, rest, _ := strings.Cut(name, ";")
	t := map[string]string{"name": path}
	for _, kv := range strings.Split(rest, ";") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return map[string]string{"name": name}
		}
		t[k] = v
	}
	return t
}

func isCallName(name string) bool {
	i := strings.IndexByte(name, '(')
	if i <= 0 || !strings.HasSuffix(name, ")") {
		return false
	}
	for j := 0; j < i; j++ {
		c := name[j]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// copyWith returns a copy with new name and values, sharing nothing.
func (s *Series) copyWith(name string, values []float64) *Series {
	c := *s
	c.Name = name
	c.Values = values
	c.Tags = cloneTags(s.Tags)
	return &c
}

func cloneTags(t map[string]string) map[string]string {
	c := make(map[string]string, len(t))
	for k, v := range t {
		c[k] = v
	}
	return c
}

// points returns the values as graphite-web iterates them: consolidated
// VPP at a time when VPP > 1.
func (s *Series) points() []float64 {
	if s.VPP <= 1 {
		return s.Values
	}
	f := consFunc(s.ConsFunc)
	out := make([]float64, 0, (len(s.Values)+s.VPP-1)/s.VPP)
	buf := make([]float64, 0, s.VPP)
	for i := 0; i < len(s.Values); i += s.VPP {
		buf = buf[:0]
		j := min(i+s.VPP, len(s.Values))
		nonNull := 0
		for _, v := range s.Values[i:j] {
			if !math.IsNaN(v) {
				buf = append(buf, v)
				nonNull++
			} else if s.ConsFunc == "avg_zero" {
				buf = append(buf, 0)
			}
		}
		// graphite-web divides by VPP even for the last, partial bucket.
		if nonNull > 0 && float64(nonNull)/float64(s.VPP) >= s.XFF {
			out = append(out, f(buf))
		} else {
			out = append(out, nan)
		}
	}
	return out
}

// consFuncs are TimeSeries' consolidation functions (consolidateBy).
var consFuncs = map[string]func([]float64) float64{
	"sum":      sumF,
	"average":  func(b []float64) float64 { return sumF(b) / float64(len(b)) },
	"avg":      func(b []float64) float64 { return sumF(b) / float64(len(b)) },
	"avg_zero": func(b []float64) float64 { return sumF(b) / float64(len(b)) },
	"max":      func(b []float64) float64 { return maxF(b) },
	"min":      func(b []float64) float64 { return minF(b) },
	"first":    func(b []float64) float64 { return b[0] },
	"last":     func(b []float64) float64 { return b[len(b)-1] },
}

func consFunc(name string) func([]float64) float64 {
	if f, ok := consFuncs[name]; ok {
		return f
	}
	return consFuncs["average"]
}

func sumF(b []float64) float64 {
	s := 0.0
	for _, v := range b {
		s += v
	}
	return s
}

func maxF(b []float64) float64 {
	m := b[0]
	for _, v := range b[1:] {
		if v > m {
			m = v
		}
	}
	return m
}

func minF(b []float64) float64 {
	m := b[0]
	for _, v := range b[1:] {
		if v < m {
			m = v
		}
	}
	return m
}

// datapoint is one [value, timestamp] pair.
type datapoint struct {
	V float64
	T int64
}

// datapoints pairs points with timestamps Start, Start+Step·VPP, … up to
// End inclusive, truncated to the shorter, as graphite-web's datapoints().
func (s *Series) datapoints() []datapoint {
	vals := s.points()
	step := s.Step * int64(max(s.VPP, 1))
	var out []datapoint
	if step <= 0 {
		return nil
	}
	for i, t := 0, s.Start; i < len(vals) && t <= s.End; i, t = i+1, t+step {
		out = append(out, datapoint{vals[i], t})
	}
	return out
}

// pyFloat formats a float as Python's repr does (json.dumps uses it):
// shortest round-trip digits, ".0" for integral values, exponent form
// below 1e-4 and from 1e16.
func pyFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	}
	if v == 0 {
		if math.Signbit(v) {
			return "-0.0"
		}
		return "0.0"
	}
	a := math.Abs(v)
	if a >= 1e16 || a < 1e-4 {
		s := strconv.FormatFloat(v, 'e', -1, 64)
		// Go: 1e+16, 1.5e-05; Python: 1e+16, 1.5e-05 (two-digit exponent minimum)
		return s
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// appendPyFloat appends pyFloat(v) for a finite v without an allocation.
func appendPyFloat(b []byte, v float64) []byte {
	if a := math.Abs(v); v == 0 || a >= 1e16 || a < 1e-4 {
		return append(b, pyFloat(v)...)
	}
	n := len(b)
	b = strconv.AppendFloat(b, v, 'f', -1, 64)
	for _, c := range b[n:] {
		if c == '.' {
			return b
		}
	}
	return append(b, '.', '0')
}

// pyStr formats a number argument as Python's str() does: ints plainly,
// floats as repr.
func pyStr(v float64, isInt bool) string {
	if isInt && v == math.Trunc(v) && math.Abs(v) < 1e18 {
		return strconv.FormatInt(int64(v), 10)
	}
	return pyFloat(v)
}

// pyG formats as Python's "%g".
func pyG(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func lcm(a, b int64) int64 {
	if a == b {
		return a
	}
	a /= gcd(a, b)
	if a > maxStep || b > maxStep || a*b > maxStep {
		return -1
	}
	return a * b
}

// normalize is graphite-web's: the lcm of the steps, each series read
// consolidated to it, start the earliest, end the latest trimmed to a
// whole number of steps.
func normalize(list []*Series) (start, end, step int64, err error) {
	if len(list) == 0 {
		return 0, 0, 0, errEmpty
	}
	step = list[0].Step
	for _, s := range list[1:] {
		if s.Step <= 0 || step <= 0 {
			return 0, 0, 0, fmt.Errorf("series %s has step %d", s.Name, s.Step)
		}
		step = lcm(step, s.Step)
		if step <= 0 || step > maxStep {
			return 0, 0, 0, fmt.Errorf("series steps have no common multiple up to %d s", int64(maxStep))
		}
	}
	if step <= 0 {
		return 0, 0, 0, fmt.Errorf("series %s has step %d", list[0].Name, step)
	}
	start, end = list[0].Start, list[0].End
	for _, s := range list {
		s.VPP = int(step / s.Step)
		start = min(start, s.Start)
		end = max(end, s.End)
	}
	end -= (end - start) % step
	return start, end, step, nil
}

var errEmpty = fmt.Errorf("empty series list")

// maxStep bounds the common step of series combined (about 32 years),
// so that lcm cannot overflow.
const maxStep = 1 << 30

// pathExprs joins the distinct path expressions (formatPathExpressions).
func pathExprs(list []*Series) string {
	var out []string
	seen := map[string]bool{}
	for _, s := range list {
		if !seen[s.PathExpr] {
			seen[s.PathExpr] = true
			out = append(out, s.PathExpr)
		}
	}
	return strings.Join(out, ",")
}
