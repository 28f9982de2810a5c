package graph

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TimeRef is what a time spec is relative to.
type TimeRef uint8

// Time references.
const (
	RefAbsolute TimeRef = iota // Unix seconds in Offset
	RefNow
	RefStart // "start-…", "s+…": relative to the resolved start
	RefEnd   // "end-…", "e-…": relative to the resolved end
)

// TimeSpec is a parsed rrdtool-style time: a reference plus an offset in seconds.
type TimeSpec struct {
	Ref    TimeRef
	Offset int64
}

// offset units; a month is 31 days and a year 366 days as in rrdtool's
// scaled durations, so a range never comes out shorter than asked.
var timeUnits = []struct {
	names []string
	sec   int64
}{
	{[]string{"seconds", "second", "sec", "s"}, 1},
	{[]string{"minutes", "minute", "min", "m"}, 60},
	{[]string{"hours", "hour", "h"}, 3600},
	{[]string{"days", "day", "d"}, 86400},
	{[]string{"weeks", "week", "w"}, 7 * 86400},
	{[]string{"months", "month", "mon", "M"}, 31 * 86400},
	{[]string{"years", "year", "y"}, 366 * 86400},
}

const maxOffset = 200 * 366 * 86400

// ParseTime parses "now", "-1d", "now-6h", "end-1w", "e-1h", "start+1h",
// "s+30m", Unix seconds, or RFC 3339. Empty returns the zero TimeSpec
// (absolute 0), which callers read as "use the default".
func ParseTime(s string) (TimeSpec, error) {
	if s == "" {
		return TimeSpec{}, nil
	}
	if len(s) > 64 {
		return TimeSpec{}, fmt.Errorf("time %.20q…: too long", s)
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > 1<<40 {
			return TimeSpec{}, fmt.Errorf("time %q out of range", s)
		}
		return TimeSpec{Ref: RefAbsolute, Offset: n}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		if t.Unix() < 0 {
			return TimeSpec{}, fmt.Errorf("time %q is before 1970", s)
		}
		return TimeSpec{Ref: RefAbsolute, Offset: t.Unix()}, nil
	}
	ref, rest := RefNow, s
	for _, p := range []struct {
		prefix string
		ref    TimeRef
	}{{"now", RefNow}, {"end", RefEnd}, {"start", RefStart}, {"e", RefEnd}, {"s", RefStart}} {
		if strings.HasPrefix(s, p.prefix) {
			ref, rest = p.ref, s[len(p.prefix):]
			break
		}
	}
	if rest == "" {
		if ref != RefNow {
			return TimeSpec{}, fmt.Errorf("time %q: %q needs an offset like -1d", s, s)
		}
		return TimeSpec{Ref: RefNow}, nil
	}
	var total int64
	pos := len(s) - len(rest)
	sign, prevSign, seenTerm := int64(1), int64(1), false
	for rest != "" {
		switch c := rest[0]; {
		case c == '-':
			sign = -1
		case c == '+':
			sign = 1
		case c >= '0' && c <= '9' && seenTerm:
			// "1h30min": a further term keeps the previous sign.
			sign = prevSign
		default:
			return TimeSpec{}, fmt.Errorf("time %q: at position %d: want + or -, got %q", s, pos+1, rest[:1])
		}
		if rest[0] == '-' || rest[0] == '+' {
			rest = rest[1:]
			pos++
		}
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return TimeSpec{}, fmt.Errorf("time %q: at position %d: want a number", s, pos+1)
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil || n > maxOffset {
			return TimeSpec{}, fmt.Errorf("time %q: at position %d: number out of range", s, pos+1)
		}
		rest, pos = rest[i:], pos+i
		j := 0
		for j < len(rest) && (rest[j] >= 'a' && rest[j] <= 'z' || rest[j] >= 'A' && rest[j] <= 'Z') {
			j++
		}
		unit := rest[:j]
		mult := int64(-1)
		if unit == "" {
			mult = 1
		}
		for _, u := range timeUnits {
			for _, name := range u.names {
				if unit == name {
					mult = u.sec
				}
			}
		}
		if mult < 0 {
			return TimeSpec{}, fmt.Errorf("time %q: at position %d: unknown unit %q (want s, min, h, d, w, mon or y)", s, pos+1, unit)
		}
		rest, pos = rest[j:], pos+j
		total += sign * n * mult
		prevSign, seenTerm = sign, true
		if total > maxOffset || total < -maxOffset {
			return TimeSpec{}, fmt.Errorf("time %q: offset out of range", s)
		}
	}
	return TimeSpec{Ref: ref, Offset: total}, nil
}

// DefaultStart and DefaultEnd are rrdtool graph's defaults.
const (
	DefaultStart = "end-1d"
	DefaultEnd   = "now"
)

// ResolveRange turns start and end specs into Unix seconds, as rrdtool's
// rrd_proc_start_end does: one may be relative to the other, not both.
func ResolveRange(start, end string, now time.Time) (int64, int64, error) {
	if start == "" {
		start = DefaultStart
	}
	if end == "" {
		end = DefaultEnd
	}
	ss, err := ParseTime(start)
	if err != nil {
		return 0, 0, fmt.Errorf("start: %w", err)
	}
	es, err := ParseTime(end)
	if err != nil {
		return 0, 0, fmt.Errorf("end: %w", err)
	}
	if ss.Ref == RefStart {
		return 0, 0, errors.New("start cannot be relative to itself")
	}
	if es.Ref == RefEnd {
		return 0, 0, errors.New("end cannot be relative to itself")
	}
	if ss.Ref == RefEnd && es.Ref == RefStart {
		return 0, 0, errors.New("start and end cannot both be relative to each other")
	}
	base := func(t TimeSpec) int64 {
		if t.Ref == RefNow {
			return now.Unix() + t.Offset
		}
		return t.Offset
	}
	var s, e int64
	switch {
	case ss.Ref == RefEnd:
		e = base(es)
		s = e + ss.Offset
	case es.Ref == RefStart:
		s = base(ss)
		e = s + es.Offset
	default:
		s, e = base(ss), base(es)
	}
	if s < 0 || e < 0 {
		return 0, 0, fmt.Errorf("time range %d…%d is before 1970", s, e)
	}
	if s >= e {
		return 0, 0, fmt.Errorf("start (%d) must be before end (%d)", s, e)
	}
	return s, e, nil
}

// IsRelative reports whether a start/end pair moves with the clock.
func IsRelative(start, end string) bool {
	if end == "" {
		end = DefaultEnd
	}
	if start == "" {
		start = DefaultStart
	}
	ss, err1 := ParseTime(start)
	es, err2 := ParseTime(end)
	if err1 != nil || err2 != nil {
		return false
	}
	return ss.Ref == RefNow || es.Ref == RefNow
}
