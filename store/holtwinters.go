package store

import (
	"math"
	"slices"
)

// This file is the Holt-Winters part of the update engine: prediction,
// seasonal coefficients and deviations, and aberrant-behaviour detection,
// computed as rrdtool 1.7.2 does (rrd_update.c, rrd_hw.c, rrd_hw_update.c,
// rrd_hw_math.c), including its quirks:
//   - an update that closes two PDPs learns from the same PDP value twice
//     and skips one seasonal coefficient; one that closes three or more
//     learns nothing (the predictions are unknown, FAILURES rows 0, the
//     violation history is erased);
//   - the seasonal coefficients of the next row are read ahead one row;
//   - FAILURES reads DEVSEASONAL's deviation as "already updated" by the
//     position of SEASONAL, not of DEVSEASONAL;
//   - the smoother runs at most once per update call, after all of its
//     readings (EndUpdateCall), on every SEASONAL and DEVSEASONAL archive.
//
// State: the consolidation words of each Holt-Winters archive (rrdtool's
// cdp_prep scratch[0..7]; primary and secondary values stay in cdpState)
// and a copy of every SEASONAL and DEVSEASONAL ring. The update reads the
// coefficients from that copy, not from the rows: the copy is part of the
// checkpointed state, so a journal replay reads exactly what the first run
// read, whatever rows reached the file in between.

// Word indexes of rrdtool's cdp_prep scratch (rrd_format.h).
const (
	hwIntercept     = 2 // CDP_hw_intercept; CDP_hw_seasonal and CDP_seasonal_deviation too
	hwLastIntercept = 3 // CDP_hw_last_intercept; CDP_hw_last_seasonal, CDP_last_seasonal_deviation
	hwSlope         = 4
	hwLastSlope     = 5
	hwNullCount     = 6 // CDP_null_count; CDP_init_seasonal of SEASONAL/DEVSEASONAL
	hwLastNullCount = 7
	hwSeasonal      = hwIntercept
	hwLastSeasonal  = hwLastIntercept
	hwInitSeasonal  = hwNullCount
)

// Word indexes of HWWords for readers of the state (dump, info, restore):
// HWPREDICT's intercept, slope and their last values and the null
// counts; SEASONAL/DEVSEASONAL keep the coefficient (deviation) in the
// intercept's words and the burn-in count in the null count's.
const (
	HWIntercept     = hwIntercept
	HWLastIntercept = hwLastIntercept
	HWSlope         = hwSlope
	HWLastSlope     = hwLastSlope
	HWNullCount     = hwNullCount
	HWLastNullCount = hwLastNullCount
)

// Float reads word i as a double.
func (w HWWords) Float(i int) float64 { return math.Float64frombits(w[i]) }

// burninCycles is rrdtool's BURNIN_CYCLES: the smoother runs at the end of
// every season until this many have passed, then once a season at the
// archive's smoothing index.
const burninCycles = 3

// HWWords are the first eight words of rrdtool's cdp_prep scratch of one
// Holt-Winters archive and data source: doubles or counters by index, and
// for FAILURES the violation history as bytes.
type HWWords [8]uint64

func (w *HWWords) f(i int) float64        { return math.Float64frombits(w[i]) }
func (w *HWWords) setF(i int, v float64)  { w[i] = math.Float64bits(v) }
func (w *HWWords) historyByte(i int) byte { return byte(w[i/8] >> (8 * (i % 8))) }
func (w *HWWords) setHistoryByte(i int, b byte) {
	sh := uint(8 * (i % 8))
	w[i/8] = w[i/8]&^(0xff<<sh) | uint64(b)<<sh
}

// History returns FAILURES' violation history, newest first, n entries.
func (w HWWords) History(n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = w.historyByte(i)
	}
	return out
}

// hwState is the Holt-Winters part of a series' live state.
type hwState struct {
	words  []HWWords   // index rra*len(ds)+ds (used for Holt-Winters archives only)
	seas   [][]float64 // per archive: the SEASONAL/DEVSEASONAL ring (nil for others)
	smooth bool        // a smoothing is due at the end of the update call

	// scratch of one update
	skip           []bool // per archive: rows advanced but not written
	lastCoef, coef []float64
}

