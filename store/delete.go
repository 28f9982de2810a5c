package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// Deleting and renaming series.
//
// Both start with a checkpoint: every journaled update is then in the
// archives and the journal holds none, so no replay can ever apply an
// update of the old name to a later series of that name (the rule
// createLocked follows when it overwrites). The archive files change by
// unlink and rename, each followed by an fsync of the directory.
//
// A rename writes a copy of the archive under the new name (the name is in
// the file's definition), so it takes more than one directory operation.
// It is made atomic by an intent file, DATA/rename.pending ({"old","new"}),
// durable before the new file appears and removed after the old one is
// gone. Open finds it after a crash and finishes the rename when the new
// file is complete (it appears only whole: written under a temporary
// name, synced and renamed), or undoes it otherwise; a reader leaves that
// to a writer.

const renameIntent = "rename.pending"

type renameRecord struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// Delete removes series for good: their archives and their place in
// every listing and tag query. An unknown name is an error and nothing is
// deleted.
func (db *DB) Delete(names ...string) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.readOnly {
		return fmt.Errorf("deleting series: %w", errReadOnly)
	}
	for _, n := range names {
		if _, err := db.archive(n); err != nil {
			return fmt.Errorf("deleting series %s: %w", n, err)
		}
	}
	if err := db.checkpointLocked(); err != nil {
		return fmt.Errorf("deleting series: checkpoint: %w", err)
	}
	for _, n := range names {
		if err := db.dropLocked(n); err != nil {
			return fmt.Errorf("deleting series %s: %w", n, err)
		}
	}
	return db.syncRemovals()
}

// dropLocked closes and unlinks a series' archive (after a checkpoint:
// nothing of it waits for the journal).
func (db *DB) dropLocked(name string) error {
	if a, ok := db.series[name]; ok {
		if len(a.pend) > 0 {
			return errors.New("rows still waiting for the journal")
		}
		db.toFlush = slices.DeleteFunc(db.toFlush, func(x *archive) bool { return x == a })
		a.close()
		delete(db.series, name)
	}
	if err := db.removeStored(name); err != nil {
		return err
	}
	db.indexRemove(name)
	return nil
}

// Rename gives series old the name new (which must not exist), with its
// definition, metadata, state and rows. A crash leaves either old or new,
// never both or neither.
func (db *DB) Rename(old, new string) error {
	if err := ValidSeriesName(new); err != nil {
		return err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.readOnly {
		return fmt.Errorf("renaming series %s: %w", old, errReadOnly)
	}
	if old == new {
		return fmt.Errorf("renaming series %s: the new name is the old one", old)
	}
	a, err := db.archive(old)
	if err != nil {
		return fmt.Errorf("renaming series %s: %w", old, err)
	}
	if ok, err := db.seriesExists(new); err != nil {
		return fmt.Errorf("renaming series %s: %w", old, err)
	} else if ok {
		return fmt.Errorf("renaming series %s: series %s already exists", old, new)
	}
	if err := db.checkpointLocked(); err != nil {
		return fmt.Errorf("renaming series %s: checkpoint: %w", old, err)
	}
	if err := a.mapRows(); err != nil {
		return fmt.Errorf("renaming series %s: %w", old, err)
	}
	rows := make([][]float64, len(a.rings))
	for i := range a.rings {
		rows[i] = a.decodedRing(i)
	}
	intent, err := json.Marshal(renameRecord{Old: old, New: new})
	if err != nil {
		return err
	}
	ip := filepath.Join(db.dir, renameIntent)
	if err := writeFileSync(ip, intent); err != nil {
		return fmt.Errorf("renaming series %s: intent: %w", old, err)
	}
	if err := syncDir(db.dir); err != nil {
		return err
	}
	spec := cloneSpec(a.spec)
	st := cloneState(a.st)
	db.noFiles = false
	if err := createArchiveVersion(db.pathFor(new), new, &spec, a.meta, st, rows, fileVersion); err != nil {
		// undo: the intent names a new file that is not there
		if rerr := db.finishRename(); rerr != nil {
			return fmt.Errorf("renaming series %s: %w (undoing: %v)", old, err, rerr)
		}
		return fmt.Errorf("renaming series %s: %w", old, err)
	}
	if err := syncDir(filepath.Join(db.dir, "series")); err != nil {
		return err
	}
	db.indexAdd(new, len(spec.DS))
	return db.finishRename()
}

// finishRename completes or undoes the rename DATA/rename.pending names
// (callers hold mu, or are Open): a complete new file means done, so the
// old one goes; otherwise a leftover temporary file goes. It removes the
// intent last.
func (db *DB) finishRename() error {
	ip := filepath.Join(db.dir, renameIntent)
	b, err := os.ReadFile(ip)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("rename intent %s: %w", ip, err)
	}
	var r renameRecord
	if err := json.Unmarshal(b, &r); err != nil || ValidSeriesName(r.Old) != nil || ValidSeriesName(r.New) != nil {
		// written whole and synced before anything else: damage is not a crash
		return fmt.Errorf("rename intent %s: unreadable (%q): remove it once series are checked by hand", ip, b)
	}
	np := db.pathFor(r.New)
	if _, err := os.Stat(np); err == nil {
		if err := db.dropLocked(r.Old); err != nil {
			return fmt.Errorf("finishing the rename of %s to %s: %w", r.Old, r.New, err)
		}
	} else if errors.Is(err, os.ErrNotExist) {
		if err := os.Remove(np + ".tmp"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("undoing the rename of %s to %s: %w", r.Old, r.New, err)
		}
	} else {
		return fmt.Errorf("rename intent of %s to %s: %w", r.Old, r.New, err)
	}
	if err := db.syncRemovals(); err != nil {
		return err
	}
	if err := os.Remove(ip); err != nil {
		return fmt.Errorf("rename intent %s: %w", ip, err)
	}
	return syncDir(db.dir)
}

// renamePending tells a reader that a writer must finish a rename first.
func renamePending(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, renameIntent))
	return err == nil
}
