package push

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"time"
	"unsafe"

	"rrdash/store"
)

// The Writer's group commit: what a flush takes, its buffers, and how
// each point is settled.

// taken is one series' points a commit took, in time order.
type taken struct {
	st  *seriesState
	pts []bufPoint
}

// bufPool keeps emptied point buffers for the series that get points
// next, by size class (capacity 1<<k): a series holds a buffer beyond
// keepPoints only while it has points buffered, and a time-major stream
// through many series reuses the buffers of the series its last commit
// took instead of allocating (and zeroing, and scanning) each series'
// own.
type bufPool struct {
	free  [bufClasses][][]bufPoint
	bytes int // held in free
}

const (
	// keepPoints bounds the buffers a series keeps for itself between
	// commits (two at most: buf and spare)
	keepPoints = 16
	bufClasses = 13 // up to 4,096 points; larger buffers are not kept
	// maxPoolBytes bounds what the pool holds: the buffers of two
	// commits of 4,000 series with 64 points each (line-protocol bodies
	// of a minute of 800 series, four in flight); a series kept two
	// buffers of its own before, idle or not
	maxPoolBytes = 64 << 20
)

// bufClass is the size class of a buffer for n points: the smallest k
// with 1<<k ≥ n.
func bufClass(n int) uint8 {
	if n <= 1 {
		return 0
	}
	return uint8(min(bits.Len(uint(n-1)), bufClasses-1))
}

func bufClassSize(k uint8) int { return 1 << k }

// get returns an empty buffer for at least n points (at least 4).
func (bp *bufPool) get(n int) []bufPoint {
	k := bufClass(max(n, 4))
	if size := bufClassSize(k); size < n {
		return make([]bufPoint, 0, n) // beyond the classes
	}
	if f := bp.free[k]; len(f) > 0 {
		b := f[len(f)-1]
		f[len(f)-1] = nil
		bp.free[k] = f[:len(f)-1]
		bp.bytes -= cap(b) * int(unsafe.Sizeof(bufPoint{}))
		return b
	}
	return make([]bufPoint, 0, bufClassSize(k))
}

// put keeps b, whose points are cleared, for get (a buffer of a class's
// exact size only, and within maxPoolBytes).
func (bp *bufPool) put(b []bufPoint) {
	c := cap(b)
	if c == 0 {
		return
	}
	k := bufClass(c)
	size := c * int(unsafe.Sizeof(bufPoint{}))
	if bufClassSize(k) != c || bp.bytes+size > maxPoolBytes {
		return
	}
	// No strings or waiters kept alive: past its length a buffer's
	// slots are zero already (flush and insert leave none behind;
	// EnqueueRuns checks), so only its points are cleared.
	clear(b)
	bp.free[k] = append(bp.free[k], b[:0])
	bp.bytes += size
}

