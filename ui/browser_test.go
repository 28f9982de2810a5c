package ui

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium. With CI=true a missing browser or
// missing embedded echarts is a failure, otherwise the test is skipped.
func chromiumPath(t testing.TB) string {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	if _, err := embedded.Open("assets/echarts.min.js"); err != nil {
		missing("ui/assets/echarts.min.js is not embedded (run make): %v", err)
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	missing("chromium not installed (apt-get install -y chromium)")
	return ""
}

// newBrowser starts a fresh headless chromium with its own profile.
func newBrowser(t testing.TB, exe string) (context.Context, context.CancelFunc) {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true), // screenshots without a scrollbar gap
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	// A bound on a hung browser, not a speed check: alone, the longest
	// session (TestBrowserBoards) takes ~25 s; inside make test, with every
	// package running beside it on 2 cores, one took over 90 s.
	ctx, cancelTimeout := context.WithTimeout(ctx, 240*time.Second)
	return ctx, func() { cancelTimeout(); cancelCtx(); cancelAlloc() }
}

// canvasInk counts drawn (non-white, non-transparent) pixels of the
// chart's canvas.
func canvasInk(sel string) string {
	return fmt.Sprintf(`(() => {
		const c = document.querySelector(%q + " canvas");
		if (!c) return -1;
		const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
		let n = 0;
		for (let i = 0; i < d.length; i += 4) {
			if (d[i+3] > 0 && (d[i] < 240 || d[i+1] < 240 || d[i+2] < 240)) n++;
		}
		return n;
	})()`, sel)
}

// seriesData returns the first series' data of a chart as JSON.
func seriesData(sel string) string {
	return fmt.Sprintf(`JSON.stringify(echarts.getInstanceByDom(document.querySelector(%q)).getOption().series[0].data)`, sel)
}

func screenshot(t *testing.T, ctx context.Context, name string, keep bool) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(t.TempDir(), name), png, 0o644); err != nil {
		t.Fatal(err)
	}
	if keep {
		// One copy for people to look at (see docs/notes-web.md).
		if err := os.MkdirAll("/tmp/rrdash-shots", 0o755); err == nil {
			_ = os.WriteFile(filepath.Join("/tmp/rrdash-shots", name), png, 0o644)
		}
	}
}

