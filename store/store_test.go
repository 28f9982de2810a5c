package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testSpec(t testing.TB) Spec {
	t.Helper()
	s, err := ParseSpecArgs(10, 1000000000, []string{"DS:g:GAUGE:30:U:U", "DS:c:COUNTER:30:0:U", "RRA:AVERAGE:0.5:1:20", "RRA:MAX:0.5:3:10"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSpecParsingErrors(t *testing.T) {
	t.Parallel()
	bad := []string{
		"DS:bad-name:GAUGE:10:U:U", "DS:a:GAUGE:10:U", "DS:a:FOO:10:U:U", "DS:a:GAUGE:0:U:U", "DS:a:GAUGE:10:5:1",
		"DS:a:GAUGE:10:x:U", "DS:abcdefghijklmnopqrst:GAUGE:10:U:U", "RRA:AVG:0.5:1:10", "RRA:AVERAGE:1:1:10",
		"RRA:AVERAGE:0.5:0:10", "RRA:AVERAGE:0.5:1:-1", "RRA:AVERAGE:0.5:7s:10", "XYZ:1",
	}
	for _, a := range bad {
		if _, err := ParseSpecArgs(10, 1000000000, []string{"DS:ok:GAUGE:10:U:U", "RRA:LAST:0:1:1", a}); err == nil {
			t.Errorf("%s: no error", a)
		} else if !strings.Contains(err.Error(), strings.SplitN(a, ":", 2)[0]) {
			t.Errorf("%s: error %q does not name the argument", a, err)
		}
	}
	s, err := ParseSpecArgs(60, 1000000000, []string{"DS:a:GAUGE:5m:U:U", "RRA:AVERAGE:0.5:1h:1d"})
	if err != nil || s.DS[0].Heartbeat != 300 || s.RRA[0].Steps != 60 || s.RRA[0].Rows != 24 {
		t.Errorf("durations: %+v %v", s, err)
	}
}

func TestApplyErrorsLeaveStateAlone(t *testing.T) {
	t.Parallel()
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := db.Create("s", testSpec(t), false); err != nil {
		t.Fatal(err)
	}
	if err := db.Create("s", testSpec(t), false); err == nil {
		t.Error("create over an existing series without overwrite: no error")
	}
	ok := func(tm int64, v ...string) Update { return Update{Series: "s", Time: tm, Values: v} }
	if _, err := db.Apply(ctx, Batch{Updates: []Update{ok(1000000010, "1", "100")}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		u    Update
		want string
	}{
		{"unknown series", Update{Series: "nope", Time: 1000000020, Values: []string{"1", "1"}}, "not found"},
		{"too old", ok(1000000010, "1", "101"), "illegal attempt to update using time 1000000010"},
		{"non-integer counter", ok(1000000020, "1", "1.5"), "not a simple unsigned integer: '1.5'"},
		{"wrong count", ok(1000000020, "1"), "expected 2 data source readings (got 1)"},
		{"bad gauge", ok(1000000020, "x", "100"), "cannot convert 'x' to float"},
	}
	for _, c := range cases {
		res, err := db.Apply(ctx, Batch{Updates: []Update{c.u}, StopOnError: true})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), c.want) {
			t.Errorf("%s: errors %v, want %q", c.name, res.Errors, c.want)
		}
	}
	if last, _ := db.LastUpdate("s"); last != 1000000010 {
		t.Errorf("last update moved to %d", last)
	}
	if _, err := db.Fetch("s", FetchRequest{CF: Average, Start: 1000000000, End: 1000000100}); err != nil {
		t.Error(err)
	}
	if _, err := db.Fetch("nope", FetchRequest{CF: Average, Start: 1000000000, End: 1000000100}); !errors.Is(err, ErrNotFound) {
		t.Errorf("fetch of a missing series: %v", err)
	}
}

func TestReopenReplaysAndKeepsPositions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Create("s", testSpec(t), false)
	ctx := context.Background()
	for i := int64(1); i <= 50; i++ {
		if _, err := db.Apply(ctx, Batch{Updates: []Update{{Series: "s", Time: 1000000000 + 7*i, Values: []string{"2.5", "100"}}},
			Positions: map[string][]byte{"src": []byte{byte(i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	want, _ := db.Fetch("s", FetchRequest{CF: Average, Start: 1000000000, End: 1000000400})
	crash(db) // no Close: the reopen must replay the journal
	db2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	got, _ := db2.Fetch("s", FetchRequest{CF: Average, Start: 1000000000, End: 1000000400})
	if fetchText(got) != fetchText(want) {
		t.Errorf("after replay:\n%s\nwant\n%s", fetchText(got), fetchText(want))
	}
	if p := db2.Position("src"); !bytes.Equal(p, []byte{50}) {
		t.Errorf("position %v, want [50]", p)
	}
}

func TestTornJournalTailIsCut(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, _ := Open(dir, Options{})
	db.Create("s", testSpec(t), false)
	db.Apply(context.Background(), Batch{Updates: []Update{{Series: "s", Time: 1000000010, Values: []string{"1", "1"}}}})
	crash(db)
	f, _ := os.OpenFile(filepath.Join(dir, "journal.wal"), os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte{200, 0, 0, 0, 1, 2, 3}) // a record header promising more than is there
	f.Close()
	db2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if last, _ := db2.LastUpdate("s"); last != 1000000010 {
		t.Errorf("last update %d after replay", last)
	}
}

func TestCorruptArchivesAreReportedNotRead(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		damage func(p string, size int64, lay layout)
		want   string
	}{
		{"truncated", func(p string, size int64, _ layout) { os.Truncate(p, size-100) }, "truncated or corrupt"},
		{"bad magic", func(p string, _ int64, _ layout) { writeAt(p, 0, []byte("XXXX")) }, "bad magic"},
		// Bytes are flipped, not overwritten: a fixed value may already be
		// there (the state holds times), and then nothing would be damaged.
		{"definition", func(p string, _ int64, _ layout) { flipAt(p, 20) }, "definition checksum"},
		{"both state slots", func(p string, _ int64, lay layout) {
			flipAt(p, lay.slotOff+30)
			flipAt(p, lay.slotOff+lay.slotSize+30)
		}, "no valid state slot"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db, _ := Open(dir, Options{})
			db.Create("web.1", testSpec(t), true) // a file of its own (rowsum_test damages places of packs)
			db.Close()
			p := filepath.Join(dir, "series", "web.1.rrd")
			fi, _ := os.Stat(p)
			a, err := openArchive(p, trust{ckpt: math.MaxUint64}, true, nil)
			if err != nil {
				t.Fatal(err)
			}
			a.close()
			c.damage(p, fi.Size(), a.lay)
			db2, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db2.Close()
			_, err = db2.Fetch("web.1", FetchRequest{CF: Average, Start: 1000000000, End: 1000000100})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("error %v, want %q naming %s", err, c.want, p)
			}
		})
	}
}

// crash drops db as a killed process would: no checkpoint, files and the
// lock simply released.
func crash(db *DB) {
	// the journal's file is closed as it is: a killed process cuts no
	// preallocated zeros (its fill is stopped first, as death stops it)
	db.jr.mu.Lock()
	db.jr.pre.closed = true
	db.jr.mu.Unlock()
	db.jr.pre.done.Wait()
	db.jr.f.Close()
	db.lock.Close()
	for _, a := range db.series {
		// a killed process never writes the checksum entries that wait
		// for the next read, checkpoint or close (rowsum.go writeSums)
		a.sumLo, a.sumHi = 0, 0
		a.close()
	}
	db.packs.close()
}

func writeAt(p string, off int64, b []byte) {
	f, _ := os.OpenFile(p, os.O_WRONLY, 0)
	f.WriteAt(b, off)
	f.Close()
}

// flipAt inverts the bits of the byte at off.
func flipAt(p string, off int64) {
	f, _ := os.OpenFile(p, os.O_RDWR, 0)
	b := make([]byte, 1)
	f.ReadAt(b, off)
	b[0] ^= 0xff
	f.WriteAt(b, off)
	f.Close()
}

func TestSeriesNamesMapSafely(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, _ := Open(dir, Options{})
	defer db.Close()
	names := []string{"tracelog.web1", "//host/check/section#metric", "http.requests;route=GET:/g;status_code=200",
		"../../etc/passwd", ".hidden", "a/b", "a%2Fb", "ünïcödé ☃", strings.Repeat("x.", 150)}
	for _, n := range names {
		if err := db.Create(n, testSpec(t), true); err != nil { // files: their names are the test
			t.Fatalf("%q: %v", n, err)
		}
	}
	got, _ := db.List("")
	if len(got) != len(names) {
		t.Fatalf("list %q", got)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "series"))
	for _, e := range ents {
		if strings.Contains(e.Name(), "/") || strings.HasPrefix(e.Name(), ".") {
			t.Errorf("unsafe file name %q", e.Name())
		}
	}
	if g, _ := db.List("tracelog.*"); len(g) != 1 {
		t.Errorf("glob: %q", g)
	}
	for _, bad := range []string{"", "a\x00b", string([]byte{0xff})} {
		if err := db.Create(bad, testSpec(t), false); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestImportOfRRDtoolDump dumps RRDs made by real rrdtool and checks that
// fetches of the imported series print exactly what rrdtool fetch prints.
func TestImportOfRRDtoolDump(t *testing.T) {
	h := newRRDtoolHarness(t)
	t.Parallel()
	db := h.openDB(t)
	nf := 0
	for i := 0; i < 12; i++ {
		c := genCase(newRand(uint64(1000 + i)))
		file := h.path("c.rrd")
		os.Remove(file)
		h.createCase(t, file, c)
		h.feed(file, c.chunks)
		xml, err := h.cmd("dump", file).Output()
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Import(bytes.NewReader(xml), "imp", true, nil); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		nf += h.compareFetches(t, fmt.Sprintf("case %d", i), file, c.fetches, func(q FetchRequest) (*FetchResult, error) { return db.Fetch("imp", q) }, nil)
	}
	if err := db.Import(strings.NewReader("<rrd><step>x</step>"), "bad", true, nil); err == nil || !strings.Contains(err.Error(), "line") {
		t.Errorf("bad XML: %v", err)
	}
	t.Logf("%d fetches of imported dumps equal rrdtool's", nf)
	_ = math.NaN
}

func TestOverwriteDoesNotReplayOldUpdates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, _ := Open(dir, Options{})
	db.Create("s", testSpec(t), false)
	db.Apply(context.Background(), Batch{Updates: []Update{{Series: "s", Time: 1000000500, Values: []string{"7", "1"}}}})
	if err := db.Create("s", testSpec(t), true); err != nil {
		t.Fatal(err)
	}
	crash(db)
	db2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if last, _ := db2.LastUpdate("s"); last != 1000000000 {
		t.Errorf("the recreated series got the old series' update: last %d", last)
	}
}

// A data directory is held by one DB at a time; the refusal names the
// holder, and the directory is free again after Close.
func TestDataDirectoryLock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "in use by another process") || !strings.Contains(err.Error(), fmt.Sprintf("pid %d ", os.Getpid())) {
		t.Fatalf("second Open: %v, want an error naming pid %d", err, os.Getpid())
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	db2.Close()
}
