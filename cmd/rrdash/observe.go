package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"rrdash/ingest/kinesis"
	"rrdash/ingest/push"
	"rrdash/ingest/tracelog"
	"rrdash/store"
	"rrdash/store/meta"
	"rrdash/ui"
	"rrdash/ui/obs"
)

// observability wires rrdash's own metrics (/-/metrics) and request
// monitoring: a point per request to the configured sinks — self-monitoring
// into the own store, InfluxDB, OTLP.
type observability struct {
	metrics    *obs.Metrics
	monitoring *obs.Monitoring
	log        *slog.Logger
	cluster    *clusterNode // cluster mode: self-monitoring goes on the log
}

// start sets up the [monitoring] sinks and runs them (on wg, until ctx
// ends). The rrdash sink installs the "rrdash itself" graphs and creates
// their series; with OTEL_EXPORTER_OTLP_ENDPOINT set the otlp sink is on
// even when not listed.
func (o *observability) start(ctx context.Context, wg *sync.WaitGroup, cfg ui.MonitoringConfig, db *store.DB, md *meta.DB, log *slog.Logger) error {
	o.log = log
	o.metrics.Registry.CollectFunc("rrdash_store_damaged_blocks_total",
		"archive row blocks found damaged (checksum mismatch) since start; served as unknown", obs.KindCounter, nil,
		func(emit func(float64, ...string)) { emit(float64(db.DamagedBlocks())) })
	o.monitoring = obs.NewMonitoring(o.metrics.Registry, log)
	sinks := cfg.Sinks
	if obs.OTLPConfigured(os.Getenv) && !slices.Contains(sinks, "otlp") {
		sinks = append(slices.Clip(sinks), "otlp")
	}
	for _, name := range sinks {
		switch name {
		case "rrdash":
			var sm *obs.SelfMon
			if o.cluster != nil {
				// cluster mode: this node's series (node=ID), on the log
				// like every write, so any node reads them; the preinstalled
				// graphs name single-node series: not installed here
				sm = obs.NewSelfMon(o.cluster.writes, obs.SelfMonConfig{Logger: log, Node: o.cluster.self.ID})
			} else {
				sm = obs.NewSelfMon(db, obs.SelfMonConfig{Logger: log})
				if err := obs.InstallGraphs(ctx, md); err != nil {
					return err
				}
				_, series := obs.SelfGraphs()
				if err := sm.Precreate(time.Now().Unix()-60, series...); err != nil {
					return err
				}
			}
			wg.Go(func() {
				if err := sm.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
					log.Error("self-monitoring stopped", "error", err)
				}
			})
			// In-memory aggregation: flushed often so a step's requests
			// land in that step.
			o.monitoring.Add(name, sm, obs.SinkOptions{FlushInterval: time.Second, BatchSize: 4096, QueueSize: 65536})
		case "influxdb":
			in := cfg.Influx
			timeout, flush, err := in.Durations()
			if err != nil {
				return err
			}
			sink, err := obs.NewInfluxSink(obs.InfluxConfig{URL: in.URL, Database: in.Database, RetentionPolicy: in.RetentionPolicy,
				Username: in.Username, Password: string(in.Password), Bucket: in.Bucket, Org: in.Org, Token: string(in.Token),
				Service: cfg.Service, Gzip: in.Gzip, Timeout: timeout})
			if err != nil {
				return err
			}
			o.monitoring.Add(name, sink, obs.SinkOptions{FlushInterval: flush, BatchSize: int(in.BatchSize), QueueSize: int(in.QueueSize)})
			log.Info("sending request points to InfluxDB", "url", in.URL, "database", in.Database, "bucket", in.Bucket)
		case "otlp":
			oc, err := obs.OTLPConfigFromEnv(os.Getenv)
			if err != nil {
				return fmt.Errorf("monitoring sink otlp: %w", err)
			}
			oc.Logger = log
			exp := obs.NewOTLPExporter(o.metrics.Registry, oc)
			// One export per interval: the queue only needs to hold the
			// points of one interval's trigger, not the points themselves.
			o.monitoring.Add(name, exp, obs.SinkOptions{FlushInterval: exp.Interval(), BatchSize: 1 << 16, QueueSize: 1 << 16, MaxAttempts: 1})
			log.Info("exporting metrics over OTLP/HTTP", "url", oc.URL, "interval", oc.Interval)
		default:
			return fmt.Errorf("monitoring.sinks: unknown sink %q", name)
		}
	}
	wg.Go(func() {
		if err := o.monitoring.Run(ctx); err != nil {
			log.Error("monitoring sinks at shutdown", "error", err)
		}
	})
	return nil
}

// pushSources reports the push handlers' and Graphite listener's totals.
func (o *observability) pushSources(h *push.Handlers, g *push.GraphiteListener) {
	o.metrics.AddIngestSource("push", func() obs.IngestCounts {
		st := h.Stats()
		return obs.IngestCounts{Records: st.Points, Bad: st.Bad + st.TooLarge, Late: st.Late}
	})
	if g != nil {
		o.metrics.AddIngestSource("graphite", func() obs.IngestCounts {
			st := g.Stats()
			return obs.IngestCounts{Records: st.Points + st.Bad, Bad: st.Bad, Late: st.Late}
		})
	}
}

// tracelogSource reports the trace-log tailer's totals (records: lines read).
func (o *observability) tracelogSource(t *tracelog.Tailer) {
	o.metrics.AddIngestSource("tracelog", func() obs.IngestCounts {
		st := t.Stats()
		return obs.IngestCounts{Records: st.Lines, Bad: st.Bad, Late: st.Late}
	})
}

// kinesisSource reports the Kinesis consumer's totals and shard lag.
func (o *observability) kinesisSource(c *kinesis.Consumer) {
	o.metrics.AddIngestSource("kinesis", func() obs.IngestCounts {
		st := c.Stats()
		var bad int64
		for _, n := range st.Counts.Bad {
			bad += n
		}
		late := st.Counts.Bad[kinesis.ReasonLate]
		return obs.IngestCounts{Records: st.Counts.Records, Bad: bad - late, Late: late}
	})
	o.metrics.AddKinesisLag(func() map[string]time.Duration {
		shards := c.Stats().Shards
		lag := make(map[string]time.Duration, len(shards))
		for id, sh := range shards {
			if !sh.Finished {
				lag[id] = time.Duration(sh.MillisBehindLatest) * time.Millisecond
			}
		}
		return lag
	})
}

// handler wraps the outermost handler with request metrics and
// self-monitoring and serves GET /-/metrics on mux.
func (o *observability) handler(mux *http.ServeMux) http.Handler {
	mux.Handle("GET /-/metrics", o.metrics.Registry.Handler())
	return obs.Middleware(mux, o.log, o.metrics, o.monitoring)
}
