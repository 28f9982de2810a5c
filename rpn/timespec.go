package rpn

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseTimeRange resolves rrdtool-style --start and --end specifications
// (rrdfetch(1) "AT-STYLE TIME SPECIFICATION", the subset described in
// docs/rpn.md): empty start means "end-1d", empty end means "now"; either
// may refer to the other ("start=end-1h", "end=start+2h") but not both.
func ParseTimeRange(startSpec, endSpec string, now time.Time, loc *time.Location) (start, end int64, err error) {
	if loc == nil {
		loc = time.Local
	}
	if startSpec == "" {
		startSpec = "end-1d"
	}
	if endSpec == "" {
		endSpec = "now"
	}
	sRef, sOff, err := splitTimeSpec(startSpec)
	if err != nil {
		return 0, 0, fmt.Errorf("start time %q: %w", startSpec, err)
	}
	eRef, eOff, err := splitTimeSpec(endSpec)
	if err != nil {
		return 0, 0, fmt.Errorf("end time %q: %w", endSpec, err)
	}
	if sRef == "start" {
		return 0, 0, fmt.Errorf("start time %q refers to itself", startSpec)
	}
	if eRef == "end" {
		return 0, 0, fmt.Errorf("end time %q refers to itself", endSpec)
	}
	if sRef == "end" && eRef == "start" {
		return 0, 0, fmt.Errorf("start %q and end %q refer to each other", startSpec, endSpec)
	}
	base := func(ref string) (time.Time, error) {
		if ref == "now" {
			return now.In(loc), nil
		}
		n, err := strconv.ParseInt(ref, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("unknown time reference %q", ref)
		}
		return time.Unix(n, 0).In(loc), nil
	}
	var st, et time.Time
	if sRef == "end" {
		if et, err = base(eRef); err != nil {
			return 0, 0, fmt.Errorf("end time %q: %w", endSpec, err)
		}
		et = eOff(et)
		st = sOff(et)
	} else {
		if st, err = base(sRef); err != nil {
			return 0, 0, fmt.Errorf("start time %q: %w", startSpec, err)
		}
		st = sOff(st)
		if eRef == "start" {
			et = eOff(st)
		} else {
			if et, err = base(eRef); err != nil {
				return 0, 0, fmt.Errorf("end time %q: %w", endSpec, err)
			}
			et = eOff(et)
		}
	}
	if st.Unix() >= et.Unix() {
		return 0, 0, fmt.Errorf("start (%d) should be less than end (%d)", st.Unix(), et.Unix())
	}
	return st.Unix(), et.Unix(), nil
}

// splitTimeSpec splits "REF[±N unit…]" into the reference ("now", "start",
// "end" or epoch seconds) and a function applying the offsets.
func splitTimeSpec(spec string) (string, func(time.Time) time.Time, error) {
	s := strings.ToLower(strings.TrimSpace(spec))
	ref := ""
	switch {
	case s == "":
		return "", nil, fmt.Errorf("empty time")
	case s[0] == '-' || s[0] == '+':
		ref = "now"
	default:
		i := 0
		for i < len(s) && s[i] != '-' && s[i] != '+' {
			i++
		}
		ref, s = s[:i], s[i:]
		switch ref {
		case "n":
			ref = "now"
		case "s":
			ref = "start"
		case "e":
			ref = "end"
		case "epoch":
			ref = "0"
		case "now", "start", "end":
		default:
			if _, err := strconv.ParseInt(ref, 10, 64); err != nil {
				return "", nil, fmt.Errorf("unsupported time %q (use seconds since the epoch, now, start or end with ±offsets)", ref)
			}
		}
	}
	type step struct {
		n    int
		unit string
	}
	var steps []step
	prevUnit := ""
	for len(s) > 0 {
		sign := 1
		switch s[0] {
		case '-':
			sign = -1
			s = s[1:]
		case '+':
			s = s[1:]
		default:
			if len(steps) == 0 {
				return "", nil, fmt.Errorf("expected + or - at %q", s)
			}
			sign = 0 // continuation like "1d2h"
		}
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 {
			return "", nil, fmt.Errorf("expected a number at %q", s)
		}
		n, _ := strconv.Atoi(s[:i])
		s = s[i:]
		j := 0
		for j < len(s) && s[j] >= 'a' && s[j] <= 'z' {
			j++
		}
		word := s[:j]
		s = s[j:]
		if sign == 0 {
			sign = 1
			if len(steps) > 0 && steps[len(steps)-1].n < 0 {
				sign = -1
			}
		}
		unit, err := timeUnit(word, n, prevUnit)
		if err != nil {
			return "", nil, err
		}
		prevUnit = unit
		steps = append(steps, step{n: sign * n, unit: unit})
	}
	// As rrdtool's parsetime: days, weeks, months and years change the
	// broken-down local time, which mktime converts back keeping the
	// reference's DST flag (so "end-1d" across a DST change is 23 or 25
	// hours back in local terms but 24 h of the reference's UTC offset);
	// seconds, minutes and hours are added afterwards as exact intervals.
	apply := func(t time.Time) time.Time {
		var dy, dm, dd int
		var secs int64
		calendar := false
		for _, st := range steps {
			switch st.unit {
			case "s":
				secs += int64(st.n)
			case "min":
				secs += 60 * int64(st.n)
			case "h":
				secs += 3600 * int64(st.n)
			case "d":
				dd, calendar = dd+st.n, true
			case "w":
				dd, calendar = dd+7*st.n, true
			case "mon":
				dm, calendar = dm+st.n, true
			case "y":
				dy, calendar = dy+st.n, true
			}
		}
		if calendar {
			y, mo, d := t.Date()
			hh, mi, ss := t.Clock()
			_, off := t.Zone()
			wall := time.Date(y+dy, mo+time.Month(dm), d+dd, hh, mi, ss, 0, time.UTC)
			t = time.Unix(wall.Unix()-int64(off), 0).In(t.Location())
		}
		return t.Add(time.Duration(secs) * time.Second)
	}
	return ref, apply, nil
}

// timeUnit maps rrdtool's unit words; a bare "m" means months after days,
// weeks, months or years or for numbers below 6, else minutes (the
// heuristics of rrdfetch(1)).
func timeUnit(word string, n int, prev string) (string, error) {
	switch word {
	case "", "s", "sec", "secs", "second", "seconds":
		return "s", nil
	case "min", "mins", "minute", "minutes":
		return "min", nil
	case "h", "hr", "hrs", "hour", "hours":
		return "h", nil
	case "d", "day", "days":
		return "d", nil
	case "w", "wk", "wks", "week", "weeks":
		return "w", nil
	case "mon", "mons", "month", "months":
		return "mon", nil
	case "y", "yr", "yrs", "year", "years":
		return "y", nil
	case "m":
		switch prev {
		case "y", "mon", "w", "d":
			return "mon", nil
		case "h", "min", "s":
			return "min", nil
		}
		if n < 6 {
			return "mon", nil
		}
		return "min", nil
	}
	return "", fmt.Errorf("unknown time unit %q", word)
}
