package store

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"rrdash/store/rrdfile"
)

// hwLayouts are the Holt-Winters parameter sets of the differential test:
// implicit creation (additive and multiplicative), explicit archives in
// another order, custom FAILURES and smoothing windows, two data sources.
var hwLayouts = []struct {
	name string
	ds   int
	rra  []string
	pos  bool // the data must stay positive (MHWPREDICT)
}{
	{"implicit", 1, []string{"RRA:AVERAGE:0.5:1:200", "RRA:HWPREDICT:200:0.3:0.05:24"}, false},
	{"implicit-mult", 1, []string{"RRA:MHWPREDICT:150:0.2:0.1:24", "RRA:MAX:0.5:4:50"}, true},
	// a season of 48 rows: version 0003 smooths over 5 % (one row each side)
	{"implicit-long", 1, []string{"RRA:HWPREDICT:300:0.2:0.02:48"}, false},
	{"two-ds", 2, []string{"RRA:HWPREDICT:120:0.5:0.2:20", "RRA:LAST:0.5:1:100"}, false},
	// SEASONAL before HWPREDICT, FAILURES before DEVSEASONAL: the
	// "already updated" branches of every update function
	{"explicit-reordered", 1, []string{
		"RRA:FAILURES:24:3:5:4",         // 1
		"RRA:SEASONAL:24:0.2:3",         // 2
		"RRA:HWPREDICT:96:0.4:0.1:24:2", // 3
		"RRA:DEVSEASONAL:24:0.3:3",      // 4
		"RRA:DEVPREDICT:96:4",           // 5
		"RRA:AVERAGE:0.5:2:40",          // 6
	}, false},
	{"explicit-window", 1, []string{
		"RRA:MHWPREDICT:60:0.6:0.3:30:2",
		"RRA:SEASONAL:30:0.4:1:smoothing-window=0.3",
		"RRA:DEVSEASONAL:30:0.25:1:smoothing-window=0.1",
		"RRA:DEVPREDICT:60:3",
		"RRA:FAILURES:60:2:4:3",
	}, true},
}

// hwCase is one generated Holt-Winters comparison.
type hwCase struct {
	start, step int64
	args        []string // create's DS and RRA arguments
	chunks      [][]string
}

// genHWCase makes a seasonal series with noise and anomalies (spikes,
// level shifts, unknown readings, gaps that close two or many steps,
// readings off the step boundaries), fed in update calls of random size.
func genHWCase(r *rand.Rand, layout int) hwCase {
	l := hwLayouts[layout]
	c := hwCase{step: 60}
	c.start = 1_700_000_000 - 1_700_000_000%c.step + int64(r.IntN(3))*c.step
	for d := 0; d < l.ds; d++ {
		c.args = append(c.args, fmt.Sprintf("DS:v%d:GAUGE:%d:U:U", d, 4*c.step))
	}
	c.args = append(c.args, l.rra...)
	period := 24.0
	t := c.start
	var cur []string
	n := 300 + r.IntN(300)
	level := 100.0
	for i := 0; i < n; i++ {
		switch k := r.IntN(100); {
		case k < 4: // a gap of two steps
			t += 2 * c.step
		case k < 6: // a longer gap (the model learns nothing)
			t += int64(3+r.IntN(30)) * c.step
		case k < 14: // off the boundary
			t += c.step/2 + int64(r.IntN(int(c.step)))
		default:
			t += c.step
		}
		if r.IntN(200) == 0 {
			level += float64(r.IntN(60) - 30) // a level shift
		}
		vals := make([]string, l.ds)
		for d := range vals {
			ph := float64(t/c.step) / period * 2 * math.Pi
			v := level*(1+0.3*float64(d)) + 40*math.Sin(ph+float64(d)) + r.NormFloat64()*3
			if r.IntN(40) == 0 {
				v += float64(r.IntN(400) - 150) // a spike
			}
			if l.pos && v < 1 {
				v = 1
			}
			switch {
			case r.IntN(50) == 0:
				vals[d] = "U"
			case r.IntN(3) == 0:
				vals[d] = strconv.FormatFloat(v, 'f', 2, 64)
			default:
				vals[d] = strconv.FormatFloat(math.Round(v), 'f', -1, 64)
			}
		}
		cur = append(cur, strconv.FormatInt(t, 10)+":"+strings.Join(vals, ":"))
		if r.IntN(8) == 0 || len(cur) > 40 {
			c.chunks = append(c.chunks, cur)
			cur = nil
		}
	}
	if len(cur) > 0 {
		c.chunks = append(c.chunks, cur)
	}
	return c
}

