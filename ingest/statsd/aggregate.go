package statsd

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"rrdash/ingest/push"
)

// DefaultPercentiles are the timer percentiles computed per flush.
var DefaultPercentiles = []float64{50, 90, 99}

// DefaultPrefix is the first component of every series name (statsd's
// globalPrefix).
const DefaultPrefix = "stats"

// AggConfig configures an Aggregator.
type AggConfig struct {
	// Percentiles of timers (statsd's percentThreshold): each p in
	// [-100, 100], not 0; negative ones are statsd's "top" percentiles.
	// Nil: DefaultPercentiles.
	Percentiles []float64
	// DeleteIdle is statsd's deleteIdleStats: a metric is sent only for
	// the flushes in which it received a value. Otherwise (statsd's
	// default) counters, timers and sets seen once are sent every flush
	// (as 0 when idle) and gauges keep their last value.
	DeleteIdle bool
}

type counter struct {
	v                   float64
	rateName, countName string
}

type timer struct {
	vals  []float64
	count float64 // Σ 1/rate: the count the samples stand for
	names []string
}

type gauge struct {
	v    float64
	name string
}

type set struct {
	members map[string]struct{}
	name    string
}

// Aggregator keeps statsd's per-flush state. It is safe for concurrent use.
type Aggregator struct {
	pcts   []float64
	stats  []string // timer stat names, in computeTimer's order
	delIdl bool

	nonFinite atomic.Int64

	mu       sync.Mutex
	counters map[string]*counter
	timers   map[string]*timer
	gauges   map[string]*gauge
	sets     map[string]*set
}

// NewAggregator checks cfg and returns an empty aggregator.
func NewAggregator(cfg AggConfig) (*Aggregator, error) {
	pcts := cfg.Percentiles
	if pcts == nil {
		pcts = DefaultPercentiles
	}
	seen := map[string]bool{}
	var stats []string
	for _, p := range pcts {
		if !(p >= -100 && p <= 100) || p == 0 {
			return nil, fmt.Errorf("statsd: percentile %v: want a number in [-100, 100] other than 0", p)
		}
		clean := strings.Replace(strings.Replace(strconv.FormatFloat(p, 'f', -1, 64), ".", "_", 1), "-", "top", 1)
		if seen[clean] {
			return nil, fmt.Errorf("statsd: percentile %v given twice", p)
		}
		seen[clean] = true
		bound := "upper_"
		if p < 0 {
			bound = "lower_"
		}
		stats = append(stats, "count_"+clean, "mean_"+clean, bound+clean, "sum_"+clean, "sum_squares_"+clean)
	}
	stats = append(stats, "std", "upper", "lower", "count", "count_ps", "sum", "sum_squares", "mean", "median")
	return &Aggregator{pcts: slices.Clone(pcts), stats: stats, delIdl: cfg.DeleteIdle,
		counters: map[string]*counter{}, timers: map[string]*timer{}, gauges: map[string]*gauge{}, sets: map[string]*set{}}, nil
}

// seriesName is statsd's Graphite name (legacyNamespace false):
// stats.<kind>.<name>[.<stat>][;tags].
func seriesName(kind, key, stat string) string {
	name, tags, _ := strings.Cut(key, ";")
	var b strings.Builder
	b.Grow(len(DefaultPrefix) + len(kind) + len(key) + len(stat) + 4)
	b.WriteString(DefaultPrefix)
	b.WriteByte('.')
	b.WriteString(kind)
	b.WriteByte('.')
	b.WriteString(name)
	if stat != "" {
		b.WriteByte('.')
		b.WriteString(stat)
	}
	if tags != "" {
		b.WriteByte(';')
		b.WriteString(tags)
	}
	return b.String()
}

// Add aggregates samples.
func (a *Aggregator) Add(samples []Sample) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range samples {
		s := &samples[i]
		switch s.Kind {
		case Counter:
			c := a.counters[s.Key]
			if c == nil {
				c = &counter{rateName: seriesName("counters", s.Key, "rate"), countName: seriesName("counters", s.Key, "count")}
				a.counters[s.Key] = c
			}
			// The explicit conversion keeps the compiler from fusing the
			// multiply and add: statsd rounds both.
			c.v += float64(s.Value * (1 / s.Rate))
		case Timer:
			t := a.timers[s.Key]
			if t == nil {
				t = &timer{}
				a.timers[s.Key] = t
			}
			t.vals = append(t.vals, s.Value)
			t.count += 1 / s.Rate
		case Gauge:
			g := a.gauges[s.Key]
			if g == nil {
				g = &gauge{name: seriesName("gauges", s.Key, "")}
				a.gauges[s.Key] = g
			}
			if s.Delta {
				g.v += s.Value
			} else {
				g.v = s.Value
			}
		case Set:
			st := a.sets[s.Key]
			if st == nil {
				st = &set{members: map[string]struct{}{}, name: seriesName("sets", s.Key, "count")}
				a.sets[s.Key] = st
			}
			st.members[s.Member] = struct{}{}
		}
	}
}

type timerSnap struct {
	key   string
	t     *timer
	vals  []float64
	count float64
}

