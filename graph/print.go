package graph

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// legendSource is one item's legend text before placement, with its
// trailing control code still in it.
type legendSource struct {
	item  int
	text  string
	color string
	kind  string
}

// printCalc formats PRINT and GPRINT items (rrdtool's print_calc) and
// collects every item's legend text; graphed is false when nothing is
// drawn.
func (im *Image) printCalc(s *Spec, d *Data, loc *time.Location) ([]legendSource, bool, error) {
	var out []legendSource
	graphed := false
	sc := &printScale{magfact: -1}
	base := s.base()
	for i, it := range s.Items {
		switch it.Type {
		case ItemPrint, ItemGPrint:
			v, ok := d.VDEFs[it.Vname]
			if !ok {
				return nil, false, fmt.Errorf("%s:%s: no value for %q", it.Type, it.Vname, it.Vname)
			}
			text, err := formatPrint(it, v, base, sc, loc)
			if err != nil {
				return nil, false, fmt.Errorf("%s:%s: %w", it.Type, it.Vname, err)
			}
			if it.Type == ItemPrint {
				im.Prints = append(im.Prints, text)
				// No legend, but a place in rrdtool's list of elements: a
				// PRINT last ends the legend's last (empty) line, which
				// \c or \r alignment counts.
				out = append(out, legendSource{item: i, kind: it.Type})
				continue
			}
			out = append(out, legendSource{item: i, text: text, kind: it.Type})
			graphed = true
		case ItemComment:
			out = append(out, legendSource{item: i, text: it.Legend, kind: it.Type})
		case ItemAlign:
			out = append(out, legendSource{item: i, kind: it.Type})
		case ItemLine, ItemArea, ItemTick, ItemHRule, ItemVRule:
			text := it.Legend
			if text != "" && it.Type != ItemTick {
				text = "  " + text // room for the swatch, as rrdtool's legend_shift
			}
			col := it.Color
			if col == "" {
				col = "#000000"
			}
			out = append(out, legendSource{item: i, text: text, color: col, kind: it.Type})
			graphed = true
		}
	}
	return out, graphed, nil
}

// printScale is the SI scaling print_calc carries from one (G)PRINT to
// the next: %S reuses it, %s and the first %S set it.
type printScale struct {
	magfact float64
	symbol  string
}

// formatPrint formats one PRINT/GPRINT value.
func formatPrint(it Item, v VValue, base float64, sc *printScale, loc *time.Location) (string, error) {
	val := v.Value
	if it.Strftime {
		if v.Time == 0 { // a VDEF without a time (AVERAGE, TOTAL…)
			return timeClean(it.Format), nil
		}
		return strftime(it.Format, time.Unix(v.Time, 0).In(loc))
	}
	switch it.VFormatter {
	case "timestamp":
		if math.IsNaN(val) || math.IsInf(val, 0) || math.Abs(val) > 1e15 {
			return cFloat(val, fmtPart{verb: 'f', prec: 0}), nil
		}
		f := it.Format
		if f == "" {
			f = "%Y-%m-%d %H:%M:%S"
		}
		return strftime(f, time.Unix(int64(math.Trunc(val)), 0).In(loc))
	case "duration":
		if math.IsNaN(val) || math.IsInf(val, 0) {
			return cFloat(val, fmtPart{verb: 'f', prec: 6}), nil
		}
		f := it.Format
		if f == "" {
			f = "%H:%02m:%02s"
		}
		return strfduration(f, val)
	}
	pf, err := parsePrintFormat(it.Format)
	if err != nil {
		return "", err
	}
	switch pf.si {
	case 'S':
		if sc.magfact < 0 {
			val, sc.symbol, sc.magfact = autoScale(val, base)
			if val == 0 {
				sc.magfact = -1
			}
		} else {
			val /= sc.magfact
		}
	case 's':
		val, sc.symbol, sc.magfact = autoScale(val, base)
	}
	return pf.format(val, sc.symbol), nil
}

// timeClean is what rrdtool prints for a strftime format of a VDEF
// without a time (its time_clean): each conversion as dashes shaped like
// its usual output ("%H:%M %Y" → "--:-- ----").
func timeClean(f string) string {
	var b strings.Builder
	for j := 0; j < len(f); j++ {
		if f[j] != '%' || j+1 >= len(f) {
			b.WriteByte(f[j])
			continue
		}
		c := f[j+1]
		j++
		switch {
		case c == 'E' || c == 'O':
			b.WriteByte('-')
			j++
		case strings.IndexByte("CdgHImMSUVWy", c) >= 0:
			b.WriteString("--")
		case c == 'j':
			b.WriteString("---")
		case c == 'G' || c == 'Y':
			b.WriteString("----")
		case c == 'R':
			b.WriteString("--:--")
		case c == 'T':
			b.WriteString("--:--:--")
		case c == 'F':
			b.WriteString("----------")
		case c == 'D':
			b.WriteString("--/--/--")
		case c == 'n':
			b.WriteString("\r\n")
		case c == 't':
			b.WriteByte('\t')
		case c == '%':
			b.WriteByte('%')
		case c == ' ' || c == '.' || c == '@':
			b.WriteByte('%')
			b.WriteByte(c)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}

// autoScale is rrdtool's auto_scale: the value in [1, base) with its SI symbol.
func autoScale(v, base float64) (float64, string, float64) {
	symbols := []string{"a", "f", "p", "n", "u", "m", " ", "k", "M", "G", "T", "P", "E"}
	idx, mag := 0, 1.0
	if v != 0 && !math.IsNaN(v) {
		idx = int(math.Floor(math.Log(math.Abs(v)) / math.Log(base)))
		mag = math.Pow(base, float64(idx))
		v /= mag
	}
	if idx >= -6 && idx <= 6 {
		return v, symbols[idx+6], mag
	}
	return v, "?", mag
}
