package computeds

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Eval and its operators: rpn_calc as process_pdp_st runs it.

// ErrUnderflow is rpn_calc's error for an operator short of operands.
var ErrUnderflow = errors.New("RPN stack underflow")

// Eval runs the program on one step's PDPs (pdp[i] is data source i) as
// rpn_calc does in process_pdp_st. now is the clock for NOW.
func (p *Program) Eval(pdp []float64, now func() time.Time) (float64, error) {
	var buf [64]float64
	s := buf[:0]
	need := func(k int) error {
		if len(s) < k {
			return ErrUnderflow
		}
		return nil
	}
	// count pops the element count of a set operator; rrdtool converts it
	// with a C cast (NaN or a negative count is undefined there: refused)
	count := func() (int, error) {
		if err := need(1); err != nil {
			return 0, err
		}
		v := s[len(s)-1]
		s = s[:len(s)-1]
		if !(v > -1) || v >= float64(math.MaxInt32) {
			return 0, fmt.Errorf("set operator count %v is out of range", v)
		}
		n := int(v)
		if n > len(s) {
			return 0, ErrUnderflow
		}
		return n, nil
	}
	for _, n := range p.nodes {
		switch n.op {
		case opNumber:
			s = append(s, float64(n.num))
			continue
		case opVariable:
			v := math.NaN()
			if n.ds < len(pdp) {
				v = pdp[n.ds]
			}
			s = append(s, v)
			continue
		case opUnkn:
			s = append(s, math.NaN())
			continue
		case opInf:
			s = append(s, math.Inf(1))
			continue
		case opNegInf:
			s = append(s, math.Inf(-1))
			continue
		case opNow:
			s = append(s, float64(now().Unix()))
			continue
		case opDepth:
			s = append(s, float64(len(s)))
			continue
		}
		if f := unary(n.op); f != nil {
			if err := need(1); err != nil {
				return 0, err
			}
			s[len(s)-1] = f(s[len(s)-1])
			continue
		}
		if f := binaryFn(n.op); f != nil {
			if err := need(2); err != nil {
				return 0, err
			}
			s[len(s)-2] = f(s[len(s)-2], s[len(s)-1])
			s = s[:len(s)-1]
			continue
		}
		switch n.op {
		case opIf:
			if err := need(3); err != nil {
				return 0, err
			}
			c, a, b := s[len(s)-3], s[len(s)-2], s[len(s)-1]
			if math.IsNaN(c) || c == 0 {
				a = b
			}
			s = append(s[:len(s)-3], a)
		case opLimit:
			if err := need(3); err != nil {
				return 0, err
			}
			v, lo, hi := s[len(s)-3], s[len(s)-2], s[len(s)-1]
			switch {
			case math.IsNaN(v):
			case math.IsNaN(lo):
				v = lo
			case math.IsNaN(hi):
				v = hi
			case v < lo, v > hi:
				v = math.NaN()
			}
			s = append(s[:len(s)-3], v)
		case opDup:
			if err := need(1); err != nil {
				return 0, err
			}
			s = append(s, s[len(s)-1])
		case opPop:
			if err := need(1); err != nil {
				return 0, err
			}
			s = s[:len(s)-1]
		case opExc:
			if err := need(2); err != nil {
				return 0, err
			}
			s[len(s)-1], s[len(s)-2] = s[len(s)-2], s[len(s)-1]
		case opCopy:
			k, err := count()
			if err != nil {
				return 0, err
			}
			s = append(s, s[len(s)-k:]...)
		case opIndex:
			if err := need(1); err != nil {
				return 0, err
			}
			v := s[len(s)-1]
			if !(v >= 0) || v >= float64(len(s)) {
				return 0, ErrUnderflow
			}
			s[len(s)-1] = s[len(s)-1-int(v)]
		case opRoll:
			if err := roll(&s); err != nil {
				return 0, err
			}
		case opSort, opRev, opAvg, opMedian, opStdev, opSMin, opSMax:
			k, err := count()
			if err != nil {
				return 0, err
			}
			set := s[len(s)-k:]
			switch n.op {
			case opSort:
				sortRRD(set)
			case opRev:
				slices.Reverse(set)
			default:
				v := setValue(n.op, set)
				s = append(s[:len(s)-k], v)
			}
		case opPercent:
			// e1…ek,p,k,PERCENT: p sits between the set and its count
			if err := need(2); err != nil {
				return 0, err
			}
			kv, pct := s[len(s)-1], s[len(s)-2]
			s = s[:len(s)-2]
			if !(pct >= 0 && pct <= 100) {
				return 0, errors.New("percentile argument must be between 0 and 100")
			}
			if !(kv > -1) || kv > float64(len(s)) {
				return 0, ErrUnderflow
			}
			k := int(kv)
			set := s[len(s)-k:]
			sortRRD(set)
			below := len(s) - k - 1 // index 0 of the percentile: the item under the set
			idx := below + int(math.Round(pct*float64(k)/100))
			if idx < 0 {
				return 0, ErrUnderflow
			}
			v := s[idx]
			s = append(s[:below+1], v)
		default:
			return 0, fmt.Errorf("operator %d has no evaluation", n.op)
		}
	}
	if len(s) != 1 {
		return 0, errors.New("RPN final stack size != 1")
	}
	return s[0], nil
}

