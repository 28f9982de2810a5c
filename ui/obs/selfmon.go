package obs

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"rrdash/store"
)

// Self-monitoring series names.
const (
	RequestsSeries = "rrdash.requests"
	ErrorsSeries   = "rrdash.errors"
)

// Sink is the part of *store.DB self-monitoring writes through: the
// store's durable path (journal, fsync), like every other source.
type Sink interface {
	EnsureWithMeta(name string, spec store.Spec, meta map[string]string) (bool, error)
	Apply(ctx context.Context, b store.Batch) (store.Result, error)
}

// SelfMonConfig configures self-monitoring.
type SelfMonConfig struct {
	// Step of the series and of the in-memory aggregation (default 60s).
	Step int64
	// MaxSeries bounds the series written; requests for further
	// route/status combinations are counted under route=overflow
	// (default 500, at most ≈ 440 MB of archives).
	MaxSeries int
	Now       func() time.Time
	Logger    *slog.Logger
	// Node, when set (cluster mode: the node id), tags every series
	// node=Node, so each node's series are its own cluster series, put
	// on the cluster log like any write and read from any node (a
	// seriesByTag query sums them over the nodes).
	Node string
}

// SelfMon aggregates every request in memory per step — count and
// execution-time percentiles per route and status, error counts per
// route, status and error code — and writes one update per series per
// step, never one per request.
//
// Series (steps of Step seconds; values are per step):
//
//	rrdash.requests;route=GET:/g/{id};status_code=200
//	  DS count  requests in the step
//	  DS p50, p90, p99, max  execution time in ms (±1% for the percentiles)
//	rrdash.errors;error_code=not_found;route=unmatched;status_code=404
//	  DS count  failed requests (status ≥ 400) in the step
//
// A series once seen gets count 0 (and unknown percentiles) in steps
// without requests, so a quiet route reads 0, not unknown.
type SelfMon struct {
	sink Sink
	cfg  SelfMonConfig

	mu      sync.Mutex
	reqs    map[reqKey]*sketch
	errs    map[errKey]int64
	known   map[string]bool // series written at least once (or created)
	created map[string]bool
}

type reqKey struct {
	route  string
	status int
}

type errKey struct {
	route, code string
	status      int
}

