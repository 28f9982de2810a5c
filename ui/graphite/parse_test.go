package graphite

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseTargets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string // a compact dump
	}{
		{"a.b.c", "a.b.c"},
		{"servers.{web1,db1}.cpu.[a-z]*", "servers.{web1,db1}.cpu.[a-z]*"},
		{"app.cpu;host=a;dc=x", "app.cpu;host=a;dc=x"},
		{"sumSeries(a.*.c, b.c)", "sumSeries(a.*.c,b.c)"},
		{"scale(a.b, -2.5)", "scale(a.b,-2.5)"},
		{"movingAverage(a.b,'5min')", `movingAverage(a.b,"5min")`},
		{"summarize(a.b,\"1h\",'max',true)", `summarize(a.b,"1h","max",True)`},
		{"keepLastValue(a.b, inf)", "keepLastValue(a.b,Infinity)"},
		{"transformNull(a.b, default=1e3)", "transformNull(a.b,default=1000.0)"},
		{"a.b|scale(2)|offset(1)", "offset(scale(a.b,2),1)"},
		{"a.b | alias('x')", `alias(a.b,"x")`},
		{`a\(b\).c`, `a\(b\).c`},
		{"1abc.def", "1abc.def"},
		{"sumSeries()", "sumSeries()"},
		{"f(true.x)", "f(true.x)"},
		{"seriesByTag('name=a', 'dc=~x.*')", `seriesByTag("name=a","dc=~x.*")`},
	}
	for _, tt := range tests {
		e, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := dump(e); got != tt.want {
			t.Errorf("Parse(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func dump(e *Expr) string {
	switch e.Kind {
	case KindCall:
		var parts []string
		for _, a := range e.Args {
			parts = append(parts, dump(a))
		}
		for _, k := range e.Kwargs {
			parts = append(parts, k.Name+"="+dump(k.Value))
		}
		return e.Func + "(" + strings.Join(parts, ",") + ")"
	case KindNumber:
		if e.Num > 1e300 {
			return "Infinity"
		}
	}
	return e.String()
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in  string
		pos int
		msg string
	}{
		{"sumSeries(a.b", 14, "want ',' or ')'"},
		{"sumSeries(a.b))", 15, "unexpected"},
		{"a..b", 3, "empty node"},
		{"a.b.", 5, "ends with '.'"},
		{"f(a, 'x)", 6, "unterminated string"},
		{"f(k=1, a.b)", 8, "positional argument after a keyword"},
		{"a.{b,c", 7, "unclosed '{'"},
		{"a.b}", 4, "'}' without '{'"},
		{"template(a.b)", 1, "template() is not supported"},
		{"", 1, "got the end"},
		{"a.b|c.d", 5, "want a function call after '|'"},
		{"a.b\\x", 4, "bad escape"},
		{strings.Repeat("f(", 300) + "a" + strings.Repeat(")", 300), 401, "nested more than"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) = %v, want a ParseError", tt.in, err)
			continue
		}
		if pe.Pos != tt.pos || !strings.Contains(pe.Msg, tt.msg) {
			t.Errorf("Parse(%q) = position %d %q, want %d %q", tt.in, pe.Pos, pe.Msg, tt.pos, tt.msg)
		}
	}
}

// FuzzParse: no panic, and an accepted target prints back to something
// that parses to the same dump.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"a.b.c", "sumSeries(a.*,b.{c,d})", "scale(a.b,-1.5e3)", "a|f(1)|g('x',k=true)",
		"seriesByTag('a=b')", `a\(b`, "f(none, inf, false)", "x.[!a-c]?.*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Pos < 1 || pe.Pos > len(s)+1 {
				t.Fatalf("Parse(%q): error %v without a position in range", s, err)
			}
			return
		}
		if e == nil {
			t.Fatalf("Parse(%q): nil expression", s)
		}
	})
}

func TestParseATTime(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 11, 24, 16, 7, 30, 0, time.UTC) // a Monday
	tests := []struct {
		in   string
		want string
	}{
		{"now", "2025-11-24 16:07:30"},
		{"-1h", "2025-11-24 15:07:30"},
		{"-2days", "2025-11-22 16:07:30"},
		{"-1w2d", "2025-11-15 16:07:30"},
		{"-1mon", "2025-10-25 16:07:30"},
		{"-1y", "2024-11-24 16:07:30"},
		{"-30s", "2025-11-24 16:07:00"},
		{"-5min", "2025-11-24 16:02:30"},
		{"1764000000", "2025-11-24 16:00:00"},
		{"20251122", "2025-11-22 00:00:00"},
		{"09:30_20251122", "2025-11-22 09:30:00"},
		{"9:30pm_20251122", "2025-11-22 21:30:00"},
		{"midnight", "2025-11-24 00:00:00"},
		{"noon yesterday", "2025-11-23 12:00:00"},
		{"teatime tomorrow", "2025-11-25 16:00:00"},
		{"11/22/25", "2025-11-22 00:00:00"},
		{"nov22", "2025-11-22 00:00:00"},
		{"friday", "2025-11-21 00:00:00"},
		{"monday", "2025-11-24 00:00:00"},
		{"today-1h", "2025-11-23 23:00:00"},
		{"20251122+6h", "2025-11-22 06:00:00"},
		{"12345678", "1970-05-23 21:21:18"}, // not a date: an epoch
	}
	for _, tt := range tests {
		got, err := ParseATTime(tt.in, time.UTC, now)
		if err != nil {
			t.Errorf("ParseATTime(%q): %v", tt.in, err)
			continue
		}
		if s := got.UTC().Format("2006-01-02 15:04:05"); s != tt.want {
			t.Errorf("ParseATTime(%q) = %s, want %s", tt.in, s, tt.want)
		}
	}
	for _, bad := range []string{"-5m", "-1", "yesterdayish", "20251131", "13:99", "-h", "", "fooday"} {
		if _, err := ParseATTime(bad, time.UTC, now); err == nil {
			t.Errorf("ParseATTime(%q) accepted", bad)
		}
	}
}

func FuzzParseATTime(f *testing.F) {
	for _, s := range []string{"-1h", "now", "09:30_20251122", "20251122", "1764000000", "noon yesterday", "-1w2d+3h", "nov22"} {
		f.Add(s)
	}
	now := time.Unix(1764000000, 0)
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseATTime(s, time.UTC, now) // no panic
	})
}

// The glob's tests are store/nametree's (TestGlobNodes, FuzzGlobAgainstRegexp).

func TestPyFloat(t *testing.T) {
	t.Parallel()
	for v, want := range map[float64]string{1: "1.0", -2.5: "-2.5", 1e16: "1e+16", 1.5e-05: "1.5e-05", 0.0001: "0.0001", 123456789012345.0: "123456789012345.0", 0: "0.0", math.Nextafter(0.3, 1): "0.30000000000000004"} {
		if got := pyFloat(v); got != want {
			t.Errorf("pyFloat(%v) = %s, want %s", v, got, want)
		}
		if got := string(appendPyFloat([]byte("x"), v)); got != "x"+want {
			t.Errorf("appendPyFloat(%v) = %s, want x%s", v, got, want)
		}
	}
}
