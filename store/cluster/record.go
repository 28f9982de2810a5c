package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"

	"rrdash/store"
)

// Entry is what one log record carries: writes to one series, which is
// the record's partition key. Every entry carries the series' definition
// too, so a replica that starts reading a shard mid-stream (a new lease
// owner without a snapshot) can still create the series; creating a
// series that exists is a no-op, so the definition costs bytes, not
// meaning.
type Entry struct {
	Series  string
	Spec    store.Spec
	Meta    map[string]string
	Updates []Update
}

// Update is one store update of the entry's series.
type Update struct {
	Time   int64
	Usec   int64
	Values []string
}

// recordMagic starts every record of the cluster log ("rrdash log, v1"),
// so that a stream shared with other producers by mistake is told apart
// from corrupt records; aggregateMagic starts a record packing several
// entries (of series of one shard), each an RRL1 record of its own.
const (
	recordMagic    = "RRL1"
	aggregateMagic = "RRL2"
)

// EncodeAggregate packs encoded entries (EncodeEntry) into one record.
func EncodeAggregate(dst []byte, entries [][]byte) []byte {
	dst = append(dst, aggregateMagic...)
	dst = binary.AppendUvarint(dst, uint64(len(entries)))
	for _, e := range entries {
		dst = binary.AppendUvarint(dst, uint64(len(e)))
		dst = append(dst, e...)
	}
	return dst
}

// AggregateOverhead bounds the bytes EncodeAggregate adds to n entries.
func AggregateOverhead(n int) int { return len(aggregateMagic) + binary.MaxVarintLen64*(n+1) }

// DecodeRecord reads a record: one entry (RRL1) or several (RRL2).
func DecodeRecord(b []byte) ([]Entry, error) { return AppendRecord(nil, b, nil) }

// AppendRecord is DecodeRecord appending to dst. An entry whose series
// known accepts (nil: none) is read without its definition (Spec and Meta
// left zero; the bytes are still checked): a replica that holds the
// series has no use for it, and decoding it costs more than the update.
func AppendRecord(dst []Entry, b []byte, known func(series string) bool) ([]Entry, error) {
	if len(b) < len(aggregateMagic) || string(b[:len(aggregateMagic)]) != aggregateMagic {
		e, err := decodeEntry(b, known)
		if err != nil {
			return dst, err
		}
		return append(dst, e), nil
	}
	d := decoder{b: b, off: len(aggregateMagic)}
	n := d.count("entries")
	start := len(dst)
	for i := 0; i < n && d.err == nil; i++ {
		size := d.count("entry size")
		if d.err != nil {
			break
		}
		e, err := decodeEntry(d.b[d.off:d.off+size], known)
		if err != nil {
			return dst[:start], fmt.Errorf("cluster log aggregate: entry %d at offset %d: %w", i, d.off, err)
		}
		d.off += size
		dst = append(dst, e)
	}
	if d.err == nil && d.off != len(b) {
		d.err = fmt.Errorf("%d bytes after the last entry", len(b)-d.off)
	}
	if d.err != nil {
		return dst[:start], fmt.Errorf("cluster log aggregate: offset %d: %w", d.off, d.err)
	}
	return dst, nil
}

// Limits a decoder enforces, so a corrupt length never allocates wildly.
const (
	maxRecordStrings = 1 << 20 // bytes of one string
	maxRecordCount   = 1 << 20 // items of one list
)

