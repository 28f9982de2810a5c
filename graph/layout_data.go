package graph

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"rrdash/rpn"
)

// dataProc is rrdtool's data_proc: each LINE, AREA and TICK sampled once
// per pixel column at start + i·(end−start)/width (the row of its DEF or
// CDEF holding that time), stacked onto the running sum, and the value
// range of what is drawn, with the user's limits applied.
func (im *Image) dataProc(s *Spec, d *Data) error {
	pixstep := float64(im.End-im.Start) / float64(im.PlotW)
	minval, maxval := math.NaN(), math.NaN()
	var paths []Path
	var kinds []Item
	for i, it := range s.Items {
		switch it.Type {
		case ItemLine, ItemArea, ItemTick:
			paths = append(paths, Path{Item: i, Values: make([]float64, im.PlotW)})
			kinds = append(kinds, it)
		}
	}
	srcs := make([]func(t int64) float64, len(paths))
	for k, it := range kinds {
		if v, ok := d.VDEFs[it.Vname]; ok && it.Type != ItemTick {
			val := v.Value
			srcs[k] = func(int64) float64 { return val }
			continue
		}
		ser, ok := d.Raw[it.Vname]
		if !ok || ser == nil {
			// Data made by hand has only the common grid.
			col, ok := d.Columns[it.Vname]
			if !ok {
				return fmt.Errorf("%s:%s: no data for %q", it.Type, it.Vname, it.Vname)
			}
			ser = &rpn.Series{Start: d.Start, Step: d.Step, Values: col}
		}
		srcs[k] = func(t int64) float64 {
			if t < ser.Start || t >= ser.End() || ser.Step <= 0 {
				return math.NaN()
			}
			return ser.Values[(t-ser.Start)/ser.Step]
		}
	}
	for i := 0; i < im.PlotW; i++ {
		t := int64(uint64(float64(im.Start) + pixstep*float64(i)))
		paint := 0.0
		for k := range paths {
			it := &kinds[k] // not a copy of the whole Item per pixel
			if !it.Stack {
				paint = 0
			}
			v := srcs[k](t)
			if math.IsNaN(v) {
				paths[k].Values[i] = math.NaN()
				continue
			}
			paint += v
			paths[k].Values[i] = paint
			if !math.IsInf(paint, 0) && !math.IsNaN(paint) && it.Type != ItemTick && !it.Skipscale {
				if (math.IsNaN(minval) || paint < minval) && !(s.Logarithmic && paint <= 0) {
					minval = paint
				}
				if math.IsNaN(maxval) || paint > maxval {
					maxval = paint
				}
			}
		}
	}
	im.Paths = paths
	if s.Logarithmic {
		if math.IsNaN(minval) || math.IsNaN(maxval) || maxval <= 0 {
			minval, maxval = 0, 5.1
		}
		if minval <= 0 {
			minval = maxval / 10e8
		}
	} else if math.IsNaN(minval) || math.IsNaN(maxval) {
		minval, maxval = 0, 1
	}
	lo, hi := math.NaN(), math.NaN()
	if s.Lower != nil {
		lo = *s.Lower
	}
	if s.Upper != nil {
		hi = *s.Upper
	}
	logf := func(v, f float64) float64 {
		if s.Logarithmic {
			return v * f
		}
		return v
	}
	if math.IsNaN(lo) || !s.Rigid && lo > minval {
		lo = logf(minval, 0.5)
	}
	if math.IsNaN(hi) || !s.Rigid && hi < maxval {
		hi = logf(maxval, 2)
	}
	if !math.IsNaN(lo) && s.Rigid && s.AllowShrink && lo < minval {
		lo = logf(minval, 0.5)
	}
	if !math.IsNaN(hi) && s.Rigid && s.AllowShrink && hi > maxval {
		hi = logf(maxval, 2)
	}
	if lo > hi {
		if lo > 0 {
			lo = 0.99 * hi
		} else {
			lo = 1.01 * hi
		}
	}
	if almostEqual(lo, hi) {
		if hi > 0 {
			hi *= 1.01
		} else {
			hi *= 0.99
		}
		if almostEqual(hi, 0) {
			hi = 1
		}
	}
	im.Min, im.Max = lo, hi
	return nil
}

