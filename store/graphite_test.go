package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// graphiteRules lays out g.* (drop) and o.* (overwrite) series as carbon's
// 60s:2h,5m:1d,15m:2d with every CF.
func graphiteRules(t testing.TB) *Retention {
	t.Helper()
	r, err := CompileRetention([]RetentionRule{
		{Name: "drop", Pattern: "g.*", Retentions: "60s:2h,5m:1d,15m:2d", Model: ModelGraphite},
		{Name: "late", Pattern: "o.*", Retentions: "60s:2h,5m:1d,15m:2d", Model: ModelGraphite, Late: LateOverwrite},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// rings returns every archive's rows (oldest first) with their times, and
// the consolidation state, as text for exact comparison.
func rings(t testing.TB, db *DB, name string) (times [][]int64, vals [][][]float64, state string) {
	t.Helper()
	db.mu.Lock()
	defer db.mu.Unlock()
	a, err := db.archive(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.flushArchive(a); err != nil {
		t.Fatal(err)
	}
	if err := a.mapRows(); err != nil {
		t.Fatal(err)
	}
	for i := range a.spec.RRA {
		tm, v := archiveRows(&a.spec, a.st, a, i)
		for _, row := range v {
			for d := range row {
				row[d] = a.decodeBits(math.Float64bits(row[d]))
			}
		}
		times, vals = append(times, tm), append(vals, v)
	}
	return times, vals, fmt.Sprintf("%d %+v %+v %v", a.st.lastUp, a.st.ds, a.st.cdp, a.st.curRow)
}

func ensureGraphite(t testing.TB, db *DB, name string, first int64) {
	t.Helper()
	tmpl := DefaultTemplate()
	tmpl.Start = first - 60
	if _, err := db.EnsureWithMeta(name, tmpl, map[string]string{MetaModel: ModelGraphite}); err != nil {
		t.Fatal(err)
	}
}

func applyPoints(t testing.TB, db *DB, ups []Update) Result {
	t.Helper()
	res, err := db.Apply(context.Background(), Batch{Updates: ups})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// whisperRow is carbon's value of a row: the slots [from, to) of the
// points, aggregated as whisper does when the known fraction is at least
// 1 − xff (LAST: rrdtool's, the last slot's value, known or not).
func whisperRow(points map[int64]float64, from, to, step int64, cf CF, xff float64) float64 {
	var known []float64
	n := (to - from) / step
	last := math.NaN()
	for s := from; s < to; s += step {
		v, ok := points[s]
		last = math.NaN()
		if ok {
			known = append(known, v)
			last = v
		}
	}
	if float64(n-int64(len(known))) > float64(n)*xff {
		return math.NaN()
	}
	switch cf {
	case Average:
		sum := 0.0
		for _, v := range known {
			sum += v
		}
		return sum / float64(len(known))
	case Min:
		m := math.Inf(1)
		for _, v := range known {
			m = math.Min(m, v)
		}
		return m
	case Max:
		m := math.Inf(-1)
		for _, v := range known {
			m = math.Max(m, v)
		}
		return m
	}
	return last
}

func closeEnough(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return a == b || math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b))
}

// TestGraphiteModel pushes points at any second of their slots, with gaps
// short and long, into a Graphite series and compares every archive row
// with carbon's rule computed here: the point in its slot, gaps unknown,
// coarser rows aggregated over the known points.
func TestGraphiteModel(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := Open(dir, Options{Retention: graphiteRules(t)})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(18, 5))
	const base = int64(1764000000) - 12*3600
	points := map[int64]float64{}
	var ups []Update
	for slot := int64(0); slot < 600; slot++ {
		if r.IntN(5) == 0 || slot >= 200 && slot < 240 {
			continue
		}
		v := math.Round((r.Float64()*200-50)*1000) / 1000
		s := base + slot*60
		points[s] = v
		ups = append(ups, Update{Series: "g.a", Time: s + r.Int64N(60), Values: []string{strconv.FormatFloat(v, 'g', -1, 64)}})
	}
	ensureGraphite(t, db, "g.a", ups[0].Time)
	// a second point in a slot already written is late: refused
	last := ups[len(ups)-1]
	late := Update{Series: "g.a", Time: last.Time - last.Time%60 + 59, Values: []string{"1"}}
	if res := applyPoints(t, db, append(ups, late)); len(res.Errors) != 1 || res.Errors[0].Index != len(ups) || !errors.Is(res.Errors[0], ErrTooOld) {
		t.Fatalf("errors %v, want the late point's only", res.Errors)
	}
	check := func(db *DB) {
		t.Helper()
		times, vals, _ := rings(t, db, "g.a")
		spec, _ := db.Spec("g.a")
		compared := 0
		for i, ra := range spec.RRA {
			span := ra.Steps * 60
			for k, tm := range times[i] {
				from := tm - span // the row (tm-span, tm] is carbon's slots [tm-span, tm)
				if from < base-base%span {
					continue // before the series
				}
				want := whisperRow(points, from, tm, 60, ra.CF, ra.XFF)
				if !closeEnough(vals[i][k][0], want) {
					t.Errorf("archive %d (%s, %d steps) row ending %d: %v, want %v", i, ra.CF, ra.Steps, tm, vals[i][k][0], want)
					return
				}
				compared++
			}
		}
		if compared < 700 {
			t.Errorf("only %d rows compared", compared)
		}
	}
	check(db)
	_, _, before := rings(t, db, "g.a")
	crash(db) // kill -9: the journal since the last checkpoint is replayed
	db, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	check(db)
	if _, _, after := rings(t, db, "g.a"); after != before {
		t.Errorf("state after replay\n%s\nwant\n%s", after, before)
	}
	if _, _, err := db.UpdateV(context.Background(), "g.a", []Update{{Time: last.Time + 600, Values: []string{"1"}}}); err == nil || !strings.Contains(err.Error(), "Graphite's data model") {
		t.Errorf("updatev of a Graphite series: %v", err)
	}
	if b, slot, ow, err := db.LateBound("g.a"); err != nil || b != last.Time-last.Time%60+59 || slot != 60 || ow {
		t.Errorf("LateBound: %d %d %v %v", b, slot, ow, err)
	}
}

// TestLateOverwrite writes late points into a series with late =
// "overwrite" and demands every ring and the consolidation state
// bit-identical to a series given the final values in order — also after a
// kill -9 and after a reboot (journal replayed onto older slots).
func TestLateOverwrite(t *testing.T) {
	t.Parallel()
	for _, boot := range []string{"", "rebooted"} {
		t.Run("boot="+boot, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db, err := Open(dir, Options{Retention: graphiteRules(t), BootID: "first"})
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(7, uint64(len(boot))))
			const base = int64(1764000000) - 6*3600
			final := map[int64]string{}
			var ups []Update
			for slot := int64(0); slot < 300; slot++ {
				if r.IntN(6) == 0 {
					continue
				}
				v := strconv.Itoa(r.IntN(1000) - 100)
				final[base+slot*60] = v
				ups = append(ups, Update{Series: "o.a", Time: base + slot*60 + r.Int64N(60), Values: []string{v}})
			}
			ensureGraphite(t, db, "o.a", ups[0].Time)
			if res := applyPoints(t, db, ups); len(res.Errors) > 0 {
				t.Fatal(res.Errors)
			}
			if err := db.Checkpoint(context.Background()); err != nil {
				t.Fatal(err)
			}
			newest := ups[len(ups)-1].Time / 60 * 60
			// late points: the newest slot, slots of the open 5- and
			// 15-minute rows, closed rows, former gaps, a gap made by U,
			// and slots older than the finest archive (refused)
			var late []Update
			tooOld := 0
			for i := 0; i < 120; i++ {
				back := r.Int64N(150)
				switch i % 10 {
				case 0:
					back = 0
				case 1:
					back = r.Int64N(15)
				case 2:
					back = 120 + r.Int64N(100) // 2 h of minutes: these are gone
				}
				s := newest - back*60
				v := strconv.FormatFloat(float64(r.IntN(10000))/7, 'g', -1, 64)
				if i%17 == 0 {
					v = "U"
				}
				if back >= 120 {
					tooOld++
				} else {
					final[s] = v
				}
				late = append(late, Update{Series: "o.a", Time: s + r.Int64N(60), Values: []string{v}})
			}
			res := applyPoints(t, db, late)
			if len(res.Errors) != tooOld {
				t.Fatalf("%d errors, want %d (points older than the finest archive): %v", len(res.Errors), tooOld, res.Errors)
			}
			for _, e := range res.Errors {
				if !errors.Is(e, ErrTooOld) {
					t.Fatal(e)
				}
			}
			// the reference: the final values in order
			var in []Update
			for s := base; s <= newest; s += 60 {
				if v, ok := final[s]; ok {
					in = append(in, Update{Series: "o.ref", Time: s, Values: []string{v}})
				}
			}
			ensureGraphite(t, db, "o.ref", ups[0].Time)
			if res := applyPoints(t, db, in); len(res.Errors) > 0 {
				t.Fatal(res.Errors)
			}
			compare := func(db *DB, when string) {
				t.Helper()
				tg, vg, sg := rings(t, db, "o.a")
				tw, vw, sw := rings(t, db, "o.ref")
				for i := range vg {
					for k := range vg[i] {
						if tg[i][k] != tw[i][k] || math.Float64bits(vg[i][k][0]) != math.Float64bits(vw[i][k][0]) && !(math.IsNaN(vg[i][k][0]) && math.IsNaN(vw[i][k][0])) {
							t.Fatalf("%s: archive %d row %d (time %d): %v, want %v", when, i, k, tg[i][k], vg[i][k][0], vw[i][k][0])
						}
					}
				}
				if sg != sw {
					t.Fatalf("%s: state\n%s\nwant\n%s", when, sg, sw)
				}
			}
			compare(db, "live")
			crash(db)
			db, err = Open(dir, Options{BootID: "first" + boot})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			compare(db, "after kill -9")
		})
	}
}

