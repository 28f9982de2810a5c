package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"rrdash/auth"
	"rrdash/ingest/monitor"
	"rrdash/store/meta"
	"rrdash/store/meta/pgtest"
	"rrdash/tools/testdeps"
)

// TestMonitorRunsOnceAcrossServersAndKill9: two `rrdash serve` processes
// sharing one PostgreSQL; a monitor (interval 10s, the shortest allowed)
// is created through the first one's API, and the second learns of it
// from the database. Every run is recorded in the shared run history: the
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
`, dbURL, ttl.String(), python)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	type node struct {
		cmd  *exec.Cmd
		base string
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
		base := ""
		for base == "" && sc.Scan() {
			if i := strings.Index(sc.Text(), "http://"); i >= 0 {
				base = strings.Fields(sc.Text()[i:])[0]
			}
		}
		go func() {
			for sc.Scan() {
			}
		}()
		n := &node{cmd: cmd, base: base}
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
	// The monitor is made through the API of the first server; the other
	// learns of it from the shared database.
	tok := localToken(t, md, "test", auth.ScopeAdmin)
	def, _ := json.Marshal(map[string]any{"name": "tick", "language": "python", "source": "print('METRIC ticks 1')",
		"interval": interval.String(), "timeout": "5s"})
	req, _ := http.NewRequest("POST", nodes[0].base+"/api/v1/monitors", bytes.NewReader(def))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		t.Fatalf("create monitor on server 0: %s %s", resp.Status, body)
	}
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
	// Newest first. Runs are claimed at least 95% of an interval apart on
	// the database's clock; a recorded start follows its claim by the time
	// a run takes to start, more on a server's first run (it probes the
	// interpreter). So: no two starts within half an interval, and no
	// more runs than the time they span allows at one per 0.75 interval.
	for i := 0; i+1 < len(rs); i++ {
		if gap := rs[i].Start.Sub(rs[i+1].Start); gap < interval/2 {
			t.Errorf("runs %v and %v only %v apart: the monitor ran twice in one interval", rs[i+1].Start, rs[i].Start, gap)
		}
	}
	if span := rs[0].Start.Sub(rs[len(rs)-1].Start); float64(len(rs)-1) > span.Seconds()/(0.75*interval.Seconds()) {
		t.Errorf("%d runs within %v: more than one per interval %v", len(rs), span, interval)
	}
	// rs[len-1] ran on the killed server; the next one on the survivor.
	t.Logf("runs %v apart across the kill -9 (interval %v, lease ttl %v)", rs[len(rs)-2].Start.Sub(rs[len(rs)-1].Start), interval, ttl)
	for _, r := range rs {
		if r.Outcome != string(monitor.OK) {
			t.Errorf("run at %v: %s", r.Start, r.Outcome)
		}
	}
}
