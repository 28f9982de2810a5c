package push

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"rrdash/store"
)

// Sink is the part of *store.DB the writer needs. Apply must not keep
// the batch's slices once it returns: the writer reuses them.
type Sink interface {
	EnsureWithMeta(name string, spec store.Spec, meta map[string]string) (bool, error)
	Apply(ctx context.Context, b store.Batch) (store.Result, error)
	LastUpdate(name string) (int64, error)
}

var _ Sink = (*store.DB)(nil)

// asyncEnsurer is a sink that creates series without waiting for each
// (store.DB.EnsureAsync): a writer creates a group's new series and waits
// once, so 10,000 new series cost one fsync rather than 10,000.
type asyncEnsurer interface {
	EnsureAsync(name string, spec store.Spec, meta map[string]string) (created bool, wait func() error, err error)
}

var _ asyncEnsurer = (*store.DB)(nil)

// lateBounder is the store's rule for late points of a series, by its data
// model (store.DB.LateBound): a sink without it is read as rrdtool's model,
// where a point at or before the last update is late.
type lateBounder interface {
	LateBound(name string) (bound, slot int64, overwrite bool, err error)
}

var _ lateBounder = (*store.DB)(nil)

// WriterConfig configures a Writer.
type WriterConfig struct {
	// Template creates series on first sight; its Start is set from the
	// first point (one step before it). Zero: DefaultTemplate.
	Template store.Spec
	// GraphiteTemplate creates the series of Graphite-like points
	// (Point.Graphite: plaintext, pickle, statsd). Zero: Template when
	// Template is set, else store.GraphiteTemplate (AVERAGE only, as
	// carbon keeps). Its step must be Template's.
	GraphiteTemplate store.Spec
	// MaxDelay chooses how points wait before they are committed.
	//
	// Zero (the default) is adaptive group commit: a write is committed
	// at once unless a commit is in flight, and the writes that arrive
	// meanwhile share the next commit, so an idle writer acknowledges a
	// push within about one fsync and a busy one batches. Points are applied
	// in time order within a commit; a point at or before its series'
	// last committed second is late.
	//
	// Above zero, each series' points wait behind its newest point for
	// stragglers (Grace, in point time), but at most MaxDelay of wall
	// time, so out-of-order points across writes are still applied in
	// time order, at the cost of up to MaxDelay per acknowledgement.
	MaxDelay time.Duration
	// Grace is how far (in point time) a series' points wait behind its
	// newest point when MaxDelay is set. Default: the template's step.
	// Setting it without MaxDelay is an error.
	Grace time.Duration
}

// adaptiveRunEvery is how often Run applies points left behind by writes
// whose context ended, under adaptive commit.
const adaptiveRunEvery = 250 * time.Millisecond

// DefaultTemplate is store.DefaultTemplate, the template every source shares.
func DefaultTemplate() store.Spec { return store.DefaultTemplate() }

// WriteResult tells what became of the points of one Write.
type WriteResult struct {
	// Accepted points are durable, or were replaced by a later point of
	// the same series and second that is durable (last write wins).
	Accepted int
	// Late points were at or before their series' last stored second; the
	// store keeps whole seconds in time order, so they are not stored.
	Late int
	// Replaced counts points of this write that replaced a buffered point
	// of the same series and second.
	Replaced int
	// Refused points were refused by the store; FirstRefusal says why.
	Refused      int
	FirstRefusal error
}

// Counts are the writer's running totals.
type Counts struct {
	Accepted, Applied, Late, Replaced, Refused, Created int64
}

type waiter struct {
	pending  int
	late     int // refused by the store as too old
	refused  int
	firstErr error
	fatal    error
	done     chan struct{}
}

type bufPoint struct {
	micros   int64
	sec      int64
	usec     int64
	value    string
	num      float64 // the value when numeric
	numeric  bool
	units    string
	dsType   store.DSType
	graphite bool
	deadline int64 // wall time, unix nanoseconds
	w        *waiter
	extra    []*waiter // writers whose point this one replaced
}

