package store

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// This file is what rrdtool 1.7.2's rrd_modify (tune DS:, DEL:, RRA:,
// RRA#, DELRRA:, --step) does to rows beyond copying them: rows added to
// an archive (RRA#i:+n, RRA#i:=n) and every row of an added archive
// (RRA:…) are filled from the series' archives before the change
// (populate_row), an added archive's open row is rebuilt from them
// (prepare_CDPs), and --step "stretches" the series (stretch_rras).

// snapshot is the series as rrd_modify's input sees it (rows as stored,
// ring positions included).
func (e *SeriesEdit) snapshot() *pfRRD {
	nds := len(e.spec.DS)
	r := &pfRRD{step: e.spec.Step, lastUp: e.st.lastUp, ds: slices.Clone(e.spec.DS), rra: slices.Clone(e.spec.RRA), curRow: slices.Clone(e.st.curRow)}
	for i, s := range e.st.ds {
		r.dsState = append(r.dsState, DumpDS{LastDS: s.lastText(e.spec.DS[i].Type), Value: s.val, UnknownSec: s.unknSec})
	}
	for a, def := range e.spec.RRA {
		rows := make([][]float64, def.Rows)
		for k := range rows {
			rows[k] = slices.Clone(e.rings[a][int64(k)*int64(nds) : int64(k+1)*int64(nds)])
		}
		r.rows = append(r.rows, rows)
		var cdp []DumpCDP
		for d := 0; d < nds; d++ {
			c := e.st.cdp[a*nds+d]
			cdp = append(cdp, DumpCDP{Value: c.val, Primary: c.primary, Secondary: c.secondary, UnknownPDP: c.unknPDP})
		}
		r.cdp = append(r.cdp, cdp)
	}
	return r
}

// selectModify is select_for_modify: archives of the same CF, or AVERAGE.
func selectModify(tofill, maybe RRA) bool { return maybe.CF == tofill.CF || maybe.CF == Average }

// modifyCandidates is find_candidate_rras over the input series for an
// archive nr of the output (never one of the input's own).
func (in *pfRRD) modifyCandidates(nr RRA) []candidate {
	var cs []candidate
	for i, r := range in.rra {
		if selectModify(nr, r) {
			cs = append(cs, candidate{rrd: in, rra: i})
		}
	}
	slices.SortStableFunc(cs, sortCandidates)
	return cs
}

// populateRows is populate_row: rows start…start+cnt-1 of output archive
// nr (step outStep, newest row curRow; vals[row][ds]) that are unknown get
// the consolidation of the input's rows that cover them, from the first
// candidate archive that has any; dsMap maps output data sources to input
// ones (-1: added).
func (in *pfRRD) populateRows(outStep int64, nr RRA, curRow int64, vals [][]float64, dsMap []int, start, cnt int64) {
	if len(in.rra) == 0 {
		return
	}
	cands := in.modifyCandidates(nr)
	slot := nr.Steps * outStep
	for ri := int64(0); ri < cnt; ri++ {
		row := start + ri
		end := in.lastUp - in.lastUp%slot - positiveMod(curRow-row, nr.Rows)*slot
		begin := end - slot + 1
		for _, c := range cands {
			r := in.rra[c.rra]
			cur := in.curRow[c.rra]
			s, e := in.rowForTime(c.rra, begin), in.rowForTime(c.rra, end)
			switch {
			case s == -1 && e != -1:
				s = cur
			case s != -1 && e == -1:
				// C: (int)(cur_row - 1) % (unsigned long)row_cnt
				e = int64(uint64(cur-1) % uint64(r.Rows))
			case s == -1 && e == -1:
				continue
			}
			n := e - s + 1
			if n < 0 {
				n += r.Rows
			}
			ts := float64(r.Steps * in.step)
			for k := range vals[row] {
				if !math.IsNaN(vals[row][k]) || dsMap[k] < 0 {
					continue
				}
				ink := dsMap[k]
				tmp, final, covered := math.NaN(), math.NaN(), 0.0
				for ci, cr := int64(0), s; ci < n; ci, cr = ci+1, (cr+1)%r.Rows {
					v := in.rows[c.rra][cr][ink]
					if math.IsNaN(v) {
						continue
					}
					switch nr.CF {
					case Average:
						if math.IsNaN(tmp) {
							tmp = v * ts
						} else {
							tmp = tmp + v*ts
						}
						covered += ts
						final = tmp / covered
					case Min:
						if math.IsNaN(tmp) || !(tmp < v) {
							tmp = v
						}
						final = tmp
					case Max:
						if math.IsNaN(tmp) || !(tmp > v) {
							tmp = v
						}
						final = tmp
					case Last:
						tmp, final = v, v
					}
				}
				vals[row][k] = final
			}
		}
	}
}

