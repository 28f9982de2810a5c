package ui

import (
	"math"
	"strings"
	"testing"

	"rrdash/graph"
	"rrdash/ingest/tracelog"
)

// TestTracelogChartLateInstance: an instance that appears after the
// dashboard page was loaded (the demo's first start) is in the "all
// instances" charts the page then loads; one instance alone is not.
func TestTracelogChartLateInstance(t *testing.T) {
	t.Parallel()
	tab := newFixtureStore(t)
	gen := func(ds int, t int64) float64 { return float64(ds+1) * (2 + math.Sin(float64(t)/3600)) }
	tab.add("tracelog.web1", tracelog.DSNames, 60, testNow-86400, 1440, gen)
	ts := newTestServer(t, tab)
	if r := ts.do(t, "GET", "/", "", nil); r.code != 200 || strings.Contains(string(r.body), "?instance=web2") {
		t.Fatalf("GET / = %d, web2 listed before it exists", r.code)
	}
	tab.add("tracelog.web2", tracelog.DSNames, 60, testNow-86400, 1440, gen)
	tests := []struct {
		url  string
		code int
		want []string
	}{
		{"/api/v1/tracelog/charts/rate?from=-6h", 200, []string{"tracelog.web1", "tracelog.web2"}},
		{"/api/v1/tracelog/charts/rate?instance=web2&from=-6h", 200, []string{"tracelog.web2"}},
		{"/api/v1/tracelog/charts/response?instance=&from=-1h", 200, []string{"tracelog.web1", "tracelog.web2"}},
		{"/api/v1/tracelog/charts/rate?instance=web3", 404, nil},
		{"/api/v1/tracelog/charts/nope", 404, nil},
		{"/api/v1/tracelog/charts/rate?from=yesterday", 400, nil},
	}
	for _, tt := range tests {
		r := ts.do(t, "GET", tt.url, "", nil)
		if r.code != tt.code {
			t.Errorf("GET %s = %d: %s", tt.url, r.code, r.body)
			continue
		}
		if tt.code != 200 {
			continue
		}
		ch := decode[graph.Chart](t, r)
		seen := map[string]bool{}
		for _, s := range ch.Sources {
			seen[s.Series] = true
		}
		for _, w := range tt.want {
			if !seen[w] {
				t.Errorf("GET %s: sources %v lack %s", tt.url, ch.Sources, w)
			}
		}
		if len(seen) != len(tt.want) {
			t.Errorf("GET %s: sources %v, want %v", tt.url, ch.Sources, tt.want)
		}
	}
}

// TestDashboardDefaultRange: without from in the URL the dashboard opens
// at the span its data covers (6 h of demo data: -6h), with it as given.
func TestDashboardDefaultRange(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, demoStore(t))
	for url, want := range map[string]string{"/": `&#34;from&#34;:&#34;-6h&#34;`, "/?from=-1w": `&#34;from&#34;:&#34;-1w&#34;`} {
		r := ts.do(t, "GET", url, "", nil)
		if r.code != 200 || !strings.Contains(string(r.body), want) {
			t.Errorf("GET %s = %d, want the state to hold %s", url, r.code, want)
		}
	}
	// The fixture's full day: -1d.
	ts = newTestServer(t, nil)
	if r := ts.do(t, "GET", "/", "", nil); !strings.Contains(string(r.body), `&#34;from&#34;:&#34;-1d&#34;`) {
		t.Errorf("a day of data: the state lacks from -1d")
	}
}
