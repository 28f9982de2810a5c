package rpn

import (
	"math"
)

// maxPredictShifts bounds PREDICT's shift count, which rrdtool would try to
// allocate and loop over.
const maxPredictShifts = 1 << 16

// ceilDiv32 is rrdtool's (int)ceil((float)a/(float)b): computed in single
// precision, which matters for large durations.
func ceilDiv32(a, b int64) int {
	return int(math.Ceil(float64(float32(a) / float32(b))))
}

// truncInt is C's (int) conversion of a stack value, refusing what would be
// undefined.
func truncInt(v float64) (int, bool) {
	if isNaN(v) || v >= 1<<31 || v <= -(1<<31) {
		return 0, false
	}
	return int(v), true
}

// cursor returns, for CDEF row i reading series ci, the index rrdtool's data
// pointer holds after the variable was pushed: one past the current row
// when the row time is a multiple of the series step (the pointer advanced),
// else the current row.
func (m *machine) cursor(ci *colInput, i int) int {
	k := ci.seriesRow(i, m)
	t := m.start + int64(i+1)*m.step
	if t%ci.s.Step == 0 {
		return k + 1
	}
	return k
}

func (ci *colInput) at(k int) float64 {
	if k < 0 || k >= len(ci.s.Values) {
		return math.NaN()
	}
	return ci.s.Values[k]
}

// trend is "x,d,TREND" / TRENDNAN: the mean of the ceil(d/step) samples of
// the variable x ending at the current one; unknown for the first
// ceil(d/step)−1 rows of the CDEF. TREND lets an unknown sample spoil the
// mean, TRENDNAN skips it.
func (m *machine) trend(in instr) error {
	ref := m.p.code[in.tok-2].ref
	ci := m.ins[ref]
	step := ci.s.Step
	dc := m.pop()
	x := m.stack[len(m.stack)-1]
	for r := range x {
		i := m.lo + r
		dur, ok := truncInt(dc[r])
		if !ok {
			m.put(dc)
			return m.p.errAt(in, "invalid duration %v", dc[r])
		}
		d := int64(dur)
		if i+1 < ceilDiv32(d, step) {
			x[r] = math.NaN()
			continue
		}
		e := m.cursor(ci, i) - 1
		// rrdtool steps the window down by step until it is used up:
		// ceil(d/step) samples, at least one.
		n := int64(1)
		if d > step {
			n = (d + step - 1) / step
		}
		acc, cnt := 0.0, 0
		if n > int64(e)+1 && in.op == opTrend {
			// The window reaches before the data: an unknown sample.
			x[r] = math.NaN()
			continue
		}
		if err := m.charge(in.tok, int(min(n, int64(max(e+1, 0))))+1); err != nil {
			m.put(dc)
			return err
		}
		for j := 0; int64(j) < n && j <= e; j++ {
			v := ci.at(e - j)
			if in.op == opTrend || !isNaN(v) {
				acc += v
				cnt++
			}
		}
		if cnt == 0 {
			x[r] = math.NaN()
		} else {
			x[r] = acc / float64(cnt)
		}
	}
	m.put(dc)
	return nil
}

