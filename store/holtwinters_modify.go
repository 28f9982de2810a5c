package store

import (
	"errors"
	"fmt"
	"slices"
)

// This file is what rrdtool 1.7.2's rrd_modify (tune DS:, DEL:, RRA#,
// DELRRA:, RRA:) and rrd_resize do to Holt-Winters archives. Both copy an
// archive's definition (its parameters, the dependent archive's index
// and the smoothing index included) and its cdp_prep words unchanged, and
// move rows like any archive's: the seasonal coefficients and deviations
// are the SEASONAL and DEVSEASONAL rows, so they move with them, and the
// smoothing index stays a row number. A data source added gets the words
// init_cdp gives a new file (unknown model, burn-in count 1, empty
// violation history); rows added to a Holt-Winters archive stay unknown
// (populate_row fills none of these types).
//
// Refused, because rrdtool 1.7.2 breaks the file:
//   - deleting an archive at or before the last Holt-Winters one: the
//     dependent archive indexes are copied, not renumbered, so they then
//     name other archives (an HWPREDICT reading a DEVSEASONAL as its
//     seasonal coefficients);
//   - adding a Holt-Winters archive (RRA:HWPREDICT… and the others):
//     prepare_CDPs zeroes the new archive's model state instead of
//     initialising it (intercept, slope and seasonal coefficients 0,
//     burn-in count 0), a state no created file has;
//   - --step: stretch_rras gives Holt-Winters archives k PDPs per row,
//     which rrdtool's create refuses and its update does not consolidate
//     (their rows then hold raw PDPs).

// hwArchives are the Holt-Winters words of each archive, per data source
// (nil for an archive of another type).
type hwArchives [][]HWWords

// hwRows splits the edit's Holt-Winters words by archive.
func (e *SeriesEdit) hwRows() hwArchives {
	out := make(hwArchives, len(e.spec.RRA))
	if e.st.hw == nil {
		return out
	}
	nds := len(e.spec.DS)
	for a, r := range e.spec.RRA {
		if r.CF.IsHW() {
			out[a] = slices.Clone(e.st.hw.words[a*nds : (a+1)*nds])
		}
	}
	return out
}

// mapDS lays the words out for the output data sources: dsMap[i] is the
// input data source of output i, -1 for one added, which gets init_cdp's
// words for its archive type.
func (h hwArchives) mapDS(dsMap []int, rras []RRA) hwArchives {
	out := make(hwArchives, len(h))
	for a, words := range h {
		if words == nil {
			continue
		}
		out[a] = make([]HWWords, len(dsMap))
		for i, in := range dsMap {
			if in >= 0 {
				out[a][i] = words[in]
			} else {
				out[a][i] = newHWWords(rras[a].CF)
			}
		}
	}
	return out
}

// newHWWords are the words init_cdp gives a Holt-Winters archive of type
// cf (newHWState's, for one data source).
func newHWWords(cf CF) HWWords {
	s := Spec{DS: []DS{{}}, RRA: []RRA{{CF: cf, Rows: 1}}}
	return newHWState(&s).words[0]
}

// setHWState rebuilds the Holt-Winters state for the edited definition:
// kept are the words of the archives kept, in order (archives added after
// them have none of their own); the seasonal copies are the rows.
func (e *SeriesEdit) setHWState(kept hwArchives) {
	if !e.spec.hasHW() {
		e.st.hw = nil
		return
	}
	smooth := e.st.hw != nil && e.st.hw.smooth
	h := newHWState(&e.spec)
	h.smooth = smooth
	nds := len(e.spec.DS)
	for a, words := range kept {
		if words != nil {
			copy(h.words[a*nds:(a+1)*nds], words)
		}
	}
	e.st.hw = h
	e.syncSeasonal()
}

// syncSeasonal makes the SEASONAL and DEVSEASONAL coefficient copies the
// archives' rows again after rows moved: rrdtool reads them from there.
func (e *SeriesEdit) syncSeasonal() {
	h := e.st.hw
	if h == nil {
		return
	}
	for a, r := range e.spec.RRA {
		if r.CF == Seasonal || r.CF == DevSeasonal {
			h.seas[a] = slices.Clone(e.rings[a])
		}
	}
}

// lastHW is the index of the last Holt-Winters archive, -1 when none.
func (e *SeriesEdit) lastHW() int {
	last := -1
	for a, r := range e.spec.RRA {
		if r.CF.IsHW() {
			last = a
		}
	}
	return last
}

// checkHWModify refuses the rrd_modify forms rrdtool 1.7.2 breaks a file
// with Holt-Winters archives by (see the top of this file).
func (e *SeriesEdit) checkHWModify(delRRA []int, resize map[int]int64, add []RRA) error {
	for _, r := range add {
		if r.CF.IsHW() {
			return fmt.Errorf("tune RRA:%s… is not supported: rrdtool 1.7.2 adds a Holt-Winters archive with its model state zeroed instead of initialised (init_flag 0, seasonal 0), a state no created file has; create the series with them (or create --source OLD)", r.CF)
		}
	}
	last := e.lastHW()
	if last < 0 {
		return nil
	}
	for _, a := range delRRA {
		if a <= last && a < len(e.spec.RRA) {
			return fmt.Errorf("DELRRA:%d is not supported on this series: rrdtool 1.7.2 keeps the Holt-Winters archives' dependent archive indexes unchanged when an archive at or before them goes, so they would name other archives (its file is broken); only archives after the last Holt-Winters one (RRA %d) can be deleted", a, last)
		}
	}
	for a, n := range resize {
		if n <= 0 && a <= last && a < len(e.spec.RRA) {
			return fmt.Errorf("RRA#%d:=0 deletes the archive, which rrdtool 1.7.2 does without renumbering the Holt-Winters archives' dependent archive indexes (its file is broken)", a)
		}
	}
	return nil
}

var errStretchHW = errors.New("tune --step is not supported on a series with Holt-Winters archives: rrdtool 1.7.2 makes them consolidate several PDPs per row, which its create refuses and its update does not handle (their rows then hold raw PDPs)")
