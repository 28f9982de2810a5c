package rrdfile

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"strings"
	"testing"
)

// testdata/small.rrd was made by rrdtool 1.7.2:
//
//	rrdtool create small.rrd --start 1000000000 --step 60 DS:g:GAUGE:120:0:100 \
//	  DS:c:COUNTER:120:U:U RRA:AVERAGE:0.5:1:4 RRA:MAX:0.5:3:3
//	rrdtool update small.rrd 1000000030:5:100 1000000090:7:160 1000000200:U:400 1000000260:50:1000
//
// testdata/dderive.rrd: create --start 1000000000 --step 60 DS:d:DDERIVE:120:U:U RRA:LAST:0:1:3
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeSmall(t *testing.T) {
	t.Parallel()
	f, err := Decode(readTestdata(t, "small.rrd"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 3 || f.Step != 60 || f.LastUpdate != 1000000260 || f.LastUpdateUsec != 0 || len(f.DS) != 2 || len(f.RRA) != 2 {
		t.Fatalf("header: %+v", f)
	}
	g, c := f.DS[0], f.DS[1]
	if g.Name != "g" || g.Type != "GAUGE" || g.Heartbeat != 120 || g.Min != 0 || g.Max != 100 || g.LastDS != "50" || g.Value != 0 || g.UnknownSec != 0 {
		t.Errorf("ds g: %+v", g)
	}
	if c.Name != "c" || c.Type != "COUNTER" || !math.IsNaN(c.Min) || !math.IsNaN(c.Max) || c.LastDS != "1000" {
		t.Errorf("ds c: %+v", c)
	}
	a := f.RRA[0]
	if a.CF != "AVERAGE" || a.Rows != 4 || a.Steps != 1 || a.XFF != 0.5 || len(a.Ring) != 8 {
		t.Errorf("rra 0: %+v", a)
	}
	if a.CDP[0].Primary != 50 || a.CDP[1].Primary != 10 || a.CDP[0].Secondary != 0 || !math.IsNaN(a.CDP[0].Value) {
		t.Errorf("rra 0 cdp_prep: %+v", a.CDP)
	}
	if f.RRA[1].CF != "MAX" || f.RRA[1].Steps != 3 || f.RRA[1].Rows != 3 {
		t.Errorf("rra 1: %+v", f.RRA[1])
	}
	// rrdtool fetch small.rrd AVERAGE -s 1000000000 -e 1000000260
	times := f.Times(0)
	want := []struct {
		t    int64
		g, c float64
	}{{1000000080, 20.0 / 3, 1}, {1000000140, 7, 1.9848484848}, {1000000200, math.NaN(), 2.1818181818}, {1000000260, 50, 10}}
	for i, w := range want {
		row := f.Row(0, int64(i))
		if times[i] != w.t || !near(row[0], w.g) || !near(row[1], w.c) {
			t.Errorf("row %d: %d %v, want %d %v %v", i, times[i], row, w.t, w.g, w.c)
		}
	}
	d, err := Decode(readTestdata(t, "dderive.rrd"))
	if err != nil || d.Version != 5 || d.DS[0].Type != "DDERIVE" || d.RRA[0].CF != "LAST" {
		t.Fatalf("dderive.rrd: %v %+v", err, d)
	}
}

func near(a, b float64) bool {
	return math.IsNaN(a) && math.IsNaN(b) || math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b))
}

func TestDecodeRefuses(t *testing.T) {
	t.Parallel()
	good := readTestdata(t, "small.rrd")
	patch := func(f func(b []byte) []byte) []byte { return f(append([]byte{}, good...)) }
	le := binary.LittleEndian
	for _, c := range []struct {
		name string
		b    []byte
		err  string
		is   error
	}{
		{"empty", nil, "not an RRD file", nil},
		{"xml", []byte("<?xml version"), "not an RRD file", nil},
		{"short header", good[:100], "header: 100 bytes", io.ErrUnexpectedEOF},
		{"version", patch(func(b []byte) []byte { copy(b[4:], "0009"); return b }), `unsupported RRD version "0009"`, nil},
		{"big-endian", patch(func(b []byte) []byte {
			binary.BigEndian.PutUint64(b[16:], math.Float64bits(floatCookie))
			return b
		}), "big-endian", ErrForeignArchitecture},
		{"32-bit", patch(func(b []byte) []byte {
			le.PutUint64(b[16:], 0)
			le.PutUint64(b[12:], math.Float64bits(floatCookie))
			return b
		}), "32-bit", ErrForeignArchitecture},
		{"garbage cookie", patch(func(b []byte) []byte { le.PutUint64(b[16:], 7); return b }), "float cookie", ErrForeignArchitecture},
		{"ds_cnt", patch(func(b []byte) []byte { le.PutUint64(b[24:], 1<<40); return b }), "ds_cnt 1099511627776", nil},
		{"no rra", patch(func(b []byte) []byte { le.PutUint64(b[32:], 0); return b }), "rra_cnt 0", nil},
		{"step", patch(func(b []byte) []byte { le.PutUint64(b[40:], 0); return b }), "pdp_step 0", nil},
		{"row_cnt", patch(func(b []byte) []byte { le.PutUint64(b[128+240+24:], 1<<50); return b }), "rra_def[0]: row_cnt", nil},
		{"cur_row", patch(func(b []byte) []byte {
			le.PutUint64(b[128+240+240+16+224+320:], 4)
			return b
		}), "rra_ptr[0]: cur_row 4 beyond the archive's 4 rows", nil},
		{"truncated rows", good[:len(good)-8], "RRD file is too small (should be 1296 bytes, is 1288)", nil},
		{"truncated header", good[:600], "offset", io.ErrUnexpectedEOF},
	} {
		_, err := Decode(c.b)
		if err == nil || !strings.Contains(err.Error(), c.err) || c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%s: %v, want %q", c.name, err, c.err)
		}
	}
}

