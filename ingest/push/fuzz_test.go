package push

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"rrdash/ingest/horizon"
	"rrdash/store"
)

// encodeLine writes a parsed line back as line protocol, escaping
// everything that needs it, so that parse(encode(l)) must give l again.
func encodeLine(l *Line) []byte {
	var b []byte
	esc := func(s []byte, special string) {
		for _, c := range s {
			if c == '\\' || strings.IndexByte(special, c) >= 0 {
				b = append(b, '\\')
			}
			b = append(b, c)
		}
	}
	esc(l.Measurement, ", ")
	for _, t := range l.Tags {
		b = append(b, ',')
		esc(t.Key, ",= ")
		b = append(b, '=')
		esc(t.Value, ",= ")
	}
	b = append(b, ' ')
	for i, f := range l.Fields {
		if i > 0 {
			b = append(b, ',')
		}
		esc(f.Key, ",= ")
		b = append(b, '=')
		switch f.Kind {
		case KindString:
			b = append(b, '"')
			esc(f.Str, `"`)
			b = append(b, '"')
		case KindBool:
			b = strconv.AppendBool(b, f.Bool)
		case KindInt:
			b = append(append(b, f.Num...), 'i')
		case KindUint:
			b = append(append(b, f.Num...), 'u')
		default:
			b = append(b, f.Num...)
		}
	}
	if l.HasTime {
		b = append(b, ' ')
		b = strconv.AppendInt(b, l.Time, 10)
	}
	return b
}

// FuzzParseLineProtocol: the parser never panics, errors name a line of the
// input, every parsed line survives a round trip through encodeLine, and
// conversion never panics.
func FuzzParseLineProtocol(f *testing.F) {
	for _, s := range []string{
		"weather,location=us-midwest temperature=82 1465839830100400200",
		`my\ Measurement,tag\ Key=tag\,Value f\=k="a \"q\" \\ b",i=-5i,u=7u,b=T 1`,
		"cpu v=1\n\n# c\nmem,host=a free=2.5e-3,ok=false -3\r\n",
		`m s="unterminated`,
		"m,k=v=w f=1",
		`my\\Measurement f=1`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The table-driven name scan stops where the byte loop before it
		// did, with the same name, from every offset.
		sp := &Parser{data: data, end: len(data)}
		for i := range min(len(data), 64) {
			for _, eq := range []bool{false, true} {
				n, e := sp.scanName(i, eq)
				bn, be := scanNameBefore(data, i, eq)
				if e != be || !bytes.Equal(n, bn) {
					t.Fatalf("scanName(%q, %d, %v) = %q, %d; before: %q, %d", data, i, eq, n, e, bn, be)
				}
			}
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		p := NewParser(data)
		c := &Converter{Precision: Second, Now: func() time.Time { return time.Unix(1, 0) }}
		for {
			l, err := p.Next()
			if err != nil {
				se := err.(*SyntaxError)
				if se.Line < 1 || se.Line > lines || se.Reason == "" {
					t.Fatalf("bad error %+v for %d lines", se, lines)
				}
				continue
			}
			if l == nil {
				break
			}
			want := render(l)
			enc := encodeLine(l)
			l2, err := NewParser(enc).Next()
			if err != nil || l2 == nil {
				t.Fatalf("re-parse of %q (from %q): %v", enc, want, err)
			}
			if got := render(l2); got != want {
				t.Fatalf("round trip:\n got %s\nwant %s\n via %q", got, want, enc)
			}
			pts, err := c.Convert(p, l, nil)
			if err == nil {
				k := 0
				for _, f := range l.Fields {
					if f.Kind == KindString {
						continue
					}
					pt := pts[k]
					k++
					if pt.Series == "" || pt.Text() == "" || pt.Usec < 0 || pt.Usec >= 1e6 || pt.Numeric == (pt.Value != "") {
						t.Fatalf("bad point %+v", pt)
					}
					// A value handed as a number is the text's rrd_strtod
					// reading, and the store writes it back as the text the
					// converter took before numbers (graphiteNumber).
					want := string(f.Num)
					if f.Kind == KindBool {
						want = map[bool]string{true: "1", false: "0"}[f.Bool]
					}
					if pt.Text() != want {
						t.Fatalf("field %q: the point stands for %q, want %q", f.Num, pt.Text(), want)
					}
					if v, _ := store.ParseFloatPrefix(want); pt.Numeric && math.Float64bits(v) != math.Float64bits(pt.Num) {
						t.Fatalf("field %q: number %v, the text path reads %v", want, pt.Num, v)
					}
				}
				if k != len(pts) {
					t.Fatalf("%d points for %d numeric fields", len(pts), k)
				}
			}
		}
	})
}

