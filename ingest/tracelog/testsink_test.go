package tracelog

import (
	"context"
	"testing"
	"time"

	"rrdash/store"
)

// openTestSink opens a real store in a temporary directory.
func openTestSink(t *testing.T) *store.DB {
	t.Helper()
	return openStore(t, t.TempDir())
}

func openStore(t *testing.T, dir string) *store.DB {
	t.Helper()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// sinkRows returns the 1-step AVERAGE rows of the last two days of a series by end time.
func sinkRows(t *testing.T, db *store.DB, name string) map[int64][]float64 {
	t.Helper()
	last, err := db.LastUpdate(name)
	if err != nil {
		t.Fatal(err)
	}
	return fetchRows(t, db, name, last-2*86400+120, last)
}

// fetchRows reads the 1-step AVERAGE rows of a series by end time.
func fetchRows(t *testing.T, db *store.DB, name string, from, to int64) map[int64][]float64 {
	t.Helper()
	res, err := db.Fetch(name, store.FetchRequest{CF: store.Average, Start: from, End: to, Resolution: 60})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64][]float64{}
	for i := 0; i < res.Rows(); i++ {
		row := make([]float64, len(res.DS))
		for d := range res.DS {
			row[d] = res.Values[d][i]
		}
		out[res.Start+int64(i+1)*res.Step] = row
	}
	return out
}

// restartRig is a tailer of sources over a store in a data directory, on
// a fake clock, that a test stops and starts again as a process restart
// does.
type restartRig struct {
	t       *testing.T
	clock   *fakeClock
	dataDir string
	sink    *store.DB
	sources []SourceConfig
}

func newRestartRig(t *testing.T, sources ...SourceConfig) *restartRig {
	dataDir := t.TempDir()
	return &restartRig{t: t, clock: &fakeClock{}, dataDir: dataDir, sink: openStore(t, dataDir), sources: sources}
}

// start makes a tailer of the rig's sources (a 60 s step, testThreads)
// and restores its positions from the store.
func (r *restartRig) start() *Tailer {
	r.t.Helper()
	tl, err := NewTailer(TailConfig{
		Sources:  r.sources,
		Location: time.UTC, Step: 60, Grace: 10, Threads: testThreads(), Now: r.clock.now,
	}, r.sink, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := tl.restore(); err != nil {
		r.t.Fatal(err)
	}
	return tl
}

// stop closes tl's files and the store, and opens the store again.
func (r *restartRig) stop(tl *Tailer) {
	r.t.Helper()
	tl.closeAll()
	if err := r.sink.Close(); err != nil {
		r.t.Fatal(err)
	}
	r.sink = openStore(r.t, r.dataDir)
}

// cycle sets the clock to now (µs) and runs one cycle of tl.
func (r *restartRig) cycle(tl *Tailer, now int64) {
	r.t.Helper()
	r.clock.set(time.UnixMicro(now))
	if err := tl.cycle(context.Background()); err != nil {
		r.t.Fatal(err)
	}
}
