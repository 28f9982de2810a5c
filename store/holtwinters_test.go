package store

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestParseHWRRA(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		want    []string // the archives' definitions as rrdash writes them
		wantErr string
	}{
		{args: []string{"RRA:HWPREDICT:100:0.1:0.0035:24"}, want: []string{
			"RRA:HWPREDICT:100:0.1:0.0035:24:2", "RRA:SEASONAL:24:0.1:1:implied-window=0", "RRA:DEVSEASONAL:24:0.1:1:implied-window=0",
			"RRA:DEVPREDICT:100:3", "RRA:FAILURES:24:7:9:3"}},
		{args: []string{"RRA:AVERAGE:0.5:1:10", "RRA:MHWPREDICT:1h:0.5:0.5:10"}, want: []string{
			"RRA:AVERAGE:0.5:1:10", "RRA:MHWPREDICT:60:0.5:0.5:10:3", "RRA:SEASONAL:10:0.5:2:implied-window=0",
			"RRA:DEVSEASONAL:10:0.5:2:implied-window=0", "RRA:DEVPREDICT:60:4", "RRA:FAILURES:10:7:9:4"}},
		{args: []string{"RRA:SEASONAL:24:0.2:2:smoothing-window=0.2", "RRA:HWPREDICT:48:0.3:0.1:24:1"}, want: []string{
			"RRA:SEASONAL:24:0.2:2:smoothing-window=0.2", "RRA:HWPREDICT:48:0.3:0.1:24:1"}},
		{args: []string{"RRA:HWPREDICT:100:0:0.1:24"}, wantErr: "Invalid alpha: must be between 0 and 1"},
		{args: []string{"RRA:HWPREDICT:100:0.5:1.5:24"}, wantErr: "Invalid beta: must be between 0 and 1"},
		{args: []string{"RRA:HWPREDICT:10:0.5:0.5:24"}, wantErr: "Length of seasonal cycle exceeds length of HW prediction array"},
		{args: []string{"RRA:HWPREDICT:100:0.5:0.5"}, wantErr: "Expected at least 5 arguments for RRA but got 4"},
		{args: []string{"RRA:SEASONAL:24:1:1"}, wantErr: "Invalid gamma: must be between 0 and 1"},
		{args: []string{"RRA:SEASONAL:24:0.5:1:smoothing-window=2"}, wantErr: "Invalid smoothing-window 2: must be between 0 and 1"},
		{args: []string{"RRA:SEASONAL:24:0.5:1:foo"}, wantErr: "Invalid option foo"},
		{args: []string{"RRA:FAILURES:24:0:3:1"}, wantErr: "Failure threshold is out of range 1, 28"},
		{args: []string{"RRA:FAILURES:24:3:29:1"}, wantErr: "Window length is out of range 1, 28"},
		{args: []string{"RRA:FAILURES:24:5:3:1"}, wantErr: "Window length is shorter than the failure threshold"},
		{args: []string{"RRA:DEVPREDICT:24:1:2"}, wantErr: "Unexpected extra argument for consolidation function DEVPREDICT"},
		{args: []string{"RRA:AVERAGE:0.5:1:10", "RRA:DEVPREDICT:24:1"}, wantErr: "archive 1 is AVERAGE"},
		{args: []string{"RRA:DEVPREDICT:24:7"}, wantErr: "dependent archive 7 does not exist"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			spec, err := ParseSpecArgs(60, 1_700_000_000, append([]string{"DS:a:GAUGE:120:U:U"}, tc.args...))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range spec.RRA {
				got = append(got, r.String())
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("got  %v\nwant %v", got, tc.want)
			}
			// written back, the definition parses to the same archives
			again, err := ParseSpecArgs(60, 1_700_000_000, append([]string{"DS:a:GAUGE:120:U:U"}, got...))
			if err != nil {
				t.Fatal(err)
			}
			for i := range spec.RRA {
				if again.RRA[i] != spec.RRA[i] {
					t.Fatalf("archive %d: %+v parsed again as %+v", i, spec.RRA[i], again.RRA[i])
				}
			}
		})
	}
}

func TestAssignSmoothIdxIsRRDtoolsHash(t *testing.T) {
	t.Parallel()
	// FnvHash("x.rrd") in rrdtool 1.7.2's 64-bit arithmetic
	h := uint64(0x811c9dc5)
	for _, c := range []byte("x.rrd") {
		h = h*0x01000193 ^ uint64(c)
	}
	spec, err := ParseSpecArgs(60, 1_700_000_000, []string{"DS:a:GAUGE:120:U:U", "RRA:HWPREDICT:100:0.1:0.1:37"})
	if err != nil {
		t.Fatal(err)
	}
	spec.AssignSmoothIdx("x.rrd")
	if got, want := spec.RRA[1].HW.SmoothIdx, int64(h%37); got != want || spec.RRA[2].HW.SmoothIdx != want {
		t.Fatalf("smooth idx %d, want %d", got, want)
	}
}

