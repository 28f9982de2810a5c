package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"syscall"
)

// Pack files: many archives in one file (docs/STORE.md, "Pack files").
//
// Creating a regular file costs this project's machine 100–500 µs of
// kernel CPU, so one file per series caps creation far below 10,000 a
// second. A series created through the journal (Ensure, EnsureAsync,
// Create without overwrite) therefore takes a *place* in a pack,
// DATA/packs/NNNNNN.pack: a page-aligned range holding exactly the layout
// of an archive file (header, definition, slots, checksum table, rings),
// relative to the place's start. Packs are sparse: a place's rows are a
// hole until written and read as unknown, like a file's.
//
// DATA/packs/index says which series is where: an append-only log of
// checksummed records (place: name at pack/offset/size; free: the place
// was released; moving: the series is being rewritten as a file of its
// own). Records reach the page cache with the creation and become durable
// with the next checkpoint's syncfs, like the archives; a record a crash
// lost belongs to a creation since that checkpoint, which the journal
// makes again. Deleting fsyncs the index (as deleting a file fsyncs its
// directory). Open reads the index once (packload.go; kept compact, packnames.go); a torn tail is
// cut, as the journal's.
//
// Invariants: a name is in the index or has a file in DATA/series, never
// both, except while "moving" (settled at Open: the file wins when it is
// there). A place is reused only after a hole is punched into it, and
// everything past the last place of a pack is punched at Open, so a new
// place always starts as zero bytes whatever a crash left there.

const (
	packDirName   = "packs"
	packIndexName = "index"
	packMaxSize   = 64 << 30 // a pack's largest (logical, sparse) size
	packGrowStep  = 64 << 20 // packs grow by ftruncate in steps this big (sparse: a step costs one syscall, no disk)
	maxPacks      = 1 << 20
)

var packIndexMagic = [8]byte{'R', 'R', 'D', 'P', 'I', 'D', 'X', 1}

// place is where an archive lies in a pack.
type place struct {
	pack int32
	off  int64 // page aligned
	size int64 // page aligned, the archive's layout size
}

// Kinds of index records.
const (
	packRecPlace  = 1 // name is at place
	packRecFree   = 2 // place (of name) is released
	packRecMoving = 3 // name is being made a file of its own: the file wins once there
)

type packRec struct {
	kind byte
	name string
	pl   place
}

// packRecHead is a record's frame: payload length, CRC-32C of the
// payload; packRecFixed the payload before the name (kind, pack, offset,
// size).
const (
	packRecHead  = 8
	packRecFixed = 1 + 4 + 8 + 8
)

func appendPackRec(b []byte, r packRec) []byte {
	return appendRawPackRec(b, r.kind, r.name, r.pl)
}

func appendRawPackRec[S string | []byte](b []byte, kind byte, name S, pl place) []byte {
	n := packRecFixed + len(name)
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	at := len(b)
	b = append(b, 0, 0, 0, 0, kind)
	b = binary.LittleEndian.AppendUint32(b, uint32(pl.pack))
	b = binary.LittleEndian.AppendUint64(b, uint64(pl.off))
	b = binary.LittleEndian.AppendUint64(b, uint64(pl.size))
	b = append(b, name...)
	binary.LittleEndian.PutUint32(b[at:], crc32.Checksum(b[at+4:], castagnoli))
	return b
}

// decodePackIndex decodes an index file: the records up to the first one
// that does not verify, and where that one starts (len(b) when all do).
// A bad magic is an error: the magic is synced before any record exists.
func decodePackIndex(b []byte) ([]packRec, int64, error) {
	var recs []packRec
	end, err := walkPackIndex(b, func(r packRec) { recs = append(recs, r) })
	return recs, end, err
}

// walkPackIndex is decodePackIndex handing each record to f (Open: a
// million records are applied without a slice of them).
func walkPackIndex(b []byte, f func(packRec)) (int64, error) {
	if len(b) < len(packIndexMagic) || [8]byte(b[:8]) != packIndexMagic {
		return 0, errors.New("not an rrdash pack index (bad magic)")
	}
	off := len(packIndexMagic)
	for off < len(b) {
		r, n, ok := decodePackRec(b[off:])
		if !ok {
			break
		}
		f(r)
		off += n
	}
	return int64(off), nil
}

// decodePackRec decodes one record and its length; ok is false unless it
// verifies and every field is in bounds.
func decodePackRec(b []byte) (packRec, int, bool) {
	r, n, ok := decodePackRecRaw(b)
	if !ok {
		return packRec{}, 0, false
	}
	return packRec{kind: r.kind, name: string(r.name), pl: r.pl}, n, true
}

