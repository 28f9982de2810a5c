package kinesis

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"rrdash/ingest/kinesis/kinesistest"
	"rrdash/store"
	"rrdash/store/cluster"
	"rrdash/store/cluster/objstore"
	"rrdash/tools/testdeps"
)

func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

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
	cfg := Config{Stream: "replicas", Endpoint: kinesistest.Start(t), PollInterval: 20 * time.Millisecond, MinCallInterval: time.Millisecond,
		ListInterval: 100 * time.Millisecond}
	kinesistest.CreateStream(ctx, t, NewClient(cfg), cfg.Stream, 2)

	writerDB := openStore(t)
	producer := NewProducer(cfg, testLogger(t))
	if aggregated {
		topo, err := NewTopology(cfg, nil, nil, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		producer.Aggregate(func(ctx context.Context) (*cluster.Router, error) {
			v, err := topo.View(ctx)
			if err != nil {
				return nil, err
			}
			return v.Router, nil
		})
	}
	ls := cluster.NewLogStore(writerDB, producer)
	var replicas []*store.DB
	var reps []*Replica
	for range 2 {
		db := openStore(t)
		r, err := NewReplica(cfg, db, nil, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		rctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- r.Run(rctx) }()
		t.Cleanup(func() {
			stop()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
		replicas, reps = append(replicas, db), append(reps, r)
	}

	const series, points = 30, 20
	t0 := (time.Now().Unix()/3600 - 2) * 3600
	for i := range series {
		spec := store.DefaultTemplate()
		spec.Start = t0 - 60
		if _, err := ls.EnsureWithMeta(fmt.Sprintf("rep.s%d", i), spec, map[string]string{"units": "ms"}); err != nil {
			t.Fatal(err)
		}
	}
	for p := range points {
		var b store.Batch
		for i := range series {
			b.Updates = append(b.Updates, store.Update{Series: fmt.Sprintf("rep.s%d", i), Time: t0 + int64(p)*60, Values: []string{fmt.Sprint(i*100 + p)}})
		}
		res, err := ls.Apply(ctx, b)
		if err != nil || res.Applied != series || len(res.Errors) > 0 {
			t.Fatalf("apply: %+v, %v", res, err)
		}
	}
	if _, err := writerDB.Spec("rep.s0"); err == nil {
		t.Fatal("the writing node's own store has the series: writes must reach it only through the log")
	}
	deadline := time.Now().Add(40 * time.Second)
	for _, r := range reps {
		for r.Counts().Applied < series*points {
			if time.Now().After(deadline) {
				t.Fatalf("replica applied %+v, want %d updates", r.Counts(), series*points)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if c := r.Counts(); c.Applied != series*points || c.Refused != 0 || c.Bad != 0 {
			t.Fatalf("replica counts %+v, want %d applied and nothing else", c, series*points)
		}
		// one record per series and write, or per shard and write
		if c, want := r.Counts(), int64(series*points); aggregated && c.Records != 2*points || !aggregated && c.Records != want {
			t.Fatalf("replica read %d records (aggregated %v)", c.Records, aggregated)
		}
	}
	for i := range series {
		name := fmt.Sprintf("rep.s%d", i)
		a, err := replicas[0].Dump(name)
		if err != nil {
			t.Fatal(err)
		}
		b, err := replicas[1].Dump(name)
		if err != nil {
			t.Fatal(err)
		}
		if fa, fb := fmt.Sprintf("%+v", *a), fmt.Sprintf("%+v", *b); fa != fb {
			t.Fatalf("%s differs between replicas:\n%s\n%s", name, fa, fb)
		}
		if a.LastUpdate != t0+(points-1)*60 {
			t.Fatalf("%s: last update %d, want %d", name, a.LastUpdate, t0+(points-1)*60)
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
	cfg := Config{Stream: "handoff", Endpoint: kinesistest.Start(t), PollInterval: 20 * time.Millisecond, MinCallInterval: time.Millisecond,
		ListInterval: 100 * time.Millisecond}
	kinesistest.CreateStream(ctx, t, NewClient(cfg), cfg.Stream, 1)
	ls := cluster.NewLogStore(openStore(t), NewProducer(cfg, testLogger(t)))
	const series = 10
	t0 := (time.Now().Unix()/3600 - 2) * 3600
	write := func(from, to int) {
		t.Helper()
		for p := from; p < to; p++ {
			var b store.Batch
			for i := range series {
				name := fmt.Sprintf("ho.s%d", i)
				spec := store.DefaultTemplate()
				spec.Start = t0 - 60
				if _, err := ls.EnsureWithMeta(name, spec, nil); err != nil {
					t.Fatal(err)
				}
				b.Updates = append(b.Updates, store.Update{Series: name, Time: t0 + int64(p)*60, Usec: int64(p), Values: []string{fmt.Sprint(p * i)}})
			}
			if _, err := ls.Apply(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
	}
	run := func(r *Replica) {
		rctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- r.Run(rctx) }()
		t.Cleanup(func() {
			stop()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
	}
	waitApplied := func(r *Replica, n int64) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for r.Counts().Applied < n {
			if time.Now().After(deadline) {
				t.Fatalf("replica counts %+v, want %d applied", r.Counts(), n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	dbA := openStore(t)
	a, err := NewReplica(cfg, dbA, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	run(a)
	write(0, 20)
	waitApplied(a, series*20)

	dbB := openStore(t)
	b, err := NewReplica(cfg, dbB, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.EnableHandoff(func(ctx context.Context, shard string) (*cluster.ShardSnapshot, error) {
		return a.Snapshot(ctx, shard, func(string) bool { return true })
	}); err != nil {
		t.Fatal(err)
	}
	run(b)
	deadline := time.Now().Add(30 * time.Second)
	for b.Counts().HandedOver == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no hand-off: %+v", b.Counts())
		}
		time.Sleep(20 * time.Millisecond)
	}
	write(20, 30)
	waitApplied(a, series*30)
	waitApplied(b, series*10)
	if c := b.Counts(); c.Records != series*10 || c.Applied != series*10 || c.Replayed != 0 {
		t.Fatalf("B read %+v: want only the %d records after the snapshot", c, series*10)
	}
	for i := range series {
		name := fmt.Sprintf("ho.s%d", i)
		x, err := dbA.ExportSeries(name)
		if err != nil {
			t.Fatal(err)
		}
		y, err := dbB.ExportSeries(name)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprintf("%+v", *x) != fmt.Sprintf("%+v", *y) {
			t.Fatalf("%s differs between the replicas after the hand-off", name)
		}
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
	cfg := Config{Stream: "objstore", Endpoint: kinesistest.Start(t), PollInterval: 20 * time.Millisecond, MinCallInterval: time.Millisecond,
		ListInterval: 100 * time.Millisecond}
	kinesistest.CreateStream(ctx, t, NewClient(cfg), cfg.Stream, 1)
	bucket, err := objstore.New(objstore.Config{Bucket: "rrdash-snapshots", Prefix: cfg.Stream, Endpoint: testdeps.NodeServer(t, "s3rver"), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := bucket.CreateBucket(ctx); err != nil {
		t.Fatal(err)
	}
	ls := cluster.NewLogStore(openStore(t), NewProducer(cfg, testLogger(t)))
	const series = 8
	t0 := (time.Now().Unix()/3600 - 2) * 3600
	write := func(from, to int) {
		t.Helper()
		for p := from; p < to; p++ {
			var b store.Batch
			for i := range series {
				name := fmt.Sprintf("os.s%d", i)
				spec := store.DefaultTemplate()
				spec.Start = t0 - 60
				if _, err := ls.EnsureWithMeta(name, spec, nil); err != nil {
					t.Fatal(err)
				}
				b.Updates = append(b.Updates, store.Update{Series: name, Time: t0 + int64(p)*60, Values: []string{fmt.Sprint(p + i)}})
			}
			if _, err := ls.Apply(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
	}
	start := func(r *Replica) func() {
		rctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- r.Run(rctx) }()
		var once sync.Once
		halt := func() {
			once.Do(func() {
				stop()
				if err := <-done; err != nil {
					t.Error(err)
				}
			})
		}
		t.Cleanup(halt)
		return halt
	}
	waitApplied := func(r *Replica, n int64) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for r.Counts().Applied < n {
			if time.Now().After(deadline) {
				t.Fatalf("replica counts %+v, want %d applied", r.Counts(), n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	all := func(context.Context) (func(shard, name string) bool, error) {
		return func(string, string) bool { return true }, nil
	}
	noPeer := func(context.Context, string) (*cluster.ShardSnapshot, error) { return nil, nil }

	a, err := NewReplica(cfg, openStore(t), nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.EnableHandoff(noPeer); err != nil {
		t.Fatal(err)
	}
	if err := a.EnableBucket(bucket, 100*time.Millisecond, all); err != nil {
		t.Fatal(err)
	}
	stopA := start(a)
	write(0, 15)
	waitApplied(a, series*15)
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
	b, err := NewReplica(cfg, dbB, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.EnableHandoff(noPeer); err != nil {
		t.Fatal(err)
	}
	if err := b.EnableBucket(bucket, time.Hour, all); err != nil {
		t.Fatal(err)
	}
	start(b)
	dbC := openStore(t)
	c, err := NewReplica(cfg, dbC, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	start(c)
	write(15, 20)
	waitApplied(c, series*20)
	waitApplied(b, series*5)
	if cb := b.Counts(); cb.HandedOver != 1 || cb.Records != series*5 {
		t.Fatalf("B: %+v; want the shard handed over and only the %d records after the snapshot read", cb, series*5)
	}
	for i := range series {
		name := fmt.Sprintf("os.s%d", i)
		x, err := dbB.ExportSeries(name)
		if err != nil {
			t.Fatal(err)
		}
		y, err := dbC.ExportSeries(name)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprintf("%+v", *x) != fmt.Sprintf("%+v", *y) {
			t.Fatalf("%s: restored from the bucket and replayed differ", name)
		}
	}
}
