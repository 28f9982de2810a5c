package ui

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// legendProbe reads a chart's legends, caption and the formatting of
// values by its tooltip and value axis.
const legendProbe = `(() => {
	const one = (id, vals, ticks) => {
		const c = echarts.getInstanceByDom(document.querySelector("#chart-" + id));
		const o = c.getOption();
		const tip = [].concat(o.tooltip)[0].formatter;
		return {
			echartsLegend: [].concat(o.legend).some(l => l.show !== false),
			subtext: [].concat(o.title).map(t => t.subtext || "").join(""),
			tips: vals.map(v => tip([{value: [1700000000000, v], seriesName: "s", marker: ""}]).split("\n")[1]),
			ticks: ticks.map(v => o.yAxis[0].axisLabel.formatter(v)),
			legend: document.querySelector("#legend-" + id).textContent,
			status: document.querySelector("#status-" + id).textContent,
		};
	};
	return JSON.stringify({
		rate: one("rate", [6.6333333, 12345, 0.5, null], [0, 10, 40]),
		response: one("response", [0.1715, 2.5, 0.000512], [0, 0.5, 5]),
	});
})()`

type legendView struct {
	EchartsLegend bool
	Subtext       string
	Tips, Ticks   []string
	Legend        string
	Status        string
}

// TestBrowserOneLegend: charts show one legend (the graph's, in HTML, no
// echarts legend), the step/CF caption once (the status line), values in
// tooltips with an SI prefix and the unit (6.6333333 → 6.63 req/s,
// 0.1715 s → 172 ms), axis labels with one prefix per axis; clicking a
// legend row hides its series; the max-rate line is the smoothed one;
// "all together" draws every instance.
func TestBrowserOneLegend(t *testing.T) {
	exe := chromiumPath(t)
	ts := newTestServer(t, browserStore(t))
	hs := httptest.NewServer(ts.srv.Handler())
	defer hs.Close()
	ctx, cancel := newBrowser(t, exe)
	defer cancel()

	do(t, ctx, "dashboard", chromedp.Navigate(hs.URL+"/?tz=UTC"), chromedp.WaitVisible(`#chart-response[data-drawn="1"]`), chromedp.WaitVisible(`#chart-rate[data-drawn="1"]`))
	var v map[string]legendView
	if err := json.Unmarshal([]byte(get(t, ctx, "probe", chromedp.Evaluate[string](legendProbe))), &v); err != nil {
		t.Fatal(err)
	}
	rate, resp := v["rate"], v["response"]
	for id, c := range v {
		if c.EchartsLegend {
			t.Errorf("%s: echarts draws its own legend too", id)
		}
		if c.Subtext != "" {
			t.Errorf("%s: the caption %q is drawn in the chart as well as in the status line", id, c.Subtext)
		}
		if !strings.HasPrefix(c.Status, "step ") {
			t.Errorf("%s: status line %q lacks the step caption", id, c.Status)
		}
	}
	want := map[string][]string{
		"rate tips":      {"s: 6.63 req/s", "s: 12.3 k req/s", "s: 500 m req/s", "s: –"},
		"response tips":  {"s: 172 ms", "s: 2.5 s", "s: 512 us"},
		"rate ticks":     {"0", "10", "40"},
		"response ticks": {"0", "0.5", "5"},
	}
	got := map[string][]string{"rate tips": rate.Tips, "response tips": resp.Tips, "rate ticks": rate.Ticks, "response ticks": resp.Ticks}
	for k, w := range want {
		if strings.Join(got[k], "|") != strings.Join(w, "|") {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}
	if !strings.Contains(rate.Legend, "estimated max rate/s (15 min mean)") || !strings.Contains(rate.Legend, "requests/s") {
		t.Errorf("rate legend %q", rate.Legend)
	}
	// "all together" reads both instances (the chart API's sources).
	srcs := get(t, ctx, "sources", chromedp.Evaluate[string](`fetch("/api/v1/tracelog/charts/rate?from=-6h").then(r => r.json()).then(c => c.sources.map(s => s.series).sort().join(","))`, chromedp.EvalAwaitPromise))
	if !strings.Contains(srcs, "tracelog.web1") || !strings.Contains(srcs, "tracelog.web2") {
		t.Errorf("all instances chart reads %s", srcs)
	}

	// Click the legend entry of requests/s: its series is hidden, and shown again.
	sel := `#legend-rate .legend-item[data-series="requests/s"]`
	selected := `JSON.stringify(echarts.getInstanceByDom(document.querySelector("#chart-rate")).getOption().legend[0].selected || {})`
	do(t, ctx, "hide", chromedp.Click(sel))
	if s := get(t, ctx, "selected", chromedp.Evaluate[string](selected)); !strings.Contains(s, `"requests/s":false`) {
		t.Errorf("after a click on its legend row, legend selection %s", s)
	}
	if cls := get(t, ctx, "class", chromedp.Evaluate[string](`document.querySelector('`+sel+`').className`)); !strings.Contains(cls, "off") {
		t.Errorf("hidden series row class %q", cls)
	}
	screenshot(t, ctx, "legend-hidden.png", true)
	do(t, ctx, "show", chromedp.Click(sel))
	if s := get(t, ctx, "selected", chromedp.Evaluate[string](selected)); strings.Contains(s, `false`) {
		t.Errorf("after a second click, legend selection %s", s)
	}
}
