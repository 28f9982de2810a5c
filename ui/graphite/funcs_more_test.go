package graphite

import (
	"context"
	"encoding/json"
	"image/color"
	"image/png"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rrdash/store/meta"
)

// TestCatalogCoversEveryFunction: every function rrdash evaluates is in
// /functions with a group (Grafana's menu), and the added ones carry
// graphite-web 1.1.8's parameter names, types and defaults.
func TestCatalogCoversEveryFunction(t *testing.T) {
	t.Parallel()
	api := New(smallStore(t), Options{})
	rec := httptest.NewRecorder()
	api.Functions("")(rec, httptest.NewRequest(http.MethodGet, "/functions", nil))
	var cat map[string]struct {
		Group  string `json:"group"`
		Params []struct {
			Name     string          `json:"name"`
			Type     string          `json:"type"`
			Required bool            `json:"required"`
			Multiple bool            `json:"multiple"`
			Default  json.RawMessage `json:"default"`
		} `json:"params"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &cat); err != nil {
		t.Fatal(err)
	}
	for name := range api.funcs {
		if e, ok := cat[name]; !ok || e.Group == "" {
			t.Errorf("%s: in the catalogue %v, group %q", name, ok, e.Group)
		}
	}
	if len(cat) != 150 {
		t.Errorf("%d functions in the catalogue, want 150 (graphite-web 1.1.8's 151 but events)", len(cat))
	}
	tests := []struct {
		fn, want string // want: name:type[:req][:mult][=default] per parameter
	}{
		{"holtWintersConfidenceBands", `seriesList:seriesList:req delta:integer=3 bootstrapInterval:interval="7d" seasonality:interval="1d"`},
		{"smartSummarize", `seriesList:seriesList:req intervalString:interval:req func:aggFunc="sum" alignTo:string`},
		{"legendValue", `seriesList:seriesList:req valuesTypes:string:mult`},
		{"reduceSeries", `seriesLists:seriesLists:req reduceFunction:string:req reduceNode:node:req reduceMatchers:string:req:mult`},
		{"applyByNode", `seriesList:seriesList:req nodeNum:node:req templateFunction:string:req newName:string`},
		{"timeStack", `seriesList:seriesList:req timeShiftUnit:interval="1d" timeShiftStart:integer=0 timeShiftEnd:integer=7`},
		{"linearRegression", `seriesList:seriesList:req startSourceAt:date endSourceAt:date`},
		{"groupByNode", `seriesList:seriesList:req nodeNum:nodeOrTag:req callback:aggOrSeriesFunc="average"`},
		{"sumSeries", `seriesLists:seriesList:req:mult`},
		{"highestMax", `seriesList:seriesList:req n:integer:req`},
		{"exponentialMovingAverage", `seriesList:seriesList:req windowSize:intOrInterval:req`},
	}
	for _, tc := range tests {
		var got []string
		for _, p := range cat[tc.fn].Params {
			s := p.Name + ":" + p.Type
			if p.Required {
				s += ":req"
			}
			if p.Multiple {
				s += ":mult"
			}
			if p.Default != nil {
				s += "=" + string(p.Default)
			}
			got = append(got, s)
		}
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("%s params\n got  %s\n want %s", tc.fn, g, tc.want)
		}
	}
}

// TestAddedFunctionsRefuse: arguments graphite-web cannot evaluate are a
// 400 naming the call, never a panic or a silent answer.
func TestAddedFunctionsRefuse(t *testing.T) {
	t.Parallel()
	api := New(smallStore(t), Options{})
	tests := []struct{ target, msg string }{
		{"reduceSeries(mapSeries(a.b.*,1),'movingAverage',2,'c','d')", "needs argument windowSize"},
		{"reduceSeries(mapSeries(a.b.*,1),'holtWintersForecast',2,'c')", "first argument"},
		{"reduceSeries(mapSeries(a.b.*,1),'asPercent',2,'c','d','e')", "no series for matcher"},
		{"reduceSeries(a.b.*,'sumSeries',7,'c')", "has no node 7"},
		{"aggregateSeriesLists(a.b.*,a.b.c,'sum')", "same length"},
		{"applyByNode(a.b.*,1,\"applyByNode(%.*,1,'scale(%.c,1)')\")", ""},
		{"applyByNode(a.b.c,1,'sumSeries(%.c')", "target"},
		{"removeBetweenPercentile(a.b.*,70)", "None"},
		{"useSeriesAbove(a.b.d,1,'d','c')", "None"},
		{"holtWintersForecast(a.b.c,'1h','1min')", "less than two"},
		{"exp(scale(a.b.c,1000))", "math range error"},
		{"legendValue(a.b.c)", "at least one value type"},
		{"aliasQuery(a.b.c,'c','nothing','%d')", "no series found"},
		{"aliasQuery(a.b.c,'c','c','%q')", "unsupported format"},
		{"smartSummarize(a.b.c,'1h','sum','fortnights')", "invalid offset unit"},
		{"verticalLine('20200101','old')", "before start of range"},
		{"areaBetween(a.b.c)", "exactly* 2 series"},
		{"stdev(a.b.c,0)", "positive"},
		{"setXFilesFactor(a.b.c,2)", "from 0 to 1"},
		{"timeFunction('t',0)", "positive"},
	}
	for _, tc := range tests {
		code, body := render(t, api, url.Values{"target": {tc.target}, "format": {"json"}, "from": {"-1h"}})
		if tc.msg == "" {
			if code != http.StatusOK {
				t.Errorf("%s: %d %s", tc.target, code, body)
			}
			continue
		}
		if code != http.StatusBadRequest || !strings.Contains(body, tc.msg) {
			t.Errorf("%s: %d %q, want 400 with %q", tc.target, code, body, tc.msg)
		}
	}
}

// TestStackedSharesTotalsAcrossTargets: stacked() keeps its running
// totals per stack name for the whole request, as graphite-web's
// requestContext does.
func TestStackedSharesTotalsAcrossTargets(t *testing.T) {
	t.Parallel()
	api := New(smallStore(t), Options{})
	q := url.Values{"target": {"stacked(a.b.c,'s')", "stacked(a.b.c,'s')", "stacked(a.b.c)"}, "format": {"json"}, "from": {"-5min"}}
	code, body := render(t, api, q)
	var out []renderedSeries
	if err := json.Unmarshal([]byte(body), &out); code != http.StatusOK || err != nil || len(out) != 3 {
		t.Fatalf("%d %v %s", code, err, body)
	}
	for i, p := range out[0].Datapoints {
		if p[0] == nil {
			if out[1].Datapoints[i][0] != nil || out[2].Datapoints[i][0] != nil {
				t.Fatalf("point %d: a gap stacked into a value", i)
			}
			continue
		}
		c := *p[0]
		if *out[1].Datapoints[i][0] != 2*c || *out[2].Datapoints[i][0] != c {
			t.Fatalf("point %d: %v %v %v, want c, 2c, c", i, c, *out[1].Datapoints[i][0], *out[2].Datapoints[i][0])
		}
	}
	if out[2].Target != "stacked(a.b.c)" || out[0].Target != "a.b.c" {
		t.Errorf("names %q %q", out[0].Target, out[2].Target)
	}
}

// TestTextTargetsNestBounded: targets a function builds from text
// (applyByNode, useSeriesAbove, aliasQuery) nest at most maxTextDepth.
func TestTextTargetsNestBounded(t *testing.T) {
	t.Parallel()
	ec := newEvalContext(context.Background(), buildFunctions(), newCatalog(smallStore(t)), diffNow-3600, diffNow, diffNow, time.UTC, 0)
	call := &Expr{Kind: KindCall, Func: "applyByNode", Pos: 1}
	if l, err := ec.evalText(call, "a.b.c"); err != nil || len(l) != 1 {
		t.Fatalf("%v %v", l, err)
	}
	ec.depth = maxTextDepth
	if _, err := ec.evalText(call, "a.b.c"); err == nil || !strings.Contains(err.Error(), "nest deeper") {
		t.Fatalf("at depth %d: %v", ec.depth, err)
	}
}

func TestRandomWalkShape(t *testing.T) {
	t.Parallel()
	api := New(smallStore(t), Options{})
	code, body := render(t, api, url.Values{"target": {"randomWalk('walk',120)"}, "format": {"json"}, "from": {"-1h"}})
	var out []renderedSeries
	if err := json.Unmarshal([]byte(body), &out); code != http.StatusOK || err != nil || len(out) != 1 {
		t.Fatalf("%d %v %s", code, err, body)
	}
	dp := out[0].Datapoints
	if out[0].Target != "walk" || len(dp) != 30 || *dp[0][0] != 0 || *dp[1][1]-*dp[0][1] != 120 {
		t.Fatalf("%s: %d points, first %v", out[0].Target, len(dp), dp[0])
	}
	for i := 1; i < len(dp); i++ {
		if d := *dp[i][0] - *dp[i-1][0]; math.Abs(d) > 0.5 {
			t.Fatalf("step %d moves %v, more than 0.5", i, d)
		}
	}
}

func TestHoltWintersAnalysis(t *testing.T) {
	t.Parallel()
	c := []float64{5, 5, 5, 5, 5, 5}
	pred, dev := holtWintersAnalysis(c, 2)
	for i := range c {
		if pred[i] != 5 || dev[i] != 0 {
			t.Fatalf("constant series point %d: prediction %v deviation %v", i, pred[i], dev[i])
		}
	}
	// a gap: no prediction for the point after it, whose recurrence restarts
	pred, dev = holtWintersAnalysis([]float64{1, 2, nan, 4, 5}, 2)
	if !isNone(pred[3]) || isNone(pred[2]) || dev[2] != 0 {
		t.Fatalf("predictions %v deviations %v", pred, dev)
	}
	if want := 0.1*(2-0) + 0.9*(1+0); math.Abs(pred[2]-(want+0.0035*(want-1)+0)) > 1e-12 {
		t.Errorf("prediction after the second point %v", pred[2])
	}
}

func TestFormatUnits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v       float64
		system  string
		units   string
		want    float64
		wantPfx string
	}{
		{1500, "si", "", 1.5, "k"},
		{2e9, "si", "B", 2, "GB"},
		{-3e6, "si", "", -3, "M"},
		{999, "si", "", 999, ""},
		{1024 * 1024, "binary", "", 1, "Mi"},
		{0.5, "binary", "b", 0.5, "b"},
		{5.000000000001, "si", "", 5, ""},
	}
	for _, tc := range tests {
		v, p := formatUnits(tc.v, tc.system, tc.units)
		if v != tc.want || p != tc.wantPfx {
			t.Errorf("formatUnits(%v, %s, %q) = %v %q, want %v %q", tc.v, tc.system, tc.units, v, p, tc.want, tc.wantPfx)
		}
	}
}

func TestPyPercent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		format string
		v      float64
		want   string
		err    bool
	}{
		{"%d", 3.7, "3", false},
		{"load %.2f%%", 1.005, "load 1.00%", false},
		{"%s", 2, "2.0", false},
		{"%g", 1234567, "1.23457e+06", false},
		{"%g", 0.5, "0.5", false},
		{"%5.1f|", 2.25, "  2.2|", false},
		{"%e", 12345.678, "1.234568e+04", false},
		{"%x", 1, "", true},
		{"no value", 1, "", true},
		{"%d %d", 1, "", true},
		{"%", 1, "", true},
	}
	for _, tc := range tests {
		got, err := pyPercent(tc.format, tc.v)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("pyPercent(%q, %v) = %q, %v; want %q, error %v", tc.format, tc.v, got, err, tc.want, tc.err)
		}
	}
}

// FuzzPyPercent: any format either formats or is refused, never panics.
func FuzzPyPercent(f *testing.F) {
	for _, s := range []string{"%d", "%.2f%%", "%s", "%-10.3g!", "%", "%%%", "%5", "%.", "%#x", "a%db%d"} {
		f.Add(s, 1.5)
	}
	f.Fuzz(func(t *testing.T, format string, v float64) {
		out, err := pyPercent(format, v)
		if err == nil && !strings.Contains(format, "%") {
			t.Fatalf("%q formatted without a conversion: %q", format, out)
		}
	})
}

// TestEventsFunction: events() counts rrdash's annotations per second of
// the range, by tag, and is in /functions when annotations are wired.
func TestEventsFunction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	md, err := meta.Open(ctx, filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close()
	u, err := md.EnsureUser(ctx, meta.User{Issuer: meta.LocalIssuer, Subject: "u", Handle: "u"})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []meta.Annotation{
		{Time: (diffNow - 30) * 1000, Text: "a", Tags: []string{"deploy"}},
		{Time: (diffNow-30)*1000 + 500, Text: "b", Tags: []string{"deploy", "db"}},
		{Time: (diffNow - 10) * 1000, Text: "c", Tags: []string{"alert"}},
	} {
		a.TimeEnd = a.Time
		if _, err := md.CreateAnnotation(ctx, u, a); err != nil {
			t.Fatal(err)
		}
	}
	api := New(smallStore(t), Options{Annotations: md})
	tests := []struct {
		target, until string
		want          map[int64]float64 // seconds before now → count
		err           string
	}{
		{"events('deploy')", "", map[int64]float64{30: 2}, ""},
		{"events('*')", "", map[int64]float64{30: 2, 10: 1}, ""},
		{"events('deploy','db')", "", map[int64]float64{30: 1}, ""},
		{"events('none')", "", map[int64]float64{}, ""},
		{"events('alert')", "-10s", nil, "end of the range"},
	}
	for _, tc := range tests {
		q := url.Values{"target": {tc.target}, "format": {"json"}, "from": {"-1min"}}
		if tc.until != "" {
			q.Set("until", tc.until)
		}
		code, body := render(t, api, q)
		if tc.err != "" {
			if code != http.StatusBadRequest || !strings.Contains(body, tc.err) {
				t.Errorf("%s: %d %s, want 400 %q", tc.target, code, body, tc.err)
			}
			continue
		}
		var out []renderedSeries
		if err := json.Unmarshal([]byte(body), &out); code != http.StatusOK || err != nil || len(out) != 1 {
			t.Fatalf("%s: %d %v %s", tc.target, code, err, body)
		}
		if len(out[0].Datapoints) != 60 {
			t.Errorf("%s: %d points, want one a second", tc.target, len(out[0].Datapoints))
		}
		for _, p := range out[0].Datapoints {
			want, ok := tc.want[diffNow-int64(*p[1])]
			if ok != (p[0] != nil) || ok && *p[0] != want {
				t.Errorf("%s at %v: %v, want %v", tc.target, *p[1], p[0], want)
			}
		}
	}
	rec := httptest.NewRecorder()
	api.Functions("events")(rec, httptest.NewRequest(http.MethodGet, "/functions/events", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"name":"tags","type":"string","required":true,"multiple":true`) {
		t.Errorf("/functions/events: %d %s", rec.Code, rec.Body)
	}
}

