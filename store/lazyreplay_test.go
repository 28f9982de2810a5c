package store

import (
	"context"
	"fmt"
	"testing"
)

// TestDeferredReplay: after a crash, Open defers the journaled updates of
// archives not in memory; each way they are applied — the first use of a
// series, a checkpoint, a close, ReplayDeferred beside readers, a new update on top,
// a deletion — leaves every series equal to the in-memory engine, across
// a reopen, with the archives verifying clean.
func TestDeferredReplay(t *testing.T) {
	t.Parallel()
	const nSeries, limit = 40, 4
	cases := []struct {
		name  string
		apply func(t *testing.T, db *DB, refs []*RRD)
	}{
		{"first use", func(t *testing.T, db *DB, refs []*RRD) {}},
		{"checkpoint", func(t *testing.T, db *DB, refs []*RRD) {
			if err := db.Checkpoint(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := db.DeferredReplay(); n != 0 {
				t.Fatalf("after a checkpoint %d series still deferred", n)
			}
		}},
		{"close", nil},
		{"ReplayDeferred beside readers", func(t *testing.T, db *DB, refs []*RRD) {
			done := make(chan error, 1)
			go func() { done <- db.ReplayDeferred(context.Background()) }()
			for i := len(refs) - 1; i >= 0; i -= 3 { // readers meanwhile
				if _, err := db.LastUpdate(fmt.Sprint("s", i)); err != nil {
					t.Error(err)
				}
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if n := db.DeferredReplay(); n != 0 {
				t.Fatalf("after ReplayDeferred %d series still deferred", n)
			}
		}},
		{"new update on top", func(t *testing.T, db *DB, refs []*RRD) {
			var b Batch
			for i := range refs {
				u := Update{Series: fmt.Sprint("s", i), Time: 1000000400, Values: []string{"3", "777777"}}
				b.Updates = append(b.Updates, u)
				refs[i].Update(u.Time, 0, u.Values)
			}
			if _, err := db.Apply(context.Background(), b); err != nil {
				t.Fatal(err)
			}
		}},
		{"delete and create again", func(t *testing.T, db *DB, refs []*RRD) {
			if err := db.Delete("s0"); err != nil {
				t.Fatal(err)
			}
			spec := testSpec(t)
			if _, err := db.Ensure("s0", spec); err != nil {
				t.Fatal(err)
			}
			refs[0], _ = NewRRD(spec)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dir := t.TempDir()
			opt := Options{MaxOpenFiles: limit}
			db, err := Open(dir, opt)
			if err != nil {
				t.Fatal(err)
			}
			spec := testSpec(t)
			refs := make([]*RRD, nSeries)
			for i := range refs {
				if _, err := db.Ensure(fmt.Sprint("s", i), spec); err != nil {
					t.Fatal(err)
				}
				refs[i], _ = NewRRD(spec)
			}
			if err := db.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
			for k := 1; k <= 12; k++ {
				var b Batch
				for i := range refs {
					u := Update{Series: fmt.Sprint("s", i), Time: 1000000000 + int64(k*13+i%7), Values: []string{fmt.Sprint(k * i), fmt.Sprint(k * 1000 * (i + 1))}}
					b.Updates = append(b.Updates, u)
					refs[i].Update(u.Time, 0, u.Values)
				}
				if _, err := db.Apply(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
			crash(db)
			opt.BootID = "another boot"
			if db, err = Open(dir, opt); err != nil {
				t.Fatal(err)
			}
			if n := db.DeferredReplay(); n != nSeries {
				t.Fatalf("after Open %d series deferred, want %d", n, nSeries)
			}
			check := func(db *DB, when string) {
				t.Helper()
				for i, ref := range refs {
					name := fmt.Sprint("s", i)
					for _, cf := range []CF{Average, Max} {
						req := FetchRequest{CF: cf, Start: 1000000000, End: 1000000500}
						got, err := db.Fetch(name, req)
						if err != nil {
							t.Fatalf("%s: %s: %v", when, name, err)
						}
						want, _ := ref.Fetch(req)
						if g, w := fmt.Sprint(got.Values), fmt.Sprint(want.Values); g != w {
							t.Fatalf("%s: %s %s:\n%s\nwant\n%s", when, name, cf, g, w)
						}
					}
				}
			}
			if c.apply != nil {
				c.apply(t, db, refs)
				check(db, "applied")
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			if db, err = Open(dir, opt); err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if n := db.DeferredReplay(); n != 0 {
				t.Fatalf("after a close and Open %d series deferred, want 0", n)
			}
			check(db, "after a close")
			if rep, err := db.VerifyArchives(ctx); err != nil || len(rep.Damage) > 0 || rep.Checked != nSeries {
				t.Fatalf("VerifyArchives: %+v %v", rep, err)
			}
		})
	}
}

// TestDeferredReplayCallEnds: Holt-Winters smoothing runs at the end of
// each update call, so deferred updates must end their calls where the
// journal's records did — several updates of a series in one record, a
// series in some records only, series evicted and re-deferred. Each way
// of applying them leaves every archive as a process that never crashed
// has it (the whole archive: rows, state, Holt-Winters arrays).
func TestDeferredReplayCallEnds(t *testing.T) {
	t.Parallel()
	spec, err := ParseSpecArgs(60, 1_000_000_000-60, []string{"DS:v:GAUGE:600:U:U", "RRA:AVERAGE:0.5:1:50", "RRA:SEASONAL:6:0.2:3:smoothing-window=0.5", "RRA:HWPREDICT:50:0.3:0.1:6:2"})
	if err != nil {
		t.Fatal(err)
	}
	const nSeries = 9
	names := make([]string, nSeries)
	for i := range names {
		names[i] = fmt.Sprintf("hw%d.x", i)
	}
	// record k holds, for each series i with (i+k)%3 != 0, one to three
	// updates of it
	write := func(t *testing.T, db *DB) {
		for _, n := range names {
			if _, err := db.Ensure(n, spec); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Checkpoint(context.Background()); err != nil {
			t.Fatal(err)
		}
		tm := make([]int64, nSeries)
		for k := range 30 {
			var b Batch
			for i, n := range names {
				if (i+k)%3 == 0 {
					continue
				}
				for j := range 1 + (i+k)%3 {
					tm[i] += 20 + int64(j*7+i)
					b.Updates = append(b.Updates, Update{Series: n, Time: 1_000_000_000 + tm[i], Values: []string{fmt.Sprint((k*31+i*7+j)%50 + i)}})
				}
			}
			if _, err := db.Apply(context.Background(), b); err != nil {
				t.Fatal(err)
			}
		}
	}
	clean, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	write(t, clean)
	want := map[string]string{}
	for _, n := range names {
		d, err := clean.Dump(n)
		if err != nil {
			t.Fatal(err)
		}
		want[n] = fmt.Sprintf("%+v", d)
	}
	clean.Close()
	for _, how := range []string{"first use", "ReplayDeferred", "close"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			opt := Options{MaxOpenFiles: 3}
			db, err := Open(dir, opt)
			if err != nil {
				t.Fatal(err)
			}
			write(t, db)
			crash(db)
			opt.BootID = "another boot"
			if db, err = Open(dir, opt); err != nil {
				t.Fatal(err)
			}
			if n := db.DeferredReplay(); n != nSeries {
				t.Fatalf("%d series deferred, want %d", n, nSeries)
			}
			switch how {
			case "ReplayDeferred":
				if err := db.ReplayDeferred(context.Background()); err != nil {
					t.Fatal(err)
				}
			case "close":
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
				if db, err = Open(dir, opt); err != nil {
					t.Fatal(err)
				}
			}
			defer db.Close()
			for _, n := range names {
				d, err := db.Dump(n)
				if err != nil {
					t.Fatal(err)
				}
				if got := fmt.Sprintf("%+v", d); got != want[n] {
					t.Errorf("%s:\n%s\nwant\n%s", n, got, want[n])
				}
			}
		})
	}
}
