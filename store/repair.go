package store

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// JournalReport is what a read of a data directory's journal found.
type JournalReport struct {
	Path string
	Size int64
	// Format: "none" (no journal yet), "current", "headless" (an older
	// rrdash's journal without a head), "unknown" (the head is damaged and
	// neither layout is recognised: records are looked for from offset 0).
	Format string
	// Checkpoint is the last completed checkpoint the head names; with a
	// damaged head, CheckpointCertain is false and it is a guess.
	Checkpoint        uint64
	CheckpointCertain bool
	// HeadDamage says what is wrong with the head (empty: nothing), at
	// HeadDamageOffset.
	HeadDamage       string
	HeadDamageOffset int64
	// Records and Updates count every valid record in the file;
	// RecordsBefore those before the first damage.
	Records, Updates, RecordsBefore int
	// Damage lists the stretches of the file that hold no valid record
	// and that valid records follow (or that were written whole).
	Damage []JournalDamage
	// TornTail is the size of a torn tail (a crash mid-write, no valid
	// record after it) at TornTailOffset: Open cuts it.
	TornTail, TornTailOffset int64
	// RecordBytes is the size of the valid records in all.
	RecordBytes int64
}

// JournalDamage is a stretch of the journal holding no valid record.
type JournalDamage struct {
	Offset, Length int64
	// Undecodable: it starts with a record whose checksum verifies but
	// that does not decode.
	Undecodable bool
}

// Corrupt reports damage Open refuses: a damaged head, or damage that
// valid records follow.
func (r *JournalReport) Corrupt() bool { return r.HeadDamage != "" || len(r.Damage) > 0 }

// FirstDamage is the offset of the first damaged byte (head or records).
func (r *JournalReport) FirstDamage() int64 {
	if r.HeadDamage != "" {
		return r.HeadDamageOffset
	}
	if len(r.Damage) > 0 {
		return r.Damage[0].Offset
	}
	return -1
}

// DamagedBytes is how many bytes the damage between records spans.
func (r *JournalReport) DamagedBytes() int64 {
	var n int64
	for _, d := range r.Damage {
		n += d.Length
	}
	return n
}

// LostRecordsEstimate is about how many records the damage held, at the
// valid records' average size (at least one per stretch of damage).
func (r *JournalReport) LostRecordsEstimate() int {
	n := 0
	for _, d := range r.Damage {
		k := 1
		if r.Records > 0 {
			k = max(1, int(math.Round(float64(d.Length)/(float64(r.RecordBytes)/float64(r.Records)))))
		}
		n += k
	}
	return n
}

const journalName = "journal.wal"

// CheckJournal reads the journal of the data directory dir and reports
// its state. It changes nothing (it takes the directory's lock, so a
// running server is reported as such).
func CheckJournal(dir string) (*JournalReport, error) {
	if err := existingDir(dir); err != nil {
		return nil, err
	}
	lock, err := lockDir(dir, true)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	path := filepath.Join(dir, journalName)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return &JournalReport{Path: path, Format: "none", CheckpointCertain: true}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rep, _, _, err := inspectJournal(f, path)
	return rep, err
}

func existingDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("data directory %s is not a directory", dir)
	}
	return nil
}

// inspectJournal reads the whole journal, head and records.
func inspectJournal(f *os.File, path string) (*JournalReport, *journalScan, journalHead, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, journalHead{}, err
	}
	rep := &JournalReport{Path: path, Size: fi.Size(), Format: "current", CheckpointCertain: true}
	if fi.Size() == 0 {
		return rep, &journalScan{}, journalHead{certain: true}, nil
	}
	h, err := readJournalHead(f, fi.Size())
	if err != nil {
		return nil, nil, h, fmt.Errorf("journal %s: %w", path, err)
	}
	start := int64(journalHeadSize)
	switch {
	case h.legacy:
		rep.Format, start = "headless", 0
	case h.damage != "" && !h.current:
		rep.Format, start = "unknown", 0
	}
	rep.Checkpoint, rep.CheckpointCertain = h.ckpt, h.certain
	rep.HeadDamage, rep.HeadDamageOffset = h.damage, h.damageOff
	sc, err := scanJournal(f, min(start, fi.Size()), fi.Size())
	if err != nil {
		return nil, nil, h, fmt.Errorf("journal %s: %w", path, err)
	}
	rep.Records, rep.Updates, rep.RecordsBefore = len(sc.recs), sc.updates, sc.before
	rep.RecordBytes = fi.Size() - sc.from - sc.damagedBytes()
	if off, torn := sc.tornTail(); torn {
		rep.TornTail, rep.TornTailOffset = fi.Size()-off, off
	} else {
		for _, d := range sc.damage {
			rep.Damage = append(rep.Damage, JournalDamage{Offset: d.off, Length: d.n, Undecodable: d.undecodable})
		}
	}
	return rep, sc, h, nil
}

// RepairReport is what RepairJournal did.
type RepairReport struct {
	Journal *JournalReport // the journal as it was found
	// Repaired: the journal was corrupt, moved aside to MovedTo, and
	// every valid record replayed into the archives.
	Repaired bool
	MovedTo  string
	// TornTailCut: the journal only had a torn tail, which was cut.
	TornTailCut bool
	// Replayed counts the records replayed and ReplayedUpdates their
	// updates (an update at or before its series' last update is already
	// in the archive and changes nothing).
	Replayed, ReplayedUpdates int
	// Unopened counts the updates of series that could not be opened
	// (deleted, or unreadable) — kept in the moved file; UnopenedSeries
	// says why per series.
	Unopened       int
	UnopenedSeries map[string]string
	// Checkpoint is the fresh journal's checkpoint sequence.
	Checkpoint uint64
}

