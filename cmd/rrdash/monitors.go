package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"time"

	"rrdash/ingest/monitor"
	"rrdash/store"
	"rrdash/store/meta"
	"rrdash/ui"
)

// monitorService connects the code-monitor scheduler (ingest/monitor) with
// the metadata database (store/meta) and gives the web UI its ui.Monitors.
// It lives in cmd because neither side may import the other: the scheduler
// sees a monitor.StateStore and monitor.RunLog, the UI sees ui.Monitors,
// and this type translates between them.
type monitorService struct {
	md       *meta.DB
	specs    seriesSpecs // the store, to check a definition against existing series
	sched    *monitor.Scheduler
	log      *slog.Logger
	keepRuns int
	// config holds the monitors of the config file (read-only in the UI);
	// SIGHUP replaces the map whole (under mu), never changes it.
	config map[string]*monitor.Monitor

	mu       sync.Mutex
	problems map[string]string // monitors that could not be scheduled, and why
	// scheduled is the definition (canonical JSON) of each saved monitor
	// on the scheduler, for syncMonitors to find those other servers
	// sharing the metadata created, changed or deleted.
	scheduled map[string]string
	// changing serialises Create, Update and Delete with syncMonitors.
	changing sync.Mutex
}

var (
	_ ui.Monitors        = (*monitorService)(nil)
	_ monitor.StateStore = (*monitorService)(nil)
	_ monitor.RunLog     = (*monitorService)(nil)
)

// seriesSpecs reads the spec of a series; *store.DB satisfies it.
type seriesSpecs interface {
	Spec(name string) (store.Spec, error)
}

// definitionFromConfig turns a [[monitor]] table into a definition.
func definitionFromConfig(c ui.MonitorConfig) (monitor.Definition, error) {
	d := monitor.Definition{
		Name: c.Name, Owner: c.Owner, Language: monitor.Language(c.Language), Source: c.Source, Path: c.Path,
		Criteria: monitor.Criteria{ExitStatuses: c.ExitStatuses, MustMatch: c.MustMatch, MustNotMatch: c.MustNotMatch, Thresholds: c.Thresholds},
		Network:  c.Network, MemoryMaxMB: c.MemoryMaxMB, PidsMax: c.PidsMax, CPUMax: c.CPUMax,
	}
	var err error
	if d.Interval, err = time.ParseDuration(c.Interval); err != nil {
		return d, fmt.Errorf("monitor %q: interval %q: want a duration such as \"1m\"", c.Name, c.Interval)
	}
	if d.Timeout, err = time.ParseDuration(c.Timeout); err != nil {
		return d, fmt.Errorf("monitor %q: timeout %q: want a duration such as \"30s\"", c.Name, c.Timeout)
	}
	for _, e := range c.Env {
		d.Env = append(d.Env, monitor.EnvVar{Name: e.Name, Value: e.Value, Secret: e.Secret})
	}
	if a := c.Alert; a != nil {
		d.Alert = &monitor.Policy{Consecutive: a.Consecutive, WindowFailures: a.WindowFailures, Window: a.Window, Resolve: a.Resolve}
	}
	return d, nil
}

