package store

import (
	"bytes"
	"context"
	"fmt"
	"testing"
)

// fileRegions reads an archive's rows and its checksum table from its
// file (through its own descriptor: a pack file's archive too).
func fileRegions(t *testing.T, db *DB, name string) (rows, sums []byte) {
	t.Helper()
	db.mu.Lock()
	defer db.mu.Unlock()
	a, err := db.archive(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.ensureOpen(); err != nil {
		t.Fatal(err)
	}
	read := func(off, n int64) []byte {
		b := make([]byte, n)
		if got, err := a.f.readAt(b, off); got < len(b) {
			t.Fatalf("%s: read %d bytes at %d: %v", name, n, off, err)
		}
		return b
	}
	return read(a.lay.rowsOff, a.lay.size-a.lay.rowsOff), read(a.lay.sumOff, a.lay.sumLen)
}

// TestChecksumEntriesWait: a group commit that completes blocks of an
// unmapped archive writes their rows but leaves the changed checksum
// entries for the next read, checkpoint, close or eviction (one pwrite
// less per completed block); the rows of the block a run ends in keep
// waiting (no read of the block's old rows). After a kill -9 (crash
// drops the waiting entries) the replay reseals the blocks; a checkpoint
// and a close write the entries; and the files' rows and checksum tables
// end up byte-identical to writing every row and entry at its commit.
func TestChecksumEntriesWait(t *testing.T) {
	t.Parallel()
	ref := openRowWait(t, t.TempDir(), true, "") // every row and entry at its commit
	createRowWait(t, ref)
	dir := t.TempDir()
	db := openRowWait(t, dir, false, "")
	createRowWait(t, db)
	if err := db.Checkpoint(context.Background()); err != nil { // the creations survive a reboot
		t.Fatal(err)
	}
	applyTimeMajor(t, ref, 0, 130, 0)
	applyTimeMajor(t, db, 0, 130, 0)

	db.mu.Lock()
	a := db.series["wait.default"]
	if a.mm != nil {
		t.Fatal("wait.default was mapped")
	}
	if a.sumHi <= a.sumLo {
		t.Fatal("no checksum entries wait after blocks of wait.default completed")
	}
	onDisk := make([]byte, a.sumHi-a.sumLo)
	if _, err := a.f.readAt(onDisk, a.lay.sumOff+a.sumLo); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(onDisk, a.sums[a.sumLo:a.sumHi]) {
		t.Error("the waiting checksum entries are in the file already")
	}
	// the finest rings completed blocks 0 and 1 (rows 0-127): each keeps
	// only rows 128-129 of block 2, from the block's start
	for _, r := range a.pend {
		if r.ring < 4 && (r.first != 2*rowsPerBlock || r.n != 2) {
			t.Errorf("ring %d waits with rows %d-%d, want %d-%d", r.ring, r.first, r.first+r.n-1, 2*rowsPerBlock, 2*rowsPerBlock+1)
		}
	}
	db.mu.Unlock()

	want := fetchRowWait(t, ref)
	crash(db) // the waiting entries are lost, as with kill -9
	for _, boot := range []string{"", "after a reboot"} {
		db = openRowWait(t, dir, false, boot)
		if got := fetchRowWait(t, db); got != want {
			t.Fatalf("after a crash (boot %q): rows differ:\n got %s\nwant %s", boot, got, want)
		}
		if n := db.DamagedBlocks(); n != 0 {
			t.Errorf("after a crash (boot %q): %d damaged blocks", boot, n)
		}
		rep, err := db.VerifyArchives(context.Background())
		if err != nil || len(rep.Damage) != 0 {
			t.Errorf("after a crash (boot %q): verify: %v %v", boot, err, rep.Damage)
		}
		crash(db)
	}
	db = openRowWait(t, dir, false, "") // not read: unmapped

	// on from the reopened store: blocks complete again; a checkpoint
	// writes the waiting entries, so a crash after it (nothing to
	// replay) finds every block sealed
	applyTimeMajor(t, ref, 130, 300, 0)
	applyTimeMajor(t, db, 130, 300, 0)
	db.mu.Lock()
	waiting := db.series["wait.default"].sumHi > db.series["wait.default"].sumLo
	db.mu.Unlock()
	if !waiting {
		t.Error("no checksum entries wait after 300 points")
	}
	if err := db.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	crash(db)
	db = openRowWait(t, dir, false, "")
	want = fetchRowWait(t, ref)
	if got := fetchRowWait(t, db); got != want {
		t.Fatalf("after a checkpoint and a crash: rows differ:\n got %s\nwant %s", got, want)
	}
	if n := db.DamagedBlocks(); n != 0 {
		t.Errorf("after a checkpoint and a crash: %d damaged blocks", n)
	}

	// byte-identical files once both are checkpointed
	applyTimeMajor(t, ref, 300, 333, 0)
	applyTimeMajor(t, db, 300, 333, 0)
	for _, d := range []*DB{db, ref} {
		if err := d.Checkpoint(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range rowWaitSeries(t) {
		gr, gs := fileRegions(t, db, s.name)
		wr, ws := fileRegions(t, ref, s.name)
		if !bytes.Equal(gr, wr) {
			t.Errorf("%s: rows in the file differ from writing each at its commit", s.name)
		}
		if !bytes.Equal(gs, ws) {
			t.Errorf("%s: checksum table differs from writing each entry at its commit", s.name)
		}
	}
	for _, d := range []*DB{db, ref} {
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWaitingChecksumEntriesBeforeMapOrRelease: a read maps the archive
// (its table becomes a view of the file) and an fd-cache eviction closes
// the file: both write the waiting entries first, so the mapped table
// and the file agree and a later crash finds no damaged block.
func TestWaitingChecksumEntriesBeforeMapOrRelease(t *testing.T) {
	t.Parallel()
	for _, maxOpen := range []int{0, 2} {
		t.Run(fmt.Sprint("maxopen", maxOpen), func(t *testing.T) {
			ref := openRowWait(t, t.TempDir(), true, "")
			createRowWait(t, ref)
			dir := t.TempDir()
			db, err := Open(dir, Options{MaxOpenFiles: maxOpen})
			if err != nil {
				t.Fatal(err)
			}
			createRowWait(t, db)
			applyTimeMajor(t, ref, 0, 200, 0)
			applyTimeMajor(t, db, 0, 200, 0)
			db.mu.Lock()
			for _, s := range rowWaitSeries(t) {
				a := db.series[s.name]
				if a == nil || a.f.fd >= 0 || a.sumHi <= a.sumLo {
					continue
				}
				t.Errorf("%s: closed file with checksum entries waiting", s.name)
			}
			db.mu.Unlock()
			// a read of every series: mapped with their entries written
			want := fetchRowWait(t, ref)
			if got := fetchRowWait(t, db); got != want {
				t.Fatalf("rows differ:\n got %s\nwant %s", got, want)
			}
			db.mu.Lock()
			for _, s := range rowWaitSeries(t) {
				if a := db.series[s.name]; a != nil && a.mm != nil {
					if ok := a.checkRows(); !ok {
						t.Errorf("%s: mapped table does not match the rows", s.name)
					}
				}
			}
			db.mu.Unlock()
			applyTimeMajor(t, ref, 200, 260, 0)
			applyTimeMajor(t, db, 200, 260, 0)
			want = fetchRowWait(t, ref)
			crash(db)
			db = openRowWait(t, dir, false, "")
			if got := fetchRowWait(t, db); got != want {
				t.Fatalf("after a crash: rows differ:\n got %s\nwant %s", got, want)
			}
			if n := db.DamagedBlocks(); n != 0 {
				t.Errorf("after a crash: %d damaged blocks", n)
			}
			for _, d := range []*DB{db, ref} {
				if err := d.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// checkRows tells whether every block of a mapped archive matches its
// checksum entry.
func (a *archive) checkRows() bool {
	for ring, r := range a.spec.RRA {
		for b := range ringBlocks(r.Rows) {
			if !a.blockOK(ring, b) {
				return false
			}
		}
	}
	return true
}

// TestWaitingEntriesWrittenBeforeMapping: a read maps the archive (its
// checksum table becomes a view of the file), so entries still waiting
// must reach the file first. A group commit always leaves a row waiting
// beside waiting entries (a commit with none to keep writes them all), so
// the state is made by hand: the block's entry in the file is stale (0,
// "never written"), the right one waits in memory.
func TestWaitingEntriesWrittenBeforeMapping(t *testing.T) {
	t.Parallel()
	db := openRowWait(t, t.TempDir(), false, "")
	defer db.Close()
	spec, err := ParseSpecArgs(60, 1795356000-60, []string{"DS:g:GAUGE:120:U:U", "RRA:AVERAGE:0.5:1:200"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Create("exact", spec, false); err != nil {
		t.Fatal(err)
	}
	const n = waitBlocks * rowsPerBlock // a run that waits no longer
	for p := range n {
		b := Batch{Updates: []Update{{Series: "exact", Time: 1795356000 + int64(p)*60, Nums: []float64{float64(p)}}}}
		if res, err := db.Apply(context.Background(), b); err != nil || len(res.Errors) > 0 {
			t.Fatal(err, res.Errors)
		}
	}
	db.mu.Lock()
	a := db.series["exact"]
	if len(a.pend) != 0 || a.mm != nil {
		db.mu.Unlock()
		t.Fatalf("after %d whole blocks: %d runs waiting, mapped %v", waitBlocks, len(a.pend), a.mm != nil)
	}
	if err := a.f.writeAt(make([]byte, 4), a.lay.sumOff); err != nil {
		t.Fatal(err)
	}
	a.sumLo, a.sumHi = 0, max(a.sumHi, 4) // block 0's entry waits, beside any other
	db.mu.Unlock()
	res, err := db.Fetch("exact", FetchRequest{CF: Average, Start: 1795356000 - 120, End: 1795356000 + n*60, Resolution: 60})
	if err != nil {
		t.Fatal(err)
	}
	known := 0
	for _, v := range res.Values[0] {
		if v == v {
			known++
		}
	}
	if known != n || db.DamagedBlocks() != 0 {
		t.Errorf("read %d known rows (want %d), %d damaged blocks", known, n, db.DamagedBlocks())
	}
}

// TestRunKeepsTheBlockItEndsIn: with several points per series per commit
// (remote_write's shape) a run crosses block ends; the commit writes its
// complete blocks and keeps the rows of the block it ends in, so every
// waiting run starts at a block's first row and no block is written in
// part (nor its old rows read back, once the ring has wrapped). Rows and
// a crash's replay match writing each row at its commit.
func TestRunKeepsTheBlockItEndsIn(t *testing.T) {
	t.Parallel()
	spec, err := ParseSpecArgs(60, 1795356000-60, []string{"DS:g:GAUGE:120:U:U", "RRA:AVERAGE:0.5:1:150", "RRA:MAX:0.5:1:150", "RRA:AVERAGE:0.5:5:100"})
	if err != nil {
		t.Fatal(err)
	}
	ref := openRowWait(t, t.TempDir(), true, "")
	dir := t.TempDir()
	db := openRowWait(t, dir, false, "")
	for _, d := range []*DB{ref, db} {
		if err := d.Create("runs", spec, false); err != nil {
			t.Fatal(err)
		}
		if err := d.Checkpoint(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	apply := func(d *DB, from, to int) {
		t.Helper()
		for p := from; p < to; p += 20 { // 20 points a commit
			var b Batch
			for k := p; k < p+20; k++ {
				b.Updates = append(b.Updates, Update{Series: "runs", Time: 1795356000 + int64(k)*60 + 7, Nums: []float64{float64(k*13%97) - 20}})
			}
			if res, err := d.Apply(context.Background(), b); err != nil || len(res.Errors) > 0 {
				t.Fatal(err, res.Errors)
			}
			if d != db {
				continue
			}
			d.mu.Lock()
			for _, r := range d.series["runs"].pend {
				if r.first%rowsPerBlock != 0 {
					t.Errorf("after point %d: ring %d waits with rows %d-%d, from inside a block", p+19, r.ring, r.first, r.first+r.n-1)
				}
			}
			d.mu.Unlock()
		}
	}
	fetch := func(d *DB) string {
		t.Helper()
		out := ""
		for _, r := range spec.RRA {
			res, err := d.Fetch("runs", FetchRequest{CF: r.CF, Start: 1795356000, End: 1795356000 + 600*60, Resolution: r.Steps * 60})
			if err != nil {
				t.Fatal(err)
			}
			out += fmt.Sprint(r.CF, res.Start, res.Values, "\n")
		}
		return out
	}
	apply(ref, 0, 500) // the 150-row rings wrap three times
	apply(db, 0, 500)
	want := fetch(ref)
	crash(db)
	db = openRowWait(t, dir, false, "")
	if got := fetch(db); got != want {
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