// predict is PREDICT, PREDICTSIGMA and PREDICTPERC:
// "shift1,…,shiftN,N,window[,perc],x,OP" or "mult,-N,window[,perc],x,OP".
// For each shift the samples x[cursor − ceil(shift/step) − j],
// j = 0…ceil(window/step), are used when that offset is below the CDEF row
// index; unknown samples are skipped. rrdtool's cursor is one row past the
// current one, so at a series' last row it reads past the data: that
// sample counts as unknown here.
func (m *machine) predict(in instr) error {
	ref := m.p.code[in.tok-1].ref
	ci := m.ins[ref]
	dsstep := ci.s.Step
	base := 3
	if in.op == opPredictPerc {
		base = 4
	}
	if err := m.need(in, base); err != nil {
		return err
	}
	top := len(m.stack)
	var pcol []float64
	if in.op == opPredictPerc {
		pcol = m.stack[top-2]
	}
	wcol := m.stack[top-base+1]
	ncol := m.stack[top-base]
	shifts, ok := truncInt(ncol[0])
	if !ok {
		return m.p.errAt(in, "invalid shift count %v", ncol[0])
	}
	for r := 1; r < m.n; r++ {
		if s, ok := truncInt(ncol[r]); !ok || s != shifts {
			if !ok {
				return m.p.errAt(in, "invalid shift count %v", ncol[r])
			}
			return errNonUniform
		}
	}
	nsh := shifts
	if shifts < 0 {
		nsh = 1
	}
	if err := m.need(in, base+nsh); err != nil {
		return err
	}
	shiftCols := m.stack[top-base-nsh : top-base]
	doshifts := shifts
	if shifts < 0 {
		doshifts = -shifts
	}
	if doshifts > maxPredictShifts {
		return m.p.errAt(in, "%d shifts: at most %d are supported", doshifts, maxPredictShifts)
	}
	res := m.get()
	var extra, tmp []float64
	for r := range res {
		i := m.lo + r
		percentile := math.NaN()
		if pcol != nil {
			if p := pcol[r]; isNaN(p) || p > 100 || p < -100 {
				m.put(res)
				return m.p.errAt(in, "unsupported percentile: %v", pcol[r])
			}
			percentile = pcol[r] / 100
		}
		win, ok := truncInt(wcol[r])
		if !ok {
			m.put(res)
			return m.p.errAt(in, "invalid window %v", wcol[r])
		}
		locstep := ceilDiv32(int64(win), dsstep)
		cur := m.cursor(ci, i)
		sum, sum2, cnt := 0.0, 0.0, 0
		extra = extra[:0]
		for loop := 0; loop < doshifts; loop++ {
			var sh int
			if shifts < 0 {
				sh, ok = truncInt(float64(loop) * shiftCols[0][r])
			} else {
				sh, ok = truncInt(shiftCols[loop][r])
			}
			if !ok || sh < 0 {
				m.put(res)
				return m.p.errAt(in, "negative shift step not allowed: %v", sh)
			}
			shiftstep := ceilDiv32(int64(sh), dsstep)
			if err := m.charge(in.tok, max(min(locstep+1, i-shiftstep), 0)+1); err != nil {
				m.put(res)
				return err
			}
			// Only offsets below the row index are used: j < i − shiftstep.
			for j := 0; j <= locstep && shiftstep+j < i; j++ {
				off := shiftstep + j
				if off < 0 {
					continue
				}
				v := ci.at(cur - off)
				if isNaN(v) {
					continue
				}
				sum += v
				sum2 += v * v
				cnt++
				if in.op == opPredictPerc {
					extra = append(extra, v)
				}
			}
		}
		val := math.NaN()
		switch in.op {
		case opPredict:
			if cnt > 0 {
				val = sum / float64(cnt)
			}
		case opPredictSigma:
			if cnt > 1 {
				v := float64(cnt)*sum2 - sum*sum
				if v >= 0 {
					fc := float64(float32(cnt))
					val = math.Sqrt(v / (fc * (fc - 1.0)))
				}
			}
		case opPredictPerc:
			if cnt > 0 {
				if err := m.charge(in.tok, sortCost(cnt)); err != nil {
					m.put(res)
					return err
				}
				if cap(tmp) < cnt {
					tmp = make([]float64, cnt)
				}
				msort(extra, tmp[:cnt], rpnCmp)
				idxf := percentile * (float64(float32(cnt)) - 1.0)
				if percentile < 0 {
					k := int(math.Round(math.Abs(idxf))) // the nearest sample
					val = extra[min(k, cnt-1)]

				} else {
					k := min(int(math.Floor(idxf)), cnt-1)
					val = extra[k]
					if dx := idxf - float64(k); dx != 0 && k+1 < cnt {
						val += (extra[k+1] - extra[k]) * dx
					}
				}
			}
		}
		res[r] = val
	}
	for _, c := range m.stack[top-base-nsh:] {
		m.put(c)
	}
	m.stack = append(m.stack[:top-base-nsh], res)
	return nil
}
