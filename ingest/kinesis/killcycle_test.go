package kinesis

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"rrdash/store"

	"rrdash/ingest/kinesis/kinesistest"
)

// TestKinesisDeadLettersOnceAcrossShortKills is issue 23's first case: a
// 4-shard stream (split once: 5 shards) filled before the consumer starts,
// then many short runs of the real binary, each killed with SIGKILL 1 to 4
// s after it started, then a run to the end. Every good point must be
// stored once and every dead letter be in the file once.
func TestKinesisDeadLettersOnceAcrossShortKills(t *testing.T) {
	if testing.Short() {
		t.Skip("long end-to-end test")
	}
	ep := kinesistest.Start(t)
	mk := consumerBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 240*time.Second)
	defer cancel()
	const stream = "cimaa-kills"
	client := NewClient(Config{Endpoint: ep, Region: "us-east-1"})
	kinesistest.CreateStream(ctx, t, client, stream, 4)

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 23))
	base := (time.Now().Unix()/3600 - 4) * 3600
	data := e2eData(base, rng, e2eSeries)
	t0 := time.Now()
	if err := produce(ctx, t, client, stream, data, e2eProducers, 0); err != nil {
		t.Fatal(err)
	}
	t.Logf("stream filled in %v", time.Since(t0))

	dataDir := t.TempDir()
	deadLetters := filepath.Join(dataDir, "kinesis-"+stream+".deadletter.jsonl")
	args := []string{"--endpoint", ep, "--stream", stream, "--idle-flush", "3s", "--poll", "100ms", "--min-call-interval", "20ms", "--list-interval", "1s"}
	var procs []*consumerProc
	defer func() {
		if t.Failed() {
			for _, p := range procs {
				p.dumpLog(t)
			}
		}
	}()
	const cycles = 8
	for k := range cycles {
		p := startConsumer(t, mk, dataDir, args, k)
		procs = append(procs, p)
		wait := time.Duration(1000+rng.IntN(3000)) * time.Millisecond
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
