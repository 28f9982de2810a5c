package graphite

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// errNoneCompare is Python 3's TypeError where graphite-web compares a
// None point (removeBetweenPercentile, useSeriesAbove, averageOutsidePercentile).
func errNoneCompare(call *Expr, what string) error {
	return errAt(call, "%s: %s has None (missing) points, which graphite-web cannot compare", call.Func, what)
}

func addSelectFunctions(m map[string]*function) {
	nParam := []param{{name: "seriesList", kind: pSeries}, {name: "n", kind: pNum}}
	m["averageOutsidePercentile"] = &function{params: nParam,
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			list, n := series0(a), a[1].(float64)
			avgs := make([]float64, len(list))
			for i, s := range list {
				avgs[i] = reduce(aggFuncs["average"], s.points())
			}
			if n < 50 {
				n = 100 - n
			}
			lo, hi := percentile(avgs, 100-n, false), percentile(avgs, n, false)
			var out []*Series
			for i, s := range list {
				if isNone(avgs[i]) || isNone(lo) || isNone(hi) {
					return nil, errNoneCompare(call, s.Name)
				}
				if !(lo < avgs[i] && avgs[i] < hi) {
					out = append(out, s)
				}
			}
			return out, nil
		}}
	m["removeBetweenPercentile"] = &function{params: nParam,
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			list, n := series0(a), a[1].(float64)
			if n < 50 {
				n = 100 - n
			}
			if len(list) == 0 {
				return nil, nil
			}
			cols := make([][]float64, len(list))
			rows := -1
			for i, s := range list {
				cols[i] = s.points()
				if rows < 0 || len(cols[i]) < rows {
					rows = len(cols[i]) // zip stops at the shortest
				}
			}
			lo, hi := make([]float64, rows), make([]float64, rows)
			row := make([]float64, len(list))
			for r := 0; r < rows; r++ {
				for i, c := range cols {
					row[i] = c[r]
				}
				lo[r], hi[r] = percentile(row, 100-n, false), percentile(row, n, false)
			}
			var out []*Series
			for i, s := range list {
				if len(cols[i]) > rows {
					return nil, errAt(call, "removeBetweenPercentile: %s is longer than the others", s.Name)
				}
				outside := false
				for r, v := range cols[i] {
					if isNone(v) || isNone(lo[r]) || isNone(hi[r]) {
						return nil, errNoneCompare(call, s.Name)
					}
					if !(lo[r] < v && v < hi[r]) {
						outside = true
					}
				}
				if outside {
					out = append(out, s)
				}
			}
			return out, nil
		}}
	m["mostDeviant"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "n", kind: pInt}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			var l []*Series
			sigma := map[*Series]float64{}
			for _, s := range series0(a) {
				p := s.points()
				mean := reduce(aggFuncs["average"], p)
				if isNone(mean) {
					continue
				}
				sq, nn := 0.0, 0
				for _, v := range p {
					if !isNone(v) {
						sq += (v - mean) * (v - mean)
						nn++
					}
				}
				sigma[s] = sq / float64(nn)
				l = append(l, s)
			}
			sortStable(l, func(x, y *Series) bool { return sigma[x] > sigma[y] })
			return pySlice(l, a[1].(int)), nil
		}}
	m["useSeriesAbove"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "value", kind: pNum}, {name: "search", kind: pStr}, {name: "replace", kind: pStr}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			value := a[1].(float64)
			re, err := regexp.Compile(a[2].(string))
			if err != nil {
				return nil, errAt(call, "useSeriesAbove: %v", err)
			}
			repl := pyReplacement(a[3].(string))
			var names []string
			for _, s := range series0(a) {
				p := s.points()
				if len(p) == 0 {
					return nil, errAt(call, "useSeriesAbove: %s has no points", s.Name)
				}
				mx := math.Inf(-1)
				for _, v := range p {
					if isNone(v) {
						return nil, errNoneCompare(call, s.Name)
					}
					mx = math.Max(mx, v)
				}
				if mx > value {
					names = append(names, re.ReplaceAllString(s.Name, repl))
				}
			}
			if len(names) == 0 {
				return nil, nil
			}
			res, err := ec.evalText(call, "group("+strings.Join(names, ",")+")")
			if err != nil {
				return nil, err
			}
			out := res[:0]
			for _, s := range res {
				if len(s.Values) > 0 {
					out = append(out, s)
				}
			}
			return out, nil
		}}
	m["aliasQuery"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "search", kind: pStr}, {name: "replace", kind: pStr}, {name: "newName", kind: pStr}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			re, err := regexp.Compile(a[1].(string))
			if err != nil {
				return nil, errAt(call, "aliasQuery: %v", err)
			}
			repl := pyReplacement(a[2].(string))
			for _, s := range series0(a) {
				q := re.ReplaceAllString(s.Name, repl)
				res, err := ec.evalText(call, q)
				if err != nil {
					return nil, err
				}
				if len(res) == 0 {
					return nil, errAt(call, "aliasQuery: no series found with query: %s", q)
				}
				cur := lastNonNull(res[0].points())
				if isNone(cur) {
					return nil, errAt(call, "aliasQuery: cannot get last value of series: %s", res[0].Name)
				}
				if s.Name, err = pyPercent(a[3].(string), cur); err != nil {
					return nil, errAt(call, "aliasQuery: %v", err)
				}
			}
			return series0(a), nil
		}}
	aggOpts := []string{"average", "avg", "avg_zero", "count", "current", "diff", "last", "max", "median", "min", "multiply", "range", "rangeOf", "stddev", "sum", "total", "si", "binary"}
	m["legendValue"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "valuesTypes", kind: pNodeVar, opt: true, typ: "string", options: aggOpts}},
		fn: legendValue}
	m["cactiStyle"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "system", kind: pStr, opt: true, options: []string{"si", "binary"}}, {name: "units", kind: pStr, opt: true}},
		fn: cactiStyle}
}