// almostEqual is rrdtool's AlmostEqual2sComplement(a, b, 4), which
// compares the values as 32-bit floats, 4 units in the last place apart.
func almostEqual(a, b float64) bool {
	ord := func(f float64) int64 {
		i := int64(int32(math.Float32bits(float32(f))))
		if i < 0 {
			i = 0x80000000 - i
		}
		return i
	}
	diff := ord(a) - ord(b)
	if diff < 0 {
		diff = -diff
	}
	return diff <= 4
}

var siSymbols = "yzafpnum kMGTPEZY"

// siUnit is rrdtool's si_unit: the y axis' magnitude and prefix.
func (im *Image) siUnit() {
	base := im.look.base()
	digits := math.Floor(math.Log(math.Max(math.Abs(im.Min), math.Abs(im.Max))) / math.Log(base))
	view := digits
	if e := im.look.UnitsExponent; e != nil {
		view = float64(*e / 3)
	}
	im.Magfact = math.Pow(base, digits)
	im.ViewFactor = im.Magfact / math.Pow(base, view)
	if k := int(view) + 8; !math.IsInf(view, 0) && k >= 0 && k < len(siSymbols) {
		im.Symbol = siSymbols[k : k+1]
	} else {
		im.Symbol = "?"
	}
}

var sensibleValues = []float64{1000.0, 900.0, 800.0, 750.0, 700.0,
	600.0, 500.0, 400.0, 300.0, 250.0, 200.0, 125.0, 100.0, 90.0, 80.0,
	75.0, 70.0, 60.0, 50.0, 40.0, 30.0, 25.0, 20.0, 10.0, 9.0, 8.0,
	7.0, 6.0, 5.0, 4.0, 3.5, 3.0, 2.5, 2.0, 1.8, 1.5, 1.2, 1.0,
	0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0, -1}

// expandRange is rrdtool's expand_range: the range widened to sensible
// round values (or by --alt-autoscale's rules, or to --y-grid's steps).
func (im *Image) expandRange() {
	l := im.look
	if step, fact, err := parseYGrid(l.YGrid); err == nil && step > 0 {
		g := float64(fact) * step
		im.Min = g * math.Floor(im.Min/g)
		im.Max = g * math.Ceil(im.Max/g)
		return
	}
	switch {
	case l.AltAutoscale:
		delt := im.Max - im.Min
		adj := delt * 0.1
		fact := 2.0 * math.Pow(10, math.Floor(math.Log10(math.Max(math.Abs(im.Min), math.Abs(im.Max))/im.Magfact))-2)
		if delt < fact {
			adj = (fact - delt) * 0.55
		}
		im.Min -= adj
		im.Max += adj
	case l.AltAutoscaleMin:
		im.Min -= (im.Max - im.Min) * 0.1
	case l.AltAutoscaleMax:
		im.Max += (im.Max - im.Min) * 0.1
	default:
		smin, smax := im.Min/im.Magfact, im.Max/im.Magfact
		sv := sensibleValues
		for i := 1; sv[i] > 0; i++ {
			if sv[i-1] >= smin && sv[i] <= smin {
				im.Min = sv[i] * im.Magfact
			}
			if -sv[i-1] <= smin && -sv[i] >= smin {
				im.Min = -sv[i-1] * im.Magfact
			}
			if sv[i-1] >= smax && sv[i] <= smax {
				im.Max = sv[i-1] * im.Magfact
			}
			if -sv[i-1] <= smax && -sv[i] >= smax {
				im.Max = -sv[i] * im.Magfact
			}
		}
	}
}

