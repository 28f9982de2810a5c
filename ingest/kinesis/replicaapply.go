package kinesis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"rrdash/store"
)

// applyWindow bounds how long and how much a replica gathers GetRecords
// answers (of all its shards) into one durable store apply. The store's
// cost is mostly per series written per apply (its rows are written back
// once the journal record is durable), so with one point per series per
// record — KPL-style aggregates of many series — one apply per answer
// writes each series for one point; gathering answers writes it once for
// many. Records are durable in the stream meanwhile: nothing acknowledged
// waits on it, only how fresh the holder's reads are.
type applyWindow struct {
	delay   time.Duration // from the first record gathered
	updates int           // gathered updates that make the apply due at once
}

// maxKnown bounds the series names a replica remembers as held (their
// definitions are then skipped): ~100 bytes each.
const maxKnown = 1 << 20

var defaultApplyWindow = applyWindow{delay: 250 * time.Millisecond, updates: 200_000}

// SetApplyWindow sets how long (delay) and how many updates the replica
// gathers into one store apply; delay 0 applies each GetRecords answer on
// its own. Call before Run.
func (r *Replica) SetApplyWindow(delay time.Duration, updates int) error {
	if delay < 0 || updates < 1 {
		return fmt.Errorf("cluster: apply window %v, %d updates: want a delay ≥ 0 and at least 1 update", delay, updates)
	}
	r.window = applyWindow{delay: delay, updates: updates}
	return nil
}

// pendingApply is the gathered apply: the updates of the records read,
// each read shard's last position (applied in the same store batch, so a
// record is applied exactly once), and what to do per answer once durable.
type pendingApply struct {
	batch    store.Batch
	waits    []func() error
	done     []answered
	deadline time.Time // zero: nothing pending
}

// answered is what a GetRecords answer leaves to do after its apply.
type answered struct {
	shard    string
	records  int
	last     string // its last sequence number ("" none)
	caughtUp bool   // the answer reached the shard's tip
	end      bool   // the shard's end
}

func (r *Replica) onBatch(ctx context.Context, b shardBatch) error {
	r.mu.Lock()
	sh := r.shards[b.shard]
	r.mu.Unlock()
	if sh == nil {
		return nil
	}
	if b.lost != nil {
		r.mu.Lock()
		if sh.run == b.lost {
			sh.run, sh.caughtUp = nil, false
		}
		r.mu.Unlock()
		r.log.Info("cluster: shard lease lost; the shard is read elsewhere", "shard", b.shard)
		return nil
	}
	r.mu.Lock()
	keep := sh.info.rng.Hash()
	r.mu.Unlock()
	p := &r.pend
	// An aggregate's partition key is its first series', so that one is
	// in the shard; the others were placed by the writer's shard map,
	// which a reshard makes stale for a moment: those not in the shard's
	// range are skipped here (alike on every replica) and put again by
	// the writer to their own shard.
	if r.known == nil || len(r.known) >= maxKnown {
		r.known = map[string]struct{}{} // bounded: the series after are ensured again once
	}
	bad, misrouted := r.decode(b.records, func(n int, name string) bool { return n == 1 || keep.Contains(name) }, &p.batch, &p.waits, r.known)
	a := answered{shard: b.shard, records: len(b.records), caughtUp: len(b.records) == 0 || b.millisBehind == 0, end: b.end}
	if n := len(b.records); n > 0 {
		a.last = b.records[n-1].Seq
	}
	pos := a.last
	if b.end {
		pos = endMark
	}
	if pos != "" {
		if p.batch.Positions == nil {
			p.batch.Positions = map[string][]byte{}
		}
		p.batch.Positions[r.source(b.shard)] = []byte(pos)
	}
	p.done = append(p.done, a)
	if p.deadline.IsZero() {
		p.deadline = time.Now().Add(r.window.delay)
	}
	r.mu.Lock()
	r.counts.Bad += bad
	r.counts.Misrouted += misrouted
	r.mu.Unlock()
	if b.end || len(p.batch.Updates) >= r.window.updates || !time.Now().Before(p.deadline) {
		return r.flush(ctx)
	}
	return nil
}