// configMonitors compiles the [[monitor]] tables of the config file at
// path; errors name the file and the line of the table. A relative script
// path is relative to the config file's directory.
func configMonitors(path string, cfgs []ui.MonitorConfig) ([]*monitor.Monitor, error) {
	var out []*monitor.Monitor
	seen := map[string]int{}
	for _, c := range cfgs {
		where := fmt.Sprintf("config %s:%d", path, c.Line)
		if c.Path != "" && !filepath.IsAbs(c.Path) {
			c.Path = filepath.Join(filepath.Dir(path), c.Path)
		}
		d, err := definitionFromConfig(c)
		if err == nil {
			var m *monitor.Monitor
			if m, err = d.Compile(); err == nil {
				if prev, dup := seen[c.Name]; dup {
					return nil, fmt.Errorf("%s: monitor %q is already defined at line %d", where, c.Name, prev)
				}
				seen[c.Name] = c.Line
				out = append(out, m)
				continue
			}
		}
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return out, nil
}

// newMonitorService builds the service; config are the file's monitors.
func newMonitorService(md *meta.DB, specs seriesSpecs, sched *monitor.Scheduler, config []*monitor.Monitor, keepRuns int, log *slog.Logger) *monitorService {
	s := &monitorService{md: md, specs: specs, sched: sched, log: log, keepRuns: keepRuns,
		config: map[string]*monitor.Monitor{}, problems: map[string]string{}, scheduled: map[string]string{}}
	for _, m := range config {
		s.config[m.Name()] = m
	}
	sched.States, sched.Runs = s, s
	return s
}

// Load reads the saved monitor states, so pages show them from the start.
func (s *monitorService) Load(ctx context.Context) error {
	return s.sched.LoadStates(ctx)
}

// Run schedules the config file's monitors and those saved in the
// database until ctx ends. A saved monitor that no longer compiles is
// listed with its problem rather than stopping the others.
func (s *monitorService) Run(ctx context.Context) error {
	ms := make([]*monitor.Monitor, 0, len(s.configs()))
	for _, m := range s.configs() {
		ms = append(ms, m)
	}
	saved, err := s.md.ListMonitors(ctx)
	if err != nil {
		return fmt.Errorf("monitors: %w", err)
	}
	for _, row := range saved {
		if _, taken := s.configs()[row.Name]; taken {
			s.setProblem(row.Name, "the config file defines a monitor of the same name")
			s.log.Error("monitor not scheduled", "monitor", row.Name, "err", "the config file defines a monitor of the same name")
			continue
		}
		m, err := compileSaved(row)
		if err != nil {
			s.setProblem(row.Name, err.Error())
			s.log.Error("monitor not scheduled", "monitor", row.Name, "err", err)
			continue
		}
		ms = append(ms, m)
		s.noteScheduled(m)
	}
	return s.sched.Run(ctx, ms)
}

func compileSaved(row meta.Monitor) (*monitor.Monitor, error) {
	var d monitor.Definition
	if err := json.Unmarshal([]byte(row.Definition), &d); err != nil {
		return nil, fmt.Errorf("saved monitor %s: %w", row.Name, err)
	}
	return d.Compile()
}

// configs returns the config file's monitors (a map never changed).
func (s *monitorService) configs() map[string]*monitor.Monitor {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.config
}

// ReloadConfig replaces the config file's monitors (SIGHUP): removed ones
// are unscheduled, new and changed ones (re)scheduled, unchanged ones left
// running. A new name that a monitor saved in the database already has is
// refused, and nothing changes.
func (s *monitorService) ReloadConfig(ctx context.Context, ms []*monitor.Monitor) error {
	next := make(map[string]*monitor.Monitor, len(ms))
	old := s.configs()
	for _, m := range ms {
		next[m.Name()] = m
		if _, had := old[m.Name()]; had {
			continue
		}
		if _, err := s.md.GetMonitor(ctx, m.Name()); err == nil {
			return fmt.Errorf("monitor %q: a monitor of that name is saved in the database (made in the UI); rename one", m.Name())
		} else if !errors.Is(err, meta.ErrNotFound) {
			return err
		}
	}
	s.mu.Lock()
	s.config = next
	s.mu.Unlock()
	for name := range old {
		if _, keep := next[name]; !keep {
			if err := s.sched.Remove(ctx, name); err != nil {
				s.log.Warn("monitor was not scheduled", "monitor", name, "err", err)
			}
			s.setProblem(name, "")
			s.log.Info("monitor removed from the config file", "monitor", name)
		}
	}
	for name, m := range next {
		if o, had := old[name]; had && reflect.DeepEqual(o.Def, m.Def) {
			continue
		}
		s.schedule(m)
		s.log.Info("monitor (re)scheduled from the config file", "monitor", name)
	}
	return nil
}

func (s *monitorService) setProblem(name, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if why == "" {
		delete(s.problems, name)
	} else {
		s.problems[name] = why
	}
}

// LoadStates implements monitor.StateStore. A state that does not decode
// is reported and started afresh, so one bad row does not stop the rest.
func (s *monitorService) LoadStates(ctx context.Context) (map[string]*monitor.MonitorState, error) {
	raw, err := s.md.MonitorStates(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*monitor.MonitorState, len(raw))
	for name, js := range raw {
		var st monitor.MonitorState
		if err := json.Unmarshal([]byte(js), &st); err != nil {
			s.log.Error("monitor state unreadable; starting afresh", "monitor", name, "err", err)
			continue
		}
		out[name] = &st
	}
	return out, nil
}

// SaveState implements monitor.StateStore.
func (s *monitorService) SaveState(ctx context.Context, name string, st *monitor.MonitorState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("monitor %s: state: %w", name, err)
	}
	return s.md.SaveMonitorState(ctx, name, string(b))
}

