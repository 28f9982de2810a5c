package graph

import (
	"strings"
	"testing"
	"time"
)

// The AT-style grammar itself is tested against rrdtool in rpn; these
// cases cover what graph adds: RFC 3339, the length limit, start < end.
func TestResolveRange(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0).UTC()
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
		{"e-1mon", "now", time.Date(2023, 10, 14, 22, 13, 20, 0, time.UTC).Unix(), n, ""},
		{"1600000000", "start+1h30min", 1600000000, 1600000000 + 5400, ""},
		{"2023-11-14T00:00:00Z", "2023-11-15T00:00:00Z", 1699920000, 1700006400, ""},
		{"midnight", "noon", time.Date(2023, 11, 14, 0, 0, 0, 0, time.UTC).Unix(), time.Date(2023, 11, 14, 12, 0, 0, 0, time.UTC).Unix(), ""},
		{"now-2d+3h", "now", n - 2*86400 + 3*3600, n, ""},
		{"now-5+3h", "now", n - 5 - 3*3600, n, ""}, // rrdtool: a number without a unit eats the sign after it
		{"-1d", "-2d", 0, 0, "should be less than end"},
		{"-1d", "-1d", 0, 0, "must be before end"},
		{"end-1d", "start+1d", 0, 0, "relative to each other"},
		{"start-1d", "now", 0, 0, "relative to itself"},
		{"now-", "now", 0, 0, "position 5"},
		{"nowx", "now", 0, 0, "position 1"},
		{"end", "now", 0, 0, "must be followed by a + or - offset"},
		{"-99999999999y", "now", 0, 0, "too large"},
		{strings.Repeat("-1d", 30), "now", 0, 0, "too long"},
	}
	for _, tt := range tests {
		s, e, err := ResolveRange(tt.start, tt.end, now)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ResolveRange(%q, %q) = %d, %d, %v; want error containing %q", tt.start, tt.end, s, e, err, tt.err)
			}
			continue
		}
		if err != nil || s != tt.s || e != tt.e {
			t.Errorf("ResolveRange(%q, %q) = %d, %d, %v; want %d, %d", tt.start, tt.end, s, e, err, tt.s, tt.e)
		}
	}
}

func TestCheckTime(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"", "now", "-1d", "end-1w", "noon yesterday", "20:30 22.11.2026", "2023-11-14T00:00:00Z", "1700000000"} {
		if err := CheckTime(ok); err != nil {
			t.Errorf("CheckTime(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"yesterday", "now-", "13/13/2020 10:00", "-1d x", strings.Repeat("1", 70)} {
		if err := CheckTime(bad); err == nil {
			t.Errorf("CheckTime(%q) = nil, want an error", bad)
		}
	}
}
