// Package attime is rrdtool's AT-style time specification (rrdfetch(1)):
// the --start/--end of fetch, xport and graph, create --start and the
// at-timestamp@ of update.
package attime

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// This file is rrdtool 1.7.2's AT-style time parser (rrd_parsetime and
// rrd_proc_start_end, rrdfetch(1) "AT-STYLE TIME SPECIFICATION"),
// reproduced rule by rule, quirks included, because users paste --start
// and --end values from years of rrdtool commands and expect the same
// seconds. The differential test (diff_test.go) checks it against
// `rrdtool graphv`. One deliberate difference: "epoch+N" counts from
// 1970-01-01 00:00 UTC as rrdfetch(1) documents, where rrdtool 1.7.2 starts
// from its zeroed struct tm (1899-12-31 local time) and fails.
// Quirks kept on purpose, all measured:
//   - a number not followed by a unit is seconds, and so is an unknown word
//     ("-5x" is five seconds); a number not followed by a unit also eats
//     the sign after it ("-5+3h" is 5 s and 3 h back);
//   - a bare "m" is months after y/mon/w/d or for numbers below 6, else minutes;
//   - "yesterday", "today", "tomorrow" and weekdays only follow a time of
//     day ("noon yesterday"), they cannot start a spec;
//   - a date without a year after a leading number ("12/31") lands in the
//     year 30000, as rrdtool's sentinel leaks;
//   - a local time that does not exist (clocks go forward) takes the offset
//     before the change, one that exists twice the offset glibc's mktime
//     reaches first from its previous call's (see mktime below).

// timeKind is what a parsed time is relative to.
type timeKind uint8

const (
	timeAbsolute timeKind = iota
	timeRelStart
	timeRelEnd
	timeRelEpoch
)

// brokenTime is C's struct tm: fields may be out of range until
// normalised by mktime. year counts from 1900 and mon from 0; isdst is
// -1 (let mktime decide), 0 or 1.
type brokenTime struct {
	year, mon, mday, hour, min, sec int
	wday                            int
	isdst                           int
	utcOffset                       int // the offset localtime found (tm_gmtoff)
}

// atTime is a parsed time: a broken-down time (absolute, or deltas for
// the relative kinds) plus an offset in seconds.
type atTime struct {
	kind   timeKind
	tm     brokenTime
	offset int64
}

type atTok uint8

const (
	tokEOF atTok = iota
	tokNumber
	tokPlus
	tokMinus
	tokDot
	tokColon
	tokSlash
	tokID // a word that is not special in the current context
	tokMidnight
	tokNoon
	tokTeatime
	tokAM
	tokPM
	tokYesterday
	tokToday
	tokTomorrow
	tokNow
	tokStart
	tokEnd
	tokEpoch
	tokMonth   // January … December, value in monthOrDay
	tokWeekday // Sunday … Saturday, value in monthOrDay
	tokSeconds
	tokMinutes
	tokHours
	tokDays
	tokWeeks
	tokMonths
	tokYears
	tokMonthsMinutes // "m"
)

var referenceWords = map[string]atTok{
	"midnight": tokMidnight, "noon": tokNoon, "teatime": tokTeatime, "am": tokAM, "pm": tokPM,
	"tomorrow": tokTomorrow, "yesterday": tokYesterday, "today": tokToday,
	"now": tokNow, "n": tokNow, "start": tokStart, "s": tokStart, "end": tokEnd, "e": tokEnd, "epoch": tokEpoch,
}

var monthWords = map[string]int{
	"jan": 0, "feb": 1, "mar": 2, "apr": 3, "may": 4, "jun": 5, "jul": 6, "aug": 7, "sep": 8, "oct": 9, "nov": 10, "dec": 11,
	"january": 0, "february": 1, "march": 2, "april": 3, "june": 5, "july": 6, "august": 7,
	"september": 8, "october": 9, "november": 10, "december": 11,
}

var weekdayWords = map[string]int{
	"sunday": 0, "sun": 0, "monday": 1, "mon": 1, "tuesday": 2, "tue": 2, "wednesday": 3, "wed": 3,
	"thursday": 4, "thu": 4, "friday": 5, "fri": 5, "saturday": 6, "sat": 6,
}

var unitWords = map[string]atTok{
	"second": tokSeconds, "seconds": tokSeconds, "sec": tokSeconds, "s": tokSeconds,
	"minute": tokMinutes, "minutes": tokMinutes, "min": tokMinutes, "m": tokMonthsMinutes,
	"hour": tokHours, "hours": tokHours, "hr": tokHours, "h": tokHours,
	"day": tokDays, "days": tokDays, "d": tokDays,
	"week": tokWeeks, "weeks": tokWeeks, "wk": tokWeeks, "w": tokWeeks,
	"month": tokMonths, "months": tokMonths, "mon": tokMonths,
	"year": tokYears, "years": tokYears, "yr": tokYears, "y": tokYears,
}

