package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chartRanges is every drawn chart's start and end (Unix seconds).
const chartRanges = `JSON.stringify(Array.from(document.querySelectorAll(".chart[data-drawn='1']")).map(e => [+e.dataset.start, +e.dataset.end]))`

// plotPoint is the page position of time ms (Unix milliseconds) on a
// chart's time axis, at mid-height of its plot.
func plotPoint(t *testing.T, ctx context.Context, sel string, ms int64) (float64, float64) {
	t.Helper()
	js := fmt.Sprintf(`(() => {
		const el = document.querySelector(%q);
		const c = echarts.getInstanceByDom(el);
		const r = el.getBoundingClientRect();
		return JSON.stringify([r.left + c.convertToPixel({xAxisIndex: 0}, %d), r.top + r.height / 2]);
	})()`, sel, ms)
	var p [2]float64
	if err := json.Unmarshal([]byte(get(t, ctx, "plot point", chromedp.Evaluate[string](js))), &p); err != nil {
		t.Fatal(err)
	}
	return p[0], p[1]
}

// dragAcross presses the left button at x0, moves to x1 in steps, releases.
func dragAcross(x0, x1, y float64) []chromedp.Action[chromedp.Void] {
	steps := []chromedp.Action[chromedp.Void]{chromedp.MouseEvent(chromedp.MouseMoved, x0, y),
		chromedp.MouseEvent(chromedp.MousePressed, x0, y, chromedp.ButtonLeft, chromedp.ClickCount(1))}
	for i := 1; i <= 5; i++ {
		steps = append(steps, chromedp.MouseEvent(chromedp.MouseMoved, x0+(x1-x0)*float64(i)/5, y, chromedp.ButtonLeft))
	}
	return append(steps, chromedp.MouseEvent(chromedp.MouseReleased, x1, y, chromedp.ButtonLeft, chromedp.ClickCount(1)))
}

// waitRanges waits until every chart of the page shows [from, to] within
// slack seconds (one step of the coarsest archive each way).
func waitRanges(t *testing.T, ctx context.Context, what string, n int, from, to int64) {
	t.Helper()
	const slack = 600
	pred := fmt.Sprintf(`(() => { const r = %s; const a = JSON.parse(r);
		return a.length === %d && a.every(x => Math.abs(x[0] - %d) <= %d && Math.abs(x[1] - %d) <= %d); })()`,
		chartRanges, n, from, slack, to, slack)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](pred, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("%s: charts show %s, want every one of %d at %d…%d: %v", what,
			get(t, ctx, "ranges", chromedp.Evaluate[string](chartRanges)), n, from, to, err)
	}
}

func urlRange(t *testing.T, ctx context.Context) (string, string) {
	t.Helper()
	u, err := url.Parse(get(t, ctx, "location", chromedp.Location()))
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("from"), u.Query().Get("to")
}

