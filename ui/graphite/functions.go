package graphite

import (
	"fmt"
	"math"
	"sort"

	"rrdash/rpn"
)

// aggKernel folds the columns with an RPN column kernel (ADDNAN, MAXNAN,
// MINNAN: NaN only where every input is NaN); mean divides by the count
// of non-null values per row.
func aggKernel(word string, mean bool) func([][]float64, int) []float64 {
	k := rpn.ColumnOp(word)
	return func(cols [][]float64, n int) []float64 {
		out := make([]float64, n)
		tmp := make([]float64, n)
		pad := func(dst, c []float64) {
			copy(dst, c)
			for i := len(c); i < n; i++ {
				dst[i] = nan
			}
		}
		pad(out, cols[0])
		for _, c := range cols[1:] {
			pad(tmp, c)
			k(out, tmp)
		}
		if mean {
			for i := range out {
				if isNone(out[i]) {
					continue
				}
				nn := 0
				for _, c := range cols {
					if i < len(c) && !isNone(c[i]) {
						nn++
					}
				}
				out[i] /= float64(nn)
			}
		}
		return out
	}
}

func seriesVar() []param { return []param{{name: "seriesLists", kind: pSeriesVar}} }

func aggAlias(fn string) *function {
	return &function{params: seriesVar(), fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
		return aggregate(ec, call, flatten(a[0].([]any)), fn, nil)
	}}
}

func series0(a []any) []*Series { return a[0].([]*Series) }

// perPoint applies f to every point of every series and renames it.
func perPoint(list []*Series, name func(*Series) string, tag string, tagVal string, f func([]float64)) []*Series {
	for _, s := range list {
		if tag != "" {
			s.Tags[tag] = tagVal
		}
		s.Name = name(s)
		s.PathExpr = s.Name
		s.Values = s.points()
		s.Step *= int64(max(s.VPP, 1))
		s.VPP = 1
		f(s.Values)
	}
	return list
}

