package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
)

// Record encoding: flags byte, uvarint update count, per update: name,
// time, usec, update flags byte (updFailed, updNumeric, updSameSeries),
// value count, values (strings; with updNumeric, 8-byte little-endian
// IEEE doubles); then position count and (source, position) pairs.
// Strings are uvarint length + bytes. With updSameSeries the update's
// series is the previous update's and its name is written empty. Journals
// written before numeric updates have update flags 0 or 1 only, and read
// the same.
func encodeRecord(rec *journalRecord) []byte { return appendRecord(nil, rec) }

func appendRecord(b []byte, rec *journalRecord) []byte {
	var flags byte
	if rec.stopOnError {
		flags = 1
	}
	if len(rec.creates) > 0 {
		flags |= 2
	}
	b = append(b, flags)
	if rec.batch != nil {
		b = binary.AppendUvarint(b, uint64(len(rec.picks)))
		var prev *Update
		for _, p := range rec.picks {
			u := &rec.batch[p>>1] // not copied: 88 bytes each
			same := prev != nil && u.Series == prev.Series
			prev = u
			// appendUpdateAs' most common case without the call: a
			// series' next reading, whole seconds, one short text value
			if zt := uint64(u.Time)<<1 ^ uint64(u.Time>>63); same && u.Usec == 0 && zt >= 1<<28 && zt < 1<<35 && u.Nums == nil && len(u.Values) == 1 && len(u.Values[0]) < 0x80 {
				v := u.Values[0]
				b = append(b, 0, byte(zt)|0x80, byte(zt>>7)|0x80, byte(zt>>14)|0x80, byte(zt>>21)|0x80, byte(zt>>28), 0, updSameSeries|byte(p&1)*updFailed, 1, byte(len(v)))
				b = append(b, v...)
				continue
			}
			b = appendUpdateAs(b, u, p&1 != 0, same)
		}
	} else {
		b = binary.AppendUvarint(b, uint64(len(rec.updates)))
		for i := range rec.updates {
			u := &rec.updates[i] // not copied: 88 bytes each
			b = appendUpdateAs(b, &u.Update, u.failed, i > 0 && u.Series == rec.updates[i-1].Series)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(rec.positions)))
	for k, v := range rec.positions {
		b = appendString(b, k)
		b = appendString(b, string(v))
	}
	if len(rec.creates) > 0 {
		b = binary.AppendUvarint(b, uint64(len(rec.creates)))
		for _, c := range rec.creates {
			b = appendString(b, c.name)
			b = binary.AppendVarint(b, c.step)
			b = binary.AppendVarint(b, c.start)
			b = binary.AppendUvarint(b, uint64(len(c.args)))
			for _, a := range c.args {
				b = appendString(b, a)
			}
			b = binary.AppendUvarint(b, uint64(len(c.meta)))
			for _, k := range slices.Sorted(maps.Keys(c.meta)) {
				b = appendString(b, k)
				b = appendString(b, c.meta[k])
			}
		}
	}
	return b
}

// appendUpdateAs encodes one update of a record, failed or not; same: its
// series is the previous update's.
func appendUpdateAs(b []byte, u *Update, failed, same bool) []byte {
	if same && u.Usec == 0 {
		// a series' next reading, whole seconds, one short value or
		// one number: the generic encoding's bytes in one or two
		// appends (its dozen appends were ~150 instructions an update)
		zt := uint64(u.Time)<<1 ^ uint64(u.Time>>63) // zigzag, as AppendVarint
		if zt >= 1<<28 && zt < 1<<35 {               // 5 bytes (whole seconds 1974-2514)
			uf := byte(updSameSeries)
			if failed {
				uf |= updFailed
			}
			switch {
			case u.Nums == nil && len(u.Values) == 1 && len(u.Values[0]) < 0x80:
				v := u.Values[0]
				b = append(b, 0, byte(zt)|0x80, byte(zt>>7)|0x80, byte(zt>>14)|0x80, byte(zt>>21)|0x80, byte(zt>>28), 0, uf, 1, byte(len(v)))
				return append(b, v...)
			case len(u.Nums) == 1:
				b = append(b, 0, byte(zt)|0x80, byte(zt>>7)|0x80, byte(zt>>14)|0x80, byte(zt>>21)|0x80, byte(zt>>28), 0, uf|updNumeric, 1)
				return binary.LittleEndian.AppendUint64(b, math.Float64bits(u.Nums[0]))
			}
		}
	}
	return appendUpdate(b, u, failed, same)
}

