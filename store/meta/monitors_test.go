package meta

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestMonitorsOwnershipStatesAndRuns(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, where string) {
		ctx := context.Background()
		m := openTest(t, where)
		ana, err := m.EnsureUser(ctx, User{Handle: "ana", Issuer: "t", Subject: "ana"})
		if err != nil {
			t.Fatal(err)
		}
		bob, err := m.EnsureUser(ctx, User{Handle: "bob", Issuer: "t", Subject: "bob"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.CreateMonitor(ctx, ana, "pay", `{"a":1}`); err != nil {
			t.Fatal(err)
		}
		if _, err := m.CreateMonitor(ctx, bob, "pay", `{}`); !errors.Is(err, ErrExists) {
			t.Errorf("duplicate name: %v", err)
		}
		if _, err := m.UpdateMonitor(ctx, bob, "pay", `{}`); !errors.Is(err, ErrForbidden) {
			t.Errorf("update by another user: %v", err)
		}
		if err := m.DeleteMonitor(ctx, bob, "pay"); !errors.Is(err, ErrForbidden) {
			t.Errorf("delete by another user: %v", err)
		}
		if _, err := m.UpdateMonitor(ctx, ana, "nope", `{}`); !errors.Is(err, ErrNotFound) {
			t.Errorf("update of a missing monitor: %v", err)
		}
		if _, err := m.UpdateMonitor(ctx, ana, "pay", `{"a":2}`); err != nil {
			t.Fatal(err)
		}
		if err := m.SaveMonitorState(ctx, "pay", `{"s":1}`); err != nil {
			t.Fatal(err)
		}
		if err := m.SaveMonitorState(ctx, "pay", `{"s":2}`); err != nil {
			t.Fatal(err)
		}
		t0 := time.UnixMilli(1_800_000_000_123).UTC()
		for i := range 7 {
			outcome := "ok"
			if i%3 == 0 {
				outcome = "fail"
			}
			if err := m.AddMonitorRun(ctx, MonitorRun{Monitor: "pay", Start: t0.Add(time.Duration(i) * time.Minute), Runtime: time.Duration(i) * time.Millisecond, Outcome: outcome, Result: fmt.Sprint(i)}, 5); err != nil {
				t.Fatal(err)
			}
		}
		m.Close()

		m, err = Open(ctx, where)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		mon, err := m.GetMonitor(ctx, "pay")
		if err != nil || mon.Owner != "ana" || mon.Definition != `{"a":2}` {
			t.Fatalf("after reopen: %+v %v", mon, err)
		}
		st, err := m.MonitorStates(ctx)
		if err != nil || st["pay"] != `{"s":2}` {
			t.Errorf("states %v %v", st, err)
		}
		runs, err := m.MonitorRuns(ctx, RunQuery{Monitor: "pay"})
		if err != nil || len(runs) != 5 || runs[0].Result != "6" || runs[4].Result != "2" || !runs[0].Start.Equal(t0.Add(6*time.Minute)) {
			t.Fatalf("runs after pruning to 5: %+v %v", runs, err)
		}
		failed, err := m.MonitorRuns(ctx, RunQuery{Monitor: "pay", Outcomes: []string{"fail", "timeout"}, From: t0.Add(4 * time.Minute)})
		if err != nil || len(failed) != 1 || failed[0].Result != "6" {
			t.Errorf("failed runs since +4m: %+v %v", failed, err)
		}
		sum, err := m.MonitorRuns(ctx, RunQuery{Monitor: "pay", Summary: true, Limit: 2})
		if err != nil || len(sum) != 2 || sum[0].Result != "" || sum[0].Runtime != 6*time.Millisecond || sum[1].Outcome != "ok" {
			t.Errorf("summaries: %+v %v", sum, err)
		}
		if err := m.DeleteMonitor(ctx, ana, "pay"); err != nil {
			t.Fatal(err)
		}
		if runs, _ := m.MonitorRuns(ctx, RunQuery{Monitor: "pay"}); len(runs) != 0 {
			t.Errorf("runs left after delete: %d", len(runs))
		}
		if st, _ := m.MonitorStates(ctx); len(st) != 0 {
			t.Errorf("states left after delete: %v", st)
		}
		if ms, err := m.ListMonitors(ctx); err != nil || len(ms) != 0 {
			t.Errorf("list after delete: %v %v", ms, err)
		}
	})
}

// BenchmarkAddMonitorRun is the metadata cost of one run: insert the
// record (2 KiB of JSON) and prune the monitor's history to 1000 runs.
func BenchmarkAddMonitorRun(b *testing.B) {
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			ctx := context.Background()
			m, err := Open(ctx, e.new(b))
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			result := `{"stdout":"` + strings.Repeat("x", 2048) + `"}`
			t0 := time.Unix(1_800_000_000, 0)
			for i := range 1500 { // a full history first
				if err := m.AddMonitorRun(ctx, MonitorRun{Monitor: "pay", Start: t0.Add(time.Duration(i) * time.Second), Outcome: "ok", Result: result}, 1000); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := range b.N {
				if err := m.AddMonitorRun(ctx, MonitorRun{Monitor: "pay", Start: t0.Add(time.Duration(1500+i) * time.Second), Outcome: "ok", Result: result}, 1000); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMonitorRunSummaries is what the monitor list reads per monitor
// for its sparkline: the last 50 runs without their output.
func BenchmarkMonitorRunSummaries(b *testing.B) {
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			ctx := context.Background()
			m, err := Open(ctx, e.new(b))
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			result := `{"stdout":"` + strings.Repeat("x", 64<<10) + `"}`
			t0 := time.Unix(1_800_000_000, 0)
			for i := range 1000 {
				if err := m.AddMonitorRun(ctx, MonitorRun{Monitor: "pay", Start: t0.Add(time.Duration(i) * time.Second), Outcome: "ok", Result: result}, 0); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for range b.N {
				runs, err := m.MonitorRuns(ctx, RunQuery{Monitor: "pay", Limit: 50, Summary: true})
				if err != nil || len(runs) != 50 {
					b.Fatal(len(runs), err)
				}
			}
		})
	}
}
