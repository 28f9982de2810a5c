package monitor

import (
	"context"
	"slices"
	"sync"
)

// StateStore keeps monitor states (alert state, last run, alert history
// with webhook deliveries) across restarts.
type StateStore interface {
	// LoadStates returns every saved state by monitor name.
	LoadStates(ctx context.Context) (map[string]*MonitorState, error)
	// SaveState replaces one monitor's state; st is the caller's own copy.
	SaveState(ctx context.Context, name string, st *MonitorState) error
	// DeleteState forgets a monitor that was removed.
	DeleteState(ctx context.Context, name string) error
}

// RunLog keeps the record of every run, for run history pages.
type RunLog interface {
	AddRun(ctx context.Context, res Result) error
}

// FileStates is a StateStore in one JSON file, rewritten atomically at
// every save. It suits a handful of monitors; serve keeps states in its
// metadata database instead.
type FileStates struct {
	Path string

	mu     sync.Mutex
	states map[string]*MonitorState
}

// LoadStates reads the file; a missing file is no state.
func (f *FileStates) LoadStates(context.Context) (map[string]*MonitorState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, err := LoadStates(f.Path)
	if err != nil {
		return nil, err
	}
	f.states = st
	out := make(map[string]*MonitorState, len(st))
	for k, v := range st {
		out[k] = v.Clone()
	}
	return out, nil
}

// loadLocked reads the file once, before the first change.
func (f *FileStates) loadLocked() error {
	if f.states != nil {
		return nil
	}
	cur, err := LoadStates(f.Path)
	if err != nil {
		return err
	}
	f.states = cur
	return nil
}

// SaveState updates one state and rewrites the file.
func (f *FileStates) SaveState(_ context.Context, name string, st *MonitorState) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.loadLocked(); err != nil {
		return err
	}
	f.states[name] = st.Clone()
	return SaveStates(f.Path, f.states)
}

// DeleteState removes one state and rewrites the file.
func (f *FileStates) DeleteState(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.loadLocked(); err != nil {
		return err
	}
	delete(f.states, name)
	return SaveStates(f.Path, f.states)
}

// Clone returns a deep copy, so a state can be saved or shown while the
// scheduler goes on changing the original.
func (st *MonitorState) Clone() *MonitorState {
	if st == nil {
		return nil
	}
	c := *st
	if st.Last != nil {
		l := st.Last.clone()
		c.Last = &l
	}
	c.History = slices.Clone(st.History)
	for i := range c.History {
		c.History[i].Deliveries = slices.Clone(c.History[i].Deliveries)
		c.History[i].Undelivered = slices.Clone(c.History[i].Undelivered)
	}
	return &c
}

func (r Result) clone() Result {
	r.Metrics = slices.Clone(r.Metrics)
	return r
}
