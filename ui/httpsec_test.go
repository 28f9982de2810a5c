package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/labstack/echo/v5"

	"rrdash/auth"
	"rrdash/store/meta"
)

// secEnv is a single-user server wired as cmd/rrdash wires it: push ingest
// behind GuardPush, /-/metrics beside the UI, all behind CheckHost.
type secEnv struct {
	srv    *Server
	md     *meta.DB
	h      http.Handler
	pushes atomic.Int64
}

func newSecEnv(t *testing.T, cfg Config) *secEnv {
	t.Helper()
	ts := newTestServer(t, nil)
	user, err := LocalUser(context.Background(), ts.meta)
	if err != nil {
		t.Fatal(err)
	}
	cfg.LocalMode = true
	srv, err := New(cfg, ts.store, ts.meta, user, nil)
	if err != nil {
		t.Fatal(err)
	}
	env := &secEnv{srv: srv, md: ts.meta}
	mux := http.NewServeMux()
	mux.Handle("POST /api/v1/write", srv.GuardPush(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env.pushes.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})))
	mux.Handle("GET /-/metrics", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "# metrics\n") }))
	mux.Handle("/", srv.Handler())
	env.h = srv.CheckHost(mux)
	return env
}

func (env *secEnv) do(method, host, path, body string, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Host = host
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	env.h.ServeHTTP(rec, req)
	return rec
}

