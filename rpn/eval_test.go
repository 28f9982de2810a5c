package rpn

import (
	"context"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// evalConst evaluates expr over one series "a" holding vals (step 60).
func evalExpr(t *testing.T, expr string, vals ...float64) ([]float64, error) {
	t.Helper()
	a := &Series{Start: 1_700_000_040, Step: 60, Values: vals}
	resolve := func(name string) (VarKind, int, bool) {
		switch name {
		case "a":
			return KindSeries, 0, true
		case "v":
			return KindValue, 1, true
		}
		return 0, 0, false
	}
	p, err := Compile("CDEF:x="+expr, expr, resolve)
	if err != nil {
		return nil, err
	}
	s, err := p.Eval(context.Background(), func(ref int) Input {
		if ref == 0 {
			return Input{Series: a}
		}
		return Input{Value: 7}
	}, Env{})
	if err != nil {
		return nil, err
	}
	return s.Values, nil
}

func same(a, b float64) bool {
	return a == b && math.Signbit(a) == math.Signbit(b) || isNaN(a) && isNaN(b)
}

func TestEvalTable(t *testing.T) {
	t.Parallel()
	nan, inf := math.NaN(), math.Inf(1)
	cases := []struct {
		expr string
		in   []float64
		want []float64
	}{
		{"a,2,*", []float64{1, nan, 3}, []float64{2, nan, 6}},
		{"a,POP,1,2,3,4,3,1,ROLL,EXC,10,*,+,EXC,100,*,+,EXC,1000,*,+", []float64{0}, []float64{1413}},
		{"a,POP,1,2,3,4,3,-3,ROLL,EXC,10,*,+,EXC,100,*,+,EXC,1000,*,+", []float64{0}, []float64{734}},
		{"a,POP,1,2,3,4,2.5,3,ROLL,EXC,10,*,+,EXC,100,*,+,EXC,1000,*,+", []float64{0}, []float64{1242.5}},
		{"a,POP,1,2,3,4,5,4,1,ROLL,EXC,10,*,+,EXC,100,*,+,EXC,1000,*,+,EXC,10000,*,+", []float64{0}, []float64{15234}},
		{"a,POP,1,UNKN,NEGINF,3,4,SORT,POP,POP,EXC,POP", []float64{0}, []float64{1}},
		{"a,POP,1,UNKN,NEGINF,3,50,4,PERCENT", []float64{0}, []float64{1}},
		{"a,POP,1,INF,NEGINF,UNKN,75,4,PERCENT", []float64{0}, []float64{inf}},
		{"a,POP,1000000001,1000000002,1000000004,3,STDEV", []float64{0}, []float64{1.5275252446587464}},
		{"a,PREV,ADDNAN", []float64{1, 2, nan, 4}, []float64{1, 3, 3, 7}},
		{"a,v,+", []float64{1}, []float64{8}},
		{"a,1e,+", []float64{1}, []float64{2}},
		{"a,DEPTH,2,SORT,+", []float64{5}, []float64{6}},
		{"a,a,a,5,GT,1,+,SORT,+", []float64{5, 6}, []float64{10, 12}},
	}
	for _, c := range cases {
		got, err := evalExpr(t, c.expr, c.in...)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		for i := range c.want {
			if !same(got[i], c.want[i]) {
				t.Errorf("%s: row %d = %v, want %v", c.expr, i, got[i], c.want[i])
			}
		}
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	cases := []struct{ expr, want string }{
		{"a,b,+,*", "CDEF:x=a,b,+,*: unknown variable or operator at token 2 'b'"},
		{"a,a,+,*", "CDEF:x=a,a,+,*: stack underflow at token 4 '*'"},
		{"a,a", "final stack holds 2 values"},
		{"a,3,+,5", "a number must be followed by a comma"},
		{"1,2,+", "without DEF or CDEF variables"},
		{"a,,+", "empty token at token 2"},
		{"1,a,TREND", "malformed trend"},
		{"a,0x10,+", "unknown variable or operator at token 2 '0x10'"},
		{"a,5E3,+", "unknown variable or operator"}, {"a,1.5.5,+", "unknown token"},
	}
	for _, c := range cases {
		_, err := evalExpr(t, c.expr, 1)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.expr, err, c.want)
		}
	}
}

