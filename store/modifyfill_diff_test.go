package store

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestTuneModifyDifferential: random files made and updated by rrdtool
// 1.7.2, then random tune operations that fill rows (RRA:…, RRA#i:+n,
// --step with DS:/DEL:/RRA#) by rrdtool on the file and by rrdash on the
// same file imported; the results must be equal value for value (rows by
// time, PDP state, every cdp_prep field) with the same ring positions.
func TestTuneModifyDifferential(t *testing.T) {
	h := newRRDtoolHarness(t)
	t.Parallel()
	cases := shortOr(40, 15)
	db := h.openDB(t)
	var stats diffStats
	filled := 0
	for i := 0; i < cases; i++ {
		r := rand.New(rand.NewPCG(20261203, uint64(i)+11000))
		c := genCase(r)
		file := h.path("m%d.rrd", i)
		h.createCase(t, file, c)
		h.feed(file, c.chunks)
		name := fmt.Sprintf("m%d", i)
		importFile(t, db, file, name)
		var args []string
		if r.IntN(3) == 0 {
			for _, k := range []int64{2, 3, 5} {
				if c.spec.Step%k == 0 {
					args = append(args, "--step", strconv.FormatInt(c.spec.Step/k, 10))
					break
				}
			}
		}
		for k := 0; k < 1+r.IntN(3); k++ {
			switch r.IntN(4) {
			case 0, 1:
				cf := []string{"AVERAGE", "MIN", "MAX", "LAST"}[r.IntN(4)]
				args = append(args, fmt.Sprintf("RRA:%s:%s:%d:%d", cf, strconv.FormatFloat(xffChoices[r.IntN(len(xffChoices))], 'g', -1, 64),
					[]int64{1, 2, 3, 4, 6, 12}[r.IntN(6)], 1+r.Int64N(60)))
			case 2:
				args = append(args, fmt.Sprintf("RRA#%d:+%d", r.IntN(len(c.spec.RRA)), 1+r.IntN(40)))
			case 3:
				if len(c.spec.DS) > 1 && r.IntN(2) == 0 {
					args = append(args, "DEL:"+c.spec.DS[r.IntN(len(c.spec.DS))].Name)
				} else {
					args = append(args, "DS:nn:GAUGE:600:U:U")
				}
			}
		}
		out, rerr := h.cmd(append([]string{"tune", file}, args...)...).CombinedOutput()
		oerr := db.Tune(name, args)
		if (rerr == nil) != (oerr == nil) {
			t.Fatalf("case %d tune %q: rrdtool: %v %s; ours: %v", i, args, rerr, out, oerr)
		}
		if rerr != nil {
			continue
		}
		what := fmt.Sprintf("case %d (%v tune %q)", i, c.spec.RRA, args)
		// tune keeps the file's rings where they are, and so must rrdash
		filled += compareDump(t, what, file, dbDump(t, db, name), &stats, diffCheck{ring: true})
	}
	t.Logf("%d cases, %d values compared bit for bit, %d row values not unknown", cases, stats.exact, filled)
}
