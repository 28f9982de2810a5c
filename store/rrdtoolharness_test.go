package store

// The harness of the differential tests: a series is made both by the real
// rrdtool 1.7.2 (a file) and by rrdash (an in-memory RRD or a series of a
// DB), the same update calls go to both, and the file is compared with
// rrdash's state value by value (exact doubles, read from rrdtool's binary
// file) and rrdtool fetch's output with rrdash's fetch.

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"rrdash/store/internal/rrdbin"
	"rrdash/store/rrdtooltest"
)

// rrdtoolHarness runs rrdtool on files of one test's temporary directory.
type rrdtoolHarness struct {
	bin string // rrdtool
	dir string // the files, and rrdtool's working directory (resize writes resize.rrd there)
}

// newRRDtoolHarness finds rrdtool (a missing one skips the test, or fails
// it under CI=true); call it before t.Parallel.
func newRRDtoolHarness(t *testing.T) *rrdtoolHarness {
	t.Helper()
	return &rrdtoolHarness{bin: rrdtooltest.Bin(t), dir: t.TempDir()}
}

// path names a file of the harness's directory.
func (h *rrdtoolHarness) path(format string, a ...any) string {
	return filepath.Join(h.dir, fmt.Sprintf(format, a...))
}

// cmd is an rrdtool command run in the harness's directory.
func (h *rrdtoolHarness) cmd(args ...string) *exec.Cmd {
	c := exec.Command(h.bin, args...)
	c.Dir = h.dir
	return c
}

