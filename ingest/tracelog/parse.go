// Package tracelog turns Zope trace logs (zc.zservertracelog, zc.resumelb
// workers, Zope 2 "-M" logs), raw or as written by syslog-ng, into per-step
// series: request and arrival rates, errors, backlog, requests in flight, an
// estimated maximum request rate and wait/service/response percentiles.
package tracelog

import (
	"strconv"
	"time"
)

// Record is one parsed trace-log line. Its byte slices alias the line given
// to Parser.Parse and are valid only until that buffer is reused.
type Record struct {
	// Key is the syslog prefix from the host to the end of the tag
	// ("web1 zope[42]:"): it identifies the logging process. Empty for raw lines.
	Key           []byte
	Host, Program []byte
	PID           []byte
	Code          byte
	ID            []byte
	Time          int64 // microseconds since the Unix epoch; 0 for codes whose rest is not parsed
	NoFraction    bool  // the timestamp had no fractional seconds
	TSeparated    bool  // date and time were separated by 'T'
	Data          []byte
}

// ParseError says why a line is not a trace record and where (1-based byte column).
type ParseError struct {
	Col    int
	Reason string
}

func (e *ParseError) Error() string { return "column " + strconv.Itoa(e.Col) + ": " + e.Reason }

// Parser parses lines. Record timestamps carry no zone: they are read in
// Location. A Parser caches the start of the last hour it saw, so consecutive
// lines cost no time-zone arithmetic. Not safe for concurrent use.
type Parser struct {
	loc      *time.Location
	key      [12]byte // "YYYY-MM-DDHH" of the cached hour
	hasKey   bool
	hourUsec int64
}

// NewParser returns a parser reading record times in loc (nil means UTC).
func NewParser(loc *time.Location) *Parser {
	if loc == nil {
		loc = time.UTC
	}
	return &Parser{loc: loc}
}

// Known record codes. Other letters and '-' are custom records.
const (
	CodeStart    = 'S'
	CodeStop     = 'X'
	CodeBegin    = 'B'
	CodeInput    = 'I'
	CodeApp      = 'C'
	CodeAnswer   = 'A'
	CodeEnd      = 'E'
	CodeDatabase = 'D'
)

// IsRequestCode reports whether c is a record code whose timestamp matters.
func IsRequestCode(c byte) bool {
	switch c {
	case CodeStart, CodeStop, CodeBegin, CodeInput, CodeApp, CodeAnswer, CodeEnd:
		return true
	}
	return false
}

// IsCustomCode reports whether c is a record code that is counted but ignored.
func IsCustomCode(c byte) bool {
	return c == '-' || c == CodeDatabase || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') && !IsRequestCode(c)
}

// Parse parses one line (without its newline) into r. Custom records get
// only their code (and prefix) filled in.
func (p *Parser) Parse(line []byte, r *Record) error {
	*r = Record{}
	n := len(line)
	if n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
		n--
	}
	if n == 0 {
		return &ParseError{1, "empty line"}
	}
	msg := 0
	switch {
	case n >= 2 && line[1] == ' ':
		// raw record
	case n >= 16 && isMonth(line) && line[3] == ' ':
		// BSD: "Nov 22 12:24:32 host prog[pid]: msg"; day may be space
		// padded; syslog-ng's frac-digits() adds ".ffffff".
		if !(line[4] == ' ' || isDigit(line[4])) || !isDigit(line[5]) || line[6] != ' ' || !isClock(line[7:15]) {
			return &ParseError{1, "malformed BSD syslog timestamp"}
		}
		k := 15
		if line[k] == '.' {
			k++
			for k < n && isDigit(line[k]) {
				k++
			}
			if k == 16 {
				return &ParseError{16, "malformed BSD syslog timestamp"}
			}
		}
		if k >= n || line[k] != ' ' {
			return &ParseError{k + 1, "malformed BSD syslog timestamp"}
		}
		var err error
		if msg, err = parseHostTag(line, k+1, r); err != nil {
			return err
		}
	case n >= 5 && isDigit(line[0]) && isDigit(line[1]) && isDigit(line[2]) && isDigit(line[3]) && line[4] == '-':
		// ISO/RFC 5424 file template: "2026-11-22T12:24:32.692547+00:00 host prog: msg"
		sp := indexSpace(line, 0)
		if sp < 19 || !isISOStamp(line[:sp]) {
			return &ParseError{1, "malformed ISO syslog timestamp"}
		}
		var err error
		if msg, err = parseHostTag(line, sp+1, r); err != nil {
			return err
		}
	default:
		return &ParseError{1, "not a trace record (want CODE ID TIME, optionally after a syslog prefix)"}
	}
	return p.parseRecord(line, msg, r)
}