// roll is rrdtool 1.7.2's ROLL, bug included: it rotates the memory
// window that starts at the new top (the top, then the two popped
// operands, then what lies above them) instead of the top n items.
func roll(s *[]float64) error {
	st := *s
	if len(st) < 2 {
		return ErrUnderflow
	}
	m, n := st[len(st)-1], st[len(st)-2]
	st = st[:len(st)-2]
	if !(n >= 0) || n > float64(len(st)) || math.IsNaN(m) || math.Abs(m) > 1<<30 {
		return ErrUnderflow
	}
	base, step := int(n), int(m)
	if base > 3 {
		// rrdtool reads uninitialised stack memory beyond the popped
		// operands: nothing to reproduce
		return fmt.Errorf("%d,%d,ROLL: rrdtool 1.7.2's ROLL of more than 3 items reads undefined memory", base, step)
	}
	top := len(st) - 1
	window := []float64{0, n, m}
	if top >= 0 {
		window[0] = st[top]
	}
	window = window[:max(base, 0)]
	j := base + step
	for i := base - 1; i >= 0; i-- {
		j--
		for j < 0 {
			j += base
		}
		for j >= base {
			j -= base
		}
		st[top-i] = window[j]
	}
	*s = st
	return nil
}

func unary(o op) func(float64) float64 {
	if f := unaryFn(o); f != nil {
		if o == opAbs {
			return cAbs
		}
		if o == opUn || o == opIsInf {
			return f
		}
		return keepNaN(f)
	}
	return nil
}

