package store

import (
	"context"
	"runtime"
)

// Open's replay defers the journaled updates of archives that are not in
// memory (docs/STORE.md, "Recovery"): opening each archive the journal
// names costs an open, a read of its head, row and slot writes and a
// close — about a minute for a journal touching a million series. Open
// instead keeps those updates per series and returns; an archive's
// updates are applied when it is first opened (DB.archive), by
// ReplayDeferred (a server runs it in the background), and at the latest by a checkpoint or Close, which must
// find every journaled update in the archives before they drop the
// journal or write its close marker.
//
// The journal is synced before the replay starts, so rows replayed later
// are written as Open's replay writes them (unchecked: their blocks'
// checksums may rightly be stale).

// lazyReplay holds the deferred updates (under db.mu).
type lazyReplay struct {
	ups map[string][]Update
	// ends holds, per series, how many of its deferred updates there
	// were at the end of each journal record naming it: an update call
	// ends there (Holt-Winters smoothing runs at the end of a call)
	ends  map[string][]int32
	order []string // series in the order the journal first names them
	next  int      // order[:next] is done
}

// defer keeps u for its series.
func (l *lazyReplay) add(u Update) {
	if l.ups == nil {
		l.ups = map[string][]Update{}
	}
	q, ok := l.ups[u.Series]
	if !ok {
		l.order = append(l.order, u.Series)
	}
	l.ups[u.Series] = append(q, u)
}

// endCall notes that the deferred updates of name so far end a call.
func (l *lazyReplay) endCall(name string) {
	if l.ends == nil {
		l.ends = map[string][]int32{}
	}
	n := int32(len(l.ups[name]))
	if e := l.ends[name]; len(e) == 0 || e[len(e)-1] != n {
		l.ends[name] = append(e, n)
	}
}

// take removes and returns the deferred updates of name and where their
// calls end.
func (l *lazyReplay) take(name string) ([]Update, []int32, bool) {
	q, ok := l.ups[name]
	ends := l.ends[name]
	if ok {
		delete(l.ups, name)
		delete(l.ends, name)
	}
	return q, ends, ok
}

func (l *lazyReplay) pending() int { return len(l.ups) }

// replayDeferring is Open's replay of one record: creations at once (a
// later update needs the file), updates of archives in memory at once,
// the others deferred. Updates of an archive stay in journal order: one
// with deferred updates is not in memory (opening it applies them).
func (db *DB) replayDeferring(rec journalRecord) {
	for _, c := range rec.creates {
		db.replayCreate(c)
	}
	var hw []*archive
	deferred := false
	for _, u := range rec.updates {
		if a, ok := db.series[u.Series]; ok {
			db.replayUpdate(a, u.Update)
			if a.st.hw != nil {
				hw = append(hw, a)
			}
			continue
		}
		db.lazy.add(u.Update)
		deferred = true
	}
	for _, a := range hw {
		db.endCall(a)
	}
	if deferred {
		// the record's call ends for every series it deferred (noted
		// once per series: endCall ignores a repeat)
		for _, u := range rec.updates {
			if _, ok := db.series[u.Series]; !ok {
				db.lazy.endCall(u.Series)
			}
		}
	}
	for k, v := range rec.positions {
		db.positions[k] = v
		db.posDirty = true
	}
}

// applyDeferred applies a just opened archive's deferred updates and
// writes their rows (callers hold db.mu; the journal holding them was
// synced by Open).
func (db *DB) applyDeferred(a *archive) error {
	q, ends, ok := db.lazy.take(a.name)
	if !ok {
		return nil
	}
	for i, u := range q {
		db.replayUpdate(a, u)
		if len(ends) > 0 && int(ends[0]) == i+1 {
			ends = ends[1:]
			db.endCall(a)
		}
	}
	if err := a.flushRows(false); err != nil {
		db.jr.fail(err)
		return err
	}
	return nil
}

// replayPending applies the deferred updates of up to limit series (all
// when limit < 0) and returns how many series still wait (callers hold
// db.mu). A series that cannot be opened loses its deferred updates, as
// Open's replay skipped them before it deferred any (deleted, or
// unreadable: reported on use).
func (db *DB) replayPending(limit int) int {
	l := &db.lazy
	for done := 0; l.next < len(l.order) && (limit < 0 || done < limit); l.next++ {
		name := l.order[l.next]
		if _, ok := l.ups[name]; !ok {
			continue // opened meanwhile
		}
		done++
		if _, err := db.archive(name); err != nil {
			if q, _, ok := l.take(name); ok {
				db.logger().Warn("journal replay: updates of a series that does not open are skipped", "series", name, "updates", len(q), "err", err)
			}
		}
	}
	if l.next == len(l.order) {
		*l = lazyReplay{}
	}
	return l.pending()
}

// ReplayDeferred applies the updates Open deferred, a few series at a
// time, so writers and readers wait for the lock no longer than a few
// archive opens; a server runs it in the background after Open. It
// returns when none is left, ctx is done or the DB is closed (Close
// applies the rest). Without it, each series' deferred updates are
// applied on its first use, or by the next checkpoint or Close.
func (db *DB) ReplayDeferred(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		db.mu.Lock()
		if db.closed {
			db.mu.Unlock()
			return ErrClosed
		}
		left := db.replayPending(64)
		db.mu.Unlock()
		if left == 0 {
			return nil
		}
		runtime.Gosched()
	}
}

// DeferredReplay reports how many series still have journaled updates
// that Open deferred (see replayPending).
func (db *DB) DeferredReplay() int {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.lazy.pending()
}