// maxTimeNumber bounds numbers in a spec; rrdtool reads them into a C int
// (offsets) or long (dates) and overflows silently beyond.
const maxTimeNumber = 1 << 31

// atParser is the scanner and parser state for one spec.
type atParser struct {
	src       string
	pos       int // next unread byte
	tok       atTok
	text      string // the token's text
	tokPos    int    // the token's byte offset in src
	value     int    // month or weekday index of a word token
	inOffsets bool   // unit words are special (after the first + or -)
	op        atTok  // the sign of the running offset
	prevUnit  atTok
	loc       *time.Location
}

type atState struct {
	pos, tokPos, value int
	tok                atTok
	text               string
}

func (p *atParser) save() atState {
	return atState{pos: p.pos, tokPos: p.tokPos, value: p.value, tok: p.tok, text: p.text}
}

func (p *atParser) restore(s atState) {
	p.pos, p.tokPos, p.value, p.tok, p.text = s.pos, s.tokPos, s.value, s.tok, s.text
}

func (p *atParser) errorf(format string, args ...any) error {
	return fmt.Errorf("%s at position %d", fmt.Sprintf(format, args...), p.tokPos+1)
}

func isTimeSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == '_' || c == ','
}

// next reads the next token. A character that starts no token ends the
// input there, as in rrdtool; the caller then reports trailing text.
func (p *atParser) next() atTok {
	for p.pos < len(p.src) && isTimeSpace(p.src[p.pos]) {
		p.pos++
	}
	p.tokPos = p.pos
	p.text = ""
	if p.pos >= len(p.src) {
		p.tok = tokEOF
		return p.tok
	}
	c := p.src[p.pos]
	switch {
	case c >= '0' && c <= '9':
		j := p.pos
		for j < len(p.src) && p.src[j] >= '0' && p.src[j] <= '9' {
			j++
		}
		p.text, p.pos, p.tok = p.src[p.pos:j], j, tokNumber
		return p.tok
	case (c|0x20) >= 'a' && (c|0x20) <= 'z':
		j := p.pos
		for j < len(p.src) && (p.src[j]|0x20) >= 'a' && (p.src[j]|0x20) <= 'z' {
			j++
		}
		p.text, p.pos = p.src[p.pos:j], j
		p.tok = p.word(strings.ToLower(p.text))
		return p.tok
	}
	p.text = p.src[p.pos : p.pos+1]
	switch c {
	case ':':
		p.tok = tokColon
	case '.':
		p.tok = tokDot
	case '+':
		p.tok = tokPlus
	case '-':
		p.tok = tokMinus
	case '/':
		p.tok = tokSlash
	default:
		p.tok = tokEOF // p.pos stays: trailing text
		return p.tok
	}
	p.pos++
	return p.tok
}

func (p *atParser) word(w string) atTok {
	if p.inOffsets {
		if t, ok := unitWords[w]; ok {
			return t
		}
		return tokID
	}
	if t, ok := referenceWords[w]; ok {
		return t
	}
	if m, ok := monthWords[w]; ok {
		p.value = m
		return tokMonth
	}
	if d, ok := weekdayWords[w]; ok {
		p.value = d
		return tokWeekday
	}
	return tokID
}

func (p *atParser) numberValue() (int64, error) {
	n, err := strconv.ParseInt(p.text, 10, 64)
	if err != nil || n > maxTimeNumber {
		return 0, p.errorf("number %s is too large", p.text)
	}
	return n, nil
}

func (p *atParser) expectNumber(what string) (int64, error) {
	if p.next() != tokNumber {
		return 0, p.errorf("%s", what)
	}
	return p.numberValue()
}

