package kinesis

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestTrackerDeadLettersAcrossCrashes models issue 23's first defect: runs
// that crash after a few flushes, some reading only one of two shards, must
// leave every dead letter in the file exactly once. The model keeps what a
// crash keeps: the dead-letter file (fsync'd before each batch) and the
// batches applied (updates, checkpoints and the offset a restart reads the
// file back from); a crash may fall between the two.
func TestTrackerDeadLettersAcrossCrashes(t *testing.T) {
	t.Parallel()
	const t0 = 1_700_000_040
	shards := map[string][]Record{}
	for _, id := range []string{"s1", "s2"} {
		for i := range 30 {
			series := fmt.Sprintf("%s-%d", id, i%3)
			shards[id] = append(shards[id], rec(id, 2*i+1, series, int64(t0+30*i), fmt.Sprint(i)))
			if i%4 == 1 {
				shards[id] = append(shards[id], Record{Shard: id, Seq: fmt.Sprintf("%05d", 2*i+2), Data: []byte(`not json`)})
			}
		}
	}
	dec, err := NewDecoder(DecoderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	type durable struct {
		last     map[string]int64
		applied  map[string][]string
		cps      map[string]Checkpoint
		file     []DeadLetter // a dead letter's offset is its index
		scanFrom int64
		buffer   []byte // grace buffer snapshot
	}
	// run reads the shards in `read` in turn after their checkpoints and
	// flushes every 4 records, saving the grace buffer with every snapEvery-th
	// flush (0: never); it crashes at flush number `crashAt` (-1: never),
	// before (midway false) or after (true) the file write.
	var snapEvery int
	run := func(d *durable, read []string, crashAt int, midway bool) {
		tr := newTracker(dec, 60*time.Second, time.Hour, func(name string) (int64, bool, error) {
			l, ok := d.last[name]
			return l, ok, nil
		})
		for i := d.scanFrom; i < int64(len(d.file)); i++ {
			tr.rememberDeadLetter(&d.file[i], i)
		}
		queues := map[string][]Record{}
		for id, q := range shards {
			cp := d.cps[id]
			tr.addShard(id, cp)
			for len(q) > 0 && cp.resumeAfter() != "" && !seqLess(cp.resumeAfter(), q[0].Seq) {
				q = q[1:]
			}
			queues[id] = q
		}
		snap, err := decodeBuffer(d.buffer)
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.restore(snap, time.Unix(t0, 0)); err != nil {
			t.Fatal(err)
		}
		flush := func(n int, all bool) bool {
			w := tr.take(time.Unix(t0, 0), all, 60)
			if n == crashAt && !midway {
				return false
			}
			d.file = append(d.file, w.dead...)
			if n == crashAt {
				return false
			}
			changed, scanFrom, _ := tr.positions(int64(len(d.file)))
			if snapEvery > 0 && tr.snapshotWanted(n%snapEvery == 0) {
				snap, _ := tr.snapshot(changed)
				d.buffer = encodeBuffer(snap)
			}
			for _, u := range w.updates {
				d.applied[u.Series] = append(d.applied[u.Series], fmt.Sprintf("%d=%s", u.Sec, u.Value))
				d.last[u.Series] = u.Sec
			}
			for id, cp := range changed {
				d.cps[id] = cp
			}
			d.scanFrom = scanFrom
			return true
		}
		flushes, n := 0, 0
		for more := true; more; {
			more = false
			for _, id := range read {
				q := queues[id]
				if len(q) == 0 {
					continue
				}
				more = true
				if err := tr.observe(q[0], time.Unix(t0, 0), int64(len(d.file))); err != nil {
					t.Fatal(err)
				}
				queues[id] = q[1:]
				if n++; n%4 == 0 {
					if !flush(flushes, false) {
						return
					}
					flushes++
				}
			}
		}
		flush(-2, true)
	}
	newDurable := func() *durable {
		return &durable{last: map[string]int64{}, applied: map[string][]string{}, cps: map[string]Checkpoint{}}
	}
	key := func(d DeadLetter) string { return fmt.Sprintf("%s/%s/%d/%s", d.Shard, d.Seq, d.Item, d.Reason) }
	want := newDurable()
	run(want, []string{"s1", "s2"}, -1, false)
	var wantKeys []string
	for _, d := range want.file {
		wantKeys = append(wantKeys, key(d))
	}
	slices.Sort(wantKeys)
	if len(wantKeys) < 10 {
		t.Fatalf("test data exercises nothing: %v", wantKeys)
	}
	for first := 0; first < 8; first++ {
		for _, tc := range []struct {
			midway bool
			snap   int
		}{{false, 0}, {true, 0}, {false, 1}, {true, 1}, {false, 2}, {true, 3}} {
			midway := tc.midway
			snapEvery = tc.snap
			got := newDurable()
			run(got, []string{"s1", "s2"}, first, midway)
			run(got, []string{"s1"}, 2, midway) // s2 is not read again before this run's batches
			run(got, []string{"s1"}, 1, !midway)
			run(got, []string{"s2", "s1"}, 1, midway)
			run(got, []string{"s1", "s2"}, -1, false)
			var keys []string
			for _, d := range got.file {
				keys = append(keys, key(d))
			}
			slices.Sort(keys)
			if !slices.Equal(keys, wantKeys) {
				t.Errorf("first crash at flush %d (midway %v, snapshot every %d): dead letters\n%v\nwant\n%v", first, midway, tc.snap, keys, wantKeys)
			}
			for s, w := range want.applied {
				if !slices.Equal(got.applied[s], w) {
					t.Errorf("first crash at flush %d (midway %v, snapshot every %d): series %s applied %v, want %v", first, midway, tc.snap, s, got.applied[s], w)
				}
			}
		}
	}
}
