package tracelog

import (
	"context"
	"errors"
	"fmt"
	"math"

	"rrdash/store"
)

// Sink is where rows go; *store.DB satisfies it.
type Sink interface {
	Ensure(name string, spec store.Spec) (created bool, err error)
	Apply(ctx context.Context, b store.Batch) (store.Result, error)
	Position(source string) []byte
	LastUpdate(name string) (int64, error)
	Spec(name string) (store.Spec, error)
}

// archive resolutions and spans of a tracelog series (seconds).
var archives = []struct{ res, span int64 }{
	{60, 2 * 86400},       // 1 minute for 2 days
	{300, 14 * 86400},     // 5 minutes for 2 weeks
	{3600, 396 * 86400},   // 1 hour for 13 months
	{86400, 3660 * 86400}, // 1 day for 10 years
}

// SeriesSpec is the definition of a tracelog series with the given step
// (seconds), starting at start. Every DS is a GAUGE written exactly at step
// boundaries, so each primary data point is the value computed for its step.
func SeriesSpec(step, start int64) store.Spec {
	sp := store.Spec{Step: step, Start: start}
	for _, n := range DSNames {
		sp.DS = append(sp.DS, store.DS{Name: n, Type: store.Gauge, Heartbeat: 2 * step, Min: 0, Max: math.NaN()})
	}
	prev := int64(0)
	for _, a := range archives {
		steps := max(1, a.res/step)
		if steps == prev {
			continue
		}
		prev = steps
		rows := max(1, a.span/(steps*step))
		for _, cf := range []store.CF{store.Average, store.Min, store.Max, store.Last} {
			sp.RRA = append(sp.RRA, store.RRA{CF: cf, XFF: 0.5, Steps: steps, Rows: rows})
		}
	}
	return sp
}

// sinkFloor creates series on first sight and tells the deriver where each
// may resume: at the series' last update, so that steps written before a
// restart are never written again.
func sinkFloor(sink Sink, step, grace int64) FloorFunc {
	return func(name string, first int64) (int64, bool, error) {
		start := floorDiv(floorDiv(first, 1e6)-grace, step) * step
		created, err := sink.Ensure(name, SeriesSpec(step, start))
		if err != nil {
			return 0, false, fmt.Errorf("create: %w", err)
		}
		sp, err := sink.Spec(name)
		if err != nil {
			return 0, false, err
		}
		if sp.Step != step {
			return 0, false, fmt.Errorf("existing series has step %d s, not %d s", sp.Step, step)
		}
		if len(sp.DS) != len(DSNames) {
			return 0, false, errors.New("existing series has other data sources than a tracelog series")
		}
		last, err := sink.LastUpdate(name)
		if err != nil {
			return 0, false, err
		}
		return floorDiv(last, step) * step, created, nil
	}
}

// toUpdates converts rows to store updates.
func toUpdates(rows []Row) []store.Update {
	u := make([]store.Update, len(rows))
	for i, r := range rows {
		u[i] = store.Update{Series: r.Series, Time: r.End, Values: r.Values}
	}
	return u
}
