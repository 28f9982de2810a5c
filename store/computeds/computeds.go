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
