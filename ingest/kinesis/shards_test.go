package kinesis

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"rrdash/ingest/kinesis/kds"
	"rrdash/store"

	"rrdash/ingest/kinesis/kinesistest"
)

// putPoints puts points from..to-1 of each series, one record each, with
// the series name as partition key.
func putPoints(ctx context.Context, t *testing.T, client *kds.Client, stream string, names []string, base int64, from, to int) {
	t.Helper()
	for k := from; k < to; k++ {
		in := &kds.PutRecordsInput{StreamName: aws.String(stream)}
		for i, n := range names {
			in.Records = append(in.Records, kds.PutRecordsRequestEntry{PartitionKey: aws.String(n),
				Data: fmt.Appendf(nil, `{"timestamp":%d,"name":%q,"value":%d}`, base+60*int64(k), n, i*1000+k)})
		}
		if _, err := client.PutRecords(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
}

// runUntilCaughtUp runs a consumer until it has caught up and stops it.
func runUntilCaughtUp(ctx context.Context, t *testing.T, cfg Config, db *rrdStore) Stats {
	return runUntil(ctx, t, cfg, db, func(s Stats) bool { return s.CaughtUp })
}

// runUntil runs a consumer until done says so and stops it.
func runUntil(ctx context.Context, t *testing.T, cfg Config, db *rrdStore, done func(Stats) bool) Stats {
	t.Helper()
	c, err := New(cfg, db, Options{Logger: testLogger(t), Lookup: db.lookup})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	exited := make(chan error, 1)
	go func() { exited <- c.Run(rctx) }()
	for !done(c.Stats()) {
		select {
		case err := <-exited:
			t.Fatalf("consumer stopped: %v", err)
		case <-ctx.Done():
			t.Fatalf("not caught up in time: %+v", c.Stats())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	if err := <-exited; err != nil {
		t.Fatal(err)
	}
	return c.Stats()
}

// TestConsumerMerge merges two shards after half the points: the merged
// shard must be read only after both parents, or the parents' last points
// would arrive after the child's newer ones and be late.
func TestConsumerMerge(t *testing.T) {
	t.Parallel()
	ep := kinesistest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const stream = "merge"
	// A 1-minute grace window and no idle flush: any out-of-order read
	// across the merge shows as late points. Small GetRecords make the
	// parents take many calls, so a child read too early would overtake them.
	cfg := Config{Stream: stream, Endpoint: ep, Grace: time.Minute, IdleFlush: time.Hour, FlushInterval: 20 * time.Millisecond, Limit: 20,
		PollInterval: 20 * time.Millisecond, MinCallInterval: time.Millisecond, ListInterval: 100 * time.Millisecond,
		DeadLetterPath: filepath.Join(t.TempDir(), "dead.jsonl")}
	client := NewClient(cfg)
	kinesistest.CreateStream(ctx, t, client, stream, 2)
	var names []string
	for i := range 20 {
		names = append(names, fmt.Sprintf("merge.series%d", i))
	}
	base := (time.Now().Unix()/3600 - 2) * 3600
	putPoints(ctx, t, client, stream, names, base, 0, 30)
	ls, err := client.ListShards(ctx, &kds.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil || len(ls.Shards) != 2 {
		t.Fatalf("ListShards: %v %v", ls, err)
	}
	if err := client.MergeShards(ctx, &kds.MergeShardsInput{StreamName: aws.String(stream),
		ShardToMerge: ls.Shards[0].ShardId, AdjacentShardToMerge: ls.Shards[1].ShardId}); err != nil {
		t.Fatalf("MergeShards: %v", err)
	}
	kinesistest.WaitActive(ctx, t, client, stream)
	putPoints(ctx, t, client, stream, names, base, 30, 60)
	// Flush the last points: one more point per series beyond the window.
	putPoints(ctx, t, client, stream, names, base, 61, 62)

	db := newRRDStore()
	// The last point of each series stays in the grace buffer (no idle
	// flush); everything before it must be applied.
	st := runUntil(ctx, t, cfg, db, func(s Stats) bool { return s.Counts.Applied+s.Counts.Bad[ReasonLate] >= 60*int64(len(names)) })
	if late := st.Counts.Bad[ReasonLate]; late != 0 {
		t.Errorf("%d late points: the merged shard was read before its parents", late)
	}
	if len(st.Shards) != 3 {
		t.Errorf("shards %v, want 2 parents and the merged child", st.Shards)
	}
	for i, n := range names {
		res, err := db.fetch(n, store.FetchRequest{CF: store.Average, Start: base - 60, End: base + 60*59, Resolution: 60})
		if err != nil {
			t.Fatal(err)
		}
		col := res.Column("value")
		for k := range 60 {
			row := int((base+60*int64(k)-res.Start)/res.Step) - 1
			if want := float64(i*1000 + k); col[row] != want {
				t.Errorf("%s point %d: stored %v, put %v", n, k, col[row], want)
			}
		}
	}
	if b, _ := os.ReadFile(cfg.DeadLetterPath); len(b) != 0 {
		t.Errorf("dead letters: %s", b)
	}
}

// TestConsumerLatest starts a fresh consumer at LATEST: records put before
// it started are not read, records put after are; after a restart it goes
// on from its checkpoint, not from LATEST again.
func TestConsumerLatest(t *testing.T) {
	t.Parallel()
	ep := kinesistest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const stream = "latest"
	cfg := Config{Stream: stream, Endpoint: ep, StartAt: Latest, Grace: time.Minute, IdleFlush: 100 * time.Millisecond,
		FlushInterval: 20 * time.Millisecond, PollInterval: 20 * time.Millisecond, MinCallInterval: time.Millisecond,
		DeadLetterPath: filepath.Join(t.TempDir(), "dead.jsonl")}
	client := NewClient(cfg)
	kinesistest.CreateStream(ctx, t, client, stream, 1)
	names := []string{"latest.a"}
	base := (time.Now().Unix()/3600 - 2) * 3600
	putPoints(ctx, t, client, stream, names, base, 0, 5) // before the consumer: never read
	db := newRRDStore()
	c, err := New(cfg, db, Options{Logger: testLogger(t), Lookup: db.lookup})
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(rctx) }()
	for len(c.Stats().Shards) == 0 || !c.Stats().Shards["shardId-000000000000"].AtTip { // reading from LATEST
		time.Sleep(10 * time.Millisecond)
	}
	putPoints(ctx, t, client, stream, names, base, 10, 15)
	for c.Stats().Counts.Applied < 5 {
		select {
		case err := <-done:
			t.Fatalf("consumer stopped: %v", err)
		case <-ctx.Done():
			t.Fatalf("points not applied: %+v", c.Stats())
		case <-time.After(10 * time.Millisecond):
		}
	}
	rcancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	putPoints(ctx, t, client, stream, names, base, 20, 25) // while stopped: read from the checkpoint
	st := runUntilCaughtUp(ctx, t, cfg, db)
	if st.Counts.Applied != 5 {
		t.Errorf("second run applied %d points, want 5", st.Counts.Applied)
	}
	res, err := db.fetch("latest.a", store.FetchRequest{CF: store.Average, Start: base - 60, End: base + 60*25, Resolution: 60})
	if err != nil {
		t.Fatal(err)
	}
	col := res.Column("value")
	for k := 0; k < 25; k++ {
		v := col[int((base+60*int64(k)-res.Start)/res.Step)-1]
		applied := k >= 10 && k < 15 || k >= 20
		if applied && v != float64(k) {
			t.Errorf("point %d: stored %v, want %d", k, v, k)
		}
		if k < 9 && v == v { // before the first point read: unknown
			t.Errorf("point %d was put before the consumer started at LATEST but stored %v", k, v)
		}
	}
}
