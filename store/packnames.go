package store

import (
	"encoding/binary"
	"slices"
	"strings"
	"unsafe"
)

// packNames is the pack index's name → place map in memory, compact: a
// million series cost ~13 bytes each (front-coded, sorted), where a Go map
// of strings cost ~230 (docs/STORE.md, "Pack files").
//
// It is a sorted, immutable base plus a small map of the changes made
// since (creations, releases); once the changes pass an eighth of the base
// they are merged into a new base (linear in the names, so creating n
// series costs O(n) merging in all).
type packNames struct {
	base  packBase
	over  map[string]placeChange // changes since base was built
	n     int                    // the names in all
	bytes int64                  // and their lengths in all
}

// placeChange is a name's place since the base was built; gone: released
// (the base may still hold it).
type placeChange struct {
	pl   place
	gone bool
}

// packBase holds names sorted, front-coded in blocks of packBlock entries:
// each entry is uvarint(bytes shared with the previous name), uvarint(len
// of the rest), the rest, uvarint(pack), uvarint(offset in pages),
// uvarint(size in pages); a block's first entry shares nothing, so a
// lookup is a binary search over the blocks' first names and a scan of at
// most packBlock entries.
type packBase struct {
	data   []byte
	blocks []int // where each block starts in data
	n      int
}

const (
	packBlock      = 16
	minPlaceChange = 8192 // changes kept before a merge, at least
)

// get returns where name lies.
func (pn *packNames) get(name string) (place, bool) {
	if c, ok := pn.over[name]; ok {
		return c.pl, !c.gone
	}
	return pn.base.get(name)
}

// set places name at pl.
func (pn *packNames) set(name string, pl place) {
	if _, ok := pn.get(name); !ok {
		pn.n++
		pn.bytes += int64(len(name))
	}
	if pn.over == nil {
		pn.over = map[string]placeChange{}
	}
	pn.over[name] = placeChange{pl: pl}
	pn.maybeMerge()
}

// del forgets name.
func (pn *packNames) del(name string) {
	if _, ok := pn.get(name); !ok {
		return
	}
	pn.n--
	pn.bytes -= int64(len(name))
	if _, inBase := pn.base.get(name); inBase {
		if pn.over == nil {
			pn.over = map[string]placeChange{}
		}
		pn.over[name] = placeChange{gone: true}
		pn.maybeMerge()
		return
	}
	delete(pn.over, name)
}

func (pn *packNames) len() int { return pn.n }

func (pn *packNames) maybeMerge() {
	if len(pn.over) > max(minPlaceChange, pn.base.n/8) {
		pn.merge()
	}
}

// merge makes a new base of every name and forgets the changes.
func (pn *packNames) merge() {
	var b packBuilder
	b.grow(pn.n, len(pn.base.data)+len(pn.over)*16)
	pn.each(b.add)
	pn.base, pn.over = b.done(), nil
	pn.bytes = b.bytes
}

