package graphite

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// addFilterFunctions adds graphite-web's further aggregations, point
// transforms, filters and sorts.
func addFilterFunctions(m map[string]*function) {
	m["diffSeries"] = aggAlias("diff")
	m["stddevSeries"] = aggAlias("stddev")
	m["rangeOfSeries"] = aggAlias("rangeOf")
	m["multiplySeries"] = &function{params: seriesVar(), fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
		lists := a[0].([]any)
		if len(lists) == 1 && len(lists[0].([]*Series)) == 1 {
			return lists[0].([]*Series), nil // graphite-web's legacy single-series case
		}
		return aggregate(ec, call, flatten(lists), "multiply", nil)
	}}
	m["countSeries"] = &function{params: []param{{name: "seriesLists", kind: pSeriesVar, opt: true}}, fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
		list := flatten(asList(a[0]))
		if len(list) == 0 {
			s := newSeries("0", ec.from, ec.until, (ec.until-ec.from)/2, []float64{0, 0, 0}, ec.xff, nil)
			s.PathExpr = "countSeries()"
			return []*Series{s}, nil
		}
		start, end, step, err := normalize(list)
		if err != nil {
			return nil, errAt(call, "countSeries: %v", err)
		}
		n := 0
		for _, s := range list {
			n = max(n, len(s.points()))
		}
		vals := make([]float64, n)
		for i := range vals {
			vals[i] = float64(len(list))
		}
		name := fmt.Sprintf("countSeries(%s)", pathExprs(list))
		return []*Series{newSeries(name, start, end, step, vals, ec.xff, nil)}, nil
	}}
	m["log"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "base", kind: pInt, opt: true, def: 10}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			base := a[1].(int)
			if base <= 0 || base == 1 {
				return nil, errAt(call, "log: base %d", base)
			}
			lb := math.Log(float64(base))
			out := make([]*Series, 0, len(series0(a)))
			for _, s := range series0(a) {
				p := s.points()
				vals := make([]float64, len(p))
				for i, v := range p {
					vals[i] = nan
					if v > 0 {
						vals[i] = math.Log(v) / lb // Python's math.log(x, base)
					}
				}
				ns := s.copyWith(fmt.Sprintf("log(%s, %d)", s.Name, base), vals)
				ns.Tags["log"] = strconv.Itoa(base)
				ns.Step, ns.VPP = s.Step*int64(max(s.VPP, 1)), 1
				out = append(out, ns)
			}
			return out, nil
		}}
	powK := func(v []float64, y float64) {
		for i, x := range v {
			v[i] = safePow(x, y)
		}
	}
	m["pow"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "factor", kind: pNum}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			f := a[1].(float64)
			return perPoint(series0(a), func(s *Series) string { return fmt.Sprintf("pow(%s,%s)", s.Name, pyG(f)) }, "pow", pyFloat(f),
				func(v []float64) { powK(v, f) }), nil
		}}
	m["squareRoot"] = &function{params: []param{{name: "seriesList", kind: pSeries}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			return perPoint(series0(a), func(s *Series) string { return fmt.Sprintf("squareRoot(%s)", s.Name) }, "squareRoot", "1",
				func(v []float64) { powK(v, 0.5) }), nil
		}}
	m["invert"] = &function{params: []param{{name: "seriesList", kind: pSeries}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			return perPoint(series0(a), func(s *Series) string { return fmt.Sprintf("invert(%s)", s.Name) }, "invert", "1",
				func(v []float64) { powK(v, -1) }), nil
		}}
	m["isNonNull"] = &function{params: []param{{name: "seriesList", kind: pSeries}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			return perPoint(series0(a), func(s *Series) string { return fmt.Sprintf("isNonNull(%s)", s.Name) }, "isNonNull", "1",
				func(v []float64) {
					for i, x := range v {
						v[i] = 1
						if isNone(x) {
							v[i] = 0
						}
					}
				}), nil
		}}
	m["changed"] = &function{params: []param{{name: "seriesList", kind: pSeries}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			return perPoint(series0(a), func(s *Series) string { return fmt.Sprintf("changed(%s)", s.Name) }, "", "",
				func(v []float64) {
					prev := nan
					for i, x := range v {
						switch {
						case isNone(prev):
							prev, v[i] = x, 0
						case !isNone(x) && prev != x:
							prev, v[i] = x, 1
						default:
							v[i] = 0
						}
					}
				}), nil
		}}
	m["delay"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "steps", kind: pInt}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			steps := a[1].(int)
			var out []*Series
			for _, s := range series0(a) {
				p := s.Values // graphite-web slices the raw list
				n := len(p)
				vals := make([]float64, 0, n)
				if steps < 0 {
					k := min(-steps, n)
					vals = append(vals, p[k:]...)
					for i := 0; i < k; i++ {
						vals = append(vals, nan)
					}
				} else {
					k := min(steps, n)
					for i := 0; i < k; i++ {
						vals = append(vals, nan)
					}
					if steps == 0 {
						// Python's series[:-0] is empty
					} else {
						vals = append(vals, p[:max(n-steps, 0)]...)
					}
				}
				ns := s.copyWith(fmt.Sprintf("delay(%s,%d)", s.Name, steps), vals)
				ns.Tags["delay"] = strconv.Itoa(steps)
				ns.VPP = 1
				out = append(out, ns)
			}
			return out, nil
		}}
	grepF := func(keep bool) func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
		return func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			re, err := regexp.Compile(a[1].(string))
			if err != nil {
				return nil, errAt(call, "%s: %v", call.Func, err)
			}
			var out []*Series
			for _, s := range series0(a) {
				if re.MatchString(s.Name) == keep {
					out = append(out, s)
				}
			}
			return out, nil
		}
	}
	patParams := []param{{name: "seriesList", kind: pSeries}, {name: "pattern", kind: pStr}}
	m["grep"] = &function{params: patParams, fn: grepF(true)}
	m["exclude"] = &function{params: patParams, fn: grepF(false)}
	filter := func(fn, op string) *function {
		return &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "n", kind: pNum}},
			fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
				return filterSeries(series0(a), fn, op, a[1].(float64)), nil
			}}
	}
	m["currentAbove"], m["currentBelow"] = filter("last", ">"), filter("last", "<=")
	m["averageAbove"], m["averageBelow"] = filter("average", ">"), filter("average", "<=")
	m["maximumAbove"], m["maximumBelow"] = filter("max", ">"), filter("max", "<=")
	m["minimumAbove"], m["minimumBelow"] = filter("min", ">"), filter("min", "<=")
	m["filterSeries"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "func", kind: pStr}, {name: "operator", kind: pStr}, {name: "threshold", kind: pNum}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			if _, ok := aggFuncs[a[1].(string)]; !ok {
				return nil, errAt(call, "unsupported aggregation function %q", a[1])
			}
			if _, ok := operators[a[2].(string)]; !ok {
				return nil, errAt(call, "unsupported operator %q (want =, !=, >, >=, <, <=)", a[2])
			}
			return filterSeries(series0(a), a[1].(string), a[2].(string), a[3].(float64)), nil
		}}
	nParams := []param{{name: "seriesList", kind: pSeries}, {name: "n", kind: pInt}}
	m["lowestCurrent"] = &function{params: nParams, fn: byAggregate("current", false)}
	m["lowestAverage"] = &function{params: nParams, fn: byAggregate("average", false)}
	m["lowest"] = &function{params: append(append([]param{}, nParams...), param{name: "func", kind: pStr, opt: true, def: "average", typ: "aggFunc"}), fn: byAggregate("", false)}
	m["sortBy"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "func", kind: pStr, opt: true, def: "average"}, {name: "reverse", kind: pBool, opt: true, def: false}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			agg, ok := aggFuncs[a[1].(string)]
			if !ok {
				return nil, errAt(call, "unsupported aggregation function %q", a[1])
			}
			l := series0(a)
			sortByKey(l, agg, a[2].(bool))
			return l, nil
		}}
	m["sortByTotal"] = &function{params: []param{{name: "seriesList", kind: pSeries}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			l := series0(a)
			sortByKey(l, aggFuncs["sum"], true)
			return l, nil
		}}
	m["sortByMinima"] = &function{params: []param{{name: "seriesList", kind: pSeries}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			var l []*Series
			for _, s := range series0(a) {
				if mx := reduce(aggFuncs["max"], s.points()); !isNone(mx) && mx > 0 {
					l = append(l, s)
				}
			}
			sortByKey(l, aggFuncs["min"], false)
			return l, nil
		}}
	natural := regexp.MustCompile(`\d+`)
	m["sortByName"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "natural", kind: pBool, opt: true, def: false}, {name: "reverse", kind: pBool, opt: true, def: false}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			l := series0(a)
			key := func(s *Series) string { return s.Name }
			if a[1].(bool) {
				key = func(s *Series) string {
					return natural.ReplaceAllStringFunc(s.Name, func(d string) string {
						if len(d) >= 10 {
							return d
						}
						return strings.Repeat("0", 10-len(d)) + d
					})
				}
			}
			rev := a[2].(bool)
			sort.SliceStable(l, func(i, j int) bool {
				if rev {
					return key(l[i]) > key(l[j])
				}
				return key(l[i]) < key(l[j])
			})
			return l, nil
		}}
	m["aliasSub"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "search", kind: pStr}, {name: "replace", kind: pStr}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			re, err := regexp.Compile(a[1].(string))
			if err != nil {
				return nil, errAt(call, "aliasSub: %v", err)
			}
			repl := pyReplacement(a[2].(string))
			for _, s := range series0(a) {
				s.Name = re.ReplaceAllString(s.Name, repl)
			}
			return series0(a), nil
		}}
	m["nPercentile"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "n", kind: pNum}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			n := a[1].(float64)
			if n == 0 {
				return nil, errAt(call, "nPercentile: the requested percent must be greater than 0")
			}
			var out []*Series
			for _, s := range series0(a) {
				pv := percentile(s.points(), n, false)
				if isNone(pv) {
					continue
				}
				count := int((s.End - s.Start) / s.Step)
				vals := make([]float64, max(count, 0))
				for i := range vals {
					vals[i] = pv
				}
				ns := s.copyWith(fmt.Sprintf("nPercentile(%s, %s)", s.Name, pyG(n)), vals)
				ns.Tags["nPercentile"] = pyFloat(n)
				ns.VPP = 1
				out = append(out, ns)
			}
			return out, nil
		}}
	removePct := func(above bool) func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
		return func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			n := a[1].(float64)
			fname := "removeBelowPercentile"
			if above {
				fname = "removeAbovePercentile"
			}
			for _, s := range series0(a) {
				s.Name = fmt.Sprintf("%s(%s, %s)", fname, s.Name, pyG(n))
				s.PathExpr = s.Name
				pv := percentile(s.points(), n, false)
				if isNone(pv) {
					continue
				}
				s.Tags["nPercentile"] = pyFloat(n) // graphite-web's nPercentile shares the tags
				perPoint([]*Series{s}, func(s *Series) string { return s.Name }, "", "", func(v []float64) {
					for i, x := range v {
						if above && x > pv || !above && (isNone(x) || x < pv) {
							v[i] = nan
						}
					}
				})
			}
			return series0(a), nil
		}
	}
	pParams := []param{{name: "seriesList", kind: pSeries}, {name: "n", kind: pNum}}
	m["removeAbovePercentile"] = &function{params: pParams, fn: removePct(true)}
	m["removeBelowPercentile"] = &function{params: pParams, fn: removePct(false)}
	m["percentileOfSeries"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "n", kind: pNum}, {name: "interpolate", kind: pBool, opt: true, def: false}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			l, n, interp := series0(a), a[1].(float64), a[2].(bool)
			if n <= 0 {
				return nil, errAt(call, "percentileOfSeries: the requested percent must be greater than 0")
			}
			if len(l) == 0 {
				return nil, nil
			}
			name := fmt.Sprintf("percentileOfSeries(%s,%s)", l[0].PathExpr, pyG(n))
			start, end, step, err := normalize(l)
			if err != nil {
				return nil, errAt(call, "percentileOfSeries: %v", err)
			}
			cols := make([][]float64, len(l))
			rows := 0
			for i, s := range l {
				cols[i] = s.points()
				rows = max(rows, len(cols[i]))
			}
			vals := make([]float64, rows)
			row := make([]float64, len(l))
			for r := range vals {
				for i, c := range cols {
					row[i] = nan
					if r < len(c) {
						row[i] = c[r]
					}
				}
				vals[r] = percentile(row, n, interp)
			}
			return []*Series{newSeries(name, start, end, step, vals, ec.xff, nil)}, nil
		}}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// safePow is graphite-web's: None for None, and where Python's math.pow
