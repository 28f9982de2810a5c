package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"slices"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Archive file layout (little endian):
//
//	0      magic "RRDASH\x00\x01"
//	8      u32 length of the definition, u32 CRC-32C of it
//	16     definition: JSON {name, step, start, ds, rra, meta}
//	slots  three live-state slots (page aligned, sector aligned from
//	       version 4; two in version 1 files)
//	sums   version 3: the row checksum table, one u32 CRC-32C per block of
//	       64 rows of each ring, ring after ring (rowsum.go)
//	rows   one ring per archive: rows × data sources float64 (page aligned,
//	       sector aligned from version 4; stored XOR nanKey from version 4)
//
// A slot holds the live state with a rising generation, the checkpoint
// sequence it was written for, the boot it was written in and a checksum.
// Rows are written in place. A slot is trusted when it was written in the
// current boot (the page cache still holds everything written before it) or
// when a completed checkpoint synced it (its sequence is at most the
// journal's checkpoint sequence); the newest trusted slot is the state.
// Writes never touch the newest durable slot, and with three slots never
// the newest one either, so a torn write (kill -9, power loss) always
// leaves a state that the journal can be replayed onto. See docs/STORE.md.
var fileMagic = [8]byte{'R', 'R', 'D', 'A', 'S', 'H', 0, 4}

// fileMagicV3 marks files with row checksums whose rows are stored as
// plain doubles: created filled with NaN and fully allocated.
var fileMagicV3 = [8]byte{'R', 'R', 'D', 'A', 'S', 'H', 0, 3}

// fileMagicV2 marks files without row checksums; they are read and written
// as they are (no verification).
var fileMagicV2 = [8]byte{'R', 'R', 'D', 'A', 'S', 'H', 0, 2}

// fileMagicV1 marks files with two slots and no sequence or boot in them
// (and no row checksums); they are read and written (closing them takes a
// full checkpoint).
var fileMagicV1 = [8]byte{'R', 'R', 'D', 'A', 'S', 'H', 0, 1}

// fileVersion is the version new archives are written in. Version 4 is
// version 3 with every row stored XOR nanKey, so bytes never written (file
// holes, all zero) read as unknown: an archive is created sparse, with
// nothing but its head written, and a block whose checksum entry and rows
// are all zero is a valid block never written (rowsum.go).
const fileVersion = 4

// nanKey is what version 4 XORs every stored row value with: Go's NaN, so
// an unknown row is stored as zero bytes.
var nanKey = math.Float64bits(math.NaN())

// headRead is how much of an archive one pread takes at open: the header,
// the definition, the slots and a checksum table of up to 1,024 blocks.
const headRead = 20 << 10

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

const pageSize = 4096

type fileDef struct {
	Name  string            `json:"name"`
	Step  int64             `json:"step"`
	Start int64             `json:"start"`
	DS    []string          `json:"ds"`
	RRA   []string          `json:"rra"`
	Meta  map[string]string `json:"meta,omitempty"`
}

type layout struct {
	version                          int
	nslots                           int64
	slotOff, slotSize, rowsOff, size int64
	ringOff                          []int64 // byte offset of each archive's ring
	// version 3: the checksum table and, per ring, the index of its first
	// block's entry in it
	sumOff, sumLen int64
	ringBlock0     []int64
}

func alignUp(n, a int64) int64 { return (n + a - 1) / a * a }

// sectorSize aligns the head of version 4 files: each state slot has
// sectors of its own, so a torn write of one never touches another, and a
// small series' head fits in one page rather than five.
const sectorSize = 512

