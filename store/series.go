package store

import (
	"fmt"
	"math"
)

// memRows keeps archive rings in ordinary slices (tests, imports, previews).
type memRows [][]float64

func (m memRows) ring(a int) []float64 { return m[a] }

func (m memRows) putRow(a int, r int64, vals []float64) {
	copy(m[a][int(r)*len(vals):], vals)
}

func newMemRows(spec *Spec) memRows {
	m := make(memRows, len(spec.RRA))
	for a, r := range spec.RRA {
		m[a] = make([]float64, int(r.Rows)*len(spec.DS))
		for i := range m[a] {
			m[a][i] = math.NaN()
		}
	}
	return m
}

// RRD is one series held in memory: the update engine over in-memory rings.
// The DB keeps the same engine over memory-mapped archive files.
type RRD struct {
	spec Spec
	st   *state
	rows rows
	eng  *engine
}

// NewRRD makes an empty series as rrdtool create would.
func NewRRD(spec Spec) (*RRD, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	spec = cloneSpec(spec)
	spec.AssignSmoothIdx("")
	r := &RRD{spec: spec, st: initialState(&spec), rows: newMemRows(&spec)}
	r.eng = newEngine(&r.spec, r.st, r.rows)
	return r, nil
}

func cloneSpec(s Spec) Spec {
	s.DS = append([]DS(nil), s.DS...)
	s.RRA = append([]RRA(nil), s.RRA...)
	return s
}

// Update applies one reading.
func (r *RRD) Update(t, usec int64, vals []string) error { return r.eng.update(t, usec, vals) }

// EndUpdateCall ends an update call of several readings: rrdtool smooths
// the seasonal coefficients of Holt-Winters archives at most once per
// call, after all of its readings, and so does this.
func (r *RRD) EndUpdateCall() { r.eng.endCall() }

// Spec returns the definition.
func (r *RRD) Spec() Spec { return cloneSpec(r.spec) }

// LastUpdate returns the time of the last update.
func (r *RRD) LastUpdate() (int64, int64) { return r.st.lastUp, r.st.lastUpUsec }

// Fetch answers like rrdtool fetch.
func (r *RRD) Fetch(req FetchRequest) (*FetchResult, error) {
	return fetch(&r.spec, r.st, r.rows, req)
}

// ArchiveRows returns archive a's rows oldest first with their end times.
func (r *RRD) ArchiveRows(a int) (times []int64, vals [][]float64) {
	return archiveRows(&r.spec, r.st, r.rows, a)
}

func archiveRows(spec *Spec, st *state, rs rows, a int) (times []int64, vals [][]float64) {
	ra := spec.RRA[a]
	nds := len(spec.DS)
	span := ra.Steps * spec.Step
	end := st.lastUp - st.lastUp%span
	ring := rs.ring(a)
	n := int(ra.Rows)
	times = make([]int64, n)
	vals = make([][]float64, n)
	for i := 0; i < n; i++ {
		src := (int(st.curRow[a]) + 1 + i) % n
		vals[i] = append([]float64(nil), ring[src*nds:(src+1)*nds]...)
		times[i] = end - int64(n-1-i)*span
	}
	return times, vals
}

// fetchPlan is what a fetch reads: the archive chosen, the rows of the
// result (row i covers (start+i·step, start+(i+1)·step]) and which of them
// the archive holds.
type fetchPlan struct {
	rra              int
	start, end, step int64
	n                int64 // rows of the result
	// rows first…last-1 of the result are in the archive, result row
	// first at ring row src (the others are unknown)
	first, last, src int64
}

// planFetch validates a request and makes rrd_fetch_fn's choice of
// archive and row window.
func planFetch(spec *Spec, st *state, req FetchRequest) (fetchPlan, error) {
	start, end, step := req.Start, req.End, req.Resolution
	if step <= 0 {
		step = 1
	}
	if req.AlignStart {
		d := start % step
		start -= d
		end -= d
	}
	if start < 3600*24*365*10 {
		return fetchPlan{}, fmt.Errorf("the first entry to fetch should be after 1980 (%d)", start)
	}
	if end < start {
		return fetchPlan{}, fmt.Errorf("start (%d) should be less than end (%d)", start, end)
	}
	chosen, err := chooseArchive(spec, st, req.CF, start, end, step)
	if err != nil {
		return fetchPlan{}, err
	}
	ra := spec.RRA[chosen]
	step = spec.Step * ra.Steps
	start -= start % step
	end += step - end%step
	n := (end - start) / step
	rraEnd := st.lastUp - st.lastUp%step
	rraStart := rraEnd - step*(ra.Rows-1)
	// Result row i is at time start+(i+1)·step; the archive holds the rows
	// from rraStart on, oldest at ring row curRow+1. start and rraStart are
	// multiples of step: result row i is archive row i+c (time-wise,
	// oldest = 0), inside for 0 <= i+c < Rows.
	c := 1 + (start-rraStart)/step
	first := min(max(-c, 0), n)
	last := max(min(max(ra.Rows-c, 0), n), first)
	src := ((st.curRow[chosen]+1+first+c)%ra.Rows + ra.Rows) % ra.Rows
	return fetchPlan{rra: chosen, start: start, end: end, step: step, n: n, first: first, last: last, src: src}, nil
}

