package store

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
)

// Row checksums (archive files of version 3).
//
// Each ring is cut into blocks of rowsPerBlock rows (the last one may be
// shorter); the checksum table holds one CRC-32C per block (blockSum). A row write recomputes its block's checksum
// from the whole block; the rows and their checksums reach the file only
// once the journal records that wrote them are durable, so after any crash
// every row newer than the durable state is rewritten — and its block
// resealed — by the journal replay (docs/STORE.md, "Row checksums").
//
// A block whose checksum fails is served as unknown rows and reported once
// (slog warning naming the file, archive and rows; DB.DamagedBlocks counts
// them). A write into a damaged block first sets its old rows to unknown,
// so its new checksum never vouches for garbage.

// rowsPerBlock is the block size in rows: small enough that a damaged
// block costs little data, large enough that the table stays at 1/128 of
// the rows or less (4 bytes per 64 rows of at least 8 bytes).
const rowsPerBlock = 64

func ringBlocks(rows int64) int64 { return (rows + rowsPerBlock - 1) / rowsPerBlock }

// blockRows is the row range [lo, hi) of block b of a ring of rows rows.
func blockRows(rows, b int64) (lo, hi int64) {
	return b * rowsPerBlock, min((b+1)*rowsPerBlock, rows)
}

// blockSum is the CRC-32C of a block's rows starting from ring<<26 ^ block
// instead of 0: a block written to another block's place fails too.
func blockSum(ring int, b int64, rows []byte) uint32 {
	return crc32.Update(uint32(ring)<<26^uint32(b), castagnoli, rows)
}

// sealSum is the checksum entry of a block. Version 4 never stores 0 for a
// written block (a CRC of 0 is stored as 1): 0 with rows of zero bytes is a
// block never written, valid and unknown.
func sealSum(version, ring int, b int64, rows []byte) uint32 {
	s := blockSum(ring, b, rows)
	if s == 0 && version >= 4 {
		s = 1
	}
	return s
}

// blockValid tells whether a block's rows match its checksum entry, or are
// a block never written (version 4).
func (a *archive) blockValid(ring int, b int64, rows []byte) bool {
	stored := a.sumAt(ring, b)
	if stored == 0 && a.lay.version >= 4 {
		// sealSum is never 0 here: only a block never written matches
		// (no CRC needed — a time-major stream enters a new block of each
		// ring every 64 points)
		return allZero(rows)
	}
	return sealSum(a.lay.version, ring, b, rows) == stored
}

// unwrittenIn tells whether a block among b0–b1 of ring ring was never
// written (version 4: its checksum entry is 0).
func (a *archive) unwrittenIn(ring int, b0, b1 int64) bool {
	for b := b0; b <= b1; b++ {
		if a.sumAt(ring, b) == 0 {
			return true
		}
	}
	return false
}

// putSum stores entry i of a checksum table.
func putSum(sums []byte, i int64, sum uint32) { binary.LittleEndian.PutUint32(sums[i*4:], sum) }

func (a *archive) sumAt(ring int, b int64) uint32 {
	return binary.LittleEndian.Uint32(a.sums[(a.lay.ringBlock0[ring]+b)*4:])
}

func (a *archive) rowBytes() int64 { return int64(len(a.spec.DS)) * 8 }

// flushRows writes the collected rows and their blocks' checksums (to the
// page cache). Callers have made the journal records that wrote them
// durable. verify checks the old contents of partly rewritten blocks
// first; a journal replay passes false, as the blocks it rewrites may hold
// rows whose checksum a crash kept from being written.
func (a *archive) flushRows(verify bool) error { return a.flushRuns(verify, nil) }

