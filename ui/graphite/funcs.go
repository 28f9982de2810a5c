package graphite

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Parameter kinds of Graphite functions.
type pkind uint8

const (
	pSeries      pkind = iota // one series list
	pSeriesVar                // the remaining positional series lists
	pNum                      // a number
	pInt                      // an integer
	pStr                      // a string
	pBool                     // true/false
	pIntOrStr                 // a point count or an interval string
	pNodeVar                  // the remaining positional node numbers or tag names
	pSeriesOrNum              // a series list, a number or none
	pLiteral                  // a string, a boolean, a number or none, as written
	pNode                     // one node number or tag name
)

type param struct {
	name string
	kind pkind
	opt  bool
	def  any
	// typ is graphite-web's ParamTypes name for /functions when the kind
	// alone does not say it (interval, date, node, aggFunc…).
	typ     string
	options []string
}

// function is one Graphite function: its parameters (positional order,
// names for keyword use) and its implementation over bound arguments.
type function struct {
	params []param
	fn     func(ec *evalContext, call *Expr, a []any) ([]*Series, error)
}

// call binds the arguments and runs the function.
func (f *function) call(ec *evalContext, e *Expr) ([]*Series, error) {
	a := make([]any, len(f.params))
	set := make([]bool, len(f.params))
	pi := 0
	for ai := 0; ai < len(e.Args); ai++ {
		if pi >= len(f.params) {
			return nil, errAt(e.Args[ai], "%s takes at most %d arguments", e.Func, len(f.params))
		}
		p := f.params[pi]
		if p.kind == pSeriesVar || p.kind == pNodeVar {
			var rest []any
			for ; ai < len(e.Args); ai++ {
				v, err := f.bind(ec, e, p, e.Args[ai])
				if err != nil {
					return nil, err
				}
				rest = append(rest, v)
			}
			a[pi], set[pi] = rest, true
			pi++
			break
		}
		v, err := f.bind(ec, e, p, e.Args[ai])
		if err != nil {
			return nil, err
		}
		a[pi], set[pi] = v, true
		pi++
	}
	for _, kw := range e.Kwargs {
		found := false
		for i, p := range f.params {
			if p.name == kw.Name {
				if set[i] {
					return nil, errAt(kw.Value, "%s: argument %s given twice", e.Func, kw.Name)
				}
				v, err := f.bind(ec, e, p, kw.Value)
				if err != nil {
					return nil, err
				}
				if p.kind == pSeriesVar || p.kind == pNodeVar {
					v = []any{v}
				}
				a[i], set[i], found = v, true, true
			}
		}
		if !found {
			return nil, errAt(kw.Value, "%s has no argument %s", e.Func, kw.Name)
		}
	}
	for i, p := range f.params {
		if set[i] {
			continue
		}
		if !p.opt {
			return nil, errAt(e, "%s: missing argument %s", e.Func, p.name)
		}
		a[i] = p.def
	}
	return f.fn(ec, e, a)
}

func (f *function) bind(ec *evalContext, call *Expr, p param, arg *Expr) (any, error) {
	switch p.kind {
	case pSeries, pSeriesVar:
		return ec.evalSeries(arg)
	case pSeriesOrNum:
		if arg.Kind == KindNumber || arg.Kind == KindNone {
			return ec.eval(arg)
		}
		return ec.evalSeries(arg)
	case pNum:
		if arg.Kind != KindNumber {
			return nil, errAt(arg, "%s: argument %s must be a number, got %s", call.Func, p.name, arg.String())
		}
		return arg.Num, nil
	case pInt:
		if arg.Kind != KindNumber || arg.Num != math.Trunc(arg.Num) || math.IsInf(arg.Num, 0) {
			return nil, errAt(arg, "%s: argument %s must be an integer, got %s", call.Func, p.name, arg.String())
		}
		return int(arg.Num), nil
	case pStr:
		if arg.Kind == KindNone && p.opt {
			return p.def, nil // graphite-web takes None for an optional argument
		}
		if arg.Kind != KindString {
			return nil, errAt(arg, "%s: argument %s must be a quoted string, got %s", call.Func, p.name, arg.String())
		}
		return arg.Str, nil
	case pBool:
		if arg.Kind != KindBool {
			return nil, errAt(arg, "%s: argument %s must be true or false, got %s", call.Func, p.name, arg.String())
		}
		return arg.Bool, nil
	case pIntOrStr:
		switch arg.Kind {
		case KindString:
			return arg.Str, nil
		case KindNumber:
			if arg.Num == math.Trunc(arg.Num) && !math.IsInf(arg.Num, 0) {
				return int(arg.Num), nil
			}
		}
		return nil, errAt(arg, "%s: argument %s must be a number of points or an interval string, got %s", call.Func, p.name, arg.String())
	case pLiteral:
		switch arg.Kind {
		case KindString, KindBool, KindNumber, KindNone:
			return ec.eval(arg)
		}
		return nil, errAt(arg, "%s: argument %s must be a string, a boolean, a number or None, got %s", call.Func, p.name, arg.String())
	case pNodeVar, pNode:
		switch arg.Kind {
		case KindString:
			return arg.Str, nil
		case KindNumber:
			if arg.Num == math.Trunc(arg.Num) {
				return int(arg.Num), nil
			}
		}
		return nil, errAt(arg, "%s: a node must be an integer or a tag name, got %s", call.Func, arg.String())
	}
	return nil, errAt(arg, "internal: unknown parameter kind")
}

