package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Archive file layout (little endian):
//
//	0      magic "RRDASH\x00\x01"
//	8      u32 length of the definition, u32 CRC-32C of it
//	16     definition: JSON {name, step, start, ds, rra, meta}
//	slot0  live state A  (page aligned)
//	slot1  live state B
//	rows   one ring per archive: rows × data sources float64
//
// The live state is written only at checkpoints, alternately into slot A and
// B with a rising generation and a checksum, so a torn write leaves the
// other slot intact. Rows are memory-mapped and written in place.
var fileMagic = [8]byte{'R', 'R', 'D', 'A', 'S', 'H', 0, 1}

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
	slotOff, slotSize, rowsOff, size int64
	ringOff                          []int64 // byte offset of each archive's ring
}

func alignUp(n, a int64) int64 { return (n + a - 1) / a * a }

func computeLayout(spec *Spec, defLen int) layout {
	var l layout
	l.slotOff = alignUp(16+int64(defLen), pageSize)
	nds, nrra := int64(len(spec.DS)), int64(len(spec.RRA))
	raw := 8 + 8 + 8 + nds*48 + nrra*nds*32 + nrra*8 + 4
	l.slotSize = alignUp(raw, pageSize)
	l.rowsOff = l.slotOff + 2*l.slotSize
	off := l.rowsOff
	for _, r := range spec.RRA {
		l.ringOff = append(l.ringOff, off)
		off += r.Rows * nds * 8
	}
	l.size = alignUp(off, pageSize)
	return l
}

// archive is one open series file.
type archive struct {
	path  string
	name  string
	spec  Spec
	meta  map[string]string
	f     *os.File
	lay   layout
	mm    []byte
	rings [][]float64
	gen   uint64 // generation of the newest valid slot
	st    *state
	eng   *engine
	dirty bool
}

func (a *archive) ring(i int) []float64 { return a.rings[i] }

func encodeDef(name string, spec *Spec, meta map[string]string) []byte {
	d := fileDef{Name: name, Step: spec.Step, Start: spec.Start, Meta: meta}
	for _, ds := range spec.DS {
		d.DS = append(d.DS, ds.String())
	}
	for _, r := range spec.RRA {
		d.RRA = append(d.RRA, r.String())
	}
	b, _ := json.Marshal(d)
	return b
}

// createArchive writes a new, fully preallocated file at path (via a
// temporary file, fsync and rename) holding the initial state.
func createArchive(path, name string, spec *Spec, meta map[string]string, st *state, rows [][]float64) error {
	def := encodeDef(name, spec, meta)
	lay := computeLayout(spec, len(def))
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return err
	}
	// Reserve the blocks now so a full disk fails here, not on a later write.
	if err := syscall.Fallocate(int(f.Fd()), 0, 0, lay.size); err != nil && !errors.Is(err, syscall.EOPNOTSUPP) {
		return fail(fmt.Errorf("allocating %d bytes: %w", lay.size, err))
	}
	if err := f.Truncate(lay.size); err != nil {
		return fail(err)
	}
	head := make([]byte, 16+len(def))
	copy(head, fileMagic[:])
	binary.LittleEndian.PutUint32(head[8:], uint32(len(def)))
	binary.LittleEndian.PutUint32(head[12:], crc32.Checksum(def, castagnoli))
	copy(head[16:], def)
	if _, err := f.WriteAt(head, 0); err != nil {
		return fail(err)
	}
	// generation g lives in slot g%2: the first state (1) goes to slot B
	if _, err := f.WriteAt(encodeSlot(spec, st, 1, lay.slotSize), lay.slotOff+lay.slotSize); err != nil {
		return fail(err)
	}
	nds := len(spec.DS)
	for i, r := range spec.RRA {
		buf := make([]byte, int(r.Rows)*nds*8)
		for k := range buf[:len(buf)/8] {
			v := math.NaN()
			if rows != nil {
				v = rows[i][k]
			}
			binary.LittleEndian.PutUint64(buf[k*8:], math.Float64bits(v))
		}
		if _, err := f.WriteAt(buf, lay.ringOff[i]); err != nil {
			return fail(err)
		}
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	return os.Rename(tmp, path)
}

func encodeSlot(spec *Spec, st *state, gen uint64, size int64) []byte {
	b := make([]byte, size)
	le := binary.LittleEndian
	le.PutUint64(b[0:], gen)
	le.PutUint64(b[8:], uint64(st.lastUp))
	le.PutUint64(b[16:], uint64(st.lastUpUsec))
	off := 24
	for _, d := range st.ds {
		copy(b[off:off+32], d.lastDS)
		b[off+31] = byte(len(d.lastDS))
		le.PutUint64(b[off+32:], math.Float64bits(d.val))
		le.PutUint64(b[off+40:], uint64(d.unknSec))
		off += 48
	}
	for _, c := range st.cdp {
		le.PutUint64(b[off:], math.Float64bits(c.val))
		le.PutUint64(b[off+8:], math.Float64bits(c.primary))
		le.PutUint64(b[off+16:], math.Float64bits(c.secondary))
		le.PutUint64(b[off+24:], uint64(c.unknPDP))
		off += 32
	}
	for _, r := range st.curRow {
		le.PutUint64(b[off:], uint64(r))
		off += 8
	}
	le.PutUint32(b[off:], crc32.Checksum(b[:off], castagnoli))
	return b
}

