package graph

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Image is a laid-out graph: what every output (PNG, SVG, graphv, the web
// page's legend) draws, computed as rrdtool 1.7.2's rrd_graph does.
type Image struct {
	// Prints are the PRINT lines (graphv's print[i]).
	Prints []string
	// Graphed is false when the spec draws nothing (only PRINTs): rrdtool
	// then makes no image and reports no geometry.
	Graphed bool
	// Width and Height are the image's; Left, Top, PlotW and PlotH the
	// plot area's (graphv's graph_left/top/width/height).
	Width, Height           int
	Left, Top, PlotW, PlotH int
	Start, End              int64
	// Min and Max are the value range of the plot (graphv's value_min/max).
	Min, Max float64
	// Magfact and Symbol are the y axis' SI scaling (si_unit); ViewFactor
	// the --units-exponent adjustment.
	Magfact, ViewFactor float64
	Symbol              string
	// Legend holds every non-empty legend text in item order, placed.
	Legend []LegendText
	// Titles are the title's lines, centred on TitleX.
	Titles []string
	TitleX float64
	// Legend origin (rrdtool's xOriginLegend/yOriginLegend) and the
	// vertical label's centre.
	LegendX, LegendY float64
	VLabelX, VLabelY float64
	// VLabel2X is the right axis label's centre (--right-axis-label), at
	// height VLabelY.
	VLabel2X float64
	// Paths are the per-pixel values of each LINE, AREA and TICK.
	Paths []Path
	// Rules are the HRULE/VRULE positions (NaN: not shown).
	Rules []Rule

	look     *Look
	spec     *Spec
	legendH  int
	legendW  int
	unitsLen int
	// loc is the time zone of timestamp axis labels
	loc      *time.Location
	gridStep float64 // horizontal grid step (calc_horizontal_grid)
	labFact  int
	// altLabel is --alt-y-grid's label format (nil: rrdtool's classic)
	altLabel *fmtPart
	rulePos  map[int]float64
	// tabShift is where rrdtool's tab stops start: pango's tab array is
	// set at the first text measured, at x 0 for the y labels' "0", else
	// at the legend border.
	tabShift float64
	// oneTab: the array was set while measuring "0" (one character, so
	// one tab stop), as happens whenever the y labels are measured.
	oneTab bool
}

// LegendText is one legend piece: a LINE/AREA/rule legend (with its
// swatch color), a GPRINT's text or a COMMENT, at rrdtool's position.
type LegendText struct {
	Item  int     `json:"item"` // index in Spec.Items
	Text  string  `json:"text"`
	Color string  `json:"color,omitempty"`
	Line  int     `json:"line"`   // legend line, from 0
	X     float64 `json:"x"`      // left
	Y     float64 `json:"y"`      // bottom
	W     int     `json:"width"`  // text width
	H     int     `json:"height"` // text height
}

// Path is the value of a LINE, AREA or TICK at each pixel column of the
// plot (NaN: nothing drawn), stacking already applied.
type Path struct {
	Item   int
	Values []float64
}

// Rule is an HRULE's value or a VRULE's time.
type Rule struct {
	Item int
	Pos  float64
}

// LayoutOptions are the inputs of a layout beyond the spec and its data.
type LayoutOptions struct {
	// Loc is the time zone of time labels and strftime formats (UTC when nil).
	Loc *time.Location
}

// rrdtool's fixed spacings (graph_size_location).
const (
	xSpacing = 15
	ySpacing = 15
)

// Layout lays out an evaluated spec as rrdtool graph does: PRINT and
// GPRINT texts, the image and plot geometry, the legend's lines, the value
// range and the per-pixel values of what is drawn.
func Layout(s *Spec, d *Data, o LayoutOptions) (*Image, error) {
	if o.Loc == nil {
		o.Loc = time.UTC
	}
	im := &Image{look: &s.Look, spec: s, Start: d.Start, End: d.End, Magfact: 1, ViewFactor: 1, Symbol: " ", loc: o.Loc}
	if d.From != 0 || d.To != 0 {
		im.Start, im.End = d.From, d.To
	}
	im.rulePos = map[int]float64{}
	for i, it := range s.Items {
		if it.Type == ItemHRule || it.Type == ItemVRule {
			if pos, ok := rulePos(it, d); ok {
				im.rulePos[i] = pos
			} else {
				im.rulePos[i] = math.NaN()
			}
		}
	}
	texts, graphed, err := im.printCalc(s, d, o.Loc)
	if err != nil {
		return nil, err
	}
	im.Graphed = graphed
	if !graphed {
		return im, nil
	}
	w, h := s.Size()
	if err := im.sizeLocation(s, texts, w, h); err != nil {
		return nil, err
	}
	if err := im.dataProc(s, d); err != nil {
		return nil, err
	}
	if !s.Logarithmic {
		im.siUnit()
	}
	if (!s.Rigid || s.AllowShrink) && !s.Logarithmic {
		im.expandRange()
	}
	im.horizontalGrid()
	for i, it := range s.Items {
		switch it.Type {
		case ItemHRule, ItemVRule:
			pos, ok := rulePos(it, d)
			if !ok {
				pos = math.NaN()
			}
			im.Rules = append(im.Rules, Rule{Item: i, Pos: pos})
		}
	}
	return im, nil
}

// text metrics: rrdtool sets DejaVu Sans Mono through pango at 100 dpi
// with hinted metrics, so every character advances a whole number of
// pixels and a line is its hinted ascent plus descent.
const (
	monoAdvance = 1233.0 / 2048
	monoAscent  = 1901.0 / 2048
	monoDescent = 483.0 / 2048
)

func pxSize(pt float64) float64 { return pt * 100 / 72 }

func charWidth(pt float64) int { return int(math.Round(pxSize(pt) * monoAdvance)) }

func textHeight(pt float64) int {
	px := pxSize(pt)
	return int(math.Ceil(px*monoAscent)) + int(math.Ceil(px*monoDescent))
}

// textWidthAt is the width of s in the class's font; tabs advance to
// rrdtool's tab stops (every tabwidth pixels, offset by the legend border).
func (im *Image) textWidth(class, s string) int {
	if im.look.PangoMarkup {
		s = markupText(s)
	}
	pt := im.look.fontSize(class)
	cw := charWidth(pt)
	tab := im.look.TabWidth
	if tab == 0 {
		tab = 40
	}
	border := float64(int(im.look.fontSize("LEGEND") * 2))
	x := 0
	for _, r := range s {
		if r == '\t' {
			if im.oneTab {
				// one tab stop, at tabwidth + border: pango repeats it
				stop := tab + border
				x = int((math.Floor(float64(x)/stop) + 1) * stop)
				continue
			}
			k := 1.0
			for tab*k-im.tabShift+border <= float64(x) {
				k++
			}
			x = int(tab*k - im.tabShift + border)
			continue
		}
		x += cw
	}
	return x
}

// titleLines splits a title as rrdtool does: at newlines, "\n", <br> and
// <br/>, without empty lines from leading or doubled delimiters.
func titleLines(t string) []string {
	var lines []string
	for len(lines) < 10 {
		pos, size := -1, 0
		for _, d := range []string{"\n", `\n`, "<br>", "<br/>"} {
			if k := strings.Index(t, d); k >= 0 && (pos < 0 || k < pos) {
				pos, size = k, len(d)
			}
		}
		if pos < 0 {
			if t != "" {
				lines = append(lines, t)
			}
			break
		}
		if pos > 0 {
			lines = append(lines, t[:pos])
		}
		t = t[pos+size:]
	}
	return lines
}

// sizeLocation is rrdtool's graph_size_location: the image size, the plot
// area and the legend's placement from the fonts and the fixed spacings.
func (im *Image) sizeLocation(s *Spec, texts []legendSource, xsize, ysize int) error {
	l := &s.Look
	fs := l.fontSize
	im.unitsLen = 6
	if l.UnitsLength > 0 {
		im.unitsLen = l.UnitsLength
	}
	if s.OnlyGraph {
		im.Left, im.Width, im.Height = 0, xsize, ysize
		im.PlotW, im.PlotH, im.Top = xsize, ysize, 0
		return nil
	}
	drawX, drawY := l.XGrid != "none", l.YGrid != "none"
	var xVertical, yTitle, xyLabel, yxLabel int
	xVertical2 := xSpacing
	if s.VLabel != "" {
		xVertical = int(fs("UNIT") * 2)
	}
	if l.RightAxisLabel != "" {
		xVertical2 = int(fs("UNIT") * 2)
	}
	right := l.RightAxis != "" // a second axis: its labels take xyLabel too
	im.Titles = titleLines(s.Title)
	if len(im.Titles) > 0 {
		yTitle = int(fs("TITLE") * float64(len(im.Titles)+1) * 1.6)
	} else {
		yTitle = ySpacing
	}
	if drawX {
		yxLabel = int(fs("AXIS") * 2.5)
	}
	if drawY || l.UnitsLength > 0 { // --units-length forces the room, as rrdtool's forceleftspace
		xyLabel = im.textWidth("AXIS", "0") * im.unitsLen
		im.oneTab = true
	} else {
		tab := l.TabWidth
		if tab == 0 {
			tab = 40
		}
		im.tabShift = math.Mod(float64(int(fs("LEGEND")*2)), tab)
	}
	xyLabel += xSpacing
	yWatermark := 0
	if l.Watermark != "" {
		yWatermark = int(fs("WATERMARK") * 2)
	}
	pos := l.LegendPosition
	if pos == "" {
		pos = "south"
	}
	side := pos == "west" || pos == "east"
	showLegend := !s.NoLegend
	if showLegend && side {
		if err := im.legPlace(texts, true); err != nil {
			return err
		}
	}
	var xMain, yMain int
	tag := !s.NoTag
	if s.FullSize {
		im.Width, im.Height = xsize, ysize
		xMain, yMain = xsize, ysize
		xMain -= xyLabel
		if side && showLegend {
			xMain -= im.legendW
		}
		if right {
			xMain -= xyLabel
		}
		if tag {
			xMain -= xSpacing
		}
		xMain -= xVertical + xVertical2
		xMain = max(1, xMain)
		xsize = xMain
		if showLegend && !side {
			im.legendW = im.Width
			if err := im.legPlace(texts, false); err != nil {
				return err
			}
		}
		if !side && showLegend {
			yMain -= yxLabel + im.legendH
		} else {
			yMain -= yxLabel
		}
		yMain -= yTitle
		if s.NoLegend {
			yMain = int(float64(yMain) - 0.5*ySpacing)
		}
		yMain -= yWatermark
		yMain = max(1, yMain)
		ysize = yMain
	} else {
		xMain, yMain = xsize, ysize
		im.Width = xMain + xyLabel
		if tag {
			im.Width += xSpacing
		}
		if side && showLegend {
			im.Width += im.legendW
		}
		if right {
			im.Width += xyLabel
		}
		im.Width += xVertical + xVertical2
		if showLegend && !side {
			im.legendW = im.Width
			if err := im.legPlace(texts, false); err != nil {
				return err
			}
		}
		im.Height = yMain + yxLabel
		if !side && showLegend {
			im.Height += im.legendH
		}
		im.Height += yTitle
		if s.NoLegend {
			im.Height = int(float64(im.Height) + 0.5*ySpacing)
		}
		im.Height += yWatermark
	}
	if showLegend && side {
		if err := im.legPlace(texts, false); err != nil {
			return err
		}
	}
	var yorigin int
	im.TitleX = float64(im.Width) / 2
	im.VLabelY = float64(yTitle) + float64(yMain)/2
	switch pos {
	case "north":
		im.LegendX, im.LegendY = 0, float64(yTitle)
		im.Left = xVertical + xyLabel
		yorigin = yTitle + im.legendH + yMain
		im.VLabelY = float64(yTitle+im.legendH+yxLabel) + float64(yMain)/2
	case "west":
		im.LegendX, im.LegendY = 0, float64(yTitle)
		im.Left = im.legendW + xVertical + xyLabel
		yorigin = yTitle + yMain
		im.VLabelX = float64(im.legendW)
	case "south":
		im.LegendX, im.LegendY = 0, float64(yTitle+yMain+yxLabel)
		im.Left = xVertical + xyLabel
		yorigin = yTitle + yMain
	case "east":
		im.LegendX = float64(xVertical + xyLabel + xMain + xVertical2)
		if right {
			im.LegendX += float64(xyLabel)
		}
		im.LegendY = float64(yTitle)
		im.Left = xVertical + xyLabel
		yorigin = yTitle + yMain
		if tag {
			im.LegendX += xSpacing
			im.Left += xSpacing
			im.VLabelX += xSpacing
			im.VLabel2X += xSpacing
		}
	}
	// the right axis' label (rrdtool's xOriginLegendY2)
	im.VLabel2X += float64(xVertical + xyLabel + xMain + 10)
	if right {
		im.VLabel2X += float64(xyLabel)
	}
	if pos == "west" {
		im.VLabel2X += float64(im.legendW)
	}
	im.VLabelX += 10
	im.PlotW, im.PlotH = xsize, ysize
	im.Top = yorigin - ysize
	for i := range im.Legend {
		im.Legend[i].X += im.LegendX
		im.Legend[i].Y += im.LegendY
	}
	im.reverseLegend()
	return nil
}

// reverseLegend applies --legend-direction bottomup and bottomup2.
func (im *Image) reverseLegend() {
	dir := im.look.LegendDirection
	if dir == "" || dir == "topdown" || len(im.Legend) == 0 {
		return
	}
	lo, hi := im.Legend[0].Y, im.Legend[len(im.Legend)-1].Y
	first, last := 0, len(im.Legend)-1
	if dir == "bottomup2" {
		first, last = -1, -1
		for i, t := range im.Legend {
			if im.spec.Items[t.Item].Type != ItemComment {
				if first < 0 {
					first = i
				}
				last = i
			}
		}
		if first < 0 {
			return
		}
		lo, hi = im.Legend[first].Y, im.Legend[last].Y
	}
	for i := range im.Legend {
		if i >= first && i <= last {
			im.Legend[i].Y = hi + lo - im.Legend[i].Y
		}
	}
}

// legPlace is rrdtool's leg_place: legend texts are filled into lines as
// wide as the image (or, beside the plot, measured first), ending a line
// at \l \r \c \j (\n is \l), keeping \g pieces glued, \s adding a short
// line; a line that overflows is broken before its last piece. Positions
// are relative to the legend origin, Y the text's bottom.
func (im *Image) legPlace(texts []legendSource, calcWidth bool) error {
	if im.spec.NoLegend || im.spec.OnlyGraph {
		return nil
	}
	size := im.look.fontSize("LEGEND")
	interleg := int(size * 2)
	border := int(size * 2)
	lineH := textHeight(size)
	var legendwidth float64
	if !calcWidth {
		legendwidth = float64(im.legendW - 2*border)
	}
	type piece struct {
		src   legendSource
		text  string
		space int
		fn    byte
	}
	// Legends of rules outside the range are hidden (limits as given: the
	// range is not known yet when rrdtool places the legend).
	lower, upper := math.NaN(), math.NaN()
	if im.spec.Lower != nil {
		lower = *im.spec.Lower
	}
	if im.spec.Upper != nil {
		upper = *im.spec.Upper
	}
	var placed []LegendText
	fill, legC, mark := 0, 0, 0
	legY := 0
	align := byte('j')
	pieces := make([]piece, len(texts))
	texts = append([]legendSource(nil), texts...) // stripped in place, as rrdtool does
	lineNo := 0
	for i := 0; i < len(texts); i++ {
		t := texts[i]
		fillLast := fill
		if t.kind == ItemAlign {
			align = map[string]byte{"left": 'l', "right": 'r', "center": 'c', "justified": 'j'}[im.spec.Items[t.item].Align]
		}
		text := t.text
		if !im.look.ForceRules {
			it := im.spec.Items[t.item]
			pos := im.rulePos[t.item]
			if it.Type == ItemHRule && (pos < lower || pos > upper) {
				text = ""
			}
			if it.Type == ItemVRule && (pos < float64(im.Start) || pos > float64(im.End)) {
				text = ""
			}
		}
		text = strings.ReplaceAll(text, `\t`, "\t")
		var fn byte
		if n := len(text); n >= 2 && text[n-2] == '\\' {
			fn = text[n-1]
			text = text[:n-2]
		}
		switch fn {
		case 'l', 'n', 'r', 'j', 'c', 'u', '.', 's', 0, 'g':
		default:
			return fmt.Errorf("unknown control code at the end of '%s\\%c'", text, fn)
		}
		if fn == 'n' {
			fn = 'l'
		}
		if fn == '.' {
			fn = 0
		}
		if fn == 'g' {
			text = strings.TrimRight(text, " ")
		}
		if !calcWidth {
			texts[i].text = text
		}
		p := piece{src: t, text: text}
		if text != "" {
			if fn != 'g' {
				p.space = interleg
			}
			if fill > 0 {
				fill += p.space
			}
			fill += im.textWidth("LEGEND", text)
			legC++
		}
		if fn == 'g' {
			fn = 0
		}
		pieces[i] = p
		if fn == 0 {
			if calcWidth && float64(fill) > legendwidth {
				legendwidth = float64(fill)
			}
			if i == len(texts)-1 || float64(fill) > legendwidth {
				fn = align
			}
			if float64(fill) > legendwidth && legC > 1 {
				i--
				fill = fillLast
				legC--
			}
			if legC == 1 && fn == 'j' {
				fn = 'l'
			}
		}
		if fn != 0 {
			legX := float64(border)
			glue := 0.0
			if legC >= 2 && fn == 'j' {
				glue = (legendwidth - float64(fill)) / float64(legC-1)
			}
			if fn == 'c' {
				legX = float64(border) + (legendwidth-float64(fill))/2
			}
			if fn == 'r' {
				legX = legendwidth - float64(fill) + float64(border)
			}
			ii := mark
			for ; ii <= i; ii++ {
				q := pieces[ii]
				if q.text == "" {
					continue
				}
				w := im.textWidth("LEGEND", q.text)
				placed = append(placed, LegendText{Item: q.src.item, Text: q.text, Color: q.src.color,
					Line: lineNo, X: legX, Y: float64(legY + border), W: w, H: lineH})
				legX += float64(w) + float64(q.space) + glue
			}
			if legX > float64(border) || fn == 's' {
				legY = int(float64(legY) + size*1.8)
				lineNo++
			}
			if fn == 's' {
				legY = int(float64(legY) - size)
			}
			if fn == 'u' {
				legY = int(float64(legY) - size*1.8)
			}
			if calcWidth && float64(fill) > legendwidth {
				legendwidth = float64(fill)
			}
			fill, legC, mark = 0, 0, ii
		}
	}
	if calcWidth {
		im.legendW = int(legendwidth + float64(2*border))
		return nil
	}
	im.legendH = int(float64(legY) + float64(border)*0.6)
	im.Legend = placed
	return nil
}