// flush applies the gathered answers in one durable store batch, then
// does what each answer left to do: its shard's position and tip, the
// checkpoint copy into the lease, and the lease release at a shard's end.
func (r *Replica) flush(ctx context.Context) error {
	p := &r.pend
	if p.deadline.IsZero() {
		return nil
	}
	batch, waits, done := p.batch, p.waits, p.done
	*p = pendingApply{}
	var res store.Result
	if len(batch.Updates) > 0 || batch.Positions != nil {
		for _, w := range waits {
			if err := w(); err != nil {
				return fmt.Errorf("cluster: create series: %w", err)
			}
		}
		// each series' updates together, in their order: the store
		// applies and journals a series' run at once
		batch.Updates = r.bySeries(batch.Updates)
		r.applyMu.Lock()
		var err error
		res, err = r.db.Apply(ctx, batch)
		r.applyMu.Unlock()
		if err != nil {
			return fmt.Errorf("cluster: apply %d updates of %d GetRecords answers: %w", len(batch.Updates), len(done), err)
		}
		for _, e := range res.Errors {
			if errors.Is(e.Err, store.ErrNotFound) {
				delete(r.known, batch.Updates[e.Index].Series) // ensured again at its next record
			}
			if !errors.Is(e.Err, store.ErrTooOld) {
				u := batch.Updates[e.Index]
				r.log.Debug("cluster: update refused", "series", u.Series, "time", u.Time, "err", e.Err)
			}
		}
	}
	r.mu.Lock()
	r.counts.Applied += int64(res.Applied)
	r.counts.Refused += int64(len(res.Errors))
	r.mu.Unlock()
	for _, a := range done {
		if err := r.afterApply(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

// bySeries orders updates by series, first seen first, each series'
// updates in their order (a counting sort: no string comparisons).
func (r *Replica) bySeries(us []store.Update) []store.Update {
	if len(us) < 2 {
		return us
	}
	idx := make(map[string]int32, 1024)
	ids := make([]int32, len(us))
	var counts []int32
	for i, u := range us {
		id, ok := idx[u.Series]
		if !ok {
			id = int32(len(counts))
			idx[u.Series] = id
			counts = append(counts, 0)
		}
		ids[i] = id
		counts[id]++
	}
	if len(counts) == len(us) || len(counts) == 1 {
		return us // one update per series, or one series: in order already
	}
	next := int32(0)
	for i, c := range counts {
		counts[i] = next
		next += c
	}
	out := make([]store.Update, len(us))
	for i, u := range us {
		out[counts[ids[i]]] = u
		counts[ids[i]]++
	}
	return out
}

func (r *Replica) afterApply(ctx context.Context, a answered) error {
	r.mu.Lock()
	sh := r.shards[a.shard]
	r.counts.Records += int64(a.records)
	if sh == nil {
		r.mu.Unlock()
		return nil
	}
	if a.last != "" {
		sh.pos = a.last
	}
	if a.caughtUp {
		sh.caughtUp = true
	}
	copyNow := a.last != "" && time.Since(sh.lastCopy) >= time.Second
	if copyNow {
		sh.lastCopy = time.Now()
	}
	run := sh.run
	if a.end {
		sh.ended, sh.run = true, nil
	}
	r.mu.Unlock()
	if run == nil {
		return nil
	}
	if sc, ok := run.lease.(SharedCheckpoint); ok && copyNow && !a.end {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := sc.Checkpoint(cctx, a.last); err != nil {
			r.log.Debug("cluster: checkpoint not copied into the lease", "shard", a.shard, "err", err)
		}
		cancel()
	}
	if a.end {
		if err := run.lease.Release(ctx, true); err != nil {
			r.log.Warn("cluster: lease release failed", "shard", a.shard, "err", err)
		}
		r.log.Info("cluster: shard read to its end", "shard", a.shard)
		select {
		case r.nudge <- struct{}{}:
		default:
		}
	}
	return nil
}
