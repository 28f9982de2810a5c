package store

import (
	"fmt"
	"math"
)

// ConsolidateRequest asks for one data source's rows consolidated, while
// they are read, to at least Step seconds, as rrdtool graph and xport
// reduce what they fetch (rrd_graph.c's reduce_data): a year of 1-minute
// rows drawn 800 pixels wide never becomes a year-long column.
type ConsolidateRequest struct {
	// FetchRequest chooses the archive exactly as Fetch does; its DS must
	// name a data source of the series.
	FetchRequest
	// Step is the step wanted: when the archive's is finer, every
	// ceil(Step/archive step) rows become one.
	Step int64
	// By is how rows combine (its ReduceAs); 0 means FetchRequest.CF.
	By CF
}

// ConsolidatedResult is one data source's rows: row i covers
// (Start+i·Step, Start+(i+1)·Step]; unknown is NaN.
type ConsolidatedResult struct {
	Start, End, Step int64
	Values           []float64
	CF               CF  // the consolidation function of the archive read
	RRA              int // index of the archive read
	// ArchiveStep and ArchiveRows are the step of the archive and the
	// rows a plain Fetch would have returned (the rows read).
	ArchiveStep int64
	ArchiveRows int64
}

// FetchConsolidated answers as Fetch followed by rrdtool's reduce_data to
// req.Step, without materialising the archive's rows.
func (db *DB) FetchConsolidated(name string, req ConsolidateRequest) (*ConsolidatedResult, error) {
	db.mu.Lock() // archive() may open files
	defer db.mu.Unlock()
	a, err := db.readableArchive(name)
	if err != nil {
		return nil, err
	}
	res, err := fetchConsolidated(&a.spec, a.st, a, req)
	if err != nil {
		return nil, fmt.Errorf("series %q: %w", name, err)
	}
	return res, nil
}

// FetchConsolidated is DB.FetchConsolidated for a series in memory.
func (r *RRD) FetchConsolidated(req ConsolidateRequest) (*ConsolidatedResult, error) {
	return fetchConsolidated(&r.spec, r.st, r.rows, req)
}

func fetchConsolidated(spec *Spec, st *state, rs rows, req ConsolidateRequest) (*ConsolidatedResult, error) {
	ds := -1
	for i := range spec.DS {
		if spec.DS[i].Name == req.DS {
			ds = i
		}
	}
	if ds < 0 {
		return nil, fmt.Errorf("no data source %q", req.DS)
	}
	p, err := planFetch(spec, st, req.FetchRequest)
	if err != nil {
		return nil, err
	}
	rr := newRowReader(spec, rs, p, ds)
	res := &ConsolidatedResult{CF: spec.RRA[p.rra].CF, RRA: p.rra, ArchiveStep: p.step, ArchiveRows: p.n}
	if req.Step <= p.step {
		res.Start, res.End, res.Step = p.start, p.end, p.step
		res.Values = make([]float64, p.n)
		rr.read(res.Values, 0)
		return res, nil
	}
	by := req.By
	if by == 0 {
		by = req.CF
	}
	by = by.ReduceAs()
	// reduce_data: groups of f rows from the start aligned down to the new
	// step; when it was not aligned the first row is unknown and the rows
	// before the first boundary are dropped; a partial last group is an
	// unknown row.
	f := (req.Step + p.step - 1) / p.step
	ns := p.step * f
	res.Start, res.Step = p.start-p.start%ns, ns
	var j int64 // the next source row
	lead := int64(0)
	if off := p.start % ns; off != 0 {
		lead = 1
		j = min((ns-off)/p.step, p.n)
	}
	groups := (p.n - j) / f
	tail := int64(0)
	if (p.n-j)%f != 0 {
		tail = 1
	}
	res.Values = make([]float64, lead+groups+tail)
	out := res.Values
	if lead == 1 {
		out[0] = math.NaN()
	}
	var buf []float64 // for groups with damaged rows
	for g := lead; g < lead+groups; g++ {
		var acc consolidator
		if rr.damagedIn(j, j+f) {
			if buf == nil {
				buf = make([]float64, min(f, 4096))
			}
			for left := f; left > 0; {
				chunk := buf[:min(left, int64(len(buf)))]
				rr.read(chunk, j)
				acc.fold(by, chunk, 0, len(chunk), 1, 0)
				j += int64(len(chunk))
				left -= int64(len(chunk))
			}
		} else {
			rr.foldRows(&acc, by, j, j+f)
			j += f
		}
		out[g] = acc.value(by)
	}
	if tail == 1 {
		out[len(out)-1] = math.NaN()
	}
	res.End = res.Start + int64(len(out))*ns
	return res, nil
}

// consolidator folds rows as rpn's reduceSeries and rrdtool's reduce_data:
// unknown rows are skipped; the first known value starts, then AVERAGE
// sums (divided at the end), MIN/MAX compare as rrdtool's macros (on ±0
// the later value wins), LAST keeps the latest; any other function keeps
// the first.
type consolidator struct {
	v   float64
	cnt int
}