// flush applies the points that are ready (all of them when all is set):
// under adaptive commit every buffered point, under MaxDelay those that
// left the grace window or waited MaxDelay. One commit at a time (take,
// create, apply, journal, fsync) keeps every series in time order and is
// the classic group commit: whoever arrives while a commit is in flight
// waits for it and then joins the next one, so groups grow with the load.
// An error is returned only for ctx.
func (w *Writer) flush(ctx context.Context, all bool) error {
	w.flushMu.Lock()
	locked := true
	defer func() {
		if locked {
			w.flushMu.Unlock()
		}
	}()
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now().UnixNano()
	var work []taken
	done := false // work went back to freeWork
	defer func() {
		if !done {
			w.mu.Lock()
			w.putWork(work)
			w.mu.Unlock()
		}
	}()
	type create struct {
		name     string
		start    int64
		units    string
		dsType   store.DSType
		graphite bool
	}
	var creates []create
	w.mu.Lock()
	if n := len(w.freeWork); n > 0 {
		work = w.freeWork[n-1][:0]
		w.freeWork = w.freeWork[:n-1]
	}
	still := w.active[:0] // states that keep buffered points (MaxDelay)
	npts := 0
	for _, st := range w.active {
		name := st.name
		n := len(st.buf)
		if !all && w.maxDelay > 0 {
			cut := st.high - w.grace
			n = 0
			for i, p := range st.buf {
				if p.micros < cut || p.deadline <= now {
					n = i + 1 // everything before a ready point goes too, in order
				}
			}
		}
		if n == 0 {
			still = append(still, st)
			continue
		}
		if !st.exists {
			creates = append(creates, create{name, st.buf[0].sec - w.tmpl.Step, st.buf[0].units, st.buf[0].dsType, st.buf[0].graphite})
			st.exists = true
			st.loaded = false // its data model is the store's choice: ask again
		}
		st.applied = st.buf[n-1].sec
		if st.slot > 0 {
			st.applied = floorDiv(st.applied, st.slot)*st.slot + st.slot - 1
		}
		var pts []bufPoint
		if n == len(st.buf) {
			// all of them (always under adaptive commit): the buffer
			// itself goes, new points go to another from the pool
			pts, st.buf, st.spare = st.buf, st.spare, nil
		} else {
			pts = append(w.pool.get(n), st.buf[:n]...)
			rest := copy(st.buf, st.buf[n:])
			clear(st.buf[rest:])
			st.buf = st.buf[:rest]
		}
		st.want = bufClass(n)
		work = append(work, taken{st, pts})
		npts += n
		if len(st.buf) == 0 {
			st.active = false
		} else {
			still = append(still, st)
		}
	}
	clear(w.active[len(still):])
	w.active = still
	w.mu.Unlock()
	if len(work) == 0 {
		return nil
	}
	// The store work must finish even if the request that happens to run
	// it goes away: other writers wait for the same batch.
	sctx := context.WithoutCancel(ctx)
	failed := map[string]error{}
	var createFatal error
	var createWait func() error // the last asynchronous creation's
	for _, c := range creates {
		spec := w.tmpl
		if c.graphite {
			spec = w.graphiteTmpl
		}
		spec.Start = c.start
		if c.dsType != 0 && c.dsType != spec.DS[0].Type {
			spec.DS = []store.DS{spec.DS[0]} // the template's own stays as it is
			spec.DS[0].Type = c.dsType
			if c.dsType == store.Counter || c.dsType == store.Derive {
				// A counter that goes down was reset: unknown, not a huge
				// negative rate (DERIVE) or a wrap (COUNTER).
				spec.DS[0].Min = 0
			}
		}
		var meta map[string]string
		if c.units != "" || c.graphite {
			meta = map[string]string{}
		}
		if c.units != "" {
			meta["units"] = c.units
		}
		if c.graphite {
			meta[store.MetaModel] = store.ModelGraphite // unless a retention rule says otherwise
		}
		var created bool
		var err error
		if ae, ok := w.sink.(asyncEnsurer); ok {
			// durable with the group's Apply (journaled after it) or the
			// wait below: not one fsync per new series
			var wait func() error
			if created, wait, err = ae.EnsureAsync(c.name, spec, meta); err == nil {
				createWait = wait
			}
		} else {
			created, err = w.sink.EnsureWithMeta(c.name, spec, meta)
		}
		if errors.Is(err, store.ErrClosed) && createFatal == nil {
			// not the input's fault: the whole write fails (503), as an
			// Apply on a closed store does
			createFatal = fmt.Errorf("push: create series %q: %w", c.name, err)
		}
		if err != nil {
			failed[c.name] = fmt.Errorf("create series %q: %w", c.name, err)
		} else if created {
			w.mu.Lock()
			w.counts.Created++
			w.mu.Unlock()
		}
	}
	b := store.Batch{Updates: slices.Grow(w.upd[:0], npts)}
	// A store itself takes a handle per update (store.DB.ApplyHandles):
	// the writer keeps one per series, so the store does not look each
	// point's series up by name again. Only the store itself: a sink that
	// wraps one (and so has ApplyHandles too) may add to its Apply.
	ha, _ := w.sink.(*store.DB)
	var hs []*store.Handle // each update's series handle, for ha
	if ha != nil {
		hs = slices.Grow(w.hs[:0], npts)
	}
	// point index (in work order) of each update when a series failed
	// to be created (its points have none); otherwise the same
	var idx []int
	if len(failed) > 0 {
		idx = slices.Grow(w.idx[:0], npts)
	}
	vals := slices.Grow(w.vals[:0], npts)[:npts] // one backing array for every update's single value
	nums := slices.Grow(w.nums[:0], npts)[:npts] // and for numeric ones
	var perr []error                             // per point, made at the first error
	setErr := func(i int, err error) {
		if perr == nil {
			perr = make([]error, npts)
		}
		perr[i] = err
	}
	i := 0 // point index
	for _, t := range work {
		if len(failed) > 0 {
			if err := failed[t.st.name]; err != nil {
				for range t.pts {
					setErr(i, err)
					i++
				}
				continue
			}
		}
		// The series' updates in place, field by field (Grow made room
		// for every point): not an 80-byte typed copy and an append each.
		m, n0 := len(t.pts), len(b.Updates)
		b.Updates = b.Updates[:n0+m]
		ups, pv, pn := b.Updates[n0:n0+m], vals[i:i+m], nums[i:i+m]
		name, numeric := t.st.name, w.numeric
		for k := range t.pts {
			p, u := &t.pts[k], &ups[k]
			u.Series, u.Time, u.Usec = name, p.sec, p.usec
			switch {
			case !p.numeric:
				pv[k] = p.value
				u.Values, u.Nums = pv[k:k+1:k+1], nil
			case numeric:
				pn[k] = p.num
				u.Values, u.Nums = nil, pn[k:k+1:k+1]
			default:
				pv[k] = string(store.AppendReading(nil, p.num, p.dsType))
				u.Values, u.Nums = pv[k:k+1:k+1], nil
			}
		}
		if ha != nil {
			h, n := &t.st.h, len(hs)
			hs = hs[:n+m]
			for k := range hs[n:] {
				hs[n+k] = h
			}
		}
		if idx != nil {
			for k := range m {
				idx = append(idx, i+k)
			}
		}
		i += m
	}
	fatal := createFatal
	if len(b.Updates) > 0 && fatal == nil {
		// The commit stays in flight until durable: writes that arrive
		// meanwhile gather in the buffer and are committed together next
		// (each series' points of a group reach its archives at once).
		var r store.Result
		var err error
		if ha != nil {
			r, err = ha.ApplyHandles(sctx, b, hs)
		} else {
			r, err = w.sink.Apply(sctx, b)
		}
		if err != nil {
			fatal = fmt.Errorf("push: store apply: %w", err)
		}
		for _, ue := range r.Errors {
			if idx != nil {
				setErr(idx[ue.Index], ue)
			} else {
				setErr(ue.Index, ue)
			}
		}
	}
	if createWait != nil && fatal == nil {
		// creations are durable in order; after the Apply's fsync this
		// returns at once
		if err := createWait(); err != nil {
			fatal = fmt.Errorf("push: create series: %w", err)
		}
	}
	// the store has encoded the batch: its arrays serve the next commit
	clear(b.Updates)
	clear(vals)
	clear(hs)
	w.upd, w.vals, w.nums, w.hs = b.Updates[:0], vals[:0], nums[:0], hs[:0]
	if idx != nil {
		w.idx = idx[:0]
	}
	w.flushMu.Unlock()
	locked = false
	w.mu.Lock()
	defer w.mu.Unlock()
	defer w.evictIdle()
	i = 0
	for _, t := range work {
		for k := 0; k < len(t.pts); {
			if p := &t.pts[k]; perr == nil && fatal == nil && p.extra == nil {
				// applied, one writer's: settle its run of such points
				// at once, as settle would one by one
				j := k + 1
				for j < len(t.pts) && t.pts[j].w == p.w && t.pts[j].extra == nil {
					j++
				}
				w.counts.Applied += int64(j - k)
				if p.w.pending -= j - k; p.w.pending == 0 {
					close(p.w.done)
				}
				i += j - k
				k = j
				continue
			}
			w.settle(&t.pts[k], perr, i, fatal, t.st.name)
			i++
			k++
		}
		if st := t.st; st.spare == nil && cap(t.pts) <= keepPoints {
			clear(t.pts)
			st.spare = t.pts[:0]
		} else {
			w.pool.put(t.pts) // cleared there
		}
	}
	w.putWork(work)
	done = true
	return nil
}