func (p *Parser) parseRecord(line []byte, i int, r *Record) error {
	n := len(line)
	if i >= n {
		return &ParseError{i + 1, "missing trace record after syslog prefix"}
	}
	if i+1 < n && line[i+1] != ' ' {
		return &ParseError{i + 1, "record code must be one character followed by a space"}
	}
	c := line[i]
	r.Code = c
	if !IsRequestCode(c) {
		if IsCustomCode(c) {
			return nil
		}
		return &ParseError{i + 1, "unknown record code " + strconv.QuoteRune(rune(c))}
	}
	i += 2
	if i >= n || line[i] == ' ' {
		return &ParseError{i + 1, "missing request id"}
	}
	sp := indexSpace(line, i)
	if sp < 0 {
		return &ParseError{n + 1, "missing timestamp"}
	}
	r.ID = line[i:sp]
	i = sp + 1
	end, err := p.parseTime(line, i, r)
	if err != nil {
		return err
	}
	if end < n {
		if line[end] != ' ' {
			return &ParseError{end + 1, "unexpected character after timestamp"}
		}
		r.Data = line[end+1:]
	}
	return nil
}

// parseTime reads "YYYY-MM-DD HH:MM:SS[.ffffff]" (or with 'T') at line[i:]
// and returns the index after it.
func (p *Parser) parseTime(line []byte, i int, r *Record) (int, error) {
	n := len(line)
	if n-i < 19 {
		return 0, &ParseError{i + 1, "timestamp too short (want YYYY-MM-DD HH:MM:SS[.ffffff])"}
	}
	b := line[i : i+19]
	for k, c := range b {
		switch k {
		case 4, 7:
			if c != '-' {
				return 0, &ParseError{i + k + 1, "malformed date"}
			}
		case 10:
			if c != ' ' && c != 'T' {
				return 0, &ParseError{i + k + 1, "date and time must be separated by a space or T"}
			}
		case 13, 16:
			if c != ':' {
				return 0, &ParseError{i + k + 1, "malformed time of day"}
			}
		default:
			if !isDigit(c) {
				return 0, &ParseError{i + k + 1, "digit expected in timestamp"}
			}
		}
	}
	r.TSeparated = b[10] == 'T'
	mi := int64(b[14]-'0')*10 + int64(b[15]-'0')
	se := int64(b[17]-'0')*10 + int64(b[18]-'0')
	if mi > 59 || se > 60 {
		return 0, &ParseError{i + 15, "minute or second out of range"}
	}
	if !p.hasKey || string(p.key[:10]) != string(b[:10]) || p.key[10] != b[11] || p.key[11] != b[12] {
		hour, err := p.hourStart(b)
		if err != nil {
			return 0, &ParseError{i + 1, err.Error()}
		}
		copy(p.key[:10], b[:10])
		p.key[10], p.key[11] = b[11], b[12]
		p.hasKey = true
		p.hourUsec = hour
	}
	t := p.hourUsec + (mi*60+se)*1e6
	j := i + 19
	if j < n && line[j] == '.' {
		j++
		start := j
		var frac int64
		for j < n && isDigit(line[j]) {
			if j-start < 6 {
				frac = frac*10 + int64(line[j]-'0')
			}
			j++
		}
		digits := j - start
		if digits == 0 || digits > 9 {
			return 0, &ParseError{start + 1, "fractional seconds must have 1 to 9 digits"}
		}
		for d := digits; d < 6; d++ {
			frac *= 10
		}
		t += frac
	} else {
		r.NoFraction = true
	}
	r.Time = t
	return j, nil
}

type dateError string

func (e dateError) Error() string { return string(e) }