// parseAt parses one spec as rrd_parsetime does, with now as the default
// reference in loc.
//
// guessOff is the UTC offset glibc's mktime starts from: that of its
// previous call in the process. It decides which reading of a wall time
// that exists twice (DST ends) rrdtool picks.
func parseAt(spec string, now time.Time, loc *time.Location, guessOff int) (atTime, error) {
	p := &atParser{src: spec, loc: loc}
	at := atTime{kind: timeAbsolute, tm: localTM(now.Unix(), loc)}
	at.tm.isdst = -1
	p.next()
	switch p.tok {
	case tokPlus, tokMinus:
	case tokEpoch, tokStart, tokEnd, tokNow:
		ref := p.tok
		switch ref {
		case tokEpoch:
			at.kind = timeRelEpoch
		case tokStart:
			at.kind = timeRelStart
		case tokEnd:
			at.kind = timeRelEnd
		}
		if ref != tokNow {
			at.tm.year, at.tm.mon, at.tm.mday, at.tm.hour, at.tm.min, at.tm.sec = 0, 0, 0, 0, 0, 0
		}
		p.next()
		if p.tok == tokPlus || p.tok == tokMinus {
			break
		}
		if ref != tokNow {
			return at, p.errorf("'start', 'end' and 'epoch' must be followed by a + or - offset")
		}
		if p.tok != tokEOF || p.pos < len(p.src) {
			return at, p.errorf("'now' may only be followed by a + or - offset")
		}
	case tokNumber:
		// rrdtool marks "not set" with impossible values and restores them.
		hourSaved, yearSaved := at.tm.hour, at.tm.year
		at.tm.hour, at.tm.year = 30, 30000
		if err := p.timeOfDay(&at); err != nil {
			return at, err
		}
		if err := p.day(&at); err != nil {
			return at, err
		}
		if at.tm.hour == 30 && at.tm.year != 30000 {
			if err := p.timeOfDay(&at); err != nil {
				return at, err
			}
		}
		if at.tm.hour == 30 {
			at.tm.hour = hourSaved
		}
		if at.tm.year == 30000 {
			at.tm.year = yearSaved
		}
	case tokMonth:
		if err := p.day(&at); err != nil {
			return at, err
		}
		if p.tok == tokNumber {
			if err := p.timeOfDay(&at); err != nil {
				return at, err
			}
		}
	case tokMidnight, tokNoon, tokTeatime:
		at.tm.hour = map[atTok]int{tokMidnight: 0, tokNoon: 12, tokTeatime: 16}[p.tok]
		at.tm.min, at.tm.sec = 0, 0
		p.next()
		if err := p.day(&at); err != nil {
			return at, err
		}
	default:
		return at, p.errorf("unparsable time %q", p.src[p.tokPos:])
	}

	if p.tok == tokPlus || p.tok == tokMinus {
		p.inOffsets = true
		for p.tok == tokPlus || p.tok == tokMinus || p.tok == tokNumber {
			if err := p.offset(&at); err != nil {
				return at, err
			}
			p.next()
		}
	}
	if p.tok != tokEOF || p.pos < len(p.src) {
		return at, p.errorf("unparsable trailing text %q", p.src[p.tokPos:])
	}
	if at.kind == timeAbsolute {
		mktime(&at.tm, loc, guessOff)
	}
	return at, nil
}

// offset reads one NUMBER UNIT pair of the offset part. A pair that
// starts with a number repeats the previous sign ("-1d2h").
func (p *atParser) offset(at *atTime) error {
	var delta int64
	if p.tok == tokPlus || p.tok == tokMinus {
		p.op = p.tok
		sign := map[atTok]string{tokPlus: "+", tokMinus: "-"}[p.op]
		n, err := p.expectNumber(fmt.Sprintf("a number should follow %q", sign))
		if err != nil {
			return err
		}
		delta = n
		p.prevUnit = tokEOF
	} else {
		n, err := p.numberValue()
		if err != nil {
			return err
		}
		delta = n
	}
	magnitude := delta
	if p.op == tokMinus {
		delta = -delta
	}
	unit := p.next()
	if unit == tokMonthsMinutes {
		switch p.prevUnit {
		case tokDays, tokWeeks, tokMonths, tokYears:
			unit = tokMonths
		case tokSeconds, tokMinutes, tokHours:
			unit = tokMinutes
		default:
			if magnitude < 6 {
				unit = tokMonths
			} else {
				unit = tokMinutes
			}
		}
	}
	p.prevUnit = unit
	switch unit {
	case tokYears:
		at.tm.year += int(delta)
	case tokMonths:
		at.tm.mon += int(delta)
	case tokWeeks:
		at.tm.mday += int(7 * delta)
	case tokDays:
		at.tm.mday += int(delta)
	case tokHours:
		at.offset += 3600 * delta
	case tokMinutes:
		at.offset += 60 * delta
	default: // seconds, and any other token: rrdtool's default unit
		at.offset += delta
	}
	return nil
}

