package graph

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"strconv"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Layout of the PNG, in pixels.
const (
	legendRowH  = 16 // one legend row under the plot
	legendPad   = 6  // below the last legend row
	tickLen     = 3  // tick marks outside the frame
	titleSize   = 13 // font sizes (px)
	textSize    = 11
	minGridGapY = 28 // fewest pixels between horizontal grid lines
	dashLen     = 5  // on and off length of dashed items
	maxPNGSide  = 1 << 14
)

// Colors of the frame, grid and text (0xRRGGBB).
const (
	gridRGB  = 0xdcdcdc
	frameRGB = 0x404040
	textRGB  = 0x000000
)

func rgb(c uint32) color.RGBA {
	return color.RGBA{R: uint8(c >> 16), G: uint8(c >> 8), B: uint8(c), A: 0xff}
}

// PNG renders an evaluated spec as a PNG image width pixels wide: the
// title, the plot with its axes in the top height pixels, and rrdtool-style
// legend rows (16 px each) underneath.
func PNG(s *Spec, d *Data, width, height int) ([]byte, error) {
	if width < 1 || height < 1 || width > maxPNGSide || height > maxPNGSide {
		return nil, fmt.Errorf("png: size %dx%d out of range (1 to %d)", width, height, maxPNGSide)
	}
	items, err := layout(s, d)
	if err != nil {
		return nil, err
	}
	fonts, err := newFonts()
	if err != nil {
		return nil, err
	}
	rows := legendRows(Legend(s, d))
	c := newCanvas(width, height+legendRowH*len(rows)+legendPad)
	g := newGeometry(s, d, items, fonts, width, height)
	c.setClip(g.plot)

	for _, t := range g.ys.ticks {
		c.hline(g.yRow(t.value), g.plot.Min.X, g.plot.Max.X, 0, rgb(gridRGB))
	}
	for _, t := range g.xticks {
		c.vline(g.xCol(t.value), g.plot.Min.Y, g.plot.Max.Y, 0, rgb(gridRGB))
	}
	// Rows narrower than 3 px are drawn as a polyline through their
	// middles: stair steps would double the segments for no visible gain.
	steps := float64(g.plot.Dx())*float64(d.Step)/float64(max(1, d.End-d.Start)) >= 3
	// Areas first, then lines, as rrdtool paints in item order but an
	// opaque area would hide earlier lines; order within each kind is kept.
	for _, pass := range []string{ItemArea, ItemLine} {
		for _, dr := range items {
			if dr.item.Type == pass {
				g.drawItem(c, d, dr, steps)
			}
		}
	}
	for _, it := range s.Items {
		if it.Type == ItemHRule || it.Type == ItemVRule {
			g.drawRule(c, d, it)
		}
	}
	g.drawAxes(c, fonts, s)
	drawLegend(c, fonts, rows, height)

	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, c.img); err != nil {
		return nil, fmt.Errorf("png: encode: %w", err)
	}
	return buf.Bytes(), nil
}

// fonts are the faces of one render: Go Regular, parsed per call so the
// package keeps no font state.
type fonts struct {
	title, text font.Face
}

func newFonts() (*fonts, error) {
	f, err := opentype.Parse(goregular.TTF)
	if err != nil {
		return nil, fmt.Errorf("png: font: %w", err)
	}
	face := func(size float64) (font.Face, error) {
		return opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	}
	var fs fonts
	if fs.title, err = face(titleSize); err != nil {
		return nil, fmt.Errorf("png: font: %w", err)
	}
	if fs.text, err = face(textSize); err != nil {
		return nil, fmt.Errorf("png: font: %w", err)
	}
	return &fs, nil
}

func textWidth(f font.Face, s string) int { return font.MeasureString(f, s).Ceil() }
func ascent(f font.Face) int              { return f.Metrics().Ascent.Ceil() }
func lineHeight(f font.Face) int          { return f.Metrics().Height.Ceil() }

// text draws s with its baseline's left end at (x, y).
func (c *canvas) text(f font.Face, x, y int, s string) {
	dr := font.Drawer{Dst: c.img, Src: image.NewUniform(rgb(textRGB)), Face: f, Dot: fixed.P(x, y)}
	dr.DrawString(s)
}

// textUp draws s rotated a quarter turn counter-clockwise (reading upwards),
// its baseline on column x and centred on row cy.
func (c *canvas) textUp(f font.Face, x, cy int, s string) {
	w, h, asc := textWidth(f, s), lineHeight(f), ascent(f)
	if w <= 0 || h <= 0 {
		return
	}
	flat := image.NewAlpha(image.Rect(0, 0, w, h))
	dr := font.Drawer{Dst: flat, Src: image.Opaque, Face: f, Dot: fixed.P(0, asc)}
	dr.DrawString(s)
	up := image.NewAlpha(image.Rect(0, 0, h, w))
	for y := range h {
		for x := range w {
			up.Pix[(w-1-x)*up.Stride+y] = flat.Pix[y*flat.Stride+x]
		}
	}
	r := image.Rect(x-asc, cy-w/2, x-asc+h, cy-w/2+w)
	draw.DrawMask(c.img, r, image.NewUniform(rgb(textRGB)), image.Point{}, up, image.Point{}, draw.Over)
}

