package promrw

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"

	"rrdash/ingest/internal/pbwire"
)

// The remote_write 1.0 WriteRequest (prometheus/prompb/remote.proto and
// types.proto), decoded by hand with protowire: the generated types live
// in the Prometheus server module, and a zero-copy decoder that reuses its
// slices between requests is also what makes ingest fast.
//
//	WriteRequest   { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
//	TimeSeries     { repeated Label labels = 1; repeated Sample samples = 2;
//	                 repeated Exemplar exemplars = 3; repeated Histogram histograms = 4; }
//	Label          { string name = 1; string value = 2; }
//	Sample         { double value = 1; int64 timestamp = 2; }  // milliseconds
//	MetricMetadata { MetricType type = 1; string metric_family_name = 2; string help = 4; string unit = 5; }

// MetricType is MetricMetadata.type.
type MetricType int32

// The metric types of remote_write 1.0.
const (
	TypeUnknown MetricType = iota
	TypeCounter
	TypeGauge
	TypeHistogram
	TypeGaugeHistogram
	TypeSummary
	TypeInfo
	TypeStateset
)

// Label is one label; Name and Value point into the decoded body.
type Label struct{ Name, Value []byte }

// Sample is one sample; Timestamp is in milliseconds since the epoch.
type Sample struct {
	Value     float64
	Timestamp int64
}

// Series is one TimeSeries: its labels and samples. Exemplars are not
// kept; native histograms are counted (rrdash stores the classic
// _bucket/_sum/_count series only).
type Series struct {
	Labels     []Label
	Samples    []Sample
	Histograms int
	// LabelBytes are the series' label fields as they are in the body
	// when they are all together (Prometheus writes labels first), else
	// nil: what names the series, as a key of the handler's cache.
	LabelBytes []byte

	// hit: the handler's cache knew LabelBytes when the request was
	// decoded (cached is its entry), and Labels were left undecoded:
	// cached bytes decoded before. labels decodes them when needed.
	hit    bool
	cached cachedSeries
}

// labels returns the series' labels, decoding them from LabelBytes when
// the decoder left them for the cache (hit).
func (s *Series) labels() ([]Label, error) {
	if !s.hit || len(s.Labels) > 0 {
		return s.Labels, nil
	}
	b := s.LabelBytes
	for len(b) > 0 {
		_, _, n := protowire.ConsumeTag(b) // a label's (LabelBytes holds nothing else)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		v, m := protowire.ConsumeBytes(b[n:])
		if m < 0 {
			return nil, protowire.ParseError(m)
		}
		l, err := decodeLabel(v)
		if err != nil {
			return nil, err
		}
		s.Labels = append(s.Labels, l)
		b = b[n+m:]
	}
	return s.Labels, nil
}

// Metadata is one MetricMetadata: a family's type and unit.
type Metadata struct {
	Type   MetricType
	Family []byte
	Unit   []byte
}

// WriteRequest is a decoded request. Its slices are reused by the next
// Unmarshal, and its byte slices point into the body given to it.
type WriteRequest struct {
	Series   []Series
	Metadata []Metadata
}

// DecodeError names where a body failed to decode (shared with the
// OTLP decoder).
type DecodeError = pbwire.DecodeError

func decodeErr(off int, where string, err error) *DecodeError {
	return &DecodeError{Msg: "protobuf WriteRequest", Offset: off, Where: where, Err: err}
}

// Unmarshal decodes b into wr, reusing wr's slices.
func (wr *WriteRequest) Unmarshal(b []byte) error { return wr.unmarshal(b, nil) }

// knownFunc looks a series' label bytes up in the handler's cache.
type knownFunc func(labelBytes []byte) (cachedSeries, bool)

