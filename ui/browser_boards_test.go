package ui

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	cdplog "github.com/chromedp/cdproto/log"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"rrdash/graph"
)

// consoleErrors collects the page's console errors and exceptions.
func consoleErrors(t *testing.T, ctx context.Context) func() []string {
	t.Helper()
	var mu sync.Mutex
	var errs []string
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError {
				errs = append(errs, e.Entry.Text+" "+e.Entry.URL)
			}
		case *cdpruntime.EventExceptionThrown:
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			errs = append(errs, msg)
		}
	}); err != nil {
		t.Fatal(err)
	}
	return func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), errs...) }
}

// TestBrowserBoards: a dashboard made in the edit form from two saved
// graphs opens at its own range in its own zone, in its grid (the first
// panel two columns wide), and an edit removes a panel.
func TestBrowserBoards(t *testing.T) {
	exe := chromiumPath(t)
	ts := newTestServer(t, browserStore(t))
	hs := httptest.NewServer(ts.srv.Handler())
	defer hs.Close()
	ctx, cancel := newBrowser(t, exe)
	defer cancel()
	errs := consoleErrors(t, ctx)
	g1, g2 := saveGraph(t, ts, "", "web1 requests"), saveGraph(t, ts, "", "web1 again")

	do(t, ctx, "new dashboard",
		chromedp.Navigate(hs.URL+"/dashboards"),
		chromedp.Click("#new-board"),
		chromedp.WaitVisible("#board-form"),
		chromedp.SendKeys("#board-title-input", "Web <tier>"),
		chromedp.SendKeys("#board-from", "-6h"),
		chromedp.SetValue("#board-tz", "Asia/Tokyo"),
		chromedp.SetValue("#board-add-graph", g1.ID),
		chromedp.Click("#board-add"),
		chromedp.SetValue("#board-add-graph", g2.ID),
		chromedp.Click("#board-add"),
		chromedp.SetValue(`#board-panels li:first-child .panel-span`, "2"),
		chromedp.Click("#board-save"),
		chromedp.WaitVisible(`#chart-p0[data-drawn="1"]`),
		chromedp.WaitVisible(`#chart-p1[data-drawn="1"]`),
	)
	if title := get(t, ctx, "title", chromedp.Text("#board-title")); title != "Web <tier>" {
		t.Errorf("dashboard title %q", title)
	}
	probe := `JSON.stringify({
		axis: echarts.getInstanceByDom(document.querySelector("#chart-p1")).getOption().xAxis[0].name,
		active: Array.from(document.querySelectorAll("#rangepicker button.range.active")).map(b => b.dataset.from).join(","),
	})`
	got := get(t, ctx, "probe", chromedp.Evaluate[string](probe))
	if !strings.Contains(got, `"axis":"UTC+09:00"`) || !strings.Contains(got, `"active":"-6h"`) {
		t.Errorf("dashboard not in its zone or range: %s", got)
	}
	w0 := get(t, ctx, "w0", chromedp.Evaluate[float64](`document.querySelector("#chart-p0").getBoundingClientRect().width`))
	w1 := get(t, ctx, "w1", chromedp.Evaluate[float64](`document.querySelector("#chart-p1").getBoundingClientRect().width`))
	if w0 < 1.8*w1 {
		t.Errorf("the two-column panel is %.0f px wide, the other %.0f px", w0, w1)
	}
	if ink := get(t, ctx, "ink", chromedp.Evaluate[int](canvasInk("#chart-p1"))); ink < 1000 {
		t.Errorf("panel looks blank: %d inked pixels", ink)
	}
	loc := get(t, ctx, "location", chromedp.Location())
	// The URL's zone wins over the dashboard's.
	do(t, ctx, "utc", chromedp.Navigate(loc+"?tz=UTC"), chromedp.WaitVisible(`#chart-p1[data-drawn="1"]`))
	if axis := get(t, ctx, "axis", chromedp.Evaluate[string](`echarts.getInstanceByDom(document.querySelector("#chart-p1")).getOption().xAxis[0].name`)); axis != "UTC" {
		t.Errorf("tz=UTC in the URL: axis %q", axis)
	}
	shotSizes(t, ctx, loc, `#chart-p1[data-drawn="1"]`, "board")
	do(t, ctx, "phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(loc), chromedp.WaitVisible(`#chart-p1[data-drawn="1"]`))
	if w := get(t, ctx, "width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 390 {
		t.Errorf("dashboard on a phone is %d px wide", w)
	}
	do(t, ctx, "desktop", chromedp.EmulateViewport(1400, 1000))

	// Edit: remove the second panel.
	do(t, ctx, "edit",
		chromedp.Navigate(loc),
		chromedp.WaitVisible("#edit-board"),
		chromedp.Click("#edit-board"),
		chromedp.WaitVisible(`#board-panels li:nth-child(2)`),
		chromedp.Click(`#board-panels li:nth-child(2) .panel-remove`),
		chromedp.Click("#board-save"),
		chromedp.WaitVisible(`#chart-p0[data-drawn="1"]`),
	)
	if n := get(t, ctx, "panels", chromedp.Evaluate[int](`document.querySelectorAll("#board-grid .panel").length`)); n != 1 {
		t.Errorf("after removing one of two panels: %d", n)
	}
	if e := errs(); len(e) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(e, "\n"))
	}
}

