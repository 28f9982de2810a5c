package graph

import (
	"image/color"
	"math"
	"time"
)

// painter is what a laid-out graph is drawn on: the PNG canvas and the
// SVG writer implement it, so both draw the same scene.
type painter interface {
	// rect fills [x0,x1)×[y0,y1).
	rect(x0, y0, x1, y1 float64, c color.NRGBA)
	// polygon fills a closed polygon.
	polygon(p []pt, c color.NRGBA)
	// gradPolygon fills a closed polygon with a vertical gradient: c0 at
	// y0, c1 at y1, each padded beyond.
	gradPolygon(p []pt, y0 float64, c0 color.NRGBA, y1 float64, c1 color.NRGBA)
	// line strokes a polyline of width w; dash is on,off,… lengths (nil: solid).
	line(p []pt, w float64, c color.NRGBA, dash []float64, dashOffset float64)
	// text draws s in the class's size with its box's top-left corner at
	// (x, y), or, when up is set, reading upwards centred on (x, y).
	text(x, y, pt float64, s string, c color.NRGBA, up bool)
	// clip restricts what follows to the rectangle (nil: no clip).
	clip(r *[4]float64)
}

// rrdtool's default colors (rrd_graph.c's graph_col).
var defaultColors = map[string]color.NRGBA{
	"BACK":   {0xf2, 0xf2, 0xf2, 0xff},
	"CANVAS": {0xff, 0xff, 0xff, 0xff},
	"SHADEA": {0xcf, 0xcf, 0xcf, 0xff},
	"SHADEB": {0x9e, 0x9e, 0x9e, 0xff},
	"GRID":   {0x8f, 0x8f, 0x8f, 0xbf},
	"MGRID":  {0xde, 0x4f, 0x4f, 0x99},
	"FONT":   {0x00, 0x00, 0x00, 0xff},
	"ARROW":  {0x80, 0x1f, 0x1f, 0xff},
	"AXIS":   {0x1f, 0x1f, 0x1f, 0xff},
	"FRAME":  {0x00, 0x00, 0x00, 0xff},
}

func (l *Look) color(tag string) color.NRGBA {
	if c, ok := l.Colors[tag]; ok {
		return nrgba(c)
	}
	return defaultColors[tag]
}

// nrgba reads #rrggbb or #rrggbbaa (black when malformed: Validate
// refuses those first).
func nrgba(c string) color.NRGBA {
	col, ok := parseColor(c).(color.NRGBA)
	if !ok {
		return color.NRGBA{A: 0xff}
	}
	return col
}

// xOf and yOf map a time and a value to image coordinates, as rrdtool's
// xtr and ytr (logarithmic when asked).
func (im *Image) xOf(t float64) float64 {
	return float64(im.Left) + float64(im.PlotW)/float64(im.End-im.Start)*(t-float64(im.Start))
}

func (im *Image) yOf(v float64) float64 {
	bottom := float64(im.Top + im.PlotH)
	if im.spec.Logarithmic {
		if v < im.Min {
			return bottom
		}
		return bottom - float64(im.PlotH)/(math.Log10(im.Max)-math.Log10(im.Min))*(math.Log10(v)-math.Log10(im.Min))
	}
	return bottom - float64(im.PlotH)/(im.Max-im.Min)*(v-im.Min)
}

