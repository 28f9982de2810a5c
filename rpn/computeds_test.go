package rpn

import (
	"context"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"rrdash/store/computeds"
)

// store/computeds evaluates COMPUTE data sources one row at a time (store
// cannot import rpn); every operator COMPUTE takes must give there what
// this package's CDEF evaluation gives, row for row, bit for bit.
func TestComputedsAgreesWithCDEF(t *testing.T) {
	t.Parallel()
	unary := []string{"FLOOR", "CEIL", "ABS", "SQRT", "UN", "ISINF", "RAD2DEG", "DEG2RAD", "SIN", "COS", "LOG", "EXP", "ATAN"}
	binary := []string{"+", "-", "*", "/", "%", "ADDNAN", "LT", "LE", "GT", "GE", "EQ", "NE", "MIN", "MAX", "MINNAN", "MAXNAN", "POW", "ATAN2"}
	sets := []string{"SORT", "REV", "AVG", "MEDIAN", "STDEV", "SMIN", "SMAX"}
	r := rand.New(rand.NewPCG(16, 2026))
	pool := []float64{0, -0.0, 1, -2.5, 3, 1e300, math.Inf(1), math.Inf(-1), math.NaN(), 0.5, -7}
	const rows = 64
	cols := [2][]float64{}
	for c := range cols {
		for i := 0; i < rows; i++ {
			if r.IntN(3) == 0 {
				cols[c] = append(cols[c], pool[r.IntN(len(pool))])
			} else {
				cols[c] = append(cols[c], float64(r.IntN(2000)-1000)/8)
			}
		}
	}
	names := []string{"a", "b"}
	for k := 0; k < 400; k++ {
		var toks []string
		depth := 0
		push := func(tok string, d int) { toks = append(toks, tok); depth += d }
		for len(toks) < 10 {
			switch x := r.IntN(12); {
			case depth == 0 || x < 4:
				if r.IntN(3) == 0 {
					push(strconv.Itoa(r.IntN(20)-5), 1)
				} else {
					push(names[r.IntN(2)], 1)
				}
			case x < 6:
				push(unary[r.IntN(len(unary))], 0)
			case x < 9 && depth >= 2:
				push(binary[r.IntN(len(binary))], -1)
			case x < 10 && depth >= 3:
				push([]string{"IF", "LIMIT"}[r.IntN(2)], -2)
			case x < 11:
				n := 1 + r.IntN(depth)
				op := sets[r.IntN(len(sets))]
				push(strconv.Itoa(n), 1)
				push(op, -1)
				if op != "SORT" && op != "REV" {
					depth -= n - 1
				}
			default:
				push([]string{"DUP", "UNKN", "INF"}[r.IntN(3)], 1)
			}
		}
		for depth > 1 {
			push(binary[r.IntN(len(binary))], -1)
		}
		if len(toks) > computeds.MaxNodes || !strings.Contains(","+strings.Join(toks, ",")+",", ",a,") {
			continue
		}
		expr := strings.Join(toks, ",")
		cp, err := computeds.Parse(expr, func(n string) (int, bool) {
			for i, m := range names {
				if m == n {
					return i, true
				}
			}
			return 0, false
		})
		if err != nil {
			t.Fatalf("computeds.Parse(%q): %v", expr, err)
		}
		prog, err := Compile("CDEF:x="+expr, expr, func(n string) (VarKind, int, bool) {
			for i, m := range names {
				if m == n {
					return KindSeries, i, true
				}
			}
			return 0, 0, false
		})
		if err != nil {
			t.Fatalf("Compile(%q): %v", expr, err)
		}
		got, err := prog.Eval(context.Background(), func(ref int) Input {
			return Input{Series: &Series{Start: 1000, Step: 10, Values: cols[ref]}}
		}, Env{Loc: time.UTC})
		if err != nil {
			t.Fatalf("CDEF %s: %v", expr, err)
		}
		for i := 0; i < rows; i++ {
			want, err := cp.Eval([]float64{cols[0][i], cols[1][i]}, time.Now)
			if err != nil {
				t.Fatalf("computeds %s row %d: %v", expr, i, err)
			}
			v := got.Values[i]
			if !(math.Float64bits(v) == math.Float64bits(want) || math.IsNaN(v) && math.IsNaN(want)) {
				t.Fatalf("%s row %d (a=%v b=%v): CDEF %v, computeds %v", expr, i, cols[0][i], cols[1][i], v, want)
			}
		}
	}
}
