package attime

import (
	"fmt"
	"slices"
	"time"
)

// This file turns parsed AT-style times into seconds: rrd_proc_start_end and
// the mktime normalisation it relies on, in the given time zone.

// resolveRange is rrd_proc_start_end: each time in seconds, one relative
// to the other at most, calendar deltas applied to the broken-down
// reference so mktime normalises them.
func resolveRange(start, end atTime, loc *time.Location) (int64, int64, error) {
	switch {
	case start.kind == timeRelEnd && end.kind == timeRelStart:
		return 0, 0, fmt.Errorf("the start and end times cannot be relative to each other")
	case start.kind == timeRelStart:
		return 0, 0, fmt.Errorf("the start time cannot be relative to itself")
	case end.kind == timeRelEnd:
		return 0, 0, fmt.Errorf("the end time cannot be relative to itself")
	}
	var s, e int64
	switch {
	case start.kind == timeRelEnd:
		e = absolute(end, loc)
		s = shifted(e, start, loc)
	case end.kind == timeRelStart:
		s = absolute(start, loc)
		e = shifted(s, end, loc)
	default:
		s, e = absolute(start, loc), absolute(end, loc)
	}
	return s, e, nil
}

// shifted is base moved by a relative time: its calendar deltas added to
// the broken-down base in loc (mktime keeps the base's DST flag), then its
// offset in seconds.
func shifted(base int64, rel atTime, loc *time.Location) int64 {
	tm := localTM(base, loc)
	tm.mday += rel.tm.mday
	tm.mon += rel.tm.mon
	tm.year += rel.tm.year
	return mktime(&tm, loc, tm.utcOffset) + rel.offset
}

func absolute(at atTime, loc *time.Location) int64 {
	if at.kind == timeRelEpoch {
		// rrdtool 1.7.2 counts "epoch+N" from its zeroed struct tm
		// (1899-12-31 local), which rrdfetch(1) contradicts; rrdash does
		// what the man page documents: 1970-01-01 00:00:00 UTC.
		return shifted(0, at, time.UTC)
	}
	tm := at.tm
	return mktime(&tm, loc, tm.utcOffset) + at.offset
}

// localTM is localtime(3).
func localTM(t int64, loc *time.Location) brokenTime {
	lt := time.Unix(t, 0).In(loc)
	isdst := 0
	if lt.IsDST() {
		isdst = 1
	}
	_, off := lt.Zone()
	return brokenTime{year: lt.Year() - 1900, mon: int(lt.Month()) - 1, mday: lt.Day(),
		hour: lt.Hour(), min: lt.Minute(), sec: lt.Second(), wday: int(lt.Weekday()), isdst: isdst, utcOffset: off}
}

// mktime is mktime(3) as glibc does it: fields are normalised; a wall
// time that exists twice is read with the DST flag asked for, or else
// with the offset glibc's search reaches first from guessOff; one that
// does not exist (clocks go forward) with the offset of the DST flag
// asked for, or else the offset before the change;
// a DST flag that does not match the date takes the nearest offset with
// that flag. tm is rewritten normalised, like C's.
func mktime(tm *brokenTime, loc *time.Location, guessOff int) int64 {
	wall := time.Date(tm.year+1900, time.Month(tm.mon+1), tm.mday, tm.hour, tm.min, tm.sec, 0, time.UTC).Unix()
	type reading struct {
		off int
		dst bool
	}
	zoneAt := func(t int64) reading {
		lt := time.Unix(t, 0).In(loc)
		_, off := lt.Zone()
		return reading{off, lt.IsDST()}
	}
	// Every offset in force within two days either side is a candidate.
	var cands []reading
	for _, probe := range []int64{wall - 2*86400, wall - 86400, wall, wall + 86400, wall + 2*86400} {
		z := zoneAt(probe)
		if !slices.Contains(cands, z) {
			cands = append(cands, z)
		}
	}
	var valid []reading
	for _, c := range cands {
		if zoneAt(wall-int64(c.off)) == c {
			valid = append(valid, c)
		}
	}
	t, found := int64(0), false
	if tm.isdst >= 0 {
		for _, v := range valid {
			if v.dst == (tm.isdst > 0) {
				t, found = wall-int64(v.off), true
				break
			}
		}
		if !found && len(valid) == 0 { // in a gap: the offset of the flag asked for
			for _, c := range cands {
				if c.dst == (tm.isdst > 0) {
					t, found = wall-int64(c.off), true
					break
				}
			}
		}
		if !found && len(valid) > 0 {
			if off, ok := nearestOffset(wall-int64(valid[0].off), tm.isdst > 0, loc); ok {
				t, found = wall-int64(off), true
			}
		}
	}
	if !found {
		switch len(valid) {
		case 0: // in a gap: the offset before it, the smaller one
			off := cands[0].off
			for _, c := range cands {
				off = min(off, c.off)
			}
			t = wall - int64(off)
		case 1:
			t = wall - int64(valid[0].off)
		default: // glibc's search: try the guess, then the offset it lands on
			g := guessOff
			t = wall - int64(valid[0].off)
			for range 4 {
				if i := slices.IndexFunc(valid, func(v reading) bool { return v.off == g }); i >= 0 {
					t = wall - int64(g)
					break
				}
				g = zoneAt(wall - int64(g)).off
			}
		}
	}
	*tm = localTM(t, loc)
	return t
}

// nearestOffset finds the UTC offset in force at the nearest instant to t
// (within about a year) whose DST flag is dst.
func nearestOffset(t int64, dst bool, loc *time.Location) (int, bool) {
	for d := int64(0); d <= 400; d++ {
		for _, probe := range []int64{t - d*86400, t + d*86400} {
			lt := time.Unix(probe, 0).In(loc)
			if lt.IsDST() == dst {
				_, off := lt.Zone()
				return off, true
			}
		}
	}
	return 0, false
}