func buildFunctions() map[string]*function {
	m := map[string]*function{}
	for _, n := range []string{"sumSeries", "sum"} {
		m[n] = aggAlias("sum")
	}
	for _, n := range []string{"averageSeries", "avg"} {
		m[n] = aggAlias("average")
	}
	m["maxSeries"] = aggAlias("max")
	m["minSeries"] = aggAlias("min")
	m["aggregate"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "func", kind: pStr}, {name: "xFilesFactor", kind: pNum, opt: true}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			var x *float64
			if a[2] != nil {
				v := a[2].(float64)
				x = &v
			}
			return aggregate(ec, call, series0(a), a[1].(string), x)
		}}
	scaleK := rpn.ScalarOp("*")
	m["scale"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "factor", kind: pNum}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			f := a[1].(float64)
			return perPoint(series0(a), func(s *Series) string { return fmt.Sprintf("scale(%s,%s)", s.Name, pyG(f)) },
				"scale", pyFloat(f), func(v []float64) { scaleK(v, f) }), nil
		}}
	offsetK := rpn.ScalarOp("+")
	m["offset"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "factor", kind: pNum}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			f := a[1].(float64)
			return perPoint(series0(a), func(s *Series) string { return fmt.Sprintf("offset(%s,%s)", s.Name, pyG(f)) },
				"offset", pyFloat(f), func(v []float64) { offsetK(v, f) }), nil
		}}
	absK := rpn.UnaryOp("ABS")
	m["absolute"] = &function{params: []param{{name: "seriesList", kind: pSeries}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			return perPoint(series0(a), func(s *Series) string { return fmt.Sprintf("absolute(%s)", s.Name) }, "absolute", "1", absK), nil
		}}
	m["derivative"] = &function{params: []param{{name: "seriesList", kind: pSeries}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			return perPoint(series0(a), func(s *Series) string { return fmt.Sprintf("derivative(%s)", s.Name) }, "derivative", "1",
				func(v []float64) {
					prev := nan
					for i, x := range v {
						d := x - prev
						prev = x
						v[i] = d // None on either side gives NaN
					}
				}), nil
		}}
	nnd := func(perSec bool) *function {
		return &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "maxValue", kind: pNum, opt: true}, {name: "minValue", kind: pNum, opt: true}},
			fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
				maxV, minV := optNum(a[1]), optNum(a[2])
				fname := "nonNegativeDerivative"
				if perSec {
					fname = "perSecond"
				}
				for _, s := range series0(a) {
					step := float64(s.Step * int64(max(s.VPP, 1)))
					perPoint([]*Series{s}, func(s *Series) string { return fmt.Sprintf("%s(%s)", fname, s.Name) }, fname, "1",
						func(v []float64) {
							prev := nan
							for i, x := range v {
								var d float64
								d, prev = nonNegativeDelta(x, prev, maxV, minV)
								if perSec && !isNone(d) {
									d = roundHalfEven(d/step, 6)
								}
								v[i] = d
							}
						})
				}
				return series0(a), nil
			}}
	}
	m["nonNegativeDerivative"] = nnd(false)
	m["perSecond"] = nnd(true)
	m["integral"] = &function{params: []param{{name: "seriesList", kind: pSeries}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			return perPoint(series0(a), func(s *Series) string { return fmt.Sprintf("integral(%s)", s.Name) }, "integral", "1",
				func(v []float64) {
					cur := 0.0
					for i, x := range v {
						if !isNone(x) {
							cur += x
							v[i] = cur
						}
					}
				}), nil
		}}
	m["keepLastValue"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "limit", kind: pNum, opt: true, def: inf, typ: "intOrInf"}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			limit := a[1].(float64)
			return perPoint(series0(a), func(s *Series) string { return fmt.Sprintf("keepLastValue(%s)", s.Name) }, "", "",
				func(v []float64) {
					nones := 0
					last := nan
					for i, x := range v {
						if isNone(x) {
							nones++
							continue
						}
						if nones > 0 && float64(nones) <= limit && !isNone(last) {
							for j := i - nones; j < i; j++ {
								v[j] = last
							}
						}
						nones, last = 0, x
					}
					if nones > 0 && float64(nones) <= limit && !isNone(last) {
						for j := len(v) - nones; j < len(v); j++ {
							v[j] = last
						}
					}
				}), nil
		}}
	m["transformNull"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "default", kind: pNum, opt: true, def: 0.0}, {name: "referenceSeries", kind: pSeries, opt: true}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			def := a[1].(float64)
			var defaults []float64
			ref, hasRef := a[2].([]*Series)
			if hasRef && len(ref) > 0 {
				n := 0
				cols := make([][]float64, len(ref))
				for i, r := range ref {
					cols[i] = r.points()
					n = max(n, len(cols[i]))
				}
				defaults = make([]float64, n)
				for i := range defaults {
					defaults[i] = nan
					for _, c := range cols {
						if i < len(c) && !isNone(c[i]) {
							defaults[i] = def
							break
						}
					}
				}
			}
			if hasRef && len(ref) > 0 {
				for _, s := range series0(a) {
					s.Tags["referenceSeries"] = "1"
				}
			}
			return perPoint(series0(a), func(s *Series) string {
				if hasRef && len(ref) > 0 {
					return fmt.Sprintf("transformNull(%s,%s,referenceSeries)", s.Name, pyG(def))
				}
				return fmt.Sprintf("transformNull(%s,%s)", s.Name, pyG(def))
			}, "transformNull", tagNum(call, 1, "0"), func(v []float64) {
				for i, x := range v {
					if isNone(x) {
						if defaults != nil {
							if i < len(defaults) {
								v[i] = defaults[i]
							}
						} else {
							v[i] = def
						}
					}
				}
			}), nil
		}}
	m["removeBelowValue"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "n", kind: pNum}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			n := a[1].(float64)
			return perPoint(series0(a), func(s *Series) string { return fmt.Sprintf("removeBelowValue(%s, %s)", s.Name, pyG(n)) }, "", "",
				func(v []float64) {
					for i, x := range v {
						if x < n {
							v[i] = nan
						}
					}
				}), nil
		}}
	m["removeAboveValue"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "n", kind: pNum}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			n := a[1].(float64)
			return perPoint(series0(a), func(s *Series) string { return fmt.Sprintf("removeAboveValue(%s, %s)", s.Name, pyG(n)) }, "", "",
				func(v []float64) {
					for i, x := range v {
						if x > n {
							v[i] = nan
						}
					}
				}), nil
		}}
	m["alias"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "newName", kind: pStr}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			for _, s := range series0(a) {
				s.Name = a[1].(string)
			}
			return series0(a), nil
		}}
	m["aliasByNode"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "nodes", kind: pNodeVar}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			nodes, _ := a[1].([]any)
			for _, s := range series0(a) {
				s.Name = nodeKey(s, nodes)
			}
			return series0(a), nil
		}}
	m["aliasByMetric"] = &function{params: []param{{name: "seriesList", kind: pSeries}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			for _, s := range series0(a) {
				s.Name = substr(s.Name, -1, 0)
			}
			return series0(a), nil
		}}
	m["consolidateBy"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "consolidationFunc", kind: pStr}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			f := a[1].(string)
			if _, ok := consFuncs[f]; !ok {
				return nil, errAt(call, "consolidateBy: invalid consolidation function %q (want sum, average, avg, avg_zero, min, max, first or last)", f)
			}
			for _, s := range series0(a) {
				s.ConsFunc = f
				s.Tags["consolidateBy"] = f
				s.Name = fmt.Sprintf(`consolidateBy(%s,"%s")`, s.Name, f)
				s.PathExpr = s.Name
			}
			return series0(a), nil
		}}
	m["limit"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "n", kind: pInt}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			l, n := series0(a), a[1].(int)
			return pySlice(l, n), nil
		}}
	m["sortByMaxima"] = &function{params: []param{{name: "seriesList", kind: pSeries}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			l := series0(a)
			sortByKey(l, aggFuncs["max"], true)
			return l, nil
		}}
	nParams := []param{{name: "seriesList", kind: pSeries}, {name: "n", kind: pInt}}
	m["highestCurrent"] = &function{params: nParams, fn: byAggregate("current", true)}
	m["highestAverage"] = &function{params: nParams, fn: byAggregate("average", true)}
	m["highestMax"] = &function{params: nParams, fn: byAggregate("max", true)}
	m["highest"] = &function{params: append(append([]param{}, nParams...), param{name: "func", kind: pStr, opt: true, def: "average", typ: "aggFunc"}), fn: byAggregate("", true)}
	m["groupByNode"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "nodeNum", kind: pNode, typ: "nodeOrTag"}, {name: "callback", kind: pStr, opt: true, def: "average", typ: "aggOrSeriesFunc"}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			nodes := []any{a[1]}
			return aggregateByKey(ec, call, series0(a), a[2].(string), func(s *Series) string { return nodeKey(s, nodes) })
		}}
	m["groupByNodes"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "callback", kind: pStr, typ: "aggOrSeriesFunc"}, {name: "nodes", kind: pNodeVar, opt: true}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			nodes, _ := a[2].([]any)
			return aggregateByKey(ec, call, series0(a), a[1].(string), func(s *Series) string { return nodeKey(s, nodes) })
		}}
	withWildcards := func(fn string) func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
		return func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			f, posIdx := fn, 1
			if f == "" {
				f, posIdx = a[1].(string), 2
			}
			pos := map[int]bool{}
			raw, _ := a[posIdx].([]any)
			for _, p := range raw {
				i, ok := p.(int)
				if !ok {
					return nil, errAt(call, "%s: positions must be integers", call.Func)
				}
				pos[i] = true
			}
			return aggregateByKey(ec, call, series0(a), f, func(s *Series) string {
				parts := splitDots(s.Name)
				var keep []string
				for i, p := range parts {
					if !pos[i] {
						keep = append(keep, p)
					}
				}
				return joinDots(keep)
			})
		}
	}
	posParams := []param{{name: "seriesList", kind: pSeries}, {name: "position", kind: pNodeVar, opt: true, typ: "node"}}
	m["sumSeriesWithWildcards"] = &function{params: posParams, fn: withWildcards("sum")}
	m["averageSeriesWithWildcards"] = &function{params: posParams, fn: withWildcards("average")}
	m["multiplySeriesWithWildcards"] = &function{params: posParams, fn: withWildcards("multiply")}
	m["aggregateWithWildcards"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "func", kind: pStr, typ: "aggFunc"}, {name: "position", kind: pNodeVar, opt: true, typ: "node"}}, fn: withWildcards("")}
	m["divideSeries"] = &function{params: []param{{name: "dividendSeriesList", kind: pSeries}, {name: "divisorSeries", kind: pSeries}}, fn: divideSeries}
	m["asPercent"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "total", kind: pSeriesOrNum, opt: true}, {name: "nodes", kind: pNodeVar, opt: true}}, fn: asPercent}
	m["pct"] = m["asPercent"]
	m["movingAverage"] = movingWindowFunc("average")
	m["movingSum"] = movingWindowFunc("sum")
	m["movingMin"] = movingWindowFunc("min")
	m["movingMax"] = movingWindowFunc("max")
	m["movingMedian"] = movingWindowFunc("median")
	m["movingWindow"] = movingWindowFunc("")
	m["timeShift"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "timeShift", kind: pStr, typ: "interval"}, {name: "resetEnd", kind: pBool, opt: true, def: true}, {name: "alignDST", kind: pBool, opt: true, def: false}}, fn: timeShift}
	m["summarize"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "intervalString", kind: pStr, typ: "interval"}, {name: "func", kind: pStr, opt: true, def: "sum"}, {name: "alignToFrom", kind: pBool, opt: true, def: false}}, fn: summarize}
	m["hitcount"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "intervalString", kind: pStr, typ: "interval"}, {name: "alignToInterval", kind: pBool, opt: true, def: false}}, fn: hitcount}
	m["constantLine"] = &function{params: []param{{name: "value", kind: pNum}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			v := a[0].(float64)
			name := pyFloat(v) // graphite-web's params make it a float: "100.0"
			step := (ec.until - ec.from) / 2
			s := newSeries(name, ec.from, ec.until, step, []float64{v, v, v}, ec.xff, nil)
			s.PathExpr = "constantLine(" + name + ")"
			return []*Series{s}, nil
		}}
	addFilterFunctions(m)
	addCombineFunctions(m)
	addTransformFunctions(m)
	addSelectFunctions(m)
	addForecastFunctions(m)
	addPresentationFunctions(m)
	return m
}

