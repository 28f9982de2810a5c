package graph

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"strconv"
	"strings"
)

// Look is what rrdtool graph's presentation options set. Zero values are
// rrdtool's defaults, so a saved spec without them draws as before.
type Look struct {
	Rigid           bool `json:"rigid,omitempty"`
	AllowShrink     bool `json:"allow_shrink,omitempty"`
	AltAutoscale    bool `json:"alt_autoscale,omitempty"`
	AltAutoscaleMin bool `json:"alt_autoscale_min,omitempty"`
	AltAutoscaleMax bool `json:"alt_autoscale_max,omitempty"`
	Logarithmic     bool `json:"logarithmic,omitempty"`
	AltYGrid        bool `json:"alt_y_grid,omitempty"`
	NoLegend        bool `json:"no_legend,omitempty"`
	OnlyGraph       bool `json:"only_graph,omitempty"`
	FullSize        bool `json:"full_size_mode,omitempty"`
	NoTag           bool `json:"disable_rrdtool_tag,omitempty"`
	ForceRules      bool `json:"force_rules_legend,omitempty"`
	SlopeMode       bool `json:"slope_mode,omitempty"`
	NoGridFit       bool `json:"no_gridfit,omitempty"`
	NoMinor         bool `json:"no_minor,omitempty"`
	DynamicLabels   bool `json:"dynamic_labels,omitempty"`
	PangoMarkup     bool `json:"pango_markup,omitempty"`
	NaNForMissing   bool `json:"nan_for_missing,omitempty"`
	// Interlaced writes PNGs with Adam7 interlacing (--interlaced).
	Interlaced bool `json:"interlaced,omitempty"`
	// Lazy (--lazy) keeps an image file written less than a pixel's time
	// ago (the command line's business: Image.Lazy).
	Lazy bool `json:"lazy,omitempty"`
	// ImgInfo is --imginfo: a line printed after the image with its file
	// name, width and height (%s, %lu, %lu).
	ImgInfo string `json:"imginfo_format,omitempty"`
	// Base is 1000 (0) or 1024.
	Base int `json:"base,omitempty"`
	// UnitsExponent fixes the y axis' SI prefix (−18…18 in steps of 3).
	UnitsExponent *int `json:"units_exponent,omitempty"`
	// UnitsLength is the y labels' width in characters (0: 6).
	UnitsLength int  `json:"units_length,omitempty"`
	UnitsSI     bool `json:"units_si,omitempty"`
	// LegendPosition is north, south (""), west or east; LegendDirection
	// topdown (""), bottomup or bottomup2.
	LegendPosition  string  `json:"legend_position,omitempty"`
	LegendDirection string  `json:"legend_direction,omitempty"`
	TabWidth        float64 `json:"tabwidth,omitempty"`
	Watermark       string  `json:"watermark,omitempty"`
	// XGrid and YGrid are rrdtool's --x-grid and --y-grid ("none" hides it).
	XGrid string `json:"x_grid,omitempty"`
	YGrid string `json:"y_grid,omitempty"`
	// Border is the 3D border's width (nil: 2).
	Border *int `json:"border,omitempty"`
	// Colors by rrdtool tag (BACK, CANVAS, SHADEA, SHADEB, GRID, MGRID,
	// FONT, AXIS, FRAME, ARROW): #rrggbb[aa].
	Colors map[string]string `json:"colors,omitempty"`
	// FontSizes by rrdtool font tag (DEFAULT, TITLE, AXIS, UNIT, LEGEND,
	// WATERMARK), in points.
	FontSizes map[string]float64 `json:"font_sizes,omitempty"`
	// GridDash is --grid-dash on:off (nil: 1:1).
	GridDash []float64 `json:"grid_dash,omitempty"`
	// AxisFormat is --left-axis-format: the y labels' printf format (one
	// %lf, %le or %lg).
	AxisFormat string `json:"left_axis_format,omitempty"`
	// RightAxis is --right-axis scale:shift: a second y axis on the right
	// labelled value·scale+shift; RightAxisLabel its vertical label,
	// RightAxisFormat its label format and RightAxisFormatter numeric
	// (""), timestamp or duration. LeftAxisFormatter is the left axis'.
	RightAxis          string `json:"right_axis,omitempty"`
	RightAxisLabel     string `json:"right_axis_label,omitempty"`
	RightAxisFormat    string `json:"right_axis_format,omitempty"`
	RightAxisFormatter string `json:"right_axis_formatter,omitempty"`
	LeftAxisFormatter  string `json:"left_axis_formatter,omitempty"`
	// WeekFmt is --week-fmt: the x labels' strftime format where they
	// label weeks (default "Week %V").
	WeekFmt string `json:"week_fmt,omitempty"`
	// Format is the image format: PNG (""), SVG or PDF.
	Format string `json:"imgformat,omitempty"`
}

