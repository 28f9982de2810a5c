package ui

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"rrdash/graph"
)

// markupProbe reads the graph page's legend: each entry's text and its
// markup spans' computed look, whether any element other than the
// legend's own spans was made, and whether foreign code ran.
const markupProbe = `(() => {
	const lg = document.querySelector("#legend-main");
	const entries = [...lg.querySelectorAll(".legend-text")].map(t => ({
		text: t.textContent,
		runs: [...t.querySelectorAll("span.markup")].map(s => {
			const cs = getComputedStyle(s);
			return {text: s.textContent, weight: cs.fontWeight, style: cs.fontStyle, deco: cs.textDecorationLine,
				color: cs.color, bg: cs.backgroundColor, valign: cs.verticalAlign, family: cs.fontFamily};
		}),
	}));
	const foreign = [...lg.querySelectorAll("*")].filter(e => !(e.tagName === "DIV" && e.className === "legend-row" ||
		e.tagName === "SPAN" && ["legend-item", "legend-item toggles", "swatch", "legend-text", "markup"].includes(e.className)));
	return JSON.stringify({entries, foreign: foreign.map(e => e.outerHTML), pwned: window.pwned === undefined ? "" : String(window.pwned)});
})()`

type markupRunView struct {
	Text, Weight, Style, Deco, Color, Bg, Valign, Family string
}

type markupView struct {
	Entries []struct {
		Text string
		Runs []markupRunView
	}
	Foreign []string
	Pwned   string
}

// TestBrowserPangoMarkupLegend: with --pango-markup the page's legend
// shows the markup as rrdtool does (bold, italic, colors, sub, entities)
// as DOM nodes with style properties; markup pango refuses — a script
// element, an attribute handler, a style injection — is shown as its
// text, and none of it runs.
func TestBrowserPangoMarkupLegend(t *testing.T) {
	exe := chromiumPath(t)
	ts := newTestServer(t, browserStore(t))
	hs := httptest.NewServer(ts.srv.Handler())
	defer hs.Close()
	ctx, cancel := newBrowser(t, exe)
	defer cancel()

	hostile := []string{
		`<script>window.pwned="script"</script>`,
		`<img src=x onerror="window.pwned='img'">`,
		`<span foreground="red" onmouseover="window.pwned='span'">hover</span>`,
		`<span foreground="red;background:url(javascript:window.pwned='css')">css</span>`,
	}
	spec := &graph.Spec{Title: "markup", Start: "-6h", End: "now",
		Defs: []graph.Def{{Kind: "DEF", Name: "r", Series: "tracelog.web1", DS: "requests", CF: "AVERAGE"}},
		Items: []graph.Item{
			{Type: "AREA", Vname: "r", Color: "#336699",
				Legend: `<b>bold</b> <i>it</i> <span foreground="#ff0000" background="yellow">red</span> &amp; x<sub>2</sub> <tt>mono</tt>\l`},
		}}
	spec.PangoMarkup = true
	for _, h := range hostile {
		spec.Items = append(spec.Items, graph.Item{Type: "COMMENT", Legend: h + `\l`})
	}
	r := ts.do(t, "POST", "/api/v1/graphs", "", graphBody{Title: "markup", Spec: spec})
	if r.code != 201 {
		t.Fatalf("create graph = %d: %s", r.code, r.body)
	}
	g := decode[graphJSON](t, r)
	do(t, ctx, "graph page", chromedp.Navigate(hs.URL+"/g/"+g.ID), chromedp.WaitVisible(`#chart-main[data-drawn="1"]`))
	// give anything that would run (an image's onerror, a hover) its chance
	do(t, ctx, "hover", chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("#legend-main *").forEach(e => {
		e.dispatchEvent(new MouseEvent("mouseover", {bubbles: true}));
		e.dispatchEvent(new MouseEvent("mouseenter"));
	})`), chromedp.Sleep(300*time.Millisecond))
	var v markupView
	if err := json.Unmarshal([]byte(get(t, ctx, "probe", chromedp.Evaluate[string](markupProbe))), &v); err != nil {
		t.Fatal(err)
	}
	if v.Pwned != "" {
		t.Errorf("markup in a legend ran code: window.pwned = %q", v.Pwned)
	}
	if len(v.Foreign) > 0 {
		t.Errorf("the legend holds elements made from markup: %q", v.Foreign)
	}
	if len(v.Entries) != 1+len(hostile) {
		t.Fatalf("legend entries %+v, want %d", v.Entries, 1+len(hostile))
	}
	first := v.Entries[0]
	if first.Text != "bold it red & x2 mono" {
		t.Errorf("markup legend text %q", first.Text)
	}
	look := map[string]markupRunView{}
	for _, r := range first.Runs {
		look[strings.TrimSpace(r.Text)] = r
	}
	if r := look["bold"]; r.Weight != "700" {
		t.Errorf("<b>: font-weight %q", r.Weight)
	}
	if r := look["it"]; r.Style != "italic" {
		t.Errorf("<i>: font-style %q", r.Style)
	}
	if r := look["red"]; r.Color != "rgb(255, 0, 0)" || r.Bg != "rgb(255, 255, 0)" {
		t.Errorf("<span foreground background>: color %q background %q", r.Color, r.Bg)
	}
	if r := look["2"]; r.Valign != "sub" {
		t.Errorf("<sub>: vertical-align %q", r.Valign)
	}
	if r := look["mono"]; !strings.Contains(r.Family, "monospace") {
		t.Errorf("<tt>: font-family %q", r.Family)
	}
	for i, h := range hostile {
		e := v.Entries[1+i]
		if e.Text != h || len(e.Runs) != 0 {
			t.Errorf("refused markup %q shown as %q with %d styled runs, want its text", h, e.Text, len(e.Runs))
		}
	}
	screenshot(t, ctx, "pango-legend.png", true)
}