// paint draws the whole graph: background and border, canvas, grid,
// areas, lines, ticks and rules in item order, axes, labels, title,
// vertical label, legend and watermark.
func (im *Image) paint(p painter, loc *time.Location) {
	l := im.look
	if l.PangoMarkup {
		p = markupPainter{p}
	}
	W, H := float64(im.Width), float64(im.Height)
	p.rect(0, 0, W, H, l.color("BACK"))
	if b := im.border(); b > 0 && !im.spec.OnlyGraph {
		p.polygon([]pt{{0, H}, {b, H - b}, {b, b}, {W - b, b}, {W, 0}, {0, 0}}, l.color("SHADEA"))
		p.polygon([]pt{{b, H - b}, {W - b, H - b}, {W - b, b}, {W, 0}, {W, H}, {0, H}}, l.color("SHADEB"))
	}
	x0, y0 := float64(im.Left), float64(im.Top)
	x1, y1 := x0+float64(im.PlotW), y0+float64(im.PlotH)
	p.rect(x0, y0, x1, y1, l.color("CANVAS"))
	gridDash := []float64{1, 1}
	if len(l.GridDash) == 2 {
		gridDash = l.GridDash
	}
	axisPt := l.fontSize("AXIS")
	if !im.spec.OnlyGraph && l.XGrid != "none" {
		minor, major, labels := im.XGrid(loc)
		for _, t := range minor {
			x := math.Floor(im.xOf(float64(t.Time))) + 0.5
			p.line([]pt{{x, y0 - 2}, {x, y0}}, 1, l.color("GRID"), nil, 0)
			p.line([]pt{{x, y1}, {x, y1 + 2}}, 1, l.color("GRID"), nil, 0)
			p.line([]pt{{x, y0 + 1}, {x, y1 - 1}}, 1, l.color("GRID"), gridDash, 0)
		}
		for _, t := range major {
			x := math.Floor(im.xOf(float64(t.Time))) + 0.5
			p.line([]pt{{x, y0 - 2}, {x, y0}}, 1, l.color("MGRID"), nil, 0)
			p.line([]pt{{x, y1}, {x, y1 + 3}}, 1, l.color("MGRID"), nil, 0)
			p.line([]pt{{x, y0 + 2}, {x, y1 - 3}}, 1, l.color("MGRID"), gridDash, 0)
		}
		for _, t := range labels {
			w := float64(im.textWidth("AXIS", t.Label))
			p.text(math.Floor(im.xOf(float64(t.Time)))-w/2, y1+3, axisPt, t.Label, l.color("FONT"), false)
		}
	}
	if !im.spec.OnlyGraph && l.YGrid != "none" {
		for _, t := range im.YTicks() {
			y := math.Floor(im.yOf(t.Value)) + 0.5
			if t.Major {
				p.line([]pt{{x0 - 2, y}, {x0, y}}, 1, l.color("MGRID"), nil, 0)
				p.line([]pt{{x0, y}, {x1, y}}, 1, l.color("MGRID"), gridDash, 0)
				w := float64(im.textWidth("AXIS", t.Label))
				p.text(x0-axisPt-w, y-float64(textHeight(axisPt))/2, axisPt, t.Label, l.color("FONT"), false)
				if l.RightAxis != "" {
					p.line([]pt{{x1, y}, {x1 + 2, y}}, 1, l.color("MGRID"), nil, 0)
					p.text(x1+7, y-float64(textHeight(axisPt))/2, axisPt, t.RightLabel, l.color("FONT"), false)
				}
			} else if !l.NoMinor {
				p.line([]pt{{x0, y}, {x1, y}}, 1, l.color("GRID"), gridDash, 0)
			}
		}
	}
	p.clip(&[4]float64{x0, y0, x1, y1})
	im.paintItems(p)
	p.clip(nil)
	// Axes with their arrows.
	ax := l.color("AXIS")
	p.line([]pt{{x0 - 4, y1 + 0.5}, {x1 + 4, y1 + 0.5}}, 1, ax, nil, 0)
	p.line([]pt{{x0 - 0.5, y1 + 4}, {x0 - 0.5, y0 - 4}}, 1, ax, nil, 0)
	ar := l.color("ARROW")
	p.polygon([]pt{{x1 + 3, y1 - 2.5}, {x1 + 3, y1 + 3.5}, {x1 + 8, y1 + 0.5}}, ar)
	p.polygon([]pt{{x0 - 3.5, y0 - 3}, {x0 + 2.5, y0 - 3}, {x0 - 0.5, y0 - 8}}, ar)
	if l.RightAxis != "" { // the second axis, with its arrow
		p.line([]pt{{x1 + 0.5, y1 + 4}, {x1 + 0.5, y0 - 4}}, 1, ax, nil, 0)
		p.polygon([]pt{{x1 - 2, y0 - 2}, {x1 + 3, y0 - 2}, {x1, y0 - 7}}, ar)
	}
	if im.spec.OnlyGraph {
		return
	}
	font := l.color("FONT")
	tp := l.fontSize("TITLE")
	for j, line := range im.Titles {
		w := float64(im.textWidth("TITLE", line))
		p.text(W/2-w/2, tp*1.3+tp*1.6*float64(j), tp, line, font, false)
	}
	if im.spec.VLabel != "" {
		p.text(im.VLabelX, im.VLabelY, l.fontSize("UNIT"), im.spec.VLabel, font, true)
	}
	if l.RightAxisLabel != "" {
		p.text(im.VLabel2X, im.VLabelY, l.fontSize("UNIT"), l.RightAxisLabel, font, true)
	}
	lp := l.fontSize("LEGEND")
	box := float64(charWidth(lp)) * 1.2
	for _, t := range im.Legend {
		p.text(t.X, t.Y-float64(t.H), lp, t.Text, font, false)
		if t.Color == "" {
			continue
		}
		bx, by := t.X, t.Y-box*0.4-box
		var it Item
		if t.Item >= 0 && t.Item < len(im.spec.Items) {
			it = im.spec.Items[t.Item]
		}
		var dash []float64
		if it.Dashes { // a dashed item's legend mark is dashed too
			dash = []float64{3, 3}
		}
		col := nrgba(t.Color)
		if l.DynamicLabels { // --dynamic-labels: the mark's shape is the item's
			switch it.Type {
			case ItemHRule: // [-]
				p.line([]pt{{bx, by + box/2}, {bx + box, by + box/2}}, 1, col, dash, 0)
				continue
			case ItemVRule: // [|]
				p.line([]pt{{bx + box/2, by + box}, {bx + box/2, by}}, 1, col, dash, 0)
				continue
			case ItemLine: // [/]
				w := it.Width
				if w <= 0 {
					w = 1
				}
				p.line([]pt{{bx, by + box}, {bx + box, by}}, w, col, dash, 0)
				continue
			}
		}
		// the background first, so a translucent color shows as in the graph
		p.rect(bx, by, bx+box, by+box, l.color("BACK"))
		p.rect(bx, by, bx+box, by+box, col)
		fr := l.color("FRAME")
		p.line([]pt{{bx, by}, {bx + box, by}, {bx + box, by + box}, {bx, by + box}, {bx, by}}, 1, fr, dash, 0)
	}
	if l.Watermark != "" {
		wp := l.fontSize("WATERMARK")
		c := font
		c.A = 0x4d
		w := float64(im.textWidth("WATERMARK", l.Watermark))
		p.text(W/2-w/2, H-6-float64(textHeight(wp)), wp, l.Watermark, c, false)
	}
}

