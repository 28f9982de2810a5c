package graph

import (
	"bytes"
	"fmt"
	"image/color"
	"image/png"
	"math"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

const pngDPI = 96

// px converts pixels to vg lengths at pngDPI.
func px(n float64) vg.Length { return vg.Length(n) * vg.Inch / pngDPI }

// PNG renders an evaluated spec as a PNG image of about width×height
// pixels for the plot, plus rrdtool-style legend rows underneath.
func PNG(s *Spec, d *Data, width, height int) ([]byte, error) {
	items, err := layout(s, d)
	if err != nil {
		return nil, err
	}
	p := plot.New()
	p.Title.Text = s.Title
	p.Y.Label.Text = s.VLabel
	p.X.Tick.Marker = timeTicks{format: timeFormat(d.End - d.Start)}
	p.X.Min, p.X.Max = float64(d.Start), float64(d.End)
	p.Add(plotter.NewGrid())

	// Rows narrower than 3 px are drawn as a polyline through their
	// middles: stair steps would double the segments for no visible gain,
	// and stroking dominates the render time.
	steps := float64(width)*float64(d.Step)/float64(max(1, d.End-d.Start)) >= 3
	// Areas first, then lines, as rrdtool paints in item order but an
	// opaque area would hide earlier lines; order within each kind is kept.
	for _, pass := range []string{ItemArea, ItemLine} {
		for _, dr := range items {
			if dr.item.Type != pass {
				continue
			}
			col := parseColor(dr.item.Color)
			for _, run := range knownRuns(dr.top) {
				top := stepXYs(d, dr.top, run, steps)
				if pass == ItemArea {
					base := make([]float64, len(dr.top))
					if dr.base != nil {
						for i := run[0]; i < run[1]; i++ {
							if b := dr.base[i]; !math.IsNaN(b) {
								base[i] = b
							}
						}
					}
					bot := stepXYs(d, base, run, steps)
					ring := append(top, reverse(bot)...)
					poly, err := plotter.NewPolygon(ring)
					if err != nil {
						return nil, fmt.Errorf("png: area %s: %w", dr.name, err)
					}
					poly.Color = col
					poly.LineStyle.Width = 0
					p.Add(poly)
					continue
				}
				l, err := plotter.NewLine(top)
				if err != nil {
					return nil, fmt.Errorf("png: line %s: %w", dr.name, err)
				}
				l.Color = col
				l.Width = px(lineWidth(dr.item))
				if dr.item.Dashes {
					l.Dashes = []vg.Length{px(5), px(5)}
				}
				p.Add(l)
			}
		}
	}
	for _, it := range s.Items {
		if it.Type != ItemHRule && it.Type != ItemVRule {
			continue
		}
		pos, ok := rulePos(it, d)
		if !ok {
			continue
		}
		var xys plotter.XYs
		if it.Type == ItemHRule {
			xys = plotter.XYs{{X: float64(d.Start), Y: pos}, {X: float64(d.End), Y: pos}}
		} else {
			ymin, ymax := yRange(items, d, s)
			xys = plotter.XYs{{X: pos, Y: ymin}, {X: pos, Y: ymax}}
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("png: rule: %w", err)
		}
		l.Color = parseColor(it.Color)
		l.Width = px(1)
		if it.Dashes {
			l.Dashes = []vg.Length{px(5), px(5)}
		}
		p.Add(l)
	}
	if s.Lower != nil {
		p.Y.Min = *s.Lower
	}
	if s.Upper != nil {
		p.Y.Max = *s.Upper
	}
	if p.Y.Min == p.Y.Max {
		p.Y.Max = p.Y.Min + 1
	}

	rows := legendRows(Legend(s, d))
	textStyle := p.Legend.TextStyle
	rowH := px(16)
	totalW := px(float64(width))
	plotH := px(float64(height))
	totalH := plotH + rowH*vg.Length(len(rows)) + px(6)
	img := vgimg.NewWith(vgimg.UseWH(totalW, totalH), vgimg.UseDPI(pngDPI))
	dc := draw.New(img)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	p.Draw(draw.Crop(dc, 0, 0, totalH-plotH, 0))
	y := totalH - plotH - rowH
	for _, row := range rows {
		x := px(8)
		for _, e := range row {
			if e.Color != "" {
				sw := px(10)
				dc.SetColor(parseColor(e.Color))
				var path vg.Path
				path.Move(vg.Point{X: x, Y: y + px(2)})
				path.Line(vg.Point{X: x + sw, Y: y + px(2)})
				path.Line(vg.Point{X: x + sw, Y: y + px(2) + sw})
				path.Line(vg.Point{X: x, Y: y + px(2) + sw})
				path.Close()
				dc.Fill(path)
				x += sw + px(4)
			}
			dc.FillText(textStyle, vg.Point{X: x, Y: y + px(2)}, e.Text)
			x += textStyle.Width(e.Text) + px(8)
		}
		y -= rowH
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img.Image()); err != nil {
		return nil, fmt.Errorf("png: encode: %w", err)
	}
	return buf.Bytes(), nil
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

// stepXYs draws each row as a flat segment over (T−step, T], or, when
// steps is false, as a point in its middle.
func stepXYs(d *Data, v []float64, run [2]int, steps bool) plotter.XYs {
	xys := make(plotter.XYs, 0, 2*(run[1]-run[0]))
	for i := run[0]; i < run[1]; i++ {
		t := float64(d.Time(i))
		if !steps {
			xys = append(xys, plotter.XY{X: t - float64(d.Step)/2, Y: v[i]})
			continue
		}
		xys = append(xys, plotter.XY{X: t - float64(d.Step), Y: v[i]}, plotter.XY{X: t, Y: v[i]})
	}
	return xys
}

func reverse(xys plotter.XYs) plotter.XYs {
	out := make(plotter.XYs, len(xys))
	for i, p := range xys {
		out[len(xys)-1-i] = p
	}
	return out
}

func yRange(items []drawn, d *Data, s *Spec) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, dr := range items {
		for _, v := range dr.top {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if s.Lower != nil {
		lo = *s.Lower
	}
	if s.Upper != nil {
		hi = *s.Upper
	}
	if math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return 0, 1
	}
	return math.Min(lo, 0), hi
}

func timeFormat(span int64) string {
	switch {
	case span <= 2*86400:
		return "15:04"
	case span <= 60*86400:
		return "Jan 02 15:04"
	default:
		return "2006-01-02"
	}
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

// timeTicks puts labels on round UTC times (every 10 min, 1 h, 6 h, 1 d…)
// so that there are about six of them.
type timeTicks struct{ format string }

var tickSteps = []int64{60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400, 61 * 86400, 91 * 86400, 182 * 86400, 365 * 86400}

func (tt timeTicks) Ticks(min, max float64) []plot.Tick {
	span := int64(max - min)
	step := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if span/s <= 7 {
			step = s
			break
		}
	}
	var ticks []plot.Tick
	first := (int64(math.Ceil(min)) + step - 1) / step * step
	for t := first; float64(t) <= max && len(ticks) < 100; t += step {
		ticks = append(ticks, plot.Tick{Value: float64(t), Label: time.Unix(t, 0).UTC().Format(tt.format)})
	}
	return ticks
}