// timeOfDay reads HH[:MM] [am|pm] when the current number token is one;
// otherwise it leaves the parser where it was.
func (p *atParser) timeOfDay(at *atTime) error {
	if len(p.text) > 2 {
		return nil
	}
	saved := p.save()
	// rrdtool runs atoi on whatever token is current: a second call after
	// a date sees EOF or a sign, reads hour 0 and consumes that token.
	hour := atoiPrefix(p.text)
	minute := int64(0)
	var err error
	p.next()
	if p.tok == tokSlash || p.tok == tokDot {
		p.restore(saved) // a date, not a time
		return nil
	}
	if p.tok == tokColon {
		if minute, err = p.expectNumber("a minute number should follow ':'"); err != nil {
			return err
		}
		if minute > 59 {
			return p.errorf("minute %d is over 59", minute)
		}
		p.next()
	}
	switch {
	case p.tok == tokAM || p.tok == tokPM:
		if hour > 12 {
			return p.errorf("hour %d is over 12 with am/pm", hour)
		}
		if p.tok == tokPM && hour != 12 {
			hour += 12
		} else if p.tok == tokAM && hour == 12 {
			hour = 0
		}
		p.next()
	case hour > 23:
		p.restore(saved) // not a time after all
		return nil
	}
	at.tm.hour, at.tm.min, at.tm.sec = int(hour), int(minute), 0
	return nil
}

// day reads a day: yesterday/today/tomorrow, a weekday, "Month DD [YY]YY",
// or a numeric date (seconds since 1970, YYYYMMDD, MM/DD/[YY]YY,
// DD.MM.[YY]YY).
func (p *atParser) day(at *atTime) error {
	year := int64(at.tm.year)
	var mday, mon int64
	switch p.tok {
	case tokYesterday:
		at.tm.mday--
		p.next()
		return nil
	case tokToday:
		p.next()
		return nil
	case tokTomorrow:
		at.tm.mday++
		p.next()
		return nil
	case tokWeekday:
		at.tm.mday += p.value - at.tm.wday
		p.next()
		return nil
	case tokMonth:
		mon = int64(p.value)
		n, err := p.expectNumber("the day of the month should follow the month name")
		if err != nil {
			return err
		}
		mday = n
		if p.next() == tokNumber {
			if year, err = p.numberValue(); err != nil {
				return err
			}
			p.next()
		}
		return p.assignDate(at, mday, mon, year)
	case tokNumber:
	default:
		return nil
	}
	digits := p.text
	n, err := p.numberValue()
	if err != nil {
		return err
	}
	mon = n
	switch {
	case n > 10*365*24*60*60:
		at.tm = localTM(n, p.loc)
		p.next()
		return nil
	case n > 19700101 && n < 24000101:
		year, _ = strconv.ParseInt(digits[:4], 10, 64)
		mon, _ = strconv.ParseInt(digits[4:6], 10, 64)
		mday, _ = strconv.ParseInt(digits[6:8], 10, 64)
		p.next()
	default:
		p.next()
		if n <= 31 && (p.tok == tokSlash || p.tok == tokDot) {
			sep := p.tok
			what := "a day number should follow '/'"
			if sep == tokDot {
				what = "a month number should follow '.'"
			}
			if mday, err = p.expectNumber(what); err != nil {
				return err
			}
			if p.next() == sep {
				if year, err = p.expectNumber("a year number should follow the separator"); err != nil {
					return err
				}
				p.next()
			}
			if sep == tokDot { // DD.MM.YYYY
				mday, mon = mon, mday
			}
		}
	}
	mon--
	if mon < 0 || mon > 11 {
		return fmt.Errorf("month %d is not a month (near position %d)", mon+1, p.tokPos+1)
	}
	if mday < 1 || mday > 31 {
		return fmt.Errorf("%d is not a day of the month (near position %d)", mday, p.tokPos+1)
	}
	return p.assignDate(at, mday, mon, year)
}

func (p *atParser) assignDate(at *atTime, mday, mon, year int64) error {
	switch {
	case year > 138:
		if year <= 1970 {
			return fmt.Errorf("year %d is invalid: use 00-99 or a year after 1970 (near position %d)", year, p.tokPos+1)
		}
		year -= 1900
	case year >= 0 && year < 38:
		year += 100 // 00-37 mean 2000-2037
	}
	if year < 70 {
		return fmt.Errorf("dates before 1970 are not supported (near position %d)", p.tokPos+1)
	}
	at.tm.mday, at.tm.mon, at.tm.year = int(mday), int(mon), int(year)
	return nil
}

// atoiPrefix is C's atoi on a token of at most two characters.
func atoiPrefix(s string) int64 {
	var n int64
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = 10*n + int64(s[i]-'0')
	}
	return n
}
