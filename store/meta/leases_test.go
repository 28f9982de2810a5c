package meta

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestMonitorLeases: a monitor's run is granted to one server at a time,
// at most once per gap; a live owner keeps it; an expired or released
// lease passes to another server, which is told it took over.
func TestMonitorLeases(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, where string) {
		ctx := context.Background()
		a, b := openTest(t, where), openTest(t, where)
		const ttl, gap = 1500 * time.Millisecond, 500 * time.Millisecond
		claim := func(db *DB, node string, gap time.Duration) MonitorClaim {
			t.Helper()
			c, err := db.ClaimMonitorRun(ctx, "pay", node, gap, ttl)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		if c := claim(a, "A", gap); !c.Run || c.TakenOver {
			t.Fatalf("first claim by A = %+v", c)
		}
		if c := claim(a, "A", gap); c.Run || c.Wait <= 0 || c.Wait > gap {
			t.Errorf("A again within the gap = %+v, want a wait up to %v", c, gap)
		}
		if c := claim(b, "B", 0); c.Run || c.Wait <= 0 {
			t.Errorf("B while A holds a live lease = %+v", c)
		}
		// A renews past several ttls: B never gets it.
		for range 3 {
			time.Sleep(ttl / 3)
			if n, err := a.RenewMonitorLeases(ctx, "A", ttl); err != nil || n != 1 {
				t.Fatalf("renew = %d, %v", n, err)
			}
			if c := claim(b, "B", 0); c.Run {
				t.Fatalf("B took a renewed lease: %+v", c)
			}
		}
		// A stops renewing (killed): after the ttl B takes over.
		time.Sleep(ttl + 100*time.Millisecond)
		if n, err := a.RenewMonitorLeases(ctx, "A", ttl); err != nil || n != 0 {
			t.Errorf("renewing an expired lease = %d, %v; want 0", n, err)
		}
		if c := claim(b, "B", gap); !c.Run || !c.TakenOver {
			t.Fatalf("B after A's lease expired = %+v", c)
		}
		if c := claim(a, "A", 0); c.Run {
			t.Errorf("A came back and took B's live lease: %+v", c)
		}
		if err := b.ReleaseMonitorLeases(ctx, "B"); err != nil {
			t.Fatal(err)
		}
		if c := claim(a, "A", 0); !c.Run || !c.TakenOver {
			t.Errorf("A after B released = %+v", c)
		}
		ls, err := b.MonitorLeases(ctx)
		if err != nil || len(ls) != 1 || ls[0].Owner != "A" || ls[0].Name != "pay" {
			t.Errorf("leases = %+v, %v", ls, err)
		}
		if _, err := a.ClaimMonitorRun(ctx, "pay", "", gap, ttl); err == nil {
			t.Error("claim without a node name accepted")
		}
	})
}

// TestMonitorLeaseOneWinner: servers claiming one due run at the same
// moment: exactly one runs it.
func TestMonitorLeaseOneWinner(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, where string) {
		ctx := context.Background()
		const n = 4
		dbs := make([]*DB, n)
		for i := range dbs {
			dbs[i] = openTest(t, where)
		}
		for round := range 3 {
			var wg sync.WaitGroup
			wins := make([]bool, n)
			for i := range n {
				wg.Go(func() {
					c, err := dbs[i].ClaimMonitorRun(ctx, "m", string(rune('A'+i)), time.Hour, time.Hour)
					if err != nil {
						t.Error(err)
					}
					wins[i] = c.Run
				})
			}
			wg.Wait()
			won := 0
			for _, w := range wins {
				if w {
					won++
				}
			}
			if want := map[bool]int{true: 1, false: 0}[round == 0]; won != want {
				t.Errorf("round %d: %d servers run the monitor, want %d", round, won, want)
			}
		}
	})
}