// EncodeEntry appends the binary form of e to dst. The format is
// little-endian varints and length-prefixed strings; floats as their IEEE
// bits, so NaN (an unbounded DS minimum) survives.
func EncodeEntry(dst []byte, e Entry) []byte {
	dst = append(dst, recordMagic...)
	dst = appendString(dst, e.Series)
	s := e.Spec
	dst = binary.AppendVarint(dst, s.Step)
	dst = binary.AppendVarint(dst, s.Start)
	dst = binary.AppendUvarint(dst, uint64(len(s.DS)))
	for _, d := range s.DS {
		dst = appendString(dst, d.Name)
		dst = append(dst, byte(d.Type))
		dst = binary.AppendVarint(dst, d.Heartbeat)
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(d.Min))
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(d.Max))
	}
	dst = binary.AppendUvarint(dst, uint64(len(s.RRA)))
	for _, r := range s.RRA {
		dst = append(dst, byte(r.CF))
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(r.XFF))
		dst = binary.AppendVarint(dst, r.Steps)
		dst = binary.AppendVarint(dst, r.Rows)
	}
	dst = binary.AppendUvarint(dst, uint64(len(e.Meta)))
	for _, k := range slices.Sorted(maps.Keys(e.Meta)) { // sorted: equal entries encode equally
		dst = appendString(dst, k)
		dst = appendString(dst, e.Meta[k])
	}
	dst = binary.AppendUvarint(dst, uint64(len(e.Updates)))
	for _, u := range e.Updates {
		dst = binary.AppendVarint(dst, u.Time)
		dst = binary.AppendVarint(dst, u.Usec)
		dst = binary.AppendUvarint(dst, uint64(len(u.Values)))
		for _, v := range u.Values {
			dst = appendString(dst, v)
		}
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// ErrNotLogRecord says a record does not start with the cluster log's
// magic: it was put on the stream by something else.
var ErrNotLogRecord = errors.New("not a cluster log record (no RRL1 magic)")

// DecodeEntry reads one record. Errors name the byte offset where the
// record stopped making sense.
func DecodeEntry(b []byte) (Entry, error) { return decodeEntry(b, nil) }

func decodeEntry(b []byte, known func(string) bool) (Entry, error) {
	var e Entry
	if len(b) < len(recordMagic) || string(b[:len(recordMagic)]) != recordMagic {
		return e, ErrNotLogRecord
	}
	d := decoder{b: b, off: len(recordMagic)}
	e.Series = d.str("series")
	keep := d.err != nil || known == nil || !known(e.Series)
	d.def(&e, keep)
	if n := d.count("updates"); d.err == nil {
		e.Updates = make([]Update, n)
		for i := range e.Updates {
			u := &e.Updates[i]
			u.Time = d.varint("time")
			u.Usec = d.varint("usec")
			if nv := d.count("values"); d.err == nil {
				u.Values = make([]string, nv)
				for j := range u.Values {
					u.Values[j] = d.str("value")
				}
			}
		}
	}
	if d.err == nil && d.off != len(b) {
		d.err = fmt.Errorf("%d bytes after the last update", len(b)-d.off)
	}
	if d.err != nil {
		return Entry{}, fmt.Errorf("cluster log record: offset %d: %w", d.off, d.err)
	}
	return e, nil
}

// def reads a series definition into e, or (keep false) reads past it.
func (d *decoder) def(e *Entry, keep bool) {
	var spec store.Spec
	spec.Step = d.varint("step")
	spec.Start = d.varint("start")
	var ds store.DS
	if n := d.count("data sources"); d.err == nil {
		if keep {
			spec.DS = make([]store.DS, n)
		}
		for i := range n {
			ds.Name = d.text("ds name", keep)
			ds.Type = store.DSType(d.byte("ds type"))
			ds.Heartbeat = d.varint("heartbeat")
			ds.Min = d.float("ds min")
			ds.Max = d.float("ds max")
			if keep {
				spec.DS[i] = ds
			}
		}
	}
	var rra store.RRA
	if n := d.count("archives"); d.err == nil {
		if keep {
			spec.RRA = make([]store.RRA, n)
		}
		for i := range n {
			rra.CF = store.CF(d.byte("cf"))
			rra.XFF = d.float("xff")
			rra.Steps = d.varint("steps")
			rra.Rows = d.varint("rows")
			if keep {
				spec.RRA[i] = rra
			}
		}
	}
	if n := d.count("meta"); d.err == nil && n > 0 {
		if keep {
			e.Meta = make(map[string]string, n)
		}
		for range n {
			k := d.text("meta key", keep)
			v := d.text("meta value", keep)
			if keep {
				e.Meta[k] = v
			}
		}
	}
	if keep {
		e.Spec = spec
	}
}

// text is str, or (keep false) reads past the string.
func (d *decoder) text(what string, keep bool) string {
	if keep {
		return d.str(what)
	}
	n := d.uvarint(what)
	if d.err == nil && (n > maxRecordStrings || n > uint64(len(d.b)-d.off)) {
		d.err = fmt.Errorf("%s: length %d exceeds the record", what, n)
	}
	if d.err == nil {
		d.off += int(n)
	}
	return ""
}

type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%s: truncated or malformed", what)
	}
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.off += n
	return v
}

// count reads a list length; a list cannot hold more items than bytes
// remain, which bounds allocations from a corrupt length.
func (d *decoder) count(what string) int {
	n := d.uvarint(what)
	if d.err == nil && (n > maxRecordCount || n > uint64(len(d.b)-d.off)) {
		d.err = fmt.Errorf("%s: count %d exceeds the record", what, n)
		return 0
	}
	return int(n)
}

func (d *decoder) str(what string) string {
	n := d.uvarint(what)
	if d.err != nil {
		return ""
	}
	if n > maxRecordStrings || n > uint64(len(d.b)-d.off) {
		d.err = fmt.Errorf("%s: length %d exceeds the record", what, n)
		return ""
	}
	s := string(d.b[d.off : d.off+int(n)])
	d.off += int(n)
	return s
}

func (d *decoder) byte(what string) byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail(what)
		return 0
	}
	v := d.b[d.off]
	d.off++
	return v
}

func (d *decoder) float(what string) float64 {
	if d.err != nil {
		return 0
	}
	if len(d.b)-d.off < 8 {
		d.fail(what)
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.b[d.off:]))
	d.off += 8
	return v
}
