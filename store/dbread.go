package store

// The read path: waiting rows written before a read, fetch, definitions,
// listing.

import (
	"fmt"
	"path"
	"slices"
)

// flushArchive writes a's waiting rows before they are read, syncing the
// journal for them if needed (callers hold db.mu).
func (db *DB) flushArchive(a *archive) error {
	if len(a.pend) == 0 {
		return nil
	}
	if a.pendOff > 0 {
		if err := db.jr.syncTo(a.pendOff); err != nil {
			return err
		}
	}
	if err := a.flushRows(true); err != nil {
		db.jr.fail(err)
		return err
	}
	return nil
}

// readableArchive returns name's archive with its rows written and mapped,
// ready to be read (callers hold db.mu).
func (db *DB) readableArchive(name string) (*archive, error) {
	a, err := db.archive(name)
	if err != nil {
		return nil, err
	}
	if err := db.flushArchive(a); err != nil {
		return nil, err
	}
	if err := a.mapRows(); err != nil {
		return nil, err
	}
	return a, nil
}

// Fetch answers like rrdtool fetch.
func (db *DB) Fetch(name string, req FetchRequest) (*FetchResult, error) {
	db.mu.Lock() // archive() may open files
	defer db.mu.Unlock()
	a, err := db.readableArchive(name)
	if err != nil {
		return nil, err
	}
	return fetch(&a.spec, a.st, a, req)
}

// Spec returns the definition of a series.
func (db *DB) Spec(name string) (Spec, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	a, err := db.archive(name)
	if err != nil {
		return Spec{}, err
	}
	return cloneSpec(a.spec), nil
}

// Meta returns a series' metadata.
func (db *DB) Meta(name string) (map[string]string, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	a, err := db.archive(name)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for k, v := range a.meta {
		m[k] = v
	}
	return m, nil
}

// LastUpdate returns the time of a series' last update.
func (db *DB) LastUpdate(name string) (int64, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	a, err := db.archive(name)
	if err != nil {
		return 0, err
	}
	return a.st.lastUp, nil
}

// List returns series names matching a glob (path.Match syntax; empty: all), sorted.
func (db *DB) List(pattern string) ([]string, error) {
	if pattern != "" {
		if _, err := path.Match(pattern, ""); err != nil {
			return nil, fmt.Errorf("pattern %q: %w", pattern, err)
		}
	}
	all, err := db.allNames()
	if err != nil {
		return nil, err
	}
	if pattern == "" {
		return slices.Clone(all), nil
	}
	var names []string
	for _, name := range all {
		if ok, _ := path.Match(pattern, name); ok {
			names = append(names, name)
		}
	}
	return names, nil
}

// nameInFile reads the name a hashed file name stands for ("" when the
// file does not read).
func (db *DB) nameInFile(p string) string {
	db.mu.Lock()
	defer db.mu.Unlock()
	a, err := openArchive(p, db.trust(), true, db.scratch())
	if err != nil {
		return ""
	}
	a.close()
	return a.name
}
