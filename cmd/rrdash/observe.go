package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"rrdash/ingest/kinesis"
	"rrdash/ingest/push"
	"rrdash/ingest/tracelog"
	"rrdash/store"
	"rrdash/ui/meta"
	"rrdash/ui/obs"
)

// observability wires rrdash's own metrics (/-/metrics, OTLP) and
// self-monitoring (requests into its own store) for serve.
type observability struct {
	metrics *obs.Metrics
	selfmon *obs.SelfMon
	otlp    *obs.OTLPExporter
}

// start installs the "rrdash itself" graphs, creates their series and runs
// self-monitoring (on wg, until ctx ends); with OTEL_EXPORTER_OTLP_ENDPOINT
// set it starts the OTLP exporter.
func (o *observability) start(ctx context.Context, wg *sync.WaitGroup, db *store.DB, md *meta.DB, log *slog.Logger) error {
	o.selfmon = obs.NewSelfMon(db, obs.SelfMonConfig{Logger: log})
	if err := obs.InstallGraphs(ctx, md); err != nil {
		return err
	}
	_, series := obs.SelfGraphs()
	if err := o.selfmon.Precreate(time.Now().Unix()-60, series...); err != nil {
		return err
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := o.selfmon.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("self-monitoring stopped", "error", err)
		}
	}()
	if obs.OTLPConfigured(os.Getenv) {
		cfg, err := obs.OTLPConfigFromEnv(os.Getenv)
		if err != nil {
			return fmt.Errorf("OTLP export: %w", err)
		}
		cfg.Logger = log
		o.otlp = obs.NewOTLPExporter(o.metrics.Registry, cfg)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := o.otlp.Run(ctx); err != nil {
				log.Error("OTLP export at shutdown", "error", err)
			}
		}()
		log.Info("exporting metrics over OTLP/HTTP", "url", cfg.URL, "interval", cfg.Interval)
	}
	return nil
}

// pushSources reports the push handlers' and Graphite listener's totals.
func (o *observability) pushSources(w *push.Writer, h *push.Handlers, g *push.GraphiteListener) {
	o.metrics.AddIngestSource("push", func() obs.IngestCounts {
		st, wc := h.Stats(), w.Counts()
		late := wc.Late
		if g != nil {
			late -= g.Stats().Late // the writer counts both sources
		}
		return obs.IngestCounts{Records: st.Points, Bad: st.Bad + st.TooLarge, Late: late}
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
	return obs.Middleware(mux, o.metrics, o.selfmon)
}