// appendUpdate is appendUpdateAs's generic encoding, every update's.
func appendUpdate(b []byte, u *Update, failed, same bool) []byte {
	var uf byte
	if failed {
		uf = updFailed
	}
	if same {
		uf |= updSameSeries
		b = append(b, 0) // an empty name
	} else {
		b = appendString(b, u.Series)
	}
	b = binary.AppendVarint(b, u.Time)
	b = binary.AppendVarint(b, u.Usec)
	if u.Nums != nil {
		b = append(b, uf|updNumeric)
		b = binary.AppendUvarint(b, uint64(len(u.Nums)))
		for _, x := range u.Nums {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
		}
		return b
	}
	b = append(b, uf)
	b = binary.AppendUvarint(b, uint64(len(u.Values)))
	for _, v := range u.Values {
		b = appendString(b, v)
	}
	return b
}

// Update flags of a journaled update.
const (
	updFailed     = 1 // refused, but it changed state (journal.go)
	updNumeric    = 2 // readings are Update.Nums
	updSameSeries = 4 // the series is the previous update's (not written)
)

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
	rec.stopOnError = r.byte1()&1 == 1
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
		uf := r.byte1()
		if uf&^(updFailed|updNumeric|updSameSeries) != 0 {
			return rec, fmt.Errorf("update %d: unknown update flags %#x: %w", i, uf, errShortRecord)
		}
		if uf&updSameSeries != 0 {
			if i == 0 || u.Series != "" {
				return rec, fmt.Errorf("update %d: the previous update's series, but named %q: %w", i, u.Series, errShortRecord)
			}
			u.Series = rec.updates[i-1].Series
		}
		u.failed = uf&updFailed != 0
		nv := r.uvarint()
		if nv > uint64(len(r.b)) {
			return rec, errShortRecord
		}
		if uf&updNumeric != 0 {
			if nv > uint64(len(r.b)/8) {
				return rec, errShortRecord
			}
			u.Nums = make([]float64, nv)
			for k := range u.Nums {
				u.Nums[k] = math.Float64frombits(binary.LittleEndian.Uint64(r.b[8*k:]))
			}
			r.b = r.b[8*nv:]
		} else {
			u.Values = make([]string, nv)
			for k := range u.Values {
				u.Values[k] = r.str()
			}
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
	if len(b) > 0 && b[0]&2 != 0 {
		nc := r.uvarint()
		if nc > uint64(len(r.b)) {
			return rec, errShortRecord
		}
		for i := uint64(0); i < nc && r.err == nil; i++ {
			c := journalCreate{name: r.str(), step: r.varint(), start: r.varint()}
			na := r.uvarint()
			if na > uint64(len(r.b)) {
				return rec, errShortRecord
			}
			for k := uint64(0); k < na && r.err == nil; k++ {
				c.args = append(c.args, r.str())
			}
			nm := r.uvarint()
			if nm > uint64(len(r.b)) {
				return rec, errShortRecord
			}
			for k := uint64(0); k < nm && r.err == nil; k++ {
				if c.meta == nil {
					c.meta = map[string]string{}
				}
				key := r.str()
				c.meta[key] = r.str()
			}
			rec.creates = append(rec.creates, c)
		}
	}
	return rec, r.err
}
