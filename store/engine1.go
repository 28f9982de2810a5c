package store

import (
	"encoding/binary"
	"math"
)

// The update engine's path for series of one data source and no
// Holt-Winters archive (every template's; docs/BENCHMARKS.md, session 9):
// consolidate and writeRows without the per-DS loops and slicing, the
// phase of a run of archives of one step count computed once, and only
// the archives with a row due visited. TestOneDSPathMatchesGeneric
// compares it with the generic path bit for bit.

// one tells whether consolidate1 applies: one data source, no
// Holt-Winters archive, at most 64 archives.
func (e *engine) one() bool {
	return len(e.spec.DS) == 1 && !e.hasHW && len(e.rra) <= 64 && !e.generic
}

// consolidate1 is consolidate and writeRows for a series of one data
// source and no Holt-Winters archive (every template's): the same steps
// without the per-DS slicing and loops, which were most of their cost,
// and an archive's rows written as soon as its consolidation closes them,
// in archive order as writeRows writes them (no stepCnt, no second pass
// over the archives). It leaves stepCnt zero, as writeRows does.
func (e *engine) consolidate1(elapsed, procPDP int64) {
	p := e.pdpTemp[0]
	rra := e.rra // locals: the stores below would make e's fields reload
	cdp := e.st.cdp[:len(rra)]
	curRow := e.st.curRow[:len(rra)]
	arch := e.arch
	var lastRun []int // arch's, once rows are due
	var key uint64
	for a := 0; a < len(rra); {
		// a run of archives of one step count (hotRRAs' groupEnd)
		n, end := rra[a].steps, min(int(rra[a].groupEnd), len(rra))
		cnt, startOff := elapsed, int64(1) // n == 1
		if n != 1 {
			startOff, cnt = n-procPDP%n, 0
			if startOff <= elapsed {
				cnt = (elapsed-startOff)/n + 1
			}
		}
		if cnt == 0 {
			if math.IsNaN(p) {
				for ; a < end; a++ {
					cdp[a].unknPDP += elapsed
				}
				continue
			}
			// the row stays open: accumulate, as accumulate does
			x := p * float64(elapsed)
			for ; a < end; a++ {
				c := &cdp[a]
				switch rra[a].cf {
				case Average:
					if math.IsNaN(c.val) {
						c.val = x
					} else {
						c.val += x
					}
				case Min: // not min(), which orders −0 before +0
					if p < c.val || math.IsNaN(c.val) {
						c.val = p
					}
				case Max:
					if p > c.val || math.IsNaN(c.val) {
						c.val = p
					}
				default: // LAST (one() rules out Holt-Winters)
					c.val = p
				}
			}
			continue
		}
		if arch != nil && lastRun == nil {
			arch.beginRows() // once an update, not a row
			lastRun, key = arch.lastRun[:len(rra)], arch.key
		}
		for ; a < end; a++ {
			c := &cdp[a]
			if n == 1 {
				// rrdtool 1.7.2 sets the fill-in value of a one-step
				// archive only when the update closes two steps or more
				// (consolidate's comment)
				c.primary = p
				if elapsed >= 2 {
					c.secondary = p
				}
			} else {
				updateCDP(c, rra[a].cf, p, cnt, elapsed, startOff, n, rra[a].xff)
			}
			// the rows, as writeRows
			rowsN := rra[a].rows
			cur := curRow[a] + 1
			if cur >= rowsN {
				cur %= rowsN
			}
			switch {
			case arch == nil:
				e.putRow1(a, cur, c.primary)
			case lastRun[a] >= 0 && arch.pend[lastRun[a]].first+arch.pend[lastRun[a]].n == cur:
				// the row continues its ring's latest run: appendRow1's
				// common case, without the call
				run := &arch.pend[lastRun[a]]
				run.b = binary.LittleEndian.AppendUint64(run.b, math.Float64bits(c.primary)^key)
				run.n++
			default:
				arch.appendRow1(a, cur, c.primary)
			}
			if cnt > 1 { // the fill-in rows of an update that closes several
				cur = e.fillRows1(a, cur, min(cnt, rowsN)-1, c.secondary)
			}
			curRow[a] = cur
		}
	}
}

// fillRows1 writes n rows of v after row cur of archive a, wrapping, and
// returns the last one written. rrdtool writes at most one full turn
// (writeRows' comment).
func (e *engine) fillRows1(a int, cur, n int64, v float64) int64 {
	rowsN := e.rra[a].rows
	for ; n > 0; n-- {
		if cur++; cur >= rowsN {
			cur = 0
		}
		e.putRow1(a, cur, v)
	}
	return cur
}

// putRow1 stores a row of one value: straight to the archive when the
// rows are an archive's (no interface call, no slice), else through the
// interface.
func (e *engine) putRow1(a int, r int64, v float64) {
	if e.arch != nil {
		e.arch.putRow1(a, r, v)
		return
	}
	row := e.row[:1]
	row[0] = v
	e.rows.putRow(a, r, row)
}

// putRow stores a row: the archive's own method when the rows are an
// archive's (no interface call), else through the interface.
func (e *engine) putRow(a int, r int64, vals []float64) {
	if e.arch != nil {
		e.arch.putRow(a, r, vals)
		return
	}
	e.rows.putRow(a, r, vals)
}

// closePDP1 is closePDPs of pdpNew for a series of one data source
// (one()): the same operations in the same order, without the loop.
func (e *engine) closePDP1(interval, preInt, postInt float64, span int64) error {
	s := &e.st.ds[0]
	preUnknown := 0.0
	nw := e.pdpNew[0]
	if math.IsNaN(nw) {
		preUnknown = preInt
	} else {
		if math.IsNaN(s.val) {
			s.val = 0
		}
		s.val += nw / interval * preInt
	}
	if interval > float64(e.spec.DS[0].Heartbeat) || float64(e.spec.Step)/2 < float64(s.unknSec) {
		e.pdpTemp[0] = math.NaN()
	} else {
		e.pdpTemp[0] = s.val / (float64(span-s.unknSec) - preUnknown)
	}
	if e.progs != nil {
		if err := e.compute(0); err != nil {
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
	return nil
}
