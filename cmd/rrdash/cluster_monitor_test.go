package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"rrdash/ingest/monitor"
	"rrdash/store/meta"
	"rrdash/store/meta/pgtest"
	"rrdash/tools/testdeps"
)

// TestMonitorRunsOnceAcrossServersAndKill9: two `rrdash serve` processes
// sharing one PostgreSQL and one config-file monitor (interval 10s, the
// shortest allowed). Every run is recorded in the shared run history: the
// monitor runs on one server at a time, runs start at least an interval
// apart, and after kill -9 of the server running it, the other takes it
// over at its next due run (the lease, 2s, has expired by then).
func TestMonitorRunsOnceAcrossServersAndKill9(t *testing.T) {
	t.Parallel()
	python := testdeps.Program(t, "python3")
	pg := pgtest.Private(t)
	ctx := context.Background()
	dbURL, err := pg.NewDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bin := buildRrdash(t)
	const interval, ttl = 10 * time.Second, 2 * time.Second
	cfg := filepath.Join(t.TempDir(), "rrdash.toml")
	conf := fmt.Sprintf(`metadata_url = %q
[monitors]
sandbox = "none"
cgroup = "none"
jitter = 0.0
lease_ttl = %q
python = %q
[[monitor]]
name = "tick"
language = "python"
source = "print('METRIC ticks 1')"
interval = %q
timeout = "5s"
`, dbURL, ttl.String(), python, interval.String())
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	type node struct {
		cmd  *exec.Cmd
		dead bool
	}
	start := func() *node {
		cmd := exec.Command(bin, "serve", "--config", cfg, "--addr", "127.0.0.1:0", "--data", t.TempDir())
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		logf, err := os.Create(filepath.Join(t.TempDir(), "serve.log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = logf
		t.Cleanup(func() {
			if t.Failed() {
				b, _ := os.ReadFile(logf.Name())
				t.Logf("server %d log:\n%s", cmd.Process.Pid, b)
			}
			logf.Close()
		})
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		for sc.Scan() && !strings.Contains(sc.Text(), "http://") {
		}
		go func() {
			for sc.Scan() {
			}
		}()
		n := &node{cmd: cmd}
		t.Cleanup(func() {
			if !n.dead {
				cmd.Process.Signal(syscall.SIGTERM)
				cmd.Wait()
			}
		})
		return n
	}
	nodes := []*node{start(), start()}
	md, err := meta.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close()
	runs := func() []meta.MonitorRun {
		t.Helper()
		rs, err := md.MonitorRuns(ctx, meta.RunQuery{Monitor: "tick", Summary: true})
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	waitRuns := func(n int, within time.Duration) []meta.MonitorRun {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			rs := runs()
			if len(rs) >= n {
				return rs
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d runs after %v, want %d", len(rs), within, n)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitRuns(1, 30*time.Second)
	ls, err := md.MonitorLeases(ctx)
	if err != nil || len(ls) != 1 {
		t.Fatalf("leases %+v, %v", ls, err)
	}
	// The owner's node id is HOST/PID/RANDOM: kill -9 that process.
	var victim *node
	for _, n := range nodes {
		if strings.Contains(ls[0].Owner, fmt.Sprintf("/%d/", n.cmd.Process.Pid)) {
			victim = n
		}
	}
	if victim == nil {
		t.Fatalf("lease owner %q is neither server", ls[0].Owner)
	}
	victim.cmd.Process.Kill()
	victim.cmd.Wait()
	victim.dead = true
	killedAt := time.Now()

	rs := waitRuns(3, 3*interval)
	if time.Since(killedAt) > 2*interval+ttl+5*time.Second {
		t.Errorf("two runs after the kill took %v", time.Since(killedAt))
	}
	ls, _ = md.MonitorLeases(ctx)
	if len(ls) != 1 || ls[0].Owner == "" || strings.Contains(ls[0].Owner, fmt.Sprintf("/%d/", victim.cmd.Process.Pid)) {
		t.Errorf("after the kill the lease is %+v, want the survivor's", ls)
	}
	// Newest first: consecutive starts at least an interval apart (less
	// the 5% the scheduler allows for latency), never two at once.
	minGap := interval - interval/20
	for i := 0; i+1 < len(rs); i++ {
		if gap := rs[i].Start.Sub(rs[i+1].Start); gap < minGap {
			t.Errorf("runs %v and %v only %v apart: the monitor ran twice in one interval", rs[i+1].Start, rs[i].Start, gap)
		}
	}
	for _, r := range rs {
		if r.Outcome != string(monitor.OK) {
			t.Errorf("run at %v: %s", r.Start, r.Outcome)
		}
	}
}
