package graphite

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"rrdash/store"
)

// smallStore: a.b.c and a.b.d (one DS, values 1..), multi.cpu (DS user
// and sys), tagged app.cpu;host=a|b, all 60 s × 1 day ending at diffNow.
func smallStore(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	mk := func(name string, ds []string, val func(d, i int) string) {
		sp := diffSpec()
		sp.DS = nil
		for _, d := range ds {
			sp.DS = append(sp.DS, store.DS{Name: d, Type: store.Gauge, Heartbeat: 120, Min: math.NaN(), Max: math.NaN()})
		}
		sp.Start = diffNow - 86400
		if err := db.Create(name, sp, false); err != nil {
			t.Fatal(err)
		}
		var ups []store.Update
		for i, tm := 0, diffNow-86400+60; tm <= diffNow; i, tm = i+1, tm+60 {
			vals := make([]string, len(ds))
			for d := range ds {
				vals[d] = val(d, i)
			}
			ups = append(ups, store.Update{Series: name, Time: tm, Values: vals})
		}
		if res, err := db.Apply(context.Background(), store.Batch{Updates: ups}); err != nil || len(res.Errors) > 0 {
			t.Fatal(err, res.Errors)
		}
	}
	mk("a.b.c", []string{"value"}, func(_, i int) string { return strconv.Itoa(i + 1) })
	mk("a.b.d", []string{"value"}, func(_, i int) string {
		if i%2 == 0 {
			return "U"
		}
		return "10"
	})
	mk("multi.cpu", []string{"user", "sys"}, func(d, i int) string { return strconv.Itoa((d + 1) * 100) })
	mk("app.cpu;host=a", []string{"value"}, func(_, i int) string { return "5" })
	mk("app.cpu;host=b", []string{"value"}, func(_, i int) string { return "7" })
	return db
}

func render(t *testing.T, api *API, q url.Values) (int, string) {
	t.Helper()
	if q.Get("now") == "" {
		q.Set("now", strconv.FormatInt(diffNow, 10))
	}
	rec := httptest.NewRecorder()
	api.Render(rec, httptest.NewRequest(http.MethodGet, "/render?"+q.Encode(), nil))
	return rec.Code, rec.Body.String()
}