func newHWState(spec *Spec) *hwState {
	if !spec.hasHW() {
		return nil
	}
	nds := len(spec.DS)
	h := &hwState{words: make([]HWWords, len(spec.RRA)*nds), seas: make([][]float64, len(spec.RRA))}
	h.initScratch(spec)
	nan := math.Float64bits(math.NaN())
	for a, r := range spec.RRA {
		for d := 0; d < nds; d++ {
			w := &h.words[a*nds+d]
			switch r.CF {
			case HWPredict, MHWPredict:
				w[hwIntercept], w[hwLastIntercept], w[hwSlope], w[hwLastSlope] = nan, nan, nan, nan
				w[hwNullCount], w[hwLastNullCount] = 1, 1
			case Seasonal, DevSeasonal:
				w[hwSeasonal], w[hwLastSeasonal], w[hwInitSeasonal] = nan, nan, 1
			}
		}
		if r.CF == Seasonal || r.CF == DevSeasonal {
			h.seas[a] = unknownRows(r.Rows, nds)
		}
	}
	return h
}

func (h *hwState) initScratch(spec *Spec) {
	h.skip = make([]bool, len(spec.RRA))
	h.lastCoef = make([]float64, len(spec.DS))
	h.coef = make([]float64, len(spec.DS))
	for i := range h.coef {
		h.lastCoef[i], h.coef[i] = math.NaN(), math.NaN()
	}
}

func (h *hwState) clone() *hwState {
	if h == nil {
		return nil
	}
	c := &hwState{words: slices.Clone(h.words), seas: make([][]float64, len(h.seas)), smooth: h.smooth,
		skip: slices.Clone(h.skip), lastCoef: slices.Clone(h.lastCoef), coef: slices.Clone(h.coef)}
	for i, s := range h.seas {
		c.seas[i] = slices.Clone(s)
	}
	return c
}

// hwFuncs are the additive or multiplicative Holt-Winters formulas.
type hwFuncs struct {
	mult bool
}

// The products are converted explicitly so that no compiler fuses them
// into an FMA: rrdtool's x86-64 build rounds each one.

func (m hwFuncs) predict(intercept, slope float64, nullCount uint64, seasonal float64) float64 {
	base := intercept + float64(slope*float64(nullCount))
	if m.mult {
		return float64(base * seasonal)
	}
	return base + seasonal
}

func (m hwFuncs) intercept(alpha, observed, seasonal float64, w *HWWords) float64 {
	var x float64
	if m.mult {
		if seasonal <= 0 {
			return math.NaN()
		}
		x = observed / seasonal
	} else {
		x = observed - seasonal
	}
	old := w.f(hwIntercept) + float64(w.f(hwSlope)*float64(w[hwNullCount]))
	return float64(alpha*x) + float64((1-alpha)*old)
}

func slopeOf(beta float64, w *HWWords) float64 {
	return float64(beta*(w.f(hwIntercept)-w.f(hwLastIntercept))) + float64((1-beta)*w.f(hwSlope))
}

func (m hwFuncs) seasonality(gamma, observed, intercept, seasonal float64) float64 {
	var x float64
	if m.mult {
		if intercept <= 0 {
			return math.NaN()
		}
		x = observed / intercept
	} else {
		x = observed - intercept
	}
	return float64(gamma*x) + float64((1-gamma)*seasonal)
}

func (m hwFuncs) initSeasonality(seasonal, intercept float64) float64 {
	if m.mult {
		if intercept <= 0 {
			return math.NaN()
		}
		return seasonal / intercept
	}
	return seasonal - intercept
}

func (m hwFuncs) identity() float64 {
	if m.mult {
		return 1
	}
	return 0
}

// funcsOf returns the formulas of the HWPREDICT (additive) or MHWPREDICT
// (multiplicative) archive hw.
func (e *engine) funcsOf(hw int) hwFuncs { return hwFuncs{mult: e.spec.RRA[hw].CF == MHWPredict} }

func (e *engine) hwWords(a, d int) *HWWords { return &e.st.hw.words[a*len(e.spec.DS)+d] }