// unmarshal is Unmarshal leaving the labels of series known to the cache
// undecoded (Series.hit): most series of a request were met before, and
// their labels are most of the body when a series has a sample or two.
func (wr *WriteRequest) unmarshal(b []byte, known knownFunc) error {
	for i := range wr.Series {
		s := &wr.Series[i]
		s.Labels, s.Samples, s.Histograms, s.LabelBytes = s.Labels[:0], s.Samples[:0], 0, nil
		s.hit, s.cached = false, cachedSeries{}
	}
	wr.Series, wr.Metadata = wr.Series[:0], wr.Metadata[:0]
	off := 0
	for off < len(b) {
		num, typ, n := protowire.ConsumeTag(b[off:])
		if n < 0 {
			return decodeErr(off, "WriteRequest", protowire.ParseError(n))
		}
		start := off
		off += n
		switch {
		case num == 1 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b[off:])
			if n < 0 {
				return decodeErr(start, fmt.Sprintf("timeseries %d", len(wr.Series)), protowire.ParseError(n))
			}
			if len(wr.Series) < cap(wr.Series) {
				wr.Series = wr.Series[:len(wr.Series)+1]
			} else {
				wr.Series = append(wr.Series, Series{})
			}
			if err := decodeSeries(&wr.Series[len(wr.Series)-1], v, off+n-len(v), len(wr.Series)-1, known); err != nil {
				return err
			}
			off += n
		case num == 3 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b[off:])
			if n < 0 {
				return decodeErr(start, fmt.Sprintf("metadata %d", len(wr.Metadata)), protowire.ParseError(n))
			}
			md, err := decodeMetadata(v, off+n-len(v), len(wr.Metadata))
			if err != nil {
				return err
			}
			wr.Metadata = append(wr.Metadata, md)
			off += n
		default:
			n := protowire.ConsumeFieldValue(num, typ, b[off:])
			if n < 0 {
				return decodeErr(start, fmt.Sprintf("WriteRequest field %d", num), protowire.ParseError(n))
			}
			off += n
		}
	}
	return nil
}

// decodeSeries decodes a TimeSeries. With known, its labels are decoded
// last (decodeLabels) and only when known does not have them.
func decodeSeries(s *Series, b []byte, base, idx int, known knownFunc) error {
	where := func(what string, i int) string {
		if what == "" {
			return fmt.Sprintf("timeseries %d", idx)
		}
		return fmt.Sprintf("timeseries %d: %s %d", idx, what, i)
	}
	off := 0
	// The span of the label fields; split: another field came between two.
	lStart, lEnd, split := -1, -1, false
	for off < len(b) {
		// Samples in the usual form first, as many as come in a row, read
		// in place (readSamples); anything else goes the field by field
		// way below.
		if b[off] == 0x12 {
			var n int
			if s.Samples, n = readSamples(b[off:], s.Samples); n > 0 {
				off += n
				continue
			}
		}
		num, typ, n := protowire.ConsumeTag(b[off:])
		if n < 0 {
			return decodeErr(base+off, where("", 0), protowire.ParseError(n))
		}
		start := off
		off += n
		switch {
		case num == 1 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b[off:])
			if n < 0 {
				return decodeErr(base+start, where("label", len(s.Labels)), protowire.ParseError(n))
			}
			if known == nil {
				l, err := decodeLabel(v)
				if err != nil {
					return decodeErr(base+start, where("label", len(s.Labels)), err)
				}
				s.Labels = append(s.Labels, l)
			}
			off += n
			if lStart < 0 {
				lStart = start
			} else if lEnd != start {
				split = true
			}
			lEnd = off
		case num == 2 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b[off:])
			if n < 0 {
				return decodeErr(base+start, where("sample", len(s.Samples)), protowire.ParseError(n))
			}
			sm, err := decodeSample(v)
			if err != nil {
				return decodeErr(base+start, where("sample", len(s.Samples)), err)
			}
			s.Samples = append(s.Samples, sm)
			off += n
		case num == 4 && typ == protowire.BytesType:
			s.Histograms++
			fallthrough
		default:
			n := protowire.ConsumeFieldValue(num, typ, b[off:])
			if n < 0 {
				return decodeErr(base+start, where(fmt.Sprintf("field %d", num), 0), protowire.ParseError(n))
			}
			off += n
		}
	}
	if lStart >= 0 && !split {
		s.LabelBytes = b[lStart:lEnd:lEnd]
	}
	if known == nil {
		return nil
	}
	if s.LabelBytes != nil && s.Histograms == 0 {
		if s.cached, s.hit = known(s.LabelBytes); s.hit {
			return nil
		}
	}
	return decodeLabels(s, b, base, idx)
}

