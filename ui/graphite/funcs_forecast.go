package graphite

import (
	"fmt"
	"math"
	"strconv"
)

// Holt-Winters as graphite-web computes it (holtWintersAnalysis): additive
// seasonality, alpha = gamma = 0.1, beta = 0.0035, the first point seeding
// the intercept. rrdtool's HWPREDICT (store/, rpn/) bootstraps its
// seasonal coefficients differently, so the two cannot share arithmetic.
const (
	hwAlpha = 0.1
	hwBeta  = 0.0035
	hwGamma = 0.1
)

// holtWintersAnalysis returns the one-step predictions and the seasonal
// deviations of values with a season of seasonLen points; None where the
// input breaks the recurrence.
func holtWintersAnalysis(vals []float64, seasonLen int) (pred, dev []float64) {
	n := len(vals)
	intercepts := make([]float64, 0, n)
	slopes := make([]float64, 0, n)
	seasonals := make([]float64, 0, n)
	pred = make([]float64, 0, n)
	dev = make([]float64, 0, n)
	lastOf := func(l []float64, i int) float64 {
		if j := i - seasonLen; j >= 0 {
			return l[j]
		}
		return 0
	}
	nextPred := nan
	for i, actual := range vals {
		if isNone(actual) {
			intercepts = append(intercepts, nan)
			slopes = append(slopes, 0)
			seasonals = append(seasonals, 0)
			pred = append(pred, nextPred)
			dev = append(dev, 0)
			nextPred = nan
			continue
		}
		var lastIntercept, lastSlope, prediction float64
		if i == 0 {
			lastIntercept, lastSlope, prediction = actual, 0, actual
		} else {
			lastIntercept, lastSlope = intercepts[i-1], slopes[i-1]
			if isNone(lastIntercept) {
				lastIntercept = actual
			}
			prediction = nextPred
		}
		lastSeasonal := lastOf(seasonals, i)
		nextLastSeasonal := lastOf(seasonals, i+1)
		lastSeasonalDev := lastOf(dev, i)
		intercept := float64(hwAlpha*(actual-lastSeasonal)) + float64((1-hwAlpha)*(lastIntercept+lastSlope))
		slope := float64(hwBeta*(intercept-lastIntercept)) + float64((1-hwBeta)*lastSlope)
		seasonal := float64(hwGamma*(actual-intercept)) + float64((1-hwGamma)*lastSeasonal)
		p := prediction
		if isNone(p) {
			p = 0
		}
		deviation := float64(hwGamma*math.Abs(actual-p)) + float64((1-hwGamma)*lastSeasonalDev)
		intercepts = append(intercepts, intercept)
		slopes = append(slopes, slope)
		seasonals = append(seasonals, seasonal)
		nextPred = intercept + slope + nextLastSeasonal
		pred = append(pred, prediction)
		dev = append(dev, deviation)
	}
	return pred, dev
}

// hwRun reads the series again from bootstrap before the range and
// analyses each; the results cover the range only.
type hwResult struct {
	src        *Series // the series as read over the longer range
	start      int64
	pred, devs []float64
}

func holtWinters(ec *evalContext, call *Expr, bootstrap, seasonality string) ([]hwResult, error) {
	boot, err := intervalSeconds(call, bootstrap)
	if err != nil {
		return nil, err
	}
	season, err := intervalSeconds(call, seasonality)
	if err != nil {
		return nil, err
	}
	if boot < 0 || season <= 0 {
		return nil, errAt(call, "%s: bootstrapInterval must not be negative and seasonality must be positive", call.Func)
	}
	list, err := ec.reEval(call, ec.from-boot, ec.until)
	if err != nil {
		return nil, err
	}
	out := make([]hwResult, 0, len(list))
	for _, s := range list {
		step := s.Step * int64(max(s.VPP, 1))
		seasonLen := int(season / step)
		if seasonLen < 2 {
			// graphite-web fails (IndexError) on a season of fewer than two points
			return nil, errAt(call, "%s: seasonality %s is less than two of %s's steps of %d s", call.Func, seasonality, s.Name, step)
		}
		pred, devs := holtWintersAnalysis(s.points(), seasonLen)
		skip := min(int(boot/step), len(pred))
		s.Tags["holtWintersForecast"] = "1" // the analysis tags the series it reads
		s.Tags["holtWintersDeviation"] = "1"
		out = append(out, hwResult{src: s, start: s.Start + boot, pred: pred[skip:], devs: devs[skip:]})
	}
	return out, nil
}