// fold adds the n values vals[k], vals[k+stride], … XOR key (stored
// rows are kept XORed with the file's key; 0 for plain values).
func (c *consolidator) fold(cf CF, vals []float64, k, n, stride int, key uint64) {
	if n <= 0 {
		return
	}
	vals = vals[k : k+(n-1)*stride+1]
	k = 0
	// the first known value starts the fold
	for ; c.cnt == 0 && k < len(vals); k += stride {
		if x := math.Float64frombits(math.Float64bits(vals[k]) ^ key); x == x {
			c.v, c.cnt = x, 1
		}
	}
	// one loop per function: this runs over every row of a year
	v, cnt := c.v, c.cnt
	switch cf {
	case Average:
		for ; k < len(vals); k += stride {
			if x := math.Float64frombits(math.Float64bits(vals[k]) ^ key); x == x {
				v += x
				cnt++
			}
		}
	case Min:
		for ; k < len(vals); k += stride {
			if x := math.Float64frombits(math.Float64bits(vals[k]) ^ key); x == x {
				if !(v < x) {
					v = x
				}
				cnt++
			}
		}
	case Max:
		for ; k < len(vals); k += stride {
			if x := math.Float64frombits(math.Float64bits(vals[k]) ^ key); x == x {
				if !(v > x) {
					v = x
				}
				cnt++
			}
		}
	case Last:
		for ; k < len(vals); k += stride {
			if x := math.Float64frombits(math.Float64bits(vals[k]) ^ key); x == x {
				v = x
				cnt++
			}
		}
	default:
		for ; k < len(vals); k += stride {
			if x := math.Float64frombits(math.Float64bits(vals[k]) ^ key); x == x {
				cnt++
			}
		}
	}
	c.v, c.cnt = v, cnt
}

func (c *consolidator) value(cf CF) float64 {
	switch {
	case c.cnt == 0:
		return math.NaN()
	case cf == Average:
		return c.v / float64(c.cnt)
	}
	return c.v
}

// rowReader reads one data source's rows of a fetch plan by result row.
type rowReader struct {
	ring        []float64
	nds, ds     int
	rows        int64
	key         uint64
	first, last int64
	src         int64
	bad         [][2]int64 // result rows [lo, hi) in damaged blocks
}

func newRowReader(spec *Spec, rs rows, p fetchPlan, ds int) *rowReader {
	rr := &rowReader{ring: rs.ring(p.rra), nds: len(spec.DS), ds: ds, rows: spec.RRA[p.rra].Rows,
		first: p.first, last: p.last, src: p.src}
	if kr, ok := rs.(interface{ rowKey() uint64 }); ok {
		rr.key = kr.rowKey()
	}
	if rc, ok := rs.(rowChecker); ok && p.first < p.last {
		// a block is a run of ring rows; where it holds the ring's
		// row src the result rows wrap around, so it may be two runs
		for _, sp := range rc.damagedRows(p.rra, p.src, p.last-p.first) {
			for r := sp.lo; r <= sp.hi; {
				i := p.first + (r-p.src+rr.rows)%rr.rows
				n := sp.hi - r + 1
				if r < p.src && sp.hi >= p.src {
					n = p.src - r
				}
				rr.bad = append(rr.bad, [2]int64{max(i, p.first), min(i+n, p.last)})
				r += n
			}
		}
	}
	return rr
}

// damagedIn tells whether a result row in [j, end) is in a damaged block.
func (rr *rowReader) damagedIn(j, end int64) bool {
	for _, b := range rr.bad {
		if b[0] < end && j < b[1] {
			return true
		}
	}
	return false
}

// foldRows folds result rows [j, end) (none damaged) into acc straight
// from the ring: rows outside the archive are unknown and add nothing.
func (rr *rowReader) foldRows(acc *consolidator, cf CF, j, end int64) {
	i, stop := max(j, rr.first), min(end, rr.last)
	if i >= stop {
		return
	}
	pos := (rr.src + i - rr.first) % rr.rows
	for i < stop {
		n := min(stop-i, rr.rows-pos) // up to the ring's end
		acc.fold(cf, rr.ring, int(pos)*rr.nds+rr.ds, int(n), rr.nds, rr.key)
		i += n
		pos = 0
	}
}

// read fills dst with result rows j, j+1, …: unknown outside the
// archive's rows and in damaged blocks, else the stored value.
func (rr *rowReader) read(dst []float64, j int64) {
	end := j + int64(len(dst))
	nan := math.NaN()
	i := j
	for ; i < min(rr.first, end); i++ {
		dst[i-j] = nan
	}
	if i < rr.last && i < end {
		pos := (rr.src + i - rr.first) % rr.rows
		for i < min(rr.last, end) {
			// one run of ring rows up to the ring's end
			n := min(min(rr.last, end)-i, rr.rows-pos)
			seg := dst[i-j : i-j+n]
			k := int(pos)*rr.nds + rr.ds
			if rr.key == 0 {
				for x := range seg {
					seg[x] = rr.ring[k]
					k += rr.nds
				}
			} else {
				for x := range seg {
					seg[x] = math.Float64frombits(math.Float64bits(rr.ring[k]) ^ rr.key)
					k += rr.nds
				}
			}
			i += n
			pos = 0
		}
	}
	for ; i < end; i++ {
		dst[i-j] = nan
	}
	for _, b := range rr.bad {
		for x := max(b[0], j); x < min(b[1], end); x++ {
			dst[x-j] = nan
		}
	}
}