// flushRuns writes the collected runs but those wait marks (by index in
// pend; nil: none), which stay collected, in order. With wait (a group
// commit, rowwait.go) a ring's last run that ends inside a block writes
// only its complete blocks and keeps the rows of the block it ends in
// (they continue it at the next commit): a block is then always written
// whole, with no read of its old rows, and the changed checksum entries
// of an unmapped archive wait too (sumLo, sumHi; writeSums). Without wait
// (a read, checkpoint, close, eviction) everything goes, those entries
// included.
func (a *archive) flushRuns(verify bool, wait []bool) error {
	a.waitOK = false
	if len(a.pend) == 0 {
		if wait == nil {
			return a.writeSums()
		}
		return nil
	}
	// An archive not mapped by a read is written with pwrite (rows, then
	// the checksum table's changed entries), not mapped for it: rows wait
	// for their block (rowwait.go), so a write is one per block of 64 rows,
	// and a mapping would cost an mmap per archive, a page fault at the
	// first write of each page and again after every writeback cleaned it,
	// and one of vm.max_map_count's 65,530 mappings per series.
	if err := a.ensureOpen(); err != nil {
		return err
	}
	lo, hi := int64(-1), int64(-1) // table bytes changed (unmapped)
	kept := 0
	rb := a.rowBytes()
	for i := range a.pend {
		run := &a.pend[i]
		if wait != nil && wait[i] {
			a.pend[kept] = *run // kept ≤ i: a slot already done with
			kept++
			continue
		}
		if wait != nil && a.sums != nil && a.lastRun[run.ring] == i {
			if cut := a.tailStart(run); cut < run.first+run.n {
				if cut > run.first {
					head := rowRun{ring: run.ring, first: run.first, n: cut - run.first, b: run.b[:(cut-run.first)*rb]}
					if err := a.writeRun(&head, verify, &lo, &hi); err != nil {
						return fmt.Errorf("archive %s: write rows: %w", a.path, err)
					}
					n := copy(run.b, run.b[(cut-run.first)*rb:])
					run.b = run.b[:n]
					run.n -= cut - run.first
					run.first = cut
				}
				a.pend[kept] = *run
				kept++
				continue
			}
		}
		if err := a.writeRun(run, verify, &lo, &hi); err != nil {
			return fmt.Errorf("archive %s: write rows: %w", a.path, err)
		}
		a.putBuf(run.b)
		run.b = nil
	}
	if a.mm == nil && lo >= 0 {
		if a.sumHi > a.sumLo {
			lo, hi = min(lo, a.sumLo), max(hi, a.sumHi)
		}
		a.sumLo, a.sumHi = lo, hi
	}
	clear(a.pend[kept:])
	a.pend = a.pend[:kept]
	if kept == 0 {
		a.pendOff = 0
	}
	for i := range a.lastRun {
		a.lastRun[i] = -1
	}
	for i := range a.pend {
		a.lastRun[a.pend[i].ring] = i
	}
	if wait == nil {
		return a.writeSums()
	}
	return nil
}

// tailStart is the first row of the block run ends in when the run ends
// before that block's end (its rows may wait: rowwait.go), else the run's
// end.
func (a *archive) tailStart(run *rowRun) int64 {
	end := run.first + run.n
	lo, hi := blockRows(a.spec.RRA[run.ring].Rows, (end-1)/rowsPerBlock)
	if end < hi {
		return lo
	}
	return end
}

// writeSums writes the checksum entries changed since they were last
// written (an unmapped archive's flushRuns leaves them for the next read,
// checkpoint, close or eviction: one pwrite less per completed block).
// Rows reach the file before their entries, as without the wait: after a
// kill -9 the replay rewrites every row written since the archive's last
// slot (writeSlot calls flushRows, so no entry waits past a slot) and
// reseals its blocks.
func (a *archive) writeSums() error {
	if a.sumHi <= a.sumLo {
		return nil
	}
	if a.f.fd < 0 { // only after a failure to write them at release
		if err := a.ensureOpen(); err != nil {
			return err
		}
	}
	if err := a.f.writeAt(a.sums[a.sumLo:a.sumHi], a.lay.sumOff+a.sumLo); err != nil {
		return fmt.Errorf("archive %s: write row checksums: %w", a.path, err)
	}
	a.sumLo, a.sumHi = 0, 0
	return nil
}

