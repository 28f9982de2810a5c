package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rrdash/store"
)

// transitions feeds a sequence of 'o'/'f' and returns "F@i"/"R@i" marks
// (1-based run numbers), saving and reloading the state as JSON after
// every run when roundTrip is set, as a restart would.
func transitions(t *testing.T, p Policy, seq string, roundTrip bool) string {
	t.Helper()
	var s AlertState
	var marks []string
	t0 := time.Unix(1_800_000_000, 0)
	for i, c := range seq {
		switch s.Observe(p, c == 'o', t0.Add(time.Duration(i)*time.Minute)) {
		case Fired:
			marks = append(marks, fmt.Sprintf("F@%d", i+1))
		case Resolved:
			marks = append(marks, fmt.Sprintf("R@%d", i+1))
		}
		if roundTrip {
			b, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			var back AlertState
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			s = back
		}
	}
	return strings.Join(marks, " ")
}

func TestAlertPolicy(t *testing.T) {
	t.Parallel()
	def := DefaultPolicy() // 3 in a row, or 3 of 5; resolve after 3 ok
	tests := []struct {
		name string
		p    Policy
		seq  string
		want string
	}{
		{"all ok", def, "oooooooo", ""},
		{"consecutive", def, "offfoooo", "F@4 R@7"},
		{"two in a row is not enough", Policy{Consecutive: 3, Resolve: 1}, "offoffoffo", ""},
		{"window", def, "fofof", "F@5"},
		{"window slides", def, "fooofoooof", ""},
		// Flapping: one alert, held through ok/fail alternation until three
		// successes in a row, then the cleared window keeps it resolved.
		{"flapping", def, "ofoffofoofooofofoofo", "F@5 R@13"},
		{"refires after resolve", def, "fffooofff", "F@3 R@6 F@9"},
		{"resolve 1 flaps", Policy{Consecutive: 2, Resolve: 1}, "ffoffoffo", "F@2 R@3 F@5 R@6 F@8 R@9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := tc.p.Validate(); err != nil {
				t.Fatal(err)
			}
			for _, rt := range []bool{false, true} {
				if got := transitions(t, tc.p, tc.seq, rt); got != tc.want {
					t.Errorf("%s (json round trip %v): %q, want %q", tc.seq, rt, got, tc.want)
				}
			}
		})
	}
}

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	bad := []Policy{
		{Resolve: 1},
		{Consecutive: 2},
		{WindowFailures: 3, Window: 2, Resolve: 1},
		{Consecutive: -1, Resolve: 1},
		{WindowFailures: 1, Window: maxWindow + 1, Resolve: 1},
	}
	for _, p := range bad {
		if err := p.Validate(); err == nil {
			t.Errorf("%+v: no error", p)
		}
	}
}

func TestMissedRun(t *testing.T) {
	t.Parallel()
	var s MissedState
	t0 := time.Unix(1_800_000_000, 0)
	iv := 10 * time.Second
	steps := []struct {
		ran  bool
		at   time.Duration
		want Transition
	}{
		{false, 15 * time.Second, NoChange}, // never ran, within 2 intervals of scheduling
		{true, 16 * time.Second, NoChange},
		{false, 36 * time.Second, NoChange}, // exactly 2 intervals: not yet
		{false, 37 * time.Second, Fired},
		{false, 50 * time.Second, NoChange}, // fires once
		{true, 51 * time.Second, Resolved},
		{false, 60 * time.Second, NoChange},
	}
	for i, st := range steps {
		var got Transition
		if st.ran {
			got = s.Ran(t0.Add(st.at))
		} else {
			got = s.Check(t0.Add(st.at), t0, iv)
		}
		if got != st.want {
			t.Errorf("step %d: %s, want %s", i, got, st.want)
		}
	}
}

func TestStatesSurviveRestart(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.json")
	st, err := LoadStates(path)
	if err != nil || len(st) != 0 {
		t.Fatalf("missing file: %v %v", st, err)
	}
	p := DefaultPolicy()
	at := time.Unix(1_800_000_000, 0).UTC()
	ms := &MonitorState{}
	for _, c := range "offf" {
		ms.Alert.Observe(p, c == 'o', at)
	}
	ms.Missed.Ran(at)
	st["payments"] = ms
	if err := SaveStates(path, st); err != nil {
		t.Fatal(err)
	}
	back, err := LoadStates(path)
	if err != nil {
		t.Fatal(err)
	}
	got := back["payments"]
	if got == nil || !got.Alert.Firing || got.Alert.Recent != "offf" || !got.Missed.LastRun.Equal(at) {
		t.Fatalf("reloaded %+v", got)
	}
	// The reloaded state resolves exactly like the original would.
	for i, c := range "ooo" {
		if tr := got.Alert.Observe(p, c == 'o', at); (i == 2) != (tr == Resolved) {
			t.Errorf("run %d after restart: %s", i, tr)
		}
	}
}

// TestFlappingScript runs the real flapping script, stores each run and
// feeds the alert: exactly one firing and one resolution, across a restart
// of the alert state in the middle.
func TestFlappingScript(t *testing.T) {
	t.Parallel()
	pattern := "ofoffofoooofof" // fires at run 5, resolves at run 10
	counter := filepath.Join(t.TempDir(), "counter")
	m := scriptMonitor(t, "flap.py", 30*time.Second, func(d *Definition) {
		d.Name = "flappy"
		d.Env = []EnvVar{{Name: "FLAP_PATTERN", Value: pattern}, {Name: "FLAP_COUNTER", Value: counter}}
	})
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	statePath := filepath.Join(t.TempDir(), "state.json")
	r := newRunner(t)
	p := DefaultPolicy()
	var marks []string
	for i := range len(pattern) {
		states, err := LoadStates(statePath)
		if err != nil {
			t.Fatal(err)
		}
		ms := states[m.Name()]
		if ms == nil {
			ms = &MonitorState{}
			states[m.Name()] = ms
		}
		res := r.Run(context.Background(), m)
		if want := pattern[i] == 'o'; (res.Outcome == OK) != want || res.Outcome == Error {
			t.Fatalf("run %d: %s (%s), pattern says %c", i+1, res.Outcome, res.Reason, pattern[i])
		}
		if err := Record(context.Background(), db, m, res); err != nil {
			t.Fatal(err)
		}
		switch ms.Alert.Observe(p, res.Outcome == OK, res.Start) {
		case Fired:
			marks = append(marks, fmt.Sprintf("F@%d", i+1))
		case Resolved:
			marks = append(marks, fmt.Sprintf("R@%d", i+1))
		}
		if err := SaveStates(statePath, states); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(marks, " "); got != "F@5 R@10" {
		t.Errorf("transitions %q, want exactly one firing and one resolution: F@5 R@10", got)
	}
	if lu, err := db.LastUpdate(SeriesName("flappy")); err != nil || lu == 0 {
		t.Errorf("runs not stored: %d %v", lu, err)
	}
}
