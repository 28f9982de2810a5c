package obs

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// RequestSink is a destination of request points — a monitoring plugin.
// Adding a sink is one type implementing it (see docs/MONITORING.md).
type RequestSink interface {
	// Flush sends points downstream and returns once they are accepted
	// there. It is called from one goroutine per sink, every flush
	// interval even with no points (sinks that export on a clock use the
	// tick), and with at most the sink's batch size. points is reused
	// after Flush returns. An error makes the batch be retried.
	Flush(ctx context.Context, points []Request) error
	// Close is called once, after the last Flush.
	Close() error
}

// SinkOptions tune how points reach one sink.
type SinkOptions struct {
	FlushInterval time.Duration // longest a point waits (default 10s)
	BatchSize     int           // most points per Flush (default 5000)
	QueueSize     int           // points waiting at most; beyond, new ones are dropped (default 50000)
	MaxAttempts   int           // Flush attempts of a batch before its points count as failed (default 5)
	RetryBackoff  time.Duration // wait before the first retry, doubling up to 30s (default 1s)
}

func (o SinkOptions) withDefaults() SinkOptions {
	if o.FlushInterval <= 0 {
		o.FlushInterval = 10 * time.Second
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 5000
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 50000
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = time.Second
	}
	return o
}

// Monitoring hands every served request, as a point, to each configured
// sink. It is an HTTPObserver: on the request path it only copies the
// point into each sink's bounded queue (a full queue drops the point and
// counts it, it never blocks a request); one goroutine per sink batches
// and flushes, with retries.
type Monitoring struct {
	log    *slog.Logger
	queues []*sinkQueue
	points *CounterVec
}

type sinkQueue struct {
	name string
	sink RequestSink
	opt  SinkOptions
	ch   chan Request

	sent, dropped, failed Counter
}

// NewMonitoring returns a dispatcher without sinks; its counters
// (rrdash_monitoring_points_total, rrdash_monitoring_queue_depth) go to reg.
func NewMonitoring(reg *Registry, log *slog.Logger) *Monitoring {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Monitoring{log: log}
	m.points = reg.Counter("rrdash_monitoring_points_total",
		"request points per monitoring sink: sent, dropped (queue full) and failed (gave up after retries)", "sink", "result")
	reg.CollectFunc("rrdash_monitoring_queue_depth", "request points waiting per monitoring sink", KindGauge, []string{"sink"},
		func(emit func(float64, ...string)) {
			for _, q := range m.queues {
				emit(float64(len(q.ch)), q.name)
			}
		})
	return m
}

// Add registers a sink under name. Call it before Run and before requests
// are observed.
func (m *Monitoring) Add(name string, sink RequestSink, opt SinkOptions) {
	opt = opt.withDefaults()
	m.queues = append(m.queues, &sinkQueue{name: name, sink: sink, opt: opt, ch: make(chan Request, opt.QueueSize),
		sent: m.points.With(name, "sent"), dropped: m.points.With(name, "dropped"), failed: m.points.With(name, "failed")})
}

// Sinks returns the names of the sinks, in the order added.
func (m *Monitoring) Sinks() []string {
	names := make([]string, len(m.queues))
	for i, q := range m.queues {
		names[i] = q.name
	}
	return names
}

// ObserveRequest implements HTTPObserver: no allocation, no blocking.
func (m *Monitoring) ObserveRequest(r *Request) {
	for _, q := range m.queues {
		select {
		case q.ch <- *r:
		default:
			q.dropped.Inc()
		}
	}
}

// Run flushes every sink until ctx ends, then drains the queues (within
// 5 s), closes the sinks and returns.
func (m *Monitoring) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(m.queues))
	for i, q := range m.queues {
		wg.Go(func() { errs[i] = q.run(ctx, m.log) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (q *sinkQueue) run(ctx context.Context, log *slog.Logger) error {
	log = log.With("sink", q.name)
	tick := time.NewTicker(q.opt.FlushInterval)
	defer tick.Stop()
	batch := make([]Request, 0, q.opt.BatchSize)
	failing := false
	flush := func(ctx context.Context, shutdown bool) {
		err, kept := q.flush(ctx, batch)
		if kept && !shutdown {
			return // shutdown began during a retry: the drain sends it again
		}
		if kept { // the drain's time ran out
			q.failed.Add(float64(len(batch)))
		}
		switch {
		case err != nil && !failing:
			log.Warn("monitoring sink failing; points are retried, then dropped and counted", "error", err)
			failing = true
		case err == nil && failing:
			log.Info("monitoring sink recovered")
			failing = false
		}
		batch = batch[:0]
	}
	for {
		select {
		case p := <-q.ch:
			batch = append(batch, p)
			if len(batch) == q.opt.BatchSize {
				flush(ctx, false)
			}
		case <-tick.C:
			flush(ctx, false)
		case <-ctx.Done():
			// Drain what was queued before shutdown, retries included,
			// within a bound on the whole.
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
		drain:
			for {
				select {
				case p := <-q.ch:
					batch = append(batch, p)
					if len(batch) >= q.opt.BatchSize {
						flush(dctx, true)
					}
				default:
					break drain
				}
			}
			if len(batch) > 0 {
				flush(dctx, true)
			}
			return q.sink.Close()
		}
	}
}

// flush sends batch, retrying with backoff until it is
// accepted or the attempts are spent, and counts its points sent or
// failed. When ctx ends during a retry's wait the batch is kept, neither
// sent nor failed, for the shutdown drain. The last error is returned.
func (q *sinkQueue) flush(ctx context.Context, batch []Request) (err error, kept bool) {
	wait := q.opt.RetryBackoff
	for attempt := 1; ; attempt++ {
		err := q.sink.Flush(ctx, batch)
		if err == nil {
			q.sent.Add(float64(len(batch)))
			return nil, false
		}
		if attempt >= q.opt.MaxAttempts || IsPermanent(err) {
			q.failed.Add(float64(len(batch)))
			return err, false
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err, true
		case <-t.C:
		}
		wait = min(2*wait, 30*time.Second)
	}
}
