package graph

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"strconv"
	"strings"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

const maxPNGSide = 1 << 14

// PNG lays out an evaluated spec with a plot area of width×height pixels
// (rrdtool's -w/-h) and renders it as a PNG.
func PNG(s *Spec, d *Data, width, height int) ([]byte, error) {
	if width < 1 || height < 1 || width > maxPNGSide || height > maxPNGSide {
		return nil, fmt.Errorf("png: size %dx%d out of range (1 to %d)", width, height, maxPNGSide)
	}
	c := *s
	c.Width, c.Height = width, height
	im, err := Layout(&c, d, LayoutOptions{})
	if err != nil {
		return nil, err
	}
	if !im.Graphed {
		return nil, fmt.Errorf("png: the graph draws nothing (only PRINT)")
	}
	return im.PNG(time.UTC)
}

// PNG renders the laid-out graph as a PNG image; loc is the time zone of
// the time labels.
func (im *Image) PNG(loc *time.Location) ([]byte, error) {
	if im.Width < 1 || im.Height < 1 || im.Width > maxPNGSide || im.Height > maxPNGSide {
		return nil, fmt.Errorf("png: image %dx%d out of range (1 to %d)", im.Width, im.Height, maxPNGSide)
	}
	f, err := textFont()
	if err != nil {
		return nil, fmt.Errorf("png: %w", err)
	}
	pp := &pngPainter{c: newCanvas(im.Width, im.Height), font: f, faces: map[float64]font.Face{}}
	pp.clip(nil)
	im.paint(pp, loc)
	var buf bytes.Buffer
	if err := encodePNG(&buf, pp.c.img, im.spec.Interlaced); err != nil {
		return nil, fmt.Errorf("png: encode: %w", err)
	}
	return buf.Bytes(), nil
}

// pngPainter draws on a canvas. Text uses DejaVu Sans Mono, as rrdtool,
// at rrdtool's 100 dpi (Go Mono in a build without make: font.go).
type pngPainter struct {
	c     *canvas
	font  *opentype.Font
	faces map[float64]font.Face
}