// scratch reads rrdtool's scratch[CDP_primary_val] (secondary false) or
// scratch[CDP_secondary_val] of archive a, data source d.
func (e *engine) scratch(a, d int, secondary bool) float64 {
	c := &e.st.cdp[a*len(e.spec.DS)+d]
	if secondary {
		return c.secondary
	}
	return c.primary
}

func (e *engine) setScratch(a, d int, secondary bool, v float64) {
	c := &e.st.cdp[a*len(e.spec.DS)+d]
	if secondary {
		c.secondary = v
	} else {
		c.primary = v
	}
}

// lookupSeasonal copies the coefficients of archive a's row cur_row+off
// into dst (lookup_seasonal).
func (e *engine) lookupSeasonal(dst []float64, a int, off int64) {
	nds := len(e.spec.DS)
	row := (e.st.curRow[a] + off) % e.spec.RRA[a].Rows
	copy(dst, e.st.hw.seas[a][row*int64(nds):(row+1)*int64(nds)])
}

// hwConsolidate is the Holt-Winters part of update_all_cdp_prep and
// update_aberrant_cdps for elapsed closed PDPs (all equal to pdpTemp).
func (e *engine) hwConsolidate(elapsed int64) {
	h := e.st.hw
	nds := len(e.spec.DS)
	for a, r := range e.spec.RRA {
		if !r.CF.IsHW() {
			continue
		}
		cnt := min(e.stepCnt[a], r.Rows)
		h.skip[a] = false
		if r.CF == Seasonal || r.CF == DevSeasonal {
			// a bulk update skips ahead in the seasonal arrays and writes
			// none of their rows
			if cnt > 1 {
				h.skip[a] = true
				e.lookupSeasonal(h.lastCoef, a, elapsed)
				e.lookupSeasonal(h.coef, a, elapsed+1)
			}
			if e.scheduleSmooth(a, elapsed) {
				h.smooth = true
			}
		}
		if elapsed > 2 {
			for d := 0; d < nds; d++ {
				e.hwReset(a, d, elapsed)
			}
		}
	}
	if elapsed > 2 {
		return
	}
	// one pass for the primary value, a second for the secondary when
	// the update closed two PDPs (with the same value)
	for j, secondary := elapsed, false; j > 0; j, secondary = j-1, true {
		for a, r := range e.spec.RRA {
			if !r.CF.IsHW() {
				continue
			}
			if r.CF == Seasonal || r.CF == DevSeasonal {
				off := elapsed + 1
				if secondary {
					off = elapsed + 2
				}
				e.lookupSeasonal(h.coef, a, off)
			}
			for d := 0; d < nds; d++ {
				e.setScratch(a, d, secondary, e.pdpTemp[d])
				switch r.CF {
				case HWPredict, MHWPredict:
					e.updateHWPredict(a, d, secondary)
				case Seasonal:
					e.updateSeasonal(a, d, secondary)
				case DevSeasonal:
					e.updateDevSeasonal(a, d, secondary)
				case DevPredict:
					e.updateDevPredict(a, d, secondary)
				case Failures:
					e.updateFailures(a, d, secondary)
				}
			}
		}
	}
}

// scheduleSmooth tells whether the smoother is due (do_schedule_smooth);
// during the burn-in it counts the seasons passed.
func (e *engine) scheduleSmooth(a int, elapsed int64) bool {
	r := e.spec.RRA[a]
	w := e.hwWords(a, 0) // the count is the archive's, kept in its first data source
	cur, idx := e.st.curRow[a], r.HW.SmoothIdx
	if w[hwInitSeasonal] > burninCycles {
		if idx > cur {
			return cur+elapsed >= idx
		}
		return cur+elapsed >= r.Rows && cur+elapsed >= r.Rows+idx
	}
	if cur+elapsed >= r.Rows {
		w[hwInitSeasonal]++
		return true
	}
	return false
}