func TestFormatE10(t *testing.T) {
	t.Parallel()
	// Expected texts are what rrdtool 1.7.2 xport prints for these values.
	cases := []struct {
		v    float64
		want string
	}{
		{39501194449.5, "3.9501194449e+10"},
		{1.23456789016, "1.2345678902e+00"},
		{0.1, "1.0000000000e-01"},
		{2.5, "2.5000000000e+00"},
		{1e22, "1.0000000000e+22"},
		{123456789012.5, "1.2345678901e+11"},
		{math.Copysign(0, -1), "0.0000000000e+00"},
		{-3, "-3.0000000000e+00"},
		{9.99999999996, "1.0000000000e+01"},
		{4.5 * 57.29577951, "2.5783100779e+02"},
	}
	for _, c := range cases {
		if got := formatE10(c.v); got != c.want {
			t.Errorf("formatE10(%v) = %s, want %s", c.v, got, c.want)
		}
		if got := formatE10Slow(c.v); got != c.want && c.v != 0 {
			t.Errorf("formatE10Slow(%v) = %s, want %s", c.v, got, c.want)
		}
	}
}

// TestFormatE10FastPath checks that the strconv fast path agrees with the
// step-by-step emulation of rrd_snprintf on many values, including ties.
func TestFormatE10FastPath(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 200000 {
		var v float64
		switch i % 4 {
		case 0:
			v = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(40)-20))
		case 1:
			v = float64(rng.Int64N(1e12)) / 2 // halves: exact ties at 11 digits
		case 2:
			v = float64(rng.IntN(100000)) * []float64{57.29577951, 0.0174532952, 0.1, 0.25}[rng.IntN(4)]
		default:
			v = math.Float64frombits(rng.Uint64())
			if isNaN(v) || math.IsInf(v, 0) {
				continue
			}
		}
		if f, s := formatE10(v), formatE10Slow(v); f != s && v != 0 {
			t.Fatalf("%v (%s): fast %s, slow %s", v, strconv.FormatFloat(v, 'e', 25, 64), f, s)
		}
	}
}

// TestDocumentedDeviations covers the cases where rrdtool 1.7.2 reads
// undefined memory and rrdash does what rrdgraph_rpn(1) documents (see
// docs/rpn.md), plus the operators the differential test cannot check.
func TestDocumentedDeviations(t *testing.T) {
	t.Parallel()
	nan := math.NaN()
	cases := []struct {
		expr string
		in   []float64
		want []float64
	}{
		// ROLL n>3: the documented rotation (a,b,c,d,e,4,1,ROLL → a,e,b,c,d).
		{"a,POP,1,2,3,4,5,4,1,ROLL,EXC,10,*,+,EXC,100,*,+,EXC,1000,*,+,EXC,10000,*,+", []float64{0}, []float64{15234}},
		{"a,POP,1,2,3,4,5,4,-1,ROLL,EXC,10,*,+,EXC,100,*,+,EXC,1000,*,+,EXC,10000,*,+", []float64{0}, []float64{13452}},
		// PERCENT with round(p·n/100) = 0: the smallest, not the value below the set.
		{"a,POP,9,30,10,40,20,0,4,PERCENT,EXC,POP", []float64{0}, []float64{10}},
		{"a,POP,9,30,10,40,20,10,4,PERCENT,EXC,POP", []float64{0}, []float64{10}},
		// MEDIAN of unknowns only: unknown.
		{"a,POP,UNKN,UNKN,2,MEDIAN", []float64{0}, []float64{nan}},
		{"a,UNKN,2,MEDIAN", []float64{nan, 4}, []float64{nan, 4}},
		// ROUND (rrdtool 1.8): halves away from zero.
		{"a,ROUND", []float64{2.5, -2.5, 1.4999, nan}, []float64{3, -3, 1, nan}},
		// NOW is Env.Now.
		{"a,POP,NOW", []float64{0}, []float64{1_700_000_123}},
		// PREDICT at the last row: the missing next sample is unknown.
		// (shift 0 reads the next sample, as rrdtool does.)
		{"0,1,60,a,PREDICT", []float64{1, 2, 4, 8}, []float64{nan, 4, 6, 8}},
		// TREND needs ceil(d/step) rows; TRENDNAN skips unknowns.
		{"a,120,TREND", []float64{1, 3, nan, 5}, []float64{nan, 2, nan, nan}},
		{"a,120,TRENDNAN", []float64{1, 3, nan, 5}, []float64{nan, 2, 3, 5}},
	}
	for _, c := range cases {
		a := &Series{Start: 1_700_000_040, Step: 60, Values: c.in}
		p, err := Compile("CDEF:x="+c.expr, c.expr, func(n string) (VarKind, int, bool) { return KindSeries, 0, n == "a" })
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		s, err := p.Eval(context.Background(), func(int) Input { return Input{Series: a} }, Env{Now: 1_700_000_123})
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		for i := range c.want {
			if !same(s.Values[i], c.want[i]) {
				t.Errorf("%s: row %d = %v, want %v", c.expr, i, s.Values[i], c.want[i])
			}
		}
	}
}

