package push

import (
	"rrdash/store"
)

// NumRun is a run of numeric points of one series, as remote_write
// sends a TimeSeries: EnqueueRuns takes it without a Point per sample
// (104 bytes built, copied and cleared each).
type NumRun struct {
	Series string
	// Ref is the series' handle when the source keeps one (Point.SetRef),
	// else nil.
	Ref *SeriesRef
	// Type is the data source type a new series gets, as Point.Type.
	Type    store.DSType
	Samples []NumSample
}

// NumSample is one reading of a NumRun: Point's Sec, Usec and Num.
type NumSample struct {
	Sec, Usec int64
	Num       float64
}

// RunEnqueuer is an Enqueuer that also takes runs (*Writer is one).
type RunEnqueuer interface {
	EnqueueRuns(runs []NumRun) (*Pending, error)
}

var _ RunEnqueuer = (*Writer)(nil)

// Points appends the points of runs to pts, in order: what EnqueueRuns
// takes as Enqueue would take it.
func Points(pts []Point, runs []NumRun) []Point {
	for i := range runs {
		r := &runs[i]
		for _, s := range r.Samples {
			pts = append(pts, Point{Series: r.Series, Sec: s.Sec, Usec: s.Usec, Num: s.Num, Numeric: true, Type: r.Type, ref: r.Ref})
		}
	}
	return pts
}

// EnqueueRuns is Enqueue of Points(nil, runs): the same points, taken
// with the same results, without a Point each.
func (w *Writer) EnqueueRuns(runs []NumRun) (*Pending, error) {
	pd, deadline := w.newPending()
	res, wt := &pd.res, pd.wt
	w.mu.Lock()
	defer w.mu.Unlock()
	// Every series first, so a store error leaves nothing half done.
	states := w.states[:0]
	defer func() {
		clear(states)
		w.states = states[:0]
	}()
	for i := range runs {
		st, err := w.stateFor(runs[i].Series, runs[i].Ref)
		if err != nil {
			return nil, err
		}
		states = append(states, st)
	}
	for i := range runs {
		r, st := &runs[i], states[i]
		if len(r.Samples) == 0 {
			continue
		}
		// Room for the whole run at once: insert then never grows the
		// buffer, and a point newer than every buffered one is stored
		// in place.
		st.reserve(len(r.Samples))
		taken := st.takeRun(r, deadline, wt, res)
		wt.pending += taken
		if taken > 0 && !st.active {
			st.active = true
			w.active = append(w.active, st)
		}
	}
	return w.taken(pd), nil
}

// takeRun buffers the samples of r, its series' run (room reserved),
// as Enqueue does a point each, and returns how many it took; res counts
// the others. The usual sample (in range, not late, newer than every
// buffered point) is taken by a loop that calls nothing, so its values
// stay in registers; any other goes through takeOne.
func (st *seriesState) takeRun(r *NumRun, deadline int64, wt *waiter, res *WriteResult) (taken int) {
	samples, typ := r.Samples, r.Type
	for k := 0; k < len(samples); k++ {
		buf, high, applied, overwrite := st.buf, st.high, st.applied, st.overwrite
		for ; k < len(samples); k++ {
			s := &samples[k]
			sec, usec := s.Sec, s.Usec
			if sec > maxSec || sec < -maxSec || usec < 0 || usec >= 1e6 || sec <= applied && !overwrite {
				break
			}
			micros := sec*1e6 + usec
			n := len(buf)
			if n == cap(buf) || n > 0 && (buf[n-1].micros >= micros || buf[n-1].sec == sec) {
				break
			}
			// Field by field: a bufPoint literal is a 112-byte typed copy
			// (write barriers and all). A slot past a buffer's length is
			// zero (the pool and flush clear them, insert leaves none
			// behind); a waiter would show it is not: every buffered
			// point has one.
			bp := &buf[:n+1][n]
			if bp.w != nil {
				break
			}
			buf = buf[:n+1]
			bp.micros, bp.sec, bp.usec, bp.num, bp.numeric, bp.dsType, bp.deadline = micros, sec, usec, s.Num, true, typ, deadline
			bp.w = wt
			taken++
			high = max(high, micros)
		}
		st.buf, st.high = buf, high
		if k < len(samples) {
			taken += st.takeOne(r.Series, &samples[k], typ, deadline, wt, res)
		}
	}
	return taken
}

// takeOne buffers s as Enqueue does a point, returning 1 if it took it.
func (st *seriesState) takeOne(series string, s *NumSample, typ store.DSType, deadline int64, wt *waiter, res *WriteResult) int {
	if s.Sec > maxSec || s.Sec < -maxSec || s.Usec < 0 || s.Usec >= 1e6 {
		refuseTime(res, series, s.Sec, s.Usec)
		return 0
	}
	if s.Sec <= st.applied && !st.overwrite {
		res.Late++
		return 0
	}
	bp := bufPoint{micros: s.Sec*1e6 + s.Usec, sec: s.Sec, usec: s.Usec, num: s.Num, numeric: true, dsType: typ, deadline: deadline, w: wt}
	if st.insert(bp) {
		res.Replaced++
	}
	st.high = max(st.high, bp.micros)
	return 1
}

// reserve makes room for n more points in st.buf, from the pool as
// insert grows it.
func (st *seriesState) reserve(n int) {
	if cap(st.buf)-len(st.buf) >= n {
		return
	}
	nb := st.w.pool.get(max(len(st.buf)+n, 2*len(st.buf), bufClassSize(st.want)))
	nb = append(nb, st.buf...)
	st.w.pool.put(st.buf)
	st.buf = nb
}
