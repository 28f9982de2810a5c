package store

import (
	"fmt"

	"rrdash/store/rrdfile"
)

// ExportRRD returns a series as an rrdtool file (rrdfile.Encode writes
// it): the same definition, live state, consolidation state and rows, so
// rrdtool's own commands reading the file (lastupdate, dump, fetch, info)
// give what rrdash gives for the series. It is the inverse of ImportRRD.
func (db *DB) ExportRRD(name string) (*rrdfile.File, error) {
	d, err := db.Dump(name)
	if err != nil {
		return nil, err
	}
	return ToRRDFile(d)
}

// ToRRDFile turns a dump into an rrdtool file. Data source types and
// consolidation functions rrdtool 1.7.2 knows by the same name are
// written; anything else is refused. The file carries rrdfile.Mark.
func ToRRDFile(d *DumpData) (*rrdfile.File, error) {
	f := &rrdfile.File{Step: d.Spec.Step, LastUpdate: d.LastUpdate, LastUpdateUsec: d.LastUpdateUsec}
	f.Params[0] = rrdfile.Mark
	if len(d.DS) != len(d.Spec.DS) || len(d.RRA) != len(d.Spec.RRA) {
		return nil, fmt.Errorf("export: %d DS states for %d data sources, %d archives for %d", len(d.DS), len(d.Spec.DS), len(d.RRA), len(d.Spec.RRA))
	}
	for i, ds := range d.Spec.DS {
		switch ds.Type {
		case Gauge, Counter, Derive, Absolute, DCounter, DDerive:
		default:
			return nil, fmt.Errorf("export: ds[%d] %s: type %v has no rrdtool file form here", i, ds.Name, ds.Type)
		}
		s := d.DS[i]
		f.DS = append(f.DS, rrdfile.DS{Name: ds.Name, Type: ds.Type.String(), Heartbeat: ds.Heartbeat, Min: ds.Min, Max: ds.Max,
			LastDS: s.LastDS, Value: s.Value, UnknownSec: s.UnknownSec})
	}
	nds := len(d.Spec.DS)
	for i, r := range d.Spec.RRA {
		switch r.CF {
		case Average, Min, Max, Last:
		default:
			return nil, fmt.Errorf("export: rra[%d]: consolidation function %v has no rrdtool file form here", i, r.CF)
		}
		x := d.RRA[i]
		if len(x.CDP) != nds || int64(len(x.Rows)) != r.Rows {
			return nil, fmt.Errorf("export: rra[%d]: %d CDP states and %d rows, want %d and %d", i, len(x.CDP), len(x.Rows), nds, r.Rows)
		}
		out := rrdfile.RRA{CF: r.CF.String(), Rows: r.Rows, Steps: r.Steps, XFF: r.XFF, CurRow: x.CurRow, Ring: make([]float64, 0, r.Rows*int64(nds))}
		for _, c := range x.CDP {
			out.CDP = append(out.CDP, rrdfile.CDP{Value: c.Value, UnknownPDP: c.UnknownPDP, Primary: c.Primary, Secondary: c.Secondary})
		}
		for _, row := range x.Rows {
			out.Ring = append(out.Ring, row...)
		}
		f.RRA = append(f.RRA, out)
	}
	return f, nil
}