// TestBrowserBoardVariables: a dashboard with $host from tracelog.*
// renders every panel for web1, then for web2 when chosen (the URL
// follows), with different data.
func TestBrowserBoardVariables(t *testing.T) {
	exe := chromiumPath(t)
	ts := newTestServer(t, browserStore(t))
	hs := httptest.NewServer(ts.srv.Handler())
	defer hs.Close()
	ctx, cancel := newBrowser(t, exe)
	defer cancel()
	errs := consoleErrors(t, ctx)

	var panels []boardPanel
	for _, ds := range []string{"requests", "backlog"} {
		spec := &graph.Spec{Title: ds + " of $host",
			Defs:  []graph.Def{{Kind: "DEF", Name: "v", Series: "tracelog.$host", DS: ds, CF: "AVERAGE"}},
			Items: []graph.Item{{Type: "LINE", Width: 1, Vname: "v", Color: "#336699", Legend: ds}}}
		r := ts.do(t, "POST", "/api/v1/graphs", "", graphBody{Title: spec.Title, Spec: spec})
		if r.code != 201 {
			t.Fatalf("graph: %d %s", r.code, r.body)
		}
		panels = append(panels, boardPanel{Graph: decode[graphJSON](t, r).ID})
	}
	r := ts.do(t, "POST", "/api/v1/dashboards", "", boardBody{Title: "per host", Definition: boardDef{From: "-6h",
		Variables: []boardVar{{Name: "host", Glob: "tracelog.*"}}, Panels: panels}})
	if r.code != 201 {
		t.Fatalf("dashboard: %d %s", r.code, r.body)
	}
	b := decode[boardJSON](t, r)
	data := map[string][2]string{}
	for _, host := range []string{"web1", "web2"} {
		if host == "web1" {
			do(t, ctx, "open", chromedp.Navigate(hs.URL+"/d/"+b.ID+"?tz=UTC"), chromedp.WaitVisible(`#chart-p1[data-drawn="1"]`))
		} else {
			do(t, ctx, "choose "+host,
				chromedp.Evaluate[chromedp.Void](`document.querySelectorAll(".chart").forEach(e => e.dataset.drawn = "")`),
				chromedp.SetValue("#var-host", host),
				chromedp.Evaluate[chromedp.Void](`document.querySelector("#var-host").dispatchEvent(new Event("change"))`),
				chromedp.WaitVisible(`#chart-p0[data-drawn="1"]`),
				chromedp.WaitVisible(`#chart-p1[data-drawn="1"]`),
			)
			if loc := get(t, ctx, "location", chromedp.Location()); !strings.Contains(loc, "var-host="+host) {
				t.Errorf("URL %s lacks var-host=%s", loc, host)
			}
		}
		data[host] = [2]string{get(t, ctx, "p0", chromedp.Evaluate[string](seriesData("#chart-p0"))), get(t, ctx, "p1", chromedp.Evaluate[string](seriesData("#chart-p1")))}
		for i, d := range data[host] {
			if len(d) < 100 {
				t.Errorf("%s: panel %d has little data: %.100s", host, i, d)
			}
		}
	}
	if data["web1"][0] == data["web2"][0] || data["web1"][1] == data["web2"][1] {
		t.Errorf("web1 and web2 panels show the same data")
	}
	screenshot(t, ctx, "board-variables.png", true)
	// Back: web1 again, chooser and panels.
	do(t, ctx, "back",
		chromedp.Evaluate[chromedp.Void](`document.querySelectorAll(".chart").forEach(e => e.dataset.drawn = "")`),
		chromedp.Evaluate[chromedp.Void](`history.back()`),
		chromedp.WaitVisible(`#chart-p0[data-drawn="1"]`),
	)
	if v := get(t, ctx, "chooser", chromedp.Value("#var-host")); v != "web1" {
		t.Errorf("after Back the chooser says %q", v)
	}
	if d := get(t, ctx, "p0", chromedp.Evaluate[string](seriesData("#chart-p0"))); d != data["web1"][0] {
		t.Errorf("after Back panel 0 does not show web1 again")
	}
	if e := errs(); len(e) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(e, "\n"))
	}
}