// packFile is one pack: its descriptor is shared by the archives in it
// that the fd cache holds open (refs), and closed with the last.
type packFile struct {
	path string
	fd   fileFD
	refs int
	end  int64 // the end of the last place allocated in it
	size int64 // its size as this process last set it (0: unknown)
}

func (pk *packFile) ref() (fileFD, error) {
	if pk.fd < 0 {
		fd, err := openFD(pk.path)
		if err != nil {
			return -1, err
		}
		pk.fd = fd
	}
	pk.refs++
	return pk.fd, nil
}

func (pk *packFile) unref() {
	pk.refs--
	if pk.refs <= 0 && pk.fd >= 0 {
		pk.fd.close()
		pk.fd, pk.refs = -1, 0
	}
}

// packSet is a data directory's packs and their index (used under the
// DB's lock).
type packSet struct {
	dir      string
	readOnly bool
	log      *slog.Logger
	idx      fileFD // the index, open for appending; -1: not made yet
	idxEnd   int64
	unsynced bool // records appended since the index was last fsynced
	packs    []*packFile
	names    packNames // where each series lies (packnames.go)
	moving   map[string]place
	free     map[int64][]place // released places by size
	buf      []byte
	// minCompact is the smallest index compact rewrites (compactMin;
	// tests lower it)
	minCompact int64
}

// openPacks reads DATA/packs/index. A reader ignores a torn tail; a
// writer cuts it and punches every pack's bytes past its last place.
// Directories without packs open with none (made at the first creation).
func openPacks(dataDir string, readOnly bool, log *slog.Logger) (*packSet, error) {
	if log == nil {
		log = slog.Default()
	}
	ps := &packSet{dir: filepath.Join(dataDir, packDirName), readOnly: readOnly, log: log, idx: -1,
		moving: map[string]place{}, free: map[int64][]place{}, minCompact: compactMin}
	ip := filepath.Join(ps.dir, packIndexName)
	b, unmap, err := readIndexFile(ip)
	if errors.Is(err, os.ErrNotExist) {
		return ps, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pack index %s: %w", ip, err)
	}
	good, err := ps.loadIndex(b)
	size := int64(len(b))
	unmap()
	if err != nil {
		return nil, fmt.Errorf("pack index %s: %w", ip, err)
	}
	ps.idxEnd = good
	if readOnly {
		return ps, nil
	}
	fd, err := syscall.Open(ip, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: ip, Err: err}
	}
	ps.idx = fileFD(fd)
	if good < size {
		// what a crash leaves: records appended since the last checkpoint
		// and never synced (their creations are in the journal)
		if err := syscall.Ftruncate(fd, good); err != nil {
			ps.close()
			return nil, fmt.Errorf("pack index %s: cutting a torn tail at %d: %w", ip, good, err)
		}
		log.Warn("pack index: cut a torn tail (records of creations since the last checkpoint; the journal makes them again)",
			"file", ip, "offset", good, "bytes", size-good)
	}
	for _, pk := range ps.packs {
		if err := ps.settleTail(pk); err != nil {
			ps.close()
			return nil, err
		}
	}
	return ps, nil
}

func (ps *packSet) addFree(pl place) {
	if !slices.Contains(ps.free[pl.size], pl) {
		ps.free[pl.size] = append(ps.free[pl.size], pl)
	}
}

// settleTail makes a pack at least as long as its places and punches
// what lies past them: a place allocated there later starts as zeros
// even if a crash lost its index record but not its rows.
func (ps *packSet) settleTail(pk *packFile) error {
	fd, err := pk.ref()
	if errors.Is(err, os.ErrNotExist) {
		return nil // every place in it reads as never written
	}
	if err != nil {
		return fmt.Errorf("pack %s: %w", pk.path, err)
	}
	defer pk.unref()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(fd), &st); err != nil {
		return fmt.Errorf("pack %s: stat: %w", pk.path, err)
	}
	pk.size = st.Size
	if pk.size < pk.end {
		if err := syscall.Ftruncate(int(fd), pk.end); err != nil {
			return fmt.Errorf("pack %s: extending to %d: %w", pk.path, pk.end, err)
		}
		pk.size = pk.end
	}
	if pk.size > pk.end {
		if err := punch(fd, pk.end, pk.size-pk.end); err != nil {
			return fmt.Errorf("pack %s: clearing past %d: %w", pk.path, pk.end, err)
		}
	}
	return nil
}