var ylab = []struct {
	grid float64
	lfac [4]int
}{{0.1, [4]int{1, 2, 5, 10}}, {0.2, [4]int{1, 5, 10, 20}}, {0.5, [4]int{1, 2, 4, 10}},
	{1.0, [4]int{1, 2, 5, 10}}, {2.0, [4]int{1, 5, 10, 20}}, {5.0, [4]int{1, 2, 4, 10}},
	{10.0, [4]int{1, 2, 5, 10}}, {20.0, [4]int{1, 5, 10, 20}}, {50.0, [4]int{1, 2, 4, 10}},
	{100.0, [4]int{1, 2, 5, 10}}, {200.0, [4]int{1, 5, 10, 20}}, {500.0, [4]int{1, 2, 4, 10}}}

// horizontalGrid is rrdtool's calc_horizontal_grid (classic grid): the
// grid step and how many grid lines per label.
func (im *Image) horizontalGrid() {
	im.labFact = 2
	if step, fact, err := parseYGrid(im.look.YGrid); err == nil && step > 0 {
		im.gridStep, im.labFact = step, fact
		return
	}
	scaled := (im.Max - im.Min) / im.Magfact
	if math.IsNaN(scaled) || im.spec.Logarithmic {
		return
	}
	if im.look.AltYGrid {
		im.altYGrid()
		return
	}
	pixel, idx := 1, 0
	for i, y := range ylab {
		pixel = int(float64(im.PlotH) / (scaled / y.grid))
		idx = i
		if pixel >= 5 {
			break
		}
	}
	for _, f := range ylab[idx].lfac {
		if float64(pixel*f) >= 1.8*im.look.fontSize("AXIS") {
			im.labFact = f
			break
		}
	}
	im.gridStep = ylab[idx].grid * im.Magfact
}

// altYGrid is calc_horizontal_grid's --alt-y-grid: a power of ten as the
// step, 5 to 15 lines, labels printed with as many decimals as the step
// needs (altLabel).
func (im *Image) altYGrid() {
	rng := im.Max - im.Min
	vf, mf := im.ViewFactor, im.Magfact
	decimals := int(math.Ceil(math.Log10(math.Max(math.Abs(im.Max), math.Abs(im.Min)) * vf / mf)))
	if decimals <= 0 { // everything is small: room for the zero
		decimals = 1
	}
	step := math.Pow(10, math.Floor(math.Log10(rng*vf/mf))) / vf * mf
	if step == 0 {
		step = 0.1
	}
	if rng/step < 5 && step >= 30 {
		step /= 10
	}
	if rng/step > 15 {
		step *= 10
	}
	if rng/step > 5 {
		im.labFact = 1
		if rng/step > 8 || step < 1.8*im.look.fontSize("AXIS") {
			im.labFact = 2
		}
	} else {
		step /= 5
		im.labFact = 5
	}
	im.gridStep = step
	fractionals := int(math.Floor(math.Log10(step * float64(im.labFact) * vf / mf)))
	if fractionals < 0 { // small amplitude
		im.altLabel = &fmtPart{verb: 'f', wid: decimals - fractionals + 1, prec: -fractionals}
	} else {
		im.altLabel = &fmtPart{verb: 'f', wid: decimals + 1, prec: 0}
	}
}

// YTick is a horizontal grid line: its value, and its label when it has one.
type YTick struct {
	Value float64
	Label string
	Major bool
	// RightLabel is the --right-axis label of a major line, drawn from
	// its left end (leading spaces kept, as rrdtool's "%5.1f %s").
	RightLabel string
}

