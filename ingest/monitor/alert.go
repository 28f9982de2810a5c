package monitor

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Policy says when an alert fires and when it resolves. It fires after
// Consecutive failures in a row, or after WindowFailures failures among the
// last Window runs; once firing it resolves only after Resolve successes in
// a row. The gap between the two is the hysteresis that keeps a flapping
// check from alerting on every other run.
type Policy struct {
	Consecutive    int `json:"consecutive"`     // N; 0 disables the rule
	WindowFailures int `json:"window_failures"` // F; 0 disables the rule
	Window         int `json:"window"`          // M
	Resolve        int `json:"resolve"`         // K
}

// DefaultPolicy fires after 3 failures in a row or 3 of the last 5 runs and
// resolves after 3 successes in a row.
func DefaultPolicy() Policy {
	return Policy{Consecutive: 3, WindowFailures: 3, Window: 5, Resolve: 3}
}

// maxWindow bounds the history kept in the state.
const maxWindow = 1000

// Validate reports a policy that cannot work.
func (p Policy) Validate() error {
	switch {
	case p.Consecutive < 0 || p.WindowFailures < 0 || p.Window < 0:
		return fmt.Errorf("alert policy %+v: negative count", p)
	case p.Consecutive == 0 && p.WindowFailures == 0:
		return fmt.Errorf("alert policy %+v: neither consecutive nor window_failures is set, so it never fires", p)
	case p.WindowFailures > 0 && (p.Window < p.WindowFailures || p.Window > maxWindow):
		return fmt.Errorf("alert policy %+v: window must be between window_failures and %d", p, maxWindow)
	case p.Resolve < 1:
		return fmt.Errorf("alert policy %+v: resolve must be at least 1", p)
	}
	return nil
}

// Transition is a change of alert state.
type Transition int

// Transitions.
const (
	NoChange Transition = iota
	Fired
	Resolved
)

func (t Transition) String() string {
	switch t {
	case Fired:
		return "fired"
	case Resolved:
		return "resolved"
	}
	return "none"
}

// AlertState is the state of one alert. It is plain data so that it can be
// saved as JSON and survive restarts.
type AlertState struct {
	Firing bool      `json:"firing"`
	Since  time.Time `json:"since,omitzero"` // when the current state began
	// Recent holds the last Window outcomes, oldest first: 'o' ok, 'f' failure.
	Recent               string `json:"recent"`
	ConsecutiveFailures  int    `json:"consecutive_failures"`
	ConsecutiveSuccesses int    `json:"consecutive_successes"`
	Fired                int    `json:"fired"`    // times it has fired
	Resolved             int    `json:"resolved"` // times it has resolved
}

// Observe feeds one run's outcome (timeouts and errors are failures).
func (s *AlertState) Observe(p Policy, ok bool, at time.Time) Transition {
	c := byte('f')
	if ok {
		c = 'o'
		s.ConsecutiveSuccesses++
		s.ConsecutiveFailures = 0
	} else {
		s.ConsecutiveFailures++
		s.ConsecutiveSuccesses = 0
	}
	s.Recent += string(c)
	if w := max(p.Window, 1); len(s.Recent) > w {
		s.Recent = s.Recent[len(s.Recent)-w:]
	}
	if s.Firing {
		if s.ConsecutiveSuccesses >= p.Resolve {
			s.Firing, s.Since = false, at
			s.Resolved++
			// Failures before the resolution must not re-fire it on the
			// next failure; the window starts afresh.
			s.Recent = ""
			return Resolved
		}
		return NoChange
	}
	if p.Consecutive > 0 && s.ConsecutiveFailures >= p.Consecutive ||
		p.WindowFailures > 0 && strings.Count(s.Recent, "f") >= p.WindowFailures {
		s.Firing, s.Since = true, at
		s.Fired++
		return Fired
	}
	return NoChange
}

// MissedState is the alert for a monitor the scheduler did not run within
// two intervals — a stuck scheduler or saturated runners, not a failing check.
type MissedState struct {
	Firing  bool      `json:"firing"`
	Since   time.Time `json:"since,omitzero"`
	LastRun time.Time `json:"last_run,omitzero"` // start of the last run
}

// Check fires when no run started within two intervals of the last one (or
// of since, the time the monitor was scheduled, when it never ran).
func (s *MissedState) Check(now, since time.Time, interval time.Duration) Transition {
	last := s.LastRun
	if last.IsZero() || last.Before(since) {
		last = since
	}
	if !s.Firing && now.Sub(last) > 2*interval {
		s.Firing, s.Since = true, now
		return Fired
	}
	return NoChange
}

// Ran records a run start and resolves a firing missed-run alert.
func (s *MissedState) Ran(at time.Time) Transition {
	s.LastRun = at
	if s.Firing {
		s.Firing, s.Since = false, at
		return Resolved
	}
	return NoChange
}

// MonitorState is everything about a monitor that must survive a restart.
type MonitorState struct {
	Alert   AlertState    `json:"alert"`
	Missed  MissedState   `json:"missed"`
	Last    *Result       `json:"last,omitempty"`
	History []AlertRecord `json:"history,omitempty"` // newest last, at most maxHistory
	NextID  int           `json:"next_id,omitempty"`
}

// maxHistory bounds the alert history kept per monitor.
const maxHistory = 200

// AlertRecord is one alert transition and the notifications sent for it.
type AlertRecord struct {
	ID          int        `json:"id"`
	At          time.Time  `json:"at"`
	Kind        EventKind  `json:"kind"`
	Transition  string     `json:"transition"`
	Reason      string     `json:"reason,omitempty"`
	Deliveries  []Delivery `json:"deliveries,omitempty"`
	Undelivered []string   `json:"undelivered,omitempty"` // final errors, one per failed webhook
}

// addHistory appends a record and returns its id.
func (st *MonitorState) addHistory(r AlertRecord) int {
	st.NextID++
	r.ID = st.NextID
	st.History = append(st.History, r)
	if n := len(st.History) - maxHistory; n > 0 {
		st.History = append(st.History[:0], st.History[n:]...)
	}
	return r.ID
}

func (st *MonitorState) record(id int) *AlertRecord {
	for i := range st.History {
		if st.History[i].ID == id {
			return &st.History[i]
		}
	}
	return nil
}

// LoadStates reads states saved by SaveStates; a missing file is no state.
func LoadStates(path string) (map[string]*MonitorState, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]*MonitorState{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("monitor state: %w", err)
	}
	var st map[string]*MonitorState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("monitor state %s: %w", path, err)
	}
	if st == nil {
		st = map[string]*MonitorState{}
	}
	return st, nil
}

// SaveStates writes the states atomically (temp file, fsync, rename), so a
// crash leaves either the old or the new file.
func SaveStates(path string, st map[string]*MonitorState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("monitor state: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("monitor state: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(b)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("monitor state %s: %w", path, werr)
	}
	return nil
}