// seriesRef is a stream's handle on the writer's state of one series: the
// writer reads and sets st (under its mu) and checks it is still its own.
type seriesRef struct{ st *seriesState }

// SeriesRef is a handle a source keeps next to a series name it sees
// again and again (its name cache): a point carrying it (Point.SetRef)
// finds the writer's state of its series without a lookup by name. The
// zero value is ready. Use one per series name, with one Writer.
type SeriesRef = seriesRef

// SetRef attaches r, the handle of the point's series name, to p.
func (p *Point) SetRef(r *SeriesRef) { p.ref = r }

type seriesState struct {
	w       *Writer // the owner (a seriesRef may be handed to another)
	evicted bool    // dropped from Writer.series: refs to it look up again
	name    string
	active  bool // in Writer.active: has buffered points
	loaded  bool
	exists  bool
	applied int64 // a point at or before this second is late
	// slot is the step of a Graphite series (a point makes the rest of
	// its slot late); overwrite: the store takes late points itself
	slot      int64
	overwrite bool
	high      int64 // newest buffered or applied point, microseconds
	// buf holds the buffered points in time order: a buffer of the
	// writer's pool (bufPool), handed whole to the commit that takes them
	// all, which gives it back to the pool once done (or, a small one, to
	// the series as its spare)
	buf []bufPoint
	// spare is a small emptied buffer of the series' own (at most
	// keepPoints): a series that gets a few points a commit (Graphite's
	// time-major stream) alternates between buf and spare as before the
	// pool, without a pool round trip per commit
	spare []bufPoint
	// want is the size class (bufClass) of what the series' last commit
	// took: its next buffer starts at that size, not growing up to it
	want uint8
	h    store.Handle // the store's handle on the series (a *store.DB sink)
}

// Writer applies points to a Sink: it creates series from the template,
// holds each series' points for the grace window and applies them in time
// order, and lets a Write return only once its points are durable. It is
// safe for concurrent use; concurrent writes share store batches (and so
// fsyncs).
type Writer struct {
	sink Sink
	tmpl store.Spec
	// graphiteTmpl creates the series of Graphite-like points
	graphiteTmpl store.Spec
	grace        int64 // microseconds
	maxDelay     time.Duration
	// numeric: the sink takes numeric readings (store.Update.Nums);
	// other sinks (a cluster's log, a remote store) get their text
	numeric bool

	flushMu sync.Mutex // one commit in flight at a time: every series stays in time order
	// the store batch's backing arrays, reused by the commit in flight
	// (under flushMu)
	upd  []store.Update
	vals []string
	nums []float64
	idx  []int
	hs   []*store.Handle

	mu     sync.Mutex
	series map[string]*seriesState
	// active are the states with buffered points (a slice, not a map: a
	// time-major stream puts every series in it once per group)
	active []*seriesState
	states []*seriesState // Enqueue's per-point states, reused (under mu)
	// freeWork keeps flush's lists of taken points for reuse (under mu):
	// a group's list is still read after the next commit starts, so two
	freeWork [][]taken // lists of taken runs
	pool     bufPool   // series' point buffers (under mu)
	counts   Counts
}

