package cluster

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"rrdash/store"
)

func sampleEntry() Entry {
	spec := store.DefaultTemplate()
	spec.Start = 1700000000
	spec.DS[0].Min = math.NaN()
	return Entry{Series: "a.b;host=x", Spec: spec, Meta: map[string]string{"units": "ms", "k": ""},
		Updates: []Update{{Time: 1700000060, Usec: 5, Values: []string{"1.5"}}, {Time: 1700000120, Values: []string{"U"}}}}
}

// TestEntryRoundTrip: an entry decodes to what was encoded (NaN bounds
// included), and every truncation of it is an error, never a panic.
func TestEntryRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []Entry{sampleEntry(), {Series: "only.create", Spec: store.DefaultTemplate()}, {Series: "x"}}
	for _, e := range tests {
		t.Run(e.Series, func(t *testing.T) {
			t.Parallel()
			b := EncodeEntry(nil, e)
			got, err := DecodeEntry(b)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", e); g != w {
				t.Fatalf("decoded\n%s\nwant\n%s", g, w)
			}
			for n := range len(b) {
				if _, err := DecodeEntry(b[:n]); err == nil {
					t.Fatalf("truncated to %d of %d bytes: no error", n, len(b))
				}
			}
			if _, err := DecodeEntry(append(b, 0)); err == nil || !strings.Contains(err.Error(), "after the last update") {
				t.Fatalf("trailing byte: %v", err)
			}
		})
	}
}

func TestDecodeEntryErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"no magic", []byte(`{"name":"x"}`), "no RRL1 magic"},
		{"huge string", append([]byte(recordMagic), 0xff, 0xff, 0xff, 0x7f), "exceeds the record"},
		{"huge count", append(EncodeEntry(nil, Entry{Series: "x"})[:8], 0xff, 0xff, 0x03), "exceeds the record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := DecodeEntry(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestAggregateRoundTrip: several entries packed in one record come back
// in order; a plain entry reads as one; truncations are errors.
func TestAggregateRoundTrip(t *testing.T) {
	t.Parallel()
	es := []Entry{sampleEntry(), {Series: "b", Spec: store.DefaultTemplate(), Updates: []Update{{Time: 5, Values: []string{"2"}}}}}
	var parts [][]byte
	for _, e := range es {
		parts = append(parts, EncodeEntry(nil, e))
	}
	b := EncodeAggregate(nil, parts)
	got, err := DecodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", es) {
		t.Fatalf("decoded %+v", got)
	}
	if one, err := DecodeRecord(parts[1]); err != nil || len(one) != 1 || one[0].Series != "b" {
		t.Fatalf("plain entry: %+v %v", one, err)
	}
	for n := range len(b) {
		if _, err := DecodeRecord(b[:n]); err == nil && n > 0 {
			t.Fatalf("truncated to %d of %d bytes: no error", n, len(b))
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(EncodeAggregate(nil, [][]byte{EncodeEntry(nil, sampleEntry()), EncodeEntry(nil, Entry{Series: "x"})}))
	f.Add([]byte("RRL2\x01\x04RRL1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DecodeRecord(b) // an error, never a panic
	})
}

func FuzzDecodeEntry(f *testing.F) {
	f.Add(EncodeEntry(nil, sampleEntry()))
	f.Add(EncodeEntry(nil, Entry{Series: "x"}))
	f.Add([]byte("RRL1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEntry(b)
		if err != nil {
			return
		}
		// what decodes survives a round trip (the bytes may differ: overlong
		// varints, meta order)
		back, err := DecodeEntry(EncodeEntry(nil, e))
		if err != nil {
			t.Fatalf("re-encoded entry does not decode: %v", err)
		}
		if g, w := fmt.Sprintf("%+v", back), fmt.Sprintf("%+v", e); g != w {
			t.Fatalf("round trip\n%s\nwant\n%s", g, w)
		}
	})
}

// FuzzAppendRecordKnown: reading past the definitions of known series
// accepts and refuses exactly the records a full decode does, and gives
// the same series and updates.
func FuzzAppendRecordKnown(f *testing.F) {
	f.Add(EncodeAggregate(nil, [][]byte{EncodeEntry(nil, sampleEntry()), EncodeEntry(nil, Entry{Series: "x"})}))
	f.Add(EncodeEntry(nil, sampleEntry()))
	f.Add([]byte("RRL2\x01\x04RRL1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		full, ferr := DecodeRecord(b)
		skip, serr := AppendRecord(nil, b, func(string) bool { return true })
		if (ferr == nil) != (serr == nil) {
			t.Fatalf("full decode: %v; skipping definitions: %v", ferr, serr)
		}
		if len(full) != len(skip) {
			t.Fatalf("%d entries, skipping definitions %d", len(full), len(skip))
		}
		for i := range full {
			if full[i].Series != skip[i].Series || fmt.Sprint(full[i].Updates) != fmt.Sprint(skip[i].Updates) {
				t.Fatalf("entry %d: %+v, skipping definitions %+v", i, full[i], skip[i])
			}
			if skip[i].Spec.DS != nil || skip[i].Meta != nil {
				t.Fatalf("entry %d: definition decoded though known: %+v", i, skip[i])
			}
		}
	})
}