var colorTags = map[string]bool{"BACK": true, "CANVAS": true, "SHADEA": true, "SHADEB": true, "GRID": true,
	"MGRID": true, "FONT": true, "AXIS": true, "FRAME": true, "ARROW": true}

var fontTags = map[string]bool{"DEFAULT": true, "TITLE": true, "AXIS": true, "UNIT": true, "LEGEND": true, "WATERMARK": true}

func (l Look) clone() Look {
	c := l
	if l.UnitsExponent != nil {
		v := *l.UnitsExponent
		c.UnitsExponent = &v
	}
	if l.Border != nil {
		v := *l.Border
		c.Border = &v
	}
	c.Colors = maps.Clone(l.Colors)
	c.FontSizes = maps.Clone(l.FontSizes)
	c.GridDash = append([]float64(nil), l.GridDash...)
	return c
}

func (l *Look) validate() error {
	if l.Base != 0 && l.Base != 1000 && l.Base != 1024 {
		return fmt.Errorf("base %d: want 1000 or 1024", l.Base)
	}
	if l.UnitsExponent != nil && (*l.UnitsExponent < -18 || *l.UnitsExponent > 18 || *l.UnitsExponent%3 != 0) {
		return fmt.Errorf("units exponent %d: want a multiple of 3 from -18 to 18", *l.UnitsExponent)
	}
	if l.UnitsLength < 0 || l.UnitsLength > 100 {
		return fmt.Errorf("units length %d out of range", l.UnitsLength)
	}
	switch l.LegendPosition {
	case "", "north", "south", "west", "east":
	default:
		return fmt.Errorf("legend position %q: want north, south, west or east", l.LegendPosition)
	}
	switch l.LegendDirection {
	case "", "topdown", "bottomup", "bottomup2":
	default:
		return fmt.Errorf("legend direction %q: want topdown, bottomup or bottomup2", l.LegendDirection)
	}
	if l.TabWidth < 0 || l.TabWidth > 1000 || math.IsNaN(l.TabWidth) {
		return fmt.Errorf("tab width %v out of range", l.TabWidth)
	}
	if len(l.Watermark) > maxText {
		return fmt.Errorf("watermark longer than %d bytes", maxText)
	}
	if l.Border != nil && (*l.Border < 0 || *l.Border > 100) {
		return fmt.Errorf("border %d out of range", *l.Border)
	}
	for k, v := range l.Colors {
		if !colorTags[k] {
			return fmt.Errorf("color tag %q: want one of BACK CANVAS SHADEA SHADEB GRID MGRID FONT AXIS FRAME ARROW", k)
		}
		if !validColor(v) {
			return fmt.Errorf("color %s %q: want #rrggbb or #rrggbbaa", k, v)
		}
	}
	for k, v := range l.FontSizes {
		if !fontTags[k] {
			return fmt.Errorf("font tag %q: want DEFAULT, TITLE, AXIS, UNIT, LEGEND or WATERMARK", k)
		}
		if !(v > 0 && v <= 100) {
			return fmt.Errorf("font size %v of %s out of range", v, k)
		}
	}
	if l.GridDash != nil && (len(l.GridDash) != 2 || l.GridDash[0] < 0 || l.GridDash[1] < 0) {
		return fmt.Errorf("grid dash %v: want on:off", l.GridDash)
	}
	switch strings.ToUpper(l.Format) {
	case "", "PNG", "SVG", "PDF":
	default:
		return fmt.Errorf("image format %q: want PNG, SVG or PDF", l.Format)
	}
	for _, f := range []struct{ name, formatter, format string }{
		{"left", l.LeftAxisFormatter, l.AxisFormat}, {"right", l.RightAxisFormatter, l.RightAxisFormat}} {
		switch f.formatter {
		case "", "numeric", "timestamp", "duration":
		default:
			return fmt.Errorf("%s axis formatter %q: want numeric, timestamp or duration", f.name, f.formatter)
		}
		if f.format == "" {
			continue
		}
		switch f.formatter {
		case "", "numeric":
			// rrdtool's bad_format_axis
			if pf, err := parsePrintFormat(f.format); err != nil || pf.si != 0 {
				return fmt.Errorf("%s axis format %q: want text and one %%lf, %%le or %%lg", f.name, f.format)
			}
		case "timestamp":
			if _, err := strftimeCheck(f.format); err != nil {
				return fmt.Errorf("%s axis format: %w", f.name, err)
			}
		case "duration":
			if _, err := strfduration(f.format, 0); err != nil {
				return fmt.Errorf("%s axis format: %w", f.name, err)
			}
		}
	}
	if l.RightAxis != "" {
		if _, _, err := parseRightAxis(l.RightAxis); err != nil {
			return err
		}
	}
	if l.ImgInfo != "" {
		if err := checkImgInfo(l.ImgInfo); err != nil {
			return err
		}
	}
	if l.WeekFmt != "" {
		if _, err := strftimeCheck(l.WeekFmt); err != nil {
			return fmt.Errorf("week format: %w", err)
		}
	}
	if l.XGrid != "" && l.XGrid != "none" {
		if _, err := parseXGrid(l.XGrid); err != nil {
			return err
		}
	}
	if l.YGrid != "" && l.YGrid != "none" {
		if _, _, err := parseYGrid(l.YGrid); err != nil {
			return err
		}
	}
	return nil
}

