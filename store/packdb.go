package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
)

// Where a series lies: a place in a pack (pack.go) or a file of its own
// under DATA/series (every series made before packs, and those written
// whole and synced by themselves: overwriting creates, imports, restores,
// tunes and renames, which a journal record cannot redo).

// openPacksFor opens the packs of a writer's data directory and settles
// the series a crash left half-way between a place and a file.
func (db *DB) openPacksFor(readOnly bool) error {
	ps, err := openPacks(db.dir, readOnly, db.opt.Logger)
	if err != nil {
		return err
	}
	db.packs = ps
	db.noFiles = dirEmpty(filepath.Join(db.dir, "series"))
	if readOnly {
		return nil
	}
	for _, name := range slices.Sorted(mapKeys(ps.moving)) {
		pl := ps.moving[name]
		if fileExists(db.pathFor(name)) {
			// the file was made whole (synced) before its place was to go
			err = ps.release(name, pl, false)
		} else {
			err = ps.unmark(name, pl)
		}
		if err != nil {
			ps.close()
			return fmt.Errorf("series %s: settling its move out of a pack: %w", name, err)
		}
	}
	return nil
}

func mapKeys[M ~map[K]V, K comparable, V any](m M) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// dirEmpty tells whether dir holds nothing (one entry read, not all: a
// directory of a million files answers at once).
func dirEmpty(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	return errors.Is(err, io.EOF)
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// openStored opens name's archive wherever it lies (callers hold mu);
// packed and pl say where it was looked for.
func (db *DB) openStored(name string) (a *archive, pl place, packed bool, err error) {
	pl, packed, moving := db.packs.lookup(name)
	if packed && moving && fileExists(db.pathFor(name)) {
		packed = false // a reader before the writer settles it: the file wins
	}
	if packed {
		a, err = db.packs.openArchive(name, pl, db.trust(), true, db.scratch())
		return a, pl, true, err
	}
	if db.noFiles {
		return nil, pl, false, &os.PathError{Op: "open", Path: db.pathFor(name), Err: os.ErrNotExist}
	}
	a, err = openArchive(db.pathFor(name), db.trust(), true, db.scratch())
	return a, pl, false, err
}

// forgetNeverDurable removes the storage of a creation that was never
// acknowledged (see errNeverDurable).
func (db *DB) forgetNeverDurable(name string, pl place, packed bool) (string, error) {
	if packed {
		return db.packs.pathOf(pl, name), db.packs.release(name, pl, false)
	}
	p := db.pathFor(name)
	return p, os.Remove(p)
}

// seriesExists tells whether name has an archive, in a pack or a file.
func (db *DB) seriesExists(name string) (bool, error) {
	if _, ok := db.series[name]; ok {
		return true, nil
	}
	if _, ok, _ := db.packs.lookup(name); ok {
		return true, nil
	}
	if db.noFiles {
		return false, nil
	}
	_, err := os.Stat(db.pathFor(name))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	}
	return false, err
}

// removeStored removes name's archive, wherever it lies (after a
// checkpoint; the caller syncs: db.packs.sync and the series directory).
func (db *DB) removeStored(name string) error {
	if pl, ok, _ := db.packs.lookup(name); ok {
		if err := db.packs.release(name, pl, false); err != nil {
			return err
		}
	}
	if err := os.Remove(db.pathFor(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// syncRemovals makes removals durable: the pack index, the series
// directory.
func (db *DB) syncRemovals() error {
	if err := db.packs.sync(); err != nil {
		return err
	}
	return syncDir(filepath.Join(db.dir, "series"))
}

// makePacked writes the archive of a series whose creation the journal
// holds (or will hold) into a pack and opens it. With replace whatever
// held the name before goes (a replay making again an archive that does
// not read); otherwise an existing series is refused.
func (db *DB) makePacked(name string, spec *Spec, meta map[string]string, args []string, replace bool) error {
	if db.packs.readOnly {
		return fmt.Errorf("creating series %s: %w", name, errReadOnly)
	}
	if replace {
		if err := db.removeStored(name); err != nil {
			return fmt.Errorf("series %s: removing the archive that does not read: %w", name, err)
		}
	} else if ok, err := db.seriesExists(name); err != nil {
		return fmt.Errorf("series %s: %w", name, err)
	} else if ok {
		return errExists
	}
	if err := db.fds.reserve(); err != nil {
		return err
	}
	stamp := slotStamp{gen: 1, seq: db.jr.ckpt + 1, boot: db.boot}
	// not mapped until read: a mapping costs an mmap now and a munmap
	// (a TLB shootdown) when it is closed, and rows written with pwrite
	// cost about what a first write to a mapped page does
	a, err := db.packs.makeArchive(name, spec, meta, initialState(spec), createOptions{version: fileVersion, stamp: stamp,
		prealloc: db.opt.Preallocate, unmapped: true, args: args})
	if err != nil {
		return fmt.Errorf("series %s: %w", name, err)
	}
	db.addArchive(a)
	return nil
}

// allNames is every series' name, sorted: the files' (a kept scan of the
// series directory) and the packs'.
func (db *DB) allNames() ([]string, error) {
	files, err := db.names.list(filepath.Join(db.dir, "series"), db.nameInFile)
	if err != nil {
		return nil, err
	}
	db.mu.Lock()
	packed := db.packs.sortedNames()
	db.mu.Unlock()
	if len(packed) == 0 {
		return files, nil
	}
	return mergeSorted(files, packed), nil
}

// packedNames is the names of the series in packs, sorted (a copy).
func (db *DB) packedNames() []string {
	db.mu.Lock()
	defer db.mu.Unlock()
	return slices.Clone(db.packs.sortedNames())
}

// newestPackedSeq is newestArchiveSeq for the archives in a data
// directory's packs.
func newestPackedSeq(dataDir string) uint64 {
	ps, err := openPacks(dataDir, true, nil)
	if err != nil {
		return 0
	}
	defer ps.close()
	var seq uint64
	scratch := make([]byte, 16<<10)
	ps.names.each(func(name []byte, pl place) {
		a, err := ps.openArchive(string(name), pl, trust{ckpt: math.MaxUint64}, true, scratch)
		if err != nil {
			return
		}
		seq = max(seq, a.newestValidSeq())
		a.close()
	})
	return seq
}

// verifyPacked checks every series in a pack into rep (verifyArchives).
func (db *DB) verifyPacked(ctx context.Context, repair bool, rep *VerifyReport) error {
	for _, name := range db.packedNames() {
		if err := ctx.Err(); err != nil {
			return err
		}
		rep.Files++
		db.mu.Lock()
		err := db.verifySeries(name, "", repair, rep)
		db.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}
