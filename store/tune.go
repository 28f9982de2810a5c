package store

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
)

// SeriesEdit is a copy of a series' definition, state and rows, changed by
// tune and resize and then written back as the series (DB.Edit). Its
// methods do what rrdtool 1.7.2's rrd_tune, rrd_modify and rrd_resize do
// to the file, value for value.
type SeriesEdit struct {
	spec  Spec
	st    *state
	rings [][]float64 // per archive, ring order (row r, DS d at r*nds+d)
}

// ErrNoSuchDS matches errors for a data source name the series lacks.
var ErrNoSuchDS = errors.New("unknown data source name")

// Edit runs fn on a copy of series name and, if fn succeeds (or returns
// ErrPartial), writes the copy back in place of the series: a new archive
// file written beside the old one and renamed over it, after a checkpoint,
// so a crash leaves either the old series or the new one.
func (db *DB) Edit(name string, fn func(e *SeriesEdit) error) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	a, err := db.readableArchive(name)
	if err != nil {
		return err
	}
	e := &SeriesEdit{spec: cloneSpec(a.spec), st: cloneState(a.st)}
	for i := range a.spec.RRA {
		e.rings = append(e.rings, a.decodedRing(i)) // rows as numbers: createLocked stores them keyed again
	}
	ferr := fn(e)
	var pe *PartialError
	if ferr != nil && !errors.As(ferr, &pe) {
		return ferr
	}
	if err := e.spec.Validate(); err != nil {
		return fmt.Errorf("series %s: %w", name, err)
	}
	if err := db.createLocked(name, e.spec, maps.Clone(a.meta), true, e.st, e.rings); err != nil {
		return err
	}
	return ferr
}

// PartialError is returned by an Edit function whose changes before the
// error are to be kept, as rrdtool tune keeps the options it applied
// before a bad one.
type PartialError struct{ Err error }

func (e *PartialError) Error() string { return e.Err.Error() }
func (e *PartialError) Unwrap() error { return e.Err }

func cloneState(s *state) *state {
	c := *s
	c.ds = slices.Clone(s.ds)
	c.cdp = slices.Clone(s.cdp)
	c.curRow = slices.Clone(s.curRow)
	c.hw = s.hw.clone()
	return &c
}

// Spec returns the series' definition as it now stands.
func (e *SeriesEdit) Spec() Spec { return cloneSpec(e.spec) }

func (e *SeriesEdit) ds(name string) (int, error) {
	for i, d := range e.spec.DS {
		if d.Name == name {
			return i, nil
		}
	}
	return -1, fmt.Errorf("%w '%s'", ErrNoSuchDS, name)
}

// SetHeartbeat sets a data source's minimal heartbeat.
func (e *SeriesEdit) SetHeartbeat(ds string, hb int64) error {
	i, err := e.ds(ds)
	if err != nil {
		return err
	}
	if hb <= 0 {
		return fmt.Errorf("heartbeat of %s must be positive, got %d", ds, hb)
	}
	e.spec.DS[i].Heartbeat = hb
	return nil
}

// SetMin sets a data source's minimum (NaN: none).
func (e *SeriesEdit) SetMin(ds string, v float64) error {
	i, err := e.ds(ds)
	if err == nil {
		e.spec.DS[i].Min = v
	}
	return err
}

// SetMax sets a data source's maximum (NaN: none).
func (e *SeriesEdit) SetMax(ds string, v float64) error {
	i, err := e.ds(ds)
	if err == nil {
		e.spec.DS[i].Max = v
	}
	return err
}

// SetType changes a data source's type; as rrdtool, a change of type
// makes the last reading unusable ("UNKN"), so a COUNTER or DERIVE starts
// anew, and the same type changes nothing.
func (e *SeriesEdit) SetType(ds string, t DSType) error {
	i, err := e.ds(ds)
	if err != nil {
		return err
	}
	if e.spec.DS[i].Type != t {
		e.spec.DS[i].Type = t
		e.st.ds[i].lastDS = "UNKN"
	}
	return nil
}

// Rename renames a data source; as rrdtool, a new name longer than 19
// bytes is cut to 19. rrdtool also takes a name another DS has, or one
// with characters create refuses; rrdash refuses both (its definitions
// must stay valid).
func (e *SeriesEdit) Rename(old, new string) error {
	i, err := e.ds(old)
	if err != nil {
		return err
	}
	if len(new) > MaxDSName {
		new = new[:MaxDSName]
	}
	if !ValidDSName(new) {
		return fmt.Errorf("invalid DS name %q: 1 to 19 of [A-Za-z0-9_]", new)
	}
	if j, err := e.ds(new); err == nil && j != i {
		return fmt.Errorf("Duplicate DS name: %s", new)
	}
	e.spec.DS[i].Name = new
	return e.spec.renameInComputes(i, old)
}

