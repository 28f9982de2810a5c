package store

import (
	"fmt"
	"maps"
)

// SeriesState is everything of one series: definition, metadata, live
// state and rows. It moves a series between stores exactly (a cluster's
// shard hand-off): a store that restores it and then applies the same
// updates as the exporting store ends with the same archive.
type SeriesState struct {
	Spec           Spec
	Meta           map[string]string
	LastUpdate     int64
	LastUpdateUsec int64
	DS             []DumpDS
	RRA            []SeriesRRA
}

// SeriesRRA is one archive's consolidation state and rows.
type SeriesRRA struct {
	CurRow int64     // the row written last
	CDP    []DumpCDP // one per data source
	// Ring holds the rows in ring order, one value per data source:
	// row r, data source d at r*len(DS)+d (one slice: cheap to copy).
	Ring []float64
}

// ExportSeries returns a copy of a series' full state.
func (db *DB) ExportSeries(name string) (*SeriesState, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	a, err := db.readableArchive(name)
	if err != nil {
		return nil, err
	}
	s := &SeriesState{Spec: cloneSpec(a.spec), Meta: maps.Clone(a.meta), LastUpdate: a.st.lastUp, LastUpdateUsec: a.st.lastUpUsec}
	for i, x := range a.st.ds {
		s.DS = append(s.DS, DumpDS{LastDS: x.lastText(a.spec.DS[i].Type), Value: x.val, UnknownSec: x.unknSec})
	}
	nds := len(a.spec.DS)
	for i := range a.spec.RRA {
		r := SeriesRRA{CurRow: a.st.curRow[i], Ring: a.decodedRing(i)} // stored rows are XORed with the file's key
		for j := range nds {
			c := a.st.cdp[i*nds+j]
			dc := DumpCDP{Primary: c.primary, Secondary: c.secondary, Value: c.val, UnknownPDP: c.unknPDP}
			if a.spec.RRA[i].CF.IsHW() {
				dc.HW = a.st.hw.words[i*nds+j]
			}
			r.CDP = append(r.CDP, dc)
		}
		s.RRA = append(s.RRA, r)
	}
	return s, nil
}

// RestoreSeries creates series name from an exported state, replacing
// the series when it exists. It returns once the series is durable.
func (db *DB) RestoreSeries(name string, s *SeriesState) error {
	spec := cloneSpec(s.Spec)
	if err := spec.Validate(); err != nil {
		return fmt.Errorf("restore %s: %w", name, err)
	}
	nds := len(spec.DS)
	if len(s.DS) != nds || len(s.RRA) != len(spec.RRA) {
		return fmt.Errorf("restore %s: state of %d data sources and %d archives for a definition of %d and %d",
			name, len(s.DS), len(s.RRA), nds, len(spec.RRA))
	}
	st := &state{lastUp: s.LastUpdate, lastUpUsec: s.LastUpdateUsec}
	for _, x := range s.DS {
		st.ds = append(st.ds, dsState{lastDS: x.LastDS, val: x.Value, unknSec: x.UnknownSec})
	}
	rings := make([][]float64, 0, len(s.RRA))
	for i, r := range s.RRA {
		rows := spec.RRA[i].Rows
		if len(r.CDP) != nds || int64(len(r.Ring)) != rows*int64(nds) || r.CurRow < 0 || r.CurRow >= rows {
			return fmt.Errorf("restore %s: archive %d: %d consolidation states, %d values, current row %d for %d data sources and %d rows",
				name, i, len(r.CDP), len(r.Ring), r.CurRow, nds, rows)
		}
		for _, c := range r.CDP {
			st.cdp = append(st.cdp, cdpState{val: c.Value, primary: c.Primary, secondary: c.Secondary, unknPDP: c.UnknownPDP})
		}
		st.curRow = append(st.curRow, r.CurRow)
		rings = append(rings, r.Ring)
	}
	// Holt-Winters archives: their consolidation words, and the seasonal
	// coefficients the engine keeps beside the rows.
	if st.hw = newHWState(&spec); st.hw != nil {
		for i, r := range s.RRA {
			if !spec.RRA[i].CF.IsHW() {
				continue
			}
			for j, c := range r.CDP {
				st.hw.words[i*nds+j] = c.HW
			}
			if st.hw.seas[i] != nil {
				copy(st.hw.seas[i], r.Ring)
			}
		}
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.createLocked(name, spec, maps.Clone(s.Meta), true, st, rings)
}
