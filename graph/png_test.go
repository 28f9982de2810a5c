package graph

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"strconv"
	"strings"
	"testing"
)

// pngStart is a round hour, so time ticks fall on known columns.
const pngStart = 1_699_999_200

// render draws a graph of the given columns (rows of step seconds from
// pngStart) and returns the decoded image and the layout it was drawn with.
func render(t *testing.T, args []string, cols map[string][]float64, step int64, w, h int) (image.Image, *geometry) {
	t.Helper()
	s, _, err := ParseArgs(args)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range cols {
		n = len(c)
	}
	d := &Data{Start: pngStart, End: pngStart + int64(n)*step, Step: step, Columns: cols}
	b, err := PNG(s, d, w, h)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := *s
	c.Width, c.Height = w, h
	im, err := Layout(&c, d, LayoutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g := &geometry{plot: image.Rect(im.Left, im.Top, im.Left+im.PlotW, im.Top+im.PlotH), im: im}
	// The layout must be the one drawn: the axes lie just outside it.
	axis := color.RGBA{0x1f, 0x1f, 0x1f, 0xff}
	for _, p := range []image.Point{{g.plot.Min.X - 1, (g.plot.Min.Y + g.plot.Max.Y) / 2}, {(g.plot.Min.X + g.plot.Max.X) / 2, g.plot.Max.Y}} {
		if c := rgba(img, p.X, p.Y); c != axis {
			t.Fatalf("axis pixel %v = %v, want %v (plot %v)", p, c, axis, g.plot)
		}
	}
	return img, g
}

// geometry is the plot rectangle a test image was drawn with.
type geometry struct {
	plot image.Rectangle
	im   *Image
}

func rgba(img image.Image, x, y int) color.RGBA {
	return color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
}

func near(c, want color.RGBA, tol int) bool {
	d := func(a, b uint8) bool { return math.Abs(float64(a)-float64(b)) <= float64(tol) }
	return d(c.R, want.R) && d(c.G, want.G) && d(c.B, want.B)
}

// expRow is the row the value v should be drawn on, from the plot's
// rectangle and the fixed limits alone.
func expRow(g *geometry, v, lo, hi float64) float64 {
	return float64(g.plot.Min.Y) + (hi-v)/(hi-lo)*float64(g.plot.Dy())
}

func expCol(g *geometry, t, start, end float64) float64 {
	return float64(g.plot.Min.X) + (t-start)/(end-start)*float64(g.plot.Dx())
}

// rowsWhere lists the rows of column x (inside the plot) whose pixel matches.
func rowsWhere(img image.Image, g *geometry, x int, match func(color.RGBA) bool) []int {
	var rows []int
	for y := g.plot.Min.Y; y < g.plot.Max.Y; y++ {
		if match(rgba(img, x, y)) {
			rows = append(rows, y)
		}
	}
	return rows
}

func isRed(c color.RGBA) bool   { return c.R > 0xc0 && c.G < 0x60 && c.B < 0x60 }
func isBlue(c color.RGBA) bool  { return c.B > 0xc0 && c.R < 0x60 && c.G < 0x60 }
func isGreen(c color.RGBA) bool { return c.G > 0xc0 && c.R < 0x60 && c.B < 0x60 }
func isPlain(c color.RGBA) bool {
	return c == rgb(0xffffff) || int(c.R)+int(c.G)+int(c.B) > 3*0x90 && !isRed(c) && !isBlue(c) && !isGreen(c)
}
func isDark(c color.RGBA) bool { return int(c.R)+int(c.G)+int(c.B) < 3*0x60 }

func constant(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestPNGLinePosition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		elem   string
		v      float64
		rows   int // data rows: 12 gives wide steps, 2000 the midpoint polyline
		minW   int // painted rows per column
		maxW   int
		lo, hi float64
		dashed bool
		vlabel bool
		w, h   int
	}{
		{"LINE1 stepped", "LINE1:a#ff0000", 25, 12, 1, 2, 0, 100, false, false, 500, 300},
		{"LINE1 midpoints", "LINE1:a#ff0000", 25, 2000, 1, 2, 0, 100, false, true, 500, 300},
		{"LINE3", "LINE3:a#ff0000", 70, 12, 3, 4, 0, 100, false, false, 500, 300},
		{"LINE2 negative range", "LINE2:a#ff0000", -30, 12, 2, 3, -50, -10, false, true, 500, 300},
		{"LINE1 dashed", "LINE1:a#ff0000::dashes", 60, 12, 1, 2, 0, 100, true, false, 500, 300},
		// Larger than one raster tile (512 px) both ways: no seams.
		{"LINE2 across tiles", "LINE2:a#ff0000", 22.5, 2000, 2, 3, 0, 100, false, false, 1400, 1200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"-r", "-l", ftoa(tt.lo), "-u", ftoa(tt.hi), "DEF:a=x:v:AVERAGE", tt.elem}
			if tt.vlabel {
				args = append(args, "-v", "bytes/s")
			}
			img, g := render(t, args, map[string][]float64{"a": constant(tt.rows, tt.v)}, 60, tt.w, tt.h)
			want := expRow(g, tt.v, tt.lo, tt.hi)
			painted := 0
			for x := g.plot.Min.X + 1; x < g.plot.Max.X-1; x++ {
				rows := rowsWhere(img, g, x, isRed)
				if len(rows) == 0 {
					if tt.dashed {
						continue
					}
					t.Fatalf("column %d: no line (want it at row %.1f across the plot)", x, want)
				}
				painted++
				if len(rows) < tt.minW || len(rows) > tt.maxW {
					t.Fatalf("column %d: line %d px thick (rows %v), want %d–%d", x, len(rows), rows, tt.minW, tt.maxW)
				}
				if mid := float64(rows[0]+rows[len(rows)-1]+1) / 2; math.Abs(mid-want) > 1 {
					t.Fatalf("column %d: line centred on row %.1f, want %.1f ±1", x, mid, want)
				}
			}
			span := g.plot.Dx() - 2
			if tt.dashed && (painted < span/3 || painted > 2*span/3) {
				t.Errorf("dashed line painted %d of %d columns, want about half", painted, span)
			}
		})
	}
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func TestPNGRulesAreasGaps(t *testing.T) {
	t.Parallel()
	n := 12
	gap := constant(n, 40)
	gap[4], gap[5], gap[6] = math.NaN(), math.NaN(), math.NaN()
	vrule := float64(pngStart + 3*60)
	img, g := render(t, []string{"-r", "-l", "0", "-u", "100",
		"DEF:a=x:v:AVERAGE", "DEF:b=x:w:AVERAGE", "DEF:c=x:u:AVERAGE",
		"AREA:a#00ff00", // 0..40 with a gap in rows 4–6
		"LINE1:b#0000ff",
		"AREA:c#ff000080", // translucent red 0..10 over the green
		"HRULE:75#0000ff", "VRULE:" + ftoa(vrule) + "#ff0000",
	}, map[string][]float64{"a": gap, "b": constant(n, 90), "c": constant(n, 10)}, 60, 600, 300)

	col := func(row int) int { // the middle column of data row i
		return int(expCol(g, float64(pngStart+row*60)+30, pngStart, float64(pngStart+n*60)))
	}
	// HRULE row.
	x := col(8)
	if rows := rowsWhere(img, g, x, isBlue); len(rows) != 2 || math.Abs(float64(rows[0])-expRow(g, 90, 0, 100)) > 1 ||
		math.Abs(float64(rows[1])-expRow(g, 75, 0, 100)) > 1 {
		t.Errorf("blue rows in column %d = %v, want the line at %.1f and the rule at %.1f", x, rows, expRow(g, 90, 0, 100), expRow(g, 75, 0, 100))
	}
	// VRULE column.
	y := int(expRow(g, 60, 0, 100))
	var red []int
	for x := g.plot.Min.X; x < g.plot.Max.X; x++ {
		if isRed(rgba(img, x, y)) {
			red = append(red, x)
		}
	}
	if wantX := expCol(g, vrule, pngStart, float64(pngStart+n*60)); len(red) != 1 || math.Abs(float64(red[0])-wantX) > 1 {
		t.Errorf("red columns on row %d = %v, want the VRULE at %.1f", y, red, wantX)
	}
	// The area fills below its top, not above.
	top := expRow(g, 40, 0, 100)
	if c := rgba(img, x, int(top)+3); !isGreen(c) {
		t.Errorf("below the area's top (%d, %d) = %v, want green", x, int(top)+3, c)
	}
	if c := rgba(img, x, int(top)-3); !isPlain(c) {
		t.Errorf("above the area's top (%d, %d) = %v, want background", x, int(top)-3, c)
	}
	// Translucent red over green blends both; over white it is pink.
	blend := rgba(img, x, int(expRow(g, 5, 0, 100)))
	if !near(blend, color.RGBA{R: 0x80, G: 0x7f, B: 0}, 3) {
		t.Errorf("50%% red over green = %v, want about #807f00", blend)
	}
	var pink color.RGBA
	for dx := -3; dx <= 3; dx++ { // a pixel off the grid lines
		if pink = rgba(img, col(5)+dx, int(expRow(g, 5, 0, 100))); near(pink, color.RGBA{R: 0xff, G: 0x7f, B: 0x7f}, 3) {
			break
		}
	}
	if !near(pink, color.RGBA{R: 0xff, G: 0x7f, B: 0x7f}, 3) {
		t.Errorf("50%% red over white = %v, want about #ff7f7f", pink)
	}
	// The gap (rows 4–6) leaves the background between the translucent
	// red band and the HRULE.
	x0, x1 := col(4)-8, col(6)+8
	for x := x0; x <= x1; x++ {
		for y := int(expRow(g, 70, 0, 100)); y < int(expRow(g, 15, 0, 100)); y++ {
			if c := rgba(img, x, y); !isPlain(c) {
				t.Fatalf("gap pixel (%d, %d) = %v, want background", x, y, c)
			}
		}
	}
	if c := rgba(img, col(2), int(expRow(g, 30, 0, 100))); !isGreen(c) {
		t.Errorf("before the gap = %v, want green", c)
	}
}