// TestBrowserDragZoom: dragging across a chart zooms every chart of the
// page to the selection, the URL follows, Back and Forward move between
// the ranges, "reset zoom" returns to the page's range and a double-click
// zooms out.
func TestBrowserDragZoom(t *testing.T) {
	exe := chromiumPath(t)
	ts := newTestServer(t, browserStore(t))
	hs := httptest.NewServer(ts.srv.Handler())
	defer hs.Close()
	ctx, cancel := newBrowser(t, exe)
	defer cancel()

	const from, to = testNow - 6*3600, testNow
	do(t, ctx, "dashboard",
		chromedp.Navigate(hs.URL+"/?tz=UTC&from="+strconv.Itoa(from)+"&to="+strconv.Itoa(to)),
		chromedp.WaitVisible(`#chart-response[data-drawn="1"]`),
	)
	waitRanges(t, ctx, "opened", 4, from, to)
	if hidden := get(t, ctx, "reset", chromedp.Evaluate[bool](`document.querySelector("#zoom-reset").hidden`)); !hidden {
		t.Errorf("reset zoom shown before any zoom")
	}

	// Drag from 2 h to 4 h into the range on the rate chart.
	z0, z1 := int64(from+2*3600), int64(from+4*3600)
	x0, y := plotPoint(t, ctx, "#chart-rate", z0*1000)
	x1, _ := plotPoint(t, ctx, "#chart-rate", z1*1000)
	do(t, ctx, "drag", dragAcross(x0, x1, y)...)
	waitRanges(t, ctx, "zoomed", 4, z0, z1)
	f, e := urlRange(t, ctx)
	fs, _ := strconv.ParseInt(f, 10, 64)
	es, _ := strconv.ParseInt(e, 10, 64)
	// One pixel is about 6 h / 500 px = 43 s.
	if fs < z0-120 || fs > z0+120 || es < z1-120 || es > z1+120 {
		t.Errorf("after the drag the URL says from=%s to=%s, want about %d…%d", f, e, z0, z1)
	}
	if hidden := get(t, ctx, "reset", chromedp.Evaluate[bool](`document.querySelector("#zoom-reset").hidden`)); hidden {
		t.Errorf("reset zoom hidden while zoomed")
	}
	// Zoomed into the past: auto-refresh is paused, and says so.
	if cls := get(t, ctx, "refresh", chromedp.Evaluate[string](`document.querySelector("#auto-refresh").parentElement.className`)); !strings.Contains(cls, "paused") {
		t.Errorf("auto-refresh label %q while zoomed into the past", cls)
	}
	screenshot(t, ctx, "zoomed.png", true)

	// Back: the range before; Forward: the zoom again.
	do(t, ctx, "back", chromedp.Evaluate[chromedp.Void](`history.back()`))
	waitRanges(t, ctx, "back", 4, from, to)
	if f, e := urlRange(t, ctx); f != strconv.Itoa(from) || e != strconv.Itoa(to) {
		t.Errorf("after Back the URL says from=%s to=%s", f, e)
	}
	do(t, ctx, "forward", chromedp.Evaluate[chromedp.Void](`history.forward()`))
	waitRanges(t, ctx, "forward", 4, z0, z1)

	// Reset: the page's range, as a new history entry.
	do(t, ctx, "reset", chromedp.Click("#zoom-reset"))
	waitRanges(t, ctx, "reset", 4, from, to)
	if f, _ := urlRange(t, ctx); f != strconv.Itoa(from) {
		t.Errorf("after reset the URL says from=%s", f)
	}

	// Double-click: twice as wide around the middle (the end capped at now,
	// which is past testNow here).
	xm, ym := plotPoint(t, ctx, "#chart-backlog", (from+3*3600)*1000)
	do(t, ctx, "double-click", chromedp.MouseClickXY(xm, ym, chromedp.ClickCount(2)))
	waitRanges(t, ctx, "zoomed out", 4, from-3*3600, to+3*3600)

	// A live range (ending now): auto-refresh runs.
	do(t, ctx, "live", chromedp.Navigate(hs.URL+"/?from=-6h&to=now"), chromedp.WaitVisible(`#chart-rate[data-drawn="1"]`))
	if cls := get(t, ctx, "refresh", chromedp.Evaluate[string](`document.querySelector("#auto-refresh").parentElement.className`)); strings.Contains(cls, "paused") {
		t.Errorf("auto-refresh paused on a live range: %q", cls)
	}
	xm, ym = plotPoint(t, ctx, "#chart-backlog", (to-3600)*1000)

	// A tiny drag (a click) does not zoom.
	before, _ := urlRange(t, ctx)
	do(t, ctx, "click", dragAcross(xm, xm+2, ym)...)
	time.Sleep(300 * time.Millisecond)
	if after, _ := urlRange(t, ctx); after != before {
		t.Errorf("a click zoomed: from %s → %s", before, after)
	}
}