func (im *Image) border() float64 {
	if im.look.Border != nil {
		return float64(*im.look.Border)
	}
	return 2
}

// paintItems draws areas, lines, ticks and rules in item order, each
// pixel column holding its value (stairs; straight segments with
// --slope-mode), stacked areas from the item below.
func (im *Image) paintItems(p painter) {
	areazero := 0.0
	if im.Min > 0 {
		areazero = im.Min
	}
	if im.Max < 0 {
		areazero = im.Max
	}
	diff := im.Max - im.Min
	clampV := func(v float64) float64 {
		switch {
		case math.IsInf(v, 1):
			v = im.Max
		case math.IsInf(v, -1):
			v = im.Min
		}
		lo, hi := im.Min-9*diff, im.Max+9*diff
		if lo < v && v < hi {
			return v // what Max and Min give, without their two calls a point
		}
		return math.Max(lo, math.Min(hi, v))
	}
	rules := map[int]float64{}
	for _, r := range im.Rules {
		rules[r.Item] = r.Pos
	}
	paths := map[int]Path{}
	var prev []float64
	for _, pa := range im.Paths {
		paths[pa.Item] = pa
	}
	x0, y0 := float64(im.Left), float64(im.Top)
	x1, y1 := x0+float64(im.PlotW), y0+float64(im.PlotH)
	for i, it := range im.spec.Items {
		switch it.Type {
		case ItemLine, ItemArea:
			pa := paths[i]
			base := prev
			prev = pa.Values
			if it.Color == "" {
				continue // rrdtool draws an item without a color invisibly
			}
			col := nrgba(it.Color)
			for _, run := range knownRuns(pa.Values) {
				top := im.stairs(pa.Values, run, clampV)
				if it.Type == ItemLine {
					w := it.Width
					var dash []float64
					if it.Dashes {
						dash = it.DashPattern
						if len(dash) == 0 {
							dash = []float64{5, 5}
						}
					}
					snapLine(top, w)
					p.line(top, w, col, dash, it.DashOffset)
					continue
				}
				bv := make([]float64, len(pa.Values))
				for k := range bv {
					bv[k] = areazero
					if it.Stack && base != nil && !math.IsNaN(base[k]) {
						bv[k] = base[k]
					}
				}
				bot := im.stairs(bv, run, clampV)
				if it.Color2 != "" {
					im.gradArea(p, top, bot, col, nrgba(it.Color2), it.GradHeight)
					continue
				}
				for k := len(bot) - 1; k >= 0; k-- {
					top = append(top, bot[k])
				}
				p.polygon(top, col)
			}
		case ItemTick:
			pa := paths[i]
			col := nrgba(it.Color)
			for k, v := range pa.Values {
				if math.IsNaN(v) || v == 0 {
					continue
				}
				x := x0 + float64(k) + 0.5
				if it.Fraction > 0 {
					p.line([]pt{{x, y1}, {x, y1 - it.Fraction*float64(im.PlotH)}}, 1, col, nil, 0)
				} else if it.Fraction < 0 {
					p.line([]pt{{x, y0}, {x, y0 - it.Fraction*float64(im.PlotH)}}, 1, col, nil, 0)
				}
			}
		case ItemHRule, ItemVRule:
			pos := rules[i]
			if math.IsNaN(pos) || it.Color == "" {
				continue
			}
			var dash []float64
			if it.Dashes {
				dash = it.DashPattern
				if len(dash) == 0 {
					dash = []float64{5, 5}
				}
			}
			if it.Type == ItemHRule {
				if pos < im.Min || pos > im.Max {
					continue
				}
				y := math.Floor(im.yOf(pos)) + 0.5
				p.line([]pt{{x0, y}, {x1, y}}, 1, nrgba(it.Color), dash, it.DashOffset)
				continue
			}
			if pos < float64(im.Start) || pos > float64(im.End) {
				continue
			}
			x := math.Floor(im.xOf(pos)) + 0.5
			p.line([]pt{{x, y0}, {x, y1}}, 1, nrgba(it.Color), dash, it.DashOffset)
		}
	}
}