func computeLayout(spec *Spec, defLen, version int) layout {
	l := layout{version: version, nslots: 3}
	if version == 1 {
		l.nslots = 2
	}
	align := int64(pageSize)
	if version >= 4 {
		align = sectorSize
	}
	l.slotOff = alignUp(16+int64(defLen), align)
	l.slotSize = alignUp(int64(slotEnd(spec, version))+4, align)
	l.rowsOff = l.slotOff + l.nslots*l.slotSize
	if version >= 3 {
		l.sumOff = l.rowsOff
		var blocks int64
		for _, r := range spec.RRA {
			l.ringBlock0 = append(l.ringBlock0, blocks)
			blocks += ringBlocks(r.Rows)
		}
		l.sumLen = blocks * 4
		l.rowsOff = alignUp(l.sumOff+l.sumLen, align)
	}
	nds := int64(len(spec.DS))
	off := l.rowsOff
	for _, r := range spec.RRA {
		l.ringOff = append(l.ringOff, off)
		off += r.Rows * nds * 8
	}
	l.size = alignUp(off, pageSize)
	return l
}

// bootID names one boot of the machine (/proc/sys/kernel/random/boot_id).
type bootID [16]byte

// slotInfo is what is known of one state slot of an open archive.
type slotInfo struct {
	gen, seq uint64
	valid    bool // its checksum is right
	trusted  bool // written in this boot or synced by a checkpoint
}

// archive is one open series file.
type archive struct {
	path  string
	name  string
	spec  Spec
	meta  map[string]string
	model seriesModel // from meta: Graphite's data model, late mode
	f     archFD
	// pk is the pack file holding the archive (nil: a file of its own);
	// f.base is then where in it the archive starts (pack.go)
	pk    *packFile
	lay   layout
	mm    []byte
	rings [][]float64
	slots []slotInfo
	st    *state
	eng   *engine
	dirty bool // the state changed since a slot was last written
	torn  bool // a slot was found damaged when the file was opened
	// gone: the archive left the DB's memory (closed for good, or dropped
	// after a checkpoint); a Handle holding it looks the name up again
	gone bool

	// Row writes are collected in runs of consecutive rows and reach the
	// file only once the journal records that made them are durable
	// (flushRows): a row in the file is always one a replay rewrites, so
	// its block checksum can be recomputed rather than found stale.
	// An archive is not mapped until its rows are read, and writes each
	// run with one pwrite (flushRuns says why).
	unmapped bool
	pend     []rowRun
	pendOff  int64     // the journal offset that must be durable before pend is written
	lastRun  []int     // per ring: index in pend of its latest run, -1 for none
	queued   bool      // on the DB's list of archives to flush
	bufs     *[][]byte // run buffers shared by the DB's archives (under its lock)
	// waitOK: a group commit found every run of pend able to wait, and no
	// row has come or gone since; waitBytes is their size then. Later
	// commits keep it without looking again (rowwait.go).
	waitOK    bool
	waitBytes int

	// version 3: the checksum table — a view of the mapping, or a copy
	// kept equal to the file by flushRows
	sums []byte
	// sumLo, sumHi: the range of sums changed but not yet written (an
	// unmapped archive, with its file open; writeSums)
	sumLo, sumHi int64
	key          uint64 // XORed into every stored row value (nanKey from version 4)

	// fds, when set, bounds the open files: f is -1 while the archive is
	// closed (its state, pending rows and checksum table stay in memory)
	// and reopened on use (ensureOpen). prev and next link it in the
	// cache's LRU list.
	fds        *fdCache
	prev, next *archive

	// createdOff is the journal offset of the record that created the
	// archive in this process, in checkpoint epoch createdCkpt (0: none)
	createdOff  int64
	createdCkpt uint64
	// lastOff is the end of the last journal record that changed the
	// archive (its creation or an update), in checkpoint epoch lastCkpt;
	// pendingBatch while the batch changing it is not yet appended. Its
	// state may be written to a slot once that offset is durable.
	lastOff  int64
	lastCkpt uint64
	evicting bool        // the fd cache is dropping it (ensureOpen leaves the LRU alone)
	last     []lastBlock // per ring: the block sealed last
	dmg      *damageLog  // where damaged blocks are reported (nil: slog's default)
}

