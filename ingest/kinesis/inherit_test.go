package kinesis

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"rrdash/ingest/kinesis/kds"
	"rrdash/store"
	"rrdash/store/cluster"
)

// someLeaser grants the shards want accepts, as leases of this process;
// a shard counts as ended when ended says so (another node read it).
type someLeaser struct {
	*LocalLeaser
	want  func(shard string) bool
	ended func(shard string) bool
}

func (l someLeaser) Acquire(ctx context.Context, shard string) (Lease, bool, error) {
	if !l.want(shard) {
		return nil, false, nil
	}
	return l.LocalLeaser.Acquire(ctx, shard)
}

func (l someLeaser) ShardEnded(shard string) bool { return l.ended(shard) }

// TestReplicaInheritsAcrossSplit: 16 series written to a 1-shard stream,
// the shard split, more points written by a writer whose shard map stays
// the one from before the split (its aggregates land in one child with
// series of the other). Replica A reads only the parent; replica B only
// the children, inheriting the parent's series from A; replica C only the
// children, with no node to inherit from, so it reads the parent from the
// stream for each child. B and C hold every point of every series once,
// and the same archives; the entries the stale map sent to the wrong child
// are skipped there and put again to their own shard.
func TestReplicaInheritsAcrossSplit(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cfg := replicaStream(ctx, t, "inherit", 1)
	kc := NewClient(cfg)
	topo, err := NewTopology(cfg, nil, nil, time.Hour) // never refreshed: stale after the split
	if err != nil {
		t.Fatal(err)
	}
	producer := NewProducer(cfg, testLogger(t))
	aggregateBy(producer, topo)
	const series, before, after = 16, 10, 10
	w := newSeriesWriter(cluster.NewLogStore(openStore(t), producer), "inh", series, func(i, p int) store.Update {
		return store.Update{Values: []string{fmt.Sprint(i*1000 + p)}}
	})
	t0, name := w.t0, w.name
	w.ensure(t, nil)
	w.write(ctx, t, 0, before)
	parent := splitOnly(ctx, t, kc, cfg.Stream)
	w.write(ctx, t, before, before+after)

	isParent := func(s string) bool { return s == parent }
	start := func(db *store.DB, want func(string) bool, ended func(string) bool, inherit func(context.Context, string, cluster.ShardRange) (*cluster.ShardSnapshot, error)) *Replica {
		r := newReplica(t, cfg, db, someLeaser{LocalLeaser: NewLocalLeaser(), want: want, ended: ended})
		if inherit != nil {
			if err := r.EnableInherit(inherit); err != nil {
				t.Fatal(err)
			}
		}
		runReplica(ctx, t, r)
		return r
	}
	dbA, dbB, dbC := openStore(t), openStore(t), openStore(t)
	a := start(dbA, isParent, func(string) bool { return false }, nil)
	aEnded := func(string) bool { return string(dbA.Position(a.source(parent))) == endMark }
	b := start(dbB, func(s string) bool { return !isParent(s) }, aEnded, func(ctx context.Context, p string, rng cluster.ShardRange) (*cluster.ShardSnapshot, error) {
		return a.Ended(ctx, p, rng.Hash().Contains)
	})
	c := start(dbC, func(s string) bool { return !isParent(s) }, aEnded, func(context.Context, string, cluster.ShardRange) (*cluster.ShardSnapshot, error) {
		return nil, nil // no node has the parent's end: read it from the stream
	})

	last := t0 + int64(before+after-1)*60
	for _, db := range []*store.DB{dbB, dbC} {
		deadline := time.Now().Add(60 * time.Second)
		for i := 0; i < series; {
			if l, err := db.LastUpdate(name(i)); err == nil && l == last {
				i++
				continue
			}
			if time.Now().After(deadline) {
				t.Fatalf("series %s not read to its last point; counts B %+v, C %+v", name(i), b.Counts(), c.Counts())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for i := range series {
		for _, db := range []*store.DB{dbB, dbC} {
			res, err := db.Fetch(name(i), store.FetchRequest{CF: store.Average, Start: t0, End: last, Resolution: 60})
			if err != nil {
				t.Fatal(err)
			}
			col := res.Column("value")
			for p := 1; p < before+after; p++ { // the first point only starts the series
				if j := int((t0+int64(p)*60-res.Start)/res.Step) - 1; j < 0 || j >= len(col) || col[j] != float64(i*1000+p) {
					t.Fatalf("%s: point %d missing or wrong: %v", name(i), p, col)
				}
			}
		}
		sameSeries(t, "inherited and read-from-the-stream archives differ", dbB, dbC, name(i))
	}
	cb, cc := b.Counts(), c.Counts()
	if cb.Inherited != 2 || cb.ParentsReplayed != 0 || cc.ParentsReplayed != 2 || cc.Inherited != 0 {
		t.Fatalf("B %+v (want 2 parents inherited), C %+v (want 2 parents read from the stream)", cb, cc)
	}
	if cb.Misrouted == 0 || cb.Misrouted != cc.Misrouted || cb.Bad+cc.Bad+cb.Refused+cc.Refused != 0 {
		t.Fatalf("B %+v, C %+v: want the same entries skipped as misrouted (some), nothing bad or refused", cb, cc)
	}
}

// splitOnly splits the stream's only shard in the middle of its range
// and returns its id.
func splitOnly(ctx context.Context, t *testing.T, kc *kds.Client, stream string) string {
	t.Helper()
	ls, err := kc.ListShards(ctx, &kds.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil || len(ls.Shards) != 1 {
		t.Fatalf("ListShards: %v, %d shards", err, len(ls.Shards))
	}
	if err := splitFirstShard(ctx, kc, stream); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(ls.Shards[0].ShardId)
}

// TestSnapshotOfClosedShardKeepsItsSeries: a snapshot of a shard closed by
// a reshard holds every series of the shard's own hash-key range with its
// position, whatever the asking side's map of open shards says (it no
// longer lists the shard: a filter by it would hand the position over
// without the series).
func TestSnapshotOfClosedShardKeepsItsSeries(t *testing.T) {
	t.Parallel()
	db := openStore(t)
	r, err := NewReplica(Config{Stream: "closed", Region: "us-east-1"}, db, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	all, err := cluster.ParseRange("p", "0", "340282366920938463463374607431768211455")
	if err != nil {
		t.Fatal(err)
	}
	r.shards["p"] = &replicaShard{info: shardInfo{id: "p", closed: true, rng: all}}
	spec := store.DefaultTemplate()
	spec.Start = 1_700_000_000
	for i := range 3 {
		if err := db.Create(fmt.Sprintf("closed.s%d", i), spec, false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Apply(context.Background(), store.Batch{Positions: map[string][]byte{r.source("p"): []byte("42")}}); err != nil {
		t.Fatal(err)
	}
	snap, err := r.Snapshot(context.Background(), "p", func(string) bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	if snap.Position != "42" || len(snap.Series) != 3 {
		t.Fatalf("snapshot at %q with %d series, want 42 and 3", snap.Position, len(snap.Series))
	}
}