// geometry is where things go: the plot rectangle and the value and time
// scales mapped onto it.
type geometry struct {
	plot       image.Rectangle
	ys         yScale
	xticks     []tick
	start, end float64
}

func newGeometry(s *Spec, d *Data, items []drawn, f *fonts, width, height int) *geometry {
	top := 8
	if s.Title != "" {
		top = lineHeight(f.title) + 8
	}
	bottom := height - (tickLen + 2 + lineHeight(f.text) + 2)
	plotH := max(1, bottom-top)

	lo, hi := dataRange(s, d, items)
	if s.Lower != nil {
		lo = *s.Lower
	}
	if s.Upper != nil {
		hi = *s.Upper
	}
	ys := newYScale(lo, hi, s.Lower != nil, s.Upper != nil, min(8, max(1, plotH/minGridGapY)))

	labelW := 0
	for _, t := range ys.ticks {
		labelW = max(labelW, textWidth(f.text, t.label))
	}
	left := 6 + labelW + tickLen + 3
	if s.VLabel != "" {
		left += lineHeight(f.text) + 2
	}
	right := 14 // half an x label may stick out past the last grid line
	plotW := max(1, width-left-right)
	start, end := d.Start, d.End
	if end <= start {
		end = start + 1
	}
	return &geometry{
		plot:   image.Rect(left, top, left+plotW, top+plotH),
		ys:     ys,
		xticks: timeTicks(start, end, timeFormat(end-start)),
		start:  float64(start), end: float64(end),
	}
}

// dataRange is the extent of what is drawn: line values, areas from their
// floor (0 or the stack below) to their top, and HRULEs.
func dataRange(s *Spec, d *Data, items []drawn) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	see := func(v float64) {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	for _, dr := range items {
		for _, run := range knownRuns(dr.top) {
			for i := run[0]; i < run[1]; i++ {
				see(dr.top[i])
				if dr.item.Type == ItemArea {
					see(areaBase(dr, i))
				}
			}
		}
	}
	for _, it := range s.Items {
		if it.Type == ItemHRule {
			if v, ok := rulePos(it, d); ok {
				see(v)
			}
		}
	}
	return lo, hi
}

func areaBase(dr drawn, i int) float64 {
	if dr.base == nil || math.IsNaN(dr.base[i]) {
		return 0
	}
	return dr.base[i]
}

// x and y map data to continuous pixel coordinates on the plot's edges.
func (g *geometry) x(t float64) float64 {
	return float64(g.plot.Min.X) + (t-g.start)/(g.end-g.start)*float64(g.plot.Dx())
}

func (g *geometry) y(v float64) float64 {
	return float64(g.plot.Min.Y) + g.ys.frac(v)*float64(g.plot.Dy())
}

// yRow and xCol are the pixel row and column holding a value and a time,
// kept inside the plot.
func (g *geometry) yRow(v float64) int {
	return min(g.plot.Max.Y-1, max(g.plot.Min.Y, int(math.Floor(clampCoord(g.y(v))))))
}

func (g *geometry) xCol(t float64) int {
	return min(g.plot.Max.X-1, max(g.plot.Min.X, int(math.Floor(clampCoord(g.x(t))))))
}

// series returns the pixel polyline of rows run[0]…run[1]-1 of v: each row
// a flat segment over (T−step, T], or, when steps is false, a point in its
// middle, the run's ends held out to its outer edges (so a lone row is a
// segment too, and areas cover their whole span).
func (g *geometry) series(d *Data, v []float64, run [2]int, steps bool) []pt {
	p := make([]pt, 0, 2*(run[1]-run[0])+2)
	step := float64(d.Step)
	if !steps {
		p = append(p, pt{g.x(float64(d.Time(run[0])) - step), g.y(v[run[0]])})
	}
	for i := run[0]; i < run[1]; i++ {
		t, y := float64(d.Time(i)), g.y(v[i])
		if !steps {
			p = append(p, pt{g.x(t - step/2), y})
			continue
		}
		p = append(p, pt{g.x(t - step), y}, pt{g.x(t), y})
	}
	if !steps {
		p = append(p, pt{g.x(float64(d.Time(run[1] - 1))), g.y(v[run[1]-1])})
	}
	return p
}

func (g *geometry) drawItem(c *canvas, d *Data, dr drawn, steps bool) {
	col := parseColor(dr.item.Color)
	c.begin()
	var base []float64
	if dr.item.Type == ItemArea {
		base = make([]float64, len(dr.top))
		for i := range base {
			base[i] = areaBase(dr, i)
		}
	}
	for _, run := range knownRuns(dr.top) {
		top := g.series(d, dr.top, run, steps)
		if dr.item.Type == ItemArea {
			bot := g.series(d, base, run, steps)
			for i := len(bot) - 1; i >= 0; i-- {
				top = append(top, bot[i])
			}
			c.polygon(top)
			continue
		}
		w := lineWidth(dr.item)
		snapRows(top, w)
		if !dr.item.Dashes {
			c.stroke(top, w)
			continue
		}
		for _, piece := range dashes(top, dashLen, dashLen) {
			c.stroke(piece, w)
		}
	}
	c.fill(col)
}

