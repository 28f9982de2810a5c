// Package computeds is the expression of a COMPUTE data source
// (`DS:name:COMPUTE:rpn-expression`): parsed, printed and evaluated on one
// row of primary data points exactly as rrdtool 1.7.2 does it
// (rrd_rpncalc.c: rpn_parse, parseCDEF_DS, rpn_compact, rpn_compact2str,
// rpn_calc).
//
// Why a package of its own, beside rpn/: store evaluates COMPUTE when it
// closes a PDP, and rpn/ (the CDEF/VDEF language over whole columns)
// imports store, so store cannot import rpn. A COMPUTE expression is a
// scalar program of at most 19 nodes over the PDPs of one step, with
// rrdtool's compact-form rules (integer constants in a short, no time or
// window operators); this leaf package holds just that, and a test in rpn/
// checks it against rpn's CDEF evaluation operator by operator.
package computeds

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxNodes is the most nodes a COMPUTE expression may have: rrdtool keeps
// it in the DS's 80-byte parameter area as 4-byte nodes, one for the end.
const MaxNodes = 19

type op uint8

const (
	opNumber op = iota
	opVariable
	opAdd
	opSub
	opMul
	opDiv
	opMod
	opPow
	opSin
	opCos
	opLog
	opExp
	opSqrt
	opAtan
	opAtan2
	opFloor
	opCeil
	opAbs
	opRad2Deg
	opDeg2Rad
	opAddNaN
	opLT
	opLE
	opGT
	opGE
	opEQ
	opNE
	opIf
	opMin
	opMax
	opMinNaN
	opMaxNaN
	opLimit
	opUn
	opIsInf
	opUnkn
	opInf
	opNegInf
	opNow
	opDup
	opPop
	opExc
	opDepth
	opCopy
	opIndex
	opRoll
	opSort
	opRev
	opAvg
	opMedian
	opStdev
	opSMin
	opSMax
	opPercent
	nOps
)

// names of the operators allowed in COMPUTE, as rpn_compact2str prints them.
var opNames = [nOps]string{
	opAdd: "+", opSub: "-", opMul: "*", opDiv: "/", opMod: "%", opPow: "POW",
	opSin: "SIN", opCos: "COS", opLog: "LOG", opExp: "EXP", opSqrt: "SQRT", opAtan: "ATAN", opAtan2: "ATAN2",
	opFloor: "FLOOR", opCeil: "CEIL", opAbs: "ABS", opRad2Deg: "RAD2DEG", opDeg2Rad: "DEG2RAD", opAddNaN: "ADDNAN",
	opLT: "LT", opLE: "LE", opGT: "GT", opGE: "GE", opEQ: "EQ", opNE: "NE", opIf: "IF",
	opMin: "MIN", opMax: "MAX", opMinNaN: "MINNAN", opMaxNaN: "MAXNAN", opLimit: "LIMIT",
	opUn: "UN", opIsInf: "ISINF", opUnkn: "UNKN", opInf: "INF", opNegInf: "NEGINF", opNow: "NOW",
	opDup: "DUP", opPop: "POP", opExc: "EXC", opDepth: "DEPTH", opCopy: "COPY", opIndex: "INDEX", opRoll: "ROLL",
	opSort: "SORT", opRev: "REV", opAvg: "AVG", opMedian: "MEDIAN", opStdev: "STDEV", opSMin: "SMIN", opSMax: "SMAX",
	opPercent: "PERCENT",
}

var byName = func() map[string]op {
	m := make(map[string]op, nOps)
	for o, n := range opNames {
		if n != "" {
			m[n] = op(o)
		}
	}
	return m
}()

// refused are the operators rpn_parse knows and parseCDEF_DS refuses.
var refused = map[string]bool{
	"TIME": true, "LTIME": true, "STEPWIDTH": true, "PREV": true, "COUNT": true,
	"TREND": true, "TRENDNAN": true, "PREDICT": true, "PREDICTSIGMA": true, "PREDICTPERC": true,
	"NEWDAY": true, "NEWWEEK": true, "NEWMONTH": true, "NEWYEAR": true,
}