func flatten(lists []any) []*Series {
	var out []*Series
	for _, l := range lists {
		out = append(out, l.([]*Series)...)
	}
	return out
}

// intervalSeconds parses an interval string as parseTimeOffset does.
func intervalSeconds(call *Expr, s string) (int64, error) {
	d, err := ParseTimeOffset(s)
	if err != nil {
		return 0, errAt(call, "%s: %v", call.Func, err)
	}
	return int64(d.Seconds()), nil
}

// nodeKey is aggKey: the nodes (or tag values) of a series' name joined
// by '.'; a name with a function in it uses its first path expression.
func nodeKey(s *Series, nodes []any) string {
	path := s.Name
	if strings.HasSuffix(path, ")") {
		if p := firstPathExpr(path); p != "" {
			path = p
		}
	}
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = nodeOrTag(s, n, path)
	}
	return strings.Join(out, ".")
}

func nodeOrTag(s *Series, n any, path string) string {
	if i, ok := n.(int); ok {
		base, _, _ := strings.Cut(path, ";")
		parts := strings.Split(base, ".")
		if i < 0 {
			i += len(parts)
		}
		if i >= 0 && i < len(parts) {
			return parts[i]
		}
		return s.Tags[strconv.Itoa(n.(int))]
	}
	return s.Tags[fmt.Sprint(n)]
}

// firstPathExpr is _getFirstPathExpression: the first path in a name
// that parses as a target, following first arguments.
func firstPathExpr(name string) string {
	e, err := Parse(name)
	if err != nil {
		return ""
	}
	for e != nil {
		switch e.Kind {
		case KindPath:
			return e.Path
		case KindCall:
			if len(e.Args) == 0 {
				return ""
			}
			e = e.Args[0]
		default:
			return ""
		}
	}
	return ""
}

// aggregate is graphite-web's: normalize, then one value per row of the
// consolidated series (shorter ones padded with None), None where fewer
// than xff of the row is non-null.
func aggregate(ec *evalContext, call *Expr, list []*Series, fn string, xff *float64) ([]*Series, error) {
	name := strings.TrimSuffix(fn, "Series")
	agg, ok := aggFuncs[name]
	if !ok {
		return nil, errAt(call, "unsupported aggregation function %q", fn)
	}
	if len(list) == 0 {
		return nil, nil
	}
	start, end, step, err := normalize(list)
	if err != nil {
		return nil, errAt(call, "%s: %v", call.Func, err)
	}
	x := ec.xff
	if xff != nil {
		x = *xff
	}
	cols := make([][]float64, len(list))
	n := 0
	for i, s := range list {
		cols[i] = s.points()
		n = max(n, len(cols[i]))
	}
	vals := agg(cols, n)
	// xFilesFactor: a row needs nonNull/len ≥ xff (and one non-null)
	if x > 0 {
		for r := 0; r < n; r++ {
			nn := 0
			for _, c := range cols {
				if r < len(c) && !isNone(c[r]) {
					nn++
				}
			}
			if nn == 0 || float64(nn)/float64(len(cols)) < x {
				vals[r] = nan
			}
		}
	}
	sname := fmt.Sprintf("%sSeries(%s)", name, pathExprs(list))
	tags := cloneTags(list[0].Tags)
	for _, s := range list[1:] {
		for k, v := range tags {
			if w, ok := s.Tags[k]; !ok || w != v {
				delete(tags, k)
			}
		}
	}
	if _, ok := tags["name"]; !ok {
		tags["name"] = sname
	}
	tags["aggregatedBy"] = name
	out := newSeries(sname, start, end, step, vals, x, tags)
	return []*Series{out}, nil
}

