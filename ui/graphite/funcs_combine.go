package graphite

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// maxTextDepth bounds targets built from text inside targets
// (applyByNode, useSeriesAbove, aliasQuery) nested in one another.
const maxTextDepth = 8

// reEval evaluates the call's series argument again over another range,
// as graphite-web's functions that read before from do
// (requestContext['args'][0]).
func (ec *evalContext) reEval(call *Expr, from, until int64) ([]*Series, error) {
	if len(call.Args) == 0 {
		return nil, errAt(call, "%s needs its series list written as its first argument (it reads it again over a longer range)", call.Func)
	}
	return ec.withRange(from, until).evalSeries(call.Args[0])
}

// evalText parses and evaluates a target a function builds from text.
func (ec *evalContext) evalText(call *Expr, target string) ([]*Series, error) {
	if ec.depth >= maxTextDepth {
		return nil, errAt(call, "%s: targets built from text nest deeper than %d", call.Func, maxTextDepth)
	}
	e, err := Parse(target)
	if err != nil {
		return nil, errAt(call, "%s: target %q: %v", call.Func, target, err)
	}
	c := *ec
	c.depth++
	return c.evalSeries(e)
}

// callWithLists calls a function by name with series lists as its
// positional arguments, the rest at their defaults (reduceSeries).
func (ec *evalContext) callWithLists(call *Expr, name string, lists [][]*Series) ([]*Series, error) {
	f, ok := ec.funcs[name]
	if !ok {
		return nil, errAt(call, "%s: unknown function %s", call.Func, name)
	}
	a := make([]any, len(f.params))
	i := 0
	for pi, p := range f.params {
		switch p.kind {
		case pSeries, pSeriesOrNum:
			if i < len(lists) {
				a[pi] = lists[i]
				i++
				continue
			}
		case pSeriesVar:
			if i < len(lists) {
				var rest []any
				for ; i < len(lists); i++ {
					rest = append(rest, lists[i])
				}
				a[pi] = rest
				continue
			}
		}
		if !p.opt {
			return nil, errAt(call, "%s: %s needs argument %s, which %s cannot give", call.Func, name, p.name, call.Func)
		}
		a[pi] = p.def
	}
	if i < len(lists) {
		return nil, errAt(call, "%s: %s takes %d series lists, given %d", call.Func, name, i, len(lists))
	}
	return f.fn(ec, &Expr{Kind: KindCall, Pos: call.Pos, Func: name, Raw: name + "()"}, a)
}

// pairUp checks two lists have the same length (the *SeriesLists family).
func pairUp(call *Expr, l1, l2 []*Series) error {
	if len(l1) != len(l2) {
		return errAt(call, "%s: both series lists must have the same length (%d and %d)", call.Func, len(l1), len(l2))
	}
	return nil
}

func aggregateSeriesLists(ec *evalContext, call *Expr, l1, l2 []*Series, fn string, xff *float64) ([]*Series, error) {
	if err := pairUp(call, l1, l2); err != nil {
		return nil, err
	}
	var out []*Series
	for i := range l1 {
		names := fmt.Sprintf("Series(%s,%s)", l1[i].Name, l2[i].Name)
		r, err := aggregate(ec, call, []*Series{l1[i], l2[i]}, fn, xff)
		if err != nil {
			return nil, err
		}
		if len(r) == 0 {
			continue
		}
		n := r[0].Name
		r[0].Name = n[:strings.Index(n, "Series(")] + names
		out = append(out, r[0])
	}
	return out, nil
}

// rowFold normalizes the series and folds each row left to right with f
// (None past a series' end), as powSeries does.
func rowFold(ec *evalContext, call *Expr, list []*Series, name string, f func(acc, v float64) float64) ([]*Series, error) {
	if len(list) == 0 {
		return nil, nil
	}
	start, end, step, err := normalize(list)
	if err != nil {
		return nil, errAt(call, "%s: %v", call.Func, err)
	}
	cols := make([][]float64, len(list))
	n := 0
	for i, s := range list {
		cols[i] = s.points()
		n = max(n, len(cols[i]))
	}
	vals := make([]float64, n)
	for r := range vals {
		acc := nan
		for i, c := range cols {
			v := nan
			if r < len(c) {
				v = c[r]
			}
			if i == 0 {
				acc = v
			} else {
				acc = f(acc, v)
			}
		}
		vals[r] = acc
	}
	return []*Series{newSeries(name, start, end, step, vals, ec.xff, nil)}, nil
}

