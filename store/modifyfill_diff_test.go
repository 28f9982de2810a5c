package store

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"rrdash/store/internal/rrdbin"
	"rrdash/store/rrdtooltest"
)

// TestTuneModifyDifferential: random files made and updated by rrdtool
// 1.7.2, then random tune operations that fill rows (RRA:…, RRA#i:+n,
// --step with DS:/DEL:/RRA#) by rrdtool on the file and by rrdash on the
// same file imported; the results must be equal value for value (rows by
// time, PDP state, every cdp_prep field) with the same ring positions.
func TestTuneModifyDifferential(t *testing.T) {
	bin := rrdtooltest.Bin(t)
	t.Parallel()
	cases := 40
	if testing.Short() {
		cases = 15
	}
	dir := t.TempDir()
	db, err := Open(filepath.Join(dir, "db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var stats diffStats
	filled := 0
	for i := 0; i < cases; i++ {
		r := rand.New(rand.NewPCG(20261203, uint64(i)+11000))
		c := genCase(r)
		file := filepath.Join(dir, fmt.Sprintf("m%d.rrd", i))
		if out, err := exec.Command(bin, c.createArgs(file)...).CombinedOutput(); err != nil {
			t.Fatalf("case %d: rrdtool create: %v: %s", i, err, out)
		}
		for _, ch := range c.chunks {
			_ = exec.Command(bin, append([]string{"update", file}, ch...)...).Run()
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("m%d", i)
		if err := db.ImportRRD(b, name, true); err != nil {
			t.Fatal(err)
		}
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
		out, rerr := exec.Command(bin, append([]string{"tune", file}, args...)...).CombinedOutput()
		oerr := db.Tune(name, args)
		if (rerr == nil) != (oerr == nil) {
			t.Fatalf("case %d tune %q: rrdtool: %v %s; ours: %v", i, args, rerr, out, oerr)
		}
		if rerr != nil {
			continue
		}
		what := fmt.Sprintf("%v tune %q", c.spec.RRA, args)
		filled += compareDumpFile(t, i, file, db, name, &stats, what)
		ref, err := rrdbin.Read(file)
		if err != nil {
			t.Fatal(err)
		}
		d, err := db.Dump(name)
		if err != nil {
			t.Fatal(err)
		}
		for a := range ref.RRA {
			if ref.RRA[a].CurRow != d.RRA[a].CurRow {
				t.Fatalf("case %d (%s): rra %d cur_row %d, rrdtool %d", i, what, a, d.RRA[a].CurRow, ref.RRA[a].CurRow)
			}
		}
		if d.Spec.Step != ref.Step {
			t.Fatalf("case %d (%s): step %d, rrdtool %d", i, what, d.Spec.Step, ref.Step)
		}
	}
	t.Logf("%d cases, %d values compared bit for bit, %d row values not unknown", cases, stats.exact, filled)
}
