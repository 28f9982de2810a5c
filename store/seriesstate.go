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
	Dump           DumpData
	LastUpdateUsec int64
	Meta           map[string]string
}

// ExportSeries returns a copy of a series' full state.
func (db *DB) ExportSeries(name string) (*SeriesState, error) {
	d, err := db.Dump(name)
	if err != nil {
		return nil, err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	a, err := db.archive(name)
	if err != nil {
		return nil, err
	}
	return &SeriesState{Dump: *d, LastUpdateUsec: a.st.lastUpUsec, Meta: maps.Clone(a.meta)}, nil
}

// RestoreSeries creates series name from an exported state, replacing
// the series when it exists. It returns once the series is durable.
func (db *DB) RestoreSeries(name string, s *SeriesState) error {
	d := &s.Dump
	spec := cloneSpec(d.Spec)
	if err := spec.Validate(); err != nil {
		return fmt.Errorf("restore %s: %w", name, err)
	}
	nds := len(spec.DS)
	if len(d.DS) != nds || len(d.RRA) != len(spec.RRA) {
		return fmt.Errorf("restore %s: state of %d data sources and %d archives for a definition of %d and %d",
			name, len(d.DS), len(d.RRA), nds, len(spec.RRA))
	}
	st := &state{lastUp: d.LastUpdate, lastUpUsec: s.LastUpdateUsec}
	for _, x := range d.DS {
		st.ds = append(st.ds, dsState{lastDS: x.LastDS, val: x.Value, unknSec: x.UnknownSec})
	}
	rings := make([][]float64, 0, len(d.RRA))
	for i, r := range d.RRA {
		if len(r.CDP) != nds || int64(len(r.Rows)) != spec.RRA[i].Rows || r.CurRow < 0 || r.CurRow >= spec.RRA[i].Rows {
			return fmt.Errorf("restore %s: archive %d: %d consolidation states, %d rows, current row %d for %d data sources and %d rows",
				name, i, len(r.CDP), len(r.Rows), r.CurRow, nds, spec.RRA[i].Rows)
		}
		for _, c := range r.CDP {
			st.cdp = append(st.cdp, cdpState{val: c.Value, primary: c.Primary, secondary: c.Secondary, unknPDP: c.UnknownPDP})
		}
		st.curRow = append(st.curRow, r.CurRow)
		ring := make([]float64, 0, int64(nds)*spec.RRA[i].Rows)
		for j, row := range r.Rows {
			if len(row) != nds {
				return fmt.Errorf("restore %s: archive %d row %d: %d values for %d data sources", name, i, j, len(row), nds)
			}
			ring = append(ring, row...)
		}
		rings = append(rings, ring)
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.createLocked(name, spec, maps.Clone(s.Meta), true, st, rings)
}
