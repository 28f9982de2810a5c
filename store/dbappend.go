package store

// The write path: a batch of updates journalled (group commit), applied
// to the archives, and its rows written once durable.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
)

// endCall ends the update call of a replayed journal record for a series
// (the smoothing its updates scheduled runs now, as it did when the
// record was written).
func (db *DB) endCall(a *archive) {
	if a.st.hw != nil && a.eng.endCall() {
		a.dirty = true
		db.queueFlush(a)
	}
}

// queueFlush notes an archive with rows to write; flushQueued and
// flushDurable write them (callers hold db.mu).
func (db *DB) queueFlush(a *archive) {
	if !a.queued {
		a.queued = true
		db.toFlush = append(db.toFlush, a)
	}
}

// pendingBatch marks rows of a batch whose journal record is not yet
// appended: they wait for its offset.
const pendingBatch = math.MaxInt64

// flushQueued writes the rows of every queued archive: callers have made
// all journal records durable. verify is false for rows of a replay.
func (db *DB) flushQueued(verify bool) error {
	var err error
	for _, a := range db.toFlush {
		if ferr := a.flushRows(verify); err == nil {
			err = ferr
		}
		a.queued = false
	}
	db.toFlush = db.toFlush[:0]
	return err
}

// flushDurable writes the rows whose journal records are durable: the
// journal was synced up to off in checkpoint epoch ckpt (a checkpoint since
// then has flushed them already and restarted the offsets).
func (db *DB) flushDurable(ckpt uint64, off int64) error {
	if db.closed || db.jr.ckpt != ckpt {
		return nil
	}
	var err error
	keep := db.toFlush[:0]
	waiting := 0 // rows kept in memory past their fsync (rowwait.go)
	for _, a := range db.toFlush {
		if a.pendOff > off {
			keep = append(keep, a)
			continue
		}
		if !db.rowsNoWait && waiting < maxWaitingRowBytes {
			if a.waitOK {
				// untouched since a commit found its runs able to wait:
				// not looked at again (a time-major stream of many
				// series would look at every waiting archive per commit)
				waiting += a.waitBytes
				keep = append(keep, a)
				continue
			}
			var some, all bool
			db.waitScratch, some, all = a.waitingRuns(db.waitScratch)
			ok := true
			if some && !all {
				// the runs that completed their block go now, the
				// others keep waiting (rowwait.go)
				ferr := a.flushRuns(true, db.waitScratch)
				if err == nil {
					err = ferr
				}
				ok = ferr == nil
			}
			if some {
				a.waitOK, a.waitBytes = ok, a.pendBytes()
				waiting += a.waitBytes
				keep = append(keep, a)
				continue
			}
		}
		if ferr := a.flushRows(true); err == nil {
			err = ferr
		}
		a.queued = false
	}
	clear(db.toFlush[len(keep):])
	db.toFlush = keep
	return err
}

// SetRetention replaces the retention rules (SIGHUP). Only series created
// after it returns follow the new rules: an existing archive's layout is
// fixed when it is created. nil keeps every caller's template.
func (db *DB) SetRetention(r *Retention) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.opt.Retention = r
}

// Apply applies a batch and returns once it is durable.
func (db *DB) Apply(ctx context.Context, b Batch) (Result, error) {
	res, wait, err := db.ApplyAsync(ctx, b)
	if err != nil {
		return res, err
	}
	return res, wait()
}

// ApplyAsync applies a batch and journals it; the batch is durable once
// wait returns nil. Callers that acknowledge several batches at once (the
// pipe mode) share one fsync this way.
func (db *DB) ApplyAsync(ctx context.Context, b Batch) (Result, func() error, error) {
	return db.applyAsync(ctx, b, nil)
}

