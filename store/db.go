package store

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Options tune a DB.
type Options struct {
	// CheckpointBytes triggers a checkpoint once the journal grows past it
	// (default 64 MiB).
	CheckpointBytes int64
	// OneShot is for a short-lived process (the CLI) that touches each
	// archive briefly and exits right after Close. Archives are not mapped
	// until their rows are read; rows are written with one pwrite per run
	// of rows at the end of each batch (a first write to a mapped page
	// faults, ~11 µs each in a VM). Close leaves mappings to exit, where
	// one munmap per archive costs a TLB shootdown each.
	OneShot bool
	// Observer, when set, is told about fsyncs, checkpoints and applied
	// updates (for metrics). Nil costs nothing: no clock is read.
	Observer Observer
	// Logger receives what the store repairs on its own (a torn journal
	// tail it cuts) and warnings about damaged archive rows; nil:
	// slog.Default().
	Logger *slog.Logger
	// BootID overrides the machine's boot id (tests simulate a reboot
	// with it); empty reads /proc/sys/kernel/random/boot_id.
	BootID string
	// ReadOnly opens the directory for reading under a shared lock: any
	// number of readers, never beside a writer. A reader writes nothing;
	// one that finds journal records the archives lack (the last writer
	// died before its close) takes the exclusive lock and replays them
	// first, as a writer (see docs/STORE.md, "Readers").
	ReadOnly bool
	// NoReplay, with ReadOnly, makes such a reader return ErrNeedsReplay
	// instead of replaying: a check that must change nothing.
	NoReplay bool
	// Retention rules lay out series created on first sight
	// (EnsureWithMeta); nil keeps every caller's template.
	Retention *Retention
}

// Observer receives the store's own measurements. Its methods are called
// on the write path and must be quick and safe for concurrent use.
type Observer interface {
	// JournalSynced reports one journal fsync and how long it took.
	JournalSynced(d time.Duration)
	// Checkpointed reports one checkpoint: its duration and how many
	// archives it flushed.
	Checkpointed(d time.Duration, archives int)
	// Applied reports the updates of one batch: applied and refused.
	Applied(applied, refused int)
}

// ErrNotFound is returned for series that don't exist.
var ErrNotFound = errors.New("series not found")

// ErrNeedsWriter is returned by a read-only DB that found an archive it
// cannot read without writing to it (a damaged newest state slot, repaired
// by replaying the journal): open the directory as a writer and retry.
var ErrNeedsWriter = errors.New("the archive must be repaired by a writer")

// errReadOnly refuses writes to a DB opened with Options.ReadOnly.
var errReadOnly = errors.New("store opened read-only")

// DB is a data directory: archive files, the journal and source positions.
// It is safe for concurrent use; one process holds a directory at a time.
type DB struct {
	dir  string
	opt  Options
	lock *os.File

	boot bootID
	// skipped is the journal range Open did not replay because the close
	// marker said the archives' slots hold it; an archive found with a
	// damaged slot replays it.
	skipped [2]int64

	mu        sync.RWMutex
	series    map[string]*archive
	positions map[string][]byte
	posDirty  bool // positions changed since positions.json was written
	jr        *journal
	toFlush   []*archive // unmapped archives with rows to write
	readBuf   []byte     // reused to read archive heads (under mu)
	runBufs   [][]byte   // free row-run buffers of unmapped archives (under mu)
	recBuf    []journalUpdate
	closed    bool
	readOnly  bool // a reader's shared lock: nothing is written

	dmg *damageLog // damaged row blocks found so far
}

