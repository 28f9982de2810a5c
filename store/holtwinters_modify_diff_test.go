package store

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"rrdash/store/rrdfile"
	"rrdash/store/rrdtooltest"
)

// TestTuneModifyHoltWintersDifferential: rrdtool files with Holt-Winters
// archives (every hwLayouts layout, seasonal data with anomalies), then
// random rrd_modify forms (DS:, DEL:, RRA#i:±n/=n on any archive, DELRRA:
// after the last Holt-Winters archive, RRA: of the other types) or resize,
// by rrdtool on the file and by rrdash on the file imported; then the rest
// of the updates on both. Every row, cdp_prep word (Holt-Winters words
// included), parameter and ring position must agree bit for bit.
func TestTuneModifyHoltWintersDifferential(t *testing.T) {
	bin := rrdtooltest.Bin(t)
	t.Parallel()
	seeds := 3
	if testing.Short() {
		seeds = 1
	}
	dir := t.TempDir()
	db, err := Open(filepath.Join(dir, "db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var st hwStats
	cases := 0
	for l := range hwLayouts {
		for s := 0; s < seeds; s++ {
			r := newRand(uint64(7000 + 100*l + s))
			c := genHWCase(r, l)
			file := filepath.Join(dir, fmt.Sprintf("m%d_%d.rrd", l, s))
			args := append([]string{"create", file, "--start", strconv.FormatInt(c.start, 10), "--step", strconv.FormatInt(c.step, 10)}, c.args...)
			if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
				t.Fatalf("rrdtool create: %v: %s", err, out)
			}
			half := len(c.chunks) * 2 / 3
			for _, ch := range c.chunks[:half] {
				_ = exec.Command(bin, append([]string{"update", file}, ch...)...).Run()
			}
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("m%d_%d", l, s)
			if err := db.ImportRRD(b, name, true); err != nil {
				t.Fatal(err)
			}
			spec, err := db.Spec(name)
			if err != nil {
				t.Fatal(err)
			}
			nds := len(spec.DS)
			lastHW := -1
			for a, x := range spec.RRA {
				if x.CF.IsHW() {
					lastHW = a
				}
			}
			var ref, what string
			var oerr error
			if r.IntN(3) == 0 {
				// resize any archive
				a := r.IntN(len(spec.RRA))
				op, n := "GROW", 1+r.Int64N(20)
				if r.IntN(2) == 0 && spec.RRA[a].Rows > 1 {
					op, n = "SHRINK", 1+r.Int64N(spec.RRA[a].Rows-1)
				}
				rargs := []string{"resize", file, strconv.Itoa(a), op, strconv.FormatInt(n, 10)}
				cmd := exec.Command(bin, rargs...)
				cmd.Dir = dir
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("rrdtool %q: %v %s", rargs, err, out)
				}
				ref, what = filepath.Join(dir, "resize.rrd"), fmt.Sprintf("%q", rargs[2:])
				oerr = db.ResizeArchive(name, a, op == "GROW", n)
			} else {
				var targs []string
				for k := 0; k < 1+r.IntN(3); k++ {
					switch r.IntN(5) {
					case 0:
						a := r.IntN(len(spec.RRA))
						switch r.IntN(3) {
						case 0:
							targs = append(targs, fmt.Sprintf("RRA#%d:+%d", a, 1+r.IntN(30)))
						case 1:
							targs = append(targs, fmt.Sprintf("RRA#%d:-%d", a, 1+r.Int64N(max(1, spec.RRA[a].Rows-1))))
						default:
							targs = append(targs, fmt.Sprintf("RRA#%d:=%d", a, 2+r.IntN(80)))
						}
					case 1:
						if lastHW+1 < len(spec.RRA) {
							targs = append(targs, fmt.Sprintf("DELRRA:%d", lastHW+1+r.IntN(len(spec.RRA)-lastHW-1)))
						}
					case 2:
						if nds > 1 && r.IntN(2) == 0 {
							targs = append(targs, "DEL:"+spec.DS[r.IntN(nds)].Name)
						} else {
							targs = append(targs, fmt.Sprintf("DS:n%d:GAUGE:%d:U:U", k, 4*c.step))
						}
					default:
						cf := []string{"AVERAGE", "MIN", "MAX", "LAST"}[r.IntN(4)]
						targs = append(targs, fmt.Sprintf("RRA:%s:0.5:%d:%d", cf, []int{1, 2, 3, 5}[r.IntN(4)], 5+r.IntN(60)))
					}
				}
				if len(targs) == 0 {
					targs = []string{"RRA#0:+1"}
				}
				out, rerr := exec.Command(bin, append([]string{"tune", file}, targs...)...).CombinedOutput()
				oerr = db.Tune(name, targs)
				if (rerr == nil) != (oerr == nil) {
					t.Fatalf("%s tune %q: rrdtool %v %s; ours %v", name, targs, rerr, out, oerr)
				}
				if rerr != nil {
					continue
				}
				ref, what = file, fmt.Sprintf("tune %q", targs)
			}
			if oerr != nil {
				t.Fatalf("%s %s: %v", name, what, oerr)
			}
			ctx := fmt.Sprintf("%s (%s) %s", name, hwLayouts[l].name, what)
			compareHWDB(t, ctx, ref, db, name, &st)
			spec, _ = db.Spec(name)
			for _, ch := range c.chunks[half:] {
				chunk := hwChunkFor(ch, len(spec.DS))
				out, rerr := exec.Command(bin, append([]string{"update", ref}, chunk...)...).CombinedOutput()
				var ups []Update
				var perr error
				for _, a := range chunk {
					u, err := ParseUpdateArg(a, nil, len(spec.DS))
					if err != nil {
						perr = err
						break
					}
					u.Series = name
					ups = append(ups, u)
				}
				res, err := db.Apply(context.Background(), Batch{Updates: ups, StopOnError: true})
				if err != nil {
					t.Fatal(err)
				}
				if ok := perr == nil && len(res.Errors) == 0; ok != (rerr == nil) {
					t.Fatalf("%s: update after: rrdtool %v %s; ours %v %v", ctx, rerr, out, perr, res.Errors)
				}
			}
			compareHWDB(t, ctx+" and updates", ref, db, name, &st)
			cases++
		}
	}
	t.Logf("%d cases: %d values and %d Holt-Winters cdp words bit-identical over %d rows (FAILURES rows %d, %d set)",
		cases, st.values, st.words, st.rows, st.failures, st.failuresSet)
	if cases < len(hwLayouts) {
		t.Errorf("only %d cases ran", cases)
	}
}

