package store

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"rrdash/store/internal/rrdbin"
	"rrdash/store/rrdtooltest"
)

// exactOps are COMPUTE operators whose results Go and glibc compute
// bit-identically (IEEE arithmetic, comparisons, fmod, sqrt, rounding);
// libmOps may differ in the last bit between Go's math and glibc.
var (
	exactUnary  = []string{"FLOOR", "CEIL", "ABS", "SQRT", "UN", "ISINF", "RAD2DEG", "DEG2RAD"}
	exactBinary = []string{"+", "-", "*", "/", "%", "ADDNAN", "LT", "LE", "GT", "GE", "EQ", "NE", "MIN", "MAX", "MINNAN", "MAXNAN"}
	libmUnary   = []string{"SIN", "COS", "LOG", "EXP", "ATAN"}
	libmBinary  = []string{"POW", "ATAN2"}
	setOps      = []string{"SORT", "REV", "AVG", "MEDIAN", "STDEV", "SMIN", "SMAX"}
)

// genCompute draws a COMPUTE expression over data sources names (the ones
// before it) of at most computeds.MaxNodes nodes that leaves one value.
func genCompute(r *rand.Rand, names []string, libm bool) string {
	var toks []string
	depth := 0
	push := func(t string, d int) { toks = append(toks, t); depth += d }
	operand := func() {
		switch k := r.IntN(20); {
		case k < 13:
			push(names[r.IntN(len(names))], 1)
		case k < 18:
			push(strconv.Itoa(r.IntN(200)-50), 1)
		default:
			push([]string{"UNKN", "INF", "NEGINF", "0"}[r.IntN(4)], 1)
		}
	}
	for len(toks) < 12 {
		switch k := r.IntN(20); {
		case depth == 0 || k < 6:
			operand()
		case k < 8:
			ops := exactUnary
			if libm && r.IntN(2) == 0 {
				ops = libmUnary
			}
			push(ops[r.IntN(len(ops))], 0)
		case k < 13 && depth >= 2:
			ops := exactBinary
			if libm && r.IntN(3) == 0 {
				ops = libmBinary
			}
			push(ops[r.IntN(len(ops))], -1)
		case k < 14 && depth >= 3:
			push([]string{"IF", "LIMIT"}[r.IntN(2)], -2)
		case k < 15:
			push([]string{"DUP", "EXC", "DEPTH"}[r.IntN(3)], 0)
			switch toks[len(toks)-1] {
			case "DUP", "DEPTH":
				depth++
			case "EXC":
				if depth < 2 {
					toks[len(toks)-1] = "DUP"
					depth++
				}
			}
		case k < 17 && depth >= 1:
			n := 1 + r.IntN(depth)
			op := setOps[r.IntN(len(setOps))]
			push(strconv.Itoa(n), 1)
			push(op, -1)
			if op != "SORT" && op != "REV" {
				depth -= n - 1
			}
		case k < 18 && depth >= 2:
			// p,n,PERCENT over n values (p between the set and its count);
			// an item stays under the set (p near 0 returns it)
			n := 1 + r.IntN(depth-1)
			push(strconv.Itoa(r.IntN(101)), 1)
			push(strconv.Itoa(n), 1)
			push("PERCENT", -2-n+1)
		case k < 19 && depth >= 2:
			push("2", 1)
			push("COPY", -1+2)
		default:
			operand()
		}
	}
	for depth > 1 {
		push(exactBinary[r.IntN(len(exactBinary))], -1)
	}
	for len(toks) > 19 { // too long: start again, shorter
		return genCompute(r, names[:1], false)
	}
	return strings.Join(toks, ",")
}

// genComputeCase is a differential case with 1 to 3 COMPUTE data sources
// after the ordinary ones; the updates give the ordinary ones only.
func genComputeCase(r *rand.Rand, libm bool) diffCase {
	c := genCaseTypes(r, 6)
	var names []string
	for _, d := range c.spec.DS {
		names = append(names, d.Name)
	}
	for k := 0; k < 1+r.IntN(3); k++ {
		name := fmt.Sprintf("c%d", k)
		c.spec.DS = append(c.spec.DS, DS{Name: name, Type: Compute, Min: math.NaN(), Max: math.NaN(), Expr: genCompute(r, names, libm)})
		names = append(names, name) // a later COMPUTE may read an earlier one
	}
	return c
}

