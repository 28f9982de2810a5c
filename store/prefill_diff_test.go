package store

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestCreateSourceDifferential: random source files made and updated by
// rrdtool 1.7.2, then `create --source` of random new definitions (other
// steps, archives of every CF and length, data sources kept, dropped,
// added, mapped to another name or source) by rrdtool and by rrdash on
// the same sources; the new files must be equal value for value (rows,
// PDP state, every cdp_prep field, bit for bit).
func TestCreateSourceDifferential(t *testing.T) {
	h := newRRDtoolHarness(t)
	t.Parallel()
	cases := shortOr(60, 20)
	db := h.openDB(t)
	var stats diffStats
	filled, nOK := 0, 0
	for i := 0; i < cases; i++ {
		r := rand.New(rand.NewPCG(20261203, uint64(i)+9000))
		nsrc := 1 + r.IntN(2)
		var srcFiles, srcNames []string
		var srcDS [][]string
		var srcSteps []int64
		for s := 0; s < nsrc; s++ {
			c := genCase(r)
			file := h.path("s%d_%d.rrd", i, s)
			h.createCase(t, file, c)
			// refused updates stop a chunk in rrdtool as in rrdash; the
			// file is what counts here
			h.feed(file, c.chunks)
			name := fmt.Sprintf("src%d_%d", i, s)
			importFile(t, db, file, name)
			srcFiles, srcNames = append(srcFiles, file), append(srcNames, name)
			var names []string
			for _, d := range c.spec.DS {
				names = append(names, d.Name)
			}
			srcDS = append(srcDS, names)
			srcSteps = append(srcSteps, c.spec.Step)
		}
		// the new definition
		step := srcSteps[0] * []int64{1, 1, 2, 3, 5}[r.IntN(5)]
		if r.IntN(4) == 0 && step%5 == 0 {
			step /= 5
		}
		var args []string
		types := []string{"GAUGE", "COUNTER", "DERIVE", "ABSOLUTE"}
		nds := 1 + r.IntN(4)
		for d := 0; d < nds; d++ {
			name := fmt.Sprintf("d%d", d)
			head := "DS:" + name
			switch k := r.IntN(6); {
			case k == 0:
				name = fmt.Sprintf("n%d", d) // a new name: filled from nothing
				head = "DS:" + name
			case k == 1:
				s := r.IntN(nsrc)
				head = fmt.Sprintf("DS:m%d=%s", d, srcDS[s][r.IntN(len(srcDS[s]))])
			case k == 2 && nsrc > 1:
				head = fmt.Sprintf("DS:m%d=%s[%d]", d, srcDS[1][r.IntN(len(srcDS[1]))], 2)
			}
			hb := step * int64(1+r.IntN(3))
			args = append(args, fmt.Sprintf("%s:%s:%d:U:U", head, types[r.IntN(len(types))], hb))
		}
		for k := 0; k < 1+r.IntN(5); k++ {
			cf := []string{"AVERAGE", "MIN", "MAX", "LAST"}[r.IntN(4)]
			args = append(args, fmt.Sprintf("RRA:%s:%s:%d:%d", cf, strconv.FormatFloat(xffChoices[r.IntN(len(xffChoices))], 'g', -1, 64),
				[]int64{1, 1, 2, 3, 4, 6, 12}[r.IntN(7)], 1+r.Int64N(80)))
		}
		startArgs := []string{}
		startGiven := r.IntN(3) == 0
		var start int64
		if startGiven {
			lu := int64(0)
			for _, n := range srcNames {
				l, _ := db.LastUpdate(n)
				lu = max(lu, l)
			}
			start = lu - r.Int64N(500)
			startArgs = []string{"--start", strconv.FormatInt(start, 10)}
		}
		target := h.path("t%d.rrd", i)
		rargs := append([]string{"create", target, "--step", strconv.FormatInt(step, 10)}, startArgs...)
		for _, f := range srcFiles {
			rargs = append(rargs, "--source", f)
		}
		rargs = append(rargs, args...)
		out, rerr := h.cmd(rargs...).CombinedOutput()

		var maps []DSMapping
		plain := make([]string, len(args))
		for k, a := range args {
			p, m, ok, err := SplitDSMapping(a)
			if err != nil {
				t.Fatal(err)
			}
			plain[k] = p
			if ok {
				maps = append(maps, m)
			}
		}
		spec, err := ParseSpecArgs(step, start, plain)
		if err == nil {
			err = db.CreateFromSources(fmt.Sprintf("t%d", i), spec, startGiven, srcNames, maps, true)
		}
		if (rerr == nil) != (err == nil) {
			t.Fatalf("case %d %q: rrdtool: %v %s; ours: %v", i, rargs, rerr, out, err)
		}
		if rerr != nil {
			continue
		}
		ctx := fmt.Sprintf("case %d (%s)", i, strings.Join(rargs[2:], " "))
		filled += compareDump(t, ctx, target, dbDump(t, db, fmt.Sprintf("t%d", i)), &stats, diffCheck{})
		nOK++
	}
	t.Logf("%d cases (%d created, the others refused by both), %d values compared bit for bit, %d rows values filled from the sources", cases, nOK, stats.exact, filled)
	if filled == 0 {
		t.Fatal("no row was filled from a source: the test tests nothing")
	}
}
