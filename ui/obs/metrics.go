package obs

import (
	"slices"
	"strconv"
	"sync"
	"time"

	"rrdash/store"
)

// Metrics are rrdash's own instruments on one registry. A nil *Metrics is
// valid and records nothing, so components can take one optionally.
type Metrics struct {
	Registry *Registry

	storeUpdates       *CounterVec
	fsync              Histogram
	checkpoint         Histogram
	checkpointArchives Counter
	monitorRuns        *CounterVec
	monitorDuration    *HistogramVec
	monitorActive      Gauge
	httpRequests       *CounterVec
	httpDuration       *HistogramVec

	mu      sync.Mutex
	ingest  []ingestSource
	kinesis []func() map[string]time.Duration
}

type ingestSource struct {
	name string
	f    func() IngestCounts
}

// IngestCounts are a source's running totals, read at gather time.
type IngestCounts struct {
	Records int64 // records or points received
	Bad     int64 // refused as malformed
	Late    int64 // at or before their series' last update: not stored
}

// NewMetrics registers rrdash's instruments on a new registry.
func NewMetrics() *Metrics {
	// Duration buckets in seconds: fsyncs and requests (100µs … 100s) and
	// monitor runs (10ms … 3h).
	fastBuckets := []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 100}
	slowBuckets := []float64{0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 10800}
	r := NewRegistry()
	m := &Metrics{Registry: r}
	m.storeUpdates = r.Counter("rrdash_store_updates_total", "Updates applied to the store (result=applied) or refused by it (result=refused).", "result")
	m.fsync = r.Histogram("rrdash_journal_fsync_seconds", "Duration of journal fsyncs (group commits).", fastBuckets).With()
	m.checkpoint = r.Histogram("rrdash_store_checkpoint_seconds", "Duration of store checkpoints (archive flush and journal cut).", fastBuckets).With()
	m.checkpointArchives = r.Counter("rrdash_store_checkpoint_archives_total", "Archive files flushed by checkpoints.").With()
	r.CollectFunc("rrdash_ingest_records_total", "Records or points received, per ingest source.", KindCounter, []string{"source"}, m.collectIngest(func(c IngestCounts) int64 { return c.Records }))
	r.CollectFunc("rrdash_ingest_bad_records_total", "Records refused as malformed, per ingest source (push: refused request bodies).", KindCounter, []string{"source"}, m.collectIngest(func(c IngestCounts) int64 { return c.Bad }))
	r.CollectFunc("rrdash_ingest_late_points_total", "Points at or before their series' last update, not stored, per ingest source.", KindCounter, []string{"source"}, m.collectIngest(func(c IngestCounts) int64 { return c.Late }))
	r.CollectFunc("rrdash_kinesis_lag_seconds", "How far behind the stream's tip each Kinesis shard is (MillisBehindLatest).", KindGauge, []string{"shard"}, m.collectKinesis)
	m.monitorRuns = r.Counter("rrdash_monitor_executions_total", "Code monitor executions by outcome (ok, fail, timeout, error).", "status")
	m.monitorDuration = r.Histogram("rrdash_monitor_execution_duration_seconds", "Duration of code monitor executions by outcome.", slowBuckets, "status")
	m.monitorActive = r.Gauge("rrdash_monitor_active_executions", "Code monitor executions running now.").With()
	m.httpRequests = r.Counter("rrdash_http_requests_total", "HTTP requests served, by route pattern and status code.", "route", "status_code")
	m.httpDuration = r.Histogram("rrdash_http_request_duration_seconds", "HTTP request duration, by route pattern and status code.", fastBuckets, "route", "status_code")
	return m
}

func (m *Metrics) collectIngest(pick func(IngestCounts) int64) func(emit func(float64, ...string)) {
	return func(emit func(float64, ...string)) {
		m.mu.Lock()
		srcs := slices.Clone(m.ingest)
		m.mu.Unlock()
		for _, s := range srcs {
			emit(float64(pick(s.f())), s.name)
		}
	}
}

func (m *Metrics) collectKinesis(emit func(float64, ...string)) {
	m.mu.Lock()
	fs := slices.Clone(m.kinesis)
	m.mu.Unlock()
	for _, f := range fs {
		lag := f()
		shards := make([]string, 0, len(lag))
		for s := range lag {
			shards = append(shards, s)
		}
		slices.Sort(shards)
		for _, s := range shards {
			emit(lag[s].Seconds(), s)
		}
	}
}

// AddIngestSource reports a source's totals (tracelog, kinesis, push,
// graphite, …) under source=name; f is called at every gather.
func (m *Metrics) AddIngestSource(name string, f func() IngestCounts) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ingest = append(m.ingest, ingestSource{name, f})
}

// AddKinesisLag reports each shard's distance behind the tip; f is called
// at every gather (kinesis.Consumer.Stats gives MillisBehindLatest).
func (m *Metrics) AddKinesisLag(f func() map[string]time.Duration) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.kinesis = append(m.kinesis, f)
}

// JournalSynced implements store.Observer.
func (m *Metrics) JournalSynced(d time.Duration) {
	if m != nil {
		m.fsync.Observe(d.Seconds())
	}
}

// Checkpointed implements store.Observer.
func (m *Metrics) Checkpointed(d time.Duration, archives int) {
	if m != nil {
		m.checkpoint.Observe(d.Seconds())
		m.checkpointArchives.Add(float64(archives))
	}
}

// Applied implements store.Observer.
func (m *Metrics) Applied(applied, refused int) {
	if m != nil {
		m.storeUpdates.With("applied").Add(float64(applied))
		m.storeUpdates.With("refused").Add(float64(refused))
	}
}

var _ store.Observer = (*Metrics)(nil)

// MonitorObserver is what the code-monitor scheduler calls around each
// execution; *Metrics implements it. ingest/monitor declares the same
// interface (it cannot import this package) and takes it optionally.
type MonitorObserver interface {
	// MonitorStarted is called when an execution starts.
	MonitorStarted(monitor string)
	// MonitorFinished is called once per started execution with its
	// outcome (ok, fail, timeout, error) and duration.
	MonitorFinished(monitor, outcome string, d time.Duration)
}

var _ MonitorObserver = (*Metrics)(nil)

// MonitorStarted implements MonitorObserver.
func (m *Metrics) MonitorStarted(string) {
	if m != nil {
		m.monitorActive.Add(1)
	}
}

// MonitorFinished implements MonitorObserver.
func (m *Metrics) MonitorFinished(_, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.monitorActive.Add(-1)
	m.monitorRuns.With(outcome).Inc()
	m.monitorDuration.With(outcome).Observe(d.Seconds())
}

// ObserveHTTP records one served request.
func (m *Metrics) ObserveHTTP(route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	code := strconv.Itoa(status)
	m.httpRequests.With(route, code).Inc()
	m.httpDuration.With(route, code).Observe(d.Seconds())
}
