package kinesis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"rrdash/ingest/kinesis/kds"
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
	// Small reads: each run gets a few batches further than the one before,
	// and re-reads what it read after its last saved grace buffer.
	args := []string{"--endpoint", ep, "--stream", stream, "--idle-flush", "3s", "--poll", "100ms", "--min-call-interval", "20ms", "--list-interval", "1s", "--limit", "150", "--flush-interval", "300ms"}
	killThenCatchUp(ctx, t, mk, dataDir, args, 8, 3*time.Second, rng)
	checkStoredOnce(t, dataDir, deadLetters, base, data)
}

// TestKinesisShortRunSavesProgress is issue 23's second case: each shard
// starts with a point of a series that reports once (it stays in the grace
// buffer until its idle flush, an hour here), so no record of any shard is
// done while the first run lives; that run is killed soon after its first
// batch is durable. The restart must resume every shard after the records
// the first run read, not at TRIM_HORIZON, and still store every point once.
func TestKinesisShortRunSavesProgress(t *testing.T) {
	if testing.Short() {
		t.Skip("long end-to-end test")
	}
	ep := kinesistest.Start(t)
	mk := consumerBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	const stream = "cimaa-progress"
	client := NewClient(Config{Endpoint: ep, Region: "us-east-1"})
	kinesistest.CreateStream(ctx, t, client, stream, 4)

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	base := (time.Now().Unix()/3600 - 4) * 3600
	lonely := putLonelyPoints(ctx, t, client, stream, base-7200)
	data := e2eData(base, rng, 40)
	if err := produce(ctx, t, client, stream, data, 2, 0); err != nil {
		t.Fatal(err)
	}
	total := len(lonely)
	for _, sd := range data {
		for _, slot := range sd.slots {
			total += len(slot)
		}
	}

	dataDir := t.TempDir()
	deadLetters := filepath.Join(dataDir, "kinesis-"+stream+".deadletter.jsonl")
	args := []string{"--endpoint", ep, "--stream", stream, "--flush-interval", "200ms", "--poll", "100ms", "--min-call-interval", "20ms", "--list-interval", "1s"}
	first := startConsumer(t, mk, dataDir, append(args, "--idle-flush", "1h"), 0)
	procs := []*consumerProc{first}
	defer func() {
		if t.Failed() {
			for _, p := range procs {
				p.dumpLog(t)
			}
		}
	}()
	// Killed once the first batch with records of each of the four shards
	// is durable (the log says so); a build that does not say so is killed
	// after a few seconds of batches.
	saved := waitLog(ctx, first, 8*time.Second, func(log string) bool {
		for i := range 4 {
			if !regexp.MustCompile(`msg="kinesis: checkpoint saved[^\n]* shards=\S*shardId-00000000000` + strconv.Itoa(i)).MatchString(log) {
				return false
			}
		}
		return true
	})
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.exited
	t.Logf("first run killed (checkpoint logged: %v)", saved)

	second := startConsumer(t, mk, dataDir, append(args, "--idle-flush", "1s"), 1)
	procs = append(procs, second)
	select {
	case <-second.caught:
	case err := <-second.exited:
		t.Fatalf("second consumer exited: %v", err)
	case <-ctx.Done():
		t.Fatal("second consumer did not catch up in time")
	}
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-second.exited; err != nil {
		t.Fatalf("second consumer after SIGTERM: %v", err)
	}
	log, err := os.ReadFile(second.logPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(log), "\n") {
		if strings.Contains(line, `msg="kinesis: reading shard"`) && strings.Contains(line, "from=TRIM_HORIZON") {
			// Only the split's children may start there: the first run
			// did not reach them.
			if !strings.Contains(line, "shardId-000000000004") && !strings.Contains(line, "shardId-000000000005") {
				t.Errorf("the restart read a shard from the start again: %s", line)
			}
		}
	}
	m := regexp.MustCompile(`kinesis ` + stream + `: (\d+) records`).FindSubmatch(log)
	if m == nil {
		t.Fatalf("no summary in the second run's output")
	}
	reread, _ := strconv.Atoi(string(m[1]))
	t.Logf("the restart read %d of %d records", reread, total)
	if reread >= total/2 {
		t.Errorf("the restart read %d of %d records: the first run's progress was not saved", reread, total)
	}

	db, err := store.Open(dataDir, store.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	defer db.Close()
	checkSeries(t, db.Fetch, base, data)
	for name, ts := range lonely {
		if last, err := db.LastUpdate(name); err != nil || last != ts {
			t.Errorf("series %s: last update %d, %v; want %d", name, last, err, ts)
		}
	}
	b, err := os.ReadFile(deadLetters)
	if err != nil {
		t.Fatal(err)
	}
	checkDeadLetters(t, b, data)
}

// putLonelyPoints puts one point of its own series at ts into each shard
// and returns the series.
func putLonelyPoints(ctx context.Context, t *testing.T, client *kds.Client, stream string, ts int64) map[string]int64 {
	t.Helper()
	ls, err := client.ListShards(ctx, &kds.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatalf("ListShards: %v", err)
	}
	in := &kds.PutRecordsInput{StreamName: aws.String(stream)}
	series := map[string]int64{}
	for i, sh := range ls.Shards {
		name := fmt.Sprintf("//lonely/check#shard%d", i)
		series[name] = ts
		in.Records = append(in.Records, kds.PutRecordsRequestEntry{Data: fmt.Appendf(nil, `{"timestamp":%d,"name":%q,"value":42}`, ts, name),
			PartitionKey: aws.String(name), ExplicitHashKey: sh.HashKeyRange.StartingHashKey})
	}
	out, err := client.PutRecords(ctx, in)
	if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
		t.Fatalf("PutRecords: %v, %d failed", err, aws.ToInt32(out.FailedRecordCount))
	}
	return series
}

// waitLog waits until ok(p's log); false after timeout.
func waitLog(ctx context.Context, p *consumerProc, timeout time.Duration, ok func(string) bool) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if b, err := os.ReadFile(p.logPath); err == nil && ok(string(b)) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}