// timeOrder rewrites every ring oldest row first, the newest in the last
// slot, as rrd_modify writes a file whatever it changes.
func (e *SeriesEdit) timeOrder() {
	nds := len(e.spec.DS)
	for a, r := range e.spec.RRA {
		ring := e.rings[a]
		out := make([]float64, 0, len(ring))
		for k := int64(0); k < r.Rows; k++ {
			row := (e.st.curRow[a] + 1 + k) % r.Rows
			out = append(out, ring[row*int64(nds):(row+1)*int64(nds)]...)
		}
		e.rings[a] = out
		e.st.curRow[a] = r.Rows - 1
	}
}

// Modify applies rrd_modify's operations in its order: data sources
// deleted (a name the series lacks is passed over, as rrdtool), data
// sources added, archives deleted (an index beyond the archives is passed
// over), archives resized (RRA#i:=rows; the oldest rows go, or unknown
// rows come before the oldest). Every ring is then rewritten oldest row
// first, as rrd_modify writes its new file; archives added (RRA:…) are
// filled from the others (modifyfill.go). Holt-Winters archives are
// carried as rrd_modify carries them (holtwinters_modify.go); the forms
// rrdtool 1.7.2 breaks them with are refused.
func (e *SeriesEdit) Modify(delDS []string, addDS []DS, delRRA []int, resize map[int]int64, addRRA ...RRA) error {
	if err := e.checkHWModify(delRRA, resize, addRRA); err != nil {
		return err
	}
	in := e.snapshot() // what rrd_modify fills added rows and archives from
	hw := e.hwRows()   // the Holt-Winters words, per archive and data source
	e.timeOrder()
	nds := len(e.spec.DS)
	keep := make([]bool, nds)
	for i := range keep {
		keep[i] = !slices.Contains(delDS, e.spec.DS[i].Name)
	}
	for i := range keep {
		// rrdtool keeps a COMPUTE's references as indexes, which a
		// deletion would shift onto other data sources: refused
		if !keep[i] {
			for _, u := range e.spec.computeUsers(i) {
				if !slices.Contains(delDS, u) {
					return fmt.Errorf("cannot delete DS %s: COMPUTE data source %s reads it", e.spec.DS[i].Name, u)
				}
			}
		}
	}
	names := map[string]bool{}
	for i, d := range e.spec.DS {
		names[d.Name] = keep[i]
	}
	for _, d := range addDS {
		if names[d.Name] {
			return fmt.Errorf("Duplicate DS name: %s", d.Name)
		}
		names[d.Name] = true
	}
	// the new layout of data sources: kept ones in order, then new ones
	var spec []DS
	var dss []dsState
	for i, d := range e.spec.DS {
		if keep[i] {
			spec = append(spec, d)
			dss = append(dss, e.st.ds[i])
		}
	}
	for _, d := range addDS {
		spec = append(spec, d)
		// rrd_modify's new DS: no reading yet, nothing accumulated, the
		// seconds of the current step so far unknown
		dss = append(dss, dsState{lastDS: "U", val: 0, unknSec: e.st.lastUp % e.spec.Step})
	}
	nnew := len(spec)
	var dsMap []int // output data source → input one (-1: added)
	for i := range e.spec.DS {
		if keep[i] {
			dsMap = append(dsMap, i)
		}
	}
	for range addDS {
		dsMap = append(dsMap, -1)
	}
	var cdp []cdpState
	for a, r := range e.spec.RRA {
		old := e.rings[a]
		ring := make([]float64, 0, r.Rows*int64(nnew))
		for row := int64(0); row < r.Rows; row++ {
			for d := 0; d < nds; d++ {
				if keep[d] {
					ring = append(ring, old[row*int64(nds)+int64(d)])
				}
			}
			for range addDS {
				ring = append(ring, math.NaN())
			}
		}
		e.rings[a] = ring
		for d := 0; d < nds; d++ {
			if keep[d] {
				cdp = append(cdp, e.st.cdp[a*nds+d])
			}
		}
		// as create: the PDPs of the open row so far are unknown
		step := e.spec.Step
		unkn := ((e.st.lastUp - e.st.lastUp%step) % (step * r.Steps)) / step
		for range addDS {
			if r.CF.IsHW() {
				// init_cdp of a zeroed cdp_prep: a Holt-Winters archive
				// sets its own words only (hwRows' newHWWords)
				cdp = append(cdp, cdpState{})
				continue
			}
			cdp = append(cdp, cdpState{val: math.NaN(), unknPDP: unkn})
		}
	}
	hw = hw.mapDS(dsMap, e.spec.RRA)
	e.spec.DS, e.st.ds, e.st.cdp = spec, dss, cdp
	nds = nnew

	var rras []RRA
	var rings [][]float64
	var cur []int64
	var hwKept hwArchives
	cdp = nil
	// the row counts of the archives kept, for populating grown ones
	var finalRows []int64
	for a, r := range e.spec.RRA {
		if slices.Contains(delRRA, a) {
			continue
		}
		if n, ok := resize[a]; ok {
			r.Rows = n
		}
		finalRows = append(finalRows, r.Rows)
	}
	for a, r := range e.spec.RRA {
		if slices.Contains(delRRA, a) {
			continue
		}
		ring := e.rings[a]
		if n, ok := resize[a]; ok && n != r.Rows {
			if n <= 0 {
				return fmt.Errorf("RRA#%d: the number of rows must be positive, got %d", a, n)
			}
			if n > maxRowCells/int64(max(nds, 1)) {
				return fmt.Errorf("RRA#%d: %d rows: archives too large (more than %d values)", a, n, int64(maxRowCells))
			}
			if n < r.Rows {
				ring = ring[(r.Rows-n)*int64(nds):]
			} else {
				added := n - r.Rows
				ring = append(unknownRows(added, nds), ring...)
				// populate_row fills the added (oldest) rows; rrdtool takes
				// the newest row from the output archive at the input's
				// index (another archive's after a DELRRA before it)
				curRow := n - 1
				if a < len(finalRows) {
					curRow = finalRows[a] - 1
				}
				if !r.CF.IsHW() { // populate_row leaves a Holt-Winters archive's rows unknown
					in.populateRows(e.spec.Step, RRA{CF: r.CF, XFF: r.XFF, Steps: r.Steps, Rows: n}, curRow, ringRows(ring, nds), dsMap, 0, added)
				}
			}
			r.Rows = n
		}
		rras = append(rras, r)
		rings = append(rings, ring)
		cur = append(cur, r.Rows-1)
		cdp = append(cdp, e.st.cdp[a*nds:(a+1)*nds]...)
		hwKept = append(hwKept, hw[a])
	}
	e.spec.RRA, e.rings, e.st.curRow, e.st.cdp = rras, rings, cur, cdp
	if err := e.addArchives(in, addRRA, dsMap); err != nil {
		return err
	}
	e.setHWState(hwKept)
	return nil
}

