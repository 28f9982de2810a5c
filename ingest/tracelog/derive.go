package tracelog

import (
	"fmt"
	"slices"
)

// DSNames are the data sources of every tracelog series, in order.
var DSNames = []string{
	"requests", "arrivals", "errors", "backlog", "backlog_max", "active", "maxrate",
	"wait_p50", "wait_p95", "service_p50", "service_p95", "service_p99",
	"response_p50", "response_p95", "response_p99",
}

// SeriesPrefix starts the name of every tracelog series.
const SeriesPrefix = "tracelog."

// Row is one closed step of one series: the update to write at End (seconds),
// values in DSNames order ("U" when unknown).
type Row struct {
	Series string
	End    int64
	Values []string
}

// FloorFunc is called once per series, when its first record is seen at
// first (µs). It returns the start (seconds, a multiple of the step) of the
// first step the deriver may still write: steps before it were written
// earlier and their records only rebuild state. created reports that the
// series is new: its steps before the first record are written as unknown.
type FloorFunc func(series string, first int64) (start int64, created bool, err error)

// DeriverConfig configures a Deriver.
type DeriverConfig struct {
	Step   int64 // seconds per step; default 60
	Grace  int64 // seconds a step stays open after its end; default 10
	MaxGap int64 // seconds of silence written as steps; longer gaps stay unknown. Default 7 days.
	// MaxAge is how long (seconds) a request may stay in flight before it is
	// taken for lost (its process died without logging its end). Default 30 minutes.
	MaxAge  int64
	Threads map[string]int64 // configured thread counts by series name
}

// interval kinds
const (
	kWait   = iota // I (B for -M logs) → C (or A)
	kActive        // B → E
	kApp           // C → A
	nKinds
)

type event struct {
	t     int64
	kind  uint8
	delta int8
}

type fileMin struct {
	file int32
	off  int64
}

type step struct {
	requests, arrivals, errors int64
	ev                         []event
	unsorted                   bool
	wait, service, response    []int64
	files                      []fileMin
}

func (s *step) reset() {
	s.requests, s.arrivals, s.errors = 0, 0, 0
	s.ev = s.ev[:0]
	s.unsorted = false
	s.wait, s.service, s.response = s.wait[:0], s.service[:0], s.response[:0]
	s.files = s.files[:0]
}

func (s *step) note(file int32, off int64) {
	if file < 0 {
		return
	}
	for k := range s.files {
		if s.files[k].file == file {
			if off < s.files[k].off {
				s.files[k].off = off
			}
			return
		}
	}
	s.files = append(s.files, fileMin{file, off})
}

type series struct {
	name       string
	next       int64   // µs start of the first open step
	first      int64   // µs start of the first step this run may write
	dataFrom   int64   // µs first record of a series created by this run: earlier empty steps are unknown
	open       []*step // open[k] covers next + k·step; nil = nothing recorded
	base       [nKinds]int64
	wm         int64 // latest record time seen (µs)
	threadsBL  int64 // most requests in the application seen while the backlog was non-zero
	threadsAll int64 // most requests in the application seen at all
	cfgThreads int64
	procs      []*Process
}

// request is the state of one request in flight.
type request struct {
	file       int32
	off        int64 // offset of the request's first line in file
	t0         int64 // time of its first record
	b, i, c, a int64
	flags      uint16
}

const (
	fB uint16 = 1 << iota
	fI
	fC
	fA
	fWait   // waiting interval open
	fApp    // application interval open
	fActive // active interval open
	fErr    // error already counted
	fWaitFromB
)

// Process is the request state of one logging process (host + program + pid).
type Process struct {
	s    *series
	key  string
	reqs map[string]*request
	sawC bool
	last int64 // time of its latest record
	gone bool  // forgotten after a long silence; Deriver.Process makes a new one
}

// Deriver folds records into per-step values. Not safe for concurrent use.
type Deriver struct {
	cfg      DeriverConfig
	stepUs   int64
	graceUs  int64
	maxGapUs int64
	floor    FloorFunc
	series   map[string]*series
	order    []*series // creation order, for deterministic output
	procs    map[string]*Process
	free     []*step
	freeReq  []*request
	rows     []Row
	// Late counts records that arrived after their step was closed.
	Late int64
	// Expired counts requests taken for lost after MaxAge in flight.
	Expired int64
}

