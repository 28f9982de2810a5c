package store

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Reading the journal tells two kinds of damage apart.
//
// A torn tail is what a crash leaves: a kill -9 stops a write after a
// prefix of it, so the damage runs to the end of the file and no record
// follows it. Only the last group commit — never acknowledged, as Apply
// acknowledges after fsync — can be torn; Open cuts it and logs the bytes.
//
// Anything else is corruption: a bad record that valid records follow, or
// a record whose checksum verifies but that does not decode. Records after
// the damage are found by trying every byte offset for a record whose
// framing, shape and checksum verify. Open refuses such a journal (the
// file is left as it is); `rrdash check --repair` replays every valid
// record before and after the damage. A power loss may leave holes inside
// the last group commit that valid records follow; the file cannot tell
// those from a damaged acknowledged group, so they are refused too, and
// the repair loses nothing that was acknowledged.

// minPayload is the smallest record: flags, update count, position count.
const minPayload = 3

// journalDamage is a stretch of the journal holding no valid record.
type journalDamage struct {
	off, n int64
	// undecodable: it starts with a record whose checksum verifies but
	// that does not decode (written whole, so never a torn write)
	undecodable bool
}

// journalScan is what a read of the journal's records found.
type journalScan struct {
	recs   []journalRecord
	offs   []int64 // offset of each record
	before int     // records before the first damage
	damage []journalDamage
	from   int64 // where the scan started
	end    int64 // where it stopped (the file's size, or zeroTail)
	// zeroTail is where the zeros a preallocating writer left begin, after
	// the last record (the end when there are none): not damage
	zeroTail int64
	updates  int
}

// tornTail reports a torn tail: one stretch of damage running to the end,
// no record after it, and nothing that was written whole.
func (s *journalScan) tornTail() (off int64, ok bool) {
	if len(s.damage) != 1 || s.before != len(s.recs) {
		return 0, false
	}
	d := s.damage[0]
	return d.off, !d.undecodable && d.off+d.n == s.end
}

// corrupt reports damage that a torn write cannot explain.
func (s *journalScan) corrupt() bool {
	_, torn := s.tornTail()
	return len(s.damage) > 0 && !torn
}

// damagedBytes is how many bytes the damage spans in all.
func (s *journalScan) damagedBytes() int64 {
	var n int64
	for _, d := range s.damage {
		n += d.n
	}
	return n
}

// scanJournal reads the records in [from, end) of r. It reads them as a
// stream up to the first damage and then loads the rest to find the
// records after it.
func scanJournal(r io.ReaderAt, from, end int64) (*journalScan, error) {
	s := &journalScan{from: from, end: end, zeroTail: end}
	if from >= end {
		return s, nil
	}
	br := bufio.NewReaderSize(io.NewSectionReader(r, from, end-from), 1<<20)
	off := from
	hdr := make([]byte, 8)
	undecodable := false
	for off < end {
		if _, err := io.ReadFull(br, hdr); err != nil {
			break // a torn header (the section ends)
		}
		n := int64(binary.LittleEndian.Uint32(hdr))
		if n < minPayload || n > maxRecord || off+8+n > end {
			break
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(br, payload); err != nil {
			return nil, fmt.Errorf("reading record at offset %d: %w", off, err)
		}
		if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(hdr[4:]) {
			break
		}
		rec, err := decodeRecord(payload)
		if err != nil {
			undecodable = true
			break
		}
		s.add(rec, off)
		off += 8 + n
	}
	s.before = len(s.recs)
	if off >= end {
		return s, nil
	}
	rest := make([]byte, end-off)
	if _, err := r.ReadAt(rest, off); err != nil && !(errors.Is(err, io.EOF) && len(rest) == 0) {
		return nil, fmt.Errorf("reading from offset %d: %w", off, err)
	}
	if !undecodable && allZero(rest) {
		// preallocated zeros (journalprealloc.go): the records end here
		s.zeroTail, s.end = off, off
		return s, nil
	}
	s.resync(rest, off, undecodable)
	return s, nil
}

func (s *journalScan) add(rec journalRecord, off int64) {
	s.recs = append(s.recs, rec)
	s.offs = append(s.offs, off)
	s.updates += len(rec.updates)
}

// resync finds the valid records in buf (the file from offset base on,
// which starts with damage) and the stretches of damage between them.
func (s *journalScan) resync(buf []byte, base int64, undecodable bool) {
	start := 0 // where the current stretch of damage began
	for p := 1; p < len(buf); p++ {
		rec, n, ok := recordAt(buf[p:])
		if !ok {
			continue
		}
		s.damage = append(s.damage, journalDamage{off: base + int64(start), n: int64(p - start), undecodable: undecodable})
		undecodable = false
		for ok {
			s.add(rec, base+int64(p))
			p += n
			rec, n, ok = recordAt(buf[p:])
		}
		if p >= len(buf) {
			return
		}
		start = p
	}
	s.damage = append(s.damage, journalDamage{off: base + int64(start), n: int64(len(buf) - start), undecodable: undecodable})
}

// recordAt decodes the record at the start of b and returns it with its
// framed length. Its length, shape (every field in bounds, nothing left
// over) and checksum must verify: the shape test is cheap and spares the
// checksum of nearly every offset that merely holds a plausible length.
func recordAt(b []byte) (journalRecord, int, bool) {
	if len(b) < 8+minPayload {
		return journalRecord{}, 0, false
	}
	n := int64(binary.LittleEndian.Uint32(b))
	if n < minPayload || n > maxRecord || n > int64(len(b)-8) {
		return journalRecord{}, 0, false
	}
	payload := b[8 : 8+n]
	if !recordShape(payload) || crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return journalRecord{}, 0, false
	}
	rec, err := decodeRecord(payload)
	if err != nil {
		return journalRecord{}, 0, false
	}
	return rec, int(8 + n), true
}