// punch deallocates a range: it reads as zeros (unknown rows) from then on.
func punch(fd fileFD, off, n int64) error {
	const mode = 0x02 | 0x01 // FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
	for {
		err := syscall.Fallocate(int(fd), mode, off, n)
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EOPNOTSUPP {
			// no hole punching: write the zeros
			for done := int64(0); done < n; {
				k := min(n-done, int64(len(zeroPage)))
				if err := fd.writeAt(zeroPage[:k], off+done); err != nil {
					return err
				}
				done += k
			}
			return nil
		}
		return err
	}
}

// lookup returns where name lies, if in a pack. moving: a file of its own
// may have replaced it (the file wins when it exists).
func (ps *packSet) lookup(name string) (pl place, ok, moving bool) {
	pl, ok = ps.names.get(name)
	if ok {
		_, moving = ps.moving[name]
	}
	return pl, ok, moving
}

// pathOf is how messages name the archive of series name at pl: the
// pack, the offset and the series.
func (ps *packSet) pathOf(pl place, name string) string {
	return fmt.Sprintf("%s@%d (series %s)", ps.packs[pl.pack].path, pl.off, name)
}

// openArchive reads the archive at pl (holding the pack's descriptor).
func (ps *packSet) openArchive(name string, pl place, tr trust, unmapped bool, scratch []byte) (*archive, error) {
	pk := ps.packs[pl.pack]
	path := ps.pathOf(pl, name)
	fd, err := pk.ref()
	if err != nil {
		return nil, fmt.Errorf("archive %s: %w", path, err)
	}
	a, err := readArchive(archFD{fd: fd, base: pl.off}, pl.size, true, path, tr, unmapped, scratch)
	if err != nil {
		pk.unref()
		return nil, fmt.Errorf("archive %s: %w", path, err)
	}
	a.pk = pk
	return a, nil
}

// makeArchive writes a new series into a place of the open pack (its
// rows a hole) and appends its index record; nothing is synced (the
// journal's creation record and the next checkpoint make it durable).
func (ps *packSet) makeArchive(name string, spec *Spec, meta map[string]string, st *state, co createOptions) (*archive, error) {
	def := encodeDef(name, spec, meta, co.args)
	lay := computeLayout(spec, len(def), fileVersion)
	pl, err := ps.alloc(lay.size)
	if err != nil {
		return nil, err
	}
	pk := ps.packs[pl.pack]
	fd, err := pk.ref()
	if err != nil {
		ps.addFree(pl)
		return nil, fmt.Errorf("pack %s: %w", pk.path, err)
	}
	fail := func(err error) (*archive, error) {
		pk.unref()
		ps.addFree(pl)
		return nil, fmt.Errorf("pack %s at %d: %w", pk.path, pl.off, err)
	}
	if co.prealloc {
		if err := syscall.Fallocate(int(fd), 0x01, pl.off, pl.size); err != nil && !errors.Is(err, syscall.EOPNOTSUPP) {
			return fail(fmt.Errorf("allocating %d bytes: %w", pl.size, err))
		}
	}
	f := archFD{fd: fd, base: pl.off}
	sums, err := writeNew(f, spec, st, nil, def, &lay, co.stamp, true)
	if err != nil {
		return fail(err)
	}
	if err := ps.append(packRec{kind: packRecPlace, name: name, pl: pl}); err != nil {
		return fail(err)
	}
	ps.names.set(name, pl)
	a, err := newArchive(f, ps.pathOf(pl, name), name, spec, meta, st, lay, sums, co)
	if err != nil {
		pk.unref()
		return nil, err
	}
	a.pk = pk
	return a, nil
}

