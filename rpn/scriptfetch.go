package rpn

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"rrdash/store"
	"rrdash/store/attime"
)

// defRange is the time range a DEF fetches: the request's, or its own
// start=/end= which, as in rrdtool, refer to each other and default to the
// request's.
func defRange(d Def, req Request) (start, end int64, err error) {
	if d.StartSpec == "" && d.EndSpec == "" {
		return req.Start, req.End, nil
	}
	ss, es := d.StartSpec, d.EndSpec
	if ss == "" {
		ss = strconv.FormatInt(req.Start, 10)
	}
	if es == "" {
		es = strconv.FormatInt(req.End, 10)
	}
	return attime.ParseRange(ss, es, time.Unix(req.Env.Now, 0), req.Env.Loc)
}

// fetchDefs reads every DEF into vals, charging the fetched rows to mt.
func (sc *Script) fetchDefs(ctx context.Context, mt *meter, f Fetcher, req Request, vals *Values) error {
	step0 := req.baseStep()
	type fetchKey struct {
		series, ds string
		cf         store.CF
		start, end int64
		res        int64
	}
	cache := map[fetchKey]*store.FetchResult{}
	type emptyKey struct {
		series     string
		cf, reduce store.CF
		start, end int64
		res        int64
	}
	var emptyDS map[emptyKey]string
	var charged map[fetchKey]bool // consolidated fetches charged to mt
	for i, st := range sc.Stmts {
		if st.Kind != KindDef {
			continue
		}
		if err := stopped(ctx); err != nil {
			return err
		}
		d := st.Def
		start, end, err := defRange(d, req)
		if err != nil {
			return fmt.Errorf("%s: %w", st.Text, err)
		}
		// As rrdtool's data_fetch: the archive is chosen by the DEF's own
		// step= when it has one (else the base step), and the rows are
		// then reduced to at least the base step.
		want, res0 := max(step0, d.Step), step0
		if d.Step > 0 {
			res0 = d.Step
		}
		key := fetchKey{d.Series, d.DS, d.CF, start, end, res0}
		if cf, ok := f.(ConsolidatingFetcher); ok && d.Query == nil {
			s, err := fetchConsolidated(cf, d, store.FetchRequest{CF: d.CF, Start: start, End: end, Resolution: res0, DS: d.DS}, want)
			if err == nil {
				// rows read once count once, as the plain path's cache does
				if !charged[key] {
					if charged == nil {
						charged = map[fetchKey]bool{}
					}
					charged[key] = true
					if err := mt.add(s.read, nil, -1, st.Text); err != nil {
						return err
					}
				}
				vals.Series[i] = s.Series
				continue
			}
			if !req.MissingAsNaN {
				return fmt.Errorf("%s: %w", st.Text, err)
			}
			// the plain path below makes the empty rows rrdtool makes
		}
		res, ok := cache[key]
		if !ok {
			// one data source read (a store skips the others' rows)
			fr := store.FetchRequest{CF: d.CF, Start: start, End: end, Resolution: res0, DS: d.DS}
			if d.Query != nil {
				res, err = fetchTagged(f, d, fr)
			} else {
				res, err = f.Fetch(d.Series, fr)
			}
			empty := false
			if err != nil && req.MissingAsNaN {
				// rrdtool keeps the first empty fetch of a file (one data
				// source) for every DEF of its CF, range and step: a DEF
				// of another data source then finds none
				ek := emptyKey{d.Series, d.CF, d.Reduce, start, end, res0}
				ds, seen := emptyDS[ek]
				if !seen {
					if emptyDS == nil {
						emptyDS = map[emptyKey]string{}
					}
					emptyDS[ek], ds = d.DS, d.DS
				}
				res, err, empty = emptyFetch(ds, start, end, res0), nil, true
			}
			if err != nil {
				return fmt.Errorf("%s: %w", st.Text, err)
			}
			if !empty { // an empty result has this DEF's data source only
				cache[key] = res
			}
			if err := mt.add(int64(res.Rows()), nil, -1, st.Text); err != nil {
				return err
			}
		}
		if res.Step <= 0 {
			return fmt.Errorf("%s: fetch of %q returned step %d", st.Text, d.Series, res.Step)
		}
		col := res.Column(d.DS)
		if col == nil {
			return fmt.Errorf("%s: no data source %q in series %q", st.Text, d.DS, d.Series)
		}
		s := &Series{Start: res.Start, Step: res.Step, Values: col[:min(len(col), res.Rows())]}
		if s.Step < want {
			cf := d.Reduce
			if cf == 0 {
				cf = d.CF
			}
			s = reduceSeries(cf, s, want)
		}
		vals.Series[i] = s
	}
	return nil
}