// ErrRefusedOp is rrdtool's error for an operator COMPUTE does not take.
var ErrRefusedOp = errors.New("operators TIME LTIME STEPWIDTH PREV NEW* COUNT TREND TRENDNAN PREDICT PREDICTSIGMA PREDICTPERC are not supported with DS COMPUTE")

type node struct {
	op  op
	num int16 // opNumber: rrdtool keeps constants in a short
	ds  int   // opVariable: index of the data source
}

// Program is a parsed COMPUTE expression. Variables are data source
// indexes, so a renamed data source keeps its place in the expression.
type Program struct{ nodes []node }

// Parse parses expr as rrdtool create parses a COMPUTE DS's argument:
// lookup finds a data source by name among those before the COMPUTE one
// (rrdtool looks only at the DS defined so far).
func Parse(expr string, lookup func(name string) (int, bool)) (*Program, error) {
	if expr == "" {
		return nil, errors.New("can not parse an empty rpn expression")
	}
	p := &Program{}
	rest := expr
	for rest != "" {
		tok, after, _ := strings.Cut(rest, ",")
		if n, ok := number(tok, after != "" || strings.Contains(rest, ",")); ok {
			// rpn_compact: a constant must be an integer that fits a short
			if f := math.Floor(n); f < math.MinInt16 || f > math.MaxInt16 || f != n {
				return nil, fmt.Errorf("constants must be integers in the interval (%d, %d)", math.MinInt16, math.MaxInt16)
			}
			p.nodes = append(p.nodes, node{op: opNumber, num: int16(n)})
		} else if o, ok := byName[tok]; ok {
			p.nodes = append(p.nodes, node{op: o})
		} else if refused[tok] || strings.HasPrefix(tok, "PREV(") && strings.HasSuffix(tok, ")") {
			// PREV(x) is taken by rrdtool's create but fails every update
			// that closes a step ("VDEF made it into rpn_calc"); refused here
			return nil, fmt.Errorf("%s: %w", tok, ErrRefusedOp)
		} else if i, ok := lookup(tok); ok && validName(tok) {
			p.nodes = append(p.nodes, node{op: opVariable, ds: i})
		} else {
			return nil, fmt.Errorf("failed to parse computed data source: don't understand '%s'", rest)
		}
		if len(p.nodes) > MaxNodes {
			return nil, fmt.Errorf("Maximum %d RPN nodes permitted. Got %d RPN nodes at present.", MaxNodes, countNodes(expr))
		}
		rest = after
	}
	return p, nil
}

// number reads a constant as rpn_parse does: a run of [0-9.e+-] that is a
// whole number and is followed by a comma (a constant at the very end is
// not one).
func number(tok string, commaFollows bool) (float64, bool) {
	if !commaFollows || tok == "" || strings.Trim(tok, "0123456789.e+-") != "" {
		return 0, false
	}
	v, err := strconv.ParseFloat(tok, 64)
	if err != nil {
		var ne *strconv.NumError
		if !errors.As(err, &ne) || ne.Err != strconv.ErrRange {
			return 0, false
		}
	}
	return v, true
}

func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return s != ""
}

func countNodes(expr string) int { return len(strings.Split(strings.TrimSuffix(expr, ","), ",")) }

// Format prints the program as rpn_compact2str does (dump's <cdef>,
// info's ds[x].cdef): constants as integers, data sources by name.
func (p *Program) Format(name func(ds int) string) string {
	var b strings.Builder
	for i, n := range p.nodes {
		if i > 0 {
			b.WriteByte(',')
		}
		switch n.op {
		case opNumber:
			b.WriteString(strconv.Itoa(int(n.num)))
		case opVariable:
			b.WriteString(name(n.ds))
		default:
			b.WriteString(opNames[n.op])
		}
	}
	return b.String()
}

// Text is Format with a comma after a constant at the end ("a,POP,2,"):
// rpn_parse takes a constant only before a comma, so this is the form
// that parses back to the same program. Format's text is what rrdtool
// prints (and cannot read back).
func (p *Program) Text(name func(ds int) string) string {
	s := p.Format(name)
	if len(p.nodes) > 0 && p.nodes[len(p.nodes)-1].op == opNumber {
		s += ","
	}
	return s
}