// hourStart converts the date and hour of b to microseconds since the epoch in p.loc.
func (p *Parser) hourStart(b []byte) (int64, error) {
	y := int(b[0]-'0')*1000 + int(b[1]-'0')*100 + int(b[2]-'0')*10 + int(b[3]-'0')
	m := int(b[5]-'0')*10 + int(b[6]-'0')
	d := int(b[8]-'0')*10 + int(b[9]-'0')
	h := int(b[11]-'0')*10 + int(b[12]-'0')
	if y < 1971 {
		return 0, dateError("year before 1971")
	}
	if m < 1 || m > 12 {
		return 0, dateError("month out of range")
	}
	if d < 1 || d > daysIn(m, y) {
		return 0, dateError("day out of range")
	}
	if h > 23 {
		return 0, dateError("hour out of range")
	}
	return time.Date(y, time.Month(m), d, h, 0, 0, 0, p.loc).Unix() * 1e6, nil
}

func daysIn(m, y int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// parseHostTag reads "host prog[pid]: " or "host prog: " starting at i and
// returns the index of the message. A message without a tag is accepted.
func parseHostTag(line []byte, i int, r *Record) (int, error) {
	sp := indexSpace(line, i)
	if sp <= i {
		return 0, &ParseError{i + 1, "missing host in syslog prefix"}
	}
	r.Host = line[i:sp]
	j := sp + 1
	end := indexSpace(line, j)
	if end < 0 {
		end = len(line)
	}
	tag := line[j:end]
	if len(tag) < 2 || tag[len(tag)-1] != ':' {
		// no tag: the message follows the host
		r.Key = line[i:sp]
		return j, nil
	}
	tag = tag[:len(tag)-1]
	if k := indexByte(tag, '['); k >= 0 {
		if tag[len(tag)-1] != ']' || k == 0 {
			return 0, &ParseError{j + 1, "malformed program[pid] tag"}
		}
		r.Program = tag[:k]
		r.PID = tag[k+1 : len(tag)-1]
	} else {
		r.Program = tag
	}
	r.Key = line[i:end]
	if end < len(line) {
		end++
	}
	return end, nil
}

func isMonth(b []byte) bool {
	switch string(b[:3]) {
	case "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec":
		return true
	}
	return false
}

func isClock(b []byte) bool {
	return isDigit(b[0]) && isDigit(b[1]) && b[2] == ':' && isDigit(b[3]) && isDigit(b[4]) && b[5] == ':' && isDigit(b[6]) && isDigit(b[7])
}

// isISOStamp checks "YYYY-MM-DDTHH:MM:SS[.f…][Z|±hh:mm]".
func isISOStamp(b []byte) bool {
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || !isClock(b[11:19]) {
		return false
	}
	for _, k := range []int{0, 1, 2, 3, 5, 6, 8, 9} {
		if !isDigit(b[k]) {
			return false
		}
	}
	rest := b[19:]
	if len(rest) > 0 && rest[0] == '.' {
		k := 1
		for k < len(rest) && isDigit(rest[k]) {
			k++
		}
		if k == 1 {
			return false
		}
		rest = rest[k:]
	}
	switch {
	case len(rest) == 0, len(rest) == 1 && rest[0] == 'Z':
		return true
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && isDigit(rest[1]) && isDigit(rest[2]) && rest[3] == ':' && isDigit(rest[4]) && isDigit(rest[5]):
		return true
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func indexSpace(b []byte, from int) int {
	for k := from; k < len(b); k++ {
		if b[k] == ' ' {
			return k
		}
	}
	return -1
}

func indexByte(b []byte, c byte) int {
	for k := range b {
		if b[k] == c {
			return k
		}
	}
	return -1
}

// Status returns the HTTP status at the start of an A record's data, or 0.
func Status(data []byte) int {
	s := 0
	k := 0
	for k < len(data) && k < 4 && isDigit(data[k]) {
		s = s*10 + int(data[k]-'0')
		k++
	}
	if k == 0 || k == 4 || (k < len(data) && data[k] != ' ') {
		return 0
	}
	return s
}

// HasError reports whether record data reports an application exception.
func HasError(data []byte) bool {
	const e = "Error:"
	return len(data) >= len(e) && string(data[:len(e)]) == e
}
