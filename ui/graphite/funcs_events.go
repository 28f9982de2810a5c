package graphite

import (
	"context"
	"strings"
)

// AnnotationStore gives events() rrdash's annotations (store/meta's DB):
// the start times (Unix ms) of those starting within [fromMS, toMS] with
// every tag, an error past limit.
type AnnotationStore interface {
	AnnotationStarts(ctx context.Context, fromMS, toMS int64, tags []string, limit int) ([]int64, error)
}

// maxEvents bounds the annotations one events() call counts.
const maxEvents = 1_000_000

// eventsFunction is graphite-web's events(*tags) over rrdash's
// annotations (graphite-web reads its own events database): per second
// of the range, the number of annotations starting then with every tag
// ("*" alone: all), None where none start.
func eventsFunction(src AnnotationStore) *function {
	return &function{params: []param{{name: "tags", kind: pNodeVar, typ: "string"}},
		fn: func(ec *evalContext, call *Expr, a []any) ([]*Series, error) {
			raw, _ := a[0].([]any)
			tags := make([]string, len(raw))
			for i, r := range raw {
				s, ok := r.(string)
				if !ok {
					return nil, errAt(call, "events: tags are quoted strings")
				}
				tags[i] = s
			}
			name := `events("` + strings.Join(tags, `", "`) + `")`
			if len(tags) == 1 && tags[0] == "*" {
				tags = nil
			}
			points := ec.until - ec.from
			if points > maxPoints {
				return nil, errAt(call, "events: %d seconds make more than %d points", points, maxPoints)
			}
			starts, err := src.AnnotationStarts(ec.ctx, ec.from*1000, ec.until*1000+999, tags, maxEvents)
			if err != nil {
				return nil, errAt(call, "events: %v", err)
			}
			vals := make([]float64, points)
			for i := range vals {
				vals[i] = nan
			}
			for _, ms := range starts {
				off := floorDiv(ms, 1000) - ec.from
				if off < 0 || off >= points {
					// graphite-web fails (IndexError) on an event at the
					// range's last second, which has no slot
					return nil, errAt(call, "events: an annotation at %d s, the end of the range, has no slot", floorDiv(ms, 1000))
				}
				if isNone(vals[off]) {
					vals[off] = 0
				}
				vals[off]++
			}
			s := newSeries(name, ec.from, ec.until, 1, vals, ec.xff, nil)
			s.ConsFunc = "sum"
			return []*Series{s}, nil
		}}
}
