package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// Tests of pack files (pack.go): several series per file.

// packFiles lists the pack files of a data directory.
func packFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, packDirName, "*.pack"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// seriesFiles lists the files of the series directory.
func seriesFiles(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "series"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// allUnknown demands that every row of every archive of name reads
// unknown.
func allUnknown(t *testing.T, db *DB, name string) {
	t.Helper()
	in, err := db.Info(name)
	if err != nil {
		t.Fatal(err)
	}
	for _, cf := range []CF{Average, Max} {
		r, err := db.Fetch(name, FetchRequest{CF: cf, Start: 1_800_000_000 - 3000, End: 1_800_003_000})
		if err != nil {
			t.Fatal(err)
		}
		for _, col := range r.Values {
			for i, v := range col {
				if !math.IsNaN(v) {
					t.Fatalf("series %s (%s, last update %d): row %d reads %v, want unknown", name, cf, in.LastUpdate, i, v)
				}
			}
		}
	}
}

// TestPackPlaces: series created through the journal share one pack file
// (no file each); delete frees a place (its bytes punched), the next
// creation of that size takes it and reads unknown everywhere, though the
// deleted series had rows there; a rename makes the new name a file of
// its own and frees the place; everything holds across a close, a
// kill -9 and a reboot.
func TestPackPlaces(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := openBoot(t, dir, "a")
	const n = 20
	var wait func() error
	var err error
	for i := range n {
		if _, wait, err = db.EnsureAsync(fmt.Sprint("p", i), deleteTestSpec(), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		mustApply(t, db, deleteTestUpdates(fmt.Sprint("p", i), i, 100+i))
	}
	if got := packFiles(t, dir); len(got) != 1 {
		t.Fatalf("pack files %v, want one", got)
	}
	if got := seriesFiles(t, dir); len(got) != 0 {
		t.Fatalf("series files %v, want none (every series in the pack)", got)
	}
	want := map[string]string{}
	for i := range n {
		want[fmt.Sprint("p", i)] = seriesText(t, db, fmt.Sprint("p", i))
	}
	p3, _, _ := db.packs.lookup("p3")

	// delete: the place is free and reads as zeros
	if err := db.Delete("p3"); err != nil {
		t.Fatal(err)
	}
	delete(want, "p3")
	if l := db.packs.free[p3.size]; !slices.Contains(l, p3) {
		t.Fatalf("free places %v lack %v", l, p3)
	}
	b := make([]byte, p3.size)
	f, err := os.Open(db.packs.packs[p3.pack].path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadAt(b, p3.off); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if !allZero(b) {
		t.Errorf("a deleted series' place still holds its bytes")
	}
	// reuse: same size, same place, nothing of p3 shows
	if _, err := db.Ensure("q", deleteTestSpec()); err != nil {
		t.Fatal(err)
	}
	if pl, ok, _ := db.packs.lookup("q"); !ok || pl != p3 {
		t.Fatalf("q at %v (%v), want the freed place %v", pl, ok, p3)
	}
	allUnknown(t, db, "q")
	mustApply(t, db, deleteTestUpdates("q", 0, 30))
	want["q"] = seriesText(t, db, "q")

	// rename: the new name is a file, the old place is free
	p5, _, _ := db.packs.lookup("p5")
	if err := db.Rename("p5", "r5"); err != nil {
		t.Fatal(err)
	}
	want["r5"] = want["p5"]
	delete(want, "p5")
	if _, ok, _ := db.packs.lookup("p5"); ok {
		t.Errorf("p5 still has a place after its rename")
	}
	if l := db.packs.free[p5.size]; !slices.Contains(l, p5) {
		t.Errorf("free places %v lack p5's %v", l, p5)
	}
	if got := seriesFiles(t, dir); !slices.Equal(got, []string{"r5.rrd"}) {
		t.Errorf("series files %v, want [r5.rrd]", got)
	}
	// a series created through the journal after the rename
	mustApply(t, db, deleteTestUpdates("p7", 100+7, 130))
	want["p7"] = seriesText(t, db, "p7")

	check := func(when string, db *DB) {
		t.Helper()
		names, err := db.List("")
		if err != nil {
			t.Fatal(err)
		}
		wantNames := slices.Sorted(mapKeys(want))
		if !slices.Equal(names, wantNames) {
			t.Fatalf("%s: list %q, want %q", when, names, wantNames)
		}
		for name, w := range want {
			if got := seriesText(t, db, name); got != w {
				t.Fatalf("%s: series %s:\n%s\nwant\n%s", when, name, got, w)
			}
		}
		if _, err := db.Info("p3"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s: deleted p3: %v", when, err)
		}
		rep, err := db.VerifyArchives(context.Background())
		if err != nil || len(rep.Damage) > 0 || rep.Files != len(want) {
			t.Fatalf("%s: VerifyArchives %+v %v", when, rep, err)
		}
	}
	check("live", db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openBoot(t, dir, "a")
	check("after a close", db)
	mustApply(t, db, deleteTestUpdates("q", 30, 40))
	want["q"] = seriesText(t, db, "q")
	crash(db)
	db = openBoot(t, dir, "a")
	check("after kill -9", db)
	crash(db)
	db = openBoot(t, dir, "b")
	check("after a reboot", db)
	db.Close()
}

// TestPackCreationLostWrites: what a power loss may leave of creations
// since the last checkpoint — a place whose head never reached the disk,
// an index that lost its records (cut, or a torn tail), a pack that lost
// its bytes — is made again from the journal's creation records, with
// every acknowledged update.
func TestPackCreationLostWrites(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// lose sets back what a power loss may lose; ckptIndex is the
		// index's length at the checkpoint (synced by it)
		lose func(t *testing.T, dir string, ckptIndex int64)
	}{
		{"a head lost", func(t *testing.T, dir string, _ int64) {
			p, base, _ := archiveAt(t, dir, "c3")
			writeAt(p, base, make([]byte, pageSize))
		}},
		{"index records lost", func(t *testing.T, dir string, ckptIndex int64) {
			if err := os.Truncate(filepath.Join(dir, packDirName, packIndexName), ckptIndex); err != nil {
				t.Fatal(err)
			}
		}},
		{"a torn index tail and the pack's bytes lost", func(t *testing.T, dir string, ckptIndex int64) {
			ip := filepath.Join(dir, packDirName, packIndexName)
			b, _ := os.ReadFile(ip)
			cut := ckptIndex + (int64(len(b))-ckptIndex)/2
			os.WriteFile(ip, append(b[:cut:cut], 0xde, 0xad, 0xbe, 0xef), 0o644)
			if err := os.Truncate(filepath.Join(dir, packDirName, "000000.pack"), 0); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db := openBoot(t, dir, "a")
			// one series made durable by a checkpoint: it must survive as is
			if _, err := db.Ensure("durable", deleteTestSpec()); err != nil {
				t.Fatal(err)
			}
			mustApply(t, db, deleteTestUpdates("durable", 0, 50))
			if err := db.Checkpoint(context.Background()); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"durable": seriesText(t, db, "durable")}
			fi, err := os.Stat(filepath.Join(dir, packDirName, packIndexName))
			if err != nil {
				t.Fatal(err)
			}
			ckptIndex := fi.Size()
			var wait func() error
			for i := range 10 {
				if _, wait, err = db.EnsureAsync(fmt.Sprint("c", i), deleteTestSpec(), nil); err != nil {
					t.Fatal(err)
				}
			}
			if err := wait(); err != nil {
				t.Fatal(err)
			}
			for i := range 10 {
				mustApply(t, db, deleteTestUpdates(fmt.Sprint("c", i), 0, 20+i))
				want[fmt.Sprint("c", i)] = seriesText(t, db, fmt.Sprint("c", i))
			}
			crash(db)
			if tc.name == "a torn index tail and the pack's bytes lost" {
				// the checkpointed series' bytes are durable: keep them
				durable := readArchiveBytes(t, dir, "durable")
				tc.lose(t, dir, ckptIndex)
				p := filepath.Join(dir, packDirName, "000000.pack")
				if err := os.Truncate(p, int64(len(durable))); err != nil {
					t.Fatal(err)
				}
				writeAt(p, 0, durable)
			} else {
				tc.lose(t, dir, ckptIndex)
			}
			var logs bytes.Buffer
			db, err = Open(dir, Options{BootID: "b", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			for name, w := range want {
				if got := seriesText(t, db, name); got != w {
					t.Fatalf("series %s:\n%s\nwant\n%s\nlog:\n%s", name, got, w, logs.String())
				}
			}
			rep, err := db.VerifyArchives(context.Background())
			if err != nil || len(rep.Damage) > 0 || rep.Files != len(want) {
				t.Fatalf("VerifyArchives %+v %v", rep, err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = openBoot(t, dir, "c")
			defer db.Close()
			for name, w := range want {
				if got := seriesText(t, db, name); got != w {
					t.Fatalf("after another reboot, series %s:\n%s\nwant\n%s", name, got, w)
				}
			}
		})
	}
}

// TestPackMovingSettles: a series leaving its place for a file of its own
// (an overwriting create, an import, a tune) is a durable "moving" record,
// the file, then the place freed; a crash between them leaves the file if
// it is whole, else the place.
func TestPackMovingSettles(t *testing.T) {
	t.Parallel()
	for _, fileMade := range []bool{false, true} {
		t.Run(fmt.Sprint("file made ", fileMade), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db := openBoot(t, dir, "a")
			if _, err := db.Ensure("m", deleteTestSpec()); err != nil {
				t.Fatal(err)
			}
			mustApply(t, db, deleteTestUpdates("m", 0, 40))
			want := seriesText(t, db, "m")
			if err := db.Checkpoint(context.Background()); err != nil {
				t.Fatal(err)
			}
			pl, _, _ := db.packs.lookup("m")
			if err := db.packs.markMoving("m", pl); err != nil {
				t.Fatal(err)
			}
			if fileMade {
				// the file as the overwriting create writes it: another
				// series' definition, so the winner shows
				other := deleteTestSpec()
				other.RRA = []RRA{{CF: Average, XFF: 0.5, Steps: 1, Rows: 7}}
				if err := createArchiveVersion(db.pathFor("m"), "m", &other, nil, initialState(&other), nil, fileVersion); err != nil {
					t.Fatal(err)
				}
			}
			crash(db)
			db = openBoot(t, dir, "a")
			defer db.Close()
			in, err := db.Info("m")
			if err != nil {
				t.Fatal(err)
			}
			_, packed, _ := db.packs.lookup("m")
			if fileMade {
				if packed || in.RRA[0].Rows != 7 {
					t.Fatalf("the whole file should win: packed %v, rows %d", packed, in.RRA[0].Rows)
				}
				if l := db.packs.free[pl.size]; !slices.Contains(l, pl) {
					t.Errorf("the place was not freed")
				}
			} else {
				if !packed || len(db.packs.moving) != 0 {
					t.Fatalf("the place should stay the series': packed %v, moving %v", packed, db.packs.moving)
				}
				if got := seriesText(t, db, "m"); got != want {
					t.Fatalf("series m:\n%s\nwant\n%s", got, want)
				}
			}
			if names, _ := db.List(""); !slices.Equal(names, []string{"m"}) {
				t.Errorf("list %q", names)
			}
		})
	}
}

// TestPackOverwriteAndTune: an overwriting create and a tune of a packed
// series make it a file of its own (its size may change) and free the
// place; the creation of a series of an older file-per-series directory
// keeps working beside packs.
func TestPackOverwriteAndTune(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// a directory as an rrdash before packs left it: files only
	old := openBoot(t, dir, "a")
	if err := old.Create("file", deleteTestSpec(), true); err != nil {
		t.Fatal(err)
	}
	mustApply(t, old, deleteTestUpdates("file", 0, 50))
	wantFile := seriesText(t, old, "file")
	old.Close()
	if _, err := os.Stat(filepath.Join(dir, packDirName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("packs made before any creation through the journal: %v", err)
	}
	db := openBoot(t, dir, "a")
	if got := seriesText(t, db, "file"); got != wantFile {
		t.Fatalf("file series:\n%s\nwant\n%s", got, wantFile)
	}
	for _, n := range []string{"o", "t"} {
		if _, err := db.Ensure(n, deleteTestSpec()); err != nil {
			t.Fatal(err)
		}
		mustApply(t, db, deleteTestUpdates(n, 0, 30))
	}
	if err := db.Create("o", deleteTestSpec(), false); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("a second creation of a packed series: %v", err)
	}
	if err := db.Create("file", deleteTestSpec(), false); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("a creation over a series file: %v", err)
	}
	po, _, _ := db.packs.lookup("o")
	if err := db.Create("o", deleteTestSpec(), true); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.packs.lookup("o"); ok || !fileExists(db.pathFor("o")) {
		t.Fatalf("an overwritten series should be a file of its own")
	}
	if l := db.packs.free[po.size]; !slices.Contains(l, po) {
		t.Errorf("the overwritten series' place was not freed")
	}
	allUnknown(t, db, "o")
	if err := db.ResizeArchive("t", 0, true, 20); err != nil {
		t.Fatal(err)
	}
	in, err := db.Info("t")
	if err != nil || in.RRA[0].Rows != 120 {
		t.Fatalf("resized t: %+v %v", in, err)
	}
	wantT := seriesText(t, db, "t")
	db.Close()
	db = openBoot(t, dir, "b")
	defer db.Close()
	if names, _ := db.List(""); !slices.Equal(names, []string{"file", "o", "t"}) {
		t.Fatalf("list %q", names)
	}
	if got := seriesText(t, db, "t"); got != wantT {
		t.Fatalf("t after a reboot:\n%s\nwant\n%s", got, wantT)
	}
	if got := seriesText(t, db, "file"); got != wantFile {
		t.Fatalf("file after a reboot:\n%s\nwant\n%s", got, wantFile)
	}
}

// FuzzPackIndex: the index decoder never panics; what it accepts
// re-encodes to the same bytes, every record in bounds, and it stops at
// the first record that does not verify.
func FuzzPackIndex(f *testing.F) {
	good := packIndexMagic[:]
	good = appendPackRec(good, packRec{kind: packRecPlace, name: "a.b", pl: place{pack: 0, off: 0, size: 8192}})
	good = appendPackRec(good, packRec{kind: packRecPlace, name: "c;k=v", pl: place{pack: 1, off: 4096, size: 4096}})
	good = appendPackRec(good, packRec{kind: packRecMoving, name: "a.b", pl: place{pack: 0, off: 0, size: 8192}})
	good = appendPackRec(good, packRec{kind: packRecFree, name: "a.b", pl: place{pack: 0, off: 0, size: 8192}})
	f.Add(good)
	f.Add(good[:len(good)-3])
	f.Add(append(slices.Clone(good), 1, 2, 3))
	f.Add([]byte("RRDPIDX"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, end, err := decodePackIndex(b)
		if err != nil {
			if len(b) >= 8 && [8]byte(b[:8]) == packIndexMagic {
				t.Fatalf("a good magic refused: %v", err)
			}
			return
		}
		if end < 8 || end > int64(len(b)) {
			t.Fatalf("end %d of %d bytes", end, len(b))
		}
		enc := packIndexMagic[:]
		for _, r := range recs {
			enc = appendPackRec(enc, r)
		}
		if !bytes.Equal(enc, b[:end]) {
			t.Fatalf("records %+v re-encode to other bytes", recs)
		}
		if _, _, ok := decodePackRec(b[end:]); ok {
			t.Fatalf("decoding stopped at %d before a record that verifies", end)
		}
		ps := &packSet{moving: map[string]place{}, free: map[int64][]place{}}
		if _, err := ps.loadIndex(b[:end]); err != nil {
			t.Fatal(err)
		}
		ps.names.each(func(name []byte, pl place) {
			if pl.off+pl.size > ps.packs[pl.pack].end {
				t.Fatalf("%s at %v past its pack's end %d", name, pl, ps.packs[pl.pack].end)
			}
		})
		checkAgainstModel(t, ps, recs)
	})
}

// TestPackIndexRecordBounds: records out of bounds are refused (the
// decoder is the only gate before offsets reach pread, mmap and punch).
func TestPackIndexRecordBounds(t *testing.T) {
	t.Parallel()
	ok := packRec{kind: packRecPlace, name: "s", pl: place{pack: 2, off: 8192, size: 4096}}
	for _, tc := range []struct {
		name string
		r    packRec
		want bool
	}{
		{"good", ok, true},
		{"kind 0", packRec{kind: 0, name: "s", pl: ok.pl}, false},
		{"kind 4", packRec{kind: 4, name: "s", pl: ok.pl}, false},
		{"offset not page aligned", packRec{kind: 1, name: "s", pl: place{off: 100, size: 4096}}, false},
		{"size zero", packRec{kind: 1, name: "s", pl: place{off: 0, size: 0}}, false},
		{"past a pack's end", packRec{kind: 1, name: "s", pl: place{off: packMaxSize, size: 4096}}, false},
		{"negative pack", packRec{kind: 1, name: "s", pl: place{pack: -1, size: 4096}}, false},
		{"empty name", packRec{kind: 1, name: "", pl: ok.pl}, false},
		{"NUL in name", packRec{kind: 1, name: "a\x00b", pl: ok.pl}, false},
	} {
		b := appendPackRec(nil, tc.r)
		got, n, valid := decodePackRec(b)
		if valid != tc.want || valid && (got != tc.r || n != len(b)) {
			t.Errorf("%s: decoded %+v %d %v, want %v", tc.name, got, n, valid, tc.want)
		}
	}
}

// BenchmarkPackIndexOpen measures what Open adds for packs: reading and
// applying an index of RRDASH_PACK_N places (default 100,000; the issue's
// million: RRDASH_PACK_N=1000000), then listing the names.
func BenchmarkPackIndexOpen(b *testing.B) {
	n := 100000
	if s := os.Getenv("RRDASH_PACK_N"); s != "" {
		if _, err := fmt.Sscan(s, &n); err != nil {
			b.Fatalf("RRDASH_PACK_N: %v", err)
		}
	}
	dir := b.TempDir()
	pd := filepath.Join(dir, packDirName)
	if err := os.Mkdir(pd, 0o755); err != nil {
		b.Fatal(err)
	}
	idx := packIndexMagic[:]
	const size = 659456 // the default template's archive
	perPack := int64(packMaxSize / size)
	for i := range n {
		pl := place{pack: int32(int64(i) / perPack), off: int64(i) % perPack * size, size: size}
		idx = appendPackRec(idx, packRec{kind: packRecPlace, name: fmt.Sprintf("host%d.cpu.user", i), pl: pl})
	}
	if err := os.WriteFile(filepath.Join(pd, packIndexName), idx, 0o644); err != nil {
		b.Fatal(err)
	}
	for p := int64(0); p <= int64(n)/perPack; p++ {
		if err := os.WriteFile(filepath.Join(pd, fmt.Sprintf("%06d.pack", p)), nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(idx))/float64(n), "index-B/series")
	b.ResetTimer()
	c0 := cpuNanos()
	var heap uint64
	for range b.N {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.HeapAlloc
		ps, err := openPacks(dir, false, nil)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		heap = ms.HeapAlloc - before // what the open index keeps
		if got := len(ps.sortedNames()); got != n {
			b.Fatalf("%d names, want %d", got, n)
		}
		ps.close()
	}
	b.ReportMetric(float64(cpuNanos()-c0)/float64(b.N)/1e9, "cpu-s/open")
	b.ReportMetric(float64(heap)/float64(n), "heap-B/series")
}

// TestPackFileWithoutRecords: a pack file whose every index record a
// crash lost (the file was made and its directory synced, the records
// were not) is taken again for the next pack, not refused.
func TestPackFileWithoutRecords(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := openBoot(t, dir, "a")
	if _, err := db.Ensure("a", deleteTestSpec()); err != nil {
		t.Fatal(err)
	}
	mustApply(t, db, deleteTestUpdates("a", 0, 40))
	want := seriesText(t, db, "a")
	crash(db)
	if err := os.Truncate(filepath.Join(dir, packDirName, packIndexName), int64(len(packIndexMagic))); err != nil {
		t.Fatal(err)
	}
	db = openBoot(t, dir, "b") // the replay makes "a" again: in a new pack 0
	defer db.Close()
	if got := seriesText(t, db, "a"); got != want {
		t.Fatalf("series a:\n%s\nwant\n%s", got, want)
	}
	if got := packFiles(t, dir); len(got) != 1 {
		t.Errorf("packs %v", got)
	}
}

// TestPackIndexCompacts: after a checkpoint an index more than twice
// what it describes is rewritten (a free record per released place, a
// place record per series): same series, same free places, reused after
// a reopen and after a kill -9.
func TestPackIndexCompacts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := openBoot(t, dir, "a")
	db.packs.minCompact = 0
	want := map[string]string{}
	for i := range 10 {
		name := fmt.Sprint("k", i)
		if _, err := db.Ensure(name, deleteTestSpec()); err != nil {
			t.Fatal(err)
		}
		mustApply(t, db, deleteTestUpdates(name, 0, 10+i))
		want[name] = seriesText(t, db, name)
	}
	// churn: 20 series made and deleted three times (each Delete
	// checkpoints; the index grows by 40 records a round)
	var dropped []string
	for i := range 20 {
		dropped = append(dropped, fmt.Sprint("d", i))
	}
	grew := false
	for range 3 {
		for _, name := range dropped {
			if _, err := db.Ensure(name, deleteTestSpec()); err != nil {
				t.Fatal(err)
			}
			mustApply(t, db, deleteTestUpdates(name, 0, 5))
		}
		before := db.packs.idxEnd
		if err := db.Delete(dropped...); err != nil {
			t.Fatal(err)
		}
		if err := db.Checkpoint(context.Background()); err != nil {
			t.Fatal(err)
		}
		grew = grew || db.packs.idxEnd < before
	}
	if !grew {
		t.Fatalf("the index was never compacted (%d bytes)", db.packs.idxEnd)
	}
	// what the index describes: 10 places, 20 free places
	if limit := int64(8 + 10*(8+21+2) + 20*(8+21+1)); db.packs.idxEnd > 2*limit {
		t.Fatalf("index of %d bytes after compaction, describing %d", db.packs.idxEnd, limit)
	}
	free := slices.Clone(db.packs.free[packPlaceOf(db, "k0").size])
	if len(free) != len(dropped) {
		t.Fatalf("%d free places, want %d", len(free), len(dropped))
	}
	check := func(when string, db *DB) {
		t.Helper()
		names, _ := db.List("")
		if w := slices.Sorted(mapKeys(want)); !slices.Equal(names, w) {
			t.Fatalf("%s: list %q, want %q", when, names, w)
		}
		for name, w := range want {
			if got := seriesText(t, db, name); got != w {
				t.Fatalf("%s: series %s:\n%s\nwant\n%s", when, name, got, w)
			}
		}
	}
	check("compacted", db)
	db.Close()
	db = openBoot(t, dir, "b")
	check("reopened", db)
	if got := db.packs.free[packPlaceOf(db, "k0").size]; len(got) != len(free) {
		t.Fatalf("free places after a reopen %v, want %v", got, free)
	}
	if _, err := db.Ensure("new", deleteTestSpec()); err != nil {
		t.Fatal(err)
	}
	if pl := packPlaceOf(db, "new"); !slices.Contains(free, pl) {
		t.Errorf("new series at %v, not in a freed place %v", pl, free)
	}
	allUnknown(t, db, "new")
	mustApply(t, db, deleteTestUpdates("new", 0, 5))
	want["new"] = seriesText(t, db, "new")
	crash(db)
	db = openBoot(t, dir, "b")
	defer db.Close()
	check("after kill -9", db)
	if rep, err := db.VerifyArchives(context.Background()); err != nil || len(rep.Damage) > 0 {
		t.Fatalf("VerifyArchives %+v %v", rep, err)
	}
}