// NewDeriver returns a deriver. floor may be nil (every series starts at its first record).
func NewDeriver(cfg DeriverConfig, floor FloorFunc) *Deriver {
	if cfg.Step <= 0 {
		cfg.Step = 60
	}
	if cfg.Grace < 0 {
		cfg.Grace = 0
	}
	if cfg.MaxGap <= 0 {
		cfg.MaxGap = 7 * 86400
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 30 * 60
	}
	return &Deriver{
		cfg: cfg, stepUs: cfg.Step * 1e6, graceUs: cfg.Grace * 1e6, maxGapUs: cfg.MaxGap * 1e6,
		floor: floor, series: map[string]*series{}, procs: map[string]*Process{},
	}
}

// Step returns the step in seconds.
func (d *Deriver) Step() int64 { return d.cfg.Step }

// Process returns the process with the given key, creating it (and its
// series, named SeriesPrefix+instance) on first sight. key may alias a line buffer.
func (d *Deriver) Process(key []byte, instance func() string) *Process {
	if p, ok := d.procs[string(key)]; ok {
		return p
	}
	name := SeriesPrefix + instance()
	s := d.series[name]
	if s == nil {
		s = &series{name: name, next: -1, cfgThreads: d.cfg.Threads[name]}
		d.series[name] = s
		d.order = append(d.order, s)
	}
	p := &Process{s: s, key: string(key), reqs: map[string]*request{}}
	d.procs[p.key] = p
	s.procs = append(s.procs, p)
	return p
}

// Series returns the name of the process's series.
func (p *Process) Series() string { return p.s.name }

// Add folds one parsed record of process p, read at offset off of file.
// Records of custom codes must not be passed. The error is only from the floor function.
func (d *Deriver) Add(p *Process, file int32, off int64, r *Record) (warn string, err error) {
	s := p.s
	t := r.Time
	p.last = max(p.last, t)
	if s.next < 0 {
		if err := d.initSeries(s, t); err != nil {
			return "", err
		}
	}
	if t < s.next && t >= s.first {
		d.Late++
	}
	switch r.Code {
	case CodeStart, CodeStop:
		for id, q := range p.reqs {
			d.endAll(s, q, t, file, off)
			delete(p.reqs, id)
			d.freeReq = append(d.freeReq, q)
		}
		d.noteAt(s, t, file, off)
	case CodeBegin:
		q := p.reqs[string(r.ID)]
		if q != nil {
			// An id still in flight is reused: its end was never logged.
			warn = "B for request id still in flight; previous request dropped"
			d.endAll(s, q, t, file, off)
		} else {
			q = d.newReq()
			p.reqs[string(r.ID)] = q
		}
		*q = request{file: file, off: off, t0: t, b: t, flags: fB | fActive}
		d.event(s, t, kActive, 1, file, off)
		if !p.sawC && r.NoFraction && r.TSeparated {
			// Zope 2 -M: no C records; the backlog is B → A.
			q.flags |= fWait | fWaitFromB
			d.event(s, t, kWait, 1, file, off)
		}
		if k := d.stepOf(s, t); k != nil {
			k.arrivals++
		}
	case CodeInput:
		q := d.get(p, r.ID, t, file, off)
		if q.flags&(fI|fC|fA) == 0 && q.flags&fWait == 0 {
			q.flags |= fI | fWait
			q.i = t
			d.event(s, t, kWait, 1, q.file, q.off)
		} else {
			q.flags |= fI
			d.noteAt(s, t, q.file, q.off)
		}
	case CodeApp:
		p.sawC = true
		q := d.get(p, r.ID, t, file, off)
		if q.flags&fWait != 0 {
			q.flags &^= fWait
			d.end(s, q, kWait, t)
			if q.flags&fI != 0 && q.flags&fWaitFromB == 0 {
				d.sample(s, t, t-q.i, 0)
			}
		}
		if q.flags&(fC|fA) == 0 {
			q.flags |= fC | fApp
			q.c = t
			d.event(s, t, kApp, 1, q.file, q.off)
		}
	case CodeAnswer:
		q := p.reqs[string(r.ID)]
		if q == nil {
			warn = "A without B"
			q = d.get(p, r.ID, t, file, off)
		}
		q.flags |= fA
		q.a = t
		if q.flags&fWait != 0 {
			q.flags &^= fWait
			d.end(s, q, kWait, t)
			if q.flags&fWaitFromB != 0 {
				d.sample(s, t, t-q.b, 0)
			}
		}
		if q.flags&fApp != 0 {
			q.flags &^= fApp
			d.end(s, q, kApp, t)
			d.sample(s, t, t-q.c, 1)
		} else {
			d.noteAt(s, t, q.file, q.off)
		}
		if q.flags&fErr == 0 && (Status(r.Data) >= 500 || HasError(r.Data)) {
			q.flags |= fErr
			if k := d.stepOf(s, t); k != nil {
				k.errors++
			}
		}
	case CodeEnd:
		q := p.reqs[string(r.ID)]
		if q == nil {
			// The request began before the log did: count it, nothing else is known.
			if k := d.stepAt(s, t, file, off); k != nil {
				k.requests++
				if HasError(r.Data) {
					k.errors++
				}
			}
			break
		}
		delete(p.reqs, string(r.ID))
		if q.flags&fB != 0 {
			d.sample(s, t, t-q.b, 2)
		}
		d.endAll(s, q, t, q.file, q.off)
		if k := d.stepAt(s, t, q.file, q.off); k != nil {
			k.requests++
			if q.flags&fErr == 0 && HasError(r.Data) {
				k.errors++
			}
		}
		d.freeReq = append(d.freeReq, q)
	}
	if t > s.wm {
		s.wm = t
		d.closeUpTo(s, t)
	}
	return warn, nil
}

