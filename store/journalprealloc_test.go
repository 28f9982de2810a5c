package store

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestJournalZeroTailIsNotDamage: zeros after the last record — what a
// preallocating writer leaves when it is killed — end the records: no
// damage, no torn tail, every record replayed (the last ones end in zero
// bytes: their position count), the file cut back to them. Damage
// before the zeros is still a torn tail, and damage that a valid record
// follows is still corruption.
func TestJournalZeroTailIsNotDamage(t *testing.T) {
	t.Parallel()
	fx := newCorruptFixture(t)
	end := fx.offs[corruptN]
	t.Run("zeros", func(t *testing.T) {
		t.Parallel()
		dir := fx.clone(t)
		jp := filepath.Join(dir, journalName)
		appendBytes(jp, make([]byte, 3<<20))
		rep, err := CheckJournal(dir)
		if err != nil || rep.Corrupt() || rep.TornTail != 0 || rep.Records != corruptN {
			t.Fatalf("check: %+v %v", rep, err)
		}
		var log bytes.Buffer
		db, err := Open(dir, Options{BootID: "B", Logger: slog.New(slog.NewTextHandler(&log, nil))})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		expectReplayed(t, db, nil)
		if strings.Contains(log.String(), "torn tail") || !strings.Contains(log.String(), "cut the zeros") {
			t.Errorf("zeros not logged as zeros, or as a torn tail: %s", log.String())
		}
		if fi, _ := os.Stat(jp); fi.Size() != end {
			t.Errorf("journal %d bytes after replay, want %d (the zeros cut)", fi.Size(), end)
		}
	})
	t.Run("damage then zeros", func(t *testing.T) {
		t.Parallel()
		dir := fx.clone(t)
		jp := filepath.Join(dir, journalName)
		appendBytes(jp, append([]byte{200, 0, 0, 0, 1, 2, 3, 4, 0, 1}, make([]byte, 1<<20)...))
		rep, err := CheckJournal(dir)
		if err != nil || rep.Corrupt() || rep.TornTailOffset != end {
			t.Fatalf("check: %+v %v", rep, err)
		}
	})
	t.Run("zeroed page before a record", func(t *testing.T) {
		t.Parallel()
		dir := fx.clone(t)
		jp := filepath.Join(dir, journalName)
		at := fx.offs[corruptN/2]
		writeAt(jp, at, make([]byte, fx.offs[corruptN/2+3]-at))
		if rep, err := CheckJournal(dir); err != nil || !rep.Corrupt() {
			t.Fatalf("a zeroed stretch that records follow passed: %+v %v", rep, err)
		}
	})
}

// TestJournalPrealloc: with JournalPrealloc, zeros are kept past the
// records and synced; updates are journaled over them and replayed after a
// kill; Close cuts the zeros (the file ends at its last record, as a
// reader checks); a checkpoint's truncation restarts the fill.
func TestJournalPrealloc(t *testing.T) {
	t.Parallel()
	const pre = 1 << 20
	dir := t.TempDir()
	jp := filepath.Join(dir, journalName)
	open := func() *DB {
		db, err := Open(dir, Options{BootID: "A", JournalPrealloc: pre})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	filled := func(db *DB) int64 {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			db.jr.mu.Lock()
			alloc, written, filling := db.jr.pre.alloc, db.jr.written, db.jr.pre.filling
			db.jr.mu.Unlock()
			if !filling && alloc-written >= pre/2 {
				return alloc
			}
		}
		t.Fatal("no preallocation")
		return 0
	}
	db := open()
	if err := db.Create("s", corruptSpec(t), false); err != nil {
		t.Fatal(err)
	}
	apply := func(db *DB, from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			if res, err := db.Apply(context.Background(), Batch{Updates: []Update{corruptUpdate(i)}}); err != nil || len(res.Errors) > 0 {
				t.Fatalf("apply %d: %v %v", i, err, res.Errors)
			}
		}
	}
	apply(db, 0, 100)
	alloc := filled(db)
	if fi, _ := os.Stat(jp); fi.Size() < alloc {
		t.Fatalf("journal %d bytes, preallocated to %d", fi.Size(), alloc)
	}
	apply(db, 100, 300)
	crash(db)
	if fi, _ := os.Stat(jp); fi.Size() <= db.jr.written {
		t.Fatalf("no zeros past the records (%d bytes, records to %d)", fi.Size(), db.jr.written)
	}
	db = open() // replays over the zeros
	expectSeries(t, db, 300)
	apply(db, 300, 400)
	filled(db)
	if err := db.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(jp); fi.Size() > journalHeadSize {
		db.jr.mu.Lock()
		filling := db.jr.pre.filling
		db.jr.mu.Unlock()
		if !filling {
			t.Fatalf("checkpoint left %d bytes", fi.Size())
		}
	}
	apply(db, 400, 450) // a group commit restarts the fill
	filled(db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(jp); fi.Size() != db.jr.written {
		t.Fatalf("closed journal %d bytes, records end at %d: zeros not cut", fi.Size(), db.jr.written)
	}
	// a reader opens the closed directory without a replay
	r, err := Open(dir, Options{BootID: "A", ReadOnly: true, NoReplay: true})
	if err != nil {
		t.Fatalf("reader after close: %v", err)
	}
	expectSeries(t, r, 450)
	r.Close()
}

// expectSeries demands the series s of corruptUpdate's first n updates.
func expectSeries(t *testing.T, db *DB, n int) {
	t.Helper()
	last, err := db.LastUpdate("s")
	if err != nil {
		t.Fatal(err)
	}
	if want := corruptUpdate(n - 1).Time; last != want {
		t.Fatalf("last update %d, want %d", last, want)
	}
	res, err := db.Fetch("s", FetchRequest{CF: Last, Start: 1000000000, End: corruptUpdate(n - 1).Time})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < n; i++ { // the first update only starts the series
		at := (corruptUpdate(i).Time - res.Start) / res.Step
		if at < 1 || int(at) > len(res.Values[0]) || res.Values[0][at-1] != float64(i) {
			t.Fatalf("update %d missing (row %d)", i, at)
		}
	}
}

// TestJournalPreallocRefused: a negative preallocation is refused.
func TestJournalPreallocRefused(t *testing.T) {
	t.Parallel()
	if _, err := Open(t.TempDir(), Options{JournalPrealloc: -1}); err == nil || !strings.Contains(err.Error(), "preallocation") {
		t.Fatalf("negative preallocation: %v", err)
	}
}
