package kinesis

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// The grace buffer is saved with the checkpoints now and then (the first
// batch a run applies, then every CheckpointInterval), so that a restart
// resumes after the last record classified instead of after the last one
// done. Without it a shard's checkpoint waits for the oldest point still
// in the buffer: one series that reports rarely holds every record after
// it, and a run killed before its idle flush saves no progress at all.
//
// The snapshot travels in the same store batch as the shard positions,
// whose Buf then names the last record it covers. A restart resumes a
// shard after max(CP, Buf) and puts back the snapshot's points of records
// after CP whose time is after their series' last update (the others were
// applied since: a series' points leave the buffer in time order).

// bufferedPoint is one point of the grace buffer in a snapshot.
type bufferedPoint struct {
	Seq    string `json:"q"`
	Sub    int    `json:"s,omitempty"` // 1 + sub-sequence index in a KPL aggregate
	Item   int    `json:"i,omitempty"`
	Series string `json:"n"`
	Sec    int64  `json:"t"`
	Usec   int64  `json:"u,omitempty"`
	Value  string `json:"v"`
	Units  string `json:"un,omitempty"`
}

// bufferSnapshot is the grace buffer by shard, points in record order.
type bufferSnapshot map[string][]bufferedPoint

func encodeBuffer(s bufferSnapshot) []byte {
	b, _ := json.Marshal(s) // strings and integers always marshal
	return b
}

func decodeBuffer(b []byte) (bufferSnapshot, error) {
	var s bufferSnapshot
	if len(b) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("grace buffer snapshot: %w", err)
	}
	for shard, pts := range s {
		if shard == "" {
			return nil, fmt.Errorf("grace buffer snapshot: empty shard id")
		}
		for i, p := range pts {
			switch {
			case p.Seq == "" || strings.Trim(p.Seq, "0123456789") != "":
				return nil, fmt.Errorf("grace buffer snapshot: shard %s point %d: sequence number %q is not decimal", shard, i, truncate(p.Seq))
			case p.Series == "":
				return nil, fmt.Errorf("grace buffer snapshot: shard %s point %d: no series", shard, i)
			case p.Value == "":
				return nil, fmt.Errorf("grace buffer snapshot: shard %s point %d: no value", shard, i)
			case p.Sub < 0 || p.Item < 0 || p.Usec < 0 || p.Usec >= 1e6:
				return nil, fmt.Errorf("grace buffer snapshot: shard %s point %d: sub %d, item %d, usec %d out of range", shard, i, p.Sub, p.Item, p.Usec)
			}
		}
	}
	return s, nil
}

// resumeAfter is the last record of the shard a restart does not read again.
func (p Checkpoint) resumeAfter() string {
	if p.Buf != "" && (p.CP == "" || seqLess(p.CP, p.Buf)) {
		return p.Buf
	}
	return p.CP
}

// restore puts a snapshot's points back into the grace buffer, for shards
// registered (addShard) with their durable positions. It must run before
// any record is observed.
func (t *tracker) restore(s bufferSnapshot, now time.Time) error {
	for _, shard := range slices.Sorted(maps.Keys(s)) {
		sh := t.shards[shard]
		if sh == nil {
			return fmt.Errorf("grace buffer snapshot: shard %s has no position", shard)
		}
		var last *recState
		for _, p := range s[shard] {
			// Records up to CP are done; those after Buf are read again.
			if sh.pos.CP != "" && !seqLess(sh.pos.CP, p.Seq) || sh.pos.Buf == "" || seqLess(sh.pos.Buf, p.Seq) {
				continue
			}
			st, err := t.seriesFor(p.Series)
			if err != nil {
				return fmt.Errorf("grace buffer snapshot: shard %s record %s: %w", shard, p.Seq, err)
			}
			if p.Sec <= st.applied {
				t.counts.Replayed++ // applied after the snapshot was saved
				continue
			}
			if last == nil || last.seq != p.Seq {
				if last != nil && !seqLess(last.seq, p.Seq) {
					return fmt.Errorf("grace buffer snapshot: shard %s: record %s after %s", shard, p.Seq, last.seq)
				}
				last = &recState{seq: p.Seq}
				sh.queue = append(sh.queue, last)
			}
			micros := p.Sec*1e6 + p.Usec
			if !st.insert(bufPoint{micros: micros, sec: p.Sec, usec: p.Usec, value: p.Value, units: p.Units, rec: last, shard: shard, sub: p.Sub, item: p.Item}) {
				return fmt.Errorf("grace buffer snapshot: series %q has two points at %d", p.Series, p.Sec)
			}
			last.pending++
			t.counts.Points++
			if !st.hasHigh || micros > st.high {
				st.high, st.hasHigh = micros, true
			}
			st.lastArrival = now
			t.active[st.name] = st
		}
		// Records whose points all left the buffer since are done.
		sh.queue = slices.DeleteFunc(sh.queue, func(r *recState) bool { return r.pending == 0 })
	}
	return nil
}

// snapshotWanted tells whether a snapshot would move some shard's resume
// point (it classified records after its CP and Buf): any such shard when
// periodic, else only one that no snapshot of this run covered yet.
func (t *tracker) snapshotWanted(periodic bool) bool {
	for _, sh := range t.shards {
		if !sh.finished && sh.covered != "" && seqLess(sh.pos.resumeAfter(), sh.covered) && (periodic || !sh.snapped) {
			return true
		}
	}
	return false
}

// snapshot returns the grace buffer and sets every shard's Buf to the last
// record it covers, adding the shards to changed; firstFor lists the shards
// no earlier snapshot of this run covered. Call it after positions, with the
// batch that will carry both.
func (t *tracker) snapshot(changed map[string]Checkpoint) (s bufferSnapshot, firstFor []string) {
	s = bufferSnapshot{}
	for _, st := range t.active {
		for _, p := range st.buf {
			s[p.shard] = append(s[p.shard], bufferedPoint{Seq: p.rec.seq, Sub: p.sub, Item: p.item, Series: st.name, Sec: p.sec, Usec: p.usec, Value: p.value, Units: p.units})
		}
	}
	for _, pts := range s {
		slices.SortFunc(pts, func(a, b bufferedPoint) int {
			if a.Seq != b.Seq {
				if seqLess(a.Seq, b.Seq) {
					return -1
				}
				return 1
			}
			if a.Sub != b.Sub {
				return a.Sub - b.Sub
			}
			return a.Item - b.Item
		})
	}
	for id, sh := range t.shards {
		if sh.finished || sh.covered == "" || !seqLess(sh.pos.resumeAfter(), sh.covered) {
			continue
		}
		sh.pos.Buf = sh.covered
		changed[id] = sh.pos
		if !sh.snapped {
			sh.snapped = true
			firstFor = append(firstFor, id)
		}
	}
	slices.Sort(firstFor)
	return s, firstFor
}