func (pp *pngPainter) face(pt float64) font.Face {
	if f, ok := pp.faces[pt]; ok {
		return f
	}
	f, err := opentype.NewFace(pp.font, &opentype.FaceOptions{Size: pxSize(pt), DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		f = nil
	}
	pp.faces[pt] = f
	return f
}

func (pp *pngPainter) clip(r *[4]float64) {
	if r == nil {
		pp.c.setClip(pp.c.img.Bounds())
		return
	}
	pp.c.setClip(image.Rect(int(math.Floor(r[0])), int(math.Floor(r[1])), int(math.Ceil(r[2])), int(math.Ceil(r[3]))))
}

func (pp *pngPainter) rect(x0, y0, x1, y1 float64, col color.NRGBA) {
	r := image.Rect(int(math.Round(x0)), int(math.Round(y0)), int(math.Round(x1)), int(math.Round(y1))).Intersect(pp.c.clip)
	draw.Draw(pp.c.img, r, image.NewUniform(col), image.Point{}, draw.Over)
}

func (pp *pngPainter) polygon(p []pt, col color.NRGBA) {
	pp.c.begin()
	pp.c.polygon(p)
	pp.c.fill(col)
}

func (pp *pngPainter) gradPolygon(p []pt, y0 float64, c0 color.NRGBA, y1 float64, c1 color.NRGBA) {
	pp.c.begin()
	pp.c.polygon(p)
	pp.c.fillGrad(nil, &vgrad{y0: y0, y1: y1, c0: c0, c1: c1})
}

func (pp *pngPainter) line(p []pt, w float64, col color.NRGBA, dash []float64, off float64) {
	if w <= 0 {
		w = 1
	}
	pieces := [][]pt{p}
	if len(dash) > 0 {
		on, gap := dash[0], dash[0]
		if len(dash) > 1 {
			gap = dash[1]
		}
		if on+gap <= 0 {
			return
		}
		if pp.dashedRule(p, w, col, math.Max(on, 0.5), gap) {
			return
		}
		pieces = dashes(p, math.Max(on, 0.5), gap)
	}
	// Grid lines, rules and snapped stair lines are axis-aligned on whole
	// pixels: painted as rectangles, exactly and without the rasterizer.
	if col.A == 0xff || len(p) == 2 {
		if rects, ok := pixelRects(pieces, w); ok {
			for _, r := range rects {
				pp.c.fillRect(r, col)
			}
			return
		}
	}
	pp.c.begin()
	for _, piece := range pieces {
		pp.c.stroke(piece, w)
	}
	pp.c.fill(col)
}

// dashedRule paints a dashed axis-aligned two-point line whose dashes
// cover whole pixels (a dashed grid line: hundreds of dashes) as
// rectangles, dash by dash, without building the dashes and their
// outlines first. A dash is stroke's butt-ended quad: where it covers
// whole pixels the rasterizer covers exactly those, fully. It reports
// false, painting nothing, for any other line.
func (pp *pngPainter) dashedRule(p []pt, w float64, col color.NRGBA, on, gap float64) bool {
	if len(p) != 2 || on != math.Trunc(on) || gap != math.Trunc(gap) || on <= 0 || gap <= 0 {
		return false
	}
	a, b := p[0], p[1]
	whole := func(v float64) bool { return v == math.Trunc(v) && math.Abs(v) < coordLimit }
	hw := w / 2
	var along, across, dir float64 // a's coordinate along the line, the line's across it
	var l float64
	switch {
	case a.y == b.y && a.x != b.x:
		along, across, dir, l = a.x, a.y, math.Copysign(1, b.x-a.x), math.Abs(b.x-a.x)
	case a.x == b.x && a.y != b.y:
		along, across, dir, l = a.y, a.x, math.Copysign(1, b.y-a.y), math.Abs(b.y-a.y)
	default:
		return false
	}
	if !whole(along) || !whole(l) || !whole(across-hw) || !whole(across+hw) || l/(on+gap) > 1e6 {
		return false
	}
	c0, c1 := int(across-hw), int(across+hw)
	for s := 0.0; s < l; s += on + gap {
		e := math.Min(s+on, l)
		lo, hi := along+dir*s, along+dir*e
		if lo > hi {
			lo, hi = hi, lo
		}
		r := image.Rect(int(lo), c0, int(hi), c1)
		if a.x == b.x {
			r = image.Rect(c0, int(lo), c1, int(hi))
		}
		pp.c.fillRect(r, col)
	}
	return true
}

// pixelRects returns the rectangles a stroke of width w along axis-aligned
// segments covers, when each one's edges fall on whole pixels.
func pixelRects(pieces [][]pt, w float64) ([]image.Rectangle, bool) {
	var out []image.Rectangle
	hw := w / 2
	whole := func(v float64) (int, bool) {
		r := math.Round(v)
		return int(r), math.Abs(r-v) < 1e-9 && math.Abs(v) < coordLimit
	}
	for _, p := range pieces {
		for i := 1; i < len(p); i++ {
			a, b := p[i-1], p[i]
			if a.x != b.x && a.y != b.y {
				return nil, false
			}
			x0, ok1 := whole(math.Min(a.x, b.x) - hw)
			x1, ok2 := whole(math.Max(a.x, b.x) + hw)
			y0, ok3 := whole(math.Min(a.y, b.y) - hw)
			y1, ok4 := whole(math.Max(a.y, b.y) + hw)
			if !ok1 || !ok2 || !ok3 || !ok4 {
				return nil, false
			}
			out = append(out, image.Rect(x0, y0, x1, y1))
		}
	}
	return out, true
}

func (pp *pngPainter) text(x, y, size float64, s string, col color.NRGBA, up bool) {
	f := pp.face(size)
	if f == nil || s == "" {
		return
	}
	asc := int(math.Ceil(pxSize(size) * monoAscent))
	if !up {
		dr := font.Drawer{Dst: pp.c.img, Src: image.NewUniform(col), Face: f, Dot: fixed.P(int(math.Round(x)), int(math.Round(y))+asc)}
		dr.DrawString(s)
		return
	}
	w, h := font.MeasureString(f, s).Ceil(), textHeight(size)
	if w <= 0 || h <= 0 {
		return
	}
	flat := image.NewAlpha(image.Rect(0, 0, w, h))
	dr := font.Drawer{Dst: flat, Src: image.Opaque, Face: f, Dot: fixed.P(0, asc)}
	dr.DrawString(s)
	rot := image.NewAlpha(image.Rect(0, 0, h, w))
	for yy := range h {
		for xx := range w {
			rot.Pix[(w-1-xx)*rot.Stride+yy] = flat.Pix[yy*flat.Stride+xx]
		}
	}
	cx, cy := int(math.Round(x)), int(math.Round(y))
	r := image.Rect(cx-h/2, cy-w/2, cx-h/2+h, cy-w/2+w)
	draw.DrawMask(pp.c.img, r, image.NewUniform(col), image.Point{}, rot, image.Point{}, draw.Over)
}

// markupText draws --pango-markup text (markupPainter) run by run: a
// foreground color given as #rrggbb, bold as the glyphs struck twice a
// pixel apart (the embedded font has no bold face), underline and
// strikethrough as one-pixel rules. Italic, sizes, rises, backgrounds
// and named colors are not drawn; text reading upwards is drawn plain.
func (pp *pngPainter) markupText(x, y, size float64, runs []MarkupRun, c color.NRGBA, up bool) {
	f := pp.face(size)
	if f == nil {
		return
	}
	if up {
		var b strings.Builder
		for _, r := range runs {
			b.WriteString(r.Text)
		}
		pp.text(x, y, size, b.String(), c, up)
		return
	}
	asc := int(math.Ceil(pxSize(size) * monoAscent))
	dr := font.Drawer{Dst: pp.c.img, Face: f, Dot: fixed.P(int(math.Round(x)), int(math.Round(y))+asc)}
	for _, r := range runs {
		col := c
		if rc, ok := parseHexRGB(r.Color); ok {
			col = rc
		}
		dr.Src = image.NewUniform(col)
		start := dr.Dot
		dr.DrawString(r.Text)
		if r.Weight >= 600 {
			end := dr.Dot
			dr.Dot = start.Add(fixed.P(1, 0))
			dr.DrawString(r.Text)
			dr.Dot = end
		}
		x0, x1 := start.X.Round(), dr.Dot.X.Round()
		base := dr.Dot.Y.Round()
		if r.Underline != "" {
			pp.c.fillRect(image.Rect(x0, base+1, x1, base+2), col)
		}
		if r.Strike {
			mid := base - int(math.Round(pxSize(size)*monoAscent*0.35))
			pp.c.fillRect(image.Rect(x0, mid, x1, mid+1), col)
		}
	}
}

// parseHexRGB reads "#rrggbb" (ParseMarkup's color form).
func parseHexRGB(s string) (color.NRGBA, bool) {
	if len(s) != 7 || s[0] != '#' {
		return color.NRGBA{}, false
	}
	v, err := strconv.ParseUint(s[1:], 16, 32)
	if err != nil {
		return color.NRGBA{}, false
	}
	return color.NRGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 0xff}, true
}

// knownRuns returns [from, to) index ranges of consecutive finite values.
func knownRuns(v []float64) [][2]int {
	var runs [][2]int
	start := -1
	for i, x := range v {
		ok := !math.IsNaN(x) && !math.IsInf(x, 0)
		switch {
		case ok && start < 0:
			start = i
		case !ok && start >= 0:
			runs = append(runs, [2]int{start, i})
			start = -1
		}
	}
	if start >= 0 {
		runs = append(runs, [2]int{start, len(v)})
	}
	return runs
}

// parseColor reads #rrggbb or #rrggbbaa; items without a color get blue.
func parseColor(c string) color.Color {
	if len(c) != 7 && len(c) != 9 {
		return color.RGBA{R: 0x20, G: 0x60, B: 0xc0, A: 0xff}
	}
	n, err := strconv.ParseUint(c[1:], 16, 32)
	if err != nil {
		return color.Black
	}
	if len(c) == 7 {
		return color.NRGBA{R: uint8(n >> 16), G: uint8(n >> 8), B: uint8(n), A: 0xff}
	}
	return color.NRGBA{R: uint8(n >> 24), G: uint8(n >> 16), B: uint8(n >> 8), A: uint8(n)}
}