func (env *secEnv) token(t *testing.T, scope auth.Scope) string {
	t.Helper()
	u, err := env.md.EnsureUser(context.Background(), meta.User{Handle: "local", Issuer: meta.LocalIssuer, Subject: "local"})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := NewAPIToken(context.Background(), env.md, u, string(scope)+" script", scope)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

const monitorDef = `{"name":"pwn","language":"python","source":"import os; os.system('id')","interval":"1m","timeout":"5s"}`

// TestDNSRebindingHosts: only the configured hosts are served. A page on
// an attacker's name that resolves to 127.0.0.1 is same-origin with
// itself, so its browser sends a matching Origin; the foreign Host is
// what gives it away, on every route, push and /-/metrics included.
func TestDNSRebindingHosts(t *testing.T) {
	t.Parallel()
	loopback := newSecEnv(t, Config{ListenAddr: "127.0.0.1:8080"})
	wildcard := newSecEnv(t, Config{ListenAddr: "0.0.0.0:8080"})
	wildcard6 := newSecEnv(t, Config{ListenAddr: "[::]:8080"})
	lanIP := newSecEnv(t, Config{ListenAddr: "192.168.1.5:8080"})
	named := newSecEnv(t, Config{ListenAddr: "myhost.lan:8080", BaseURL: "https://rrdash.example.com/",
		AllowedHosts: []string{"proxy.lan:8443", "[2001:db8::7]"}})
	tests := []struct {
		name         string
		env          *secEnv
		method, host string
		path         string
		want         int // 0: anything but 421
	}{
		{"localhost", loopback, "GET", "localhost:8080", "/", 200},
		{"localhost without port", loopback, "GET", "localhost", "/", 200},
		{"127.0.0.1", loopback, "GET", "127.0.0.1:8080", "/", 200},
		{"[::1]", loopback, "GET", "[::1]:8080", "/", 200},
		{"rebinding: page", loopback, "GET", "evil.example:8080", "/", 421},
		{"rebinding: API read", loopback, "GET", "evil.example:8080", "/api/v1/graphs", 421},
		{"rebinding: create a monitor", loopback, "POST", "evil.example:8080", "/api/v1/monitors", 421},
		{"rebinding: run a monitor", loopback, "POST", "evil.example:8080", "/api/v1/monitors/x/run", 421},
		{"rebinding: push", loopback, "POST", "evil.example:8080", "/api/v1/write", 421},
		{"rebinding: metrics", loopback, "GET", "evil.example:8080", "/-/metrics", 421},
		{"rebinding: asset", loopback, "GET", "evil.example", "/assets/app.js", 421},
		{"a localhost look-alike", loopback, "GET", "localhost.evil.example:8080", "/", 421},
		{"a loopback look-alike", loopback, "GET", "127.0.0.1.nip.io:8080", "/", 421},
		{"another address of the machine", loopback, "GET", "10.0.0.5:8080", "/", 421},
		{"no Host", loopback, "GET", "", "/", 421},
		{"healthz answers load balancers", loopback, "GET", "lb-probe.internal", "/-/healthz", 200},
		{"healthz does not open writes", loopback, "POST", "lb-probe.internal", "/-/healthz", 421},
		{"readyz answers load balancers", loopback, "GET", "lb-probe.internal", "/-/readyz", 200},
		{"ready answers load balancers", loopback, "GET", "lb-probe.internal", "/-/ready", 200},
		{"ready answers HEAD", loopback, "HEAD", "lb-probe.internal", "/-/ready", 200},
		{"ready does not open writes", loopback, "POST", "lb-probe.internal", "/-/ready", 421},
		{"every interface: by IPv4", wildcard, "GET", "192.168.1.5:8080", "/", 200},
		{"every interface: by IPv6", wildcard, "GET", "[2001:db8::1]:8080", "/", 200},
		{"every interface: localhost", wildcard, "GET", "localhost:8080", "/", 200},
		{"every interface: a name", wildcard, "GET", "evil.example:8080", "/", 421},
		{"every interface: push by name", wildcard, "POST", "evil.example:8080", "/api/v1/write", 421},
		{"every IPv6 interface: a name", wildcard6, "GET", "evil.example:8080", "/", 421},
		{"every IPv6 interface: by IP", wildcard6, "GET", "[2001:db8::1]:8080", "/", 200},
		{"listen address", lanIP, "GET", "192.168.1.5:8080", "/", 200},
		{"another IP", lanIP, "GET", "192.168.1.6:8080", "/", 421},
		{"listen name", named, "GET", "myhost.lan:8080", "/", 200},
		{"base_url host", named, "GET", "rrdash.example.com", "/", 200},
		{"base_url host with port", named, "GET", "rrdash.example.com:443", "/", 200},
		{"base_url host, any case, trailing dot", named, "GET", "RRDash.Example.com.", "/", 200},
		{"allowed_hosts entry with its port", named, "GET", "proxy.lan:8443", "/", 200},
		{"allowed_hosts entry, another port", named, "GET", "proxy.lan:9000", "/", 421},
		{"allowed_hosts IPv6", named, "GET", "[2001:db8::7]:8080", "/", 200},
		{"configured, still not evil", named, "GET", "evil.example", "/", 421},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.env.pushes.Load()
			// What a rebinding browser sends: its page's own origin.
			r := tt.env.do(tt.method, tt.host, tt.path, monitorDef, map[string]string{
				"Content-Type": "application/json", "Origin": "http://" + tt.host, "Sec-Fetch-Site": "same-origin"})
			if r.Code != tt.want && (tt.want != 0 || r.Code == 421) {
				t.Fatalf("%s %s with Host %q = %d, want %d: %s", tt.method, tt.path, tt.host, r.Code, tt.want, r.Body)
			}
			if r.Code != 421 {
				return
			}
			if tt.env.pushes.Load() != before {
				t.Error("a refused push reached the push handler")
			}
			if b := r.Body.String(); !strings.Contains(b, "Misdirected") || !strings.Contains(b, "allowed_hosts") || !strings.Contains(b, `"`+tt.host+`"`) {
				t.Errorf("421 body does not name the host and the config key: %s", b)
			}
		})
	}
}

// TestHostPolicyConfig: the hosts of base_url and the OIDC redirect URL
// are allowed; a bad entry or listen address is an error naming it.
func TestHostPolicyConfig(t *testing.T) {
	t.Parallel()
	h, err := hostPolicy(Config{ListenAddr: "127.0.0.1:0", OIDC: OIDCConfig{RedirectURL: "https://login-host.example/auth/callback"}})
	if err != nil {
		t.Fatal(err)
	}
	if !h.Allow("login-host.example") || h.Allow("evil.example") {
		t.Error("the redirect URL's host is not allowed, or a foreign one is")
	}
	for _, cfg := range []Config{{AllowedHosts: []string{"https://x.example"}}, {AllowedHosts: []string{"*.example.com"}}, {ListenAddr: "no-port"}} {
		if _, err := hostPolicy(cfg); err == nil {
			t.Errorf("hostPolicy(%+v) accepted", cfg)
		}
	}
	if _, err := New(Config{LocalMode: true, AllowedHosts: []string{"a.example/path"}}, nil, nil, nil, nil); err == nil || !strings.Contains(err.Error(), "allowed_hosts") {
		t.Errorf("New with a bad allowed host: %v", err)
	}
}

