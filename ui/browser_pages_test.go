package ui

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/chromedp"
)

// TestBrowserEveryPageClean: every page, the new ones included, loads
// with zero console errors and zero Content-Security-Policy violations,
// and is no wider than a phone's screen (390 px); each is screenshot at
// the desktop and phone sizes.
func TestBrowserEveryPageClean(t *testing.T) {
	exe := chromiumPath(t)
	ts := newTestServer(t, browserStore(t))
	hs := httptest.NewServer(ts.srv.Handler())
	defer hs.Close()
	ctx, cancel := newBrowser(t, exe)
	defer cancel()
	errs := consoleErrors(t, ctx)
	var mu sync.Mutex
	var csp []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*cdplog.EventEntryAdded); ok && strings.Contains(e.Entry.Text, "Content Security Policy") {
			mu.Lock()
			csp = append(csp, e.Entry.Text)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	g := saveGraph(t, ts, "", "every page")
	r := ts.do(t, "POST", "/api/v1/dashboards", "", boardBody{Title: "every page", Definition: boardDef{From: "-6h", Panels: []boardPanel{{Graph: g.ID}, {Graph: g.ID}}}})
	if r.code != 201 {
		t.Fatalf("dashboard: %d %s", r.code, r.body)
	}
	b := decode[boardJSON](t, r)
	if r := ts.do(t, "POST", "/api/v1/annotations", "", map[string]any{"time": int64(testNow-3600) * 1000, "text": "mark"}); r.code != 201 {
		t.Fatalf("annotation: %d", r.code)
	}
	pages := []struct{ name, path, ready string }{
		{"tracelog", "/", `#chart-rate[data-drawn="1"]`},
		{"tracelog-web2", "/?instance=web2", `#chart-response[data-drawn="1"]`},
		{"boards", "/dashboards", "#board-list"},
		{"board", "/d/" + b.ID, `#chart-p1[data-drawn="1"]`},
		{"board-edit", "/d/" + b.ID + "/edit", `#board-panels li`},
		{"board-new", "/dashboards/new", "#board-form"},
		{"builder", "/metrics", `#chart-preview[data-drawn="1"]`},
		{"graph", "/g/" + g.ID, `#chart-main[data-drawn="1"]`},
		{"graphs", "/graphs", "#graph-search"},
		{"user", "/u/local", "#graph-search"},
		{"tokens", "/settings/tokens", "#token-name"},
		{"monitors", "/monitors", "main"},
	}
	for _, p := range pages {
		for _, sz := range []struct {
			w, h int64
			tag  string
		}{{1400, 1000, "desktop"}, {390, 844, "phone"}} {
			do(t, ctx, p.name+" "+sz.tag, chromedp.EmulateViewport(sz.w, sz.h), chromedp.Navigate(hs.URL+p.path), chromedp.WaitVisible(p.ready))
			screenshot(t, ctx, fmt.Sprintf("every-%s-%s.png", p.name, sz.tag), true)
			if sz.tag == "phone" {
				if w := get(t, ctx, "width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 390 {
					t.Errorf("%s on a phone is %d px wide", p.path, w)
				}
			}
		}
	}
	do(t, ctx, "reset viewport", chromedp.EmulateViewport(1400, 1000))
	if e := errs(); len(e) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(e, "\n"))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(csp) > 0 {
		t.Errorf("Content-Security-Policy violations:\n%s", strings.Join(csp, "\n"))
	}
}