// each calls f with every name and its place, in name order; name is
// valid only during the call.
func (pn *packNames) each(f func(name []byte, pl place)) {
	if len(pn.over) == 0 {
		pn.base.each(f)
		return
	}
	keys := make([]string, 0, len(pn.over))
	for k := range pn.over {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var name []byte
	pn.base.each(func(bn []byte, pl place) {
		for len(keys) > 0 && keys[0] < unsafeString(bn) {
			if c := pn.over[keys[0]]; !c.gone {
				name = append(name[:0], keys[0]...)
				f(name, c.pl)
			}
			keys = keys[1:]
		}
		if len(keys) > 0 && keys[0] == unsafeString(bn) {
			if c := pn.over[keys[0]]; !c.gone {
				name = append(name[:0], keys[0]...)
				f(name, c.pl)
			}
			keys = keys[1:]
			return
		}
		f(bn, pl)
	})
	for _, k := range keys {
		if c := pn.over[k]; !c.gone {
			name = append(name[:0], k...)
			f(name, c.pl)
		}
	}
}

// sortedNames returns every name, sorted, as strings sharing one
// allocation (the name tree built from them keeps it, and no more).
func (pn *packNames) sortedNames() []string {
	size := 0
	pn.each(func(name []byte, _ place) { size += len(name) })
	arena := make([]byte, 0, size)
	offs := make([]int, 0, pn.n+1)
	pn.each(func(name []byte, _ place) {
		offs = append(offs, len(arena))
		arena = append(arena, name...)
	})
	offs = append(offs, len(arena))
	all := unsafeString(arena)
	out := make([]string, len(offs)-1)
	for i := range out {
		out[i] = all[offs[i]:offs[i+1]]
	}
	return out
}

// unsafeString views b as a string; b must not change while it is used.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// get looks name up in the base.
func (pb *packBase) get(name string) (place, bool) {
	if pb.n == 0 {
		return place{}, false
	}
	// the last block whose first name is <= name
	i, _ := slices.BinarySearchFunc(pb.blocks, name, func(at int, name string) int {
		first, _ := firstName(pb.data[at:])
		return strings.Compare(unsafeString(first), name)
	})
	if i < len(pb.blocks) {
		if first, _ := firstName(pb.data[pb.blocks[i]:]); unsafeString(first) == name {
			_, pl, _ := decodePlaceEntry(pb.data[pb.blocks[i]:], nil)
			return pl, true
		}
	}
	if i == 0 {
		return place{}, false
	}
	// scan block i-1, the name rebuilt in a buffer on the stack (names
	// longer than it are rebuilt on the heap)
	var buf [256]byte
	cur := buf[:0]
	p := pb.data[pb.blocks[i-1]:]
	for k := 0; k < packBlock && len(p) > 0; k++ {
		shared, a := binary.Uvarint(p)
		l, b := binary.Uvarint(p[a:])
		at := a + b
		if int(shared)+int(l) > cap(cur) {
			cur = append(make([]byte, 0, int(shared)+int(l)), cur[:shared]...)
		}
		cur = append(cur[:shared], p[at:at+int(l)]...)
		pl, n := entryPlace(p[at+int(l):])
		switch {
		case string(cur) == name:
			return pl, true
		case string(cur) > name:
			return place{}, false
		}
		p = p[at+int(l)+n:]
	}
	return place{}, false
}

// each calls f with every entry in order (name valid during the call).
func (pb *packBase) each(f func(name []byte, pl place)) {
	var name []byte
	for p := pb.data; len(p) > 0; {
		var pl place
		var n int
		name, pl, n = decodePlaceEntry(p, name)
		f(name, pl)
		p = p[n:]
	}
}

// firstName is the name of a block's first entry (it shares nothing).
func firstName(p []byte) ([]byte, int) {
	_, k := binary.Uvarint(p) // 0
	l, m := binary.Uvarint(p[k:])
	at := k + m
	return p[at : at+int(l)], at + int(l)
}

// decodePlaceEntry decodes the entry at p[0:] into prev (the previous
// name, which it extends) and returns the name, the place and the
// entry's length. The base is only ever written by packBuilder, so it is
// trusted.
func decodePlaceEntry(p []byte, prev []byte) ([]byte, place, int) {
	shared, a := binary.Uvarint(p)
	l, b := binary.Uvarint(p[a:])
	at := a + b
	name := append(prev[:shared], p[at:at+int(l)]...)
	at += int(l)
	pl, n := entryPlace(p[at:])
	return name, pl, at + n
}

// entryPlace decodes the place ending an entry and its length.
func entryPlace(p []byte) (place, int) {
	pack, a := binary.Uvarint(p)
	off, b := binary.Uvarint(p[a:])
	size, c := binary.Uvarint(p[a+b:])
	return place{pack: int32(pack), off: int64(off) * pageSize, size: int64(size) * pageSize}, a + b + c
}

// packBuilder makes a base from names added in increasing order.
type packBuilder struct {
	pb    packBase
	prev  []byte
	bytes int64
}

func (b *packBuilder) grow(n, bytes int) {
	b.pb.data = slices.Grow(b.pb.data, bytes)
	b.pb.blocks = slices.Grow(b.pb.blocks, n/packBlock+1)
}

func (b *packBuilder) add(name []byte, pl place) {
	shared := 0
	if b.pb.n%packBlock == 0 {
		b.pb.blocks = append(b.pb.blocks, len(b.pb.data))
	} else {
		for shared < len(name) && shared < len(b.prev) && name[shared] == b.prev[shared] {
			shared++
		}
	}
	d := b.pb.data
	d = binary.AppendUvarint(d, uint64(shared))
	d = binary.AppendUvarint(d, uint64(len(name)-shared))
	d = append(d, name[shared:]...)
	d = binary.AppendUvarint(d, uint64(pl.pack))
	d = binary.AppendUvarint(d, uint64(pl.off/pageSize))
	d = binary.AppendUvarint(d, uint64(pl.size/pageSize))
	b.pb.data = d
	b.prev = append(b.prev[:0], name...)
	b.pb.n++
	b.bytes += int64(len(name))
}

// done returns the base, trimmed to its size.
func (b *packBuilder) done() packBase {
	pb := b.pb
	pb.data = slices.Clip(pb.data)
	if cap(pb.data) > len(pb.data)+len(pb.data)/8 {
		pb.data = slices.Clone(pb.data)
	}
	pb.blocks = slices.Clone(pb.blocks)
	return pb
}
