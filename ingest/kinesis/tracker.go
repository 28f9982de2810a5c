package kinesis

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// The tracker is the consumer's bookkeeping, free of I/O so it can be
// tested on its own. It owns the grace buffer and decides, for every point
// and every record, when it is done; positions advance only past records
// that are done, so what a crash loses is re-read and what is re-read is
// recognised.
//
// Exactly-once argument, per series (times compared in whole seconds; the
// tracker keeps at most one point per series and second):
//   - A point is accepted only if it is newer than the last applied point
//     and not older than the grace window (high − grace); it is flushed in
//     time order, so every buffered point is newer than every applied one.
//   - A shard's position holds cp (every record ≤ cp is done: its points are
//     applied or dead-lettered) and read (every record ≤ read was classified
//     before the batch carrying the position was applied).
//   - After a restart, reading resumes after cp. A re-read record ≤ read was
//     classified before: a point of it at or before the series' last update
//     was applied (or dead-lettered, which the dead-letter file says), any
//     other point was still buffered and is buffered again. A record after
//     read never reached the store, so a point of it at or before the last
//     update is late, as it would have been.
//   - Dead letters are fsync'd before the batch whose position covers them;
//     on restart those of records after cp are read back and not repeated.
//     The batch also records the offset from which a restart reads them
//     back: the first dead letter of a record not yet done. Dead letters a
//     previous run wrote count too until their shard's cp passes them (a
//     restart that re-reads such a record writes nothing new for it, so
//     the offset of what it does write is no bound), and so do those of a
//     shard this run has not read yet.

// Record is one Kinesis record as the tracker needs it.
type Record struct {
	Shard   string
	Seq     string
	Data    []byte
	Arrival time.Time
}

// DeadLetter is one line of the dead-letter file.
type DeadLetter struct {
	Reason Reason `json:"reason"`
	Detail string `json:"detail,omitempty"`
	Shard  string `json:"shard"`
	Seq    string `json:"seq"`
	// Sub is the user record's sub-sequence index in a KPL aggregate; nil
	// for a plain record.
	Sub     *int   `json:"sub,omitempty"`
	Item    int    `json:"item"`
	Series  string `json:"series,omitempty"`
	Time    string `json:"time,omitempty"`
	Value   string `json:"value,omitempty"`
	Arrival string `json:"arrival,omitempty"`
	// Data is the record as text when it is valid UTF-8, else DataBase64.
	Data       string `json:"data,omitempty"`
	DataBase64 []byte `json:"data_base64,omitempty"`
}

type dlKey struct {
	shard, seq string
	sub        int // 1 + sub-sequence index, 0 for a plain record
	item       int
}

func (d *DeadLetter) key() dlKey {
	sub := 0
	if d.Sub != nil {
		sub = *d.Sub + 1
	}
	return dlKey{d.Shard, d.Seq, sub, d.Item}
}

// subIndex is a DeadLetter's Sub for an internal sub (1 + index, 0: none).
func subIndex(sub int) *int {
	if sub == 0 {
		return nil
	}
	k := sub - 1
	return &k
}

type recState struct {
	seq      string
	pending  int   // points buffered and not yet flushed
	dlOffset int64 // dead-letter file size when the record was read
}

// Checkpoint is what the store keeps per shard, in the same batch as the
// updates it covers.
type Checkpoint struct {
	CP   string `json:"cp,omitempty"`   // every record ≤ CP is done
	Read string `json:"read,omitempty"` // every record ≤ Read was classified
	End  bool   `json:"end,omitempty"`  // drained to the end and done: never read again
	// Buf: every record ≤ Buf is done or has its pending points in the
	// grace buffer snapshot saved with this position (see buffer.go).
	Buf string `json:"buf,omitempty"`
}

type shardState struct {
	id       string
	pos      Checkpoint
	replay   string // Read of the position we started from
	last     string // last record classified by this run
	covered  string // every record ≤ covered is done or has its points in the buffer
	snapped  bool   // a buffer snapshot of this run covered records of the shard
	queue    []*recState
	ended    bool // the reader handed over the last record
	finished bool // ended, all done, and End is durable (or in the batch)
	dirty    bool
}

type bufPoint struct {
	micros int64
	sec    int64
	usec   int64
	value  string
	units  string
	rec    *recState
	shard  string
	sub    int // 1 + sub-sequence index, 0 for a plain record
	item   int
}

type seriesState struct {
	name        string
	loaded      bool
	exists      bool
	applied     int64 // last applied second (store LastUpdate)
	high        int64 // newest accepted point, microseconds
	hasHigh     bool
	buf         []bufPoint
	lastArrival time.Time
}