// raises (a negative base to a fraction, 0 to a negative power, overflow).
func safePow(x, y float64) float64 {
	if isNone(x) || isNone(y) {
		return nan
	}
	r := math.Pow(x, y)
	if math.IsInf(r, 0) && !math.IsInf(x, 0) && !math.IsInf(y, 0) {
		return nan
	}
	return r
}

var operators = map[string]func(v, t float64) bool{
	"=":  func(v, t float64) bool { return !isNone(v) && v == t },
	"!=": func(v, t float64) bool { return isNone(v) || v != t },
	">":  func(v, t float64) bool { return !isNone(v) && v > t },
	">=": func(v, t float64) bool { return !isNone(v) && v >= t },
	"<":  func(v, t float64) bool { return isNone(v) || v < t },
	"<=": func(v, t float64) bool { return isNone(v) || v <= t },
}

// filterSeries keeps the series whose aggregate over time passes op.
func filterSeries(l []*Series, fn, op string, threshold float64) []*Series {
	agg, f := aggFuncs[fn], operators[op]
	var out []*Series
	for _, s := range l {
		if f(reduce(agg, s.points()), threshold) {
			out = append(out, s)
		}
	}
	return out
}

// percentile is graphite-web's _getPercentile over the non-null points.
func percentile(points []float64, n float64, interpolate bool) float64 {
	var sorted []float64
	for _, p := range points {
		if !isNone(p) {
			sorted = append(sorted, p)
		}
	}
	if len(sorted) == 0 {
		return nan
	}
	sort.Float64s(sorted)
	frac := n / 100.0 * float64(len(sorted)+1)
	rank := int(frac)
	rankFrac := frac - float64(rank)
	if !interpolate {
		rank += int(math.Ceil(rankFrac))
	}
	var p float64
	switch {
	case rank == 0:
		p = sorted[0]
	case rank-1 == len(sorted):
		p = sorted[len(sorted)-1]
	case rank-1 > len(sorted) || rank < 0:
		return nan // Python would raise IndexError: n above 100
	default:
		p = sorted[rank-1]
	}
	if interpolate && rank != len(sorted) && rank < len(sorted) {
		p += rankFrac * (sorted[rank] - p)
	}
	return p
}

