package store

import (
	"errors"
	"fmt"
	"math"
	"time"

	"rrdash/store/computeds"
)

// This file is the update engine: rrdtool 1.7.2's arithmetic for turning
// readings into primary data points (PDPs) and consolidated rows (CDPs).
// The order of floating-point operations follows rrdtool's so that results
// are bit-identical; see docs/STORE.md for the rules and the differential
// test (store/difftest_test.go) that checks them against the real binary.

// lastDSLen mirrors LAST_DS_LEN: rrdtool keeps at most 29 bytes of the previous reading.
const lastDSLen = 29

// dsState is the per data source part of the live header (rrdtool's pdp_prep).
type dsState struct {
	lastDS  string  // previous reading, "U" when unusable; lastNumeric: lastNum
	lastNum float64 // previous numeric reading (Update.Nums) when lastDS is lastNumeric
	val     float64 // rate·seconds accumulated since the last step boundary (PDP_val)
	unknSec int64   // unknown seconds since the last step boundary (PDP_unkn_sec_cnt)
}

// cdpState is the per archive and data source consolidation state (cdp_prep).
type cdpState struct {
	val       float64 // CDP_val: running aggregate of the open row
	primary   float64 // CDP_primary_val: value of the first row written by an update
	secondary float64 // CDP_secondary_val: value of further rows of the same update
	unknPDP   int64   // CDP_unkn_pdp_cnt
}

// state is the mutable header of a series: what an update changes besides rows.
type state struct {
	lastUp     int64
	lastUpUsec int64
	ds         []dsState
	cdp        []cdpState // index rra*len(ds)+ds
	curRow     []int64    // per archive: the row written last
	hw         *hwState   // Holt-Winters archives' state (nil without them)
}

// rows gives the engine access to the archive rings; row r of archive a holds
// len(ds) values starting at index r*len(ds).
type rows interface {
	ring(a int) []float64 // for reading
	// putRow stores row r of archive a; vals is reused by the caller.
	putRow(a int, r int64, vals []float64)
}

// engine applies updates to one series.
type engine struct {
	spec *Spec
	st   *state
	rows rows
	arch *archive // rows, when an archive's

	// scratch, reused between updates to avoid allocation
	pdpNew  []float64
	pdpTemp []float64
	pdpRest []float64 // a reading less the share closeFirstPDP took
	stepCnt []int64
	row     []float64

	// COMPUTE data sources (compute.go): progs[i] for DS i, nil when the
	// series has none; progErr is a definition that did not compile
	progs   []*computeds.Program
	progErr error

	// rra holds the archive fields every update reads, packed: Spec.RRA
	// carries the Holt-Winters parameters too, several cache lines for
	// four archives, and with thousands of series in turn every update
	// finds them out of cache
	rra   []rraHot
	hasHW bool // some archive is a Holt-Winters one
	// generic: never consolidate1 (tests compare the two)
	generic bool
	// inl backs the scratch slices of series with few data sources and
	// archives inside the engine itself: one allocation, adjacent lines
	inl struct {
		f   [8]float64
		cnt [4]int64
		rra [4]rraHot
	}
}

// rraHot is the part of an RRA consolidate and writeRows read.
type rraHot struct {
	steps, rows int64
	xff         float64
	cf          CF
	groupEnd    int32 // the index after the run of archives of this one's steps
}

// hotRRAs fills e.rra from the spec (again, should its archives change).
func (e *engine) hotRRAs() {
	n := len(e.spec.RRA)
	if n <= len(e.inl.rra) {
		e.rra = e.inl.rra[:n:n]
	} else {
		e.rra = make([]rraHot, n)
	}
	e.hasHW = false
	for a, r := range e.spec.RRA {
		e.rra[a] = rraHot{steps: r.Steps, rows: r.Rows, xff: r.XFF, cf: r.CF}
		e.hasHW = e.hasHW || r.CF.IsHW()
	}
	for a := n - 1; a >= 0; a-- {
		e.rra[a].groupEnd = int32(a + 1)
		if a+1 < n && e.rra[a+1].steps == e.rra[a].steps {
			e.rra[a].groupEnd = e.rra[a+1].groupEnd
		}
	}
}

