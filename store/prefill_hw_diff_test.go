package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"rrdash/store/rrdfile"
)

// TestCreateSourceHoltWintersDifferential: `create --source` where the
// sources, the new definition or both have Holt-Winters archives (every
// layout of the Holt-Winters differential test), the source given as a
// series or as an rrdtool file. rrdtool 1.7.2 and rrdash must make the
// same series: rows, PDP state and every cdp_prep word of every archive
// (a Holt-Winters archive's intercept, slope, seasonal coefficients,
// null counts and FAILURES history, copied or initialised), the
// parameters (the smoothing index rrdtool derives from the file name)
// bit for bit; and the series must reopen with the same state and take
// updates. (A first version wrote such a series with a corrupt header.)
func TestCreateSourceHoltWintersDifferential(t *testing.T) {
	h := newRRDtoolHarness(t)
	t.Parallel()
	db, err := Open(h.path("hwdb"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	var st hwStats
	cases := shortOr(14, 7)
	created := map[string]string{} // series → rrdtool's file
	for i := 0; i < cases; i++ {
		r := rand.New(rand.NewPCG(20261204, uint64(i)))
		src := genHWCase(r, r.IntN(len(hwLayouts)))
		srcFile := h.path("hs%d.rrd", i)
		h.create(t, srcFile, src.start, src.step, src.args)
		h.feed(srcFile, src.chunks)
		source := srcFile // a file that is no series
		if i%2 == 0 {
			source = fmt.Sprintf("hs%d", i)
			importFile(t, db, srcFile, source)
		}
		// the new definition: the source's data sources, the archives of
		// another layout (or plain ones), sometimes another step
		var args []string
		for _, a := range src.args {
			if strings.HasPrefix(a, "DS:") {
				args = append(args, a)
			}
		}
		if r.IntN(5) == 0 {
			args = append(args, "RRA:AVERAGE:0.5:1:300", "RRA:MAX:0.5:6:40")
		} else {
			args = append(args, hwLayouts[r.IntN(len(hwLayouts))].rra...)
		}
		step := src.step * []int64{1, 1, 1, 2}[r.IntN(4)]
		name := fmt.Sprintf("ht%d", i)
		// rrdtool derives the smoothing index from the name it is given:
		// the same relative name as the series' file
		rargs := []string{"create", name + ".rrd", "--step", strconv.FormatInt(step, 10), "--source", srcFile}
		startGiven := r.IntN(3) == 0
		var start int64
		if startGiven {
			ref, err := rrdfile.ReadFile(srcFile)
			if err != nil {
				t.Fatal(err)
			}
			start = ref.LastUpdate - r.Int64N(3000)
			rargs = append(rargs, "--start", strconv.FormatInt(start, 10))
		}
		rargs = append(rargs, args...)
		out, rerr := h.cmd(rargs...).CombinedOutput()
		spec, err := ParseSpecArgs(step, start, args)
		if err == nil {
			err = db.CreateFromSources(name, spec, startGiven, []string{source}, nil, true)
		}
		if (rerr == nil) != (err == nil) {
			t.Fatalf("case %d %q: rrdtool: %v %s; ours: %v", i, rargs, rerr, out, err)
		}
		if rerr != nil {
			continue
		}
		ctx := fmt.Sprintf("case %d (%s)", i, strings.Join(rargs[1:], " "))
		compareHWDump(t, ctx, h.path("%s.rrd", name), ringAsIn(t, dbDump(t, db, name), h.path("%s.rrd", name)), &st)
		created[name] = h.path("%s.rrd", name)
	}
	if len(created) < cases/2 {
		t.Fatalf("only %d of %d cases created a series", len(created), cases)
	}
	// the state is in the files: reopened, every series is the same, and
	// takes an update
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = Open(h.path("hwdb"), Options{}); err != nil {
		t.Fatal(err)
	}
	for name, file := range created {
		compareHWDump(t, name+" reopened", file, ringAsIn(t, dbDump(t, db, name), file), &st)
		last, err := db.LastUpdate(name)
		if err != nil {
			t.Fatal(err)
		}
		spec, err := db.Spec(name)
		if err != nil {
			t.Fatal(err)
		}
		vals := strings.Split(strings.Repeat("42 ", len(spec.DS)), " ")[:len(spec.DS)]
		res, err := db.Apply(context.Background(), Batch{Updates: []Update{{Series: name, Time: last + spec.Step, Values: vals}}})
		if err != nil || len(res.Errors) > 0 || res.Applied != 1 {
			t.Fatalf("%s: update after create --source: %v %v", name, err, res.Errors)
		}
	}
	t.Logf("%d series created from sources, %d values, %d Holt-Winters words, %d rows compared", len(created), st.values, st.words, st.rows)
	if st.words == 0 {
		t.Fatal("no Holt-Winters word compared: the test tests nothing")
	}
}

// ringAsIn turns d's rings to start where rrdtool's file starts its own
// (rrdtool create picks each ring's first row at random), rows unchanged
// in time order.
func ringAsIn(t *testing.T, d *DumpData, file string) *DumpData {
	t.Helper()
	ref, err := rrdfile.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for a := range d.RRA {
		da := &d.RRA[a]
		n := int64(len(da.Rows))
		rows := make([][]float64, n)
		for k := int64(0); k < n; k++ {
			rows[(ref.RRA[a].CurRow+1+k)%n] = da.Rows[(da.CurRow+1+k)%n]
		}
		da.Rows, da.CurRow = rows, ref.RRA[a].CurRow
	}
	return d
}