func unknownRows(n int64, nds int) []float64 {
	v := make([]float64, n*int64(nds))
	for i := range v {
		v[i] = math.NaN()
	}
	return v
}

// Resize grows or shrinks archive a by rows, as rrdtool resize: growing
// puts unknown rows before the oldest (right after the newest in the
// ring), shrinking drops the oldest; the ring is not otherwise reordered.
func (e *SeriesEdit) Resize(a int, grow bool, rows int64) error {
	if a < 0 || a >= len(e.spec.RRA) {
		return errors.New("no such RRA in this RRD")
	}
	if rows < 1 {
		return errors.New("Please grow or shrink with at least 1 row")
	}
	// rrd_resize copies the definitions and consolidation state as they
	// are (Holt-Winters parameters and words included) and moves rows
	// only; a SEASONAL ring keeps its coefficients (hw.seas) in its rows
	defer e.syncSeasonal()
	r := &e.spec.RRA[a]
	nds := int64(len(e.spec.DS))
	ring, cur := e.rings[a], e.st.curRow[a]
	if grow {
		if r.Rows+rows > maxRowCells/nds {
			return fmt.Errorf("RRA %d: %d more rows: archives too large (more than %d values)", a, rows, int64(maxRowCells))
		}
		out := make([]float64, 0, int64(len(ring))+rows*nds)
		out = append(out, ring[:(cur+1)*nds]...)
		out = append(out, unknownRows(rows, int(nds))...)
		out = append(out, ring[(cur+1)*nds:]...)
		e.rings[a] = out
		r.Rows += rows
		return nil
	}
	if rows >= r.Rows {
		return errors.New("This RRA is not that big")
	}
	// drop the rows oldest first: those after cur, then from the start
	after := min(rows, r.Rows-1-cur)
	fromStart := rows - after
	out := make([]float64, 0, int64(len(ring))-rows*nds)
	out = append(out, ring[fromStart*nds:(cur+1)*nds]...)
	out = append(out, ring[(cur+1+after)*nds:]...)
	e.rings[a] = out
	e.st.curRow[a] = cur - fromStart
	r.Rows -= rows
	return nil
}
