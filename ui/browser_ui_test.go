package ui

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"rrdash/graph"
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
		{"dashboard default: the demo data's 6 h", "/", "-6h"},
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
	// The other pages under the changed header, for people to look at.
	for _, p := range []struct{ path, ready, name string }{
		{"/metrics?from=-1h", "#spec-lines", "builder"},
		{"/settings/tokens", "#token-name", "tokens"},
		{"/graphs", "#graph-search", "graphs"},
	} {
		shotSizes(t, ctx, hs.URL+p.path, p.ready, "page-"+p.name)
		// Nothing wider than the phone's screen.
		do(t, ctx, "phone "+p.name, chromedp.EmulateViewport(390, 844), chromedp.Navigate(hs.URL+p.path), chromedp.WaitVisible(p.ready))
		if w := get(t, ctx, "width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 390 {
			t.Errorf("%s on a phone is %d px wide", p.path, w)
		}
	}
	do(t, ctx, "reset viewport", chromedp.EmulateViewport(1400, 1000))
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

// zoneProbe reads what the page shows in its zone: the status line and
// custom range inputs of the rate chart, and the time axis's and the
// tooltip's formatting of testNow.
const zoneProbe = `(() => {
	const c = echarts.getInstanceByDom(document.querySelector("#chart-rate"));
	const o = c.getOption();
	const tip = [].concat(o.tooltip)[0].formatter([{value: [1700000000000, 1.5], seriesName: "s", marker: ""}]);
	return JSON.stringify({
		status: document.querySelector("#status-rate").textContent,
		from: document.querySelector("#range-from").value,
		axis: o.xAxis[0].axisLabel.formatter(1700000000000),
		axisName: o.xAxis[0].name,
		tooltip: tip,
		apply: document.querySelector("#range-apply").textContent,
		select: document.querySelector("#tz-select").value,
	});
})()`

type zoneView struct {
	Status, From, Axis, AxisName, Tooltip, Apply, Select string
}