// NewWriter checks cfg and returns a writer.
func NewWriter(sink Sink, cfg WriterConfig) (*Writer, error) {
	if cfg.GraphiteTemplate.Step == 0 {
		cfg.GraphiteTemplate = cfg.Template
		if cfg.Template.Step == 0 {
			cfg.GraphiteTemplate = store.GraphiteTemplate()
		}
	}
	if cfg.Template.Step == 0 {
		cfg.Template = DefaultTemplate()
	}
	for _, t := range []struct {
		what string
		spec *store.Spec
	}{{"series template", &cfg.Template}, {"Graphite series template", &cfg.GraphiteTemplate}} {
		if len(t.spec.DS) != 1 {
			return nil, fmt.Errorf("push: %s: want exactly one data source, got %d", t.what, len(t.spec.DS))
		}
		if err := t.spec.Validate(); err != nil {
			return nil, fmt.Errorf("push: %s: %w", t.what, err)
		}
	}
	if cfg.GraphiteTemplate.Step != cfg.Template.Step {
		return nil, fmt.Errorf("push: Graphite series template: step %d s, want the series template's %d s", cfg.GraphiteTemplate.Step, cfg.Template.Step)
	}
	if cfg.Grace < 0 || cfg.MaxDelay < 0 {
		return nil, fmt.Errorf("push: negative grace %v or max delay %v", cfg.Grace, cfg.MaxDelay)
	}
	if cfg.Grace > 0 && cfg.MaxDelay == 0 {
		return nil, fmt.Errorf("push: grace %v needs a max delay: without one every write is committed at once", cfg.Grace)
	}
	if cfg.MaxDelay > 0 && cfg.Grace == 0 {
		cfg.Grace = time.Duration(cfg.Template.Step) * time.Second
	}
	_, numeric := sink.(*store.DB)
	return &Writer{
		sink: sink, numeric: numeric, tmpl: cfg.Template, graphiteTmpl: cfg.GraphiteTemplate, grace: int64(cfg.Grace / time.Microsecond), maxDelay: cfg.MaxDelay,
		series: map[string]*seriesState{},
	}, nil
}

// Counts returns the running totals.
func (w *Writer) Counts() Counts {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.counts
}

func (w *Writer) seriesFor(name string) (*seriesState, error) {
	st := w.series[name]
	if st == nil {
		st = &seriesState{w: w, name: name}
		w.series[name] = st
	}
	if !st.loaded {
		var last int64
		var err error
		st.slot, st.overwrite = 0, false
		if lb, ok := w.sink.(lateBounder); ok {
			last, st.slot, st.overwrite, err = lb.LateBound(name)
		} else {
			last, err = w.sink.LastUpdate(name)
		}
		switch {
		case err == nil:
			st.exists, st.applied = true, last
		case errors.Is(err, store.ErrNotFound):
			st.exists, st.applied = false, math.MinInt64
		default:
			return nil, fmt.Errorf("series %q: last update: %w", name, err)
		}
		st.loaded = true
		if hi := st.applied * 1e6; st.exists && hi > st.high {
			st.high = hi
		}
	}
	return st, nil
}

// stateFor is seriesFor through r, the series' handle when the source
// keeps one (nil otherwise): a handle still valid needs no lookup.
func (w *Writer) stateFor(name string, r *seriesRef) (*seriesState, error) {
	if r != nil && r.st != nil && r.st.w == w && !r.st.evicted && r.st.loaded && r.st.name == name {
		return r.st, nil
	}
	st, err := w.seriesFor(name)
	if err != nil {
		return nil, err
	}
	if r != nil {
		r.st = st
	}
	return st, nil
}

// Write buffers pts and returns once every accepted point is durable in
// the sink (or ctx ends: the points then stay buffered and are applied by
// a later Write or Flush, or by Run). An error means the store failed: the
// points of this write may not be durable.
func (w *Writer) Write(ctx context.Context, pts []Point) (WriteResult, error) {
	p, err := w.Enqueue(pts)
	if err != nil {
		return WriteResult{}, err
	}
	return p.Wait(ctx)
}

// Pending is a write taken by Enqueue, not yet known to be durable.
type Pending struct {
	w        *Writer // nil: already finished (see Submit)
	wt       *waiter
	res      WriteResult
	accepted int
	err      error
}

