package graphite

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"rrdash/rpn"
)

// mapPoints is perPoint with a kernel that can fail (Python's math
// raising OverflowError, which graphite-web does not catch).
func mapPoints(call *Expr, list []*Series, name func(*Series) string, tag, tagVal string, f func(float64) (float64, error)) ([]*Series, error) {
	var err error
	perPoint(list, name, tag, tagVal, func(v []float64) {
		for i, x := range v {
			if err != nil {
				return
			}
			v[i], err = f(x)
		}
	})
	if err != nil {
		return nil, errAt(call, "%s: %v", call.Func, err)
	}
	return list, nil
}

var errRange = fmt.Errorf("math range error")

// pyExp is math.exp: None for None, an error where it overflows.
func pyExp(x float64) (float64, error) {
	if isNone(x) {
		return nan, nil
	}
	r := math.Exp(x)
	if math.IsInf(r, 1) && !math.IsInf(x, 1) {
		return nan, errRange
	}
	return r, nil
}

func addTransformFunctions(m map[string]*function) {
	one := []param{{name: "seriesList", kind: pSeries}}
	expK := rpn.UnaryOp("EXP")
	m["exp"] = &function{params: one, fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
		for _, s := range series0(a) {
			for _, x := range s.Values {
				if _, err := pyExp(x); err != nil {
					return nil, errAt(call, "exp: %v", err)
				}
			}
		}
		return perPoint(series0(a), func(s *Series) string { return "exp(" + s.Name + ")" }, "exp", "e", expK), nil
	}}
	m["logit"] = &function{params: one, fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
		return mapPoints(call, series0(a), func(s *Series) string { return "logit(" + s.Name + ")" }, "logit", "logit", func(x float64) (float64, error) {
			if isNone(x) || x == 1 {
				return nan, nil
			}
			r := x / (1 - x)
			if r <= 0 {
				return nan, nil // math.log raises ValueError, which logit catches
			}
			return math.Log(r), nil
		})
	}}
	m["sigmoid"] = &function{params: one, fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
		return mapPoints(call, series0(a), func(s *Series) string { return "sigmoid(" + s.Name + ")" }, "sigmoid", "sigmoid", func(x float64) (float64, error) {
			if isNone(x) {
				return nan, nil
			}
			e, err := pyExp(-x)
			return 1 / (1 + e), err
		})
	}}
	m["stdev"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "points", kind: pInt}, {name: "windowTolerance", kind: pNum, opt: true, def: 0.1}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			points, tol := a[1].(int), a[2].(float64)
			if points <= 0 {
				return nil, errAt(call, "stdev: points must be positive, got %d", points)
			}
			return perPoint(series0(a), func(s *Series) string { return fmt.Sprintf("stdev(%s,%d)", s.Name, points) }, "stdev", strconv.Itoa(points),
				func(v []float64) { movingStdev(v, points, tol) }), nil
		}}
	m["exponentialMovingAverage"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "windowSize", kind: pIntOrStr}}, fn: exponentialMovingAverage}
	m["timeSlice"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "startSliceAt", kind: pStr, typ: "date"}, {name: "endSliceAt", kind: pStr, opt: true, def: "now", typ: "date"}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			start, err := ec.attime(call, a[1].(string))
			if err != nil {
				return nil, err
			}
			end, err := ec.attime(call, a[2].(string))
			if err != nil {
				return nil, err
			}
			for _, s := range series0(a) {
				s.Tags["timeSliceStart"] = strconv.FormatInt(start, 10)
				s.Tags["timeSliceEnd"] = strconv.FormatInt(end, 10)
				s.Name = fmt.Sprintf("timeSlice(%s, %d, %d)", s.Name, start, end)
				// graphite-web counts time from the request's start, not
				// the series'
				p := s.points()
				s.Step *= int64(max(s.VPP, 1))
				s.Values, s.VPP = p, 1
				for i, t := 0, ec.from; i < len(p); i, t = i+1, t+s.Step {
					if t < start || t > end {
						p[i] = nan
					}
				}
			}
			return series0(a), nil
		}}
	m["timeStack"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "timeShiftUnit", kind: pStr, opt: true, def: "1d", typ: "interval"}, {name: "timeShiftStart", kind: pInt, opt: true, def: 0}, {name: "timeShiftEnd", kind: pInt, opt: true, def: 7}},
		fn: timeStack}
	m["smartSummarize"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "intervalString", kind: pStr, typ: "interval"}, {name: "func", kind: pStr, opt: true, def: "sum", typ: "aggFunc"},
		{name: "alignTo", kind: pLiteral, opt: true, typ: "string", options: []string{"years", "months", "weeks", "days", "hours", "minutes", "seconds"}}},
		fn: smartSummarize}
	m["aggregateLine"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "func", kind: pStr, opt: true, def: "average", typ: "aggFunc"}, {name: "keepStep", kind: pBool, opt: true, def: false}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			agg, ok := aggFuncs[a[1].(string)]
			if !ok {
				return nil, errAt(call, "aggregateLine: unsupported aggregation function %q", a[1])
			}
			var out []*Series
			for _, s := range series0(a) {
				v := reduce(agg, s.points())
				name := fmt.Sprintf("aggregateLine(%s, None)", s.Name)
				if !isNone(v) {
					name = fmt.Sprintf("aggregateLine(%s, %s)", s.Name, pyG(v))
				}
				if a[2].(bool) {
					vals := make([]float64, len(s.Values))
					for i := range vals {
						vals[i] = v
					}
					ns := pyCopy(s, name, vals)
					ns.VPP = 1
					out = append(out, ns)
					continue
				}
				c := constantSeries(ec, v)
				c.Name, c.PathExpr = name, name
				out = append(out, c)
			}
			return out, nil
		}}
	xffF := &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "xFilesFactor", kind: pNum}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			x := a[1].(float64)
			if x < 0 || x > 1 {
				return nil, errAt(call, "%s: xFilesFactor must be from 0 to 1, got %s", call.Func, pyG(x))
			}
			ec.xff = x // graphite-web sets it in the request's context
			for _, s := range series0(a) {
				s.XFF = x
				s.Tags["xFilesFactor"] = pyFloat(x)
			}
			return series0(a), nil
		}}
	m["setXFilesFactor"], m["xFilesFactor"] = xffF, xffF
	m["identity"] = &function{params: []param{{name: "name", kind: pStr}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			s, err := generated(call, ec, a[0].(string), 60, func(t int64) float64 { return float64(t) })
			if err != nil {
				return nil, err
			}
			s[0].PathExpr = `identity("` + a[0].(string) + `")`
			return s, nil
		}}
	timeF := &function{params: []param{{name: "name", kind: pStr}, {name: "step", kind: pInt, opt: true, def: 60}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			return generated(call, ec, a[0].(string), int64(a[1].(int)), func(t int64) float64 { return float64(t) })
		}}
	m["timeFunction"], m["time"] = timeF, timeF
	sinF := &function{params: []param{{name: "name", kind: pStr}, {name: "amplitude", kind: pInt, opt: true, def: 1}, {name: "step", kind: pInt, opt: true, def: 60}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			amp := float64(a[1].(int))
			return generated(call, ec, a[0].(string), int64(a[2].(int)), func(t int64) float64 { return math.Sin(float64(t)) * amp })
		}}
	m["sinFunction"], m["sin"] = sinF, sinF
	walkF := &function{params: []param{{name: "name", kind: pStr}, {name: "step", kind: pInt, opt: true, def: 60}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			cur := 0.0
			return generated(call, ec, a[0].(string), int64(a[1].(int)), func(int64) float64 {
				v := cur
				cur += rand.Float64() - 0.5 // x(t) = x(t-1) + random() - 0.5, x(0) = 0
				return v
			})
		}}
	m["randomWalkFunction"], m["randomWalk"] = walkF, walkF
	m["verticalLine"] = &function{params: []param{{name: "ts", kind: pStr, typ: "date"}, {name: "label", kind: pStr, opt: true}, {name: "color", kind: pStr, opt: true}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			ts, err := ec.attime(call, a[0].(string))
			if err != nil {
				return nil, err
			}
			if ts < ec.from {
				return nil, errAt(call, "verticalLine(): timestamp %d exists before start of range", ts)
			}
			if ts > ec.until {
				return nil, errAt(call, "verticalLine(): timestamp %d exists after end of range", ts)
			}
			label, ok := a[1].(string)
			if !ok {
				return nil, errAt(call, "verticalLine: give a label (graphite-web names the line None)")
			}
			s := newSeries(label, ts, ts, 1, []float64{1, 1}, ec.xff, nil)
			s.Style.Draw = "infinite"
			if c, ok := a[2].(string); ok {
				if _, err := parseGraphiteColor(c, 0); err != nil {
					return nil, errAt(call, "verticalLine: %v", err)
				}
				s.Style.Color = c
			}
			return []*Series{s}, nil
		}}
	m["stacked"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "stack", kind: pStr, opt: true}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			name, ok := a[1].(string)
			if !ok {
				name = "__DEFAULT__"
			}
			total := ec.stacks[name]
			var out []*Series
			for _, s := range series0(a) {
				vals := make([]float64, len(s.Values))
				for i, v := range s.Values {
					if len(total) <= i {
						total = append(total, 0)
					}
					vals[i] = nan
					if !isNone(v) {
						total[i] += v
						vals[i] = total[i]
					}
				}
				n := s.Name
				if name == "__DEFAULT__" {
					s.Tags["stacked"] = name
					n = "stacked(" + s.Name + ")"
				}
				ns := pyCopy(s, n, vals)
				ns.Style.Draw = "stacked"
				out = append(out, ns)
			}
			ec.stacks[name] = total
			return out, nil
		}}
	m["areaBetween"] = &function{params: one, fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
		return areaBetween(call, series0(a))
	}}
}

