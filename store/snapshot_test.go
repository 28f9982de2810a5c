package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const snapStart = 1_000_000_000

// snapshotSpec: one GAUGE, step 1, one AVERAGE row per step, so row t
// holds the value given at t.
func snapshotSpec(t testing.TB) Spec {
	t.Helper()
	s, err := ParseSpecArgs(1, snapStart, []string{"DS:v:GAUGE:600:U:U", "RRA:AVERAGE:0:1:4000", "RRA:MAX:0:10:400"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func snapValue(series int, tm int64) float64 { return float64(series*100000 + int(tm-snapStart)) }

// checkSnapshotSeries demands that the series of a snapshot holds every
// update up to its last update, and no gap: the values a writer gave.
func checkSnapshotSeries(t *testing.T, db *DB, i int, atLeast int64) {
	t.Helper()
	name := fmt.Sprintf("snap.%03d", i)
	last, err := db.LastUpdate(name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if last < atLeast {
		t.Fatalf("%s: last update %d, but %d was acknowledged before the snapshot", name, last, atLeast)
	}
	if last == snapStart {
		return
	}
	res, err := db.Fetch(name, FetchRequest{CF: Average, Start: snapStart, End: last})
	if err != nil {
		t.Fatal(err)
	}
	for r := 0; r < res.Rows(); r++ {
		tm := res.Start + int64(r+1)*res.Step
		if tm <= snapStart+1 || tm > last {
			continue
		}
		if got := res.Values[0][r]; got != snapValue(i, tm) {
			t.Fatalf("%s at %d: %v, want %v", name, tm, got, snapValue(i, tm))
		}
	}
}

// TestSnapshotUnderIngest takes snapshots while writers go on, with
// checkpoints now and then (the default size) and with a checkpoint every
// few records (the fallback copy), and a series created during each
// snapshot: every update acknowledged before the snapshot began is in
// it, every series reads without a hole, and every block verifies.
func TestSnapshotUnderIngest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		ckptBytes int64
	}{{"rare-checkpoints", 0}, {"checkpoint-every-4KiB", 4096}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db, err := Open(filepath.Join(dir, "data"), Options{CheckpointBytes: tc.ckptBytes})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			const n = 40
			for i := range n {
				if err := db.Create(fmt.Sprintf("snap.%03d", i), snapshotSpec(t), false); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			var acked [n]atomic.Int64
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Go(func() {
					for tm := int64(snapStart + 1); tm < snapStart+3500 && ctx.Err() == nil; tm++ {
						var b Batch
						for i := w; i < n; i += 4 {
							b.Updates = append(b.Updates, Update{Series: fmt.Sprintf("snap.%03d", i), Time: tm,
								Values: []string{strconv.FormatFloat(snapValue(i, tm), 'f', -1, 64)}})
						}
						if _, err := db.Apply(ctx, b); err != nil {
							if ctx.Err() == nil {
								t.Error(err)
							}
							return
						}
						for i := w; i < n; i += 4 {
							acked[i].Store(tm)
						}
					}
				})
			}
			for k := range 3 {
				time.Sleep(30 * time.Millisecond)
				var before [n]int64
				for i := range n {
					before[i] = acked[i].Load()
				}
				dest := filepath.Join(dir, fmt.Sprintf("snap%d", k))
				if err := os.Mkdir(dest, 0o755); err != nil {
					t.Fatal(err)
				}
				created := make(chan error, 1)
				go func() { created <- db.Create(fmt.Sprintf("new.%d", k), snapshotSpec(t), false) }()
				rep, err := db.Snapshot(ctx, dest)
				if err != nil {
					t.Fatal(err)
				}
				if err := <-created; err != nil {
					t.Fatal(err)
				}
				t.Logf("snapshot %d: %+v", k, *rep)
				if _, err := os.Stat(filepath.Join(dest, "LOCK")); err == nil {
					t.Error("the snapshot holds a LOCK file")
				}
				sdb, err := Open(dest, Options{ReadOnly: true, NoReplay: true})
				if err != nil {
					t.Fatalf("the snapshot is not clean (opened read-only without replay): %v", err)
				}
				for i := range n {
					checkSnapshotSeries(t, sdb, i, before[i])
				}
				vr, err := sdb.VerifyArchives(ctx)
				if err != nil || len(vr.Damage) > 0 || vr.Checked != rep.Archives {
					t.Errorf("verify: %+v %v (archives %d)", vr, err, rep.Archives)
				}
				sdb.Close()
			}
			cancel()
			wg.Wait()
		})
	}
}