// rowRun is a run of consecutive rows of one ring waiting to be written.
type rowRun struct {
	ring  int
	first int64 // row index of the first row
	n     int64 // rows
	b     []byte
}

func (a *archive) ring(i int) []float64 { return a.rings[i] }

// rowKey is what stored row values are XORed with (fetch decodes with it).
func (a *archive) rowKey() uint64 { return a.key }

// decodeBits is the number a stored row value's bits hold: rows are
// stored XORed with the file's key (version 4: NaN's bits, so a hole reads
// unknown), in the mapping and in runs waiting for the journal alike.
func (a *archive) decodeBits(b uint64) float64 { return math.Float64frombits(b ^ a.key) }

// decodedRing returns a copy of ring i's values as numbers (mapped).
func (a *archive) decodedRing(i int) []float64 {
	out := slices.Clone(a.rings[i])
	if a.key != 0 {
		for k, v := range out {
			out[k] = a.decodeBits(math.Float64bits(v))
		}
	}
	return out
}

func (a *archive) putRow(ring int, r int64, vals []float64) {
	a.putRow1(ring, r, vals[0]) // a valid spec has a data source (Spec.validate)
	if len(vals) > 1 {
		run := &a.pend[a.lastRun[ring]] // the run putRow1 appended to
		for _, v := range vals[1:] {
			run.b = binary.LittleEndian.AppendUint64(run.b, math.Float64bits(v)^a.key)
		}
	}
}

// putRow1 stores a row's first value (its only one for a series of one
// data source: the one-DS engine path calls it directly, no slice).
func (a *archive) putRow1(ring int, r int64, v float64) {
	a.beginRows()
	a.appendRow1(ring, r, v)
}

// beginRows readies the archive for appendRow1: the rows to come change
// what a group commit found able to wait, and lastRun exists.
func (a *archive) beginRows() {
	a.waitOK = false
	if a.lastRun == nil {
		a.lastRun = make([]int, len(a.spec.RRA))
		for i := range a.lastRun {
			a.lastRun[i] = -1
		}
	}
}

// appendRow1 is putRow1 after beginRows: writeRows1 calls beginRows once
// for the rows of an update.
func (a *archive) appendRow1(ring int, r int64, v float64) {
	// Rings interleave (a row of each consolidation level in turn), so a
	// run continues its ring's latest run; runs are written in order, so
	// a ring that wraps within a batch still ends up right.
	if k := a.lastRun[ring]; k >= 0 {
		if run := &a.pend[k]; run.first+run.n == r {
			run.b = binary.LittleEndian.AppendUint64(run.b, math.Float64bits(v)^a.key)
			run.n++
			return
		}
	}
	a.lastRun[ring] = len(a.pend)
	a.pend = append(a.pend, rowRun{ring: ring, first: r, n: 1, b: binary.LittleEndian.AppendUint64(a.runBuf(), math.Float64bits(v)^a.key)})
}

// runBuf reuses the buffer of a flushed run (of any archive): fresh ones
// would fault in new heap pages for every archive a batch touches.
func (a *archive) runBuf() []byte {
	if a.bufs == nil || len(*a.bufs) == 0 {
		// small: a batch over many series holds one per series until
		// its fsync (a 4 KiB one each made a replay of a million series
		// hold 4 GB)
		return make([]byte, 0, 64)
	}
	free := *a.bufs
	b := free[len(free)-1]
	*a.bufs = free[:len(free)-1]
	return b
}