// get runs one value-returning action.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func TestBrowser(t *testing.T) {
	exe := chromiumPath(t)
	ts := newTestServer(t, browserStore(t))
	hs := httptest.NewServer(ts.srv.Handler())
	defer hs.Close()
	if !strings.HasPrefix(hs.URL, "http://127.0.0.1:") {
		t.Fatalf("test server not on loopback: %s", hs.URL)
	}

	ctx, cancel := newBrowser(t, exe)
	defer cancel()

	// 1. Dashboards draw.
	do(t, ctx, "dashboard",
		chromedp.Navigate(hs.URL+"/"),
		chromedp.WaitVisible(`#chart-rate[data-drawn="1"]`),
		chromedp.WaitVisible(`#chart-response[data-drawn="1"]`),
		chromedp.Sleep(300*time.Millisecond), // let echarts finish its frame
	)
	if ink := get(t, ctx, "ink", chromedp.Evaluate[int](canvasInk("#chart-rate"))); ink < 1000 {
		t.Errorf("dashboard rate chart looks blank: %d inked pixels", ink)
	}
	legend := get(t, ctx, "legend", chromedp.Text("#legend-rate"))
	user := get(t, ctx, "user", chromedp.Text("#current-user"))
	if !strings.Contains(legend, "requests/s") || !strings.Contains(user, "local") {
		t.Errorf("legend %q, user %q", legend, user)
	}
	screenshot(t, ctx, "dashboards.png", true)

	// 2. Build a graph: an invalid CDEF shows rpn's error and position,
	// then a valid one previews and saves.
	do(t, ctx, "builder",
		chromedp.Navigate(hs.URL+"/metrics"),
		chromedp.WaitVisible("#spec-lines"),
		chromedp.SendKeys("#series-q", "tracelog.w"),
		chromedp.WaitVisible(`#series-results button.series`),
		chromedp.Click(`#series-results button.series`),
		chromedp.WaitVisible(`#series-info button.add-def[data-ds="requests"]`),
		chromedp.Click(`#series-info button.add-def[data-ds="requests"]`),
		chromedp.WaitVisible(".validation.ok"),
		chromedp.SendKeys("#spec-lines", "\nCDEF:bad=requests,+"),
		chromedp.WaitVisible("#validation-message"),
	)
	if msg := get(t, ctx, "validation", chromedp.Text("#validation")); !strings.Contains(msg, "token 2") || !strings.Contains(msg, "+") {
		t.Errorf("validation message %q lacks the token position", msg)
	}
	do(t, ctx, "builder preview",
		chromedp.SetValue("#spec-lines", "DEF:req=tracelog.web1:requests:AVERAGE\nCDEF:rpm=req,60,*\nVDEF:peak=rpm,MAXIMUM\nAREA:rpm#4e79a7:requests per minute\\l\nGPRINT:peak:peak %6.2lf %s\nCOMMENT:note"),
		chromedp.SendKeys("#spec-title", "Web1 <rpm> & more"),
		chromedp.WaitVisible(".validation.ok"),
		chromedp.WaitVisible(`#chart-preview[data-drawn="1"]`),
		chromedp.Sleep(300*time.Millisecond),
	)
	screenshot(t, ctx, "metrics.png", true)
	do(t, ctx, "save",
		chromedp.Click("#save-graph"),
		chromedp.WaitVisible(`#chart-main[data-drawn="1"]`),
	)
	title := get(t, ctx, "title", chromedp.Text("#graph-title"))
	share := get(t, ctx, "share", chromedp.Value("#share-url"))
	if title != "Web1 <rpm> & more" {
		t.Errorf("saved title %q", title)
	}
	u, err := url.Parse(share)
	if err != nil || !strings.HasPrefix(u.Path, "/g/") || u.Query().Get("from") == "" || strings.HasPrefix(u.Query().Get("from"), "-") {
		t.Fatalf("share URL %q is not an absolute-range /g/ link", share)
	}
	savedData := get(t, ctx, "data", chromedp.Evaluate[string](seriesData("#chart-main")))
	savedLegend := get(t, ctx, "legend", chromedp.Text("#legend-main"))
	// The legend's lines are graph's layout's (rrdtool's): the AREA ends its
	// line with \l; the GPRINT and the COMMENT share the next.
	rows := get(t, ctx, "legend rows", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#legend-main .legend-row")).map(r => r.textContent)`))
	if len(rows) != 2 || !strings.Contains(rows[0], "requests per minute") || !strings.Contains(rows[1], "peak") || !strings.Contains(rows[1], "note") {
		t.Errorf("legend rows %q, want [requests per minute] [peak … note]", rows)
	}
	screenshot(t, ctx, "graph.png", false)

	// 3. The share link in a fresh browser shows the same data.
	ctx2, cancel2 := newBrowser(t, exe)
	defer cancel2()
	do(t, ctx2, "shared link",
		chromedp.Navigate(share),
		chromedp.WaitVisible(`#chart-main[data-drawn="1"]`),
		chromedp.Sleep(300*time.Millisecond),
	)
	sharedData := get(t, ctx2, "data", chromedp.Evaluate[string](seriesData("#chart-main")))
	sharedLegend := get(t, ctx2, "legend", chromedp.Text("#legend-main"))
	sharedTitle := get(t, ctx2, "title", chromedp.Text("#graph-title"))
	if sharedData != savedData || sharedLegend != savedLegend || sharedTitle != title {
		t.Errorf("shared view differs:\n data %.200s\n vs  %.200s\n legend %q vs %q", sharedData, savedData, sharedLegend, savedLegend)
	}
	if len(sharedData) < 100 || !strings.Contains(sharedLegend, "peak") {
		t.Errorf("shared view has little data: %.200s / %q", sharedData, sharedLegend)
	}
	if ink := get(t, ctx2, "ink", chromedp.Evaluate[int](canvasInk("#chart-main"))); ink < 1000 {
		t.Errorf("shared chart looks blank: %d inked pixels", ink)
	}
	screenshot(t, ctx2, "shared.png", false)
}