// decodeLabels decodes the label fields of a TimeSeries that decoded
// but for them, as decodeSeries does without known.
func decodeLabels(s *Series, b []byte, base, idx int) error {
	for off := 0; off < len(b); {
		num, typ, n := protowire.ConsumeTag(b[off:])
		if n < 0 {
			return decodeErr(base+off, fmt.Sprintf("timeseries %d", idx), protowire.ParseError(n))
		}
		start := off
		off += n
		if num == 1 && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b[off:])
			if n < 0 {
				return decodeErr(base+start, fmt.Sprintf("timeseries %d: label %d", idx, len(s.Labels)), protowire.ParseError(n))
			}
			l, err := decodeLabel(v)
			if err != nil {
				return decodeErr(base+start, fmt.Sprintf("timeseries %d: label %d", idx, len(s.Labels)), err)
			}
			s.Labels = append(s.Labels, l)
			off += n
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b[off:])
		if n < 0 {
			return decodeErr(base+start, fmt.Sprintf("timeseries %d: field %d", idx, num), protowire.ParseError(n))
		}
		off += n
	}
	return nil
}

func decodeLabel(b []byte) (Label, error) {
	var l Label
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return l, protowire.ParseError(n)
		}
		b = b[n:]
		if (num == 1 || num == 2) && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return l, protowire.ParseError(n)
			}
			if num == 1 {
				l.Name = v
			} else {
				l.Value = v
			}
			b = b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return l, protowire.ParseError(n)
		}
		b = b[n:]
	}
	return l, nil
}

// decodeSample decodes one Sample. Every encoder writes its value and
// then its timestamp, and that form is read directly; anything else goes
// through decodeSampleFields, which takes all that protobuf allows.
func decodeSample(b []byte) (Sample, error) {
	if sm, ok := usualSample(b); ok {
		return sm, nil
	}
	return decodeSampleFields(b)
}

// readSamples appends the Sample fields at the start of b to samples as
// long as they are in the usual form (usualSample's, with a one-byte
// length), and returns how many bytes they took. It is usualSample in a
// loop, written out: a call a sample costs a third of what it does.
func readSamples(b []byte, samples []Sample) ([]Sample, int) {
	// room for as many as b can hold (13 bytes at least each): the loop
	// calls nothing, so its values stay in registers
	samples = slices.Grow(samples, len(b)/13)
	n, out := len(samples), samples[:cap(samples)]
	rest := b
	for len(rest) >= 13 && rest[0] == 0x12 && n < len(out) {
		l := int(rest[1]) // the sample's length: 11 to 18 in the usual form
		if l < 11 || l > 18 || 2+l > len(rest) {
			break
		}
		sm := rest[2 : 2+l]
		if sm[0] != 0x09 || sm[9] != 0x10 {
			break
		}
		k := l - 10 // the varint's bytes: its top k
		w := binary.LittleEndian.Uint64(sm[l-8 : l])
		varint := ^uint64(0) << (uint(64-8*k) & 63)
		if (w|^varint)&0x8080808080808080 != 0x0080808080808080 {
			break
		}
		x := w >> (uint(8*(8-k)) & 63) & 0x7f7f7f7f7f7f7f7f
		x = x&0x007f007f007f007f | x&0x7f007f007f007f00>>1
		x = x&0x00003fff00003fff | x&0x3fff00003fff0000>>2
		x = x&0x000000000fffffff | x&0x0fffffff00000000>>4
		out[n] = Sample{Value: math.Float64frombits(binary.LittleEndian.Uint64(sm[1:9])), Timestamp: int64(x)}
		n++
		rest = rest[2+l:]
	}
	return out[:n], len(b) - len(rest)
}

