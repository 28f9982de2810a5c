package graphite

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"rrdash/graph"
	"rrdash/rpn"
)

// Style is what graphite-web's graph-style functions (color, lineWidth,
// alpha) set on a series: it shows only in drawn images.
type Style struct {
	Color     string  // graphite-web's color: an alias or hex, as given
	LineWidth float64 // 0: the request's lineWidth
	Alpha     float64 // 0: opaque
	// Draw is how graphite-web's functions ask a series drawn: ""
	// (a line), "infinite" (verticalLine), "stacked" or "invisible"
	// (stacked, areaBetween).
	Draw string
}

// graphiteColors are graphite-web 1.1.8's color aliases (glyph.py).
var graphiteColors = map[string][3]uint8{
	"black": {0, 0, 0}, "white": {255, 255, 255}, "blue": {100, 100, 255}, "green": {0, 200, 0},
	"red": {200, 0, 50}, "yellow": {255, 255, 0}, "orange": {255, 165, 0}, "purple": {200, 100, 255},
	"brown": {150, 100, 50}, "cyan": {0, 255, 255}, "aqua": {0, 150, 150}, "gray": {175, 175, 175},
	"grey": {175, 175, 175}, "magenta": {255, 0, 255}, "pink": {255, 100, 100}, "gold": {200, 200, 0},
	"rose": {200, 150, 200}, "darkblue": {0, 0, 255}, "darkgreen": {0, 255, 0}, "darkred": {255, 0, 0},
	"darkgray": {111, 111, 111}, "darkgrey": {111, 111, 111},
}

// graphite-web's defaults without a graphTemplates.conf (as Debian ships it).
const (
	defaultImageWidth  = 330
	defaultImageHeight = 250
	defaultColorList   = "blue,green,red,purple,brown,yellow,aqua,grey,magenta,pink,gold,rose"
	defaultLineWidth   = 1.2
)

// unsupportedImageParams are graphite-web's LineGraph options that rrdash's
// images do not draw: refused by name rather than ignored.
var unsupportedImageParams = []string{"margin", "fontName", "fontBold", "fontItalic", "yAxisSide", "hideAxes",
	"yLimit", "yStep", "pieMode", "yMinLeft", "yMinRight", "yMaxLeft", "yMaxRight", "yLimitLeft", "yLimitRight",
	"yStepLeft", "yStepRight", "rightWidth", "rightColor", "rightDashed", "leftWidth", "leftColor", "leftDashed",
	"xFormat", "minorY", "hideYAxis", "vtitleRight", "yDivisors", "connectedLimit", "hideXAxis", "valueLabels",
	"valueLabelsMin", "valueLabelsColor", "pieLabels"}

// parseGraphiteColor turns graphite-web's color (an alias, or RRGGBB[AA]
// hex with or without #) into rrdtool's #rrggbbaa; alpha (0 < a < 1)
// replaces the color's own.
func parseGraphiteColor(c string, alpha float64) (string, error) {
	var rgb [3]uint8
	a := uint8(255)
	if v, ok := graphiteColors[c]; ok {
		rgb = v
	} else {
		h := strings.TrimPrefix(c, "#")
		if len(h) != 6 && len(h) != 8 {
			return "", fmt.Errorf("color %q: want one of graphite's names or RRGGBB[AA] hex", c)
		}
		n, err := strconv.ParseUint(h, 16, 32)
		if err != nil {
			return "", fmt.Errorf("color %q: want one of graphite's names or RRGGBB[AA] hex", c)
		}
		if len(h) == 8 {
			a = uint8(n)
			n >>= 8
		}
		rgb = [3]uint8{uint8(n >> 16), uint8(n >> 8), uint8(n)}
	}
	if alpha > 0 && alpha < 1 {
		a = uint8(math.Round(alpha * 255))
	}
	return fmt.Sprintf("#%02x%02x%02x%02x", rgb[0], rgb[1], rgb[2], a), nil
}