// hwChunkFor gives every ARG of an update call nds values: the chunks are
// made for the layout's data sources, and tune may add or delete some.
func hwChunkFor(ch []string, nds int) []string {
	out := make([]string, 0, len(ch))
	for _, a := range ch {
		ts, rest, _ := cutColon(a)
		vals := splitColons(rest)
		for len(vals) < nds {
			vals = append(vals, vals[len(vals)-1])
		}
		out = append(out, ts+":"+joinColons(vals[:nds]))
	}
	return out
}

func cutColon(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func splitColons(s string) []string {
	var out []string
	for {
		a, b, ok := cutColon(s)
		out = append(out, a)
		if !ok {
			return out
		}
		s = b
	}
}

func joinColons(v []string) string {
	s := ""
	for i, x := range v {
		if i > 0 {
			s += ":"
		}
		s += x
	}
	return s
}

// compareHWDB compares series name with rrdtool's file: definition
// (Holt-Winters parameters included), ring positions, every row, the PDP
// state, and every cdp_prep word that rrdtool's file and rrdash keep.
func compareHWDB(t *testing.T, ctx, file string, db *DB, name string, st *hwStats) {
	t.Helper()
	ref, err := rrdfile.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	d, err := db.Dump(name)
	if err != nil {
		t.Fatal(err)
	}
	if d.LastUpdate != ref.LastUpdate || len(d.Spec.RRA) != len(ref.RRA) || len(d.Spec.DS) != len(ref.DS) || d.Spec.Step != ref.Step {
		t.Fatalf("%s: last update %d, %d archives, %d DS, step %d; rrdtool %d, %d, %d, %d", ctx, d.LastUpdate, len(d.Spec.RRA), len(d.Spec.DS), d.Spec.Step,
			ref.LastUpdate, len(ref.RRA), len(ref.DS), ref.Step)
	}
	if want := d.Spec.RRDVersion(); ref.Version != want {
		t.Fatalf("%s: version %d, rrdtool %d", ctx, want, ref.Version)
	}
	nds := len(d.Spec.DS)
	for k, ds := range ref.DS {
		if s := d.DS[k]; s.LastDS != ds.LastDS || !sameFloat(s.Value, ds.Value) || s.UnknownSec != ds.UnknownSec {
			t.Fatalf("%s: ds %d state {%q %v %d}, rrdtool {%q %v %d}", ctx, k, s.LastDS, s.Value, s.UnknownSec, ds.LastDS, ds.Value, ds.UnknownSec)
		}
	}
	for a, ra := range ref.RRA {
		r, da := d.Spec.RRA[a], d.RRA[a]
		where := fmt.Sprintf("%s: rra %d (%s)", ctx, a, r)
		if ra.CF != r.CF.String() || ra.Rows != r.Rows || ra.Steps != r.Steps || da.CurRow != ra.CurRow {
			t.Fatalf("%s: %s %d rows %d steps cur_row %d, rrdtool %s %d %d %d", where, r.CF, r.Rows, r.Steps, da.CurRow, ra.CF, ra.Rows, ra.Steps, ra.CurRow)
		}
		if r.CF.IsHW() && hwParamWords(r) != ra.Params {
			t.Fatalf("%s: params %v, rrdtool %v", where, hwParamWords(r), ra.Params)
		}
		for k := 0; k < nds; k++ {
			c, rc := da.CDP[k], ra.CDP[k]
			if !sameFloat(c.Primary, rc.Primary) || !sameFloat(c.Secondary, rc.Secondary) {
				t.Fatalf("%s ds %d: primary %v secondary %v, rrdtool %v %v", where, k, c.Primary, c.Secondary, rc.Primary, rc.Secondary)
			}
			st.values += 2
			if !r.CF.IsHW() {
				if !sameFloat(c.Value, rc.Value) || c.UnknownPDP != rc.UnknownPDP {
					t.Fatalf("%s ds %d: value %v unknown %d, rrdtool %v %d", where, k, c.Value, c.UnknownPDP, rc.Value, rc.UnknownPDP)
				}
				continue
			}
			words := []int{2, 3, 4, 5, 6, 7}
			switch r.CF {
			case Failures:
				words = []int{0, 1, 2, 3} // the violation history
			case DevPredict:
				words = nil
			}
			for _, i := range words {
				if c.HW[i] != rc.Scratch[i] && !(math.IsNaN(c.HW.Float(i)) && math.IsNaN(rc.Scratch.Float(i))) {
					t.Fatalf("%s ds %d: cdp word %d = %x, rrdtool %x", where, k, i, c.HW[i], rc.Scratch[i])
				}
				st.words++
			}
		}
		for row := int64(0); row < r.Rows; row++ {
			got := da.Rows[(da.CurRow+1+row)%r.Rows]
			want := ref.Row(a, row)
			if !slices.EqualFunc(got, want, sameFloat) {
				t.Fatalf("%s: row %d (oldest first): %v, rrdtool %v", where, row, got, want)
			}
			st.values += nds
			if r.CF == Failures {
				for _, v := range got {
					st.failures++
					if v == 1 {
						st.failuresSet++
					}
				}
			}
			st.rows++
		}
	}
}
