package graphite

import (
	"encoding/json"
	"math"
	"net/http"
	"sort"
	"strings"
)

// functionGroups are graphite-web's groups (Grafana's function menu);
// "Graph" functions only style drawn graphs and Grafana leaves them out.
var functionGroups = map[string][]string{
	"Combine": {"sumSeries", "sum", "averageSeries", "avg", "maxSeries", "minSeries", "diffSeries", "multiplySeries", "stddevSeries",
		"rangeOfSeries", "countSeries", "percentileOfSeries", "aggregate", "sumSeriesWithWildcards", "averageSeriesWithWildcards",
		"multiplySeriesWithWildcards", "aggregateWithWildcards", "groupByNode", "groupByNodes", "groupByTags", "asPercent", "pct",
		"divideSeries", "group", "aggregateSeriesLists", "sumSeriesLists", "diffSeriesLists", "multiplySeriesLists", "divideSeriesLists",
		"applyByNode", "map", "mapSeries", "reduce", "reduceSeries", "weightedAverage", "powSeries"},
	"Transform": {"scale", "offset", "add", "absolute", "pow", "squareRoot", "invert", "log", "round", "derivative",
		"nonNegativeDerivative", "perSecond", "integral", "integralByInterval", "scaleToSeconds", "offsetToZero", "minMax",
		"delay", "changed", "keepLastValue", "interpolate", "transformNull", "summarize", "hitcount", "timeShift",
		"exp", "logit", "sigmoid", "smartSummarize", "timeSlice", "timeStack", "isNonNull", "sin", "sinFunction", "time", "timeFunction"},
	"Calculate": {"movingAverage", "movingSum", "movingMin", "movingMax", "movingMedian", "movingWindow", "nPercentile",
		"aggregateLine", "exponentialMovingAverage", "holtWintersAberration", "holtWintersConfidenceArea", "holtWintersConfidenceBands",
		"holtWintersForecast", "linearRegression", "stdev", "identity"},
	"Filter Series": {"highest", "highestCurrent", "highestAverage", "highestMax", "lowest", "lowestCurrent", "lowestAverage", "currentAbove", "currentBelow", "averageAbove", "averageBelow", "maximumAbove", "maximumBelow", "minimumAbove", "minimumBelow", "filterSeries", "removeEmptySeries", "limit", "grep", "exclude", "unique",
		"averageOutsidePercentile", "mostDeviant", "removeBetweenPercentile", "useSeriesAbove"},
	"Filter Data": {"removeAboveValue", "removeBelowValue", "removeAbovePercentile", "removeBelowPercentile"},
	"Sorting":     {"sortBy", "sortByMaxima", "sortByMinima", "sortByTotal", "sortByName"},
	"Alias":       {"alias", "aliasByNode", "aliasByTags", "aliasByMetric", "aliasSub", "aliasQuery", "legendValue"},
	"Special":     {"constantLine", "substr", "seriesByTag", "cactiStyle", "changed", "consolidateBy", "cumulative", "fallbackSeries", "setXFilesFactor", "xFilesFactor", "randomWalk", "randomWalkFunction", "events"},
	"Graph":       {"color", "lineWidth", "alpha", "dashed", "secondYAxis", "drawAsInfinite", "areaBetween", "stacked", "threshold", "verticalLine"},
}

type catalogParam struct {
	Name     string          `json:"name"`
	Type     string          `json:"type"`
	Required bool            `json:"required,omitempty"`
	Multiple bool            `json:"multiple,omitempty"`
	Default  json.RawMessage `json:"default,omitempty"`
	Options  []string        `json:"options,omitempty"`
}

type catalogEntry struct {
	Name        string         `json:"name"`
	Group       string         `json:"group"`
	Module      string         `json:"module"`
	Description string         `json:"description"`
	Params      []catalogParam `json:"params"`
}

// functionCatalog is graphite-web's /functions answer for the functions
// rrdash has, so that Grafana offers exactly those.
func (a *API) functionCatalog() map[string]catalogEntry {
	group := map[string]string{}
	for g, names := range functionGroups {
		for _, n := range names {
			group[n] = g
		}
	}
	aggNames := make([]string, 0, len(aggFuncs))
	for n := range aggFuncs {
		aggNames = append(aggNames, n)
	}
	sort.Strings(aggNames)
	out := map[string]catalogEntry{}
	add := func(name string, ps []param) {
		e := catalogEntry{Name: name, Group: group[name], Module: "rrdash", Description: "graphite-web 1.1.8's " + name + " (rrdash)", Params: []catalogParam{}}
		for _, p := range ps {
			cp := catalogParam{Name: p.name, Required: !p.opt}
			switch p.kind {
			case pSeries:
				cp.Type = "seriesList"
			case pSeriesVar:
				cp.Type, cp.Multiple = "seriesList", true
			case pNum:
				cp.Type = "float"
			case pInt:
				cp.Type = "integer"
			case pStr:
				cp.Type = "string"
				if p.name == "func" || p.name == "callback" {
					cp.Type, cp.Options = "aggFunc", aggNames
				}
				if p.name == "consolidationFunc" {
					cp.Options = []string{"average", "avg", "avg_zero", "first", "last", "max", "min", "sum"}
				}
			case pBool:
				cp.Type = "boolean"
			case pIntOrStr:
				cp.Type = "intOrInterval"
			case pNodeVar:
				cp.Type, cp.Multiple = "nodeOrTag", true
			case pNode:
				cp.Type = "nodeOrTag"
			case pSeriesOrNum:
				cp.Type = "any"
			}
			if p.typ != "" {
				cp.Type = p.typ
				if p.typ == "aggFunc" || p.typ == "aggOrSeriesFunc" {
					cp.Options = aggNames
				}
			}
			if p.options != nil {
				cp.Options = p.options
			}
			if p.def != nil {
				var b []byte
				if f, ok := p.def.(float64); ok && math.IsInf(f, 1) {
					b = []byte("1e9999") // graphite-web's "Infinity" as Grafana rewrites it
				} else {
					b, _ = json.Marshal(p.def) // numbers, strings, booleans
				}
				cp.Default = b
			}
			e.Params = append(e.Params, cp)
		}
		out[name] = e
	}
	for name, f := range a.funcs {
		add(name, f.params)
	}
	add("seriesByTag", []param{{name: "tagExpressions", kind: pStr}})
	out["seriesByTag"].Params[0].Multiple = true
	return out
}

// Functions is /functions (all) and /functions/<name> (one): the function
// catalogue Grafana's query editor loads.
func (a *API) Functions(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cat := a.functionCatalog()
		if name == "" {
			if err := writeJSONValue(w, cat); err != nil {
				a.log.Debug("functions write", "error", err)
			}
			return
		}
		e, ok := cat[strings.TrimSpace(name)]
		if !ok {
			a.fail(w, r, &notFound{"function not found: " + name})
			return
		}
		if err := writeJSONValue(w, e); err != nil {
			a.log.Debug("functions write", "error", err)
		}
	}
}

type notFound struct{ msg string }

func (e *notFound) Error() string { return e.msg }