// consolidated is a DEF's rows reduced while read, and the rows read.
type consolidated struct {
	*Series
	read int64
}

// fetchConsolidated reads a DEF's rows reduced to at least want seconds
// as reduceSeries would reduce them.
func fetchConsolidated(f ConsolidatingFetcher, d Def, fr store.FetchRequest, want int64) (consolidated, error) {
	by := d.Reduce
	if by == 0 {
		by = d.CF
	}
	res, err := f.FetchConsolidated(d.Series, store.ConsolidateRequest{FetchRequest: fr, Step: want, By: by})
	if err != nil {
		return consolidated{}, err
	}
	if res.Step <= 0 {
		return consolidated{}, fmt.Errorf("fetch of %q returned step %d", d.Series, res.Step)
	}
	return consolidated{&Series{Start: res.Start, Step: res.Step, Values: res.Values}, res.ArchiveRows}, nil
}

// emptyFetch is rrd_fetch_empty: unknown rows of step over start…end
// aligned outwards, one data source.
func emptyFetch(ds string, start, end, step int64) *store.FetchResult {
	start -= start % step
	end += step - end%step
	col := make([]float64, (end-start)/step)
	for i := range col {
		col[i] = math.NaN()
	}
	return &store.FetchResult{Start: start, End: end, Step: step, DS: []string{ds}, Values: [][]float64{col}}
}

// reduceSeries consolidates finer rows into steps of ceil(want/step)·step
// as rrdtool's reduce_data does: the start is aligned down to the new step;
// when it was not aligned the first new row is unknown and the source rows
// before the first boundary are dropped; a partial last group becomes an
// unknown row. AVERAGE is the mean of the known values, LAST the last known.
// Holt-Winters rows reduce as AVERAGE, FAILURES as MAX (store.CF.ReduceAs).
func reduceSeries(cf store.CF, s *Series, want int64) *Series {
	cf = cf.ReduceAs()
	f := (want + s.Step - 1) / s.Step
	ns := s.Step * f
	out := &Series{Start: s.Start - s.Start%ns, Step: ns}
	src := s.Values
	if off := s.Start % ns; off != 0 {
		out.Values = append(out.Values, math.NaN())
		skip := int((ns - off) / s.Step)
		src = src[min(skip, len(src)):]
	}
	for len(src) >= int(f) {
		g := src[:f]
		src = src[f:]
		v, cnt := math.NaN(), 0
		for _, x := range g {
			if isNaN(x) {
				continue
			}
			cnt++
			switch {
			case cnt == 1:
				v = x
			case cf == store.Average:
				v += x
			// rrdtool's min()/max() macros: plain comparisons (NaN is
			// skipped above; on ±0 the later value wins), and cheaper
			// than math.Min/Max over a year of rows.
			case cf == store.Min:
				if !(v < x) {
					v = x
				}
			case cf == store.Max:
				if !(v > x) {
					v = x
				}
			case cf == store.Last:
				v = x
			}
		}
		if cf == store.Average && cnt > 0 {
			v /= float64(cnt)
		}
		out.Values = append(out.Values, v)
	}
	if len(src) > 0 {
		out.Values = append(out.Values, math.NaN())
	}
	return out
}
