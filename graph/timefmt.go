package graph

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// strftimeCheck reports whether every conversion of f is one strftime
// supports here (C's, in the C locale).
func strftimeCheck(f string) (string, error) {
	return strftime(f, time.Unix(0, 0).UTC())
}

// strftime formats t as C's strftime does in the C locale.
func strftime(f string, t time.Time) (string, error) {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			b.WriteByte(f[i])
			continue
		}
		if i+1 >= len(f) {
			return "", fmt.Errorf("strftime format %q: a lone %% at its end", f)
		}
		i++
		c := f[i]
		if c == 'E' || c == 'O' { // C-locale modifiers change nothing
			if i+1 >= len(f) {
				return "", fmt.Errorf("strftime format %q: incomplete conversion at its end", f)
			}
			i++
			c = f[i]
		}
		d2 := func(n int) { fmt.Fprintf(&b, "%02d", n) }
		switch c {
		case '%':
			b.WriteByte('%')
		case 'Y':
			b.WriteString(strconv.Itoa(t.Year()))
		case 'C':
			d2(t.Year() / 100)
		case 'y':
			d2(t.Year() % 100)
		case 'm':
			d2(int(t.Month()))
		case 'd':
			d2(t.Day())
		case 'e':
			fmt.Fprintf(&b, "%2d", t.Day())
		case 'H':
			d2(t.Hour())
		case 'k':
			fmt.Fprintf(&b, "%2d", t.Hour())
		case 'I':
			d2((t.Hour()+11)%12 + 1)
		case 'l':
			fmt.Fprintf(&b, "%2d", (t.Hour()+11)%12+1)
		case 'M':
			d2(t.Minute())
		case 'S':
			d2(t.Second())
		case 'p':
			b.WriteString(map[bool]string{true: "PM", false: "AM"}[t.Hour() >= 12])
		case 'P':
			b.WriteString(map[bool]string{true: "pm", false: "am"}[t.Hour() >= 12])
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 'a':
			b.WriteString(t.Weekday().String()[:3])
		case 'A':
			b.WriteString(t.Weekday().String())
		case 'b', 'h':
			b.WriteString(t.Month().String()[:3])
		case 'B':
			b.WriteString(t.Month().String())
		case 'u':
			b.WriteString(strconv.Itoa((int(t.Weekday())+6)%7 + 1))
		case 'w':
			b.WriteString(strconv.Itoa(int(t.Weekday())))
		case 'V':
			_, w := t.ISOWeek()
			d2(w)
		case 'G':
			y, _ := t.ISOWeek()
			b.WriteString(strconv.Itoa(y))
		case 'g': // the ISO week's year without its century: rrdtool's month labels ("%b '%g")
			y, _ := t.ISOWeek()
			d2(y % 100)
		case 'U':
			d2((t.YearDay() + 6 - int(t.Weekday())) / 7)
		case 'W':
			d2((t.YearDay() + 6 - (int(t.Weekday())+6)%7) / 7)
		case 's':
			b.WriteString(strconv.FormatInt(t.Unix(), 10))
		case 'Z':
			z, _ := t.Zone()
			b.WriteString(z)
		case 'z':
			_, off := t.Zone()
			sign := '+'
			if off < 0 {
				sign, off = '-', -off
			}
			fmt.Fprintf(&b, "%c%02d%02d", sign, off/3600, off/60%60)
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'D':
			s, _ := strftime("%m/%d/%y", t)
			b.WriteString(s)
		case 'F':
			s, _ := strftime("%Y-%m-%d", t)
			b.WriteString(s)
		case 'T':
			s, _ := strftime("%H:%M:%S", t)
			b.WriteString(s)
		case 'R':
			s, _ := strftime("%H:%M", t)
			b.WriteString(s)
		case 'r':
			s, _ := strftime("%I:%M:%S %p", t)
			b.WriteString(s)
		case 'c':
			s, _ := strftime("%a %b %e %H:%M:%S %Y", t)
			b.WriteString(s)
		case 'x':
			s, _ := strftime("%m/%d/%y", t)
			b.WriteString(s)
		case 'X':
			s, _ := strftime("%H:%M:%S", t)
			b.WriteString(s)
		default:
			return "", fmt.Errorf("strftime format %q: unsupported conversion %%%c", f, c)
		}
	}
	return b.String(), nil
}

// strfduration formats a duration in milliseconds as rrdtool's
// valstrfduration: %W weeks, %d days of the week, %D days, %h hours of
// the day, %H hours, %m/%M minutes, %s/%S seconds, %f milliseconds, each
// with an optional 0 flag, width and precision.
func strfduration(f string, ms float64) (string, error) {
	var b strings.Builder
	seconds := math.Abs(ms) / 1000
	minutes := seconds / 60
	hours := minutes / 60
	days := hours / 24
	weeks := days / 7
	if ms < 0 {
		b.WriteByte('-')
	}
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			b.WriteByte(f[i])
			continue
		}
		i++
		zpad := i < len(f) && f[i] == '0'
		if zpad {
			i++
		}
		width, prec := 0, 0
		for i < len(f) && f[i] >= '0' && f[i] <= '9' {
			width = width*10 + int(f[i]-'0')
			i++
		}
		if i < len(f) && f[i] == '.' {
			i++
			for i < len(f) && f[i] >= '0' && f[i] <= '9' {
				prec = prec*10 + int(f[i]-'0')
				i++
			}
		}
		if i >= len(f) || width > 100 || prec > 30 {
			return "", fmt.Errorf("duration format %q: bad conversion", f)
		}
		var v float64
		switch f[i] {
		case '%':
			b.WriteByte('%')
			continue
		case 'W':
			v = weeks
		case 'd':
			v = days - math.Trunc(weeks)*7
		case 'D':
			v = days
		case 'h':
			v = hours - math.Trunc(days)*24
		case 'H':
			v = hours
		case 'm':
			v = minutes - math.Trunc(hours)*60
		case 'M':
			v = minutes
		case 's':
			v = seconds - math.Trunc(minutes)*60
		case 'S':
			v = seconds
		case 'f':
			v = math.Abs(ms) - math.Trunc(seconds)*1000
		default:
			return "", fmt.Errorf("duration format %q: unsupported conversion %%%c", f, f[i])
		}
		p := math.Pow(10, float64(prec))
		v = math.Trunc(v*p) / p
		flag := byte(0)
		if zpad {
			flag = '0'
		}
		b.WriteString(cFloat(v, fmtPart{verb: 'f', flag: flag, wid: width, prec: prec}))
	}
	return b.String(), nil
}