// must runs rrdtool and fails the test when it fails; it returns the output.
func (h *rrdtoolHarness) must(t testing.TB, args ...string) string {
	t.Helper()
	out, err := h.cmd(args...).CombinedOutput()
	if err != nil {
		t.Fatalf("rrdtool %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// create runs rrdtool create; defs are its DS and RRA arguments.
func (h *rrdtoolHarness) create(t testing.TB, file string, start, step int64, defs []string) {
	t.Helper()
	h.must(t, append([]string{"create", file, "--start", strconv.FormatInt(start, 10), "--step", strconv.FormatInt(step, 10)}, defs...)...)
}

// createCase creates c's series in rrdtool.
func (h *rrdtoolHarness) createCase(t testing.TB, file string, c diffCase) {
	t.Helper()
	h.create(t, file, c.spec.Start, c.spec.Step, c.spec.args())
}

// args are the DS and RRA arguments of rrdtool create for s.
func (s Spec) args() []string {
	var a []string
	for _, d := range s.DS {
		a = append(a, d.String())
	}
	for _, r := range s.RRA {
		a = append(a, r.String())
	}
	return a
}

// feed runs every chunk through one rrdtool update call on file. A refused
// reading ends its call there, in rrdtool as in rrdash; here that is no
// error: the file is what the caller compares.
func (h *rrdtoolHarness) feed(file string, chunks [][]string) {
	for _, ch := range chunks {
		_ = h.cmd(append([]string{"update", file}, ch...)...).Run()
	}
}

// updateBoth sends every chunk to one rrdtool update call on file and to
// ours; for every chunk both must succeed or both refuse. It returns the
// readings ours accepted.
func (h *rrdtoolHarness) updateBoth(t testing.TB, ctx, file string, chunks [][]string, ours func(chunk []string) (int, error)) int {
	t.Helper()
	n := 0
	for _, ch := range chunks {
		out, rerr := h.cmd(append([]string{"update", file}, ch...)...).CombinedOutput()
		k, oerr := ours(ch)
		n += k
		if (rerr == nil) != (oerr == nil) {
			t.Fatalf("%s: rrdtool update: %v %s; ours: %v", ctx, rerr, bytes.TrimSpace(out), oerr)
		}
	}
	return n
}

// rrdUpdater applies a chunk to an in-memory series as rrdtool update does
// one call: reading by reading up to the first refused one, then the end of
// the call (Holt-Winters smoothing). tmpl maps the readings' values to data
// sources (nil: all, in order).
func rrdUpdater(ours *RRD, tmpl []int) func(chunk []string) (int, error) {
	nds := len(ours.spec.DS)
	return func(chunk []string) (int, error) {
		defer ours.EndUpdateCall()
		for k, a := range chunk {
			u, err := ParseUpdateArg(a, tmpl, nds)
			if err == nil {
				err = ours.Update(u.Time, u.Usec, u.Values)
			}
			if err != nil {
				return k, err
			}
		}
		return len(chunk), nil
	}
}

// compareFetches runs every request through rrdtool fetch on file and
// through ours: both must refuse it or both print the same rows. fix, when
// not nil, rewrites rrdtool's rows first. It returns the fetches whose rows
// were compared.
func (h *rrdtoolHarness) compareFetches(t testing.TB, ctx, file string, qs []FetchRequest, ours func(FetchRequest) (*FetchResult, error), fix func(string) string) int {
	t.Helper()
	n := 0
	for _, q := range qs {
		want, werr := h.fetchText(file, q)
		res, gerr := ours(q)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%s fetch %+v: rrdtool: %v; ours: %v", ctx, q, werr, gerr)
		}
		if gerr != nil {
			continue
		}
		if fix != nil {
			want = fix(want)
		}
		if got := fetchText(res); got != want {
			t.Fatalf("%s fetch %+v (ours from rra %d, step %d):\n%s", ctx, q, res.RRA, res.Step, firstDiff(want, got))
		}
		n++
	}
	return n
}

// fetchText is rrdtool fetch's rows, without the header.
func (h *rrdtoolHarness) fetchText(file string, q FetchRequest) (string, error) {
	args := []string{"fetch", file, q.CF.String(), "--start", strconv.FormatInt(q.Start, 10), "--end", strconv.FormatInt(q.End, 10),
		"--resolution", strconv.FormatInt(q.Resolution, 10)}
	if q.AlignStart {
		args = append(args, "--align-start")
	}
	out, err := h.cmd(args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s", bytes.TrimSpace(out))
	}
	// drop the header (DS names and a blank line)
	lines := strings.SplitN(string(out), "\n", 3)
	if len(lines) < 3 {
		return "", nil
	}
	return lines[2], nil
}

// openDB opens a data directory in the harness's directory, closed when
// the test ends.
func (h *rrdtoolHarness) openDB(t testing.TB) *DB {
	t.Helper()
	db, err := Open(h.path("db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// importFile imports rrdtool's file as series name of db.
func importFile(t testing.TB, db *DB, file, name string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.ImportRRD(b, name, true); err != nil {
		t.Fatalf("import %s as %s: %v", file, name, err)
	}
}

// dumpRRD is DB.Dump of an in-memory series, so that one comparison serves
// both.
func dumpRRD(r *RRD) *DumpData { return dumpState(&r.spec, r.st, r.rows.ring) }

// dbDump is DB.Dump, failing the test on an error.
func dbDump(t testing.TB, db *DB, name string) *DumpData {
	t.Helper()
	d, err := db.Dump(name)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func sameFloat(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || math.IsNaN(a) && math.IsNaN(b) || a == b
}

// diffStats counts the values compared: exact ones bit-identical, near
// ones within a comparison's tolerance and not bit-identical.
type diffStats struct{ exact, near int }

// check reports whether a and b are the same double, or within a relative
// tol of each other (tol 0: only the same).
func (s *diffStats) check(a, b, tol float64) bool {
	switch {
	case sameFloat(a, b):
		s.exact++
		return true
	case tol > 0 && math.Abs(a-b) <= tol*math.Max(math.Abs(a), math.Abs(b)):
		s.near++
		return true
	}
	return false
}

// diffCheck is what compareDump demands beyond the same definition, state
// and rows.
type diffCheck struct {
	// ring: the same ring positions (cur_row). rrdtool starts a new
	// file's rings at random rows, so only series made from its files
	// can have them.
	ring bool
	// tol: values may differ by this relative amount (results of libm
	// functions, which glibc and Go may round apart in the last bits).
	tol float64
}

// compareDump compares rrdash's series d with rrdtool's file: step, last
// update, every data source's PDP state, every field of cdp_prep as
// rrdtool dump prints them all, and every row by its time. It returns the
// row values that are not unknown.
func compareDump(t testing.TB, ctx, file string, d *DumpData, stats *diffStats, chk diffCheck) (filled int) {
	t.Helper()
	ref, err := rrdbin.Read(file)
	if err != nil {
		t.Fatal(err)
	}
	spec := d.Spec
	ctx = fmt.Sprintf("%s (%s %v %v)", ctx, file, spec.DS, spec.RRA)
	if ref.Step != spec.Step || ref.LastUp != d.LastUpdate || ref.LastUpUsec != d.LastUpdateUsec || len(ref.DS) != len(d.DS) || len(ref.RRA) != len(d.RRA) {
		t.Fatalf("%s: step %d, last update %d.%06d, %d DS, %d RRA; rrdtool %d, %d.%06d, %d, %d", ctx, spec.Step, d.LastUpdate, d.LastUpdateUsec, len(d.DS), len(d.RRA),
			ref.Step, ref.LastUp, ref.LastUpUsec, len(ref.DS), len(ref.RRA))
	}
	for k, ds := range ref.DS {
		s := d.DS[k]
		if s.LastDS != ds.LastDS || !stats.check(s.Value, ds.Value, chk.tol) || s.UnknownSec != ds.UnknownSec {
			t.Fatalf("%s: ds %d state {%q %v %d}, rrdtool {%q %v %d}", ctx, k, s.LastDS, s.Value, s.UnknownSec, ds.LastDS, ds.Value, ds.UnknownSec)
		}
	}
	for a, ra := range ref.RRA {
		da, r := d.RRA[a], spec.RRA[a]
		if chk.ring && da.CurRow != ra.CurRow {
			t.Fatalf("%s: rra %d cur_row %d, rrdtool %d", ctx, a, da.CurRow, ra.CurRow)
		}
		for k, rc := range ra.CDP {
			c := da.CDP[k]
			if !stats.check(c.Value, rc.Value, chk.tol) || c.UnknownPDP != rc.UnknownPDP || !stats.check(c.Primary, rc.Primary, chk.tol) ||
				!stats.check(c.Secondary, rc.Secondary, chk.tol) {
				t.Fatalf("%s: rra %d (%v) ds %d cdp {val %v unkn %d primary %v secondary %v}, rrdtool {%v %d %v %v}", ctx, a, r, k,
					c.Value, c.UnknownPDP, c.Primary, c.Secondary, rc.Value, rc.UnknownPDP, rc.Primary, rc.Secondary)
			}
		}
		rows := int64(len(da.Rows))
		if rows != int64(len(ra.Rows)) {
			t.Fatalf("%s: rra %d (%v) %d rows, rrdtool %d", ctx, a, r, rows, len(ra.Rows))
		}
		span := r.Steps * spec.Step
		end := d.LastUpdate - d.LastUpdate%span
		for k := int64(0); k < rows; k++ {
			row := da.Rows[(da.CurRow+1+k)%rows] // oldest first
			if at := end - (rows-1-k)*span; at != ra.Times[k] {
				t.Fatalf("%s: rra %d row %d time %d, rrdtool %d", ctx, a, k, at, ra.Times[k])
			}
			for v := range row {
				if !math.IsNaN(row[v]) {
					filled++
				}
				if !stats.check(row[v], ra.Rows[k][v], chk.tol) {
					t.Fatalf("%s: rra %d (%v) row %d (t=%d) ds %d: %v (%x), rrdtool %v (%x)", ctx, a, r, k, ra.Times[k], v,
						row[v], math.Float64bits(row[v]), ra.Rows[k][v], math.Float64bits(ra.Rows[k][v]))
				}
			}
		}
	}
	return filled
}

// diffOpts is how runDiffCase treats a case.
type diffOpts struct {
	tol float64 // see diffCheck.tol; then the fetches, whose text may round apart, are not compared
	fix func(string) string
}

// runDiffCase creates c's series in rrdtool (file) and in memory, sends
// every chunk to both, and compares the file and the case's fetches. It
// returns the readings accepted and the fetches compared.
func (h *rrdtoolHarness) runDiffCase(t testing.TB, ctx string, c diffCase, file string, stats *diffStats, o diffOpts) (updates, fetches int) {
	t.Helper()
	h.createCase(t, file, c)
	ours, err := NewRRD(c.spec)
	if err != nil {
		t.Fatalf("%s: %v", ctx, err)
	}
	updates = h.updateBoth(t, ctx, file, c.chunks, rrdUpdater(ours, c.spec.InputIndexes()))
	compareDump(t, ctx, file, dumpRRD(ours), stats, diffCheck{tol: o.tol})
	if o.tol > 0 {
		return updates, 0
	}
	return updates, h.compareFetches(t, ctx, file, c.fetches, ours.Fetch, o.fix)
}

// shortOr is full, or short under go test -short.
func shortOr(full, short int) int {
	if testing.Short() {
		return short
	}
	return full
}