// mapRows maps the file for reading rows (and, from then on, writing
// them). Rows still waiting for their journal records stay waiting.
func (a *archive) mapRows() error {
	if err := a.ensureOpen(); err != nil {
		return err
	}
	if a.mm != nil {
		return nil
	}
	mm, err := syscall.Mmap(int(a.f.fd), a.f.base, int(a.lay.size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("archive %s: mmap: %w", a.path, err)
	}
	a.mm = mm
	nds := len(a.spec.DS)
	a.rings = a.rings[:0]
	for i, r := range a.spec.RRA {
		off := a.lay.ringOff[i]
		a.rings = append(a.rings, unsafe.Slice((*float64)(unsafe.Pointer(&mm[off])), int(r.Rows)*nds))
	}
	if a.sums != nil {
		// flushRows wrote every change of the copy to the file but the
		// entries that wait (writeSums)
		if err := a.writeSums(); err != nil {
			syscall.Munmap(mm)
			return err
		}
		a.sums = mm[a.lay.sumOff : a.lay.sumOff+a.lay.sumLen]
	}
	return nil
}

// encodeDef encodes a definition; args is specArgs(spec), when the caller
// has it already.
func encodeDef(name string, spec *Spec, meta map[string]string, args []string) []byte {
	if args == nil {
		args = specArgs(spec)
	}
	nds := len(spec.DS)
	d := fileDef{Name: name, Step: spec.Step, Start: spec.Start, Meta: meta, DS: args[:nds:nds], RRA: args[nds:]}
	b, _ := json.Marshal(d)
	return b
}

// createOptions say how an archive file is made.
type createOptions struct {
	version int
	stamp   slotStamp // of the first state slot
	// sync fsyncs the file before its rename (a creation the journal does
	// not hold must be durable by itself)
	sync bool
	// prealloc allocates every block of the file (a full disk fails the
	// creation, not a later write); otherwise only the head is allocated
	// and the rows are a hole until written (version 4)
	prealloc bool
	unmapped bool     // the archive returned is not mapped
	args     []string // specArgs of the definition, when known
	// noReplace fails with errExists when path exists (one atomic
	// renameat2 instead of a stat and a rename)
	noReplace bool
}

// errExists is makeArchive's refusal to replace a file (noReplace).
var errExists = errors.New("exists")

// renameInto renames tmp to path; with noReplace it refuses an existing
// path (RENAME_NOREPLACE, or a stat first where the file system has no
// such flag).
func renameInto(tmp, path string, noReplace bool) error {
	if !noReplace {
		return os.Rename(tmp, path)
	}
	err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, path, unix.RENAME_NOREPLACE)
	switch err {
	case nil:
		return nil
	case unix.EEXIST:
		return errExists
	case unix.EINVAL, unix.ENOSYS:
		if _, err := os.Stat(path); err == nil {
			return errExists
		}
		return os.Rename(tmp, path)
	}
	return &os.LinkError{Op: "rename", Old: tmp, New: path, Err: err}
}

// createArchiveVersion writes a file with the first state in slot 0
// (generation 1, durable: it is synced) and closes it; tests of older
// formats use it.
func createArchiveVersion(path, name string, spec *Spec, meta map[string]string, st *state, rows [][]float64, version int) error {
	a, err := makeArchive(path, name, spec, meta, st, rows, createOptions{version: version, stamp: slotStamp{gen: 1}, sync: true, prealloc: true, unmapped: true})
	if err != nil {
		return err
	}
	return a.close()
}

