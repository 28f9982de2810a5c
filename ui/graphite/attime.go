package graphite

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseATTime parses a Graphite time (the from, until and now parameters)
// as graphite-web 1.1.8's parseATTime does: an epoch, "now", a relative
// offset ("-1h", "-2days"), "HH:MM_YYYYMMDD", "YYYYMMDD", "MM/DD/YY",
// "noon", "midnight", "teatime", "yesterday", "today", "tomorrow", month
// and weekday names, each optionally followed by +/- offsets. now is the
// reference for relative forms; loc is the time zone of absolute ones.
func ParseATTime(s string, loc *time.Location, now time.Time) (time.Time, error) {
	orig := s
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.NewReplacer("_", "", ",", "", " ", "").Replace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("time %q: empty", orig)
	}
	if isDigits(s) {
		if !(len(s) == 8 && atoi(s[:4]) > 1900 && atoi(s[4:6]) < 13 && atoi(s[6:]) < 32) {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("time %q: %w", orig, err)
			}
			return time.Unix(n, 0).In(loc), nil
		}
	}
	ref, off := s, ""
	if i := strings.IndexByte(s, '+'); i >= 0 {
		ref, off = s[:i], s[i:]
	} else if i := strings.IndexByte(s, '-'); i >= 0 {
		ref, off = s[:i], s[i:]
	}
	t, err := parseTimeReference(ref, loc, now)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: %w", orig, err)
	}
	d, err := ParseTimeOffset(off)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: %w", orig, err)
	}
	return t.Add(d), nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

var monthNames = []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
var weekdayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// parseTimeReference follows graphite-web's: a time of day, then a day.
func parseTimeReference(ref string, loc *time.Location, now time.Time) (time.Time, error) {
	now = now.In(loc)
	if ref == "" || ref == "now" {
		return now, nil
	}
	raw := ref
	hour, minute := 0, 0
	if i := strings.IndexByte(ref, ':'); i > 0 && i < 3 {
		h, err := strconv.Atoi(ref[:i])
		if err != nil {
			return time.Time{}, fmt.Errorf("bad hour in %q", raw)
		}
		end := min(i+3, len(ref))
		m, err := strconv.Atoi(ref[i+1 : end])
		if err != nil {
			return time.Time{}, fmt.Errorf("bad minute in %q", raw)
		}
		hour, minute = h, m
		ref = ref[end:]
		if strings.HasPrefix(ref, "am") {
			ref = ref[2:]
		} else if strings.HasPrefix(ref, "pm") {
			hour = (hour + 12) % 24
			ref = ref[2:]
		}
	}
	if i := strings.Index(ref, "am"); i > 0 && i < 3 {
		h, err := strconv.Atoi(ref[:i])
		if err != nil {
			return time.Time{}, fmt.Errorf("bad hour in %q", raw)
		}
		hour, ref = h, ref[i+2:]
	}
	if i := strings.Index(ref, "pm"); i > 0 && i < 3 {
		h, err := strconv.Atoi(ref[:i])
		if err != nil {
			return time.Time{}, fmt.Errorf("bad hour in %q", raw)
		}
		hour, ref = (h+12)%24, ref[i+2:]
	}
	switch {
	case strings.HasPrefix(ref, "noon"):
		hour, minute, ref = 12, 0, ref[4:]
	case strings.HasPrefix(ref, "midnight"):
		hour, minute, ref = 0, 0, ref[8:]
	case strings.HasPrefix(ref, "teatime"):
		hour, minute, ref = 16, 0, ref[7:]
	}
	if hour > 23 || minute > 59 || hour < 0 || minute < 0 {
		return time.Time{}, fmt.Errorf("hour or minute out of range in %q", raw)
	}
	y, mo, d := now.Date()
	switch {
	case ref == "yesterday":
		d--
	case ref == "today":
	case ref == "tomorrow":
		d++
	case strings.Count(ref, "/") == 2:
		p := strings.Split(ref, "/")
		m, err1 := strconv.Atoi(p[0])
		dd, err2 := strconv.Atoi(p[1])
		yy, err3 := strconv.Atoi(p[2])
		if err1 != nil || err2 != nil || err3 != nil {
			return time.Time{}, fmt.Errorf("bad MM/DD/YY date %q", raw)
		}
		if yy < 1900 {
			yy += 1900
		}
		if yy < 1970 {
			yy += 100
		}
		y, mo, d = yy, time.Month(m), dd
		if err := checkDate(y, mo, d); err != nil {
			return time.Time{}, fmt.Errorf("%q: %w", raw, err)
		}
	case len(ref) == 8 && isDigits(ref):
		y, mo, d = atoi(ref[:4]), time.Month(atoi(ref[4:6])), atoi(ref[6:])
		if err := checkDate(y, mo, d); err != nil {
			return time.Time{}, fmt.Errorf("%q: %w", raw, err)
		}
	case len(ref) >= 3 && indexOf(monthNames, ref[:3]) >= 0:
		var dd int
		switch {
		case len(ref) >= 2 && isDigits(ref[len(ref)-2:]):
			dd = atoi(ref[len(ref)-2:])
		case isDigits(ref[len(ref)-1:]):
			dd = atoi(ref[len(ref)-1:])
		default:
			return time.Time{}, fmt.Errorf("day of month required after month name in %q", raw)
		}
		mo, d = time.Month(indexOf(monthNames, ref[:3])+1), dd
		if err := checkDate(y, mo, d); err != nil {
			return time.Time{}, fmt.Errorf("%q: %w", raw, err)
		}
	case len(ref) >= 3 && indexOf(weekdayNames, ref[:3]) >= 0:
		off := int(now.Weekday()) - indexOf(weekdayNames, ref[:3])
		if off < 0 {
			off += 7
		}
		d -= off
	case ref != "":
		return time.Time{}, fmt.Errorf("unknown day reference %q", raw)
	}
	return time.Date(y, mo, d, hour, minute, 0, 0, loc), nil
}