// hwBands are the lower and upper confidence bands: the prediction
// ± delta deviations.
func hwBands(ec *evalContext, call *Expr, delta int, bootstrap, seasonality string) ([]*Series, error) {
	res, err := holtWinters(ec, call, bootstrap, seasonality)
	if err != nil {
		return nil, err
	}
	out := make([]*Series, 0, 2*len(res))
	for _, r := range res {
		lower := make([]float64, len(r.pred))
		upper := make([]float64, len(r.pred))
		for i, p := range r.pred {
			d := nan
			if i < len(r.devs) {
				d = r.devs[i]
			}
			if isNone(p) || isNone(d) {
				lower[i], upper[i] = nan, nan
				continue
			}
			sd := float64(delta) * d
			upper[i], lower[i] = p+sd, p-sd
		}
		s := r.src
		s.Tags["holtWintersConfidenceUpper"] = "1"
		s.Tags["holtWintersConfidenceLower"] = "1"
		step := s.Step * int64(max(s.VPP, 1))
		lo := newSeries(fmt.Sprintf("holtWintersConfidenceLower(%s)", s.Name), r.start, s.End, step, lower, s.XFF, cloneTags(s.Tags))
		up := newSeries(fmt.Sprintf("holtWintersConfidenceUpper(%s)", s.Name), r.start, s.End, step, upper, s.XFF, cloneTags(s.Tags))
		lo.PathExpr, up.PathExpr = s.PathExpr, s.PathExpr
		out = append(out, lo, up)
	}
	return out, nil
}

func hwParams(withDelta bool) []param {
	ps := []param{{name: "seriesList", kind: pSeries}}
	if withDelta {
		ps = append(ps, param{name: "delta", kind: pInt, opt: true, def: 3})
	}
	return append(ps, param{name: "bootstrapInterval", kind: pStr, opt: true, def: "7d", typ: "interval"},
		param{name: "seasonality", kind: pStr, opt: true, def: "1d", typ: "interval"})
}