func (d *Deriver) newReq() *request {
	if n := len(d.freeReq); n > 0 {
		q := d.freeReq[n-1]
		d.freeReq = d.freeReq[:n-1]
		return q
	}
	return &request{}
}

// get returns the request with id, creating a partial one (a request that
// began before the log did) if it is unknown.
func (d *Deriver) get(p *Process, id []byte, t int64, file int32, off int64) *request {
	if q := p.reqs[string(id)]; q != nil {
		return q
	}
	q := d.newReq()
	*q = request{file: file, off: off, t0: t}
	p.reqs[string(id)] = q
	return q
}

// endAll closes every interval still open for q at t.
func (d *Deriver) endAll(s *series, q *request, t int64, file int32, off int64) {
	if q.flags&fWait != 0 {
		d.end(s, q, kWait, t)
	}
	if q.flags&fApp != 0 {
		d.end(s, q, kApp, t)
	}
	if q.flags&fActive != 0 {
		d.end(s, q, kActive, t)
	}
	q.flags &^= fWait | fApp | fActive
	d.noteAt(s, t, file, off)
}

// end closes q's interval of kind at t, never before it began: records of
// one request may carry times out of order.
func (d *Deriver) end(s *series, q *request, kind uint8, t int64) {
	var began int64
	switch {
	case kind == kActive:
		began = q.b
	case kind == kApp:
		began = q.c
	case q.flags&fWaitFromB != 0:
		began = q.b
	default:
		began = q.i
	}
	d.event(s, max(t, began), kind, -1, q.file, q.off)
}

func (d *Deriver) initSeries(s *series, first int64) error {
	start := floorDiv(first-d.graceUs, d.stepUs) * d.stepUs
	created := true
	if d.floor != nil {
		f, c, err := d.floor(s.name, first)
		if err != nil {
			return fmt.Errorf("series %s: %w", s.name, err)
		}
		start, created = f*1e6, c
	}
	s.next, s.first = start, start
	if created {
		s.dataFrom = first
	}
	return nil
}

