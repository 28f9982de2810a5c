package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
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

// RunObserver is told about every run; calls come from scheduler
// goroutines and must be quick.
type RunObserver interface {
	MonitorStarted(monitor string)
	MonitorFinished(monitor, outcome string, d time.Duration) // outcome: ok, fail, timeout, error
}

// Coordinator shares the monitors among the servers of a cluster: every
// scheduled run is claimed first, so a monitor runs on one server at a
// time and once per interval across them.
type Coordinator interface {
	// Claim asks to start a run of the monitor now. It is granted when
	// no other server holds the monitor and its last run anywhere started
	// at least minGap ago; takenOver says that run was elsewhere. When not
	// granted, wait says when to ask again.
	Claim(ctx context.Context, monitor string, minGap time.Duration) (run, takenOver bool, wait time.Duration, err error)
}

// Scheduler runs monitors at their intervals, at most MaxConcurrent at once,
// records the runs and keeps their alert states. Monitors can be added,
// replaced and removed while it runs (Put, Remove).
type Scheduler struct {
	Runner        *Runner
	Sink          Sink // nil: runs are not stored
	Policy        Policy
	MaxConcurrent int        // 0 means 1
	Jitter        float64    // fraction of the interval, in [0, 1): spreads first runs and varies the period
	States        StateStore // nil keeps alert state in memory only
	Runs          RunLog     // nil keeps no run history
	Logger        *slog.Logger
	OnEvent       func(Event) // called from scheduler goroutines; must not block long
	// Webhooks get every alert transition; deliveries are retried in the
	// background and recorded in the monitor's alert history. Once Run
	// has started, change them only with SetWebhooks.
	Webhooks []*Webhook
	LinkBase string // URL prefix of monitor pages, for notification links
	// Observer, when set, is told when runs start and finish (metrics).
	Observer RunObserver
	// Coordinator, when set, is asked before every scheduled run (not a
	// "run now"); the missed-run alert is then watched only for monitors
	// this server ran last.
	Coordinator Coordinator

	notifying sync.WaitGroup
	putMu     sync.Mutex // serialises Put and Remove
	saveMu    sync.Mutex // keeps saves of states in the order they were taken
	mu        sync.Mutex
	runCtx    context.Context     // nil unless Run is running
	pending   map[string]*Monitor // Put before Run: scheduled when Run starts
	stopped   bool                // Run has returned
	loaded    bool                // LoadStates ran since the last Run
	loops     sync.WaitGroup
	sem       chan struct{}
	entries   map[string]*entry
	states    map[string]*MonitorState
	started   time.Time
	running   int
	peak      int
}

// entry is one scheduled monitor.
type entry struct {
	m       *Monitor
	added   time.Time
	trigger chan struct{} // "run now" requests
	cancel  context.CancelFunc
	done    chan struct{}
	owned   atomic.Bool // with a Coordinator: this server ran it last
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
	return *st.Clone(), true
}

// SetWebhooks replaces the webhooks (SIGHUP). Alert transitions after it
// returns go to the new ones; deliveries already under way finish.
func (s *Scheduler) SetWebhooks(hooks []*Webhook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Webhooks = hooks
}

func (s *Scheduler) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Scheduler) policy(m *Monitor) Policy {
	if m.Def.Alert != nil {
		return *m.Def.Alert
	}
	return s.Policy
}