// BenchmarkGraphitePoints applies in-order points to a Graphite series of
// the default layout (1m×2d, 5m×2w, 1h×13M, 1d×10y, every CF), and
// BenchmarkLateOverwrite late points into its past day (each recomputes
// the 5-minute, hourly and daily rows holding its slot).
func BenchmarkGraphitePoints(b *testing.B) { benchGraphite(b, false) }

func BenchmarkLateOverwrite(b *testing.B) { benchGraphite(b, true) }

func benchGraphite(b *testing.B, late bool) {
	r, err := CompileRetention([]RetentionRule{{Name: "o", Retentions: "60s:2d,5m:14d,1h:396d,1d:3660d", Model: ModelGraphite, Late: LateOverwrite}})
	if err != nil {
		b.Fatal(err)
	}
	db, err := Open(b.TempDir(), Options{Retention: r})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const base = int64(1764000000)
	ensureGraphite(b, db, "o.a", base)
	const day = 1440
	ups := make([]Update, 0, 1000)
	next := int64(0)
	if late {
		for i := int64(0); i < 2*day; i += 1000 {
			ups = ups[:0]
			for k := i; k < min(i+1000, 2*day); k++ {
				ups = append(ups, Update{Series: "o.a", Time: base + k*60, Values: []string{strconv.FormatInt(k%97, 10)}})
			}
			applyPoints(b, db, ups)
		}
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	b.ResetTimer()
	for i := 0; i < b.N; i += len(ups) {
		ups = ups[:0]
		for k := 0; k < 1000 && i+k < b.N; k++ {
			t := base + next*60
			if late {
				t = base + (day+rnd.Int64N(day-1))*60
			} else {
				next++
			}
			ups = append(ups, Update{Series: "o.a", Time: t, Values: []string{strconv.Itoa(k % 89)}})
		}
		if res := applyPoints(b, db, ups); len(res.Errors) > 0 {
			b.Fatal(res.Errors[0])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/point")
}
