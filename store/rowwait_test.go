package store

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"testing"
)

// rowWaitSeries are the shapes the row-wait tests write: a Graphite
// series (four AVERAGE rings of 2,880 rows and fewer), the default
// template (16 rings) and a small two-DS spec whose rings (20 and 10 rows)
// end inside their first block.
func rowWaitSeries(t *testing.T) []struct {
	name string
	spec Spec
	meta map[string]string
} {
	t.Helper()
	g := GraphiteTemplate()
	g.Start = 1795356000 - 60
	d := DefaultTemplate()
	d.Start = 1795356000 - 60
	small, err := ParseSpecArgs(60, 1795356000-60, []string{"DS:g:GAUGE:120:U:U", "DS:c:COUNTER:120:0:U", "RRA:AVERAGE:0.5:1:20", "RRA:MAX:0.5:3:10"})
	if err != nil {
		t.Fatal(err)
	}
	return []struct {
		name string
		spec Spec
		meta map[string]string
	}{
		{"wait.graphite", g, map[string]string{MetaModel: ModelGraphite}},
		{"wait.default", d, nil},
		{"wait.small", small, nil},
	}
}

// applyTimeMajor applies points rounds, one point of every series per
// Apply (a time-major stream's groups), each durable before the next.
func applyTimeMajor(t *testing.T, db *DB, from, to int, fetchEvery int) {
	t.Helper()
	for p := from; p < to; p++ {
		var b Batch
		for k, s := range rowWaitSeries(t) {
			v := strconv.Itoa((p*7 + k*3) % 101)
			vals := []string{v}
			if len(s.spec.DS) == 2 {
				vals = []string{v, strconv.Itoa(p * 1000)}
			}
			b.Updates = append(b.Updates, Update{Series: s.name, Time: 1795356000 + int64(p)*60 + 7, Values: vals})
		}
		res, err := db.Apply(context.Background(), b)
		if err != nil || len(res.Errors) > 0 {
			t.Fatalf("point %d: %v %v", p, err, res.Errors)
		}
		if fetchEvery > 0 && p%fetchEvery == 0 {
			fetchRowWait(t, db) // a read in between writes the waiting rows first
		}
	}
}

// fetchRowWait reads every archive resolution of every series, as text.
func fetchRowWait(t *testing.T, db *DB) string {
	t.Helper()
	out := ""
	for _, s := range rowWaitSeries(t) {
		for _, r := range s.spec.RRA {
			res, err := db.Fetch(s.name, FetchRequest{CF: r.CF, Start: 1795356000 - 3600, End: 1795356000 + 400*60, Resolution: r.Steps * s.spec.Step})
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			out += fmt.Sprintf("%s %v %d %d %d\n", s.name, r.CF, res.Start, res.End, res.Step)
			for d, col := range res.Values {
				for i, v := range col {
					if !math.IsNaN(v) {
						out += fmt.Sprintf(" %d/%d=%v", d, i, v)
					}
				}
			}
			out += "\n"
		}
	}
	return out
}

func openRowWait(t *testing.T, dir string, noWait bool, boot string) *DB {
	t.Helper()
	db, err := Open(dir, Options{BootID: boot})
	if err != nil {
		t.Fatal(err)
	}
	db.rowsNoWait = noWait
	return db
}