// Run schedules the monitors, and those Put before, until ctx is
// cancelled, then waits for the runs in progress to be killed and returns
// ctx's error. Runs cut short by the cancellation are neither recorded nor
// counted for alerts.
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
	for _, m := range monitors {
		if seen[m.Name()] {
			return fmt.Errorf("scheduler: monitor %s defined twice", m.Name())
		}
		seen[m.Name()] = true
	}
	s.mu.Lock()
	loaded := s.loaded
	s.mu.Unlock()
	if !loaded {
		if err := s.LoadStates(ctx); err != nil {
			return err
		}
	}
	s.mu.Lock()
	if s.runCtx != nil {
		s.mu.Unlock()
		return errors.New("scheduler: already running")
	}
	s.runCtx, s.started, s.stopped, s.loaded = ctx, time.Now(), false, false
	s.entries = map[string]*entry{}
	s.sem = make(chan struct{}, max(s.MaxConcurrent, 1))
	for _, m := range monitors {
		if s.pending[m.Name()] == nil {
			s.startLocked(m)
		}
	}
	for _, m := range s.pending {
		s.startLocked(m)
	}
	s.pending = nil
	// The missed-run check ticks at half the shortest allowed interval, so
	// monitors added later need no new ticker.
	s.loops.Go(func() {
		t := time.NewTicker(MinInterval / 2)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				s.checkMissed(ctx, now)
			}
		}
	})
	s.mu.Unlock()

	<-ctx.Done()
	s.loops.Wait()
	s.notifying.Wait()
	s.mu.Lock()
	s.runCtx, s.entries, s.stopped = nil, nil, true
	s.mu.Unlock()
	return ctx.Err()
}