// SeriesLookup tells the tracker a series' last update, if the series exists.
type SeriesLookup func(name string) (lastUpdate int64, exists bool, err error)

// Counts are the tracker's counters.
type Counts struct {
	Records  int64            // records classified (re-reads included)
	Points   int64            // points accepted into the grace buffer
	Applied  int64            // points flushed to the store
	Replayed int64            // points or bad items skipped because a previous run handled them
	Bad      map[Reason]int64 // dead-lettered items by reason (late and duplicates included)
}

type tracker struct {
	grace    int64 // microseconds
	idle     time.Duration
	dec      *Decoder
	lookup   SeriesLookup
	shards   map[string]*shardState
	series   map[string]*seriesState
	active   map[string]*seriesState // series with buffered points
	seen     map[dlKey]bool          // dead letters already in the file (from a previous run)
	earlier  map[string]dlFloor      // per shard: where the previous runs' dead letters start
	dl       []DeadLetter            // dead letters not yet written
	counts   Counts
	items    []DecodedItem
	badItems []ItemError
	users    [][]byte // user records of the record being classified, when aggregated
}

func newTracker(dec *Decoder, grace time.Duration, idle time.Duration, lookup SeriesLookup) *tracker {
	return &tracker{
		grace:   int64(grace / time.Microsecond),
		idle:    idle,
		dec:     dec,
		lookup:  lookup,
		shards:  map[string]*shardState{},
		series:  map[string]*seriesState{},
		active:  map[string]*seriesState{},
		seen:    map[dlKey]bool{},
		earlier: map[string]dlFloor{},
		counts:  Counts{Bad: map[Reason]int64{}},
	}
}

// dlFloor spans the dead letters earlier runs wrote for a shard's records
// after its checkpoint: from the file offset off, for records up to maxSeq.
type dlFloor struct {
	off    int64
	maxSeq string
}

// rememberDeadLetter takes a dead letter a previous run wrote at offset off
// (read back from the file at start): it is not written again, and the
// file is read back from off at the next start until the shard's
// checkpoint passes its record.
func (t *tracker) rememberDeadLetter(d *DeadLetter, off int64) {
	t.seen[d.key()] = true
	f, ok := t.earlier[d.Shard]
	if !ok {
		f = dlFloor{off: off, maxSeq: d.Seq}
	}
	f.off = min(f.off, off)
	if seqLess(f.maxSeq, d.Seq) {
		f.maxSeq = d.Seq
	}
	t.earlier[d.Shard] = f
}

// forgetGoneShards drops the earlier dead letters of shards the stream no
// longer lists (trimmed): their records will never be read again.
func (t *tracker) forgetGoneShards(listed map[string]shardInfo) {
	for id := range t.earlier {
		if _, ok := listed[id]; !ok {
			delete(t.earlier, id)
		}
	}
}

// addShard registers a shard with the position it resumes from.
func (t *tracker) addShard(id string, pos Checkpoint) *shardState {
	if s, ok := t.shards[id]; ok {
		return s
	}
	s := &shardState{id: id, pos: pos, replay: pos.Read, finished: pos.End, covered: pos.resumeAfter()}
	t.shards[id] = s
	return s
}

// startAfter makes a shard this run's journal has no position for start
// after seq, a checkpoint another worker left in the shared lease: every
// record up to it is applied in that worker's store. The position is
// journalled at the next flush.
func (t *tracker) startAfter(id, seq string) {
	sh := t.shards[id]
	if sh == nil || sh.pos != (Checkpoint{}) {
		return
	}
	sh.pos.CP, sh.covered, sh.dirty = seq, seq, true
}

// seqLess compares Kinesis sequence numbers: decimal strings of any length.
func seqLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func (t *tracker) seriesFor(name string) (*seriesState, error) {
	st := t.series[name]
	if st == nil {
		st = &seriesState{name: name}
		t.series[name] = st
	}
	if !st.loaded {
		last, exists, err := t.lookup(name)
		if err != nil {
			return nil, fmt.Errorf("series %q: last update: %w", name, err)
		}
		st.loaded, st.exists, st.applied = true, exists, last
		if !exists {
			st.applied = -1 << 62
		}
	}
	return st, nil
}

