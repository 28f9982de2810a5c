package store

import (
	"math"
	"math/bits"
)

// The update engine's path for series of one data source and no
// Holt-Winters archive (every template's; docs/BENCHMARKS.md, session 9):
// consolidate and writeRows without the per-DS loops and slicing, the
// phase of a run of archives of one step count computed once, and only
// the archives with a row due visited. TestOneDSPathMatchesGeneric
// compares it with the generic path bit for bit.

// one tells whether consolidate1 and writeRows1 apply: one data source,
// no Holt-Winters archive, at most 64 archives (due's bits).
func (e *engine) one() bool {
	return len(e.spec.DS) == 1 && !e.hasHW && len(e.rra) <= 64 && !e.generic
}

// consolidate1 is consolidate for a series of one data source and no
// Holt-Winters archive (every template's): the same steps without the
// per-DS slicing and loops, which were most of its cost.
func (e *engine) consolidate1(elapsed, procPDP int64) {
	p := e.pdpTemp[0]
	rra := e.rra // locals: the stores below would make e's fields reload
	cdp := e.st.cdp[:len(rra)]
	stepCnt := e.stepCnt[:len(rra)]
	var due uint64
	for a := 0; a < len(rra); {
		// a run of archives of one step count (hotRRAs' groupEnd)
		n, end := rra[a].steps, min(int(rra[a].groupEnd), len(rra))
		switch {
		case n == 1: // startOff 1, stepCnt elapsed ≥ 1
			for ; a < end; a++ {
				stepCnt[a] = elapsed
				due |= 1 << a
				c := &cdp[a]
				c.primary = p
				if elapsed >= 2 {
					c.secondary = p
				}
			}
			continue
		}
		startOff, cnt := n-procPDP%n, int64(0)
		if startOff <= elapsed {
			cnt = (elapsed-startOff)/n + 1
		}
		switch {
		case cnt != 0:
			for ; a < end; a++ {
				stepCnt[a] = cnt
				due |= 1 << a
				r := &rra[a]
				updateCDP(&cdp[a], r.cf, p, cnt, elapsed, startOff, n, r.xff)
			}
		case math.IsNaN(p):
			for ; a < end; a++ {
				stepCnt[a] = 0
				cdp[a].unknPDP += elapsed
			}
		default: // the row stays open: accumulate
			x := p * float64(elapsed)
			for ; a < end; a++ {
				stepCnt[a] = 0
				c := &cdp[a]
				switch cf := rra[a].cf; {
				case math.IsNaN(c.val):
					c.val = accumulate(c.val, p, elapsed, cf)
				case cf == Average:
					c.val += x
				case cf == Min: // as accumulate: not min(), which orders −0 before +0
					if p < c.val {
						c.val = p
					}
				case cf == Max:
					if p > c.val {
						c.val = p
					}
				default:
					c.val = accumulate(c.val, p, elapsed, cf)
				}
			}
		}
	}
	e.due = due
}

// writeRows1 is writeRows for one data source and no Holt-Winters
// archive: rows written straight from the state, the archive's putRow
// called directly.
func (e *engine) writeRows1() {
	rra := e.rra
	stepCnt := e.stepCnt[:len(rra)]
	curRow := e.st.curRow[:len(rra)]
	cdp := e.st.cdp[:len(rra)]
	arch := e.arch
	// only the archives consolidate1 found a row due in (4.9 of the
	// default template's 16 per update a step apart)
	for due := e.due; due != 0; due &= due - 1 {
		a := bits.TrailingZeros64(due)
		cnt := stepCnt[a]
		if cnt == 0 { // not after consolidate1's elapsed ≥ 1
			continue
		}
		rowsN := rra[a].rows
		cnt = min(cnt, rowsN)
		cur := curRow[a] + 1
		if cur >= rowsN {
			cur %= rowsN
		}
		if arch != nil { // the archive's own method: no wrapper call
			arch.putRow1(a, cur, cdp[a].primary)
		} else {
			e.putRow1(a, cur, cdp[a].primary)
		}
		for cnt--; cnt > 0; cnt-- {
			if cur++; cur >= rowsN {
				cur = 0
			}
			e.putRow1(a, cur, cdp[a].secondary)
		}
		curRow[a] = cur
		stepCnt[a] = 0
	}
	e.due = 0
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
