package rpn

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"
)

// fuzzInputs are three series with different steps and starts, holding
// unknowns and infinities, and one VDEF value.
func fuzzInputs() func(ref int) Input {
	nan, inf := math.NaN(), math.Inf(1)
	a := &Series{Start: 1_700_000_040, Step: 60, Values: []float64{1, 2, nan, 4, -inf, 0, 3.5, -2, inf, 7, 1, 1}}
	b := &Series{Start: 1_700_000_040, Step: 120, Values: []float64{5, nan, -1, 2, 0, 9}}
	c := &Series{Start: 1_699_999_980, Step: 60, Values: []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}}
	return func(ref int) Input {
		switch ref {
		case 0:
			return Input{Series: a}
		case 1:
			return Input{Series: b}
		case 2:
			return Input{Series: c}
		}
		return Input{Value: 2.5}
	}
}

func fuzzResolve(name string) (VarKind, int, bool) {
	switch name {
	case "a":
		return KindSeries, 0, true
	case "b":
		return KindSeries, 1, true
	case "c":
		return KindSeries, 2, true
	case "v":
		return KindValue, 3, true
	}
	return 0, 0, false
}

func sameColumns(x, y []float64) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if !(x[i] == y[i] || isNaN(x[i]) && isNaN(y[i])) {
			return false
		}
	}
	return true
}

// FuzzEval compiles arbitrary expressions and evaluates what compiles: no
// panic, errors that name the statement, and the vectorised evaluation
// (whole chunks) equal to evaluation one row at a time.
func FuzzEval(f *testing.F) {
	for _, s := range []string{
		"a,b,+", "a,2,*", "a,b,c,3,SORT,+,+", "a,PREV,ADDNAN", "a,1,2,3,4,3,1,ROLL,+,+,+,+",
		"a,b,c,DEPTH,AVG", "a,120,TREND", "60,120,2,180,a,PREDICT", "60,-2,120,50,a,PREDICTPERC",
		"a,c,50,2,PERCENT", "TIME,a,POP,NEWDAY,+", "a,v,LIMIT", "a,b,c,a,4,b,3,GT,3,+,COPY,MEDIAN",
		"PREV(a),b,MINNAN", "a,1e,+", "a,,+", "a,1,TREND", "a,a,a,2,-1,ROLL,+,+", "c,LTIME,-",
		"a,b,c,a,5,2,ROLL,STDEV", "a,ROUND,COUNT,STEPWIDTH,NOW,4,SMAX",
	} {
		f.Add(s)
	}
	in := fuzzInputs()
	env := Env{Loc: time.UTC, Now: 1_700_000_000}
	f.Fuzz(func(t *testing.T, expr string) {
		if len(expr) > 2000 {
			return
		}
		p, err := Compile("CDEF:x="+expr, expr, fuzzResolve)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "CDEF:x=") {
				t.Fatalf("error does not name the statement: %v", err)
			}
			return
		}
		mts := []*meter{newMeter(context.Background(), 0), newMeter(context.Background(), 0), newMeter(context.Background(), 0)}
		whole, err1 := p.eval(mts[0], in, env, chunkRows)
		rows, err2 := p.eval(mts[1], in, env, 1)
		odd, err3 := p.eval(mts[2], in, env, 5)
		if (err1 == nil) != (err2 == nil) || (err1 == nil) != (err3 == nil) {
			t.Fatalf("%q: chunked error %v, per row %v, by 5 %v", expr, err1, err2, err3)
		}
		if err1 != nil {
			return
		}
		if !sameColumns(whole.Values, rows.Values) || !sameColumns(whole.Values, odd.Values) {
			t.Fatalf("%q: chunked %v, per row %v, by 5 %v", expr, whole.Values, rows.Values, odd.Values)
		}
		// The estimate bounds the work charged, whatever the chunk size,
		// when it knows every count and window.
		stepOf := func(ref int) int64 { return in(ref).Series.Step }
		lenOf := func(ref int) int { return len(in(ref).Series.Values) }
		if est, _, bounded := p.cost(len(whole.Values), stepOf, lenOf); bounded {
			for k, mt := range mts {
				if float64(mt.used) > est {
					t.Fatalf("%q: evaluation %d charged %d row-operations, over the estimate %v", expr, k, mt.used, est)
				}
			}
		}
	})
}

// FuzzScript parses arbitrary DEF/CDEF/VDEF/XPORT argument lists.
func FuzzScript(f *testing.F) {
	for _, s := range []string{
		"DEF:a=s:ds:AVERAGE CDEF:b=a,2,* XPORT:b:legend",
		"DEF:a=//host/check#m:v:MAX:step=300:start=end-1h:reduce=MIN VDEF:m=a,95,PERCENT XPORT:a",
		"DEF:a=x\\:y:d:LAST CDEF:c=a,PREV(a),- VDEF:v=c,LSLSLOPE CDEF:d=c,v,-",
		"DEF:a=s:d:FOO", "CDEF:x=1,2,+", "XPORT:zz", "VDEF:v=a,MAXIMUM",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		sc, err := ParseScript(strings.Fields(line))
		if err == nil && sc == nil {
			t.Fatal("nil script without error")
		}
	})
}
