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
)

// putPointsSeq puts points k in [from, to) of every series, as putPoints
// does, and returns the last sequence number put in each shard.
func putPointsSeq(ctx context.Context, t *testing.T, client *kds.Client, stream string, names []string, base int64, from, to int, last map[string]string) {
	t.Helper()
	for k := from; k < to; k++ {
		in := &kds.PutRecordsInput{StreamName: aws.String(stream)}
		for i, n := range names {
			in.Records = append(in.Records, kds.PutRecordsRequestEntry{PartitionKey: aws.String(n),
				Data: fmt.Appendf(nil, `{"timestamp":%d,"name":%q,"value":%d}`, base+60*int64(k), n, i*1000+k)})
		}
		res, err := client.PutRecords(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Records {
			sh, seq := aws.ToString(r.ShardId), aws.ToString(r.SequenceNumber)
			if seq == "" {
				t.Fatalf("put refused: %s", aws.ToString(r.ErrorMessage))
			}
			if seqLess(last[sh], seq) {
				last[sh] = seq
			}
		}
	}
}

// TestConsumerTakeoverFromLeaseCheckpoint: two consumers with their own
// stores split a 2-shard stream through a dynalite lease table. After the
// first points are applied, each lease's checkpoint is the last record
// put in its shard (copied there after the durable flush). One consumer
// is killed (no release, no final flush); the other takes its lease over
// once it expires and, its journal knowing nothing of that shard, starts
// after the lease's checkpoint: across both stores every point is applied
// exactly once. Starting at TRIM_HORIZON instead would apply the first
// points a second time, in the survivor's store.
func TestConsumerTakeoverFromLeaseCheckpoint(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	db := dynamotest.Client(dynamotest.Start(t))
	ep := kinesistest.Start(t)
	// A lease duration of 3 s keeps a loaded machine's late renewals from
	// moving leases while the first points are read.
	const stream, table, d = "takeover", "rrdash-takeover", 3 * time.Second
	base := Config{Stream: stream, Endpoint: ep, Grace: time.Second, IdleFlush: 100 * time.Millisecond, FlushInterval: 20 * time.Millisecond,
		PollInterval: 20 * time.Millisecond, MinCallInterval: time.Millisecond, ListInterval: 100 * time.Millisecond}
	client := NewClient(base)
	kinesistest.CreateStream(ctx, t, client, stream, 2)

	type node struct {
		w    *leaseWorker
		c    *Consumer
		stop context.CancelFunc
		exit chan error
	}
	ws := map[string]*leaseWorker{}
	nodes := map[string]*node{}
	for _, id := range []string{"a", "b"} {
		w := startLeaseWorker(t, db, table, id, d)
		ws[id] = w
		cfg := base
		cfg.DeadLetterPath = filepath.Join(t.TempDir(), "dead.jsonl")
		st := newRRDStore()
		c, err := New(cfg, st, Options{Logger: testLogger(t), Lookup: st.lookup, Leaser: w.l})
		if err != nil {
			t.Fatal(err)
		}
		rctx, stop := context.WithCancel(ctx)
		n := &node{w: w, c: c, stop: stop, exit: make(chan error, 1)}
		go func() { n.exit <- c.Run(rctx) }()
		t.Cleanup(func() { stop(); <-n.exit })
		nodes[id] = n
	}
	waitHeld(t, ws, 10*d, "2 shards split 1/1", func(h map[string][]string) bool {
		n := perWorker(h)
		return len(h) == 2 && n["a"] == 1 && n["b"] == 1
	})
	// A robbed worker learns it at its next renewal or scan: settle, so
	// no shard is read by two consumers (that is the hand-off's job).
	time.Sleep(d)
	before := holders(t, ws)

	var names []string
	for i := range 20 {
		names = append(names, fmt.Sprintf("takeover.series%d", i))
	}
	t0 := (time.Now().Unix()/3600 - 2) * 3600
	const points = 10
	last := map[string]string{}
	putPointsSeq(ctx, t, client, stream, names, t0, 0, points, last)
	if len(last) != 2 {
		t.Fatalf("records went to shards %v, want both", last)
	}
	applied := func() int64 { return nodes["a"].c.Stats().Counts.Applied + nodes["b"].c.Stats().Counts.Applied }
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for !ok() {
			select {
			case <-ctx.Done():
				t.Fatalf("waiting for %s: %d points applied", what, applied())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	want := int64(points * len(names))
	waitFor("the first points applied", func() bool { return applied() >= want })
	if got := applied(); got != want {
		t.Fatalf("%d points applied of %d put", got, want)
	}
	waitFor("the lease checkpoints at the last records put", func() bool {
		items, err := ws["a"].l.Leases(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if it.Checkpoint != last[it.Shard] {
				return false
			}
		}
		return len(items) == 2
	})

	if after := holders(t, ws); !maps.EqualFunc(before, after, slices.Equal) {
		t.Fatalf("leases moved while reading: %v then %v", before, after)
	}

	// Kill a: its reader, applier and renewals stop; nothing is released.
	victim := nodes["a"]
	victimShards := victim.w.l.Held()
	victim.stop()
	if err := <-victim.exit; err != nil {
		t.Fatal(err)
	}
	victim.exit <- nil // for the cleanup
	victim.w.stop()
	<-victim.w.done
	delete(ws, "a")
	applied0 := victim.c.Stats().Counts.Applied

	putPointsSeq(ctx, t, client, stream, names, t0, points, 2*points, last)
	waitHeld(t, ws, 10*d, "the killed consumer's lease taken over", func(h map[string][]string) bool {
		return len(h) == 2 && len(h[victimShards[0]]) == 1 && h[victimShards[0]][0] == "b"
	})
	want *= 2
	waitFor("every point applied", func() bool { return applied() >= want })
	// A few more flushes and lease rounds: nothing more arrives.
	time.Sleep(time.Second)
	if got := applied(); got != want {
		t.Fatalf("%d points applied across the stores, %d put: the survivor did not start at the lease checkpoint", got, want)
	}
	if victim.c.Stats().Counts.Applied != applied0 {
		t.Fatal("the killed consumer applied points after its kill")
	}
	st := nodes["b"].c.Stats()
	if n := sum(st.Counts.Bad); n != 0 || st.Counts.Replayed != 0 {
		t.Errorf("survivor: %d dead letters, %d replayed, want none", n, st.Counts.Replayed)
	}
	waitFor("the taken-over lease's checkpoint at the last record put", func() bool {
		items, err := ws["b"].l.Leases(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if it.Checkpoint != last[it.Shard] || it.Owner != "b" {
				return false
			}
		}
		return len(items) == 2
	})
}

// TestLeaseCheckpointsDuringRenewals: checkpoints written back to back
// while the leaser renews every 100 ms are all accepted and the lease is
// never lost: a renewal and a checkpoint each condition on the counter
// the other moves, so they must not interleave.
func TestLeaseCheckpointsDuringRenewals(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db := dynamotest.Client(dynamotest.Start(t))
	w := startLeaseWorker(t, db, "rrdash-renew", "w", 300*time.Millisecond)
	if err := w.l.SyncShards(ctx, []ShardLineage{{ID: "shardId-000000000000"}}); err != nil {
		t.Fatal(err)
	}
	var lease Lease
	for lease == nil {
		l, ok, err := w.l.Acquire(ctx, "shardId-000000000000")
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			lease = l
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("lease never taken")
		case <-time.After(20 * time.Millisecond):
		}
	}
	sc := lease.(SharedCheckpoint)
	deadline := time.Now().Add(1500 * time.Millisecond)
	n := 0
	for ; time.Now().Before(deadline); n++ {
		seq := fmt.Sprintf("%056d", n+1)
		if err := sc.Checkpoint(ctx, seq); err != nil {
			t.Fatalf("checkpoint %d: %v", n, err)
		}
		select {
		case <-lease.Lost():
			t.Fatalf("lease lost after %d checkpoints", n)
		default:
		}
	}
	items, err := w.l.Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Owner != "w" || items[0].Checkpoint != fmt.Sprintf("%056d", n) {
		t.Fatalf("lease table %+v after %d checkpoints", items, n)
	}
}
