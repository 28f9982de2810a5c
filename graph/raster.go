package graph

import (
	"encoding/binary"
	"image"
	"image/color"
	"image/draw"
	"math"

	"golang.org/x/image/vector"
)

// pt is a point in image pixels (x right, y down; pixel (i, j) covers
// [i, i+1)×[j, j+1)).
type pt struct{ x, y float64 }

// canvas is one image being drawn. A filled path is collected, then
// rasterized tile by tile over the clip rectangle (the plot area): tiles
// of at most rasterTile pixels a side keep x/image/vector on its
// fixed-point accumulator, which is an order of magnitude faster than its
// floating-point one (that one reloads MXCSR for every 4 pixels, slow in
// this VM). It lives for one PNG call.
type canvas struct {
	img   *image.RGBA
	clip  image.Rectangle
	ras   vector.Rasterizer
	masks []*image.Alpha // one per tile size in use
	// The current path: polygons in clip coordinates, and their bounds.
	pts     []pt
	polys   []polyRef
	scratch [2][]pt
	// over is overTable's result for the color overKey
	over    *[4][256]uint8
	overKey [4]uint32
}

type polyRef struct {
	from, to               int
	minX, minY, maxX, maxY float64
}

const rasterTile = 512 // vector's floatingPointMathThreshold

func newCanvas(w, h int) *canvas {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	// White, by doubling copies (memmove) rather than a byte loop.
	if len(img.Pix) > 0 {
		img.Pix[0] = 0xff
		for n := 1; n < len(img.Pix); n *= 2 {
			copy(img.Pix[n:], img.Pix[:n])
		}
	}
	return &canvas{img: img}
}

// setClip sets where paths may paint.
func (c *canvas) setClip(r image.Rectangle) {
	c.clip = r.Intersect(c.img.Bounds())
}

// begin starts a path; polygons added until fill are painted together.
func (c *canvas) begin() {
	c.pts, c.polys = c.pts[:0], c.polys[:0]
}

// coordLimit keeps coordinates where float32 is still exact to a small
// fraction of a pixel; values beyond are off the plot anyway.
const coordLimit = 1e6

func clampCoord(v float64) float64 {
	switch {
	case math.IsNaN(v):
		return 0
	case v > coordLimit:
		return coordLimit
	case v < -coordLimit:
		return -coordLimit
	}
	return v
}

// polygon adds a closed polygon (image coordinates) to the path.
func (c *canvas) polygon(p []pt) {
	if len(p) < 3 || c.clip.Empty() {
		return
	}
	ox, oy := float64(c.clip.Min.X), float64(c.clip.Min.Y)
	a := c.scratch[0][:0]
	for _, q := range p {
		a = append(a, pt{clampCoord(q.x) - ox, clampCoord(q.y) - oy})
	}
	c.scratch[0] = a
	w, h := float64(c.clip.Dx())+1, float64(c.clip.Dy())+1
	r := bounds(a)
	if r.minX < -1 || r.minY < -1 || r.maxX > w || r.maxY > h {
		// Clipping only what crosses the box: most polygons are inside.
		var b []pt
		a, b = clipBox(a, c.scratch[1][:0], -1, -1, w, h)
		c.scratch[0], c.scratch[1] = b, a
		if len(a) < 3 {
			return
		}
		r = bounds(a)
	}
	r.from = len(c.pts)
	c.pts = append(c.pts, a...)
	r.to = len(c.pts)
	c.polys = append(c.polys, r)
}

// bounds is the bounding box of a non-empty polygon.
func bounds(a []pt) polyRef {
	r := polyRef{minX: a[0].x, maxX: a[0].x, minY: a[0].y, maxY: a[0].y}
	for _, q := range a[1:] {
		r.minX, r.maxX = min(r.minX, q.x), max(r.maxX, q.x)
		r.minY, r.maxY = min(r.minY, q.y), max(r.maxY, q.y)
	}
	return r
}

