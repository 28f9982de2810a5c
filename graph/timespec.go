package graph

import (
	"fmt"
	"time"

	"rrdash/store/attime"
)

// DefaultStart and DefaultEnd are rrdtool graph's defaults.
const (
	DefaultStart = attime.DefaultStart
	DefaultEnd   = attime.DefaultEnd
)

const maxTimeSpecLen = 64

// CheckTime validates a --start/--end value: an rrdtool AT-style time
// ("-1d", "end-1w", "noon yesterday", "20:30 22.11.2026", seconds since
// 1970, see store/attime) or, as an rrdash extension for the UI, an
// RFC 3339 time. Empty means the default.
func CheckTime(s string) error {
	if s == "" {
		return nil
	}
	if len(s) > maxTimeSpecLen {
		return fmt.Errorf("time %.20q…: too long", s)
	}
	return attime.Check(atStyle(s))
}

// atStyle rewrites an RFC 3339 time as the AT-style spec of the same
// second; anything else is returned unchanged.
func atStyle(s string) string {
	if t, err := time.Parse(time.RFC3339, s); err == nil && t.Unix() >= 0 {
		return fmt.Sprintf("epoch+%ds", t.Unix())
	}
	return s
}

// ResolveRange turns start and end specs into Unix seconds as rrdtool
// does (rrd_parsetime and rrd_proc_start_end: one may be relative to the
// other, not both), in now's time zone. A graph needs start < end.
func ResolveRange(start, end string, now time.Time) (int64, int64, error) {
	if len(start) > maxTimeSpecLen || len(end) > maxTimeSpecLen {
		return 0, 0, fmt.Errorf("time range %.20q…%.20q: too long", start, end)
	}
	s, e, err := attime.ParseRange(atStyle(start), atStyle(end), now, now.Location())
	if err != nil {
		return 0, 0, err
	}
	if s < 0 || e < 0 {
		return 0, 0, fmt.Errorf("time range %d…%d is before 1970", s, e)
	}
	if s >= e {
		return 0, 0, fmt.Errorf("start (%d) must be before end (%d)", s, e)
	}
	return s, e, nil
}