// Holt-Winters state survives the archive file (state slots), a
// checkpoint, a crash (journal replay, with smoothing runs replayed at the
// same points) and a reopen: every archive equals the same series kept in
// memory.
func TestHoltWintersDBReplayMatchesMemory(t *testing.T) {
	t.Parallel()
	for _, l := range []int{0, 4, 5} {
		t.Run(hwLayouts[l].name, func(t *testing.T) {
			t.Parallel()
			c := genHWCase(newRand(uint64(77+l)), l)
			spec, err := ParseSpecArgs(c.step, c.start, c.args)
			if err != nil {
				t.Fatal(err)
			}
			mem := spec
			mem.AssignSmoothIdx("s.rrd")
			ours, err := NewRRD(mem)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			db, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Create("s", spec, false); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			for i, ch := range c.chunks {
				var b Batch
				for _, a := range ch {
					u, err := ParseUpdateArg(a, nil, len(spec.DS))
					if err != nil {
						t.Fatal(err)
					}
					if err := ours.Update(u.Time, u.Usec, u.Values); err != nil {
						t.Fatal(err)
					}
					u.Series = "s"
					b.Updates = append(b.Updates, u)
				}
				ours.EndUpdateCall()
				if _, err := db.Apply(ctx, b); err != nil {
					t.Fatal(err)
				}
				switch i {
				case len(c.chunks) / 3:
					if err := db.Checkpoint(ctx); err != nil {
						t.Fatal(err)
					}
				case 2 * len(c.chunks) / 3:
					crash(db)
					if db, err = Open(dir, Options{}); err != nil {
						t.Fatal(err)
					}
				}
			}
			crash(db)
			if db, err = Open(dir, Options{}); err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			d, err := db.Dump("s")
			if err != nil {
				t.Fatal(err)
			}
			nds := len(spec.DS)
			for a := range d.Spec.RRA {
				if d.Spec.RRA[a] != ours.spec.RRA[a] {
					t.Fatalf("archive %d: %v, in memory %v", a, d.Spec.RRA[a], ours.spec.RRA[a])
				}
				if d.RRA[a].CurRow != ours.st.curRow[a] {
					t.Fatalf("archive %d: cur row %d, in memory %d", a, d.RRA[a].CurRow, ours.st.curRow[a])
				}
				ring := ours.rows.ring(a)
				for r, row := range d.RRA[a].Rows {
					for k, v := range row {
						if !sameFloat(v, ring[r*nds+k]) {
							t.Fatalf("archive %d (%v) row %d: %v, in memory %v", a, d.Spec.RRA[a], r, v, ring[r*nds+k])
						}
					}
				}
				for k, cd := range d.RRA[a].CDP {
					if d.Spec.RRA[a].CF.IsHW() && cd.HW != ours.st.hw.words[a*nds+k] {
						t.Fatalf("archive %d ds %d: words %v, in memory %v", a, k, cd.HW, ours.st.hw.words[a*nds+k])
					}
				}
			}
		})
	}
}

// Fetch serves a Holt-Winters archive only for its own CF, and a basic CF
// never from a one-PDP Holt-Winters archive (rrd_fetch's candidates).
func TestFetchHWArchiveChoice(t *testing.T) {
	t.Parallel()
	spec, err := ParseSpecArgs(60, 1_700_000_000, []string{"DS:a:GAUGE:120:U:U", "RRA:HWPREDICT:100:0.5:0.5:10"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRRD(spec)
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(1); i <= 30; i++ {
		if err := r.Update(1_700_000_000+60*i, 0, []string{fmt.Sprint(10 + i%10)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Fetch(FetchRequest{CF: Average, Start: 1_700_000_000, End: 1_700_001_800}); err == nil ||
		!strings.Contains(err.Error(), "does not contain an RRA matching the chosen CF") {
		t.Fatalf("AVERAGE from Holt-Winters archives: %v", err)
	}
	for a, ra := range spec.RRA {
		res, err := r.Fetch(FetchRequest{CF: ra.CF, Start: 1_700_000_000, End: 1_700_001_800})
		if err != nil || res.RRA != a {
			t.Fatalf("%v: archive %v, %v", ra.CF, res, err)
		}
		if ra.CF == Failures {
			for _, v := range res.Values[0] {
				if !(v == 0 || v == 1 || math.IsNaN(v)) {
					t.Fatalf("FAILURES value %v", v)
				}
			}
		}
	}
}

// A late point of a Graphite-model series rewrites the basic archives'
// row, never a Holt-Winters archive's (the forecast stays what the model
// computed then).
func TestLateOverwriteLeavesHWArchives(t *testing.T) {
	t.Parallel()
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	spec, err := ParseSpecArgs(60, 1_700_000_000, []string{"DS:value:GAUGE:600:U:U", "RRA:AVERAGE:0.5:1:100", "RRA:HWPREDICT:100:0.5:0.5:10"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateWithMeta("g", spec, map[string]string{MetaModel: ModelGraphite, MetaLate: LateOverwrite}, false); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var b Batch
	for i := int64(1); i <= 40; i++ {
		b.Updates = append(b.Updates, Update{Series: "g", Time: 1_700_000_000 + 60*i, Values: []string{fmt.Sprint(10 + i%10)}})
	}
	if _, err := db.Apply(ctx, b); err != nil {
		t.Fatal(err)
	}
	before, err := db.Dump("g")
	if err != nil {
		t.Fatal(err)
	}
	if res, err := db.Apply(ctx, Batch{Updates: []Update{{Series: "g", Time: 1_700_000_000 + 60*30, Values: []string{"999"}}}}); err != nil || len(res.Errors) > 0 {
		t.Fatal(err, res.Errors)
	}
	after, err := db.Dump("g")
	if err != nil {
		t.Fatal(err)
	}
	changed := false
	for a := range after.RRA {
		for r := range after.RRA[a].Rows {
			same := sameFloat(after.RRA[a].Rows[r][0], before.RRA[a].Rows[r][0])
			if a > 0 && !same {
				t.Fatalf("archive %d (%v) row %d rewritten by a late point", a, after.Spec.RRA[a].CF, r)
			}
			changed = changed || a == 0 && !same
		}
	}
	if !changed {
		t.Fatal("the late point changed no AVERAGE row")
	}
}