// makeArchive writes a new file at path (via a temporary file and a
// rename, so a file under its own name is always whole in the page cache)
// and returns it open. Rows of version 4 files are written only when rows
// is given (an import); otherwise they are a hole that reads as unknown.
func makeArchive(path, name string, spec *Spec, meta map[string]string, st *state, rows [][]float64, co createOptions) (*archive, error) {
	version := co.version
	def := encodeDef(name, spec, meta, co.args)
	lay := computeLayout(spec, len(def), version)
	tmp := path + ".tmp"
	fd, err := syscall.Open(tmp, syscall.O_RDWR|syscall.O_CREAT|syscall.O_TRUNC|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, &os.PathError{Op: "create", Path: tmp, Err: err}
	}
	f := fileFD(fd)
	fail := func(err error) (*archive, error) {
		f.close()
		os.Remove(tmp)
		return nil, err
	}
	// Reserve the blocks now so a full disk fails here, not on a later
	// write: all of them, or (sparse) the head's, which the write of the
	// head below allocates (the checksum table is written through the
	// mapping, where a full disk would be a SIGBUS).
	sparse := !co.prealloc && version >= 4 && rows == nil
	if !sparse {
		if err := syscall.Fallocate(fd, 0, 0, lay.size); err != nil && !errors.Is(err, syscall.EOPNOTSUPP) {
			return fail(fmt.Errorf("allocating %d bytes: %w", lay.size, err))
		}
	}
	if err := syscall.Ftruncate(fd, lay.size); err != nil {
		return fail(fmt.Errorf("setting the size to %d: %w", lay.size, err))
	}
	sums, err := writeNew(archFD{fd: f}, spec, st, rows, def, &lay, co.stamp, sparse)
	if err != nil {
		return fail(err)
	}
	if co.sync {
		if err := syscall.Fsync(fd); err != nil {
			return fail(fmt.Errorf("fsync: %w", err))
		}
	}
	if err := renameInto(tmp, path, co.noReplace); err != nil {
		return fail(err)
	}
	return newArchive(archFD{fd: f}, path, name, spec, meta, st, lay, sums, co)
}

// newArchive is the archive just written by writeNew (open; mapped unless
// co.unmapped).
func newArchive(f archFD, path, name string, spec *Spec, meta map[string]string, st *state, lay layout, sums []byte, co createOptions) (*archive, error) {
	var key uint64
	if lay.version >= 4 {
		key = nanKey
	}
	a := &archive{path: path, name: name, spec: *spec, meta: meta, model: modelOf(meta), f: f, lay: lay, st: st, unmapped: true, key: key}
	a.slots = make([]slotInfo, lay.nslots)
	a.slots[0] = slotInfo{gen: co.stamp.gen, seq: co.stamp.seq, valid: true, trusted: true}
	if lay.version >= 3 {
		a.sums = sums
	}
	if !co.unmapped {
		a.unmapped = false
		if err := a.mapRows(); err != nil {
			a.close()
			return nil, err
		}
	}
	a.eng = newEngine(&a.spec, a.st, a)
	return a, nil
}

// writeNew writes a new archive's head — and its rows when they are given
// (an import) or the format is older than 4 — at f (relative to f.base),
// and returns the row checksum table (version 3 on).
func writeNew(f archFD, spec *Spec, st *state, rows [][]float64, def []byte, lay *layout, stamp slotStamp, sparse bool) ([]byte, error) {
	version := lay.version
	head := make([]byte, 16+len(def))
	switch version {
	case 1:
		copy(head, fileMagicV1[:])
	case 2:
		copy(head, fileMagicV2[:])
	case 3:
		copy(head, fileMagicV3[:])
	default:
		copy(head, fileMagic[:])
	}
	binary.LittleEndian.PutUint32(head[8:], uint32(len(def)))
	binary.LittleEndian.PutUint32(head[12:], crc32.Checksum(def, castagnoli))
	copy(head[16:], def)
	// the first state: durable once the file is synced, or once the
	// checkpoint its stamp names is
	head = append(head, make([]byte, lay.slotOff-int64(len(head)))...)
	head = append(head, encodeSlot(spec, st, stamp, lay)...)
	if sparse {
		head = append(head, make([]byte, lay.rowsOff-int64(len(head)))...)
	}
	if err := f.writeAt(head, 0); err != nil {
		return nil, fmt.Errorf("writing the head: %w", err)
	}
	var key uint64
	if version >= 4 {
		key = nanKey
	}
	nds := len(spec.DS)
	sums := make([]byte, lay.sumLen)
	if version < 4 || rows != nil {
		for i, r := range spec.RRA {
			buf := make([]byte, int(r.Rows)*nds*8)
			for k := range buf[:len(buf)/8] {
				v := math.NaN()
				if rows != nil {
					v = rows[i][k]
				}
				binary.LittleEndian.PutUint64(buf[k*8:], math.Float64bits(v)^key)
			}
			if err := f.writeAt(buf, lay.ringOff[i]); err != nil {
				return nil, err
			}
			if version >= 3 {
				rb := int64(nds * 8)
				for b := int64(0); b < ringBlocks(r.Rows); b++ {
					lo, hi := blockRows(r.Rows, b)
					putSum(sums, lay.ringBlock0[i]+b, sealSum(version, i, b, buf[lo*rb:hi*rb]))
				}
			}
		}
		if version >= 3 {
			if err := f.writeAt(sums, lay.sumOff); err != nil {
				return nil, err
			}
		}
	}
	if version < 3 {
		return nil, nil
	}
	return sums, nil
}

