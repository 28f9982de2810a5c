package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rrdash/graph"
	"rrdash/ingest/tracelog"
	"rrdash/store/meta"
)

const testNow = 1_700_000_000

// hostile is used as title, legend and series name everywhere.
const hostile = `<script>alert(1)</script>"'&<img src=x onerror=alert(2)>`

type testServer struct {
	srv   *Server
	store *fixtureStore
	meta  *meta.DB
}

// newTestServer serves trace-log series web1 and web2 (one day at 1 min)
// plus a hostile series name. Requests act as the user in the X-Test-User
// header (default "local").
func newTestServer(t testing.TB, st Store) *testServer {
	t.Helper()
	ctx := context.Background()
	md, err := meta.Open(ctx, filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { md.Close() })
	user := func(r *http.Request) (meta.User, error) {
		h := r.Header.Get("X-Test-User")
		if h == "" {
			h = "local"
		}
		return md.EnsureUser(r.Context(), meta.User{Handle: h, Issuer: "test", Subject: h})
	}
	ts := &testServer{meta: md}
	if st == nil {
		tab := newFixtureStore(t)
		for k, inst := range []string{"web1", "web2"} {
			tab.add("tracelog."+inst, tracelog.DSNames, 60, testNow-86400, 1440, func(ds int, t int64) float64 {
				return float64(ds+1) * (1 + float64(k)) * (2 + math.Sin(float64(t)/3600))
			})
		}
		tab.add("app.cpu;host=a;dc=x", []string{"value"}, 60, testNow-86400, 1440, func(int, int64) float64 { return 5 })
		tab.add("app.cpu;host=b;dc=y", []string{"value"}, 60, testNow-86400, 1440, func(int, int64) float64 { return 7 })
		tab.add(hostile, []string{"value"}, 60, testNow-86400, 1440, func(int, int64) float64 { return 1 })
		ts.store, st = tab, tab
	}
	// httptest.NewRequest sends Host: example.com.
	srv, err := New(Config{LocalMode: true, Now: func() time.Time { return time.Unix(testNow, 0) }, AllowedHosts: []string{"example.com"}}, st, md, user, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts.srv = srv
	return ts
}

type resp struct {
	code int
	body []byte
	hdr  http.Header
}

func (ts *testServer) do(t *testing.T, method, url, user string, body any) resp {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, url, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if !safeMethod(method) { // as the pages do
		req.Header.Set(csrfHeader, ts.srv.localCSRF)
	}
	if user != "" {
		req.Header.Set("X-Test-User", user)
	}
	rec := httptest.NewRecorder()
	ts.srv.Handler().ServeHTTP(rec, req)
	return resp{rec.Code, rec.Body.Bytes(), rec.Header()}
}

func decode[T any](t *testing.T, r resp) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return v
}

func TestPagesAndHealth(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	tests := []struct {
		url      string
		code     int
		contains []string
	}{
		{"/-/healthz", 200, []string{`"ok"`}},
		{"/", 200, []string{"all together", `href="/?instance=web1"`, "single-user mode", "user <b>local</b>", `src="/assets/echarts.min.js?v=`}},
		{"/?instance=web2&from=-6h", 200, []string{`class="active">web2`, "Request rate — web2"}},
		{"/?instance=nope", 404, []string{"no trace-log instance"}},
		{"/?from=yesterday", 400, []string{"unparsable time"}},
		{"/metrics", 200, []string{`id="spec-lines"`, `id="series-q"`}},
		{"/graphs", 200, []string{"No graphs"}},
		{"/u/nobody", 404, nil},
		{"/g/missing", 404, nil},
		{"/assets/app.js", 200, []string{"textContent"}},
		{"/assets/../server.go", 404, nil},
		{"/view?spec=!!", 400, []string{"not base64url"}},
		{"/no/such/page", 404, []string{"Not Found"}},
		{"/api/v1/nothing", 404, []string{`"error"`}},
	}
	for _, tt := range tests {
		r := ts.do(t, "GET", tt.url, "", nil)
		if r.code != tt.code {
			t.Errorf("GET %s = %d, want %d: %.300s", tt.url, r.code, tt.code, r.body)
			continue
		}
		for _, c := range tt.contains {
			if !bytes.Contains(r.body, []byte(c)) {
				t.Errorf("GET %s: body lacks %q", tt.url, c)
			}
		}
		// The page CSP goes with HTML only (TestHeadFaviconCSP).
		if html := strings.HasPrefix(r.hdr.Get("Content-Type"), "text/html"); html != (r.hdr.Get("Content-Security-Policy") != "") {
			t.Errorf("GET %s (%s): CSP header %q", tt.url, r.hdr.Get("Content-Type"), r.hdr.Get("Content-Security-Policy"))
		}
	}
}

