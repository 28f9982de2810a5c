package tracelog

import (
	"bufio"
	"context"
	"fmt"
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

// TestTailKill9 runs the tailer in a child process over a real store,
// kills it with SIGKILL at random moments while it reads and writes, and
// restarts it; the series must equal the model: nothing lost, nothing
// counted twice.
func TestTailKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir, data := t.TempDir(), t.TempDir()
	start := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC).UnixMicro()
	end := start + 30*60e6
	procs := testProcs
	reqs := simulate(21, procs, start, end)
	lines := simLines(reqs)
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(bsdLine(procs[l.proc], l) + "\n")
	}
	appendFile(t, filepath.Join(dir, "all.log"), b.String())
	rng := rand.New(rand.NewPCG(3, 4))
	last := lines[len(lines)-1].t
	kills := 0
	for run := 0; run < 20; run++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestTailKill9Child$")
		cmd.Env = append(os.Environ(), "TRACELOG_KILL9_CHILD=1", "TRACELOG_DIR="+dir, "TRACELOG_DATA="+data,
			"TRACELOG_NOW="+strconv.FormatInt(last+130e6, 10))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var errOut strings.Builder
		cmd.Stderr = &errOut
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// kill after a random number of cycles, a random moment into the next one
		killAt := 1 + rng.IntN(6)
		sc := bufio.NewScanner(out)
		cycles, done := 0, false
		for sc.Scan() {
			switch line := sc.Text(); {
			case line == "CYCLE":
				cycles++
			case line == "DONE":
				done = true
			}
			if cycles == killAt && !done && run < 10 {
				time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
				cmd.Process.Signal(syscall.SIGKILL)
				kills++
				break
			}
		}
		werr := cmd.Wait()
		if done {
			if werr != nil {
				t.Fatalf("child: %v\n%s", werr, errOut.String())
			}
			break
		}
		if run == 19 {
			t.Fatalf("the child never finished: %v\n%s", werr, errOut.String())
		}
	}
	if kills == 0 {
		t.Fatal("the child was never killed")
	}
	t.Logf("%d kills", kills)
	db := openStore(t, data)
	to := (last/60e6 + 1) * 60
	for pi, p := range procs {
		n := SeriesPrefix + p.instance()
		checkSeries(t, n, fetchRows(t, db, n, start/1e6-60, to), reqs, pi, start/1e6, to, 60, p.threads)
	}
}

// TestTailKill9Child is the child of TestTailKill9: it tails in small bites
// until every record is written, printing CYCLE after each cycle.
func TestTailKill9Child(t *testing.T) {
	if os.Getenv("TRACELOG_KILL9_CHILD") == "" {
		t.Skip("only run by TestTailKill9")
	}
	now, err := strconv.ParseInt(os.Getenv("TRACELOG_NOW"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(os.Getenv("TRACELOG_DATA"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tl, err := NewTailer(TailConfig{Sources: []SourceConfig{{Glob: filepath.Join(os.Getenv("TRACELOG_DIR"), "*.log")}},
		Location: time.UTC, Threads: testThreads(),
		Now: func() time.Time { return time.UnixMicro(now) }}, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	tl.readLimit = 48 << 10
	if err := tl.restore(); err != nil {
		t.Fatal(err)
	}
	defer tl.closeAll()
	ctx := context.Background()
	for {
		if err := tl.cycle(ctx); err != nil {
			t.Fatal(err)
		}
		fmt.Println("CYCLE")
		if len(tl.pending) == 0 && tl.caughtUp {
			break
		}
	}
	fmt.Println("DONE")
}