// openArchive maps an existing file. A torn or corrupt file is reported by
// path and never read as data.
func openArchive(path string, tr trust, unmapped bool, scratch []byte) (*archive, error) {
	f, err := openFD(path)
	if err != nil {
		return nil, err
	}
	var fst syscall.Stat_t
	if err := syscall.Fstat(int(f), &fst); err != nil {
		f.close()
		return nil, fmt.Errorf("archive %s: stat: %w", path, err)
	}
	a, err := readArchive(archFD{fd: f}, fst.Size, false, path, tr, unmapped, scratch)
	if err != nil {
		f.close()
		return nil, fmt.Errorf("archive %s: %w", path, err)
	}
	return a, nil
}

// readArchive reads the archive of size bytes at f (a file, or a place of
// a pack: packed). A place whose head was never written (all zero, or
// past the pack's end) reads as errNeverDurable: its creation never
// reached the disk.
func readArchive(f archFD, size int64, packed bool, path string, tr trust, unmapped bool, scratch []byte) (*archive, error) {
	// One read usually covers the header, the definition, the slots and
	// the checksum table; the buffer is the caller's, reused from archive
	// to archive.
	if int64(cap(scratch)) < min(size, headRead) {
		scratch = make([]byte, min(size, headRead))
	}
	buf := scratch[:min(size, headRead)]
	if n, err := f.readAt(buf, 0); n < 16 {
		if packed && allZero(buf[:n]) {
			return nil, errNeverDurable
		}
		return nil, fmt.Errorf("truncated header: %v", err)
	}
	version := fileVersion
	switch [8]byte(buf[:8]) {
	case fileMagic:
	case fileMagicV3:
		version = 3
	case fileMagicV2:
		version = 2
	case fileMagicV1:
		version = 1
	default:
		if packed && allZero(buf[:16]) {
			return nil, errNeverDurable
		}
		return nil, errors.New("not an rrdash archive (bad magic)")
	}
	n := int64(binary.LittleEndian.Uint32(buf[8:]))
	if 16+n > size || n > 1<<24 {
		return nil, errors.New("corrupt header length")
	}
	def, err := readRange(f, buf, 16, n)
	if err != nil {
		return nil, fmt.Errorf("truncated definition: %w", err)
	}
	if crc32.Checksum(def, castagnoli) != binary.LittleEndian.Uint32(buf[12:]) {
		return nil, errors.New("definition checksum mismatch")
	}
	var d fileDef
	if err := json.Unmarshal(def, &d); err != nil {
		return nil, fmt.Errorf("definition: %w", err)
	}
	spec, err := ParseSpecArgs(d.Step, d.Start, append(d.DS, d.RRA...))
	if err != nil {
		return nil, fmt.Errorf("definition: %w", err)
	}
	lay := computeLayout(&spec, len(def), version)
	if size != lay.size {
		if packed {
			return nil, fmt.Errorf("place of %d bytes for an archive of %d (corrupt)", size, lay.size)
		}
		return nil, fmt.Errorf("size %d, want %d (truncated or corrupt)", size, lay.size)
	}
	slots, err := readRange(f, buf, lay.slotOff, lay.nslots*lay.slotSize)
	if err != nil {
		return nil, fmt.Errorf("state slots: %w", err)
	}
	a := &archive{path: path, name: d.Name, spec: spec, meta: d.Meta, model: modelOf(d.Meta), f: f, lay: lay, unmapped: unmapped}
	if version >= 4 {
		a.key = nanKey
	}
	if version >= 3 {
		sums, err := readRange(f, buf, lay.sumOff, lay.sumLen)
		if err != nil {
			return nil, fmt.Errorf("checksum table: %w", err)
		}
		a.sums = append([]byte(nil), sums...) // buf is reused
	}
	var best *state
	var bestGen uint64
	for s := int64(0); s < lay.nslots; s++ {
		b := slots[s*lay.slotSize : (s+1)*lay.slotSize]
		st, stamp, ok := decodeSlot(&spec, b, version)
		trusted := ok && tr.trusts(stamp)
		a.slots = append(a.slots, slotInfo{gen: stamp.gen, seq: stamp.seq, valid: ok, trusted: trusted})
		switch {
		case !ok:
			a.torn = a.torn || !allZero(b)
		case !trusted:
			// written in an earlier boot and never synced by a checkpoint:
			// what it says may not be on disk. A fresh slot (with a higher
			// generation) must replace it before a checkpoint could make
			// it look durable.
			a.dirty = true
		case stamp.gen > bestGen:
			best, bestGen = st, stamp.gen
		}
	}
	if best == nil {
		for _, sl := range a.slots {
			if sl.valid {
				return nil, errNeverDurable
			}
		}
		return nil, errors.New("no valid state slot (corrupt header)")
	}
	a.st = best
	if !unmapped {
		if err := a.mapRows(); err != nil {
			return nil, err
		}
	}
	a.eng = newEngine(&a.spec, a.st, a)
	return a, nil
}

