package store

import (
	"errors"
	"strings"
	"testing"
)

// FuzzTune: any tune arguments on a small series parse to an error or to
// changes that leave a valid series (rings of the right size, state for
// every data source and archive), never a panic.
func FuzzTune(f *testing.F) {
	for _, s := range []string{"-h g:50", "--minimum=c:5 -a c:1e400", "-d c:DERIVE -r g:gg", "DEL:c DS:n:GAUGE:60:U:U",
		"RRA#0:=12 RRA#1:-2 DELRRA:1", "RRA#1:+3", "-h g:5 DEL:c RRA#0:+1", "RRA#0:-9", "DEL:g DEL:c", "BAR", "-d g:DCOUNTER",
		"RRA#0:=1099511627776", "RRA#1:+4611686018427387904", // huge: refused before any allocation
		"RRA:AVERAGE:0.5:2:10", "RRA:MIN:0.5:1:5 RRA:LAST:0.9:4:6 DEL:c", "--step 5 RRA#0:+2", "-t 2 RRA:MAX:0.5:3:4",
		"--step 3 DEL:c", "--step 5", "RRA:AVERAGE:0.5:1:99999999999", "DS:s:COMPUTE:g,c,+ RRA#1:+2", "DS:s:COMPUTE:g,c DEL:g"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseTune(strings.Fields(s))
		if err != nil {
			return
		}
		spec, err := ParseSpecArgs(10, 1000000000, []string{"DS:g:GAUGE:30:U:U", "DS:c:COUNTER:30:0:U", "RRA:AVERAGE:0.5:1:8", "RRA:MAX:0.5:3:5"})
		if err != nil {
			t.Fatal(err)
		}
		r, err := NewRRD(spec)
		if err != nil {
			t.Fatal(err)
		}
		for i := int64(1); i < 20; i++ {
			if err := r.Update(1000000000+i*7, 0, []string{"1.5", "100"}); err != nil {
				t.Fatal(err)
			}
		}
		e := &SeriesEdit{spec: cloneSpec(r.spec), st: cloneState(r.st)}
		for a := range r.spec.RRA {
			e.rings = append(e.rings, append([]float64(nil), r.rows.ring(a)...))
		}
		var pe *PartialError
		if err := p.apply(e); err != nil && !errors.As(err, &pe) {
			return
		}
		if e.spec.Validate() != nil {
			return // Edit refuses to write it
		}
		nds := len(e.spec.DS)
		if len(e.st.ds) != nds || len(e.st.cdp) != nds*len(e.spec.RRA) || len(e.st.curRow) != len(e.spec.RRA) {
			t.Fatalf("%q: state of %d ds, %d cdp, %d cur_row for %d ds × %d rra", s, len(e.st.ds), len(e.st.cdp), len(e.st.curRow), nds, len(e.spec.RRA))
		}
		for a, ra := range e.spec.RRA {
			if int64(len(e.rings[a])) != ra.Rows*int64(nds) || e.st.curRow[a] < 0 || e.st.curRow[a] >= ra.Rows {
				t.Fatalf("%q: rra %d ring %d values for %d rows × %d ds, cur_row %d", s, a, len(e.rings[a]), ra.Rows, nds, e.st.curRow[a])
			}
		}
	})
}