// fetch implements rrd_fetch_fn.
func fetch(spec *Spec, st *state, rs rows, req FetchRequest) (*FetchResult, error) {
	p, err := planFetch(spec, st, req)
	if err != nil {
		return nil, err
	}
	chosen, n, first, last := p.rra, p.n, p.first, p.last
	ra := spec.RRA[chosen]
	nds := len(spec.DS)
	res := &FetchResult{Start: p.start, End: p.end, Step: p.step, CF: ra.CF, RRA: chosen}
	res.DS = make([]string, nds)
	res.Values = make([][]float64, nds)
	lo, hi := 0, nds // the data sources read
	for d := range spec.DS {
		res.DS[d] = spec.DS[d].Name
		if req.DS != "" && req.DS == spec.DS[d].Name {
			lo, hi = d, d+1
		}
	}
	for d := lo; d < hi; d++ {
		res.Values[d] = MakeColumn(int(n))
	}
	ring := rs.ring(chosen)
	// Rows outside the archive are unknown; the rows inside are copied
	// walking the ring, without a division per row (fetches of a million
	// rows are common in xport).
	for d := lo; d < hi; d++ {
		col := res.Values[d]
		for i := int64(0); i < first; i++ {
			col[i] = math.NaN()
		}
		for i := last; i < n; i++ {
			col[i] = math.NaN()
		}
	}
	if first < last {
		// archives of version 4 store values XOR a key (holes read unknown)
		var key uint64
		if kr, ok := rs.(interface{ rowKey() uint64 }); ok {
			key = kr.rowKey()
		}
		src := p.src
		for i := first; i < last; i++ {
			base := int(src) * nds
			if key == 0 {
				for d := lo; d < hi; d++ {
					res.Values[d][i] = ring[base+d]
				}
			} else {
				for d := lo; d < hi; d++ {
					res.Values[d][i] = math.Float64frombits(math.Float64bits(ring[base+d]) ^ key)
				}
			}
			if src++; src == ra.Rows {
				src = 0
			}
		}
		// rows of a block whose checksum fails are unknown, not garbage
		if rc, ok := rs.(rowChecker); ok {
			from := p.src
			for _, sp := range rc.damagedRows(chosen, from, last-first) {
				for r := sp.lo; r <= sp.hi; r++ {
					if i := first + (r-from+ra.Rows)%ra.Rows; i < last {
						for d := lo; d < hi; d++ {
							res.Values[d][i] = math.NaN()
						}
					}
				}
			}
		}
	}
	return res, nil
}

// chooseArchive is rrd_fetch_fn's choice of archive for cf over
// start…end at resolution step: the archive covering start with the
// nearest step, else the one covering the most of the range.
func chooseArchive(spec *Spec, st *state, cf CF, start, end, step int64) (int, error) {
	chosen := -1
	firstFull, firstPart := true, true
	var bestFullDiff, bestPartDiff, bestMatch, tmpDiff int64
	bestFull, bestPart := -1, -1
	for i, ra := range spec.RRA {
		// a one-PDP archive serves the other basic CFs, never a
		// Holt-Winters one (nor is it served by one)
		if !(ra.CF == cf || ra.Steps == 1 && !ra.CF.IsHW() && !cf.IsHW()) {
			continue
		}
		span := ra.Steps * spec.Step
		calEnd := st.lastUp - st.lastUp%span
		calStart := calEnd - span*ra.Rows
		full := end - start
		tmpDiff = abs64(step - span)
		if calStart <= start {
			if firstFull || tmpDiff < bestFullDiff {
				firstFull = false
				bestFullDiff = tmpDiff
				bestFull = i
			}
		} else {
			// partial matches: the most covered span, then the nearest step
			// (rrdtool 1.7.2 computes the step difference of every
			// candidate; fetches ending after the last update tell)
			match := full
			if calStart > start {
				match -= calStart - start
			}
			if firstPart || bestMatch < match || bestMatch == match && tmpDiff < bestPartDiff {
				firstPart = false
				bestMatch = match
				bestPartDiff = tmpDiff
				bestPart = i
			}
		}
	}
	switch {
	case !firstFull:
		chosen = bestFull
	case !firstPart:
		chosen = bestPart
	default:
		return 0, fmt.Errorf("the RRD does not contain an RRA matching the chosen CF %s", cf)
	}
	return chosen, nil
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
