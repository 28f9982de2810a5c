package rpn

import (
	"fmt"
	"strings"
)

// VarKind tells what a variable name of a CDEF refers to.
type VarKind uint8

const (
	// KindSeries is a DEF or CDEF: a column of values.
	KindSeries VarKind = iota + 1
	// KindValue is a VDEF: one value, a constant inside a CDEF.
	KindValue
)

// Resolver looks up a variable name used in an expression. index is opaque
// to the compiler and handed back to the evaluator's inputs.
type Resolver func(name string) (kind VarKind, index int, ok bool)

// Error is a compile or evaluation error of one DEF/CDEF/VDEF statement. It
// names the statement, and the token and its 1-based position when one is
// to blame.
type Error struct {
	Stmt  string // e.g. "CDEF:x=a,b,+,*"
	Pos   int    // 1-based token index, 0 if no single token is to blame
	Token string
	Msg   string
}

func (e *Error) Error() string {
	if e.Pos > 0 {
		return fmt.Sprintf("%s: %s at token %d '%s'", e.Stmt, e.Msg, e.Pos, e.Token)
	}
	return fmt.Sprintf("%s: %s", e.Stmt, e.Msg)
}

type instr struct {
	op  opcode
	num float64 // opNumber
	ref int     // opVar, opVValue, opPrevOther: resolver index
	tok int     // index into Program.toks

	// Column kernels, resolved once at compile time.
	bin func(a, b []float64)         // binary operators
	un  func(a []float64)            // unary operators
	sc  func(a []float64, v float64) // opNumber fused with the binary operator after it
	// opVar fused with the binary operator after it: the kernel reads the
	// variable's column in place instead of a copy on the stack.
	fuseVar bool
	// opVar followed by opVar and a binary operator: dst = x op y in one pass.
	k3 func(dst, a, b []float64)
}

// Program is a compiled CDEF expression. It is immutable once compiled and
// may be evaluated any number of times, concurrently.
type Program struct {
	stmt     string
	expr     string
	toks     []token
	code     []instr
	usesPrev bool // PREV makes each row depend on the previous output
	series   []int
}

// Expr returns the RPN text the program was compiled from.
func (p *Program) Expr() string { return p.expr }

// SeriesRefs returns the resolver indexes of the DEF/CDEF series the
// program reads (each once, in order of first use).
func (p *Program) SeriesRefs() []int { return append([]int(nil), p.series...) }

func (p *Program) errAt(in instr, format string, args ...any) *Error {
	t := p.toks[in.tok]
	return &Error{Stmt: p.stmt, Pos: t.pos, Token: t.text, Msg: fmt.Sprintf(format, args...)}
}

// isVName reports whether s only holds the characters rrdtool allows in a
// variable name.
func isVName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '-' || c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			return false
		}
	}
	return true
}