// NewSelfMon returns self-monitoring writing to sink.
func NewSelfMon(sink Sink, cfg SelfMonConfig) *SelfMon {
	if cfg.Step <= 0 {
		cfg.Step = 60
	}
	if cfg.MaxSeries <= 0 {
		cfg.MaxSeries = 500
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &SelfMon{sink: sink, cfg: cfg, reqs: map[reqKey]*sketch{}, errs: map[errKey]int64{}, known: map[string]bool{}, created: map[string]bool{}}
}

// RequestSeriesName is the series of a route and status.
func RequestSeriesName(route string, status int) string {
	// Tags sorted by name, as the push path writes them.
	return RequestsSeries + ";route=" + route + ";status_code=" + strconv.Itoa(status)
}

// ErrorSeriesName is the series of a route, status and error code.
func ErrorSeriesName(route string, status int, code string) string {
	return ErrorsSeries + ";error_code=" + code + ";route=" + route + ";status_code=" + strconv.Itoa(status)
}

// requestName is RequestSeriesName with the node's tag (Node set).
func (s *SelfMon) requestName(route string, status int) string {
	if s.cfg.Node == "" {
		return RequestSeriesName(route, status)
	}
	return RequestsSeries + ";node=" + s.cfg.Node + ";route=" + route + ";status_code=" + strconv.Itoa(status)
}

// errorName is ErrorSeriesName with the node's tag (Node set).
func (s *SelfMon) errorName(route string, status int, code string) string {
	if s.cfg.Node == "" {
		return ErrorSeriesName(route, status, code)
	}
	return ErrorsSeries + ";error_code=" + code + ";node=" + s.cfg.Node + ";route=" + route + ";status_code=" + strconv.Itoa(status)
}

// SeriesSpec is the definition of a self-monitoring series: GAUGE data
// sources (heartbeat two steps, minimum 0) and, to keep the many small
// series cheap on disk (a request series is ≈ 870 KB), AVERAGE and MAX
// archives of 1 step × 2 days, 5 steps × 2 weeks, 60 steps × 90 days and
// 1440 steps × 5 years (for a 60 s step).
func SeriesSpec(step int64, ds ...string) store.Spec {
	s := store.Spec{Step: step}
	for _, n := range ds {
		s.DS = append(s.DS, store.DS{Name: n, Type: store.Gauge, Heartbeat: 2 * step, Min: 0, Max: math.NaN()})
	}
	for _, a := range [][2]int64{{1, 2880}, {5, 4032}, {60, 2160}, {1440, 1826}} {
		for _, cf := range []store.CF{store.Average, store.Max} {
			s.RRA = append(s.RRA, store.RRA{CF: cf, XFF: 0.5, Steps: a[0], Rows: a[1]})
		}
	}
	return s
}

// requestDS are the data sources of a request series, in order.
func requestDS() []string { return []string{"count", "p50", "p90", "p99", "max"} }

// ObserveRequest counts one request: it only touches memory.
func (s *SelfMon) ObserveRequest(route string, status int, errorCode string, d time.Duration) {
	ms := float64(d) / float64(time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	k := reqKey{route, status}
	sk := s.reqs[k]
	if sk == nil {
		if len(s.known)+len(s.reqs)+len(s.errs) >= s.cfg.MaxSeries && !s.known[s.requestName(route, status)] {
			k.route = "overflow"
			sk = s.reqs[k]
		}
		if sk == nil {
			sk = &sketch{}
			s.reqs[k] = sk
		}
	}
	sk.add(ms)
	if status >= 400 {
		ek := errKey{k.route, errorCode, status}
		s.errs[ek]++
	}
}

// Run writes a step's aggregate at every step boundary until ctx ends.
// Close writes the partial step.
func (s *SelfMon) Run(ctx context.Context) error {
	for {
		now := s.cfg.Now()
		next := (now.Unix()/s.cfg.Step + 1) * s.cfg.Step
		t := time.NewTimer(time.Unix(next, 0).Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
			if err := s.WriteStep(ctx, next); err != nil {
				s.cfg.Logger.Error("self-monitoring: write failed", "error", err)
			}
		}
	}
}

// Flush implements RequestSink: the `rrdash` monitoring sink aggregates
// request points into the current step; Run writes them to the store.
func (s *SelfMon) Flush(_ context.Context, pts []Request) error {
	for i := range pts {
		s.ObserveRequest(pts[i].Route, pts[i].Status, pts[i].ErrorCode, pts[i].Duration)
	}
	return nil
}

// Close implements RequestSink: it writes the partial step at the current
// second, so nothing counted is dropped at shutdown.
func (s *SelfMon) Close() error {
	return s.WriteStep(context.Background(), s.cfg.Now().Unix())
}

// WriteStep writes the aggregate collected since the last WriteStep as
// updates at time at, and starts a new step. Series seen before but without requests
// since get count 0.
func (s *SelfMon) WriteStep(ctx context.Context, at int64) error {
	s.mu.Lock()
	reqs, errs := s.reqs, s.errs
	s.reqs, s.errs = map[reqKey]*sketch{}, map[errKey]int64{}
	type upd struct {
		name   string
		ds     []string
		values []string
	}
	var ups []upd
	seen := map[string]bool{}
	for k, sk := range reqs {
		name := s.requestName(k.route, k.status)
		seen[name] = true
		ups = append(ups, upd{name, requestDS(), sk.values()})
	}
	for k, n := range errs {
		name := s.errorName(k.route, k.status, k.code)
		seen[name] = true
		ups = append(ups, upd{name, []string{"count"}, []string{strconv.FormatInt(n, 10)}})
	}
	for name := range s.known {
		if seen[name] {
			continue
		}
		if isErrorSeries(name) {
			ups = append(ups, upd{name, []string{"count"}, []string{"0"}})
		} else {
			ups = append(ups, upd{name, requestDS(), []string{"0", "U", "U", "U", "U"}})
		}
	}
	for name := range seen {
		s.known[name] = true
	}
	s.mu.Unlock()
	if len(ups) == 0 {
		return nil
	}
	sort.Slice(ups, func(i, j int) bool { return ups[i].name < ups[j].name })
	b := store.Batch{Updates: make([]store.Update, 0, len(ups))}
	for _, u := range ups {
		if !s.isCreated(u.name) {
			spec := SeriesSpec(s.cfg.Step, u.ds...)
			spec.Start = at - s.cfg.Step
			if _, err := s.sink.EnsureWithMeta(u.name, spec, map[string]string{"source": "rrdash self-monitoring"}); err != nil {
				return fmt.Errorf("self-monitoring: series %s: %w", u.name, err)
			}
			s.setCreated(u.name)
		}
		b.Updates = append(b.Updates, store.Update{Series: u.name, Time: at, Values: u.values})
	}
	res, err := s.sink.Apply(ctx, b)
	if err != nil {
		return fmt.Errorf("self-monitoring: store: %w", err)
	}
	if len(res.Errors) > 0 {
		// Typically a step written twice (a restart within the step):
		// the store keeps one update per second and series.
		return fmt.Errorf("self-monitoring: %d of %d updates refused, first: %w", len(res.Errors), len(b.Updates), res.Errors[0])
	}
	return nil
}

// Precreate creates request series so graphs over them work before the
// first request arrives.
func (s *SelfMon) Precreate(start int64, names ...string) error {
	for _, n := range names {
		ds := requestDS()
		if isErrorSeries(n) {
			ds = []string{"count"}
		}
		spec := SeriesSpec(s.cfg.Step, ds...)
		spec.Start = start
		if _, err := s.sink.EnsureWithMeta(n, spec, map[string]string{"source": "rrdash self-monitoring"}); err != nil {
			return fmt.Errorf("self-monitoring: series %s: %w", n, err)
		}
		s.setCreated(n)
		s.mu.Lock()
		s.known[n] = true
		s.mu.Unlock()
	}
	return nil
}

func isErrorSeries(name string) bool {
	return len(name) > len(ErrorsSeries) && name[:len(ErrorsSeries)+1] == ErrorsSeries+";"
}

func (s *SelfMon) isCreated(n string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.created[n]
}

func (s *SelfMon) setCreated(n string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.created[n] = true
}

// sketch is a log-bucketed histogram of milliseconds with 1% relative
// accuracy (buckets grow by 2%), plus the exact count and maximum: its
// memory depends on the spread of the values, not on their number.
type sketch struct {
	n       int64
	max     float64
	buckets map[int32]int64
}

const (
	sketchGamma = 1.02
	sketchMin   = 1e-3 // 1µs: anything faster is counted here
)

func (sk *sketch) add(ms float64) {
	if sk.buckets == nil {
		sk.buckets = map[int32]int64{}
	}
	if sk.n == 0 || ms > sk.max {
		sk.max = ms
	}
	sk.n++
	sk.buckets[sketchIndex(ms)]++
}

func sketchIndex(ms float64) int32 {
	if ms <= sketchMin || math.IsNaN(ms) {
		return 0
	}
	return int32(math.Ceil(math.Log(ms/sketchMin) / math.Log(sketchGamma)))
}

// quantile returns the q-quantile (nearest rank), at most the maximum.
func (sk *sketch) quantile(q float64) float64 {
	if sk.n == 0 {
		return math.NaN()
	}
	rank := int64(math.Ceil(q * float64(sk.n)))
	rank = max(rank, 1)
	idx := make([]int32, 0, len(sk.buckets))
	for i := range sk.buckets {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	var cum int64
	for _, i := range idx {
		cum += sk.buckets[i]
		if cum >= rank {
			if i == 0 {
				return min(sketchMin, sk.max)
			}
			// The bucket (min·γ^(i-1), min·γ^i]: its midpoint is within 1%.
			v := sketchMin * math.Pow(sketchGamma, float64(i)) * 2 / (1 + sketchGamma)
			return min(v, sk.max)
		}
	}
	return sk.max
}

func (sk *sketch) values() []string {
	f := func(v float64) string {
		if math.IsNaN(v) {
			return "U"
		}
		return strconv.FormatFloat(v, 'g', 6, 64)
	}
	return []string{strconv.FormatInt(sk.n, 10), f(sk.quantile(0.5)), f(sk.quantile(0.9)), f(sk.quantile(0.99)), f(sk.max)}
}