func optNum(v any) *float64 {
	if f, ok := v.(float64); ok {
		return &f
	}
	return nil
}

// tagNum is a float parameter's tag text: graphite-web's parameter
// checks make a given number a float ("2.0"); an omitted one keeps the
// Python default (def).
func tagNum(call *Expr, i int, def string) string {
	if i < len(call.Args) && call.Args[i].Kind == KindNumber {
		return pyFloat(call.Args[i].Num)
	}
	for _, k := range call.Kwargs {
		if k.Value.Kind == KindNumber && i == 1 && k.Name == "default" {
			return pyFloat(k.Value.Num)
		}
	}
	return def
}

// argText is the Python str() of a numeric argument (for tags).
func argText(call *Expr, i int) string {
	if i < len(call.Args) && call.Args[i].Kind == KindNumber {
		return pyStr(call.Args[i].Num, call.Args[i].IsInt)
	}
	return ""
}

// nonNegativeDelta is graphite-web's _nonNegativeDelta.
func nonNegativeDelta(val, prev float64, maxV, minV *float64) (float64, float64) {
	if maxV != nil && !isNone(val) && val > *maxV {
		return nan, nan
	}
	if minV != nil && !isNone(val) && val < *minV {
		return nan, nan
	}
	if isNone(prev) || isNone(val) {
		return nan, val
	}
	if val >= prev {
		return val - prev, val
	}
	if maxV != nil {
		m := 0.0
		if minV != nil {
			m = *minV
		}
		return *maxV + 1 + val - prev - m, val
	}
	if minV != nil {
		return val - *minV, val
	}
	return nan, val
}

