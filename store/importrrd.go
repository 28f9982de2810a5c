package store

import (
	"fmt"

	"rrdash/store/rrdfile"
)

// ImportRRD creates (or overwrites) series name from an rrdtool binary
// file held in b (see package rrdfile for the layouts read): definition,
// live state and every archive's ring exactly as the file holds them, so
// that fetches answer as rrdtool fetch on the file does and later updates
// continue as rrdtool's would. Data source types and archives rrdash does
// not have (COMPUTE) are refused.
func (db *DB) ImportRRD(b []byte, name string, overwrite bool) error {
	f, err := rrdfile.Decode(b)
	if err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}
	spec, st, rings, err := fromRRDFile(f)
	if err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.createLocked(name, spec, map[string]string{"imported": "rrdtool file"}, overwrite, st, rings)
}

// fromRRDFile turns a decoded file into a definition, a state and rings.
func fromRRDFile(f *rrdfile.File) (Spec, *state, [][]float64, error) {
	spec := Spec{Step: f.Step, Start: f.LastUpdate}
	st := &state{lastUp: f.LastUpdate, lastUpUsec: f.LastUpdateUsec}
	for i, x := range f.DS {
		t, err := ParseDSType(x.Type)
		if err != nil {
			return Spec{}, nil, nil, fmt.Errorf("ds[%d] %q: %w", i, x.Name, err)
		}
		d := DS{Name: x.Name, Type: t, Heartbeat: x.Heartbeat, Min: x.Min, Max: x.Max}
		if t == Compute {
			if d, err = computeFromFile(x.Name, x.Params, f.DS); err != nil {
				return Spec{}, nil, nil, fmt.Errorf("ds[%d] %q: %w", i, x.Name, err)
			}
		}
		spec.DS = append(spec.DS, d)
		last := x.LastDS
		if len(last) > lastDSLen {
			last = last[:lastDSLen]
		}
		st.ds = append(st.ds, dsState{lastDS: last, val: x.Value, unknSec: x.UnknownSec})
	}
	rings := make([][]float64, 0, len(f.RRA))
	for i, x := range f.RRA {
		cf, err := ParseCF(x.CF)
		if err != nil {
			return Spec{}, nil, nil, fmt.Errorf("rra[%d]: %w", i, err)
		}
		spec.RRA = append(spec.RRA, RRA{CF: cf, XFF: x.XFF, Steps: x.Steps, Rows: x.Rows})
		for _, c := range x.CDP {
			st.cdp = append(st.cdp, cdpState{val: c.Value, primary: c.Primary, secondary: c.Secondary, unknPDP: c.UnknownPDP})
		}
		st.curRow = append(st.curRow, x.CurRow)
		rings = append(rings, x.Ring)
	}
	if err := hwFromRRDFile(f, &spec, st); err != nil {
		return Spec{}, nil, nil, err
	}
	if err := spec.Validate(); err != nil {
		return Spec{}, nil, nil, err
	}
	return spec, st, rings, nil
}
