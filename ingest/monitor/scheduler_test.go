package monitor

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"rrdash/store"
)

func TestSchedulerConcurrencyAndRecording(t *testing.T) {
	t.Parallel()
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var monitors []*Monitor
	for _, name := range []string{"s1", "s2", "s3", "s4"} {
		monitors = append(monitors, scriptMonitor(t, "slow.py", 30*time.Second, func(d *Definition) { d.Name = name }))
	}
	statePath := filepath.Join(t.TempDir(), "state.json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	runs := map[string]int{}
	allRan := make(chan struct{})
	obs := &countingObserver{finished: map[string]int{}}
	s := &Scheduler{
		Runner:        newRunner(t),
		Observer:      obs,
		Logger:        quiet,
		Sink:          db,
		Policy:        DefaultPolicy(),
		MaxConcurrent: 2,
		States:        &FileStates{Path: statePath},
		OnEvent: func(e Event) {
			if e.Kind != RunDone {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			runs[e.Monitor]++
			if e.Result.Outcome != OK {
				t.Errorf("%s: %s (%s)", e.Monitor, e.Result.Outcome, e.Result.Reason)
			}
			if len(runs) == 4 {
				select {
				case <-allRan:
				default:
					close(allRan)
				}
			}
		},
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, monitors) }()
	select {
	case <-allRan:
	case err := <-done:
		t.Fatalf("scheduler stopped early: %v", err)
	case <-time.After(45 * time.Second):
		t.Fatal("not every monitor ran within 45s")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
	running, peak := s.Stats()
	if running != 0 || peak < 1 || peak > 2 {
		t.Errorf("running %d peak %d: want 0 running and at most 2 at once", running, peak)
	}
	obs.mu.Lock()
	if obs.active != 0 || obs.peak > 2 || len(obs.finished) != 4 {
		t.Errorf("observer: %d active, peak %d, finished %v; want 0 active, at most 2 at once, all 4 monitors", obs.active, obs.peak, obs.finished)
	}
	obs.mu.Unlock()
	for _, m := range monitors {
		if _, err := db.LastUpdate(SeriesName(m.Name())); err != nil {
			t.Errorf("%s: %v", m.Name(), err)
		}
		if _, err := db.LastUpdate(MetricSeriesName(m.Name(), "slept_s")); err != nil {
			t.Errorf("%s metric: %v", m.Name(), err)
		}
	}
	states, err := LoadStates(statePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range monitors {
		st := states[m.Name()]
		if st == nil || st.Last == nil || st.Last.Outcome != OK || st.Alert.Recent == "" || st.Missed.LastRun.IsZero() {
			t.Errorf("%s: saved state %+v", m.Name(), st)
		}
	}
}

// TestSchedulerMissedRun drives the missed-run check with explicit times:
// a monitor not started within two intervals raises its own alert, and the
// next run resolves it.
func TestSchedulerMissedRun(t *testing.T) {
	t.Parallel()
	m := scriptMonitor(t, "pass.py", 5*time.Second, func(d *Definition) { d.Interval = 10 * time.Second })
	var events []Event
	s := &Scheduler{Runner: newRunner(t), Logger: quiet, Policy: DefaultPolicy(), OnEvent: func(e Event) { events = append(events, e) }}
	t0 := time.Now()
	s.states = map[string]*MonitorState{m.Name(): {}}
	s.started = t0
	s.entries = map[string]*entry{m.Name(): {m: m, added: t0}}
	s.checkMissed(context.Background(), t0.Add(15*time.Second))
	s.begin(context.Background(), m, t0.Add(16*time.Second))
	s.end()
	s.checkMissed(context.Background(), t0.Add(36*time.Second))
	s.checkMissed(context.Background(), t0.Add(37*time.Second))
	s.checkMissed(context.Background(), t0.Add(38*time.Second))
	s.begin(context.Background(), m, t0.Add(39*time.Second))
	s.end()
	var got []string
	for _, e := range events {
		got = append(got, string(e.Kind)+" "+e.Transition.String())
	}
	want := []string{"missed fired", "missed resolved"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("events %v, want %v", got, want)
	}
}

func TestSchedulerRejectsBadConfig(t *testing.T) {
	t.Parallel()
	m, err := validDef().Compile()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Scheduler{
		{Policy: DefaultPolicy()},
		{Runner: &Runner{}, Policy: Policy{}},
		{Runner: &Runner{}, Policy: DefaultPolicy(), Jitter: 1},
	} {
		if err := s.Run(context.Background(), []*Monitor{m}); err == nil || errors.Is(err, context.Canceled) {
			t.Errorf("%+v: error %v", s, err)
		}
	}
	s := &Scheduler{Runner: &Runner{}, Policy: DefaultPolicy()}
	if err := s.Run(context.Background(), []*Monitor{m, m}); err == nil {
		t.Error("duplicate monitor accepted")
	}
}

func TestJitterBounds(t *testing.T) {
	t.Parallel()
	for _, f := range []float64{0, 0.1, 0.5, 0.99} {
		for range 1000 {
			j := jitter(time.Minute, f)
			if j < 0 || (f == 0 && j != 0) || (f > 0 && j >= time.Duration(float64(time.Minute)*f)) {
				t.Fatalf("jitter(1m, %v) = %v", f, j)
			}
		}
	}
}

// TestSchedulerNotifies feeds real runs of the flapping script through the
// scheduler's recording path: the firing is delivered to a webhook on
// 127.0.0.1 that fails twice before accepting it, the resolution at once,
// and both land in the saved alert history with their deliveries.
func TestSchedulerNotifies(t *testing.T) {
	t.Parallel()
	counter := filepath.Join(t.TempDir(), "counter")
	m := scriptMonitor(t, "flap.py", 30*time.Second, func(d *Definition) {
		d.Name = "flappy"
		d.Env = []EnvVar{{Name: "FLAP_PATTERN", Value: "fffooo"}, {Name: "FLAP_COUNTER", Value: counter}}
	})
	rc := &receiver{statuses: []int{500, 502, 200}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	statePath := filepath.Join(t.TempDir(), "state.json")
	s := &Scheduler{
		Runner:   newRunner(t),
		Logger:   quiet,
		Policy:   DefaultPolicy(),
		States:   &FileStates{Path: statePath},
		LinkBase: "http://rrdash.test/monitors/",
		Webhooks: []*Webhook{{URL: srv.URL, Backoff: time.Millisecond, Logger: quiet}},
		states:   map[string]*MonitorState{"flappy": {}},
		started:  time.Now(),
	}
	ctx := context.Background()
	for range 6 {
		res := s.Runner.Run(ctx, m)
		s.finish(ctx, m, res)
		s.notifying.Wait() // keeps deliveries in order for the check below
	}
	states, err := LoadStates(statePath)
	if err != nil {
		t.Fatal(err)
	}
	h := states["flappy"].History
	if len(h) != 2 || h[0].Transition != "fired" || h[1].Transition != "resolved" {
		t.Fatalf("history %+v", h)
	}
	if len(h[0].Deliveries) != 3 || h[0].Deliveries[2].Status != 200 || len(h[0].Undelivered) != 0 {
		t.Errorf("firing deliveries %+v", h[0].Deliveries)
	}
	if len(h[1].Deliveries) != 1 || h[1].Deliveries[0].Status != 200 {
		t.Errorf("resolution deliveries %+v", h[1].Deliveries)
	}
	bodies := rc.received()
	var got []string
	for _, n := range bodies {
		got = append(got, n.State)
	}
	if strings.Join(got, ",") != "firing,firing,firing,resolved" {
		t.Errorf("receiver got %v", got)
	}
	if bodies[0].Link != "http://rrdash.test/monitors/flappy" || !strings.Contains(bodies[0].OutputTail, "FAIL") {
		t.Errorf("notification %+v", bodies[0])
	}
}

func TestSchedulerRunNow(t *testing.T) {
	t.Parallel()
	m := scriptMonitor(t, "pass.py", 30*time.Second, func(d *Definition) { d.Interval = time.Hour })
	s := &Scheduler{Runner: newRunner(t), Logger: quiet, Policy: DefaultPolicy()}
	if err := s.RunNow(m.Name()); err == nil {
		t.Error("RunNow before Run: no error")
	}
	runs := make(chan Result, 10)
	s.OnEvent = func(e Event) {
		if e.Kind == RunDone {
			runs <- *e.Result
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, []*Monitor{m}) }()
	// The first run starts at once (no jitter); with an hourly interval a
	// second one happens only on request.
	for i := range 2 {
		select {
		case res := <-runs:
			if res.Outcome != OK {
				t.Errorf("run %d: %s (%s)", i, res.Outcome, res.Reason)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("run %d did not happen", i)
		}
		if i == 0 {
			if err := s.RunNow(m.Name()); err != nil {
				t.Fatal(err)
			}
			if err := s.RunNow("nope"); err == nil {
				t.Error("RunNow of an unknown monitor: no error")
			}
		}
	}
	cancel()
	<-done
	if err := s.RunNow(m.Name()); err == nil {
		t.Error("RunNow after Run: no error")
	}
}

// TestSchedulerPutRemove changes the schedule: a monitor put before Run
// runs once Run starts, a replaced one runs its new definition and keeps its
// alert state, a removed one is forgotten, also by the state store.
func TestSchedulerPutRemove(t *testing.T) {
	t.Parallel()
	pass := scriptMonitor(t, "pass.py", 30*time.Second, func(d *Definition) { d.Name = "dyn"; d.Interval = time.Hour })
	fail := scriptMonitor(t, "fail.py", 30*time.Second, func(d *Definition) {
		d.Name = "dyn"
		d.Interval = time.Hour
		d.Alert = &Policy{Consecutive: 1, Resolve: 1}
	})
	states := &FileStates{Path: filepath.Join(t.TempDir(), "state.json")}
	runs := make(chan Result, 10)
	alerts := make(chan Event, 10)
	s := &Scheduler{Runner: newRunner(t), Logger: quiet, Policy: DefaultPolicy(), States: states,
		OnEvent: func(e Event) {
			switch e.Kind {
			case RunDone:
				runs <- *e.Result
			case AlertChange:
				alerts <- e
			}
		}}
	// Put before Run waits for Run; Remove takes it back.
	if err := s.Put(fail); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(context.Background(), "dyn"); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(pass); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, nil) }()
	next := func(what string) Result {
		t.Helper()
		select {
		case r := <-runs:
			return r
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: no run", what)
		}
		return Result{}
	}
	if r := next("added"); r.Outcome != OK {
		t.Errorf("added monitor: %s (%s)", r.Outcome, r.Reason)
	}
	if err := s.Put(fail); err != nil {
		t.Fatal(err)
	}
	if r := next("replaced"); r.Outcome != Fail {
		t.Errorf("replaced monitor: %s, want fail", r.Outcome)
	}
	select {
	case e := <-alerts:
		if e.Transition != Fired {
			t.Errorf("alert %s, want fired", e.Transition)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the per-monitor policy (1 failure) did not fire")
	}
	st, ok := s.State("dyn")
	if !ok || st.Alert.ConsecutiveFailures != 1 || st.Alert.Fired != 1 || st.Missed.LastRun.IsZero() {
		t.Errorf("state after replacement %+v: want one failure after the replacement, fired once", st.Alert)
	}
	saved, err := (&FileStates{Path: states.Path}).LoadStates(ctx)
	if err != nil || saved["dyn"] == nil || len(saved["dyn"].History) != 1 {
		t.Fatalf("saved state %+v %v", saved["dyn"], err)
	}
	if err := s.Remove(ctx, "dyn"); err != nil {
		t.Fatal(err)
	}
	if err := s.RunNow("dyn"); err == nil {
		t.Error("RunNow of a removed monitor: no error")
	}
	if err := s.Remove(ctx, "dyn"); err == nil {
		t.Error("second Remove: no error")
	}
	saved, err = (&FileStates{Path: states.Path}).LoadStates(ctx)
	if err != nil || saved["dyn"] != nil {
		t.Errorf("state of a removed monitor still saved: %+v %v", saved["dyn"], err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run: %v", err)
	}
	if err := s.Put(pass); err == nil {
		t.Error("Put after Run returned: no error")
	}
}

// countingObserver records what a RunObserver is told.
type countingObserver struct {
	mu           sync.Mutex
	active, peak int
	finished     map[string]int // monitor name → finished runs with outcome ok
}

func (o *countingObserver) MonitorStarted(string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.active++
	o.peak = max(o.peak, o.active)
}

func (o *countingObserver) MonitorFinished(name, outcome string, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.active--
	if outcome == "ok" && d > 0 {
		o.finished[name]++
	}
}

// TestSchedulerSetWebhooks replaces the webhooks between the firing and
// the resolution (SIGHUP): each goes only to the hooks set at the time.
func TestSchedulerSetWebhooks(t *testing.T) {
	t.Parallel()
	counter := filepath.Join(t.TempDir(), "counter")
	m := scriptMonitor(t, "flap.py", 30*time.Second, func(d *Definition) {
		d.Name = "flappy"
		d.Env = []EnvVar{{Name: "FLAP_PATTERN", Value: "fffooo"}, {Name: "FLAP_COUNTER", Value: counter}}
	})
	var rcs [2]*receiver
	var urls [2]string
	for i := range rcs {
		rcs[i] = &receiver{statuses: []int{200}}
		srv := httptest.NewServer(rcs[i])
		defer srv.Close()
		urls[i] = srv.URL
	}
	s := &Scheduler{
		Runner:   newRunner(t),
		Logger:   quiet,
		Policy:   DefaultPolicy(),
		Webhooks: []*Webhook{{URL: urls[0], Backoff: time.Millisecond, Logger: quiet}},
		states:   map[string]*MonitorState{"flappy": {}},
		started:  time.Now(),
	}
	ctx := context.Background()
	for i := range 6 {
		if i == 3 {
			s.SetWebhooks([]*Webhook{{URL: urls[1], Backoff: time.Millisecond, Logger: quiet}})
		}
		s.finish(ctx, m, s.Runner.Run(ctx, m))
		s.notifying.Wait()
	}
	for i, want := range []string{"firing", "resolved"} {
		var got []string
		for _, n := range rcs[i].received() {
			got = append(got, n.State)
		}
		if strings.Join(got, ",") != want {
			t.Errorf("webhook %d got %v, want [%s]", i, got, want)
		}
	}
}
