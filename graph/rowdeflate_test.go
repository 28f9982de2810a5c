package graph

import (
	"bytes"
	"compress/zlib"
	"hash/adler32"
	"io"
	"math/rand"
	"testing"
	"time"

	xfont "golang.org/x/image/font"
)

// TestDeflateCodeTables: every match length and distance falls in its
// code's range, its extra bits hold the offset (RFC 1951 3.2.5).
func TestDeflateCodeTables(t *testing.T) {
	t.Parallel()
	for l := 3; l <= 258; l++ {
		c := lenCode(l)
		if c < 0 || c > 28 {
			t.Fatalf("lenCode(%d) = %d", l, c)
		}
		off := l - int(lenBase[c])
		if off < 0 || off >= 1<<lenExtra[c] || (c == 28) != (l == 258) {
			t.Fatalf("length %d: code %d base %d extra %d", l, c, lenBase[c], lenExtra[c])
		}
	}
	for d := 1; d <= 32768; d++ {
		c := distCode(d)
		if c < 0 || c > 29 {
			t.Fatalf("distCode(%d) = %d", d, c)
		}
		off := d - distBase(c)
		if off < 0 || off >= 1<<distExtra(c) {
			t.Fatalf("distance %d: code %d base %d extra %d", d, c, distBase(c), distExtra(c))
		}
	}
}

// TestHuffLengths: the lengths form a complete prefix code (Kraft sum 1)
// no longer than the limit, rarer symbols never shorter, for skewed
// frequencies (Fibonacci: unlimited Huffman would need 30+ bits).
func TestHuffLengths(t *testing.T) {
	t.Parallel()
	fib := make([]int32, 286)
	a, b := int32(1), int32(1)
	for i := range 40 {
		fib[i] = a
		a, b = b, min(a+b, 1<<30)
	}
	rng := rand.New(rand.NewSource(3))
	random := make([]int32, 286)
	for i := range random {
		if rng.Intn(3) > 0 {
			random[i] = int32(rng.Intn(100000))
		}
	}
	tests := []struct {
		name string
		freq []int32
		max  int
	}{
		{"two", []int32{5, 0, 0, 1}, 15},
		{"uniform 19", []int32{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 7},
		{"fibonacci 286 at 15", fib, 15},
		{"fibonacci 19 at 7", fib[:19], 7},
		{"random 286", random, 15},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lens := make([]uint8, len(tc.freq))
			huffLengths(tc.freq, lens, tc.max)
			kraft := 0
			for s, l := range lens {
				if (l == 0) != (tc.freq[s] == 0) || int(l) > tc.max {
					t.Fatalf("symbol %d: freq %d length %d", s, tc.freq[s], l)
				}
				if l > 0 {
					kraft += 1 << (tc.max - int(l))
				}
				for r, m := range lens {
					if m > 0 && l > 0 && tc.freq[r] < tc.freq[s] && m < l {
						t.Fatalf("symbol %d (freq %d) has length %d, rarer %d (freq %d) %d", s, tc.freq[s], l, r, tc.freq[r], m)
					}
				}
			}
			if kraft != 1<<tc.max {
				t.Fatalf("Kraft sum %d/%d: not a complete code", kraft, 1<<tc.max)
			}
		})
	}
}

// deflateRows runs rows through a rowDeflater and inflates the result
// with compress/zlib (which checks the Adler-32 too).
func deflateRows(t testing.TB, bpp int, rows [][]byte) {
	d := newRowDeflater(bpp, nil)
	var want []byte
	for _, r := range rows {
		d.writeRow(r)
		want = append(want, r...)
	}
	z := d.close()
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatalf("zlib header: %v", err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("inflate: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("inflated %d bytes differ from the %d written", len(got), len(want))
	}
}

// TestRowDeflateRoundTrip: streams inflate to the rows written: noise,
// runs of each pixel size, rows repeating the row above (partly), rows
// of changing length (interlace passes), rows over the 32 KiB window,
// enough rows for several blocks, an empty stream.
func TestRowDeflateRoundTrip(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(1))
	noise := func(n int) []byte {
		b := make([]byte, n)
		rng.Read(b)
		return b
	}
	runs := func(n, bpp int) []byte {
		b := make([]byte, n)
		for i := 0; i < n; {
			px := noise(bpp)
			for k := rng.Intn(600); k >= 0 && i < n; k-- {
				copy(b[i:min(n, i+bpp)], px)
				i += bpp
			}
		}
		return b
	}
	var repeat [][]byte
	r := runs(2644, 3)
	for range 300 {
		r = append([]byte(nil), r...)
		for range rng.Intn(4) {
			r[rng.Intn(len(r))] = byte(rng.Intn(256))
		}
		repeat = append(repeat, r)
	}
	var interlaced [][]byte
	for _, n := range []int{13, 13, 7, 7, 7, 26, 26, 1, 52, 52, 52} {
		interlaced = append(interlaced, runs(n, 1))
	}
	var blocks [][]byte
	for range 40 {
		blocks = append(blocks, noise(2000)) // 80k literals: three blocks
	}
	tests := []struct {
		name string
		bpp  int
		rows [][]byte
	}{
		{"empty", 3, nil},
		{"one byte", 1, [][]byte{{0}}},
		{"noise", 3, [][]byte{noise(100), noise(100), noise(100)}},
		{"runs bpp 1", 1, [][]byte{runs(900, 1), runs(900, 1)}},
		{"runs bpp 3", 3, [][]byte{runs(2644, 3), runs(2644, 3)}},
		{"runs bpp 4", 4, [][]byte{runs(3525, 4), runs(3525, 4)}},
		{"rows repeating", 3, repeat},
		{"interlace lengths", 1, interlaced},
		{"rows over the window", 3, [][]byte{runs(40000, 3), runs(40000, 3), make([]byte, 40000), make([]byte, 40000)}},
		{"several blocks", 3, blocks},
		{"one long run", 1, [][]byte{make([]byte, 100000)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			deflateRows(t, tc.bpp, tc.rows)
		})
	}
}

