package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"rrdash/tools/testdeps"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"rrdash/ui"
)

// TestMonitorsBrowser creates a monitor with the form in headless
// chromium (app.js under the page's CSP), then checks its page: graphs
// drawn with the failed run as a marker, the output shown as text, and
// the edit form showing the secret masked.
func TestMonitorsBrowser(t *testing.T) {
	testdeps.Program(t, "python3")
	st := startMonitorStack(t, t.TempDir(), nil, nil)
	hs := httptest.NewServer(st.srv.Handler())
	defer hs.Close()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	if r := st.do(t, "GET", "/assets/echarts.min.js", "ana", nil); r.code != http.StatusOK {
		missing("echarts.min.js is not embedded (run make): %d", r.code)
	}
	exe := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			exe = p
			break
		}
	}
	if exe == "" {
		missing("chromium not installed (apt-get install -y chromium)")
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe), chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000))
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(actx)
	defer cancelCtx()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	step("create with the form",
		chromedp.Navigate(hs.URL+"/monitors/new"),
		chromedp.WaitVisible("#monitor-form"),
		chromedp.SendKeys("#mon-name", "browserfail"),
		chromedp.SetValue("#mon-source", fixture(t, "fail.py")),
		chromedp.SetValue("#mon-interval", "1h"),
		chromedp.SetValue("#mon-timeout", "20s"),
		chromedp.SetValue("#mon-thresholds", "latency_ms < 2000"),
		chromedp.Click("#mon-env-add"),
		chromedp.SendKeys(".env-row .env-name", "TOKEN"),
		chromedp.SendKeys(".env-row .env-value", "browser-secret-value"),
		chromedp.Click(".env-row .env-secret"),
		chromedp.Click("#mon-save"),
		chromedp.WaitVisible("#monitor-name"),
	)
	waitFor(t, "first run", func() bool { return len(st.runs(t, "browserfail")) >= 1 })
	step("monitor page",
		chromedp.Reload(),
		chromedp.WaitVisible(`#chart-runtime[data-drawn="1"]`),
		chromedp.WaitVisible(`#chart-metric-0[data-drawn="1"]`),
		chromedp.WaitVisible("#run-list"),
	)
	marks, err := chromedp.Run(ctx, chromedp.Evaluate[int](`(() => {
		const s = echarts.getInstanceByDom(document.querySelector("#chart-runtime")).getOption().series;
		// by name: an annotations series (a failure is one too) may follow it
		const m = s.find(x => x.name === "failed runs");
		return m && m.markLine ? m.markLine.data.length : -1;
	})()`))
	if err != nil || marks != 1 {
		t.Errorf("failed-run markers on the runtime chart: %d %v", marks, err)
	}
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil && os.MkdirAll("/tmp/rrdash-shots", 0o755) == nil {
		_ = os.WriteFile("/tmp/rrdash-shots/monitor.png", png, 0o644)
	}
	stderr, err := chromedp.Run(ctx, chromedp.TextContent("#run-list pre.stderr"))
	if err != nil || !strings.Contains(stderr, "<b>gateway</b> returned 502") {
		t.Errorf("stderr shown as %q (%v), want the markup as text", stderr, err)
	}
	stdout, err := chromedp.Run(ctx, chromedp.TextContent("#run-list pre.stdout"))
	if err != nil || strings.Contains(stdout, "browser-secret-value") || !strings.Contains(stdout, "token "+ui.SecretMask) {
		t.Errorf("stdout %q (%v): secret not masked", stdout, err)
	}
	// "run now" reloads the page once the new run is recorded.
	step("run now", chromedp.Click("#run-now"))
	waitFor(t, "the requested run", func() bool { return len(st.runs(t, "browserfail")) >= 2 })
	waitFor(t, "the page to show two runs", func() bool {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#run-list tr.run").length`))
		return err == nil && n == 2
	})
	step("edit form",
		chromedp.Navigate(hs.URL+"/monitors/browserfail/edit"),
		chromedp.WaitVisible(".env-row .env-value"),
	)
	name, _ := chromedp.Run(ctx, chromedp.Value("#mon-name"))
	secret, _ := chromedp.Run(ctx, chromedp.Value(".env-row .env-value"))
	thresholds, _ := chromedp.Run(ctx, chromedp.Value("#mon-thresholds"))
	if name != "browserfail" || secret != ui.SecretMask || thresholds != "latency_ms < 2000" {
		t.Errorf("edit form: name %q, secret %q, thresholds %q", name, secret, thresholds)
	}
	// Saving the form unchanged keeps the stored secret.
	step("save unchanged", chromedp.Click("#mon-save"), chromedp.WaitVisible("#monitor-name"))
	row, err := st.md.GetMonitor(context.Background(), "browserfail")
	if err != nil || !strings.Contains(row.Definition, "browser-secret-value") {
		t.Errorf("stored definition after an unchanged save: %v %s", err, row.Definition)
	}
	step("list", chromedp.Navigate(hs.URL+"/monitors"), chromedp.WaitVisible(`tr[data-monitor="browserfail"]`))
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil && os.MkdirAll("/tmp/rrdash-shots", 0o755) == nil {
		_ = os.WriteFile("/tmp/rrdash-shots/monitors.png", png, 0o644)
	}
}
