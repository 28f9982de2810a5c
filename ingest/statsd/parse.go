package statsd

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"rrdash/ingest/push"
)

// Kind is a statsd metric type.
type Kind uint8

// Kinds.
const (
	Counter Kind = iota + 1 // c
	Gauge                   // g
	Timer                   // ms, h (DogStatsD histogram) and d (distribution)
	Set                     // s
)

func (k Kind) String() string {
	switch k {
	case Counter:
		return "counter"
	case Gauge:
		return "gauge"
	case Timer:
		return "timer"
	case Set:
		return "set"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Sample is one value of a statsd line.
type Sample struct {
	// Key is the metric key as statsd makes it: sanitised, with the tags
	// in Graphite form sorted by key (`api.hits;env=prod;host=a`).
	Key   string
	Kind  Kind
	Value float64 // counter increment, gauge value or delta, timer value
	Delta bool    // a gauge value with a sign: added to the gauge
	Rate  float64 // sample rate, 0 < Rate; 1 when not given
	// Member is a set's member.
	Member string
}

// LineError is a line with bad values; Bad counts them (statsd counts
// each value of a line as one metric). The line's good values are kept.
type LineError struct {
	Bad int
	Err error // the first
}

func (e *LineError) Error() string {
	if e.Bad > 1 {
		return fmt.Sprintf("%v (and %d more bad values on the line)", e.Err, e.Bad-1)
	}
	return e.Err.Error()
}

func (e *LineError) Unwrap() error { return e.Err }

// Parser parses statsd lines. It keeps a cache of keys, so reuse one per
// reader; it is not safe for concurrent use.
type Parser struct {
	keys map[string]string // raw name and tags → Key
	buf  []byte
}

// maxCachedKeys bounds the key cache; it is dropped when full.
const maxCachedKeys = 1 << 16

// ParseLine parses one line `key:value|type[|@rate][:value|type…][|#tag:v,…]`
// (no newline) and appends its samples to out. A line with bad values
// returns a *LineError and the samples of its good values; a line whose
// key is bad returns a *LineError counting every value and no samples.
func (p *Parser) ParseLine(line []byte, out []Sample) ([]Sample, error) {
	body, tags := line, []byte(nil)
	if i := bytes.Index(line, []byte("|#")); i >= 0 {
		body, tags = line[:i], line[i+2:]
		if j := bytes.IndexByte(tags, '|'); j >= 0 {
			return out, &LineError{Bad: 1, Err: fmt.Errorf("field %q after the tags: not supported", tags[j:])}
		}
	}
	colon := bytes.IndexByte(body, ':')
	if colon < 0 {
		return out, &LineError{Bad: 1, Err: errors.New("no ':' between key and value")}
	}
	name, values := body[:colon], body[colon+1:]
	key, err := p.key(name, tags)
	if err != nil {
		return out, &LineError{Bad: bytes.Count(values, []byte(":")) + 1, Err: err}
	}
	var le *LineError
	for chunk := range bytes.SplitSeq(values, []byte(":")) {
		s, err := parseValue(chunk)
		if err != nil {
			if le == nil {
				le = &LineError{Err: fmt.Errorf("key %q: value %q: %w", key, chunk, err)}
			}
			le.Bad++
			continue
		}
		s.Key = key
		out = append(out, s)
	}
	if le != nil {
		return out, le
	}
	return out, nil
}

// parseValue parses `value|type[|@rate]`.
func parseValue(chunk []byte) (Sample, error) {
	s := Sample{Rate: 1}
	val, rest, ok := bytes.Cut(chunk, []byte("|"))
	if !ok {
		return s, errors.New("no '|type'")
	}
	typ, rate, hasRate := bytes.Cut(rest, []byte("|"))
	switch string(typ) {
	case "c":
		s.Kind = Counter
	case "g":
		s.Kind = Gauge
	case "ms", "h", "d":
		s.Kind = Timer
	case "s":
		s.Kind = Set
	default:
		return s, fmt.Errorf("unknown type %q (want c, g, ms, h, d or s)", typ)
	}
	if hasRate {
		if bytes.IndexByte(rate, '|') >= 0 {
			return s, fmt.Errorf("unexpected field after %q", rate)
		}
		if len(rate) < 2 || rate[0] != '@' || !rateSyntax(rate[1:]) {
			return s, fmt.Errorf("sample rate %q: want @ and a positive decimal number", rate)
		}
		r, err := strconv.ParseFloat(string(rate[1:]), 64)
		if err != nil || !(r > 0) {
			return s, fmt.Errorf("sample rate %q: want @ and a positive decimal number", rate)
		}
		s.Rate = r
	}
	if s.Kind == Set {
		if len(val) == 0 {
			val = []byte("0") // as statsd
		}
		s.Member = string(val)
		return s, nil
	}
	if !decimalSyntax(val) {
		return s, errors.New("not a decimal number")
	}
	v, err := strconv.ParseFloat(string(val), 64)
	if err != nil {
		return s, errors.New("out of range")
	}
	switch s.Kind {
	case Gauge:
		s.Delta = val[0] == '+' || val[0] == '-'
	case Timer:
		if v < 0 {
			return s, errors.New("negative timer value")
		}
	}
	s.Value = v
	return s, nil
}

// rateSyntax is statsd's sample rate: digits and dots.
func rateSyntax(b []byte) bool {
	for _, c := range b {
		if (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}

// decimalSyntax accepts [+-]digits[.digits][e[+-]digits] (a dot may lead
// or trail): what statsd clients send, without JavaScript's hex and
// Infinity.
func decimalSyntax(b []byte) bool {
	i := 0
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		i++
	}
	digits := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i, digits = i+1, digits+1
	}
	if i < len(b) && b[i] == '.' {
		i++
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i, digits = i+1, digits+1
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		exp := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i, exp = i+1, exp+1
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(b)
}

// key makes the metric key from the name and the DogStatsD tags as
// statsd 0.9 does — each tag `k:v` becomes `;k=v` (its first ';' made
// '_'), then whitespace runs become '_', '/' becomes '-' and every byte
// outside [A-Za-z0-9_.;=-] is dropped — and then sorts the tags and
// checks the result as a Graphite series name.
func (p *Parser) key(name, tags []byte) (string, error) {
	raw := append(append(append(p.buf[:0], name...), '|', '#'), tags...)
	p.buf = raw
	if k, ok := p.keys[string(raw)]; ok {
		return k, nil
	}
	b := make([]byte, 0, len(raw))
	b = sanitize(b, name)
	if len(tags) > 0 {
		for t := range bytes.SplitSeq(tags, []byte(",")) {
			b = append(b, ';')
			if i := bytes.IndexByte(t, ';'); i >= 0 {
				t = append(append(append([]byte(nil), t[:i]...), '_'), t[i+1:]...)
			}
			if i := bytes.IndexByte(t, ':'); i >= 0 {
				t = append(append(append([]byte(nil), t[:i]...), '='), t[i+1:]...)
			}
			b = sanitize(b, t)
		}
	}
	if len(b) == 0 || b[0] == ';' {
		return "", fmt.Errorf("key %q: empty after sanitising", name)
	}
	k, err := push.GraphiteSeries(string(b))
	if err != nil {
		return "", fmt.Errorf("key %q: %w", b, err)
	}
	if p.keys == nil || len(p.keys) >= maxCachedKeys {
		p.keys = make(map[string]string, 1024)
	}
	p.keys[string(raw)] = k
	return k, nil
}

// sanitize appends s to b as statsd's sanitizeKeyName rewrites it.
func sanitize(b, s []byte) []byte {
	for i := 0; i < len(s); {
		r, n := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRune(s[i:])
		}
		if isJSSpace(r) {
			for i < len(s) {
				r, n = rune(s[i]), 1
				if r >= utf8.RuneSelf {
					r, n = utf8.DecodeRune(s[i:])
				}
				if !isJSSpace(r) {
					break
				}
				i += n
			}
			b = append(b, '_')
			continue
		}
		i += n
		switch {
		case r == '/':
			b = append(b, '-')
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.', r == ';', r == '=':
			b = append(b, byte(r))
		}
	}
	return b
}

// isJSSpace is JavaScript's \s.
func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}