// alloc finds a place of size bytes: a released one of that size (its
// hole punched again: a crash may have left rows in it), else the end of
// the open pack, grown or followed by a new pack as needed.
func (ps *packSet) alloc(size int64) (place, error) {
	if ps.readOnly {
		return place{}, errReadOnly
	}
	if err := ps.ensureIndex(); err != nil {
		return place{}, err
	}
	if l := ps.free[size]; len(l) > 0 {
		pl := l[len(l)-1]
		ps.free[size] = l[:len(l)-1]
		pk := ps.packs[pl.pack]
		fd, err := pk.ref()
		if err == nil {
			err = punch(fd, pl.off, pl.size)
			pk.unref()
		}
		if err != nil {
			ps.addFree(pl)
			return place{}, fmt.Errorf("pack %s: clearing a released place at %d: %w", pk.path, pl.off, err)
		}
		return pl, nil
	}
	if size > packMaxSize {
		return place{}, fmt.Errorf("an archive of %d bytes is larger than a pack (%d)", size, int64(packMaxSize))
	}
	var pk *packFile
	if n := len(ps.packs); n > 0 && ps.packs[n-1].end+size <= packMaxSize {
		pk = ps.packs[n-1]
	} else {
		var err error
		if pk, err = ps.newPack(); err != nil {
			return place{}, err
		}
	}
	pl := place{pack: int32(len(ps.packs) - 1), off: pk.end, size: size}
	if need := pl.off + size; need > pk.size {
		grow := min(alignUp(need, packGrowStep), packMaxSize)
		if err := syscall.Truncate(pk.path, grow); err != nil {
			return place{}, fmt.Errorf("pack %s: growing to %d: %w", pk.path, grow, err)
		}
		pk.size = grow
	}
	pk.end += size
	return pl, nil
}

// newPack makes the next pack file, sparse; the directory is synced so
// that index records naming it never outlive it. A file already there
// under its name is one whose records a crash lost (a durable record
// naming it would have made it known): nothing in it is anyone's, so it
// is cut to nothing first.
func (ps *packSet) newPack() (*packFile, error) {
	if len(ps.packs) >= maxPacks {
		return nil, fmt.Errorf("pack directory %s: %d packs, no more", ps.dir, maxPacks)
	}
	pk := &packFile{path: filepath.Join(ps.dir, fmt.Sprintf("%06d.pack", len(ps.packs))), fd: -1}
	fd, err := syscall.Open(pk.path, syscall.O_RDWR|syscall.O_CREAT|syscall.O_TRUNC|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, &os.PathError{Op: "create", Path: pk.path, Err: err}
	}
	err = syscall.Ftruncate(fd, packGrowStep)
	syscall.Close(fd)
	if err == nil {
		err = syncDir(ps.dir)
	}
	if err != nil {
		os.Remove(pk.path)
		return nil, fmt.Errorf("pack %s: %w", pk.path, err)
	}
	pk.size = packGrowStep
	ps.packs = append(ps.packs, pk)
	return pk, nil
}

// ensureIndex makes DATA/packs and its index (magic synced, directories
// synced) at the first creation in a data directory.
func (ps *packSet) ensureIndex() error {
	if ps.idx >= 0 {
		return nil
	}
	if ps.readOnly {
		return fmt.Errorf("pack index: %w", errReadOnly)
	}
	if err := os.MkdirAll(ps.dir, 0o755); err != nil {
		return fmt.Errorf("pack directory: %w", err)
	}
	ip := filepath.Join(ps.dir, packIndexName)
	fd, err := syscall.Open(ip, syscall.O_RDWR|syscall.O_CREAT|syscall.O_TRUNC|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return &os.PathError{Op: "create", Path: ip, Err: err}
	}
	f := fileFD(fd)
	err = f.writeAt(packIndexMagic[:], 0)
	if err == nil {
		err = syscall.Fsync(fd)
	}
	if err == nil {
		err = syncDir(ps.dir)
	}
	if err == nil {
		err = syncDir(filepath.Dir(ps.dir))
	}
	if err != nil {
		f.close()
		return fmt.Errorf("pack index %s: %w", ip, err)
	}
	ps.idx, ps.idxEnd = f, int64(len(packIndexMagic))
	return nil
}

// append writes one record at the index's end (page cache only).
func (ps *packSet) append(r packRec) error {
	if err := ps.ensureIndex(); err != nil {
		return err
	}
	ps.buf = appendPackRec(ps.buf[:0], r)
	if err := ps.idx.writeAt(ps.buf, ps.idxEnd); err != nil {
		return fmt.Errorf("pack index %s: %w", filepath.Join(ps.dir, packIndexName), err)
	}
	ps.idxEnd += int64(len(ps.buf))
	ps.unsynced = true
	return nil
}

// sync makes the records appended so far durable.
func (ps *packSet) sync() error {
	if !ps.unsynced || ps.idx < 0 {
		return nil
	}
	if err := syscall.Fsync(int(ps.idx)); err != nil {
		return fmt.Errorf("pack index %s: fsync: %w", filepath.Join(ps.dir, packIndexName), err)
	}
	ps.unsynced = false
	return nil
}