// TestPNGAreaTiles fills a plot larger than one raster tile: every pixel
// under the area's top is its color, with no seam where tiles meet.
func TestPNGAreaTiles(t *testing.T) {
	t.Parallel()
	img, g := render(t, []string{"-r", "-l", "0", "-u", "100", "DEF:a=x:v:AVERAGE", "AREA:a#3366cc"},
		map[string][]float64{"a": constant(700, 80)}, 60, 1500, 1300)
	top := int(math.Ceil(expRow(g, 80, 0, 100)))
	if g.plot.Dx() <= 2*rasterTile || g.plot.Max.Y-top <= rasterTile {
		t.Fatalf("plot %v too small to span tiles", g.plot)
	}
	for y := top + 1; y < g.plot.Max.Y; y++ {
		for x := g.plot.Min.X; x < g.plot.Max.X; x++ {
			if c := rgba(img, x, y); c != rgb(0x3366cc) {
				t.Fatalf("pixel (%d, %d) = %v, want the area's color", x, y, c)
			}
		}
	}
}

func TestPNGTextAndLegend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		title string
	}{{"with title", "Requests per second"}, {"without title", ""}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"DEF:a=x:v:AVERAGE", "AREA:a#123456:first item", "LINE1:a#ff8000:second", "COMMENT:note"}
			if tt.title != "" {
				args = append(args, "-t", tt.title)
			}
			const w, h = 500, 250
			img, g := render(t, args, map[string][]float64{"a": {3, 5, 2, 8, 4, 6}}, 3600, w, h)
			count := func(r image.Rectangle) int {
				n := 0
				for y := r.Min.Y; y < r.Max.Y; y++ {
					for x := r.Min.X; x < r.Max.X; x++ {
						if isDark(rgba(img, x, y)) {
							n++
						}
					}
				}
				return n
			}
			titleDark := count(image.Rect(g.plot.Min.X+4, 0, w, g.plot.Min.Y-9)) // not the axis arrow
			if tt.title != "" && titleDark < 50 || tt.title == "" && titleDark != 0 {
				t.Errorf("%d dark pixels in the title band", titleDark)
			}
			if n := count(image.Rect(g.plot.Min.X, g.plot.Max.Y+tickLen+2, g.plot.Max.X, h)); n < 50 {
				t.Errorf("%d dark pixels under the x axis, want tick labels", n)
			}
			if n := count(image.Rect(0, g.plot.Min.Y, g.plot.Min.X-tickLen-2, g.plot.Max.Y)); n < 30 {
				t.Errorf("%d dark pixels left of the plot, want value labels", n)
			}
			// Legend pieces where the layout put them: swatches in the
			// items' colors, text after them.
			b := img.Bounds()
			if b.Dx() != g.im.Width || b.Dy() != g.im.Height {
				t.Fatalf("image %v, want %dx%d", b, g.im.Width, g.im.Height)
			}
			swatches := 0
			for _, l := range g.im.Legend {
				if n := count(image.Rect(int(l.X), int(l.Y)-l.H, int(l.X)+l.W, int(l.Y))); n < 10 {
					t.Errorf("%d dark pixels in legend text %q", n, l.Text)
				}
				if l.Color == "" {
					continue
				}
				box := float64(charWidth(8)) * 1.2
				x, y := int(l.X+box/2), int(l.Y-box*0.4-box/2)
				if c := rgba(img, x, y); c != rgb(uint32(mustHex(l.Color))) {
					t.Errorf("swatch of %q at %d,%d = %v, want %s", l.Text, x, y, c, l.Color)
				}
				swatches++
			}
			if swatches != 2 || len(g.im.Legend) != 3 {
				t.Errorf("legend %+v, want 2 swatches and a comment", g.im.Legend)
			}
		})
	}
}

