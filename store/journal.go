package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// The journal is one file: a 4 KiB head, then append-only records
//
//	u32 payload length, u32 CRC-32C of the payload, payload
//
// A record holds the updates one Apply made (each with whether it failed,
// so a replay reproduces rrdtool's partial effects exactly) and the source
// positions reached. A torn tail — a crash mid-write, no valid record after
// it — is cut off; every acknowledged record precedes it, because Apply
// acknowledges only after fsync. Damage that valid records follow is
// corruption and the journal is refused (see journalscan.go).
//
// The head holds two checkpoint slots (0 and 512; sequence k lives in slot
// k%2) and, at 1024, the close
// marker: "in boot B, after checkpoint k, every record before offset X is in
// the archives' state slots". A process that closes without a checkpoint
// writes it (no fsync: it only speaks for this boot); the next process of
// the same boot replays from X instead of from the first record. Files
// without a head (rrdash before 2026-11) hold records from offset 0; they
// are replayed and rewritten by a checkpoint. A file is read as one only
// when its first record verifies: a damaged head is refused, never taken
// for the older format. A damaged checkpoint slot is refused too: it may
// have held the newest checkpoint, whose records are gone from the file.
type journal struct {
	path string
	f    *os.File

	ckpt  uint64 // the last completed checkpoint
	start int64  // offset of the first record
	// replace: the file has no head to record a checkpoint in (a
	// headless file of an older rrdash, or a damaged one being
	// repaired); the next checkpoint replaces it with a fresh file
	replace bool
	log     *slog.Logger
	marker  closeMarker
	size    int64 // the file's size when opened

	mu      sync.Mutex // serialises appends
	written int64      // end of the last record
	pend    []byte     // records appended but not yet written

	syncMu sync.Mutex // one fsync at a time; waiters share it (group commit)
	synced int64
	// durable is synced for readers without syncMu (the DB's eviction of
	// archives): every record before it is on disk, in this checkpoint
	// epoch
	durable atomic.Int64
	err     error // sticky: after a failed write or fsync the journal refuses work

	obs Observer // nil: fsyncs are not timed

	pre preallocState // the zeros kept past the records (journalprealloc.go)
}

type closeMarker struct {
	boot bootID
	ckpt uint64
	off  int64
	ok   bool
}

type journalUpdate struct {
	Update
	failed bool
}

type journalRecord struct {
	updates []journalUpdate
	// or, written by applyAsync, the updates journaled as picks from the
	// batch's: index<<1 | 1 when failed (updates is then empty). No
	// 88-byte copy an update; encoded before the batch is the caller's
	// again, to the same bytes.
	batch       []Update
	picks       []uint32
	positions   map[string][]byte
	stopOnError bool
	// creates are series created (flag bit 1): a replay makes the file
	// again when a crash lost it, so a creation needs no fsync of its own
	creates []journalCreate
}

// journalCreate is one series created: its definition as create's
// arguments, and its metadata.
type journalCreate struct {
	name        string
	step, start int64
	args        []string
	meta        map[string]string
}

const (
	maxRecord         = 1 << 30
	journalHeadSize   = 4096
	journalMarkerOff  = 1024
	journalHeadRecLen = 8 + 8 + 4
)

var (
	journalMagic = [8]byte{'R', 'R', 'D', 'J', 'N', 'L', 0, 2}
	markerMagic  = [8]byte{'R', 'R', 'D', 'C', 'L', 'S', 0, 2}
)

