package rpn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"rrdash/store"
)

// Env holds what time-dependent operators need.
type Env struct {
	// Loc is the time zone of LTIME and NEWDAY/NEWWEEK/NEWMONTH/NEWYEAR;
	// nil means time.Local.
	Loc *time.Location
	// Now is the value of NOW (seconds since the epoch).
	Now int64
}

// Input is the value of one resolver index at evaluation time: a Series for
// a DEF/CDEF, a VValue for a VDEF.
type Input struct {
	Series *Series
	Value  float64
}

// chunkRows is how many rows one pass of an operator covers: large enough
// to amortise the per-operator dispatch, small enough for the stack columns
// to stay in cache.
const chunkRows = 1024

// errNonUniform is returned when a count taken from the stack (SORT, COPY,
// PREDICT…) differs between rows of a chunk: the stack then has a different
// shape per row and the chunk is evaluated row by row.
var errNonUniform = errors.New("count differs between rows")

// Eval computes the CDEF over the rows rrdtool would give it: step is the
// greatest common divisor of the steps of the series it reads, the rows run
// from the latest start to the earliest end of those series. in(ref) gives
// the value of each resolver index the program uses. It stops with ctx's
// error (wrapped) soon after ctx ends, within one chunk of one operator.
func (p *Program) Eval(ctx context.Context, in func(ref int) Input, env Env) (*Series, error) {
	return p.eval(newMeter(ctx, 0), in, env, chunkRows)
}