// pyReplacement turns a Python re.sub replacement ("\1", "\g<1>") into
// Go's ("${1}"), keeping a literal '$'.
func pyReplacement(r string) string {
	var b strings.Builder
	for i := 0; i < len(r); i++ {
		c := r[i]
		switch {
		case c == '$':
			b.WriteString("$$")
		case c == '\\' && i+1 < len(r) && r[i+1] >= '0' && r[i+1] <= '9':
			j := i + 1
			for j < len(r) && j < i+3 && r[j] >= '0' && r[j] <= '9' {
				j++
			}
			b.WriteString("${" + r[i+1:j] + "}")
			i = j - 1
		case c == '\\' && strings.HasPrefix(r[i:], `\g<`):
			if k := strings.IndexByte(r[i:], '>'); k > 0 {
				b.WriteString("${" + r[i+3:i+k] + "}")
				i += k
				continue
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// byAggregate is highest* (desc) and lowest*: the n series of the list
// whose aggregate fn (an empty fn: the function's third argument) is
// greatest or least.
func byAggregate(fn string, desc bool) func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
	return func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
		f := fn
		if f == "" {
			f = a[2].(string)
		}
		agg, ok := aggFuncs[f]
		if !ok {
			return nil, errAt(call, "unsupported aggregation function %q", f)
		}
		l := series0(a)
		sortByKey(l, agg, desc)
		return pySlice(l, a[1].(int)), nil
	}
}
