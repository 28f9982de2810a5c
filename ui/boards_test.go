package ui

import (
	"strings"
	"testing"

	"rrdash/graph"
)

// saveGraph saves a one-line graph of web1's requests as user.
func saveGraph(t *testing.T, ts *testServer, user, title string) graphJSON {
	t.Helper()
	spec := &graph.Spec{Title: title, Start: "-6h", End: "now",
		Defs:  []graph.Def{{Kind: "DEF", Name: "r", Series: "tracelog.web1", DS: "requests", CF: "AVERAGE"}},
		Items: []graph.Item{{Type: "LINE", Width: 1, Vname: "r", Color: "#336699", Legend: "requests"}}}
	r := ts.do(t, "POST", "/api/v1/graphs", user, graphBody{Title: title, Spec: spec})
	if r.code != 201 {
		t.Fatalf("save graph %q = %d: %s", title, r.code, r.body)
	}
	return decode[graphJSON](t, r)
}

func TestBoardsAPI(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	g1, g2 := saveGraph(t, ts, "", "rate one"), saveGraph(t, ts, "bob", "rate <two>")
	good := boardDef{From: "-6h", To: "now", TZ: "Asia/Tokyo", Columns: 3, Panels: []boardPanel{{Graph: g1.ID, Span: 2}, {Graph: g2.ID}}}
	bad := []struct {
		name string
		body boardBody
		want string
	}{
		{"no title", boardBody{Definition: good}, "needs a title"},
		{"columns", boardBody{Title: "x", Definition: boardDef{Columns: 9}}, "columns 9"},
		{"tz", boardBody{Title: "x", Definition: boardDef{TZ: "Mars/Olympus"}}, `Mars/Olympus\": not an IANA`},
		{"range", boardBody{Title: "x", Definition: boardDef{From: "now", To: "-1d"}}, "range"},
		{"graph", boardBody{Title: "x", Definition: boardDef{Panels: []boardPanel{{Graph: "nope"}}}}, `panel 1: no saved graph \"nope\"`},
		{"span", boardBody{Title: "x", Definition: boardDef{Columns: 2, Panels: []boardPanel{{Graph: g1.ID, Span: 3}}}}, "panel 1: span 3"},
		{"too many", boardBody{Title: "x", Definition: boardDef{Panels: make([]boardPanel, 49)}}, "at most 48"},
	}
	for _, tt := range bad {
		r := ts.do(t, "POST", "/api/v1/dashboards", "", tt.body)
		if r.code != 400 || !strings.Contains(string(r.body), tt.want) {
			t.Errorf("%s: %d %s, want 400 with %q", tt.name, r.code, r.body, tt.want)
		}
	}
	r := ts.do(t, "POST", "/api/v1/dashboards", "", boardBody{Title: "Web", Definition: good})
	if r.code != 201 {
		t.Fatalf("create = %d: %s", r.code, r.body)
	}
	b := decode[boardJSON](t, r)
	if b.Owner != "local" || len(b.Definition.Panels) != 2 || b.Definition.Panels[1].Span != 1 || r.hdr.Get("Location") != "/d/"+b.ID {
		t.Errorf("created %+v (Location %s)", b, r.hdr.Get("Location"))
	}
	if r := ts.do(t, "PUT", "/api/v1/dashboards/"+b.ID, "bob", boardBody{Title: "mine", Definition: good}); r.code != 403 {
		t.Errorf("bob updates: %d", r.code)
	}
	if r := ts.do(t, "DELETE", "/api/v1/dashboards/"+b.ID, "bob", nil); r.code != 403 {
		t.Errorf("bob deletes: %d", r.code)
	}
	// Bob's copy is his; the page shows the panels, in the grid, with the zone.
	r = ts.do(t, "POST", "/api/v1/dashboards/"+b.ID+"/copy", "bob", map[string]string{})
	cp := decode[boardJSON](t, r)
	if r.code != 201 || cp.Owner != "bob" || cp.Title != "Copy of Web" || len(cp.Definition.Panels) != 2 {
		t.Errorf("copy = %d %+v", r.code, cp)
	}
	page := ts.do(t, "GET", "/d/"+b.ID, "", nil)
	for _, w := range []string{`class="board cols-3"`, `class="panel span-2"`, "rate one", "rate &lt;two&gt;", `id="edit-board"`, "shown in Asia/Tokyo", `&#34;tz&#34;:&#34;Asia/Tokyo&#34;`, `&#34;from&#34;:&#34;-6h&#34;`} {
		if !strings.Contains(string(page.body), w) {
			t.Errorf("dashboard page lacks %s", w)
		}
	}
	if p := ts.do(t, "GET", "/d/"+b.ID, "bob", nil); strings.Contains(string(p.body), `id="edit-board"`) {
		t.Errorf("bob sees the edit button")
	}
	if p := ts.do(t, "GET", "/d/"+b.ID+"/edit", "bob", nil); p.code != 403 {
		t.Errorf("bob's edit page: %d", p.code)
	}
	if p := ts.do(t, "GET", "/d/"+b.ID+"?from=yesterday", "", nil); p.code != 400 {
		t.Errorf("bad range: %d", p.code)
	}
	list := decode[struct{ Dashboards []boardJSON }](t, ts.do(t, "GET", "/api/v1/dashboards?user=bob", "", nil))
	if len(list.Dashboards) != 1 || list.Dashboards[0].ID != cp.ID {
		t.Errorf("bob's dashboards: %+v", list)
	}
	if p := ts.do(t, "GET", "/dashboards", "", nil); p.code != 200 || !strings.Contains(string(p.body), "Copy of Web") || !strings.Contains(string(p.body), `href="/">Trace logs`) {
		t.Errorf("dashboards list: %d", p.code)
	}
	// A deleted graph leaves its panel, labelled.
	if r := ts.do(t, "DELETE", "/api/v1/graphs/"+g2.ID, "bob", nil); r.code != 204 {
		t.Fatalf("delete graph: %d", r.code)
	}
	if p := ts.do(t, "GET", "/d/"+b.ID, "", nil); !strings.Contains(string(p.body), g2.ID+" (deleted)") {
		t.Errorf("a deleted graph's panel is not labelled")
	}
	if r := ts.do(t, "DELETE", "/api/v1/dashboards/"+b.ID, "", nil); r.code != 204 {
		t.Errorf("delete: %d", r.code)
	}
	if r := ts.do(t, "GET", "/api/v1/dashboards/"+b.ID, "", nil); r.code != 404 {
		t.Errorf("after delete: %d", r.code)
	}
}

