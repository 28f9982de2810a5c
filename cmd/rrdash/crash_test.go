package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"rrdash/store"
)

// TestKill9KeepsAcknowledgedUpdates feeds a long update stream through
// `rrdash update NAME -`, kills the process with SIGKILL at random points,
// restarts it and resumes after the series' last update. Every update
// acknowledged before a kill must be there, none applied twice: the final
// archive equals an uninterrupted in-memory run.
func TestKill9KeepsAcknowledgedUpdates(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "rrdash")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	data := t.TempDir()
	specArgs := []string{"DS:g:GAUGE:120:U:U", "DS:c:COUNTER:120:U:U", "RRA:AVERAGE:0.5:1:500", "RRA:MAX:0.5:6:100", "RRA:LAST:0.5:1:500"}
	create := append([]string{"--data", data, "create", "s", "--start", "1000000000", "--step", "10"}, specArgs...)
	if out, err := exec.Command(bin, create...).CombinedOutput(); err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	r := rand.New(rand.NewPCG(9, 9))
	var lines []string
	tm, ctr := int64(1000000000), uint64(0)
	for i := 0; i < 3000; i++ {
		tm += 1 + r.Int64N(15)
		ctr += r.Uint64N(5000)
		lines = append(lines, fmt.Sprintf("%d:%d.%d:%d", tm, r.IntN(1000), r.IntN(10), ctr))
	}
	kills, next := 0, 0
	var acked int
	for next < len(lines) {
		cmd := exec.Command(bin, "--data", data, "update", "s", "-")
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := 50 + r.IntN(400)
		sc := bufio.NewScanner(stdout)
		sent := 0
		killed := false
		for next < len(lines) {
			if _, err := io.WriteString(stdin, lines[next]+"\n"); err != nil {
				break
			}
			sent++
			if kills < 8 && sent == killAfter {
				// kill while the line is in flight: it may or may not be applied
				time.Sleep(time.Duration(r.IntN(300)) * time.Microsecond)
				cmd.Process.Signal(syscall.SIGKILL)
				killed = true
				kills++
				break
			}
			if !sc.Scan() {
				break
			}
			if !strings.HasPrefix(sc.Text(), "OK") {
				t.Fatalf("line %d: %s", next, sc.Text())
			}
			next++
			acked = next
		}
		stdin.Close()
		cmd.Wait()
		if !killed && next < len(lines) {
			t.Fatalf("rrdash stopped early at line %d", next)
		}
		// resume after what is durable: the series' last update
		out, err := exec.Command(bin, "--data", data, "last", "s").CombinedOutput()
		if err != nil {
			t.Fatalf("last: %v %s", err, out)
		}
		last, _ := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		for next = 0; next < len(lines); next++ {
			ts, _ := strconv.ParseInt(strings.SplitN(lines[next], ":", 2)[0], 10, 64)
			if ts > last {
				break
			}
		}
		if next < acked {
			t.Fatalf("acknowledged update %d lost after kill (store resumes at %d)", acked-1, next)
		}
	}
	if kills == 0 {
		t.Fatal("no kill happened")
	}
	// uninterrupted reference
	spec, _ := store.ParseSpecArgs(10, 1000000000, specArgs)
	ref, _ := store.NewRRD(spec)
	for _, l := range lines {
		u, _ := store.ParseUpdateArg(l, nil, 2)
		if err := ref.Update(u.Time, u.Usec, u.Values); err != nil {
			t.Fatal(err)
		}
	}
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for a, cf := range []store.CF{store.Average, store.Max, store.Last} {
		q := store.FetchRequest{CF: cf, Start: tm - 3000, End: tm, Resolution: []int64{10, 60, 10}[a]}
		got, err := db.Fetch("s", q)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := ref.Fetch(q)
		for d := range want.Values {
			for i := range want.Values[d] {
				g, w := got.Values[d][i], want.Values[d][i]
				if !(g == w || math.IsNaN(g) && math.IsNaN(w)) {
					t.Fatalf("%s ds %d row %d: %v, uninterrupted run %v", cf, d, i, g, w)
				}
			}
		}
	}
	t.Logf("%d updates, %d kills, final state equals an uninterrupted run", len(lines), kills)
}

func TestSecondProcessGetsLockError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = store.Open(dir, store.Options{})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("second open: %v", err)
	}
}
