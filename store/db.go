package store

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
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
	// LockBlock makes a writer wait for the data directory's lock for as
	// long as another process holds it, instead of giving up after a short
	// wait with a *LockError (update --locking block).
	LockBlock bool
	// ReadOnly opens the directory for reading under a shared lock: any
	// number of readers, never beside a writer. A reader writes nothing;
	// one that finds journal records the archives lack (the last writer
	// died before its close) takes the exclusive lock and replays them
	// first, as a writer (see docs/STORE.md, "Readers").
	ReadOnly bool
	// NoReplay, with ReadOnly, makes such a reader return ErrNeedsReplay
	// instead of replaying: a check that must change nothing.
	NoReplay bool
	// MaxOpenFiles bounds the archive files held open (and mapped) at
	// once; the least recently used ones are closed and reopened on use.
	// 0: half the process's RLIMIT_NOFILE, at most half of vm.max_map_count, at
	// least 16.
	// Negative is refused.
	MaxOpenFiles int
	// Preallocate allocates every block of a new archive when it is
	// created, so a full disk fails the creation rather than a later
	// write of rows. By default archives are sparse: rows take disk
	// space as they are written, and unwritten rows read as unknown.
	Preallocate bool
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

// ErrClosed is returned for work asked of a DB after Close: a creation or
// a batch (callers answer "unavailable", not "bad input").
var ErrClosed = errors.New("store is closed")

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
	fds *fdCache   // the archive files held open (under mu)
	// packs: the pack files holding series created through the journal
	// (pack.go, under mu)
	packs *packSet
	// noFiles: DATA/series held no file at Open and this process made
	// none since, so a name not in a pack needs no open or stat of a file
	// (nobody else changes the directory while the lock is held)
	noFiles bool
	// replaying: rows of a journal replay are written unchecked (their
	// blocks' checksums may rightly be stale)
	replaying bool
	// noDrop keeps every archive in memory (a journal repair, until its
	// checkpoint)
	noDrop  bool
	touched []*archive // archives a batch changed (ApplyAsync, under mu)
	// rowsNoWait writes every durable row at its group commit (tests
	// compare it with rows waiting for their block: rowwait.go)
	rowsNoWait bool
	// lazy: journaled updates Open deferred (lazyreplay.go)
	lazy lazyReplay
	// names: the sorted series names of the last directory scan (List)
	names nameList
	// index: the tree of series names (Graphite find, Glob)
	index nameIndex
}