// TestLocalWritesRefuseCrossSite: in the single-user mode every browser
// is the local user, so a write needs the page's CSRF token, a
// same-origin Origin (or Referer), or an API token. A form another site
// posts, to the monitor API or to push, is refused.
func TestLocalWritesRefuseCrossSite(t *testing.T) {
	t.Parallel()
	env := newSecEnv(t, Config{ListenAddr: "127.0.0.1:8080", BaseURL: "https://rrdash.example.com"})
	const host = "127.0.0.1:8080"
	csrf := env.srv.localCSRF
	pushTok := env.token(t, auth.ScopePush)
	tests := []struct {
		name string
		hdr  map[string]string
		pass bool
	}{
		{"no proof at all (old browser, curl)", nil, false},
		{"form post from another site", map[string]string{"Origin": "http://evil.example"}, false},
		{"form post, browser says cross-site", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"same-site but another origin", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:3000"}, false},
		{"opaque origin (sandboxed frame)", map[string]string{"Origin": "null"}, false},
		{"another port on this host", map[string]string{"Origin": "http://127.0.0.1:3000"}, false},
		{"another scheme", map[string]string{"Origin": "https://127.0.0.1:8080"}, false},
		{"Referer from another site", map[string]string{"Referer": "http://evil.example/x"}, false},
		{"wrong CSRF token", map[string]string{csrfHeader: csrf + "x"}, false},
		{"CSRF token but cross-site", map[string]string{csrfHeader: csrf, "Sec-Fetch-Site": "cross-site"}, false},
		{"Basic auth of a proxy is ambient too", map[string]string{"Authorization": "Basic dXNlcjpwdw=="}, false},
		{"the page's CSRF token", map[string]string{csrfHeader: csrf, "Sec-Fetch-Site": "same-origin"}, true},
		{"same-origin Origin", map[string]string{"Origin": "http://" + host}, true},
		{"same-origin Referer without Origin", map[string]string{"Referer": "http://" + host + "/metrics"}, true},
		{"base_url's origin (behind a proxy)", map[string]string{"Origin": "https://rrdash.example.com"}, true},
		{"API token", map[string]string{"Authorization": "Bearer " + pushTok}, true},
	}
	routes := []struct {
		path, ct, body string
		passCode       int
		tokenCode      int // with the push token
	}{
		{"/api/v1/monitors", "application/json", monitorDef, 404, 403}, // 404: monitors are off here, the guards passed
		{"/api/v1/graphs", "application/json", specBody("from a page"), 201, 403},
		{"/api/v1/write", "application/x-www-form-urlencoded", "cpu usage=1", 204, 204},
		{"/api/v1/write", "text/plain", "cpu usage=1", 204, 204},
	}
	for _, rt := range routes {
		for _, tt := range tests {
			hdr := map[string]string{"Content-Type": rt.ct}
			for k, v := range tt.hdr {
				hdr[k] = v
			}
			before := env.pushes.Load()
			r := env.do("POST", host, rt.path, rt.body, hdr)
			want := 403
			if tt.pass {
				want = rt.passCode
			}
			if strings.HasPrefix(hdr["Authorization"], "Bearer") {
				want = rt.tokenCode
			}
			if r.Code != want {
				t.Errorf("POST %s (%s): %d, want %d: %s", rt.path, tt.name, r.Code, want, r.Body)
			}
			if pushed := env.pushes.Load() != before; pushed != (want == 204) {
				t.Errorf("POST %s (%s): pushed %v", rt.path, tt.name, pushed)
			}
			if want == 403 && !tt.pass && !strings.Contains(r.Body.String(), "refused") && !strings.Contains(r.Body.String(), "CSRF") {
				t.Errorf("POST %s (%s): the refusal gives no reason: %s", rt.path, tt.name, r.Body)
			}
		}
	}
	// Reads need nothing.
	if r := env.do("GET", host, "/api/v1/graphs", "", nil); r.Code != 200 {
		t.Errorf("GET without a CSRF token: %d", r.Code)
	}
}

// TestLocalPagesCarryCSRF: the single-user pages carry the CSRF token
// (app.js sends it with every write), and it survives a restart.
func TestLocalPagesCarryCSRF(t *testing.T) {
	t.Parallel()
	env := newSecEnv(t, Config{ListenAddr: "127.0.0.1:8080"})
	tok := env.srv.localCSRF
	if len(tok) < 32 {
		t.Fatalf("CSRF token %q is too short", tok)
	}
	r := env.do("GET", "localhost:8080", "/metrics", "", nil)
	if r.Code != 200 || !strings.Contains(r.Body.String(), `<meta name="csrf-token" content="`+tok+`">`) {
		t.Errorf("page without the CSRF token: %d", r.Code)
	}
	if strings.Contains(r.Body.String(), `id="logout-form"`) {
		t.Error("a single-user page offers sign-out")
	}
	again, err := New(Config{LocalMode: true}, nil, env.md, env.srv.user, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.localCSRF != tok {
		t.Error("the CSRF token changed across a restart: open pages would fail")
	}
}

// TestTokenScopesLocal: a token's scope limits it in the single-user mode
// too: a push token can neither create a monitor nor read graphs; a read
// token cannot write; an unknown token is refused, not ignored.
func TestTokenScopesLocal(t *testing.T) {
	t.Parallel()
	env := newSecEnv(t, Config{ListenAddr: "127.0.0.1:8080"})
	const host = "localhost:8080"
	toks := map[auth.Scope]string{}
	for _, sc := range auth.Scopes {
		toks[sc] = env.token(t, sc)
	}
	graph := specBody("by token")
	tests := []struct {
		scope        auth.Scope
		method, path string
		body         string
		want         int
		msg          string
	}{
		{auth.ScopePush, "POST", "/api/v1/write", "cpu usage=1", 204, ""},
		{auth.ScopePush, "POST", "/api/v1/monitors", monitorDef, 403, "needs scope admin"},
		{auth.ScopePush, "POST", "/api/v1/monitors/x/run", "{}", 403, "needs scope admin"},
		{auth.ScopePush, "GET", "/api/v1/graphs", "", 403, "scope push; GET /api/v1/graphs needs scope read"},
		{auth.ScopePush, "GET", "/api/v1/series", "", 403, "needs scope read"},
		{auth.ScopePush, "GET", "/api/v1/xport?def=x", "", 403, "needs scope read"},
		{auth.ScopePush, "POST", "/api/v1/graphs", graph, 403, "needs scope write"},
		{auth.ScopeRead, "GET", "/api/v1/graphs", "", 200, ""},
		{auth.ScopeRead, "GET", "/api/v1/series", "", 200, ""},
		{auth.ScopeRead, "POST", "/api/v1/graphs", graph, 403, "needs scope write"},
		{auth.ScopeRead, "POST", "/api/v1/write", "cpu usage=1", 403, "push ingest needs scope push"},
		{auth.ScopeRead, "POST", "/api/v1/monitors", monitorDef, 403, "needs scope admin"},
		{auth.ScopeWrite, "POST", "/api/v1/graphs", graph, 201, ""},
		{auth.ScopeWrite, "POST", "/api/v1/write", "cpu usage=1", 204, ""},
		{auth.ScopeWrite, "POST", "/api/v1/monitors", monitorDef, 403, "needs scope admin"},
		{auth.ScopeWrite, "PUT", "/api/v1/monitors/x", monitorDef, 403, "needs scope admin"},
		{auth.ScopeWrite, "DELETE", "/api/v1/monitors/x", "", 403, "needs scope admin"},
		{auth.ScopeAdmin, "POST", "/api/v1/monitors", monitorDef, 404, "not enabled"}, // past the scope check
		{auth.ScopeAdmin, "POST", "/api/v1/tokens", `{"name":"more"}`, 403, "browser session"},
		{auth.ScopeAdmin, "GET", "/graphs", "", 401, "for /api/ and the Graphite API only"},
		{auth.ScopePush, "GET", "/api/v1/nothing", "", 404, ""},
		{"bogus", "POST", "/api/v1/monitors", monitorDef, 401, "unknown or revoked"},
		{"bogus", "POST", "/api/v1/write", "cpu usage=1", 401, "unknown or revoked"},
	}
	for _, tt := range tests {
		tok := toks[tt.scope]
		if tt.scope == "bogus" {
			tok = auth.TokenPrefix + "not-a-real-token"
		}
		before := env.pushes.Load()
		r := env.do(tt.method, host, tt.path, tt.body, map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
		if r.Code != tt.want || !strings.Contains(r.Body.String(), tt.msg) {
			t.Errorf("%s token: %s %s = %d %s, want %d with %q", tt.scope, tt.method, tt.path, r.Code, r.Body, tt.want, tt.msg)
		}
		if pushed := env.pushes.Load() != before; pushed != (tt.want == 204) {
			t.Errorf("%s token: %s %s pushed %v", tt.scope, tt.method, tt.path, pushed)
		}
	}
}

// TestEveryAPIRouteHasAScope keeps routeScopes in step with the routes: a
// route missing there is closed to tokens, which a new route should not
// be by accident.
func TestEveryAPIRouteHasAScope(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	seen := 0
	for _, r := range ts.srv.echo.Router().Routes() {
		if !isAPIPath(r.Path) || r.Method == echo.RouteNotFound {
			continue
		}
		seen++
		if _, ok := routeScopes[r.Method+" "+r.Path]; !ok {
			t.Errorf("route %s %s has no token scope in routeScopes", r.Method, r.Path)
		}
	}
	if seen != len(routeScopes) {
		t.Errorf("%d API routes, %d entries in routeScopes: remove the stale ones", seen, len(routeScopes))
	}
}

// TestTokenScopeAPIAndPage: the token page offers the scopes with push
// chosen; the API makes push tokens unless told otherwise and refuses an
// unknown scope.
func TestTokenScopeAPIAndPage(t *testing.T) {
	t.Parallel()
	env := newSecEnv(t, Config{})
	page := env.do("GET", "localhost", "/settings/tokens", "", nil).Body.String()
	for _, want := range []string{`id="token-scope"`, `<option value="push" selected>`, `value="read"`, `value="write"`, `value="admin"`} {
		if !strings.Contains(page, want) {
			t.Errorf("token page lacks %s", want)
		}
	}
	csrf := map[string]string{csrfHeader: env.srv.localCSRF, "Content-Type": "application/json"}
	for _, tt := range []struct {
		body  string
		code  int
		scope string
	}{
		{`{"name":"telegraf"}`, 201, "push"},
		{`{"name":"grafana","scope":"read"}`, 201, "read"},
		{`{"name":"ci","scope":"admin"}`, 201, "admin"},
		{`{"name":"x","scope":"root"}`, 400, ""},
	} {
		r := env.do("POST", "localhost", "/api/v1/tokens", tt.body, csrf)
		var got struct {
			Token meta.APIToken `json:"token"`
		}
		json.NewDecoder(bytes.NewReader(r.Body.Bytes())).Decode(&got)
		if r.Code != tt.code || string(got.Token.Scope) != tt.scope {
			t.Errorf("create %s: %d %s, want %d scope %q", tt.body, r.Code, r.Body, tt.code, tt.scope)
		}
	}
	var list struct{ Tokens []meta.APIToken }
	json.Unmarshal(env.do("GET", "localhost", "/api/v1/tokens", "", nil).Body.Bytes(), &list)
	if len(list.Tokens) != 3 || list.Tokens[0].Scope != auth.ScopeAdmin || list.Tokens[2].Scope != auth.ScopePush {
		t.Errorf("token list: %+v", list.Tokens)
	}
}
