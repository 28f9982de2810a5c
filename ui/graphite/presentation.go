package graphite

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// addPresentationFunctions adds graphite-web's naming, normalising and
// graph-style functions. color, lineWidth and alpha only style a drawn
// graph (Series.Style): the data formats do not show them, as in
// graphite-web.
func addPresentationFunctions(m map[string]*function) {
	style := func(set func(st *Style, a []any) error) func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
		return func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			for _, s := range series0(a) {
				if err := set(&s.Style, a); err != nil {
					return nil, &EvalError{Pos: call.Pos, Msg: fmt.Sprintf("%s: %v", call.Func, err)}
				}
			}
			return series0(a), nil
		}
	}
	m["color"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "theColor", kind: pStr}},
		fn: style(func(st *Style, a []any) error {
			if _, err := parseGraphiteColor(a[1].(string), 0); err != nil {
				return err
			}
			st.Color = a[1].(string)
			return nil
		})}
	m["lineWidth"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "width", kind: pNum}},
		fn: style(func(st *Style, a []any) error {
			if w := a[1].(float64); w > 0 {
				st.LineWidth = w
				return nil
			}
			return fmt.Errorf("width %v: want a positive number", a[1])
		})}
	m["alpha"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "alpha", kind: pNum}},
		fn: style(func(st *Style, a []any) error {
			if v := a[1].(float64); v >= 0 && v <= 1 {
				st.Alpha = v
				return nil
			}
			return fmt.Errorf("alpha %v: want a number from 0 to 1", a[1])
		})}
	rename := func(format, tag string) func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
		return func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			for _, s := range series0(a) {
				s.Tags[tag] = "1"
				s.Name = fmt.Sprintf(format, s.Name)
			}
			return series0(a), nil
		}
	}
	m["secondYAxis"] = &function{params: []param{{name: "seriesList", kind: pSeries}}, fn: rename("secondYAxis(%s)", "secondYAxis")}
	m["drawAsInfinite"] = &function{params: []param{{name: "seriesList", kind: pSeries}}, fn: rename("drawAsInfinite(%s)", "drawAsInfinite")}
	m["dashed"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "dashLength", kind: pInt, opt: true, def: 5}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			d := a[1].(int)
			for _, s := range series0(a) {
				s.Tags["dashed"] = strconv.Itoa(d)
				s.Name = fmt.Sprintf("dashed(%s, %s)", s.Name, pyG(float64(d)))
			}
			return series0(a), nil
		}}
	m["substr"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "start", kind: pInt, opt: true, def: 0, typ: "node"}, {name: "stop", kind: pInt, opt: true, def: 0, typ: "node"}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			for _, s := range series0(a) {
				s.Name = substr(s.Name, a[1].(int), a[2].(int))
			}
			return series0(a), nil
		}}
	m["scaleToSeconds"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "seconds", kind: pNum}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			sec := a[1].(float64)
			for _, s := range series0(a) {
				factor := sec / float64(s.Step)
				perPoint([]*Series{s}, func(s *Series) string { return fmt.Sprintf("scaleToSeconds(%s,%d)", s.Name, int64(sec)) }, "scaleToSeconds", pyFloat(sec),
					func(v []float64) {
						for i, x := range v {
							if !isNone(x) {
								v[i] = roundHalfEven(x*factor, 6)
							}
						}
					})
			}
			return series0(a), nil
		}}
	m["offsetToZero"] = &function{params: []param{{name: "seriesList", kind: pSeries}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			for _, s := range series0(a) {
				lo := reduce(aggFuncs["min"], s.points())
				tag := "None"
				if !isNone(lo) {
					tag = pyFloat(lo)
				}
				perPoint([]*Series{s}, func(s *Series) string { return fmt.Sprintf("offsetToZero(%s)", s.Name) }, "offsetToZero", tag,
					func(v []float64) {
						for i, x := range v {
							v[i] = x - lo
						}
					})
			}
			return series0(a), nil
		}}
	m["minMax"] = &function{params: []param{{name: "seriesList", kind: pSeries}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			for _, s := range series0(a) {
				p := s.points()
				lo, hi := reduce(aggFuncs["min"], p), reduce(aggFuncs["max"], p)
				if isNone(lo) {
					lo, hi = 0, 0
				}
				perPoint([]*Series{s}, func(s *Series) string { return fmt.Sprintf("minMax(%s)", s.Name) }, "", "",
					func(v []float64) {
						for i, x := range v {
							switch {
							case isNone(x):
							case hi == lo:
								v[i] = 0
							default:
								v[i] = (x - lo) / (hi - lo)
							}
						}
					})
			}
			return series0(a), nil
		}}
	m["integralByInterval"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "intervalUnit", kind: pStr}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			unit := a[1].(string)
			d, err := intervalSeconds(call, unit)
			if err != nil {
				return nil, err
			}
			d = abs64(d)
			if d == 0 {
				return nil, errAt(call, "integralByInterval: the interval must not be 0")
			}
			var out []*Series
			for _, s := range series0(a) {
				p := s.points()
				vals := make([]float64, len(p))
				t, cur := s.Start, 0.0
				for i, v := range p {
					if floorDiv(t-ec.from, d) != floorDiv(t-ec.from-s.Step, d) {
						cur = 0
					}
					if !isNone(v) {
						cur += v
					}
					vals[i] = cur
					t += s.Step
				}
				ns := s.copyWith(fmt.Sprintf("integralByInterval(%s,'%s')", s.Name, unit), vals)
				ns.Tags["integralByInterval"] = unit
				ns.VPP = 1
				out = append(out, ns)
			}
			return out, nil
		}}
	m["interpolate"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "limit", kind: pNum, opt: true, def: inf, typ: "intOrInf"}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			limit := a[1].(float64)
			return perPoint(series0(a), func(s *Series) string { return fmt.Sprintf("interpolate(%s)", s.Name) }, "", "",
				func(v []float64) {
					nones := 0
					for i, x := range v {
						if i == 0 {
							continue
						}
						switch {
						case isNone(x):
							nones++
						case nones == 0:
						case isNone(v[i-nones-1]):
							nones = 0
						default:
							if float64(nones) <= limit {
								base := v[i-nones-1]
								for j := i - nones; j < i; j++ {
									v[j] = base + float64(j-(i-nones-1))*(x-base)/float64(nones+1)
								}
							}
							nones = 0
						}
					}
				}), nil
		}}
	m["threshold"] = &function{params: []param{{name: "value", kind: pNum}, {name: "label", kind: pStr, opt: true}, {name: "color", kind: pStr, opt: true}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			v := a[0].(float64)
			name := pyFloat(v)
			s := newSeries(name, ec.from, ec.until, (ec.until-ec.from)/2, []float64{v, v, v}, ec.xff, nil)
			s.PathExpr = "constantLine(" + name + ")"
			if l, _ := a[1].(string); l != "" {
				s.Name = l
			}
			return []*Series{s}, nil
		}}
	m["aliasByTags"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "tags", kind: pNodeVar}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			nodes, _ := a[1].([]any)
			for _, s := range series0(a) {
				s.Name = nodeKey(s, nodes)
			}
			return series0(a), nil
		}}
	m["groupByTags"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "callback", kind: pStr, typ: "aggOrSeriesFunc"}, {name: "tags", kind: pNodeVar, typ: "tag"}},
		fn: groupByTags}
	m["group"] = &function{params: []param{{name: "seriesLists", kind: pSeriesVar, opt: true}}, fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
		return flatten(asList(a[0])), nil
	}}
	m["removeEmptySeries"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "xFilesFactor", kind: pNum, opt: true}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			x, _ := a[1].(float64)
			var out []*Series
			for _, s := range series0(a) {
				p := s.points()
				nn := 0
				for _, v := range p {
					if !isNone(v) {
						nn++
					}
				}
				if nn > 0 && float64(nn)/float64(len(p)) >= x {
					out = append(out, s)
				}
			}
			return out, nil
		}}
	m["fallbackSeries"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "fallback", kind: pSeries}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			if len(series0(a)) > 0 {
				return series0(a), nil
			}
			return a[1].([]*Series), nil
		}}
	m["cumulative"] = &function{params: []param{{name: "seriesList", kind: pSeries}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			for _, s := range series0(a) {
				s.ConsFunc = "sum"
				s.Tags["consolidateBy"] = "sum"
				s.Name = fmt.Sprintf(`consolidateBy(%s,"sum")`, s.Name)
				s.PathExpr = s.Name
			}
			return series0(a), nil
		}}
	m["add"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "constant", kind: pNum}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			c := a[1].(float64)
			return perPoint(series0(a), func(s *Series) string { return fmt.Sprintf("add(%s,%d)", s.Name, int64(c)) }, "add", pyFloat(c),
				func(v []float64) {
					for i := range v {
						v[i] += c
					}
				}), nil
		}}
	m["round"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "precision", kind: pInt, opt: true}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			prec, given := a[1].(int)
			if prec < 0 {
				return nil, errAt(call, "round: a negative precision is not supported")
			}
			return perPoint(series0(a), func(s *Series) string {
				if given {
					return fmt.Sprintf("round(%s,%d)", s.Name, prec)
				}
				return fmt.Sprintf("round(%s)", s.Name)
			}, "round", strconv.Itoa(prec), func(v []float64) {
				for i, x := range v {
					v[i] = roundHalfEven(x, prec)
				}
			}), nil
		}}
	m["unique"] = &function{params: seriesVar(), fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
		seen := map[string]bool{}
		var out []*Series
		for _, s := range flatten(a[0].([]any)) {
			if !seen[s.Name] {
				seen[s.Name] = true
				out = append(out, s)
			}
		}
		return out, nil
	}}
}

