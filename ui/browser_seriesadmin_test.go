package ui

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserSeriesRenameDelete: in the builder's series panel, rename…
// and delete… each ask before they act (cancel changes nothing), then
// rename and delete the series in the store, with the page's CSRF token;
// the tree follows.
func TestBrowserSeriesRenameDelete(t *testing.T) {
	exe := chromiumPath(t)
	ts := newTestServer(t, nil)
	hs := httptest.NewServer(ts.srv.Handler())
	defer hs.Close()
	ctx, cancel := newBrowser(t, exe)
	defer cancel()
	errs := consoleErrors(t, ctx)
	names := func() []string {
		t.Helper()
		l, err := ts.store.List("")
		if err != nil {
			t.Fatal(err)
		}
		return l
	}

	do(t, ctx, "open tracelog.web2",
		chromedp.Navigate(hs.URL+"/metrics?tz=UTC"),
		chromedp.WaitVisible(`#series-tree button[data-id="tracelog"]`),
		chromedp.Click(`#series-tree button[data-id="tracelog"]`),
		chromedp.WaitVisible(`#series-tree button[data-id="tracelog.web2"]`),
		chromedp.Click(`#series-tree button[data-id="tracelog.web2"]`),
		chromedp.WaitVisible(`#series-tree button[data-id="tracelog.web2.requests"]`),
		chromedp.Click(`#series-tree button[data-id="tracelog.web2.requests"]`),
		chromedp.WaitVisible("#series-delete"),
		chromedp.WaitVisible("#series-rename"),
	)
	// delete…, then cancel: nothing happens
	do(t, ctx, "delete cancelled",
		chromedp.Click("#series-delete"),
		chromedp.WaitVisible("#series-confirm-text"),
	)
	if q := get(t, ctx, "question", chromedp.Text("#series-confirm-text")); q != "Delete tracelog.web2 and all its data for good?" {
		t.Errorf("delete asks %q", q)
	}
	do(t, ctx, "cancel", chromedp.Click("#series-confirm-cancel"), chromedp.WaitNotPresent("#series-confirm-text"))
	if !slices.Contains(names(), "tracelog.web2") {
		t.Fatal("a cancelled delete deleted")
	}

	// rename… to tracelog.web3, confirmed
	do(t, ctx, "rename",
		chromedp.Click("#series-rename"),
		chromedp.WaitVisible("#series-new-name"),
		chromedp.SetValue("#series-new-name", "tracelog.web3"),
		chromedp.Click("#series-rename-go"),
		chromedp.WaitVisible("#series-confirm-yes"),
	)
	if q := get(t, ctx, "question", chromedp.Text("#series-confirm-text")); q != "Rename tracelog.web2 to tracelog.web3?" {
		t.Errorf("rename asks %q", q)
	}
	if !slices.Contains(names(), "tracelog.web2") {
		t.Fatal("renamed before the confirmation")
	}
	do(t, ctx, "rename confirmed",
		chromedp.Click("#series-confirm-yes"),
		chromedp.WaitVisible(`//p[@id="series-manage-msg"][contains(., "renamed tracelog.web2 to tracelog.web3")]`),
	)
	if h := get(t, ctx, "info", chromedp.Text("#series-info h3")); h != "tracelog.web3" {
		t.Errorf("after the rename the panel shows %q", h)
	}
	if l := names(); slices.Contains(l, "tracelog.web2") || !slices.Contains(l, "tracelog.web3") {
		t.Fatalf("after the rename the store lists %q", l)
	}

	// delete… tracelog.web3, confirmed; the tree no longer has it
	do(t, ctx, "delete",
		chromedp.Click("#series-delete"),
		chromedp.WaitVisible("#series-confirm-yes"),
		chromedp.Click("#series-confirm-yes"),
		chromedp.WaitVisible(`//p[@id="series-manage-msg"][contains(., "deleted tracelog.web3")]`),
		chromedp.WaitVisible(`#series-tree button[data-id="tracelog"]`),
		chromedp.Click(`#series-tree button[data-id="tracelog"]`),
		chromedp.WaitVisible(`#series-tree button[data-id="tracelog.web1"]`),
	)
	if l := names(); slices.Contains(l, "tracelog.web3") {
		t.Fatalf("after the delete the store lists %q", l)
	}
	if tree := get(t, ctx, "tree", chromedp.Text("#series-tree")); strings.Contains(tree, "web3") || strings.Contains(tree, "web2") {
		t.Errorf("the tree still shows a changed series: %q", tree)
	}
	if e := errs(); len(e) > 0 {
		t.Errorf("console errors: %q", e)
	}
}