// Open locks dir (creating it if needed), replays the journal and returns
// the DB. A second process gets an error naming the holder.
func Open(dir string, opt Options) (*DB, error) {
	if opt.CheckpointBytes <= 0 {
		opt.CheckpointBytes = 64 << 20
	}
	boot, err := readBootID(opt.BootID)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "series"), 0o755); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", dir, err)
	}
	if opt.ReadOnly {
		db, err := openReader(dir, opt, boot)
		if !errors.Is(err, errNeedsReplay) || opt.NoReplay {
			return db, err
		}
		// The journal holds records the archives lack: replay them under
		// the exclusive lock, and read as that writer.
		opt.ReadOnly = false
	}
	lock, err := lockDir(dir, false)
	if err != nil {
		return nil, err
	}
	db := &DB{dir: dir, opt: opt, lock: lock, boot: boot, series: map[string]*archive{}, positions: map[string][]byte{},
		dmg: newDamageLog(opt.Logger)}
	jr, err := openJournal(filepath.Join(dir, "journal.wal"))
	if err != nil {
		lock.Close()
		return nil, err
	}
	db.jr = jr
	jr.obs = opt.Observer
	jr.log = opt.Logger
	if jr.log == nil {
		jr.log = slog.Default()
	}
	if err := db.finishRename(); err != nil {
		jr.close()
		lock.Close()
		return nil, err
	}
	from, clean := jr.replayFrom(boot)
	db.skipped = [2]int64{jr.start, from}
	if err := db.loadPositions(clean); err != nil {
		jr.close()
		lock.Close()
		return nil, err
	}
	recs, err := jr.records(from)
	if err != nil {
		jr.close()
		lock.Close()
		return nil, err
	}
	for _, rec := range recs {
		db.replay(rec, nil)
	}
	if len(recs) > 0 {
		// The records may be in the page cache only (a process of this
		// boot was killed before their fsync): rows reach the archives
		// only after the records that rewrite them are durable.
		if err := jr.syncFile(); err != nil {
			db.Close()
			return nil, err
		}
	}
	if err := db.flushQueued(false); err != nil {
		db.Close()
		return nil, err
	}
	if jr.replace {
		// rewrite the journal with a head (and the archives' slots)
		if err := db.Checkpoint(context.Background()); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

// readBootID reads the kernel's id of this boot: state written without
// fsync is trusted only within the boot that wrote it.
func readBootID(override string) (bootID, error) {
	s := override
	if s == "" {
		b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
		if err != nil {
			return bootID{}, fmt.Errorf("reading the boot id: %w", err)
		}
		s = string(b)
	}
	// the kernel's id is a UUID: its 16 bytes; anything else (a test's
	// override) is hashed to 16
	var id bootID
	if h, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(s), "-", "")); err == nil && len(h) == len(id) {
		copy(id[:], h)
		return id, nil
	}
	sum := fnv.New128a()
	sum.Write([]byte(s))
	copy(id[:], sum.Sum(nil))
	return id, nil
}

// scratch is the buffer archive heads are read into (callers hold mu): a
// fresh one per archive would fault in new heap pages.
func (db *DB) scratch() []byte {
	if db.readBuf == nil {
		db.readBuf = make([]byte, headRead)
	}
	return db.readBuf
}

// errNeedsReplay tells Open that a reader found work for a writer.
var errNeedsReplay = ErrNeedsReplay

// ErrNeedsReplay is returned by Open with ReadOnly and NoReplay when the
// journal holds records the archives lack (the last writer did not close).
var ErrNeedsReplay = errors.New("the journal holds records the archives lack (the last writer did not close); a writer replays them")

// openReader opens dir under a shared lock when its archives' state slots
// hold everything journaled: the last writer closed (its close marker, in
// this boot, covers the whole journal) or the journal has no records since
// its last checkpoint. Otherwise it returns errNeedsReplay.
func openReader(dir string, opt Options, boot bootID) (*DB, error) {
	lock, err := lockDir(dir, true)
	if err != nil {
		return nil, err
	}
	jp := filepath.Join(dir, "journal.wal")
	if fi, err := os.Stat(jp); err != nil || fi.Size() == 0 || renamePending(dir) {
		// a new directory: its first writer makes the journal; or a
		// rename a writer must finish
		lock.Close()
		return nil, errNeedsReplay
	}
	jr, err := openJournal(jp)
	if err != nil {
		lock.Close()
		return nil, err
	}
	// No writer runs beside a shared lock, so the journal cannot grow
	// while this reader holds it.
	from, clean := jr.replayFrom(boot)
	if jr.replace || from != jr.size {
		jr.close()
		lock.Close()
		return nil, errNeedsReplay
	}
	jr.written, jr.synced = from, from
	db := &DB{dir: dir, opt: opt, lock: lock, boot: boot, series: map[string]*archive{}, positions: map[string][]byte{},
		jr: jr, skipped: [2]int64{jr.start, from}, readOnly: true, dmg: newDamageLog(opt.Logger)}
	if err := db.loadPositions(clean); err != nil {
		jr.close()
		lock.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) trust() trust { return trust{ckpt: db.jr.ckpt, boot: db.boot} }

func (db *DB) positionsPath() string { return filepath.Join(db.dir, "positions.json") }

// livePositionsPath holds the positions at the last close without a
// checkpoint; it is read only when the journal's close marker is.
func (db *DB) livePositionsPath() string { return filepath.Join(db.dir, "positions.live.json") }

func (db *DB) loadPositions(clean bool) error {
	p, err := db.livePositionsPath(), os.ErrNotExist
	var b []byte
	if clean {
		b, err = os.ReadFile(p)
	}
	if errors.Is(err, os.ErrNotExist) {
		p = db.positionsPath()
		b, err = os.ReadFile(p)
	}
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &db.positions); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return nil
}