// Enqueue takes pts in the order of calls (a caller may reuse pts once it
// returns) and returns at once; Wait on the result makes them durable.
// A caller that reads a stream (a request body, a Graphite connection)
// enqueues batch after batch in order and waits for them while it reads
// on. An error means the store could not be asked about a series: none of
// pts was taken.
func (w *Writer) Enqueue(pts []Point) (*Pending, error) {
	pd, deadline := w.newPending()
	res, wt := &pd.res, pd.wt
	w.mu.Lock()
	defer w.mu.Unlock()
	// Look every series up first, so a store error leaves nothing half done.
	// A series' points usually come together (remote_write, line
	// protocol): one map lookup for each run of them, kept for the second
	// pass.
	states := w.states[:0]
	defer func() {
		clear(states)
		w.states = states[:0]
	}()
	var st *seriesState
	for i := range pts {
		if i == 0 || pts[i].Series != pts[i-1].Series {
			var err error
			if st, err = w.stateFor(pts[i].Series, pts[i].ref); err != nil {
				return nil, err
			}
		}
		states = append(states, st)
	}
	for i, p := range pts {
		st := states[i]
		if p.Sec > maxSec || p.Sec < -maxSec || p.Usec < 0 || p.Usec >= 1e6 {
			refuseTime(res, p.Series, p.Sec, p.Usec)
			continue
		}
		if p.Sec <= st.applied && !st.overwrite {
			res.Late++
			continue
		}
		bp := bufPoint{micros: p.Sec*1e6 + p.Usec, sec: p.Sec, usec: p.Usec, value: p.Value, num: p.Num, numeric: p.Numeric, units: p.Units, dsType: p.Type, graphite: p.Graphite, deadline: deadline, w: wt}
		if st.insert(bp) {
			res.Replaced++
		}
		wt.pending++
		if bp.micros > st.high {
			st.high = bp.micros
		}
		if !st.active {
			st.active = true
			w.active = append(w.active, st)
		}
	}
	return w.taken(pd), nil
}

// newPending starts a write: its Pending, and the deadline its points
// get (adaptive commit: ready at once).
func (w *Writer) newPending() (*Pending, int64) {
	pd := &Pending{w: w, wt: &waiter{done: make(chan struct{})}}
	deadline := int64(math.MinInt64)
	if w.maxDelay > 0 {
		deadline = time.Now().Add(w.maxDelay).UnixNano()
	}
	return pd, deadline
}

// taken counts what a write took and refused (under w.mu) and returns it.
func (w *Writer) taken(pd *Pending) *Pending {
	res, wt := &pd.res, pd.wt
	w.counts.Late += int64(res.Late)
	w.counts.Refused += int64(res.Refused)
	w.counts.Replaced += int64(res.Replaced)
	w.counts.Accepted += int64(wt.pending)
	pd.accepted = wt.pending
	return pd
}

// refuseTime counts a point whose time is out of range.
func refuseTime(res *WriteResult, series string, sec, usec int64) {
	res.Refused++
	if res.FirstRefusal == nil {
		res.FirstRefusal = fmt.Errorf("series %q: time %d.%06d out of range", series, sec, usec)
	}
}

// Wait returns once every accepted point of the write is durable (or ctx
// ends: the points stay buffered). Under adaptive commit the caller
// commits what is buffered itself unless another commit is being
// prepared, and then joins the next one (leader and followers).
func (pd *Pending) Wait(ctx context.Context) (WriteResult, error) {
	res := pd.res
	if pd.w == nil || pd.accepted == 0 {
		return res, pd.err
	}
	w, wt := pd.w, pd.wt
	var tick <-chan time.Time
	if w.maxDelay > 0 {
		// Points wait for stragglers until their deadline: look again then.
		timer := time.NewTimer(w.maxDelay)
		defer timer.Stop()
		tick = timer.C
		for {
			if err := w.flush(ctx, false); err != nil {
				return res, err
			}
			select {
			case <-wt.done:
				return pd.finish(res)
			case <-tick:
				// Again later, should the wall clock have stepped back.
				timer.Reset(w.maxDelay)
			case <-ctx.Done():
				return res, ctx.Err()
			}
		}
	}
	// Adaptive: every buffered point is ready, so this flush takes ours
	// unless an earlier one already did; either way done closes once that
	// commit is durable.
	if err := w.flush(ctx, false); err != nil {
		return res, err
	}
	select {
	case <-wt.done:
		return pd.finish(res)
	case <-ctx.Done():
		return res, ctx.Err()
	}
}

