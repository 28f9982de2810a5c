package store

// The live-state slots of an archive: encoding, decoding, which slot is
// trusted, and writing one (file.go describes the layout).

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
)

// slotStamp is what a slot says of itself besides the state.
type slotStamp struct {
	gen  uint64 // rises with every slot written
	seq  uint64 // the checkpoint that makes it durable (0: durable when written)
	boot bootID // the boot it was written in
}

// slotEnd is where a slot's checksum starts.
func slotEnd(spec *Spec, version int) int {
	nds, nrra := len(spec.DS), len(spec.RRA)
	end := 24 + nds*48 + nrra*nds*32 + nrra*8 + hwSlotBytes(spec)
	if version >= 2 {
		end += 8 + 16
	}
	return end
}

// encodeSlot encodes a slot's used bytes (the rest of its page stays zero).
func encodeSlot(spec *Spec, st *state, stamp slotStamp, lay *layout) []byte {
	b := make([]byte, slotEnd(spec, lay.version)+4)
	le := binary.LittleEndian
	le.PutUint64(b[0:], stamp.gen)
	le.PutUint64(b[8:], uint64(st.lastUp))
	le.PutUint64(b[16:], uint64(st.lastUpUsec))
	off := 24
	for i, d := range st.ds {
		last := d.lastText(spec.DS[i].Type)
		copy(b[off:off+32], last)
		b[off+31] = byte(len(last))
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
	off = encodeHWSlot(b, off, spec, st.hw)
	if lay.version >= 2 {
		le.PutUint64(b[off:], stamp.seq)
		copy(b[off+8:off+24], stamp.boot[:])
		off += 24
	}
	le.PutUint32(b[off:], crc32.Checksum(b[:off], castagnoli))
	return b
}

func decodeSlot(spec *Spec, b []byte, version int) (*state, slotStamp, bool) {
	le := binary.LittleEndian
	nds, nrra := len(spec.DS), len(spec.RRA)
	end := slotEnd(spec, version)
	if len(b) < end+4 || le.Uint32(b[end:]) != crc32.Checksum(b[:end], castagnoli) {
		return nil, slotStamp{}, false
	}
	stamp := slotStamp{gen: le.Uint64(b[0:])}
	if stamp.gen == 0 {
		return nil, slotStamp{}, false
	}
	if version >= 2 {
		stamp.seq = le.Uint64(b[end-24:])
		copy(stamp.boot[:], b[end-16:end])
	}
	st := &state{lastUp: int64(le.Uint64(b[8:])), lastUpUsec: int64(le.Uint64(b[16:]))}
	off := 24
	st.ds = make([]dsState, nds)
	for i := range st.ds {
		n := int(b[off+31])
		if n > lastDSLen {
			return nil, slotStamp{}, false
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
			return nil, slotStamp{}, false
		}
		off += 8
	}
	hw, ok := decodeHWSlot(b, off, spec)
	if !ok {
		return nil, slotStamp{}, false
	}
	st.hw = hw
	return st, stamp, true
}

// trust is what decides whether a slot can be believed: the checkpoints
// completed so far and the current boot.
type trust struct {
	ckpt uint64
	boot bootID
}

func (t trust) trusts(s slotStamp) bool { return s.boot == t.boot || s.seq <= t.ckpt }

// writeSlot writes the live state into a slot for checkpoint sequence seq
// (no sync). It never overwrites the newest durable slot (sequence at most
// ckpt), and prefers a slot that is invalid, then one it does not trust,
// then the oldest, so with three slots the newest state survives a torn
// write too.
func (a *archive) writeSlot(seq, ckpt uint64, boot bootID) error {
	// rows before the state that counts them (callers made their journal
	// records durable)
	if err := a.flushRows(true); err != nil {
		return err
	}
	if err := a.ensureOpen(); err != nil {
		return err
	}
	durable := -1
	var maxGen uint64
	for i, s := range a.slots {
		if s.valid && s.trusted && s.seq <= ckpt && (durable < 0 || s.gen > a.slots[durable].gen) {
			durable = i
		}
		if s.valid {
			maxGen = max(maxGen, s.gen)
		}
	}
	rank := func(s slotInfo) (int, uint64) {
		switch {
		case !s.valid:
			return 0, 0
		case !s.trusted:
			return 1, s.gen
		}
		return 2, s.gen
	}
	target := -1
	for i, s := range a.slots {
		if i == durable {
			continue
		}
		if target < 0 {
			target = i
			continue
		}
		ri, gi := rank(s)
		rt, gt := rank(a.slots[target])
		if ri < rt || ri == rt && gi < gt {
			target = i
		}
	}
	stamp := slotStamp{gen: maxGen + 1, seq: seq, boot: boot}
	off := a.lay.slotOff + int64(target)*a.lay.slotSize
	if err := a.f.writeAt(encodeSlot(&a.spec, a.st, stamp, &a.lay), off); err != nil {
		a.slots[target].valid = false // its content is unknown now
		return fmt.Errorf("archive %s: write state: %w", a.path, err)
	}
	a.slots[target] = slotInfo{gen: stamp.gen, seq: seq, valid: true, trusted: true}
	a.dirty = false
	return nil
}

// newestValidSeq is the highest checkpoint sequence among a's valid slots.
func (a *archive) newestValidSeq() uint64 {
	var seq uint64
	for _, s := range a.slots {
		if s.valid {
			seq = max(seq, s.seq)
		}
	}
	return seq
}