// clipBox clips polygon p to the box [x0, x1]×[y0, y1] (Sutherland–Hodgman);
// buf is scratch space. It returns the result and the other buffer for
// reuse. Clipping to a half-plane keeps the coverage inside it exact, so
// the rasterizer sees only short, in-range edges.
func clipBox(p, buf []pt, x0, y0, x1, y1 float64) ([]pt, []pt) {
	for edge := range 4 {
		inside := func(q pt) bool {
			switch edge {
			case 0:
				return q.x >= x0
			case 1:
				return q.x <= x1
			case 2:
				return q.y >= y0
			}
			return q.y <= y1
		}
		cross := func(a, b pt) pt {
			switch edge {
			case 0, 1:
				x := x0
				if edge == 1 {
					x = x1
				}
				return pt{x, a.y + (b.y-a.y)*(x-a.x)/(b.x-a.x)}
			}
			y := y0
			if edge == 3 {
				y = y1
			}
			return pt{a.x + (b.x-a.x)*(y-a.y)/(b.y-a.y), y}
		}
		out := buf[:0]
		for i, cur := range p {
			prev := p[(i+len(p)-1)%len(p)]
			cin, pin := inside(cur), inside(prev)
			switch {
			case cin && pin:
				out = append(out, cur)
			case cin:
				out = append(out, cross(prev, cur), cur)
			case pin:
				out = append(out, cross(prev, cur))
			}
		}
		p, buf = out, p
		if len(p) == 0 {
			break
		}
	}
	return p, buf
}

// fill paints the current path in col, composited over the image.
func (c *canvas) fill(col color.Color) { c.fillGrad(col, nil) }

// vgrad is a vertical linear gradient in image coordinates: c0 at y0, c1
// at y1, padded beyond (cairo's default extend for linear patterns).
type vgrad struct {
	y0, y1 float64
	c0, c1 color.NRGBA
}

// at is the color at the centre of image row y.
func (g *vgrad) at(y int) color.NRGBA {
	t := 1.0
	if g.y1 != g.y0 {
		t = (float64(y) + 0.5 - g.y0) / (g.y1 - g.y0)
	}
	t = max(0, min(1, t))
	mix := func(a, b uint8) uint8 { return uint8(math.Round(float64(a) + (float64(b)-float64(a))*t)) }
	return color.NRGBA{mix(g.c0.R, g.c1.R), mix(g.c0.G, g.c1.G), mix(g.c0.B, g.c1.B), mix(g.c0.A, g.c1.A)}
}

// fillGrad paints the current path in col, or, with g, in the gradient.
func (c *canvas) fillGrad(col color.Color, g *vgrad) {
	if len(c.polys) == 0 {
		return
	}
	all := c.polys[0]
	for _, r := range c.polys[1:] {
		all.minX, all.maxX = math.Min(all.minX, r.minX), math.Max(all.maxX, r.maxX)
		all.minY, all.maxY = math.Min(all.minY, r.minY), math.Max(all.maxY, r.maxY)
	}
	// Tiles cover the path's bounds only: a one-pixel rule rasterizes a
	// strip, not a whole tile.
	w, h := c.clip.Dx(), c.clip.Dy()
	x1 := min(w, int(math.Ceil(all.maxX))+1)
	y1 := min(h, int(math.Ceil(all.maxY))+1)
	for ty := max(0, int(math.Floor(all.minY))); ty < y1; ty += rasterTile {
		for tx := max(0, int(math.Floor(all.minX))); tx < x1; tx += rasterTile {
			c.fillTile(image.Rect(tx, ty, min(x1, tx+rasterTile), min(y1, ty+rasterTile)), col, g)
		}
	}
	c.begin()
}

