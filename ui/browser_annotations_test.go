package ui

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"rrdash/store/meta"
)

// annotationInk counts annotation-purple pixels in a 5 px column of a
// chart's canvas around page x.
func annotationInk(sel string, x float64) string {
	return fmt.Sprintf(`(() => {
		const el = document.querySelector(%q), c = el.querySelector("canvas");
		const r = el.getBoundingClientRect(), k = c.width / r.width;
		const d = c.getContext("2d").getImageData(Math.round((%f - r.left - 2) * k), 0, Math.round(5 * k), c.height).data;
		let n = 0;
		for (let i = 0; i < d.length; i += 4) if (d[i] > 100 && d[i] < 190 && d[i+1] < 120 && d[i+2] > 130) n++;
		return n;
	})()`, sel, x)
}

// TestBrowserAnnotations: annotations posted through the API are drawn
// on a saved graph and on the trace-log dashboard (a line for an instant,
// an area for a range) and named by the tooltip; a click on a chart adds
// one through the form.
func TestBrowserAnnotations(t *testing.T) {
	exe := chromiumPath(t)
	ts := newTestServer(t, browserStore(t))
	hs := httptest.NewServer(ts.srv.Handler())
	defer hs.Close()
	ctx, cancel := newBrowser(t, exe)
	defer cancel()
	errs := consoleErrors(t, ctx)

	at := int64(testNow-2*3600) * 1000
	for _, b := range []string{
		fmt.Sprintf(`{"time":%d,"text":"deploy <v2>","tags":["deploy"]}`, at),
		fmt.Sprintf(`{"time":%d,"timeEnd":%d,"text":"maintenance"}`, at-3*3600e3, at-2*3600e3),
	} {
		var body map[string]any
		if err := jsonUnmarshal(b, &body); err != nil {
			t.Fatal(err)
		}
		if r := ts.do(t, "POST", "/api/annotations", "", body); r.code != 201 {
			t.Fatalf("post annotation = %d: %s", r.code, r.body)
		}
	}
	g := saveGraph(t, ts, "", "annotated")
	rng := "from=" + strconv.Itoa(testNow-6*3600) + "&to=" + strconv.Itoa(testNow) + "&tz=UTC"
	for _, page := range []struct{ path, chart string }{{"/g/" + g.ID + "?" + rng, "#chart-main"}, {"/?" + rng, "#chart-rate"}} {
		do(t, ctx, page.path, chromedp.Navigate(hs.URL+page.path), chromedp.WaitVisible(page.chart+`[data-drawn="1"]`), chromedp.Sleep(200*time.Millisecond))
		marks := get(t, ctx, "marks", chromedp.Evaluate[string](fmt.Sprintf(`(() => {
			const o = echarts.getInstanceByDom(document.querySelector(%q)).getOption();
			const s = o.series.find(x => x.name === "annotations");
			if (!s) return "none";
			const tip = [].concat(o.tooltip)[0].formatter([{value: [%d, 1], seriesName: "x", marker: ""}]);
			return (s.markLine ? s.markLine.data.length : 0) + "/" + (s.markArea ? s.markArea.data.length : 0) + "|" + tip;
		})()`, page.chart, at)))
		if !strings.HasPrefix(marks, "1/1|") || !strings.Contains(marks, "◆ deploy <v2> [deploy] (local)") {
			t.Errorf("%s: annotation marks and tooltip %q", page.path, marks)
		}
		x, _ := plotPoint(t, ctx, page.chart, at)
		if ink := get(t, ctx, "ink", chromedp.Evaluate[int](annotationInk(page.chart, x))); ink < 30 {
			t.Errorf("%s: the annotation line is not drawn (%d purple pixels)", page.path, ink)
		}
		if legend := get(t, ctx, "legend", chromedp.Text(strings.Replace(page.chart, "chart", "legend", 1))); !strings.Contains(legend, "annotations") {
			t.Errorf("%s: legend %q lacks the annotations", page.path, legend)
		}
	}
	screenshot(t, ctx, "annotations.png", true)

	// A click on the rate chart 1 h before the end: the form, then the mark.
	click := int64(testNow-3600) * 1000
	x, y := plotPoint(t, ctx, "#chart-rate", click)
	do(t, ctx, "click",
		chromedp.MouseClickXY(x, y),
		chromedp.WaitVisible("#chart-rate ~ figcaption ~ form.annotate .annotate-text, .chart-box form.annotate .annotate-text"),
		chromedp.SendKeys("form.annotate .annotate-text", "clicked here"),
		chromedp.SendKeys("form.annotate .annotate-tags", "ui, test"),
		chromedp.Click("form.annotate .annotate-save"),
	)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`(() => { const s = echarts.getInstanceByDom(document.querySelector("#chart-response")).getOption().series.find(x => x.name === "annotations"); return !!s && s.markLine && s.markLine.data.length === 2; })()`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("the new annotation is not drawn on the other charts: %v", err)
	}
	as, err := ts.meta.Annotations(t.Context(), meta.AnnotationQuery{From: click - 600e3, To: click + 600e3, Tags: []string{"ui"}})
	if err != nil || len(as) != 1 || as[0].Text != "clicked here" || len(as[0].Tags) != 2 {
		t.Fatalf("stored from the click: %+v %v", as, err)
	}
	// One pixel is about 43 s at 6 h over ~500 px.
	if d := as[0].Time - click; d < -120e3 || d > 120e3 {
		t.Errorf("clicked at %d, stored at %d", click, as[0].Time)
	}
	screenshot(t, ctx, "annotation-added.png", true)
	if e := errs(); len(e) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(e, "\n"))
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