// snapRows moves a line's vertices onto pixel centres (odd widths) or
// pixel edges (even widths) so flat stretches are crisp, not smeared over
// two half-covered rows.
func snapRows(p []pt, w float64) {
	odd := int(math.Round(w))%2 == 1
	for i := range p {
		y := clampCoord(p[i].y)
		if odd {
			p[i].y = math.Floor(y) + 0.5
		} else {
			p[i].y = math.Round(y)
		}
	}
}

// drawRule draws an HRULE or VRULE as a one-pixel line across the plot; a
// rule outside the shown range is left out.
func (g *geometry) drawRule(c *canvas, d *Data, it Item) {
	pos, ok := rulePos(it, d)
	if !ok {
		return
	}
	dash := 0
	if it.Dashes {
		dash = dashLen
	}
	col := parseColor(it.Color)
	if it.Type == ItemHRule {
		if pos < g.ys.lo || pos > g.ys.hi {
			return
		}
		c.hline(g.yRow(pos), g.plot.Min.X, g.plot.Max.X, dash, col)
		return
	}
	if pos < g.start || pos > g.end {
		return
	}
	c.vline(g.xCol(pos), g.plot.Min.Y, g.plot.Max.Y, dash, col)
}

// drawAxes draws the frame, the ticks and their labels, the title and the
// vertical label.
func (g *geometry) drawAxes(c *canvas, f *fonts, s *Spec) {
	c.setClip(c.img.Bounds())
	p := g.plot
	fr := rgb(frameRGB)
	c.hline(p.Min.Y-1, p.Min.X-1, p.Max.X+1, 0, fr)
	c.hline(p.Max.Y, p.Min.X-1, p.Max.X+1, 0, fr)
	c.vline(p.Min.X-1, p.Min.Y-1, p.Max.Y+1, 0, fr)
	c.vline(p.Max.X, p.Min.Y-1, p.Max.Y+1, 0, fr)

	asc := ascent(f.text)
	// Digits' height is about 0.7 em: centre labels on their tick on that.
	digitH := int(math.Round(textSize * 0.72))
	for _, t := range g.ys.ticks {
		y := g.yRow(t.value)
		c.hline(y, p.Min.X-1-tickLen, p.Min.X-1, 0, fr)
		c.text(f.text, p.Min.X-1-tickLen-3-textWidth(f.text, t.label), y+digitH/2, t.label)
	}
	lastEnd := math.MinInt
	for _, t := range g.xticks {
		x := g.xCol(t.value)
		c.vline(x, p.Max.Y+1, p.Max.Y+1+tickLen, 0, fr)
		w := textWidth(f.text, t.label)
		lx := min(c.img.Bounds().Max.X-w-1, max(0, x-w/2))
		if lx < lastEnd+6 {
			continue // would overlap the previous label
		}
		c.text(f.text, lx, p.Max.Y+1+tickLen+2+asc, t.label)
		lastEnd = lx + w
	}
	if s.Title != "" {
		w := textWidth(f.title, s.Title)
		x := max(4, (c.img.Bounds().Dx()-w)/2)
		c.text(f.title, x, 4+ascent(f.title), s.Title)
	}
	if s.VLabel != "" {
		c.textUp(f.text, 4+asc, (p.Min.Y+p.Max.Y)/2, s.VLabel)
	}
}

// drawLegend draws the legend rows below the plot's height: a swatch with
// a dark border for items, then their text.
func drawLegend(c *canvas, f *fonts, rows [][]LegendEntry, top int) {
	const sw = 10
	asc := ascent(f.text)
	for i, row := range rows {
		y := top + i*legendRowH
		x := 8
		for _, e := range row {
			if e.Color != "" {
				c.rect(image.Rect(x, y+3, x+sw, y+3+sw), rgb(frameRGB))
				// A translucent color shows as it would over the white plot.
				inner := image.Rect(x+1, y+4, x+sw-1, y+2+sw)
				c.rect(inner, color.White)
				c.rect(inner, parseColor(e.Color))
				x += sw + 4
			}
			c.text(f.text, x, y+3+asc-1, e.Text)
			x += textWidth(f.text, e.Text) + 8
		}
	}
}

// legendRows starts a new row at every swatch entry, as rrdtool's legends
// usually do (one line per drawn item, its GPRINTs following).
func legendRows(entries []LegendEntry) [][]LegendEntry {
	var rows [][]LegendEntry
	for _, e := range entries {
		if e.Color != "" || len(rows) == 0 {
			rows = append(rows, nil)
		}
		rows[len(rows)-1] = append(rows[len(rows)-1], e)
	}
	return rows
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