// TestBrowserTimeZone: with tz=UTC and tz=Asia/Tokyo in the URL every
// label (axis, tooltip, status line, range inputs, apply button, header
// chooser) is in that zone, named, in ISO 8601, and the two differ by
// the 9 h offset; a custom range typed in Tokyo time is read in Tokyo
// time.
func TestBrowserTimeZone(t *testing.T) {
	exe := chromiumPath(t)
	ts := newTestServer(t, browserStore(t))
	hs := httptest.NewServer(ts.srv.Handler())
	defer hs.Close()
	ctx, cancel := newBrowser(t, exe)
	defer cancel()

	var mu sync.Mutex
	var consoleErrors []string
	if err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError {
				mu.Lock()
				consoleErrors = append(consoleErrors, e.Entry.Text)
				mu.Unlock()
			}
		case *cdpruntime.EventExceptionThrown:
			mu.Lock()
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			consoleErrors = append(consoleErrors, msg)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}

	// A fixed range ending at testNow (2023-11-14 22:13:20 UTC).
	const rng = "from=1699978400&to=1700000000"
	views := map[string]zoneView{}
	for _, tz := range []string{"UTC", "Asia/Tokyo"} {
		do(t, ctx, tz, chromedp.Navigate(hs.URL+"/?"+rng+"&tz="+url.QueryEscape(tz)), chromedp.WaitVisible(`#chart-rate[data-drawn="1"]`))
		var v zoneView
		if err := json.Unmarshal([]byte(get(t, ctx, tz, chromedp.Evaluate[string](zoneProbe))), &v); err != nil {
			t.Fatal(err)
		}
		views[tz] = v
		if tz == "Asia/Tokyo" {
			screenshot(t, ctx, "tz-tokyo.png", true)
		}
	}
	utc, tokyo := views["UTC"], views["Asia/Tokyo"]
	iso := regexp.MustCompile(`\d{4}-\d{2}-\d{2} \d{2}:\d{2}`)
	tests := []struct {
		what      string
		got, want string
	}{
		{"UTC axis", utc.Axis, "22:13"},
		{"Tokyo axis", tokyo.Axis, "07:13"},
		{"UTC axis name", utc.AxisName, "UTC"},
		{"Tokyo axis name", tokyo.AxisName, "UTC+09:00"},
		{"UTC tooltip", strings.SplitN(utc.Tooltip, "\n", 2)[0], "2023-11-14 22:13 UTC"},
		{"Tokyo tooltip", strings.SplitN(tokyo.Tooltip, "\n", 2)[0], "2023-11-15 07:13 Asia/Tokyo UTC+09:00"},
		{"UTC apply", utc.Apply, "apply (UTC)"},
		{"Tokyo apply", tokyo.Apply, "apply (Asia/Tokyo UTC+09:00)"},
		{"UTC chooser", utc.Select, "UTC"},
		{"Tokyo chooser", tokyo.Select, "Asia/Tokyo"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %q, want %q", tt.what, tt.got, tt.want)
		}
	}
	if !strings.HasSuffix(utc.Status, " UTC") || !strings.HasSuffix(tokyo.Status, " Asia/Tokyo UTC+09:00") {
		t.Errorf("status lines not labelled with the zone: %q / %q", utc.Status, tokyo.Status)
	}
	// The status line and the range input show the same instants, 9 h apart.
	parse := func(s string) time.Time {
		tm, err := time.Parse("2006-01-02 15:04", iso.FindString(s))
		if err != nil {
			t.Fatalf("no ISO 8601 time in %q: %v", s, err)
		}
		return tm
	}
	for _, pair := range [][2]string{{utc.Status, tokyo.Status}, {utc.From, tokyo.From}} {
		if d := parse(pair[1]).Sub(parse(pair[0])); d != 9*time.Hour {
			t.Errorf("%q vs %q: %v apart, want 9h", pair[0], pair[1], d)
		}
	}
	if parse(utc.From) != parse(utc.Status) {
		t.Errorf("range input %q is not the status line's start %q", utc.From, utc.Status)
	}

	// A custom range typed in Tokyo time.
	do(t, ctx, "custom range",
		chromedp.SetValue("#range-from", "2023-11-15 01:00"),
		chromedp.SetValue("#range-to", "2023-11-15 07:00"),
		chromedp.Click("#range-apply"),
		chromedp.WaitVisible(`#chart-rate[data-drawn="1"]`),
	)
	loc, err := url.Parse(get(t, ctx, "location", chromedp.Location()))
	if err != nil {
		t.Fatal(err)
	}
	wantFrom := time.Date(2023, 11, 14, 16, 0, 0, 0, time.UTC).Unix()
	if loc.Query().Get("from") != strconv.FormatInt(wantFrom, 10) || loc.Query().Get("tz") != "Asia/Tokyo" {
		t.Errorf("custom range 01:00 Tokyo gave %s, want from=%d and the tz kept", loc.RawQuery, wantFrom)
	}
	// The tooltip, drawn by echarts from our formatter (richText).
	do(t, ctx, "tooltip",
		chromedp.Evaluate[chromedp.Void](`echarts.getInstanceByDom(document.querySelector("#chart-rate")).dispatchAction({type: "showTip", x: 300, y: 120})`),
		chromedp.Sleep(400*time.Millisecond),
	)
	screenshot(t, ctx, "tz-tooltip.png", true)

	// A server-rendered timestamp (the saved graph's) in the zone.
	spec := &graph.Spec{Title: "zoned", Start: "-6h", End: "now",
		Defs:  []graph.Def{{Kind: "DEF", Name: "r", Series: "tracelog.web1", DS: "requests", CF: "AVERAGE"}},
		Items: []graph.Item{{Type: "AREA", Vname: "r", Color: "#336699", Legend: "requests"}}}
	r := ts.do(t, "POST", "/api/v1/graphs", "", graphBody{Title: "zoned", Spec: spec})
	if r.code != 201 {
		t.Fatalf("create graph = %d: %s", r.code, r.body)
	}
	g := decode[graphJSON](t, r)
	do(t, ctx, "graph page", chromedp.Navigate(hs.URL+"/g/"+g.ID+"?tz=Asia%2FTokyo"), chromedp.WaitVisible(`#chart-main[data-drawn="1"]`))
	saved := get(t, ctx, "saved", chromedp.Text("p.meta time"))
	tokyoZone, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	if want := g.CreatedAt.In(tokyoZone).Format("2006-01-02 15:04") + " Asia/Tokyo UTC+09:00"; saved != want {
		t.Errorf("saved time %q, want %q", saved, want)
	}
	if share := get(t, ctx, "share", chromedp.Value("#share-url")); !strings.Contains(share, "tz=Asia%2FTokyo") {
		t.Errorf("share link %q does not carry the zone", share)
	}
	// The tokens page's times (from the API) too.
	do(t, ctx, "token",
		chromedp.Navigate(hs.URL+"/settings/tokens?tz=Asia%2FTokyo"),
		chromedp.WaitVisible("#token-name"),
		chromedp.SendKeys("#token-name", "zoned"),
		chromedp.Click("#token-create"),
		chromedp.WaitVisible(`#token-list tbody tr`),
	)
	if row := get(t, ctx, "token row", chromedp.Text(`#token-list tbody tr:first-child td:nth-child(3)`)); !iso.MatchString(row) || !strings.HasSuffix(row, "Asia/Tokyo UTC+09:00") {
		t.Errorf("token created at %q, want ISO 8601 in Tokyo", row)
	}
	if sel := get(t, ctx, "chooser", chromedp.Value("#tz-select")); sel != "Asia/Tokyo" {
		t.Errorf("tokens page zone chooser %q", sel)
	}
	shotSizes(t, ctx, hs.URL+"/g/"+g.ID+"?tz=Asia%2FTokyo", `#chart-main[data-drawn="1"]`, "tz-graph")
	shotSizes(t, ctx, hs.URL+"/?"+rng+"&tz=Asia%2FTokyo", `#chart-rate[data-drawn="1"]`, "tz-dashboards")
	mu.Lock()
	defer mu.Unlock()
	if len(consoleErrors) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(consoleErrors, "\n"))
	}
}
