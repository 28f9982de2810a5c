package store

import (
	"encoding/binary"
	"math"
)

// The Holt-Winters state is kept in the state slots after the archives'
// current rows (file.go), only in files with Holt-Winters archives: the
// layout of every other file is unchanged, and a file with them cannot be
// mistaken by an older rrdash, which refuses its definition by the
// archive type's name. Per slot:
//
//	u64 flags (bit 0: a smoothing is due at the end of the update call)
//	per Holt-Winters archive, per data source: 8 u64 words (HWWords)
//	per SEASONAL/DEVSEASONAL archive: rows × data sources float64

// hwSlotBytes is the size of the Holt-Winters state in a slot.
func hwSlotBytes(spec *Spec) int {
	if !spec.hasHW() {
		return 0
	}
	n := 8
	nds := len(spec.DS)
	for _, r := range spec.RRA {
		if !r.CF.IsHW() {
			continue
		}
		n += nds * 64
		if r.CF == Seasonal || r.CF == DevSeasonal {
			n += int(r.Rows) * nds * 8
		}
	}
	return n
}

func encodeHWSlot(b []byte, off int, spec *Spec, h *hwState) int {
	if h == nil {
		return off
	}
	le := binary.LittleEndian
	var flags uint64
	if h.smooth {
		flags |= 1
	}
	le.PutUint64(b[off:], flags)
	off += 8
	nds := len(spec.DS)
	for a, r := range spec.RRA {
		if !r.CF.IsHW() {
			continue
		}
		for _, w := range h.words[a*nds : (a+1)*nds] {
			for _, x := range w {
				le.PutUint64(b[off:], x)
				off += 8
			}
		}
		for _, v := range h.seas[a] {
			le.PutUint64(b[off:], math.Float64bits(v))
			off += 8
		}
	}
	return off
}

// decodeHWSlot reads what encodeHWSlot wrote (the caller checked the
// slot's length and checksum).
func decodeHWSlot(b []byte, off int, spec *Spec) (*hwState, bool) {
	h := newHWState(spec)
	if h == nil {
		return nil, true
	}
	le := binary.LittleEndian
	flags := le.Uint64(b[off:])
	if flags&^1 != 0 {
		return nil, false
	}
	h.smooth = flags&1 != 0
	off += 8
	nds := len(spec.DS)
	for a, r := range spec.RRA {
		if !r.CF.IsHW() {
			continue
		}
		for d := 0; d < nds; d++ {
			w := &h.words[a*nds+d]
			for i := range w {
				w[i] = le.Uint64(b[off:])
				off += 8
			}
		}
		for i := range h.seas[a] {
			h.seas[a][i] = math.Float64frombits(le.Uint64(b[off:]))
			off += 8
		}
	}
	return h, true
}
