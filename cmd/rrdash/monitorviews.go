package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"rrdash/ingest/monitor"
	"rrdash/store/meta"
	"rrdash/ui"
)

// masked returns the definition's JSON with secret values replaced.
func masked(d monitor.Definition) (json.RawMessage, error) {
	d.Env = slices.Clone(d.Env)
	for i := range d.Env {
		if d.Env[i].Secret {
			d.Env[i].Value = ui.SecretMask
		}
	}
	return json.Marshal(d)
}

func (s *monitorService) view(d monitor.Definition, origin string, updated time.Time) (ui.MonitorView, error) {
	def, err := masked(d)
	if err != nil {
		return ui.MonitorView{}, fmt.Errorf("monitor %s: %w", d.Name, err)
	}
	v := ui.MonitorView{Name: d.Name, Owner: d.Owner, Origin: origin, Language: string(d.Language),
		Interval: shortDuration(d.Interval), Timeout: shortDuration(d.Timeout), Definition: def, UpdatedAt: updated, Scheduled: true,
		Unsandboxed: s.sched.Runner == nil || s.sched.Runner.Sandbox == nil}
	s.mu.Lock()
	if p, ok := s.problems[d.Name]; ok {
		v.Scheduled, v.Problem = false, p
	}
	s.mu.Unlock()
	v.Status.State = "pending"
	if st, ok := s.sched.State(d.Name); ok {
		switch {
		case st.Alert.Firing:
			v.Status.State, v.Status.Since = "firing", st.Alert.Since
		case st.Missed.Firing:
			v.Status.State, v.Status.Since = "missed", st.Missed.Since
		case st.Last != nil && st.Last.Outcome != monitor.OK:
			// Failing, but not yet as often as the alert policy asks.
			v.Status.State = "failing"
		case st.Last != nil:
			v.Status.State, v.Status.Since = "ok", st.Alert.Since
		}
		if st.Last != nil {
			r := runView(*st.Last)
			v.Status.LastRun = &r
		}
	}
	return v, nil
}

// shortDuration writes 1h and 1m30s rather than 1h0m0s and 1m30s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func runView(r monitor.Result) ui.MonitorRun {
	out := ui.MonitorRun{Start: r.Start, Runtime: r.Runtime.Seconds(), ExitStatus: r.ExitStatus, Outcome: string(r.Outcome),
		Reason: r.Reason, Stdout: r.Stdout, Stderr: r.Stderr, Truncated: r.Truncated}
	for _, m := range r.Metrics {
		out.Metrics = append(out.Metrics, ui.MonitorMetric{Name: m.Name, Value: m.Value, Unit: m.Unit})
	}
	if u := r.Usage; u != nil {
		out.Usage = &ui.MonitorUsage{PeakMemoryBytes: u.PeakMemory, CPUSeconds: u.CPUSeconds, OOMKills: u.OOMKills,
			PidsLimited: u.PidsLimited, LeftRunning: u.LeftRunning}
	}
	return out
}

// List implements ui.Monitors.
func (s *monitorService) List(ctx context.Context) ([]ui.MonitorView, error) {
	var out []ui.MonitorView
	for _, m := range s.configs() {
		v, err := s.view(m.Def, ui.OriginConfig, time.Time{})
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	saved, err := s.md.ListMonitors(ctx)
	if err != nil {
		return nil, err
	}
	for _, row := range saved {
		if _, taken := s.configs()[row.Name]; taken {
			continue
		}
		v, err := s.savedView(row)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b ui.MonitorView) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

func (s *monitorService) savedView(row meta.Monitor) (ui.MonitorView, error) {
	var d monitor.Definition
	if err := json.Unmarshal([]byte(row.Definition), &d); err != nil {
		return ui.MonitorView{}, fmt.Errorf("saved monitor %s: %w", row.Name, err)
	}
	d.Owner = row.Owner
	return s.view(d, ui.OriginAPI, row.UpdatedAt)
}

// Get implements ui.Monitors.
func (s *monitorService) Get(ctx context.Context, name string) (ui.MonitorView, error) {
	if m, ok := s.configs()[name]; ok {
		return s.view(m.Def, ui.OriginConfig, time.Time{})
	}
	row, err := s.md.GetMonitor(ctx, name)
	if err != nil {
		return ui.MonitorView{}, err
	}
	return s.savedView(row)
}

// Runs implements ui.Monitors.
func (s *monitorService) Runs(ctx context.Context, name string, q ui.RunFilter) ([]ui.MonitorRun, error) {
	if err := s.exists(ctx, name); err != nil {
		return nil, err
	}
	rows, err := s.md.MonitorRuns(ctx, meta.RunQuery{Monitor: name, From: q.From, To: q.To, Outcomes: q.Outcomes,
		Limit: cmp.Or(q.Limit, 100), Summary: q.Summary})
	if err != nil {
		return nil, err
	}
	out := make([]ui.MonitorRun, 0, len(rows))
	for _, r := range rows {
		if q.Summary {
			out = append(out, ui.MonitorRun{Start: r.Start, Runtime: r.Runtime.Seconds(), Outcome: r.Outcome})
			continue
		}
		var res monitor.Result
		if err := json.Unmarshal([]byte(r.Result), &res); err != nil {
			return nil, fmt.Errorf("monitor %s: run record %d: %w", name, r.ID, err)
		}
		out = append(out, runView(res))
	}
	return out, nil
}

// Alerts implements ui.Monitors.
func (s *monitorService) Alerts(ctx context.Context, name string) ([]ui.MonitorAlert, error) {
	if err := s.exists(ctx, name); err != nil {
		return nil, err
	}
	st, ok := s.sched.State(name)
	if !ok {
		states, err := s.LoadStates(ctx)
		if err != nil {
			return nil, err
		}
		if saved := states[name]; saved != nil {
			st = *saved
		}
	}
	out := make([]ui.MonitorAlert, 0, len(st.History))
	for i := len(st.History) - 1; i >= 0; i-- {
		h := st.History[i]
		a := ui.MonitorAlert{At: h.At, Kind: string(h.Kind), Transition: h.Transition, Reason: h.Reason, Undelivered: h.Undelivered}
		for _, d := range h.Deliveries {
			a.Deliveries = append(a.Deliveries, ui.WebhookDelivery{Attempt: d.Attempt, At: d.At, Status: d.Status, Error: d.Error,
				TookMS: float64(d.Took.Microseconds()) / 1000})
		}
		out = append(out, a)
	}
	return out, nil
}