func TestDashboardCharts(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	for _, all := range []bool{true, false} {
		insts := []string{"web1", "web2"}
		if !all {
			insts = insts[:1]
		}
		for _, ch := range dashboardSpecs(insts, all) {
			r := ts.do(t, "POST", "/api/v1/chart", "", chartRequest{Spec: ch.Spec, From: "-1d", To: "now", Width: 500})
			if r.code != 200 {
				t.Fatalf("chart %s (all=%v) = %d: %s", ch.ID, all, r.code, r.body)
			}
			c := decode[graph.Chart](t, r)
			// 1 day at 1-minute rows, 2×500 points max: rpn picks 120 s? No:
			// the table has one archive, so rows are reduced to ≥ 86400/1000.
			if c.Step < 86400/1000 || (c.End-c.Start)/c.Step > 1000+2 {
				t.Errorf("chart %s: step %d over %d s: more than 2× width points", ch.ID, c.Step, c.End-c.Start)
			}
			if !strings.Contains(c.Resolution, "AVERAGE") && !strings.Contains(c.Resolution, "MAX") {
				t.Errorf("chart %s: resolution label %q", ch.ID, c.Resolution)
			}
			if len(c.Legend) == 0 {
				t.Errorf("chart %s: no legend", ch.ID)
			}
		}
	}
	// All together sums the rates: web2's rate is twice web1's.
	specs := dashboardSpecs([]string{"web1", "web2"}, true)
	d, err := graph.Evaluate(context.Background(), ts.store, specs[0].Spec, graph.Options{Now: time.Unix(testNow, 0), Width: 500})
	if err != nil {
		t.Fatal(err)
	}
	one, err := graph.Evaluate(context.Background(), ts.store, dashboardSpecs([]string{"web1"}, false)[0].Spec, graph.Options{Now: time.Unix(testNow, 0), Width: 500})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for i, v := range d.Columns["req"] {
		w := one.Columns["req"][i]
		if math.IsNaN(v) || math.IsNaN(w) {
			continue
		}
		checked++
		if math.Abs(v-3*w) > 1e-9*math.Abs(v) {
			t.Fatalf("row %d: all = %v, want 3 × web1 (%v)", i, v, w)
		}
	}
	if checked < 100 {
		t.Errorf("only %d rows compared", checked)
	}
}

func TestSeriesAPI(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	type list struct {
		Series    []seriesEntry `json:"series"`
		Truncated bool          `json:"truncated"`
	}
	tests := []struct {
		q    string
		want []string
		code int
	}{
		{"?q=tracelog.", []string{"tracelog.web1", "tracelog.web2"}, 200},
		{"?q=tracelog.*1", []string{"tracelog.web1"}, 200},
		{"?q=app.cpu&tag=dc=y", []string{"app.cpu;host=b;dc=y"}, 200},
		{"?q=&tag=host=a&tag=dc=x", []string{"app.cpu;host=a;dc=x"}, 200},
		{"?q=&tag=host=a&tag=dc=y", nil, 200},
		{"?q=%3Cscript", []string{hostile}, 200},
		{"?q=[", nil, 400},
		{"?tag=novalue", nil, 400},
		{"?match=name=app.cpu&match=host!=a", []string{"app.cpu;host=b;dc=y"}, 200},
		{"?match=dc=~[xy]", []string{"app.cpu;host=a;dc=x", "app.cpu;host=b;dc=y"}, 200},
		{"?match=host=*&match=dc!=~x", []string{"app.cpu;host=b;dc=y"}, 200},
		{"?match=name=tracelog.*2", []string{"tracelog.web2"}, 200},
		{"?match=host=&q=tracelog.", []string{"tracelog.web1", "tracelog.web2"}, 200},
		{"?match=" + url.QueryEscape(`seriesByTag('name=app.cpu', "dc=y")`), []string{"app.cpu;host=b;dc=y"}, 200},
		{"?match=dc=~(", nil, 400},
		{"?match=novalue", nil, 400},
	}
	for _, tt := range tests {
		r := ts.do(t, "GET", "/api/v1/series"+tt.q, "", nil)
		if r.code != tt.code {
			t.Errorf("series%s = %d: %s", tt.q, r.code, r.body)
			continue
		}
		if tt.code != 200 {
			continue
		}
		l := decode[list](t, r)
		var got []string
		for _, s := range l.Series {
			got = append(got, s.Name)
		}
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("series%s = %q, want %q", tt.q, got, tt.want)
		}
	}
	r := ts.do(t, "GET", "/api/v1/series/info?name=tracelog.web1", "", nil)
	info := decode[map[string]any](t, r)
	if r.code != 200 || info["step"].(float64) != 60 || len(info["ds"].([]any)) != len(tracelog.DSNames) {
		t.Errorf("series info = %d %v", r.code, info)
	}
	if r := ts.do(t, "GET", "/api/v1/series/info?name=nope", "", nil); r.code != 404 {
		t.Errorf("info of a missing series = %d", r.code)
	}
}