// pyCopy is TimeSeries.copy(name=…, values=…): a new series whose path
// expression is its new name, read one value per point.
func pyCopy(s *Series, name string, vals []float64) *Series {
	c := s.copyWith(name, vals)
	c.PathExpr, c.VPP = name, 1
	return c
}

// areaBetween names a lower and an upper series after the upper's path
// expression and gives both the upper's tags.
func areaBetween(call *Expr, l []*Series) ([]*Series, error) {
	if len(l) != 2 {
		return nil, errAt(call, "areaBetween series argument must reference *exactly* 2 series (got %d)", len(l))
	}
	lower, upper := l[0], l[1]
	lower.Style.Draw, upper.Style.Draw = "invisible", "stacked"
	upper.Tags["areaBetween"] = "1"
	lower.Tags = cloneTags(upper.Tags)
	lower.Name = "areaBetween(" + upper.PathExpr + ")"
	upper.Name = lower.Name
	return l, nil
}

// constantSeries is constantLine's series: three points over the range.
func constantSeries(ec *evalContext, v float64) *Series {
	name := pyFloat(v) // graphite-web's params make it a float: "100.0"
	if isNone(v) {
		name = "None"
	}
	s := newSeries(name, ec.from, ec.until, (ec.until-ec.from)/2, []float64{v, v, v}, ec.xff, nil)
	s.PathExpr = "constantLine(" + name + ")"
	return s
}