func newEngine(spec *Spec, st *state, r rows) *engine {
	n := len(spec.DS)
	if st.hw == nil {
		// a state built without it (an edit, an import) starts the
		// Holt-Winters model afresh rather than without one
		st.hw = newHWState(spec)
	}
	e := &engine{spec: spec, st: st, rows: r}
	e.arch, _ = r.(*archive)
	f := e.inl.f[:]
	if 4*n > len(f) {
		f = make([]float64, 4*n)
	}
	e.pdpNew, e.pdpTemp, e.pdpRest, e.row = f[0:n:n], f[n:2*n:2*n], f[2*n:3*n:3*n], f[3*n:4*n:4*n]
	if nr := len(spec.RRA); nr <= len(e.inl.cnt) {
		e.stepCnt = e.inl.cnt[:nr:nr]
	} else {
		e.stepCnt = make([]int64, nr)
	}
	e.hotRRAs()
	e.progs, e.progErr = computePrograms(spec)
	return e
}

// compute replaces the PDP of COMPUTE data source i by its expression
// over the PDPs of this step, as process_pdp_st does right after
// computing the DS's own (always unknown) PDP.
func (e *engine) compute(i int) error {
	if e.progs == nil || e.progs[i] == nil {
		return nil
	}
	v, err := e.progs[i].Eval(e.pdpTemp, time.Now)
	if err != nil {
		return fmt.Errorf("DS %s: COMPUTE %s: %w", e.spec.DS[i].Name, e.spec.DS[i].Expr, err)
	}
	e.pdpTemp[i] = v
	return nil
}

// initialState is the live header rrdtool create writes.
func initialState(spec *Spec) *state {
	st := &state{lastUp: spec.Start}
	st.ds = make([]dsState, len(spec.DS))
	for i := range st.ds {
		st.ds[i] = dsState{lastDS: "U", val: math.NaN(), unknSec: spec.Start % spec.Step}
	}
	st.cdp = make([]cdpState, len(spec.RRA)*len(spec.DS))
	st.curRow = make([]int64, len(spec.RRA))
	for a, r := range spec.RRA {
		unkn := ((spec.Start - spec.Start%spec.Step) % (spec.Step * r.Steps)) / spec.Step
		for d := range spec.DS {
			// primary and secondary start at 0 as rrdtool create leaves them
			st.cdp[a*len(spec.DS)+d] = cdpState{val: math.NaN(), unknPDP: unkn}
		}
		st.curRow[a] = r.Rows - 1 // the first row written is row 0
	}
	st.hw = newHWState(spec)
	return st
}

// ErrTooOld matches (errors.Is) errors for updates at or before the last update time.
var ErrTooOld = errors.New("update time not after the last update")

type tooOldError struct{ t, last int64 }

func (e *tooOldError) Error() string {
	return fmt.Sprintf("illegal attempt to update using time %d when last update time is %d (minimum one second step)", e.t, e.last)
}

func (e *tooOldError) Is(target error) bool { return target == ErrTooOld }

// update applies one reading. On error the time and rows are unchanged, but,
// as in rrdtool 1.7.2, data sources before the offending value keep their new
// last reading.
func (e *engine) update(t, usec int64, vals []string) error { return e.updateR(t, usec, vals, nil) }

