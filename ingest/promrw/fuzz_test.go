package promrw

import (
	"fmt"
	"math"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// FuzzDecodeSample: the direct reading of a Sample's usual form gives
// what the field by field decoding gives.
func FuzzDecodeSample(f *testing.F) {
	f.Add([]byte{0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0x80, 0xc0, 0xf6, 0xa5, 0x9f, 0x34}) // 1 at 1795356000000
	f.Add([]byte{0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0x80})                               // truncated timestamp
	f.Add([]byte{0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0x01, 0x10, 0x02})                   // timestamp twice
	// every varint length, with and without a field after it
	for _, ts := range []int64{0, 1, 127, 128, 1<<14 - 1, 1 << 14, 1795356000000, 1<<49 - 1, 1 << 49, 1<<56 - 1, 1 << 56, 1<<63 - 1, -1} {
		sm := protowire.AppendFixed64(protowire.AppendTag(nil, 1, protowire.Fixed64Type), math.Float64bits(-2.5))
		sm = protowire.AppendVarint(protowire.AppendTag(sm, 2, protowire.VarintType), uint64(ts))
		f.Add(sm)
		f.Add(append(sm, 0x08, 0x01))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, gerr := decodeSample(b)
		want, werr := decodeSampleFields(b)
		if (gerr == nil) != (werr == nil) || math.Float64bits(got.Value) != math.Float64bits(want.Value) || got.Timestamp != want.Timestamp {
			t.Fatalf("decodeSample %+v, %v; field by field %+v, %v", got, gerr, want, werr)
		}
	})
}

// FuzzUnmarshal: the decoder never panics, and what it decodes from a body
// it accepted converts without panicking either. Seeds: testdata/fuzz.
func FuzzUnmarshal(f *testing.F) {
	f.Add(encodeRequest([]tsIn{{labels: [][2]string{{"__name__", "up"}, {"job", "x"}}, samples: []Sample{{1, 1795356000000}}}}, []mdIn{{TypeCounter, "up"}}))
	f.Add(encodeRequest([]tsIn{{labels: [][2]string{{"__name__", "a_bucket"}, {"le", "+Inf"}}, samples: []Sample{{math.NaN(), -1}}, hists: 1}}, nil))
	f.Add([]byte{0x0a, 0x80})
	h, err := New(discard{}, Config{Horizon: fixedHorizon})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var st state
		if err := st.wr.Unmarshal(b); err != nil {
			if _, ok := err.(*DecodeError); !ok {
				t.Fatalf("error %T %v is not a DecodeError", err, err)
			}
			return
		}
		h.learn(st.wr.Metadata)
		bad, first := h.convert(&st)
		if bad > 0 && first == nil {
			t.Fatal("bad samples without an error")
		}
		// Decoding twice into the same request reuses its slices and
		// gives the same result.
		n := len(st.wr.Series)
		if err := st.wr.Unmarshal(b); err != nil || len(st.wr.Series) != n {
			t.Fatalf("second decode: %v, %d series, want %d", err, len(st.wr.Series), n)
		}
		// A handler that met the body's series before (its names cache)
		// converts it exactly as one meeting them for the first time.
		fresh := newConvertHandler(t)
		want, wbad, wfirst := converted(t, fresh, b)
		got, gbad, gfirst := converted(t, fresh, b)
		if fmt.Sprint(got) != fmt.Sprint(want) || gbad != wbad || fmt.Sprint(gfirst) != fmt.Sprint(wfirst) {
			t.Fatalf("from the cache %v (%d bad: %v)\nfirst time %v (%d bad: %v)", got, gbad, gfirst, want, wbad, wfirst)
		}
	})
}

