package store

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sync"
	"time"
)

// The journal is one append-only file of records:
//
//	u32 payload length, u32 CRC-32C of the payload, payload
//
// A record holds the updates one Apply made (each with whether it failed,
// so a replay reproduces rrdtool's partial effects exactly) and the source
// positions reached. A torn or corrupt tail — a crash mid-write — ends the
// replay and is cut off; every acknowledged record precedes it, because
// Apply acknowledges only after fsync.
type journal struct {
	path string
	f    *os.File

	mu      sync.Mutex // serialises appends
	written int64      // bytes appended

	syncMu sync.Mutex // one fsync at a time; waiters share it (group commit)
	synced int64
	err    error // sticky: after a failed write or fsync the journal refuses work

	obs Observer // nil: fsyncs are not timed
}

type journalUpdate struct {
	Update
	failed bool
}

type journalRecord struct {
	updates     []journalUpdate
	positions   map[string][]byte
	stopOnError bool
}

const maxRecord = 1 << 30

func openJournal(path string) (*journal, []journalRecord, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, err
	}
	recs, good, err := readJournal(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("journal %s: %w", path, err)
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("journal %s: cutting torn tail: %w", path, err)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, nil, err
	}
	return &journal{path: path, f: f, written: good, synced: good}, recs, nil
}

func readJournal(f *os.File) ([]journalRecord, int64, error) {
	if fi, err := f.Stat(); err != nil {
		return nil, 0, err
	} else if fi.Size() == 0 {
		return nil, 0, nil
	}
	r := bufio.NewReaderSize(f, 1<<20)
	var recs []journalRecord
	var off int64
	hdr := make([]byte, 8)
	for {
		if _, err := io.ReadFull(r, hdr); err != nil {
			return recs, off, nil // end or torn header
		}
		n := binary.LittleEndian.Uint32(hdr)
		if n > maxRecord {
			return recs, off, nil
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(r, payload); err != nil {
			return recs, off, nil
		}
		if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(hdr[4:]) {
			return recs, off, nil
		}
		rec, err := decodeRecord(payload)
		if err != nil {
			return nil, 0, fmt.Errorf("record at offset %d: %w", off, err)
		}
		recs = append(recs, rec)
		off += 8 + int64(n)
	}
}

// append writes a record and returns the offset that must be synced for it
// to be durable.
func (j *journal) append(rec *journalRecord) (int64, error) {
	size := 16
	for _, u := range rec.updates {
		size += len(u.Series) + 24
		for _, v := range u.Values {
			size += len(v) + 1
		}
	}
	buf := appendRecord(make([]byte, 8, 8+size), rec)
	payload := buf[8:]
	binary.LittleEndian.PutUint32(buf, uint32(len(payload)))
	binary.LittleEndian.PutUint32(buf[4:], crc32.Checksum(payload, castagnoli))
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return 0, j.err
	}
	if _, err := j.f.Write(buf); err != nil {
		j.err = fmt.Errorf("journal %s: write: %w", j.path, err)
		return 0, j.err
	}
	j.written += int64(len(buf))
	return j.written, nil
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
	return nil
}

// reset empties the journal after a checkpoint made its records redundant.
func (j *journal) reset() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	if err := j.f.Truncate(0); err != nil {
		return err
	}
	if _, err := j.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := j.f.Sync(); err != nil {
		return err
	}
	j.written, j.synced = 0, 0
	return nil
}

func (j *journal) close() error { return j.f.Close() }

// Record encoding: flags byte, uvarint update count, per update: name,
// time, usec, failed byte, value count, values; then position count and
// (source, position) pairs. Strings are uvarint length + bytes.
func encodeRecord(rec *journalRecord) []byte { return appendRecord(nil, rec) }

func appendRecord(b []byte, rec *journalRecord) []byte {
	var flags byte
	if rec.stopOnError {
		flags = 1
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(rec.updates)))
	for _, u := range rec.updates {
		b = appendString(b, u.Series)
		b = binary.AppendVarint(b, u.Time)
		b = binary.AppendVarint(b, u.Usec)
		if u.failed {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
		b = binary.AppendUvarint(b, uint64(len(u.Values)))
		for _, v := range u.Values {
			b = appendString(b, v)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(rec.positions)))
	for k, v := range rec.positions {
		b = appendString(b, k)
		b = appendString(b, string(v))
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errShortRecord = errors.New("malformed record")

type recReader struct {
	b   []byte
	err error
}

func (r *recReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errShortRecord
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errShortRecord
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recReader) byte1() byte {
	if len(r.b) < 1 {
		r.err = errShortRecord
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *recReader) str() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err = errShortRecord
		r.b = nil
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func decodeRecord(b []byte) (journalRecord, error) {
	r := &recReader{b: b}
	var rec journalRecord
	rec.stopOnError = r.byte1() == 1
	n := r.uvarint()
	if n > uint64(len(b)) {
		return rec, errShortRecord
	}
	rec.updates = make([]journalUpdate, 0, n)
	for i := uint64(0); i < n && r.err == nil; i++ {
		var u journalUpdate
		u.Series = r.str()
		u.Time = r.varint()
		u.Usec = r.varint()
		u.failed = r.byte1() == 1
		nv := r.uvarint()
		if nv > uint64(len(r.b)) {
			return rec, errShortRecord
		}
		u.Values = make([]string, nv)
		for k := range u.Values {
			u.Values[k] = r.str()
		}
		rec.updates = append(rec.updates, u)
	}
	np := r.uvarint()
	if np > 0 && np <= uint64(len(r.b)) {
		rec.positions = make(map[string][]byte, np)
		for i := uint64(0); i < np && r.err == nil; i++ {
			k := r.str()
			rec.positions[k] = []byte(r.str())
		}
	}
	return rec, r.err
}