func (pd *Pending) finish(res WriteResult) (WriteResult, error) {
	wt := pd.wt
	res.Refused += wt.refused
	if res.FirstRefusal == nil {
		res.FirstRefusal = wt.firstErr
	}
	res.Accepted = pd.accepted - wt.refused
	return res, wt.fatal
}

// Enqueuer is a PointWriter that can take points now and make them
// durable later (*Writer is one).
type Enqueuer interface {
	Enqueue(pts []Point) (*Pending, error)
}

var _ Enqueuer = (*Writer)(nil)

// Submit hands pts to pw in order: through Enqueue when pw has it,
// otherwise by writing them now (the result is then already final). The
// caller may reuse pts once Submit returns.
func Submit(ctx context.Context, pw PointWriter, pts []Point) (*Pending, error) {
	if e, ok := pw.(Enqueuer); ok {
		return e.Enqueue(pts)
	}
	res, err := pw.Write(ctx, pts)
	return &Pending{res: res, err: err}, nil
}

// insert keeps buf sorted by time. A point in the same second as a
// buffered one replaces it (last write wins) and inherits its waiters;
// insert reports whether that happened.
func (st *seriesState) insert(p bufPoint) bool {
	if len(st.buf) == cap(st.buf) {
		// from the pool, not append's growth: a stream of many series
		// would otherwise allocate every series' buffers up to the size
		// of its commits, and keep them
		nb := st.w.pool.get(max(2*len(st.buf), bufClassSize(st.want)))
		nb = append(nb, st.buf...)
		st.w.pool.put(st.buf)
		st.buf = nb
	}
	if n := len(st.buf); n == 0 || st.buf[n-1].micros < p.micros && st.buf[n-1].sec != p.sec {
		st.buf = append(st.buf, p) // the usual case: newer than every buffered point
		return false
	}
	i := len(st.buf)
	for i > 0 && st.buf[i-1].micros > p.micros {
		i--
	}
	for _, j := range []int{i - 1, i} {
		if j >= 0 && j < len(st.buf) && st.buf[j].sec == p.sec {
			old := &st.buf[j]
			p.extra = append(append(old.extra, old.w), p.extra...)
			p.deadline = min(p.deadline, old.deadline)
			st.buf = append(st.buf[:j], st.buf[j+1:]...)
			if j < i {
				i--
			}
			st.buf = insertAt(st.buf, i, p)
			return true
		}
	}
	st.buf = insertAt(st.buf, i, p)
	return false
}

func insertAt(b []bufPoint, i int, p bufPoint) []bufPoint {
	if i == len(b) {
		return append(b, p)
	}
	b = append(b, bufPoint{})
	copy(b[i+1:], b[i:])
	b[i] = p
	return b
}

// Run applies, every MaxDelay (adaptive: every 250ms), points left behind by writes whose context
// ended, and everything buffered once ctx ends. Optional: without it such
// points wait for the next Write or Flush.
func (w *Writer) Run(ctx context.Context) error {
	every := w.maxDelay
	if every == 0 {
		every = adaptiveRunEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := w.flush(ctx, false); err != nil && ctx.Err() == nil {
				return err
			}
		case <-ctx.Done():
			return w.Flush(context.WithoutCancel(ctx))
		}
	}
}

// Flush applies every buffered point now (for shutdown).
func (w *Writer) Flush(ctx context.Context) error { return w.flush(ctx, true) }