// YTicks are the horizontal grid lines and labels (draw_horizontal_grid,
// or for --logarithmic a decade grid: a labelled line per power of ten,
// minor lines at 2…9 of it).
func (im *Image) YTicks() []YTick {
	if im.look.YGrid == "none" {
		return nil
	}
	if im.spec.Logarithmic {
		return im.logTicks()
	}
	if im.gridStep <= 0 || math.IsNaN(im.gridStep) {
		return nil
	}
	if (im.Max-im.Min)/im.gridStep > 1000 {
		return nil
	}
	sgrid := int(im.Min/im.gridStep - 1)
	egrid := int(im.Max/im.gridStep + 1)
	scaled := im.gridStep / im.Magfact * im.ViewFactor
	maxY := scaled * float64(egrid)
	var out []YTick
	nlabels := 0
	rightMag, rightSym := 0.0, ""
	for i := sgrid; i <= egrid; i++ {
		// In pixels, as rrdtool: a line that rounds onto the plot's edge
		// row is drawn (a minimum of 0.6 still shows the 0 line).
		v := im.gridStep * float64(i)
		top, bottom := float64(im.Top), float64(im.Top+im.PlotH)
		if y := math.Floor(im.yOf(v) + 0.5); y < top || y > bottom {
			continue
		}
		t := YTick{Value: v}
		yn := im.yOf(im.gridStep * float64(i+1))
		if i%im.labFact == 0 || nlabels == 1 && (yn < top || yn > bottom) {
			if f := im.look.LeftAxisFormatter; f == "timestamp" || f == "duration" {
				t.Label = im.timeAxisLabel(f, im.look.AxisFormat, v)
			} else if pf, err := parsePrintFormat(im.look.AxisFormat); err == nil {
				// rrdtool prints a user's format without the SI symbol
				t.Label = strings.TrimSpace(pf.format(scaled*float64(i), ""))
			} else {
				p := fmtPart{verb: 'f', wid: 4, prec: 0}
				if maxY < 10 {
					p.prec = 1
				}
				if im.altLabel != nil {
					p = *im.altLabel
				}
				t.Label = strings.TrimSpace(cFloat(scaled*float64(i), p))
				if im.Symbol != " " && i != 0 {
					t.Label += " " + im.Symbol
				}
			}
			t.Major = true
			nlabels++
			if im.look.RightAxis != "" {
				t.RightLabel = im.rightLabel(v, float64(sgrid+egrid)/2*im.gridStep, maxY, &rightMag, &rightSym)
			}
		}
		out = append(out, t)
	}
	return out
}

// rightLabel is the --right-axis label of grid value v (rrdtool's
// draw_horizontal_grid): v·scale+shift, by default scaled by the SI
// prefix of the grid's middle value (mid), "%5.1f %s" when the left
// labels are below 10, else "%5.0f %s"; or the user's format or
// formatter. mag and sym carry the prefix from the first label on.
func (im *Image) rightLabel(v, mid, maxY float64, mag *float64, sym *string) string {
	scale, shift, _ := parseRightAxis(im.look.RightAxis)
	sv := v*scale + shift
	switch f := im.look.RightAxisFormatter; f {
	case "timestamp", "duration":
		return im.timeAxisLabel(f, im.look.RightAxisFormat, sv)
	}
	if pf, err := parsePrintFormat(im.look.RightAxisFormat); err == nil && im.look.RightAxisFormat != "" {
		return pf.format(sv, "")
	}
	if *mag == 0 {
		_, *sym, *mag = autoScale(mid*scale+shift, im.look.base())
	}
	sv /= *mag
	p := fmtPart{verb: 'f', wid: 5, prec: 0}
	if maxY < 10 {
		p.prec = 1
	}
	return cFloat(sv, p) + " " + *sym
}

// timeAxisLabel formats an axis value as a time (strftime, default
// "%Y-%m-%d %H:%M:%S") or a duration (default "%H:%02m:%02s"), as
// rrdtool's timestamp and duration axis formatters.
func (im *Image) timeAxisLabel(formatter, format string, v float64) string {
	if formatter == "duration" {
		if format == "" {
			format = "%H:%02m:%02s"
		}
		s, err := strfduration(format, v)
		if err != nil {
			return ""
		}
		return s
	}
	if format == "" {
		format = "%Y-%m-%d %H:%M:%S"
	}
	if math.IsNaN(v) || math.Abs(v) > 1e15 {
		return cFloat(v, fmtPart{verb: 'f', prec: 6})
	}
	loc := im.loc
	if loc == nil {
		loc = time.UTC
	}
	s, err := strftime(format, time.Unix(int64(v), 0).In(loc))
	if err != nil {
		return ""
	}
	return s
}

