package ui

import (
	"context"
	"math"
	"strconv"
	"testing"

	"rrdash/store"
)

// fixtureStore is a real store in a temporary directory, filled with
// generated rows: the handler tests read through the same store code as
// the service.
type fixtureStore struct {
	*store.DB
	t testing.TB
}

func newFixtureStore(t testing.TB) *fixtureStore {
	t.Helper()
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &fixtureStore{DB: db, t: t}
}

// add creates a series with the given GAUGE data sources and one row per
// step whose values come from f(ds, t): each update lands on a step
// boundary, so row t holds exactly f(ds, t). Archives: AVERAGE, MIN, MAX
// and LAST of single steps.
func (s *fixtureStore) add(name string, ds []string, step, start, rows int64, f func(ds int, t int64) float64) {
	s.t.Helper()
	spec := store.Spec{Step: step, Start: start}
	for _, n := range ds {
		spec.DS = append(spec.DS, store.DS{Name: n, Type: store.Gauge, Heartbeat: 2 * step, Min: math.NaN(), Max: math.NaN()})
	}
	for _, cf := range []store.CF{store.Average, store.Min, store.Max, store.Last} {
		spec.RRA = append(spec.RRA, store.RRA{CF: cf, XFF: 0.5, Steps: 1, Rows: rows})
	}
	if err := s.Create(name, spec, false); err != nil {
		s.t.Fatal(err)
	}
	b := store.Batch{Updates: make([]store.Update, 0, rows)}
	for r := int64(1); r <= rows; r++ {
		tm := start + r*step
		vals := make([]string, len(ds))
		for d := range ds {
			if v := f(d, tm); math.IsNaN(v) {
				vals[d] = "U"
			} else {
				vals[d] = strconv.FormatFloat(v, 'g', -1, 64)
			}
		}
		b.Updates = append(b.Updates, store.Update{Series: name, Time: tm, Values: vals})
	}
	res, err := s.Apply(context.Background(), b)
	if err != nil || len(res.Errors) > 0 {
		s.t.Fatalf("filling %s: %v %v", name, err, res.Errors)
	}
}
