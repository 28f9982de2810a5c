package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
)

// RowWrite is one archive row an update writes, as rrdtool updatev
// reports it.
type RowWrite struct {
	Time   int64 // the time rrdtool 1.7.2 reports for the row (see reportTimes)
	RRA    int
	CF     CF
	Steps  int64     // PDPs per row
	Values []float64 // one per data source
}

// PreviewRows runs ups (updates of series name, in order) on a copy of
// the series' state and returns the rows each would write. It changes
// nothing: the series itself is updated by Apply. It stops at the first
// update that fails and returns the rows of those before it with the
// error (wrapped in an *UpdateError holding its index).
func (db *DB) PreviewRows(name string, ups []Update) ([][]RowWrite, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	a, err := db.archive(name)
	if err != nil {
		return nil, err
	}
	if a.model.graphite {
		// rrdtool updatev's report describes rrdtool's update of a reading
		return nil, fmt.Errorf("%s: updatev reports rrdtool's updates; this series follows Graphite's data model (use update)", name)
	}
	st := &state{lastUp: a.st.lastUp, lastUpUsec: a.st.lastUpUsec, ds: slices.Clone(a.st.ds),
		cdp: slices.Clone(a.st.cdp), curRow: slices.Clone(a.st.curRow), hw: a.st.hw.clone()}
	rec := &rowRecorder{rows: a}
	eng := newEngine(&a.spec, st, rec)
	out := make([][]RowWrite, 0, len(ups))
	for i, u := range ups {
		rec.got = nil
		lastUp, lastUsec := st.lastUp, st.lastUpUsec
		if err := eng.updateR(u.Time, u.Usec, u.Values, u.Nums); err != nil {
			return out, &UpdateError{Index: i, Err: fmt.Errorf("%s: %w", name, err)}
		}
		w, err := reportTimes(&a.spec, lastUp, lastUsec, u.Time, rec.got)
		if err != nil {
			return out, fmt.Errorf("%s: update %d: %w", name, i, err)
		}
		out = append(out, w)
	}
	return out, nil
}

// UpdateV applies ups (updates of series name, in order) as Apply does
// with StopOnError, and returns the rows each applied update wrote, as
// rrdtool updatev reports them, and the refused update if one was. The
// rows are those of PreviewRows just before: a writer updating the same
// series in between (another client of a serve) can make them differ from
// what was written; when that changes how many updates apply, it is
// reported as an error, otherwise the report may be stale (the data
// written is right either way).
func (db *DB) UpdateV(ctx context.Context, name string, ups []Update) ([][]RowWrite, *UpdateError, error) {
	rows, perr := db.PreviewRows(name, ups)
	var refused *UpdateError
	if perr != nil && !errors.As(perr, &refused) {
		return nil, nil, perr
	}
	b := Batch{StopOnError: true, Updates: make([]Update, len(ups))}
	for i, u := range ups {
		u.Series = name
		b.Updates[i] = u
	}
	res, err := db.Apply(ctx, b)
	if err != nil {
		return nil, nil, err
	}
	if res.Applied != len(rows) || (len(res.Errors) > 0) != (refused != nil) {
		return nil, nil, fmt.Errorf("%s: updated by another writer during updatev: %d updates applied, %d expected", name, res.Applied, len(rows))
	}
	if len(res.Errors) > 0 {
		refused = res.Errors[0]
	}
	return rows, refused, nil
}

// rowRecorder collects the rows an engine writes instead of storing them;
// reads go to the series' own rings.
type rowRecorder struct {
	rows rows
	got  []RowWrite
}

func (r *rowRecorder) ring(a int) []float64 { return r.rows.ring(a) }

func (r *rowRecorder) putRow(a int, _ int64, vals []float64) {
	r.got = append(r.got, RowWrite{RRA: a, Values: slices.Clone(vals)})
}

// reportTimes gives the rows one update wrote (in the engine's order:
// by archive, then row) the times rrdtool 1.7.2's write_to_rras reports.
// rrdtool writes an update's rows in one or two passes (two when the update
// spans several steps after a partly filled one: that step is closed first,
// at the first step boundary's whole second). In a pass ending at whole
// second T that writes n rows of length p to an archive, with A = T - T%p,
// the first row is reported at A-(n-1)·p and the k-th further one at
// A-(n-k-2)·p: an off-by-one in rrdtool (the row count is decremented
// before the second row) that reports the rows after the first one row
// late, the last at A+p. Reported as rrdtool does; the rows stored are the
// right ones.
func reportTimes(spec *Spec, lastUp, lastUsec, t int64, got []RowWrite) ([]RowWrite, error) {
	step := spec.Step
	procStart := lastUp - lastUp%step
	elapsed := (t - t%step - procStart) / step
	if elapsed == 0 {
		if len(got) > 0 {
			return nil, fmt.Errorf("internal: %d rows written within one step", len(got))
		}
		return got, nil
	}
	type pass struct{ from, to, end int64 } // rows ending in (from, to]; reported as of end
	passes := []pass{{lastUp, t, t}}
	first := procStart + step
	f1 := int64(math.Trunc(float64(first-lastUp) - float64(lastUsec)/1e6))
	if elapsed >= 2 && f1 >= 1 && (lastUp%step != 0 || lastUsec != 0) {
		passes = []pass{{lastUp, first, lastUp + f1}, {first, t, t}}
	}
	i := 0
	for _, ps := range passes {
		for a, r := range spec.RRA {
			p := r.Steps * step
			n := min(floorDiv(ps.to, p)-floorDiv(ps.from, p), r.Rows)
			if (r.CF == Seasonal || r.CF == DevSeasonal) && n > 1 {
				continue // a bulk update writes no seasonal row (hwWriteRows)
			}
			A := ps.end - ps.end%p
			for k := int64(0); k < n; k++ {
				if i >= len(got) || got[i].RRA != a {
					return nil, fmt.Errorf("internal: rows written differ from rrdtool's schedule at archive %d", a)
				}
				tm := A - (n-1)*p
				if k > 0 {
					tm = A - (n-k-2)*p
				}
				got[i].Time, got[i].CF, got[i].Steps = tm, r.CF, r.Steps
				i++
			}
		}
	}
	if i != len(got) {
		return nil, fmt.Errorf("internal: %d rows written, rrdtool's schedule has %d", len(got), i)
	}
	return got, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