// TestAddedGraphFunctionsInImages: verticalLine draws in its color;
// stacked and areaBetween series, which rrdash's images do not draw as
// graphite-web does, are refused by name rather than drawn as lines.
func TestAddedGraphFunctionsInImages(t *testing.T) {
	t.Parallel()
	api := New(smallStore(t), Options{})
	red := color.NRGBA{255, 0, 0, 255}
	code, body := render(t, api, url.Values{"target": {"a.b.c", "verticalLine('-30min','deploy','FF0000')"}, "from": {"-1h"}})
	if code != http.StatusOK {
		t.Fatalf("verticalLine: %d %.300s", code, body)
	}
	im, err := png.Decode(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	column := map[int]int{} // x → red pixels: a vertical line is one column
	for y := im.Bounds().Min.Y; y < im.Bounds().Max.Y; y++ {
		for x := im.Bounds().Min.X; x < im.Bounds().Max.X; x++ {
			if color.NRGBAModel.Convert(im.At(x, y)) == red {
				column[x]++
			}
		}
	}
	tall := 0
	for _, n := range column {
		tall = max(tall, n)
	}
	if tall < 100 {
		t.Errorf("verticalLine: tallest red column %d pixels, want the plot's height", tall)
	}
	for _, target := range []string{"stacked(a.b.*)", "areaBetween(a.b.*)"} {
		code, body := render(t, api, url.Values{"target": {target}, "from": {"-1h"}})
		if code != http.StatusBadRequest || !strings.Contains(body, "stacked or invisible") {
			t.Errorf("%s as an image: %d %.200s", target, code, body)
		}
	}
}