// generated is a series of f(t) for t from the range's start while t is
// before its end (timeFunction, sinFunction, identity).
func generated(call *Expr, ec *evalContext, name string, step int64, f func(int64) float64) ([]*Series, error) {
	if step <= 0 {
		return nil, errAt(call, "%s: step must be positive, got %d", call.Func, step)
	}
	if (ec.until-ec.from)/step > maxPoints {
		return nil, errAt(call, "%s: step %d over this range makes more than %d points", call.Func, step, maxPoints)
	}
	var vals []float64
	for t := ec.from; t < ec.until; t += step {
		vals = append(vals, f(t))
	}
	return []*Series{newSeries(name, ec.from, ec.until, step, vals, ec.xff, nil)}, nil
}

// attime parses a time argument (timeSlice, linearRegression,
// verticalLine) in the request's time zone; relative times count from
// the request's now (graphite-web 1.1.8 counts them from its wall clock
// and ignores the now parameter there).
func (ec *evalContext) attime(call *Expr, s string) (int64, error) {
	t, err := ParseATTime(s, ec.loc, time.Unix(ec.now, 0))
	if err != nil {
		return 0, errAt(call, "%s: %q: %v", call.Func, s, err)
	}
	return t.Unix(), nil
}

// movingStdev is stdev's window: the population standard deviation of
// the last points values, from running sums as graphite-web keeps them.
func movingStdev(v []float64, points int, tol float64) {
	src := append([]float64(nil), v...)
	valid := 0
	sum, sumSq := 0.0, 0.0
	for i, nv := range src {
		dropped := nan
		if i >= points {
			dropped = src[i-points]
		}
		if !isNone(dropped) {
			valid--
			sum -= dropped
			sumSq -= dropped * dropped
		}
		if !isNone(nv) {
			valid++
			sum += nv
			sumSq += nv * nv
		}
		v[i] = nan
		if valid > 0 && float64(valid)/float64(points) >= tol {
			d := float64(valid)*sumSq - sum*sum
			if d >= 0 {
				v[i] = math.Sqrt(d) / float64(valid)
			}
		}
	}
}

