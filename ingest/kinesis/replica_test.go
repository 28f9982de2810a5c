package kinesis

import (
	"context"
	"fmt"
	"testing"
	"time"

	"rrdash/store"
	"rrdash/store/cluster"
	"rrdash/store/cluster/objstore"
	"rrdash/tools/testdeps"
)

// TestLogStoreReplicasIdentical: a node writes through a LogStore onto a
// 2-shard kinesalite stream (nothing reaches its own store), one record
// per series and write or (aggregated) one per shard and write; two
// replicas with their own stores read the whole stream; each holds every
// point once, and the two hold the same archives (rows and consolidation
// state).
func TestLogStoreReplicasIdentical(t *testing.T) {
	t.Parallel()
	for _, aggregated := range []bool{false, true} {
		t.Run(fmt.Sprintf("aggregated=%v", aggregated), func(t *testing.T) {
			t.Parallel()
			testLogStoreReplicas(t, aggregated)
		})
	}
}

func testLogStoreReplicas(t *testing.T, aggregated bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := replicaStream(ctx, t, "replicas", 2)
	writerDB := openStore(t)
	producer := NewProducer(cfg, testLogger(t))
	if aggregated {
		topo, err := NewTopology(cfg, nil, nil, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		aggregateBy(producer, topo)
	}
	const series, points = 30, 20
	w := newSeriesWriter(cluster.NewLogStore(writerDB, producer), "rep", series, func(i, p int) store.Update {
		return store.Update{Values: []string{fmt.Sprint(i*100 + p)}}
	})
	var replicas []*store.DB
	var reps []*Replica
	for range 2 {
		db := openStore(t)
		r := newReplica(t, cfg, db, nil)
		runReplica(ctx, t, r)
		replicas, reps = append(replicas, db), append(reps, r)
	}
	w.ensure(t, map[string]string{"units": "ms"})
	w.write(ctx, t, 0, points)
	if _, err := writerDB.Spec(w.name(0)); err == nil {
		t.Fatal("the writing node's own store has the series: writes must reach it only through the log")
	}
	for _, r := range reps {
		waitApplied(t, r, series*points)
		if c := r.Counts(); c.Applied != series*points || c.Refused != 0 || c.Bad != 0 {
			t.Fatalf("replica counts %+v, want %d applied and nothing else", c, series*points)
		}
		// one record per series and write, or per shard and write
		if c, want := r.Counts(), int64(series*points); aggregated && c.Records != 2*points || !aggregated && c.Records != want {
			t.Fatalf("replica read %d records (aggregated %v)", c.Records, aggregated)
		}
	}
	for i := range series {
		name := w.name(i)
		sameSeries(t, "differs between replicas", replicas[0], replicas[1], name)
		if l, err := replicas[0].LastUpdate(name); err != nil || l != w.at(points-1) {
			t.Fatalf("%s: last update %d (%v), want %d", name, l, err, w.at(points-1))
		}
		if m, err := replicas[0].Meta(name); err != nil || m["units"] != "ms" {
			t.Fatalf("%s: meta %v, %v", name, m, err)
		}
	}
}

// TestReplicaHandoffFromSnapshot: replica B takes a shard over from
// replica A's snapshot (its series and position) instead of replaying the
// stream: B reads only the records after A's position, and then holds the
// same archives as A.
func TestReplicaHandoffFromSnapshot(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := replicaStream(ctx, t, "handoff", 1)
	const series = 10
	w := newSeriesWriter(cluster.NewLogStore(openStore(t), NewProducer(cfg, testLogger(t))), "ho", series, func(i, p int) store.Update {
		return store.Update{Usec: int64(p), Values: []string{fmt.Sprint(p * i)}}
	})
	dbA := openStore(t)
	a := newReplica(t, cfg, dbA, nil)
	runReplica(ctx, t, a)
	w.ensure(t, nil)
	w.write(ctx, t, 0, 20)
	waitApplied(t, a, series*20)

	dbB := openStore(t)
	b := newReplica(t, cfg, dbB, nil)
	if err := b.EnableHandoff(func(ctx context.Context, shard string) (*cluster.ShardSnapshot, error) {
		return a.Snapshot(ctx, shard, func(string) bool { return true })
	}); err != nil {
		t.Fatal(err)
	}
	runReplica(ctx, t, b)
	deadline := time.Now().Add(30 * time.Second)
	for b.Counts().HandedOver == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no hand-off: %+v", b.Counts())
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.write(ctx, t, 20, 30)
	waitApplied(t, a, series*30)
	waitApplied(t, b, series*10)
	if c := b.Counts(); c.Records != series*10 || c.Applied != series*10 || c.Replayed != 0 {
		t.Fatalf("B read %+v: want only the %d records after the snapshot", c, series*10)
	}
	for i := range series {
		sameSeries(t, "differs between the replicas after the hand-off", dbA, dbB, w.name(i))
	}
}

// TestReplicaHandoffFromObjectStore: a group with no peer to hand a shard
// over: replica A puts snapshots of its shard into s3rver now and then and
// stops; replica B, which no node can give a snapshot, takes the shard over
// from the newest one in the bucket and reads only the records after it;
// it then holds the same archives as replica C, which replayed the whole
// stream.
func TestReplicaHandoffFromObjectStore(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cfg := replicaStream(ctx, t, "objstore", 1)
	bucket, err := objstore.New(objstore.Config{Bucket: "rrdash-snapshots", Prefix: cfg.Stream, Endpoint: testdeps.NodeServer(t, "s3rver"), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := bucket.CreateBucket(ctx); err != nil {
		t.Fatal(err)
	}
	const series = 8
	w := newSeriesWriter(cluster.NewLogStore(openStore(t), NewProducer(cfg, testLogger(t))), "os", series, func(i, p int) store.Update {
		return store.Update{Values: []string{fmt.Sprint(p + i)}}
	})
	all := func(context.Context) (func(shard, name string) bool, error) {
		return func(string, string) bool { return true }, nil
	}
	noPeer := func(context.Context, string) (*cluster.ShardSnapshot, error) { return nil, nil }

	a := newReplica(t, cfg, openStore(t), nil)
	if err := a.EnableHandoff(noPeer); err != nil {
		t.Fatal(err)
	}
	if err := a.EnableBucket(bucket, 100*time.Millisecond, all); err != nil {
		t.Fatal(err)
	}
	stopA := runReplica(ctx, t, a)
	w.ensure(t, nil)
	w.write(ctx, t, 0, 15)
	waitApplied(t, a, series*15)
	var snapPos string
	deadline := time.Now().Add(30 * time.Second)
	for {
		snap, err := bucket.Newest(ctx, "shardId-000000000000")
		if err != nil {
			t.Fatal(err)
		}
		if snap != nil && snap.Position == a.Position("shardId-000000000000") {
			snapPos = snap.Position
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no snapshot of the whole shard in the bucket")
		}
		time.Sleep(50 * time.Millisecond)
	}
	stopA()
	t.Logf("snapshot at %s", snapPos)

	dbB := openStore(t)
	b := newReplica(t, cfg, dbB, nil)
	if err := b.EnableHandoff(noPeer); err != nil {
		t.Fatal(err)
	}
	if err := b.EnableBucket(bucket, time.Hour, all); err != nil {
		t.Fatal(err)
	}
	runReplica(ctx, t, b)
	dbC := openStore(t)
	c := newReplica(t, cfg, dbC, nil)
	runReplica(ctx, t, c)
	w.write(ctx, t, 15, 20)
	waitApplied(t, c, series*20)
	waitApplied(t, b, series*5)
	if cb := b.Counts(); cb.HandedOver != 1 || cb.Records != series*5 {
		t.Fatalf("B: %+v; want the shard handed over and only the %d records after the snapshot read", cb, series*5)
	}
	for i := range series {
		sameSeries(t, "restored from the bucket and replayed differ", dbB, dbC, w.name(i))
	}
}