// imageRequest is a /render image's options, read from graphite-web's
// parameters.
type imageRequest struct {
	format            string // PNG, SVG, PDF
	width, height     int
	spec              graph.Spec
	colors            []string
	lineWidth         float64
	areaMode          string
	areaAlpha         float64
	nullAsZero        bool
	minXStep          float64
	uniqueLegend      bool
	hideNullInLegend  bool
	hideLegendEntries bool
}

func parseImageRequest(p params, format string) (*imageRequest, error) {
	for _, k := range unsupportedImageParams {
		if p.has(k) {
			return nil, bad("%s: rrdash's Graphite images do not support this option", k)
		}
	}
	ir := &imageRequest{format: strings.ToUpper(orDefault(format, "png")), width: defaultImageWidth, height: defaultImageHeight,
		lineWidth: defaultLineWidth, areaMode: "none", minXStep: 1}
	num := func(k string) (float64, bool, error) {
		if !p.has(k) {
			return 0, false, nil
		}
		v, err := strconv.ParseFloat(p.get(k), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, false, bad("%s %q: want a number", k, p.get(k))
		}
		return v, true, nil
	}
	size := func(k string, dst *int) error {
		v, ok, err := num(k)
		if err != nil || !ok {
			return err
		}
		if v < 1 || v > 1<<14 {
			return bad("%s %q: want 1 to %d pixels", k, p.get(k), 1<<14)
		}
		*dst = int(v)
		return nil
	}
	if err := size("width", &ir.width); err != nil {
		return nil, err
	}
	if err := size("height", &ir.height); err != nil {
		return nil, err
	}
	truth := func(k string) bool {
		v := strings.ToLower(p.get(k))
		return p.has(k) && v != "false" && v != "0" && v != ""
	}
	s := &ir.spec
	s.Title, s.VLabel = p.get("title"), p.get("vtitle")
	s.FullSize = true // graphite's width and height are the image's
	s.NoTag = true
	s.Format = ir.format
	if tmpl := p.get("template"); tmpl != "" && tmpl != "default" {
		return nil, bad("template %q: rrdash knows only graphite's default template", tmpl)
	}
	bg, fg, major, minor := "white", "black", "rose", "grey"
	for k, dst := range map[string]*string{"bgcolor": &bg, "fgcolor": &fg, "majorGridLineColor": &major, "minorGridLineColor": &minor} {
		if p.has(k) {
			*dst = p.get(k)
		}
	}
	s.Colors = map[string]string{}
	for tag, c := range map[string]string{"BACK": bg, "CANVAS": bg, "SHADEA": bg, "SHADEB": bg, "FONT": fg, "AXIS": fg,
		"FRAME": fg, "ARROW": fg, "MGRID": major, "GRID": minor} {
		hex, err := parseGraphiteColor(c, 0)
		if err != nil {
			return nil, bad("%v", err)
		}
		s.Colors[tag] = hex
	}
	border := 0
	s.Border = &border
	list := defaultColorList
	if p.has("colorList") {
		list = p.get("colorList")
	}
	for _, c := range strings.Split(list, ",") {
		if _, err := parseGraphiteColor(strings.TrimSpace(c), 0); err != nil {
			return nil, bad("colorList: %v", err)
		}
		ir.colors = append(ir.colors, strings.TrimSpace(c))
	}
	lw := "lineWidth"
	if !p.has(lw) {
		lw = "thickness"
	}
	if v, ok, err := num(lw); err != nil {
		return nil, err
	} else if ok {
		if v <= 0 {
			return nil, bad("%s %q: want a positive width", lw, p.get(lw))
		}
		ir.lineWidth = v
	}
	limit := func(keys ...string) (*float64, error) {
		for _, k := range keys {
			if v, ok, err := num(k); err != nil || ok {
				return &v, err
			}
		}
		return nil, nil
	}
	var err error
	if s.Lower, err = limit("yMin", "min"); err != nil {
		return nil, err
	}
	if s.Upper, err = limit("yMax", "max"); err != nil {
		return nil, err
	}
	s.Rigid = s.Lower != nil || s.Upper != nil
	switch m := orDefault(p.get("areaMode"), "none"); m {
	case "none", "first", "all", "stacked":
		ir.areaMode = m
	default:
		return nil, bad("areaMode %q: want none, first, all or stacked", m)
	}
	if v, ok, err := num("areaAlpha"); err != nil {
		return nil, err
	} else if ok {
		if v <= 0 || v > 1 {
			return nil, bad("areaAlpha %q: want a number in (0, 1]", p.get("areaAlpha"))
		}
		ir.areaAlpha = v
	}
	switch m := orDefault(p.get("lineMode"), "slope"); m {
	case "slope":
		s.SlopeMode = true
	case "staircase":
	default:
		return nil, bad("lineMode %q: want slope or staircase (connected is not supported)", m)
	}
	switch u := strings.ToLower(orDefault(p.get("yUnitSystem"), "si")); u {
	case "si":
	case "binary":
		s.Base = 1024
	case "none":
		zero := 0
		s.UnitsExponent = &zero
	default:
		return nil, bad("yUnitSystem %q: want si, binary or none", u)
	}
	if lb := p.get("logBase"); lb != "" {
		if lb != "10" {
			return nil, bad("logBase %q: rrdash draws only base-10 logarithmic axes", lb)
		}
		s.Logarithmic = true
	}
	if v, ok, err := num("fontSize"); err != nil {
		return nil, err
	} else if ok {
		if v <= 0 || v > 72 {
			return nil, bad("fontSize %q: want 1 to 72 points", p.get("fontSize"))
		}
		s.FontSizes = map[string]float64{"DEFAULT": v}
	}
	if v, ok, err := num("minXStep"); err != nil {
		return nil, err
	} else if ok {
		if v <= 0 {
			return nil, bad("minXStep %q: want a positive number of pixels", p.get("minXStep"))
		}
		ir.minXStep = v
	}
	if truth("graphOnly") {
		s.OnlyGraph = true
	}
	if truth("hideGrid") {
		s.XGrid, s.YGrid = "none", "none"
	}
	ir.hideLegendEntries = truth("hideLegend")
	ir.nullAsZero = truth("drawNullAsZero")
	ir.uniqueLegend = truth("uniqueLegend")
	ir.hideNullInLegend = truth("hideNullFromLegend")
	return ir, nil
}

