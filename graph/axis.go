package graph

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// tick is one labelled position on an axis, in data units.
type tick struct {
	value float64
	label string
}

// yScale maps values to the plot's height: hi at the top edge, lo at the
// bottom edge.
type yScale struct {
	lo, hi float64
	ticks  []tick
}

// frac is how far down the plot v lies: 0 at hi, 1 at lo. Ranges as wide
// as ±MaxFloat64 are halved first to keep hi−lo finite (not always:
// halving loses denormals).
func (s yScale) frac(v float64) float64 {
	if d := s.hi - s.lo; !math.IsInf(d, 0) {
		return (s.hi - v) / d
	}
	return (s.hi/2 - v/2) / (s.hi/2 - s.lo/2)
}

// newYScale settles the value range and its ticks. lo and hi come from the
// data (or the user's limits, fixedLo/fixedHi); an automatic end is moved
// out to the next tick so the top and bottom grid lines are labelled.
// maxTicks bounds the number of intervals.
func newYScale(lo, hi float64, fixedLo, fixedHi bool, maxTicks int) yScale {
	if math.IsNaN(lo) || math.IsInf(lo, 0) {
		lo = 0
	}
	if math.IsNaN(hi) || math.IsInf(hi, 0) {
		hi = 1
	}
	// rrdtool's rules for an upside-down or empty range.
	if lo > hi {
		if fixedLo && !fixedHi {
			hi = lo
		} else {
			lo = hi
		}
	}
	if lo == hi {
		d := math.Abs(lo) * 0.01
		if d == 0 || lo+d == lo {
			d = 1
		}
		if math.IsInf(lo+d, 0) {
			lo -= d
		} else {
			hi = lo + d
		}
	}
	step := yStep(lo, hi, fixedLo, fixedHi, max(1, maxTicks))
	if step > 0 && !math.IsInf(step, 0) {
		// Round outwards, but not by float noise (0.3 is not 6×0.05 exactly).
		if l := math.Floor(lo/step+1e-9) * step; !fixedLo && !math.IsInf(l, 0) && math.Abs(l-lo) > step*1e-9 {
			lo = l
		}
		if h := math.Ceil(hi/step-1e-9) * step; !fixedHi && !math.IsInf(h, 0) && math.Abs(h-hi) > step*1e-9 {
			hi = h
		}
	}
	s := yScale{lo: lo, hi: hi}
	if step > 0 && !math.IsInf(step, 0) && (hi/2-lo/2)/step <= 50 && math.Abs(lo/step) <= 1e12 && math.Abs(hi/step) <= 1e12 {
		tol := math.Min(step, hi/2-lo/2) * 1e-9
		for k := math.Ceil(lo/step - 1e-9); len(s.ticks) <= 50; k++ {
			v := k * step
			switch {
			case math.Abs(v-lo) <= tol:
				v = lo
			case math.Abs(v-hi) <= tol:
				v = hi
			case v == 0:
				v = 0 // no "-0"
			}
			if v > hi {
				break
			}
			if v >= lo {
				s.ticks = append(s.ticks, tick{value: v, label: formatTick(v, step, lo, hi)})
			}
		}
	}
	if len(s.ticks) == 0 {
		// Too wide, or too fine for float64 to count in steps: label the ends.
		span := math.Abs(hi/2 - lo/2)
		s.ticks = []tick{{lo, formatTick(lo, span, lo, hi)}, {hi, formatTick(hi, span, lo, hi)}}
	}
	return s
}

// yStep is the finest 1, 2 or 5 × 10^k step that cuts the range (rounded
// out to steps at its automatic ends) into at most maxTicks intervals.
func yStep(lo, hi float64, fixedLo, fixedHi bool, maxTicks int) float64 {
	raw := (hi/2 - lo/2) / (float64(maxTicks+2) / 2)
	if !(raw > 0) || math.IsInf(raw, 0) {
		return 0
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for i := 0; i < 12; i++ {
		step := []float64{1, 2, 5}[i%3] * mag * math.Pow(10, float64(i/3))
		a, b := math.Ceil(lo/step-1e-9), math.Floor(hi/step+1e-9)
		if !fixedLo {
			a = math.Floor(lo/step + 1e-9)
		}
		if !fixedHi {
			b = math.Ceil(hi/step - 1e-9)
		}
		if b-a <= float64(maxTicks) {
			return step
		}
	}
	return 0 // float64 cannot count this range in steps (denormals)
}

// formatTick labels v compactly with one SI prefix for the whole axis, as
// rrdtool does: 1.5k, 2M, 5m. Values between 0.01 and 1000 stay plain
// (0.25, not 250m), and beyond the prefixes (10^±18) it falls back to
// exponent notation.
func formatTick(v, step, lo, hi float64) string {
	m := math.Max(math.Abs(lo), math.Abs(hi))
	e := 0
	if m >= 1000 || m > 0 && m < 0.01 {
		e = int(math.Floor(math.Log10(m)/3)) * 3
	}
	prefix := ""
	for _, p := range siPrefixes {
		if p.exp == e {
			prefix = strings.TrimSpace(p.prefix)
			break
		}
	}
	if e != 0 && prefix == "" {
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
	scale := math.Pow(10, float64(e))
	// Enough decimals to tell neighbouring ticks apart.
	dec := 0
	for st := step / scale; dec < 6 && math.Abs(st-math.Round(st)) > 1e-6*st; st *= 10 {
		dec++
	}
	if v == 0 {
		return "0"
	}
	s := strconv.FormatFloat(v/scale, 'f', dec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s + prefix
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

var tickSteps = []int64{60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400, 61 * 86400, 91 * 86400, 182 * 86400, 365 * 86400}

// timeTicks puts labels on round UTC times (every 10 min, 1 h, 6 h, 1 d…)
// between start and end so that there are about six of them.
func timeTicks(start, end int64, format string, loc *time.Location) []tick {
	span := end - start
	step := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if span/s <= 7 {
			step = s
			break
		}
	}
	var ticks []tick
	first := start
	if r := first % step; r != 0 {
		first += step - r
		if r < 0 {
			first -= step
		}
	}
	for t := first; t <= end && len(ticks) < 100; t += step {
		ticks = append(ticks, tick{value: float64(t), label: time.Unix(t, 0).In(loc).Format(format)})
	}
	return ticks
}