// hwReset is reset_cdp of a Holt-Winters archive: an update that closes
// three PDPs or more teaches the model nothing.
func (e *engine) hwReset(a, d int, elapsed int64) {
	w := e.hwWords(a, d)
	c := &e.st.cdp[a*len(e.spec.DS)+d]
	switch e.spec.RRA[a].CF {
	case Seasonal, DevSeasonal:
		w.setF(hwLastSeasonal, e.st.hw.lastCoef[d])
		w.setF(hwSeasonal, e.st.hw.coef[d])
	case HWPredict, MHWPredict:
		w[hwNullCount] += uint64(elapsed)
		w[hwLastNullCount] += uint64(elapsed - 1)
		c.primary, c.secondary = math.NaN(), math.NaN()
	case DevPredict:
		c.primary, c.secondary = math.NaN(), math.NaN()
	case Failures:
		c.primary, c.secondary = 0, 0
		e.eraseViolations(a, d)
	}
}

func (e *engine) eraseViolations(a, d int) {
	w := e.hwWords(a, d)
	for i := int(e.spec.RRA[a].HW.WindowLen); i > 0; i-- {
		w.setHistoryByte(i-1, 0)
	}
}

func (e *engine) updateHWPredict(a, d int, sec bool) {
	r := e.spec.RRA[a]
	fn := e.funcsOf(a)
	w := e.hwWords(a, d)
	w[hwLastIntercept], w[hwLastSlope], w[hwLastNullCount] = w[hwIntercept], w[hwSlope], w[hwNullCount]
	dep := r.HW.Dep
	sw := e.hwWords(dep, d)
	seasonal := sw.f(hwSeasonal)
	if dep < a {
		seasonal = sw.f(hwLastSeasonal)
	}
	obs := e.scratch(a, d, sec)
	pred := math.NaN()
	if math.IsNaN(w.f(hwIntercept)) || math.IsNaN(w.f(hwSlope)) || math.IsNaN(seasonal) {
		if math.IsNaN(w.f(hwIntercept)) && !math.IsNaN(obs) {
			w.setF(hwIntercept, obs)
			w.setF(hwLastIntercept, obs)
			w.setF(hwSlope, 0)
			w.setF(hwLastSlope, 0)
			w[hwNullCount], w[hwLastNullCount] = 1, 1
		}
	} else {
		pred = fn.predict(w.f(hwIntercept), w.f(hwSlope), w[hwNullCount], seasonal)
		if math.IsNaN(obs) {
			w[hwNullCount]++
		} else {
			w.setF(hwIntercept, fn.intercept(r.HW.Alpha, obs, seasonal, w))
			w.setF(hwSlope, slopeOf(r.HW.Beta, w))
			w[hwNullCount] = 1
		}
	}
	e.setScratch(a, d, sec, pred)
}

func (e *engine) updateSeasonal(a, d int, sec bool) {
	r := e.spec.RRA[a]
	hwIdx := r.HW.Dep
	fn := e.funcsOf(hwIdx)
	coefs := e.hwWords(hwIdx, d)
	w := e.hwWords(a, d)
	seasonal := w.f(hwSeasonal)
	w.setF(hwLastSeasonal, seasonal)
	w.setF(hwSeasonal, e.st.hw.coef[d])
	obs := e.scratch(a, d, sec)
	if math.IsNaN(obs) {
		e.setScratch(a, d, sec, seasonal)
		return
	}
	var v float64
	if hwIdx < a {
		// HWPREDICT was updated first
		switch {
		case math.IsNaN(coefs.f(hwLastIntercept)) || math.IsNaN(coefs.f(hwLastSlope)):
			v = math.NaN()
		case math.IsNaN(seasonal):
			v = fn.initSeasonality(obs, coefs.f(hwLastIntercept))
		default:
			v = fn.seasonality(r.HW.Gamma, obs, coefs.f(hwIntercept), seasonal)
		}
	} else {
		switch {
		case math.IsNaN(coefs.f(hwIntercept)) || math.IsNaN(coefs.f(hwSlope)):
			v = fn.identity()
		case math.IsNaN(seasonal):
			v = fn.initSeasonality(obs, coefs.f(hwIntercept))
		default:
			intercept := fn.intercept(e.spec.RRA[hwIdx].HW.Alpha, obs, seasonal, coefs)
			v = fn.seasonality(r.HW.Gamma, obs, intercept, seasonal)
		}
	}
	e.setScratch(a, d, sec, v)
}