func addCombineFunctions(m map[string]*function) {
	listsParams := func(extra ...param) []param {
		return append([]param{{name: "seriesListFirstPos", kind: pSeries}, {name: "seriesListSecondPos", kind: pSeries}}, extra...)
	}
	m["aggregateSeriesLists"] = &function{params: listsParams(param{name: "func", kind: pStr, typ: "aggFunc"}, param{name: "xFilesFactor", kind: pNum, opt: true}),
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			return aggregateSeriesLists(ec, call, series0(a), a[1].([]*Series), a[2].(string), optNum(a[3]))
		}}
	for fname, agg := range map[string]string{"sumSeriesLists": "sum", "diffSeriesLists": "diff", "multiplySeriesLists": "multiply"} {
		m[fname] = &function{params: listsParams(), fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			return aggregateSeriesLists(ec, call, series0(a), a[1].([]*Series), agg, nil)
		}}
	}
	m["divideSeriesLists"] = &function{params: []param{{name: "dividendSeriesList", kind: pSeries}, {name: "divisorSeriesList", kind: pSeries}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			l1, l2 := series0(a), a[1].([]*Series)
			if err := pairUp(call, l1, l2); err != nil {
				return nil, err
			}
			out := make([]*Series, 0, len(l1))
			for i := range l1 {
				start, end, step, err := normalize([]*Series{l1[i], l2[i]})
				if err != nil {
					return nil, errAt(call, "divideSeriesLists: %v", err)
				}
				vals := zipLongest(l1[i].points(), l2[i].points(), safeDiv)
				out = append(out, newSeries(fmt.Sprintf("divideSeries(%s,%s)", l1[i].Name, l2[i].Name), start, end, step, vals, ec.xff, nil))
			}
			return out, nil
		}}
	m["powSeries"] = &function{params: []param{{name: "seriesList", kind: pSeriesVar}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			list := flatten(a[0].([]any))
			names := make([]string, len(list))
			for i, s := range list {
				names[i] = s.Name
			}
			return rowFold(ec, call, list, fmt.Sprintf("powSeries(%s)", strings.Join(names, ",")), safePow)
		}}
	m["weightedAverage"] = &function{params: []param{{name: "seriesListAvg", kind: pSeries}, {name: "seriesListWeight", kind: pSeries}, {name: "nodes", kind: pNodeVar, opt: true, typ: "nodeOrTag"}},
		fn: weightedAverage}
	// mapSeries gives a list of series lists; rrdash's lists are flat, so
	// it gives the groups one after another, which is what reduceSeries
	// (its only use) reads.
	mapF := &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "mapNodes", kind: pNodeVar, typ: "nodeOrTag"}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			nodes, _ := a[1].([]any)
			var keys []string
			groups := map[string][]*Series{}
			for _, s := range series0(a) {
				k := nodeKey(s, nodes)
				if _, ok := groups[k]; !ok {
					keys = append(keys, k)
				}
				groups[k] = append(groups[k], s)
			}
			var out []*Series
			for _, k := range keys {
				out = append(out, groups[k]...)
			}
			return out, nil
		}}
	m["mapSeries"], m["map"] = mapF, mapF
	reduceF := &function{params: []param{{name: "seriesLists", kind: pSeries, typ: "seriesLists"}, {name: "reduceFunction", kind: pStr}, {name: "reduceNode", kind: pInt, typ: "node"}, {name: "reduceMatchers", kind: pNodeVar, typ: "string"}},
		fn: reduceSeries}
	m["reduceSeries"], m["reduce"] = reduceF, reduceF
	m["applyByNode"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "nodeNum", kind: pInt, typ: "node"}, {name: "templateFunction", kind: pStr}, {name: "newName", kind: pStr, opt: true}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			list, nodeNum, tmpl := series0(a), a[1].(int), a[2].(string)
			newName, _ := a[3].(string)
			if len(list) == 0 {
				return nil, nil
			}
			seen := map[string]bool{}
			var prefixes []string
			for _, s := range list {
				parts := strings.Split(s.Name, ".")
				p := strings.Join(parts[:pyIndex(nodeNum+1, len(parts))], ".")
				if !seen[p] {
					seen[p] = true
					prefixes = append(prefixes, p)
				}
			}
			sort.Strings(prefixes)
			last := list[len(list)-1] // graphite-web uses the loop's last series
			var out []*Series
			for _, p := range prefixes {
				res, err := ec.evalText(call, strings.ReplaceAll(tmpl, "%", p))
				if err != nil {
					return nil, err
				}
				for _, r := range res {
					if newName != "" {
						r.Name = strings.ReplaceAll(newName, "%", p)
					}
					r.PathExpr = p
					r.Start, r.End = last.Start, last.End
					out = append(out, r)
				}
			}
			return out, nil
		}}
}

