package kinesis

import (
	"context"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"rrdash/ingest/kinesis/kds"
	"rrdash/ingest/kinesis/kinesistest"
)

// TestReadShardsAcrossSplit puts records, splits the shard, puts more, and
// checks that listing shows parent and children and that reading the
// parent then the children returns every record once, in order, with the
// parent ending.
func TestReadShardsAcrossSplit(t *testing.T) {
	t.Parallel()
	ep := kinesistest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := Config{Stream: "split-test", Endpoint: ep, DeadLetterPath: "unused", PollInterval: 20 * time.Millisecond, MinCallInterval: time.Millisecond}
	if err := cfg.setDefaults(); err != nil {
		t.Fatal(err)
	}
	client := NewClient(cfg)
	kinesistest.CreateStream(ctx, t, client, cfg.Stream, 1)
	put := func(from, to int) {
		for i := from; i < to; i++ {
			if _, err := client.PutRecord(ctx, &kds.PutRecordInput{StreamName: aws.String(cfg.Stream),
				PartitionKey: aws.String(fmt.Sprint("k", i)), Data: fmt.Appendf(nil, "%d", i)}); err != nil {
				t.Fatalf("PutRecord %d: %v", i, err)
			}
		}
	}
	put(0, 20)
	c := &Consumer{cfg: cfg, client: client, log: testLogger(t)}
	shards, err := c.listShards(ctx)
	if err != nil || len(shards) != 1 {
		t.Fatalf("listShards = %v, %v", shards, err)
	}
	desc, err := client.ListShards(ctx, &kds.ListShardsInput{StreamName: aws.String(cfg.Stream)})
	if err != nil {
		t.Fatal(err)
	}
	hr := desc.Shards[0].HashKeyRange
	lo, _ := new(big.Int).SetString(aws.ToString(hr.StartingHashKey), 10)
	hi, _ := new(big.Int).SetString(aws.ToString(hr.EndingHashKey), 10)
	mid := new(big.Int).Rsh(new(big.Int).Add(lo, hi), 1)
	if err := client.SplitShard(ctx, &kds.SplitShardInput{StreamName: aws.String(cfg.Stream), ShardToSplit: desc.Shards[0].ShardId,
		NewStartingHashKey: aws.String(mid.String())}); err != nil {
		t.Fatalf("SplitShard: %v", err)
	}
	kinesistest.WaitActive(ctx, t, client, cfg.Stream)
	put(20, 40)

	shards, err = c.listShards(ctx)
	if err != nil || len(shards) != 3 {
		t.Fatalf("after split listShards = %v, %v", shards, err)
	}
	parent := shards[0]
	if !parent.closed || parent.parent != "" {
		t.Fatalf("parent %+v: want closed without parent", parent)
	}
	got := map[string]bool{}
	for _, s := range shards {
		if s.id != parent.id && (s.parent != parent.id || s.closed) {
			t.Fatalf("child %+v: want open with parent %s", s, parent.id)
		}
		out := make(chan shardBatch, 100)
		rctx, rcancel := context.WithCancel(ctx)
		lease, _, _ := NewLocalLeaser().Acquire(ctx, s.id)
		done := make(chan struct{})
		go func() { defer close(done); c.readShard(rctx, lease, s.id, kds.ShardIteratorTypeTrimHorizon, "", out) }()
		var last string
		ended := false
		for !ended {
			b := <-out
			for _, r := range b.records {
				if last != "" && !seqLess(last, r.Seq) {
					t.Errorf("shard %s: sequence %s after %s", s.id, r.Seq, last)
				}
				last = r.Seq
				if got[string(r.Data)] {
					t.Errorf("record %s read twice", r.Data)
				}
				got[string(r.Data)] = true
				if r.Arrival.IsZero() {
					t.Errorf("record %s has no arrival time", r.Data)
				}
			}
			ended = b.end
			if s.id != parent.id && len(b.records) == 0 {
				break // an open child has no end: stop at its tip
			}
		}
		rcancel()
		<-done
		if s.id == parent.id && !ended {
			t.Errorf("parent shard did not end")
		}
	}
	if len(got) != 40 {
		t.Errorf("read %d distinct records, want 40", len(got))
	}
}
