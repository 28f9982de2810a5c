package graph

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math/rand"
	"testing"
	"time"

	xfont "golang.org/x/image/font"
)

// TestEncodePNG: what encodePNG writes decodes (image/png) to the same
// pixels, paletted (≤ 256 colors), RGB (more), RGBA (transparency) and
// Adam7-interlaced, for sizes that leave some passes empty.
func TestEncodePNG(t *testing.T) {
	t.Parallel()
	mk := func(w, h, colors int, alpha bool) *image.RGBA {
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		rng := rand.New(rand.NewSource(int64(w*h + colors)))
		for y := range h {
			for x := range w {
				c := rng.Intn(colors)
				a := uint8(0xff)
				if alpha {
					a = uint8(rng.Intn(256))
				}
				// premultiplied: channels ≤ alpha
				img.SetRGBA(x, y, color.RGBA{uint8(c) & a, (uint8(c>>8)*61 + uint8(c*91)) & a, uint8(c*37) & a, a})
			}
		}
		return img
	}
	// opaque but for one pixel past the 257th color: the palette scan
	// stops early and must still find it
	lateAlpha := mk(97, 33, 5000, false)
	lateAlpha.SetRGBA(96, 32, color.RGBA{1, 2, 3, 0x80})
	topAlpha := mk(97, 33, 5000, false) // the top row is scanned last
	topAlpha.SetRGBA(0, 0, color.RGBA{1, 2, 3, 0x80})
	// rows that mostly repeat the row above, a few pixels changed
	repeats := mk(97, 33, 5000, false)
	for y := 1; y < 33; y++ {
		if y%3 != 0 {
			copy(repeats.Pix[y*repeats.Stride:(y+1)*repeats.Stride], repeats.Pix[(y-1)*repeats.Stride:])
			repeats.SetRGBA(y*7%97, y, color.RGBA{uint8(y), 9, 200, 0xff})
		}
	}
	tests := []struct {
		name      string
		img       *image.RGBA
		interlace bool
		model     color.Model
	}{
		{"palette", mk(97, 33, 200, false), false, color.Palette{}},
		{"palette 256", mk(64, 64, 256, false), false, color.Palette{}},
		{"rgb", mk(97, 33, 5000, false), false, color.RGBAModel},
		{"rgba", mk(31, 17, 300, true), false, color.NRGBAModel},
		{"rgba, one translucent pixel last", lateAlpha, false, color.NRGBAModel},
		{"rgba, one translucent pixel first", topAlpha, false, color.NRGBAModel},
		{"rgb, 1 pixel wide", mk(1, 40, 5000, false), false, color.RGBAModel},
		{"rgb, rows repeating", repeats, false, color.RGBAModel},
		{"rgb interlaced, rows repeating", repeats, true, color.RGBAModel},
		{"palette interlaced", mk(97, 33, 100, false), true, color.Palette{}},
		{"rgb interlaced", mk(13, 9, 5000, false), true, color.RGBAModel},
		{"rgba interlaced", mk(31, 17, 300, true), true, color.NRGBAModel},
		{"1x1 interlaced", mk(1, 1, 1, false), true, color.Palette{}},
		{"3x2 interlaced", mk(3, 2, 6, false), true, color.Palette{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := encodePNG(&buf, tc.img, tc.interlace); err != nil {
				t.Fatal(err)
			}
			b := buf.Bytes()

			if got := b[8+8+12] == 1; got != tc.interlace {
				t.Errorf("IHDR interlace %v, want %v", got, tc.interlace)
			}
			dec, err := png.Decode(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := tc.model.(color.Palette); ok {
				if _, ok := dec.(*image.Paletted); !ok {
					t.Errorf("decoded %T, want a paletted image", dec)
				}
			}
			for y := range tc.img.Bounds().Dy() {
				for x := range tc.img.Bounds().Dx() {
					want := color.NRGBAModel.Convert(tc.img.At(x, y)).(color.NRGBA)
					got := color.NRGBAModel.Convert(dec.At(x, y)).(color.NRGBA)
					if tc.img.RGBAAt(x, y).A == 0 {
						want, got = color.NRGBA{}, color.NRGBA{A: got.A}
					}
					if got != want {
						t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, got, want)
					}
				}
			}
		})
	}
}

func BenchmarkEncodePNG(b *testing.B) {
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
	for _, enc := range []struct {
		name string
		f    func(*bytes.Buffer) error
	}{
		{"ours", func(w *bytes.Buffer) error { return encodePNG(w, pp.c.img, false) }},
		{"image/png", func(w *bytes.Buffer) error {
			return (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(w, pp.c.img)
		}},
	} {
		b.Run(enc.name, func(b *testing.B) {
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				if err := enc.f(&buf); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len()), "bytes")
		})
	}
}

// TestDashedRuleMatchesDashes: a dashed axis-aligned line painted by
// dashedRule covers the pixels the general path (dashes, then
// pixelRects) covers, in both directions, clipped, translucent or not;
// lines off whole pixels are left to the general path.
func TestDashedRuleMatchesDashes(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(17))
	general := func(pp *pngPainter, p []pt, w float64, col color.NRGBA, on, gap float64) {
		pp.c.begin()
		for _, piece := range dashes(p, on, gap) {
			pp.c.stroke(piece, w)
		}
		pp.c.fill(col)
	}
	for k := range 300 {
		w := float64(1 + rng.Intn(3))
		off := 0.0
		if int(w)%2 == 1 {
			off = 0.5 // an odd width covers whole pixels about a half-pixel centre
		}
		a := pt{float64(rng.Intn(70) - 5), float64(rng.Intn(70) - 5)}
		b := a
		if rng.Intn(2) == 0 {
			a.y += off
			b.y = a.y
			b.x = float64(rng.Intn(70) - 5)
		} else {
			a.x += off
			b.x = a.x
			b.y = float64(rng.Intn(70) - 5)
		}
		if a == b {
			continue
		}
		on, gap := float64(1+rng.Intn(4)), float64(1+rng.Intn(4))
		col := color.NRGBA{uint8(rng.Intn(256)), 0, 0xff, []uint8{0xff, 0x80}[rng.Intn(2)]}
		var got, want *pngPainter
		for _, pp := range []**pngPainter{&got, &want} {
			*pp = &pngPainter{c: newCanvas(64, 64)}
			(*pp).c.setClip(image.Rect(3, 2, 61, 59))
		}
		if !got.dashedRule([]pt{a, b}, w, col, on, gap) {
			t.Fatalf("%d: %v-%v w %v: not painted as a rule", k, a, b, w)
		}
		general(want, []pt{a, b}, w, col, on, gap)
		if !bytes.Equal(got.c.img.Pix, want.c.img.Pix) {
			t.Fatalf("%d: %v-%v w %v dash %v/%v: pixels differ from the general path", k, a, b, w, on, gap)
		}
	}
	pp := &pngPainter{c: newCanvas(8, 8)}
	for _, p := range [][]pt{{{0, 0.5}, {3, 3.5}}, {{0.5, 0.5}, {5.5, 0.5}}, {{0, 1}, {5, 1}}, {{0, 0.5}, {5, 0.5}, {5, 3.5}}} {
		if pp.dashedRule(p, 1, color.NRGBA{A: 0xff}, 1, 1) {
			t.Errorf("%v: painted as a rule", p)
		}
	}
	if pp.dashedRule([]pt{{0, 0.5}, {5, 0.5}}, 1, color.NRGBA{A: 0xff}, 1.5, 1) {
		t.Error("a dash of 1.5 px: painted as a rule")
	}
}