// replay re-applies a journaled record. Updates at or before a series' last
// update are already in its checkpointed state and are skipped. Updates of
// a series that cannot be opened (deleted, or unreadable: reported on use)
// are counted in unopened when it is not nil.
func (db *DB) replay(rec journalRecord, unopened *replayMiss) {
	for _, u := range rec.updates {
		a, err := db.archive(u.Series)
		if err != nil {
			unopened.add(u.Series, err)
			continue
		}
		db.replayUpdate(a, u.Update)
	}
	for k, v := range rec.positions {
		db.positions[k] = v
		db.posDirty = true
	}
}

// replayMiss counts journaled updates of series a replay could not open.
type replayMiss struct {
	updates int
	series  map[string]error
}

func (m *replayMiss) add(series string, err error) {
	if m == nil {
		return
	}
	if m.series == nil {
		m.series = map[string]error{}
	}
	m.updates++
	m.series[series] = err
}

// replayOnly replays the updates of one series from rec (positions are
// already known).
func (db *DB) replayOnly(rec journalRecord, name string) {
	a := db.series[name]
	for _, u := range rec.updates {
		if u.Series == name {
			db.replayUpdate(a, u.Update)
		}
	}
}

// replayUpdate re-applies a journaled update unless the archive's state
// already holds it (it is at or before the last update).
func (db *DB) replayUpdate(a *archive, u Update) {
	if a.holds(u) {
		return
	}
	a.update(u.Time, u.Usec, u.Values)
	a.dirty = true
	db.queueFlush(a)
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
	for _, a := range db.toFlush {
		if a.pendOff > off {
			keep = append(keep, a)
			continue
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
	a, err := openArchive(db.pathFor(name), db.trust(), db.opt.OneShot, db.scratch())
	if err == nil {
		a.bufs = &db.runBufs
		a.dmg = db.dmg
	}
	if errors.Is(err, os.ErrNotExist) {
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
	return a, nil
}

// Create makes a new series. Without overwrite an existing one is an error.
func (db *DB) Create(name string, spec Spec, overwrite bool) error {
	return db.CreateWithMeta(name, spec, nil, overwrite)
}

// CreateWithMeta is Create with metadata (units, source) kept in the file.
func (db *DB) CreateWithMeta(name string, spec Spec, meta map[string]string, overwrite bool) error {
	if err := ValidSeriesName(name); err != nil {
		return err
	}
	if err := spec.Validate(); err != nil {
		return fmt.Errorf("series %s: %w", name, err)
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.createLocked(name, spec, meta, overwrite, initialState(&spec), nil)
}

func (db *DB) createLocked(name string, spec Spec, meta map[string]string, overwrite bool, st *state, rows [][]float64) error {
	if db.readOnly {
		return fmt.Errorf("creating series %s: %w", name, errReadOnly)
	}
	p := db.pathFor(name)
	if _, err := os.Stat(p); err == nil {
		if !overwrite {
			return fmt.Errorf("series %s already exists", name)
		}
		// Journaled updates of the old series must not be replayed into
		// the new one: cut the journal first.
		if err := db.checkpointLocked(); err != nil {
			return err
		}
	}
	if old, ok := db.series[name]; ok {
		if len(old.pend) > 0 {
			return fmt.Errorf("series %s: rows still waiting for the journal", name)
		}
		db.toFlush = slices.DeleteFunc(db.toFlush, func(a *archive) bool { return a == old })
		old.close()
		delete(db.series, name)
	}
	spec = cloneSpec(spec)
	if err := createArchive(p, name, &spec, meta, st, rows); err != nil {
		return fmt.Errorf("series %s: %w", name, err)
	}
	if err := syncDir(filepath.Dir(p)); err != nil {
		return err
	}
	_, err := db.archive(name)
	return err
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

// EnsureWithMeta is Ensure with metadata for a new series.
func (db *DB) EnsureWithMeta(name string, spec Spec, meta map[string]string) (bool, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if _, err := db.archive(name); err == nil {
		return false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return false, err
	}
	spec, meta, err := db.opt.Retention.Apply(name, spec, meta)
	if err != nil {
		return false, err
	}
	if err := spec.Validate(); err != nil {
		return false, fmt.Errorf("series %s: %w", name, err)
	}
	if err := db.createLocked(name, spec, meta, false, initialState(&spec), nil); err != nil {
		return false, err
	}
	return true, nil
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
		return res, nil, errors.New("store is closed")
	}
	// the record is encoded by the journal before mu is released, so its
	// update list is reused from batch to batch
	rec := journalRecord{positions: b.Positions, stopOnError: b.StopOnError, updates: slices.Grow(db.recBuf[:0], len(b.Updates))}
	for i, u := range b.Updates {
		a, err := db.archive(u.Series)
		if err == nil {
			err = a.update(u.Time, u.Usec, u.Values)
			if err == nil || !errors.Is(err, ErrTooOld) && len(u.Values) == len(a.spec.DS) {
				// a failed update may still change state (rrdtool keeps the
				// last readings of earlier data sources): journal it too
				rec.updates = append(rec.updates, journalUpdate{Update: u, failed: err != nil})
				a.dirty = true
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
	for k, v := range b.Positions {
		db.positions[k] = v
		db.posDirty = true
	}
	// The batch's rows wait in memory until its record is durable (wait).
	var off int64
	var err error
	ckpt := db.jr.ckpt
	if len(rec.updates) > 0 || len(rec.positions) > 0 {
		off, err = db.jr.append(&rec)
	}
	if err == nil {
		for _, a := range db.toFlush {
			if a.pendOff == pendingBatch {
				a.pendOff = off
			}
		}
	}
	clear(rec.updates) // drop references to the batch's strings
	db.recBuf = rec.updates[:0]
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

// closeWithoutCheckpoint writes the live state of every changed archive
// into a slot and the journal's close marker, without syncing anything
// but the journal: the next process of this boot starts from the marker
// (nothing to replay), and after a crash of the machine the journal since
// the last checkpoint is replayed onto the durable slots.
func (db *DB) closeWithoutCheckpoint() error {
	// a slot must never hold updates the journal could still lose
	if err := db.jr.syncAll(); err != nil {
		return err
	}
	for _, a := range db.series {
		if a.dirty {
			if err := a.writeSlot(db.jr.ckpt+1, db.jr.ckpt, db.boot); err != nil {
				return err
			}
		}
	}
	// Always rewritten (a few hundred bytes, and only where sources
	// report positions): a live file left from an earlier boot or from
	// before a checkpoint must never pass for the current positions.
	if len(db.positions) > 0 {
		b, _ := json.Marshal(db.positions)
		tmp := db.livePositionsPath() + ".tmp"
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, db.livePositionsPath()); err != nil {
			return err
		}
	}
	return db.jr.writeMarker(db.boot)
}

// Close writes the state of changed archives and releases the directory.
// It checkpoints only when the journal has grown past CheckpointBytes or
// an archive of the older two-slot format changed.
func (db *DB) Close() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return nil
	}
	if db.readOnly {
		// a reader wrote nothing and leaves the directory as it found it
		for _, a := range db.series {
			if !db.opt.OneShot {
				a.close()
			}
		}
		db.closed = true
		db.jr.close()
		return db.lock.Close()
	}
	full := db.jr.replace || db.jr.written-db.jr.start > db.opt.CheckpointBytes
	for _, a := range db.series {
		if a.dirty && a.lay.nslots < 3 {
			full = true
		}
	}
	var err error
	if full {
		err = db.checkpointLocked()
	} else {
		err = db.closeWithoutCheckpoint()
	}
	for _, a := range db.series {
		if db.opt.OneShot {
			continue
		}
		if cerr := a.close(); err == nil {
			err = cerr
		}
	}
	db.closed = true
	db.jr.close()
	db.lock.Close()
	return err
}

// Fetch answers like rrdtool fetch.
func (db *DB) Fetch(name string, req FetchRequest) (*FetchResult, error) {
	db.mu.Lock() // archive() may open files
	defer db.mu.Unlock()
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
	ents, err := os.ReadDir(filepath.Join(db.dir, "series"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		fn := e.Name()
		if !strings.HasSuffix(fn, ".rrd") {
			continue
		}
		name, ok := nameFromFile(fn)
		if !ok {
			db.mu.Lock()
			a, err := openArchive(filepath.Join(db.dir, "series", fn), db.trust(), true, db.scratch())
			if err == nil {
				name = a.name
				a.close()
			}
			db.mu.Unlock()
			if err != nil {
				continue
			}
		}
		if pattern == "" {
			names = append(names, name)
		} else if ok, _ := path.Match(pattern, name); ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// Dir returns the data directory.
func (db *DB) Dir() string { return db.dir }
