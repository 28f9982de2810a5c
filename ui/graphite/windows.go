package graphite

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

func parseFloat(s string) (float64, error) { return strconv.ParseFloat(s, 64) }

func splitDots(s string) []string { return strings.Split(s, ".") }
func joinDots(p []string) string  { return strings.Join(p, ".") }

// substr is graphite-web's substr on a name: the text inside the
// innermost parentheses, nodes [start:stop], anything from a ',' dropped.
func substr(name string, start, stop int) string {
	left := strings.LastIndexByte(name, '(') + 1
	right := strings.IndexByte(name, ')')
	if right < 0 {
		right = len(name) + 1
	}
	clean := ""
	if left < min(right, len(name)) {
		clean = name[left:min(right, len(name))]
	}
	parts := strings.Split(clean, ".")
	lo := pyIndex(start, len(parts))
	hi := len(parts)
	if stop != 0 {
		hi = pyIndex(stop, len(parts))
	}
	var out string
	if lo < hi {
		out = strings.Join(parts[lo:hi], ".")
	}
	if i := strings.IndexByte(out, ','); i >= 0 {
		out = out[:i]
	}
	return out
}

func pyIndex(i, n int) int {
	if i < 0 {
		i += n
	}
	return max(0, min(i, n))
}

// safeDiv is graphite-web's: None when a is None or b is None or 0.
func safeDiv(a, b float64) float64 {
	if isNone(a) || isNone(b) || b == 0 {
		return nan
	}
	return a / b
}

func divideSeries(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
	dividends, divisors := series0(a), a[1].([]*Series)
	if len(divisors) == 0 {
		for _, s := range dividends {
			s.Name = fmt.Sprintf("divideSeries(%s,MISSING)", s.Name)
			s.PathExpr = s.Name
			for i := range s.Values {
				s.Values[i] = nan
			}
		}
		return dividends, nil
	}
	if len(divisors) > 1 {
		return nil, errAt(call, "divideSeries second argument must reference exactly 1 series (got %d)", len(divisors))
	}
	d := divisors[0]
	var out []*Series
	for _, s := range dividends {
		name := fmt.Sprintf("divideSeries(%s,%s)", s.Name, d.Name)
		start, end, step, err := normalize([]*Series{s, d})
		if err != nil {
			return nil, errAt(call, "divideSeries: %v", err)
		}
		vals := zipLongest(s.points(), d.points(), safeDiv)
		out = append(out, newSeries(name, start, end, step, vals, ec.xff, nil))
	}
	return out, nil
}

// zipLongest combines two columns, padding the shorter with None.
func zipLongest(x, y []float64, f func(a, b float64) float64) []float64 {
	n := max(len(x), len(y))
	out := make([]float64, n)
	for i := range out {
		a, b := nan, nan
		if i < len(x) {
			a = x[i]
		}
		if i < len(y) {
			b = y[i]
		}
		out[i] = f(a, b)
	}
	return out
}

func pct(a, b float64) float64 {
	v := safeDiv(a, b)
	if isNone(v) {
		return nan
	}
	return v * 100.0
}

func sumRows(list []*Series) []float64 {
	cols := make([][]float64, len(list))
	n := 0
	for i, s := range list {
		cols[i] = s.points()
		n = max(n, len(cols[i]))
	}
	if len(cols) == 0 {
		return nil
	}
	return aggFuncs["sum"](cols, n)
}