// FuzzDecode: any bytes decode to an error or to a file whose rings have
// the sizes its definition gives; never a panic or a huge allocation.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"small.rrd", "dderive.rrd"} {
		b := readTestdata(f, name)
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<20 {
			return
		}
		r, err := Decode(b)
		if err != nil {
			return
		}
		for a, x := range r.RRA {
			if int64(len(x.Ring)) != x.Rows*int64(len(r.DS)) || x.CurRow < 0 || x.CurRow >= x.Rows || len(x.CDP) != len(r.DS) {
				t.Fatalf("rra %d: %d values for %d rows × %d ds, cur_row %d", a, len(x.Ring), x.Rows, len(r.DS), x.CurRow)
			}
			if x.Rows > 0 {
				_ = r.Row(a, x.Rows-1)
				_ = r.Times(a)
			}
		}
	})
}

// TestEncodeRoundTrip: files rrdtool 1.7.2 wrote come back byte for byte
// from Decode then Encode.
func TestEncodeRoundTrip(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"small.rrd", "dderive.rrd"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := readTestdata(t, name)
			f, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Encode(f)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(b) {
				for i := range min(len(got), len(b)) {
					if got[i] != b[i] {
						t.Fatalf("%d bytes written for %d; first difference at offset %d: %#x, want %#x", len(got), len(b), i, got[i], b[i])
					}
				}
				t.Fatalf("%d bytes written, want %d", len(got), len(b))
			}
		})
	}
}

// TestEncodeNamedFieldsOnly: a File holding only the named fields (raw
// words zero, as a writer from rrdash's own state builds it) encodes to
// the bytes rrdtool wrote: rrdtool leaves the other words zero.
func TestEncodeNamedFieldsOnly(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"small.rrd", "dderive.rrd"} {
		b := readTestdata(t, name)
		f, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		f.Version, f.Params = 0, Words{}
		for i := range f.DS {
			f.DS[i].Params, f.DS[i].Scratch = Words{}, Words{}
		}
		for a := range f.RRA {
			f.RRA[a].Params = Words{}
			for i := range f.RRA[a].CDP {
				f.RRA[a].CDP[i].Scratch = Words{}
			}
		}
		got, err := Encode(f)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(b) {
			t.Errorf("%s: the encoding of the named fields differs from rrdtool's file", name)
		}
	}
}

func TestEncodeRefuses(t *testing.T) {
	t.Parallel()
	good := func() *File {
		return &File{Step: 60, DS: []DS{{Name: "v", Type: "GAUGE", Heartbeat: 120, Min: math.NaN(), Max: math.NaN(), LastDS: "U"}},
			RRA: []RRA{{CF: "AVERAGE", Rows: 2, Steps: 1, XFF: 0.5, CDP: []CDP{{}}, Ring: []float64{math.NaN(), math.NaN()}}}}
	}
	if _, err := Encode(good()); err != nil {
		t.Fatalf("good file: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(f *File)
	}{
		{"no ds", func(f *File) { f.DS = nil }},
		{"step", func(f *File) { f.Step = 0 }},
		{"long name", func(f *File) { f.DS[0].Name = strings.Repeat("x", 20) }},
		{"cur row", func(f *File) { f.RRA[0].CurRow = 2 }},
		{"ring", func(f *File) { f.RRA[0].Ring = f.RRA[0].Ring[:1] }},
		{"cdp", func(f *File) { f.RRA[0].CDP = nil }},
		{"version", func(f *File) { f.Version = 2 }},
	} {
		f := good()
		tc.edit(f)
		if _, err := Encode(f); err == nil {
			t.Errorf("%s: encoded", tc.name)
		}
	}
}

// FuzzEncode: whatever decodes (version 3 or later) encodes to bytes that
// decode to the same file, and encoding that again changes nothing.
func FuzzEncode(f *testing.F) {
	for _, name := range []string{"small.rrd", "dderive.rrd"} {
		f.Add(readTestdata(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<20 {
			return
		}
		r, err := Decode(b)
		if err != nil || r.Version < 3 {
			return
		}
		enc, err := Encode(r)
		if err != nil {
			return // e.g. a name Decode cut at 20 bytes without its NUL
		}
		again, err := Decode(enc)
		if err != nil {
			t.Fatalf("the encoding does not decode: %v", err)
		}
		enc2, err := Encode(again)
		if err != nil || string(enc2) != string(enc) {
			t.Fatalf("encoding the decoded encoding differs (%v)", err)
		}
		if len(enc) > len(b) {
			t.Fatalf("%d bytes encoded from %d", len(enc), len(b))
		}
	})
}