// aggregateByKey groups by key in first-seen order and aggregates each.
func aggregateByKey(ec *evalContext, call *Expr, list []*Series, fn string, key func(*Series) string) ([]*Series, error) {
	var keys []string
	groups := map[string][]*Series{}
	for _, s := range list {
		k := key(s)
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], s)
	}
	var out []*Series
	for _, k := range keys {
		// a callback "sumSeries" is aggregate "sum", as graphite-web's
		// series functions of that name are
		r, err := aggregate(ec, call, groups[k], fn, nil)
		if err != nil {
			return nil, err
		}
		if len(r) > 0 {
			r[0].Name = k
			out = append(out, r[0])
		}
	}
	return out, nil
}

// aggFuncs compute one column from the rows of several.
var aggFuncs = map[string]func(cols [][]float64, n int) []float64{
	"sum":      aggKernel("ADDNAN", false),
	"total":    aggKernel("ADDNAN", false),
	"max":      aggKernel("MAXNAN", false),
	"min":      aggKernel("MINNAN", false),
	"average":  aggKernel("ADDNAN", true),
	"avg":      aggKernel("ADDNAN", true),
	"avg_zero": aggRow(func(r []float64, n int) float64 { return sumF(r) / float64(n) }, true),
	"median": aggRow(func(r []float64, _ int) float64 {
		sort.Float64s(r)
		m := len(r) / 2
		if len(r)%2 == 0 {
			return (r[m-1] + r[m]) / 2
		}
		return r[m]
	}, false),
	"diff": aggRow(func(r []float64, _ int) float64 {
		s := r[0]
		for _, v := range r[1:] {
			s += -v
		}
		return s
	}, false),
	"stddev": aggRow(func(r []float64, _ int) float64 {
		mean := sumF(r) / float64(len(r))
		var ss float64
		for _, v := range r {
			ss += (v - mean) * (v - mean)
		}
		return math.Sqrt(ss / float64(len(r)))
	}, false),
	"count":    aggCount,
	"range":    aggRow(func(r []float64, _ int) float64 { return maxF(r) - minF(r) }, false),
	"rangeOf":  aggRow(func(r []float64, _ int) float64 { return maxF(r) - minF(r) }, false),
	"multiply": aggMultiply,
	"last":     aggRow(func(r []float64, _ int) float64 { return r[len(r)-1] }, false),
	"current":  aggRow(func(r []float64, _ int) float64 { return r[len(r)-1] }, false),
}

// aggRow applies f to the non-null values of each row (all of them,
// None as 0, when zeros); a row with none is None.
func aggRow(f func(r []float64, n int) float64, zeros bool) func([][]float64, int) []float64 {
	return func(cols [][]float64, n int) []float64 {
		out := make([]float64, n)
		row := make([]float64, 0, len(cols))
		for i := 0; i < n; i++ {
			row = row[:0]
			nn := 0
			for _, c := range cols {
				v := nan
				if i < len(c) {
					v = c[i]
				}
				if !isNone(v) {
					row = append(row, v)
					nn++
				} else if zeros {
					row = append(row, 0)
				}
			}
			if nn == 0 {
				out[i] = nan
				continue
			}
			out[i] = f(row, len(cols))
		}
		return out
	}
}

func aggCount(cols [][]float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		nn := 0
		for _, c := range cols {
			if i < len(c) && !isNone(c[i]) {
				nn++
			}
		}
		out[i] = float64(nn)
		if nn == 0 {
			out[i] = nan // xffValues refuses an all-None row
		}
	}
	return out
}

func aggMultiply(cols [][]float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		p := 1.0
		for _, c := range cols {
			if i >= len(c) || isNone(c[i]) {
				p = nan
				break
			}
			p *= c[i]
		}
		out[i] = p
	}
	return out
}
