// Package pbwire holds what the hand-written protobuf decoders of ingest
// (remote_write, OTLP) share: reading one field with its value, packed
// repeated numbers, and an error that says where a body failed.
//
// The decoders read bodies with protowire rather than generated types so
// that a request costs no allocation per sample; their byte slices point
// into the body.
package pbwire

import (
	"encoding/binary"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field is one decoded field: U holds a varint, fixed32 or fixed64 value,
// Bytes a length-delimited one (in the body). Groups are skipped whole.
type Field struct {
	Num   protowire.Number
	Typ   protowire.Type
	U     uint64
	Bytes []byte
}

// Next reads the field at the start of b and returns it with its length.
//
// The fields that make up most of a metrics body — a one-byte tag with a
// fixed64 (times, values) or with a length under 128 (attributes, labels,
// samples, data points) — are read here directly; the rest by next.
func Next(b []byte) (Field, int, error) {
	if len(b) >= 2 && b[0] >= 1<<3 && b[0] < 0x80 { // field number ≥ 1 in a one-byte tag
		num, typ := protowire.Number(b[0]>>3), protowire.Type(b[0]&7)
		switch {
		case typ == protowire.Fixed64Type && len(b) >= 9:
			return Field{Num: num, Typ: typ, U: binary.LittleEndian.Uint64(b[1:9])}, 9, nil
		case typ == protowire.BytesType && b[1] < 0x80 && 2+int(b[1]) <= len(b):
			return Field{Num: num, Typ: typ, Bytes: b[2 : 2+int(b[1])]}, 2 + int(b[1]), nil
		}
	}
	return next(b)
}

// next is Next for every field protobuf allows.
func next(b []byte) (Field, int, error) {
	var f Field
	num, typ, tn := protowire.ConsumeTag(b)
	if tn < 0 {
		return f, 0, protowire.ParseError(tn)
	}
	f.Num, f.Typ = num, typ
	var vn int
	switch typ {
	case protowire.VarintType:
		f.U, vn = protowire.ConsumeVarint(b[tn:])
	case protowire.Fixed64Type:
		f.U, vn = protowire.ConsumeFixed64(b[tn:])
	case protowire.Fixed32Type:
		var v uint32
		v, vn = protowire.ConsumeFixed32(b[tn:])
		f.U = uint64(v)
	case protowire.BytesType:
		f.Bytes, vn = protowire.ConsumeBytes(b[tn:])
	default:
		vn = protowire.ConsumeFieldValue(num, typ, b[tn:])
	}
	if vn < 0 {
		return f, 0, fmt.Errorf("field %d: %w", num, protowire.ParseError(vn))
	}
	return f, tn + vn, nil
}

// AppendPackedFixed64 appends the packed fixed64 values of b to dst.
func AppendPackedFixed64(dst []uint64, b []byte) ([]uint64, error) {
	for len(b) > 0 {
		v, n := protowire.ConsumeFixed64(b)
		if n < 0 {
			return dst, protowire.ParseError(n)
		}
		dst = append(dst, v)
		b = b[n:]
	}
	return dst, nil
}

// DecodeError names where a body failed to decode.
type DecodeError struct {
	Msg    string // the message type, e.g. "protobuf WriteRequest"
	Offset int    // byte offset in the decoded (decompressed) body
	Where  string // e.g. "timeseries 3: sample 1"
	Err    error
}

func (e *DecodeError) Error() string {
	if e.Msg == "" {
		return fmt.Sprintf("%s at byte %d: %v", e.Where, e.Offset, e.Err)
	}
	return fmt.Sprintf("%s: %s at byte %d: %v", e.Msg, e.Where, e.Offset, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }
