package monitor

import (
	"context"
	"sync"
	"testing"
	"time"
)

// grantAfter refuses the first n claims (ask again in 20ms), grants the
// next as a takeover, and refuses every later one for an hour.
type grantAfter struct {
	mu      sync.Mutex
	n       int
	claims  int
	granted bool
}

func (g *grantAfter) Claim(_ context.Context, _ string, minGap time.Duration) (bool, bool, time.Duration, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.claims++
	switch {
	case g.claims <= g.n:
		return false, false, 20 * time.Millisecond, nil
	case !g.granted:
		g.granted = true
		return true, true, 0, nil
	}
	return false, false, time.Hour, nil
}

// TestSchedulerRunsOnlyClaimedRuns: with a Coordinator, a due run waits
// until it is granted, runs once, is not repeated while refused, and "run
// now" runs without asking.
func TestSchedulerRunsOnlyClaimedRuns(t *testing.T) {
	t.Parallel()
	m := scriptMonitor(t, "pass.py", 20*time.Second, nil)
	g := &grantAfter{n: 3}
	runs := make(chan Event, 4)
	s := &Scheduler{Runner: newRunner(t), Logger: quiet, Policy: DefaultPolicy(), Coordinator: g,
		OnEvent: func(e Event) {
			if e.Kind == RunDone {
				runs <- e
			}
		}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, []*Monitor{m}) }()
	defer func() { cancel(); <-done }()
	select {
	case <-runs:
	case <-time.After(30 * time.Second):
		t.Fatal("the granted run did not happen")
	}
	g.mu.Lock()
	claims := g.claims
	g.mu.Unlock()
	if claims != 4 {
		t.Errorf("%d claims before the run, want 3 refused and 1 granted", claims)
	}
	if err := s.RunNow(m.Name()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-runs:
	case <-time.After(30 * time.Second):
		t.Fatal("run now did not run")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.claims != 4 {
		t.Errorf("run now claimed (%d claims)", g.claims)
	}
}
