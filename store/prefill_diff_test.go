package store

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"rrdash/store/internal/rrdbin"
	"rrdash/store/rrdtooltest"
)

// TestCreateSourceDifferential: random source files made and updated by
// rrdtool 1.7.2, then `create --source` of random new definitions (other
// steps, archives of every CF and length, data sources kept, dropped,
// added, mapped to another name or source) by rrdtool and by rrdash on
// the same sources; the new files must be equal value for value (rows,
// PDP state, every cdp_prep field, bit for bit).
func TestCreateSourceDifferential(t *testing.T) {
	bin := rrdtooltest.Bin(t)
	t.Parallel()
	cases := 60
	if testing.Short() {
		cases = 20
	}
	dir := t.TempDir()
	db, err := Open(filepath.Join(dir, "db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
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
			file := filepath.Join(dir, fmt.Sprintf("s%d_%d.rrd", i, s))
			if out, err := exec.Command(bin, c.createArgs(file)...).CombinedOutput(); err != nil {
				t.Fatalf("case %d: rrdtool create: %v: %s", i, err, out)
			}
			for _, ch := range c.chunks {
				// refused updates stop a chunk in rrdtool as in rrdash; the
				// file is what counts here
				_ = exec.Command(bin, append([]string{"update", file}, ch...)...).Run()
			}
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("src%d_%d", i, s)
			if err := db.ImportRRD(b, name, true); err != nil {
				t.Fatalf("case %d: import %s: %v", i, file, err)
			}
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
		target := filepath.Join(dir, fmt.Sprintf("t%d.rrd", i))
		rargs := append([]string{"create", target, "--step", strconv.FormatInt(step, 10)}, startArgs...)
		for _, f := range srcFiles {
			rargs = append(rargs, "--source", f)
		}
		rargs = append(rargs, args...)
		out, rerr := exec.Command(bin, rargs...).CombinedOutput()

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
		filled += compareDumpFile(t, i, target, db, fmt.Sprintf("t%d", i), &stats, strings.Join(rargs[2:], " "))
		nOK++
	}
	t.Logf("%d cases (%d created, the others refused by both), %d values compared bit for bit, %d rows values filled from the sources", cases, nOK, stats.exact, filled)
	if filled == 0 {
		t.Fatal("no row was filled from a source: the test tests nothing")
	}
}

// compareDumpFile compares series name of db with rrdtool's file, as
// compareFiles compares an RRD: state, every cdp_prep field, rows by time.
func compareDumpFile(t *testing.T, i int, file string, db *DB, name string, stats *diffStats, what string) (filled int) {
	t.Helper()
	ref, err := rrdbin.Read(file)
	if err != nil {
		t.Fatal(err)
	}
	d, err := db.Dump(name)
	if err != nil {
		t.Fatal(err)
	}
	ctx := fmt.Sprintf("case %d (%s)", i, what)
	if ref.LastUp != d.LastUpdate {
		t.Fatalf("%s: last update %d, rrdtool %d", ctx, d.LastUpdate, ref.LastUp)
	}
	for k, ds := range ref.DS {
		s := d.DS[k]
		if s.LastDS != ds.LastDS || !stats.check(s.Value, ds.Value) || s.UnknownSec != ds.UnknownSec {
			t.Fatalf("%s: ds %d state {%q %v %d}, rrdtool {%q %v %d}", ctx, k, s.LastDS, s.Value, s.UnknownSec, ds.LastDS, ds.Value, ds.UnknownSec)
		}
	}
	for a, ra := range ref.RRA {
		da := d.RRA[a]
		for k, rc := range ra.CDP {
			c := da.CDP[k]
			if !stats.check(c.Value, rc.Value) || c.UnknownPDP != rc.UnknownPDP || !stats.check(c.Primary, rc.Primary) || !stats.check(c.Secondary, rc.Secondary) {
				t.Fatalf("%s: rra %d (%v) ds %d cdp {val %v unkn %d primary %v secondary %v}, rrdtool {%v %d %v %v}", ctx, a, d.Spec.RRA[a], k,
					c.Value, c.UnknownPDP, c.Primary, c.Secondary, rc.Value, rc.UnknownPDP, rc.Primary, rc.Secondary)
			}
		}
		rows := int64(len(da.Rows))
		for k := int64(0); k < rows; k++ {
			row := da.Rows[(da.CurRow+1+k)%rows] // oldest first
			for v := range row {
				if !math.IsNaN(row[v]) {
					filled++
				}
				if !stats.check(row[v], ra.Rows[k][v]) {
					t.Fatalf("%s: rra %d (%v) row %d (t=%d) ds %d: %v, rrdtool %v", ctx, a, d.Spec.RRA[a], k, ra.Times[k], v, row[v], ra.Rows[k][v])
				}
			}
		}
	}
	return filled
}
