package ui

import (
	"fmt"
	"math"
	"path"
	"sort"

	"rrdash/store"
)

// tableStore serves fixed tables of rows at one resolution per series,
// with `rrdtool fetch` row alignment. It stands in for store.DB only until
// the handler tests also run against the real store (see integration_test.go).
type tableStore struct {
	series map[string]*table
}

type table struct {
	spec   store.Spec
	start  int64 // row i ends at start+(i+1)*step
	step   int64
	values [][]float64 // [ds][row]
}

func newTableStore() *tableStore { return &tableStore{series: map[string]*table{}} }

// add creates a series with the given DS names whose values come from f(ds, t).
func (s *tableStore) add(name string, ds []string, step, start, rows int64, f func(ds int, t int64) float64) {
	t := &table{start: start, step: step, spec: store.Spec{Step: step, Start: start}}
	for i, n := range ds {
		t.spec.DS = append(t.spec.DS, store.DS{Name: n, Type: store.Gauge, Heartbeat: 2 * step, Min: math.NaN(), Max: math.NaN()})
		col := make([]float64, rows)
		for r := range col {
			col[r] = f(i, start+int64(r+1)*step)
		}
		t.values = append(t.values, col)
	}
	for _, cf := range []store.CF{store.Average, store.Min, store.Max, store.Last} {
		t.spec.RRA = append(t.spec.RRA, store.RRA{CF: cf, XFF: 0.5, Steps: 1, Rows: rows})
	}
	s.series[name] = t
}

func (s *tableStore) Fetch(name string, req store.FetchRequest) (*store.FetchResult, error) {
	t, ok := s.series[name]
	if !ok {
		return nil, fmt.Errorf("series %q does not exist", name)
	}
	start := req.Start - req.Start%t.step
	end := req.End + t.step - req.End%t.step
	res := &store.FetchResult{Start: start, End: end, Step: t.step, CF: req.CF}
	rows := int((end - start) / t.step)
	for d, n := range t.spec.DS {
		res.DS = append(res.DS, n.Name)
		col := make([]float64, rows)
		for i := range col {
			k := (start+int64(i+1)*t.step-t.start)/t.step - 1
			if k >= 0 && k < int64(len(t.values[d])) {
				col[i] = t.values[d][k]
			} else {
				col[i] = math.NaN()
			}
		}
		res.Values = append(res.Values, col)
	}
	return res, nil
}

// List matches like store.DB.List: path.Match globs, "" for all.
func (s *tableStore) List(glob string) ([]string, error) {
	if _, err := path.Match(glob, ""); err != nil {
		return nil, err
	}
	var out []string
	for n := range s.series {
		if ok, _ := path.Match(glob, n); ok || glob == "" {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

func (s *tableStore) Spec(name string) (store.Spec, error) {
	t, ok := s.series[name]
	if !ok {
		return store.Spec{}, fmt.Errorf("series %q does not exist", name)
	}
	return t.spec, nil
}

func (s *tableStore) LastUpdate(name string) (int64, error) {
	t, ok := s.series[name]
	if !ok {
		return 0, fmt.Errorf("series %q does not exist", name)
	}
	return t.start + int64(len(t.values[0]))*t.step, nil
}