func TestRenderFormatsAndOptions(t *testing.T) {
	t.Parallel()
	api := New(smallStore(t), Options{})
	tests := []struct {
		name string
		q    url.Values
		code int
		want string
	}{
		{"json", v("target", "a.b.c", "from", "-3min", "format", "json"),
			200, `[{"target":"a.b.c","tags":{"name":"a.b.c"},"datapoints":[[1439.0,1763999880],[1440.0,1763999940],[null,1764000000]]}]` + "\n"},
		{"raw", v("target", "a.b.c", "from", "-3min", "format", "raw"), 200, "a.b.c,1763999880,1764000060,60|1439.0,1440.0,None\n"},
		{"csv", v("target", "a.b.c", "from", "-2min", "format", "csv"), 200, "a.b.c,2025-11-24 15:59:00,1440.0\r\na.b.c,2025-11-24 16:00:00,\r\n"},
		{"csv tz", v("target", "a.b.c", "from", "-2min", "format", "csv", "tz", "Europe/Zurich"), 200, "a.b.c,2025-11-24 16:59:00,1440.0\r\na.b.c,2025-11-24 17:00:00,\r\n"},
		{"noNullPoints", v("target", "a.b.d", "from", "-5min", "format", "json", "noNullPoints", "1"),
			200, `[{"target":"a.b.d","tags":{"name":"a.b.d"},"datapoints":[[10.0,1763999820],[10.0,1763999940]]}]` + "\n"},
		{"maxDataPoints=1", v("target", "a.b.c", "from", "-5min", "format", "json", "maxDataPoints", "1"),
			200, `"datapoints":[[1438.5,1763999760]]`},
		{"two targets and a multi-DS leaf", v("target", "multi.cpu.sys", "target", "alias(a.b.c,'x')", "from", "-2min", "format", "json"),
			200, `[{"target":"multi.cpu.sys","tags":{"name":"multi.cpu.sys"},"datapoints":[[200.0,1763999940],[null,1764000000]]},{"target":"x"`},
		{"tagged name", v("target", "app.cpu;host=b", "from", "-2min", "format", "json"),
			200, `[{"target":"app.cpu;host=b","tags":{"host":"b","name":"app.cpu"},"datapoints":[[7.0,1763999940],[null,1764000000]]}]`},
		{"seriesByTag", v("target", "sumSeries(seriesByTag('name=app.cpu'))", "from", "-2min", "format", "json"),
			200, `[[12.0,1763999940],[null,1764000000]]`},
		{"seriesByTag matching everything", v("target", "seriesByTag('name=~.*')", "format", "json"), 400, "must not match the empty string"},
		{"from after now: no series", v("target", "a.b.c", "from", "+1h", "until", "+2h", "format", "json"), 200, "[]\n"},
		{"empty range", v("target", "a.b.c", "from", "now", "until", "now", "format", "json"), 400, "invalid empty time range"},
		{"png (the default)", v("target", "a.b.c"), 200, "\x89PNG\r\n"},
		{"svg", v("target", "a.b.c", "format", "svg"), 200, "<svg"},
		{"pdf", v("target", "a.b.c", "format", "pdf"), 200, "%PDF-"},
		{"image option not drawn", v("target", "a.b.c", "yStep", "5"), 400, "yStep: rrdash's Graphite images do not support this option"},
		{"bad image size", v("target", "a.b.c", "width", "0"), 400, "width \"0\": want 1 to 16384 pixels"},
		{"bad color", v("target", "color(a.b.c,'chartreuse')", "format", "json"), 400, `color: color "chartreuse"`},
		{"lineMode connected", v("target", "a.b.c", "lineMode", "connected"), 400, "connected is not supported"},
		{"secondYAxis image", v("target", "secondYAxis(a.b.c)"), 400, "one y axis"},
		{"pickle", v("target", "a.b.c", "format", "pickle"), 400, "want json, csv, raw, png, svg or pdf"},
		{"jsonp", v("target", "a.b.c", "format", "json", "jsonp", "cb"), 400, "jsonp is not supported"},
		{"bad maxDataPoints", v("target", "a.b.c", "format", "json", "maxDataPoints", "x"), 400, "maxDataPoints"},
		{"bad tz", v("target", "a.b.c", "format", "json", "tz", "Mars/Base"), 400, "unknown time zone"},
		{"bad from", v("target", "a.b.c", "format", "json", "from", "-5m"), 400, "invalid offset unit"},
		{"unknown function", v("target", "frobnicate(a.b.c)", "format", "json"), 400, "position 1: unknown function frobnicate"},
		{"bad argument", v("target", "scale(a.b.c,'x')", "format", "json"), 400, "position 13: scale: argument factor must be a number"},
		{"bad consolidateBy", v("target", "consolidateBy(a.b.c,'median')", "format", "json"), 400, "invalid consolidation function"},
		{"alignDST refused", v("target", "timeShift(a.b.c,'1d',alignDST=true)", "format", "json"), 400, "alignDST=true is not supported"},
		{"parse error", v("target", "sumSeries(a.b.c", "format", "json"), 400, "position 16"},
		{"steps without a common multiple", v("target", "sumSeries(summarize(a.b.c,'999999937s'),summarize(a.b.c,'999999929s'),summarize(a.b.c,'999999893s'))", "format", "json"),
			400, "no common multiple"},
	}
	for _, tt := range tests {
		code, body := render(t, api, tt.q)
		if code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %.400s, want %d with %q", tt.name, code, body, tt.code, tt.want)
		}
	}
}

// TestRenderFetchesOnce: several targets naming the same series read it
// once per request.
func TestRenderFetchesOnce(t *testing.T) {
	t.Parallel()
	db := smallStore(t)
	api := New(db, Options{})
	var exprs []*Expr
	for _, s := range []string{"a.b.*", "sumSeries(a.b.*)", "scale(a.b.c,2)", "a.b.{c,d}"} {
		e, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		exprs = append(exprs, e)
	}
	ec := newEvalContext(context.Background(), api.funcs, newCatalog(db), diffNow-3600, diffNow, diffNow, time.UTC, 0)
	out, err := ec.evalTargets(exprs)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 6 || ec.reads != 2 {
		t.Errorf("%d series from %d reads, want 6 from 2", len(out), ec.reads)
	}
	// functions change series in place: the plain a.b.c must not be scaled
	if out[0].Values[0] != out[4].Values[0] || out[3].Values[0] != 2*out[0].Values[0] {
		t.Errorf("shared series changed: a.b.c %v, scale %v", out[0].Values[0], out[3].Values[0])
	}
}

