package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// EventKind says what an Event reports.
type EventKind string

// Event kinds.
const (
	RunDone     EventKind = "run"    // a run finished and was recorded
	AlertChange EventKind = "alert"  // the failure alert fired or resolved
	MissedRun   EventKind = "missed" // the missed-run alert fired or resolved
)

// Event is something the scheduler did, for notifications and the UI.
type Event struct {
	Kind       EventKind
	Monitor    string
	Transition Transition // for AlertChange and MissedRun
	Result     *Result    // for RunDone and AlertChange
	At         time.Time
}

// Scheduler runs monitors at their intervals, at most MaxConcurrent at once,
// records the runs and keeps their alert states.
type Scheduler struct {
	Runner        *Runner
	Sink          Sink // nil: runs are not stored
	Policy        Policy
	MaxConcurrent int     // 0 means 1
	Jitter        float64 // fraction of the interval, in [0, 1): spreads first runs and varies the period
	StatePath     string  // "" keeps alert state in memory only
	Logger        *slog.Logger
	OnEvent       func(Event) // called from scheduler goroutines; must not block long
	// Webhooks get every alert transition; deliveries are retried in the
	// background and recorded in the monitor's alert history.
	Webhooks []*Webhook
	LinkBase string // URL prefix of monitor pages, for notification links

	notifying sync.WaitGroup
	mu        sync.Mutex
	triggers  map[string]chan struct{} // "run now" requests, while Run runs
	states    map[string]*MonitorState
	started   time.Time
	running   int
	peak      int
}

// Stats tells how many runs are going and the most there have been at once.
func (s *Scheduler) Stats() (running, peak int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running, s.peak
}

// State returns a copy of a monitor's state.
func (s *Scheduler) State(name string) (MonitorState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.states[name]
	if !ok {
		return MonitorState{}, false
	}
	return *st, true
}

func (s *Scheduler) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Run schedules the monitors until ctx is cancelled, then waits for the
// runs in progress to be killed and returns ctx's error. Runs cut short by
// the cancellation are neither recorded nor counted for alerts.
func (s *Scheduler) Run(ctx context.Context, monitors []*Monitor) error {
	if s.Runner == nil {
		return errors.New("scheduler: no runner")
	}
	if err := s.Policy.Validate(); err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	if s.Jitter < 0 || s.Jitter >= 1 {
		return fmt.Errorf("scheduler: jitter %v not in [0, 1)", s.Jitter)
	}
	seen := map[string]bool{}
	minInterval := time.Duration(0)
	for _, m := range monitors {
		if seen[m.Name()] {
			return fmt.Errorf("scheduler: monitor %s defined twice", m.Name())
		}
		seen[m.Name()] = true
		if minInterval == 0 || m.Def.Interval < minInterval {
			minInterval = m.Def.Interval
		}
	}
	states := map[string]*MonitorState{}
	if s.StatePath != "" {
		var err error
		if states, err = LoadStates(s.StatePath); err != nil {
			return fmt.Errorf("scheduler: %w", err)
		}
	}
	for _, m := range monitors {
		if states[m.Name()] == nil {
			states[m.Name()] = &MonitorState{}
		}
	}
	triggers := map[string]chan struct{}{}
	for _, m := range monitors {
		triggers[m.Name()] = make(chan struct{}, 1)
	}
	s.mu.Lock()
	s.states, s.started, s.triggers = states, time.Now(), triggers
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.triggers = nil
		s.mu.Unlock()
	}()

	sem := make(chan struct{}, max(s.MaxConcurrent, 1))
	var wg sync.WaitGroup
	for _, m := range monitors {
		wg.Go(func() { s.loop(ctx, m, sem, triggers[m.Name()]) })
	}
	if len(monitors) > 0 {
		wg.Go(func() {
			t := time.NewTicker(minInterval / 2)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case now := <-t.C:
					s.checkMissed(ctx, now, monitors)
				}
			}
		})
	}
	wg.Wait()
	s.notifying.Wait()
	return ctx.Err()
}

// jitter returns a random duration in [0, f·d).
func jitter(d time.Duration, f float64) time.Duration {
	n := int64(float64(d) * f)
	if n <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(n))
}

// RunNow asks for a run of the named monitor as soon as a run slot is free;
// requests made while one is pending are merged into it.
func (s *Scheduler) RunNow(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.triggers == nil {
		return fmt.Errorf("run now %s: the scheduler is not running", name)
	}
	ch, ok := s.triggers[name]
	if !ok {
		return fmt.Errorf("run now %s: no such monitor", name)
	}
	select {
	case ch <- struct{}{}:
	default:
	}
	return nil
}