// prepareCDPs is prepare_CDPs: the open row of an added archive nr (step
// outStep, rows vals with the newest last), per output data source, from
// the first candidate archive of one PDP per row or AVERAGE.
// primary(i) is the value rrdtool reads as the new primary value of data
// source i.
func (in *pfRRD) prepareCDPs(outStep int64, nr RRA, primary func(i int) float64, dsMap []int, outDS []dsState) []cdpState {
	var chosen *candidate
	for _, c := range in.modifyCandidates(nr) {
		if r := in.rra[c.rra]; r.Steps == 1 || r.CF == Average {
			chosen = &c
			break
		}
	}
	out := make([]cdpState, len(dsMap))
	for i, mi := range dsMap {
		c := &out[i]
		// init_cdp
		c.val = math.NaN()
		c.unknPDP = ((in.lastUp - outDS[i].unknSec) % (outStep * nr.Steps)) / outStep
		if chosen == nil || mi < 0 {
			continue
		}
		cr := in.rra[chosen.rra]
		cur := in.curRow[chosen.rra]
		slot := nr.Steps * in.step
		end := in.lastUp
		if d := in.lastUp % slot; d != 0 {
			end = in.lastUp - d + slot
		}
		startRow := in.rowForTime(chosen.rra, end-slot+1)
		endRow := cur // end is never before the last update
		n := endRow - startRow + 1
		if endRow < startRow {
			n += cr.Rows
		}
		*c = cdpState{primary: primary(i)}
		if startRow == -1 {
			c.secondary = in.cdp[chosen.rra][mi].Primary
			continue
		}
		pre := startRow - 1
		if pre < 0 {
			pre = cr.Rows - 1
		}
		c.secondary = in.rows[chosen.rra][pre][mi]
		off := nr.Steps
		for j := int64(0); j < n; j++ {
			v := in.rows[chosen.rra][(startRow+j)%cr.Rows][mi]
			updateCDP(c, nr.CF, v, 0, 1, off, nr.Steps, cr.XFF)
			off--
		}
	}
	return out
}

// Stretch is tune --step: the new step must divide the old one, at
// least in two; every archive then consolidates that many times more
// PDPs per row (rows keep their time spans), as rrdtool's stretch_rras.
func (e *SeriesEdit) Stretch(newStep int64) error {
	if newStep <= 0 || e.spec.Step%newStep != 0 || e.spec.Step/newStep < 2 {
		return errors.New("invalid 'newstep' parameter. The newsize must divide the old step parameter without a remainder.")
	}
	if e.spec.hasHW() {
		return errStretchHW
	}
	k := e.spec.Step / newStep
	e.timeOrder() // rrd_modify's first pass writes a new file
	for a := range e.spec.RRA {
		e.spec.RRA[a].Steps *= k
	}
	for i := range e.st.cdp {
		e.st.cdp[i].unknPDP *= k
	}
	e.spec.Step = newStep
	return nil
}

// addArchives is add_rras: archives appended with every row filled from
// in (the series before this change) and their open rows rebuilt.
func (e *SeriesEdit) addArchives(in *pfRRD, add []RRA, dsMap []int) error {
	nds := len(e.spec.DS)
	for _, r := range add {
		if err := validateRRA(r, nds); err != nil {
			return err
		}
		vals := nanRows(r.Rows, nds)
		in.populateRows(e.spec.Step, r, r.Rows-1, vals, dsMap, 0, r.Rows)
		ring := make([]float64, 0, r.Rows*int64(nds))
		for _, row := range vals {
			ring = append(ring, row...)
		}
		// rrdtool reads the "current" value at a row offset used as a value
		// offset: index rowsBefore + nds·cur_row + i of all the rows (of
		// every archive, in order) — the newest row only when this is the
		// first archive of a one-DS series
		var rowsBefore int64
		for _, x := range e.spec.RRA {
			rowsBefore += x.Rows
		}
		primary := func(i int) float64 {
			idx := rowsBefore + int64(nds)*(r.Rows-1) + int64(i)
			for _, rg := range append(slices.Clone(e.rings), ring) {
				if idx < int64(len(rg)) {
					return rg[idx]
				}
				idx -= int64(len(rg))
			}
			return math.NaN()
		}
		cdp := in.prepareCDPs(e.spec.Step, r, primary, dsMap, e.st.ds)
		e.spec.RRA = append(e.spec.RRA, r)
		e.rings = append(e.rings, ring)
		e.st.curRow = append(e.st.curRow, r.Rows-1)
		e.st.cdp = append(e.st.cdp, cdp...)
	}
	return nil
}

func validateRRA(r RRA, nds int) error {
	if r.Rows <= 0 || r.Steps <= 0 {
		return fmt.Errorf("%s: steps and rows must be positive", r)
	}
	if r.Rows > maxRowCells/int64(max(nds, 1)) {
		return fmt.Errorf("%s: archives too large (more than %d values)", r, int64(maxRowCells))
	}
	return nil
}

// ringRows views a time-ordered ring as rows.
func ringRows(ring []float64, nds int) [][]float64 {
	rows := make([][]float64, len(ring)/max(nds, 1))
	for k := range rows {
		rows[k] = ring[k*nds : (k+1)*nds]
	}
	return rows
}