func TestVDEF(t *testing.T) {
	t.Parallel()
	nan, inf := math.NaN(), math.Inf(1)
	s := &Series{Start: 1000, Step: 10, Values: []float64{nan, 3, inf, 1, 7, nan}}
	cases := []struct {
		expr string
		want VValue
	}{
		{"x,MAXIMUM", VValue{Value: 7, Time: 1050, HasTime: true}},
		{"x,MINIMUM", VValue{Value: 1, Time: 1040, HasTime: true}},
		{"x,FIRST", VValue{Value: 3, Time: 1010, HasTime: true}},
		{"x,LAST", VValue{Value: 7, Time: 1050, HasTime: true}},
		{"x,AVERAGE", VValue{Value: 11.0 / 3}},
		{"x,TOTAL", VValue{Value: 110}},
		{"x,STDEV", VValue{Value: math.Sqrt(((3-11.0/3)*(3-11.0/3) + (1-11.0/3)*(1-11.0/3) + (7-11.0/3)*(7-11.0/3)) / 3)}},
		{"x,0,PERCENT", VValue{Value: nan}},
		// As rrdtool 1.7.2 prints them: its comparator mis-orders infinities.
		{"x,100,PERCENT", VValue{Value: 3}},
		{"x,50,PERCENTNAN", VValue{Value: inf}},
	}
	for _, c := range cases {
		d, err := ParseVDef("VDEF:v="+c.expr, c.expr)
		if err != nil {
			t.Fatal(err)
		}
		got := d.Compute(s)
		if !same(got.Value, c.want.Value) || got.Time != c.want.Time || got.HasTime != c.want.HasTime {
			t.Errorf("%s = %+v, want %+v", c.expr, got, c.want)
		}
	}
	// A leading +INF wins MAXIMUM; unknowns only give unknown, also for PERCENTNAN.
	lead := &Series{Start: 0, Step: 1, Values: []float64{inf, 5}}
	if v := (VDef{Fn: VMaximum}).Compute(lead); v.Value != inf || v.Time != 1 {
		t.Errorf("MAXIMUM with leading INF = %+v", v)
	}
	empty := &Series{Start: 0, Step: 1, Values: []float64{nan, nan}}
	for _, fn := range []VFunc{VMaximum, VAverage, VPercentNaN, VLSLSlope, VFirst, VLast} {
		if v := (VDef{Fn: fn, Param: 50}).Compute(empty); !isNaN(v.Value) {
			t.Errorf("VDEF %d of unknowns = %v", fn, v.Value)
		}
	}
}
