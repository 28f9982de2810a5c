package kinesis

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"rrdash/ingest/kinesis/kds"
)

func rec(shard string, seq int, series string, sec int64, value string) Record {
	return Record{Shard: shard, Seq: fmt.Sprintf("%05d", seq),
		Data: fmt.Appendf(nil, `{"timestamp":%d,"name":%q,"value":%s}`, sec, series, value)}
}

func noSeries(string) (int64, bool, error) { return 0, false, nil }

// flushAll takes what left the grace buffer and advances positions, as one
// store batch would.
func flushOnce(t *testing.T, tr *tracker, now time.Time, all bool) (flushWork, map[string]Checkpoint) {
	t.Helper()
	w := tr.take(now, all, 60)
	changed, _, _ := tr.positions(0)
	return w, changed
}

func TestTrackerGraceWindow(t *testing.T) {
	t.Parallel()
	const t0 = 1_700_000_040 // a multiple of 60
	type step struct {
		recs      []Record
		flush     bool
		wantApply []string // "series@sec=value"
		wantDead  []Reason
		wantCP    string // shard s1 checkpoint after the flush ("" = unchanged/none)
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "in order: a point waits until a newer one is a grace window ahead", steps: []step{
			{recs: []Record{rec("s1", 1, "a", t0, "1"), rec("s1", 2, "a", t0+60, "2")}, flush: true},
			{recs: []Record{rec("s1", 3, "a", t0+61, "3")}, flush: true, wantApply: []string{"a@1700000040=1"}, wantCP: "00001"},
			{recs: []Record{rec("s1", 4, "a", t0+180, "4")}, flush: true, wantApply: []string{"a@1700000100=2", "a@1700000101=3"}, wantCP: "00003"},
		}},
		{name: "out of order within the grace window: applied in time order", steps: []step{
			{recs: []Record{rec("s1", 1, "a", t0+60, "2"), rec("s1", 2, "a", t0, "1"), rec("s1", 3, "a", t0+200, "3")}, flush: true,
				wantApply: []string{"a@1700000040=1", "a@1700000100=2"}, wantCP: "00002"},
		}},
		{name: "older than the grace window: late", steps: []step{
			{recs: []Record{rec("s1", 1, "a", t0+120, "2"), rec("s1", 2, "a", t0, "1")}, flush: true, wantDead: []Reason{ReasonLate}},
		}},
		{name: "at or before the last applied point: late", steps: []step{
			{recs: []Record{rec("s1", 1, "a", t0, "1"), rec("s1", 2, "a", t0+100, "2")}, flush: true, wantApply: []string{"a@1700000040=1"}, wantCP: "00001"},
			{recs: []Record{rec("s1", 3, "a", t0, "9")}, flush: true, wantDead: []Reason{ReasonLate}},
		}},
		{name: "same second twice: duplicate", steps: []step{
			{recs: []Record{rec("s1", 1, "a", t0, "1"), rec("s1", 2, "a", t0, "2")}, flush: true, wantDead: []Reason{ReasonDuplicate}},
		}},
		{name: "bad record: dead letter and checkpoint passes it", steps: []step{
			{recs: []Record{{Shard: "s1", Seq: "00001", Data: []byte("nope")}}, flush: true, wantDead: []Reason{ReasonNotJSON}, wantCP: "00001"},
		}},
		{name: "everything flushed at the end", steps: []step{
			{recs: []Record{rec("s1", 1, "a", t0, "1"), rec("s1", 2, "b", t0, "5")}},
			{flush: true, wantApply: []string{"a@1700000040=1", "b@1700000040=5"}, wantCP: "00002"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dec, err := NewDecoder(DecoderConfig{})
			if err != nil {
				t.Fatal(err)
			}
			tr := newTracker(dec, time.Minute, time.Hour, noSeries)
			tr.addShard("s1", Checkpoint{})
			now := time.Unix(t0, 0)
			for i, s := range tc.steps {
				for _, r := range s.recs {
					if err := tr.observe(r, now, 0); err != nil {
						t.Fatal(err)
					}
				}
				last := i == len(tc.steps)-1 && len(s.recs) == 0
				w, changed := flushOnce(t, tr, now, last)
				var got []string
				for _, u := range w.updates {
					got = append(got, fmt.Sprintf("%s@%d=%s", u.Series, u.Sec, u.Value))
				}
				if !slices.Equal(got, s.wantApply) {
					t.Errorf("step %d: applied %v, want %v", i, got, s.wantApply)
				}
				var dead []Reason
				for _, d := range w.dead {
					dead = append(dead, d.Reason)
					if d.Shard != "s1" || d.Seq == "" || d.Data == "" {
						t.Errorf("step %d: dead letter without origin: %+v", i, d)
					}
				}
				if !slices.Equal(dead, s.wantDead) {
					t.Errorf("step %d: dead %v, want %v", i, dead, s.wantDead)
				}
				if s.wantCP != "" && changed["s1"].CP != s.wantCP {
					t.Errorf("step %d: checkpoint %+v, want cp %s", i, changed["s1"], s.wantCP)
				}
			}
		})
	}
}