func (e *engine) updateDevPredict(a, d int, sec bool) {
	dep := e.spec.RRA[a].HW.Dep
	w := e.hwWords(dep, d)
	v := w.f(hwSeasonal)
	if dep < a {
		v = w.f(hwLastSeasonal)
	}
	e.setScratch(a, d, sec, v)
}

func (e *engine) updateDevSeasonal(a, d int, sec bool) {
	r := e.spec.RRA[a]
	hwIdx := r.HW.Dep
	fn := e.funcsOf(hwIdx)
	coefs := e.hwWords(hwIdx, d)
	w := e.hwWords(a, d)
	w[hwLastSeasonal] = w[hwSeasonal]
	w.setF(hwSeasonal, e.st.hw.coef[d])
	seasIdx := e.spec.RRA[hwIdx].HW.Dep
	sw := e.hwWords(seasIdx, d)
	seasonal := sw.f(hwSeasonal)
	if seasIdx < a {
		seasonal = sw.f(hwLastSeasonal)
	}
	var pred float64
	if hwIdx < a {
		if math.IsNaN(coefs.f(hwLastIntercept)) || math.IsNaN(coefs.f(hwLastSlope)) || math.IsNaN(seasonal) {
			e.setScratch(a, d, sec, math.NaN())
			return
		}
		pred = fn.predict(coefs.f(hwLastIntercept), coefs.f(hwLastSlope), coefs[hwLastNullCount], seasonal)
	} else {
		if math.IsNaN(coefs.f(hwIntercept)) || math.IsNaN(coefs.f(hwSlope)) || math.IsNaN(seasonal) {
			e.setScratch(a, d, sec, math.NaN())
			return
		}
		pred = fn.predict(coefs.f(hwIntercept), coefs.f(hwSlope), coefs[hwNullCount], seasonal)
	}
	obs := e.scratch(a, d, sec)
	last := w.f(hwLastSeasonal)
	switch {
	case math.IsNaN(obs):
		e.setScratch(a, d, sec, last)
	case math.IsNaN(last):
		e.setScratch(a, d, sec, math.Abs(pred-obs))
	default:
		g := r.HW.Gamma
		e.setScratch(a, d, sec, float64(g*math.Abs(pred-obs))+float64((1-g)*last))
	}
}

func (e *engine) updateFailures(a, d int, sec bool) {
	r := e.spec.RRA[a]
	devIdx := r.HW.Dep
	hwIdx := e.spec.RRA[devIdx].HW.Dep
	seasIdx := e.spec.RRA[hwIdx].HW.Dep
	fn := e.funcsOf(hwIdx)
	var violation byte
	// rrdtool decides whether DEVSEASONAL was updated by SEASONAL's index
	dw := e.hwWords(devIdx, d)
	dev := dw.f(hwSeasonal)
	if a >= seasIdx {
		dev = dw.f(hwLastSeasonal)
	}
	if !math.IsNaN(dev) {
		sw := e.hwWords(seasIdx, d)
		seasonal := sw.f(hwSeasonal)
		if a >= seasIdx {
			seasonal = sw.f(hwLastSeasonal)
		}
		hw := e.hwWords(hwIdx, d)
		var pred float64
		if a < hwIdx {
			pred = fn.predict(hw.f(hwIntercept), hw.f(hwSlope), hw[hwNullCount], seasonal)
		} else {
			pred = fn.predict(hw.f(hwLastIntercept), hw.f(hwLastSlope), hw[hwLastNullCount], seasonal)
		}
		obs := e.scratch(a, d, sec)
		if math.IsNaN(obs) || obs > pred+float64(r.HW.DeltaPos*dev) || obs < pred-float64(r.HW.DeltaNeg*dev) {
			violation = 1 // an unknown value counts as a violation
		}
	}
	w := e.hwWords(a, d)
	cnt := int(violation)
	for i := int(r.HW.WindowLen); i > 1; i-- {
		w.setHistoryByte(i-1, w.historyByte(i-2))
		cnt += int(w.historyByte(i - 1))
	}
	w.setHistoryByte(0, violation)
	if int64(cnt) < r.HW.Threshold {
		e.setScratch(a, d, sec, 0)
	} else {
		e.setScratch(a, d, sec, 1)
	}
}

