package kinesis

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// KPL aggregation: the Kinesis Producer Library packs many user records
// into one Kinesis record as
//
//	magic F3 89 9A C2 | protobuf AggregatedRecord | MD5 of the protobuf
//
// with AggregatedRecord{1: repeated string partition_key_table,
// 2: repeated string explicit_hash_key_table, 3: repeated Record records}
// and Record{1: uint64 partition_key_index (required), 2: uint64
// explicit_hash_key_index, 3: bytes data (required), 4: repeated Tag}.
// As the KCL does, a record whose magic matches but whose MD5 does not (or
// that is too short to hold one) is a plain record. User record k of an
// aggregate is "sub-sequence k" of the Kinesis record's sequence number.
//
// Checkpoints stay per Kinesis record: the tracker never needed "all of a
// record or none", since a record's points already leave the grace buffer
// in several batches. A restart re-reads every record after CP whole and
// tells its points apart by series time (replay) and its dead letters by
// (shard, seq, sub, item), so a user record is neither lost nor repeated.

var kplMagic = []byte{0xF3, 0x89, 0x9A, 0xC2}

// ReasonBadAggregate: a KPL aggregate (magic and MD5 right) whose protobuf
// is malformed, or one of its user records that lacks a required field.
const ReasonBadAggregate Reason = "bad_aggregate"

// userRecord is one user record of an aggregate: its data, or why it has none.
type userRecord struct {
	data []byte
	err  error
}

// deaggregate splits a KPL aggregate. It returns ok false for a plain
// record; err for an aggregate (MD5 right) whose protobuf is malformed.
func deaggregate(data []byte) (users []userRecord, ok bool, err error) {
	if len(data) <= len(kplMagic)+md5.Size || !bytes.Equal(data[:len(kplMagic)], kplMagic) {
		return nil, false, nil
	}
	msg := data[len(kplMagic) : len(data)-md5.Size]
	if sum := md5.Sum(msg); !bytes.Equal(sum[:], data[len(data)-md5.Size:]) {
		return nil, false, nil
	}
	var nKeys, nHashKeys uint64
	type raw struct {
		off  int
		body []byte
	}
	var recs []raw
	for off := 0; off < len(msg); {
		num, typ, n := protowire.ConsumeTag(msg[off:])
		if n < 0 {
			return nil, true, fmt.Errorf("aggregate offset %d: field tag: %w", off, protowire.ParseError(n))
		}
		start := off
		off += n
		if (num == 1 || num == 2 || num == 3) && typ != protowire.BytesType {
			return nil, true, fmt.Errorf("aggregate offset %d: field %d has wire type %d, want bytes", start, num, typ)
		}
		if typ == protowire.BytesType {
			b, m := protowire.ConsumeBytes(msg[off:])
			if m < 0 {
				return nil, true, fmt.Errorf("aggregate offset %d: field %d: %w", start, num, protowire.ParseError(m))
			}
			off += m
			switch num {
			case 1:
				nKeys++
			case 2:
				nHashKeys++
			case 3:
				recs = append(recs, raw{start, b})
			}
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, msg[off:])
		if m < 0 {
			return nil, true, fmt.Errorf("aggregate offset %d: field %d: %w", start, num, protowire.ParseError(m))
		}
		off += m
	}
	if len(recs) == 0 {
		return nil, true, fmt.Errorf("aggregate holds no user records")
	}
	users = make([]userRecord, len(recs))
	for k, r := range recs {
		users[k] = parseUserRecord(r.body, nKeys, nHashKeys)
		if users[k].err != nil {
			users[k].err = fmt.Errorf("user record at aggregate offset %d: %w", r.off, users[k].err)
		}
	}
	return users, true, nil
}

// parseUserRecord checks one Record message and returns its data. The
// partition keys are not used, but an index outside the table means the
// producer wrote something else than it meant.
func parseUserRecord(b []byte, nKeys, nHashKeys uint64) userRecord {
	var data []byte
	hasKey, hasData := false, false
	for off := 0; off < len(b); {
		num, typ, n := protowire.ConsumeTag(b[off:])
		if n < 0 {
			return userRecord{err: fmt.Errorf("offset %d: field tag: %w", off, protowire.ParseError(n))}
		}
		start := off
		off += n
		if w, known := recordFieldType(num); known && typ != w {
			return userRecord{err: fmt.Errorf("offset %d: field %d has wire type %d, want %d", start, num, typ, w)}
		}
		switch num {
		case 1, 2:
			v, m := protowire.ConsumeVarint(b[off:])
			if m < 0 {
				return userRecord{err: fmt.Errorf("offset %d: field %d: %w", start, num, protowire.ParseError(m))}
			}
			off += m
			if num == 1 && v >= nKeys {
				return userRecord{err: fmt.Errorf("partition key index %d, table has %d", v, nKeys)}
			}
			if num == 2 && v >= nHashKeys {
				return userRecord{err: fmt.Errorf("explicit hash key index %d, table has %d", v, nHashKeys)}
			}
			hasKey = hasKey || num == 1
		case 3:
			v, m := protowire.ConsumeBytes(b[off:])
			if m < 0 {
				return userRecord{err: fmt.Errorf("offset %d: data: %w", start, protowire.ParseError(m))}
			}
			off += m
			data, hasData = v, true
		default: // tags and unknown fields
			m := protowire.ConsumeFieldValue(num, typ, b[off:])
			if m < 0 {
				return userRecord{err: fmt.Errorf("offset %d: field %d: %w", start, num, protowire.ParseError(m))}
			}
			off += m
		}
	}
	switch {
	case !hasKey:
		return userRecord{err: fmt.Errorf("no partition key index")}
	case !hasData:
		return userRecord{err: fmt.Errorf("no data")}
	}
	return userRecord{data: data}
}

// recordFieldType is the wire type of Record's known fields.
func recordFieldType(num protowire.Number) (protowire.Type, bool) {
	switch num {
	case 1, 2:
		return protowire.VarintType, true
	case 3, 4:
		return protowire.BytesType, true
	}
	return 0, false
}

// DecodeRecord decodes one Kinesis record, de-aggregating a KPL aggregate
// first. Items and bad items carry Sub: 1 + the user record's sub-sequence
// index, 0 for a plain record. users holds each user record's data (nil
// for a plain record), for dead letters.
func (d *Decoder) DecodeRecord(data []byte, arrival time.Time, items []DecodedItem, bad []ItemError, users [][]byte) ([]DecodedItem, []ItemError, [][]byte) {
	users = users[:0]
	agg, ok, err := deaggregate(data)
	if !ok {
		items, bad = d.Decode(data, arrival, items, bad)
		return items, bad, users
	}
	if err != nil {
		return items, append(bad, ItemError{Reason: ReasonBadAggregate, Detail: err.Error()}), users
	}
	for k, u := range agg {
		users = append(users, u.data)
		sub := k + 1
		if u.err != nil {
			bad = append(bad, ItemError{Sub: sub, Reason: ReasonBadAggregate, Detail: u.err.Error()})
			continue
		}
		ni, nb := len(items), len(bad)
		items, bad = d.Decode(u.data, arrival, items, bad)
		for i := ni; i < len(items); i++ {
			items[i].Sub = sub
		}
		for i := nb; i < len(bad); i++ {
			bad[i].Sub = sub
		}
	}
	return items, bad, users
}