func asPercent(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
	list := series0(a)
	total := a[1]
	nodes, _ := a[2].([]any)
	if len(list) > 0 {
		if _, _, _, err := normalize(list); err != nil {
			return nil, errAt(call, "asPercent: %v", err)
		}
	}
	if len(nodes) > 0 {
		return asPercentNodes(ec, call, list, total, nodes)
	}
	var totalVals []float64
	var totalText string
	var totals []*Series
	switch t := total.(type) {
	case nil:
		totalVals = sumRows(list)
		totalText = fmt.Sprintf("sumSeries(%s)", pathExprs(list))
	case []*Series:
		totals = t
		if len(t) != 1 && len(t) != len(list) {
			return nil, errAt(call, "asPercent second argument must be missing, a single digit, reference exactly 1 series or reference the same number of series as the first argument")
		}
		if len(t) == 1 {
			if _, _, _, err := normalize(append(append([]*Series{}, list...), t...)); err != nil {
				return nil, errAt(call, "asPercent: %v", err)
			}
			totalVals = t[0].points()
			totalText = t[0].Name
		}
	case float64:
		if len(list) > 0 {
			totalVals = make([]float64, len(list[0].points()))
			for i := range totalVals {
				totalVals[i] = t
			}
		}
		totalText = pyStr(t, call.Args[1].IsInt)
	}
	var out []*Series
	if totals != nil && len(totals) == len(list) {
		l1 := append([]*Series{}, list...)
		l2 := append([]*Series{}, totals...)
		sort.SliceStable(l1, func(i, j int) bool { return l1[i].Name < l1[j].Name })
		sort.SliceStable(l2, func(i, j int) bool { return l2[i].Name < l2[j].Name })
		for i := range l1 {
			start, end, step, err := normalize([]*Series{l1[i], l2[i]})
			if err != nil {
				return nil, errAt(call, "asPercent: %v", err)
			}
			vals := zipLongest(l1[i].points(), l2[i].points(), pct)
			out = append(out, newSeries(fmt.Sprintf("asPercent(%s,%s)", l1[i].Name, l2[i].Name), start, end, step, vals, ec.xff, nil))
		}
		return out, nil
	}
	for _, s := range list {
		vals := zipLongest(s.points(), totalVals, pct)
		t := totalText
		if t == "" {
			t = s.PathExpr
		}
		out = append(out, newSeries(fmt.Sprintf("asPercent(%s,%s)", s.Name, t), s.Start, s.End, s.Step, vals, ec.xff, nil))
	}
	return out, nil
}

func asPercentNodes(ec *evalContext, call *Expr, list []*Series, total any, nodes []any) ([]*Series, error) {
	var keys []string
	groups := map[string][]*Series{}
	for _, s := range list {
		k := nodeKey(s, nodes)
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], s)
	}
	totals := map[string]*Series{}
	var normErr error
	sumOf := func(g []*Series) *Series {
		if len(g) == 1 {
			return g[0]
		}
		name := fmt.Sprintf("sumSeries(%s)", pathExprs(g))
		start, end, step, err := normalize(g)
		if err != nil {
			normErr = err
		}
		return newSeries(name, start, end, step, sumRows(g), ec.xff, nil)
	}
	switch t := total.(type) {
	case nil:
		for _, k := range keys {
			totals[k] = sumOf(groups[k])
		}
	case []*Series:
		tg := map[string][]*Series{}
		var tkeys []string
		for _, s := range t {
			k := nodeKey(s, nodes)
			if _, ok := tg[k]; !ok {
				tkeys = append(tkeys, k)
				if _, seen := groups[k]; !seen {
					keys = append(keys, k)
				}
			}
			tg[k] = append(tg[k], s)
		}
		for _, k := range tkeys {
			totals[k] = sumOf(tg[k])
		}
	default:
		return nil, errAt(call, "asPercent: total must be None or a seriesList when nodes are given")
	}
	if normErr != nil {
		return nil, errAt(call, "asPercent: %v", normErr)
	}
	var out []*Series
	for _, k := range keys {
		g, ok := groups[k]
		if !ok {
			t := totals[k]
			vals := make([]float64, len(t.points()))
			for i := range vals {
				vals[i] = nan
			}
			// graphite-web uses the start/end/step left from the last
			// normalize here; the total's own are the sensible ones.
			out = append(out, newSeries(fmt.Sprintf("asPercent(MISSING,%s)", t.Name), t.Start, t.End, t.Step, vals, ec.xff, nil))
			continue
		}
		for _, s := range g {
			t, ok := totals[k]
			if !ok {
				vals := make([]float64, len(s.points()))
				for i := range vals {
					vals[i] = nan
				}
				out = append(out, newSeries(fmt.Sprintf("asPercent(%s,MISSING)", s.Name), s.Start, s.End, s.Step, vals, ec.xff, nil))
				continue
			}
			start, end, step, err := normalize([]*Series{s, t})
			if err != nil {
				return nil, errAt(call, "asPercent: %v", err)
			}
			vals := zipLongest(s.points(), t.points(), pct)
			out = append(out, newSeries(fmt.Sprintf("asPercent(%s,%s)", s.Name, t.Name), start, end, step, vals, ec.xff, nil))
		}
	}
	return out, nil
}