// TestBrowserLogin signs in through the real provider's pages in
// chromium, works under the Content-Security-Policy (nonced scripts, no
// inline styles: any violation fails the test), saves a graph (app.js
// sends the CSRF token), creates an API token, and signs out at the
// provider too.
func TestBrowserLogin(t *testing.T) {
	exe := chromiumPath(t)
	env := newLoginEnv(t, browserStore(t))
	ctx, cancel := newBrowser(t, exe)
	defer cancel()

	var mu sync.Mutex
	var violations []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*cdplog.EventEntryAdded); ok && strings.Contains(e.Entry.Text, "Content Security Policy") &&
			strings.HasPrefix(e.Entry.URL, env.url) {
			mu.Lock()
			violations = append(violations, e.Entry.Text)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	issuer := env.srv.login.providerOrigin

	// An anonymous visit goes to the provider's login form, then consent.
	do(t, ctx, "provider login",
		chromedp.Navigate(env.url+"/graphs"),
		chromedp.WaitVisible(`input[name="login"]`),
	)
	if loc := get(t, ctx, "location", chromedp.Location()); !strings.HasPrefix(loc, issuer) {
		t.Fatalf("anonymous /graphs went to %s, want the provider", loc)
	}
	do(t, ctx, "sign in",
		chromedp.SendKeys(`input[name="login"]`, "alice"),
		chromedp.SendKeys(`input[name="password"]`, "any password"),
		chromedp.Click(`button[type="submit"]`),
		chromedp.WaitReady(`input[name="prompt"][value="consent"]`),
	)
	screenshot(t, ctx, "login-consent.png", false)
	do(t, ctx, "consent",
		chromedp.Click(`button[type="submit"]`),
		chromedp.WaitVisible(`#graph-search`),
	)
	if loc := get(t, ctx, "location", chromedp.Location()); loc != env.url+"/graphs" {
		t.Errorf("after login: %s, want the page first asked for", loc)
	}
	if user := get(t, ctx, "user", chromedp.Text("#current-user")); !strings.Contains(user, "alice") || strings.Contains(user, "single-user") {
		t.Errorf("signed in as %q", user)
	}

	// Dashboards draw with nonced scripts; hovering shows a tooltip.
	do(t, ctx, "dashboard",
		chromedp.Navigate(env.url+"/"),
		chromedp.WaitVisible(`#chart-rate[data-drawn="1"]`),
		chromedp.Sleep(300*time.Millisecond),
	)
	if ink := get(t, ctx, "ink", chromedp.Evaluate[int](canvasInk("#chart-rate"))); ink < 1000 {
		t.Errorf("dashboard chart under the CSP looks blank: %d inked pixels", ink)
	}
	// The axis tooltip (echarts' HTML tooltips would break the CSP).
	do(t, ctx, "tooltip",
		chromedp.Evaluate[chromedp.Void](`(() => { const c = echarts.getInstanceByDom(document.querySelector("#chart-rate")); c.dispatchAction({type: "showTip", x: 300, y: 80}); })()`),
		chromedp.Sleep(500*time.Millisecond),
	)
	screenshot(t, ctx, "login-dashboards.png", true)

	// Save a graph from the builder: a write with the CSRF header.
	do(t, ctx, "builder save",
		chromedp.Navigate(env.url+"/metrics"),
		chromedp.WaitVisible("#spec-lines"),
		chromedp.SetValue("#spec-lines", "DEF:req=tracelog.web1:requests:AVERAGE\nLINE2:req#4e79a7:requests/s"),
		chromedp.SendKeys("#spec-title", "alice in chromium"),
		chromedp.WaitVisible(".validation.ok"),
		chromedp.Click("#save-graph"),
		chromedp.WaitVisible(`#chart-main[data-drawn="1"]`),
	)
	if title := get(t, ctx, "title", chromedp.Text("#graph-title")); title != "alice in chromium" {
		t.Errorf("saved graph title %q", title)
	}

	// An API token, shown once.
	do(t, ctx, "token",
		chromedp.Navigate(env.url+"/settings/tokens"),
		chromedp.WaitVisible("#token-name"),
		chromedp.SendKeys("#token-name", "chromium test"),
		chromedp.Click("#token-create"),
		chromedp.WaitVisible("#token-value"),
		chromedp.WaitVisible(`#token-list tbody tr`),
	)
	if tok := get(t, ctx, "token", chromedp.Value("#token-value")); !strings.HasPrefix(tok, "rrd_") {
		t.Errorf("token shown: %q", tok)
	}
	if row := get(t, ctx, "token row", chromedp.Text(`#token-list tbody tr:first-child`)); !strings.Contains(row, "push") {
		t.Errorf("the page's default scope is not push: %q", row)
	}
	// A read token, chosen in the scope selector.
	do(t, ctx, "read token",
		chromedp.SendKeys("#token-name", "grafana"),
		chromedp.SetValue("#token-scope", "read"),
		chromedp.Click("#token-create"),
		chromedp.WaitVisible(`#token-list tbody tr:nth-child(2)`),
	)
	if row := get(t, ctx, "token row", chromedp.Text(`#token-list tbody tr:first-child`)); !strings.Contains(row, "grafana") || !strings.Contains(row, "read") {
		t.Errorf("read token row: %q", row)
	}
	screenshot(t, ctx, "tokens.png", true)

	// Sign out: rrdash, then the provider (its confirmation page), then
	// back to /logged-out; the next visit needs a login again.
	do(t, ctx, "sign out",
		chromedp.Click("#logout"),
		chromedp.WaitVisible(`button[name="logout"]`),
		chromedp.Click(`button[name="logout"]`),
		chromedp.WaitVisible("#error-message"),
	)
	if msg := get(t, ctx, "signed out", chromedp.Text("#error-message")); !strings.Contains(msg, "signed out") {
		t.Errorf("after logout: %q", msg)
	}
	do(t, ctx, "after logout",
		chromedp.Navigate(env.url+"/graphs"),
		chromedp.WaitVisible(`input[name="login"]`),
	)
	mu.Lock()
	defer mu.Unlock()
	if len(violations) > 0 {
		t.Errorf("Content-Security-Policy violations:\n%s", strings.Join(violations, "\n"))
	}
}