func exponentialMovingAverage(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
	list := series0(a)
	if len(list) == 0 {
		return nil, nil
	}
	var preview int64
	var constant float64
	str, isStr := a[1].(string)
	if isStr {
		d, err := intervalSeconds(call, str)
		if err != nil {
			return nil, err
		}
		preview = abs64(d)
		constant = 2.0 / float64(preview+1) // graphite-web's: seconds, not points
	} else {
		w := a[1].(int)
		if w < 0 {
			return nil, errAt(call, "exponentialMovingAverage: negative window")
		}
		var maxStep int64
		for _, s := range list {
			maxStep = max(maxStep, s.Step)
		}
		preview = maxStep * int64(w)
		constant = 2.0 / float64(w+1)
	}
	prev, err := ec.reEval(call, ec.from-preview, ec.until)
	if err != nil {
		return nil, err
	}
	out := make([]*Series, 0, len(prev))
	for _, s := range prev {
		var name, tag string
		var w int
		if isStr {
			name, tag, w = fmt.Sprintf(`exponentialMovingAverage(%s,"%s")`, s.Name, str), str, int(preview/s.Step)
		} else {
			w = a[1].(int)
			name, tag = fmt.Sprintf("exponentialMovingAverage(%s,%d)", s.Name, w), strconv.Itoa(w)
		}
		s.Tags["exponentialMovingAverage"] = tag
		w = min(w, len(s.Values))
		ema := 0.0
		if avg := reduce(aggFuncs["average"], s.Values[:w]); !isNone(avg) {
			ema = avg
		}
		vals := make([]float64, 0, len(s.Values)-w+1)
		vals = append(vals, roundHalfEven(ema, 6))
		for _, v := range s.Values[w:] {
			if isNone(v) {
				vals = append(vals, nan)
				continue
			}
			ema = constant*v + (1-constant)*ema
			vals = append(vals, roundHalfEven(ema, 6))
		}
		ns := pyCopy(s, name, vals)
		ns.Start = s.Start + preview
		ns.VPP = 1
		out = append(out, ns)
	}
	return out, nil
}

func timeStack(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
	unit, from, to := a[1].(string), a[2].(int), a[3].(int)
	if unit == "" {
		return nil, errAt(call, "timeStack: empty timeShiftUnit")
	}
	if unit[0] >= '0' && unit[0] <= '9' {
		unit = "-" + unit
	}
	d, err := intervalSeconds(call, unit)
	if err != nil {
		return nil, err
	}
	list := series0(a)
	if len(list) == 0 {
		return nil, nil
	}
	if to-from > 1000 {
		return nil, errAt(call, "timeStack: more than 1000 shifts")
	}
	first := list[0]
	var out []*Series
	for sh := from; sh < to; sh++ {
		shifted, err := ec.reEval(call, ec.from+d*int64(sh), ec.until+d*int64(sh))
		if err != nil {
			return nil, err
		}
		for _, s := range shifted {
			s.Tags["timeShiftUnit"] = unit
			s.Tags["timeShift"] = strconv.Itoa(sh)
			s.Name = fmt.Sprintf("timeShift(%s, %s, %d)", s.Name, unit, sh)
			s.PathExpr = s.Name
			s.Start, s.End = first.Start, first.End
			out = append(out, s)
		}
	}
	return out, nil
}

