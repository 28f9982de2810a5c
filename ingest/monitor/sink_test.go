package monitor

import (
	"context"
	"math"
	"testing"
	"time"

	"rrdash/store"
)

var _ Sink = (*store.DB)(nil)

func TestRecordToStore(t *testing.T) {
	t.Parallel()
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d := Definition{Name: "payments", Language: Python, Source: "x", Interval: 10 * time.Second, Timeout: 5 * time.Second}
	m, err := d.Compile()
	if err != nil {
		t.Fatal(err)
	}
	// Runs end on step boundaries so that every row holds exactly one run.
	t0 := time.Unix(1_800_000_000, 0)
	runs := []Result{
		{Start: t0.Add(-1500 * time.Millisecond), Runtime: 1500 * time.Millisecond, ExitStatus: 0, Outcome: OK,
			Metrics: []Metric{{Name: "latency_ms", Value: 120}, {Name: "rows", Value: 3}},
			Usage:   &Usage{PeakMemory: 1 << 20, CPUSeconds: 0.25}},
		{Start: t0.Add(8 * time.Second), Runtime: 2 * time.Second, ExitStatus: 3, Outcome: Fail,
			Metrics: []Metric{{Name: "latency_ms", Value: 480}}},
		{Start: t0.Add(19 * time.Second), Runtime: time.Second, ExitStatus: -1, Outcome: Error},
	}
	for i, r := range runs {
		r.Monitor = "payments"
		if err := Record(context.Background(), db, m, r); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	names, err := db.List("monitor.payments*")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"monitor.payments": true, "monitor.payments.latency_ms": true, "monitor.payments.rows": true,
		"monitor.payments.sandbox_peak_memory_bytes": true, "monitor.payments.sandbox_cpu_seconds": true}
	if len(names) != len(want) {
		t.Fatalf("series %v, want %v", names, want)
	}
	for _, n := range names {
		if !want[n] {
			t.Errorf("unexpected series %s", n)
		}
	}
	checks := []struct {
		series, ds string
		end        int64 // the row ending at t0+end
		want       float64
	}{
		{"monitor.payments", "ok", 0, 1},
		{"monitor.payments", "exit_status", 0, 0},
		{"monitor.payments", "runtime", 0, 1.5},
		{"monitor.payments", "ok", 10, 0},
		{"monitor.payments", "exit_status", 10, 3},
		{"monitor.payments", "runtime", 10, 2},
		{"monitor.payments", "ok", 20, 0},
		{"monitor.payments", "exit_status", 20, math.NaN()},
		{"monitor.payments", "runtime", 20, math.NaN()},
		{"monitor.payments.latency_ms", "value", 0, 120},
		{"monitor.payments.latency_ms", "value", 10, 480},
		{"monitor.payments.rows", "value", 0, 3},
		{"monitor.payments.sandbox_peak_memory_bytes", "value", 0, 1 << 20},
		{"monitor.payments.sandbox_cpu_seconds", "value", 0, 0.25},
	}
	for _, c := range checks {
		at := t0.Unix() + c.end
		fr, err := db.Fetch(c.series, store.FetchRequest{CF: store.Average, Start: at - 10, End: at})
		if err != nil {
			t.Fatalf("%s: %v", c.series, err)
		}
		col := fr.Column(c.ds)
		i := (at - fr.Start - fr.Step) / fr.Step
		if col == nil || i < 0 || int(i) >= len(col) {
			t.Fatalf("%s %s: no row ending at %d (start %d step %d, DS %v)", c.series, c.ds, at, fr.Start, fr.Step, fr.DS)
		}
		got := col[i]
		if !(got == c.want || math.IsNaN(got) && math.IsNaN(c.want)) {
			t.Errorf("%s %s at t0+%d = %v, want %v", c.series, c.ds, c.end, got, c.want)
		}
	}
	spec, err := db.Spec("monitor.payments.latency_ms")
	if err != nil {
		t.Fatal(err)
	}
	if spec.DS[0].Type != store.Gauge || spec.Step != 10 {
		t.Errorf("metric spec %+v", spec)
	}
}