func mustHex(c string) uint64 {
	n, _ := strconv.ParseUint(c[1:], 16, 32)
	return n
}

const tickLen = 3

// TestPNGDegenerate renders inputs at the edges of the scales: each must
// give a valid PNG of the asked size, not a panic or a hang.
func TestPNGDegenerate(t *testing.T) {
	t.Parallel()
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name  string
		args  []string
		col   []float64
		start int64
		end   int64
		w, h  int
	}{
		{"all NaN", nil, []float64{nan, nan, nan}, 0, 0, 400, 200},
		{"no rows", nil, []float64{}, 0, 0, 400, 200},
		{"single row", nil, []float64{7}, 0, 0, 400, 200},
		{"min == max", nil, []float64{5, 5, 5}, 0, 0, 400, 200},
		{"all zero", nil, []float64{0, 0, 0}, 0, 0, 400, 200},
		{"zero-width time range", nil, []float64{1, 2}, pngStart, pngStart, 400, 200},
		{"end before start", nil, []float64{1, 2}, pngStart, pngStart - 600, 400, 200},
		{"huge values", nil, []float64{1e300, 2e300, 1e300}, 0, 0, 400, 200},
		{"huge both signs", nil, []float64{-1.7e308, 1.7e308, 0}, 0, 0, 400, 200},
		{"tiny values", nil, []float64{1e-300, 3e-300, 2e-300}, 0, 0, 400, 200},
		{"denormals", nil, []float64{5e-324, 5e-324}, 0, 0, 400, 200},
		{"negative", nil, []float64{-5, -20, -3}, 0, 0, 400, 200},
		{"infinities", nil, []float64{inf, -inf, 3, nan}, 0, 0, 400, 200},
		{"precision limit", nil, []float64{1e15, 1e15 + 0.5, 1e15 + 0.25}, 0, 0, 400, 200},
		{"limits beyond data", []string{"-l", "1e6", "-u", "2e6"}, []float64{1, 2, 3}, 0, 0, 400, 200},
		{"lower above upper", []string{"-l", "10", "-u", "5"}, []float64{1, 2, 3}, 0, 0, 400, 200},
		{"lower above data", []string{"-l", "100"}, []float64{1, 2, 3}, 0, 0, 400, 200},
		{"tiny image", nil, []float64{1, 2, 3}, 0, 0, 1, 1},
		{"small image", []string{"-t", "a long title that does not fit", "-v", "label"}, []float64{1, 2, 3}, 0, 0, 30, 20},
		{"wide", nil, []float64{1, 2, 3}, 0, 0, 4000, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _, err := ParseArgs(append([]string{"DEF:a=x:v:AVERAGE", "AREA:a#00ff0080:a", "LINE2:a#ff0000::dashes",
				"AREA:a#0000ff:b:STACK", "HRULE:3#000000", "VRULE:" + ftoa(pngStart+60) + "#000000"}, tt.args...))
			if err != nil {
				t.Fatal(err)
			}
			start, end := tt.start, tt.end
			if start == 0 {
				start, end = pngStart, pngStart+int64(len(tt.col))*60
			}
			d := &Data{Start: start, End: end, Step: 60, Columns: map[string][]float64{"a": tt.col}}
			b, err := PNG(s, d, tt.w, tt.h)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			c := *s
			c.Width, c.Height = tt.w, tt.h
			im, err := Layout(&c, d, LayoutOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if r := img.Bounds(); r.Dx() != im.Width || r.Dy() != im.Height || im.PlotW != tt.w || im.PlotH != tt.h {
				t.Errorf("image %v plot %dx%d, want %dx%d plot %dx%d", r, im.PlotW, im.PlotH, im.Width, im.Height, tt.w, tt.h)
			}
		})
	}
	for _, wh := range [][2]int{{0, 100}, {100, 0}, {-1, 5}, {1 << 20, 10}} {
		s, d := testSpecData(t)
		if _, err := PNG(s, d, wh[0], wh[1]); err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("PNG %dx%d: err = %v, want a size error", wh[0], wh[1], err)
		}
	}
}