func createRowWait(t *testing.T, db *DB) {
	t.Helper()
	for _, s := range rowWaitSeries(t) {
		if err := db.CreateWithMeta(s.name, s.spec, s.meta, false); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRowsWaitForTheirBlock: rows whose block is not complete stay in
// memory after their group commit (fewer row runs and checksums for a
// time-major stream), and every read, a close and a reopen see exactly
// what writing every row at its commit gives.
func TestRowsWaitForTheirBlock(t *testing.T) {
	t.Parallel()
	ref := openRowWait(t, t.TempDir(), true, "")
	createRowWait(t, ref)
	dir := t.TempDir()
	db := openRowWait(t, dir, false, "")
	createRowWait(t, db)

	applyTimeMajor(t, ref, 0, 3, 0)
	applyTimeMajor(t, db, 0, 3, 0)
	db.mu.Lock()
	waiting := len(db.series["wait.graphite"].pend)
	db.mu.Unlock()
	if waiting == 0 {
		t.Fatal("no rows of wait.graphite wait after their commit")
	}
	ref.mu.Lock()
	if n := len(ref.series["wait.graphite"].pend); n != 0 {
		t.Errorf("rowsNoWait: %d runs still waiting", n)
	}
	ref.mu.Unlock()

	// 300 points: every ring wraps (small) or crosses several blocks, with
	// reads in between
	applyTimeMajor(t, ref, 3, 300, 0)
	applyTimeMajor(t, db, 3, 300, 37)
	want := fetchRowWait(t, ref)
	if got := fetchRowWait(t, db); got != want {
		t.Fatalf("rows differ from rows written at each commit:\n got %s\nwant %s", got, want)
	}
	applyTimeMajor(t, ref, 300, 310, 0)
	applyTimeMajor(t, db, 300, 310, 0)
	want = fetchRowWait(t, ref)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, boot := range []string{"", "after a reboot"} {
		db := openRowWait(t, dir, false, boot)
		if got := fetchRowWait(t, db); got != want {
			t.Errorf("reopened (boot %q): rows differ:\n got %s\nwant %s", boot, got, want)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := ref.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestWaitingRowsSurviveCrash: rows waiting in memory when the process
// dies are rewritten from the journal: every acknowledged point is read
// back after a reopen in the same boot and after a reboot.
func TestWaitingRowsSurviveCrash(t *testing.T) {
	t.Parallel()
	ref := openRowWait(t, t.TempDir(), true, "")
	createRowWait(t, ref)
	applyTimeMajor(t, ref, 0, 150, 0)
	want := fetchRowWait(t, ref)
	ref.Close()
	for _, boot := range []string{"", "after a reboot"} {
		dir := t.TempDir()
		db := openRowWait(t, dir, false, "")
		createRowWait(t, db)
		if err := db.Checkpoint(context.Background()); err != nil {
			t.Fatal(err)
		}
		applyTimeMajor(t, db, 0, 100, 0)
		if err := db.Checkpoint(context.Background()); err != nil { // rows of a checkpoint are in the file
			t.Fatal(err)
		}
		applyTimeMajor(t, db, 100, 150, 0)
		crash(db)
		db = openRowWait(t, dir, false, boot)
		if got := fetchRowWait(t, db); got != want {
			t.Errorf("after a crash (boot %q): rows differ:\n got %s\nwant %s", boot, got, want)
		}
		if n := db.DamagedBlocks(); n != 0 {
			t.Errorf("boot %q: %d damaged blocks", boot, n)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRowsOfShortRingsDoNotStackUp: a ring shorter than a block never
// completes one; its rows are written once it wraps, so an archive never
// holds more than one turn of a ring.
func TestRowsOfShortRingsDoNotStackUp(t *testing.T) {
	t.Parallel()
	db := openRowWait(t, t.TempDir(), false, "")
	defer db.Close()
	createRowWait(t, db)
	applyTimeMajor(t, db, 0, 200, 0) // ten turns of the 20-row ring
	db.mu.Lock()
	defer db.mu.Unlock()
	a := db.series["wait.small"]
	rows := 0
	for _, r := range a.pend {
		if r.ring == 0 {
			rows += int(r.n)
		}
	}
	if rows > 20 {
		t.Errorf("%d rows of the 20-row ring wait in memory (runs %d)", rows, len(a.pend))
	}
}

// TestCoarserRingsKeepWaiting: when the finest ring completes a block,
// only its run is written; the coarser rings' runs, which complete a block
// 5 to 1,440 times less often, keep waiting (one pwrite per block of the
// finest ring instead of one per ring), and reads and a reopen still see
// the rows written at each commit.
func TestCoarserRingsKeepWaiting(t *testing.T) {
	t.Parallel()
	ref := openRowWait(t, t.TempDir(), true, "")
	createRowWait(t, ref)
	dir := t.TempDir()
	db := openRowWait(t, dir, false, "")
	createRowWait(t, db)
	const n0 = waitBlocks*rowsPerBlock + 6 // the finest ring's first blocks complete
	applyTimeMajor(t, ref, 0, n0, 0)
	applyTimeMajor(t, db, 0, n0, 0)
	db.mu.Lock()
	a := db.series["wait.graphite"]
	rings := map[int]rowRun{}
	for _, r := range a.pend {
		if _, dup := rings[r.ring]; dup {
			t.Errorf("ring %d has two waiting runs", r.ring)
		}
		rings[r.ring] = r
	}
	if r, ok := rings[0]; !ok || r.first != waitBlocks*rowsPerBlock {
		t.Errorf("finest ring: waiting run from row %d, %d rows (ok %v), want one from row %d (blocks 0-%d written)", r.first, r.n, ok, waitBlocks*rowsPerBlock, waitBlocks-1)
	}
	if r, ok := rings[1]; !ok || r.first != 0 || r.n < n0/5 {
		t.Errorf("5-step ring: waiting run from row %d, %d rows (ok %v), want rows 0-%d or more still waiting", r.first, r.n, ok, n0/5-1)
	}
	if a.mm != nil {
		t.Error("an archive never read was mapped to write its rows")
	}
	for k, i := range a.lastRun {
		if i >= 0 && a.pend[i].ring != k {
			t.Errorf("lastRun[%d] = %d names a run of ring %d", k, i, a.pend[i].ring)
		}
	}
	db.mu.Unlock()
	// more points: the kept runs continue, blocks of every ring complete
	applyTimeMajor(t, ref, n0, 400, 0)
	applyTimeMajor(t, db, n0, 400, 0)
	want := fetchRowWait(t, ref)
	if got := fetchRowWait(t, db); got != want {
		t.Fatalf("rows differ from rows written at each commit:\n got %s\nwant %s", got, want)
	}
	applyTimeMajor(t, ref, 400, 470, 0)
	applyTimeMajor(t, db, 400, 470, 0)
	want = fetchRowWait(t, ref)
	crash(db)
	db = openRowWait(t, dir, false, "")
	if got := fetchRowWait(t, db); got != want {
		t.Errorf("after a crash: rows differ:\n got %s\nwant %s", got, want)
	}
	if n := db.DamagedBlocks(); n != 0 {
		t.Errorf("%d damaged blocks", n)
	}
	for _, d := range []*DB{db, ref} {
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWaitingArchiveLookedAtOnlyWhenTouched: an archive whose rows wait is
// not looked at again by later commits that do not touch it, and the
// commit that brings it rows completing a block writes them.
func TestWaitingArchiveLookedAtOnlyWhenTouched(t *testing.T) {
	t.Parallel()
	db := openRowWait(t, t.TempDir(), false, "")
	defer db.Close()
	ref := openRowWait(t, t.TempDir(), true, "") // writes every row at its commit
	defer ref.Close()
	spec, err := ParseSpecArgs(60, 1795356000-60, []string{"DS:g:GAUGE:120:U:U", "RRA:AVERAGE:0.5:1:200"})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"busy", "idle"} {
		for _, d := range []*DB{db, ref} {
			if err := d.Create(n, spec, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	apply := func(series string, from, to int) {
		t.Helper()
		var b Batch
		for p := from; p < to; p++ {
			b.Updates = append(b.Updates, Update{Series: series, Time: 1795356000 + int64(p)*60, Values: []string{strconv.Itoa(p % 13)}})
		}
		for _, d := range []*DB{db, ref} {
			if res, err := d.Apply(context.Background(), b); err != nil || len(res.Errors) > 0 {
				t.Fatalf("%s %d-%d: %v %v", series, from, to, err, res.Errors)
			}
		}
	}
	waiting := func(series string) (first int64, n int, ok bool) {
		db.mu.Lock()
		defer db.mu.Unlock()
		a := db.series[series]
		if a == nil || len(a.pend) == 0 {
			return 0, 0, false
		}
		return a.pend[0].first, int(a.pend[0].n), a.waitOK
	}
	apply("idle", 0, 10)
	for k := range 4 {
		apply("busy", k*5, k*5+5)
	}
	if first, n, ok := waiting("idle"); first != 0 || n < 9 || !ok {
		t.Fatalf("idle: waiting run from row %d, %d rows, kept without a look %v; want rows from 0, kept", first, n, ok)
	}
	// rows 10-133 complete the first waitBlocks blocks: this commit
	// writes them
	const full = waitBlocks*rowsPerBlock + 6
	apply("idle", 10, full)
	apply("busy", 20, 25)
	if first, n, _ := waiting("idle"); n > 0 && first < waitBlocks*rowsPerBlock {
		t.Fatalf("idle: rows from row %d (%d) still wait after their block completed", first, n)
	}
	for _, n := range []string{"busy", "idle"} {
		want, err := ref.Fetch(n, FetchRequest{CF: Average, Start: 1795356000 - 60, End: 1795356000 + (full+10)*60})
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.Fetch(n, FetchRequest{CF: Average, Start: 1795356000 - 60, End: 1795356000 + (full+10)*60})
		if err != nil {
			t.Fatal(err)
		}
		if g, w := fmt.Sprint(got.Values), fmt.Sprint(want.Values); g != w {
			t.Fatalf("%s: rows differ from rows written at each commit:\n got %s\nwant %s", n, g, w)
		}
	}
}
