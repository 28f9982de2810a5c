package graph

import (
	"strconv"
	"time"
)

// xlabSpec is one row of rrdtool's x axis table: from how many seconds per
// pixel it applies, the minor grid, major grid and label intervals, the
// label's precision (its time is shifted by half of it) and its format.
type xlabSpec struct {
	minsec   float64
	length   int64
	gridTM   string
	gridSt   int
	mgridTM  string
	mgridSt  int
	labTM    string
	labSt    int
	precis   int64
	strftime string
}

// xlab is rrdtool 1.7.2's table (rrd_graph.c).
var xlab = []xlabSpec{
	{0.0, 0, "SECOND", 1, "SECOND", 5, "SECOND", 1, 0, "%H:%M:%S"},
	{0.015, 0, "SECOND", 1, "SECOND", 5, "SECOND", 5, 0, "%H:%M:%S"},
	{0.08, 0, "SECOND", 1, "SECOND", 5, "SECOND", 10, 0, "%H:%M:%S"},
	{0.15, 0, "SECOND", 5, "SECOND", 15, "SECOND", 30, 0, "%H:%M:%S"},
	{0.4, 0, "SECOND", 10, "MINUTE", 1, "MINUTE", 1, 0, "%H:%M"},
	{0.7, 0, "SECOND", 20, "MINUTE", 1, "MINUTE", 1, 0, "%H:%M"},
	{1.0, 0, "SECOND", 30, "MINUTE", 1, "MINUTE", 2, 0, "%H:%M"},
	{2.0, 0, "MINUTE", 1, "MINUTE", 5, "MINUTE", 5, 0, "%H:%M"},
	{5.0, 0, "MINUTE", 2, "MINUTE", 10, "MINUTE", 10, 0, "%H:%M"},
	{10.0, 0, "MINUTE", 5, "MINUTE", 20, "MINUTE", 20, 0, "%H:%M"},
	{30.0, 0, "MINUTE", 10, "MINUTE", 30, "HOUR", 1, 0, "%H:%M"},
	{60.0, 0, "MINUTE", 30, "HOUR", 1, "HOUR", 2, 0, "%H:%M"},
	{60.0, 24 * 3600, "MINUTE", 30, "HOUR", 1, "HOUR", 3, 0, "%a %H:%M"},
	{140.0, 0, "HOUR", 1, "HOUR", 2, "HOUR", 4, 0, "%a %H:%M"},
	{180.0, 0, "HOUR", 1, "HOUR", 3, "HOUR", 6, 0, "%a %H:%M"},
	{300.0, 0, "HOUR", 2, "HOUR", 6, "HOUR", 12, 0, "%a %H:%M"},
	{600.0, 0, "HOUR", 6, "DAY", 1, "DAY", 1, 24 * 3600, "%a %d %b"},
	{1200.0, 0, "HOUR", 6, "DAY", 1, "DAY", 1, 24 * 3600, "%d %b"},
	{1800.0, 0, "HOUR", 12, "DAY", 1, "DAY", 2, 24 * 3600, "%a %d %b"},
	{2400.0, 0, "HOUR", 12, "DAY", 1, "DAY", 2, 24 * 3600, "%d %b"},
	{3600.0, 0, "DAY", 1, "WEEK", 1, "WEEK", 1, 7 * 24 * 3600, "Week %V"},
	{12000.0, 0, "DAY", 1, "MONTH", 1, "MONTH", 1, 30 * 24 * 3600, "%B %Y"},
	{18000.0, 0, "DAY", 2, "MONTH", 1, "MONTH", 1, 30 * 24 * 3600, "%B %Y"},
	{23000.0, 0, "WEEK", 1, "MONTH", 1, "MONTH", 1, 30 * 24 * 3600, "%b %Y"},
	{32000.0, 0, "WEEK", 1, "MONTH", 1, "MONTH", 1, 30 * 24 * 3600, "%b '%g"},
	{42000.0, 0, "WEEK", 1, "MONTH", 1, "MONTH", 2, 30 * 24 * 3600, "%B %Y"},
	{52000.0, 0, "WEEK", 1, "MONTH", 1, "MONTH", 2, 30 * 24 * 3600, "%b %Y"},
	{78000.0, 0, "WEEK", 1, "MONTH", 1, "MONTH", 2, 30 * 24 * 3600, "%b '%g"},
	{84000.0, 0, "WEEK", 2, "MONTH", 1, "MONTH", 3, 30 * 24 * 3600, "%B %Y"},
	{94000.0, 0, "WEEK", 2, "MONTH", 1, "MONTH", 3, 30 * 24 * 3600, "%b %Y"},
	{120000.0, 0, "WEEK", 2, "MONTH", 1, "MONTH", 3, 30 * 24 * 3600, "%b '%g"},
	{130000.0, 0, "MONTH", 1, "MONTH", 2, "MONTH", 4, 0, "%Y-%m-%d"},
	{142000.0, 0, "MONTH", 1, "MONTH", 3, "MONTH", 6, 0, "%Y-%m-%d"},
	{220000.0, 0, "MONTH", 1, "MONTH", 6, "MONTH", 12, 0, "%Y-%m-%d"},
	{400000.0, 0, "MONTH", 2, "MONTH", 12, "MONTH", 12, 365 * 24 * 3600, "%Y"},
	{800000.0, 0, "MONTH", 4, "MONTH", 12, "MONTH", 24, 365 * 24 * 3600, "%Y"},
	{2000000.0, 0, "MONTH", 6, "MONTH", 12, "MONTH", 24, 365 * 24 * 3600, "'%g"},
}