// updateR applies one reading given as text (vals) or as numbers (nums;
// vals nil).
func (e *engine) updateR(t, usec int64, vals []string, nums []float64) error {
	st, spec := e.st, e.spec
	if n := len(vals) + len(nums); n != len(spec.DS) || vals != nil && nums != nil {
		return fmt.Errorf("expected %d data source readings (got %d)", len(spec.DS), n)
	}
	if t < st.lastUp || (t == st.lastUp && usec <= st.lastUpUsec) {
		return &tooOldError{t: t, last: st.lastUp}
	}
	if e.progErr != nil {
		return e.progErr
	}
	if len(e.rra) != len(spec.RRA) {
		e.hotRRAs()
	}
	interval := float64(t-st.lastUp) + float64(usec-st.lastUpUsec)/1e6
	one := e.one()
	var err error
	switch {
	case !one:
		err = e.prepare(vals, nums, interval)
	case nums != nil: // one reading (the test above): prepare's loop without the loop
		err = e.prepareNum(0, nums[0], interval)
	default:
		err = e.prepareText(0, vals[0], interval)
	}
	if err != nil {
		return err
	}
	step := spec.Step
	// procPDP is the step of the last update, procStart its start: one
	// division (a 64-bit divide is ~15 cycles here, and the usual update
	// made four, ~5% of a one-series stream's store time)
	procPDP := st.lastUp / step
	procStart := procPDP * step // st.lastUp - st.lastUp%step
	var occuAge, occuStart, elapsed int64
	if d := t - procStart; procStart >= 0 && d >= 0 && d < 2*step {
		// the usual update, within the last one's step or the next: t
		// is not negative and procStart a multiple of step, so t%step
		// is d or d−step
		if d < step {
			occuAge, occuStart, elapsed = d, procStart, 0
		} else {
			occuAge, occuStart, elapsed = d-step, procStart+step, 1
		}
	} else {
		occuAge = t % step
		occuStart = t - occuAge
		elapsed = (occuStart - procStart) / step
	}
	if elapsed == 0 {
		e.simple(interval)
	} else {
		postInt := float64(occuAge) + float64(usec)/1e6
		first := procStart + step
		// fReal only when it may count: an update a step on computes none
		if elapsed >= 2 && (st.lastUp%step != 0 || st.lastUpUsec != 0) {
			fReal := float64(first-st.lastUp) - float64(st.lastUpUsec)/1e6
			if f1 := math.Trunc(fReal); f1 >= 1 {
				// rrdtool 1.7.2 closes a partly filled first PDP on its own: the
				// reading is split in proportion to time into a virtual update at
				// the first boundary (whole seconds) and the remainder.
				if err := e.closeFirstPDP(interval, fReal, f1); err != nil {
					return err
				}
				e.consolidate(1, procPDP)
				e.writeRows()
				rest := interval - f1
				if err := e.closePDPs(e.pdpRest, rest, rest-postInt, postInt, (elapsed-1)*step); err != nil {
					return err
				}
				e.consolidate(elapsed-1, first/step)
				e.writeRows()
				st.lastUp, st.lastUpUsec = t, usec
				return nil
			}
		}
		pre := float64(occuStart-st.lastUp) - float64(st.lastUpUsec)/1e6
		if one {
			if err := e.closePDP1(interval, pre, postInt, elapsed*step); err != nil {
				return err
			}
		} else if err := e.closePDPs(e.pdpNew, interval, pre, postInt, elapsed*step); err != nil {
			return err
		}
		if one { // consolidate's and writeRows' test once
			e.consolidate1(elapsed, procPDP) // and the rows
			st.lastUp, st.lastUpUsec = t, usec
			return nil
		}
		e.consolidate(elapsed, procPDP)
		e.writeRows()
	}
	st.lastUp, st.lastUpUsec = t, usec
	return nil
}