// eval evaluates chunk rows per operator pass (tests compare chunk sizes),
// charging the work to mt.
func (p *Program) eval(mt *meter, in func(ref int) Input, env Env, chunk int) (*Series, error) {
	var start, end, step int64
	for i, ref := range p.series {
		s := in(ref).Series
		if s == nil || s.Step <= 0 {
			return nil, &Error{Stmt: p.stmt, Msg: fmt.Sprintf("variable '%s' has no data", p.refName(ref))}
		}
		if i == 0 {
			start, end, step = s.Start, s.End(), s.Step
			continue
		}
		step = gcd(step, s.Step)
		start = max(start, s.Start)
		end = min(end, s.End())
	}
	rows := 0
	if end > start {
		rows = int((end - start) / step)
	}
	m := newMachine(p, in, env, start, step, rows)
	m.mt = mt
	out := &Series{Start: start, Step: step, Values: store.MakeColumn(rows)}
	m.out = out.Values
	if p.usesPrev {
		if f := p.prevTail(); f != nil && chunk > 1 {
			// "prefix,PREV,op": the prefix runs vectorised, the
			// recurrence out[i] = prefix[i] op out[i-1] in one scalar pass.
			pre := &Program{stmt: p.stmt, expr: p.expr, toks: p.toks, code: p.code[:len(p.code)-2], series: p.series}
			m.p = pre
			for lo := 0; lo < rows; lo += chunk {
				if err := m.runChunk(lo, min(lo+chunk, rows)); err != nil {
					return nil, err
				}
			}
			if err := mt.add(int64(2*rows), p, p.code[len(p.code)-1].tok, ""); err != nil {
				return nil, err
			}
			prev := math.NaN()
			for i, v := range out.Values {
				prev = f(v, prev)
				out.Values[i] = prev
			}
			return out, nil
		}
		chunk = 1 // PREV reads the previous output: a recurrence
	}
	for lo := 0; lo < rows; lo += chunk {
		if err := m.runChunk(lo, min(lo+chunk, rows)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// runChunk evaluates rows [lo, hi), row by row if counts differ between them.
func (m *machine) runChunk(lo, hi int) error {
	// Every operator visits each row once; set and window operators charge
	// their operands themselves.
	if err := m.mt.add(int64(len(m.p.code)*(hi-lo)), m.p, -1, ""); err != nil {
		return err
	}
	used := m.mt.used
	err := m.run(lo, hi)
	if errors.Is(err, errNonUniform) {
		m.mt.used = used // the rows are done again one by one
		err = nil
		for r := lo; r < hi && err == nil; r++ {
			err = m.run(r, r+1)
		}
	}
	return err
}

// prevTail returns the scalar operator f when the program is
// "prefix,PREV,op" with PREV nowhere else, else nil.
func (p *Program) prevTail() func(x, y float64) float64 {
	n := len(p.code)
	if n < 3 || p.code[n-2].op != opPrev {
		return nil
	}
	for _, in := range p.code[:n-2] {
		if in.op == opPrev {
			return nil
		}
	}
	return scalar2(p.code[n-1].op)
}

// refName returns the variable name a resolver index was written as.
func (p *Program) refName(ref int) string {
	for _, in := range p.code {
		if (in.op == opVar || in.op == opPrevOther) && in.ref == ref {
			return p.toks[in.tok].text
		}
	}
	return fmt.Sprint(ref)
}

// colInput is a series as seen from the CDEF's rows.
type colInput struct {
	s    *Series
	idx  []int32   // CDEF row → series row (nil when direct)
	col  []float64 // CDEF row → value
	vval float64
}

type machine struct {
	p     *Program
	env   Env
	loc   *time.Location
	start int64
	step  int64
	rows  int
	ins   map[int]*colInput
	out   []float64

	lo, n   int
	stack   [][]float64
	free    [][]float64
	outUsed bool      // m.out[lo:hi] is on the stack or was popped
	tmp     []float64 // per-row scratch for set operators
	tmp2    []float64
	mt      *meter
}

func newMachine(p *Program, in func(ref int) Input, env Env, start, step int64, rows int) *machine {
	m := &machine{p: p, env: env, loc: env.Loc, start: start, step: step, rows: rows, ins: map[int]*colInput{}}
	if m.loc == nil {
		m.loc = time.Local
	}
	for _, ins := range p.code {
		switch ins.op {
		case opVar, opPrevOther:
			if _, ok := m.ins[ins.ref]; ok {
				continue
			}
			s := in(ins.ref).Series
			ci := &colInput{s: s}
			if s.Step == step && (start-s.Start)%step == 0 {
				off := int((start - s.Start) / step)
				ci.col = s.Values[off : off+rows]
			} else {
				ci.idx = make([]int32, rows)
				ci.col = store.MakeColumn(rows)
				for i := range rows {
					k := s.rowAt(start + int64(i+1)*step)
					ci.idx[i] = int32(k)
					if k >= 0 {
						ci.col[i] = s.Values[k]
					} else {
						ci.col[i] = math.NaN()
					}
				}
			}
			m.ins[ins.ref] = ci
		case opVValue:
			if _, ok := m.ins[ins.ref]; !ok {
				m.ins[ins.ref] = &colInput{vval: in(ins.ref).Value}
			}
		}
	}
	return m
}

// seriesRow returns the row of ci's series that CDEF row i reads.
func (ci *colInput) seriesRow(i int, m *machine) int {
	if ci.idx != nil {
		return int(ci.idx[i])
	}
	return i + int((m.start-ci.s.Start)/ci.s.Step)
}

func (m *machine) get() []float64 {
	// The first column of an empty stack is the output itself: the result
	// usually ends up there and needs no final copy.
	if len(m.stack) == 0 && !m.outUsed {
		m.outUsed = true
		return m.out[m.lo : m.lo+m.n : m.lo+m.n]
	}
	if k := len(m.free); k > 0 {
		c := m.free[k-1]
		m.free = m.free[:k-1]
		return c[:m.n]
	}
	return make([]float64, m.n, chunkRows)
}

func (m *machine) put(c []float64) {
	if m.isOut(c) {
		return // never recycle the output rows as scratch
	}
	m.free = append(m.free, c)
}

func (m *machine) isOut(c []float64) bool {
	return len(c) > 0 && m.n > 0 && &c[0] == &m.out[m.lo]
}

// maxDepth bounds the stack: "…,DEPTH,COPY" doubles it each time.
const maxDepth = 4096

func (m *machine) push(c []float64) { m.stack = append(m.stack, c) }

func (m *machine) pop() []float64 {
	c := m.stack[len(m.stack)-1]
	m.stack = m.stack[:len(m.stack)-1]
	return c
}

func (m *machine) pushConst(v float64) {
	c := m.get()
	for i := range c {
		c[i] = v
	}
	m.push(c)
}

// count pops a count column, which must hold the same count on every row.
func (m *machine) count(in instr) (int, []float64, error) {
	c := m.pop()
	n, err := countOf(c[0])
	if err != nil {
		return 0, c, m.p.errAt(in, "%v", err)
	}
	for _, v := range c[1:] {
		if v != c[0] {
			k, err := countOf(v)
			if err != nil {
				return 0, c, m.p.errAt(in, "%v", err)
			}
			if k != n {
				return 0, c, errNonUniform
			}
		}
	}
	return n, c, nil
}

func (m *machine) need(in instr, k int) error {
	if len(m.stack) < k {
		return m.p.errAt(in, "stack underflow")
	}
	return nil
}

// run evaluates rows [lo, hi) and stores them into m.out.
func (m *machine) run(lo, hi int) error {
	for _, c := range m.stack {
		m.put(c)
	}
	m.stack = m.stack[:0]
	m.lo, m.n = lo, hi-lo
	m.outUsed = false
	code := m.p.code
	for pc := 0; pc < len(code); pc++ {
		in := code[pc]
		// A constant directly followed by a binary arithmetic operator is
		// applied as a scalar: no column is filled for it.
		if in.sc != nil && len(m.stack) >= 1 {
			in.sc(m.stack[len(m.stack)-1], in.num)
			pc++
			continue
		}
		if in.k3 != nil {
			c := m.get()
			in.k3(c, m.ins[in.ref].col[m.lo:m.lo+m.n], m.ins[code[pc+1].ref].col[m.lo:m.lo+m.n])
			m.push(c)
			pc += 2
			continue
		}
		if in.fuseVar && len(m.stack) >= 1 {
			code[pc+1].bin(m.stack[len(m.stack)-1], m.ins[in.ref].col[m.lo:m.lo+m.n])
			pc++
			continue
		}
		if err := m.exec(in); err != nil {
			return err
		}
		if len(m.stack) > maxDepth {
			return m.p.errAt(in, "stack deeper than %d values", maxDepth)
		}
	}
	if len(m.stack) != 1 {
		return m.p.errAt(code[len(code)-1], "final stack holds %d values, want exactly 1", len(m.stack))
	}
	if !m.isOut(m.stack[0]) {
		copy(m.out[lo:hi], m.stack[0])
	}
	return nil
}

func (m *machine) exec(in instr) error {
	if pop, _, ok := arity(in.op); ok && pop > 0 {
		if err := m.need(in, pop); err != nil {
			return err
		}
	}
	switch in.op {
	case opNumber:
		m.pushConst(in.num)
	case opVValue:
		m.pushConst(m.ins[in.ref].vval)
	case opVar:
		c := m.get()
		copy(c, m.ins[in.ref].col[m.lo:m.lo+m.n])
		m.push(c)
	case opPrevOther:
		ci := m.ins[in.ref]
		c := m.get()
		for i := range c {
			r := m.lo + i
			k := ci.seriesRow(r, m) - 1
			if r == 0 || k < 0 || k >= len(ci.s.Values) {
				c[i] = math.NaN()
			} else {
				c[i] = ci.s.Values[k]
			}
		}
		m.push(c)
	case opUnkn:
		m.pushConst(math.NaN())
	case opInf:
		m.pushConst(math.Inf(1))
	case opNegInf:
		m.pushConst(math.Inf(-1))
	case opPrev:
		if m.lo == 0 {
			m.pushConst(math.NaN())
		} else {
			m.pushConst(m.out[m.lo-1]) // chunks are one row long with PREV
		}
	case opCount:
		c := m.get()
		for i := range c {
			c[i] = float64(m.lo + i + 1)
		}
		m.push(c)
	case opNow:
		m.pushConst(float64(m.env.Now))
	case opStepWidth:
		m.pushConst(float64(m.step))
	case opTime, opLTime, opNewDay, opNewWeek, opNewMonth, opNewYear:
		m.timeOp(in.op)
	case opDup:
		if err := m.need(in, 1); err != nil {
			return err
		}
		c := m.get()
		copy(c, m.stack[len(m.stack)-1])
		m.push(c)
	case opPop:
		m.put(m.pop())
	case opExc:
		k := len(m.stack)
		m.stack[k-1], m.stack[k-2] = m.stack[k-2], m.stack[k-1]
	case opDepth:
		m.pushConst(float64(len(m.stack)))
	case opCopy, opIndex, opRoll, opSort, opRev, opAvg, opSMin, opSMax, opMedian, opStdev, opPercent:
		return m.counted(in)
	case opTrend, opTrendNaN:
		return m.trend(in)
	case opPredict, opPredictSigma, opPredictPerc:
		return m.predict(in)
	case opIf:
		e, t := m.pop(), m.pop()
		c := m.stack[len(m.stack)-1]
		t = t[:len(c)]
		e = e[:len(c)]
		for i, v := range c {
			if v != v || v == 0 {
				c[i] = e[i]
			} else {
				c[i] = t[i]
			}
		}
		m.put(t)
		m.put(e)
	case opLimit:
		hi, lo := m.pop(), m.pop()
		c := m.stack[len(m.stack)-1]
		lo = lo[:len(c)]
		hi = hi[:len(c)]
		for i, v := range c {
			l, h := lo[i], hi[i]
			switch {
			case v != v:
			case l != l || h != h, v < l, v > h:
				c[i] = math.NaN()
			}
		}
		m.put(lo)
		m.put(hi)
	default:
		if in.bin != nil {
			b := m.pop()
			in.bin(m.stack[len(m.stack)-1], b)
			m.put(b)
			return nil
		}
		if in.un != nil {
			in.un(m.stack[len(m.stack)-1])
			return nil
		}
		return m.p.errAt(in, "internal error: operator not implemented")
	}
	return nil
}

// timeOp pushes TIME, LTIME or one of the NEW* period markers.
func (m *machine) timeOp(op opcode) {
	c := m.get()
	for i := range c {
		t := m.start + int64(m.lo+i+1)*m.step
		switch op {
		case opTime:
			c[i] = float64(t)
		case opLTime:
			_, off := time.Unix(t, 0).In(m.loc).Zone()
			c[i] = float64(t + int64(off))
		default:
			c[i] = newPeriod(op, t, m.step, m.loc)
		}
	}
	m.push(c)
}

// newPeriod is 1 when the row at t is the first of its day, week, month or
// year in loc: the local date of t differs from that of t−step. A new week
// also needs t to fall on a Sunday, the first weekday of the C locale.
func newPeriod(op opcode, t, step int64, loc *time.Location) float64 {
	a := time.Unix(t, 0).In(loc)
	b := time.Unix(t-step, 0).In(loc)
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	var yes bool
	switch op {
	case opNewDay:
		yes = ay != by || am != bm || ad != bd
	case opNewWeek:
		yes = (ay != by || am != bm || ad != bd) && a.Weekday() == time.Sunday
	case opNewMonth:
		yes = ay != by || am != bm
	case opNewYear:
		yes = ay != by
	}
	if yes {
		return 1
	}
	return 0
}