// TestBoardVariables: a variable's values come from name segments or tag
// values; a panel's $host is filled with the chosen one (default the
// first); unknown values and malformed variables are refused.
func TestBoardVariables(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	spec := &graph.Spec{Title: "per host",
		Defs:  []graph.Def{{Kind: "DEF", Name: "r", Series: "tracelog.$host", DS: "requests", CF: "AVERAGE"}, {Kind: "DEF", Name: "c", Series: "app.cpu;host=${box};dc=x", DS: "value", CF: "AVERAGE"}},
		Items: []graph.Item{{Type: "LINE", Vname: "r", Color: "#336699", Legend: "requests"}, {Type: "LINE", Vname: "c", Color: "#993366", Legend: "cpu"}}}
	r := ts.do(t, "POST", "/api/v1/graphs", "", graphBody{Title: "per host", Spec: spec})
	if r.code != 201 {
		t.Fatalf("a graph with $host: %d %s", r.code, r.body)
	}
	g := decode[graphJSON](t, r)
	for _, tt := range []struct {
		vars []boardVar
		want string
	}{
		{[]boardVar{{Name: "9x", Glob: "a.*"}}, "want a name"},
		{[]boardVar{{Name: "h", Glob: "a.*", Tag: "host"}}, "one of them"},
		{[]boardVar{{Name: "h"}}, "one of them"},
		{[]boardVar{{Name: "h", Glob: "a.*.*"}}, "want one *"},
		{[]boardVar{{Name: "h", Glob: "a.b*"}}, "whole name segment"},
		{[]boardVar{{Name: "h", Tag: "a"}, {Name: "h", Tag: "b"}}, "defined twice"},
	} {
		r := ts.do(t, "POST", "/api/v1/dashboards", "", boardBody{Title: "x", Definition: boardDef{Variables: tt.vars}})
		if r.code != 400 || !strings.Contains(string(r.body), tt.want) {
			t.Errorf("%+v: %d %s, want 400 with %q", tt.vars, r.code, r.body, tt.want)
		}
	}
	r = ts.do(t, "POST", "/api/v1/dashboards", "", boardBody{Title: "hosts", Definition: boardDef{
		Variables: []boardVar{{Name: "host", Glob: "tracelog.*"}, {Name: "box", Tag: "host"}},
		Panels:    []boardPanel{{Graph: g.ID}}}})
	if r.code != 201 {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	b := decode[boardJSON](t, r)
	page := string(ts.do(t, "GET", "/d/"+b.ID+"?var-host=web2", "", nil).body)
	for _, w := range []string{`&#34;name&#34;:&#34;host&#34;,&#34;values&#34;:[&#34;web1&#34;,&#34;web2&#34;],&#34;value&#34;:&#34;web2&#34;`, `&#34;values&#34;:[&#34;a&#34;,&#34;b&#34;],&#34;value&#34;:&#34;a&#34;`} {
		if !strings.Contains(page, w) {
			t.Errorf("page state lacks %s", w)
		}
	}
	tests := []struct {
		query string
		code  int
		want  []string
	}{
		{"", 200, []string{"tracelog.web1", "app.cpu;host=a;dc=x"}},
		{"var-host=web2&var-box=a", 200, []string{"tracelog.web2", "app.cpu;host=a;dc=x"}},
		// Filled in: the fixture has no host=b in dc=x.
		{"var-box=b", 400, []string{"app.cpu;host=b;dc=x"}},
		{"var-host=web3", 400, nil},
	}
	for _, tt := range tests {
		r := ts.do(t, "GET", "/api/v1/dashboards/"+b.ID+"/panels/0/chart?from=-1h&"+tt.query, "", nil)
		if r.code != tt.code {
			t.Errorf("%s: %d %s", tt.query, r.code, r.body)
			continue
		}
		if tt.code != 200 {
			for _, w := range tt.want {
				if !strings.Contains(string(r.body), w) {
					t.Errorf("%s: %s lacks %s", tt.query, r.body, w)
				}
			}
			continue
		}
		ch := decode[graph.Chart](t, r)
		var got []string
		for _, s := range ch.Sources {
			got = append(got, s.Series)
		}
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("%s: sources %v, want %v", tt.query, got, tt.want)
		}
	}
	if r := ts.do(t, "GET", "/api/v1/dashboards/"+b.ID+"/panels/1/chart", "", nil); r.code != 404 {
		t.Errorf("panel 1 of 1: %d", r.code)
	}
}