func checkDate(y int, m time.Month, d int) error {
	if m < 1 || m > 12 || d < 1 || d > 31 {
		return fmt.Errorf("date %04d-%02d-%02d out of range", y, m, d)
	}
	if t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC); t.Day() != d {
		return fmt.Errorf("day %d out of range for %04d-%02d", d, y, m)
	}
	return nil
}

// ParseTimeOffset parses graphite-web's offsets: "-1h", "+2days3hours",
// "5min" (no sign: +). Units by prefix: s, min, h, d, w, mon (30 days),
// y (365 days); "m" alone is refused as graphite-web 1.1.8 refuses it.
func ParseTimeOffset(off string) (time.Duration, error) {
	if off == "" {
		return 0, nil
	}
	sign := int64(1)
	switch off[0] {
	case '+':
		off = off[1:]
	case '-':
		sign, off = -1, off[1:]
	default:
		if off[0] < '0' || off[0] > '9' {
			return 0, fmt.Errorf("invalid offset %q", off)
		}
	}
	var total int64
	for off != "" {
		i := 0
		for i < len(off) && off[i] >= '0' && off[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("offset %q: want a number", off)
		}
		num, err := strconv.ParseInt(off[:i], 10, 64)
		if err != nil || num > 1<<40 {
			return 0, fmt.Errorf("offset %q: number out of range", off)
		}
		off = off[i:]
		j := 0
		for j < len(off) && (off[j] >= 'a' && off[j] <= 'z' || off[j] >= 'A' && off[j] <= 'Z') {
			j++
		}
		unit := strings.ToLower(off[:j])
		off = off[j:]
		sec, err := unitSeconds(unit)
		if err != nil {
			return 0, err
		}
		total += sign * num * sec
		if total > 1<<50 || total < -(1<<50) {
			return 0, fmt.Errorf("offset out of range")
		}
	}
	return time.Duration(total) * time.Second, nil
}

func unitSeconds(u string) (int64, error) {
	switch {
	case strings.HasPrefix(u, "s"):
		return 1, nil
	case strings.HasPrefix(u, "min"):
		return 60, nil
	case strings.HasPrefix(u, "h"):
		return 3600, nil
	case strings.HasPrefix(u, "d"):
		return 86400, nil
	case strings.HasPrefix(u, "w"):
		return 7 * 86400, nil
	case strings.HasPrefix(u, "mon"):
		return 30 * 86400, nil
	case strings.HasPrefix(u, "y"):
		return 365 * 86400, nil
	}
	return 0, fmt.Errorf("invalid offset unit %q (want s, min, h, d, w, mon or y)", u)
}
