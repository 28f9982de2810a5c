package store

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"path/filepath"
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
	// JournalPrealloc keeps this many bytes past the journal's records
	// written with zeros and synced, ahead of need, so that a group
	// commit's fsync overwrites allocated blocks rather than growing the
	// file (journalprealloc.go). For a long-lived writer (serve); 0: none
	// (the CLI, which writes little and exits). Negative is refused.
	JournalPrealloc int64
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
	pickBuf   []uint32   // applyAsync's journalRecord.picks, reused (under mu)
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
	// waitScratch: which runs of an archive wait (flushDurable, under mu)
	waitScratch []bool
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
	if opt.JournalPrealloc < 0 {
		return nil, fmt.Errorf("journal preallocation %d bytes: must not be negative", opt.JournalPrealloc)
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
	db.replayAllDeferring(recs)
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
	jr.mu.Lock()
	jr.pre.size = opt.JournalPrealloc
	jr.mu.Unlock()
	jr.preallocate()
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

func (db *DB) logger() *slog.Logger {
	if db.opt.Logger != nil {
		return db.opt.Logger
	}
	return slog.Default()
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

// Dir returns the data directory.
func (db *DB) Dir() string { return db.dir }