// hwStats counts what the comparison checked.
type hwStats struct {
	values, words, rows, failures, failuresSet, fetches int
}

// runHWCase runs a case through rrdtool and an in-memory series and
// compares the files; it returns our series.
func runHWCase(t *testing.T, h *rrdtoolHarness, file string, c hwCase, st *hwStats) *RRD {
	t.Helper()
	h.create(t, file, c.start, c.step, c.args)
	spec, err := ParseSpecArgs(c.step, c.start, c.args)
	if err != nil {
		t.Fatal(err)
	}
	spec.AssignSmoothIdx(file) // rrdtool hashes the file name it is given
	ours, err := NewRRD(spec)
	if err != nil {
		t.Fatal(err)
	}
	// rrdtool starts every ring at a random row, and the smoother's
	// schedule depends on where the seasonal rings are: start at its rows
	created, err := rrdfile.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for a, ra := range created.RRA {
		ours.st.curRow[a] = ra.CurRow
	}
	h.updateBoth(t, file, file, c.chunks, rrdUpdater(ours, nil))
	compareHWDump(t, file, file, dumpRRD(ours), st)
	return ours
}

// compareHWDump compares rrdash's series d with rrdtool's file: definition
// (Holt-Winters parameters included), last update, ring positions, every
// row, the PDP state, and every cdp_prep word that rrdtool's file and
// rrdash keep (all words of Holt-Winters archives), bit for bit.
func compareHWDump(t *testing.T, ctx, file string, d *DumpData, st *hwStats) {
	t.Helper()
	ref, err := rrdfile.ReadFile(file)
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
				words = nil // no state of its own
			}
			for _, i := range words {
				if c.HW[i] != rc.Scratch[i] && !(math.IsNaN(c.HW.Float(i)) && math.IsNaN(rc.Scratch.Float(i))) {
					t.Fatalf("%s ds %d: cdp word %d = %x (%v), rrdtool %x (%v)", where, k, i, c.HW[i], c.HW.Float(i), rc.Scratch[i], rc.Scratch.Float(i))
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

// hwParamWords is an archive's par[] as rrdtool stores it.
func hwParamWords(r RRA) rrdfile.Words {
	var w rrdfile.Words
	f := func(i int, v float64) { w[i] = math.Float64bits(v) }
	h := r.HW
	switch r.CF {
	case HWPredict, MHWPredict:
		f(1, h.Alpha)
		f(2, h.Beta)
		w[3] = uint64(h.Dep)
		f(4, float64(h.Period))
	case Seasonal, DevSeasonal:
		f(1, h.Gamma)
		f(2, h.SmoothingWindow)
		w[3] = uint64(h.Dep)
		w[4] = uint64(h.SmoothIdx)
	case DevPredict:
		w[3] = uint64(h.Dep)
	case Failures:
		f(1, h.DeltaPos)
		f(2, h.DeltaNeg)
		w[3] = uint64(h.Dep)
		w[4] = uint64(h.WindowLen)
		w[5] = uint64(h.Threshold)
	}
	return w
}

// Holt-Winters archives on seasonal data with anomalies, against rrdtool:
// rows, cdp_prep words, parameters and fetches of every archive type.
func TestDifferentialHoltWinters(t *testing.T) {
	h := newRRDtoolHarness(t)
	t.Parallel()
	seeds := shortOr(4, 2)
	var st hwStats
	for l := range hwLayouts {
		for s := 0; s < seeds; s++ {
			t.Run(fmt.Sprintf("%s/%d", hwLayouts[l].name, s), func(t *testing.T) {
				c := genHWCase(newRand(uint64(1000*l+s)), l)
				file := h.path("hw%d_%d.rrd", l, s)
				ours := runHWCase(t, h, file, c, &st)
				// fetch of every archive type by its CF name
				lu, _ := ours.LastUpdate()
				var qs []FetchRequest
				for _, r := range ours.Spec().RRA {
					qs = append(qs, FetchRequest{CF: r.CF, Start: lu - 150*c.step, End: lu, Resolution: c.step})
				}
				st.fetches += h.compareFetches(t, file, file, qs, ours.Fetch, nil)
			})
		}
	}
	t.Logf("%d values and %d cdp words bit-identical over %d rows; FAILURES rows %d (%d set); %d fetches",
		st.values, st.words, st.rows, st.failures, st.failuresSet, st.fetches)
	if st.failuresSet == 0 {
		t.Error("no FAILURES row is set: the anomalies do not exercise detection")
	}
}