func TestXportAPI(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	r := ts.do(t, "GET", "/api/v1/xport?start=-1h&end=now&maxrows=60&arg=DEF:a=app.cpu%3Bhost%3Da%3Bdc%3Dx:value:AVERAGE&arg=CDEF:b=a,2,*&arg=XPORT:b:double", "", nil)
	if r.code != 200 {
		t.Fatalf("xport = %d: %s", r.code, r.body)
	}
	var x struct {
		Meta struct {
			Start, End, Step int64
			Legend           []string
		}
		Data [][]*float64
	}
	if err := json.Unmarshal(r.body, &x); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	if x.Meta.Step != 60 || len(x.Data) != 61 || x.Meta.Legend[0] != "double" || x.Data[10][0] == nil || *x.Data[10][0] != 10 {
		t.Errorf("xport = %+v", x)
	}
	r = ts.do(t, "POST", "/api/v1/xport", "", xportRequest{Args: []string{"DEF:a=app.cpu:value:AVERAGE", "CDEF:b=a,+", "XPORT:b"}})
	e := decode[apiError](t, r)
	if r.code != 400 || e.Pos != 2 || e.Token != "+" {
		t.Errorf("bad xport = %d %+v", r.code, e)
	}
}

func TestValidateAndParse(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	tests := []struct {
		lines    []string
		ok       bool
		line     int
		pos      int
		contains string
	}{
		{[]string{"DEF:a=tracelog.web1:requests:AVERAGE", "LINE1:a#ff0000:req"}, true, 0, 0, ""},
		{[]string{"DEF:a=tracelog.web1:requests:AVERAGE", "", "CDEF:b=a,2,+,*", "LINE1:b"}, false, 2, 4, "*"},
		{[]string{"DEF:a=tracelog.web1:requests:AVERAGE", "CDEF:b=a,FOO,+", "LINE1:b"}, false, 1, 2, "FOO"},
		{[]string{"DEF:a=tracelog.web1:requests:AVERAGE", "LINE1:a#ff00"}, false, 1, 0, "invalid color"},
		{[]string{"DEF:a=tracelog.web1:requests:AVG"}, false, 0, 0, "AVG"},
		{[]string{"DEF:a=tracelog.web1:requests:AVERAGE", "LINE1:b"}, false, 1, 0, `line 2: unknown name "b"`},
		{[]string{"bogus"}, false, 0, 0, "not a graph element"},
	}
	for _, tt := range tests {
		r := ts.do(t, "POST", "/api/v1/validate", "", validateRequest{Lines: tt.lines, Title: hostile})
		v := decode[validateResponse](t, r)
		if r.code != 200 || v.OK != tt.ok {
			t.Errorf("validate %q = %d %+v", tt.lines, r.code, v)
			continue
		}
		if tt.ok {
			if v.Spec == nil || v.Spec.Title != hostile {
				t.Errorf("validate %q: spec %+v", tt.lines, v.Spec)
			}
			continue
		}
		if v.Error == nil || (tt.line >= 0) != (v.Error.Line != nil) || (v.Error.Line != nil && *v.Error.Line != tt.line) || v.Error.Pos != tt.pos || !strings.Contains(v.Error.Error, tt.contains) {
			t.Errorf("validate %q: error %+v, want line %d pos %d containing %q", tt.lines, v.Error, tt.line, tt.pos, tt.contains)
		}
	}
	r := ts.do(t, "POST", "/api/v1/parse", "", map[string]string{"command": `rrdtool graph x.png -t 'T' DEF:a=tracelog.web1:requests:AVERAGE 'LINE2:a#00ff00:req\: total'`})
	p := decode[struct {
		Spec  graph.Spec
		Lines []string
	}](t, r)
	if r.code != 200 || p.Spec.Title != "T" || len(p.Lines) != 2 || p.Lines[1] != `LINE2:a#00ff00:req\: total` {
		t.Errorf("parse = %d %+v", r.code, p)
	}
	if r := ts.do(t, "POST", "/api/v1/parse", "", map[string]string{"command": `'unterminated`}); r.code != 400 {
		t.Errorf("parse of a bad command = %d", r.code)
	}
}

