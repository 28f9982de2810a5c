package promrw

import (
	"fmt"
	"math"
	"testing"
)

// FuzzDecodeSample: the direct reading of a Sample's usual form gives
// what the field by field decoding gives.
func FuzzDecodeSample(f *testing.F) {
	f.Add([]byte{0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0x80, 0xc0, 0xf6, 0xa5, 0x9f, 0x34}) // 1 at 1795356000000
	f.Add([]byte{0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0x80})                               // truncated timestamp
	f.Add([]byte{0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0x01, 0x10, 0x02})                   // timestamp twice
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