// prepare turns readings into rate·seconds for the interval (pdp_new).
func (e *engine) prepare(vals []string, nums []float64, interval float64) error {
	for i := range e.spec.DS {
		var err error
		if nums != nil {
			err = e.prepareNum(i, nums[i], interval)
		} else {
			err = e.prepareText(i, vals[i], interval)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// prepareText turns the reading v of data source i into pdpNew[i].
func (e *engine) prepareText(i int, v string, interval float64) error {
	ds := &e.spec.DS[i]
	s := &e.st.ds[i]
	hb := float64(ds.Heartbeat)
	if hb < interval {
		s.lastDS = "U"
	}
	e.pdpNew[i] = math.NaN()
	if v != "" && v[0] != 'U' && hb >= interval && ds.Type != Compute {
		rate := math.NaN()
		switch ds.Type {
		case Counter, Derive:
			if err := checkInteger(v, ds.Type == Derive); err != nil {
				return err
			}
			if s.lastDS == "" || s.lastDS[0] != 'U' {
				diff := decimalDiff(v, s.lastText(ds.Type))
				if ds.Type == Counter {
					diff = counterWrap(diff)
				}
				e.pdpNew[i] = diff
				rate = diff / interval
			}
		case Absolute:
			f, err := parseReading(v)
			if err != nil {
				return err
			}
			e.pdpNew[i] = f
			rate = f / interval
		case Gauge:
			f, err := parseReading(v)
			if err != nil {
				return err
			}
			e.pdpNew[i] = f * interval
			rate = f // the reading itself is checked against min and max
		case DCounter, DDerive:
			// floating-point counters: the reading is parsed only when
			// there is a previous one to subtract (so a bad first reading
			// is kept as last_ds and refused by the next update)
			if s.lastDS == "" || s.lastDS[0] != 'U' {
				nv, err := parseReading(v)
				if err != nil {
					return err
				}
				ov, err := s.lastFloat()
				if err != nil {
					return err
				}
				e.floatDiff(i, nv, ov, interval) // checks its own rate
			}
		}
		e.checkRate(i, rate)
	}
	if len(v) > lastDSLen {
		v = v[:lastDSLen]
	}
	s.lastDS = v
	return nil
}

// counterWrap is COUNTER's wrap: a fall is read as a 32-bit counter's
// wrap, else a 64-bit one's.
func counterWrap(diff float64) float64 {
	if diff < 0 {
		diff += 4294967295.0
	}
	if diff < 0 {
		diff += 18446744069414584320.0
	}
	return diff
}

// floatDiff sets pdpNew[i] for a DCOUNTER or DDERIVE reading nv after ov.
func (e *engine) floatDiff(i int, nv, ov, interval float64) {
	// a DCOUNTER counts up or down, not both: a change of
	// direction is a reset
	if e.spec.DS[i].Type == DCounter && (nv > 0 && ov > nv || nv < 0 && nv > ov) {
		return
	}
	e.pdpNew[i] = nv - ov
	e.checkRate(i, e.pdpNew[i]/interval)
}

// checkRate makes pdpNew[i] unknown when rate is outside the data
// source's min and max.
func (e *engine) checkRate(i int, rate float64) {
	ds := &e.spec.DS[i]
	if !math.IsNaN(rate) && (!math.IsNaN(ds.Max) && rate > ds.Max || !math.IsNaN(ds.Min) && rate < ds.Min) {
		e.pdpNew[i] = math.NaN()
	}
}

// simple adds an update that crosses no step boundary.
func (e *engine) simple(interval float64) {
	for i := range e.st.ds {
		s := &e.st.ds[i]
		if math.IsNaN(e.pdpNew[i]) {
			s.unknSec += int64(math.Floor(interval))
		} else if math.IsNaN(s.val) {
			s.val = e.pdpNew[i]
		} else {
			s.val += e.pdpNew[i]
		}
	}
}

// closePDPs computes the PDP value (pdp_temp) of the steps an update
// completes: preInt seconds of the update fall before the last boundary,
// postInt after it; interval is also what the heartbeat is tested against,
// and span is the seconds of the closed steps.
func (e *engine) closePDPs(pdpNew []float64, interval, preInt, postInt float64, span int64) error {
	half := float64(e.spec.Step) / 2
	for i := range e.spec.DS {
		s := &e.st.ds[i]
		preUnknown := 0.0
		nw := pdpNew[i]
		if math.IsNaN(nw) {
			preUnknown = preInt
		} else {
			if math.IsNaN(s.val) {
				s.val = 0
			}
			s.val += nw / interval * preInt
		}
		if interval > float64(e.spec.DS[i].Heartbeat) || half < float64(s.unknSec) {
			e.pdpTemp[i] = math.NaN()
		} else {
			e.pdpTemp[i] = s.val / (float64(span-s.unknSec) - preUnknown)
		}
		if e.progs != nil { // compute's test, without the call
			if err := e.compute(i); err != nil {
				return err
			}
		}
		if math.IsNaN(nw) {
			s.unknSec = int64(math.Floor(postInt))
			s.val = math.NaN()
		} else {
			s.unknSec = 0
			s.val = nw / interval * postInt
		}
	}
	return nil
}

// closeFirstPDP closes the partly filled step before the first boundary of
// an update that spans several: its share of the reading is the whole
// seconds f1 of fReal, the seconds from the last update to the boundary.
func (e *engine) closeFirstPDP(interval, fReal, f1 float64) error {
	half := float64(e.spec.Step) / 2
	for i := range e.spec.DS {
		s := &e.st.ds[i]
		nw := e.pdpNew[i]
		part := nw * f1 / interval
		e.pdpRest[i] = nw - part
		preUnknown := 0.0
		if math.IsNaN(nw) {
			preUnknown = f1
		} else {
			if math.IsNaN(s.val) {
				s.val = 0
			}
			s.val += part / f1 * f1 // as a virtual update of f1 seconds: rate × seconds
		}
		if f1 > float64(e.spec.DS[i].Heartbeat) || half < float64(s.unknSec) {
			e.pdpTemp[i] = math.NaN()
		} else {
			e.pdpTemp[i] = s.val / (float64(e.spec.Step-s.unknSec) - preUnknown)
		}
		if err := e.compute(i); err != nil {
			return err
		}
		s.unknSec = 0
		if math.IsNaN(nw) {
			s.val = math.NaN()
		} else {
			s.val = part / f1 * 0 // zero, or NaN after an infinite reading, as rrdtool's carry-over
		}
	}
	return nil
}

// consolidate folds elapsed PDPs (all equal to pdpTemp) into every archive;
// procPDP is the number of the step in which the last update fell.
// Archives of one step count share their phase (a template has one of
// each function per step count), so the modulo is done once per run of
// equal step counts, and none for one-step archives.
func (e *engine) consolidate(elapsed, procPDP int64) {
	nds := len(e.spec.DS)
	if e.one() {
		e.consolidate1(elapsed, procPDP)
		return
	}
	pdp := e.pdpTemp[:nds:nds]
	cdp := e.st.cdp[:len(e.rra)*nds]
	stepCnt := e.stepCnt[:len(e.rra)]
	var n0, startOff, cnt int64 // the previous archive's steps, its startOff and stepCnt
	for a := range e.rra {
		r := &e.rra[a]
		n := r.steps
		if n != n0 {
			n0 = n
			if n == 1 {
				// n − procPDP mod 1; (elapsed − 1)/1 + 1
				startOff, cnt = 1, elapsed
			} else {
				startOff, cnt = n-procPDP%n, 0
				if startOff <= elapsed {
					cnt = (elapsed-startOff)/n + 1
				}
			}
		}
		stepCnt[a] = cnt
		cs := cdp[a*nds : a*nds+nds]
		switch {
		case n == 1:
			if r.cf.IsHW() {
				continue // hwConsolidate
			}
			// rrdtool 1.7.2 sets the fill-in value of a one-step
			// archive only when the update closes two steps or more
			// (it shows in dump's cdp_prep, never in a row)
			for d, p := range pdp {
				cs[d].primary = p
				if elapsed >= 2 {
					cs[d].secondary = p
				}
			}
		case cnt == 0:
			// the row stays open: the common case of a coarser archive
			for d, p := range pdp {
				c := &cs[d]
				if math.IsNaN(p) {
					c.unknPDP += elapsed
				} else {
					c.val = accumulate(c.val, p, elapsed, r.cf)
				}
			}
		default:
			for d, p := range pdp {
				updateCDP(&cs[d], r.cf, p, cnt, elapsed, startOff, n, r.xff)
			}
		}
	}
	if e.st.hw != nil {
		e.hwConsolidate(elapsed)
	}
}

func updateCDP(c *cdpState, cf CF, p float64, stepCnt, elapsed, startOff, n int64, xff float64) {
	if stepCnt == 0 {
		if math.IsNaN(p) {
			c.unknPDP += elapsed
		} else {
			c.val = accumulate(c.val, p, elapsed, cf)
		}
		return
	}
	if math.IsNaN(p) {
		c.unknPDP += startOff
		c.secondary = math.NaN()
	} else {
		c.secondary = p
	}
	if float64(c.unknPDP) > float64(n)*xff {
		c.primary = math.NaN()
	} else {
		switch cf {
		case Average:
			cum, cur := ifNaN(c.val, 0), ifNaN(p, 0)
			c.primary = (cum + cur*float64(startOff)) / float64(n-c.unknPDP)
		case Max:
			cum, cur := ifNaN(c.val, math.Inf(-1)), ifNaN(p, math.Inf(-1))
			if cur > cum {
				c.primary = cur
			} else {
				c.primary = cum
			}
		case Min:
			cum, cur := ifNaN(c.val, math.Inf(1)), ifNaN(p, math.Inf(1))
			if cur < cum {
				c.primary = cur
			} else {
				c.primary = cum
			}
		default:
			c.primary = p
		}
	}
	into := elapsed - startOff // ≥ 0 as stepCnt > 0; below n unless the update spans a row
	if into >= n {
		into %= n
	}
	if into == 0 || math.IsNaN(p) {
		switch cf {
		case Max:
			c.val = math.Inf(-1)
		case Min:
			c.val = math.Inf(1)
		case Average:
			c.val = 0
		default:
			c.val = math.NaN()
		}
	} else if cf == Average {
		c.val = p * float64(into)
	} else {
		c.val = p
	}
	if math.IsNaN(p) {
		c.unknPDP = into
	} else {
		c.unknPDP = 0
	}
}

func accumulate(cur, p float64, elapsed int64, cf CF) float64 {
	if math.IsNaN(cur) {
		if cf == Average {
			return p * float64(elapsed)
		}
		return p
	}
	switch cf {
	case Average:
		return cur + p*float64(elapsed)
	case Min:
		if p < cur {
			return p
		}
		return cur
	case Max:
		if p > cur {
			return p
		}
		return cur
	}
	return p
}

func ifNaN(v, alt float64) float64 {
	if math.IsNaN(v) {
		return alt
	}
	return v
}

// writeRows writes the rows consolidate scheduled: the first gets the
// primary value, further ones (a gap) the secondary. At most one full ring
// is written, however long the gap.
func (e *engine) writeRows() {
	nds := len(e.spec.DS)
	if e.one() {
		return // consolidate1 wrote them
	}
	stepCnt := e.stepCnt[:len(e.rra)]
	curRow := e.st.curRow[:len(e.rra)]
	for a := range e.rra {
		if e.hasHW && e.rra[a].cf.IsHW() {
			e.hwWriteRows(a)
			continue
		}
		cnt := stepCnt[a]
		if cnt == 0 {
			continue
		}
		rowsN := e.rra[a].rows
		// rrdtool writes at most one full turn (update_all_cdp_prep: min of
		// the rows due and row_cnt): the primary value lands in the oldest
		// row of the ring, followed by the fill-in values, and the ring
		// ends where it started (info's cur_row shows it)
		cnt = min(cnt, rowsN)
		cur := curRow[a] + 1
		if cur >= rowsN {
			cur %= rowsN
		}
		e.fillRow(cur, a, nds, true)
		for cnt--; cnt > 0; cnt-- {
			if cur++; cur >= rowsN {
				cur = 0
			}
			e.fillRow(cur, a, nds, false)
		}
		curRow[a] = cur
		stepCnt[a] = 0
	}
}

func (e *engine) fillRow(row int64, a, nds int, primary bool) {
	for d := 0; d < nds; d++ {
		c := &e.st.cdp[a*nds+d]
		if primary {
			e.row[d] = c.primary
		} else {
			e.row[d] = c.secondary
		}
	}
	e.putRow(a, row, e.row)
}
