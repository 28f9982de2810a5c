package store

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Late points, whisper's rule (meta late = "overwrite", Graphite model
// only): a point for a past slot still held by the finest archive replaces
// that slot's value in every one-step archive, and each coarser archive's
// row holding the slot — or its open consolidation state, when the row is
// not closed yet — is recomputed from the finest archive's rows, with the
// engine's own operations in the engine's order, so the result is what
// in-order updates with the new value would have given. A coarser row
// whose steps reach back past the finest archive's oldest row keeps its
// value: the points it was made of are gone.
//
// Crash safety is the journal's: the point is journaled like any update
// and its rows wait for the record's fsync; a replay applies overwrites
// again in journal order (archive.holds), which writes the same rows.

// overwrite writes the reading of vals into the slot ending at end
// (end ≤ the last update).
func (a *archive) overwrite(end int64, vals []string) error {
	spec, st := &a.spec, a.st
	if len(vals) != 1 || len(spec.DS) != 1 {
		return fmt.Errorf("expected 1 data source reading (got %d)", len(vals))
	}
	step := spec.Step
	fine := -1
	for i, r := range spec.RRA {
		if r.Steps == 1 && !r.CF.IsHW() && (fine < 0 || r.Rows > spec.RRA[fine].Rows) {
			fine = i
		}
	}
	if fine < 0 {
		return fmt.Errorf("no archive of one step per row to overwrite")
	}
	oldest := st.lastUp - (spec.RRA[fine].Rows-1)*step // the finest ring's oldest row
	if end < oldest || end <= spec.Start {
		return &tooOldError{t: end - step, last: st.lastUp}
	}
	p, err := a.slotPDP(vals[0])
	if err != nil {
		return err
	}
	row := []float64{p}
	for i, r := range spec.RRA {
		if r.Steps != 1 || r.CF.IsHW() {
			continue // Holt-Winters archives keep what the model computed then
		}
		if end < st.lastUp-(r.Rows-1)*step {
			continue // a shorter one-step ring no longer holds the slot
		}
		a.putRow(i, ringRow(st, i, r, step, end), row)
		if end == st.lastUp {
			// the slot's own update closed one step: it set primary only
			// (a one-step archive's secondary changes only with an update
			// closing two steps or more, as rrdtool 1.7.2)
			st.cdp[i].primary = p
		}
	}
	if end == st.lastUp {
		// the data source's state as the newest slot's update left it
		v := vals[0]
		if len(v) > lastDSLen {
			v = v[:lastDSLen]
		}
		ds := &st.ds[0]
		ds.lastDS, ds.val, ds.unknSec = v, math.NaN(), 0
		if !math.IsNaN(p) {
			ds.val = p * float64(step) / float64(step) * 0 // nw / interval × postInt, its sign too
		}
	}
	// The finest rows of a coarse row are read once per span (the CFs of
	// one resolution share them), from the mapping with the rows still
	// waiting for the journal laid over them.
	startRow := spec.Start - mod(spec.Start, step)
	windows := map[[2]int64][]float64{}
	window := func(from, to int64) ([]float64, bool) {
		if lo := max(from, startRow+step); lo < oldest && lo <= to {
			return nil, false // the finest archive no longer holds them all
		}
		key := [2]int64{from, to}
		if w, ok := windows[key]; ok {
			return w, w != nil
		}
		w, err := a.finestWindow(fine, from, to)
		if err != nil {
			windows[key] = nil
			return nil, false
		}
		for k := range w {
			switch t := from + int64(k)*step; {
			case t <= startRow || t > st.lastUp:
				w[k] = math.NaN()
			case t == end:
				w[k] = p
			}
		}
		windows[key] = w
		return w, true
	}
	for i, r := range spec.RRA {
		if r.Steps == 1 {
			continue
		}
		span := r.Steps * step
		rowEnd := floorDiv(end+span-1, span) * span // the row holding the slot
		first := rowEnd - span + step
		lastClosed := st.lastUp - mod(st.lastUp, span)
		c := &st.cdp[i]
		if rowEnd <= lastClosed {
			if rowEnd <= lastClosed-r.Rows*span {
				continue // the row has left the ring
			}
			w, ok := window(first, rowEnd)
			var v float64
			if ok {
				v = consolidateRow(r, w)
				a.putRow(i, ringRow(st, i, r, step, rowEnd), []float64{v})
				if rowEnd == lastClosed {
					c.primary = v // the row the last closing update wrote
				}
			}
			if end == lastClosed {
				c.secondary = p // the PDP of the last closing update
			}
			continue
		}
		// the open row: its state holds the PDPs after lastClosed
		val, unkn := math.NaN(), int64(0)
		if lastClosed > spec.Start-mod(spec.Start, step) {
			val = resetValue(r.CF) // a row closed before: the engine reset the state
		}
		w, ok := window(lastClosed+step, st.lastUp)
		for _, q := range w {
			if math.IsNaN(q) {
				unkn++
			} else {
				val = accumulate(val, q, 1, r.CF)
			}
		}
		if ok {
			// PDPs at or before the start count as unknown, as create counts them
			c.val, c.unknPDP = val, unkn
		}
	}
	return nil
}