// XTick is a vertical grid line or an x label.
type XTick struct {
	Time  int64
	Label string // labels only
}

// xSpec is the x axis' grid: --x-grid's, else the table row for the
// seconds per pixel (rrdtool's vertical_grid).
func (im *Image) xSpec() xlabSpec {
	if f, err := parseXGrid(im.look.XGrid); err == nil {
		n := func(s string) int { v, _ := strconv.Atoi(s); return v }
		return xlabSpec{gridTM: f[0], gridSt: n(f[1]), mgridTM: f[2], mgridSt: n(f[3]), labTM: f[4], labSt: n(f[5]),
			precis: int64(n(f[6])), strftime: f[7]}
	}
	factor := float64(im.End-im.Start) / float64(im.PlotW)
	sel := 0
	for sel+1 < len(xlab) && xlab[sel+1].minsec <= factor {
		sel++
	}
	for sel > 0 && xlab[sel-1].minsec == xlab[sel].minsec && xlab[sel].length > im.End-im.Start {
		sel--
	}
	x := xlab[sel]
	if x.strftime == "Week %V" && im.look.WeekFmt != "" {
		x.strftime = im.look.WeekFmt
	}
	return x
}

// XGrid returns the minor and major vertical grid lines and the labels
// of the x axis, in loc's local time, as rrdtool's vertical_grid.
func (im *Image) XGrid(loc *time.Location) (minor, major, labels []XTick) {
	if im.look.XGrid == "none" || im.End <= im.Start {
		return nil, nil, nil
	}
	x := im.xSpec()
	const maxLines = 2000
	if !im.look.NoMinor && x.gridSt > 0 {
		tm := firstTime(im.Start, x.mgridTM, x.mgridSt, loc)
		for ti := firstTime(im.Start, x.gridTM, x.gridSt, loc); ti < im.End && len(minor) < maxLines; ti = nextTime(ti, x.gridTM, x.gridSt, loc) {
			if ti < im.Start {
				continue
			}
			for tm < ti && x.mgridSt > 0 {
				tm = nextTime(tm, x.mgridTM, x.mgridSt, loc)
			}
			if ti != tm {
				minor = append(minor, XTick{Time: ti})
			}
		}
	}
	if x.mgridSt > 0 {
		for ti := firstTime(im.Start, x.mgridTM, x.mgridSt, loc); ti < im.End && len(major) < maxLines; ti = nextTime(ti, x.mgridTM, x.mgridSt, loc) {
			if ti >= im.Start {
				major = append(major, XTick{Time: ti})
			}
		}
	}
	if x.labSt > 0 {
		for ti := firstTime(im.Start-x.precis/2, x.labTM, x.labSt, loc); ti <= im.End-x.precis/2 && len(labels) < maxLines; ti = nextTime(ti, x.labTM, x.labSt, loc) {
			lab := ti + x.precis/2
			if lab < im.Start || lab > im.End {
				continue
			}
			s, err := strftime(x.strftime, time.Unix(lab, 0).In(loc))
			if err != nil {
				s = x.strftime
			}
			labels = append(labels, XTick{Time: lab, Label: s})
		}
	}
	return minor, major, labels
}

// firstTime is rrdtool's find_first_time: start rounded down to a whole
// interval (days, weeks and months to their beginning; weeks start on
// Sunday, the C locale's first weekday).
func firstTime(start int64, unit string, step int, loc *time.Location) int64 {
	t := time.Unix(start, 0).In(loc)
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	switch unit {
	case "SECOND":
		s -= s % step
	case "MINUTE":
		s, mi = 0, mi-mi%step
	case "HOUR":
		s, mi, h = 0, 0, h-h%step
	case "DAY":
		s, mi, h = 0, 0, 0
	case "WEEK":
		s, mi, h = 0, 0, 0
		d -= int(t.Weekday())
	case "MONTH":
		s, mi, h, d = 0, 0, 0, 1
		mo -= time.Month((int(mo) - 1) % step)
	case "YEAR":
		s, mi, h, d, mo = 0, 0, 0, 1, 1
		y -= y % step
	}
	return time.Date(y, mo, d, h, mi, s, 0, loc).Unix()
}

// nextTime is rrdtool's find_next_time: current plus step units, in
// local calendar arithmetic.
func nextTime(cur int64, unit string, step int, loc *time.Location) int64 {
	t := time.Unix(cur, 0).In(loc)
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	switch unit {
	case "SECOND":
		s += step
	case "MINUTE":
		mi += step
	case "HOUR":
		h += step
	case "DAY":
		d += step
	case "WEEK":
		d += 7 * step
	case "MONTH":
		mo += time.Month(step)
	case "YEAR":
		y += step
	}
	n := time.Date(y, mo, d, h, mi, s, 0, loc).Unix()
	if n <= cur { // a step of 0 or a clock going back: never loop
		n = cur + 1
	}
	return n
}