// sortStable keeps equal keys in order, as Python's sort does.
func sortStable(l []*Series, less func(x, y *Series) bool) {
	sort.SliceStable(l, func(i, j int) bool { return less(l[i], l[j]) })
}

func lastNonNull(p []float64) float64 {
	for i := len(p) - 1; i >= 0; i-- {
		if !isNone(p[i]) {
			return p[i]
		}
	}
	return nan
}

// aggValueText is str() of getAggFunc(name)(series): Python's float repr,
// an int for count, None for no value.
func aggValueText(name string, p []float64) (string, float64, bool) {
	agg, ok := aggFuncs[name]
	if !ok {
		return "(?)", nan, false
	}
	if name == "count" {
		n := 0
		for _, v := range p {
			if !isNone(v) {
				n++
			}
		}
		return strconv.Itoa(n), float64(n), true
	}
	v := reduce(agg, p)
	if isNone(v) {
		return "None", nan, true
	}
	return pyFloat(v), v, true
}

func legendValue(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
	raw, _ := a[1].([]any)
	if len(raw) == 0 {
		return nil, errAt(call, "legendValue: give at least one value type")
	}
	types := make([]string, len(raw))
	for i, r := range raw {
		s, ok := r.(string)
		if !ok {
			return nil, errAt(call, "legendValue: value types are quoted names")
		}
		types[i] = s
	}
	system := ""
	if t := types[len(types)-1]; t == "si" || t == "binary" {
		system, types = t, types[:len(types)-1]
	}
	for _, vt := range types {
		for _, s := range series0(a) {
			text, v, isNum := aggValueText(vt, s.points())
			if system == "" {
				s.Name += fmt.Sprintf(" (%s: %s)", vt, text)
				continue
			}
			formatted := text
			if isNum && !isNone(v) {
				x, prefix := formatUnits(v, system, "")
				formatted = fmt.Sprintf("%.2f%s", x, prefix)
			}
			s.Name = fmt.Sprintf("%-20s%-5s%-10s", s.Name, vt, formatted)
		}
	}
	return series0(a), nil
}

type unitPrefix struct {
	prefix string
	size   float64
}

var unitSystems = map[string][]unitPrefix{
	"binary": {{"Pi", math.Pow(1024, 5)}, {"Ti", math.Pow(1024, 4)}, {"Gi", math.Pow(1024, 3)}, {"Mi", math.Pow(1024, 2)}, {"Ki", 1024}},
	"si":     {{"P", 1e15}, {"T", 1e12}, {"G", 1e9}, {"M", 1e6}, {"k", 1e3}},
}

