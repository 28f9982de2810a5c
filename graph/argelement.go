package graph

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

func isElement(kw string) bool {
	switch kw {
	case "DEF", "CDEF", "VDEF", "AREA", "STACK", "HRULE", "VRULE", "GPRINT", "COMMENT", "PRINT", "TICK", "SHIFT", "TEXTALIGN":
		return true
	}
	return strings.HasPrefix(kw, "LINE")
}

// stripAlign removes rrdtool's trailing legend control code (\l \r \c \j
// \g \s \n \u \.): for labels shown outside rrdtool's legend.
func stripAlign(s string) string {
	if n := len(s); n >= 2 && s[n-2] == '\\' && strings.IndexByte("lrcjgsnu.", s[n-1]) >= 0 {
		s = s[:n-2]
	}
	return s
}

// LegendLabel is the item's legend without its control code.
func (it Item) LegendLabel() string { return stripAlign(it.Legend) }

// splitColor splits "vname#rrggbb"; a second color (an AREA gradient) is
// an error.
func splitColor(s string) (string, string, error) {
	v, c, c2, err := splitColors(s)
	if err == nil && c2 != "" {
		err = fmt.Errorf("a second color %q is for AREA gradients only", c2)
	}
	return v, c, err
}

// splitColors splits "vname#rrggbb[#rrggbb]".
func splitColors(s string) (v, c, c2 string, err error) {
	v, c, ok := strings.Cut(s, "#")
	if !ok {
		return v, "", "", nil
	}
	c, c2, two := strings.Cut(c, "#")
	c = "#" + c
	if !validColor(c) {
		return "", "", "", fmt.Errorf("invalid color %q (want #rrggbb or #rrggbbaa)", c)
	}
	if two {
		c2 = "#" + c2
		if !validColor(c2) {
			return "", "", "", fmt.Errorf("invalid second color %q (want #rrggbb or #rrggbbaa)", c2)
		}
	}
	return v, c, c2, nil
}

var gprintCF = map[string]string{"AVERAGE": "AVERAGE", "MIN": "MINIMUM", "MAX": "MAXIMUM", "LAST": "LAST"}

