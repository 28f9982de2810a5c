package ui

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"rrdash/graph"
	"rrdash/store/meta"
)

// BenchmarkBoardPageLoad opens a user dashboard of 12 saved graphs in
// headless Chromium and reports, per load: the time from navigation to
// the first chart drawn and to the last (the page's performance marks),
// and the CPU this process (the server) spent meanwhile. Each graph reads
// its own series of 1-minute data (a day, or a week for /week).
//
//	go test ./ui -run '^$' -bench BoardPageLoad -benchtime 5x
func BenchmarkBoardPageLoad(b *testing.B) {
	for _, days := range []int64{1, 7} {
		b.Run(fmt.Sprintf("days=%d", days), func(b *testing.B) { benchBoardLoad(b, days) })
	}
}

func benchBoardLoad(b *testing.B, days int64) {
	exe := chromiumPath(b)
	tab := newFixtureStore(b)
	rows := days * 1440
	for i := range 12 {
		tab.add(fmt.Sprintf("bench.s%02d", i), []string{"value"}, 60, testNow-rows*60, rows, func(_ int, t int64) float64 {
			return float64(i+1) * (2 + math.Sin(float64(t)/3600))
		})
	}
	ts := newTestServer(b, tab)
	u, err := ts.meta.EnsureUser(b.Context(), meta.User{Handle: "local", Issuer: "test", Subject: "local"})
	if err != nil {
		b.Fatal(err)
	}
	def := boardDef{From: fmt.Sprintf("-%dd", days), To: "now", Columns: 3}
	for i := range 12 {
		spec := &graph.Spec{Title: fmt.Sprintf("series %d", i),
			Defs: []graph.Def{{Kind: "DEF", Name: "v", Series: fmt.Sprintf("bench.s%02d", i), DS: "value", CF: "AVERAGE"},
				{Kind: "VDEF", Name: "vmax", Expr: "v,MAXIMUM"}},
			Items: []graph.Item{{Type: "LINE", Width: 1, Vname: "v", Color: "#336699", Legend: "value"},
				{Type: "GPRINT", Vname: "vmax", Format: "max %6.2lf %s"}}}
		js, _ := json.Marshal(spec)
		g, err := ts.meta.CreateGraph(b.Context(), u, spec.Title, string(js))
		if err != nil {
			b.Fatal(err)
		}
		def.Panels = append(def.Panels, boardPanel{Graph: g.ID})
	}
	js, _ := json.Marshal(def)
	d, err := ts.meta.CreateDashboard(b.Context(), u, "bench", string(js))
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(ts.srv.Handler())
	defer hs.Close()
	ctx, cancel := newBrowser(b, exe)
	defer cancel()
	// One load to warm the browser's cache of the scripts, as a returning user.
	if err := chromedp.Do(ctx, chromedp.Navigate(hs.URL+"/d/"+d.ID), chromedp.WaitVisible(`#chart-p11[data-drawn="1"]`)); err != nil {
		b.Fatal(err)
	}
	var first, last, cpu time.Duration
	b.ResetTimer()
	for range b.N {
		before := cpuTime()
		if err := chromedp.Do(ctx, chromedp.Navigate(hs.URL+"/d/"+d.ID+"?n="+fmt.Sprint(time.Now().UnixNano()))); err != nil {
			b.Fatal(err)
		}
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll('.chart[data-drawn="1"]').length === 12`, chromedp.WithPollingTimeout(60*time.Second))); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - before
		var marks [2]float64
		res, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const m = performance.getEntriesByType("mark").filter(x => x.name.startsWith("chart-drawn:")).map(x => x.startTime); return JSON.stringify([Math.min(...m), Math.max(...m)]); })()`))
		if err != nil {
			b.Fatal(err)
		}
		if err := json.Unmarshal([]byte(res), &marks); err != nil {
			b.Fatal(err)
		}
		first += time.Duration(marks[0] * float64(time.Millisecond))
		last += time.Duration(marks[1] * float64(time.Millisecond))
	}
	n := float64(b.N)
	b.ReportMetric(float64(first.Milliseconds())/n, "ms-first-chart")
	b.ReportMetric(float64(last.Milliseconds())/n, "ms-all-12-charts")
	b.ReportMetric(float64(cpu.Milliseconds())/n, "ms-server-cpu")
}
