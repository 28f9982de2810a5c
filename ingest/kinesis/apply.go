package kinesis

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"rrdash/store"
)

// flush applies what left the grace buffer, the dead letters and the
// checkpoints in one store batch.
func (rs *runState) flush(ctx context.Context, all bool) error {
	c, tr := rs.c, rs.tr
	w := tr.take(time.Now(), all, c.template().Step)
	if err := rs.dl.Append(w.dead); err != nil {
		return fmt.Errorf("kinesis: %w", err)
	}
	rs.logDead(w.dead)
	changed, scanFrom, finished := tr.positions(rs.dl.Size())
	var buffer []byte
	var firstFor []string
	if (len(w.updates) > 0 || len(changed) > 0) && tr.snapshotWanted(time.Since(rs.lastSnap) >= c.cfg.CheckpointInterval) {
		// The first batch holding records of a shard saves the buffer, so
		// that even a short run's progress survives; later ones now and then.
		var snap bufferSnapshot
		snap, firstFor = tr.snapshot(changed)
		buffer = encodeBuffer(snap)
	}
	if len(w.updates) > 0 || len(changed) > 0 {
		for _, ns := range w.create {
			spec := c.template()
			spec.Start = ns.Start
			var meta map[string]string
			if ns.Units != "" {
				meta = map[string]string{"units": ns.Units}
			}
			if _, err := c.db.EnsureWithMeta(ns.Name, spec, meta); err != nil {
				return fmt.Errorf("kinesis: create series %q: %w", ns.Name, err)
			}
		}
		batch := store.Batch{Updates: make([]store.Update, len(w.updates)), Positions: c.cps.Positions(changed, scanFrom, buffer)}
		for i, u := range w.updates {
			batch.Updates[i] = store.Update{Series: u.Series, Time: u.Sec, Usec: u.Usec, Values: []string{u.Value}}
		}
		res, err := c.db.Apply(ctx, batch)
		if err != nil {
			return fmt.Errorf("kinesis: apply %d updates: %w", len(batch.Updates), err)
		}
		if buffer != nil {
			if len(firstFor) > 0 {
				c.log.Info("kinesis: checkpoint saved with the grace buffer; a restart resumes these shards after the records read so far",
					"shards", strings.Join(firstFor, ","), "buffered_points", tr.buffered(), "bytes", len(buffer))
			}
			rs.lastSnap = time.Now()
		}
		if len(res.Errors) > 0 {
			// The tracker only lets through points newer than the series'
			// last update, so this is the store disagreeing: keep them.
			var dead []DeadLetter
			for _, e := range res.Errors {
				u := w.updates[e.Index]
				dead = append(dead, DeadLetter{Reason: ReasonRejected, Detail: e.Err.Error(), Shard: u.Shard, Seq: u.Seq, Sub: subIndex(u.Sub), Item: u.Item,
					Series: u.Series, Time: fmtTime(u.Sec, u.Usec), Value: u.Value})
				tr.counts.Bad[ReasonRejected]++
			}
			if err := rs.dl.Append(dead); err != nil {
				return fmt.Errorf("kinesis: %w", err)
			}
			rs.logDead(dead)
		}
	}
	rs.shareCheckpoints(ctx, changed)
	for _, id := range finished {
		if l := rs.ended[id]; l != nil {
			if err := l.Release(ctx, true); err != nil {
				c.log.Warn("kinesis: lease release failed", "shard", id, "err", err)
			}
			delete(rs.ended, id)
		}
		c.log.Info("kinesis: shard finished", "shard", id)
	}
	rs.publish()
	return nil
}

