package store

import (
	"encoding/binary"
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
// per-DS slicing and loops, which were most of its cost. It sets stepCnt
// only for the archives it marks due: writeRows1 reads no other, and the
// generic consolidate sets every archive's before the generic writeRows
// reads them.
func (e *engine) consolidate1(elapsed, procPDP int64) {
	p := e.pdpTemp[0]
	rra := e.rra // locals: the stores below would make e's fields reload
	cdp := e.st.cdp[:len(rra)]
	stepCnt := e.stepCnt[:len(rra)]
	var due uint64
	for a := 0; a < len(rra); {
		// a run of archives of one step count (hotRRAs' groupEnd)
		n, end := rra[a].steps, min(int(rra[a].groupEnd), len(rra))
		if n == 1 { // startOff 1, stepCnt elapsed ≥ 1
			due |= runBits(a, end)
			for ; a < end; a++ {
				stepCnt[a] = elapsed
				c := &cdp[a]
				c.primary = p
				// rrdtool 1.7.2 sets the fill-in value only when the
				// update closes two steps or more (consolidate's comment)
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
			due |= runBits(a, end)
			for ; a < end; a++ {
				stepCnt[a] = cnt
				r := &rra[a]
				updateCDP(&cdp[a], r.cf, p, cnt, elapsed, startOff, n, r.xff)
			}
		case math.IsNaN(p):
			for ; a < end; a++ {
				cdp[a].unknPDP += elapsed
			}
		default: // the row stays open: accumulate, as accumulate does
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
		}
	}
	e.due = due
}

// runBits is the bits of archives a to end−1, 0 ≤ a < end ≤ 64 (one()).
func runBits(a, end int) uint64 {
	return ^uint64(0) >> (uint(64-end+a) & 63) << (uint(a) & 63)
}

// writeRows1 is writeRows for one data source and no Holt-Winters
// archive: rows written straight from the state, a row that continues
// its ring's latest run appended here (appendRow1's common case, without
// the call).
func (e *engine) writeRows1() {
	due := e.due
	if due == 0 {
		return
	}
	e.due = 0
	rra := e.rra
	stepCnt := e.stepCnt[:len(rra)]
	curRow := e.st.curRow[:len(rra)]
	cdp := e.st.cdp[:len(rra)]
	arch := e.arch
	var lastRun []int
	var key uint64
	if arch != nil {
		arch.beginRows() // once, not per row
		lastRun, key = arch.lastRun[:len(rra)], arch.key
	}
	// only the archives consolidate1 found a row due in (4.9 of the
	// default template's 16 per update a step apart)
	for ; due != 0; due &= due - 1 {
		a := bits.TrailingZeros64(due)
		cnt := stepCnt[a]
		if cnt == 0 { // not after consolidate1's elapsed ≥ 1
			continue
		}
		stepCnt[a] = 0
		rowsN := rra[a].rows
		cur := curRow[a] + 1
		if cur >= rowsN {
			cur %= rowsN
		}
		c := &cdp[a]
		switch {
		case arch == nil:
			e.putRow1(a, cur, c.primary)
		case lastRun[a] >= 0 && arch.pend[lastRun[a]].first+arch.pend[lastRun[a]].n == cur:
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