// slotPDP is the primary data point an in-order update of reading v over
// one step gives (prepare and closePDPs, operation for operation).
func (a *archive) slotPDP(v string) (float64, error) {
	ds := &a.spec.DS[0]
	if v == "" || v[0] == 'U' {
		return math.NaN(), nil
	}
	f, err := parseReading(v)
	if err != nil {
		return 0, err
	}
	iv := float64(a.spec.Step)
	nw := f * iv
	rate := nw / iv
	if !math.IsNaN(ds.Max) && rate > ds.Max || !math.IsNaN(ds.Min) && rate < ds.Min {
		return math.NaN(), nil
	}
	val := 0.0
	val += nw / iv * iv
	return val / iv, nil
}

// ringRow is the ring index of the row of archive i ending at t (t within
// the ring).
func ringRow(st *state, i int, r RRA, step, t int64) int64 {
	span := r.Steps * step
	lastRow := st.lastUp - mod(st.lastUp, span)
	back := (lastRow - t) / span
	return mod(st.curRow[i]-back, r.Rows)
}

func resetValue(cf CF) float64 {
	switch cf {
	case Max:
		return math.Inf(-1)
	case Min:
		return math.Inf(1)
	case Average:
		return 0
	}
	return math.NaN()
}

// consolidateRow is the row updateCDP closes from the PDPs of w (the
// row's steps, oldest first), fed one at a time.
func consolidateRow(r RRA, w []float64) float64 {
	val, unkn := math.NaN(), int64(0)
	for _, q := range w[:len(w)-1] {
		if math.IsNaN(q) {
			unkn++
		} else {
			val = accumulate(val, q, 1, r.CF)
		}
	}
	c := cdpState{val: val, unknPDP: unkn}
	updateCDP(&c, r.CF, w[len(w)-1], 1, 1, 1, r.Steps, r.XFF)
	return c.primary
}

// finestWindow returns the rows of one-step ring i ending at from, from +
// step, …, to (all within the ring) as they will be once the rows waiting
// for the journal are written: the file's, with the waiting writes laid
// over them in order.
func (a *archive) finestWindow(i int, from, to int64) ([]float64, error) {
	if err := a.mapRows(); err != nil {
		return nil, err
	}
	r := a.spec.RRA[i]
	step := a.spec.Step
	n := (to-from)/step + 1
	idx0 := ringRow(a.st, i, r, step, from)
	ring := a.rings[i]
	w := make([]float64, n)
	for k := int64(0); k < n; k++ {
		w[k] = a.decodeBits(math.Float64bits(ring[mod(idx0+k, r.Rows)]))
	}
	for _, run := range a.pend {
		if run.ring != i {
			continue
		}
		for j := int64(0); j < run.n; j++ {
			if k := mod(run.first+j-idx0, r.Rows); k < n {
				w[k] = a.decodeBits(binary.LittleEndian.Uint64(run.b[j*8:]))
			}
		}
	}
	return w, nil
}
