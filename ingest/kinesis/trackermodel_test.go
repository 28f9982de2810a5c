package kinesis

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// durable is what survives a cut in the tracker restart tests: the points
// applied, each series' last update, the shards' checkpoints and the dead
// letters.
type durable struct {
	applied map[string][]string // series → "sec=value"
	last    map[string]int64
	cps     map[string]Checkpoint
	dead    []DeadLetter
}

func newDurable() *durable {
	return &durable{applied: map[string][]string{}, last: map[string]int64{}, cps: map[string]Checkpoint{}}
}

// tracker is a tracker (a 60 s window) that knows d's series.
func (d *durable) tracker(dec *Decoder) *tracker {
	return newTracker(dec, 60*time.Second, time.Hour, func(name string) (int64, bool, error) {
		l, ok := d.last[name]
		return l, ok, nil
	})
}

// apply makes durable what tr hands out at now (all: everything it
// holds): its updates, each after its series' last, its dead letters and
// the checkpoints it moved.
func (d *durable) apply(t *testing.T, tr *tracker, now time.Time, all bool) {
	t.Helper()
	w := tr.take(now, all, 60)
	d.dead = append(d.dead, w.dead...)
	changed, _, _ := tr.positions(0)
	for _, u := range w.updates {
		if u.Sec <= d.last[u.Series] {
			t.Fatalf("update %+v at or before the last update %d", u, d.last[u.Series])
		}
		d.applied[u.Series] = append(d.applied[u.Series], fmt.Sprintf("%d=%s", u.Sec, u.Value))
		d.last[u.Series] = u.Sec
	}
	for id, cp := range changed {
		d.cps[id] = cp
	}
}

// resume adds shard id to tr at d's checkpoint and returns the records of
// recs after it.
func (d *durable) resume(tr *tracker, id string, recs []Record) []Record {
	cp := d.cps[id]
	tr.addShard(id, cp)
	for len(recs) > 0 && cp.CP != "" && !seqLess(cp.CP, recs[0].Seq) {
		recs = recs[1:]
	}
	return recs
}

// feed gives tr the records in order at now and makes durable what it
// hands out every `every` records; it stops after stopAt such flushes (-1:
// never) without flushing what it holds, and reports whether it ran to the
// end (then it flushes everything).
func (d *durable) feed(t *testing.T, tr *tracker, recs []Record, now time.Time, every, stopAt int) bool {
	t.Helper()
	flushes := 0
	for n, r := range recs {
		if err := tr.observe(r, now, 0); err != nil {
			t.Fatal(err)
		}
		if (n+1)%every == 0 {
			if flushes == stopAt {
				return false
			}
			d.apply(t, tr, now, false)
			flushes++
		}
	}
	d.apply(t, tr, now, true)
	return true
}

// checkCuts cuts a run after each of its flushes in turn (run(d, every,
// stopAt) stops after stopAt flushes without flushing what it holds, and
// reports whether it ran to the end), restarts it from what was durable,
// flushing every 3 records, and demands the points and dead letters of the
// uninterrupted run want.
func checkCuts(t *testing.T, want *durable, every int, run func(d *durable, every, stopAt int) bool) {
	t.Helper()
	keys := func(ds []DeadLetter) []string {
		var k []string
		for _, d := range ds {
			k = append(k, fmt.Sprintf("%+v/%s", d.key(), d.Reason))
		}
		slices.Sort(k)
		return k
	}
	for stop := 0; ; stop++ {
		got := newDurable()
		if run(got, every, stop) {
			break // the cut was after the end
		}
		run(got, 3, -1)
		for s, w := range want.applied {
			if !slices.Equal(got.applied[s], w) {
				t.Errorf("cut after flush %d: series %s applied %v, want %v", stop, s, got.applied[s], w)
			}
		}
		if g, w := keys(got.dead), keys(want.dead); !slices.Equal(g, w) {
			t.Errorf("cut after flush %d: dead letters %v, want %v", stop, g, w)
		}
	}
}