// formatUnits is graphite-web's format_units (glyph.py) without a step.
func formatUnits(v float64, system, units string) (float64, string) {
	for _, u := range unitSystems[system] {
		if math.Abs(v) >= u.size {
			v2 := v / u.size
			if v2-math.Floor(v2) < 0.00000000001 && v > 1 {
				v2 = math.Floor(v2)
			}
			return v2, u.prefix + units
		}
	}
	if v-math.Floor(v) < 0.00000000001 && v > 1 {
		v = math.Floor(v)
	}
	return v, units
}

func cactiStyle(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
	list := series0(a)
	system, _ := a[1].(string)
	units, _ := a[2].(string)
	if system != "" && unitSystems[system] == nil {
		return nil, errAt(call, "cactiStyle: unknown unit system %q (want si or binary)", system)
	}
	if len(list) == 0 {
		return list, nil
	}
	format := func(x float64) string {
		switch {
		case system != "" && units != "":
			v, p := formatUnits(x, system, units)
			return fmt.Sprintf("%.2f %s", v, p)
		case system != "":
			v, p := formatUnits(x, system, "")
			return fmt.Sprintf("%.2f%s", v, p)
		case units != "":
			return fmt.Sprintf("%.2f %s", x, units)
		}
		return fmt.Sprintf("%.2f", x)
	}
	// the column widths format int(value or 3), as graphite-web does
	width := func(v float64) int {
		if isNone(v) || v == 0 {
			v = 3
		}
		return len(format(math.Trunc(v)))
	}
	type stats struct{ last, max, min float64 }
	st := make([]stats, len(list))
	nameLen, lastLen, maxLen, minLen := 0, 0, 0, 0
	for i, s := range list {
		p := s.points()
		st[i] = stats{lastNonNull(p), reduce(aggFuncs["max"], p), reduce(aggFuncs["min"], p)}
		nameLen = max(nameLen, len(s.Name))
		lastLen = max(lastLen, width(st[i].last))
		maxLen = max(maxLen, width(st[i].max))
		minLen = max(minLen, width(st[i].min))
	}
	text := func(v float64) string {
		if isNone(v) {
			return "nan"
		}
		return format(v)
	}
	for i, s := range list {
		s.Name = fmt.Sprintf("%-*s Current:%-*s Max:%-*s Min:%-*s ", nameLen, s.Name, lastLen+3, text(st[i].last), maxLen+3, text(st[i].max), minLen+3, text(st[i].min))
	}
	return list, nil
}

// pyPercent is Python's format % value for one number: %d %i %u %f %F
// %e %E %g %G %s %r with flags, width and precision, and %%.
func pyPercent(format string, v float64) (string, error) {
	var b strings.Builder
	used := false
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(format) && strings.IndexByte("-+ #0", format[j]) >= 0 {
			j++
		}
		for j < len(format) && (format[j] >= '0' && format[j] <= '9' || format[j] == '.') {
			j++
		}
		if j >= len(format) {
			return "", fmt.Errorf("incomplete format %q", format)
		}
		spec, verb := format[i+1:j], format[j]
		i = j
		if verb == '%' && spec == "" {
			b.WriteByte('%')
			continue
		}
		if used {
			return "", fmt.Errorf("not enough arguments for format string %q", format)
		}
		used = true
		switch verb {
		case 'd', 'i', 'u':
			fmt.Fprintf(&b, "%"+spec+"d", int64(v))
		case 'g', 'G':
			if !strings.Contains(spec, ".") {
				spec += ".6" // Python's default precision; Go's is the shortest
			}
			fmt.Fprintf(&b, "%"+spec+string(verb), v)
		case 'f', 'F', 'e', 'E':
			fmt.Fprintf(&b, "%"+spec+string(verb), v)
		case 's', 'r':
			fmt.Fprintf(&b, "%"+spec+"s", pyFloat(v))
		default:
			return "", fmt.Errorf("unsupported format character %q in %q", verb, format)
		}
	}
	if !used {
		return "", fmt.Errorf("not all arguments converted during string formatting of %q", format)
	}
	return b.String(), nil
}
