package store

import (
	"context"
	"sync"
	"testing"
	"time"
)

// tally is an Observer that adds up what it is told.
type tally struct {
	mu                          sync.Mutex
	syncs, checkpoints, flushed int
	applied, refused            int
	durations                   []time.Duration
}

func (o *tally) JournalSynced(d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.syncs++
	o.durations = append(o.durations, d)
}

func (o *tally) Checkpointed(d time.Duration, archives int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.checkpoints++
	o.flushed += archives
	o.durations = append(o.durations, d)
}

func (o *tally) Applied(applied, refused int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.applied += applied
	o.refused += refused
}

func TestObserverSeesSyncsCheckpointsAndUpdates(t *testing.T) {
	t.Parallel()
	obs := &tally{}
	db, err := Open(t.TempDir(), Options{Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, name := range []string{"a", "b"} {
		if err := db.Create(name, testSpec(t), false); err != nil {
			t.Fatal(err)
		}
	}
	b := Batch{Updates: []Update{
		{Series: "a", Time: 1000000010, Values: []string{"1", "1"}},
		{Series: "b", Time: 1000000010, Values: []string{"1", "1"}},
		{Series: "a", Time: 1000000005, Values: []string{"1", "1"}}, // too old: refused
	}}
	if _, err := db.Apply(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := db.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if obs.applied != 2 || obs.refused != 1 {
		t.Errorf("applied %d refused %d, want 2 and 1", obs.applied, obs.refused)
	}
	// each Create waits for the fsync of its creation record, the batch
	// for its own
	if obs.syncs != 3 {
		t.Errorf("journal syncs %d, want 3", obs.syncs)
	}
	// The explicit checkpoint flushes both archives; Close takes none.
	if obs.checkpoints != 1 || obs.flushed != 2 {
		t.Errorf("checkpoints %d flushing %d archives, want 1 and 2", obs.checkpoints, obs.flushed)
	}
	for _, d := range obs.durations {
		if d < 0 {
			t.Errorf("negative duration %v", d)
		}
	}
}