// DeleteState implements monitor.StateStore.
func (s *monitorService) DeleteState(ctx context.Context, name string) error {
	return s.md.DeleteMonitorState(ctx, name)
}

// AddRun implements monitor.RunLog.
func (s *monitorService) AddRun(ctx context.Context, res monitor.Result) error {
	b, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("monitor %s: run record: %w", res.Monitor, err)
	}
	// The previous run decides whether this one is annotated (a change
	// between ok and a kind of failure); read before this one is added.
	prev, prevErr := s.lastRun(ctx, res.Monitor)
	if err := s.md.AddMonitorRun(ctx, meta.MonitorRun{Monitor: res.Monitor, Start: res.Start, Runtime: res.Runtime,
		Outcome: string(res.Outcome), Result: string(b)}, s.keepRuns); err != nil {
		return err
	}
	if prevErr != nil {
		return fmt.Errorf("run recorded, not annotated: %w", prevErr)
	}
	return s.annotateRun(ctx, prev, res)
}

// decodeDefinition reads an API definition; errors are ErrInvalidMonitor.
func decodeDefinition(raw json.RawMessage) (monitor.Definition, error) {
	var d monitor.Definition
	if err := json.Unmarshal(raw, &d); err != nil {
		return d, fmt.Errorf("%w: %v", ui.ErrInvalidMonitor, err)
	}
	return d, nil
}

// Create implements ui.Monitors.
func (s *monitorService) Create(ctx context.Context, user meta.User, raw json.RawMessage) (ui.MonitorView, error) {
	s.changing.Lock()
	defer s.changing.Unlock()
	d, err := decodeDefinition(raw)
	if err != nil {
		return ui.MonitorView{}, err
	}
	d.Owner = user.Handle
	if _, taken := s.configs()[d.Name]; taken {
		return ui.MonitorView{}, fmt.Errorf("monitor %q is defined in the config file: %w", d.Name, meta.ErrExists)
	}
	for _, e := range d.Env {
		if e.Secret && e.Value == ui.SecretMask {
			return ui.MonitorView{}, fmt.Errorf("%w: env %s: give the secret's value", ui.ErrInvalidMonitor, e.Name)
		}
	}
	m, def, err := s.prepare(d)
	if err != nil {
		return ui.MonitorView{}, err
	}
	row, err := s.md.CreateMonitor(ctx, user, d.Name, def)
	if err != nil {
		return ui.MonitorView{}, err
	}
	s.schedule(m)
	s.log.Info("monitor created", "monitor", d, "owner", user.Handle)
	return s.savedView(row)
}

// prepare compiles a definition from the API, checks it against the
// monitor's existing series and encodes it for the metadata database.
func (s *monitorService) prepare(d monitor.Definition) (*monitor.Monitor, string, error) {
	m, err := d.Compile()
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ui.ErrInvalidMonitor, err)
	}
	if err := s.checkSeries(d); err != nil {
		return nil, "", err
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, "", err
	}
	return m, string(b), nil
}

// checkSeries refuses an interval longer than the heartbeat of the
// monitor's existing run series (made for an earlier definition of the
// same name): every run would be stored as unknown.
func (s *monitorService) checkSeries(d monitor.Definition) error {
	name := monitor.SeriesName(d.Name)
	sp, err := s.specs.Spec(name)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("monitor %s: series %s: %w", d.Name, name, err)
	}
	for _, ds := range sp.DS {
		if hb := time.Duration(ds.Heartbeat) * time.Second; d.Interval > hb {
			return fmt.Errorf("%w: monitor %s: interval %s exceeds the heartbeat %s of its existing series %s (made for an earlier interval), "+
				"so every run would be stored as unknown: keep the interval at most %s or use a new name",
				ui.ErrInvalidMonitor, d.Name, shortDuration(d.Interval), shortDuration(hb), name, shortDuration(hb))
		}
	}
	return nil
}

