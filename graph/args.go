package graph

import (
	"fmt"
	"sort"
	"strconv"
)

// Args formats the spec as `rrdtool graph` arguments (without the output
// file): ParseArgs(Args()) gives the spec back.
func (s *Spec) Args() []string {
	var a []string
	add := func(k, v string) {
		if v != "" {
			a = append(a, k, v)
		}
	}
	ftoa := func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
	add("--start", s.Start)
	add("--end", s.End)
	add("--title", s.Title)
	add("--vertical-label", s.VLabel)
	if s.Width > 0 {
		add("--width", strconv.Itoa(s.Width))
	}
	if s.Height > 0 {
		add("--height", strconv.Itoa(s.Height))
	}
	if s.Lower != nil {
		add("--lower-limit", ftoa(*s.Lower))
	}
	if s.Upper != nil {
		add("--upper-limit", ftoa(*s.Upper))
	}
	if s.Step > 0 {
		add("--step", strconv.FormatInt(s.Step, 10))
	}
	a = append(a, s.Look.args()...)
	for _, d := range s.Defs {
		switch d.Kind {
		case KindDEF:
			e := fmt.Sprintf("DEF:%s=%s:%s:%s", d.Name, escapeField(d.Series), escapeField(d.DS), d.CF)
			if d.Step > 0 {
				e += fmt.Sprintf(":step=%d", d.Step)
			}
			if d.Start != "" {
				e += ":start=" + escapeField(d.Start)
			}
			if d.End != "" {
				e += ":end=" + escapeField(d.End)
			}
			if d.Reduce != "" {
				e += ":reduce=" + d.Reduce
			}
			a = append(a, e)
		case KindSHIFT:
			a = append(a, "SHIFT:"+d.Name+":"+d.Expr)
		default:
			a = append(a, d.Kind+":"+d.Name+"="+d.Expr)
		}
	}
	for _, it := range s.Items {
		switch it.Type {
		case ItemGPrint, ItemPrint:
			e := it.Type + ":" + it.Vname + ":" + escapeField(it.Format)
			switch {
			case it.Strftime:
				e += ":strftime"
			case it.VFormatter == "timestamp":
				e += ":valstrftime"
			case it.VFormatter == "duration":
				e += ":valstrfduration"
			}
			a = append(a, e)
		case ItemComment:
			a = append(a, "COMMENT:"+escapeField(it.Legend))
		case ItemAlign:
			a = append(a, "TEXTALIGN:"+it.Align)
		case ItemTick:
			a = append(a, "TICK:"+it.Vname+it.Color+":"+ftoa(it.Fraction)+":"+escapeField(it.Legend))
		default:
			kw := it.Type
			if it.Type == ItemLine {
				kw += ftoa(it.Width)
			}
			pos := it.Vname
			if pos == "" {
				pos = ftoa(it.Value)
			}
			e := kw + ":" + pos + it.Color + it.Color2 + ":" + escapeField(it.Legend)
			if it.Stack {
				e += ":STACK"
			}
			if it.Skipscale {
				e += ":skipscale"
			}
			if it.Dashes {
				e += ":dashes"
				for k, d := range it.DashPattern {
					e += map[bool]string{true: "=", false: ","}[k == 0] + ftoa(d)
				}
			}
			if it.DashOffset != 0 {
				e += ":dash-offset=" + ftoa(it.DashOffset)
			}
			if it.GradHeight != nil {
				e += ":gradheight=" + ftoa(*it.GradHeight)
			}
			a = append(a, e)
		}
	}
	return a
}

// args formats the presentation options as rrdtool graph options.
func (l *Look) args() []string {
	var a []string
	flag := func(on bool, name string) {
		if on {
			a = append(a, name)
		}
	}
	flag(l.Rigid, "--rigid")
	flag(l.AllowShrink, "--allow-shrink")
	flag(l.AltAutoscale, "--alt-autoscale")
	flag(l.AltAutoscaleMin, "--alt-autoscale-min")
	flag(l.AltAutoscaleMax, "--alt-autoscale-max")
	flag(l.Logarithmic, "--logarithmic")
	flag(l.NoLegend, "--no-legend")
	flag(l.OnlyGraph, "--only-graph")
	flag(l.FullSize, "--full-size-mode")
	flag(l.NoTag, "--disable-rrdtool-tag")
	flag(l.ForceRules, "--force-rules-legend")
	flag(l.SlopeMode, "--slope-mode")
	flag(l.NoGridFit, "--no-gridfit")
	flag(l.NoMinor, "--no-minor")
	flag(l.Interlaced, "--interlaced")
	flag(l.PangoMarkup, "--pango-markup")
	flag(l.NaNForMissing, "--use-nan-for-all-missing-data")
	flag(l.Lazy, "--lazy")
	flag(l.DynamicLabels, "--dynamic-labels")
	flag(l.AltYGrid, "--alt-y-grid")
	val := func(name, v string) {
		if v != "" {
			a = append(a, name, v)
		}
	}
	if l.Base != 0 {
		val("--base", strconv.Itoa(l.Base))
	}
	if l.UnitsExponent != nil {
		val("--units-exponent", strconv.Itoa(*l.UnitsExponent))
	}
	if l.UnitsLength != 0 {
		val("--units-length", strconv.Itoa(l.UnitsLength))
	}
	if l.UnitsSI {
		val("--units", "si")
	}
	val("--legend-position", l.LegendPosition)
	val("--legend-direction", l.LegendDirection)
	if l.TabWidth != 0 {
		val("--tabwidth", strconv.FormatFloat(l.TabWidth, 'g', -1, 64))
	}
	val("--watermark", l.Watermark)
	val("--imginfo", l.ImgInfo)
	val("--week-fmt", l.WeekFmt)
	val("--left-axis-format", l.AxisFormat)
	val("--left-axis-formatter", l.LeftAxisFormatter)
	val("--right-axis", l.RightAxis)
	val("--right-axis-label", l.RightAxisLabel)
	val("--right-axis-format", l.RightAxisFormat)
	val("--right-axis-formatter", l.RightAxisFormatter)
	val("--x-grid", l.XGrid)
	val("--y-grid", l.YGrid)
	if l.Border != nil {
		val("--border", strconv.Itoa(*l.Border))
	}
	for _, k := range sortedKeys(l.Colors) {
		val("--color", k+l.Colors[k])
	}
	for _, k := range sortedKeys(l.FontSizes) {
		val("--font", k+":"+strconv.FormatFloat(l.FontSizes[k], 'g', -1, 64))
	}
	if len(l.GridDash) == 2 {
		val("--grid-dash", strconv.FormatFloat(l.GridDash[0], 'g', -1, 64)+":"+strconv.FormatFloat(l.GridDash[1], 'g', -1, 64))
	}
	val("--imgformat", l.Format)
	return a
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