// RepairJournal mends the journal of dir. A corrupt journal is kept under
// journal.wal.damaged-TIME, every valid record in it — before and after
// the damage — is replayed into the archives, and a checkpoint writes a
// fresh journal. A journal with only a torn tail is opened, which cuts
// it. A sound journal is left alone.
func RepairJournal(dir string, opt Options) (*RepairReport, error) {
	if err := existingDir(dir); err != nil {
		return nil, err
	}
	boot, err := readBootID(opt.BootID)
	if err != nil {
		return nil, err
	}
	lock, err := lockDir(dir, false)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, journalName)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		lock.Close()
		return &RepairReport{Journal: &JournalReport{Path: path, Format: "none", CheckpointCertain: true}}, nil
	}
	if err != nil {
		lock.Close()
		return nil, err
	}
	rep, sc, h, err := inspectJournal(f, path)
	if err != nil {
		f.Close()
		lock.Close()
		return nil, err
	}
	out := &RepairReport{Journal: rep}
	if !rep.Corrupt() {
		f.Close()
		lock.Close()
		if rep.TornTail == 0 {
			return out, nil
		}
		db, err := Open(dir, opt)
		if err != nil {
			return out, err
		}
		out.TornTailCut = true
		out.Replayed, out.ReplayedUpdates = rep.Records, rep.Updates
		out.Checkpoint = db.jr.ckpt
		return out, db.Close()
	}
	ckpt := h.ckpt
	if !h.certain {
		// The damaged slot may have held the newest checkpoint: trust
		// every slot the archives hold rather than drop a checkpoint's
		// updates whose records are gone from the journal.
		ckpt = max(ckpt, newestArchiveSeq(filepath.Join(dir, "series")), newestPackedSeq(dir))
	}
	if out.MovedTo, err = keepDamaged(path); err != nil {
		f.Close()
		lock.Close()
		return out, err
	}
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	jr := &journal{path: path, f: f, ckpt: ckpt, start: rep.Size, replace: true, log: log, obs: opt.Observer}
	jr.written, jr.synced = rep.Size, rep.Size
	fds, err := newFDCache(opt.MaxOpenFiles)
	if err != nil {
		f.Close()
		lock.Close()
		return out, err
	}
	db := &DB{dir: dir, opt: opt, lock: lock, boot: boot, series: map[string]*archive{}, positions: map[string][]byte{}, jr: jr,
		dmg: newDamageLog(log), fds: fds, noDrop: true, replaying: true}
	fds.evict = db.evict
	if db.opt.CheckpointBytes <= 0 {
		db.opt.CheckpointBytes = 64 << 20
	}
	db.skipped = [2]int64{0, 0}
	if err := db.openPacksFor(false); err != nil {
		f.Close()
		lock.Close()
		return out, err
	}
	// Until the checkpoint has made the replayed records durable in the
	// archives, a failure must leave journal.wal as it is: abandon, not
	// Close (which would checkpoint).
	if err := db.loadPositions(false); err != nil {
		db.abandon()
		return out, err
	}
	var miss replayMiss
	db.mu.Lock()
	for _, rec := range sc.recs {
		db.replay(rec, &miss)
	}
	// replayed rows: their blocks' checksums may rightly be stale
	err = db.flushQueued(false)
	if err == nil {
		err = db.checkpointLocked()
	}
	out.Checkpoint = db.jr.ckpt
	db.mu.Unlock()
	if err != nil {
		db.abandon()
		return out, fmt.Errorf("repairing journal %s (the damaged file is kept as %s): %w", path, out.MovedTo, err)
	}
	if err := db.Close(); err != nil {
		return out, err
	}
	out.Repaired = true
	out.Replayed, out.ReplayedUpdates = len(sc.recs), sc.updates
	out.Unopened = miss.updates
	for s, e := range miss.series {
		if out.UnopenedSeries == nil {
			out.UnopenedSeries = map[string]string{}
		}
		out.UnopenedSeries[s] = e.Error()
	}
	return out, nil
}

// keepDamaged gives the journal a second name, journal.wal.damaged-TIME,
// that keeps it once the repair's checkpoint replaces journal.wal.
func keepDamaged(path string) (string, error) {
	base := path + ".damaged-" + time.Now().UTC().Format("20060102T150405Z")
	for i := 1; ; i++ {
		p := base
		if i > 1 {
			p = fmt.Sprintf("%s-%d", base, i)
		}
		err := os.Link(path, p)
		if errors.Is(err, os.ErrExist) && i < 100 {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("keeping the damaged journal: %w", err)
		}
		return p, syncDir(filepath.Dir(path))
	}
}

// newestArchiveSeq is the highest checkpoint sequence any valid state slot
// of the archives in dir names (unreadable files are skipped: the replay
// reports them).
func newestArchiveSeq(dir string) uint64 {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var seq uint64
	scratch := make([]byte, 16<<10)
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".rrd") {
			continue
		}
		a, err := openArchive(filepath.Join(dir, e.Name()), trust{ckpt: math.MaxUint64}, true, scratch)
		if err != nil {
			continue
		}
		seq = max(seq, a.newestValidSeq())
		a.close()
	}
	return seq
}

// abandon releases the directory without writing anything, as a killed
// process would.
func (db *DB) abandon() {
	for _, a := range db.series {
		a.close()
	}
	db.closed = true
	db.jr.close()
	if db.packs != nil {
		db.packs.close()
	}
	db.lock.Close()
}