func TestSnapshotRefusesNonEmptyDest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := Open(filepath.Join(dir, "data"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dest := filepath.Join(dir, "dest")
	if err := os.MkdirAll(filepath.Join(dest, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Snapshot(context.Background(), dest); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("snapshot into a non-empty directory: %v", err)
	}
	if _, err := db.Snapshot(context.Background(), filepath.Join(dir, "missing")); err == nil {
		t.Error("snapshot into a missing directory: no error")
	}
}

// TestSnapshotTakesTheJournal writes between the copy of the archives and
// the held step — updates of a copied series, a new series and its
// updates — and finds them all in the snapshot: they reach it only through
// the copied journal (or the second copy of a created series).
func TestSnapshotTakesTheJournal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := Open(filepath.Join(dir, "data"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	apply := func(name string, i int, from, to int64) {
		t.Helper()
		var b Batch
		for tm := from; tm <= to; tm++ {
			b.Updates = append(b.Updates, Update{Series: name, Time: tm, Values: []string{strconv.FormatFloat(snapValue(i, tm), 'f', -1, 64)}})
		}
		if _, err := db.Apply(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 {
		if err := db.Create(fmt.Sprintf("snap.%03d", i), snapshotSpec(t), false); err != nil {
			t.Fatal(err)
		}
		apply(fmt.Sprintf("snap.%03d", i), i, snapStart+1, snapStart+100)
	}
	dest := filepath.Join(dir, "snap")
	os.Mkdir(dest, 0o755)
	rep, err := db.snapshot(ctx, dest, func() {
		apply("snap.000", 0, snapStart+101, snapStart+300)
		if err := db.Create("snap.002", snapshotSpec(t), false); err != nil {
			t.Fatal(err)
		}
		apply("snap.002", 2, snapStart+1, snapStart+50)
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Fallback || rep.Recopied != 1 || rep.JournalBytes == 0 || rep.Archives != 3 {
		t.Errorf("report %+v: want no fallback, 1 recopied, journal bytes, 3 archives", *rep)
	}
	sdb, err := Open(dest, Options{ReadOnly: true, NoReplay: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	for i, last := range []int64{snapStart + 300, snapStart + 100, snapStart + 50} {
		checkSnapshotSeries(t, sdb, i, last)
	}
}

// TestManifestAndRestore: a manifest lists every file; a changed byte, a
// cut file, a missing file and an extra file each fail verification by
// name; a restore refuses a non-empty target and leaves no marker when it
// finishes.
func TestManifestAndRestore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := Open(filepath.Join(dir, "data"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Create("a", snapshotSpec(t), false); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Apply(context.Background(), Batch{Updates: []Update{{Series: "a", Time: snapStart + 5, Values: []string{"7"}}}}); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good")
	os.Mkdir(good, 0o755)
	if _, err := db.Snapshot(context.Background(), good); err != nil {
		t.Fatal(err)
	}
	db.Close()
	m, err := WriteManifest(good, map[string]string{"k": "v"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// a series created through the journal lies in a pack; the copy of a
	// pack ends with its last place
	if len(m.Files) != 3 || m.Files[0].Path != "journal.wal" || m.Files[1].Path != "packs/000000.pack" || m.Files[2].Path != "packs/index" ||
		m.Files[1].Size > 1<<20 {
		t.Fatalf("manifest files: %+v", m.Files)
	}
	if _, err := VerifyManifest(good); err != nil {
		t.Fatal(err)
	}
	copyTree := func(name string) string {
		t.Helper()
		d := filepath.Join(dir, name)
		for _, f := range append(m.Files, ManifestFile{Path: ManifestName}) {
			b, err := os.ReadFile(filepath.Join(good, f.Path))
			if err != nil {
				t.Fatal(err)
			}
			os.MkdirAll(filepath.Dir(filepath.Join(d, f.Path)), 0o755)
			if err := os.WriteFile(filepath.Join(d, f.Path), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	for _, tc := range []struct {
		name  string
		spoil func(d string)
		want  string
	}{
		{"flipped-byte", func(d string) {
			p := filepath.Join(d, "packs", "000000.pack")
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 1
			os.WriteFile(p, b, 0o644)
		}, "packs/000000.pack: SHA-256"},
		{"cut", func(d string) { os.Truncate(filepath.Join(d, "journal.wal"), 100) }, "journal.wal: 100 bytes"},
		{"missing", func(d string) { os.Remove(filepath.Join(d, "packs", "index")) }, "packs/index: open"},
		{"extra", func(d string) { os.WriteFile(filepath.Join(d, "packs", "000001.pack"), nil, 0o644) }, "packs/000001.pack: not in the manifest"},
		{"no-manifest", func(d string) { os.Remove(filepath.Join(d, ManifestName)) }, "did not finish"},
		{"outside", func(d string) {
			os.WriteFile(filepath.Join(d, ManifestName), []byte(`{"format":1,"files":[{"path":"../x"}]}`), 0o644)
		}, "outside the backup"},
	} {
		d := copyTree(tc.name)
		tc.spoil(d)
		_, err := VerifyManifest(d)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
		if _, err := RestoreSnapshot(d, filepath.Join(dir, "r-"+tc.name)); err == nil {
			t.Errorf("%s: restored", tc.name)
		}
	}
	full := filepath.Join(dir, "full")
	os.MkdirAll(filepath.Join(full, "series"), 0o755)
	if _, err := RestoreSnapshot(good, full); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("restore into a non-empty directory: %v", err)
	}
	for _, target := range []string{filepath.Join(dir, "new"), filepath.Join(dir, "full", "series")} {
		if _, err := RestoreSnapshot(good, target); err != nil {
			t.Fatal(err)
		}
		if err := CheckRestoreComplete(target); err != nil {
			t.Error(err)
		}
		rdb, err := Open(target, Options{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := rdb.Fetch("a", FetchRequest{CF: Average, Start: snapStart, End: snapStart + 5})
		if err != nil || res.Values[0][(snapStart+5-res.Start)/res.Step-1] != 7 {
			t.Errorf("restored fetch: %+v %v", res, err)
		}
		rdb.Close()
	}
	os.WriteFile(filepath.Join(full, RestoreIncomplete), nil, 0o644)
	if err := CheckRestoreComplete(full); err == nil {
		t.Error("a directory with the restore marker: no error")
	}
}

// FuzzReadManifest: any manifest bytes are refused with an error or read
// into files whose paths stay inside the backup; never a panic.
func FuzzReadManifest(f *testing.F) {
	for _, s := range []string{
		`{"format":1,"created":"2026-12-03T12:00:00Z","files":[{"path":"journal.wal","size":4096,"sha256":"00"},{"path":"series/a.rrd","size":1,"sha256":"ab"}]}`,
		`{"format":1,"files":[{"path":"../x"}]}`,
		`{"format":1,"files":[{"path":"/etc/passwd"}]}`,
		`{"format":1,"files":[{"path":"MANIFEST.json"}]}`,
		`{"format":2,"files":[]}`,
		`{"format":1,"files":[{"path":""}]}`,
		`{"format":1,"files":[{"path":"a/../../b"}]}`,
		`not json`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, ManifestName), b, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := ReadManifest(dir)
		if err != nil {
			return
		}
		for _, fl := range m.Files {
			p := filepath.FromSlash(fl.Path)
			if !filepath.IsLocal(p) || fl.Path == ManifestName {
				t.Fatalf("accepted path %q", fl.Path)
			}
		}
		// verification of a manifest naming files that are not there fails
		if len(m.Files) > 0 {
			if _, err := VerifyManifest(dir); err == nil {
				t.Fatalf("verified a manifest of %d missing files", len(m.Files))
			}
		}
	})
}

// BenchmarkSnapshot: a snapshot of 200 series of the default archives of
// created-on-sight series (1m×2d, 5m×2w, 1h×13M, 1d×10y, four CFs: 675,840
// bytes each) while one writer updates them all every iteration; reports
// the copy rate and how long writers were held.
func BenchmarkSnapshot(b *testing.B) {
	dir := b.TempDir()
	db, err := Open(filepath.Join(dir, "data"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var args []string
	for _, sp := range []string{"1m:2d", "5m:2w", "1h:13M", "1d:10y"} {
		st, rows, _ := strings.Cut(sp, ":")
		for _, cf := range []string{"AVERAGE", "MIN", "MAX", "LAST"} {
			args = append(args, "RRA:"+cf+":0.5:"+st+":"+rows)
		}
	}
	spec, err := ParseSpecArgs(60, snapStart, append([]string{"DS:v:GAUGE:120:U:U"}, args...))
	if err != nil {
		b.Fatal(err)
	}
	const n = 200
	for i := range n {
		if err := db.Create(fmt.Sprintf("s%03d", i), spec, false); err != nil {
			b.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for tm := int64(snapStart + 60); ctx.Err() == nil; tm += 60 {
			var bt Batch
			for i := range n {
				bt.Updates = append(bt.Updates, Update{Series: fmt.Sprintf("s%03d", i), Time: tm, Values: []string{"1"}})
			}
			if _, err := db.Apply(ctx, bt); err != nil {
				return
			}
		}
	}()
	var locked, ckpt, held time.Duration
	var bytes int64
	b.ResetTimer()
	for k := 0; k < b.N; k++ {
		dest := filepath.Join(dir, fmt.Sprintf("snap%d", k))
		os.Mkdir(dest, 0o755)
		rep, err := db.Snapshot(ctx, dest)
		if err != nil {
			b.Fatal(err)
		}
		locked, ckpt, held = max(locked, rep.Locked), max(ckpt, rep.HeldCheckpoint), max(held, rep.HeldCopy)
		bytes += rep.Bytes
		b.StopTimer()
		os.RemoveAll(dest)
		b.StartTimer()
	}
	b.ReportMetric(float64(bytes)/b.Elapsed().Seconds()/1e6, "MB/s")
	b.ReportMetric(float64(locked.Microseconds())/1000, "max-held-ms")
	b.ReportMetric(float64(ckpt.Microseconds())/1000, "max-checkpoint-held-ms")
	b.ReportMetric(float64(held.Microseconds())/1000, "max-copy-held-ms")
	cancel()
	<-done
}