// TestComputeDifferential runs random COMPUTE expressions (every operator
// COMPUTE takes, over random readings with unknowns, infinities and
// gaps) through rrdtool 1.7.2 and rrdash and compares the files and
// fetches bit for bit.
func TestComputeDifferential(t *testing.T) {
	bin := rrdtooltest.Bin(t)
	t.Parallel()
	cases := 50
	if testing.Short() {
		cases = 20
	}
	dir := t.TempDir()
	var stats diffStats
	nFetch, near := 0, 0
	for i := 0; i < cases; i++ {
		// every fourth case also uses SIN COS LOG EXP ATAN POW ATAN2,
		// which Go's math and glibc's libm round alike on these inputs
		c := genComputeCase(rand.New(rand.NewPCG(20261203, uint64(i)+7000)), i%4 == 3)
		if err := c.spec.Validate(); err != nil {
			t.Fatalf("case %d: %v (%v)", i, err, c.spec.DS)
		}
		file := filepath.Join(dir, fmt.Sprintf("c%d.rrd", i))
		nFetch += runComputeCase(t, bin, i, c, file, &stats, &near)
	}
	t.Logf("%d cases, %d values compared bit for bit, %d values of libm cases within 1e-12 (not bit-identical), %d fetches", cases, stats.exact, near, nFetch)
}

// runComputeCase is runDiffCase with updates that skip the COMPUTE data
// sources, as rrdtool's do.
func runComputeCase(t *testing.T, bin string, i int, c diffCase, file string, stats *diffStats, near *int) int {
	t.Helper()
	if out, err := exec.Command(bin, c.createArgs(file)...).CombinedOutput(); err != nil {
		t.Fatalf("case %d: rrdtool create %v: %v: %s", i, c.createArgs(file), err, out)
	}
	ours, err := NewRRD(c.spec)
	if err != nil {
		t.Fatalf("case %d: %v", i, err)
	}
	tmpl := c.spec.InputIndexes()
	for _, ch := range c.chunks {
		out, rerr := exec.Command(bin, append([]string{"update", file}, ch...)...).CombinedOutput()
		var oerr error
		for _, a := range ch {
			u, err := ParseUpdateArg(a, tmpl, len(c.spec.DS))
			if err == nil {
				err = ours.Update(u.Time, u.Usec, u.Values)
			}
			if err != nil {
				oerr = err
				break
			}
		}
		if (rerr == nil) != (oerr == nil) {
			t.Fatalf("case %d %v: rrdtool update: %v %s; ours: %v", i, c.spec.DS, rerr, out, oerr)
		}
	}
	libm := false
	for _, d := range c.spec.DS {
		for _, op := range append(slices.Clone(libmUnary), libmBinary...) {
			libm = libm || d.Type == Compute && slices.Contains(strings.Split(d.Expr, ","), op)
		}
	}
	if libm {
		*near += compareFilesNear(t, i, file, ours, stats)
		return 0
	}
	compareFiles(t, i, file, ours, stats)
	n := 0
	for _, q := range c.fetches {
		want, werr := rrdtoolFetchText(t, bin, file, q)
		res, gerr := ours.Fetch(q)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("case %d fetch %+v: rrdtool: %v; ours: %v", i, q, werr, gerr)
		}
		if gerr == nil {
			// the sign of a NaN (rrdtool prints "nan" for a positive one,
			// which UNKN pushes) is not compared: the files compared equal
			want = strings.ReplaceAll(strings.ReplaceAll(want, "-nan", "nan"), "nan", "-nan")
			if got := fetchText(res); got != want {
				t.Fatalf("case %d fetch %+v:\n%s", i, q, firstDiff(want, got))
			}
			n++
		}
	}
	return n
}

// compareFilesNear is compareFiles for cases whose expressions use libm
// functions: glibc's pow, sin, … and Go's may differ in the last bits, so
// rows may differ by a relative 1e-12; it returns how many did.
func compareFilesNear(t *testing.T, i int, file string, ours *RRD, stats *diffStats) int {
	t.Helper()
	ref, err := rrdbin.Read(file)
	if err != nil {
		t.Fatal(err)
	}
	near := 0
	for a, ra := range ref.RRA {
		times, vals := ours.ArchiveRows(a)
		for k := range times {
			if times[k] != ra.Times[k] {
				t.Fatalf("case %d: rra %d row %d time %d, rrdtool %d", i, a, k, times[k], ra.Times[k])
			}
			for d := range vals[k] {
				g, w := vals[k][d], ra.Rows[k][d]
				if stats.check(g, w) {
					continue
				}
				if math.Abs(g-w) > 1e-12*math.Max(math.Abs(g), math.Abs(w)) {
					t.Fatalf("case %d (%v): rra %d row %d ds %d: %v, rrdtool %v", i, ours.Spec().DS, a, k, d, g, w)
				}
				near++
			}
		}
	}
	return near
}
