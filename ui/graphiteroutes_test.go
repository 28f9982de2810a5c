package ui

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

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
		{"png refused", "GET", "/render?target=x", "", nil, 400, "does not draw Graphite images"},
		{"bad target", "GET", "/render?format=json&target=sumSeries(a.b", "", nil, 400, "position 14"},
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