func testSpec() *graph.Spec {
	return &graph.Spec{Title: hostile, VLabel: hostile, Start: "-6h", End: "now",
		Defs: []graph.Def{
			{Kind: "DEF", Name: "a", Series: hostile, DS: "value", CF: "AVERAGE"},
			{Kind: "DEF", Name: "r", Series: "tracelog.web1", DS: "requests", CF: "AVERAGE"},
			{Kind: "VDEF", Name: "rmax", Expr: "r,MAXIMUM"},
		},
		Items: []graph.Item{
			{Type: "AREA", Vname: "r", Color: "#336699", Legend: hostile},
			{Type: "LINE", Width: 2, Vname: "a", Color: "#ff0000", Legend: "a", Stack: true},
			{Type: "GPRINT", Vname: "rmax", Format: "max %6.2lf %s"},
		}}
}

func TestGraphsCRUD(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	r := ts.do(t, "POST", "/api/v1/graphs", "alice", graphBody{Title: hostile, Spec: testSpec()})
	if r.code != 201 {
		t.Fatalf("create = %d: %s", r.code, r.body)
	}
	g := decode[graphJSON](t, r)
	if g.Owner != "alice" || g.Title != hostile || r.hdr.Get("Location") != "/g/"+g.ID {
		t.Fatalf("created %+v", g)
	}

	// Pages escape every user string.
	for _, url := range []string{"/g/" + g.ID, "/graphs", "/graphs?q=" + "%3Cscript", "/u/alice", "/metrics?edit=" + g.ID} {
		user := "alice"
		r := ts.do(t, "GET", url, user, nil)
		if r.code != 200 {
			t.Errorf("GET %s = %d: %.300s", url, r.code, r.body)
			continue
		}
		if bytes.Contains(r.body, []byte("<script>alert")) || bytes.Contains(r.body, []byte("<img src=x")) {
			t.Errorf("GET %s: unescaped hostile string in page", url)
		}
		if url != "/metrics?edit="+g.ID && !bytes.Contains(r.body, []byte("&lt;script&gt;alert(1)&lt;/script&gt;")) {
			t.Errorf("GET %s: escaped title missing", url)
		}
	}
	page := ts.do(t, "GET", "/g/"+g.ID+"?from=1699990000&to=1700000000", "alice", nil)
	for _, want := range []string{`property="og:image" content="http://example.com/g/` + g.ID + `.png?from=1699990000&amp;to=1700000000"`,
		`id="edit-graph"`, `id="delete-graph"`, `id="copy-graph"`, `value="http://example.com/g/` + g.ID + `?from=1699990000&amp;to=1700000000"`} {
		if !bytes.Contains(page.body, []byte(want)) {
			t.Errorf("graph page lacks %s", want)
		}
	}
	other := ts.do(t, "GET", "/g/"+g.ID, "bob", nil)
	if bytes.Contains(other.body, []byte(`id="edit-graph"`)) || !bytes.Contains(other.body, []byte(`id="copy-graph"`)) {
		t.Errorf("bob sees edit controls or no copy button")
	}
	if r := ts.do(t, "GET", "/metrics?edit="+g.ID, "bob", nil); r.code != 403 {
		t.Errorf("bob editing = %d", r.code)
	}

	// PNG of the saved graph.
	r = ts.do(t, "GET", "/g/"+g.ID+".png?width=300&height=150", "", nil)
	if r.code != 200 || r.hdr.Get("Content-Type") != "image/png" {
		t.Fatalf("png = %d %s: %.200s", r.code, r.hdr.Get("Content-Type"), r.body)
	}
	img, err := png.Decode(bytes.NewReader(r.body))
	// width and height size the plot area, as rrdtool's -w and -h.
	if err != nil || img.Bounds().Dx() <= 300 || img.Bounds().Dy() <= 150 {
		t.Errorf("png decode: %v %v, want room around a 300x150 plot", err, img.Bounds())
	}

	// Chart of the saved graph.
	r = ts.do(t, "GET", "/api/v1/graphs/"+g.ID+"/chart?from=-1h&width=300", "", nil)
	if r.code != 200 {
		t.Fatalf("chart = %d %s", r.code, r.body)
	}
	ch := decode[graph.Chart](t, r)
	if ch.End-ch.Start > 3700 || len(ch.Legend) != 3 || !strings.HasPrefix(ch.Legend[2].Text, "max") {
		t.Errorf("chart = %+v", ch)
	}
	// The page's GPRINT is the PNG's: rows consolidated for the spec's
	// width (800: 108 s, so 120 s rows over a day), whatever the chart's
	// (300: 2×300 rows, 180 s).
	fine := testSpec()
	fine.Items[2].Format = "max %.9lf"
	r = ts.do(t, "POST", "/api/v1/chart", "alice", chartRequest{Spec: fine, From: "-1d", Width: 300})
	day := decode[graph.Chart](t, r)
	pd, err := graph.Evaluate(context.Background(), ts.store, fine, graph.Options{Now: time.Unix(testNow, 0), Start: "-1d", End: "now", MaxRows: 800})
	if err != nil {
		t.Fatal(err)
	}
	if pl, err := graph.Legend(fine, pd); err != nil || len(pl) != 3 || len(day.Legend) != 3 || pl[2].Text != day.Legend[2].Text {
		t.Errorf("page legend %+v, PNG's %+v (%v)", day.Legend, pl, err)
	}

	// Others may not change it, but can copy it.
	if r := ts.do(t, "PUT", "/api/v1/graphs/"+g.ID, "bob", graphBody{Title: "mine now", Spec: testSpec()}); r.code != 403 {
		t.Errorf("bob PUT = %d %s", r.code, r.body)
	}
	if r := ts.do(t, "DELETE", "/api/v1/graphs/"+g.ID, "bob", nil); r.code != 403 {
		t.Errorf("bob DELETE = %d", r.code)
	}
	r = ts.do(t, "POST", "/api/v1/graphs/"+g.ID+"/copy", "bob", map[string]string{})
	cp := decode[graphJSON](t, r)
	if r.code != 201 || cp.Owner != "bob" || cp.Title != "Copy of "+hostile || cp.ID == g.ID {
		t.Errorf("copy = %d %+v", r.code, cp)
	}
	r = ts.do(t, "GET", "/api/v1/graphs?user=bob", "", nil)
	if l := decode[struct{ Graphs []graphJSON }](t, r); len(l.Graphs) != 1 || l.Graphs[0].ID != cp.ID {
		t.Errorf("bob's graphs = %+v", l)
	}
	r = ts.do(t, "GET", "/api/v1/graphs", "", nil)
	if l := decode[struct{ Graphs []graphJSON }](t, r); len(l.Graphs) != 2 || l.Graphs[0].ID != cp.ID {
		t.Errorf("all graphs newest first = %+v", l)
	}

	// The owner edits and deletes.
	spec := testSpec()
	spec.Items = spec.Items[:1]
	r = ts.do(t, "PUT", "/api/v1/graphs/"+g.ID, "alice", graphBody{Title: "renamed", Spec: spec})
	if up := decode[graphJSON](t, r); r.code != 200 || up.Title != "renamed" || len(up.Spec.Items) != 1 {
		t.Errorf("update = %d %+v", r.code, up)
	}
	if r := ts.do(t, "DELETE", "/api/v1/graphs/"+g.ID, "alice", nil); r.code != 204 {
		t.Errorf("delete = %d", r.code)
	}
	if r := ts.do(t, "GET", "/api/v1/graphs/"+g.ID, "", nil); r.code != 404 {
		t.Errorf("get deleted = %d", r.code)
	}
}