// movingWindowFunc: movingAverage/Sum/Min/Max/Median(list, windowSize,
// xFilesFactor) and movingWindow(list, windowSize, func, xFilesFactor).
// The series are read again from windowSize before from, so the first
// points have their full window, as graphite-web does.
func movingWindowFunc(fixed string) *function {
	ps := []param{{name: "seriesList", kind: pSeries}, {name: "windowSize", kind: pIntOrStr}}
	if fixed == "" {
		ps = append(ps, param{name: "func", kind: pStr, opt: true, def: "average"})
	}
	ps = append(ps, param{name: "xFilesFactor", kind: pNum, opt: true})
	return &function{params: ps, fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
		list := series0(a)
		fn, xffArg := fixed, a[2]
		if fixed == "" {
			fn, xffArg = a[2].(string), a[3]
		}
		agg, ok := aggFuncs[fn]
		if !ok {
			return nil, errAt(call, "unsupported aggregation function %q", fn)
		}
		if len(list) == 0 {
			return nil, nil
		}
		var preview int64
		str, isStr := a[1].(string)
		if isStr {
			d, err := intervalSeconds(call, str)
			if err != nil {
				return nil, err
			}
			preview = abs64(d)
		} else {
			var maxStep int64
			for _, s := range list {
				maxStep = max(maxStep, s.Step)
			}
			preview = maxStep * int64(a[1].(int))
		}
		if len(call.Args) == 0 {
			return nil, errAt(call, "%s needs a series list", call.Func)
		}
		prev, err := ec.withRange(ec.from-preview, ec.until).evalSeries(call.Args[0])
		if err != nil {
			return nil, err
		}
		tagName := "moving" + strings.ToUpper(fn[:1]) + strings.ToLower(fn[1:])
		var out []*Series
		for _, s := range prev {
			var name string
			var w int
			if isStr {
				name = fmt.Sprintf(`%s(%s,"%s")`, tagName, s.Name, str)
				w = int(preview / s.Step)
			} else {
				name = fmt.Sprintf("%s(%s,%d)", tagName, s.Name, a[1].(int))
				w = a[1].(int)
			}
			x := s.XFF
			if f, ok := xffArg.(float64); ok {
				x = f
			}
			if w < 0 {
				return nil, errAt(call, "%s: negative window", call.Func)
			}
			var vals []float64
			for i := w; i < len(s.Values); i++ {
				var nonNull []float64
				for _, v := range s.Values[i-w : i] {
					if !isNone(v) {
						nonNull = append(nonNull, v)
					}
				}
				if len(nonNull) > 0 && w > 0 && float64(len(nonNull))/float64(w) >= x {
					vals = append(vals, reduce(agg, nonNull))
				} else {
					vals = append(vals, nan)
				}
			}
			ns := s.copyWith(name, vals)
			ns.Tags[tagName] = fmt.Sprint(a[1])
			ns.Start = s.Start + preview
			out = append(out, ns)
		}
		return out, nil
	}}
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func timeShift(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
	shift := a[1].(string)
	if a[3].(bool) {
		return nil, errAt(call, "timeShift: alignDST=true is not supported")
	}
	if shift == "" {
		return nil, errAt(call, "timeShift: empty shift")
	}
	if shift[0] >= '0' && shift[0] <= '9' {
		shift = "-" + shift
	}
	d, err := intervalSeconds(call, shift)
	if err != nil {
		return nil, err
	}
	list := series0(a)
	if len(list) == 0 {
		return nil, nil
	}
	first := list[0]
	shifted, err := ec.withRange(ec.from+d, ec.until+d).evalSeries(call.Args[0])
	if err != nil {
		return nil, err
	}
	for _, s := range shifted {
		s.Tags["timeShift"] = shift
		s.Name = fmt.Sprintf(`timeShift(%s, "%s")`, s.Name, shift)
		if a[2].(bool) {
			s.End = first.End
		} else {
			s.End = s.End - s.Start + first.Start
		}
		s.Start = first.Start
	}
	return shifted, nil
}

