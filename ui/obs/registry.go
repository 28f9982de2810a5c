// Package obs is rrdash's observability: a small metrics registry exposed
// as Prometheus text at /-/metrics and, when OTEL_EXPORTER_OTLP_ENDPOINT is
// set, pushed over OTLP/HTTP; HTTP middleware that counts requests by
// route pattern; and self-monitoring, which writes rrdash's own request
// statistics into its store as RRD series.
//
// The registry is our own rather than prometheus/client_golang: it has no
// package-level state (client_golang registers its default collectors at
// init, paid by every CLI start), and both exporters read one snapshot.
package obs

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Kind is a metric family's type.
type Kind int

// Metric kinds.
const (
	KindCounter Kind = iota
	KindGauge
	KindHistogram
)

func (k Kind) String() string {
	switch k {
	case KindCounter:
		return "counter"
	case KindGauge:
		return "gauge"
	default:
		return "histogram"
	}
}

// Registry holds metric families. Safe for concurrent use.
type Registry struct {
	mu   sync.Mutex
	fams []*family
	seen map[string]bool
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{seen: map[string]bool{}} }

type family struct {
	name, help string
	kind       Kind
	labels     []string
	buckets    []float64 // histograms: upper bounds, ascending, +Inf implied

	mu     sync.RWMutex
	series map[string]*cell // key: label values joined by \xff
	order  []string

	collect     func(emit func(value float64, labelValues ...string)) // pulled at gather time
	collectHist func() (counts []uint64, sum float64)                 // unlabelled histogram pulled at gather time
}

// cell is one labelled metric: a counter or gauge value, or a histogram.
type cell struct {
	labels []string
	bits   atomic.Uint64 // float64 value (counters, gauges) or histogram sum
	count  atomic.Uint64 // histogram count
	bucket []atomic.Uint64
}

func (r *Registry) add(f *family) *family {
	if err := checkName(f.name); err != nil {
		panic(err) // a programming error in rrdash's own metric names
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[f.name] {
		panic(fmt.Sprintf("obs: metric %s registered twice", f.name))
	}
	r.seen[f.name] = true
	f.series = map[string]*cell{}
	r.fams = append(r.fams, f)
	return f
}

func checkName(n string) error {
	if n == "" {
		return fmt.Errorf("obs: empty metric name")
	}
	for i, c := range n {
		if !(c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return fmt.Errorf("obs: metric name %q: invalid character %q", n, c)
		}
	}
	return nil
}

func (f *family) with(values []string) *cell {
	if len(values) != len(f.labels) {
		panic(fmt.Sprintf("obs: metric %s takes %d label values, got %d", f.name, len(f.labels), len(values)))
	}
	key := strings.Join(values, "\xff")
	f.mu.RLock()
	c := f.series[key]
	f.mu.RUnlock()
	if c != nil {
		return c
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if c = f.series[key]; c == nil {
		c = &cell{labels: slices.Clone(values)}
		if f.kind == KindHistogram {
			c.bucket = make([]atomic.Uint64, len(f.buckets))
		}
		f.series[key] = c
		f.order = append(f.order, key)
	}
	return c
}

func addFloat(u *atomic.Uint64, d float64) {
	for {
		old := u.Load()
		if u.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+d)) {
			return
		}
	}
}

// CounterVec is a counter family with labels.
type CounterVec struct{ f *family }

// Counter is one counter.
type Counter struct{ c *cell }

// Counter registers a counter family; name should end in _total.
func (r *Registry) Counter(name, help string, labels ...string) *CounterVec {
	return &CounterVec{r.add(&family{name: name, help: help, kind: KindCounter, labels: labels})}
}

// With returns the counter for the label values (in registration order).
func (v *CounterVec) With(values ...string) Counter { return Counter{v.f.with(values)} }

// Add adds d (≥ 0) to the counter.
func (c Counter) Add(d float64) {
	if d > 0 {
		addFloat(&c.c.bits, d)
	}
}

// Inc adds one.
func (c Counter) Inc() { c.Add(1) }

// Value returns the current value.
func (c Counter) Value() float64 { return math.Float64frombits(c.c.bits.Load()) }

// GaugeVec is a gauge family with labels.
type GaugeVec struct{ f *family }

// Gauge is one gauge.
type Gauge struct{ c *cell }

// Gauge registers a gauge family.
func (r *Registry) Gauge(name, help string, labels ...string) *GaugeVec {
	return &GaugeVec{r.add(&family{name: name, help: help, kind: KindGauge, labels: labels})}
}

// With returns the gauge for the label values.
func (v *GaugeVec) With(values ...string) Gauge { return Gauge{v.f.with(values)} }

// Set sets the gauge.
func (g Gauge) Set(x float64) { g.c.bits.Store(math.Float64bits(x)) }

// Add adds d (may be negative).
func (g Gauge) Add(d float64) { addFloat(&g.c.bits, d) }

// Value returns the current value.
func (g Gauge) Value() float64 { return math.Float64frombits(g.c.bits.Load()) }

// HistogramVec is a histogram family with labels.
type HistogramVec struct{ f *family }