func unaryFn(o op) func(float64) float64 {
	switch o {
	case opSin:
		return math.Sin
	case opCos:
		return math.Cos
	case opLog:
		return math.Log
	case opExp:
		return math.Exp
	case opSqrt:
		return math.Sqrt
	case opAtan:
		return math.Atan
	case opFloor:
		return math.Floor
	case opCeil:
		return math.Ceil
	case opAbs:
		return math.Abs
	case opRad2Deg:
		return func(x float64) float64 { return 57.29577951 * x }
	case opDeg2Rad:
		return func(x float64) float64 { return 0.0174532952 * x }
	case opUn:
		return func(x float64) float64 { return b2f(math.IsNaN(x)) }
	case opIsInf:
		return func(x float64) float64 { return b2f(math.IsInf(x, 0)) }
	}
	return nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// cmp is rpn_calc's comparison: a NaN operand is the result.
func cmp(f func(a, b float64) bool) func(a, b float64) float64 {
	return func(a, b float64) float64 {
		if math.IsNaN(a) {
			return a
		}
		if math.IsNaN(b) {
			return b
		}
		return b2f(f(a, b))
	}
}

func binaryFn(o op) func(a, b float64) float64 {
	switch o {
	case opAdd:
		return leftNaN(func(a, b float64) float64 { return a + b })
	case opSub:
		return leftNaN(func(a, b float64) float64 { return a - b })
	case opMul:
		return leftNaN(func(a, b float64) float64 { return a * b })
	case opDiv:
		return leftNaN(func(a, b float64) float64 { return a / b })
	case opMod:
		return leftNaN(math.Mod)
	case opPow:
		return cPow
	case opAtan2:
		return leftNaN(math.Atan2)
	case opAddNaN:
		return func(a, b float64) float64 {
			if math.IsNaN(a) {
				return b
			}
			if math.IsNaN(b) {
				return a
			}
			return a + b
		}
	case opLT:
		return cmp(func(a, b float64) bool { return a < b })
	case opLE:
		return cmp(func(a, b float64) bool { return a <= b })
	case opGT:
		return cmp(func(a, b float64) bool { return a > b })
	case opGE:
		return cmp(func(a, b float64) bool { return a >= b })
	case opEQ:
		return cmp(func(a, b float64) bool { return a == b })
	case opNE:
		return cmp(func(a, b float64) bool { return a != b })
	case opMin:
		return func(a, b float64) float64 {
			if math.IsNaN(a) {
				return a
			}
			if math.IsNaN(b) || a > b {
				return b
			}
			return a
		}
	case opMax:
		return func(a, b float64) float64 {
			if math.IsNaN(a) {
				return a
			}
			if math.IsNaN(b) || a < b {
				return b
			}
			return a
		}
	case opMinNaN:
		return func(a, b float64) float64 {
			if math.IsNaN(a) || !math.IsNaN(b) && a > b {
				return b
			}
			return a
		}
	case opMaxNaN:
		return func(a, b float64) float64 {
			if math.IsNaN(a) || !math.IsNaN(b) && a < b {
				return b
			}
			return a
		}
	}
	return nil
}

// compare is rrdtool 1.7.2's rpn_compare_double: unknowns first, then an
// infinity compares by its own sign whatever the other operand is (glibc's
// isinf gives the sign) — not a consistent order (1 sorts "below" -INF
// when -INF is the second operand), so results with infinities depend on
// the sort algorithm, which is why sortRRD reproduces glibc's.
func compare(x, y float64) int {
	switch {
	case math.IsNaN(x) && math.IsNaN(y):
		return 0
	case math.IsNaN(x):
		return -1
	case math.IsNaN(y):
		return 1
	case math.IsInf(x, 1):
		return 1
	case math.IsInf(x, -1):
		return -1
	case math.IsInf(y, 1):
		return 1
	case math.IsInf(y, -1):
		return -1
	}
	d := x - y
	switch {
	case d < 0:
		return -1
	case d > 0:
		return 1
	}
	return 0
}

// sortRRD sorts a in place as glibc's qsort (msort_with_tmp, glibc ≤ 2.36)
// does with compare: top-down merge sort, the first half the smaller one,
// taking from the left run when compare ≤ 0. rpn/sets.go's msort is the
// same sort for CDEFs; rpn's TestComputedsAgreesWithCDEF keeps them equal.
func sortRRD(a []float64) {
	n := len(a)
	if n <= 1 {
		return
	}
	l, r := a[:n/2], a[n/2:]
	sortRRD(l)
	sortRRD(r)
	t := make([]float64, 0, n)
	i, j := 0, 0
	for i < len(l) && j < len(r) {
		if compare(l[i], r[j]) <= 0 {
			t = append(t, l[i])
			i++
		} else {
			t = append(t, r[j])
			j++
		}
	}
	t = append(t, l[i:]...)
	copy(a, t) // what is left of r is already in place
}

// setValue is AVG, MEDIAN, STDEV, SMIN or SMAX over set (top last).
func setValue(o op, set []float64) float64 {
	switch o {
	case opAvg:
		sum, n := 0.0, 0
		for i := len(set) - 1; i >= 0; i-- { // rrdtool pops from the top
			if !math.IsNaN(set[i]) {
				sum += set[i]
				n++
			}
		}
		if n == 0 {
			return math.NaN()
		}
		return sum / float64(n)
	case opMedian:
		// rrdtool moves unknowns out by swapping in values from the end
		// (which changes the order the sort sees)
		v := slices.Clone(set)
		final := len(v)
		g, b := 0, len(v)-1
		for g < b {
			if math.IsNaN(v[g]) {
				v[g] = v[b]
				b--
				final--
			} else {
				g++
			}
		}
		if final == 0 {
			return math.NaN()
		}
		if math.IsNaN(v[g]) {
			final--
		}
		if final == 0 {
			return math.NaN()
		}
		v = v[:final]
		sortRRD(v)
		if final%2 == 1 {
			return v[final/2]
		}
		return 0.5 * (v[final/2] + v[final/2-1])
	case opStdev:
		n := 0
		mean, mean2 := 0.0, 0.0
		for i := len(set) - 1; i >= 0; i-- {
			d := set[i]
			if math.IsNaN(d) {
				continue
			}
			n++
			delta := d - mean
			mean += delta / float64(n)
			mean2 += delta * (d - mean)
		}
		if n < 2 {
			return math.NaN()
		}
		return math.Sqrt(mean2 / float64(n-1))
	case opSMin, opSMax:
		x := math.NaN()
		for i := len(set) - 1; i >= 0; i-- {
			e := set[i]
			if math.IsNaN(x) || o == opSMax && e > x || o == opSMin && e < x {
				x = e
			}
		}
		return x
	}
	return math.NaN()
}