func TestGraphBodyErrors(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	bad := testSpec()
	bad.Defs = append(bad.Defs, graph.Def{Kind: "CDEF", Name: "x", Expr: "r,POP,POP"})
	tests := []struct {
		body any
		want string
	}{
		{graphBody{Title: "t"}, "missing spec"},
		{graphBody{Spec: &graph.Spec{}}, "needs a title"},
		{graphBody{Title: "t", Spec: bad}, "CDEF:x"},
		{map[string]any{"title": "t", "spec": map[string]any{"bogus": 1}}, "unknown field"},
	}
	for _, tt := range tests {
		r := ts.do(t, "POST", "/api/v1/graphs", "", tt.body)
		if e := decode[apiError](t, r); r.code != 400 || !strings.Contains(e.Error, tt.want) {
			t.Errorf("create %+v = %d %q, want %q", tt.body, r.code, e.Error, tt.want)
		}
	}
}

func TestWriteProtection(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	b, _ := json.Marshal(graphBody{Title: "x", Spec: testSpec()})
	for _, tt := range []struct {
		ct, site string
		code     int
	}{
		{"application/json", "cross-site", 403},
		{"application/json", "same-site", 403},
		{"application/x-www-form-urlencoded", "", 415},
		{"text/plain", "same-origin", 415},
		{"application/json", "same-origin", 201},
		{"application/json", "", 201},
	} {
		req := httptest.NewRequest("POST", "/api/v1/graphs", bytes.NewReader(b))
		req.Header.Set("Content-Type", tt.ct)
		req.Header.Set(csrfHeader, ts.srv.localCSRF)
		if tt.site != "" {
			req.Header.Set("Sec-Fetch-Site", tt.site)
		}
		rec := httptest.NewRecorder()
		ts.srv.Handler().ServeHTTP(rec, req)
		if rec.Code != tt.code {
			t.Errorf("POST with %s / %q = %d, want %d", tt.ct, tt.site, rec.Code, tt.code)
		}
	}
}