func addForecastFunctions(m map[string]*function) {
	m["holtWintersForecast"] = &function{params: hwParams(false),
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			res, err := holtWinters(ec, call, a[1].(string), a[2].(string))
			if err != nil {
				return nil, err
			}
			out := make([]*Series, 0, len(res))
			for _, r := range res {
				s := r.src
				step := s.Step * int64(max(s.VPP, 1))
				out = append(out, newSeries(fmt.Sprintf("holtWintersForecast(%s)", s.Name), r.start, s.End, step, r.pred, s.XFF, cloneTags(s.Tags)))
			}
			return out, nil
		}}
	m["holtWintersConfidenceBands"] = &function{params: hwParams(true),
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			return hwBands(ec, call, a[1].(int), a[2].(string), a[3].(string))
		}}
	m["holtWintersConfidenceArea"] = &function{params: hwParams(true),
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			bands, err := hwBands(ec, call, a[1].(int), a[2].(string), a[3].(string))
			if err != nil {
				return nil, err
			}
			if bands, err = areaBetween(call, bands); err != nil {
				return nil, err
			}
			for _, s := range bands {
				delete(s.Tags, "areaBetween")
				s.Tags["holtWintersConfidenceArea"] = "1"
				s.Name = "holtWintersConfidenceArea" + s.Name[len("areaBetween"):]
				s.PathExpr = s.Name
			}
			return bands, nil
		}}
	m["holtWintersAberration"] = &function{params: hwParams(true),
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			bands, err := hwBands(ec, call, a[1].(int), a[2].(string), a[3].(string))
			if err != nil {
				return nil, err
			}
			byName := map[string]*Series{}
			for _, b := range bands {
				byName[b.Name] = b
			}
			var out []*Series
			for _, s := range series0(a) {
				lo, up := byName["holtWintersConfidenceLower("+s.Name+")"], byName["holtWintersConfidenceUpper("+s.Name+")"]
				if lo == nil || up == nil {
					return nil, errAt(call, "holtWintersAberration: no confidence bands for %s", s.Name)
				}
				p := s.points()
				ab := make([]float64, len(p))
				for i, v := range p {
					if isNone(v) {
						continue
					}
					if i >= len(up.Values) || i >= len(lo.Values) {
						return nil, errAt(call, "holtWintersAberration: %s has more points than its bands (they were read at another step)", s.Name)
					}
					switch u, l := up.Values[i], lo.Values[i]; {
					case !isNone(u) && v > u:
						ab[i] = v - u
					case !isNone(l) && v < l:
						ab[i] = v - l
					}
				}
				s.Tags["holtWintersAberration"] = "1"
				step := s.Step * int64(max(s.VPP, 1))
				out = append(out, newSeries(fmt.Sprintf("holtWintersAberration(%s)", s.Name), s.Start, s.End, step, ab, s.XFF, s.Tags))
			}
			return out, nil
		}}
	m["linearRegression"] = &function{params: []param{{name: "seriesList", kind: pSeries}, {name: "startSourceAt", kind: pStr, opt: true, typ: "date"}, {name: "endSourceAt", kind: pStr, opt: true, typ: "date"}},
		fn: linearRegression}
}

func linearRegression(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
	from, until := ec.from, ec.until
	var err error
	if s, ok := a[1].(string); ok {
		if from, err = ec.attime(call, s); err != nil {
			return nil, err
		}
	}
	if s, ok := a[2].(string); ok {
		if until, err = ec.attime(call, s); err != nil {
			return nil, err
		}
	}
	if from >= until {
		return nil, errAt(call, "linearRegression: the source range is empty")
	}
	src, err := ec.reEval(call, from, until)
	if err != nil {
		return nil, err
	}
	list := series0(a)
	var out []*Series
	for i := 0; i < min(len(src), len(list)); i++ {
		s := list[i]
		rng := strconv.FormatInt(from, 10) + ", " + strconv.FormatInt(until, 10)
		s.Tags["linearRegressions"] = rng
		factor, offset, ok := linearFit(src[i])
		if !ok {
			continue
		}
		step := s.Step * int64(max(s.VPP, 1))
		n := len(s.points())
		vals := make([]float64, n)
		for j := range vals {
			vals[j] = offset + float64(s.Start+int64(j)*step)*factor
		}
		name := fmt.Sprintf("linearRegression(%s, %s)", s.Name, rng)
		ns := newSeries(name, s.Start, s.End, step, vals, s.XFF, s.Tags)
		out = append(out, ns)
	}
	return out, nil
}

// linearFit is _linearRegressionAnalysis: least squares over the non-null
// points by index, as value = offset + t·factor.
func linearFit(s *Series) (factor, offset float64, ok bool) {
	p := s.points()
	var n, sumI, sumII int64
	var sumV, sumIV float64
	for i, v := range p {
		if isNone(v) {
			continue
		}
		n++
		sumI += int64(i)
		sumII += int64(i) * int64(i)
		sumV += v
		sumIV += float64(i) * v
	}
	den := float64(n*sumII - sumI*sumI)
	if den == 0 {
		return 0, 0, false
	}
	step := float64(s.Step * int64(max(s.VPP, 1)))
	factor = (float64(n)*sumIV - float64(sumI)*sumV) / den / step
	offset = (float64(sumII)*sumV-sumIV*float64(sumI))/den - factor*float64(s.Start)
	return factor, offset, true
}