// writeRun writes one run of rows and reseals the blocks it touches.
func (a *archive) writeRun(run *rowRun, verify bool, lo, hi *int64) error {
	rb := a.rowBytes()
	ringOff := a.lay.ringOff[run.ring]
	if a.sums == nil { // versions 1 and 2: no checksums
		off := ringOff + run.first*rb
		if a.mm != nil {
			copy(a.mm[off:], run.b)
			return nil
		}
		return a.f.writeAt(run.b, off)
	}
	rows := a.spec.RRA[run.ring].Rows
	end := run.first + run.n
	b0, b1 := run.first/rowsPerBlock, (end-1)/rowsPerBlock
	bs, _ := blockRows(rows, b0)
	_, be := blockRows(rows, b1)
	// A mapped archive copies the run into its mapping unless the run
	// enters a block never written (version 4: it may lie in a hole of
	// the file). That one goes out with pwrite, which allocates the page
	// (or fails with ENOSPC) as a write through the mapping cannot — a
	// full disk would be a SIGBUS — and costs no page fault on the hole;
	// the page cache is shared, so the mapping sees it. A written block's
	// page is allocated already (a file system block is a page).
	useMap := a.mm != nil && !(a.lay.version >= 4 && a.unwrittenIn(run.ring, b0, b1))
	// buf holds the whole blocks: the mapping itself, or a buffer filled
	// with the old contents of the blocks the run only partly rewrites
	var buf []byte
	if useMap {
		buf = a.mm[ringOff+bs*rb : ringOff+be*rb]
	} else {
		buf = a.runBuf()
		if int64(cap(buf)) < (be-bs)*rb {
			buf = make([]byte, (be-bs)*rb)
		}
		buf = buf[:(be-bs)*rb]
		defer func() { a.putBuf(buf) }()
	}
	headPartial := run.first > bs || b0 == b1 && end < be
	tailPartial := b1 != b0 && end < be
	if a.last == nil {
		a.last = make([]lastBlock, len(a.spec.RRA))
	}
	last := &a.last[run.ring]
	for _, e := range [2]struct {
		b       int64
		partial bool
	}{{b0, headPartial}, {b1, tailPartial}} {
		if !e.partial {
			continue
		}
		l, h := blockRows(rows, e.b)
		seg := buf[(l-bs)*rb : (h-bs)*rb]
		// this process sealed it last (a batch continuing the ring's
		// block): its bytes are known, not checked again
		known := last.ok && last.b == e.b
		if !useMap {
			if known && len(last.data) == len(seg) {
				copy(seg, last.data)
				continue
			}
			if !known && a.lay.version >= 4 && a.sumAt(run.ring, e.b) == 0 {
				// never written: zero bytes (unknown rows), as blockValid
				// would find them; no pread of the hole. Rows a crashed
				// process wrote before sealing are rewritten by the replay
				// (newer than any durable slot).
				clear(seg)
				continue
			}
			if n, err := a.f.readAt(seg, ringOff+l*rb); n < len(seg) {
				return fmt.Errorf("reading rows %d-%d of archive %d: %w", l, h-1, run.ring, err)
			}
		}
		if known {
			continue
		}
		if verify && !a.blockValid(run.ring, e.b, seg) {
			a.reportDamage(run.ring, e.b, "write")
			a.fillUnknown(seg)
		}
	}
	copy(buf[(run.first-bs)*rb:], run.b)
	if !useMap {
		// the rows before their checksums: an entry never vouches for
		// rows a failed write (ENOSPC) left out, and a mapped archive
		// writes through the mapping only into blocks whose entry says
		// they were written (their page allocated)
		if err := a.f.writeAt(buf, ringOff+bs*rb); err != nil {
			return err
		}
	}
	for b := b0; b <= b1; b++ {
		l, h := blockRows(rows, b)
		putSum(a.sums, a.lay.ringBlock0[run.ring]+b, sealSum(a.lay.version, run.ring, b, buf[(l-bs)*rb:(h-bs)*rb]))
	}
	last.ok, last.b = true, b1
	if useMap {
		last.data = last.data[:0] // the mapping holds its bytes
		return nil
	}
	l, h := blockRows(rows, b1)
	last.data = append(last.data[:0], buf[(l-bs)*rb:(h-bs)*rb]...)
	if a.mm == nil {
		// the table is a copy, written once for all runs (flushRows);
		// a mapped archive's is a view of the mapping
		tl, th := (a.lay.ringBlock0[run.ring]+b0)*4, (a.lay.ringBlock0[run.ring]+b1+1)*4
		if *lo < 0 || tl < *lo {
			*lo = tl
		}
		*hi = max(*hi, th)
	}
	return nil
}

// maxFreeBufs bounds the free run buffers kept for reuse.
const maxFreeBufs = 1024

// putBuf gives a run buffer back for reuse (a bounded number of them).
func (a *archive) putBuf(b []byte) {
	if a.bufs != nil && len(*a.bufs) < maxFreeBufs && cap(b) <= 64<<10 {
		*a.bufs = append(*a.bufs, b[:0])
	}
}

// fillUnknown sets the rows in b to unknown (as stored: zero bytes from
// version 4 on).
func (a *archive) fillUnknown(b []byte) {
	nan := math.Float64bits(math.NaN()) ^ a.key
	for i := 0; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], nan)
	}
}

// lastBlock is the block of a ring this process sealed last, with its
// bytes when the file is written with pwrite: the next batch usually
// continues it.
type lastBlock struct {
	b    int64
	ok   bool
	data []byte
}

// rowSpan is a range of ring rows, both ends included.
type rowSpan struct{ lo, hi int64 }

// rowChecker is implemented by row stores whose rows carry checksums.
type rowChecker interface {
	// damagedRows returns the damaged blocks among those holding the n
	// rows of ring a from row from on (ring order: wrapping at the end).
	damagedRows(a int, from, n int64) []rowSpan
}

// damagedRows checks the blocks holding the n rows from row from of ring
// ring (mapped archives) and reports the damaged ones.
func (a *archive) damagedRows(ring int, from, n int64) []rowSpan {
	if a.sums == nil || a.mm == nil || n <= 0 {
		return nil
	}
	rows := a.spec.RRA[ring].Rows
	var bad []rowSpan
	check := func(first, last int64) { // rows [first, last)
		for b := first / rowsPerBlock; b <= (last-1)/rowsPerBlock; b++ {
			if !a.blockOK(ring, b) {
				l, h := blockRows(rows, b)
				a.reportDamage(ring, b, "read")
				bad = append(bad, rowSpan{l, h - 1})
			}
		}
	}
	if n >= rows {
		check(0, rows)
		return bad
	}
	if from+n <= rows {
		check(from, from+n)
		return bad
	}
	check(from, rows)
	check(0, from+n-rows)
	return bad
}

