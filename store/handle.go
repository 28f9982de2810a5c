package store

import (
	"context"
	"fmt"
)

// Handle is a writer's handle on one series: ApplyHandles finds the
// series' archive through it instead of by name in the DB's map of series
// (a hash of the name and a map probe out of cache per point when a
// time-major stream turns over thousands of series). A writer keeps one
// per series it writes (push.Writer: per series state). The zero Handle is
// valid; the store fills it in at first use and looks the name up again
// whenever the archive it holds has left memory (evicted, deleted,
// dropped after a checkpoint) or holds another name. A Handle must not be
// copied once used, nor shared between DBs.
type Handle struct {
	a *archive
}

// archiveFor is db.archive(name) through h (nil: by name). Callers hold
// db.mu.
func (db *DB) archiveFor(h *Handle, name string) (*archive, error) {
	if h == nil {
		return db.archive(name)
	}
	if a := h.a; a != nil && !a.gone && a.name == name {
		if checkHandles && db.series[name] != a {
			// a path took an archive out of memory without close or
			// marking it gone: the handle would write into a dead copy
			return nil, fmt.Errorf("store: the handle of %s holds an archive no longer in memory", name)
		}
		return a, nil
	}
	a, err := db.archive(name)
	if err == nil {
		h.a = a
	}
	return a, err
}

// ApplyHandles is Apply with a handle for each update (hs[i] for
// b.Updates[i]; a nil hs or entry: by name). A handle's series is
// still the update's Series: the handle only saves finding it.
func (db *DB) ApplyHandles(ctx context.Context, b Batch, hs []*Handle) (Result, error) {
	if hs != nil && len(hs) != len(b.Updates) {
		return Result{}, fmt.Errorf("store: %d handles for %d updates", len(hs), len(b.Updates))
	}
	res, wait, err := db.applyAsync(ctx, b, hs)
	if err != nil {
		return res, err
	}
	return res, wait()
}
