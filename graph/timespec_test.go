package graph

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestResolveRange(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	n := now.Unix()
	tests := []struct {
		start, end string
		s, e       int64
		err        string
	}{
		{"", "", n - 86400, n, ""},
		{"-1h", "now", n - 3600, n, ""},
		{"-6h", "", n - 6*3600, n, ""},
		{"end-1w", "-1d", n - 86400 - 7*86400, n - 86400, ""},
		{"e-1mon", "now", n - 31*86400, n, ""},
		{"-1y", "now", n - 366*86400, n, ""},
		{"1000", "start+1h30min", 1000, 1000 + 5400, ""},
		{"2023-11-14T00:00:00Z", "2023-11-15T00:00:00Z", 1699920000, 1700006400, ""},
		{"now-2d+3h", "now", n - 2*86400 + 3*3600, n, ""},
		{"-1d", "-2d", 0, 0, "must be before end"},
		{"end-1d", "start+1d", 0, 0, "both be relative"},
		{"start-1d", "now", 0, 0, "relative to itself"},
		{"-1x", "now", 0, 0, `at position 3: unknown unit "x"`},
		{"now-", "now", 0, 0, "at position 5: want a number"},
		{"nowx", "now", 0, 0, "want + or -"},
		{"end", "now", 0, 0, "needs an offset"},
		{"-99999999999y", "now", 0, 0, "out of range"},
	}
	for _, tt := range tests {
		s, e, err := ResolveRange(tt.start, tt.end, now)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ResolveRange(%q,%q) err = %v, want %q", tt.start, tt.end, err, tt.err)
			}
			continue
		}
		if err != nil || s != tt.s || e != tt.e {
			t.Errorf("ResolveRange(%q,%q) = %d,%d,%v; want %d,%d", tt.start, tt.end, s, e, err, tt.s, tt.e)
		}
	}
}

func TestIsRelative(t *testing.T) {
	t.Parallel()
	if !IsRelative("-1d", "now") || !IsRelative("", "") || IsRelative("1000", "2000") || IsRelative("end-1h", "2000") {
		t.Error("IsRelative wrong")
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"-1d", "now", "end-1w", "s+3h", "1700000000", "2023-11-14T00:00:00Z", "now-1y+2mon"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := ParseTime(s)
		if err != nil {
			return
		}
		if ts.Offset > maxOffset && ts.Ref != RefAbsolute {
			t.Fatalf("offset %d out of range for %q", ts.Offset, s)
		}
	})
}

func TestFormatValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		f    string
		v    float64
		want string
		err  string
	}{
		{"%6.2lf %s", 1234.5, "  1.23 k", ""},
		{"%6.2lf %s", 0.5, "500.00 m", ""},
		{"%6.2lf%%", 12.345, " 12.35%", ""},
		{"avg\\: %lf", 1, "avg\\: 1.000000", ""},
		{"%s%5.1lf", 2e6, "M  2.0", ""},
		{"%le", 1234, "1.234000e+03", ""},
		{"%6.2lf", nan(), "   nan", ""},
		{"%d", 1, "", "unsupported conversion"},
		{"%lf %lf", 1, "", "more than one number"},
		{"text", 1, "", "no number conversion"},
		{"%6.2", 1, "", "incomplete conversion"},
		{"%1234567890.2lf", 1, "", "width too large"},
	}
	for _, tt := range tests {
		got, err := FormatValue(tt.f, tt.v)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("FormatValue(%q) err = %v, want %q", tt.f, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("FormatValue(%q, %v) = %q, %v; want %q", tt.f, tt.v, got, err, tt.want)
		}
	}
}

func FuzzFormatValue(f *testing.F) {
	f.Add("%6.2lf %s", 1.5)
	f.Add("%%%s%le", -3e-9)
	f.Fuzz(func(t *testing.T, format string, v float64) {
		out, err := FormatValue(format, v)
		if err == nil && strings.Contains(out, "%!") {
			t.Fatalf("format %q produced %q", format, out)
		}
	})
}

func nan() float64 { return math.NaN() }