// TestRenderPOSTForm: Grafana's request, a form POST.
func TestRenderPOSTForm(t *testing.T) {
	t.Parallel()
	api := New(smallStore(t), Options{Now: func() time.Time { return time.Unix(diffNow, 0) }})
	form := url.Values{"target": {"a.b.c", "a.b.d"}, "from": {"-10min"}, "until": {"now"}, "format": {"json"}, "maxDataPoints": {"5"}}
	req := httptest.NewRequest(http.MethodPost, "/render", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	api.Render(rec, req)
	var out []struct {
		Target     string
		Datapoints [][2]*float64
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || len(out) != 2 {
		t.Fatalf("%d %s: %v", rec.Code, rec.Body, err)
	}
	// 10 points at most 5: 2 per point, start nudged onto 120 s
	if n := len(out[0].Datapoints); n > 6 || n < 5 || int64(*out[0].Datapoints[0][1])%120 != 0 {
		t.Errorf("maxDataPoints=5: %d points from %v", n, *out[0].Datapoints[0][1])
	}
}

func FuzzRender(f *testing.F) {
	for _, s := range diffTargets {
		f.Add(s, "-1h")
	}
	db := smallStore(f)
	api := New(db, Options{Now: func() time.Time { return time.Unix(diffNow, 0) }})
	f.Fuzz(func(t *testing.T, target, from string) {
		q := url.Values{"target": {strings.ReplaceAll(target, "servers.", "a.")}, "from": {from}, "format": {"json"}}
		code, body := render(t, api, q)
		if code != 200 && code != 400 {
			t.Fatalf("target %q from %q: %d %s", target, from, code, body)
		}
	})
}

// TestFunctionCatalog: every function rrdash has is in /functions with a
// group (Grafana's menu), and nothing else is.
func TestFunctionCatalog(t *testing.T) {
	t.Parallel()
	api := New(smallStore(t), Options{})
	rec := httptest.NewRecorder()
	api.Functions("")(rec, httptest.NewRequest(http.MethodGet, "/functions", nil))
	var cat map[string]struct {
		Name   string
		Group  string
		Params []struct {
			Name, Type string
			Required   bool
			Multiple   bool
			Default    json.RawMessage // 1e9999 (infinity) is not a float64
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &cat); err != nil {
		t.Fatalf("%v: %.300s", err, rec.Body)
	}
	if len(cat) != len(api.funcs)+1 {
		t.Errorf("%d functions in the catalogue, %d known (+ seriesByTag)", len(cat), len(api.funcs))
	}
	for name, e := range cat {
		if e.Name != name || e.Group == "" || len(e.Params) == 0 && name != "countSeries" {
			t.Errorf("%s: %+v", name, e)
		}
	}
	if p := cat["keepLastValue"].Params; len(p) != 2 || string(p[1].Default) != "1e9999" {
		t.Errorf("keepLastValue params %+v", p)
	}
	rec = httptest.NewRecorder()
	api.Functions("nope")(rec, httptest.NewRequest(http.MethodGet, "/functions/nope", nil))
	if rec.Code != 404 {
		t.Errorf("/functions/nope = %d", rec.Code)
	}
}

// TestRenderPointLimit: summarize and hitcount refuse to make more than
// maxPoints points of a series (1 s buckets over a year).
func TestRenderPointLimit(t *testing.T) {
	t.Parallel()
	db, _ := yearStore(t)
	api := New(db, Options{})
	for _, target := range []string{"summarize(year.cpu,'1s')", "hitcount(year.cpu,'1s')"} {
		code, body := render(t, api, url.Values{"target": {target}, "from": {"-1y"}, "format": {"json"}})
		if code != 400 || !strings.Contains(body, "more than 5000000 points") {
			t.Errorf("%s: %d %.200s", target, code, body)
		}
	}
	if code, body := render(t, api, url.Values{"target": {"summarize(year.cpu,'1d')"}, "from": {"-1y"}, "format": {"json"}}); code != 200 {
		t.Errorf("summarize by day: %d %.200s", code, body)
	}
}
