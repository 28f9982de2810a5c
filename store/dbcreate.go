package store

// Series creation and the open-archive table: journalled creation (a
// place in a pack, or a file of its own), Ensure for templates.

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
)

func (db *DB) pathFor(name string) string {
	return filepath.Join(db.dir, "series", fileNameFor(name))
}

// archive returns the open archive of name, opening it if needed. Callers hold db.mu.
func (db *DB) archive(name string) (*archive, error) {
	if a, ok := db.series[name]; ok {
		return a, nil
	}
	if err := ValidSeriesName(name); err != nil {
		return nil, err
	}
	if err := db.fds.reserve(); err != nil {
		return nil, err
	}
	// Not mapped until its rows are read (Fetch): a write-only archive
	// costs no mmap, and no munmap (a TLB shootdown) when the fd cache
	// closes it; its rows go out with one pwrite per run.
	a, pl, packed, err := db.openStored(name)
	if err == nil {
		a.bufs = &db.runBufs
		a.dmg = db.dmg
		db.fds.add(a)
	}
	if errors.Is(err, os.ErrNotExist) {
		db.lazy.take(name) // as Open's replay skipped them before
		db.indexRemove(name)
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if errors.Is(err, errNeverDurable) {
		// A creation never acknowledged (the replay has made every
		// acknowledged one again): as if it had not happened, like a torn
		// journal tail. A reader leaves the file to the next writer.
		if !db.readOnly {
			p, rerr := db.forgetNeverDurable(name, pl, packed)
			if rerr != nil {
				return nil, fmt.Errorf("%w (removing it: %v)", err, rerr)
			}
			db.logger().Warn("removed an archive whose creation was never acknowledged (its journal record was lost with a reboot)", "file", p, "series", name)
			db.lazy.take(name)
			db.indexRemove(name)
		}
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return nil, err
	}
	if a.name != name {
		a.close()
		return nil, fmt.Errorf("archive %s holds series %q, not %q", a.path, a.name, name)
	}
	if a.torn && db.skipped[1] > db.skipped[0] && db.readOnly {
		a.close()
		return nil, fmt.Errorf("%s: %w (its newest state slot is damaged; the journal is replayed into it)", a.path, ErrNeedsWriter)
	}
	db.series[name] = a
	db.indexAdd(name, len(a.spec.DS))
	if a.torn && db.skipped[1] > db.skipped[0] {
		// the newest slot may be the damaged one: replay what Open skipped
		recs, err := db.jr.recordsBetween(db.skipped[0], db.skipped[1])
		if err != nil {
			delete(db.series, name)
			a.close()
			return nil, err
		}
		for _, rec := range recs {
			db.replayOnly(rec, name)
		}
		// these records were synced by the close that skipped them
		if err := a.flushRows(false); err != nil {
			return nil, err
		}
	}
	if err := db.applyDeferred(a); err != nil {
		return nil, err
	}
	return a, nil
}

// Create makes a new series. Without overwrite an existing one is an error.
func (db *DB) Create(name string, spec Spec, overwrite bool) error {
	return db.CreateWithMeta(name, spec, nil, overwrite)
}

// CreateWithMeta is Create with metadata (units, source) kept in the file.
// It returns once the creation is durable: without overwrite through the
// journal's group commit (see EnsureAsync), with overwrite — rrdtool
// create's default — by syncing the new file and its directory.
func (db *DB) CreateWithMeta(name string, spec Spec, meta map[string]string, overwrite bool) error {
	if err := ValidSeriesName(name); err != nil {
		return err
	}
	if err := spec.Validate(); err != nil {
		return fmt.Errorf("series %s: %w", name, err)
	}
	db.mu.Lock()
	if overwrite {
		// rrdtool create's way (the CLI, rrdcached's CREATE): replace
		// whatever is there, durable by itself
		defer db.mu.Unlock()
		spec = cloneSpec(spec)
		spec.AssignSmoothIdx(name + ".rrd")
		return db.createLocked(name, spec, meta, true, initialState(&spec), nil)
	}
	wait, err := db.createJournaled(name, spec, meta)
	db.mu.Unlock()
	if err != nil {
		return err
	}
	return wait()
}

// createLocked makes a series durable by itself: the file is synced
// before its rename and the directory after it. It serves what the journal
// does not redo from a creation record — an overwrite (which checkpoints
// first when a series exists, so no journaled update of the old series
// reaches the new one) and an import (rows and state of its own).
func (db *DB) createLocked(name string, spec Spec, meta map[string]string, overwrite bool, st *state, rows [][]float64) error {
	if db.readOnly {
		return fmt.Errorf("creating series %s: %w", name, errReadOnly)
	}
	p := db.pathFor(name)
	pl, packed, _ := db.packs.lookup(name)
	if packed || fileExists(p) {
		if !overwrite {
			return fmt.Errorf("series %s already exists", name)
		}
		// Journaled updates of the old series must not be replayed into
		// the new one: cut the journal first.
		if err := db.checkpointLocked(); err != nil {
			return err
		}
	}
	if err := db.dropArchive(name); err != nil {
		return err
	}
	spec = cloneSpec(spec)
	if err := db.fds.reserve(); err != nil {
		return err
	}
	if packed {
		// a file of its own replaces the place: after a crash the file
		// wins once it is there whole
		if err := db.packs.markMoving(name, pl); err != nil {
			return fmt.Errorf("series %s: %w", name, err)
		}
	}
	db.noFiles = false
	a, err := makeArchive(p, name, &spec, meta, st, rows, createOptions{version: fileVersion, stamp: slotStamp{gen: 1},
		sync: true, prealloc: db.opt.Preallocate, unmapped: db.opt.OneShot})
	if err != nil {
		if packed {
			if uerr := db.packs.unmark(name, pl); uerr != nil {
				err = fmt.Errorf("%w (and: %v)", err, uerr)
			}
		}
		return fmt.Errorf("series %s: %w", name, err)
	}
	db.addArchive(a)
	if err := syncDir(filepath.Dir(p)); err != nil {
		return err
	}
	if packed {
		return db.packs.release(name, pl, false)
	}
	return nil
}

// dropArchive forgets the open archive of name (it is being replaced).
func (db *DB) dropArchive(name string) error {
	old, ok := db.series[name]
	if !ok {
		return nil
	}
	if len(old.pend) > 0 {
		return fmt.Errorf("series %s: rows still waiting for the journal", name)
	}
	db.toFlush = slices.DeleteFunc(db.toFlush, func(a *archive) bool { return a == old })
	old.close()
	delete(db.series, name)
	return nil
}

func (db *DB) addArchive(a *archive) {
	// a new file: updates journaled for a series whose file was missing
	// are skipped, as Open's replay skipped them before
	db.lazy.take(a.name)
	a.bufs = &db.runBufs
	a.dmg = db.dmg
	db.fds.add(a)
	db.series[a.name] = a
	db.indexAdd(a.name, len(a.spec.DS))
}

// createJournaled makes a new series the way updates are made durable: the
// file is written to the page cache only (sparse, its first state stamped
// for the next checkpoint) and a creation record is appended to the
// journal; wait returns once that record is durable, sharing the fsync
// with every creation and update of the same group commit. A replay
// makes the file again if a crash lost it (replayCreate), so neither the
// file nor the directory is synced before the next checkpoint's syncfs.
// Callers hold mu and validated name and spec.
func (db *DB) createJournaled(name string, spec Spec, meta map[string]string) (func() error, error) {
	if db.readOnly {
		return nil, fmt.Errorf("creating series %s: %w", name, errReadOnly)
	}
	if db.closed {
		return nil, ErrClosed
	}
	if _, ok := db.series[name]; ok {
		return nil, fmt.Errorf("series %s already exists", name)
	}
	spec = cloneSpec(spec)
	spec.AssignSmoothIdx(name + ".rrd")
	meta = maps.Clone(meta)
	args := specArgs(&spec)
	if err := db.makePacked(name, &spec, meta, args, false); errors.Is(err, errExists) {
		return nil, fmt.Errorf("series %s already exists", name)
	} else if err != nil {
		return nil, err
	}
	c := journalCreate{name: name, step: spec.Step, start: spec.Start, args: args, meta: meta}
	off, err := db.jr.append(&journalRecord{creates: []journalCreate{c}})
	if err != nil {
		db.dropArchive(name)
		db.removeStored(name)
		return nil, fmt.Errorf("series %s: %w", name, err)
	}
	a := db.series[name]
	a.createdOff, a.createdCkpt = off, db.jr.ckpt
	a.lastOff, a.lastCkpt = off, db.jr.ckpt
	return func() error { return db.jr.syncTo(off) }, nil
}

// specArgs is a definition as create's arguments (DS then RRA).
func specArgs(spec *Spec) []string {
	args := make([]string, 0, len(spec.DS)+len(spec.RRA))
	for _, ds := range spec.DS {
		args = append(args, ds.String())
	}
	for _, r := range spec.RRA {
		args = append(args, r.String())
	}
	return args
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Ensure creates name from spec unless it exists.
func (db *DB) Ensure(name string, spec Spec) (bool, error) {
	return db.EnsureWithMeta(name, spec, nil)
}

// EnsureWithMeta is Ensure with metadata for a new series. It returns once
// the series is durable.
func (db *DB) EnsureWithMeta(name string, spec Spec, meta map[string]string) (bool, error) {
	created, wait, err := db.EnsureAsync(name, spec, meta)
	if err != nil {
		return false, err
	}
	return created, wait()
}

// EnsureAsync is EnsureWithMeta that returns before the creation is
// durable: wait returns once it is. Creations (and updates) whose waits
// overlap share one journal fsync, so a writer that creates many series
// calls EnsureAsync for each and waits once, for the last (records are
// durable in order). An update of a new series applied after EnsureAsync
// returned is journaled after its creation, so its own durability covers
// the creation too. For a series that exists, wait covers a creation not
// yet durable.
func (db *DB) EnsureAsync(name string, spec Spec, meta map[string]string) (created bool, wait func() error, err error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return false, nil, ErrClosed
	}
	if a, err := db.archive(name); err == nil {
		if off := a.createdOff; off > 0 && a.createdCkpt == db.jr.ckpt {
			return false, func() error { return db.jr.syncTo(off) }, nil
		}
		return false, noWait, nil
	} else if !errors.Is(err, ErrNotFound) {
		return false, nil, err
	}
	spec, meta, err = db.opt.Retention.Apply(name, spec, meta)
	if err != nil {
		return false, nil, err
	}
	if err := spec.Validate(); err != nil {
		return false, nil, fmt.Errorf("series %s: %w", name, err)
	}
	wait, err = db.createJournaled(name, spec, meta)
	if err != nil {
		return false, nil, err
	}
	return true, wait, nil
}

func noWait() error { return nil }