func (s *Scheduler) loop(ctx context.Context, m *Monitor, sem chan struct{}, now <-chan struct{}) {
	iv := m.Def.Interval
	next := time.Now().Add(jitter(iv, s.Jitter))
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-now:
			if !timer.Stop() {
				// The timer fired meanwhile; drain it so Reset starts clean.
				select {
				case <-timer.C:
				default:
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case sem <- struct{}{}:
		}
		start := time.Now()
		s.begin(ctx, m, start)
		res := s.Runner.Run(ctx, m)
		s.end()
		<-sem
		if ctx.Err() != nil {
			return
		}
		s.finish(ctx, m, res)
		// The period varies by ±Jitter/2 so that monitors started together drift apart.
		next = start.Add(iv - time.Duration(float64(iv)*s.Jitter/2) + jitter(iv, s.Jitter))
		timer.Reset(max(time.Until(next), 0))
	}
}

func (s *Scheduler) begin(ctx context.Context, m *Monitor, at time.Time) {
	s.mu.Lock()
	s.running++
	s.peak = max(s.peak, s.running)
	tr := s.states[m.Name()].Missed.Ran(at)
	s.mu.Unlock()
	if tr != NoChange {
		s.logger().Info("monitor missed-run alert", "monitor", m.Name(), "transition", tr.String())
		s.alert(ctx, Event{Kind: MissedRun, Monitor: m.Name(), Transition: tr, At: at})
	}
}

func (s *Scheduler) end() {
	s.mu.Lock()
	s.running--
	s.mu.Unlock()
}

// finish records a run, feeds the alert and saves the state.
func (s *Scheduler) finish(ctx context.Context, m *Monitor, res Result) {
	log := s.logger().With("monitor", m.Name())
	log.Info("monitor run", "outcome", res.Outcome, "runtime", res.Runtime, "exit_status", res.ExitStatus, "reason", res.Reason)
	if s.Sink != nil {
		if err := Record(ctx, s.Sink, m, res); err != nil {
			log.Error("monitor run not stored", "err", err)
		}
	}
	s.mu.Lock()
	st := s.states[m.Name()]
	tr := st.Alert.Observe(s.Policy, res.Outcome == OK, res.Start.Add(res.Runtime))
	last := res
	st.Last = &last
	err := s.saveLocked()
	s.mu.Unlock()
	if err != nil {
		log.Error("monitor state not saved", "err", err)
	}
	s.emit(Event{Kind: RunDone, Monitor: m.Name(), Result: &res, At: res.Start.Add(res.Runtime)})
	if tr != NoChange {
		log.Warn("monitor alert", "transition", tr.String(), "reason", res.Reason)
		s.alert(ctx, Event{Kind: AlertChange, Monitor: m.Name(), Transition: tr, Result: &res, At: res.Start.Add(res.Runtime)})
	}
}

// checkMissed fires the missed-run alert of monitors not run within two
// intervals.
func (s *Scheduler) checkMissed(ctx context.Context, now time.Time, monitors []*Monitor) {
	var fired []string
	s.mu.Lock()
	for _, m := range monitors {
		if s.states[m.Name()].Missed.Check(now, s.started, m.Def.Interval) == Fired {
			fired = append(fired, m.Name())
		}
	}
	var err error
	if len(fired) > 0 {
		err = s.saveLocked()
	}
	s.mu.Unlock()
	if err != nil {
		s.logger().Error("monitor state not saved", "err", err)
	}
	for _, name := range fired {
		s.logger().Warn("monitor missed-run alert", "monitor", name, "transition", Fired.String())
		s.alert(ctx, Event{Kind: MissedRun, Monitor: name, Transition: Fired, At: now})
	}
}

func (s *Scheduler) saveLocked() error {
	if s.StatePath == "" {
		return nil
	}
	return SaveStates(s.StatePath, s.states)
}

func (s *Scheduler) emit(e Event) {
	if s.OnEvent != nil {
		s.OnEvent(e)
	}
}

// alert records an alert transition in the history, emits it and notifies
// the webhooks in the background.
func (s *Scheduler) alert(ctx context.Context, e Event) {
	rec := AlertRecord{At: e.At, Kind: e.Kind, Transition: e.Transition.String()}
	if e.Result != nil {
		rec.Reason = e.Result.Reason
	} else if e.Kind == MissedRun && e.Transition == Fired {
		rec.Reason = "not run within two intervals"
	}
	s.mu.Lock()
	st := s.states[e.Monitor]
	id := st.addHistory(rec)
	err := s.saveLocked()
	s.mu.Unlock()
	if err != nil {
		s.logger().Error("monitor state not saved", "err", err)
	}
	s.emit(e)
	n, ok := NotificationFor(e, s.LinkBase)
	if !ok {
		return
	}
	for _, w := range s.Webhooks {
		s.notifying.Go(func() {
			ds, err := w.Notify(ctx, n)
			if err != nil {
				s.logger().Error("monitor notification failed", "monitor", e.Monitor, "err", err)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if r := s.states[e.Monitor].record(id); r != nil {
				r.Deliveries = append(r.Deliveries, ds...)
				if err != nil {
					r.Undelivered = append(r.Undelivered, err.Error())
				}
			}
			if err := s.saveLocked(); err != nil {
				s.logger().Error("monitor state not saved", "err", err)
			}
		})
	}
}
