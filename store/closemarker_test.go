package store

import (
	"context"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// These tests cover closing without a checkpoint: state slots written
// without fsync, trusted within their boot, and the journal replayed onto
// the durable slots after a (simulated) reboot or lost page cache.

func markerUpdates(from, to int) []Update {
	var us []Update
	for i := from; i < to; i++ {
		us = append(us, Update{Series: "s", Time: 1000000000 + 10*int64(i+1), Values: []string{fmt.Sprint(i % 13), fmt.Sprint(i * 7)}})
	}
	return us
}

func openBoot(t *testing.T, dir, boot string) *DB {
	t.Helper()
	db, err := Open(dir, Options{BootID: boot})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func applyRange(t *testing.T, db *DB, from, to int) {
	t.Helper()
	if res, err := db.Apply(context.Background(), Batch{Updates: markerUpdates(from, to)}); err != nil || len(res.Errors) > 0 {
		t.Fatalf("apply %d..%d: %v %v", from, to, err, res.Errors)
	}
}

func fetchAll(t *testing.T, db *DB) string {
	t.Helper()
	last, err := db.LastUpdate("s")
	if err != nil {
		t.Fatal(err)
	}
	var out string
	for _, cf := range []CF{Average, Max} {
		res, err := db.Fetch("s", FetchRequest{CF: cf, Start: last - 190, End: last})
		if err != nil {
			t.Fatal(err)
		}
		out += fetchText(res)
	}
	return fmt.Sprintf("last %d\n%s", last, out)
}

// reference is the result of applying updates 0..n in one process.
func reference(t *testing.T, n int) string {
	t.Helper()
	db := openBoot(t, t.TempDir(), "ref")
	defer db.Close()
	db.Create("s", testSpec(t), false)
	applyRange(t, db, 0, n)
	return fetchAll(t, db)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// newestSlotOffset is where the newest valid slot of series s starts.
func newestSlotOffset(t *testing.T, dir string) int64 {
	t.Helper()
	a, err := openArchiveOf(t, dir, "s", trust{ckpt: 1 << 62})
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	best := 0
	for i, s := range a.slots {
		if s.valid && s.gen > a.slots[best].gen {
			best = i
		}
	}
	return a.lay.slotOff + int64(best)*a.lay.slotSize
}

func TestCloseWithoutCheckpoint(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		n    int // updates in all
		run  func(t *testing.T, dir string)
		// lostWrites: the files were set back as a power loss may leave
		// them, which only a reboot can do: the same boot is not checked
		lostWrites bool
	}{
		{"same boot starts from the close marker", 60, func(t *testing.T, dir string) {
			db := openBoot(t, dir, "A")
			applyRange(t, db, 0, 30)
			db.Close()
			db = openBoot(t, dir, "A")
			if len(db.series) != 0 {
				t.Errorf("open replayed the journal into %d archives; the marker says nothing is missing", len(db.series))
			}
			applyRange(t, db, 30, 60)
			db.Close()
		}, false},
		{"reboot replays onto the durable slot", 60, func(t *testing.T, dir string) {
			db := openBoot(t, dir, "A")
			applyRange(t, db, 0, 30)
			db.Close()
			db = openBoot(t, dir, "B")
			applyRange(t, db, 30, 60)
			db.Close()
		}, false},
		{"lost page cache after a reboot", 40, func(t *testing.T, dir string) {
			// what a power loss may leave: the archive as the last
			// checkpoint synced it, the fsynced journal
			db := openBoot(t, dir, "A")
			applyRange(t, db, 0, 20)
			if err := db.Checkpoint(context.Background()); err != nil {
				t.Fatal(err)
			}
			synced := readArchiveBytes(t, dir, "s")
			applyRange(t, db, 20, 40)
			db.Close()
			writeArchiveBytes(t, dir, "s", synced)
		}, true},
		{"slots written back, rows not", 40, func(t *testing.T, dir string) {
			db := openBoot(t, dir, "A")
			applyRange(t, db, 0, 20)
			if err := db.Checkpoint(context.Background()); err != nil {
				t.Fatal(err)
			}
			synced := readArchiveBytes(t, dir, "s")
			applyRange(t, db, 20, 40)
			rowsOff := db.series["s"].lay.rowsOff
			db.Close()
			now := readArchiveBytes(t, dir, "s")
			copy(now[rowsOff:], synced[rowsOff:]) // the newest slot survived, the rows did not
			writeArchiveBytes(t, dir, "s", now)
		}, true},
		{"damaged newest slot is replayed from the journal", 40, func(t *testing.T, dir string) {
			for _, r := range [][2]int{{0, 15}, {15, 30}, {30, 40}} {
				db := openBoot(t, dir, "A")
				applyRange(t, db, r[0], r[1])
				db.Close()
			}
			flipArchive(t, dir, "s", newestSlotOffset(t, dir)+30)
		}, false},
		{"a stale slot of an earlier boot never wins", 50, func(t *testing.T, dir string) {
			db := openBoot(t, dir, "A")
			applyRange(t, db, 0, 30)
			db.Close() // a slot of boot A, never synced
			db = openBoot(t, dir, "B")
			applyRange(t, db, 30, 50)
			db.Close()
			db = openBoot(t, dir, "B")
			if err := db.Checkpoint(context.Background()); err != nil {
				t.Fatal(err) // now boot A's slot has a durable-looking sequence
			}
			db.Close()
		}, false},
		{"killed before the close", 45, func(t *testing.T, dir string) {
			db := openBoot(t, dir, "A")
			applyRange(t, db, 0, 30)
			db.Close()
			db = openBoot(t, dir, "A")
			applyRange(t, db, 30, 45)
			crash(db)
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db := openBoot(t, dir, "A")
			if err := db.Create("s", testSpec(t), false); err != nil {
				t.Fatal(err)
			}
			db.Close()
			c.run(t, dir)
			want := reference(t, c.n)
			for _, boot := range []string{"A", "C"} {
				if boot == "A" && c.lostWrites {
					continue
				}
				db := openBoot(t, dir, boot)
				if got := fetchAll(t, db); got != want {
					t.Errorf("boot %s:\n%s\nwant\n%s", boot, got, want)
				}
				// rows the replay rewrote are resealed, never reported
				if rep, err := db.VerifyArchives(context.Background()); err != nil || len(rep.Damage) > 0 || rep.Checked != 1 || db.DamagedBlocks() != 0 {
					t.Errorf("boot %s: row damage after recovery: %+v %v", boot, rep, err)
				}
				crash(db)
			}
		})
	}
}

// TestUpgradeFromTwoSlotFiles opens a data directory of an older rrdash:
// a two-slot archive and a journal without a head.
func TestUpgradeFromTwoSlotFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := testSpec(t)
	os.MkdirAll(filepath.Join(dir, "series"), 0o755)
	if err := createArchiveVersion(filepath.Join(dir, "series", "s.rrd"), "s", &spec, nil, initialState(&spec), nil, 1); err != nil {
		t.Fatal(err)
	}
	var old []byte
	for _, u := range markerUpdates(0, 25) {
		rec := journalRecord{updates: []journalUpdate{{Update: u}}}
		payload := encodeRecord(&rec)
		hdr := make([]byte, 8)
		hdr[0], hdr[1], hdr[2] = byte(len(payload)), byte(len(payload)>>8), byte(len(payload)>>16)
		sum := crc32Castagnoli(payload)
		hdr[4], hdr[5], hdr[6], hdr[7] = byte(sum), byte(sum>>8), byte(sum>>16), byte(sum>>24)
		old = append(append(old, hdr...), payload...)
	}
	os.WriteFile(filepath.Join(dir, "journal.wal"), old, 0o644)
	db := openBoot(t, dir, "A")
	applyRange(t, db, 25, 35)
	if err := db.Close(); err != nil { // a changed two-slot archive: a full checkpoint
		t.Fatal(err)
	}
	want := reference(t, 35)
	db = openBoot(t, dir, "B")
	defer db.Close()
	if got := fetchAll(t, db); got != want {
		t.Errorf("after the upgrade:\n%s\nwant\n%s", got, want)
	}
	if db.jr.replace || db.jr.ckpt == 0 {
		t.Errorf("journal still headless (legacy %v, checkpoint %d)", db.jr.replace, db.jr.ckpt)
	}
}

func crc32Castagnoli(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// TestDBMatchesInMemory runs generated update streams (the differential
// test's) through archive files — mapped, and unmapped with rows written
// in runs — closing and reopening now and then, in this boot and after a
// simulated reboot, and demands rings and state identical to the in-memory
// engine's.
func TestDBMatchesInMemory(t *testing.T) {
	t.Parallel()
	cases := 60
	if testing.Short() {
		cases = 15
	}
	for i := 0; i < cases; i++ {
		r := rand.New(rand.NewPCG(7, uint64(i)))
		c := genCase(r)
		oneShot := i%2 == 0
		dir := t.TempDir()
		boot := "A"
		db, err := Open(dir, Options{OneShot: oneShot, BootID: boot})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Create("s", c.spec, false); err != nil {
			t.Fatal(err)
		}
		ours, _ := NewRRD(c.spec)
		for k, ch := range c.chunks {
			b := Batch{StopOnError: true}
			for _, a := range ch {
				u, err := ParseUpdateArg(a, nil, len(c.spec.DS))
				if err != nil {
					break
				}
				u.Series = "s"
				b.Updates = append(b.Updates, u)
			}
			for _, u := range b.Updates {
				if ours.Update(u.Time, u.Usec, u.Values) != nil {
					break
				}
			}
			if _, err := db.Apply(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			switch r.IntN(8) {
			case 0:
				db.Close()
			case 1:
				crash(db)
			case 2:
				db.Close()
				boot += "'" // a reboot
			default:
				continue
			}
			if db, err = Open(dir, Options{OneShot: oneShot, BootID: boot}); err != nil {
				t.Fatalf("case %d chunk %d: reopen: %v", i, k, err)
			}
		}
		a, err := db.archive("s")
		if err != nil {
			t.Fatal(err)
		}
		if err := a.mapRows(); err != nil {
			t.Fatal(err)
		}
		ctx := fmt.Sprintf("case %d (one-shot %v)", i, oneShot)
		if rep, err := db.VerifyArchives(context.Background()); err != nil || len(rep.Damage) > 0 || db.DamagedBlocks() != 0 {
			t.Fatalf("%s: row damage reported: %+v %v", ctx, rep, err)
		}
		if a.st.lastUp != ours.st.lastUp || a.st.lastUpUsec != ours.st.lastUpUsec {
			t.Fatalf("%s: last update %d.%d, in memory %d.%d", ctx, a.st.lastUp, a.st.lastUpUsec, ours.st.lastUp, ours.st.lastUpUsec)
		}
		for ra := range c.spec.RRA {
			if a.st.curRow[ra] != ours.st.curRow[ra] {
				t.Fatalf("%s: rra %d current row %d, in memory %d", ctx, ra, a.st.curRow[ra], ours.st.curRow[ra])
			}
			got, want := a.decodedRing(ra), ours.rows.ring(ra)
			for k := range want {
				if !sameFloat(got[k], want[k]) {
					t.Fatalf("%s: rra %d value %d: %v, in memory %v", ctx, ra, k, got[k], want[k])
				}
			}
		}
		db.Close()
	}
}

// TestPositionsAcrossCloses: source positions survive closes without a
// checkpoint, in this boot (positions.live.json) and after a reboot (the
// journal), and a live file older than a checkpoint is never read.
func TestPositionsAcrossCloses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pos := func(db *DB) string { return string(db.Position("src")) }
	db := openBoot(t, dir, "A")
	db.Create("s", testSpec(t), false)
	db.Apply(context.Background(), Batch{Updates: markerUpdates(0, 1), Positions: map[string][]byte{"src": []byte("1")}})
	db.Close()
	for _, boot := range []string{"A", "B"} {
		db = openBoot(t, dir, boot)
		if got := pos(db); got != "1" {
			t.Errorf("boot %s after a close: position %q, want 1", boot, got)
		}
		crash(db)
	}
	db = openBoot(t, dir, "A")
	db.Apply(context.Background(), Batch{Updates: markerUpdates(1, 2), Positions: map[string][]byte{"src": []byte("2")}})
	if err := db.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	db.Close() // nothing changed since the checkpoint
	for _, boot := range []string{"A", "C"} {
		db = openBoot(t, dir, boot)
		if got := pos(db); got != "2" {
			t.Errorf("boot %s after a checkpoint and a close: position %q, want 2", boot, got)
		}
		db.Close()
	}
	// a checkpoint, then a kill; the next process changes no position and
	// closes: the one after must not read a live file from before
	db = openBoot(t, dir, "C")
	db.Apply(context.Background(), Batch{Updates: markerUpdates(2, 3), Positions: map[string][]byte{"src": []byte("3")}})
	if err := db.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	crash(db)
	db = openBoot(t, dir, "C")
	db.Close()
	db = openBoot(t, dir, "C")
	defer db.Close()
	if got := pos(db); got != "3" {
		t.Errorf("after a checkpoint, a kill and a close: position %q, want 3", got)
	}
}

// TestCloseMarkerPastTheEnd: a marker pointing past the journal's end (a
// damaged or shortened file) is ignored; the whole journal is replayed.
func TestCloseMarkerPastTheEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := openBoot(t, dir, "A")
	db.Create("s", testSpec(t), false)
	applyRange(t, db, 0, 10)
	db.Close()
	jp := filepath.Join(dir, "journal.wal")
	b, _ := os.ReadFile(jp)
	m := decodeMarker(b[journalMarkerOff:])
	m.off = int64(len(b)) + 100
	copy(b[journalMarkerOff:], encodeMarker(m))
	os.WriteFile(jp, b, 0o644)
	db = openBoot(t, dir, "A")
	defer db.Close()
	if got, want := fetchAll(t, db), reference(t, 10); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
