package main

import (
	"log/slog"
	"net/http"

	"rrdash/ingest/otlp"
	"rrdash/ingest/promrw"
	"rrdash/ingest/push"
	"rrdash/ui/obs"
)

// mountHTTPIngest serves the other HTTP ingest protocols beside
// /api/v1/write, through the same writer (durable before the answer),
// body limit, future horizon and in-flight budget, behind the same push
// guard (an API token of scope push, write or admin; InfluxDB's
// credential forms carry that token too). Each protocol is its own
// source in /-/metrics.
func mountHTTPIngest(mux *http.ServeMux, guard func(http.Handler) http.Handler, w *push.Writer, ph *push.Handlers, o *observability, log *slog.Logger) error {
	rw, err := promrw.New(w, promrw.Config{MaxBodyBytes: ph.MaxBodyBytes(), Horizon: ph.Horizon(), Limiter: ph, Logger: log})
	if err != nil {
		return err
	}
	ot, err := otlp.New(w, otlp.Config{MaxBodyBytes: ph.MaxBodyBytes(), Horizon: ph.Horizon(), Limiter: ph, Logger: log})
	if err != nil {
		return err
	}
	influx := ph.Sibling()
	mux.Handle("POST /api/v1/prom/write", guard(rw))
	mux.Handle("POST /v1/metrics", guard(ot))
	mux.Handle("POST /write", push.InfluxAuth(guard(http.HandlerFunc(influx.ServeInfluxV1Write))))
	mux.Handle("POST /api/v2/write", push.InfluxAuth(guard(http.HandlerFunc(influx.ServeInfluxV2Write))))
	mux.HandleFunc("GET /ping", push.ServeInfluxPing) // GET covers HEAD
	mux.HandleFunc("GET /health", push.ServeInfluxHealth)

	o.metrics.AddIngestSource("remote_write", func() obs.IngestCounts {
		st := rw.Stats()
		return obs.IngestCounts{Records: st.Samples + st.Bad, Bad: st.Bad + st.BadRequests, Late: st.Late}
	})
	o.metrics.AddIngestSource("otlp", func() obs.IngestCounts {
		st := ot.Stats()
		return obs.IngestCounts{Records: st.Points + st.Bad, Bad: st.Bad + st.BadRequests, Late: st.Late}
	})
	o.metrics.AddIngestSource("influx", func() obs.IngestCounts {
		st := influx.Stats()
		return obs.IngestCounts{Records: st.Points, Bad: st.Bad + st.TooLarge, Late: st.Late}
	})
	return nil
}