func TestViewUnsaved(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	enc, err := EncodeSpecParam(testSpec())
	if err != nil {
		t.Fatal(err)
	}
	r := ts.do(t, "GET", "/view?spec="+enc+"&from=1699990000&to=1700000000", "", nil)
	if r.code != 200 || bytes.Contains(r.body, []byte("<script>alert")) || !bytes.Contains(r.body, []byte(`id="open-builder"`)) {
		t.Fatalf("view = %d: %.400s", r.code, r.body)
	}
	r = ts.do(t, "GET", "/view.png?spec="+enc, "", nil)
	if r.code != 200 || r.hdr.Get("Content-Type") != "image/png" {
		t.Errorf("view.png = %d %.200s", r.code, r.body)
	}
	r = ts.do(t, "GET", "/metrics?spec="+enc, "", nil)
	if r.code != 200 || !bytes.Contains(r.body, []byte("DEF:a=")) {
		t.Errorf("builder with spec = %d", r.code)
	}
}

func TestServeConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, s string) string { return writeTestFile(t, dir, name, s) }
	good := write("good.toml", "addr = \"0.0.0.0:9000\"\ndata = \"/srv/rrd\"\n[tracelog]\nglobs = [\"/var/log/*.log\"]\nstep = 30\n")
	unknown := write("unknown.toml", "addr = \"0.0.0.0:9000\"\nbogus = 1\n")
	broken := write("broken.toml", "addr = \"0.0.0.0:9000\"\ndata = \n")
	tests := []configCase{
		{"", nil, func(c ServeConfig) bool { return c.Addr == "127.0.0.1:8080" && c.Data == "./data" }, ""},
		{good, nil, func(c ServeConfig) bool {
			return c.Addr == "0.0.0.0:9000" && c.Data == "/srv/rrd" && c.Tracelog.Step == 30 && c.Tracelog.Globs[0] == "/var/log/*.log"
		}, ""},
		{good, map[string]string{"RRDASH_DATA": "/env", "RRDASH_TRACELOG_GLOBS": "a/*.log, b/*.log", "RRDASH_TRACELOG_STEP": "120"}, func(c ServeConfig) bool {
			return c.Data == "/env" && len(c.Tracelog.Globs) == 2 && c.Tracelog.Globs[1] == "b/*.log" && c.Tracelog.Step == 120
		}, ""},
		{unknown, nil, nil, `unknown key "bogus"`},
		{broken, nil, nil, "broken.toml:2"},
		{"", map[string]string{"RRDASH_ADDR": "nocolon"}, nil, "want HOST:PORT"},
		{"", map[string]string{"RRDASH_TRACELOG_STEP": "x"}, nil, "RRDASH_TRACELOG_STEP"},
		{"", map[string]string{"RRDASH_LOG_LEVEL": "loud"}, nil, "log_level"},
		{filepath.Join(dir, "missing.toml"), nil, nil, "no such file"},
	}
	checkServeConfigs(t, tests)
}