func floorDiv(a, b int64) int64 {
	q, _ := divmod(a, b)
	return q
}

// groupByTags is graphite-web's: groups keyed "name;tag=value…" (tags
// sorted), each aggregated by the callback, named and tagged by its key.
func groupByTags(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
	list, cb := series0(a), a[1].(string)
	raw, _ := a[2].([]any)
	if len(raw) == 0 {
		return nil, errAt(call, "groupByTags(): no tags specified")
	}
	var tags []string
	byName := false
	for _, t := range raw {
		s, ok := t.(string)
		if !ok {
			return nil, errAt(call, "groupByTags: tags must be quoted names")
		}
		if s == "name" {
			byName = true
		}
		tags = append(tags, s)
	}
	name := cb
	if !byName {
		names := map[string]bool{}
		for _, s := range list {
			names[s.Tags["name"]] = true
		}
		if len(names) == 1 {
			for n := range names {
				name = n
			}
		}
	}
	var keys []string
	groups := map[string][]*Series{}
	for _, s := range list {
		var parts []string
		for _, t := range tags {
			if t != "name" {
				parts = append(parts, t+"="+s.Tags[t])
			}
		}
		sort.Strings(parts)
		head := name
		if byName {
			head = s.Tags["name"]
		}
		k := strings.Join(append([]string{head}, parts...), ";")
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], s)
	}
	var out []*Series
	for _, k := range keys {
		r, err := aggregate(ec, call, groups[k], cb, nil)
		if err != nil {
			return nil, err
		}
		if len(r) == 0 {
			continue
		}
		r[0].Name, r[0].PathExpr, r[0].Tags = k, k, parseTags(k)
		out = append(out, r[0])
	}
	return out, nil
}