// release frees name's place: the record first (durable with sync, or
// with the next checkpoint), then the hole, so the place never reads as
// the series while it is not.
func (ps *packSet) release(name string, pl place, sync bool) error {
	if err := ps.append(packRec{kind: packRecFree, name: name, pl: pl}); err != nil {
		return err
	}
	if sync {
		if err := ps.sync(); err != nil {
			return err
		}
	}
	ps.names.del(name)
	delete(ps.moving, name)
	ps.addFree(pl)
	pk := ps.packs[pl.pack]
	fd, err := pk.ref()
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pack %s: %w", pk.path, err)
	}
	defer pk.unref()
	if err := punch(fd, pl.off, pl.size); err != nil {
		return fmt.Errorf("pack %s: releasing the place at %d: %w", pk.path, pl.off, err)
	}
	return nil
}

// markMoving records, durably, that name is about to become a file of its
// own (an overwriting create, an import, a tune): after a crash the file
// wins if it is there, else the place still holds the series.
func (ps *packSet) markMoving(name string, pl place) error {
	if err := ps.append(packRec{kind: packRecMoving, name: name, pl: pl}); err != nil {
		return err
	}
	if err := ps.sync(); err != nil {
		return err
	}
	ps.moving[name] = pl
	return nil
}

// unmark cancels markMoving (the file was not made): the place record
// again.
func (ps *packSet) unmark(name string, pl place) error {
	delete(ps.moving, name)
	return ps.append(packRec{kind: packRecPlace, name: name, pl: pl})
}

// sortedNames returns the packed series' names, sorted (a new slice).
func (ps *packSet) sortedNames() []string { return ps.names.sortedNames() }

func (ps *packSet) close() error {
	var err error
	if ps.idx >= 0 {
		err = ps.idx.close()
		ps.idx = -1
	}
	return err
}

// mergeSorted merges two sorted lists of distinct names into a new one.
func mergeSorted(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		switch {
		case a[0] < b[0]:
			out, a = append(out, a[0]), a[1:]
		case b[0] < a[0]:
			out, b = append(out, b[0]), b[1:]
		default:
			out, a, b = append(out, a[0]), a[1:], b[1:]
		}
	}
	out = append(out, a...)
	return append(out, b...)
}

// compactMin is the smallest index compact rewrites.
const compactMin = 1 << 20

// compact rewrites the index as it stands — a free record per released
// place, then a place record per series — when it has grown past twice
// that and compactMin: creations and deletions append forever otherwise.
// It runs right after a checkpoint (every record is durable; none is in
// flight, no series is moving): the new index is written beside the old,
// synced and renamed over it, so a crash leaves one or the other whole.
// A snapshot that began before sees the checkpoint and copies the packs
// again (its offsets into the old index mean nothing).
func (ps *packSet) compact() error {
	if ps.readOnly || ps.idx < 0 || ps.idxEnd < ps.minCompact || len(ps.moving) > 0 {
		return nil
	}
	live := int64(len(packIndexMagic))
	live += int64(ps.names.len())*(packRecHead+packRecFixed) + ps.names.bytes
	for _, l := range ps.free {
		live += int64(len(l)) * (packRecHead + packRecFixed + 1)
	}
	if ps.idxEnd <= 2*live {
		return nil
	}
	b := make([]byte, 0, live)
	b = append(b, packIndexMagic[:]...)
	for _, size := range slices.Sorted(mapKeys(ps.free)) {
		for _, pl := range ps.free[size] {
			// a free record needs a name; it releases the place whatever
			// the name, and no series holds a released place
			b = appendPackRec(b, packRec{kind: packRecFree, name: "-", pl: pl})
		}
	}
	ps.names.each(func(name []byte, pl place) {
		b = appendRawPackRec(b, packRecPlace, name, pl)
	})
	ip := filepath.Join(ps.dir, packIndexName)
	tmp := ip + ".tmp"
	fd, err := syscall.Open(tmp, syscall.O_RDWR|syscall.O_CREAT|syscall.O_TRUNC|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return &os.PathError{Op: "create", Path: tmp, Err: err}
	}
	f := fileFD(fd)
	err = f.writeAt(b, 0)
	if err == nil {
		err = syscall.Fsync(fd)
	}
	if err == nil {
		err = os.Rename(tmp, ip)
	}
	if err == nil {
		err = syncDir(ps.dir)
	}
	if err != nil {
		f.close()
		os.Remove(tmp)
		return fmt.Errorf("pack index %s: compacting: %w", ip, err)
	}
	ps.idx.close()
	ps.idx, ps.idxEnd, ps.unsynced = f, int64(len(b)), false
	return nil
}