func FuzzParseGraphiteLine(f *testing.F) {
	for _, s := range []string{"a.b.c 1.5 1700000000", "a.b;z=1;a=2 -3 1700000000.25", "x 1", "x nan 1", "x 1 -1", "a;b=1;b=2 1 1", "a;=1 1 1", "a.b 1e999 1",
		"a\t1\t\t2 ", " a 1 2 3 4", "a\u00a01 2", "a\u00851 2 3", "a\v1 2", "a 1\r 2", "a\xff 1 2", "a 1e-999 2", "a " + strings.Repeat("9", 320) + " 1", "a -.5e+3 1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		p, err := ParseGraphiteLine(line, time.Unix(5, 0))
		// The allocation-free parser says what the one before it said; a
		// value handed as a number is the text's rrd_strtod reading, and
		// the store writes it back as that text (graphiteNumber).
		rp, rerr := parseGraphiteLineBefore(line, time.Unix(5, 0))
		if p.Numeric && rerr == nil {
			if v, _ := store.ParseFloatPrefix(rp.Value); math.Float64bits(v) != math.Float64bits(p.Num) {
				t.Fatalf("%q: number %v, the text path reads %v", line, p.Num, v)
			}
		}
		if pt := asText(p); pt != rp || (rerr == nil) != (err == nil) || err != nil && rerr.Error() != err.Error() {
			t.Fatalf("%q: %+v, %v; the parser before: %+v, %v", line, p, err, rp, rerr)
		}
		// A connection's name cache changes nothing, on a miss or a hit.
		names := &graphiteNames{}
		for range 2 {
			pc, cerr := parseGraphiteLine(line, func() time.Time { return time.Unix(5, 0) }, names, &valueArena{})
			pc.ref = nil // the writer's handle, which the cache alone gives
			if asText(pc) != asText(p) || (cerr == nil) != (err == nil) || err != nil && cerr.Error() != err.Error() {
				t.Fatalf("with the name cache: %+v, %v; without: %+v, %v", pc, cerr, p, err)
			}
		}
		if err != nil {
			return
		}
		if p.Series == "" || p.Usec < 0 || p.Usec >= 1e6 {
			t.Fatalf("bad point %+v from %q", p, line)
		}
		// Normalised names are fixed points.
		if again, err := seriesWithSortedTags(p.Series); err != nil || again != p.Series {
			t.Fatalf("name %q normalises to %q, %v", p.Series, again, err)
		}
	})
}

func FuzzDecodeJSONPoints(f *testing.F) {
	for _, s := range []string{
		`[{"timestamp":"2026-11-22T14:00:00.5Z","name":"a.b","value":1.5,"units":"s","tags":{"k":"v"}}]`,
		`[{"timestamp":1795356000,"name":"a","value":"2"}]`,
		`[{"timestamp":-1.5,"name":"a","value":1e3}]`,
		`{"timestamp":1,"name":"a","value":1}`,
		`[{"timestamp":1,"name":"a","value":1,"extra":2}]`,
		"[{\"timestamp\":1,\"name\":\"a\xff\",\"value\":1}]",
		`[{"timestamp":1,"name":"a\ud800","value":1}]`,
		`[{"timestamp":1,"name":"a\ud83d\ude00","value":1,"tags":{"k":"\udc00"}}]`,
		`[{"timestamp":1,"name":"a\\ud800","value":1}]`,
		`[{"timestamp":1,"name":"a\ufffd","value":1}]`,
		`[{"timestamp":253402300799,"name":"a","value":1}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pts, err := DecodeJSONPoints(bytes.NewReader(data), nil)
		if err != nil {
			if _, ok := err.(*PointError); !ok {
				t.Fatalf("error %T %v is not a *PointError", err, err)
			}
			return
		}
		// Nothing was replaced silently: an accepted body is UTF-8, and a
		// U+FFFD in a name was in the input as such.
		if !utf8.Valid(data) {
			t.Fatalf("accepted a body that is not UTF-8: %q", data)
		}
		literal := bytes.Contains(data, []byte("\uFFFD")) || bytes.Contains(bytes.ToLower(data), []byte(`\ufffd`))
		for _, p := range pts {
			if p.Series == "" || p.Usec < 0 || p.Usec >= 1e6 || !utf8.ValidString(p.Series) {
				t.Fatalf("bad point %+v", p)
			}
			if strings.ContainsRune(p.Series+p.Units, utf8.RuneError) && !literal {
				t.Fatalf("U+FFFD in %+v from %q: a replaced character", p, data)
			}
			if err := (horizon.Horizon{}).Check(p.Sec, p.Usec); err != nil {
				t.Fatalf("accepted %+v: %v", p, err)
			}
		}
	})
}

// scanNameBefore is Parser.scanName before its byte table (session 9).
func scanNameBefore(d []byte, i int, stopEq bool) ([]byte, int) {
	start := i
	escaped := false
	for i < len(d) {
		c := d[i]
		if c == '\\' && i+1 < len(d) {
			escaped = true
			i += 2
			continue
		}
		if c == ',' || c == ' ' || c == '=' && stopEq {
			break
		}
		i++
	}
	if !escaped {
		return d[start:i], i
	}
	special := ", "
	if stopEq {
		special = ",= "
	}
	return unescapeName(d[start:i], special), i
}

// asText is p with a numeric value as the text the store's numeric path
// stands for (store.AppendReading).
func asText(p Point) Point {
	if p.Numeric {
		p.Value, p.Num, p.Numeric = p.Text(), 0, false
	}
	return p
}

// parseGraphiteLineBefore is the plaintext parser before session 7's
// allocation-free one (bytes.Fields, strconv for every value, the clock
// read for every line): the fuzz test holds the new one to its results.
func parseGraphiteLineBefore(line []byte, now time.Time) (Point, error) {
	var p Point
	f := bytes.Fields(line)
	if len(f) != 3 {
		return p, fmt.Errorf("want `name value timestamp`, got %d fields", len(f))
	}
	name, err := seriesWithSortedTags(string(f[0]))
	if err != nil {
		return p, err
	}
	if err := store.ValidSeriesName(name); err != nil {
		return p, err
	}
	if !floatSyntax(f[1]) {
		return p, fmt.Errorf("value %q is not a decimal number", f[1])
	}
	if _, err := strconv.ParseFloat(string(f[1]), 64); err != nil {
		return p, fmt.Errorf("value %q is out of range", f[1])
	}
	if sec, ok := epochDigits(f[2]); ok {
		p.Sec = sec
	} else if string(f[2]) == "-1" {
		p.Sec, p.Usec = now.Unix(), int64(now.Nanosecond()/1000)
	} else if p.Sec, p.Usec, err = parseEpoch(string(f[2])); err != nil {
		return p, err
	}
	p.Series, p.Value, p.Graphite = name, string(f[1]), true
	return p, nil
}
