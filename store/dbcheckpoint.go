package store

// Checkpoints: every archive made durable, the journal emptied, the
// sources' positions recorded.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// Checkpoint makes every archive durable and empties the journal.
func (db *DB) Checkpoint(ctx context.Context) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.readOnly {
		return errReadOnly
	}
	return db.checkpointLocked()
}

func (db *DB) checkpointLocked() error {
	if db.opt.Observer == nil {
		_, err := db.checkpointFlush()
		return err
	}
	t0 := time.Now()
	n, err := db.checkpointFlush()
	if err == nil {
		db.opt.Observer.Checkpointed(time.Since(t0), n)
	}
	return err
}

// checkpointFlush is the checkpoint; it returns how many archives it
// flushed. Slots are written for sequence ckpt+1, then syncfs makes them,
// every row and every earlier slot durable, and only then does the journal
// record the sequence and drop its records.
func (db *DB) checkpointFlush() (int, error) {
	// the journal's records leave it: every deferred update first
	db.replayPending(-1)
	if !db.jr.replace && db.jr.written == db.jr.start && !db.posDirty && !db.anyDirty() {
		return 0, nil // an empty journal: the last checkpoint synced everything
	}
	seq := db.jr.ckpt + 1
	// Records go to disk first: a slot must never hold updates the
	// journal could lose, and a row must never reach an archive before
	// the record a replay rewrites it from (its block checksum).
	if err := db.jr.syncAll(); err != nil {
		return 0, err
	}
	n := 0
	for _, a := range db.series {
		if a.dirty {
			if err := a.writeSlot(seq, db.jr.ckpt, db.boot); err != nil {
				return n, err
			}
			n++
		}
	}
	if db.posDirty {
		b, _ := json.Marshal(db.positions)
		tmp := db.positionsPath() + ".tmp"
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			return n, err
		}
		if err := os.Rename(tmp, db.positionsPath()); err != nil {
			return n, err
		}
	}
	// syncfs, not an fsync per archive: slots written by earlier
	// processes of this boot without a checkpoint become durable with
	// this sequence too, and this process may not have them open.
	if err := syncFS(db.lock); err != nil {
		return n, fmt.Errorf("data directory %s: syncfs: %w", db.dir, err)
	}
	if err := db.jr.checkpointed(seq); err != nil {
		return n, err
	}
	db.posDirty = false
	db.dropClosed()
	if err := db.packs.compact(); err != nil {
		// the old index stands whole: nothing is lost, it is only longer
		db.logger().Warn("pack index not compacted", "err", err)
	}
	return n, nil
}

func writeFileSync(p string, b []byte) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (db *DB) anyDirty() bool {
	for _, a := range db.series {
		if a.dirty {
			return true
		}
	}
	return false
}
