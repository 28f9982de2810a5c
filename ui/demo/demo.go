// Package demo writes live demo trace logs (zc.zservertracelog format) so
// that `rrdash serve --demo` (make run) shows moving graphs with nothing
// else installed.
package demo

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"time"
)

// New returns a generator appending to path: rate is the mean requests per
// second, errFrac the share of 500s, seed makes runs reproducible.
func New(path string, rate, errFrac float64, seed uint64) *Generator {
	return &Generator{path: path, rate: rate, errFrac: errFrac, rnd: rand.New(rand.NewPCG(seed, 7))}
}

// Generator appends zc.zservertracelog records for one demo instance: a day
// shaped request rate, queueing when the 4 threads are busy, a few 500s.
// It first writes the last 6 hours at once, then follows the clock.
type Generator struct {
	path    string
	rate    float64 // mean requests per second
	errFrac float64
	rnd     *rand.Rand
	nextID  int64
	run     int       // id prefix, distinct per run so ids never repeat
	busy    []float64 // end times (s) of the 4 threads' current requests
}

type line struct {
	t    float64 // seconds since the epoch
	text string
}

const threads = 4

// Run appends records until ctx is done, returning nil then.
func (g *Generator) Run(ctx context.Context, now func() time.Time) error {
	f, err := os.OpenFile(g.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	g.busy = make([]float64, threads)
	g.run = 1 + g.rnd.IntN(1_000_000)
	// Continue after whatever an earlier run wrote: start 6 h back or at the file's age.
	t := float64(now().Add(-6 * time.Hour).Unix())
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		t = math.Max(t, float64(st.ModTime().Unix())+1)
	}
	var pending []line
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		limit := float64(now().Unix())
		for ; t < limit; t++ {
			pending = append(pending, g.second(t)...)
		}
		// Records are written in time order, 5 s after their time (within the
		// tailer's 10 s grace) so that no earlier one can follow.
		sort.SliceStable(pending, func(i, j int) bool { return pending[i].t < pending[j].t })
		k := 0
		for k < len(pending) && pending[k].t <= limit-5 {
			if _, err := w.WriteString(pending[k].text); err != nil {
				return err
			}
			k++
		}
		pending = pending[k:]
		if err := w.Flush(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			// Finish the requests begun: a B without its E would stay "in
			// flight" for the tailer after a restart.
			for _, l := range pending {
				if _, err := w.WriteString(l.text); err != nil {
					return err
				}
			}
			return w.Flush()
		case <-tick.C:
		}
	}
}

// second makes the records of the requests arriving in [t, t+1).
func (g *Generator) second(t float64) []line {
	day := 2 * math.Pi * math.Mod(t, 86400) / 86400
	lambda := g.rate * (1 + 0.6*math.Sin(day-math.Pi/2) + 0.2*math.Sin(7*day))
	var out []line
	for n := g.poisson(lambda); n > 0; n-- {
		g.nextID++
		id := fmt.Sprintf("%d.%d", g.run, g.nextID)
		b := t + g.rnd.Float64()
		// First free thread; waiting while all are busy is the backlog.
		th := 0
		for i := range g.busy {
			if g.busy[i] < g.busy[th] {
				th = i
			}
		}
		c := math.Max(b+0.0005, g.busy[th])
		svc := 0.02 + g.rnd.ExpFloat64()*0.15
		if g.rnd.Float64() < 0.01 {
			svc += 2 + g.rnd.Float64()*3 // a slow page
		}
		a := c + svc
		g.busy[th] = a
		status := 200
		if g.rnd.Float64() < g.errFrac {
			status = 500
		}
		path := []string{"/", "/news", "/search?q=rrd", "/static/app.css", "/api/items"}[g.rnd.IntN(5)]
		out = append(out,
			line{b, fmt.Sprintf("B %s %s GET %s\n", id, stamp(b), path)},
			line{b + 0.0003, fmt.Sprintf("I %s %s 0\n", id, stamp(b+0.0003))},
			line{c, fmt.Sprintf("C %s %s\n", id, stamp(c))},
			line{a, fmt.Sprintf("A %s %s %d %d\n", id, stamp(a), status, 1000+g.rnd.IntN(50000))},
			line{a + 0.0002, fmt.Sprintf("E %s %s\n", id, stamp(a+0.0002))},
		)
	}
	return out
}

func (g *Generator) poisson(lambda float64) int {
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= g.rnd.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func stamp(t float64) string {
	sec := math.Floor(t)
	return time.Unix(int64(sec), int64((t-sec)*1e9)).UTC().Format("2006-01-02 15:04:05.000000")
}
