package ui

import (
	"fmt"
	"math"
	"time"

	"rrdash/store"
)

// rangeButtons are the range picker's spans (pages' Ranges), shortest first.
var rangeButtons = []struct {
	spec string
	dur  time.Duration
}{
	{"-1h", time.Hour}, {"-6h", 6 * time.Hour}, {"-1d", 24 * time.Hour},
	{"-1w", 7 * 24 * time.Hour}, {"-1mon", 30 * 24 * time.Hour}, {"-1y", 365 * 24 * time.Hour},
}

// fitRange is a start spec showing about span before now: a range
// button's when span is between half of it and a little more (so the
// button is highlighted), else span itself in whole minutes or hours.
func fitRange(span time.Duration) string {
	if span <= 0 {
		return "-1d"
	}
	for _, b := range rangeButtons {
		if span <= b.dur*11/10 && span >= b.dur/2 {
			return b.spec
		}
	}
	if span < 2*time.Hour {
		return fmt.Sprintf("-%dmin", max(1, int(math.Ceil(span.Minutes()))))
	}
	if span <= 30*24*time.Hour {
		return fmt.Sprintf("-%dh", int(math.Ceil(span.Hours())))
	}
	return "-1y"
}

// dataSpan is how far back, within the last maxSpan, the first known
// value of ds lies in any of the series (0: none known). It reads the
// finest archive, as a chart of that range would.
func (s *Server) dataSpan(series []string, ds string, maxSpan time.Duration) time.Duration {
	now := s.cfg.Now().Unix()
	start := now - int64(maxSpan/time.Second)
	first := int64(math.MaxInt64)
	for _, name := range series {
		r, err := s.store.Fetch(name, store.FetchRequest{CF: store.Average, Start: start, End: now})
		if err != nil {
			// The range is a convenience: a series it cannot read (no
			// AVERAGE archive) leaves it to the others, and the charts
			// report the error themselves.
			s.log.Warn("default range: series not readable", "series", name, "error", err)
			continue
		}
		col := -1
		for i, d := range r.DS {
			if d == ds {
				col = i
			}
		}
		if col < 0 {
			continue
		}
		for i, v := range r.Values[col] {
			if !math.IsNaN(v) {
				first = min(first, r.Start+int64(i)*r.Step)
				break
			}
		}
	}
	if first == math.MaxInt64 || first >= now {
		return 0
	}
	return time.Duration(now-first) * time.Second
}
