package attime

import (
	"fmt"
	"time"
)

// Default --start and --end of rrdtool fetch, xport and graph.
const (
	DefaultStart = "end-1d"
	DefaultEnd   = "now"
)

// ParseRange resolves rrdtool-style --start and --end specifications
// (rrdfetch(1) "AT-STYLE TIME SPECIFICATION") with now as
// the clock in loc: empty start means "end-1d", empty end means "now";
// either may refer to the other ("start=end-1h", "end=start+2h") but not
// both. Like rrdtool it refuses start > end (start == end is allowed).
func ParseRange(startSpec, endSpec string, now time.Time, loc *time.Location) (start, end int64, err error) {
	if loc == nil {
		loc = time.Local
	}
	if startSpec == "" {
		startSpec = DefaultStart
	}
	if endSpec == "" {
		endSpec = DefaultEnd
	}
	// rrdtool parses the default "now" first, then --start, then --end;
	// each mktime starts from the previous one's offset.
	_, guess := now.In(loc).Zone()
	st, err := parseAt(startSpec, now, loc, guess)
	if err != nil {
		return 0, 0, fmt.Errorf("start time %q: %w", startSpec, err)
	}
	if st.kind == timeAbsolute {
		guess = st.tm.utcOffset
	}
	et, err := parseAt(endSpec, now, loc, guess)
	if err != nil {
		return 0, 0, fmt.Errorf("end time %q: %w", endSpec, err)
	}
	if start, end, err = resolveRange(st, et, loc); err != nil {
		return 0, 0, err
	}
	if start > end {
		return 0, 0, fmt.Errorf("start (%d) should be less than end (%d)", start, end)
	}
	return start, end, nil
}

// Parse resolves one AT-style time that is not relative to a start or
// an end, such as `rrdtool create --start`.
func Parse(spec string, now time.Time, loc *time.Location) (int64, error) {
	if loc == nil {
		loc = time.Local
	}
	_, guess := now.In(loc).Zone()
	at, err := parseAt(spec, now, loc, guess)
	if err != nil {
		return 0, fmt.Errorf("time %q: %w", spec, err)
	}
	if at.kind == timeRelStart || at.kind == timeRelEnd {
		return 0, fmt.Errorf("time %q: start and end references are not allowed here", spec)
	}
	return absolute(at, loc), nil
}

// Check reports whether spec is a valid AT-style time, for forms
// that validate input before anything is resolved.
func Check(spec string) error {
	if _, err := parseAt(spec, time.Unix(0, 0), time.UTC, 0); err != nil {
		return fmt.Errorf("time %q: %w", spec, err)
	}
	return nil
}

// MovesWithClock reports whether a start/end pair depends on the
// current time ("-1d", "noon yesterday"), as opposed to a fixed range.
func MovesWithClock(startSpec, endSpec string, loc *time.Location) bool {
	// Resolve at two clocks far apart that differ in year, month, weekday
	// and time of day: only a range that ignores the clock comes out equal.
	a := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	b := time.Date(2013, 8, 21, 17, 43, 29, 0, time.UTC)
	s1, e1, err1 := ParseRange(startSpec, endSpec, a, loc)
	s2, e2, err2 := ParseRange(startSpec, endSpec, b, loc)
	return err1 != nil || err2 != nil || s1 != s2 || e1 != e2
}