// blockOK tells whether block b of ring ring matches its checksum (mapped).
func (a *archive) blockOK(ring int, b int64) bool {
	rb := a.rowBytes()
	l, h := blockRows(a.spec.RRA[ring].Rows, b)
	off := a.lay.ringOff[ring]
	return a.blockValid(ring, b, a.mm[off+l*rb:off+h*rb])
}

// damageLog reports damaged blocks once each and counts them.
type damageLog struct {
	log   *slog.Logger
	mu    sync.Mutex
	seen  map[damageKey]bool
	count atomic.Int64
}

type damageKey struct {
	path  string
	ring  int
	block int64
}

func newDamageLog(log *slog.Logger) *damageLog {
	if log == nil {
		log = slog.Default()
	}
	return &damageLog{log: log, seen: map[damageKey]bool{}}
}

// reportDamage logs a damaged block (once per block) and counts it.
func (a *archive) reportDamage(ring int, b int64, during string) {
	log := slog.Default() // an archive opened outside a DB: not counted
	if d := a.dmg; d != nil {
		k := damageKey{a.path, ring, b}
		d.mu.Lock()
		seen := d.seen[k]
		d.seen[k] = true
		d.mu.Unlock()
		if seen {
			return
		}
		d.count.Add(1)
		log = d.log
	}
	dm := a.blockDamage(ring, b)
	what := "served as unknown"
	if during == "write" {
		what = "its old rows set to unknown before a write"
	}
	args := []any{"file", a.path, "series", a.name, "rra", ring, "rows", fmt.Sprintf("%d-%d", dm.FirstRow, dm.LastRow)}
	if dm.Start != 0 {
		args = append(args, "from", dm.Start, "to", dm.End)
	}
	log.Warn("archive rows damaged (checksum mismatch): "+what, args...)
}

// Damage is one damaged block of rows, or (RRA −1) an archive file that
// cannot be read at all.
type Damage struct {
	Path     string `json:"path"`
	Series   string `json:"series,omitempty"`
	RRA      int    `json:"rra"`
	FirstRow int64  `json:"first_row"` // ring rows, both included
	LastRow  int64  `json:"last_row"`
	// Start and End are the end times of the first and the last row when
	// the block's rows are consecutive in time (0 when the ring's newest
	// row lies inside the block)
	Start int64  `json:"start,omitempty"`
	End   int64  `json:"end,omitempty"`
	Err   string `json:"error"`
}

func (d Damage) String() string {
	if d.RRA < 0 {
		return fmt.Sprintf("%s: %s", d.Path, d.Err)
	}
	s := fmt.Sprintf("%s: rra %d rows %d-%d: %s", d.Path, d.RRA, d.FirstRow, d.LastRow, d.Err)
	if d.Start != 0 {
		s += fmt.Sprintf(" (times %d to %d)", d.Start, d.End)
	}
	return s
}

// blockDamage describes block b of ring ring, with the times of its rows.
func (a *archive) blockDamage(ring int, b int64) Damage {
	ra := a.spec.RRA[ring]
	l, h := blockRows(ra.Rows, b)
	d := Damage{Path: a.path, Series: a.name, RRA: ring, FirstRow: l, LastRow: h - 1, Err: "row checksum mismatch"}
	if a.st == nil {
		return d
	}
	// the newest row (curRow) ends at the archive's last step; row r is
	// (curRow − r) mod Rows steps older
	span := ra.Steps * a.spec.Step
	newest := a.st.lastUp - a.st.lastUp%span
	cur := a.st.curRow[ring]
	age := func(r int64) int64 { return ((cur-r)%ra.Rows + ra.Rows) % ra.Rows }
	if cur >= l && cur < h-1 {
		return d // the ring wraps in time inside the block
	}
	d.Start, d.End = newest-age(l)*span, newest-age(h-1)*span
	return d
}

// syncFile fsyncs the journal file whatever this process wrote: records a
// killed process of this boot left unsynced are replayed into rows.
// (Kept here, beside the rule it serves, rather than in journal.go.)
func (j *journal) syncFile() error {
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("journal %s: fsync: %w", j.path, err)
	}
	j.mu.Lock()
	j.durable.Store(j.written)
	j.mu.Unlock()
	return nil
}

// DamagedBlocks is how many damaged row blocks reads and writes have found
// since Open (each block counted once).
func (db *DB) DamagedBlocks() int64 { return db.dmg.count.Load() }
