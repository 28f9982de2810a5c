package store

import "slices"

// DumpData is everything rrdtool dump prints of a series: its definition,
// the live state, and every archive's rows in ring order.
type DumpData struct {
	Spec           Spec
	LastUpdate     int64
	LastUpdateUsec int64
	DS             []DumpDS
	RRA            []DumpRRA
}

// DumpDS is a data source's PDP state.
type DumpDS struct {
	LastDS     string
	Value      float64 // PDP_val
	UnknownSec int64
}

// DumpRRA is an archive's consolidation state and rows.
type DumpRRA struct {
	CurRow int64       // the row written last
	CDP    []DumpCDP   // one per data source
	Rows   [][]float64 // Rows[r][d]: row r of the ring, data source d
}

// DumpCDP is cdp_prep of one archive and data source.
type DumpCDP struct {
	Primary, Secondary, Value float64
	UnknownPDP                int64
	HW                        HWWords // Holt-Winters archives: their other cdp_prep words
}

// Dump returns a copy of a series' definition, state and rows.
func (db *DB) Dump(name string) (*DumpData, error) {
	db.mu.Lock() // archive() may open files
	defer db.mu.Unlock()
	a, err := db.readableArchive(name)
	if err != nil {
		return nil, err
	}
	return dumpState(&a.spec, a.st, a.decodedRing), nil // stored rows are XORed with the file's key
}

// dumpState copies a series' definition, state and rows; ring(i) returns
// archive i's rows as numbers.
func dumpState(spec *Spec, st *state, ring func(i int) []float64) *DumpData {
	d := &DumpData{Spec: cloneSpec(*spec), LastUpdate: st.lastUp, LastUpdateUsec: st.lastUpUsec}
	for i, s := range st.ds {
		d.DS = append(d.DS, DumpDS{LastDS: s.lastText(spec.DS[i].Type), Value: s.val, UnknownSec: s.unknSec})
	}
	nds := len(spec.DS)
	for i, r := range spec.RRA {
		dr := DumpRRA{CurRow: st.curRow[i]}
		for j := 0; j < nds; j++ {
			c := st.cdp[i*nds+j]
			dc := DumpCDP{Primary: c.primary, Secondary: c.secondary, Value: c.val, UnknownPDP: c.unknPDP}
			if r.CF.IsHW() {
				dc.HW = st.hw.words[i*nds+j]
			}
			dr.CDP = append(dr.CDP, dc)
		}
		rows := ring(i)
		for row := int64(0); row < r.Rows; row++ {
			dr.Rows = append(dr.Rows, slices.Clone(rows[row*int64(nds):(row+1)*int64(nds)]))
		}
		d.RRA = append(d.RRA, dr)
	}
	return d
}