func TestDashes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   []pt
		want int // pieces
	}{
		{[]pt{{0, 0}, {50, 0}}, 5},
		{[]pt{{0, 0}, {12, 0}, {12, 13}}, 3},
		{[]pt{{0, 0}, {3, 0}}, 1},
		{[]pt{{0, 0}, {0, 0}}, 0},
	}
	for _, tt := range tests {
		got := dashes(tt.in, 5, 5)
		if len(got) != tt.want {
			t.Errorf("dashes(%v) = %v, want %d pieces", tt.in, got, tt.want)
		}
		for _, p := range got {
			l := 0.0
			for i := 1; i < len(p); i++ {
				l += math.Hypot(p[i].x-p[i-1].x, p[i].y-p[i-1].y)
			}
			if l > 5+1e-9 {
				t.Errorf("dashes(%v): piece %v is %.2f long", tt.in, p, l)
			}
		}
	}
}

// FuzzPNG renders three rows of arbitrary values with arbitrary limits at
// small sizes: always a PNG of the asked size, never a panic or a hang.
func FuzzPNG(f *testing.F) {
	f.Add(1.0, 2.0, 3.0, 0.0, 0.0, uint8(0), uint8(100), uint8(60))
	f.Add(math.NaN(), math.Inf(1), -1e308, 5.0, -5.0, uint8(3), uint8(1), uint8(1))
	f.Add(1e300, -1e300, 0.0, 1e-300, 1e300, uint8(1), uint8(255), uint8(255))
	f.Add(5e-324, 5e-324, 5e-324, 0.0, 0.0, uint8(2), uint8(40), uint8(9))
	f.Fuzz(func(t *testing.T, a, b, c, lower, upper float64, limits, w, h uint8) {
		args := []string{"-t", "fuzz", "-v", "v", "DEF:a=x:v:AVERAGE",
			"AREA:a#00ff0080:a", "LINE3:a#ff0000:b:dashes", "AREA:a#0000ff:c:STACK", "HRULE:" + ftoa(lower) + "#000000:r"}
		if limits&1 != 0 {
			args = append(args, "-l", ftoa(lower))
		}
		if limits&2 != 0 {
			args = append(args, "-u", ftoa(upper))
		}
		s, _, err := ParseArgs(args)
		if err != nil {
			t.Skip(err)
		}
		d := &Data{Start: pngStart, End: pngStart + 180, Step: 60, Columns: map[string][]float64{"a": {a, b, c}}}
		out, err := PNG(s, d, int(w)+1, int(h)+1)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		if r := img.Bounds(); r.Dx() <= int(w)+1 || r.Dy() <= int(h)+1 {
			t.Fatalf("image %v for a %dx%d plot", r, int(w)+1, int(h)+1)
		}
	})
}

