package kinesis

// The set-up the replica tests share: a kinesalite stream, series written
// through a LogStore, replicas run until the test ends, and comparisons of
// what two replicas hold.

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"rrdash/ingest/kinesis/kinesistest"
	"rrdash/store"
	"rrdash/store/cluster"
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

// replicaStream starts kinesalite with a stream of the given shards and
// returns a configuration that polls and lists it often.
func replicaStream(ctx context.Context, t *testing.T, stream string, shards int32) Config {
	t.Helper()
	cfg := Config{Stream: stream, Endpoint: kinesistest.Start(t), PollInterval: 20 * time.Millisecond, MinCallInterval: time.Millisecond,
		ListInterval: 100 * time.Millisecond}
	kinesistest.CreateStream(ctx, t, NewClient(cfg), cfg.Stream, shards)
	return cfg
}

// aggregateBy makes p put one aggregated record per shard and write,
// routed by topo's shard map.
func aggregateBy(p *Producer, topo *Topology) {
	p.Aggregate(func(ctx context.Context) (*cluster.Router, error) {
		v, err := topo.View(ctx)
		if err != nil {
			return nil, err
		}
		return v.Router, nil
	})
}

// newReplica is NewReplica, failing the test on an error.
func newReplica(t *testing.T, cfg Config, db *store.DB, leaser Leaser) *Replica {
	t.Helper()
	r, err := NewReplica(cfg, db, leaser, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runReplica runs r until the test ends or halt is called; an error from
// Run fails the test.
func runReplica(ctx context.Context, t *testing.T, r *Replica) (halt func()) {
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	var once sync.Once
	halt = func() {
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

// waitApplied waits until r has applied at least n updates.
func waitApplied(t *testing.T, r *Replica, n int64) {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for r.Counts().Applied < n {
		if time.Now().After(deadline) {
			t.Fatalf("replica counts %+v, want %d applied", r.Counts(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// seriesWriter writes n numbered series through a LogStore, one batch per
// point: point p of every series at t0 + 60·p.
type seriesWriter struct {
	ls     *cluster.LogStore
	prefix string
	n      int
	t0     int64 // on an hour, two hours ago
	// point is series i's reading at point p; write sets its Series and
	// Time.
	point func(i, p int) store.Update
}

func newSeriesWriter(ls *cluster.LogStore, prefix string, n int, point func(i, p int) store.Update) *seriesWriter {
	return &seriesWriter{ls: ls, prefix: prefix, n: n, t0: (time.Now().Unix()/3600 - 2) * 3600, point: point}
}

// name is series i's name.
func (w *seriesWriter) name(i int) string { return fmt.Sprintf("%s.s%d", w.prefix, i) }

// at is point p's time.
func (w *seriesWriter) at(p int) int64 { return w.t0 + int64(p)*60 }

// ensure gives the LogStore every series' definition (the default
// template, starting a step before t0) with meta.
func (w *seriesWriter) ensure(t *testing.T, meta map[string]string) {
	t.Helper()
	for i := range w.n {
		spec := store.DefaultTemplate()
		spec.Start = w.t0 - 60
		if _, err := w.ls.EnsureWithMeta(w.name(i), spec, meta); err != nil {
			t.Fatal(err)
		}
	}
}

// write applies points from to to-1 of every series; every update must
// be applied.
func (w *seriesWriter) write(ctx context.Context, t *testing.T, from, to int) {
	t.Helper()
	for p := from; p < to; p++ {
		var b store.Batch
		for i := range w.n {
			u := w.point(i, p)
			u.Series, u.Time = w.name(i), w.at(p)
			b.Updates = append(b.Updates, u)
		}
		res, err := w.ls.Apply(ctx, b)
		if err != nil || res.Applied != w.n || len(res.Errors) > 0 {
			t.Fatalf("apply point %d: %+v, %v", p, res, err)
		}
	}
}

// sameSeries fails the test unless x and y hold series name alike: its
// full state (definition, metadata, PDP and consolidation state, rings)
// and its dump (Holt-Winters words included).
func sameSeries(t *testing.T, what string, x, y *store.DB, name string) {
	t.Helper()
	for _, get := range []func(db *store.DB) (any, error){
		func(db *store.DB) (any, error) { return db.ExportSeries(name) },
		func(db *store.DB) (any, error) { return db.Dump(name) },
	} {
		a, err := get(x)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, err := get(y)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if fa, fb := fmt.Sprintf("%+v", a), fmt.Sprintf("%+v", b); fa != fb {
			t.Fatalf("%s: %s:\n%s\n%s", name, what, fa, fb)
		}
	}
}