// TestTrackerRestart cuts a run at every flush, restarts from the durable
// state of that moment, and checks that the two halves together applied and
// dead-lettered exactly what one uninterrupted run did.
func TestTrackerRestart(t *testing.T) {
	t.Parallel()
	const t0 = 1_700_000_040
	// Two shards feeding the same and different series, with reordering,
	// late points and bad records.
	var s1, s2 []Record
	for i := range 40 {
		sec := int64(t0 + 30*i)
		if i%7 == 3 {
			sec -= 45 // out of order, inside the window
		}
		s1 = append(s1, rec("s1", i+1, "a", sec, fmt.Sprint(i)))
		s2 = append(s2, rec("s2", i+1, fmt.Sprintf("b%d", i%3), sec, fmt.Sprint(100+i)))
		if i%11 == 5 {
			s2 = append(s2, rec("s2", 1000+i, "b1", sec-600, "7")) // late
			s1 = append(s1, Record{Shard: "s1", Seq: fmt.Sprintf("%05d", 1000+i), Data: []byte(`{"name":"a"}`)})
		}
	}
	slices.SortFunc(s1, func(a, b Record) int { return strings.Compare(a.Seq, b.Seq) })
	slices.SortFunc(s2, func(a, b Record) int { return strings.Compare(a.Seq, b.Seq) })

	dec, err := NewDecoder(DecoderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	// run feeds records alternately from both shards (after their
	// checkpoints), flushing every `every` records; it stops after `stopAt`
	// flushes (-1: never) without flushing what it holds.
	run := func(d *durable, every, stopAt int) bool {
		tr := d.tracker(dec)
		tr.seen = map[dlKey]bool{}
		for _, dl := range d.dead {
			tr.seen[dl.key()] = true
		}
		// the shards' records alternately, each from its checkpoint on
		q1, q2 := d.resume(tr, "s1", s1), d.resume(tr, "s2", s2)
		var recs []Record
		for len(q1)+len(q2) > 0 {
			for _, q := range []*[]Record{&q1, &q2} {
				if len(*q) > 0 {
					recs = append(recs, (*q)[0])
					*q = (*q)[1:]
				}
			}
		}
		return d.feed(t, tr, recs, time.Unix(t0, 0), every, stopAt)
	}
	want := newDurable()
	run(want, 5, -1)
	if len(want.dead) == 0 || len(want.applied["a"]) == 0 {
		t.Fatalf("test data exercises nothing: %+v", want)
	}
	checkCuts(t, want, 5, run)
}

func TestGetRecordsAction(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want action
	}{
		{&kds.ExpiredIteratorException{}, actNewIterator},
		{fmt.Errorf("operation error: %w", &kds.ProvisionedThroughputExceededException{}), actThrottled},
		{&kds.LimitExceededException{}, actThrottled},
		{&kds.KMSThrottlingException{}, actThrottled},
		{errors.New("connection refused"), actRetry},
	}
	for _, tc := range tests {
		if got := getRecordsAction(tc.err); got != tc.want {
			t.Errorf("getRecordsAction(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	b := backoff{min: 100 * time.Millisecond, max: time.Second}
	prevCap := time.Duration(0)
	for i := range 10 {
		d := b.next()
		if d < b.cur/2 || d > b.cur || b.cur < prevCap || b.cur > b.max {
			t.Fatalf("step %d: wait %v with cap %v (previous cap %v, max %v)", i, d, b.cur, prevCap, b.max)
		}
		prevCap = b.cur
	}
	if b.cur != b.max {
		t.Errorf("cap %v after 10 steps, want %v", b.cur, b.max)
	}
	b.reset()
	if d := b.next(); d > 100*time.Millisecond {
		t.Errorf("after reset wait %v", d)
	}
}

func TestRateMeter(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1_700_000_000, 0)
	var m rateMeter
	if r := m.perSecond(t0); r != 0 {
		t.Errorf("empty rate %v", r)
	}
	for i := range 20 {
		m.add(t0.Add(time.Duration(i)*time.Second), 100)
	}
	tests := []struct {
		at   time.Duration
		want float64
	}{
		{19 * time.Second, 110}, // marks at 9..19 s: 11 × 100 over 10 s
		{25 * time.Second, 50},  // marks at 15..19 s
		{100 * time.Second, 0},  // nothing in the window
	}
	for _, tc := range tests {
		if got := m.perSecond(t0.Add(tc.at)); got != tc.want {
			t.Errorf("rate at %v = %v, want %v", tc.at, got, tc.want)
		}
	}
}
