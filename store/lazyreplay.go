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

// lazyReplay holds the deferred updates (under db.mu): one array of
// them in journal order, chained per series, and one map entry per
// series — a million deferred updates cost one map insertion each, in a
// map sized once (Open knows how many updates the journal holds).
type lazyReplay struct {
	idx  map[string]int32 // series → its entry in ser
	ser  []lazySeries     // in the order the journal first names them
	ups  []lazyUpdate     // every deferred update, in journal order
	left int              // series whose updates wait
	next int              // ser[:next] is done
	// touched: the series the record being replayed deferred updates of
	touched []int32
}

type lazySeries struct {
	name       string
	head, tail int32 // its first and last update in ups; head < 0: none waits
}

type lazyUpdate struct {
	Update
	next int32 // the series' next deferred update in ups (-1: none)
	// end: an update call ends here (Holt-Winters smoothing runs at the
	// end of a call): the series' last update in a journal record
	end bool
}

// maxLazyHint bounds the map size reserved up front (a journal of many
// updates of few series would reserve for nothing).
const maxLazyHint = 1 << 20

// reserve sizes the arrays and the map for n deferred updates.
func (l *lazyReplay) reserve(n int) {
	l.ups = make([]lazyUpdate, 0, n)
	l.idx = make(map[string]int32, min(n, maxLazyHint))
	l.ser = make([]lazySeries, 0, min(n, maxLazyHint))
}

// add keeps u for its series and returns the series' entry.
func (l *lazyReplay) add(u Update) int32 {
	if l.idx == nil {
		l.idx = map[string]int32{}
	}
	k := int32(len(l.ups))
	l.ups = append(l.ups, lazyUpdate{Update: u, next: -1})
	i, ok := l.idx[u.Series]
	if !ok {
		i = int32(len(l.ser))
		l.idx[u.Series] = i
		l.ser = append(l.ser, lazySeries{name: u.Series, head: -1})
	}
	s := &l.ser[i]
	if s.head < 0 {
		s.head = k
		l.left++
	} else {
		l.ups[s.tail].next = k
	}
	s.tail = k
	return i
}

// take removes the deferred updates of name and returns the first of
// their chain in ups (-1 and false: none).
func (l *lazyReplay) take(name string) (int32, bool) {
	i, ok := l.idx[name]
	if !ok || l.ser[i].head < 0 {
		return -1, false
	}
	k := l.ser[i].head
	l.ser[i].head = -1
	l.left--
	return k, true
}

func (l *lazyReplay) pending() int { return l.left }

// replayAllDeferring is Open's replay of the journal's records (see
// replayDeferring).
func (db *DB) replayAllDeferring(recs []journalRecord) {
	n := 0
	for _, rec := range recs {
		n += len(rec.updates)
	}
	db.lazy.reserve(n)
	for _, rec := range recs {
		db.replayDeferring(rec)
	}
	if db.lazy.left == 0 {
		db.lazy = lazyReplay{}
	}
}

// replayDeferring is Open's replay of one record: creations at once (a
// later update needs the file), updates of archives in memory at once,
// the others deferred. Updates of an archive stay in journal order: one
// with deferred updates is not in memory (opening it applies them).
func (db *DB) replayDeferring(rec journalRecord) {
	for _, c := range rec.creates {
		db.replayCreate(c)
	}
	var hw []*archive
	l := &db.lazy
	l.touched = l.touched[:0]
	for _, u := range rec.updates {
		if len(db.series) > 0 { // none after most crashes: no lookup
			if a, ok := db.series[u.Series]; ok {
				db.replayUpdate(a, u.Update)
				if a.st.hw != nil {
					hw = append(hw, a)
				}
				continue
			}
		}
		l.touched = append(l.touched, l.add(u.Update))
	}
	for _, a := range hw {
		db.endCall(a)
	}
	// the record's call ends for every series it deferred
	for _, i := range l.touched {
		l.ups[l.ser[i].tail].end = true
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
	k, ok := db.lazy.take(a.name)
	if !ok {
		return nil
	}
	for ups := db.lazy.ups; k >= 0; k = ups[k].next {
		db.replayUpdate(a, ups[k].Update)
		if ups[k].end {
			db.endCall(a)
		}
		ups[k].Update = Update{} // its values are garbage now
	}
	// the rows of a replay are written with pwrite (an archive not mapped
	// by a read is never mapped to write rows: rowwait.go)
	err := a.flushRows(false)
	if err != nil {
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
	for done := 0; l.next < len(l.ser) && (limit < 0 || done < limit); l.next++ {
		name := l.ser[l.next].name
		if l.ser[l.next].head < 0 {
			continue // opened meanwhile
		}
		done++
		if _, err := db.archive(name); err != nil {
			if k, ok := l.take(name); ok {
				n := 0
				for ; k >= 0; k = l.ups[k].next {
					l.ups[k].Update = Update{}
					n++
				}
				db.logger().Warn("journal replay: updates of a series that does not open are skipped", "series", name, "updates", n, "err", err)
			}
		}
	}
	if l.next == len(l.ser) {
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
