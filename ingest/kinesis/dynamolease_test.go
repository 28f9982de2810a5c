package kinesis

import (
	"context"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"rrdash/ingest/kinesis/dynamo"
	"rrdash/ingest/kinesis/dynamotest"
	"rrdash/ingest/kinesis/kds"
	"rrdash/ingest/kinesis/kinesistest"
)

// leaseWorker is one DynamoLeaser running until stop; stop without
// ReleaseAll is what a kill -9 leaves behind: leases no one renews.
type leaseWorker struct {
	l    *DynamoLeaser
	stop context.CancelFunc
	done chan struct{}
}

func startLeaseWorker(t *testing.T, db *dynamo.Client, table, id string, d time.Duration) *leaseWorker {
	t.Helper()
	l, err := NewDynamoLeaser(db, DynamoConfig{Table: table, Worker: id, Duration: d, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.CreateTable(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &leaseWorker{l: l, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		l.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-w.done })
	return w
}

// streamLineage lists a stream's shards with their parents.
func streamLineage(t *testing.T, c *kds.Client, stream string) []ShardLineage {
	t.Helper()
	res, err := c.ListShards(context.Background(), &kds.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	var out []ShardLineage
	for _, s := range res.Shards {
		out = append(out, ShardLineage{ID: aws.ToString(s.ShardId), Parents: []string{aws.ToString(s.ParentShardId), aws.ToString(s.AdjacentParentShardId)}})
	}
	return out
}

// holders maps each shard to the workers that believe they hold it. A
// worker robbed of a lease believes so until its next renewal or scan
// (the KCL's window too); the table has one owner at any time.
func holders(t *testing.T, ws map[string]*leaseWorker) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, id := range slices.Sorted(maps.Keys(ws)) {
		for _, s := range ws[id].l.Held() {
			out[s] = append(out[s], id)
		}
	}
	return out
}

// single reports whether every shard has at most one holder.
func single(h map[string][]string) bool {
	for _, hs := range h {
		if len(hs) > 1 {
			return false
		}
	}
	return true
}

// waitHeld polls until every shard has at most one holder and ok(shard →
// holders), or the deadline; then the holders must be the table's owners.
// It returns how long it took.
func waitHeld(t *testing.T, ws map[string]*leaseWorker, within time.Duration, what string, ok func(map[string][]string) bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		h := holders(t, ws)
		mismatch := ""
		if single(h) && ok(h) {
			// The table is read after the holders: a steal in between
			// (the robbed worker learns of it at its next renewal) is a
			// mismatch of the moment, so look again; one that lasts to
			// the deadline fails.
			for _, w := range ws {
				items, err := w.l.Leases(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range items {
					if hs := h[it.Shard]; len(hs) == 1 && hs[0] != it.Owner && mismatch == "" {
						mismatch = fmt.Sprintf("shard %s held by %s, the table says %q", it.Shard, hs[0], it.Owner)
					}
				}
				break
			}
			if mismatch == "" {
				return time.Since(start)
			}
		}
		if time.Since(start) > within {
			if mismatch != "" {
				t.Fatalf("%s: %s, still after %v", what, mismatch, within)
			}
			t.Fatalf("%s: not within %v; holders %v", what, within, h)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func perWorker(h map[string][]string) map[string]int {
	n := map[string]int{}
	for _, hs := range h {
		for _, w := range hs {
			n[w]++
		}
	}
	return n
}

// TestDynamoLeasesSplitTakeoverAndSteal: three workers split a 4-shard
// kinesalite stream through a dynalite lease table (2/1/1); one is killed
// and its leases are taken over once they expire; a new worker steals
// from the most loaded until the split is even again. No shard is ever
// held by two workers.
func TestDynamoLeasesSplitTakeoverAndSteal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dynamotest.Client(dynamotest.Start(t))
	kc := NewClient(Config{Endpoint: kinesistest.Start(t), Region: "us-east-1"})
	kinesistest.CreateStream(ctx, t, kc, "leases", 4)
	const d = time.Second
	ws := map[string]*leaseWorker{}
	for _, id := range []string{"w1", "w2", "w3"} {
		ws[id] = startLeaseWorker(t, db, "rrdash-leases", id, d)
	}
	if err := ws["w1"].l.SyncShards(ctx, streamLineage(t, kc, "leases")); err != nil {
		t.Fatal(err)
	}
	waitHeld(t, ws, 20*d, "4 shards split 2/1/1", func(h map[string][]string) bool {
		n := perWorker(h)
		return len(h) == 4 && len(n) == 3 && n["w1"]+n["w2"]+n["w3"] == 4 && max(n["w1"], n["w2"], n["w3"]) == 2
	})
	items, err := ws["w2"].l.Leases(ctx)
	if err != nil || len(items) != 4 {
		t.Fatalf("lease table: %+v, %v", items, err)
	}
	for _, it := range items {
		if it.Owner == "" || it.Counter < 1 || it.Checkpoint != cpTrimHorizon {
			t.Errorf("lease %+v: want an owner, a counter moved and the TRIM_HORIZON checkpoint", it)
		}
	}

	// Kill the most loaded worker: no more renewals, no release.
	n := perWorker(holders(t, ws))
	victim := "w1"
	for id, c := range n {
		if c == 2 {
			victim = id
		}
	}
	victimShards := ws[victim].l.Held()
	ws[victim].stop()
	<-ws[victim].done
	delete(ws, victim)
	took := waitHeld(t, ws, 10*d, "the killed worker's leases taken over", func(h map[string][]string) bool {
		for _, s := range victimShards {
			if len(h[s]) != 1 {
				return false
			}
		}
		return len(h) == 4
	})
	t.Logf("leases of the killed worker taken over %v after the kill (lease duration %v)", took, d)
	if took > 3*d {
		t.Errorf("takeover took %v, want within the duration %v plus a taker round", took, d)
	}
	waitHeld(t, ws, 10*d, "two workers hold 2 each", func(h map[string][]string) bool {
		n := perWorker(h)
		return len(h) == 4 && len(n) == 2 && slices.Equal(slices.Sorted(maps.Values(n)), []int{2, 2})
	})

	// A new worker: no lease is expired, so it steals one at a time from
	// the most loaded until it holds its share (target ceil(4/3) = 2: one
	// steal from a worker at the target, as the KCL allows when needing
	// more than one).
	ws["w4"] = startLeaseWorker(t, db, "rrdash-leases", "w4", d)
	waitHeld(t, ws, 20*d, "the new worker stole a lease", func(h map[string][]string) bool {
		n := perWorker(h)
		return len(h) == 4 && n["w4"] >= 1
	})
	// The robbed worker's reader is told: its lease's Lost closes (checked
	// through a fresh Acquire: a stolen shard is no longer handed out).
	for id, w := range ws {
		for _, s := range w.l.Held() {
			if l, ok, err := w.l.Acquire(ctx, s); err != nil || !ok || l.ShardID() != s {
				t.Errorf("%s: Acquire(%s) = %v, %v, %v", id, s, l, ok, err)
			}
			if _, again, _ := w.l.Acquire(ctx, s); again {
				t.Errorf("%s: shard %s handed out twice", id, s)
			}
		}
	}
}

// TestDynamoLeasesParentsBeforeChildren: after kinesalite splits a shard,
// the children's leases (with parentShardIds) are taken by no one while
// the parent is being read; once its owner releases it finished
// (SHARD_END), the children are taken.
func TestDynamoLeasesParentsBeforeChildren(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dynamotest.Client(dynamotest.Start(t))
	kc := NewClient(Config{Endpoint: kinesistest.Start(t), Region: "us-east-1"})
	kinesistest.CreateStream(ctx, t, kc, "reshard", 2)
	const d = 600 * time.Millisecond
	ws := map[string]*leaseWorker{"a": startLeaseWorker(t, db, "rrdash-reshard", "a", d), "b": startLeaseWorker(t, db, "rrdash-reshard", "b", d)}
	if err := ws["a"].l.SyncShards(ctx, streamLineage(t, kc, "reshard")); err != nil {
		t.Fatal(err)
	}
	waitHeld(t, ws, 20*d, "both shards held", func(h map[string][]string) bool { return len(h) == 2 })

	// Split the first shard at the middle of its hash-key range.
	res, err := kc.ListShards(ctx, &kds.ListShardsInput{StreamName: aws.String("reshard")})
	if err != nil {
		t.Fatal(err)
	}
	parent := res.Shards[0]
	lo, _ := new(big.Int).SetString(aws.ToString(parent.HashKeyRange.StartingHashKey), 10)
	hi, _ := new(big.Int).SetString(aws.ToString(parent.HashKeyRange.EndingHashKey), 10)
	mid := new(big.Int).Rsh(new(big.Int).Add(lo, hi), 1)
	if err := kc.SplitShard(ctx, &kds.SplitShardInput{StreamName: aws.String("reshard"), ShardToSplit: parent.ShardId,
		NewStartingHashKey: aws.String(mid.String())}); err != nil {
		t.Fatal(err)
	}
	kinesistest.WaitActive(ctx, t, kc, "reshard")
	lineage := streamLineage(t, kc, "reshard")
	var children []string
	for _, s := range lineage {
		if slices.Contains(s.Parents, aws.ToString(parent.ShardId)) {
			children = append(children, s.ID)
		}
	}
	if len(children) != 2 {
		t.Fatalf("lineage after the split: %+v", lineage)
	}
	if err := ws["b"].l.SyncShards(ctx, lineage); err != nil {
		t.Fatal(err)
	}
	// Several taker rounds: the children stay unowned.
	deadline := time.Now().Add(3 * d)
	for time.Now().Before(deadline) {
		h := holders(t, ws)
		for _, c := range children {
			if len(h[c]) > 0 {
				t.Fatalf("child %s leased by %v while its parent is unfinished", c, h[c])
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The parent's owner reads it to its end and releases it finished.
	var owner *leaseWorker
	for _, w := range ws {
		if slices.Contains(w.l.Held(), aws.ToString(parent.ShardId)) {
			owner = w
		}
	}
	if owner == nil {
		t.Fatalf("no one holds the parent %s: %v", aws.ToString(parent.ShardId), holders(t, ws))
	}
	lease, ok, err := owner.l.Acquire(ctx, aws.ToString(parent.ShardId))
	if err != nil || !ok {
		t.Fatalf("Acquire parent: %v %v", ok, err)
	}
	if err := lease.(*dynamoLease).Checkpoint(ctx, "49600000000000000000000000000000000000000000000000000000"); err != nil {
		t.Fatal(err)
	}
	if err := lease.Release(ctx, true); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lease.Lost():
	default:
		t.Error("a released lease's Lost is not closed")
	}
	waitHeld(t, ws, 20*d, "children taken after the parent's SHARD_END", func(h map[string][]string) bool {
		return len(h[children[0]]) == 1 && len(h[children[1]]) == 1 && len(h[aws.ToString(parent.ShardId)]) == 0
	})
	// Every worker sees the parent ended at its next scan.
	for _, w := range ws {
		for deadline := time.Now().Add(5 * d); !w.l.ShardEnded(aws.ToString(parent.ShardId)); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("worker %s does not see the parent ended", w.l.cfg.Worker)
			}
		}
	}
	// The released lease cannot be written by its old owner any more.
	if err := lease.(*dynamoLease).Checkpoint(ctx, "1"); err == nil {
		t.Error("checkpoint through a released lease accepted")
	}
}

func TestNewDynamoLeaserRefuses(t *testing.T) {
	t.Parallel()
	for _, c := range []DynamoConfig{{Worker: "w"}, {Table: "t"}, {Table: "t", Worker: "w", Duration: time.Millisecond}} {
		if _, err := NewDynamoLeaser(nil, c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}