// schedule puts m on the scheduler, noting a failure as its problem.
func (s *monitorService) schedule(m *monitor.Monitor) {
	s.noteScheduled(m)
	if err := s.sched.Put(m); err != nil {
		s.log.Error("monitor not scheduled", "monitor", m.Name(), "err", err)
		s.setProblem(m.Name(), err.Error())
		return
	}
	s.setProblem(m.Name(), "")
}

// Update implements ui.Monitors. Secret values sent as the mask keep their
// stored value; the name cannot change.
func (s *monitorService) Update(ctx context.Context, user meta.User, name string, raw json.RawMessage) (ui.MonitorView, error) {
	s.changing.Lock()
	defer s.changing.Unlock()
	d, err := decodeDefinition(raw)
	if err != nil {
		return ui.MonitorView{}, err
	}
	if d.Name == "" {
		d.Name = name
	}
	if d.Name != name {
		return ui.MonitorView{}, fmt.Errorf("%w: monitor %s cannot be renamed to %q: create a new one", ui.ErrInvalidMonitor, name, d.Name)
	}
	if _, ok := s.configs()[name]; ok {
		return ui.MonitorView{}, fmt.Errorf("monitor %q is defined in the config file: %w", name, meta.ErrForbidden)
	}
	row, err := s.md.GetMonitor(ctx, name)
	if err != nil {
		return ui.MonitorView{}, err
	}
	if row.OwnerID != user.ID {
		return ui.MonitorView{}, fmt.Errorf("monitor %q: %w", name, meta.ErrForbidden)
	}
	var old monitor.Definition
	if err := json.Unmarshal([]byte(row.Definition), &old); err != nil {
		return ui.MonitorView{}, fmt.Errorf("saved monitor %s: %w", name, err)
	}
	for i, e := range d.Env {
		if !e.Secret || e.Value != ui.SecretMask {
			continue
		}
		j := slices.IndexFunc(old.Env, func(o monitor.EnvVar) bool { return o.Name == e.Name && o.Secret })
		if j < 0 {
			return ui.MonitorView{}, fmt.Errorf("%w: env %s: give the secret's value (it had none stored)", ui.ErrInvalidMonitor, e.Name)
		}
		d.Env[i].Value = old.Env[j].Value
	}
	d.Owner = row.Owner
	m, def, err := s.prepare(d)
	if err != nil {
		return ui.MonitorView{}, err
	}
	row, err = s.md.UpdateMonitor(ctx, user, name, def)
	if err != nil {
		return ui.MonitorView{}, err
	}
	s.schedule(m)
	s.log.Info("monitor updated", "monitor", d, "owner", user.Handle)
	return s.savedView(row)
}

// Delete implements ui.Monitors: the monitor is unscheduled first, so no
// run writes history for it after its rows are gone.
func (s *monitorService) Delete(ctx context.Context, user meta.User, name string) error {
	s.changing.Lock()
	defer s.changing.Unlock()
	if _, ok := s.configs()[name]; ok {
		return fmt.Errorf("monitor %q is defined in the config file: %w", name, meta.ErrForbidden)
	}
	row, err := s.md.GetMonitor(ctx, name)
	if err != nil {
		return err
	}
	if row.OwnerID != user.ID {
		return fmt.Errorf("monitor %q: %w", name, meta.ErrForbidden)
	}
	if err := s.sched.Remove(ctx, name); err != nil {
		s.log.Warn("monitor was not scheduled", "monitor", name, "err", err)
	}
	s.forgetScheduled(name)
	s.setProblem(name, "")
	if err := s.md.DeleteMonitor(ctx, user, name); err != nil {
		return err
	}
	s.log.Info("monitor deleted", "monitor", name, "owner", user.Handle)
	return nil
}

// RunNow implements ui.Monitors.
func (s *monitorService) RunNow(_ context.Context, name string) error {
	return s.sched.RunNow(name)
}

// exists reports meta.ErrNotFound for an unknown monitor.
func (s *monitorService) exists(ctx context.Context, name string) error {
	if _, ok := s.configs()[name]; ok {
		return nil
	}
	_, err := s.md.GetMonitor(ctx, name)
	return err
}

// errNoMonitor is returned by lookups of a monitor name that is defined nowhere.
var errNoMonitor = errors.New("no such monitor")
