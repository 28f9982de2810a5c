package rpn

import (
	"context"
	"fmt"
	"math"
	"math/bits"
)

// The work of an evaluation is counted in row-operations: one operator
// applied to one row, or one sample a window operator (TREND, PREDICT…) or
// a set operator (SORT, MEDIAN…) visits for a row. The estimate of a
// program is a bound on what its kernels charge the meter, as long as the
// counts and windows it reads are literal numbers; counts computed from
// data are only known while evaluating, so the meter enforces the budget
// there.

// DefaultBudget is a budget for requests from the network: at most a few
// seconds of one core (about 1 ns a row-operation for arithmetic, up to
// 10 ns for PREDICT's samples), far above what charts and exports of
// ordinary expressions need (a 100,000-row export of a 7-shift PREDICT
// over 30-minute windows at one-minute rows: 2.3·10⁷).
const DefaultBudget int64 = 1_000_000_000

// OpCost is the estimated work of one operator, or of one DEF's fetch
// (Pos 0).
type OpCost struct {
	Stmt  string // the statement, e.g. "CDEF:c=60,-65536,2592000,a,PREDICT"
	Pos   int    // 1-based token position; 0 for a whole statement
	Token string
	Cost  float64
}

// Estimate is the estimated work of evaluating a script.
type Estimate struct {
	Total float64 // row-operations
	Worst OpCost  // the costliest operator
}

func (e *Estimate) add(c OpCost) {
	e.Total += c.Cost
	if c.Cost > e.Worst.Cost {
		e.Worst = c
	}
}

// BudgetError refuses an evaluation whose work exceeds the budget: before
// it starts when the estimate is over, or when the meter reaches the
// budget during evaluation (Reached; counts computed from data).
type BudgetError struct {
	Cost    float64 // the estimated total, or the work done when Reached
	Limit   int64
	Reached bool
	Worst   OpCost // the costliest operator, or the one running when Reached
}

func (e *BudgetError) Error() string {
	w := e.Worst
	if e.Reached {
		where := ""
		switch {
		case w.Pos > 0:
			where = fmt.Sprintf(" at token %d '%s' of %s", w.Pos, w.Token, w.Stmt)
		case w.Stmt != "":
			where = " in " + w.Stmt
		}
		return fmt.Sprintf("evaluation stopped: its work reached %.3g row-operations, over the budget of %d%s", e.Cost, e.Limit, where)
	}
	where := ""
	switch {
	case w.Pos > 0:
		where = fmt.Sprintf("; the costliest operator is token %d '%s' of %s (%.3g)", w.Pos, w.Token, w.Stmt, w.Cost)
	case w.Stmt != "":
		where = fmt.Sprintf("; the costliest part is %s (%.3g)", w.Stmt, w.Cost)
	}
	return fmt.Sprintf("estimated cost %.3g row-operations exceeds the evaluation budget of %d%s", e.Cost, e.Limit, where)
}

// checkEvery is how many row-operations pass between two looks at the
// context and the budget: about 0.1 ms of work, so a cancelled evaluation
// stops at once while the check costs nothing measurable.
const checkEvery = 1 << 16

// meter counts the work of one evaluation, stops it when its context ends
// and refuses work over the budget.
type meter struct {
	ctx   context.Context
	limit int64 // 0: none
	used  int64
	next  int64 // used at which the context and budget are looked at next
}

func newMeter(ctx context.Context, limit int64) *meter {
	mt := &meter{ctx: ctx, limit: max(limit, 0), next: checkEvery}
	if ctx.Done() == nil && mt.limit == 0 {
		mt.next = math.MaxInt64 // nothing can stop it
	}
	return mt
}

// add charges n row-operations of the operator at p.toks[tok] (tok < 0:
// the program as a whole, p nil: a statement outside programs named by
// stmt).
func (mt *meter) add(n int64, p *Program, tok int, stmt string) error {
	mt.used += n
	if mt.used < mt.next {
		return nil
	}
	return mt.check(p, tok, stmt)
}

func (mt *meter) check(p *Program, tok int, stmt string) error {
	mt.next = mt.used + checkEvery
	if mt.limit > 0 {
		mt.next = min(mt.next, mt.limit+1)
	}
	where := OpCost{Stmt: stmt}
	if p != nil {
		where.Stmt = p.stmt
		if tok >= 0 {
			where.Pos, where.Token = p.toks[tok].pos, p.toks[tok].text
		}
	}
	if err := stopped(mt.ctx); err != nil {
		return fmt.Errorf("%s: evaluation stopped: %w", where.Stmt, err)
	}
	if mt.limit > 0 && mt.used > mt.limit {
		return &BudgetError{Cost: float64(mt.used), Limit: mt.limit, Reached: true, Worst: where}
	}
	return nil
}