// fillTile rasterizes the polygons that touch tile t (clip coordinates).
func (c *canvas) fillTile(t image.Rectangle, col color.Color, g *vgrad) {
	tw, th := t.Dx(), t.Dy()
	fx, fy := float64(t.Min.X), float64(t.Min.Y)
	c.ras.Reset(tw, th)
	c.ras.DrawOp = draw.Src
	n := 0
	for _, r := range c.polys {
		// A polygon wholly left of the tile adds nothing: each of its rows
		// sums to zero coverage.
		if r.maxX < fx || r.minX > fx+float64(tw) || r.maxY < fy || r.minY > fy+float64(th) {
			continue
		}
		a := c.scratch[0][:0]
		for _, q := range c.pts[r.from:r.to] {
			a = append(a, pt{q.x - fx, q.y - fy})
		}
		c.scratch[0] = a
		if r.minX < fx-1 || r.minY < fy-1 || r.maxX > fx+float64(tw)+1 || r.maxY > fy+float64(th)+1 {
			var b []pt
			a, b = clipBox(a, c.scratch[1][:0], -1, -1, float64(tw)+1, float64(th)+1)
			c.scratch[0], c.scratch[1] = b, a
			if len(a) < 3 {
				continue
			}
		}
		c.ras.MoveTo(float32(a[0].x), float32(a[0].y))
		for _, q := range a[1:] {
			c.ras.LineTo(float32(q.x), float32(q.y))
		}
		c.ras.ClosePath()
		n++
	}
	if n == 0 {
		return
	}
	var mask *image.Alpha
	for _, m := range c.masks {
		if m.Rect.Dx() == tw && m.Rect.Dy() == th {
			mask = m
		}
	}
	if mask == nil {
		mask = image.NewAlpha(image.Rect(0, 0, tw, th))
		c.masks = append(c.masks, mask)
	}
	c.ras.Draw(mask, mask.Rect, image.Opaque, image.Point{})
	var sr, sg, sb, sa uint32
	var full *[4][256]uint8 // a translucent color over each byte value, at full coverage
	if g == nil {
		sr, sg, sb, sa = col.RGBA()
		if sa != 0xffff {
			full = c.overTable(sr, sg, sb, sa)
		}
	}
	for y := range th {
		if g != nil {
			sr, sg, sb, sa = g.at(c.clip.Min.Y + t.Min.Y + y).RGBA()
		}
		m := mask.Pix[y*mask.Stride : y*mask.Stride+tw]
		px := c.img.Pix[c.img.PixOffset(c.clip.Min.X+t.Min.X, c.clip.Min.Y+t.Min.Y+y):]
		for x := 0; x < len(m); x++ {
			// Most of a stroke's mask is empty: skip it 8 pixels at a time.
			for x+8 <= len(m) && binary.LittleEndian.Uint64(m[x:]) == 0 {
				x += 8
			}
			if x == len(m) {
				break
			}
			mv := m[x]
			if mv == 0 {
				continue
			}
			p := px[4*x : 4*x+4 : 4*x+4]
			switch {
			case mv == 0xff && sa == 0xffff:
				p[0], p[1], p[2], p[3] = uint8(sr>>8), uint8(sg>>8), uint8(sb>>8), 0xff
				continue
			case mv == 0xff && full != nil:
				p[0], p[1], p[2], p[3] = full[0][p[0]], full[1][p[1]], full[2][p[2]], full[3][p[3]]
				continue
			}
			// Porter–Duff over with premultiplied colors, as image/draw does.
			ma := uint32(mv) * 0x101
			a := 0xffff - sa*ma/0xffff
			p[0] = uint8((uint32(p[0])*0x101*a + sr*ma) / 0xffff >> 8)
			p[1] = uint8((uint32(p[1])*0x101*a + sg*ma) / 0xffff >> 8)
			p[2] = uint8((uint32(p[2])*0x101*a + sb*ma) / 0xffff >> 8)
			p[3] = uint8((uint32(p[3])*0x101*a + sa*ma) / 0xffff >> 8)
		}
	}
}

// fillRect paints r (image coordinates, clipped) in col, composited
// over the image: the pixels draw.Draw with draw.Over and a uniform
// color makes (and fillTile at full coverage), without its per-call
// cost (a dashed grid line is hundreds of one-pixel rectangles).
func (c *canvas) fillRect(r image.Rectangle, col color.NRGBA) {
	r = r.Intersect(c.clip)
	sr, sg, sb, sa := col.RGBA()
	if r.Empty() || sa == 0 {
		return
	}
	var t *[4][256]uint8
	if sa != 0xffff {
		t = c.overTable(sr, sg, sb, sa)
	}
	word := uint32(sr>>8) | uint32(sg>>8)<<8 | uint32(sb>>8)<<16 | 0xff<<24 // opaque: the pixel's bytes
	for y := r.Min.Y; y < r.Max.Y; y++ {
		i := c.img.PixOffset(r.Min.X, y)
		row := c.img.Pix[i : i+4*r.Dx()]
		if t == nil {
			for x := 0; x+4 <= len(row); x += 4 {
				binary.LittleEndian.PutUint32(row[x:], word)
			}
			continue
		}
		for x := 0; x+3 < len(row); x += 4 {
			p := row[x : x+4 : x+4]
			p[0], p[1], p[2], p[3] = t[0][p[0]], t[1][p[1]], t[2][p[2]], t[3][p[3]]
		}
	}
}

// overTable is what fillTile's Porter–Duff over makes of each byte value
// of each channel when a premultiplied color (16-bit channels) covers a
// pixel fully: the same arithmetic, looked up instead of divided.
// The canvas keeps the table of the last color (an AREA is filled tile
// by tile, run by run).
func (c *canvas) overTable(sr, sg, sb, sa uint32) *[4][256]uint8 {
	key := [4]uint32{sr, sg, sb, sa}
	if c.over != nil && c.overKey == key {
		return c.over
	}
	t := new([4][256]uint8)
	const ma = 0xffff
	a := 0xffff - sa*ma/0xffff
	for i, s := range [4]uint32{sr, sg, sb, sa} {
		for v := range 256 {
			t[i][v] = uint8((uint32(v)*0x101*a + s*ma) / 0xffff >> 8)
		}
	}
	c.over, c.overKey = t, key
	return t
}

