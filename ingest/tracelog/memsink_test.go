package tracelog

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"rrdash/store"
)

// memSink keeps series in store's in-memory engine (store.RRD) and
// positions in a map, committing each batch as a whole like store.DB.Apply.
type memSink struct {
	mu   sync.Mutex
	rrds map[string]*store.RRD
	pos  map[string][]byte
}

func newMemSink() *memSink {
	return &memSink{rrds: map[string]*store.RRD{}, pos: map[string][]byte{}}
}

func (m *memSink) Ensure(name string, spec store.Spec) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.rrds[name]; ok {
		return false, nil
	}
	r, err := store.NewRRD(spec)
	if err != nil {
		return false, err
	}
	m.rrds[name] = r
	return true, nil
}

func (m *memSink) Apply(_ context.Context, b store.Batch) (store.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var res store.Result
	for i, u := range b.Updates {
		r := m.rrds[u.Series]
		if r == nil {
			res.Errors = append(res.Errors, &store.UpdateError{Index: i, Err: fmt.Errorf("no series %s", u.Series)})
			continue
		}
		if err := r.Update(u.Time, u.Usec, u.Values); err != nil {
			res.Errors = append(res.Errors, &store.UpdateError{Index: i, Err: err})
			continue
		}
		res.Applied++
	}
	for k, v := range b.Positions {
		m.pos[k] = append([]byte(nil), v...)
	}
	return res, nil
}

func (m *memSink) Position(source string) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pos[source]
}

func (m *memSink) LastUpdate(name string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rrds[name]
	if r == nil {
		return 0, errors.New("no series " + name)
	}
	t, _ := r.LastUpdate()
	return t, nil
}

func (m *memSink) Spec(name string) (store.Spec, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rrds[name]
	if r == nil {
		return store.Spec{}, errors.New("no series " + name)
	}
	return r.Spec(), nil
}

// rows returns the 1-step AVERAGE rows of a series by end time.
func (m *memSink) rows(name string) map[int64][]float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rrds[name]
	if r == nil {
		return nil
	}
	ts, vals := r.ArchiveRows(0)
	out := map[int64][]float64{}
	for i, t := range ts {
		out[t] = vals[i]
	}
	return out
}
