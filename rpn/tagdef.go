package rpn

import (
	"fmt"
	"math"

	"rrdash/store"
)

// Lister is what a Fetcher also offers to answer DEFs over tag queries
// (DEF:v=seriesByTag('name=http.requests','status_code=~5..'):count:AVERAGE);
// *store.DB has it.
type Lister interface {
	List(glob string) ([]string, error)
}

// TagSummer is a Fetcher that sums a tag query's series itself: a cluster
// node's routed store, where each shard's holder sums its own series and
// only the partial sums travel (store/cluster). A nil result means no
// series matched.
type TagSummer interface {
	SumTags(query []store.TagExpr, ds string, req store.FetchRequest) (*store.FetchResult, error)
}

// fetchTagged fetches every series a DEF's tag query matches and adds them
// row by row as Graphite's sumSeries does: unknown values are skipped, a
// row is unknown only where every series is. No match is a column of
// unknowns on the requested step (the series may not exist yet, as error
// counts before the first error). An rrdash extension: rrdtool's DEF
// reads one file.
func fetchTagged(f Fetcher, d Def, req store.FetchRequest) (*store.FetchResult, error) {
	if ts, ok := f.(TagSummer); ok {
		sum, err := ts.SumTags(d.Query, d.DS, req)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.Series, err)
		}
		if sum == nil {
			sum = unknownColumn(d, req)
		}
		return sum, nil
	}
	l, ok := f.(Lister)
	if !ok {
		return nil, fmt.Errorf("%s: this store cannot list series", d.Series)
	}
	all, err := l.List("")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Series, err)
	}
	var sum *store.FetchResult
	var first string
	for _, name := range all {
		if !store.MatchTags(name, d.Query) {
			continue
		}
		res, err := f.Fetch(name, req)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", d.Series, name, err)
		}
		col := res.Column(d.DS)
		if col == nil {
			return nil, fmt.Errorf("%s: series %q has no data source %q", d.Series, name, d.DS)
		}
		col = col[:min(len(col), res.Rows())]
		if sum == nil {
			first = name
			sum = &store.FetchResult{Start: res.Start, End: res.End, Step: res.Step, CF: res.CF, RRA: res.RRA,
				DS: []string{d.DS}, Values: [][]float64{append([]float64(nil), col...)}}
			continue
		}
		if res.Step != sum.Step || res.Start != sum.Start || len(col) != len(sum.Values[0]) {
			return nil, fmt.Errorf("%s: %s (step %d from %d, %d rows) and %s (step %d from %d, %d rows) cannot be added: their steps differ",
				d.Series, first, sum.Step, sum.Start, len(sum.Values[0]), name, res.Step, res.Start, len(col))
		}
		acc := sum.Values[0]
		for i, v := range col {
			switch {
			case math.IsNaN(v):
			case math.IsNaN(acc[i]):
				acc[i] = v
			default:
				acc[i] += v
			}
		}
	}
	if sum == nil {
		sum = unknownColumn(d, req)
	}
	return sum, nil
}

// unknownColumn is a tag DEF's answer when no series matches: a column of
// unknowns on the requested step.
func unknownColumn(d Def, req store.FetchRequest) *store.FetchResult {
	step := max(req.Resolution, 1)
	start := req.Start - req.Start%step
	end := req.End + (step-req.End%step)%step
	col := make([]float64, (end-start)/step)
	for i := range col {
		col[i] = math.NaN()
	}
	return &store.FetchResult{Start: start, End: end, Step: step, CF: req.CF, DS: []string{d.DS}, Values: [][]float64{col}}
}