// stroke adds a polyline of width w as one quad per segment plus bevel
// triangles at the joints. Every piece is wound the same way, so overlaps
// add up to full coverage (the rasterizer clamps) instead of cancelling.
func (c *canvas) stroke(p []pt, w float64) {
	hw := w / 2
	var prev pt // normal of the previous segment, zero before the first
	var quad [4]pt
	var tri [3]pt
	for i := 1; i < len(p); i++ {
		a, b := p[i-1], p[i]
		dx, dy := b.x-a.x, b.y-a.y
		l := math.Hypot(dx, dy)
		if !(l > 1e-9) || math.IsInf(l, 0) {
			continue
		}
		n := pt{-dy / l * hw, dx / l * hw}
		quad = [4]pt{{a.x + n.x, a.y + n.y}, {b.x + n.x, b.y + n.y}, {b.x - n.x, b.y - n.y}, {a.x - n.x, a.y - n.y}}
		c.polygon(quad[:])
		if prev != (pt{}) {
			// The quads are wound negatively (cross(d, -n) < 0); the join
			// triangles on both sides are ordered to match.
			cr := prev.x*n.y - prev.y*n.x
			if math.Abs(cr) > 1e-12 {
				n1, n2 := prev, n
				if cr > 0 {
					n1, n2 = n, prev
				}
				tri = [3]pt{a, {a.x + n1.x, a.y + n1.y}, {a.x + n2.x, a.y + n2.y}}
				c.polygon(tri[:])
				tri = [3]pt{a, {a.x - n1.x, a.y - n1.y}, {a.x - n2.x, a.y - n2.y}}
				c.polygon(tri[:])
			}
		}
		prev = n
	}
}

// dashes cuts a polyline into pieces on for on pixels, then off for off.
// The pieces share one backing array (a dashed grid line has hundreds).
func dashes(p []pt, on, off float64) [][]pt {
	total := 0.0
	for i := 1; i < len(p); i++ {
		total += math.Hypot(p[i].x-p[i-1].x, p[i].y-p[i-1].y)
	}
	n := len(p) + 2
	if est := total / (on + off); est < 1e6 {
		n += int(est) // the dashes to expect: no regrowing
	}
	out := make([][]pt, 0, n)
	buf := make([]pt, 0, 2*n+len(p))
	from := -1 // where the current piece starts in buf, -1 in a gap
	end := func() {
		if from >= 0 && len(buf)-from > 1 {
			out = append(out, buf[from:len(buf):len(buf)])
		}
		from = -1
	}
	drawing, left := true, on // left: length remaining in the current dash or gap
	for i := 1; i < len(p); i++ {
		a, b := p[i-1], p[i]
		l := math.Hypot(b.x-a.x, b.y-a.y)
		if !(l > 0) || math.IsInf(l, 0) {
			continue
		}
		if drawing && from < 0 {
			from = len(buf)
			buf = append(buf, a)
		}
		pos := 0.0
		for l-pos > left {
			pos += left
			q := pt{a.x + (b.x-a.x)*pos/l, a.y + (b.y-a.y)*pos/l}
			if drawing {
				buf = append(buf, q)
				end()
				left = off
			} else {
				from = len(buf)
				buf = append(buf, q)
				left = on
			}
			drawing = !drawing
		}
		left -= l - pos
		if drawing {
			buf = append(buf, b)
		}
	}
	end()
	return out
}

// rect paints r (clipped to the image) in col over what is there.
func (c *canvas) rect(r image.Rectangle, col color.Color) {
	draw.Draw(c.img, r, image.NewUniform(col), image.Point{}, draw.Over)
}

// hline and vline paint one-pixel rules, dashed when dash > 0, clipped to
// the clip rectangle.
func (c *canvas) hline(y, x0, x1, dash int, col color.Color) {
	c.dashedRect(image.Rect(x0, y, x1, y+1), dash, true, col)
}

func (c *canvas) vline(x, y0, y1, dash int, col color.Color) {
	c.dashedRect(image.Rect(x, y0, x+1, y1), dash, false, col)
}

func (c *canvas) dashedRect(r image.Rectangle, dash int, horizontal bool, col color.Color) {
	r = r.Intersect(c.clip)
	if dash <= 0 {
		c.rect(r, col)
		return
	}
	if horizontal {
		for x := r.Min.X; x < r.Max.X; x += 2 * dash {
			c.rect(image.Rect(x, r.Min.Y, min(x+dash, r.Max.X), r.Max.Y), col)
		}
		return
	}
	for y := r.Min.Y; y < r.Max.Y; y += 2 * dash {
		c.rect(image.Rect(r.Min.X, y, r.Max.X, min(y+dash, r.Max.Y)), col)
	}
}