// roundHalfEven rounds to d decimals as Python's round() on floats does
// (correctly rounded from the exact binary value).
func roundHalfEven(v float64, d int) float64 {
	if isNone(v) || math.IsInf(v, 0) {
		return v
	}
	s := fmt.Sprintf("%.*f", d, v) // Go formats from the exact value, rounding half to even
	r, err := parseFloat(s)
	if err != nil {
		return v
	}
	return r
}

// pySlice is l[:n] with Python's negative n.
func pySlice(l []*Series, n int) []*Series {
	if n < 0 {
		n += len(l)
	}
	n = max(0, min(n, len(l)))
	return l[:n]
}

// sortByKey sorts stably by an aggregate of each series' points (None
// sorts as -inf), as keyFunc; Python's sort is stable even reversed.
func sortByKey(l []*Series, agg func([][]float64, int) []float64, desc bool) {
	keys := make(map[*Series]float64, len(l))
	for _, s := range l {
		k := reduce(agg, s.points())
		if isNone(k) {
			k = math.Inf(-1)
		}
		keys[s] = k
	}
	sort.SliceStable(l, func(i, j int) bool {
		if desc {
			return keys[l[i]] > keys[l[j]]
		}
		return keys[l[i]] < keys[l[j]]
	})
}

// reduce applies a row aggregation to the points of one series (each
// point a column of one row): max, average, last… over time.
func reduce(agg func([][]float64, int) []float64, p []float64) float64 {
	if len(p) == 0 {
		return nan
	}
	cols := make([][]float64, len(p))
	for i := range p {
		cols[i] = p[i : i+1]
	}
	return agg(cols, 1)[0]
}