func rgb(c uint32) color.RGBA {
	return color.RGBA{R: uint8(c >> 16), G: uint8(c >> 8), B: uint8(c), A: 0xff}
}

// TestPNGTick: a TICK marks the columns where its value is known and not
// zero with a line up from the bottom, Fraction of the plot high.
func TestPNGTick(t *testing.T) {
	t.Parallel()
	n := 12
	v := constant(n, 1)
	v[3], v[7] = 0, math.NaN()
	img, g := render(t, []string{"-r", "-l", "0", "-u", "10", "DEF:a=x:v:AVERAGE", "TICK:a#ff0000:0.5"},
		map[string][]float64{"a": v}, 60, 600, 200)
	colOf := func(row int) int { // the middle column of data row i
		return int(expCol(g, float64(pngStart+row*60)+30, pngStart, float64(pngStart+n*60)))
	}
	for row := 0; row < n; row++ {
		red := rowsWhere(img, g, colOf(row), isRed)
		if row == 3 || row == 7 {
			if len(red) != 0 {
				t.Errorf("row %d (zero or unknown): tick at %v", row, red)
			}
			continue
		}
		if len(red) < g.plot.Dy()/2-2 || len(red) > g.plot.Dy()/2+2 || red[len(red)-1] != g.plot.Max.Y-1 {
			t.Errorf("row %d: tick rows %d…%d (%d), want the lower half of %v", row, red[0], red[len(red)-1], len(red), g.plot)
		}
	}
}