// configCase is a LoadServeConfig call: the file, the environment, and
// either a check of the result or a part of the error.
type configCase struct {
	path string
	env  map[string]string
	want func(ServeConfig) bool
	err  string
}

func checkServeConfigs(t *testing.T, tests []configCase) {
	t.Helper()
	for _, tt := range tests {
		c, err := LoadServeConfig(tt.path, func(k string) string { return tt.env[k] })
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("LoadServeConfig(%s, %v) err = %v, want %q", filepath.Base(tt.path), tt.env, err, tt.err)
			}
			continue
		}
		if err != nil || !tt.want(c) {
			t.Errorf("LoadServeConfig(%s, %v) = %+v, %v", filepath.Base(tt.path), tt.env, c, err)
		}
	}
}

func writeFile(p, s string) error { return os.WriteFile(p, []byte(s), 0o644) }

// writeTestFile writes dir/name and returns its path.
func writeTestFile(t *testing.T, dir, name, s string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := writeFile(p, s); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRequestLog(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	ts := newTestServer(t, nil)
	srv, err := New(Config{LocalMode: true, AllowedHosts: []string{"example.com"}}, ts.store, ts.meta, ts.srv.user, slog.New(slog.NewJSONHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/g/nope?x=1", nil))
	var line struct {
		Msg, Method, URI, Route string
		Status                  int
		Error                   string
	}
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &line); err != nil {
		t.Fatalf("log %q: %v", buf.String(), err)
	}
	if line.Msg != "request" || line.Method != "GET" || line.URI != "/g/nope?x=1" || line.Route != "/g/:id" || line.Status != 404 || !strings.Contains(line.Error, "not found") {
		t.Errorf("log line %+v", line)
	}
}

func TestHostileInstance(t *testing.T) {
	t.Parallel()
	tab := newFixtureStore(t)
	inst := `<b onmouseover=alert(1)>x</b>:y"'`
	tab.add("tracelog."+inst, tracelog.DSNames, 60, testNow-86400, 1440, func(ds int, _ int64) float64 { return float64(ds) })
	tab.add("tracelog.web1", tracelog.DSNames, 60, testNow-86400, 1440, func(ds int, _ int64) float64 { return 1 })
	ts := newTestServer(t, tab)
	for _, u := range []string{"/", "/?instance=" + url.QueryEscape(inst)} {
		r := ts.do(t, "GET", u, "", nil)
		if r.code != 200 || bytes.Contains(r.body, []byte("<b onmouseover")) {
			t.Fatalf("GET %s = %d, raw markup: %v", u, r.code, bytes.Contains(r.body, []byte("<b onmouseover")))
		}
	}
	for _, all := range []bool{true, false} {
		insts := []string{inst, "web1"}
		if !all {
			insts = insts[:1]
		}
		for _, ch := range dashboardSpecs(insts, all) {
			r := ts.do(t, "POST", "/api/v1/chart", "", chartRequest{Spec: ch.Spec, Width: 300})
			if r.code != 200 {
				t.Errorf("chart %s (all=%v) = %d: %s", ch.ID, all, r.code, r.body)
			}
		}
	}
}

// TestTokensLinkSingleUser: the header links the API tokens page in the
// single-user mode too, from every page, and the page works there.
func TestTokensLinkSingleUser(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	for _, url := range []string{"/", "/metrics", "/graphs", "/monitors", "/settings/tokens"} {
		r := ts.do(t, "GET", url, "", nil)
		if r.code != 200 || !bytes.Contains(r.body, []byte(`<a href="/settings/tokens"`)) {
			t.Errorf("GET %s = %d: no link to /settings/tokens in the header", url, r.code)
		}
	}
	r := ts.do(t, "GET", "/settings/tokens", "", nil)
	if !bytes.Contains(r.body, []byte(`id="token-form"`)) || !bytes.Contains(r.body, []byte(`href="/settings/tokens" class="active"`)) {
		t.Errorf("tokens page: no form or the header link is not active: %.300s", r.body)
	}
}