// openJournal opens (or makes) the journal and reads its head; records
// are read by records.
func openJournal(path string) (*journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	j := &journal{path: path, f: f}
	if err := j.readHead(); err != nil {
		f.Close()
		if ce := (*JournalCorruptError)(nil); errors.As(err, &ce) {
			return nil, err // it names the file
		}
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	return j, nil
}

func (j *journal) readHead() error {
	fi, err := j.f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() == 0 {
		// a new journal: checkpoint 0 in slot 0, no marker
		head := make([]byte, journalHeadSize)
		putCheckpointSlot(head, 0)
		if _, err := j.f.WriteAt(head, 0); err != nil {
			return err
		}
		if err := j.f.Sync(); err != nil {
			return err
		}
		j.start, j.written, j.synced = journalHeadSize, journalHeadSize, journalHeadSize
		return nil
	}
	j.size = fi.Size()
	h, err := readJournalHead(j.f, j.size)
	if err != nil {
		return err
	}
	switch {
	case h.legacy:
		j.replace = true // records from offset 0
	case h.damage != "":
		return &JournalCorruptError{Path: j.path, Offset: h.damageOff, Reason: h.damage}
	default:
		j.ckpt, j.start, j.marker = h.ckpt, journalHeadSize, h.marker
	}
	return nil
}

// journalHead is what the first bytes of a journal say.
type journalHead struct {
	ckpt   uint64
	marker closeMarker
	legacy bool // a headless journal of an older rrdash: a record at offset 0

	// damage, when not empty, says what is wrong with the head, at
	// damageOff; then ckpt is the best guess and certain says whether
	// it is more than that.
	damage    string
	damageOff int64
	certain   bool
	slots     [2]slotState
	// current: the file has the current layout (records from
	// journalHeadSize), even if its head is damaged
	current bool
}

type slotState int

const (
	slotMissing slotState = iota // the file ends before it
	slotZero                     // never written
	slotValid
	slotDamaged
)

// readJournalHead reads the head of a journal of size bytes. An older
// headless format is accepted only when it positively is one — its first
// record verifies — never because the current head fails to.
func readJournalHead(r io.ReaderAt, size int64) (journalHead, error) {
	b := make([]byte, min(size, journalHeadSize))
	if _, err := r.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return journalHead{}, fmt.Errorf("reading the head: %w", err)
	}
	var h journalHead
	found, magic := false, false
	for i, off := range []int{0, 512} {
		if len(b) >= off+8 && [8]byte(b[off:off+8]) == journalMagic {
			magic = true
		}
		seq, ok := checkpointSlot(b, off)
		switch {
		case ok:
			h.slots[i] = slotValid
			if !found || seq > h.ckpt {
				h.ckpt, found = seq, true
			}
		case len(b) < off+journalHeadRecLen:
			h.slots[i] = slotMissing
		case allZero(b[off : off+journalHeadRecLen]):
			h.slots[i] = slotZero
		default:
			h.slots[i] = slotDamaged
		}
	}
	if !found && !magic {
		if _, _, ok := firstRecordAt(r, 0, size); ok {
			h.legacy = true
			return h, nil
		}
	}
	h.current = found || magic || size == journalHeadSize
	if !h.current && size > journalHeadSize {
		_, _, h.current = firstRecordAt(r, journalHeadSize, size)
	}
	h.certain = true
	for i, st := range h.slots {
		if st == slotDamaged {
			h.damage = fmt.Sprintf("checkpoint slot %d (bytes %d–%d of the head) fails its checksum", i, i*512, i*512+journalHeadRecLen-1)
			h.damageOff = int64(i * 512)
			h.certain = false
			break
		}
	}
	switch {
	case h.damage != "":
	case !found:
		h.damage = "no valid checkpoint slot, and no record of an older headless journal at offset 0"
		h.certain = false
	case size < journalHeadSize:
		h.damage = fmt.Sprintf("the head is cut short at %d of %d bytes", size, journalHeadSize)
		h.damageOff = size
	}
	if h.damage == "" {
		h.marker = decodeMarker(b[journalMarkerOff:])
	} else if !h.certain && h.slots[0] == slotDamaged && h.slots[1] == slotZero {
		// slot 1 gets the first checkpoint and is never cleared: slot
		// 0 can only have held checkpoint 0
		h.ckpt, h.certain = 0, true
	}
	return h, nil
}

// firstRecordAt reads the record at off if it is a valid one.
func firstRecordAt(r io.ReaderAt, off, size int64) (journalRecord, int, bool) {
	hdr := make([]byte, 8)
	if size-off < 8+minPayload {
		return journalRecord{}, 0, false
	}
	if _, err := r.ReadAt(hdr, off); err != nil {
		return journalRecord{}, 0, false
	}
	n := int64(binary.LittleEndian.Uint32(hdr))
	if n < minPayload || n > maxRecord || off+8+n > size {
		return journalRecord{}, 0, false
	}
	b := make([]byte, 8+n)
	if _, err := r.ReadAt(b, off); err != nil {
		return journalRecord{}, 0, false
	}
	return recordAt(b)
}

func putCheckpointSlot(head []byte, seq uint64) {
	off := int(seq%2) * 512
	b := head[off : off+journalHeadRecLen]
	copy(b, journalMagic[:])
	binary.LittleEndian.PutUint64(b[8:], seq)
	binary.LittleEndian.PutUint32(b[16:], crc32.Checksum(b[:16], castagnoli))
}

func checkpointSlot(head []byte, off int) (uint64, bool) {
	if len(head) < off+journalHeadRecLen {
		return 0, false
	}
	b := head[off : off+journalHeadRecLen]
	if [8]byte(b[:8]) != journalMagic || binary.LittleEndian.Uint32(b[16:]) != crc32.Checksum(b[:16], castagnoli) {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b[8:]), true
}

const markerLen = 8 + 16 + 8 + 8 + 4

