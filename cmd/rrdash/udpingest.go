package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"rrdash/ingest/collectd"
	"rrdash/ingest/horizon"
	"rrdash/ingest/listen"
	"rrdash/ingest/push"
	"rrdash/ingest/statsd"
	"rrdash/ui"
	"rrdash/ui/obs"
)

// startUDPIngest starts the statsd and collectd listeners that cfg turns
// on, writing through w; they run on wg until ctx ends. It returns their
// health states.
func startUDPIngest(ctx context.Context, wg *sync.WaitGroup, cfg ui.ServeConfig, w *push.Writer, hz horizon.Horizon,
	m *obs.Metrics, stdout io.Writer, log *slog.Logger) (func() []listen.Status, error) {
	var statuses []func() []listen.Status
	if sc := cfg.Statsd; sc.UDPAddr != "" || sc.TCPAddr != "" {
		durs, err := cfg.IngestDurations()
		if err != nil {
			return nil, err
		}
		srv, err := statsd.New(w, w.Step(), statsd.Config{UDPAddr: sc.UDPAddr, TCPAddr: sc.TCPAddr,
			Agg:      statsd.AggConfig{Percentiles: sc.Percentiles, DeleteIdle: sc.DeleteIdleStats},
			MaxConns: int(cfg.Listen.MaxConns), IdleTimeout: durs.IdleTimeout, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("[statsd]: %w", err)
		}
		wg.Go(func() {
			if err := srv.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				log.Error("statsd listener stopped", "error", err)
			}
		})
		m.AddIngestSource("statsd", func() obs.IngestCounts {
			st := srv.Stats()
			return obs.IngestCounts{Records: st.Metrics, Bad: st.Bad, Late: st.Late}
		})
		statuses = append(statuses, srv.Statuses)
		fmt.Fprintf(stdout, "statsd on udp %v tcp %v (flush every %ds)\n", srv.UDPAddr(), srv.TCPAddr(), w.Step())
	}
	if cc := cfg.Collectd; cc.Addr != "" {
		level, err := collectd.ParseSecurityLevel(cc.SecurityLevel)
		if err != nil {
			return nil, err
		}
		var users map[string]string
		if cc.AuthFile != "" {
			if users, err = collectd.ReadAuthFile(cc.AuthFile); err != nil {
				return nil, err
			}
		}
		types, err := collectd.ReadTypesDB(cc.TypesDB...)
		if err != nil {
			return nil, fmt.Errorf("%w (set collectd.types_db, or install collectd-core)", err)
		}
		srv, err := collectd.New(w, collectd.Config{Addr: cc.Addr, Level: level, Users: users, Types: types, Horizon: hz, Logger: log})
		if err != nil {
			return nil, err
		}
		wg.Go(func() {
			if err := srv.Run(ctx); err != nil {
				log.Error("collectd listener stopped", "error", err)
			}
		})
		m.AddIngestSource("collectd", func() obs.IngestCounts {
			st := srv.Stats()
			return obs.IngestCounts{Records: st.Values, Bad: st.Bad + st.Refused + st.Future + st.Overload, Late: st.Late}
		})
		statuses = append(statuses, func() []listen.Status { return []listen.Status{srv.Status()} })
		fmt.Fprintf(stdout, "collectd on udp %v (security level %s)\n", srv.Addr(), cc.SecurityLevel)
	}
	if cfg.GraphiteUDPAddr != "" {
		g, err := push.ListenGraphiteUDP(cfg.GraphiteUDPAddr, w, hz, 0, log)
		if err != nil {
			return nil, fmt.Errorf("graphite udp: %w", err)
		}
		wg.Go(func() {
			if err := g.Serve(ctx); err != nil && !errors.Is(err, context.Canceled) {
				log.Error("graphite udp listener stopped", "error", err)
			}
		})
		m.AddIngestSource("graphite-udp", func() obs.IngestCounts {
			st := g.Stats()
			return obs.IngestCounts{Records: st.Lines, Bad: st.Bad + st.Overload + st.Refused, Late: st.Late}
		})
		statuses = append(statuses, func() []listen.Status { return []listen.Status{g.Status()} })
		fmt.Fprintf(stdout, "graphite udp on %v\n", g.Addr())
	}
	return func() []listen.Status {
		var out []listen.Status
		for _, f := range statuses {
			out = append(out, f()...)
		}
		return out
	}, nil
}