// TestPNGAreaGradient: AREA:v#c1#c2 is c1 at the data line, c2 gradheight
// pixels below it (default 50) and beyond, as rrdtool's gradients; SVG
// gets a linearGradient.
func TestPNGAreaGradient(t *testing.T) {
	t.Parallel()
	n := 12
	for _, tc := range []struct {
		args []string
		h    float64
	}{
		{[]string{"AREA:a#ff0000#0000ff"}, 50},
		{[]string{"AREA:a#ff0000#0000ff::gradheight=20"}, 20},
	} {
		img, g := render(t, append([]string{"-r", "-l", "0", "-u", "100", "DEF:a=x:v:AVERAGE"}, tc.args...),
			map[string][]float64{"a": constant(n, 80)}, 60, 600, 300)
		x := int(expCol(g, float64(pngStart+5*60)+30, pngStart, float64(pngStart+n*60)))
		top := expRow(g, 80, 0, 100)
		if c := rgba(img, x, int(top)+1); !near(c, color.RGBA{R: 0xff, B: 0, A: 0xff}, 24) { // 1.5 px into the gradient
			t.Errorf("gradheight %v: at the line (%d, %d) = %v, want about red", tc.h, x, int(top)+1, c)
		}
		if c := rgba(img, x, int(top+tc.h/2)); !near(c, color.RGBA{R: 0x80, B: 0x7f, A: 0xff}, 16) {
			t.Errorf("gradheight %v: half way (%d, %d) = %v, want about #80007f", tc.h, x, int(top+tc.h/2), c)
		}
		if c := rgba(img, x, int(top+tc.h)+3); !near(c, color.RGBA{B: 0xff, A: 0xff}, 3) {
			t.Errorf("gradheight %v: below the gradient (%d, %d) = %v, want blue", tc.h, x, int(top+tc.h)+3, c)
		}
		if c := rgba(img, x, int(top)-3); !isPlain(c) {
			t.Errorf("gradheight %v: above the area = %v, want background", tc.h, c)
		}
	}
}

// TestPNGDynamicLabels: with --dynamic-labels a LINE's legend mark is a
// diagonal stroke and an HRULE's a horizontal one (rrdtool's [/] and [-]),
// not the filled box drawn otherwise.
func TestPNGDynamicLabels(t *testing.T) {
	t.Parallel()
	count := func(dyn bool) (line, rule int) {
		args := []string{"-r", "-l", "0", "-u", "100", "DEF:a=x:v:AVERAGE", "LINE2:a#ff0000:line", "HRULE:20#0000ff:rule"}
		if dyn {
			args = append([]string{"--dynamic-labels"}, args...)
		}
		img, g := render(t, args, map[string][]float64{"a": constant(12, 50)}, 60, 400, 100)
		box := float64(charWidth(8)) * 1.2
		for _, lt := range g.im.Legend {
			if lt.Color == "" {
				continue
			}
			n := 0
			for y := int(lt.Y - box*1.4); y <= int(lt.Y-box*0.4)+1; y++ {
				for x := int(lt.X); x <= int(lt.X+box)+1; x++ {
					if c := rgba(img, x, y); (lt.Color == "#ff0000" && isRed(c)) || (lt.Color == "#0000ff" && isBlue(c)) {
						n++
					}
				}
			}
			if lt.Color == "#ff0000" {
				line = n
			} else {
				rule = n
			}
		}
		return line, rule
	}
	boxLine, boxRule := count(false)
	dynLine, dynRule := count(true)
	if boxLine < 40 || boxRule < 40 {
		t.Errorf("boxes: %d red and %d blue pixels, want filled boxes", boxLine, boxRule)
	}
	if dynLine == 0 || dynLine >= boxLine/2 || dynRule == 0 || dynRule > 15 {
		t.Errorf("dynamic labels: %d red (line) and %d blue (rule) pixels; boxes had %d and %d", dynLine, dynRule, boxLine, boxRule)
	}
}
