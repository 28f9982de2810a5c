package kinesis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"rrdash/ingest/kinesis/kds"
	"rrdash/store"
	"rrdash/store/cluster"
)

// maxLineage bounds how many reshards back a replica reads parents from
// the stream itself (each level is a closed shard still in the stream).
const maxLineage = 32

// inheritParents gives this replica, before it reads child from its start,
// the child's part of each parent shard's series as they were at the
// parent's end (KCL: parents before children; here their state too). It
// retries until it succeeds or ctx ends (false): the child is not read,
// and its reads answer 503, until then.
func (r *Replica) inheritParents(ctx context.Context, child string) bool {
	r.mu.Lock()
	info := r.shards[child].info
	r.mu.Unlock()
	for _, p := range []string{info.parent, info.adjacent} {
		if p == "" {
			continue
		}
		bo := backoff{min: 250 * time.Millisecond, max: 10 * time.Second}
		for {
			err := r.inheritOne(ctx, p, info.rng, 0)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return false
			}
			r.log.Warn("cluster: parent shard's series not inherited yet; the child shard waits", "shard", child, "parent", p, "err", err)
			if !sleep(ctx, bo.next()) {
				return false
			}
		}
	}
	return true
}

// inheritOne makes this store hold parent's series in childRange as they
// were at parent's end: already so when this replica read parent to its
// end; else from the node that did; else by reading parent (after its own
// parents) from the stream.
func (r *Replica) inheritOne(ctx context.Context, parent string, childRange cluster.ShardRange, depth int) error {
	if string(r.db.Position(r.source(parent))) == endMark {
		return nil
	}
	if childRange.Start == nil {
		return errors.New("the child shard's hash-key range is not known")
	}
	r.mu.Lock()
	psh, known := r.shards[parent]
	var pinfo shardInfo
	if known {
		pinfo = psh.info
	}
	r.mu.Unlock()
	rng := childRange
	if pinfo.rng.Start != nil {
		var ok bool
		// a merged child's range holds its other parent's series too:
		// take only this parent's
		if rng, ok = cluster.Intersect(childRange, pinfo.rng); !ok {
			return nil
		}
	}
	start := time.Now()
	snap, err := r.inherit(ctx, parent, rng)
	if err == nil && snap != nil {
		r.applyMu.Lock()
		err = r.restoreSeries(snap)
		r.applyMu.Unlock()
		if err != nil {
			return err
		}
		r.mu.Lock()
		r.counts.Inherited++
		r.mu.Unlock()
		r.log.Info("cluster: parent shard's series inherited", "parent", parent, "range", fmt.Sprintf("[%s, %s]", rng.Start, rng.End),
			"series", len(snap.Series), "took", time.Since(start))
		return nil
	}
	if err != nil {
		r.log.Warn("cluster: no node answered with the parent shard's end state; reading it from the stream", "parent", parent, "err", err)
	}
	if !known {
		// not listed any more: trimmed from the stream, so are its records
		r.log.Warn("cluster: parent shard is gone from the stream and no node has its series; the child starts without them", "parent", parent)
		return nil
	}
	if depth >= maxLineage {
		return fmt.Errorf("shard %s: more than %d reshards back", parent, maxLineage)
	}
	for _, pp := range []string{pinfo.parent, pinfo.adjacent} {
		if pp != "" {
			if err := r.inheritOne(ctx, pp, rng, depth+1); err != nil {
				return err
			}
		}
	}
	if err := r.replayRange(ctx, parent, rng); err != nil {
		return err
	}
	r.mu.Lock()
	r.counts.ParentsReplayed++
	r.mu.Unlock()
	r.log.Info("cluster: parent shard read from the stream for its child", "parent", parent, "took", time.Since(start))
	return nil
}

// replayRange applies the entries of the closed shard's records whose
// series are in rng, from its oldest record to its end, without recording
// a position in it (this store holds only part of it). A crash midway
// replays it again: the updates applied already are refused as not newer.
func (r *Replica) replayRange(ctx context.Context, shard string, rng cluster.ShardRange) error {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan shardBatch, 1)
	go r.c.readShard(rctx, nil, shard, kds.ShardIteratorTypeTrimHorizon, "", ch)
	keep := rng.Hash()
	for {
		var b shardBatch
		select {
		case <-ctx.Done():
			return ctx.Err()
		case b = <-ch:
		}
		var batch store.Batch
		var waits []func() error
		// entries of series outside rng are another child's: skipped
		bad, _ := r.decode(b.records, func(_ int, name string) bool { return keep.Contains(name) }, &batch, &waits, nil)
		if err := r.applyNow(ctx, shard, batch, waits); err != nil {
			return err
		}
		r.mu.Lock()
		r.counts.Bad += bad
		r.mu.Unlock()
		if b.end {
			return nil
		}
	}
}

// decode appends the updates of the records' entries that keep accepts
// (n: the entries in their record) to batch, ensuring each series; it
// returns the records or entries that are not cluster log entries or
// whose definition the store refuses (bad), and the entries keep refused.
//
// known, when set, is the series this store is known to hold: their
// definitions are neither decoded nor ensured again (Run's goroutine
// only; a series the store turns out not to have is dropped from it at
// the apply).
func (r *Replica) decode(records []Record, keep func(n int, name string) bool, batch *store.Batch, waits *[]func() error, known map[string]struct{}) (bad, skipped int64) {
	var isKnown func(string) bool
	if known != nil {
		isKnown = func(name string) bool { _, ok := known[name]; return ok }
	}
	var entries []cluster.Entry
	for _, rec := range records {
		var err error
		entries, err = cluster.AppendRecord(entries[:0], rec.Data, isKnown)
		if err != nil {
			bad++
			r.log.Warn("cluster: record skipped", "shard", rec.Shard, "seq", rec.Seq, "err", err)
			continue
		}
		for _, e := range entries {
			if !keep(len(entries), e.Series) {
				skipped++
				continue
			}
			if e.Spec.DS != nil || isKnown == nil || !isKnown(e.Series) {
				_, wait, err := r.db.EnsureAsync(e.Series, e.Spec, e.Meta)
				if err != nil {
					// A definition the store refuses is the record's fault,
					// and every replica refuses it alike.
					bad++
					r.log.Warn("cluster: series not created", "shard", rec.Shard, "seq", rec.Seq, "series", e.Series, "err", err)
					continue
				}
				*waits = append(*waits, wait)
				if known != nil {
					known[e.Series] = struct{}{}
				}
			}
			for _, u := range e.Updates {
				batch.Updates = append(batch.Updates, store.Update{Series: e.Series, Time: u.Time, Usec: u.Usec, Values: u.Values})
			}
		}
	}
	return bad, skipped
}

// applyNow makes the series creations durable and applies batch durably.
func (r *Replica) applyNow(ctx context.Context, shard string, batch store.Batch, waits []func() error) error {
	if len(batch.Updates) == 0 && batch.Positions == nil {
		return nil
	}
	for _, w := range waits {
		if err := w(); err != nil {
			return fmt.Errorf("cluster: shard %s: create series: %w", shard, err)
		}
	}
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	res, err := r.db.Apply(ctx, batch)
	if err != nil {
		return fmt.Errorf("cluster: shard %s: apply %d updates: %w", shard, len(batch.Updates), err)
	}
	r.mu.Lock()
	r.counts.Applied += int64(res.Applied)
	r.counts.Refused += int64(len(res.Errors))
	r.mu.Unlock()
	return nil
}