func (s *Spec) addElement(a string) error {
	f := splitFields(a)
	kw := f[0]
	switch kw {
	case KindDEF:
		// DEF:vname=rrd:ds:CF[:step=][:start=][:end=][:reduce=]
		if len(f) < 4 {
			return errors.New("want DEF:vname=series:ds:CF")
		}
		name, series, ok := strings.Cut(f[1], "=")
		if !ok {
			return errors.New("want DEF:vname=series:…")
		}
		d := Def{Kind: KindDEF, Name: name, Series: strings.TrimSuffix(series, ".rrd"), DS: f[2], CF: f[3]}
		if !cfNames[d.CF] {
			return fmt.Errorf("unknown consolidation function %q (want AVERAGE, MIN, MAX or LAST)", d.CF)
		}
		for _, opt := range f[4:] {
			k, v, _ := strings.Cut(opt, "=")
			switch k {
			case "step":
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n <= 0 {
					return fmt.Errorf("step=%q is not a positive integer", v)
				}
				d.Step = n
			case "reduce":
				if !cfNames[v] {
					return fmt.Errorf("reduce=%q: want AVERAGE, MIN, MAX or LAST", v)
				}
				d.Reduce = v
			case "start":
				if err := CheckTime(v); err != nil {
					return fmt.Errorf("start=%q: %w", v, err)
				}
				d.Start = v
			case "end":
				if err := CheckTime(v); err != nil {
					return fmt.Errorf("end=%q: %w", v, err)
				}
				d.End = v
			case "daemon":
				return errors.New("per-DEF daemon= is not supported (rrdash reads its own store)")
			default:
				return fmt.Errorf("unknown DEF option %q", opt)
			}
		}
		s.Defs = append(s.Defs, d)
	case KindCDEF, KindVDEF:
		rest := strings.Join(f[1:], ":")
		name, expr, ok := strings.Cut(rest, "=")
		if !ok {
			return fmt.Errorf("want %s:vname=RPN", kw)
		}
		s.Defs = append(s.Defs, Def{Kind: kw, Name: name, Expr: expr})
	case "STACK", "AREA":
		if len(f) < 2 {
			return fmt.Errorf("want %s:vname[#color][:legend]", kw)
		}
		v, c, c2, err := splitColors(f[1])
		if err != nil {
			return err
		}
		it := Item{Type: ItemArea, Vname: v, Color: c, Color2: c2}
		if kw == "STACK" {
			// The kind and width of the LINE or AREA before it, as rrdtool's.
			it.Stack = true
			found := false
			for k := len(s.Items) - 1; k >= 0 && !found; k-- {
				if t := s.Items[k].Type; t == ItemLine || t == ItemArea {
					it.Type, it.Width, found = t, s.Items[k].Width, true
				}
			}
			if !found {
				return errors.New("no previous LINE or AREA for STACK")
			}
		}
		if err := it.drawOptions(f[2:]); err != nil {
			return err
		}
		if it.Type != ItemArea && (it.Color2 != "" || it.GradHeight != nil) {
			return errors.New("gradients (a second color, gradheight=) are for areas only")
		}
		s.Items = append(s.Items, it)
	case "TICK":
		// TICK:vname#color[:fraction[:legend]]
		if len(f) < 2 {
			return errors.New("want TICK:vname#color[:fraction[:legend]]")
		}
		v, c, err := splitColor(f[1])
		if err != nil {
			return err
		}
		it := Item{Type: ItemTick, Vname: v, Color: c, Fraction: 0.1}
		if len(f) > 2 && f[2] != "" {
			fr, err := strconv.ParseFloat(f[2], 64)
			if err != nil || math.IsNaN(fr) || math.IsInf(fr, 0) {
				return fmt.Errorf("TICK fraction %q is not a number", f[2])
			}
			it.Fraction = fr
		}
		if len(f) > 3 {
			it.Legend = f[3]
		}
		if len(f) > 4 {
			return fmt.Errorf("unknown TICK option %q", f[4])
		}
		s.Items = append(s.Items, it)
	case "HRULE", "VRULE":
		if len(f) < 2 {
			return fmt.Errorf("want %s:value#color[:legend]", kw)
		}
		v, c, err := splitColor(f[1])
		if err != nil {
			return err
		}
		it := Item{Type: kw, Color: c}
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			it.Value = n
		} else {
			it.Vname = v
		}
		if err := it.drawOptions(f[2:]); err != nil {
			return err
		}
		if it.Stack || it.Skipscale {
			return fmt.Errorf("%s takes no STACK or skipscale", kw)
		}
		s.Items = append(s.Items, it)
	case "GPRINT", "PRINT":
		it := Item{Type: kw}
		rest := f[1:]
		if len(rest) > 0 {
			switch rest[len(rest)-1] {
			case "strftime":
				it.Strftime = true
				rest = rest[:len(rest)-1]
			case "valstrftime":
				it.VFormatter = "timestamp"
				rest = rest[:len(rest)-1]
			case "valstrfduration":
				it.VFormatter = "duration"
				rest = rest[:len(rest)-1]
			}
		}
		switch len(rest) {
		case 2:
			it.Vname, it.Format = rest[0], rest[1]
		case 3:
			// Deprecated GPRINT:vname:CF:format: an implicit VDEF.
			fn, ok := gprintCF[rest[1]]
			if !ok {
				return fmt.Errorf("unknown consolidation function %q", rest[1])
			}
			name := rest[0] + "_" + strings.ToLower(rest[1])
			exists := false
			for _, d := range s.Defs {
				exists = exists || d.Name == name
			}
			if !exists {
				s.Defs = append(s.Defs, Def{Kind: KindVDEF, Name: name, Expr: rest[0] + "," + fn})
			}
			it.Vname, it.Format = name, rest[2]
		default:
			return fmt.Errorf("want %s:vname:format[:strftime|:valstrftime|:valstrfduration]", kw)
		}
		s.Items = append(s.Items, it)
	case "COMMENT":
		s.Items = append(s.Items, Item{Type: ItemComment, Legend: strings.Join(f[1:], ":")})
	case "TEXTALIGN":
		if len(f) != 2 {
			return errors.New("want TEXTALIGN:left|right|justified|center")
		}
		s.Items = append(s.Items, Item{Type: ItemAlign, Align: f[1]})
	case "SHIFT":
		// SHIFT:vname:offset (seconds or a VDEF), in order among the DEFs.
		if len(f) != 3 || f[2] == "" {
			return errors.New("want SHIFT:vname:offset (seconds or a VDEF)")
		}
		s.Defs = append(s.Defs, Def{Kind: KindSHIFT, Name: f[1], Expr: f[2]})
	default: // LINE[width]
		it := Item{Type: ItemLine, Width: 1}
		if w := strings.TrimPrefix(kw, "LINE"); w != "" {
			n, err := strconv.ParseFloat(w, 64)
			if err != nil || n < 0 {
				return fmt.Errorf("bad line width %q", w)
			}
			it.Width = n
		}
		if len(f) < 2 {
			return fmt.Errorf("want %s:vname[#color][:legend]", kw)
		}
		v, c, err := splitColor(f[1])
		if err != nil {
			return err
		}
		it.Vname, it.Color = v, c
		if err := it.drawOptions(f[2:]); err != nil {
			return err
		}
		s.Items = append(s.Items, it)
	}
	return nil
}

// drawOptions handles [legend][:STACK][:skipscale][:dashes[=on,off…]][:dash-offset=n]
// of a drawing element.
func (it *Item) drawOptions(f []string) error {
	for k, o := range f {
		switch {
		case o == "STACK":
			it.Stack = true
		case o == "skipscale":
			it.Skipscale = true
		case o == "dashes":
			it.Dashes = true
		case strings.HasPrefix(o, "dashes="):
			it.Dashes = true
			for _, p := range strings.Split(o[len("dashes="):], ",") {
				n, err := strconv.ParseFloat(p, 64)
				if err != nil || n < 0 || math.IsInf(n, 0) {
					return fmt.Errorf("dashes: %q is not a length", p)
				}
				it.DashPattern = append(it.DashPattern, n)
			}
		case strings.HasPrefix(o, "dash-offset="):
			n, err := strconv.ParseFloat(o[len("dash-offset="):], 64)
			if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
				return fmt.Errorf("dash-offset: %q is not a number", o)
			}
			it.DashOffset = n
		case strings.HasPrefix(o, "gradheight="):
			n, err := strconv.ParseFloat(o[len("gradheight="):], 64)
			if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
				return fmt.Errorf("bad gradheight %q", o)
			}
			it.GradHeight = &n
		case k == 0:
			it.Legend = o
		default:
			return fmt.Errorf("unknown option %q", o)
		}
	}
	return nil
}