// stopped is ctx's error once it ends, with its cause when that says
// more (a timeout's reason): errors.Is finds context.Canceled or
// DeadlineExceeded, errors.As the cause.
func stopped(ctx context.Context) error {
	err := ctx.Err()
	if err == nil {
		return nil
	}
	if cause := context.Cause(ctx); cause != nil && cause != err {
		return fmt.Errorf("%w (%w)", cause, err)
	}
	return err
}

// room refuses work estimated at total row-operations (worst its
// costliest operator) when it would take the meter over its budget.
func (mt *meter) room(total float64, worst OpCost) error {
	if mt.limit > 0 && float64(mt.used)+total > float64(mt.limit) {
		return &BudgetError{Cost: float64(mt.used) + total, Limit: mt.limit, Worst: worst}
	}
	return nil
}

// charge is the machine's meter.add for the operator at token tok; small
// enough to be inlined into the kernels' loops.
func (m *machine) charge(tok, n int) error {
	mt := m.mt
	if mt.used += int64(n); mt.used < mt.next {
		return nil
	}
	return m.checkpoint(tok)
}

// checkpoint is charge's slow path, kept out of line.
//
//go:noinline
func (m *machine) checkpoint(tok int) error { return m.mt.check(m.p, tok, "") }

// sortCost bounds the work of sorting n values: n·(⌈log₂ n⌉+1).
func sortCost(n int) int {
	if n <= 1 {
		return max(n, 0)
	}
	return n * (bits.Len(uint(n-1)) + 1)
}

// predictVisits bounds the samples one shift of PREDICT visits for one row:
// the window's locstep+1 samples, only those before the current row (row
// index i < rows).
func predictVisits(locstep, rows int) int {
	return max(min(locstep+1, rows), 0)
}

// cost estimates the work of evaluating the program over rows rows: every
// operator visits each row once; set operators their n operands (sorts
// n·log n); TREND and PREDICT their windows. stepOf and lenOf give the step
// and row count of the series a window operator reads. What is not a
// literal number at compile time (a count or window computed from data)
// adds nothing here: the meter counts it while evaluating. bounded reports
// that nothing was left out, so the estimate bounds what the kernels
// charge.
func (p *Program) cost(rows int, stepOf func(ref int) int64, lenOf func(ref int) int) (total float64, worst OpCost, bounded bool) {
	type cslot struct {
		known bool
		v     float64
	}
	var st []cslot
	floor := false // the depth is no longer known: popping past st yields unknowns
	push := func(s cslot) { st = append(st, s) }
	pop := func() cslot {
		if len(st) == 0 {
			return cslot{}
		}
		s := st[len(st)-1]
		st = st[:len(st)-1]
		return s
	}
	popN := func(n int) { st = st[:max(len(st)-n, 0)] }
	pad := func(n int) { // at least n values, unknown below what is known
		if k := n - len(st); k > 0 {
			st = append(make([]cslot, k), st...)
		}
	}
	unknownTop := func(n int) { // the top n values are no longer known
		pad(n)
		clear(st[len(st)-n:])
	}
	lost := func() { st, floor = st[:0], true }
	count := func(s cslot) (int, bool) {
		if !s.known {
			return 0, false
		}
		n, err := countOf(s.v)
		return n, err == nil
	}
	R := float64(rows)
	bounded = true
	for _, in := range p.code {
		c := R // every operator visits each row once
		switch in.op {
		case opNumber:
			push(cslot{known: true, v: in.num})
		case opDup:
			if len(st) > 0 {
				push(st[len(st)-1])
			} else {
				push(cslot{})
			}
		case opDepth:
			push(cslot{known: !floor, v: float64(len(st))})
		case opExc:
			pad(2)
			st[len(st)-1], st[len(st)-2] = st[len(st)-2], st[len(st)-1]
		case opTrend, opTrendNaN:
			d := pop()
			popN(1)
			push(cslot{})
			dur, ok := truncInt(d.v)
			bounded = bounded && d.known && ok
			if d.known && ok {
				ref := p.code[in.tok-2].ref
				step := max(stepOf(ref), 1)
				w := int64(1)
				if int64(dur) > step {
					w = (int64(dur) + step - 1) / step
				}
				c += R * float64(min(w, int64(lenOf(ref)))+1)
			}
		case opPredict, opPredictSigma, opPredictPerc:
			ref := p.code[in.tok-1].ref
			popN(1) // the variable
			if in.op == opPredictPerc {
				popN(1)
			}
			win, ns := pop(), pop()
			n, ok := truncInt(ns.v)
			if !ns.known || !ok {
				bounded = false
				lost()
				push(cslot{})
				break
			}
			k := n
			if n < 0 {
				k, n = -n, 1
			}
			popN(n)
			push(cslot{})
			w, ok := truncInt(win.v)
			bounded = bounded && win.known && ok
			if win.known && ok {
				visits := float64(predictVisits(ceilDiv32(int64(w), max(stepOf(ref), 1)), rows))
				c += R * float64(k) * (visits + 1)
				if in.op == opPredictPerc {
					c += R * float64(sortCost(int(min(float64(k)*visits, 1<<40))))
				}
			}
		case opCopy, opRoll, opSort, opRev, opAvg, opSMin, opSMax, opMedian, opStdev, opPercent, opIndex:
			cs := pop()
			if in.op == opRoll {
				// "n,m,ROLL": cs was m, the count n is below it.
				cs = pop()
			}
			n, ok := count(cs)
			switch {
			case !ok && in.op == opIndex:
				push(cslot{})
			case !ok:
				// How many values are taken, or given back, is not known.
				bounded = bounded && in.op == opRev
				lost()
				if in.op != opCopy && in.op != opRoll && in.op != opSort && in.op != opRev {
					push(cslot{})
				}
			}
			if !ok {
				break
			}
			switch in.op {
			case opCopy:
				pad(n)
				st = append(st, st[len(st)-n:]...)
				c += R * float64(n)
			case opIndex:
				if n >= 1 && n <= len(st) {
					push(st[len(st)-n])
				} else {
					push(cslot{})
				}
			case opRoll:
				unknownTop(n)
				c += R * float64(n)
			case opRev:
				pad(n)
				s := st[len(st)-n:]
				for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
					s[i], s[j] = s[j], s[i]
				}
			case opSort:
				unknownTop(n)
				c += R * float64(sortCost(n))
			case opAvg, opSMin, opSMax, opStdev:
				popN(n)
				push(cslot{})
				c += R * float64(n)
			case opMedian:
				popN(n)
				push(cslot{})
				c += R * float64(sortCost(n))
			case opPercent:
				popN(n + 1)
				push(cslot{})
				c += R * float64(sortCost(n))
			}
		default:
			pops, pushes, _ := arity(in.op)
			popN(pops)
			for range pushes {
				push(cslot{})
			}
		}
		total += c
		if c > worst.Cost {
			t := p.toks[in.tok]
			worst = OpCost{Stmt: p.stmt, Pos: t.pos, Token: t.text, Cost: c}
		}
	}
	return total, worst, bounded
}