// Refs returns the data sources the program reads, in order of use.
func (p *Program) Refs() []int {
	var r []int
	for _, n := range p.nodes {
		if n.op == opVariable && !slices.Contains(r, n.ds) {
			r = append(r, n.ds)
		}
	}
	return r
}

// Remap rewrites data source indexes through m (old index → new one); it
// fails when a referenced data source has no new index.
func (p *Program) Remap(m func(int) (int, bool)) (*Program, error) {
	q := &Program{nodes: slices.Clone(p.nodes)}
	for i, n := range q.nodes {
		if n.op == opVariable {
			j, ok := m(n.ds)
			if !ok {
				return nil, fmt.Errorf("the expression reads data source #%d, which is gone", n.ds)
			}
			q.nodes[i].ds = j
		}
	}
	return q, nil
}

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

// rrdOps are the numbers of rrdtool 1.7.2's enum op_en (rrd_rpncalc.h),
// as a compact expression stores them in a file; the names are those
// rpn_compact2str prints.
var rrdOps = [...]string{
	0: "", 1: "", 2: "INF", 3: "PREV", 4: "NEGINF", 5: "UNKN", 6: "NOW", 7: "TIME", 8: "+", 9: "%", 10: "-", 11: "*",
	12: "/", 13: "SIN", 14: "DUP", 15: "EXC", 16: "POP", 17: "COS", 18: "LOG", 19: "EXP", 20: "LT", 21: "LE", 22: "GT",
	23: "GE", 24: "EQ", 25: "IF", 26: "MIN", 27: "MAX", 28: "LIMIT", 29: "FLOOR", 30: "CEIL", 31: "UN", 32: "",
	33: "LTIME", 34: "NE", 35: "ISINF", 36: "", 37: "COUNT", 38: "ATAN", 39: "SQRT", 40: "SORT", 41: "REV",
	42: "TREND", 43: "TRENDNAN", 44: "ATAN2", 45: "RAD2DEG", 46: "DEG2RAD", 47: "PREDICT", 48: "PREDICTSIGMA",
	49: "AVG", 50: "ABS", 51: "ADDNAN", 52: "MINNAN", 53: "MAXNAN", 54: "MEDIAN", 55: "PREDICTPERC", 56: "DEPTH",
	57: "COPY", 58: "ROLL", 59: "INDEX", 60: "STEPWIDTH", 61: "NEWDAY", 62: "NEWWEEK", 63: "NEWMONTH",
	64: "NEWYEAR", 65: "SMIN", 66: "SMAX", 67: "STDEV", 68: "PERCENT", 69: "POW",
}

const (
	rrdOpNumber    = 0
	rrdOpVariable  = 1
	rrdOpEnd       = 32
	rrdOpPrevOther = 36
)

// FromCompact turns the compact expression an rrdtool file keeps in a
// COMPUTE DS's parameter words (4-byte nodes: the op in byte 0, a short
// in bytes 2-3, little-endian, ended by OP_END) into its text, as
// rpn_compact2str prints it; names are the file's data sources.
func FromCompact(raw []byte, names []string) (string, error) {
	var toks []string
	for i := 0; ; i++ {
		if 4*i+4 > len(raw) {
			return "", errors.New("COMPUTE expression has no end in its parameter area")
		}
		o := int(raw[4*i])
		val := int16(uint16(raw[4*i+2]) | uint16(raw[4*i+3])<<8)
		switch {
		case o == rrdOpEnd:
			if len(toks) == 0 {
				return "", errors.New("COMPUTE expression is empty")
			}
			return strings.Join(toks, ","), nil
		case o == rrdOpNumber:
			toks = append(toks, strconv.Itoa(int(val)))
		case o == rrdOpVariable || o == rrdOpPrevOther:
			if int(val) < 0 || int(val) >= len(names) {
				return "", fmt.Errorf("COMPUTE expression node %d names data source #%d of %d", i, val, len(names))
			}
			toks = append(toks, names[val])
		case o < len(rrdOps) && rrdOps[o] != "":
			toks = append(toks, rrdOps[o])
		default:
			return "", fmt.Errorf("COMPUTE expression node %d: unknown operator %d", i, o)
		}
	}
}