// stepOf returns the open step holding t, or nil if t is before the first
// open step (its step is closed: only state changes count).
func (d *Deriver) stepOf(s *series, t int64) *step {
	if t < s.next {
		return nil
	}
	k := (t - s.next) / d.stepUs
	if k >= int64(len(s.open)) {
		if k > d.maxGapUs/d.stepUs {
			// A long silence: close what is open and leave the gap unwritten.
			d.closeAll(s)
			s.next = floorDiv(t, d.stepUs) * d.stepUs
			k = 0
		}
		for int64(len(s.open)) <= k {
			s.open = append(s.open, nil)
		}
	}
	st := s.open[k]
	if st == nil {
		if n := len(d.free); n > 0 {
			st = d.free[n-1]
			d.free = d.free[:n-1]
		} else {
			st = &step{}
		}
		s.open[k] = st
	}
	return st
}

// stepAt is stepOf that also remembers that the line at file:off is needed
// to rebuild the step after a restart.
func (d *Deriver) stepAt(s *series, t int64, file int32, off int64) *step {
	st := d.stepOf(s, t)
	if st != nil {
		st.note(file, off)
	}
	return st
}

func (d *Deriver) noteAt(s *series, t int64, file int32, off int64) { d.stepAt(s, t, file, off) }

func (d *Deriver) event(s *series, t int64, kind uint8, delta int8, file int32, off int64) {
	st := d.stepAt(s, t, file, off)
	if st == nil {
		s.base[kind] += int64(delta)
		return
	}
	if n := len(st.ev); n > 0 && st.ev[n-1].t > t {
		st.unsorted = true
	}
	st.ev = append(st.ev, event{t, kind, delta})
}

func (d *Deriver) sample(s *series, t, dur int64, which int) {
	dur = max(dur, 0)
	st := d.stepOf(s, t)
	if st == nil {
		return
	}
	switch which {
	case 0:
		st.wait = append(st.wait, dur)
	case 1:
		st.service = append(st.service, dur)
	default:
		st.response = append(st.response, dur)
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// SafeOffsets returns, per file, the offset of the first line still needed
// to rebuild the deriver's state: the first line of every request in flight
// and of every request or reset that touches an open step. Files without
// such lines are absent: everything read from them is folded into written rows.
func (d *Deriver) SafeOffsets() map[int32]int64 {
	m := map[int32]int64{}
	add := func(f int32, off int64) {
		if o, ok := m[f]; !ok || off < o {
			m[f] = off
		}
	}
	for _, p := range d.procs {
		for _, q := range p.reqs {
			add(q.file, q.off)
		}
	}
	for _, s := range d.order {
		for _, st := range s.open {
			if st != nil {
				for _, fm := range st.files {
					add(fm.file, fm.off)
				}
			}
		}
	}
	return m
}

// DropFile forgets that lines of file are needed (the file was truncated or
// vanished): its requests in flight are ended at the latest time seen.
func (d *Deriver) DropFile(file int32) {
	for _, p := range d.procs {
		for id, q := range p.reqs {
			if q.file == file {
				s := p.s
				d.endAll(s, q, max(s.wm, s.next), -1, 0)
				delete(p.reqs, id)
			}
		}
	}
	for _, s := range d.order {
		for _, st := range s.open {
			if st == nil {
				continue
			}
			st.files = slices.DeleteFunc(st.files, func(fm fileMin) bool { return fm.file == file })
		}
	}
}

// Threads returns the inferred thread counts per series (backlog-based, overall),
// to be saved with positions.
func (d *Deriver) Threads() map[string][2]int64 {
	m := make(map[string][2]int64, len(d.order))
	for _, s := range d.order {
		if s.threadsBL > 0 || s.threadsAll > 0 {
			m[s.name] = [2]int64{s.threadsBL, s.threadsAll}
		}
	}
	return m
}

// SetThreads restores inferred thread counts saved by Threads.
func (d *Deriver) SetThreads(name string, bl, all int64) {
	s := d.series[name]
	if s == nil {
		s = &series{name: name, next: -1, cfgThreads: d.cfg.Threads[name]}
		d.series[name] = s
		d.order = append(d.order, s)
	}
	s.threadsBL, s.threadsAll = max(s.threadsBL, bl), max(s.threadsAll, all)
}