// hwWriteRows writes the rows of Holt-Winters archive a that the update
// closed (write_to_rras): at most one turn of the ring, SEASONAL and
// DEVSEASONAL rows of a bulk update skipped (the ring still advances).
func (e *engine) hwWriteRows(a int) {
	r := e.spec.RRA[a]
	cnt := min(e.stepCnt[a], r.Rows)
	e.stepCnt[a] = 0
	if cnt == 0 {
		return
	}
	h := e.st.hw
	nds := len(e.spec.DS)
	cur := e.st.curRow[a]
	for k := int64(0); k < cnt; k++ {
		cur = (cur + 1) % r.Rows
		if h.skip[a] {
			continue
		}
		for d := 0; d < nds; d++ {
			e.row[d] = e.scratch(a, d, k > 0)
		}
		e.rows.putRow(a, cur, e.row)
		if s := h.seas[a]; s != nil {
			copy(s[cur*int64(nds):], e.row)
		}
	}
	e.st.curRow[a] = cur
}

// endCall ends an update call: the smoothing an update scheduled runs now
// (rrdtool runs it once per call, after every reading of the call). It
// reports whether rows were written.
func (e *engine) endCall() bool {
	h := e.st.hw
	if h == nil || !h.smooth {
		return false
	}
	h.smooth = false
	wrote := false
	for a, r := range e.spec.RRA {
		if r.CF == Seasonal || r.CF == DevSeasonal {
			wrote = e.applySmoother(a) || wrote
		}
	}
	return wrote
}

// applySmoother replaces archive a's coefficients by their centred moving
// average over the smoothing window (apply_smoother); a SEASONAL archive's
// are then re-centred on their mean, which moves into the intercept.
// Nothing happens while a coefficient is unknown.
func (e *engine) applySmoother(a int) bool {
	r := e.spec.RRA[a]
	nds := len(e.spec.DS)
	rows := r.Rows
	w := 0.05 // version 0003 files smooth over 5 %
	if e.spec.RRDVersion() >= 4 {
		w = r.HW.SmoothingWindow
	}
	offset := int64(math.Floor(w / 2 * float64(rows)))
	if offset == 0 {
		return false
	}
	vals := slices.Clone(e.st.hw.seas[a])
	for _, v := range vals {
		if math.IsNaN(v) {
			return false
		}
	}
	mod := func(v int64) int64 {
		if v < 0 {
			return rows - (-v)%rows
		}
		return v % rows
	}
	win := 2*offset + 1
	sum := make([]float64, nds)
	baseline := make([]float64, nds)
	queue := make([][]float64, nds)
	for i := int64(0); i < 2*offset; i++ {
		k := mod(i - offset)
		for j := 0; j < nds; j++ {
			v := vals[k*int64(nds)+int64(j)]
			queue[j] = append(queue[j], v)
			sum[j] += v
		}
	}
	orig := slices.Clone(vals)
	for i := offset; i < rows+offset; i++ {
		for j := 0; j < nds; j++ {
			k := mod(i)
			v := orig[k*int64(nds)+int64(j)]
			sum[j] += v
			queue[j] = append(queue[j], v)
			k = mod(i - offset)
			avg := sum[j] / float64(win)
			vals[k*int64(nds)+int64(j)] = avg
			baseline[j] += avg
			sum[j] -= queue[j][0]
			queue[j] = queue[j][1:]
		}
	}
	for j := range baseline {
		baseline[j] /= float64(rows)
	}
	if r.CF == Seasonal {
		hwIdx := r.HW.Dep
		fn := e.funcsOf(hwIdx)
		for j := 0; j < nds; j++ {
			for i := int64(0); i < rows; i++ {
				vals[i*int64(nds)+int64(j)] = fn.initSeasonality(vals[i*int64(nds)+int64(j)], baseline[j])
			}
			hw := e.hwWords(hwIdx, j)
			hw.setF(hwIntercept, hw.f(hwIntercept)+baseline[j])
		}
	}
	e.st.hw.seas[a] = vals
	for i := int64(0); i < rows; i++ {
		e.rows.putRow(a, i, vals[i*int64(nds):(i+1)*int64(nds)])
	}
	return true
}
