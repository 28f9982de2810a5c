package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"time"

	"rrdash/ingest/monitor"
	"rrdash/store/meta"
)

// monitorLeases is the monitor.Coordinator of servers sharing one
// PostgreSQL metadata database: a lease row per monitor (store/meta)
// says which server runs it; the server keeps its leases alive while it
// runs, and a killed server's monitors pass to another once its leases
// expire.
type monitorLeases struct {
	md   *meta.DB
	node string // this server, unique per process
	ttl  time.Duration
	log  *slog.Logger
}

var _ monitor.Coordinator = (*monitorLeases)(nil)

func newMonitorLeases(md *meta.DB, ttl time.Duration, log *slog.Logger) (*monitorLeases, error) {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("monitor leases: node id: %w", err)
	}
	return &monitorLeases{md: md, node: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:])), ttl: ttl, log: log}, nil
}

// Claim implements monitor.Coordinator.
func (l *monitorLeases) Claim(ctx context.Context, name string, minGap time.Duration) (bool, bool, time.Duration, error) {
	c, err := l.md.ClaimMonitorRun(ctx, name, l.node, minGap, l.ttl)
	return c.Run, c.TakenOver, c.Wait, err
}

// Keep renews this server's leases every third of the ttl until ctx ends,
// then releases them so the other servers need not wait for expiry.
func (l *monitorLeases) Keep(ctx context.Context) {
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := l.md.ReleaseMonitorLeases(rctx, l.node); err != nil {
				l.log.Warn("monitor leases not released; they expire", "node", l.node, "ttl", l.ttl, "err", err)
			}
			return
		case <-t.C:
			// A failed renewal is retried at the next tick; a lease that
			// expires meanwhile is claimed afresh at the monitor's next
			// run, by whichever server asks first.
			if _, err := l.md.RenewMonitorLeases(ctx, l.node, l.ttl); err != nil && ctx.Err() == nil {
				l.log.Warn("monitor leases not renewed", "node", l.node, "err", err)
			}
		}
	}
}

// canonical is a definition as syncMonitors compares them.
func canonical(d monitor.Definition) string {
	b, _ := json.Marshal(d) // a Definition always marshals
	return string(b)
}

func (s *monitorService) noteScheduled(m *monitor.Monitor) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scheduled[m.Name()] = canonical(m.Def)
}

func (s *monitorService) forgetScheduled(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.scheduled, name)
}

// syncMonitors makes the scheduler follow the monitors that other servers
// sharing the metadata create, change and delete, every period until ctx
// ends. Each server schedules every monitor; the leases decide which one
// runs it.
func (s *monitorService) syncMonitors(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.syncOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("monitors of the other servers not synced; retrying", "err", err)
		}
	}
}

func (s *monitorService) syncOnce(ctx context.Context) error {
	s.changing.Lock()
	defer s.changing.Unlock()
	rows, err := s.md.ListMonitors(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	known := maps.Clone(s.scheduled)
	s.mu.Unlock()
	for _, row := range rows {
		if _, ok := s.config[row.Name]; ok {
			continue
		}
		delete(known, row.Name) // what stays in known was deleted
		m, err := compileSaved(row)
		if err != nil {
			s.setProblem(row.Name, err.Error())
			continue
		}
		s.mu.Lock()
		same := s.scheduled[row.Name] == canonical(m.Def)
		s.mu.Unlock()
		if !same {
			s.log.Info("monitor changed on another server; scheduled", "monitor", row.Name)
			s.schedule(m)
		}
	}
	for name := range known {
		s.log.Info("monitor deleted on another server; unscheduled", "monitor", name)
		if err := s.sched.Remove(ctx, name); err != nil {
			s.log.Warn("monitor was not scheduled", "monitor", name, "err", err)
		}
		s.forgetScheduled(name)
		s.setProblem(name, "")
	}
	return nil
}
