package ui

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"rrdash/auth"
)

// TestGraphiteRoutes: the Graphite API answers at graphite-web's paths,
// takes API tokens of scope read, refuses push tokens, and treats
// Grafana's form POSTs as reads (no CSRF token needed, nothing changes).
func TestGraphiteRoutes(t *testing.T) {
	t.Parallel()
	env := newSecEnv(t, Config{ListenAddr: "127.0.0.1:8080"})
	const host = "localhost:8080"
	push, read := env.token(t, auth.ScopePush), env.token(t, auth.ScopeRead)
	now := strconv.Itoa(testNow)
	renderQ := "/render?" + url.Values{"target": {"app.cpu;host=a;dc=x"}, "format": {"json"}, "from": {"-1h"}, "now": {now}}.Encode()
	form := url.Values{"target": {"sumSeries(tracelog.*.arrivals)"}, "from": {"-1h"}, "until": {"now"}, "now": {now}, "format": {"json"}, "maxDataPoints": {"10"}}.Encode()
	tests := []struct {
		name, method, path, body string
		hdr                      map[string]string
		want                     int
		msg                      string
	}{
		{"push token", "GET", renderQ, "", map[string]string{"Authorization": "Bearer " + push}, 403, "needs scope read"},
		{"read token", "GET", renderQ, "", map[string]string{"Authorization": "Bearer " + read}, 200, `"target":"app.cpu;host=a;dc=x"`},
		{"Grafana's POST", "POST", "/render", form, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 200, `"target":"sumSeries(tracelog.*.arrivals)"`},
		{"find", "GET", "/metrics/find?query=tracelog.*", "", nil, 200, `"id":"tracelog.web1"`},
		{"find POST", "POST", "/metrics/find", "query=tracelog.web1.*&format=completer", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 200, `"path":"tracelog.web1.arrivals"`},
		{"expand", "GET", "/metrics/expand?query=tracelog.*.arrivals", "", nil, 200, `"tracelog.web2.arrivals"`},
		{"index", "GET", "/metrics/index.json", "", nil, 200, `"tracelog.web1.arrivals"`},
		{"png, the default format", "GET", "/render?target=x", "", nil, 200, "\x89PNG"},
		{"bad target", "GET", "/render?format=json&target=sumSeries(a.b", "", nil, 400, "position 14"},
		{"tagSeries", "POST", "/tags/tagSeries", "path=" + url.QueryEscape("app.cpu;host=a;dc=x"), map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Bearer " + read}, 200, `"app.cpu;dc=x;host=a"`},
		{"cross-site POST", "POST", "/render", form, map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site"}, 200, "datapoints"},
	}
	for _, tt := range tests {
		r := env.do(tt.method, host, tt.path, tt.body, tt.hdr)
		if r.Code != tt.want || !strings.Contains(r.Body.String(), tt.msg) {
			t.Errorf("%s: %s %s = %d %.300s, want %d with %q", tt.name, tt.method, tt.path, r.Code, r.Body, tt.want, tt.msg)
		}
	}
	// a multi-DS series is a branch whose data sources are leaves
	r := env.do("GET", host, "/metrics/find?query=tracelog.web1", "", nil)
	var nodes []map[string]any
	if err := json.Unmarshal(r.Body.Bytes(), &nodes); err != nil || len(nodes) != 1 || nodes[0]["leaf"] != float64(0) {
		t.Errorf("find tracelog.web1 = %s (%v), want one branch", r.Body, err)
	}
}

// TestGraphiteRoutesLoginMode: without a session or token the Graphite
// API answers 401 (Grafana shows it), never a redirect to the login page.
func TestGraphiteRoutesLoginMode(t *testing.T) {
	t.Parallel()
	env := newLoginEnv(t, nil)
	for _, p := range []string{"/render?target=a&format=json", "/metrics/find?query=*"} {
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(env.url + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without login = %d, want 401", p, resp.StatusCode)
		}
	}
}

// TestGrafanaGraphiteRequests replays the requests Grafana's Graphite data
// source sends (pkg/tsdb/graphite: health check, query, metrics/find,
// metrics/expand; all with an API token as a custom header) and decodes
// the answers as it does.
func TestGrafanaGraphiteRequests(t *testing.T) {
	t.Parallel()
	env := newSecEnv(t, Config{ListenAddr: "127.0.0.1:8080", Now: func() time.Time { return time.Unix(testNow, 0) }})
	const host = "localhost:8080"
	tok := env.token(t, auth.ScopeRead)
	hdr := func(form bool) map[string]string {
		h := map[string]string{"Authorization": "Bearer " + tok, "User-Agent": "Grafana/12.0.0"}
		if form {
			h["Content-Type"] = "application/x-www-form-urlencoded"
		}
		return h
	}
	from, until := strconv.Itoa(testNow-3600), strconv.Itoa(testNow)
	type targetResponse struct { // Grafana's TargetResponseDTO
		Target     string         `json:"target"`
		DataPoints [][2]*float64  `json:"datapoints"`
		Tags       map[string]any `json:"tags"`
	}
	for _, target := range []string{"constantLine(100)", "aliasByNode(tracelog.*.arrivals,1)", "app.cpu;host=a;dc=x"} {
		body := url.Values{"from": {from}, "until": {until}, "format": {"json"}, "maxDataPoints": {"100"}, "target": {target}}.Encode()
		r := env.do("POST", host, "/render", body, hdr(true))
		var out []targetResponse
		if err := json.Unmarshal(r.Body.Bytes(), &out); r.Code != 200 || err != nil || len(out) == 0 {
			t.Fatalf("render %s: %d %.300s (%v)", target, r.Code, r.Body, err)
		}
		for _, s := range out {
			if len(s.DataPoints) == 0 || len(s.DataPoints) > 100 || s.DataPoints[0][1] == nil {
				t.Errorf("render %s: %s has %d points", target, s.Target, len(s.DataPoints))
			}
		}
	}
	type findResponse struct { // Grafana's GraphiteMetricsFindResponse
		Text          string `json:"text"`
		ID            string `json:"id"`
		Leaf          int    `json:"leaf"`
		Expandable    int    `json:"expandable"`
		AllowChildren int    `json:"allowChildren"`
	}
	r := env.do("POST", host, "/metrics/find?from="+from+"&until="+until, "query=tracelog.web1.*", hdr(true))
	var nodes []findResponse
	if err := json.Unmarshal(r.Body.Bytes(), &nodes); r.Code != 200 || err != nil || len(nodes) == 0 || nodes[0].Leaf != 1 || !strings.HasPrefix(nodes[0].ID, "tracelog.web1.") {
		t.Errorf("metrics/find: %d %.300s (%v)", r.Code, r.Body, err)
	}
	r = env.do("GET", host, "/metrics/expand?query=tracelog.*&from="+from+"&until="+until, "", hdr(false))
	var expand struct{ Results []string }
	if err := json.Unmarshal(r.Body.Bytes(), &expand); r.Code != 200 || err != nil || len(expand.Results) != 2 {
		t.Errorf("metrics/expand: %d %.300s (%v)", r.Code, r.Body, err)
	}
	if r := env.do("GET", host, "/version", "", hdr(false)); r.Code != 200 || strings.TrimSpace(r.Body.String()) != "1.1.8" {
		t.Errorf("version: %d %s", r.Code, r.Body)
	}
	// Grafana's tag autocompletion sends every parameter, empty or 0
	r = env.do("GET", host, "/tags/autoComplete/tags?from="+from+"&until="+until+"&limit=0&tagPrefix=", "", hdr(false))
	var tags []string
	if err := json.Unmarshal(r.Body.Bytes(), &tags); r.Code != 200 || err != nil || !slices.Contains(tags, "host") {
		t.Errorf("tags/autoComplete/tags: %d %.300s (%v)", r.Code, r.Body, err)
	}
	r = env.do("GET", host, "/tags/autoComplete/values?tag=host&expr=dc%3Dx", "", hdr(false))
	if err := json.Unmarshal(r.Body.Bytes(), &tags); r.Code != 200 || err != nil || !slices.Equal(tags, []string{"a"}) {
		t.Errorf("tags/autoComplete/values: %d %.300s (%v)", r.Code, r.Body, err)
	}
	// the function catalogue, as Grafana's parseFuncDefs reads it
	r = env.do("GET", host, "/functions", "", hdr(false))
	var funcs map[string]struct {
		Name   string `json:"name"`
		Group  string `json:"group"`
		Params []struct {
			Name     string `json:"name"`
			Type     string `json:"type"`
			Required bool   `json:"required"`
		} `json:"params"`
	}
	if err := json.Unmarshal(r.Body.Bytes(), &funcs); r.Code != 200 || err != nil || funcs["sumSeries"].Group != "Combine" || funcs["aliasByNode"].Params[1].Type != "nodeOrTag" {
		t.Errorf("functions: %d %.300s (%v)", r.Code, r.Body, err)
	}
}
