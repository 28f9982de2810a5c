package kinesis

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"rrdash/store"

	"rrdash/ingest/kinesis/kinesistest"
)

// rrdStore keeps series in the store's own RRD engine (store.NewRRD) and
// applies a batch's updates and positions together, as store.DB does on
// disk. It lets the consumer be tested in process, where a restart loses
// exactly what a crash loses: everything but the applied batches.
type rrdStore struct {
	mu     sync.Mutex
	series map[string]*store.RRD
	pos    map[string][]byte
}

func newRRDStore() *rrdStore {
	return &rrdStore{series: map[string]*store.RRD{}, pos: map[string][]byte{}}
}

func (s *rrdStore) EnsureWithMeta(name string, spec store.Spec, _ map[string]string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.series[name] != nil {
		return false, nil
	}
	r, err := store.NewRRD(spec)
	if err != nil {
		return false, err
	}
	s.series[name] = r
	return true, nil
}

func (s *rrdStore) Apply(_ context.Context, b store.Batch) (store.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var res store.Result
	for i, u := range b.Updates {
		r := s.series[u.Series]
		if r == nil {
			res.Errors = append(res.Errors, &store.UpdateError{Index: i, Err: fmt.Errorf("no series %q", u.Series)})
			continue
		}
		if err := r.Update(u.Time, u.Usec, u.Values); err != nil {
			res.Errors = append(res.Errors, &store.UpdateError{Index: i, Err: err})
			continue
		}
		res.Applied++
	}
	maps.Copy(s.pos, b.Positions)
	return res, nil
}

func (s *rrdStore) Position(source string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pos[source]
}

func (s *rrdStore) lookup(name string) (int64, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.series[name]
	if r == nil {
		return 0, false, nil
	}
	last, _ := r.LastUpdate()
	return last, true, nil
}

func (s *rrdStore) fetch(name string, req store.FetchRequest) (*store.FetchResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.series[name]
	if r == nil {
		return nil, fmt.Errorf("no series %q", name)
	}
	return r.Fetch(req)
}

// TestConsumerRestarts runs the consumer in process against kinesalite
// while producers put records and a shard splits, stopping it abruptly
// several times; the series and the dead-letter file must come out exact.
func TestConsumerRestarts(t *testing.T) {
	t.Parallel()
	ep := kinesistest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	const stream = "inproc"
	cfg := Config{Stream: stream, Endpoint: ep, Grace: time.Minute, IdleFlush: 2 * time.Second, FlushInterval: 100 * time.Millisecond,
		PollInterval: 50 * time.Millisecond, MinCallInterval: 10 * time.Millisecond, ListInterval: 500 * time.Millisecond,
		DeadLetterPath: filepath.Join(t.TempDir(), "dead.jsonl")}
	client := NewClient(cfg)
	kinesistest.CreateStream(ctx, t, client, stream, 2)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	base := (time.Now().Unix()/3600 - 4) * 3600
	data := e2eData(base, rng, 40)

	db := newRRDStore()
	prodErr := make(chan error, 1)
	go func() { prodErr <- produce(ctx, t, client, stream, data, 2, 20*time.Millisecond) }()

	run := func(ctx context.Context) (*Consumer, error) {
		c, err := New(cfg, db, Options{Logger: testLogger(t), Lookup: db.lookup})
		if err != nil {
			return nil, err
		}
		return c, c.Run(ctx)
	}
	for i := range 3 { // stopped at random moments while records come in
		rctx, rcancel := context.WithTimeout(ctx, time.Duration(300+rng.IntN(1200))*time.Millisecond)
		_, err := run(rctx)
		rcancel()
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	if err := <-prodErr; err != nil {
		t.Fatal(err)
	}
	// The last run goes on until it has caught up.
	st := runUntilCaughtUp(ctx, t, cfg, db)
	if st.Counts.Records == 0 || len(st.Shards) != 4 {
		t.Errorf("stats %+v: want records and 4 shards (2, one split in 2)", st)
	}
	checkSeries(t, db.fetch, base, data)
	b, err := os.ReadFile(cfg.DeadLetterPath)
	if err != nil {
		t.Fatal(err)
	}
	checkDeadLetters(t, b, data)
}