func summarize(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
	istr, fn, alignToFrom := a[1].(string), a[2].(string), a[3].(bool)
	interval, err := intervalSeconds(call, istr)
	if err != nil {
		return nil, err
	}
	if interval <= 0 {
		return nil, errAt(call, "summarize: the interval must be positive")
	}
	agg, ok := aggFuncs[fn]
	if !ok {
		return nil, errAt(call, "unsupported aggregation function %q", fn)
	}
	var out []*Series
	for _, s := range series0(a) {
		if (s.End-s.Start)/interval > maxPoints {
			return nil, errAt(call, "summarize: %q over this range makes more than %d points", istr, maxPoints)
		}
		newStart, newEnd := s.Start, s.End
		if !alignToFrom {
			newStart = s.Start - mod(s.Start, interval)
			newEnd = s.End - mod(s.End, interval) + interval
		}
		vals, t := summarizeValues(s, agg, interval, newStart, newEnd)
		if alignToFrom {
			newEnd = t
		}
		suffix := ""
		if alignToFrom {
			suffix = ", true"
		}
		ns := s.copyWith(fmt.Sprintf(`summarize(%s, "%s", "%s"%s)`, s.Name, istr, fn, suffix), vals)
		ns.Tags["summarize"] = istr
		ns.Tags["summarizeFunction"] = fn
		ns.Start, ns.End, ns.Step, ns.VPP = newStart, newEnd, interval, 1
		out = append(out, ns)
	}
	return out, nil
}

func hitcount(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
	istr, align := a[1].(string), a[2].(bool)
	interval, err := intervalSeconds(call, istr)
	if err != nil {
		return nil, err
	}
	if interval <= 0 {
		return nil, errAt(call, "hitcount: the interval must be positive")
	}
	list := series0(a)
	if align {
		s := time.Unix(ec.from, 0).In(ec.loc)
		var from time.Time
		switch {
		case interval >= 86400:
			from = time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, ec.loc)
		case interval >= 3600:
			from = time.Date(s.Year(), s.Month(), s.Day(), s.Hour(), 0, 0, 0, ec.loc)
		case interval >= 60:
			from = time.Date(s.Year(), s.Month(), s.Day(), s.Hour(), s.Minute(), 0, 0, ec.loc)
		default:
			from = s
		}
		if list, err = ec.withRange(from.Unix(), ec.until).evalSeries(call.Args[0]); err != nil {
			return nil, err
		}
		for _, s := range list {
			count := (s.End - s.Start) / interval
			s.End = s.Start + count*interval + interval
		}
	}
	var out []*Series
	for _, s := range list {
		step := s.Step
		if (s.End-s.Start)/interval > maxPoints {
			return nil, errAt(call, "hitcount: %q over this range makes more than %d points", istr, maxPoints)
		}
		buckets := int(math.Ceil(float64(s.End-s.Start) / float64(interval)))
		sums := make([]float64, buckets)
		has := make([]bool, buckets)
		newStart := s.End - int64(buckets)*interval
		for i, v := range s.points() {
			if isNone(v) {
				continue
			}
			st := s.Start + int64(i)*step
			sb, sm := divmod(st-newStart, interval)
			et := st + step
			eb, em := divmod(et-newStart, interval)
			if eb >= int64(buckets) {
				eb, em = int64(buckets-1), interval
			}
			add := func(b int64, x float64) {
				sums[b] += x
				has[b] = true
			}
			if sb == eb {
				if sb >= 0 {
					add(sb, v*float64(em-sm))
				}
			} else {
				if sb >= 0 {
					add(sb, v*float64(interval-sm))
				}
				for j := sb + 1; j < eb; j++ {
					add(j, v*float64(interval))
				}
				if em > 0 {
					add(eb, v*float64(em))
				}
			}
		}
		vals := make([]float64, buckets)
		for i := range vals {
			vals[i] = nan
			if has[i] {
				vals[i] = sums[i]
			}
		}
		suffix := ""
		if align {
			suffix = ", true"
		}
		ns := s.copyWith(fmt.Sprintf(`hitcount(%s, "%s"%s)`, s.Name, istr, suffix), vals)
		ns.Tags["hitcount"] = istr
		ns.Start, ns.Step, ns.VPP = newStart, interval, 1
		out = append(out, ns)
	}
	return out, nil
}

// maxPoints bounds the points a function may make of one series
// (summarize or hitcount with a tiny interval over a long range).
const maxPoints = 5_000_000

// divmod is Python's (floor division).
func divmod(a, b int64) (int64, int64) {
	q := a / b
	r := a % b
	if r != 0 && (r < 0) != (b < 0) {
		q--
		r += b
	}
	return q, r
}