// parseYGrid reads --y-grid step:labelfactor.
func parseYGrid(s string) (float64, int, error) {
	if s == "" || s == "none" {
		return 0, 0, fmt.Errorf("no y grid")
	}
	a, b, ok := strings.Cut(s, ":")
	step, err1 := strconv.ParseFloat(a, 64)
	fact, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("--y-grid %q: want none or grid-step:label-factor", s)
	}
	if !(step > 0) || math.IsInf(step, 0) {
		return 0, 0, fmt.Errorf("--y-grid %q: grid step must be > 0", s)
	}
	if fact < 1 {
		return 0, 0, fmt.Errorf("--y-grid %q: label factor must be > 0", s)
	}
	return step, fact, nil
}

// parseXGrid checks --x-grid GTM:GST:MTM:MST:LTM:LST:LPR:LFM.
func parseXGrid(s string) ([]string, error) {
	f := strings.SplitN(s, ":", 8)
	if len(f) != 8 {
		return nil, fmt.Errorf("--x-grid %q: want none or GTM:GST:MTM:MST:LTM:LST:LPR:LFM", s)
	}
	for _, k := range []int{0, 2, 4} {
		if _, ok := timeUnits[f[k]]; !ok {
			return nil, fmt.Errorf("--x-grid %q: unknown time unit %q (want SECOND, MINUTE, HOUR, DAY, WEEK, MONTH or YEAR)", s, f[k])
		}
	}
	for _, k := range []int{1, 3, 5, 6} {
		if n, err := strconv.Atoi(f[k]); err != nil || n < 0 {
			return nil, fmt.Errorf("--x-grid %q: %q is not a count", s, f[k])
		}
	}
	return f, nil
}

var timeUnits = map[string]int64{"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400, "WEEK": 7 * 86400, "MONTH": 30 * 86400, "YEAR": 365 * 86400}

// logTicks is the decade grid of a logarithmic axis, labelled "1e+02" or,
// with --units=si, "100 " and SI prefixes.
func (im *Image) logTicks() []YTick {
	if !(im.Min > 0) || !(im.Max > im.Min) || math.IsInf(im.Max, 0) {
		return nil
	}
	var out []YTick
	for e := math.Floor(math.Log10(im.Min)); e <= math.Ceil(math.Log10(im.Max)) && len(out) < 500; e++ {
		dec := math.Pow(10, e)
		for k := 1.0; k <= 9; k++ {
			v := k * dec
			if v < im.Min || v > im.Max {
				continue
			}
			t := YTick{Value: v}
			if k == 1 {
				t.Major = true
				if im.look.UnitsSI {
					sv, sym, _ := autoScale(v, im.look.base())
					t.Label = strings.TrimSpace(cFloat(sv, fmtPart{verb: 'f', prec: 0}) + " " + sym)
				} else {
					t.Label = cFloat(v, fmtPart{verb: 'e', prec: 0})
				}
				if im.look.RightAxis != "" {
					t.RightLabel = im.logRightLabel(v)
				}
			} else if im.look.NoMinor {
				continue
			}
			out = append(out, t)
		}
	}
	return out
}

// logRightLabel is a logarithmic grid's --right-axis label (rrdtool's
// draw_horizontal_grid for log axes): "%4.0f %s" with SI prefixes under
// --units=si, else "%3.0e", or the user's format.
func (im *Image) logRightLabel(v float64) string {
	scale, shift, _ := parseRightAxis(im.look.RightAxis)
	sv := v*scale + shift
	if pf, err := parsePrintFormat(im.look.RightAxisFormat); err == nil && im.look.RightAxisFormat != "" {
		return pf.format(sv, "")
	}
	if im.look.UnitsSI {
		x, sym, _ := autoScale(sv, im.look.base())
		return cFloat(x, fmtPart{verb: 'f', wid: 4, prec: 0}) + " " + sym
	}
	return cFloat(sv, fmtPart{verb: 'e', wid: 3, prec: 0})
}
