package push

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"rrdash/store"
)

// exactTemplate stores every second as it came: step 1, LAST, no consolidation.
func exactTemplate(t testing.TB) store.Spec {
	t.Helper()
	s, err := store.ParseSpecArgs(1, 0, []string{"DS:value:GAUGE:10:U:U", "RRA:LAST:0.5:1:4000"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openStore(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

// stored returns the known values of a series in (from, to], by second:
// a row's time for rrdtool's model, its slot's start for Graphite's.
func stored(t testing.TB, db *store.DB, series string, from, to int64) map[int64]float64 {
	t.Helper()
	meta, err := db.Meta(series)
	if err != nil {
		t.Fatalf("meta %s: %v", series, err)
	}
	shift := int64(0)
	if meta[store.MetaModel] == store.ModelGraphite {
		shift = 1 // rows (t−step, t] hold the slot [t−step, t)
	}
	r, err := db.Fetch(series, store.FetchRequest{CF: store.Last, Start: from, End: to + shift*60})
	if err != nil {
		t.Fatalf("fetch %s: %v", series, err)
	}
	m := map[int64]float64{}
	col := r.Values[0]
	for i, v := range col {
		if at := r.Start + int64(i+1-int(shift))*r.Step; !math.IsNaN(v) && at > from && at <= to {
			m[at] = v
		}
	}
	return m
}

const base = 1795356000 // 2026-11-22T14:00:00Z

func pt(series string, sec, usec int64, v string) Point {
	return Point{Series: series, Sec: base + sec, Usec: usec, Value: v}
}

func TestWriterOrderLateDuplicates(t *testing.T) {
	t.Parallel()
	db := openStore(t)
	w, err := NewWriter(db, WriterConfig{Template: exactTemplate(t), Grace: 30 * time.Second, MaxDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name     string
		pts      []Point
		want     WriteResult
		contents map[int64]float64 // all of series "s" afterwards, by offset
	}{
		{"out of order within the grace window is applied in time order",
			[]Point{pt("s", 10, 0, "10"), pt("s", 12, 0, "12"), pt("s", 11, 0, "11")},
			WriteResult{Accepted: 3}, map[int64]float64{10: 10, 11: 11, 12: 12}},
		{"points at or before the last stored second are late",
			[]Point{pt("s", 11, 500000, "99"), pt("s", 12, 0, "99"), pt("s", 13, 0, "13")},
			WriteResult{Accepted: 1, Late: 2}, map[int64]float64{10: 10, 11: 11, 12: 12, 13: 13}},
		{"a second point in the same second replaces the buffered one",
			[]Point{pt("s", 14, 900000, "1"), pt("s", 15, 0, "15"), pt("s", 14, 0, "14")},
			WriteResult{Accepted: 3, Replaced: 1}, map[int64]float64{10: 10, 11: 11, 12: 12, 13: 13, 14: 14, 15: 15}},
	}
	for _, tc := range tests {
		res, err := w.Write(ctx, tc.pts)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if res != tc.want {
			t.Errorf("%s: result %+v, want %+v", tc.name, res, tc.want)
		}
		got := stored(t, db, "s", base, base+20)
		want := map[int64]float64{}
		for k, v := range tc.contents {
			want[base+k] = v
		}
		if len(got) != len(want) {
			t.Errorf("%s: stored %v, want %v", tc.name, got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: at %d got %v want %v", tc.name, k-base, got[k], v)
			}
		}
	}
	c := w.Counts()
	if c.Late != 2 || c.Replaced != 1 || c.Applied != 6 || c.Created != 1 || c.Refused != 0 {
		t.Errorf("counts %+v", c)
	}
}

func TestWriterExistingSeriesAndRefusals(t *testing.T) {
	t.Parallel()
	db := openStore(t)
	two, err := store.ParseSpecArgs(1, base+100, []string{"DS:a:GAUGE:10:U:U", "DS:b:GAUGE:10:U:U", "RRA:LAST:0.5:1:100"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Create("two", two, false); err != nil {
		t.Fatal(err)
	}
	one := exactTemplate(t)
	one.Start = base + 50
	if err := db.Create("old", one, false); err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(db, WriterConfig{Template: exactTemplate(t), MaxDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.Write(context.Background(), []Point{pt("old", 50, 0, "1"), pt("old", 51, 0, "2"), pt("two", 101, 0, "3"), {Series: "far", Sec: 1 << 50, Value: "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Late != 1 || res.Refused != 2 || res.Accepted != 1 || res.FirstRefusal == nil {
		t.Errorf("result %+v", res)
	}
	if last, err := db.LastUpdate("old"); err != nil || last != base+51 {
		t.Errorf("old last update %d %v", last-base, err)
	}
}

func TestWriterUnitsAndTemplate(t *testing.T) {
	t.Parallel()
	db := openStore(t)
	w, err := NewWriter(db, WriterConfig{MaxDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p := pt("web.latency;route=GET:/g", 0, 0, "0.5")
	p.Units = "s"
	if _, err := w.Write(context.Background(), []Point{p}); err != nil {
		t.Fatal(err)
	}
	spec, err := db.Spec(p.Series)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Step != 60 || len(spec.RRA) != 16 || spec.DS[0].Type != store.Gauge || spec.DS[0].Heartbeat != 600 {
		t.Errorf("spec %+v", spec)
	}
	if meta, err := db.Meta(p.Series); err != nil || meta["units"] != "s" {
		t.Errorf("meta %v %v", meta, err)
	}
}

// A write whose context ends returns; its points stay buffered and Flush
// makes them durable.
func TestWriterCancelThenFlush(t *testing.T) {
	t.Parallel()
	db := openStore(t)
	w, err := NewWriter(db, WriterConfig{Template: exactTemplate(t), MaxDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.Write(ctx, []Point{pt("c", 1, 0, "1")}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, db, "c", base, base+2); got[base+1] != 1 {
		t.Errorf("stored %v", got)
	}
}

func TestNewWriterRejects(t *testing.T) {
	t.Parallel()
	two, _ := store.ParseSpecArgs(60, 0, []string{"DS:a:GAUGE:600:U:U", "DS:b:GAUGE:600:U:U", "RRA:LAST:0.5:1:10"})
	for _, cfg := range []WriterConfig{{Template: two}, {Grace: -1}, {MaxDelay: -1}} {
		if _, err := NewWriter(nil, cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

// What Write acknowledged is in the store after it is closed and reopened.
func TestWriterDurableAcrossReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(db, WriterConfig{Template: exactTemplate(t), MaxDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := w.Write(context.Background(), []Point{pt("d;k=v", 1, 0, "7"), pt("d;k=v", 2, 0, "8")}); err != nil || res.Accepted != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := stored(t, db, "d;k=v", base, base+2); got[base+1] != 7 || got[base+2] != 8 {
		t.Errorf("after reopen: %v", got)
	}
}

// Run applies what a cancelled write left behind, and the rest on exit.
func TestWriterRun(t *testing.T) {
	t.Parallel()
	db := openStore(t)
	w, err := NewWriter(db, WriterConfig{Template: exactTemplate(t), Grace: time.Hour, MaxDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.Write(ctx, []Point{pt("r", 1, 0, "1")}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	deadline := time.Now().Add(time.Minute)
	for w.Counts().Applied < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("not applied: %+v", w.Counts())
		}
		time.Sleep(time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := stored(t, db, "r", base, base+1); got[base+1] != 1 {
		t.Errorf("stored %v", got)
	}
}

// TestWriterSeriesRef: a stream's handle finds the series' state without a
// lookup, and is refreshed when the state was evicted or belongs to
// another writer; points written through it are stored alike.
func TestWriterSeriesRef(t *testing.T) {
	t.Parallel()
	db := openStore(t)
	w, err := NewWriter(db, WriterConfig{Template: exactTemplate(t)})
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewWriter(db, WriterConfig{Template: exactTemplate(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ref := &seriesRef{}
	write := func(w *Writer, sec int64) {
		t.Helper()
		p := pt("ref.a", sec, 0, "1")
		p.ref = ref
		res, err := w.Write(ctx, []Point{p})
		if err != nil || res.Accepted != 1 {
			t.Fatalf("second %d: %+v %v", sec, res, err)
		}
	}
	write(w, 1)
	first := ref.st
	if first == nil || first != w.series["ref.a"] {
		t.Fatalf("ref holds %p, the writer's state is %p", first, w.series["ref.a"])
	}
	write(w, 2)
	if ref.st != first {
		t.Error("the ref's state was replaced though still valid")
	}
	// evicted, as evictIdle does: the next point looks the series up again
	w.mu.Lock()
	first.evicted = true
	delete(w.series, "ref.a")
	w.mu.Unlock()
	write(w, 3)
	if ref.st == first || ref.st != w.series["ref.a"] {
		t.Error("an evicted state was used")
	}
	// another writer's state is not used
	write(other, 4)
	if ref.st.w != other {
		t.Error("a ref to another writer's state was used")
	}
	if got := stored(t, db, "ref.a", base, base+4); len(got) != 4 {
		t.Errorf("stored %v, want seconds 1-4", got)
	}
}
