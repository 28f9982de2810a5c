package ui

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// activeRanges returns the data-from of every highlighted range button.
const activeRanges = `Array.from(document.querySelectorAll("#rangepicker button.range.active")).map(b => b.dataset.from).join(",")`

// TestBrowserRangeHighlight: the range button of the page's range is
// highlighted on load (the default, and one from the URL) and follows a
// click, which also puts the range in the URL.
func TestBrowserRangeHighlight(t *testing.T) {
	exe := chromiumPath(t)
	ts := newTestServer(t, browserStore(t))
	hs := httptest.NewServer(ts.srv.Handler())
	defer hs.Close()
	ctx, cancel := newBrowser(t, exe)
	defer cancel()

	tests := []struct {
		name, path, want string
	}{
		{"dashboard default", "/", "-1d"},
		{"dashboard from URL", "/?from=-6h&to=now", "-6h"},
		{"now- form", "/?from=now-1w", "-1w"},
		{"custom range: none", "/?from=1699990000&to=1700000000", ""},
		{"builder", "/metrics?from=-1h", "-1h"},
	}
	for _, tt := range tests {
		do(t, ctx, tt.name, chromedp.Navigate(hs.URL+tt.path), chromedp.WaitVisible("#rangepicker button.range"))
		if got := get(t, ctx, tt.name, chromedp.Evaluate[string](activeRanges)); got != tt.want {
			t.Errorf("%s: highlighted %q, want %q", tt.name, got, tt.want)
		}
	}

	do(t, ctx, "load", chromedp.Navigate(hs.URL+"/"), chromedp.WaitVisible(`#chart-rate[data-drawn="1"]`))
	for _, r := range []string{"-1w", "-1h", "-1y"} {
		do(t, ctx, "click "+r, chromedp.Click(`#rangepicker button.range[data-from="`+r+`"]`))
		if got := get(t, ctx, "active", chromedp.Evaluate[string](activeRanges)); got != r {
			t.Errorf("after clicking %s: highlighted %q", r, got)
		}
		loc := get(t, ctx, "location", chromedp.Location())
		if u, err := url.Parse(loc); err != nil || u.Query().Get("from") != r {
			t.Errorf("after clicking %s: URL %s", r, loc)
		}
	}
	// The highlight is visible: its background differs from the others'.
	bg := get(t, ctx, "colours", chromedp.Evaluate[string](`Array.from(document.querySelectorAll("#rangepicker button.range")).map(b => getComputedStyle(b).backgroundColor).join("|")`))
	if colours := strings.Split(bg, "|"); len(colours) < 2 || colours[len(colours)-1] == colours[0] {
		t.Errorf("the highlighted button looks like the others: %s", bg)
	}
	shotSizes(t, ctx, hs.URL+"/?from=-6h", `#chart-rate[data-drawn="1"]`, "range-dashboards")
}

// shotSizes screenshots a page at the desktop (1400×1000) and phone
// (390×844) sizes, kept in /tmp/rrdash-shots for people to look at.
func shotSizes(t *testing.T, ctx context.Context, pageURL, ready, name string) {
	t.Helper()
	for _, sz := range []struct {
		w, h int64
		tag  string
	}{{1400, 1000, "desktop"}, {390, 844, "phone"}} {
		do(t, ctx, name+" "+sz.tag,
			chromedp.EmulateViewport(sz.w, sz.h),
			chromedp.Navigate(pageURL),
			chromedp.WaitVisible(ready),
		)
		screenshot(t, ctx, name+"-"+sz.tag+".png", true)
	}
	do(t, ctx, "reset viewport", chromedp.EmulateViewport(1400, 1000))
}
