package ui

import (
	"testing"
	"time"

	"rrdash/graph"
)

func TestFitRange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		span time.Duration
		want string
	}{
		{0, "-1d"},
		{100 * 15 * time.Second, "-25min"}, // a monitor every 15 s
		{100 * time.Minute, "-100min"},
		{6 * time.Hour, "-6h"}, // the demo's first start
		{6*time.Hour + 20*time.Minute, "-6h"},
		{9 * time.Hour, "-9h"},
		{23 * time.Hour, "-1d"},
		{100 * 5 * time.Minute, "-9h"},
		{3 * 24 * time.Hour, "-72h"},
		{100 * time.Hour, "-1w"},
		{400 * 24 * time.Hour, "-1y"},
	}
	for _, tt := range tests {
		got := fitRange(tt.span)
		if got != tt.want {
			t.Errorf("fitRange(%v) = %q, want %q", tt.span, got, tt.want)
		}
		if err := graph.CheckTime(got); err != nil {
			t.Errorf("fitRange(%v) = %q: not a time spec: %v", tt.span, got, err)
		}
	}
}

func TestMonitorRange(t *testing.T) {
	t.Parallel()
	for iv, want := range map[string]string{"15s": "-25min", "1m": "-100min", "1h": "-1w", "": "-1d", "bad": "-1d"} {
		if got := monitorRange(MonitorView{Interval: iv}); got != want {
			t.Errorf("interval %q: range %q, want %q", iv, got, want)
		}
	}
}