// settle tells the writers of point i (p) of a commit what became of it
// (callers hold mu).
func (w *Writer) settle(p *bufPoint, perr []error, i int, fatal error, series string) {
	var err error
	if perr != nil {
		err = perr[i]
	}
	if fatal != nil || err != nil {
		// What the store holds is no longer known: ask again next time.
		if st := w.series[series]; st != nil {
			st.loaded = false
		}
	}
	late := err != nil && errors.Is(err, store.ErrTooOld)
	switch {
	case fatal != nil:
	case late:
		w.counts.Late++
	case err != nil:
		w.counts.Refused++
	default:
		w.counts.Applied++
	}
	for k := 0; k <= len(p.extra); k++ {
		wt := p.w
		if k < len(p.extra) {
			wt = p.extra[k]
		}
		if fatal != nil && wt.fatal == nil {
			wt.fatal = fatal
		}
		if late && wt == p.w {
			wt.late++
		} else if err != nil && wt == p.w {
			wt.refused++
			if wt.firstErr == nil {
				wt.firstErr = err
			}
		}
		wt.pending--
		if wt.pending == 0 {
			close(wt.done)
		}
	}
}

// putWork keeps a list of taken runs for the next commits (callers
// hold mu), cleared of its strings and waiters, unless two are kept
// already or it is huge.
func (w *Writer) putWork(work []taken) {
	clear(work)
	if work != nil && len(w.freeWork) < 2 && cap(work) <= 1<<20 {
		w.freeWork = append(w.freeWork, work[:0])
	}
}

// maxSeriesStates bounds the per-series state kept between writes. A state
// without buffered points is only a cache of the store's last update, so
// dropping it is safe: it is read again on the next point.
const maxSeriesStates = 1 << 17

func (w *Writer) evictIdle() {
	if len(w.series) <= maxSeriesStates {
		return
	}
	for name, st := range w.series {
		if len(st.buf) == 0 {
			st.evicted = true
			delete(w.series, name)
		}
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
