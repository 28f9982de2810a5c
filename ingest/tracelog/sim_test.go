package tracelog

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"
)

// A simulated Zope process: requests arrive, wait for one of its threads,
// are served and end. The tests compute the expected series from this model
// directly (interval overlaps, not the deriver's event sweep).

type simProc struct {
	host, prog string
	pid        int
	threads    int
	rate       float64 // requests per second
}

func (p simProc) instance() string { return p.host + "." + p.prog }

type simReq struct {
	proc          int
	id            string
	b, i, c, a, e int64 // µs
	status        int
}

// simulate makes requests of each process arriving at its rate between start and end (µs).
func simulate(seed uint64, procs []simProc, start, end int64) []simReq {
	rng := rand.New(rand.NewPCG(seed, 42))
	var out []simReq
	for pi, p := range procs {
		free := make([]int64, p.threads)
		for k := range free {
			free[k] = start
		}
		t := start
		n := 0
		for {
			t += int64(rng.ExpFloat64() / p.rate * 1e6)
			if t >= end {
				break
			}
			n++
			r := simReq{proc: pi, id: fmt.Sprintf("%d.-%d", pi, 1400000000+n*7), b: t}
			r.i = r.b + 200 + int64(rng.IntN(400))
			k := 0
			for j := range free {
				if free[j] < free[k] {
					k = j
				}
			}
			r.c = max(r.i, free[k]) + 100
			r.a = r.c + int64(rng.ExpFloat64()*0.4e6) + 500
			free[k] = r.a + 50
			r.e = r.a + 100 + int64(rng.IntN(300))
			switch x := rng.IntN(100); {
			case x < 3:
				r.status = 500
			case x < 10:
				r.status = 304
			default:
				r.status = 200
			}
			out = append(out, r)
		}
	}
	return out
}

type simLine struct {
	t    int64
	proc int
	text string // the record, without prefix
}

func stamp(t int64) string {
	return time.UnixMicro(t).UTC().Format("2006-01-02 15:04:05.000000")
}

// simLines renders the records of reqs, in time order.
func simLines(reqs []simReq) []simLine {
	var ls []simLine
	for _, r := range reqs {
		ls = append(ls,
			simLine{r.b, r.proc, "B " + r.id + " " + stamp(r.b) + " GET /page/" + r.id},
			simLine{r.i, r.proc, "I " + r.id + " " + stamp(r.i) + " 0"},
			simLine{r.c, r.proc, "C " + r.id + " " + stamp(r.c)},
			simLine{r.a, r.proc, "A " + r.id + " " + stamp(r.a) + " " + strconv.Itoa(r.status) + " 1234"},
			simLine{r.e, r.proc, "E " + r.id + " " + stamp(r.e)},
		)
	}
	slices.SortStableFunc(ls, func(a, b simLine) int {
		switch {
		case a.t < b.t:
			return -1
		case a.t > b.t:
			return 1
		}
		return 0
	})
	return ls
}

// bsdLine prefixes a record as syslog-ng's default file template does.
func bsdLine(p simProc, l simLine) string {
	return time.UnixMicro(l.t).UTC().Format("Jan _2 15:04:05") + " " + p.host + " " + p.prog + "[" + strconv.Itoa(p.pid) + "]: " + l.text
}

// expectRow computes the expected values of the step [s, s+step) (seconds) of
// process pi, with threads known.
func expectRow(reqs []simReq, pi int, s, step int64, threads int) map[string]float64 {
	lo, hi := s*1e6, (s+step)*1e6
	in := func(t int64) bool { return t >= lo && t < hi }
	overlap := func(a, b int64) int64 { return max(0, min(b, hi)-max(a, lo)) }
	var n, arr, errs, wait, act, busy float64
	var ws, ss, rs []int64
	var points []int64
	for _, r := range reqs {
		if r.proc != pi {
			continue
		}
		if in(r.e) {
			n++
			rs = append(rs, r.e-r.b)
		}
		if in(r.b) {
			arr++
		}
		if in(r.a) {
			ss = append(ss, r.a-r.c)
			if r.status >= 500 {
				errs++
			}
		}
		if in(r.c) {
			ws = append(ws, r.c-r.i)
		}
		wait += float64(overlap(r.i, r.c))
		act += float64(overlap(r.b, r.e))
		busy += float64(overlap(r.c, r.a))
		points = append(points, r.i, r.c)
	}
	// backlog_max: the most requests waiting over any positive stretch of the step
	points = append(points, lo)
	slices.Sort(points)
	maxW := 0.0
	for k, p := range points {
		if p < lo || p >= hi || (k+1 < len(points) && points[k+1] == p) {
			continue
		}
		c := 0.0
		for _, r := range reqs {
			if r.proc == pi && r.i <= p && p < r.c {
				c++
			}
		}
		maxW = max(maxW, c)
	}
	st := float64(step)
	m := map[string]float64{
		"requests": n / st, "arrivals": arr / st, "errors": errs / st,
		"backlog": wait / 1e6 / st, "backlog_max": maxW, "active": act / 1e6 / st,
		"maxrate": math.NaN(),
	}
	if busy > 0 {
		m["maxrate"] = float64(threads) * n / (busy / 1e6)
	}
	rank := func(xs []int64, p float64) float64 {
		if len(xs) == 0 {
			return math.NaN()
		}
		xs = slices.Clone(xs)
		slices.Sort(xs)
		k := int(math.Ceil(p/100*float64(len(xs)))) - 1
		return float64(xs[max(0, k)]) / 1e6
	}
	m["wait_p50"], m["wait_p95"] = rank(ws, 50), rank(ws, 95)
	m["service_p50"], m["service_p95"], m["service_p99"] = rank(ss, 50), rank(ss, 95), rank(ss, 99)
	m["response_p50"], m["response_p95"], m["response_p99"] = rank(rs, 50), rank(rs, 95), rank(rs, 99)
	return m
}

func near(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= 1e-9*max(1, math.Abs(a), math.Abs(b))
}

// checkSeries compares fetched 1-step rows (times → values by DS) with the model.
func checkSeries(t *testing.T, name string, got map[int64][]float64, reqs []simReq, pi int, from, to, step int64, threads int) {
	t.Helper()
	bad := 0
	for s := from; s < to; s += step {
		vals, ok := got[s+step]
		if !ok {
			t.Errorf("%s: no row for step %s", name, time.Unix(s, 0).UTC().Format(time.TimeOnly))
			bad++
			continue
		}
		want := expectRow(reqs, pi, s, step, threads)
		for i, ds := range DSNames {
			if !near(vals[i], want[ds]) {
				t.Errorf("%s step %s: %s = %v, want %v", name, time.Unix(s, 0).UTC().Format(time.TimeOnly), ds, vals[i], want[ds])
				bad++
			}
		}
		if bad > 20 {
			t.Fatal("too many differences")
		}
	}
}