// observe classifies one record. dlSize is the dead-letter file's size now.
// An error is the store failing to answer; the record is then not taken.
func (t *tracker) observe(r Record, now time.Time, dlSize int64) error {
	sh := t.shards[r.Shard]
	if sh == nil {
		return fmt.Errorf("record %s of unknown shard %s", r.Seq, r.Shard)
	}
	if sh.last != "" && !seqLess(sh.last, r.Seq) {
		// A reader restarted after an expired iterator may hand over a
		// record twice; it was classified already.
		return nil
	}
	replay := sh.replay != "" && !seqLess(sh.replay, r.Seq)
	t.items, t.badItems, t.users = t.dec.DecodeRecord(r.Data, r.Arrival, t.items[:0], t.badItems[:0], t.users)
	// Look the series up first so that a store error leaves nothing half done.
	for _, it := range t.items {
		if _, err := t.seriesFor(it.Point.Series); err != nil {
			return fmt.Errorf("shard %s record %s: %w", r.Shard, r.Seq, err)
		}
	}
	rec := &recState{seq: r.Seq, dlOffset: dlSize}
	t.counts.Records++
	for _, b := range t.badItems {
		t.deadLetter(r, b.Sub, b.Item, b.Reason, b.Detail, nil)
	}
	for _, it := range t.items {
		p := it.Point
		st := t.series[p.Series]
		key := dlKey{r.Shard, r.Seq, it.Sub, it.Item}
		switch {
		case t.seen[key]:
			t.counts.Replayed++
		case p.Sec <= st.applied && replay:
			t.counts.Replayed++
		case p.Sec <= st.applied:
			t.deadLetter(r, it.Sub, it.Item, ReasonLate, fmt.Sprintf("at or before the last applied point %s", fmtTime(st.applied, 0)), &p)
		case st.hasHigh && p.Micros() < st.high-t.grace:
			t.deadLetter(r, it.Sub, it.Item, ReasonLate, fmt.Sprintf("older than the grace window: newest point %s", fmtTime(st.high/1e6, st.high%1e6)), &p)
		default:
			if !st.insert(bufPoint{micros: p.Micros(), sec: p.Sec, usec: p.Usec, value: p.Value, units: p.Units, rec: rec, shard: r.Shard, sub: it.Sub, item: it.Item}) {
				t.deadLetter(r, it.Sub, it.Item, ReasonDuplicate, "another point of the series has the same second", &p)
				continue
			}
			rec.pending++
			t.counts.Points++
			if !st.hasHigh || p.Micros() > st.high {
				st.high, st.hasHigh = p.Micros(), true
			}
			st.lastArrival = now
			t.active[st.name] = st
		}
	}
	sh.queue = append(sh.queue, rec)
	sh.last, sh.covered = r.Seq, r.Seq
	// Read never goes back: while a restart re-reads, records up to the old
	// Read are still the ones classified before.
	if sh.pos.Read == "" || seqLess(sh.pos.Read, r.Seq) {
		sh.pos.Read = r.Seq
	}
	sh.dirty = true
	return nil
}

// insert keeps buf sorted by time; false if a point of that second is buffered.
func (st *seriesState) insert(p bufPoint) bool {
	i := len(st.buf)
	for i > 0 && st.buf[i-1].micros > p.micros {
		i--
	}
	if i > 0 && st.buf[i-1].sec == p.sec || i < len(st.buf) && st.buf[i].sec == p.sec {
		return false
	}
	st.buf = slices.Insert(st.buf, i, p)
	return true
}

// deadLetter records a bad item; sub is 1 + its user record's sub-sequence
// index in an aggregate (whose data the letter then shows), 0 for a plain record.
func (t *tracker) deadLetter(r Record, sub, item int, reason Reason, detail string, p *Point) {
	d := DeadLetter{Reason: reason, Detail: detail, Shard: r.Shard, Seq: r.Seq, Sub: subIndex(sub), Item: item}
	if t.seen[d.key()] {
		t.counts.Replayed++
		return
	}
	if p != nil {
		d.Series, d.Time, d.Value = p.Series, fmtTime(p.Sec, p.Usec), p.Value
	}
	if !r.Arrival.IsZero() {
		d.Arrival = r.Arrival.UTC().Format(time.RFC3339Nano)
	}
	data := r.Data
	if sub > 0 && sub <= len(t.users) {
		data = t.users[sub-1]
	}
	if utf8.Valid(data) {
		d.Data = string(data)
	} else {
		d.DataBase64 = slices.Clone(data)
	}
	t.dl = append(t.dl, d)
	t.counts.Bad[reason]++
}

// endShard records that the reader handed over the shard's last record.
func (t *tracker) endShard(id string) {
	if sh := t.shards[id]; sh != nil {
		sh.ended = true
		sh.dirty = true
	}
}

