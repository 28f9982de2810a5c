package tracelog

import (
	"math"
	"slices"
	"strconv"
)

// closeUpTo closes the steps of s whose end plus the grace is at or before now (µs).
func (d *Deriver) closeUpTo(s *series, now int64) {
	for s.next >= 0 && s.next+d.stepUs+d.graceUs <= now {
		if len(s.open) == 0 && now-d.graceUs-s.next > d.maxGapUs {
			s.next = floorDiv(now-d.graceUs, d.stepUs) * d.stepUs
			continue
		}
		d.closeFirst(s)
	}
}

func (d *Deriver) closeAll(s *series) {
	for len(s.open) > 0 {
		d.closeFirst(s)
	}
}

// Advance closes, in every series, the steps whose end plus the grace is at
// or before now (µs): time passes even when a process logs nothing.
func (d *Deriver) Advance(now int64) {
	for _, s := range d.order {
		d.closeUpTo(s, now)
	}
}

// Flush closes every open step, the last one included (end of input).
func (d *Deriver) Flush() {
	for _, s := range d.order {
		if s.next < 0 {
			continue
		}
		end := floorDiv(s.wm, d.stepUs)*d.stepUs + d.stepUs
		for s.next < end {
			d.closeFirst(s)
		}
	}
}

// Rows returns the rows closed since the last call and forgets them.
func (d *Deriver) Rows() []Row {
	r := d.rows
	d.rows = nil
	return r
}

func (d *Deriver) closeFirst(s *series) {
	d.expire(s)
	var st *step
	if len(s.open) > 0 {
		st = s.open[0]
		s.open[0] = nil
		s.open = s.open[1:]
		if len(s.open) == 0 {
			s.open = nil
		}
	}
	start, end := s.next, s.next+d.stepUs
	var empty step
	if st == nil {
		st = &empty
	}
	if st.unsorted {
		slices.SortStableFunc(st.ev, func(a, b event) int {
			switch {
			case a.t < b.t:
				return -1
			case a.t > b.t:
				return 1
			}
			return 0
		})
	}
	// Sweep the levels: integrals (µs·requests) and maxima held for a positive time.
	var integ [nKinds]int64
	lvl := s.base
	maxWait := lvl[kWait]
	last := start
	observe := func() {
		if lvl[kWait] > maxWait {
			maxWait = lvl[kWait]
		}
		if lvl[kApp] > s.threadsAll {
			s.threadsAll = lvl[kApp]
		}
		if lvl[kWait] > 0 && lvl[kApp] > s.threadsBL {
			s.threadsBL = lvl[kApp]
		}
	}
	observe()
	for k := 0; k < len(st.ev); {
		t := st.ev[k].t
		for i := range integ {
			integ[i] += lvl[i] * (t - last)
		}
		last = t
		for ; k < len(st.ev) && st.ev[k].t == t; k++ {
			lvl[st.ev[k].kind] += int64(st.ev[k].delta)
		}
		observe()
	}
	for i := range integ {
		integ[i] += lvl[i] * (end - last)
	}
	s.base = lvl

	v := make([]string, len(DSNames))
	if st == &empty && end <= s.dataFrom && s.base == [nKinds]int64{} {
		// before the log of a new series begins: no data, not zero requests
		for i := range v {
			v[i] = "U"
		}
		d.rows = append(d.rows, Row{Series: s.name, End: end / 1e6, Values: v})
		s.next = end
		return
	}
	stepSec := float64(d.cfg.Step)
	v[0] = fmtFloat(float64(st.requests) / stepSec)
	v[1] = fmtFloat(float64(st.arrivals) / stepSec)
	v[2] = fmtFloat(float64(st.errors) / stepSec)
	v[3] = fmtFloat(float64(integ[kWait]) / float64(d.stepUs))
	v[4] = strconv.FormatInt(max(maxWait, 0), 10)
	v[5] = fmtFloat(float64(integ[kActive]) / float64(d.stepUs))
	v[6] = "U"
	if busy := float64(integ[kApp]) / 1e6; busy > 0 {
		threads := s.cfgThreads
		if threads <= 0 {
			threads = s.threadsBL
		}
		if threads <= 0 {
			threads = s.threadsAll
		}
		v[6] = fmtFloat(float64(threads) * float64(st.requests) / busy)
	}
	pct(v[7:9], st.wait, 50, 95)
	pct(v[9:12], st.service, 50, 95, 99)
	pct(v[12:15], st.response, 50, 95, 99)
	d.rows = append(d.rows, Row{Series: s.name, End: end / 1e6, Values: v})
	s.next = end
	if st != &empty {
		st.reset()
		d.free = append(d.free, st)
	}
}

// expire ends, within the first open step, the requests that have been in
// flight longer than MaxAge at its end.
func (d *Deriver) expire(s *series) {
	end := s.next + d.stepUs
	limit := end - d.cfg.MaxAge*1e6
	for _, p := range s.procs {
		for id, q := range p.reqs {
			if q.t0 < limit {
				d.endAll(s, q, end-1, q.file, q.off)
				delete(p.reqs, id)
				d.freeReq = append(d.freeReq, q)
				d.Expired++
			}
		}
	}
	// Forget processes silent for that long (pids of restarted servers).
	s.procs = slices.DeleteFunc(s.procs, func(p *Process) bool {
		if len(p.reqs) == 0 && p.last < limit {
			p.gone = true
			delete(d.procs, p.key)
			return true
		}
		return false
	})
}

// pct fills out with nearest-rank percentiles (seconds) of the µs samples.
func pct(out []string, samples []int64, ps ...float64) {
	if len(samples) == 0 {
		for i := range out {
			out[i] = "U"
		}
		return
	}
	slices.Sort(samples)
	n := float64(len(samples))
	for i, p := range ps {
		k := int(math.Ceil(p/100*n)) - 1
		k = max(0, min(k, len(samples)-1))
		out[i] = fmtFloat(float64(samples[k]) / 1e6)
	}
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