// gradArea paints an AREA gradient (AREA:v#c1#c2[:gradheight=h]) as
// rrdtool 1.7.2's gfx_add_rect_fadey does, one pixel column at a time:
// c1 at the column's data line, c2 h pixels below it (h > 0, default 50);
// for h < 0, c2 at the run's first data point and c1 h pixels from there;
// for h = 0, c2 at the first point and c1 at the column's line. Colors
// are padded beyond. The columns are filled between line and base.
func (im *Image) gradArea(p painter, top, bot []pt, c1, c2 color.NRGBA, gh *float64) {
	h := 50.0
	if gh != nil {
		h = *gh
	}
	if len(top) == 0 || len(top) != len(bot) {
		return
	}
	first := top[0].y
	for i := 0; i+1 < len(top); i++ {
		a, b := top[i], top[i+1]
		if !(b.x > a.x) {
			continue // a stair's riser
		}
		mid := (a.y + b.y) / 2
		y0, y1 := mid+h, mid // c2 at y0, c1 at y1
		switch {
		case h < 0:
			y0, y1 = first, first+h
		case h == 0:
			y0, y1 = first, mid
		}
		p.gradPolygon([]pt{a, b, bot[i+1], bot[i]}, y0, c2, y1, c1)
	}
}

// stairs is the outline of columns run[0]…run[1]-1 of v: each value held
// across its pixel column, or, with --slope-mode, joined point to point.
func (im *Image) stairs(v []float64, run [2]int, clampV func(float64) float64) []pt {
	x0 := float64(im.Left)
	out := make([]pt, 0, 2*(run[1]-run[0])+2)
	for k := run[0]; k < run[1]; k++ {
		y := im.yOf(clampV(v[k]))
		if im.spec.SlopeMode {
			out = append(out, pt{x0 + float64(k) + 0.5, y})
			continue
		}
		out = append(out, pt{x0 + float64(k), y}, pt{x0 + float64(k+1), y})
	}
	if im.spec.SlopeMode && len(out) == 1 {
		out = append(out, pt{out[0].x + 1, out[0].y})
	}
	return out
}

// snapLine moves a line's vertices onto pixel centres (odd widths) or
// pixel edges (even widths) so flat stretches are crisp, as rrdtool's
// grid fitting does, not smeared over two half-covered rows.
func snapLine(p []pt, w float64) {
	odd := int(math.Round(w))%2 == 1
	for i := range p {
		x, y := clampCoord(p[i].x), clampCoord(p[i].y)
		if odd {
			p[i] = pt{math.Floor(x) + 0.5, math.Floor(y) + 0.5}
		} else {
			p[i] = pt{math.Round(x), math.Round(y)}
		}
	}
}
