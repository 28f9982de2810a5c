package kinesis

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"rrdash/store"

	"rrdash/ingest/kinesis/kinesistest"
)

// consumerBinary builds the program the test kills: the real rrdash when
// its dispatch knows `ingest kinesis`, else a test binary that calls this
// package exactly as the subcommand does.
func consumerBinary(t *testing.T) func(dataDir string, args []string) *exec.Cmd {
	t.Helper()
	dir := t.TempDir()
	build := func(out, pkg string) error {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir = repoRoot(t)
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
		}
		return nil
	}
	rrdash := filepath.Join(dir, "rrdash")
	if err := build(rrdash, "./cmd/rrdash"); err != nil {
		t.Logf("%v", err) // cmd's own tests report that; this test is about the consumer
	} else {
		probe, _ := exec.Command(rrdash, "--data", filepath.Join(dir, "probe"), "ingest", "kinesis", "-h").CombinedOutput()
		if strings.Contains(string(probe), "-stream") && strings.Contains(string(probe), "-dead-letter") {
			t.Logf("killing the real rrdash binary")
			return func(dataDir string, args []string) *exec.Cmd {
				return exec.Command(rrdash, append([]string{"--data", dataDir, "ingest", "kinesis"}, args...)...)
			}
		}
	}
	t.Logf("rrdash has no `ingest kinesis` yet; killing internal/testbin")
	bin := filepath.Join(dir, "testbin")
	if err := build(bin, "./ingest/kinesis/internal/testbin"); err != nil {
		t.Fatal(err)
	}
	return func(dataDir string, args []string) *exec.Cmd {
		return exec.Command(bin, append([]string{dataDir}, args...)...)
	}
}

// consumerProc is one run of the consumer with its log kept in a file.
type consumerProc struct {
	cmd     *exec.Cmd
	logPath string
	caught  chan struct{}
	started chan struct{} // closed at its first log line: its signal handler is in place
	exited  chan error
}

func startConsumer(t *testing.T, mk func(string, []string) *exec.Cmd, dataDir string, args []string, n int) *consumerProc {
	t.Helper()
	p := &consumerProc{cmd: mk(dataDir, args), logPath: filepath.Join(t.TempDir(), fmt.Sprintf("consumer%d.log", n)),
		caught: make(chan struct{}), started: make(chan struct{}), exited: make(chan error, 1)}
	logf, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = logf
	p.cmd.Stderr = pw
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start consumer: %v", err)
	}
	pw.Close()
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		once, first := sync.Once{}, sync.Once{}
		for sc.Scan() {
			first.Do(func() { close(p.started) })
			fmt.Fprintln(logf, sc.Text())
			if strings.Contains(sc.Text(), `msg="kinesis: caught up"`) {
				once.Do(func() { close(p.caught) })
			}
		}
		pr.Close()
	}()
	go func() {
		err := p.cmd.Wait()
		<-logged // the log is whole before anyone reads it
		logf.Close()
		p.exited <- err
	}()
	return p
}

func (p *consumerProc) dumpLog(t *testing.T) {
	b, _ := os.ReadFile(p.logPath)
	// The lines that say where each shard resumed and what was restored,
	// wherever they are, then the tail.
	var head []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "consumer starting") || strings.Contains(l, "reading shard") || strings.Contains(l, "level=ERROR") {
			head = append(head, l)
		}
	}
	if len(b) > 20000 {
		b = b[len(b)-20000:]
	}
	t.Logf("consumer log %s (start lines):\n%s\n(tail):\n%s", p.logPath, strings.Join(head, "\n"), b)
}

