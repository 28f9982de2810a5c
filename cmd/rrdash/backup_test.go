package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"rrdash/store"
)

// TestBackupDuringIngest runs `rrdash serve`, streams BATCH updates into
// it over its rrdcached socket from three connections and meanwhile:
// takes a backup through the server; kills serve with SIGKILL while a
// second backup runs (that backup either finished and verifies, or failed
// and left no DEST); restarts serve and backs up again; stops serve and
// backs up offline. Each backup is restored into a new directory, which
// must hold every update acknowledged before the backup began, with the
// values of an uninterrupted run up to its last update, and pass check.
func TestBackupDuringIngest(t *testing.T) {
	tmp := t.TempDir()
	bin := buildRrdash(t)
	data := filepath.Join(tmp, "data")
	sock := filepath.Join(data, "rrdcached.sock")
	const conns, perSeries, batch = 3, 4000, 20
	specArgs := []string{"DS:g:GAUGE:120:U:U", "RRA:AVERAGE:0.5:1:5000", "RRA:MAX:0.5:6:1000"}
	line := func(s, k int) string { return fmt.Sprintf("%d:%d", 1000000000+10*int64(k+1), s*100000+k) }
	timeOf := func(k int) int64 { return 1000000000 + 10*int64(k+1) }

	start := func() *exec.Cmd { return startServeBin(t, bin, data, sock) }
	rrdash := func(args ...string) (string, error) {
		var out bytes.Buffer
		c := exec.Command(bin, args...)
		c.Stdout, c.Stderr = &out, &out
		err := c.Run()
		return out.String(), err
	}

	// verifyRestore restores dest and demands every acknowledged update
	// (before) and nothing but the stream's values up to the last update.
	verifyRestore := func(dest string, before []int) {
		t.Helper()
		to := filepath.Join(tmp, "restored-"+filepath.Base(dest))
		if out, err := rrdash("restore-backup", dest, "--data", to); err != nil {
			t.Fatalf("restore-backup %s: %v\n%s", dest, err, out)
		} else if !strings.Contains(out, "archives: ok") || !strings.Contains(out, "metadata.db: ok") {
			t.Errorf("restore-backup output:\n%s", out)
		}
		db, err := store.Open(to, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for s := range conns {
			name := fmt.Sprintf("s%d", s)
			last, err := db.LastUpdate(name)
			if err != nil {
				t.Fatal(err)
			}
			if before[s] > 0 && last < timeOf(before[s]-1) {
				t.Fatalf("%s: series %d: last update %d, but %d was acknowledged before the backup", dest, s, last, timeOf(before[s]-1))
			}
			res, err := db.Fetch(name, store.FetchRequest{CF: store.Average, Start: 1000000000, End: last, Resolution: 1})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < res.Rows(); i++ {
				tm := res.Start + int64(i+1)*res.Step
				k := int(tm-1000000000)/10 - 1
				if k < 1 || tm > last {
					continue
				}
				if want := float64(s*100000 + k); res.Values[0][i] != want && !math.IsNaN(want) {
					t.Fatalf("%s: series %d at %d: %v, want %v", dest, s, tm, res.Values[0][i], want)
				}
			}
		}
	}

	cmd := start()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(c)
	for s := range conns {
		fmt.Fprintf(c, "CREATE s%d.rrd -b 999999999 -s 10 %s\n", s, strings.Join(specArgs, " "))
		if got, err := rd.ReadString('\n'); err != nil || got != "0 RRD created OK\n" {
			t.Fatalf("create: %q %v", got, err)
		}
	}
	c.Close()

	var mu sync.Mutex
	next := make([]int, conns) // lines acknowledged per series
	acked := func() []int {
		mu.Lock()
		defer mu.Unlock()
		return append([]int(nil), next...)
	}
	// stream sends the rest of every series until done or serve dies.
	stream := func(ctx context.Context) *sync.WaitGroup {
		var wg sync.WaitGroup
		for s := range conns {
			wg.Go(func() {
				c, err := net.Dial("unix", sock)
				if err != nil {
					return
				}
				defer c.Close()
				rd := bufio.NewReader(c)
				for ctx.Err() == nil {
					mu.Lock()
					from := next[s]
					mu.Unlock()
					if from >= perSeries {
						return
					}
					end := min(from+batch, perSeries)
					var b strings.Builder
					b.WriteString("BATCH\n")
					for k := from; k < end; k++ {
						fmt.Fprintf(&b, "UPDATE s%d.rrd %s\n", s, line(s, k))
					}
					b.WriteString(".\n")
					if _, err := c.Write([]byte(b.String())); err != nil {
						return
					}
					if _, err := rd.ReadString('\n'); err != nil { // Go ahead
						return
					}
					ans, err := rd.ReadString('\n')
					if err != nil {
						return
					}
					if ans != "0 errors\n" {
						t.Errorf("series %d: batch answered %q", s, ans)
						return
					}
					mu.Lock()
					next[s] = end
					mu.Unlock()
				}
			})
		}
		return &wg
	}
	waitFor := func(n int) {
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
			a := acked()
			if a[0]+a[1]+a[2] >= n || time.Now().After(deadline) {
				return
			}
		}
	}

	// 1. a backup through the running server, during ingest
	wg := stream(context.Background())
	waitFor(1500)
	before := acked()
	dest1 := filepath.Join(tmp, "backup1")
	out, err := rrdash("--data", data, "backup", dest1)
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	t.Logf("backup 1 (acknowledged before: %v):\n%s", before, out)
	if !strings.Contains(out, "verified:") || !strings.Contains(out, "metadata.db: ") || strings.Contains(out, "metadata.db: none") {
		t.Errorf("backup output:\n%s", out)
	}
	verifyRestore(dest1, before)

	// 2. kill -9 of serve while a backup runs
	waitFor(4500)
	dest2 := filepath.Join(tmp, "backup2")
	bk := exec.Command(bin, "--data", data, "backup", dest2)
	var bkOut bytes.Buffer
	bk.Stdout, bk.Stderr = &bkOut, &bkOut
	before = acked()
	if err := bk.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(15 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	wg.Wait()
	bkErr := bk.Wait()
	t.Logf("backup 2 (serve killed): %v\n%s", bkErr, bkOut.String())
	if bkErr == nil {
		verifyRestore(dest2, before)
	} else if _, err := os.Stat(dest2); err == nil {
		t.Errorf("a failed backup left %s", dest2)
	}
	// every acknowledged update survived the kill
	cmd = start()
	probe := filepath.Join(tmp, "probe")
	killed := acked()
	if out, err := rrdash("--data", data, "backup", probe); err != nil {
		t.Fatalf("backup after the kill: %v\n%s", err, out)
	}
	verifyRestore(probe, killed)
	// resume each series after its last durable update (sent before the
	// kill, maybe not acknowledged)
	for s := range conns {
		out, err := rrdash("--data", data, "last", fmt.Sprintf("s%d", s))
		if err != nil {
			t.Fatalf("last: %v\n%s", err, out)
		}
		var last int64
		fmt.Sscanf(out, "%d", &last)
		next[s] = int(last-1000000000) / 10
	}

	// 3. again through the restarted server, to the DEST the killed backup had
	// (when the backup finished before the kill, its DEST is whole and a new
	// backup must not overwrite it: start from an empty one)
	if bkErr == nil {
		for _, d := range []string{dest2, filepath.Join(tmp, "restored-"+filepath.Base(dest2))} {
			if err := os.RemoveAll(d); err != nil {
				t.Fatal(err)
			}
		}
	}
	wg = stream(context.Background())
	waitFor(7000)
	before = acked()
	if out, err := rrdash("--data", data, "backup", dest2); err != nil {
		t.Fatalf("backup after restart: %v\n%s", err, out)
	}
	if _, err := os.Stat(dest2 + incompleteSuffix); err == nil {
		t.Errorf("%s left behind", dest2+incompleteSuffix)
	}
	verifyRestore(dest2, before)
	wg.Wait()
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve: %v", err)
	}

	// 4. offline: serve stopped, every update in the backup
	dest3 := filepath.Join(tmp, "backup3")
	if out, err := rrdash("--data", data, "backup", dest3); err != nil || !strings.Contains(out, "verified:") {
		t.Fatalf("offline backup: %v\n%s", err, out)
	}
	verifyRestore(dest3, []int{perSeries, perSeries, perSeries})

	// refusals: an existing backup, a non-empty restore target, a tampered backup
	if out, err := rrdash("--data", data, "backup", dest3); err == nil || !strings.Contains(out, "not empty") {
		t.Errorf("backup over a backup: %v\n%s", err, out)
	}
	if out, err := rrdash("restore-backup", dest3, "--data", data); err == nil || !strings.Contains(out, "not empty") {
		t.Errorf("restore over the data directory: %v\n%s", err, out)
	}
	f, err := os.OpenFile(filepath.Join(dest3, "series", "s1.rrd"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0xff}, 9000)
	f.Close()
	if out, err := rrdash("restore-backup", dest3, "--data", filepath.Join(tmp, "tampered")); err == nil || !strings.Contains(out, "series/s1.rrd: SHA-256") {
		t.Errorf("restore of a tampered backup: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(tmp, "tampered")); err == nil {
		t.Error("a refused restore made its target")
	}
}

// TestRestoreIncompleteRefused: a data directory a restore did not finish
// is refused by serve and by the commands.
func TestRestoreIncompleteRefused(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, store.RestoreIncomplete), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, args := range [][]string{{"--data", data, "list"}, {"--data", data, "serve", "--addr", "127.0.0.1:0"}, {"--data", data, "backup", filepath.Join(t.TempDir(), "b")}} {
		err := run(context.Background(), args, nil, &out, &out)
		if err == nil || !strings.Contains(err.Error(), "a restore did not finish") {
			t.Errorf("%v: %v", args, err)
		}
	}
}
