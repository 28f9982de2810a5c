package pbwire

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func TestNext(t *testing.T) {
	t.Parallel()
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, 300)
	b = protowire.AppendTag(b, 2, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, 7)
	b = protowire.AppendTag(b, 3, protowire.Fixed32Type)
	b = protowire.AppendFixed32(b, 9)
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	b = protowire.AppendBytes(b, []byte("ab"))
	b = protowire.AppendTag(b, 5, protowire.StartGroupType)
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, 1)
	b = protowire.AppendTag(b, 5, protowire.EndGroupType)
	want := []Field{{Num: 1, Typ: protowire.VarintType, U: 300}, {Num: 2, Typ: protowire.Fixed64Type, U: 7},
		{Num: 3, Typ: protowire.Fixed32Type, U: 9}, {Num: 4, Typ: protowire.BytesType, Bytes: []byte("ab")}, {Num: 5, Typ: protowire.StartGroupType}}
	for i, w := range want {
		f, n, err := Next(b)
		if err != nil {
			t.Fatalf("field %d: %v", i, err)
		}
		if f.Num != w.Num || f.Typ != w.Typ || f.U != w.U || string(f.Bytes) != string(w.Bytes) {
			t.Fatalf("field %d: %+v, want %+v", i, f, w)
		}
		b = b[n:]
	}
	if len(b) != 0 {
		t.Fatalf("%d bytes left", len(b))
	}
	for name, bad := range map[string][]byte{
		"truncated varint": {0x08, 0x80},
		"bytes past end":   {0x22, 0x05, 'a'},
		"field 0":          {0x00, 0x01},
		"end group alone":  {0x2c},
		"truncated fixed":  {0x11, 1, 2},
	} {
		if _, _, err := Next(bad); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestAppendPackedFixed64(t *testing.T) {
	t.Parallel()
	b := protowire.AppendFixed64(protowire.AppendFixed64(nil, 1), 2)
	got, err := AppendPackedFixed64([]uint64{0}, b)
	if err != nil || len(got) != 3 || got[1] != 1 || got[2] != 2 {
		t.Fatalf("%v, %v", got, err)
	}
	if _, err := AppendPackedFixed64(nil, b[:5]); err == nil {
		t.Fatal("a partial value: no error")
	}
}

func TestDecodeError(t *testing.T) {
	t.Parallel()
	inner := errors.New("boom")
	e := &DecodeError{Msg: "protobuf WriteRequest", Offset: 12, Where: "timeseries 3", Err: inner}
	if got, want := e.Error(), "protobuf WriteRequest: timeseries 3 at byte 12: boom"; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	if !errors.Is(e, inner) {
		t.Fatal("Unwrap")
	}
}

// FuzzNext: Next never panics, never reads past b, and reads what the
// general decoding (next) reads: its direct reading of the usual fields
// changes nothing.
func FuzzNext(f *testing.F) {
	f.Add([]byte{0x08, 0x96, 0x01})
	f.Add([]byte{0x2b, 0x08, 0x01, 0x2c})
	f.Add([]byte{0x19, 1, 2, 3, 4, 5, 6, 7, 8, 0x22, 0x02, 'a', 'b'})
	f.Add([]byte{0x22, 0x7f, 'a'})
	f.Add([]byte{0x01, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Fuzz(func(t *testing.T, b []byte) {
		for len(b) > 0 {
			f, n, err := Next(b)
			g, gn, gerr := next(b)
			if (err == nil) != (gerr == nil) || n != gn || f.Num != g.Num || f.Typ != g.Typ || f.U != g.U || string(f.Bytes) != string(g.Bytes) || (f.Bytes == nil) != (g.Bytes == nil) {
				t.Fatalf("Next %+v %d %v; next %+v %d %v", f, n, err, g, gn, gerr)
			}
			if err != nil {
				return
			}
			if n <= 0 || n > len(b) {
				t.Fatalf("length %d of %d bytes", n, len(b))
			}
			b = b[n:]
		}
	})
}
