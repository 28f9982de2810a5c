package kinesis

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"rrdash/ingest/kinesis/dynamotest"
	"rrdash/ingest/kinesis/kds"
	"rrdash/ingest/kinesis/kinesistest"
	"rrdash/store/cluster"
)

// TestConsumersSplitStreamThroughDynamoLeases: three consumers, each with
// its own store and a DynamoLeaser on one dynalite table, share a 4-shard
// kinesalite stream: the consumers create the shards' leases themselves
// (SyncShards), each shard is read by the one consumer holding its lease,
// and every point put is applied exactly once across them, each series in
// one store only.
func TestConsumersSplitStreamThroughDynamoLeases(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	db := dynamotest.Client(dynamotest.Start(t))
	ep := kinesistest.Start(t)
	const stream, d = "split", time.Second
	base := Config{Stream: stream, Endpoint: ep, Grace: time.Second, IdleFlush: 100 * time.Millisecond, FlushInterval: 20 * time.Millisecond,
		PollInterval: 20 * time.Millisecond, MinCallInterval: time.Millisecond, ListInterval: 100 * time.Millisecond}
	client := NewClient(base)
	kinesistest.CreateStream(ctx, t, client, stream, 4)

	type node struct {
		w     *leaseWorker
		store *rrdStore
		c     *Consumer
		exit  chan error
	}
	ws := map[string]*leaseWorker{}
	var nodes []*node
	for i := range 3 {
		id := fmt.Sprintf("c%d", i)
		w := startLeaseWorker(t, db, "rrdash-split", id, d)
		ws[id] = w
		cfg := base
		cfg.DeadLetterPath = filepath.Join(t.TempDir(), "dead.jsonl")
		st := newRRDStore()
		c, err := New(cfg, st, Options{Logger: testLogger(t), Lookup: st.lookup, Leaser: w.l})
		if err != nil {
			t.Fatal(err)
		}
		n := &node{w: w, store: st, c: c, exit: make(chan error, 1)}
		rctx, stop := context.WithCancel(ctx)
		go func() { n.exit <- c.Run(rctx) }()
		t.Cleanup(func() { stop(); <-n.exit })
		nodes = append(nodes, n)
	}
	// The consumers listed the shards and made their leases; wait for the
	// even split before putting records, so no lease moves while they are
	// read (a moved shard is re-read by its new owner: state hand-off is
	// not there yet).
	waitHeld(t, ws, 30*d, "4 shards split 2/1/1 by the consumers", func(h map[string][]string) bool {
		n := perWorker(h)
		return len(h) == 4 && len(n) == 3 && max(n["c0"], n["c1"], n["c2"]) == 2
	})
	time.Sleep(2 * d) // a few taker rounds: settled
	before := holders(t, ws)

	var names []string
	for i := range 40 {
		names = append(names, fmt.Sprintf("split.series%d", i))
	}
	t0 := (time.Now().Unix()/3600 - 2) * 3600
	const points = 20
	putPoints(ctx, t, client, stream, names, t0, 0, points)
	want := int64(points * len(names))
	for {
		var applied int64
		for _, n := range nodes {
			applied += n.c.Stats().Counts.Applied
		}
		if applied == want {
			break
		}
		if applied > want {
			t.Fatalf("%d points applied across the consumers, %d put: some applied twice", applied, want)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d of %d points applied", applied, want)
		case <-time.After(50 * time.Millisecond):
		}
	}
	if after := holders(t, ws); !maps.EqualFunc(before, after, slices.Equal) {
		t.Errorf("leases moved while reading: %v then %v", before, after)
	}
	for _, name := range names {
		var in []int
		for i, n := range nodes {
			if _, ok, _ := n.store.lookup(name); ok {
				in = append(in, i)
			}
		}
		if len(in) != 1 {
			t.Errorf("series %s in the stores of consumers %v, want exactly one", name, in)
		}
	}
	// Each series is in the store of the consumer holding its shard, the
	// shard Kinesis put it in (routing by MD5 of the series name).
	res, err := client.ListShards(ctx, &kds.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	var ranges []cluster.ShardRange
	for _, sh := range res.Shards {
		r, err := cluster.ParseRange(aws.ToString(sh.ShardId), aws.ToString(sh.HashKeyRange.StartingHashKey), aws.ToString(sh.HashKeyRange.EndingHashKey))
		if err != nil {
			t.Fatal(err)
		}
		ranges = append(ranges, r)
	}
	rt, err := cluster.NewRouter(ranges)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range nodes {
		held := n.w.l.Held()
		for _, name := range names {
			if _, ok, _ := n.store.lookup(name); ok && !slices.Contains(held, rt.Shard(name)) {
				t.Errorf("consumer %d has series %s of shard %s, but holds %v", i, name, rt.Shard(name), held)
			}
		}
	}
}