// base is the unit base, 1000 or 1024.
func (l *Look) base() float64 {
	if l.Base == 1024 {
		return 1024
	}
	return 1000
}

// fontSize is the size in points of a text class: --font's (the parser
// spreads DEFAULT over every class, as rrdtool does), else rrdtool's.
func (l *Look) fontSize(class string) float64 {
	if v, ok := l.FontSizes[class]; ok {
		return v
	}
	switch class {
	case "TITLE":
		return 9
	case "AXIS":
		return 7
	case "WATERMARK":
		return 5.5 // rrd_graph.c's text_prop
	}
	return 8
}

// parseRightAxis reads --right-axis scale:shift as rrdtool: numbers of
// [0-9.e+-] only, the scale not 0.
func parseRightAxis(v string) (scale, shift float64, err error) {
	a, b, ok := strings.Cut(v, ":")
	num := func(s string) (float64, bool) {
		if s == "" || len(s) > 40 || strings.Trim(s, "0123456789.e+-") != "" {
			return 0, false
		}
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil
	}
	scale, ok1 := num(a)
	shift, ok2 := num(b)
	if !ok || !ok1 || !ok2 {
		return 0, 0, fmt.Errorf("invalid right-axis format %q: expected scale:shift", v)
	}
	if scale == 0 {
		return 0, 0, errors.New("the right axis scale must not be 0")
	}
	return scale, shift, nil
}
