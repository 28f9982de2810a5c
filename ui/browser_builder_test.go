package ui

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserBuilderFirstView: the empty builder says what to do (no
// "✓ valid"), previews an example from the store that one click takes,
// offers the series as a tree by name segments and by tag before any
// typing, and reports a bad line once, by line and column.
func TestBrowserBuilderFirstView(t *testing.T) {
	exe := chromiumPath(t)
	ts := newTestServer(t, nil) // trace logs and tagged series
	hs := httptest.NewServer(ts.srv.Handler())
	defer hs.Close()
	ctx, cancel := newBrowser(t, exe)
	defer cancel()
	errs := consoleErrors(t, ctx)

	do(t, ctx, "empty builder",
		chromedp.Navigate(hs.URL+"/metrics?tz=UTC"),
		chromedp.WaitVisible("#empty-guide"),
		chromedp.WaitVisible("#use-example"),
		chromedp.WaitVisible(`#chart-preview[data-drawn="1"]`),
	)
	if v := get(t, ctx, "validation", chromedp.Text("#validation")); strings.Contains(v, "valid") || !strings.Contains(v, "Pick a series") || !strings.Contains(v, "DEF:v=tracelog.web1:requests:AVERAGE") {
		t.Errorf("empty state: %q", v)
	}
	if ink := get(t, ctx, "ink", chromedp.Evaluate[int](canvasInk("#chart-preview"))); ink < 1000 {
		t.Errorf("the example preview looks blank: %d inked pixels", ink)
	}
	shotSizes(t, ctx, hs.URL+"/metrics?tz=UTC", `#chart-preview[data-drawn="1"]`, "builder-empty")

	// The tree, before typing anything: tracelog ▸ web1 ▸ requests.
	do(t, ctx, "tree",
		chromedp.WaitVisible(`#series-tree button[data-id="tracelog"]`),
		chromedp.Click(`#series-tree button[data-id="tracelog"]`),
		chromedp.WaitVisible(`#series-tree button[data-id="tracelog.web1"]`),
		chromedp.Click(`#series-tree button[data-id="tracelog.web1"]`),
		chromedp.WaitVisible(`#series-tree button[data-id="tracelog.web1.requests"]`),
		chromedp.Click(`#series-tree button[data-id="tracelog.web1.requests"]`),
		chromedp.WaitVisible(`#series-info button.add-def[data-ds="requests"]`),
	)
	if h := get(t, ctx, "info", chromedp.Text("#series-info h3")); h != "tracelog.web1" {
		t.Errorf("a leaf of the tree shows series %q", h)
	}
	// Tags: host ▸ a searches host=a.
	do(t, ctx, "tags",
		chromedp.WaitVisible("#tags-section"),
		chromedp.Click("#tags-section summary"),
		chromedp.Click(`//ul[@id="tag-tree"]//button[contains(., "host")]`),
		chromedp.Click(`//ul[@id="tag-tree"]//button[starts-with(., "a (")]`),
		chromedp.WaitVisible(`#series-results button.series`),
	)
	if r := get(t, ctx, "results", chromedp.Text("#series-results")); !strings.Contains(r, "app.cpu;host=a;dc=x") || strings.Contains(r, "host=b") {
		t.Errorf("tag value host=a found %q", r)
	}

	// The example, taken: valid.
	do(t, ctx, "use example", chromedp.Click("#use-example"), chromedp.WaitVisible(".validation.ok"))

	// One bad line, reported once: by line and column, no argument index.
	tests := []struct {
		lines, want, caret string
	}{
		{"DEF:a=tracelog.web1:requests:AVERAGE\n\nCDEF:b=a,+\nLINE1:b#123456:x", "line 3:10: stack underflow (token 2 ‘+’)", "CDEF:b=a,+\n         ^"},
		{"DEF:a=tracelog.web1:requests:AVERAGE\nLINE1:zz#123456:x", `line 2: unknown name "zz"`, "LINE1:zz#123456:x"},
		{"DEF:a=tracelog.web1:requests:AVERAGE\nLINE1:a#12345:x", "line 2: invalid color", "LINE1:a#12345:x"},
	}
	for _, tt := range tests {
		do(t, ctx, "bad line",
			// The last message goes, so the wait is for this one.
			chromedp.Evaluate[chromedp.Void](`document.querySelector("#validation").replaceChildren()`),
			chromedp.SetValue("#spec-lines", tt.lines),
			chromedp.SendKeys("#spec-lines", " "),
			chromedp.WaitVisible("#validation-message"),
		)
		msg := get(t, ctx, "message", chromedp.Text("#validation-message"))
		if !strings.HasPrefix(msg, tt.want) || strings.Contains(msg, "argument") || strings.Count(msg, "line ") != 1 {
			t.Errorf("%q: message %q, want one %q", tt.lines, msg, tt.want)
		}
		if l := get(t, ctx, "bad line", chromedp.Text("#validation pre.bad-line")); strings.TrimRight(l, " \n") != tt.caret {
			t.Errorf("%q: shown line %q, want %q", tt.lines, l, tt.caret)
		}
	}
	screenshot(t, ctx, "builder-error.png", true)
	if e := errs(); len(e) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(e, "\n"))
	}
}