// shareCheckpoints copies the checkpoints just made durable into the
// shared leases (the KCL's checkpoint attribute), so that a worker taking
// a shard over starts after them. Only CP is copied: the records up to it
// are applied here, while those up to Buf have points in this node's
// grace buffer snapshot, which no other worker has. A failed write is
// logged: the lease then lags, and a new owner re-reads from an earlier
// record (its points are then applied in both stores), which is no worse
// than without it; a lost lease refuses the write.
func (rs *runState) shareCheckpoints(ctx context.Context, changed map[string]Checkpoint) {
	// The applier waits for these writes: bound the wait, a lease that
	// lags is only a longer re-read for the next owner.
	wctx, cancel := context.WithTimeout(ctx, shareTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for id, cp := range changed {
		if cp.End || cp.CP == "" { // SHARD_END is written on release
			continue
		}
		var l Lease
		if r := rs.running[id]; r != nil {
			l = r.lease
		} else if e := rs.ended[id]; e != nil {
			l = e
		}
		sc, ok := l.(SharedCheckpoint)
		if !ok {
			continue
		}
		select {
		case <-l.Lost():
			continue
		default:
		}
		wg.Go(func() {
			if err := sc.Checkpoint(wctx, cp.CP); err != nil && ctx.Err() == nil { // not at shutdown
				rs.c.log.Warn("kinesis: checkpoint not copied into the lease", "shard", id, "checkpoint", cp.CP, "err", err)
			}
		})
	}
	wg.Wait()
}

const shareTimeout = 5 * time.Second

// isSeqNumber: a Kinesis sequence number (decimal digits), not a
// TRIM_HORIZON, LATEST or SHARD_END checkpoint.
func isSeqNumber(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// logDead logs dead letters, at most a few a second per reason, so a flood
// of bad records cannot flood the log; the counts are exact regardless.
func (rs *runState) logDead(dead []DeadLetter) {
	logged := map[Reason]int{}
	for _, d := range dead {
		if logged[d.Reason] < 3 {
			args := []any{"reason", string(d.Reason), "shard", d.Shard, "seq", d.Seq}
			if d.Sub != nil {
				args = append(args, "sub", *d.Sub)
			}
			rs.c.log.Warn("kinesis: record dead-lettered", append(args, "item", d.Item, "series", d.Series, "detail", d.Detail)...)
		}
		logged[d.Reason]++
	}
	for r, n := range logged {
		if n > 3 {
			rs.c.log.Warn("kinesis: more records dead-lettered", "reason", string(r), "not_logged", n-3)
		}
	}
}

func (rs *runState) publish() {
	tr := rs.tr
	for id, sh := range tr.shards {
		st := rs.shardStats[id]
		st.Finished = sh.finished
		rs.shardStats[id] = st
	}
	caught := rs.listed && len(tr.dl) == 0 && tr.buffered() == 0 && len(rs.ended) == 0
	for id, sh := range tr.shards {
		if !sh.finished && (rs.running[id] == nil || !rs.shardStats[id].AtTip || len(sh.queue) > 0) {
			caught = false
		}
	}
	s := Stats{Counts: tr.snapshotCounts(), RecordsPerSecond: rs.rate.perSecond(time.Now()), Buffered: tr.buffered(),
		Shards: maps.Clone(rs.shardStats), CaughtUp: caught}
	c := rs.c
	c.mu.Lock()
	s.Started = c.stats.Started
	c.stats = s
	c.mu.Unlock()
	if caught && !rs.caughtUp {
		c.log.Info("kinesis: caught up", "records", s.Counts.Records, "applied", s.Counts.Applied,
			"replayed", s.Counts.Replayed, "dead_lettered", sum(s.Counts.Bad))
	}
	rs.caughtUp = caught
}

func sum(m map[Reason]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// rateMeter is records per second over the last rateWindow.
type rateMeter struct {
	start time.Time
	marks []rateMark
}

type rateMark struct {
	at time.Time
	n  int64
}

const rateWindow = 10 * time.Second

func (m *rateMeter) add(now time.Time, n int64) {
	if m.start.IsZero() {
		m.start = now
	}
	m.marks = append(m.marks, rateMark{now, n})
	m.prune(now)
}

func (m *rateMeter) prune(now time.Time) {
	cut := 0
	for cut < len(m.marks) && now.Sub(m.marks[cut].at) > rateWindow {
		cut++
	}
	m.marks = slices.Delete(m.marks, 0, cut)
}

func (m *rateMeter) perSecond(now time.Time) float64 {
	m.prune(now)
	if m.start.IsZero() {
		return 0
	}
	span := min(rateWindow, now.Sub(m.start))
	if span < time.Second {
		span = time.Second // a rate over less is noise
	}
	var n int64
	for _, k := range m.marks {
		n += k.n
	}
	return float64(n) / span.Seconds()
}