// LoadStates reads the saved states, so that State answers before Run
// starts; Run calls it when it was not called before.
func (s *Scheduler) LoadStates(ctx context.Context) error {
	states := map[string]*MonitorState{}
	if s.States != nil {
		var err error
		if states, err = s.States.LoadStates(ctx); err != nil {
			return fmt.Errorf("scheduler: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.runCtx != nil {
		return errors.New("scheduler: states cannot be reloaded while it runs")
	}
	s.states, s.loaded = states, true
	return nil
}

// startLocked starts the loop of m; s.mu is held and Run is running.
func (s *Scheduler) startLocked(m *Monitor) {
	if s.states[m.Name()] == nil {
		s.states[m.Name()] = &MonitorState{}
	}
	ctx, cancel := context.WithCancel(s.runCtx)
	e := &entry{m: m, added: time.Now(), trigger: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	s.entries[m.Name()] = e
	s.loops.Go(func() {
		defer close(e.done)
		s.loop(ctx, e)
	})
}

// Put schedules m, replacing the monitor of the same name (whose run in
// progress, if any, is killed and not recorded); the alert state of a
// replaced monitor is kept. Before Run, m waits for Run to start; after
// Run has returned, Put fails.
func (s *Scheduler) Put(m *Monitor) error {
	s.putMu.Lock()
	defer s.putMu.Unlock()
	s.mu.Lock()
	if s.runCtx == nil && !s.stopped {
		if s.pending == nil {
			s.pending = map[string]*Monitor{}
		}
		s.pending[m.Name()] = m
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	old, err := s.detach(m.Name(), false)
	if err != nil {
		return fmt.Errorf("schedule %s: %w", m.Name(), err)
	}
	if old != nil {
		old.cancel()
		<-old.done
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.runCtx == nil || s.runCtx.Err() != nil {
		return fmt.Errorf("schedule %s: the scheduler is not running", m.Name())
	}
	s.startLocked(m)
	return nil
}

// Remove stops scheduling a monitor and forgets its state.
func (s *Scheduler) Remove(ctx context.Context, name string) error {
	s.putMu.Lock()
	defer s.putMu.Unlock()
	s.mu.Lock()
	_, wasPending := s.pending[name]
	delete(s.pending, name)
	s.mu.Unlock()
	if !wasPending {
		old, err := s.detach(name, true)
		if err != nil {
			return fmt.Errorf("unschedule %s: %w", name, err)
		}
		old.cancel()
		<-old.done
	}
	s.mu.Lock()
	delete(s.states, name)
	s.mu.Unlock()
	if s.States != nil {
		s.saveMu.Lock()
		defer s.saveMu.Unlock()
		if err := s.States.DeleteState(ctx, name); err != nil {
			return fmt.Errorf("unschedule %s: %w", name, err)
		}
	}
	return nil
}

// detach takes a monitor's entry out of the schedule.
func (s *Scheduler) detach(name string, mustExist bool) (*entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.runCtx == nil || s.runCtx.Err() != nil {
		return nil, errors.New("the scheduler is not running")
	}
	e := s.entries[name]
	if e == nil && mustExist {
		return nil, errors.New("no such monitor")
	}
	delete(s.entries, name)
	return e, nil
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
	if s.runCtx == nil {
		return fmt.Errorf("run now %s: the scheduler is not running", name)
	}
	e, ok := s.entries[name]
	if !ok {
		return fmt.Errorf("run now %s: no such monitor", name)
	}
	select {
	case e.trigger <- struct{}{}:
	default:
	}
	return nil
}

func (s *Scheduler) loop(ctx context.Context, e *entry) {
	m, now := e.m, e.trigger
	sem := s.sem
	iv := m.Def.Interval
	// The shortest period the jitter makes, less a twentieth for the
	// servers' and the database's latencies.
	minGap := iv - time.Duration(float64(iv)*s.Jitter/2) - iv/20
	next := time.Now().Add(jitter(iv, s.Jitter))
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	for {
		manual := false
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-now:
			manual = true
			if !timer.Stop() {
				// The timer fired meanwhile; drain it so Reset starts clean.
				select {
				case <-timer.C:
				default:
				}
			}
		}
		if s.Coordinator != nil && !manual {
			if wait, ok := s.claim(ctx, e, minGap); !ok {
				timer.Reset(wait)
				continue
			}
		}
		select {
		case <-ctx.Done():
			return
		case sem <- struct{}{}:
		}
		start := time.Now()
		s.begin(ctx, m, start)
		if s.Observer != nil {
			s.Observer.MonitorStarted(m.Name())
		}
		res := s.Runner.Run(ctx, m)
		if s.Observer != nil {
			s.Observer.MonitorFinished(m.Name(), string(res.Outcome), res.Runtime)
		}
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

// claim asks the Coordinator for a due run of e's monitor; without it, it
// returns when to ask again. A monitor taken over from another server
// gets that server's saved state first, so alerts carry on.
func (s *Scheduler) claim(ctx context.Context, e *entry, minGap time.Duration) (time.Duration, bool) {
	name := e.m.Name()
	run, takenOver, wait, err := s.Coordinator.Claim(ctx, name, minGap)
	if err != nil {
		// Not knowing whether another server runs it, this one does not.
		s.logger().Warn("monitor run not claimed", "monitor", name, "err", err)
		return max(e.m.Def.Interval/4, time.Second), false
	}
	if !run {
		e.owned.Store(false)
		// At least a little, so a clock step cannot make a busy loop.
		return max(wait, 50*time.Millisecond), false
	}
	if takenOver && s.States != nil {
		states, err := s.States.LoadStates(ctx)
		if err != nil {
			s.logger().Warn("state of a monitor taken over not loaded", "monitor", name, "err", err)
		} else if st := states[name]; st != nil {
			s.mu.Lock()
			s.states[name] = st
			s.mu.Unlock()
		}
		s.logger().Info("monitor taken over from another server", "monitor", name)
	}
	e.owned.Store(true)
	return 0, true
}

func (s *Scheduler) begin(ctx context.Context, m *Monitor, at time.Time) {
	s.mu.Lock()
	s.running++
	s.peak = max(s.peak, s.running)
	st := s.stateLocked(m.Name())
	tr := st.Missed.Ran(at)
	s.mu.Unlock()
	if tr != NoChange {
		s.logger().Info("monitor missed-run alert", "monitor", m.Name(), "transition", tr.String())
		s.alert(ctx, Event{Kind: MissedRun, Monitor: m.Name(), Transition: tr, At: at})
	}
}

// stateLocked returns a monitor's state, creating it; s.mu is held.
func (s *Scheduler) stateLocked(name string) *MonitorState {
	st := s.states[name]
	if st == nil {
		st = &MonitorState{}
		if s.states == nil {
			s.states = map[string]*MonitorState{}
		}
		s.states[name] = st
	}
	return st
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
	// Records are written even if ctx ends meanwhile: the run happened.
	wctx := context.WithoutCancel(ctx)
	if s.Sink != nil {
		if err := Record(wctx, s.Sink, m, res); err != nil {
			log.Error("monitor run not stored", "err", err)
		}
	}
	if s.Runs != nil {
		if err := s.Runs.AddRun(wctx, res); err != nil {
			log.Error("monitor run history not saved", "err", err)
		}
	}
	s.mu.Lock()
	st := s.stateLocked(m.Name())
	tr := st.Alert.Observe(s.policy(m), res.Outcome == OK, res.Start.Add(res.Runtime))
	last := res.clone()
	st.Last = &last
	s.mu.Unlock()
	s.save(wctx, m.Name())
	s.emit(Event{Kind: RunDone, Monitor: m.Name(), Result: &res, At: res.Start.Add(res.Runtime)})
	if tr != NoChange {
		log.Warn("monitor alert", "transition", tr.String(), "reason", res.Reason)
		s.alert(ctx, Event{Kind: AlertChange, Monitor: m.Name(), Transition: tr, Result: &res, At: res.Start.Add(res.Runtime)})
	}
}

// checkMissed fires the missed-run alert of monitors not run within two
// intervals of their last run (or of being scheduled).
func (s *Scheduler) checkMissed(ctx context.Context, now time.Time) {
	var fired []string
	s.mu.Lock()
	for name, e := range s.entries {
		if s.Coordinator != nil && !e.owned.Load() {
			continue // another server runs it and watches it
		}
		since := s.started
		if e.added.After(since) {
			since = e.added
		}
		if s.stateLocked(name).Missed.Check(now, since, e.m.Def.Interval) == Fired {
			fired = append(fired, name)
		}
	}
	s.mu.Unlock()
	for _, name := range fired {
		s.save(context.WithoutCancel(ctx), name)
		s.logger().Warn("monitor missed-run alert", "monitor", name, "transition", Fired.String())
		s.alert(ctx, Event{Kind: MissedRun, Monitor: name, Transition: Fired, At: now})
	}
}

// save writes a copy of one monitor's state. Copies are taken and written
// under saveMu, so a later state is never overwritten by an earlier one.
func (s *Scheduler) save(ctx context.Context, name string) {
	if s.States == nil {
		return
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	st, ok := s.states[name]
	if ok {
		st = st.Clone()
	}
	s.mu.Unlock()
	if !ok {
		return // removed meanwhile
	}
	if err := s.States.SaveState(ctx, name, st); err != nil {
		s.logger().Error("monitor state not saved", "monitor", name, "err", err)
	}
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
	id := s.stateLocked(e.Monitor).addHistory(rec)
	s.mu.Unlock()
	s.save(context.WithoutCancel(ctx), e.Monitor)
	s.emit(e)
	n, ok := NotificationFor(e, s.LinkBase)
	if !ok {
		return
	}
	// Deliveries outlive an edit of the monitor (which cancels its loop's
	// context) but not the scheduler.
	nctx := ctx
	s.mu.Lock()
	if s.runCtx != nil {
		nctx = s.runCtx
	}
	hooks := s.Webhooks
	s.mu.Unlock()
	for _, w := range hooks {
		s.notifying.Go(func() {
			ds, err := w.Notify(nctx, n)
			if err != nil {
				s.logger().Error("monitor notification failed", "monitor", e.Monitor, "err", err)
			}
			s.mu.Lock()
			if st := s.states[e.Monitor]; st != nil {
				if r := st.record(id); r != nil {
					r.Deliveries = append(r.Deliveries, ds...)
					if err != nil {
						r.Undelivered = append(r.Undelivered, err.Error())
					}
				}
			}
			s.mu.Unlock()
			s.save(context.WithoutCancel(nctx), e.Monitor)
		})
	}
}