func encodeMarker(m closeMarker) []byte {
	b := make([]byte, markerLen)
	copy(b, markerMagic[:])
	copy(b[8:24], m.boot[:])
	binary.LittleEndian.PutUint64(b[24:], m.ckpt)
	binary.LittleEndian.PutUint64(b[32:], uint64(m.off))
	binary.LittleEndian.PutUint32(b[40:], crc32.Checksum(b[:40], castagnoli))
	return b
}

func decodeMarker(b []byte) closeMarker {
	if len(b) < markerLen || [8]byte(b[:8]) != markerMagic || binary.LittleEndian.Uint32(b[40:]) != crc32.Checksum(b[:40], castagnoli) {
		return closeMarker{}
	}
	m := closeMarker{ckpt: binary.LittleEndian.Uint64(b[24:]), off: int64(binary.LittleEndian.Uint64(b[32:])), ok: true}
	copy(m.boot[:], b[8:24])
	return m
}

// replayFrom is where replay starts: after the close marker when it was
// written in this boot after the current checkpoint, else the first record.
func (j *journal) replayFrom(boot bootID) (int64, bool) {
	m := j.marker
	if m.ok && m.boot == boot && m.ckpt == j.ckpt && m.off >= j.start && m.off <= j.size {
		return m.off, true
	}
	return j.start, false
}

// records reads the records from offset from, cuts a torn tail and leaves
// the file ready for appends. Damage that is not a torn tail is a
// *JournalCorruptError, and the file is left as it is.
func (j *journal) records(from int64) ([]journalRecord, error) {
	fi, err := j.f.Stat()
	if err != nil {
		return nil, err
	}
	if from > fi.Size() {
		return nil, fmt.Errorf("journal %s: replay offset %d past the end (%d)", j.path, from, fi.Size())
	}
	sc, err := scanJournal(j.f, from, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", j.path, err)
	}
	if sc.corrupt() {
		return nil, sc.corruptError(j.path)
	}
	good := fi.Size()
	if sc.zeroTail < good {
		// zeros a preallocating writer left (journalprealloc.go)
		if err := j.f.Truncate(sc.zeroTail); err != nil {
			return nil, fmt.Errorf("journal %s: cutting preallocated zeros: %w", j.path, err)
		}
		if j.log != nil {
			j.log.Info("journal: cut the zeros a server kept past its records (it did not close)",
				"file", j.path, "offset", sc.zeroTail, "bytes", good-sc.zeroTail)
		}
		good = sc.zeroTail
	}
	if off, torn := sc.tornTail(); torn {
		// the last group commit, never acknowledged: a crash tore it
		if err := j.f.Truncate(off); err != nil {
			return nil, fmt.Errorf("journal %s: cutting torn tail: %w", j.path, err)
		}
		good = off
		if j.log != nil {
			j.log.Warn("journal: cut a torn tail (the last group commit, never acknowledged)",
				"file", j.path, "offset", off, "bytes", fi.Size()-off, "records_replayed", len(sc.recs))
		}
	}
	recs := sc.recs
	if _, err := j.f.Seek(good, io.SeekStart); err != nil {
		return nil, err
	}
	j.written, j.synced = good, good
	return recs, nil
}

// recordsBetween reads the records in [from, to) without changing the
// file: a range that was written whole, so any damage is corruption.
func (j *journal) recordsBetween(from, to int64) ([]journalRecord, error) {
	sc, err := scanJournal(j.f, from, to)
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", j.path, err)
	}
	if len(sc.damage) > 0 {
		return nil, sc.corruptError(j.path)
	}
	return sc.recs, nil
}

// fail makes err sticky: the journal refuses work from now on.
func (j *journal) fail(err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err == nil {
		j.err = err
	}
}

// writeMarker records a close without a checkpoint (no fsync: the marker
// only speaks for this boot).
func (j *journal) writeMarker(boot bootID) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.replace {
		return errors.New("journal without a head")
	}
	m := closeMarker{boot: boot, ckpt: j.ckpt, off: j.written, ok: true}
	if _, err := j.f.WriteAt(encodeMarker(m), journalMarkerOff); err != nil {
		return fmt.Errorf("journal %s: write close marker: %w", j.path, err)
	}
	j.marker = m
	return nil
}

// checkpointed records that checkpoint seq completed (the archives are
// synced) and then cuts the records it made redundant. The order matters:
// cut first and a crash before the head is written would lose them. A
// failure is sticky: the head on disk may already name seq, and slots
// written later for seq would pass for durable.
func (j *journal) checkpointed(seq uint64) error {
	// syncMu before mu, as syncTo takes them: the other order deadlocks
	// against a group commit waiting in syncTo
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.checkpointedLocked(seq); err != nil {
		if j.err == nil {
			j.err = fmt.Errorf("journal %s: checkpoint %d: %w", j.path, seq, err)
		}
		return j.err
	}
	j.ckpt, j.marker, j.start = seq, closeMarker{}, journalHeadSize
	j.written, j.synced = journalHeadSize, journalHeadSize
	j.resetPrealloc() // truncated: the next group commit starts a fill
	j.durable.Store(journalHeadSize)
	j.pend = j.pend[:0] // redundant too: the synced archives hold them
	return nil
}