// errNeverDurable is an archive whose state slots are valid but none is
// trusted: written in an earlier boot for a checkpoint that never
// completed. Only a creation through the journal leaves such a file (every
// other archive keeps a durable slot): if its creation record is in the
// journal the replay makes the file again; otherwise the creation was never
// acknowledged, and the file is as if it did not exist.
var errNeverDurable = errors.New("its state was never made durable (a creation never acknowledged before a reboot)")

// close closes the archive for good.
func (a *archive) close() error {
	serr := a.writeSums()
	a.gone = true
	if a.fds != nil {
		a.fds.unlink(a)
	}
	a.sums = nil // no copy of a mapped table
	a.sumLo, a.sumHi = 0, 0
	if err := a.release(); err != nil {
		return err
	}
	return serr
}

// release unmaps and closes the file; the archive's state, pending rows
// and checksum table stay in memory, and ensureOpen reopens it. Nothing
// needs syncing first: what was written is in the page cache, and a
// checkpoint's syncfs covers closed files too.
func (a *archive) release() error {
	var err error
	if a.mm != nil {
		if a.sums != nil {
			a.sums = slices.Clone(a.sums) // a view of the mapping until now
		}
		err = syscall.Munmap(a.mm)
		a.mm, a.rings = nil, a.rings[:0]
	}
	// the bytes of the last sealed block are kept only when writing with
	// pwrite: a reopened archive writes that way until it is read
	for i := range a.last {
		a.last[i].ok = false
	}
	if a.f.fd >= 0 && a.sumHi > a.sumLo {
		// the checksum entries that wait go before the file closes: a
		// closed archive has none waiting (kept on a failure, for the
		// next flushRows)
		if serr := a.writeSums(); err == nil {
			err = serr
		}
	}
	if a.f.fd >= 0 {
		if a.pk != nil {
			a.pk.unref()
		} else if cerr := a.f.fd.close(); err == nil {
			err = cerr
		}
		a.f.fd = -1
	}
	return err
}