// TestKinesisExactlyOnceKill9 is the test: 20,000 records over 200
// series from several producers into a 2-shard kinesalite stream, a shard
// split half-way, the consumer process killed with SIGKILL twice at random
// moments and restarted; then every series must hold exactly the values
// put, and the dead-letter file exactly the bad and late records.
func TestKinesisExactlyOnceKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("long end-to-end test")
	}
	ep := kinesistest.Start(t)
	mk := consumerBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	const stream = "cimaa-metrics"
	client := NewClient(Config{Endpoint: ep, Region: "us-east-1"})
	kinesistest.CreateStream(ctx, t, client, stream, 2)

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	base := (time.Now().Unix()/3600 - 4) * 3600
	data := e2eData(base, rng, e2eSeries)

	dataDir := t.TempDir()
	deadLetters := filepath.Join(dataDir, "kinesis-"+stream+".deadletter.jsonl")
	args := []string{"--endpoint", ep, "--stream", stream, "--grace", "60", "--idle-flush", "3s", "--dead-letter", deadLetters,
		"--flush-interval", "200ms", "--poll", "100ms", "--min-call-interval", "20ms", "--list-interval", "1s"}
	prodErr := make(chan error, 1)
	go func() { prodErr <- produce(ctx, t, client, stream, data, e2eProducers, 60*time.Millisecond) }()

	// Two kills at random moments while records come in, each followed by a restart.
	procs := []*consumerProc{startConsumer(t, mk, dataDir, args, 0)}
	for k := range 2 {
		wait := time.Duration(800+rng.IntN(2500)) * time.Millisecond
		p := procs[len(procs)-1]
		select {
		case <-time.After(wait):
		case err := <-p.exited:
			p.dumpLog(t)
			t.Fatalf("consumer exited before kill %d: %v", k+1, err)
		}
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("kill: %v", err)
		}
		<-p.exited
		t.Logf("kill %d after %v", k+1, wait)
		procs = append(procs, startConsumer(t, mk, dataDir, args, k+1))
	}
	if err := <-prodErr; err != nil {
		t.Fatal(err)
	}
	// Every record is in: a consumer that catches up now has applied all.
	// Restart once more (gracefully) so "caught up" comes after the last put.
	last := procs[len(procs)-1]
	// A SIGTERM sent before the process has installed its handler (right
	// after a start, when the producer is already done) kills it outright.
	select {
	case <-last.started:
	case <-last.exited:
		last.dumpLog(t)
		t.Fatal("consumer exited before its first log line")
	case <-time.After(30 * time.Second):
		t.Fatal("consumer logged nothing in 30 s")
	}
	if err := last.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-last.exited; err != nil {
		last.dumpLog(t)
		t.Fatalf("consumer after SIGTERM: %v", err)
	}
	final := startConsumer(t, mk, dataDir, args, len(procs))
	procs = append(procs, final)
	select {
	case <-final.caught:
	case err := <-final.exited:
		final.dumpLog(t)
		t.Fatalf("final consumer exited: %v", err)
	case <-ctx.Done():
		final.dumpLog(t)
		t.Fatal("final consumer did not catch up in time")
	}
	if err := final.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-final.exited; err != nil {
		final.dumpLog(t)
		t.Fatalf("final consumer after SIGTERM: %v", err)
	}
	defer func() {
		if t.Failed() {
			for _, p := range procs {
				p.dumpLog(t)
			}
		}
	}()
	db, err := store.Open(dataDir, store.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	defer db.Close()
	checkSeries(t, db.Fetch, base, data)
	for _, sd := range data[:10] {
		if m, err := db.Meta(sd.name); err != nil || m["units"] != "ms" {
			t.Errorf("series %s: meta %v, %v; want units ms", sd.name, m, err)
		}
	}
	b, err := os.ReadFile(deadLetters)
	if err != nil {
		t.Fatal(err)
	}
	checkDeadLetters(t, b, data)
}

// killThenCatchUp runs the consumer cycles times, killing each run with
// SIGKILL 1 s plus up to spread after its start, then once more until it
// has caught up with the stream, and stops that run with SIGTERM. When the
// test fails, every run's log is printed.
func killThenCatchUp(ctx context.Context, t *testing.T, mk func(string, []string) *exec.Cmd, dataDir string, args []string,
	cycles int, spread time.Duration, rng *rand.Rand) {
	t.Helper()
	var procs []*consumerProc
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range procs {
				p.dumpLog(t)
			}
		}
	})
	for k := range cycles {
		p := startConsumer(t, mk, dataDir, args, k)
		procs = append(procs, p)
		wait := time.Duration(1000+rng.IntN(int(spread/time.Millisecond))) * time.Millisecond
		select {
		case <-time.After(wait):
		case err := <-p.exited:
			t.Fatalf("consumer exited before kill %d: %v", k+1, err)
		}
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("kill: %v", err)
		}
		<-p.exited
		t.Logf("kill %d after %v", k+1, wait)
	}
	final := startConsumer(t, mk, dataDir, args, cycles)
	procs = append(procs, final)
	select {
	case <-final.caught:
	case err := <-final.exited:
		t.Fatalf("final consumer exited: %v", err)
	case <-ctx.Done():
		t.Fatal("final consumer did not catch up in time")
	}
	if err := final.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-final.exited; err != nil {
		t.Fatalf("final consumer after SIGTERM: %v", err)
	}
}

// checkStoredOnce checks that the store in dataDir holds every good point
// of data once and the dead-letter file every bad one once.
func checkStoredOnce(t *testing.T, dataDir, deadLetters string, base int64, data []*e2eSeriesData) {
	t.Helper()
	db, err := store.Open(dataDir, store.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	defer db.Close()
	checkSeries(t, db.Fetch, base, data)
	b, err := os.ReadFile(deadLetters)
	if err != nil {
		t.Fatal(err)
	}
	checkDeadLetters(t, b, data)
}