// FuzzRowDeflate: any rows of any length inflate back to themselves.
func FuzzRowDeflate(f *testing.F) {
	f.Add([]byte("\x00aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabcabcabcabcabc\x00aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), uint16(37), uint8(3))
	f.Add(bytes.Repeat([]byte{0, 1, 2, 3, 4, 5, 6, 7}, 300), uint16(600), uint8(4))
	f.Add([]byte{1, 2, 3}, uint16(0), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, rowLen uint16, bpp uint8) {
		n := int(rowLen)%5000 + 1
		var rows [][]byte
		for len(data) > 0 {
			k := min(n, len(data))
			rows = append(rows, data[:k])
			data = data[k:]
		}
		deflateRows(t, int(bpp)%4+1, rows)
	})
}

// BenchmarkRowDeflate: a graph's RGB scanlines (800×200, the layout of
// BenchmarkEncodePNG) through rowDeflater and through compress/zlib at
// BestSpeed, what encodePNG used before.
func BenchmarkRowDeflate(b *testing.B) {
	s, d := testSpecData(b)
	s.Width, s.Height = 800, 200
	im, err := Layout(s, d, LayoutOptions{})
	if err != nil {
		b.Fatal(err)
	}
	f, _ := textFont()
	pp := &pngPainter{c: newCanvas(im.Width, im.Height), font: f, faces: map[float64]xfont.Face{}}
	pp.clip(nil)
	im.paint(pp, time.UTC)
	img := pp.c.img
	w := img.Bounds().Dx()
	var rows [][]byte
	for y := range img.Bounds().Dy() {
		r := make([]byte, 1+3*w)
		rgbRow(r[1:], img.Pix[y*img.Stride:], w, 4)
		rows = append(rows, r)
	}
	b.Run("rowDeflater", func(b *testing.B) {
		var out []byte
		for b.Loop() {
			d := newRowDeflater(3, nil)
			for _, r := range rows {
				d.writeRow(r)
			}
			out = d.close()
		}
		b.ReportMetric(float64(len(out)), "bytes")
	})
	b.Run("zlib BestSpeed", func(b *testing.B) {
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			zw, _ := zlib.NewWriterLevel(&buf, zlib.BestSpeed)
			for _, r := range rows {
				zw.Write(r)
			}
			zw.Close()
		}
		b.ReportMetric(float64(buf.Len()), "bytes")
	})
}

// TestAdler32Add: the same sums as hash/adler32 for lengths around its
// chunk size and step, all-0xff bytes (the largest sums), from a
// running sum.
func TestAdler32Add(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(5))
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 5551, 5552, 5553, 11104, 20000, 100003} {
		for _, fill := range []string{"random", "0xff"} {
			p := make([]byte, n)
			if fill == "random" {
				rng.Read(p)
			} else {
				for i := range p {
					p[i] = 0xff
				}
			}
			if got, want := adler32Add(1, p), adler32.Checksum(p); got != want {
				t.Errorf("%d bytes %s: %08x, want %08x", n, fill, got, want)
			}
			if k := n / 3; n > 0 {
				if got, want := adler32Add(adler32Add(1, p[:k]), p[k:]), adler32.Checksum(p); got != want {
					t.Errorf("%d bytes %s in two: %08x, want %08x", n, fill, got, want)
				}
			}
		}
	}
}

func FuzzAdler32Add(f *testing.F) {
	f.Add([]byte("Wikipedia"), 3)
	f.Add(bytes.Repeat([]byte{0xff}, 6000), 5552)
	f.Fuzz(func(t *testing.T, p []byte, split int) {
		k := 0
		if len(p) > 0 {
			k = (split%len(p) + len(p)) % len(p)
		}
		if got, want := adler32Add(adler32Add(1, p[:k]), p[k:]), adler32.Checksum(p); got != want {
			t.Fatalf("%08x, want %08x", got, want)
		}
	})
}

// TestRGBRow: RGBA pixels at any stride (interlace passes) to RGB, the
// bytes after the row untouched.
func TestRGBRow(t *testing.T) {
	t.Parallel()
	src := make([]byte, 4*50)
	for i := range src {
		src[i] = byte(i*7 + 1)
	}
	for _, n := range []int{1, 2, 3, 12, 50} {
		for _, dx := range []int{1, 2, 4, 8} {
			if (n-1)*dx >= 50 {
				continue
			}
			dst := bytes.Repeat([]byte{0xee}, 3*n+5)
			wantAlpha := uint8(0xff)
			for i := range n {
				wantAlpha &= src[4*dx*i+3]
			}
			if got := rgbRow(dst, src, n, 4*dx); got != wantAlpha {
				t.Fatalf("n %d dx %d: alpha AND %#x, want %#x", n, dx, got, wantAlpha)
			}
			for i := range n {
				if !bytes.Equal(dst[3*i:3*i+3], src[4*dx*i:4*dx*i+3]) {
					t.Fatalf("n %d dx %d pixel %d: % x, want % x", n, dx, i, dst[3*i:3*i+3], src[4*dx*i:4*dx*i+3])
				}
			}
			if !bytes.Equal(dst[3*n:], bytes.Repeat([]byte{0xee}, 5)) {
				t.Fatalf("n %d dx %d: wrote past the row: % x", n, dx, dst[3*n:])
			}
		}
	}
}
