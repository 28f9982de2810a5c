package ui

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestMonitorsDisabled: without a Monitors service the pages say so and
// the API answers 404, while the rest of the UI works.
func TestMonitorsDisabled(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	if r := ts.do(t, "GET", "/monitors", "", nil); r.code != http.StatusOK || !strings.Contains(string(r.body), `id="monitors-disabled"`) {
		t.Errorf("/monitors: %d %s", r.code, r.body)
	}
	for _, u := range []string{"/monitors/x", "/monitors/new", "/monitors/alerts", "/api/v1/monitors", "/api/v1/monitors/x/runs"} {
		if r := ts.do(t, "GET", u, "", nil); r.code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", u, r.code)
		}
	}
	if r := ts.do(t, "POST", "/api/v1/monitors", "", map[string]string{"name": "x"}); r.code != http.StatusNotFound {
		t.Errorf("create: %d, want 404", r.code)
	}
	if r := ts.do(t, "GET", "/", "", nil); !strings.Contains(string(r.body), `<a href="/monitors"`) {
		t.Error("no Monitors link in the navigation")
	}
}

func TestSparkline(t *testing.T) {
	t.Parallel()
	run := func(sec float64) MonitorRun { return MonitorRun{Runtime: sec, Start: time.Unix(0, 0)} }
	tests := []struct {
		runs []MonitorRun
		want string
	}{
		{nil, ""},
		{[]MonitorRun{run(1)}, ""},
		// Newest first in, oldest first (left) out; the highest at the top.
		{[]MonitorRun{run(2), run(1)}, "0.0,10.0 100.0,1.0"},
		{[]MonitorRun{run(0), run(0), run(0)}, "0.0,19.0 50.0,19.0 100.0,19.0"},
	}
	for _, tc := range tests {
		if got := sparkline(tc.runs); got != tc.want {
			t.Errorf("sparkline(%v) = %q, want %q", tc.runs, got, tc.want)
		}
	}
}

// FuzzMonitorLines: every monitor gets the line of its header, within the
// text, and nothing panics.
func FuzzMonitorLines(f *testing.F) {
	f.Add("[[monitor]]\nname = \"a\"\n\n [[ monitor ]]\nname = \"b\"\n", 2)
	f.Add("# [[monitor]]\n[[monitor.env]]\n", 1)
	f.Add("", 3)
	f.Fuzz(func(t *testing.T, text string, n int) {
		n = min(max(n, 0), 50)
		ms := make([]MonitorConfig, n)
		monitorLines(text, ms)
		lines := strings.Count(text, "\n") + 1
		prev := 0
		for i, m := range ms {
			if m.Line < 0 || m.Line > lines || m.Line != 0 && m.Line <= prev {
				t.Fatalf("monitor %d: line %d (previous %d) in a text of %d lines", i, m.Line, prev, lines)
			}
			if m.Line != 0 {
				prev = m.Line
			}
		}
	})
}