// Open locks dir (creating it if needed), replays the journal and returns
// the DB. A second process gets an error naming the holder.
func Open(dir string, opt Options) (*DB, error) {
	if opt.CheckpointBytes <= 0 {
		opt.CheckpointBytes = 64 << 20
	}
	fds, err := newFDCache(opt.MaxOpenFiles)
	if err != nil {
		return nil, err
	}
	boot, err := readBootID(opt.BootID)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "series"), 0o755); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", dir, err)
	}
	if opt.ReadOnly {
		db, err := openReader(dir, opt, boot, fds)
		if !errors.Is(err, errNeedsReplay) || opt.NoReplay {
			return db, err
		}
		// The journal holds records the archives lack: replay them under
		// the exclusive lock, and read as that writer.
		opt.ReadOnly = false
	}
	lock, err := lockDirMode(dir, false, opt.LockBlock)
	if err != nil {
		return nil, err
	}
	db := &DB{dir: dir, opt: opt, lock: lock, boot: boot, series: map[string]*archive{}, positions: map[string][]byte{},
		dmg: newDamageLog(opt.Logger), fds: fds}
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
	if err := db.openPacksFor(false); err != nil {
		jr.close()
		lock.Close()
		return nil, err
	}
	if err := db.finishRename(); err != nil {
		db.packs.close()
		jr.close()
		lock.Close()
		return nil, err
	}
	from, clean := jr.replayFrom(boot)
	db.skipped = [2]int64{jr.start, from}
	if err := db.loadPositions(clean); err != nil {
		db.packs.close()
		jr.close()
		lock.Close()
		return nil, err
	}
	fds.evict = db.evict
	recs, err := jr.records(from)
	if err != nil {
		db.packs.close()
		jr.close()
		lock.Close()
		return nil, err
	}
	if len(recs) > 0 {
		// The records may be in the page cache only (a process of this
		// boot was killed before their fsync): rows reach the archives
		// only after the records that rewrite them are durable. Synced
		// first, the replay may write rows and slots of archives it
		// drops from memory as it goes (a replay over a million series).
		if err := jr.syncFile(); err != nil {
			db.packs.close()
			jr.close()
			lock.Close()
			return nil, err
		}
	}
	db.replaying = true
	for _, rec := range recs {
		db.replayDeferring(rec)
	}
	db.replaying = false
	recs = nil
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
func openReader(dir string, opt Options, boot bootID, fds *fdCache) (*DB, error) {
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
		jr: jr, skipped: [2]int64{jr.start, from}, readOnly: true, dmg: newDamageLog(opt.Logger), fds: fds}
	fds.evict = db.evict
	if err := db.loadPositions(clean); err != nil {
		jr.close()
		lock.Close()
		return nil, err
	}
	if err := db.openPacksFor(true); err != nil {
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
	for _, c := range rec.creates {
		db.replayCreate(c)
	}
	var hw []*archive
	for _, u := range rec.updates {
		a, err := db.archive(u.Series)
		if err != nil {
			unopened.add(u.Series, err)
			continue
		}
		db.replayUpdate(a, u.Update)
		if a.st.hw != nil {
			hw = append(hw, a)
		}
	}
	for _, a := range hw {
		db.endCall(a)
	}
	for k, v := range rec.positions {
		db.positions[k] = v
		db.posDirty = true
	}
}

func (db *DB) logger() *slog.Logger {
	if db.opt.Logger != nil {
		return db.opt.Logger
	}
	return slog.Default()
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
	db.endCall(a)
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
		if !db.rowsNoWait && waiting < maxWaitingRowBytes && a.rowsMayWait() {
			waiting += a.pendBytes()
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
		a.mapWrites = !db.opt.OneShot
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
	a.mapWrites = !db.opt.OneShot
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

// replayCreate makes sure a series whose creation the journal holds
// exists. Its record follows the last checkpoint, so every update of the
// series is in the journal too: a file a crash lost or tore (after a
// power loss its first state, stamped for a checkpoint that never
// completed, is not trusted) is made again, empty, and the replay refills
// it. A file that reads is kept (the same boot: the page cache holds it).
func (db *DB) replayCreate(c journalCreate) {
	log := db.jr.log
	a, err := db.archive(c.name)
	if err == nil && a != nil {
		return
	}
	spec, perr := ParseSpecArgs(c.step, c.start, c.args)
	if perr == nil {
		perr = spec.Validate()
	}
	if perr != nil {
		log.Error("journal: a creation record does not parse; series not created", "series", c.name, "err", perr)
		return
	}
	if !errors.Is(err, ErrNotFound) {
		log.Info("journal: making again a series created since the last checkpoint whose file does not read (after a reboot: its first state was never synced)", "series", c.name, "err", err)
	}
	if derr := db.dropArchive(c.name); derr != nil {
		log.Error("journal: series not created again", "series", c.name, "err", derr)
		return
	}
	if err := db.makePacked(c.name, &spec, c.meta, nil, true); err != nil {
		log.Error("journal: series not created again", "series", c.name, "err", err)
	}
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
	for _, a := range db.touched {
		// a failed append: the journal refuses all work from now on and
		// the archive stays in memory (never durable)
		if err == nil {
			a.lastOff, a.lastCkpt = off, ckpt
		}
	}
	clear(db.touched)
	db.touched = db.touched[:0]
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
		db.packs.close()
		return db.lock.Close()
	}
	// the close marker says the archives hold the whole journal
	db.replayPending(-1)
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
	if cerr := db.packs.close(); err == nil {
		err = cerr
	}
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

// Dir returns the data directory.
func (db *DB) Dir() string { return db.dir }
