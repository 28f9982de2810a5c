package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rowSumSpec has rings of several blocks: 300 rows (blocks 0–3 of 64, 4
// of 44) and 100 rows (64 + 36).
func rowSumSpec(t testing.TB) Spec {
	t.Helper()
	s, err := ParseSpecArgs(10, 1000000000, []string{"DS:g:GAUGE:30:U:U", "DS:c:COUNTER:30:0:U", "RRA:AVERAGE:0.5:1:300", "RRA:MAX:0.5:5:100"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func rowSumUpdates(from, to int) []Update {
	var us []Update
	for i := from; i < to; i++ {
		us = append(us, Update{Series: "s", Time: 1000000000 + 10*int64(i+1), Values: []string{fmt.Sprint(500 + i%17), fmt.Sprint(i * 9)}})
	}
	return us
}

// rowSumRef is series s after updates [0, n) in memory.
func rowSumRef(t testing.TB, n int) *RRD {
	t.Helper()
	r, err := NewRRD(rowSumSpec(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range rowSumUpdates(0, n) {
		if err := r.Update(u.Time, u.Usec, u.Values); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func applyRowSum(t testing.TB, db *DB, from, to int) {
	t.Helper()
	if res, err := db.Apply(context.Background(), Batch{Updates: rowSumUpdates(from, to)}); err != nil || len(res.Errors) > 0 {
		t.Fatalf("apply %d..%d: %v %v", from, to, err, res.Errors)
	}
}

// ringRowOf maps each row of a fetch result to the ring row it came from
// (-1: outside the archive).
func ringRowOf(r *RRD, res *FetchResult) []int64 {
	ra := r.spec.RRA[res.RRA]
	span := ra.Steps * r.spec.Step
	newest := r.st.lastUp - r.st.lastUp%span
	out := make([]int64, res.Rows())
	for i := range out {
		t := res.Start + int64(i+1)*res.Step
		age := (newest - t) / span
		out[i] = -1
		if age >= 0 && age < ra.Rows {
			out[i] = ((r.st.curRow[res.RRA]-age)%ra.Rows + ra.Rows) % ra.Rows
		}
	}
	return out
}

// rowsDiffer returns the ring rows where got differs from want; a row that
// differs must be unknown in got.
func rowsDiffer(t *testing.T, ref *RRD, got, want *FetchResult) map[int64]bool {
	t.Helper()
	if got.Start != want.Start || got.End != want.End || got.Step != want.Step || got.RRA != want.RRA {
		t.Fatalf("window %d..%d/%d rra %d, want %d..%d/%d rra %d", got.Start, got.End, got.Step, got.RRA, want.Start, want.End, want.Step, want.RRA)
	}
	rows := ringRowOf(ref, want)
	diff := map[int64]bool{}
	for d := range want.Values {
		for i, w := range want.Values[d] {
			g := got.Values[d][i]
			if sameFloat(g, w) {
				continue
			}
			if !math.IsNaN(g) {
				t.Fatalf("row %d (ring row %d) ds %d: %v, want %v or unknown: garbage served", i, rows[i], d, g, w)
			}
			diff[rows[i]] = true
		}
	}
	return diff
}

// knownIn is the ring rows in [lo, hi] where want holds a value: the rows
// a damaged block [lo, hi] must turn unknown.
func knownIn(ref *RRD, want *FetchResult, lo, hi int64) map[int64]bool {
	m := map[int64]bool{}
	for i, r := range ringRowOf(ref, want) {
		for d := range want.Values {
			if r >= lo && r <= hi && !math.IsNaN(want.Values[d][i]) {
				m[r] = true
			}
		}
	}
	return m
}

func sameSet(a, b map[int64]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// archiveLayout is the layout of series s in dir.
func archiveLayout(t *testing.T, dir string) layout {
	t.Helper()
	a, err := openArchiveOf(t, dir, "s", trust{ckpt: 1 << 62})
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	return a.lay
}

func wholeRing(ref *RRD, rra int, cf CF) FetchRequest {
	ra := ref.spec.RRA[rra]
	span := ra.Steps * ref.spec.Step
	end := ref.st.lastUp - ref.st.lastUp%span
	return FetchRequest{CF: cf, Start: end - span*(ra.Rows-1), End: end, Resolution: span}
}

// TestDamagedRowsAreServedUnknown flips a byte of a row or of a checksum
// and demands that fetch serves exactly that block's rows as unknown, the
// rest unchanged, with one warning naming the file, archive and rows.
func TestDamagedRowsAreServedUnknown(t *testing.T) {
	t.Parallel()
	const n = 250
	cases := []struct {
		name   string
		rra    int
		cf     CF
		block  int64
		offset func(l layout) int64
	}{
		{"row byte, first archive", 0, Average, 1, func(l layout) int64 { return l.ringOff[0] + 70*16 + 3 }},
		{"row byte, sign of a value", 0, Average, 2, func(l layout) int64 { return l.ringOff[0] + 130*16 + 15 }},
		{"checksum entry", 0, Average, 1, func(l layout) int64 { return l.sumOff + 1*4 + 2 }},
		{"row byte, second archive", 1, Max, 0, func(l layout) int64 { return l.ringOff[1] + 10*16 + 1 }},
		{"checksum entry, a block partly written", 0, Average, 3, func(l layout) int64 { return l.sumOff + 3*4 }},
	}
	ref := rowSumRef(t, n)
	for _, c := range cases {
		for _, oneShot := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/one-shot=%v", c.name, oneShot), func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				db := openBoot(t, dir, "A")
				if err := db.Create("s", rowSumSpec(t), false); err != nil {
					t.Fatal(err)
				}
				applyRowSum(t, db, 0, n)
				db.Close()
				flipArchive(t, dir, "s", c.offset(archiveLayout(t, dir)))

				var logs bytes.Buffer
				db, err := Open(dir, Options{BootID: "A", OneShot: oneShot, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				req := wholeRing(ref, c.rra, c.cf)
				want, _ := ref.Fetch(req)
				for range 2 { // the second read warns no more
					got, err := db.Fetch("s", req)
					if err != nil {
						t.Fatal(err)
					}
					lo, hi := blockRows(ref.spec.RRA[c.rra].Rows, c.block)
					if diff := rowsDiffer(t, ref, got, want); !sameSet(diff, knownIn(ref, want, lo, hi-1)) {
						t.Fatalf("unknown ring rows %v, want exactly %d-%d", keys(diff), lo, hi-1)
					}
				}
				if got := db.DamagedBlocks(); got != 1 {
					t.Errorf("DamagedBlocks %d, want 1", got)
				}
				lo, hi := blockRows(ref.spec.RRA[c.rra].Rows, c.block)
				for _, w := range []string{"level=WARN", archivePathOf(t, dir, "s"), fmt.Sprintf("rra=%d", c.rra), fmt.Sprintf("rows=%d-%d", lo, hi-1)} {
					if !strings.Contains(logs.String(), w) {
						t.Errorf("warning lacks %q:\n%s", w, logs.String())
					}
				}
				if k := strings.Count(logs.String(), "level=WARN"); k != 1 {
					t.Errorf("%d warnings, want 1:\n%s", k, logs.String())
				}
				rep, err := db.VerifyArchives(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if len(rep.Damage) != 1 || rep.Damage[0].RRA != c.rra || rep.Damage[0].FirstRow != lo || rep.Damage[0].LastRow != hi-1 || rep.Checked != 1 {
					t.Errorf("VerifyArchives: %+v", rep)
				}
			})
		}
	}
}

func keys(m map[int64]bool) []int64 {
	var out []int64
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestWriteIntoDamagedBlock: an update into a damaged block sets the
// block's old rows to unknown before it reseals the block, so the new
// checksum never vouches for the damaged bytes.
func TestWriteIntoDamagedBlock(t *testing.T) {
	t.Parallel()
	const n = 100 // the newest row is 99, the next write goes to row 100: block 1
	for _, oneShot := range []bool{false, true} {
		t.Run(fmt.Sprintf("one-shot=%v", oneShot), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db := openBoot(t, dir, "A")
			db.Create("s", rowSumSpec(t), false)
			applyRowSum(t, db, 0, n)
			db.Close()
			flipArchive(t, dir, "s", archiveLayout(t, dir).ringOff[0]+80*16+6) // row 80, block 1
			var logs bytes.Buffer
			db, err := Open(dir, Options{BootID: "A", OneShot: oneShot, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			applyRowSum(t, db, n, n+1)
			// the row waits for its block (rowwait.go): it is written at
			// the latest by the close
			db.Close()
			if !strings.Contains(logs.String(), "rows=64-127") || !strings.Contains(logs.String(), "before a write") {
				t.Errorf("no warning for the write into the damaged block:\n%s", logs.String())
			}
			db = openBoot(t, dir, "A")
			defer db.Close()
			ref := rowSumRef(t, n+1)
			req := wholeRing(ref, 0, Average)
			got, err := db.Fetch("s", req)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := ref.Fetch(req)
			// rows 64–99 were in the damaged block; row 100 was written after
			if diff := rowsDiffer(t, ref, got, want); !sameSet(diff, knownIn(ref, want, 64, 99)) || len(diff) != 36 {
				t.Errorf("unknown ring rows %v, want 64-99", keys(diff))
			}
			if rep, err := db.VerifyArchives(context.Background()); err != nil || len(rep.Damage) != 0 {
				t.Errorf("after the write the block should be sealed: %+v %v", rep, err)
			}
		})
	}
}

// TestTornRowWritesAreResealed: a crash between rows and their checksums
// (in either order), in this boot or before a reboot, and an update never
// acknowledged: the replay rewrites the rows and reseals their blocks; no
// block is reported and every row is the reference's.
func TestTornRowWritesAreResealed(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		boot string
		n    int // updates acknowledged
		tear func(t *testing.T, dir string, before []byte, lay layout)
	}{
		{"rows written, checksums not", "A", 170, func(t *testing.T, dir string, before []byte, lay layout) {
			writeArchiveAt(t, dir, "s", lay.sumOff, before[lay.sumOff:lay.sumOff+lay.sumLen])
		}},
		{"checksums written, rows not", "A", 170, func(t *testing.T, dir string, before []byte, lay layout) {
			writeArchiveAt(t, dir, "s", lay.rowsOff, before[lay.rowsOff:])
		}},
		{"checksums written, rows not, then a reboot", "C", 170, func(t *testing.T, dir string, before []byte, lay layout) {
			writeArchiveAt(t, dir, "s", lay.rowsOff, before[lay.rowsOff:])
		}},
		{"half the rows written", "C", 170, func(t *testing.T, dir string, before []byte, lay layout) {
			mid := lay.ringOff[0] + 150*16
			writeArchiveAt(t, dir, "s", mid, before[mid:lay.ringOff[1]])
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db := openBoot(t, dir, "A")
			db.Create("s", rowSumSpec(t), false)
			applyRowSum(t, db, 0, 90)
			db.Close()
			before := readArchiveBytes(t, dir, "s")
			db = openBoot(t, dir, "A")
			applyRowSum(t, db, 90, 130)
			applyRowSum(t, db, 130, 170)
			crash(db) // no close marker: the next process replays 90..170
			c.tear(t, dir, before, archiveLayout(t, dir))
			checkClean(t, dir, c.boot, c.n)
		})
	}
	t.Run("an update never acknowledged", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		db := openBoot(t, dir, "A")
		db.Create("s", rowSumSpec(t), false)
		applyRowSum(t, db, 0, 90)
		db.Close()
		db = openBoot(t, dir, "A")
		if _, _, err := db.ApplyAsync(context.Background(), Batch{Updates: rowSumUpdates(90, 200)}); err != nil {
			t.Fatal(err)
		}
		crash(db) // before the record's fsync: none of its rows may be in the file
		checkClean(t, dir, "A", 90)
	})
}

// checkClean opens dir in boot and demands series s equal to n updates
// and no damaged block.
func checkClean(t *testing.T, dir, boot string, n int) {
	t.Helper()
	db := openBoot(t, dir, boot)
	defer db.Close()
	ref := rowSumRef(t, n)
	for rra, cf := range []CF{Average, Max} {
		req := wholeRing(ref, rra, cf)
		got, err := db.Fetch("s", req)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := ref.Fetch(req)
		if g, w := fetchText(got), fetchText(want); g != w {
			t.Fatalf("rra %d:\n%s\nwant\n%s", rra, g, w)
		}
	}
	rep, err := db.VerifyArchives(context.Background())
	if err != nil || len(rep.Damage) != 0 || db.DamagedBlocks() != 0 {
		t.Errorf("damage reported after a replay: %+v %v (%d blocks)", rep, err, db.DamagedBlocks())
	}
}

// TestOlderFormatsAreReadAndWritten: format 2 (and 1) archives work as
// before, without row checksums, and are listed as unchecked.
func TestOlderFormatsAreReadAndWritten(t *testing.T) {
	t.Parallel()
	for _, v := range []int{1, 2, 3} {
		t.Run(fmt.Sprint("version ", v), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			spec := rowSumSpec(t)
			os.MkdirAll(filepath.Join(dir, "series"), 0o755)
			if err := createArchiveVersion(filepath.Join(dir, "series", "s.rrd"), "s", &spec, nil, initialState(&spec), nil, v); err != nil {
				t.Fatal(err)
			}
			db := openBoot(t, dir, "A")
			applyRowSum(t, db, 0, 120)
			db.Close()
			checkClean(t, dir, "B", 120)
			db = openBoot(t, dir, "B")
			defer db.Close()
			rep, err := db.VerifyArchives(context.Background())
			checked := 0
			if v >= 3 { // row checksums, rows stored as plain doubles
				checked = 1
			}
			if err != nil || rep.Files != 1 || rep.Checked != checked || len(rep.Unchecked) != 1-checked || len(rep.Damage) != 0 {
				t.Errorf("VerifyArchives: %+v %v", rep, err)
			}
		})
	}
}

// TestVerifyAndRepairArchives: unreadable files are reported; a repair
// sets a damaged block to unknown for good.
func TestVerifyAndRepairArchives(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := openBoot(t, dir, "A")
	db.Create("s", rowSumSpec(t), false)
	applyRowSum(t, db, 0, 200)
	db.Close()
	flipArchive(t, dir, "s", archiveLayout(t, dir).ringOff[0]+150*16) // block 2 of archive 0
	p := archiveFileCopy(t, dir, "s")
	os.WriteFile(filepath.Join(dir, "series", "junk.rrd"), []byte("not an archive at all"), 0o644)

	if rep := VerifyFile(p); len(rep.Damage) != 1 || rep.Damage[0].FirstRow != 128 || rep.Damage[0].LastRow != 191 {
		t.Errorf("VerifyFile: %+v", rep)
	} else if d := rep.Damage[0]; d.Start != 1000000000+10*129 || d.End != 1000000000+10*192 {
		t.Errorf("VerifyFile: times %d..%d, want the rows' times %d..%d", d.Start, d.End, 1000000000+10*129, 1000000000+10*192)
	}
	db = openBoot(t, dir, "A")
	defer db.Close()
	rep, err := db.RepairArchives(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Files != 2 || rep.Checked != 1 || len(rep.Damage) != 2 {
		t.Fatalf("repair: %+v", rep)
	}
	var sawJunk, sawBlock bool
	for _, d := range rep.Damage {
		sawJunk = sawJunk || d.RRA == -1 && strings.HasSuffix(d.Path, "junk.rrd")
		sawBlock = sawBlock || d.RRA == 0 && d.FirstRow == 128 && strings.Contains(d.Err, "set to unknown")
	}
	if !sawJunk || !sawBlock {
		t.Errorf("repair report: %+v", rep.Damage)
	}
	if rep, err := db.VerifyArchives(context.Background()); err != nil || len(rep.Damage) != 1 {
		t.Errorf("after the repair only the junk file should remain: %+v %v", rep, err)
	}
	ref := rowSumRef(t, 200)
	req := wholeRing(ref, 0, Average)
	got, _ := db.Fetch("s", req)
	want, _ := ref.Fetch(req)
	if diff := rowsDiffer(t, ref, got, want); !sameSet(diff, knownIn(ref, want, 128, 191)) || len(diff) != 64 {
		t.Errorf("unknown ring rows %v, want 128-191", keys(diff))
	}
	if db.DamagedBlocks() != 0 {
		t.Errorf("a repaired block still warns")
	}
}

// FuzzArchiveRows flips bytes of a valid archive's checksum table and rows
// (the header and slots stay intact, so it always opens): fetch may serve a
// row as unknown, never as a value the series did not hold there.
func FuzzArchiveRows(f *testing.F) {
	dir := f.TempDir()
	db, err := Open(dir, Options{BootID: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	db.Create("s", rowSumSpec(f), false)
	applyRowSum(f, db, 0, 350)
	db.Close()
	good := readArchiveBytes(f, dir, "s")
	ref, next := rowSumRef(f, 350), rowSumRef(f, 356)
	a, err := openArchiveOf(f, dir, "s", trust{ckpt: 1 << 62})
	if err != nil {
		f.Fatal(err)
	}
	lay := a.lay
	a.close()
	region := int64(len(good)) - lay.sumOff
	f.Add([]byte{0, 0, 1}, false)
	f.Add([]byte{0x10, 0x20, 0x80, 0xff, 0xff, 0x01}, true)
	f.Add(binary.LittleEndian.AppendUint16(nil, uint16(lay.rowsOff-lay.sumOff+7)), false)
	f.Fuzz(func(t *testing.T, flips []byte, unmapped bool) {
		b := append([]byte(nil), good...)
		for i := 0; i+3 <= len(flips) && i < 3*16; i += 3 {
			pos := int64(binary.LittleEndian.Uint16(flips[i:])) * region / 65536
			b[lay.sumOff+pos] ^= flips[i+2]
		}
		p := filepath.Join(t.TempDir(), "s.rrd")
		os.WriteFile(p, b, 0o644)
		a, err := openArchive(p, trust{ckpt: 1 << 62}, unmapped, nil)
		if err != nil {
			t.Fatalf("only rows and checksums changed, yet: %v", err)
		}
		defer a.close()
		a.dmg = newDamageLog(slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)))
		check := func(ref *RRD, when string) {
			for rra, cf := range []CF{Average, Max} {
				req := wholeRing(ref, rra, cf)
				got, err := fetch(&a.spec, a.st, a, req)
				if err != nil {
					t.Fatal(err)
				}
				want, _ := ref.Fetch(req)
				for d := range want.Values {
					for i, w := range want.Values[d] {
						if g := got.Values[d][i]; !sameFloat(g, w) && !math.IsNaN(g) {
							t.Fatalf("%s: rra %d row %d ds %d: %v served, the series held %v", when, rra, i, d, g, w)
						}
					}
				}
			}
		}
		if !unmapped {
			if err := a.mapRows(); err != nil {
				t.Fatal(err)
			}
			check(ref, "read")
		}
		// a write into a damaged block (in the mapping, or with pwrite)
		// must not bless its damage
		for _, u := range rowSumUpdates(350, 356) {
			if err := a.eng.update(u.Time, u.Usec, u.Values); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.flushRows(true); err != nil {
			t.Fatal(err)
		}
		if err := a.mapRows(); err != nil {
			t.Fatal(err)
		}
		check(next, "after a write")
	})
}
