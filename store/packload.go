package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"slices"
	"syscall"
)

// Reading the pack index at Open without a map of a million strings: the
// file is mapped (page cache, not the heap), the records are sorted by
// (name, position in the file), and each name's records are applied in
// file order, which gives its final place exactly as applying every
// record in turn would (a name's place depends only on its own records);
// the sorted result is the compact base as it stands. Which places are
// free depends on the order of records across names: a place is free when
// the last record releasing it (a free record, or a later place record of
// the name that held it) comes after the last place record taking it.

// rawPackRec is a record as it lies in the index: name points into it.
type rawPackRec struct {
	kind byte
	name []byte
	pl   place
}

// decodePackRecRaw is decodePackRec without copying the name.
func decodePackRecRaw(b []byte) (rawPackRec, int, bool) {
	le := binary.LittleEndian
	if len(b) < packRecHead+packRecFixed {
		return rawPackRec{}, 0, false
	}
	n := int(le.Uint32(b))
	if n < packRecFixed || n > packRecFixed+4096 || len(b) < packRecHead+n {
		return rawPackRec{}, 0, false
	}
	p := b[packRecHead : packRecHead+n]
	if crc32.Checksum(p, castagnoli) != le.Uint32(b[4:]) {
		return rawPackRec{}, 0, false
	}
	r := rawPackRec{kind: p[0], pl: place{pack: int32(le.Uint32(p[1:])), off: int64(le.Uint64(p[5:])), size: int64(le.Uint64(p[13:]))}}
	r.name = p[packRecFixed:]
	switch {
	case r.kind < packRecPlace || r.kind > packRecMoving,
		r.pl.pack < 0 || r.pl.pack >= maxPacks,
		r.pl.off < 0 || r.pl.off%pageSize != 0,
		r.pl.size <= 0 || r.pl.size%pageSize != 0,
		r.pl.off > packMaxSize || r.pl.size > packMaxSize-r.pl.off,
		ValidSeriesName(unsafeString(r.name)) != nil:
		return rawPackRec{}, 0, false
	}
	return r, packRecHead + n, true
}

// readIndexFile maps the index (or reads it where it cannot be mapped);
// done releases it.
func readIndexFile(p string) (b []byte, done func(), err error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if fi.Size() == 0 {
		return nil, func() {}, nil
	}
	if fi.Size() != int64(int(fi.Size())) {
		return nil, nil, fmt.Errorf("%d bytes: too large", fi.Size())
	}
	m, err := syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err == nil {
		return m, func() { syscall.Munmap(m) }, nil
	}
	b, err = os.ReadFile(p)
	return b, func() {}, err
}

// loadIndex applies the records of index file b to ps (new: no names
// yet) and returns where the first record that does not verify starts
// (len(b) when all do).
func (ps *packSet) loadIndex(b []byte) (int64, error) {
	if len(b) < len(packIndexMagic) || [8]byte(b[:8]) != packIndexMagic {
		return 0, errors.New("not an rrdash pack index (bad magic)")
	}
	if int64(len(b)) > math.MaxUint32 {
		// ~90 million series; compaction keeps an index within twice what it describes
		return 0, fmt.Errorf("%d bytes: an index past 4 GiB is not supported", len(b))
	}
	// the records' offsets, and every pack's end
	var refs []uint32
	off := len(packIndexMagic)
	for off < len(b) {
		r, n, ok := decodePackRecRaw(b[off:])
		if !ok {
			break
		}
		for int(r.pl.pack) >= len(ps.packs) {
			ps.packs = append(ps.packs, &packFile{path: filepath.Join(ps.dir, fmt.Sprintf("%06d.pack", len(ps.packs))), fd: -1})
		}
		pk := ps.packs[r.pl.pack]
		pk.end = max(pk.end, r.pl.off+r.pl.size)
		refs = append(refs, uint32(off))
		off += n
	}
	good := int64(off)
	rec := func(at uint32) rawPackRec {
		r, _, _ := decodePackRecRaw(b[at:])
		return r
	}
	nameAt := func(at uint32) []byte {
		n := binary.LittleEndian.Uint32(b[at:])
		return b[at+packRecHead+packRecFixed : at+packRecHead+n]
	}
	byName := func(x, y uint32) int {
		if c := bytes.Compare(nameAt(x), nameAt(y)); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	}
	if !slices.IsSortedFunc(refs, byName) {
		slices.SortFunc(refs, byName)
	}
	// each name's records in file order
	type release struct {
		pl place
		at uint32
	}
	var released []release
	var bld packBuilder
	bld.grow(len(refs), len(b)/3)
	for i := 0; i < len(refs); {
		name := nameAt(refs[i])
		var cur place
		has, moving := false, false
		for ; i < len(refs) && bytes.Equal(nameAt(refs[i]), name); i++ {
			r := rec(refs[i])
			switch r.kind {
			case packRecPlace:
				if has && cur != r.pl {
					// the earlier place was released by a record a
					// crash lost
					released = append(released, release{cur, refs[i]})
				}
				cur, has, moving = r.pl, true, false
			case packRecFree:
				if has && cur == r.pl {
					has, moving = false, false
				}
				released = append(released, release{r.pl, refs[i]})
			case packRecMoving:
				if has && cur == r.pl {
					moving = true
				}
			}
		}
		if has {
			bld.add(name, cur)
			if moving {
				ps.moving[string(name)] = cur
			}
		}
	}
	ps.names = packNames{base: bld.done(), bytes: bld.bytes}
	ps.names.n = ps.names.base.n
	if len(released) == 0 {
		return good, nil
	}
	// free: released after the last place record taking it
	last := make(map[place]uint32, len(released))
	for _, r := range released {
		last[r.pl] = max(last[r.pl], r.at)
	}
	for _, at := range refs {
		if r := rec(at); r.kind == packRecPlace {
			if l, ok := last[r.pl]; ok && at > l {
				delete(last, r.pl)
			}
		}
	}
	free := make([]release, 0, len(last))
	for pl, at := range last {
		free = append(free, release{pl, at})
	}
	slices.SortFunc(free, func(x, y release) int { return cmp.Compare(x.at, y.at) })
	for _, f := range free {
		ps.free[f.pl.size] = append(ps.free[f.pl.size], f.pl)
	}
	return good, nil
}