// Compile parses and checks the RPN expression expr of statement stmt (the
// whole "CDEF:name=expr" text, used in error messages) the way rrdtool
// 1.7.2 does, resolving variable names with resolve.
func Compile(stmt, expr string, resolve Resolver) (*Program, error) {
	p := &Program{stmt: stmt, expr: expr}
	toks, followed := splitTokens(expr)
	p.toks = toks
	if len(toks) == 0 {
		return nil, &Error{Stmt: stmt, Msg: "empty expression"}
	}
	seen := map[int]bool{}
	for i, t := range toks {
		in := instr{tok: i}
		bad := func(format string, args ...any) error {
			return &Error{Stmt: stmt, Pos: t.pos, Token: t.text, Msg: fmt.Sprintf(format, args...)}
		}
		if t.text == "" {
			return nil, bad("empty token")
		}
		if v, ok := parseNumber(t.text); ok && followed[i] {
			in.op, in.num = opNumber, v
		} else if op, ok := opNames[t.text]; ok {
			in.op = op
		} else if strings.HasPrefix(t.text, "PREV(") && strings.HasSuffix(t.text, ")") && isVName(t.text[5:len(t.text)-1]) {
			name := t.text[5 : len(t.text)-1]
			kind, idx, ok := resolve(name)
			if !ok {
				return nil, bad("unknown variable '%s'", name)
			}
			if kind != KindSeries {
				return nil, bad("PREV(%s): '%s' is a VDEF, not a series", name, name)
			}
			in.op, in.ref = opPrevOther, idx
		} else if isVName(t.text) {
			kind, idx, ok := resolve(t.text)
			if !ok {
				if _, isNum := parseNumber(t.text); isNum {
					return nil, bad("a number must be followed by a comma (rrdtool 1.7.2 rejects a trailing constant)")
				}
				return nil, bad("unknown variable or operator")
			}
			in.ref = idx
			if kind == KindValue {
				in.op = opVValue
			} else {
				in.op = opVar
			}
		} else {
			if _, isNum := parseNumber(t.text); isNum {
				return nil, bad("a number must be followed by a comma (rrdtool 1.7.2 rejects a trailing constant)")
			}
			return nil, bad("unknown token")
		}
		switch in.op {
		case opVar, opPrevOther:
			if !seen[in.ref] {
				seen[in.ref] = true
				p.series = append(p.series, in.ref)
			}
		case opPrev:
			p.usesPrev = true
		case opTrend, opTrendNaN:
			if i < 2 || p.code[i-2].op != opVar {
				return nil, bad("malformed trend arguments: want variable,duration,%s", t.text)
			}
		case opPredict, opPredictSigma, opPredictPerc:
			if i < 1 || p.code[i-1].op != opVar {
				return nil, bad("%s needs a DEF or CDEF variable right before it", t.text)
			}
		}
		p.code = append(p.code, in)
	}
	for i := range p.code {
		in := &p.code[i]
		in.bin = binaryOp(in.op)
		in.un = unaryOp(in.op)
		if in.op == opNumber && i+1 < len(p.code) {
			in.sc = scalarOp(p.code[i+1].op)
		}
		if in.op == opVar && i+1 < len(p.code) {
			in.fuseVar = binaryOp(p.code[i+1].op) != nil
		}
		if in.op == opVar && i+2 < len(p.code) && p.code[i+1].op == opVar {
			in.k3 = columnKernel3(p.code[i+2].op)
		}
	}
	if len(p.series) == 0 {
		return nil, &Error{Stmt: stmt, Msg: "rpn expressions without DEF or CDEF variables are not supported"}
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	return p, nil
}

// slot is what the static check knows about a stack element.
type slot struct {
	known bool // a compile-time constant
	val   float64
}

// arity returns how many values a fixed-arity operator pops and pushes.
func arity(op opcode) (pop, push int, fixed bool) {
	switch op {
	case opNumber, opVar, opVValue, opPrevOther, opUnkn, opInf, opNegInf, opPrev, opCount,
		opNow, opTime, opLTime, opStepWidth, opNewDay, opNewWeek, opNewMonth, opNewYear:
		return 0, 1, true
	case opAdd, opSub, opMul, opDiv, opMod, opPow, opAddNaN, opAtan2, opLT, opLE, opGT, opGE,
		opEQ, opNE, opMin, opMax, opMinNaN, opMaxNaN, opTrend, opTrendNaN:
		return 2, 1, true
	case opSin, opCos, opLog, opExp, opSqrt, opAtan, opFloor, opCeil, opAbs, opDeg2Rad,
		opRad2Deg, opRound, opUN, opIsInf:
		return 1, 1, true
	case opIf, opLimit:
		return 3, 1, true
	case opPop:
		return 1, 0, true
	case opExc:
		return 2, 2, true
	}
	return 0, 0, false
}

// check simulates the stack with what is known at compile time, so that
// underflows and a wrong final depth are reported before any data is
// fetched. Counts taken from the stack (SORT, COPY, PREDICT…) are known when
// they are literal numbers or DEPTH; otherwise the check stops and the
// evaluator reports problems at run time.
func (p *Program) check() error {
	var st []slot
	for _, in := range p.code {
		if len(st) > maxDepth {
			return p.errAt(in, "stack deeper than %d values", maxDepth)
		}
		need := func(n int) error {
			if len(st) < n {
				return p.errAt(in, "stack underflow")
			}
			return nil
		}
		if pop, push, ok := arity(in.op); ok {
			if err := need(pop); err != nil {
				return err
			}
			var top slot
			if in.op == opExc {
				st[len(st)-1], st[len(st)-2] = st[len(st)-2], st[len(st)-1]
				continue
			}
			st = st[:len(st)-pop]
			if in.op == opNumber {
				top = slot{known: true, val: in.num}
			}
			if push == 1 {
				st = append(st, top)
			}
			continue
		}
		switch in.op {
		case opDup:
			if err := need(1); err != nil {
				return err
			}
			st = append(st, st[len(st)-1])
			continue
		case opDepth:
			st = append(st, slot{known: true, val: float64(len(st))})
			continue
		}
		// Counted operators: the count is on top (PERCENT: below the
		// count is the percentile; PREDICT*: see evaluator).
		if err := need(1); err != nil {
			return err
		}
		c := st[len(st)-1]
		if !c.known {
			return nil
		}
		n := 0
		if in.op != opRoll {
			var err error
			if n, err = countOf(c.val); err != nil {
				return p.errAt(in, "%v", err)
			}
		}
		st = st[:len(st)-1]
		switch in.op {
		case opCopy:
			if err := need(n); err != nil {
				return err
			}
			if len(st)+n > maxDepth {
				return p.errAt(in, "stack deeper than %d values", maxDepth)
			}
			st = append(st, st[len(st)-n:]...)
		case opIndex:
			if n < 1 || n > len(st) {
				return p.errAt(in, "index %d out of range 1..%d", n, len(st))
			}
			st = append(st, st[len(st)-n])
		case opRoll:
			// "n,m,ROLL": the count read above was m; n is below it.
			if _, err := rollShift(c.val); err != nil {
				return p.errAt(in, "%v", err)
			}
			if err := need(1); err != nil {
				return err
			}
			nv := st[len(st)-1]
			st = st[:len(st)-1]
			if !nv.known {
				return nil
			}
			nn, err := countOf(nv.val)
			if err != nil {
				return p.errAt(in, "%v", err)
			}
			if err := need(nn); err != nil {
				return err
			}
			for i := len(st) - nn; i < len(st); i++ {
				st[i] = slot{}
			}
		case opSort, opRev:
			if err := need(n); err != nil {
				return err
			}
			for i := len(st) - n; i < len(st); i++ {
				st[i] = slot{}
			}
		case opAvg, opSMin, opSMax, opMedian, opStdev:
			if err := need(n); err != nil {
				return err
			}
			st = append(st[:len(st)-n], slot{})
		case opPercent:
			if err := need(n + 1); err != nil {
				return err
			}
			st = append(st[:len(st)-n-1], slot{})
		case opPredict, opPredictSigma, opPredictPerc:
			// The variable was on top: "…,shifts,n,window[,p],x,PREDICT".
			// c is x (never known), so this is not reached.
			return nil
		}
	}
	if len(st) != 1 {
		last := p.code[len(p.code)-1]
		return p.errAt(last, "final stack holds %d values, want exactly 1", len(st))
	}
	return nil
}

// countOf converts a stack value used as a count the way rrdtool's (int)
// cast does, refusing values the C code would turn into garbage.
func countOf(v float64) (int, error) {
	if v != v || v > 1<<30 || v < -(1<<30) {
		return 0, fmt.Errorf("invalid count %v", v)
	}
	n := int(v) // truncates toward zero like C
	if n < 0 {
		return 0, fmt.Errorf("negative count %d", n)
	}
	return n, nil
}

// rollShift converts ROLL's rotation amount, which may be negative.
func rollShift(v float64) (int, error) {
	if v != v || v > 1<<30 || v < -(1<<30) {
		return 0, fmt.Errorf("invalid rotation %v", v)
	}
	return int(v), nil
}