// recordShape tells whether b is laid out exactly as appendRecord writes a
// record, without allocating. An empty record is never written.
func recordShape(b []byte) bool {
	if len(b) == 0 || b[0] > 3 {
		return false
	}
	creates := b[0]&2 != 0
	b = b[1:]
	uv := func() (uint64, bool) {
		v, k := binary.Uvarint(b)
		if k <= 0 {
			return 0, false
		}
		b = b[k:]
		return v, true
	}
	str := func() bool {
		n, ok := uv()
		if !ok || n > uint64(len(b)) {
			return false
		}
		b = b[n:]
		return true
	}
	vint := func() bool {
		_, k := binary.Varint(b)
		if k <= 0 {
			return false
		}
		b = b[k:]
		return true
	}
	nu, ok := uv()
	if !ok || nu > uint64(len(b)) {
		return false
	}
	for i := uint64(0); i < nu; i++ {
		named := len(b) > 0 && b[0] != 0
		if !str() || !vint() || !vint() || len(b) == 0 || b[0] > updFailed|updNumeric|updSameSeries {
			return false
		}
		if same := b[0]&updSameSeries != 0; same && (i == 0 || named) {
			return false
		}
		numeric := b[0]&updNumeric != 0
		b = b[1:]
		nv, ok := uv()
		if !ok || nv > uint64(len(b)) {
			return false
		}
		if numeric {
			if nv > uint64(len(b)/8) {
				return false
			}
			b = b[8*nv:]
			continue
		}
		for k := uint64(0); k < nv; k++ {
			if !str() {
				return false
			}
		}
	}
	np, ok := uv()
	if !ok || np > uint64(len(b)) || nu == 0 && np == 0 && !creates {
		return false
	}
	for i := uint64(0); i < np; i++ {
		if !str() || !str() {
			return false
		}
	}
	if creates {
		nc, ok := uv()
		if !ok || nc == 0 || nc > uint64(len(b)) {
			return false
		}
		for i := uint64(0); i < nc; i++ {
			if !str() || !vint() || !vint() {
				return false
			}
			na, ok := uv()
			if !ok || na > uint64(len(b)) {
				return false
			}
			for k := uint64(0); k < na; k++ {
				if !str() {
					return false
				}
			}
			nm, ok := uv()
			if !ok || nm > uint64(len(b)) {
				return false
			}
			for k := uint64(0); k < nm; k++ {
				if !str() || !str() {
					return false
				}
			}
		}
	}
	return len(b) == 0
}

// JournalCorruptError is why Open refuses a journal: damage that is not a
// torn tail. The file is left as it is.
type JournalCorruptError struct {
	Path   string
	Offset int64 // the first damaged byte
	// What is wrong there.
	Reason string
	// RecordsAfter is how many valid records follow the damage (0 when
	// the head is damaged: Open does not read on).
	RecordsAfter int
}

func (e *JournalCorruptError) Error() string {
	after := ""
	if e.RecordsAfter > 0 {
		after = fmt.Sprintf("; %d valid records follow it", e.RecordsAfter)
	}
	return fmt.Sprintf("journal %s is damaged at byte offset %d (%s%s): refusing to start, the file is left as it is; "+
		"run `rrdash check --repair` to move it aside and replay every valid record", e.Path, e.Offset, e.Reason, after)
}

// corruptError describes the scan's first damage.
func (s *journalScan) corruptError(path string) *JournalCorruptError {
	d := s.damage[0]
	reason := fmt.Sprintf("%d bytes hold no valid record", d.n)
	if d.undecodable {
		reason = "a record whose checksum verifies does not decode"
	}
	return &JournalCorruptError{Path: path, Offset: d.off, Reason: reason, RecordsAfter: len(s.recs) - s.before}
}