// drawImage draws evaluated series as graphite-web's line graph does, with
// rrdash's graph layout engine (rrdtool's look): one LINE per series, areas
// by areaMode, colors from colorList or color(), the legend of series names.
func drawImage(ir *imageRequest, data []*Series, from, until int64, loc *time.Location) ([]byte, string, error) {
	im, err := layoutImage(ir, data, from, until, loc)
	if err != nil {
		return nil, "", err
	}
	// graphite-web consolidates to the plot's width, known once laid out.
	if consolidateForImage(data, im.PlotW, ir.minXStep) {
		if im, err = layoutImage(ir, data, from, until, loc); err != nil {
			return nil, "", err
		}
	}
	switch ir.format {
	case "SVG":
		return im.SVG(loc), "image/svg+xml", nil
	case "PDF":
		b, err := im.PDF(loc)
		return b, "application/pdf", err
	default:
		b, err := im.PNG(loc)
		return b, "image/png", err
	}
}

func layoutImage(ir *imageRequest, data []*Series, from, until int64, loc *time.Location) (*graph.Image, error) {
	spec := ir.spec
	spec.Items = nil
	// Layout draws from Raw, each series on its own start and step.
	d := &graph.Data{Start: from, End: until, From: from, To: until, Step: 1, Raw: map[string]*rpn.Series{}}
	seen := map[string]bool{}
	for i, s := range data {
		vn := "s" + strconv.Itoa(i)
		vals := s.points()
		if ir.nullAsZero {
			vals = append([]float64(nil), vals...)
			for j, v := range vals {
				if math.IsNaN(v) {
					vals[j] = 0
				}
			}
		}
		step := s.Step * int64(max(s.VPP, 1))
		d.Raw[vn] = &rpn.Series{Start: s.Start, Step: step, Values: vals}
		colorName := ir.colors[i%len(ir.colors)]
		if s.Style.Color != "" {
			colorName = s.Style.Color
		}
		col, err := parseGraphiteColor(colorName, s.Style.Alpha)
		if err != nil {
			return nil, bad("color(%s): %v", s.Name, err)
		}
		legend := s.Name
		allNull := true
		for _, v := range vals {
			if !math.IsNaN(v) {
				allNull = false
				break
			}
		}
		if ir.hideLegendEntries || ir.hideNullInLegend && allNull || ir.uniqueLegend && seen[legend] {
			legend = ""
		}
		seen[s.Name] = true
		if _, ok := s.Tags["secondYAxis"]; ok {
			return nil, bad("secondYAxis(%s): rrdash's Graphite images have one y axis", s.Name)
		}
		if s.Style.Draw == "stacked" || s.Style.Draw == "invisible" {
			return nil, bad("%s: rrdash's Graphite images do not draw graphite-web's stacked or invisible series (stacked, areaBetween, holtWintersConfidenceArea); use areaMode=stacked or format=json", s.Name)
		}
		if _, ok := s.Tags["drawAsInfinite"]; ok || s.Style.Draw == "infinite" {
			// A vertical line across the plot where the value is not zero.
			spec.Items = append(spec.Items, graph.Item{Type: graph.ItemTick, Vname: vn, Color: col, Fraction: 1, Legend: legend})
			continue
		}
		width := ir.lineWidth
		if s.Style.LineWidth > 0 {
			width = s.Style.LineWidth
		}
		it := graph.Item{Type: graph.ItemLine, Vname: vn, Color: col, Width: width, Legend: legend}
		if dl, ok := s.Tags["dashed"]; ok {
			if n, err := strconv.ParseFloat(dl, 64); err == nil && n > 0 {
				it.Dashes, it.DashPattern = true, []float64{n, n}
			}
		}
		area := ir.areaMode == "all" || ir.areaMode == "stacked" || ir.areaMode == "first" && i == 0
		if area {
			it.Type, it.Width = graph.ItemArea, 0
			if ir.areaAlpha > 0 {
				if it.Color, err = parseGraphiteColor(colorName, ir.areaAlpha); err != nil {
					return nil, bad("%v", err)
				}
			}
			it.Stack = ir.areaMode == "stacked" && i > 0
		}
		spec.Items = append(spec.Items, it)
	}
	if len(data) == 0 {
		// graphite-web writes "No Data"; rrdash draws an empty plot with it
		// as the legend.
		spec.Items = append(spec.Items, graph.Item{Type: graph.ItemComment, Legend: "No Data"})
		spec.Items = append(spec.Items, graph.Item{Type: graph.ItemHRule, Value: math.NaN(), Color: "#00000000"})
	}
	spec.Width, spec.Height = ir.width, ir.height
	im, err := graph.Layout(&spec, d, graph.LayoutOptions{Loc: loc})
	if err != nil {
		return nil, fmt.Errorf("render image: %w", err)
	}
	return im, nil
}

// consolidateForImage is graphite-web's LineGraph.consolidateDataPoints:
// a series with more points than the plot has pixels (over minXStep) is
// read several points per pixel by its consolidation function. It says
// whether any series changed.
func consolidateForImage(data []*Series, plotWidth int, minXStep float64) bool {
	if plotWidth < 1 {
		return false
	}
	changed := false
	for _, s := range data {
		if s.Step <= 0 || len(s.Values) == 0 {
			continue
		}
		n := float64(s.End-s.Start) / float64(s.Step)
		if float64(plotWidth)/n >= minXStep {
			continue
		}
		drawable := int(float64(plotWidth) / minXStep)
		if vpp := int(math.Ceil(n / float64(max(drawable, 1)))); vpp > s.VPP {
			s.VPP, changed = vpp, true
		}
	}
	return changed
}