// FuzzDecodeSeries: decodeSeries, which reads the usual sample in place,
// decodes a TimeSeries as a plain field by field reading of it does.
func FuzzDecodeSeries(f *testing.F) {
	sample := []byte{0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0x80, 0xc0, 0xf6, 0xa5, 0x9f, 0x34}
	label := []byte{0x0a, 0x1a, 0x0a, 0x08, '_', '_', 'n', 'a', 'm', 'e', '_', '_', 0x12, 0x0e, 'b', 'e', 'n', 'c', 'h', '_', 't', 'o', 't', 'a', 'l', '_', 'x', 'y'}
	f.Add(append(append(label, 0x12, byte(len(sample))), sample...))
	f.Add([]byte{0x12, 0x0b, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0x80})                                                       // truncated timestamp
	f.Add([]byte{0x12, 0x0d, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0x01, 0x10, 0x02})                                           // timestamp twice
	f.Add([]byte{0x12, 0x14, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}) // overflow
	f.Add([]byte{0x12, 0x20, 0x09})                                                                                                 // length past the end
	// usual samples in a row, one in another order (timestamp first) among them
	odd := []byte{0x10, 0x05, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f}
	many := append(append(append([]byte{}, label...), 0x12, byte(len(sample))), sample...)
	many = append(append(append(many, 0x12, byte(len(sample))), sample...), 0x12, byte(len(odd)))
	many = append(append(append(many, odd...), 0x12, byte(len(sample))), sample...)
	f.Add(many)
	f.Fuzz(func(t *testing.T, b []byte) {
		want, werr := decodeSeriesFields(b)
		// labels in place, and last (the cache did not know them)
		for _, known := range []knownFunc{nil, func([]byte) (cachedSeries, bool) { return cachedSeries{}, false }} {
			var got Series
			gerr := decodeSeries(&got, b, 0, 0, known)
			if (gerr == nil) != (werr == nil) {
				t.Fatalf("decodeSeries error %v, field by field %v", gerr, werr)
			}
			if gerr == nil && fmt.Sprintf("%q %v %d %q", got.Labels, bitsOf(got.Samples), got.Histograms, got.LabelBytes) != fmt.Sprintf("%q %v %d %q", want.Labels, bitsOf(want.Samples), want.Histograms, want.LabelBytes) {
				t.Fatalf("decodeSeries %+v\nfield by field %+v", got, want)
			}
		}
		// a known series' labels are decoded when asked for
		var got Series
		if err := decodeSeries(&got, b, 0, 0, func([]byte) (cachedSeries, bool) { return cachedSeries{name: "x"}, true }); err == nil && werr == nil && got.hit {
			if ls, err := got.labels(); err != nil || fmt.Sprintf("%q", ls) != fmt.Sprintf("%q", want.Labels) {
				t.Fatalf("labels of a known series %q, %v; want %q", ls, err, want.Labels)
			}
		}
	})
}

func bitsOf(sms []Sample) [][2]uint64 {
	var r [][2]uint64
	for _, s := range sms {
		r = append(r, [2]uint64{math.Float64bits(s.Value), uint64(s.Timestamp)})
	}
	return r
}

// decodeSeriesFields is decodeSeries without the in-place reading of
// samples: every field through protowire.
func decodeSeriesFields(b []byte) (Series, error) {
	var s Series
	lStart, lEnd, split := -1, -1, false
	for off := 0; off < len(b); {
		num, typ, n := protowire.ConsumeTag(b[off:])
		if n < 0 {
			return s, protowire.ParseError(n)
		}
		start := off
		off += n
		if typ == protowire.BytesType && (num == 1 || num == 2) {
			v, n := protowire.ConsumeBytes(b[off:])
			if n < 0 {
				return s, protowire.ParseError(n)
			}
			off += n
			if num == 2 {
				sm, err := decodeSampleFields(v)
				if err != nil {
					return s, err
				}
				s.Samples = append(s.Samples, sm)
				continue
			}
			l, err := decodeLabel(v)
			if err != nil {
				return s, err
			}
			s.Labels = append(s.Labels, l)
			if lStart < 0 {
				lStart = start
			} else if lEnd != start {
				split = true
			}
			lEnd = off
			continue
		}
		if num == 4 && typ == protowire.BytesType {
			s.Histograms++
		}
		n = protowire.ConsumeFieldValue(num, typ, b[off:])
		if n < 0 {
			return s, protowire.ParseError(n)
		}
		off += n
	}
	if lStart >= 0 && !split {
		s.LabelBytes = b[lStart:lEnd:lEnd]
	}
	return s, nil
}

// TestUsualSample: the in-place reading takes the usual form of every
// varint length up to 8 bytes and gives it up beyond.
func TestUsualSample(t *testing.T) {
	for k, ts := range []int64{1, 1 << 7, 1 << 14, 1 << 21, 1 << 28, 1 << 35, 1795356000000, 1 << 49, 1 << 56} {
		b := protowire.AppendFixed64(protowire.AppendTag(nil, 1, protowire.Fixed64Type), math.Float64bits(3))
		b = protowire.AppendVarint(protowire.AppendTag(b, 2, protowire.VarintType), uint64(ts))
		sm, ok := usualSample(b)
		if want := k < 8; ok != want || ok && (sm.Timestamp != ts || sm.Value != 3) {
			t.Errorf("timestamp %d (%d bytes): %+v, %v; want it read: %v", ts, len(b)-10, sm, ok, want)
		}
	}
}