// alignStart is smartSummarize's alignTo: the range's start truncated to
// the unit in the request's time zone.
func alignStart(from int64, loc *time.Location, unit string) (int64, error) {
	s := time.Unix(from, 0).In(loc)
	y, mo, d := s.Date()
	var t time.Time
	switch {
	case len(unit) > 0 && unit[0] == 's':
		t = s
	case hasPrefix(unit, "min"):
		t = time.Date(y, mo, d, s.Hour(), s.Minute(), 0, 0, loc)
	case unit != "" && unit[0] == 'h':
		t = time.Date(y, mo, d, s.Hour(), 0, 0, 0, loc)
	case unit != "" && unit[0] == 'd':
		t = time.Date(y, mo, d, 0, 0, 0, 0, loc)
	case unit != "" && unit[0] == 'w':
		target := 1
		if c := unit[len(unit)-1]; c >= '0' && c <= '9' {
			target = int(c - '0')
		}
		iso := int(s.Weekday())
		if iso == 0 {
			iso = 7
		}
		back := iso - target
		if back < 0 {
			back += 7
		}
		t = time.Date(y, mo, d-back, 0, 0, 0, 0, loc)
	case hasPrefix(unit, "mon"):
		t = time.Date(y, mo, 1, 0, 0, 0, 0, loc)
	case unit != "" && unit[0] == 'y':
		t = time.Date(y, 1, 1, 0, 0, 0, 0, loc)
	default:
		return 0, fmt.Errorf("invalid offset unit %q", unit)
	}
	return t.Unix(), nil
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

func smartSummarize(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
	istr, fn := a[1].(string), a[2].(string)
	list := series0(a)
	switch al := a[3].(type) {
	case nil, bool: // graphite-web ignores the old alignToFrom
	case string:
		start, err := alignStart(ec.from, ec.loc, al)
		if err != nil {
			return nil, errAt(call, "smartSummarize: %v", err)
		}
		if list, err = ec.reEval(call, start, ec.until); err != nil {
			return nil, err
		}
	default:
		return nil, errAt(call, "smartSummarize: alignTo must be a unit name such as \"hours\"")
	}
	interval, err := intervalSeconds(call, istr)
	if err != nil {
		return nil, err
	}
	if interval <= 0 {
		return nil, errAt(call, "smartSummarize: the interval must be positive")
	}
	agg, ok := aggFuncs[fn]
	if !ok {
		return nil, errAt(call, "unsupported aggregation function %q", fn)
	}
	out := make([]*Series, 0, len(list))
	for _, s := range list {
		if (s.End-s.Start)/interval > maxPoints {
			return nil, errAt(call, "smartSummarize: %q over this range makes more than %d points", istr, maxPoints)
		}
		vals, end := summarizeValues(s, agg, interval, s.Start, s.End)
		s.Tags["smartSummarize"] = istr
		s.Tags["smartSummarizeFunction"] = fn
		ns := pyCopy(s, fmt.Sprintf(`smartSummarize(%s, "%s", "%s")`, s.Name, istr, fn), vals)
		ns.End, ns.Step, ns.VPP = end, interval, 1
		out = append(out, ns)
	}
	return out, nil
}

// summarizeValues is graphite-web's _summarizeValues: buckets of interval
// seconds from newStart while before newEnd, each the aggregate of the
// points from the last one at or before its start, None where fewer than
// xFilesFactor of its points are non-null. It returns the values and the
// end of the last bucket.
func summarizeValues(s *Series, agg func([][]float64, int) []float64, interval, newStart, newEnd int64) ([]float64, int64) {
	pts := s.points()
	n := 0
	if s.Step > 0 && s.End > s.Start {
		n = int((s.End - s.Start + s.Step - 1) / s.Step)
	}
	n = min(n, len(pts))
	intervalPoints := float64(interval) / float64(s.Step)
	var vals []float64
	i := 0
	t := newStart
	for ; t < newEnd; t += interval {
		st, nonNull := i, 0
		for i < n && s.Start+int64(i)*s.Step < t+interval {
			ts := s.Start + int64(i)*s.Step
			if ts <= t {
				st = i
			}
			if ts >= t && !isNone(pts[i]) {
				nonNull++
			}
			i++
		}
		if nonNull > 0 && float64(nonNull)/intervalPoints >= s.XFF {
			vals = append(vals, reduce(agg, pts[st:i]))
		} else {
			vals = append(vals, nan)
		}
	}
	return vals, t
}
