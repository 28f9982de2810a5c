package store

import (
	"fmt"
)

// Graphite's data model (meta model = "graphite"; see docs/STORE.md).
//
// Carbon stores a point (t, v) in its step slot [s, s+step), s = t floored
// to the step; a slot without a point is a gap. In rrdtool's terms the slot
// is the step (s, s+step], so the store turns a point into an update of v
// at s+step, preceded by an update of U at s when the series' last update
// is before s: the gap stays unknown instead of being filled from v, and
// the update of v spans exactly one step, whatever the heartbeat. The
// rrdtool engine then consolidates coarser archives as carbon does
// (average, min, max of the known points when the known fraction is at
// least 1 − xff). Rows keep rrdtool's times (a step's end); readers that
// speak Graphite report a row's slot start (its time less the archive's
// step).
//
// A point whose slot is at or before the newest one is late: refused
// (ErrTooOld), or, with meta late = "overwrite", written into its slot
// when the finest archive still holds it, and the coarser archives'
// rows (or open consolidation state) holding that slot recomputed from the
// finest archive (overwrite.go).

// seriesModel is a series' data model, read from its metadata at open.
type seriesModel struct {
	graphite  bool
	overwrite bool
}

func modelOf(meta map[string]string) seriesModel {
	return seriesModel{graphite: meta[MetaModel] == ModelGraphite, overwrite: meta[MetaLate] == LateOverwrite}
}

// slotEnd is the end of the step slot holding second t (rrdtool's time of
// the row that holds it).
func graphiteSlotEnd(t, step int64) int64 { return floorDiv(t, step)*step + step }

// update applies one update by the series' model.
func (a *archive) update(t, usec int64, vals []string) error {
	if !a.model.graphite {
		return a.eng.update(t, usec, vals)
	}
	return a.updateGraphite(t, usec, vals, nil)
}

// updateGraphite applies a reading, text (vals) or numeric (nums), by
// Graphite's model.
func (a *archive) updateGraphite(t, usec int64, vals []string, nums []float64) error {
	step := a.spec.Step
	end := graphiteSlotEnd(t, step)
	st := a.st
	if end <= st.lastUp {
		if !a.model.overwrite {
			return &lateSlotError{t: t, slot: end - step, newest: st.lastUp - step}
		}
		if nums != nil {
			vals = textReadings(&a.spec, nums)
		}
		return a.overwrite(end, vals)
	}
	if n := len(vals) + len(nums); n != len(a.spec.DS) {
		return fmt.Errorf("expected %d data source readings (got %d)", len(a.spec.DS), n)
	}
	if s := end - step; st.lastUp < s {
		if err := a.eng.update(s, 0, gapReading(len(a.spec.DS))); err != nil {
			return err
		}
	}
	return a.eng.updateR(end, 0, vals, nums)
}

var unknownReadings = []string{"U"}

func gapReading(n int) []string {
	if n == 1 {
		return unknownReadings
	}
	u := make([]string, n)
	for i := range u {
		u[i] = "U"
	}
	return u
}

// lateSlotError refuses a point for a slot at or before a Graphite series'
// newest slot.
type lateSlotError struct{ t, slot, newest int64 }

func (e *lateSlotError) Error() string {
	return fmt.Sprintf("late point at %d: its slot %d is not after the newest slot %d (the series' late mode is drop)", e.t, e.slot, e.newest)
}

func (e *lateSlotError) Is(target error) bool { return target == ErrTooOld }

// holds reports whether a's state already holds the journaled update u, so
// that a replay skips it. Overwrites are re-applied: writing a slot again
// with the same value, in journal order, gives the same rows.
func (a *archive) holds(u Update) bool {
	st := a.st
	if !a.model.graphite {
		return u.Time < st.lastUp || u.Time == st.lastUp && u.Usec <= st.lastUpUsec
	}
	if a.model.overwrite {
		return false
	}
	return graphiteSlotEnd(u.Time, a.spec.Step) <= st.lastUp
}

// LateBound tells a writer which points of an existing series the store
// would refuse as late: every point at or before bound, unless overwrite
// is set (the store then decides: a point older than its finest archive
// is refused with ErrTooOld). slot is the step of a Graphite series
// (a point at t makes the bound t's slot end − 1), 0 for rrdtool's model
// (the bound is the point's own second).
func (db *DB) LateBound(name string) (bound, slot int64, overwrite bool, err error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	a, err := db.archive(name)
	if err != nil {
		return 0, 0, false, err
	}
	if !a.model.graphite {
		return a.st.lastUp, 0, false, nil
	}
	return a.st.lastUp - 1, a.spec.Step, a.model.overwrite, nil
}