// NewSeries is a series to create before the batch is applied.
type NewSeries struct {
	Name  string
	Start int64
	Units string
}

// Update is one point to apply.
type Update struct {
	Series string
	Sec    int64
	Usec   int64
	Value  string
	// Where the point came from, for a dead letter if the store refuses it.
	Shard, Seq string
	Sub        int // 1 + sub-sequence index in a KPL aggregate, 0 for a plain record
	Item       int
}

// flushWork is what one flush hands to the store.
type flushWork struct {
	create  []NewSeries
	updates []Update
	dead    []DeadLetter
}

// take removes the points that left the grace window (all of a series'
// points once it had no new point for the idle time, or when all is set)
// and the pending dead letters. The caller must make them durable or stop.
func (t *tracker) take(now time.Time, all bool, step int64) flushWork {
	var w flushWork
	names := slices.Sorted(maps.Keys(t.active))
	for _, name := range names {
		st := t.active[name]
		n := len(st.buf)
		if !all && now.Sub(st.lastArrival) < t.idle {
			cut := st.high - t.grace
			n = 0
			for n < len(st.buf) && st.buf[n].micros < cut {
				n++
			}
		}
		if n == 0 {
			continue
		}
		if !st.exists {
			w.create = append(w.create, NewSeries{Name: name, Start: st.buf[0].sec - step, Units: st.buf[0].units})
			st.exists = true
		}
		for _, p := range st.buf[:n] {
			w.updates = append(w.updates, Update{Series: name, Sec: p.sec, Usec: p.usec, Value: p.value, Shard: p.shard, Seq: p.rec.seq, Sub: p.sub, Item: p.item})
			p.rec.pending--
		}
		st.applied = st.buf[n-1].sec
		st.buf = slices.Delete(st.buf, 0, n)
		t.counts.Applied += int64(n)
		if len(st.buf) == 0 {
			delete(t.active, name)
		}
	}
	w.dead, t.dl = t.dl, nil
	return w
}

// positions advances every shard's checkpoint past its done records and
// returns the positions that changed, plus the dead-letter offset from which
// a restart must read dead letters back (dlSize: the file's size once w.dead
// is written). finishedNow lists shards whose End is in these positions.
func (t *tracker) positions(dlSize int64) (changed map[string]Checkpoint, scanFrom int64, finishedNow []string) {
	changed = map[string]Checkpoint{}
	scanFrom = dlSize
	for _, id := range slices.Sorted(maps.Keys(t.shards)) {
		sh := t.shards[id]
		if sh.finished {
			continue
		}
		n := 0
		for n < len(sh.queue) && sh.queue[n].pending == 0 {
			n++
		}
		if n > 0 {
			sh.pos.CP = sh.queue[n-1].seq
			sh.queue = slices.Delete(sh.queue, 0, n)
			sh.dirty = true
		}
		if len(sh.queue) > 0 {
			scanFrom = min(scanFrom, sh.queue[0].dlOffset)
		}
		if sh.ended && len(sh.queue) == 0 {
			sh.pos.End, sh.finished, sh.dirty = true, true, true
			finishedNow = append(finishedNow, id)
		}
		if sh.dirty {
			changed[id] = sh.pos
			sh.dirty = false
		}
	}
	for id, f := range t.earlier {
		sh := t.shards[id]
		if sh != nil && (sh.finished || sh.pos.resumeAfter() != "" && !seqLess(sh.pos.resumeAfter(), f.maxSeq)) {
			delete(t.earlier, id) // their records are done: never read again
			continue
		}
		scanFrom = min(scanFrom, f.off)
	}
	return changed, scanFrom, finishedNow
}

// buffered is the number of points waiting in the grace buffer.
func (t *tracker) buffered() int {
	n := 0
	for _, st := range t.active {
		n += len(st.buf)
	}
	return n
}

func (t *tracker) snapshotCounts() Counts {
	c := t.counts
	c.Bad = maps.Clone(t.counts.Bad)
	return c
}

func encodeCheckpoint(p Checkpoint) []byte {
	b, _ := json.Marshal(p) // a struct of strings and a bool always marshals
	return b
}

func decodeCheckpoint(b []byte) (Checkpoint, error) {
	var p Checkpoint
	if len(b) == 0 {
		return p, nil
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("shard position %q: %w", truncate(string(b)), err)
	}
	for _, s := range []string{p.CP, p.Read, p.Buf} {
		if s != "" && strings.Trim(s, "0123456789") != "" {
			return p, fmt.Errorf("shard position %q: sequence number %q is not decimal", truncate(string(b)), s)
		}
	}
	return p, nil
}