// Flush ends the current interval: it returns the interval's points
// stamped at the second of now and resets the state as statsd does.
// window is the interval's length, by which counts become per-second
// rates (statsd divides by its flush interval).
func (a *Aggregator) Flush(now time.Time, window time.Duration) []push.Point {
	sec := now.Unix()
	secs := window.Seconds()
	var pts []push.Point
	add := func(name string, v float64) {
		if math.IsInf(v, 0) || math.IsNaN(v) {
			// Sums beyond ±1.8e308: the store keeps only finite numbers.
			a.nonFinite.Add(1)
			return
		}
		pts = append(pts, push.Point{Series: name, Sec: sec, Value: strconv.FormatFloat(v, 'g', -1, 64), Graphite: true})
	}
	a.mu.Lock()
	pts = make([]push.Point, 0, 2*len(a.counters)+len(a.gauges)+len(a.sets)+len(a.timers)*len(a.stats))
	for key, c := range a.counters {
		add(c.rateName, c.v/secs)
		add(c.countName, c.v)
		c.v = 0
		if a.delIdl {
			delete(a.counters, key)
		}
	}
	for key, g := range a.gauges {
		add(g.name, g.v)
		if a.delIdl {
			delete(a.gauges, key)
		}
	}
	for key, s := range a.sets {
		add(s.name, float64(len(s.members)))
		if a.delIdl {
			delete(a.sets, key)
		} else {
			s.members = map[string]struct{}{}
		}
	}
	snaps := make([]timerSnap, 0, len(a.timers))
	for key, t := range a.timers {
		snaps = append(snaps, timerSnap{key, t, t.vals, t.count})
		t.vals, t.count = nil, 0
		if a.delIdl {
			delete(a.timers, key)
		}
	}
	a.mu.Unlock()
	// Timer statistics sort every value: outside the lock.
	vals := make([]float64, len(a.stats))
	for _, s := range snaps {
		if s.t.names == nil { // only this flush touches names (Flush is not concurrent with itself)
			s.t.names = make([]string, len(a.stats))
			for i, st := range a.stats {
				s.t.names[i] = seriesName("timers", s.key, st)
			}
		}
		a.computeTimer(s.vals, s.count, secs, vals)
		for i, v := range vals {
			if !math.IsNaN(v) {
				add(s.t.names[i], v)
			}
		}
	}
	return pts
}

// computeTimer fills out (in a.stats' order; NaN: not sent) with statsd's
// timer statistics, summing in statsd's order so the results are the same
// to the last bit.
func (a *Aggregator) computeTimer(values []float64, count, secs float64, out []float64) {
	for i := range out {
		out[i] = math.NaN()
	}
	n := len(out)
	if len(values) == 0 {
		out[n-6], out[n-5] = 0, 0 // count, count_ps
		return
	}
	slices.Sort(values)
	cnt := len(values)
	min, max := values[0], values[cnt-1]
	cum := make([]float64, cnt)
	cumSq := make([]float64, cnt)
	cum[0], cumSq[0] = min, float64(min*min)
	for i := 1; i < cnt; i++ {
		cum[i] = values[i] + cum[i-1]
		cumSq[i] = float64(values[i]*values[i]) + cumSq[i-1]
	}
	sum, sumSq, mean, bound := min, float64(min*min), min, max
	for k, p := range a.pcts {
		num := cnt
		if cnt > 1 {
			num = int(jsRound(math.Abs(p) / 100 * float64(cnt)))
			if num == 0 {
				continue
			}
			if p > 0 {
				bound, sum, sumSq = values[num-1], cum[num-1], cumSq[num-1]
			} else {
				bound = values[cnt-num]
				before, beforeSq := 0.0, 0.0
				if cnt-num-1 >= 0 {
					before, beforeSq = cum[cnt-num-1], cumSq[cnt-num-1]
				}
				sum, sumSq = cum[cnt-1]-before, cumSq[cnt-1]-beforeSq
			}
			mean = sum / float64(num)
		}
		o := out[5*k:]
		o[0], o[1], o[2], o[3], o[4] = float64(num), mean, bound, sum, sumSq
	}
	sum, sumSq = cum[cnt-1], cumSq[cnt-1]
	mean = sum / float64(cnt)
	var diffs float64
	for _, v := range values {
		diffs += float64((v - mean) * (v - mean))
	}
	mid := cnt / 2
	median := values[mid]
	if cnt%2 == 0 {
		median = (values[mid-1] + values[mid]) / 2
	}
	o := out[n-9:]
	o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7], o[8] = math.Sqrt(diffs/float64(cnt)), max, min, count, count/secs, sum, sumSq, mean, median
}

// jsRound is JavaScript's Math.round: halves round up.
func jsRound(x float64) float64 {
	r := math.Floor(x)
	if x-r >= 0.5 {
		r++
	}
	return r
}

// NonFinite counts values not sent because they overflowed to ±Inf.
func (a *Aggregator) NonFinite() int64 { return a.nonFinite.Load() }

// Keys is the number of metrics kept between flushes.
func (a *Aggregator) Keys() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.counters) + len(a.timers) + len(a.gauges) + len(a.sets)
}