func (j *journal) checkpointedLocked(seq uint64) error {
	if j.replace {
		// a headless file from an older rrdash (or a damaged one being
		// repaired): a new file with a head replaces it, so no moment
		// exists without both the records and the completed checkpoint
		// on disk
		head := make([]byte, journalHeadSize)
		putCheckpointSlot(head, seq)
		tmp := j.path + ".tmp"
		if err := writeFileSync(tmp, head); err != nil {
			return err
		}
		if err := os.Rename(tmp, j.path); err != nil {
			return err
		}
		if err := syncDir(filepath.Dir(j.path)); err != nil {
			return err
		}
		f, err := os.OpenFile(j.path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		j.f.Close()
		j.f, j.replace = f, false
	} else {
		head := make([]byte, 1024)
		putCheckpointSlot(head, seq)
		off := int64(seq%2) * 512
		if _, err := j.f.WriteAt(head[off:off+journalHeadRecLen], off); err != nil {
			return err
		}
		if err := j.f.Sync(); err != nil {
			return err
		}
		// the marker goes before the records it points into
		if _, err := j.f.WriteAt(make([]byte, markerLen), journalMarkerOff); err != nil {
			return err
		}
		if err := j.f.Truncate(journalHeadSize); err != nil {
			return err
		}
	}
	if _, err := j.f.Seek(journalHeadSize, io.SeekStart); err != nil {
		return err
	}
	return j.f.Sync()
}

// append writes a record and returns the offset that must be synced for it
// to be durable.
//
// Records are collected in memory and written by the next syncTo (or once
// pendLimit bytes are waiting): nothing is acknowledged before its fsync anyway,
// and one write per group commit saves a syscall per batch.
func (j *journal) append(rec *journalRecord) (int64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return 0, j.err
	}
	if j.pend == nil {
		// one buffer for the life of the journal: growing it by doubling
		// would touch fresh pages every time
		j.pend = make([]byte, 0, pendLimit+pendLimit/4)
	}
	start := len(j.pend)
	j.pend = append(j.pend, 0, 0, 0, 0, 0, 0, 0, 0)
	j.pend = appendRecord(j.pend, rec)
	rb := j.pend[start:]
	binary.LittleEndian.PutUint32(rb, uint32(len(rb)-8))
	binary.LittleEndian.PutUint32(rb[4:], crc32.Checksum(rb[8:], castagnoli))
	j.written += int64(len(rb))
	if len(j.pend) > pendLimit {
		if err := j.writePendLocked(); err != nil {
			return 0, err
		}
	}
	return j.written, nil
}

// pendLimit is how many bytes of records wait in memory at most.
const pendLimit = 256 << 10

// syncAll returns once every record appended so far is on disk.
func (j *journal) syncAll() error {
	j.mu.Lock()
	end := j.written
	j.mu.Unlock()
	return j.syncTo(end)
}

// writePend writes the collected records (no fsync).
func (j *journal) writePend() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return j.err
	}
	return j.writePendLocked()
}

// writePendLocked writes the collected records (callers hold mu).
func (j *journal) writePendLocked() error {
	if len(j.pend) == 0 {
		return nil
	}
	if _, err := j.f.Write(j.pend); err != nil {
		j.err = fmt.Errorf("journal %s: write: %w", j.path, err)
		return j.err
	}
	j.pend = j.pend[:0]
	return nil
}

// syncTo returns once everything up to off is on disk. Callers that arrive
// while an fsync runs are covered by the next one: a group commit.
func (j *journal) syncTo(off int64) error {
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	if j.synced >= off {
		return nil
	}
	j.mu.Lock()
	target, err := j.written, j.err
	if err == nil {
		err = j.writePendLocked()
	}
	j.mu.Unlock()
	if err != nil {
		return err
	}
	var t0 time.Time
	if j.obs != nil {
		t0 = time.Now()
	}
	if err := j.f.Sync(); err != nil {
		j.mu.Lock()
		j.err = fmt.Errorf("journal %s: fsync: %w", j.path, err)
		j.mu.Unlock()
		return j.err
	}
	if j.obs != nil {
		j.obs.JournalSynced(time.Since(t0))
	}
	j.synced = target
	j.durable.Store(target)
	if j.pre.size > 0 {
		j.preallocate()
	}
	return nil
}

// close cuts any preallocated zeros and closes the file.
func (j *journal) close() error {
	err := j.cutZeros()
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	return err
}