// vdefCost is the work of a VDEF over rows rows: one visit per row, a sort
// for the percentiles.
func vdefCost(d VDef, rows int) int64 {
	if d.Fn == VPercent || d.Fn == VPercentNaN {
		return int64(rows) + int64(sortCost(rows))
	}
	return int64(rows)
}

// estimate bounds the work left once the DEFs are fetched (defs, indexed
// like Stmts): each CDEF runs over the rows its inputs give it (the gcd of
// their steps over their common range), each VDEF visits its input's
// rows, and the XPORTs are laid out on their common grid. The meter
// charges what the estimate cannot know (counts computed from data)
// during evaluation.
func (sc *Script) estimate(req Request, defs []*Series) Estimate {
	var est Estimate
	type shape struct{ start, end, step int64 }
	shapes := make([]shape, len(sc.Stmts))
	rowsOf := func(s shape) int {
		if s.end <= s.start || s.step <= 0 {
			return 0
		}
		return int(min((s.end-s.start)/s.step, math.MaxInt32))
	}
	var xstep int64
	nx := 0
	for i, st := range sc.Stmts {
		switch st.Kind {
		case KindDef:
			d := defs[i]
			shapes[i] = shape{d.Start, d.End(), d.Step}
		case KindCDef:
			var s shape
			for k, ref := range st.Prog.series {
				in := shapes[ref]
				if k == 0 {
					s = in
					continue
				}
				s.step = gcd(s.step, in.step)
				s.start, s.end = max(s.start, in.start), min(s.end, in.end)
			}
			shapes[i] = s
			stepOf := func(ref int) int64 { return shapes[ref].step }
			lenOf := func(ref int) int { return rowsOf(shapes[ref]) }
			total, worst, _ := st.Prog.cost(rowsOf(s), stepOf, lenOf)
			est.Total += total
			if worst.Cost > est.Worst.Cost {
				est.Worst = worst
			}
		case KindVDef:
			src := shapes[sc.names[st.VDef.Src]]
			est.add(OpCost{Stmt: st.Text, Cost: float64(vdefCost(st.VDef, rowsOf(src)))})
		case KindXport:
			xstep = gcd(xstep, shapes[sc.names[st.VName]].step)
			nx++
		}
	}
	if nx > 0 && xstep > 0 {
		// Xport's grid: the request's start aligned down to its end
		// rounded up, on the gcd of the exported steps.
		g := shape{req.Start - req.Start%xstep, req.End, xstep}
		if r := g.end % xstep; r != 0 {
			g.end += xstep - r
		}
		est.add(OpCost{Stmt: "XPORT", Cost: float64(rowsOf(g)) * float64(nx)})
	}
	return est
}