// usualSample reads a Sample in its usual form, value (1, fixed64) then
// timestamp (2, varint of at most 8 bytes, 56 bits: every millisecond
// time after 1970) and nothing else, the varint read as one word
// (protowire.ConsumeVarint is a call and a loop a sample); ok is false for
// any other form, which decodeSampleFields then reads.
func usualSample(b []byte) (sm Sample, ok bool) {
	k := len(b) - 10 // the varint's bytes, which must end the sample
	if k < 1 || k > 8 || b[0] != 0x09 || b[9] != 0x10 {
		return Sample{}, false
	}
	// The sample's last 8 bytes (it has at least 11): the varint is the
	// top k. Every byte of it but the last has its continuation bit, the
	// last not (the bytes below the varint are taken as set).
	w := binary.LittleEndian.Uint64(b[len(b)-8:])
	varint := ^uint64(0) << (uint(64-8*k) & 63) // its bytes (k is 1 to 8)
	if (w|^varint)&0x8080808080808080 != 0x0080808080808080 {
		return Sample{}, false
	}
	u := w >> (uint(8*(8-k)) & 63) // the varint's bytes the low ones (& 63: no check of the shift)
	// Gather the 7-bit groups: pairs, then fours, then all eight.
	x := u & 0x7f7f7f7f7f7f7f7f
	x = x&0x007f007f007f007f | x&0x7f007f007f007f00>>1
	x = x&0x00003fff00003fff | x&0x3fff00003fff0000>>2
	x = x&0x000000000fffffff | x&0x0fffffff00000000>>4
	return Sample{Value: math.Float64frombits(binary.LittleEndian.Uint64(b[1:9])), Timestamp: int64(x)}, true
}

func decodeSampleFields(b []byte) (Sample, error) {
	var s Sample
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return s, protowire.ParseError(n)
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.Fixed64Type:
			v, n := protowire.ConsumeFixed64(b)
			if n < 0 {
				return s, protowire.ParseError(n)
			}
			s.Value = math.Float64frombits(v)
			b = b[n:]
		case num == 2 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return s, protowire.ParseError(n)
			}
			s.Timestamp = int64(v)
			b = b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return s, protowire.ParseError(n)
			}
			b = b[n:]
		}
	}
	return s, nil
}

func decodeMetadata(b []byte, base, idx int) (Metadata, error) {
	var md Metadata
	off := 0
	for off < len(b) {
		num, typ, n := protowire.ConsumeTag(b[off:])
		if n < 0 {
			return md, decodeErr(base+off, fmt.Sprintf("metadata %d", idx), protowire.ParseError(n))
		}
		start := off
		off += n
		switch {
		case num == 1 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b[off:])
			if n < 0 {
				return md, decodeErr(base+start, fmt.Sprintf("metadata %d: type", idx), protowire.ParseError(n))
			}
			md.Type = MetricType(int32(v))
			off += n
		case (num == 2 || num == 5) && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b[off:])
			if n < 0 {
				return md, decodeErr(base+start, fmt.Sprintf("metadata %d: field %d", idx, num), protowire.ParseError(n))
			}
			if num == 2 {
				md.Family = v
			} else {
				md.Unit = v
			}
			off += n
		default:
			n := protowire.ConsumeFieldValue(num, typ, b[off:])
			if n < 0 {
				return md, decodeErr(base+start, fmt.Sprintf("metadata %d: field %d", idx, num), protowire.ParseError(n))
			}
			off += n
		}
	}
	return md, nil
}