// Histogram is one histogram.
type Histogram struct {
	c       *cell
	buckets []float64
}

// Histogram registers a histogram family with the given bucket upper
// bounds (ascending; +Inf is implied).
func (r *Registry) Histogram(name, help string, buckets []float64, labels ...string) *HistogramVec {
	if !sort.Float64sAreSorted(buckets) || len(buckets) == 0 {
		panic(fmt.Sprintf("obs: histogram %s: buckets must be ascending and non-empty", name))
	}
	return &HistogramVec{r.add(&family{name: name, help: help, kind: KindHistogram, labels: labels, buckets: slices.Clone(buckets)})}
}

// With returns the histogram for the label values.
func (v *HistogramVec) With(values ...string) Histogram {
	return Histogram{v.f.with(values), v.f.buckets}
}

// Observe records one value.
func (h Histogram) Observe(x float64) {
	i := sort.SearchFloat64s(h.buckets, x) // first bound ≥ x: le is inclusive
	if i < len(h.buckets) {
		h.c.bucket[i].Add(1)
	}
	h.c.count.Add(1)
	addFloat(&h.c.bits, x)
}

// Count returns how many values were observed.
func (h Histogram) Count() uint64 { return h.c.count.Load() }

// CollectFunc registers a family whose values are read at gather time from
// collect, which calls emit once per labelled value. For counts a
// component already keeps (the push writer's totals, a consumer's lag).
func (r *Registry) CollectFunc(name, help string, kind Kind, labels []string, collect func(emit func(value float64, labelValues ...string))) {
	if kind == KindHistogram {
		panic("obs: CollectFunc takes counters and gauges")
	}
	r.add(&family{name: name, help: help, kind: kind, labels: slices.Clone(labels), collect: collect})
}

// CollectHistogram registers an unlabelled histogram family read at gather
// time from collect, which returns per-bucket (not cumulative) counts, one
// per bound and +Inf last, and the sum of the values. For distributions
// the runtime keeps (GC pauses). A collect returning the wrong number of
// counts yields a family with no points.
func (r *Registry) CollectHistogram(name, help string, buckets []float64, collect func() (counts []uint64, sum float64)) {
	if !sort.Float64sAreSorted(buckets) || len(buckets) == 0 {
		panic(fmt.Sprintf("obs: histogram %s: buckets must be ascending and non-empty", name))
	}
	r.add(&family{name: name, help: help, kind: KindHistogram, buckets: slices.Clone(buckets), collectHist: collect})
}

// Family is a gathered metric family.
type Family struct {
	Name, Help string
	Kind       Kind
	Labels     []string
	Buckets    []float64 // histograms
	Points     []Point
}

// Point is one labelled value of a family.
type Point struct {
	LabelValues []string
	Value       float64  // counters and gauges
	Count       uint64   // histograms
	Sum         float64  // histograms
	Buckets     []uint64 // histograms: per bucket (not cumulative), +Inf last
}

// Gather returns a snapshot of every family, in registration order, each
// family's points in first-use order.
func (r *Registry) Gather() []Family {
	r.mu.Lock()
	fams := slices.Clone(r.fams)
	r.mu.Unlock()
	out := make([]Family, 0, len(fams))
	for _, f := range fams {
		g := Family{Name: f.name, Help: f.help, Kind: f.kind, Labels: f.labels, Buckets: f.buckets}
		if f.collectHist != nil {
			counts, sum := f.collectHist()
			if len(counts) == len(f.buckets)+1 {
				p := Point{Sum: sum, Buckets: slices.Clone(counts)}
				for _, n := range counts {
					p.Count += n
				}
				g.Points = append(g.Points, p)
			}
			out = append(out, g)
			continue
		}
		if f.collect != nil {
			f.collect(func(v float64, lv ...string) {
				if len(lv) == len(f.labels) {
					g.Points = append(g.Points, Point{LabelValues: slices.Clone(lv), Value: v})
				}
			})
			out = append(out, g)
			continue
		}
		f.mu.RLock()
		for _, k := range f.order {
			c := f.series[k]
			p := Point{LabelValues: c.labels}
			if f.kind == KindHistogram {
				// Count first: an Observe racing with this read then shows
				// at most in the buckets, never a count below their sum.
				p.Sum = math.Float64frombits(c.bits.Load())
				p.Buckets = make([]uint64, len(c.bucket)+1)
				var in uint64
				for i := range c.bucket {
					p.Buckets[i] = c.bucket[i].Load()
					in += p.Buckets[i]
				}
				p.Count = c.count.Load()
				if p.Count < in {
					p.Count = in
				}
				p.Buckets[len(c.bucket)] = p.Count - in
			} else {
				p.Value = math.Float64frombits(c.bits.Load())
			}
			g.Points = append(g.Points, p)
		}
		f.mu.RUnlock()
		out = append(out, g)
	}
	return out
}

// ExpBuckets returns n bucket bounds start, start·factor, …
func ExpBuckets(start, factor float64, n int) []float64 {
	b := make([]float64, n)
	for i := range b {
		b[i] = start
		start *= factor
	}
	return b
}