// applyAsync is ApplyAsync with a handle per update (handle.go; nil: none).
func (db *DB) applyAsync(ctx context.Context, b Batch, hs []*Handle) (Result, func() error, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, nil, err
	}
	var res Result
	db.mu.Lock()
	if db.closed || db.readOnly {
		db.mu.Unlock()
		if db.readOnly {
			return res, nil, errReadOnly
		}
		return res, nil, ErrClosed
	}
	// the record is encoded by the journal before mu is released, so its
	// update list is reused from batch to batch
	rec := journalRecord{positions: b.Positions, stopOnError: b.StopOnError}
	// the updates journaled as picks from the batch (no copies), in all
	// but a batch too large for their indexes
	picks := len(b.Updates) < 1<<31
	if picks {
		rec.batch, rec.picks = b.Updates, slices.Grow(db.pickBuf[:0], len(b.Updates))
	}
	var last *archive // the previous update's: a series' updates usually come together
	for i := range b.Updates {
		u := &b.Updates[i] // not copied: a batch holds thousands
		var err error
		a := last
		switch {
		case hs != nil: // the caller's handles (ApplyHandles)
			a, err = db.archiveFor(hs[i], u.Series)
		case a == nil || u.Series != b.Updates[i-1].Series:
			if a, err = db.archive(u.Series); err != nil {
				a = nil
			}
			last = a
		}
		if err == nil {
			err = a.apply(u)
			if err == nil || !errors.Is(err, ErrTooOld) && u.width() == len(a.spec.DS) && err != errBothReadings {
				// a failed update may still change state (rrdtool keeps the
				// last readings of earlier data sources): journal it too
				switch {
				case !picks:
					rec.updates = append(rec.updates, journalUpdate{Update: *u, failed: err != nil})
				case err != nil:
					rec.picks = append(rec.picks, uint32(i)<<1|1)
				default:
					rec.picks = append(rec.picks, uint32(i)<<1)
				}
				a.dirty = true
				if a.lastOff != pendingBatch {
					a.lastOff = pendingBatch
					db.touched = append(db.touched, a)
				}
				if len(a.pend) > 0 {
					a.pendOff = pendingBatch
					db.queueFlush(a)
				}
			}
		}
		if err != nil {
			res.Errors = append(res.Errors, &UpdateError{Index: i, Err: fmt.Errorf("%s: %w", u.Series, err)})
			if b.StopOnError {
				break
			}
			continue
		}
		res.Applied++
	}
	if db.opt.Observer != nil {
		db.opt.Observer.Applied(res.Applied, len(res.Errors))
	}
	for _, a := range db.touched {
		if a.st.hw != nil && a.eng.endCall() {
			a.pendOff = pendingBatch
			db.queueFlush(a)
		}
	}
	for k, v := range b.Positions {
		db.positions[k] = v
		db.posDirty = true
	}
	// The batch's rows wait in memory until its record is durable (wait).
	var off int64
	var err error
	ckpt := db.jr.ckpt
	if len(rec.updates) > 0 || len(rec.picks) > 0 || len(rec.positions) > 0 {
		off, err = db.jr.append(&rec)
	}
	if err == nil {
		for _, a := range db.toFlush {
			if a.pendOff == pendingBatch {
				a.pendOff = off
			}
		}
	}
	for _, a := range db.touched {
		// a failed append: the journal refuses all work from now on and
		// the archive stays in memory (never durable)
		if err == nil {
			a.lastOff, a.lastCkpt = off, ckpt
		}
	}
	clear(db.touched)
	db.touched = db.touched[:0]
	db.pickBuf = rec.picks[:0] // no references to the batch's strings
	db.mu.Unlock()
	if err != nil {
		return res, nil, err
	}
	wait := func() error {
		if off == 0 {
			return nil
		}
		if err := db.jr.syncTo(off); err != nil {
			return err
		}
		db.mu.Lock()
		err := db.flushDurable(ckpt, off)
		db.mu.Unlock()
		if err != nil {
			// the engine's state is ahead of the file now (a replay will
			// repair it): refuse further work
			db.jr.fail(err)
			return err
		}
		if off > db.opt.CheckpointBytes {
			return db.Checkpoint(ctx)
		}
		return nil
	}
	return res, wait, nil
}

// Position returns the last durable position of a source.
func (db *DB) Position(source string) []byte {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return append([]byte(nil), db.positions[source]...)
}