func weightedAverage(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
	avgs, weights := series0(a), a[1].([]*Series)
	nodes, _ := a[2].([]any)
	if len(avgs) != len(weights) {
		return nil, errAt(call, "weightedAverage must receive the same number of series for seriesListAvg and seriesListWeight but received respectively %d and %d", len(avgs), len(weights))
	}
	type pair struct{ avg, weight *Series }
	var keys []string
	byKey := map[string]*pair{}
	get := func(k string) *pair {
		p, ok := byKey[k]
		if !ok {
			p = &pair{}
			byKey[k] = p
			keys = append(keys, k)
		}
		return p
	}
	for i := range avgs {
		get(nodeKey(avgs[i], nodes)).avg = avgs[i]
		get(nodeKey(weights[i], nodes)).weight = weights[i]
	}
	var products []*Series
	for _, k := range keys {
		p := byKey[k]
		if p.avg == nil || p.weight == nil {
			continue
		}
		vals := zipLongest(p.avg.points(), p.weight.points(), func(x, y float64) float64 { return x * y }) // None on either side is None
		products = append(products, newSeries(fmt.Sprintf("product(%s,%s)", p.weight.Name, p.avg.Name), p.avg.Start, p.avg.End, p.avg.Step, vals, ec.xff, nil))
	}
	if len(products) == 0 {
		return nil, nil
	}
	sp, err := aggregate(ec, call, products, "sum", nil)
	if err != nil {
		return nil, err
	}
	sw, err := aggregate(ec, call, weights, "sum", nil)
	if err != nil {
		return nil, err
	}
	vals := zipLongest(sp[0].Values, sw[0].Values, safeDiv)
	sortedExprs := func(l []*Series) string {
		seen := map[string]bool{}
		var out []string
		for _, s := range l {
			if !seen[s.PathExpr] {
				seen[s.PathExpr] = true
				out = append(out, s.PathExpr)
			}
		}
		sort.Strings(out)
		return strings.Join(out, ",")
	}
	name := fmt.Sprintf("weightedAverage(%s, %s, %s)", sortedExprs(avgs), sortedExprs(weights), nodeList(nodes))
	return []*Series{newSeries(name, sp[0].Start, sp[0].End, sp[0].Step, vals, ec.xff, nil)}, nil
}

// reduceSeries groups by the name's nodes before reduceNode and calls the
// function with one list per matcher, in the matchers' order.
func reduceSeries(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
	list, fn, node := series0(a), a[1].(string), a[2].(int)
	raw, _ := a[3].([]any)
	matchers := make([]string, len(raw))
	for i, r := range raw {
		matchers[i] = fmt.Sprint(r)
	}
	if len(matchers) == 0 {
		return nil, errAt(call, "reduceSeries: no reduceMatchers given")
	}
	var keys []string
	groups := map[string][]*Series{}
	for _, s := range list {
		parts := strings.Split(s.Name, ".")
		i := node
		if i < 0 {
			i += len(parts)
		}
		if i < 0 || i >= len(parts) {
			return nil, errAt(call, "reduceSeries: %s has no node %d", s.Name, node)
		}
		key := strings.Join(parts[:i], ".") + ".reduce." + fn
		for mi, m := range matchers {
			if parts[i] != m {
				continue
			}
			g, ok := groups[key]
			if !ok {
				g = make([]*Series, len(matchers))
				groups[key] = g
				keys = append(keys, key)
			}
			g[mi] = s
			break
		}
	}
	out := make([]*Series, 0, len(keys))
	for _, k := range keys {
		lists := make([][]*Series, len(matchers))
		for i, s := range groups[k] {
			if s == nil {
				return nil, errAt(call, "reduceSeries: %s has no series for matcher %q", k, matchers[i])
			}
			lists[i] = []*Series{s}
		}
		r, err := ec.callWithLists(call, fn, lists)
		if err != nil {
			return nil, err
		}
		if len(r) == 0 {
			return nil, errAt(call, "reduceSeries: %s gave no series for %s", fn, k)
		}
		r[0].Name = k
		out = append(out, r[0])
	}
	return out, nil
}

// nodeList formats nodes as Python's ','.join(map(str, nodes)).
func nodeList(nodes []any) string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		if v, ok := n.(int); ok {
			out[i] = strconv.Itoa(v)
		} else {
			out[i] = fmt.Sprint(n)
		}
	}
	return strings.Join(out, ",")
}