func decodeSlot(spec *Spec, b []byte) (*state, uint64, bool) {
	le := binary.LittleEndian
	nds, nrra := len(spec.DS), len(spec.RRA)
	end := 24 + nds*48 + nrra*nds*32 + nrra*8
	if len(b) < end+4 || le.Uint32(b[end:]) != crc32.Checksum(b[:end], castagnoli) {
		return nil, 0, false
	}
	gen := le.Uint64(b[0:])
	if gen == 0 {
		return nil, 0, false
	}
	st := &state{lastUp: int64(le.Uint64(b[8:])), lastUpUsec: int64(le.Uint64(b[16:]))}
	off := 24
	st.ds = make([]dsState, nds)
	for i := range st.ds {
		n := int(b[off+31])
		if n > lastDSLen {
			return nil, 0, false
		}
		st.ds[i] = dsState{lastDS: string(b[off : off+n]), val: math.Float64frombits(le.Uint64(b[off+32:])),
			unknSec: int64(le.Uint64(b[off+40:]))}
		off += 48
	}
	st.cdp = make([]cdpState, nrra*nds)
	for i := range st.cdp {
		st.cdp[i] = cdpState{val: math.Float64frombits(le.Uint64(b[off:])), primary: math.Float64frombits(le.Uint64(b[off+8:])),
			secondary: math.Float64frombits(le.Uint64(b[off+16:])), unknPDP: int64(le.Uint64(b[off+24:]))}
		off += 32
	}
	st.curRow = make([]int64, nrra)
	for i := range st.curRow {
		st.curRow[i] = int64(le.Uint64(b[off:]))
		if st.curRow[i] < 0 || st.curRow[i] >= spec.RRA[i].Rows {
			return nil, 0, false
		}
		off += 8
	}
	return st, gen, true
}

// openArchive maps an existing file. A torn or corrupt file is reported by
// path and never read as data.
func openArchive(path string) (*archive, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	a, err := readArchive(f, path)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("archive %s: %w", path, err)
	}
	return a, nil
}

func readArchive(f *os.File, path string) (*archive, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	head := make([]byte, 16)
	if _, err := f.ReadAt(head, 0); err != nil {
		return nil, fmt.Errorf("truncated header: %w", err)
	}
	if [8]byte(head[:8]) != fileMagic {
		return nil, errors.New("not an rrdash archive (bad magic)")
	}
	n := binary.LittleEndian.Uint32(head[8:])
	if int64(n) > fi.Size() || n > 1<<24 {
		return nil, errors.New("corrupt header length")
	}
	def := make([]byte, n)
	if _, err := f.ReadAt(def, 16); err != nil {
		return nil, fmt.Errorf("truncated definition: %w", err)
	}
	if crc32.Checksum(def, castagnoli) != binary.LittleEndian.Uint32(head[12:]) {
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
	lay := computeLayout(&spec, len(def))
	if fi.Size() != lay.size {
		return nil, fmt.Errorf("size %d, want %d (truncated or corrupt)", fi.Size(), lay.size)
	}
	mm, err := syscall.Mmap(int(f.Fd()), 0, int(lay.size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap: %w", err)
	}
	a := &archive{path: path, name: d.Name, spec: spec, meta: d.Meta, f: f, lay: lay, mm: mm}
	var best *state
	for s := int64(0); s < 2; s++ {
		off := lay.slotOff + s*lay.slotSize
		st, gen, ok := decodeSlot(&spec, mm[off:off+lay.slotSize])
		if ok && gen > a.gen {
			best, a.gen = st, gen
		}
	}
	if best == nil {
		syscall.Munmap(mm)
		return nil, errors.New("no valid state slot (corrupt header)")
	}
	a.st = best
	nds := len(spec.DS)
	for i, r := range spec.RRA {
		off := lay.ringOff[i]
		cnt := int(r.Rows) * nds
		a.rings = append(a.rings, unsafe.Slice((*float64)(unsafe.Pointer(&mm[off])), cnt))
	}
	a.eng = newEngine(&a.spec, a.st, a)
	return a, nil
}

// checkpointArchives makes the rows of the given archives durable, then
// writes each one's state into its older slot and makes that durable. With
// more than a few archives one syncfs(2) per phase replaces an fsync per file.
func checkpointArchives(dir string, as []*archive) error {
	if len(as) == 0 {
		return nil
	}
	flush := func() error {
		if len(as) <= 4 {
			for _, a := range as {
				if err := a.f.Sync(); err != nil { // flushes the mapped rows too
					return fmt.Errorf("archive %s: sync: %w", a.path, err)
				}
			}
			return nil
		}
		if err := syncFS(as[0].f); err != nil {
			return fmt.Errorf("data directory %s: syncfs: %w", dir, err)
		}
		return nil
	}
	if err := flush(); err != nil {
		return err
	}
	for _, a := range as {
		gen := a.gen + 1
		off := a.lay.slotOff + int64(gen%2)*a.lay.slotSize
		if _, err := a.f.WriteAt(encodeSlot(&a.spec, a.st, gen, a.lay.slotSize), off); err != nil {
			return fmt.Errorf("archive %s: write state: %w", a.path, err)
		}
	}
	if err := flush(); err != nil {
		return err
	}
	for _, a := range as {
		a.gen++
		a.dirty = false
	}
	return nil
}

// syncFS flushes the whole file system holding f (syncfs(2)).
func syncFS(f *os.File) error {
	_, _, errno := syscall.Syscall(unix.SYS_SYNCFS, f.Fd(), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

func (a *archive) close() error {
	err := syscall.Munmap(a.mm)
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	return err
}
