package ui

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"rrdash/auth"
	"rrdash/store/meta"
)

// The test provider's client (tools/oidc/provider.mjs).
const (
	testClientID     = "rrdash-test"
	testClientSecret = "rrdash-test-secret"
)

// startProvider runs the npm oidc-provider on 127.0.0.1 with rrdash's
// callback registered and returns its issuer URL. Without node or the
// package the test fails under CI=true and is skipped otherwise.
func startProvider(t *testing.T, redirectURI, postLogoutURI string) string {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node not installed: %v", err)
	}
	dir, err := filepath.Abs(filepath.Join("..", "tools", "oidc"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider", "package.json")); err != nil {
		missing("npm oidc-provider not installed (make deps-test runs npm ci --prefix tools/oidc): %v", err)
	}
	cmd := exec.Command(node, "provider.mjs", redirectURI, postLogoutURI)
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe() // the provider exits when this closes
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start oidc-provider: %v", err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	issuer := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "issuer "); ok {
				issuer <- rest
			}
		}
		close(issuer)
	}()
	select {
	case iss, ok := <-issuer:
		if !ok || !strings.HasPrefix(iss, "http://127.0.0.1:") {
			t.Fatalf("oidc-provider did not start (issuer %q): %s", iss, stderr.String())
		}
		return iss
	case <-time.After(60 * time.Second):
		t.Fatalf("oidc-provider did not start within 60s: %s", stderr.String())
	}
	return ""
}

// testClock is a manual clock for sessions and the rate limit (ID token
// expiry is checked by go-oidc against the real time).
type testClock struct {
	base   time.Time
	offset atomic.Int64
}

func (c *testClock) now() time.Time          { return c.base.Add(time.Duration(c.offset.Load())) }
func (c *testClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

type loginEnv struct {
	url    string
	srv    *Server
	md     *meta.DB
	clock  *testClock
	logs   *lockedBuffer
	pushes atomic.Int64
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const (
	testIdle     = time.Hour
	testAbsolute = 3 * time.Hour
	testRate     = 60
)

// newLoginEnv serves st (nil: the test table store) with login through a real provider.
// Requests from 127.0.0.1 are from a trusted proxy, so X-Forwarded-For
// picks the client IP for the rate limit.
func newLoginEnv(t *testing.T, st Store) *loginEnv {
	t.Helper()
	env := &loginEnv{clock: &testClock{base: time.Unix(testNow, 0)}, logs: &lockedBuffer{}}
	var handler atomic.Pointer[http.Handler]
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := handler.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		http.Error(w, "starting", http.StatusServiceUnavailable)
	}))
	t.Cleanup(hs.Close)
	env.url = hs.URL
	issuer := startProvider(t, hs.URL+"/auth/callback", hs.URL+"/logged-out")
	ts := newTestServer(t, st)
	if st == nil {
		st = ts.store
	}
	env.md = ts.meta
	cfg := Config{Now: env.clock.now, TrustedProxies: []string{"127.0.0.1", "::1"}, OIDC: OIDCConfig{
		Issuer: issuer, ClientID: testClientID, ClientSecret: testClientSecret, RedirectURL: hs.URL + "/auth/callback",
		Scopes: []string{"openid", "profile", "email", "groups"}, AllowedDomains: []string{"example.com"}, AllowedGroups: []string{"staff"},
		SessionIdle: testIdle.String(), SessionAbsolute: testAbsolute.String(), LoginRate: testRate,
	}}
	srv, err := New(cfg, st, ts.meta, nil, slog.New(slog.NewJSONHandler(env.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	env.srv = srv
	// A push endpoint outside echo, guarded as cmd/rrdash guards the real one.
	mux := http.NewServeMux()
	mux.Handle("POST /api/v1/write", srv.GuardPush(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env.pushes.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})))
	mux.Handle("/", srv.Handler())
	var h http.Handler = mux
	handler.Store(&h)
	return env
}

// client is one browser: a cookie jar, redirects not followed.
type client struct {
	t   *testing.T
	env *loginEnv
	hc  *http.Client
	xff string // X-Forwarded-For to send to rrdash
}

func (env *loginEnv) newClient(t *testing.T) *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, env: env, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type hresp struct {
	code int
	hdr  http.Header
	body string
	url  *url.URL
}

func (r hresp) location(t *testing.T) *url.URL {
	t.Helper()
	loc, err := r.url.Parse(r.hdr.Get("Location"))
	if err != nil || r.hdr.Get("Location") == "" {
		t.Fatalf("%d from %s has no usable Location: %q %v\n%.500s", r.code, r.url, r.hdr.Get("Location"), err, r.body)
	}
	return loc
}

// do sends a request; hdr holds extra headers ("Content-Type" included).
func (c *client) do(method, u string, body io.Reader, hdr map[string]string) hresp {
	c.t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.xff != "" && strings.HasPrefix(u, c.env.url) {
		req.Header.Set("X-Forwarded-For", c.xff)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return hresp{res.StatusCode, res.Header, string(b), req.URL}
}

func (c *client) get(u string) hresp { c.t.Helper(); return c.do(http.MethodGet, u, nil, nil) }

// api sends JSON to rrdash with the session's CSRF token (if known) and
// the browser's Sec-Fetch-Site for a same-origin fetch.
func (c *client) api(method, path string, body any, csrf string) hresp {
	c.t.Helper()
	var rd io.Reader
	hdr := map[string]string{"Sec-Fetch-Site": "same-origin"}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
		hdr["Content-Type"] = "application/json"
	}
	if csrf != "" {
		hdr["X-CSRF-Token"] = csrf
	}
	return c.do(method, c.env.url+path, rd, hdr)
}

func (c *client) cookie(name string) string {
	u, _ := url.Parse(c.env.url)
	for _, k := range c.hc.Jar.Cookies(u) {
		if k.Name == name {
			return k.Value
		}
	}
	return ""
}

var (
	formRe   = regexp.MustCompile(`(?s)<form[^>]*\baction="([^"]*)"[^>]*>(.*?)</form>`)
	inputRe  = regexp.MustCompile(`<input[^>]*>`)
	attrRe   = regexp.MustCompile(`\b(name|value|type)="([^"]*)"`)
	csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)
)

// submitForm fills the provider's form (login: name, any password;
// consent; logout confirmation) and posts it.
func (c *client) submitForm(page hresp, login string) hresp {
	c.t.Helper()
	m := formRe.FindStringSubmatch(page.body)
	if m == nil {
		c.t.Fatalf("no form on %s (%d):\n%.1500s", page.url, page.code, page.body)
	}
	action, err := page.url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		c.t.Fatal(err)
	}
	v := url.Values{}
	for _, in := range inputRe.FindAllString(m[2], -1) {
		a := map[string]string{}
		for _, kv := range attrRe.FindAllStringSubmatch(in, -1) {
			a[kv[1]] = html.UnescapeString(kv[2])
		}
		switch {
		case a["name"] == "login":
			v.Set("login", login)
		case a["name"] == "password":
			v.Set("password", "any password")
		case a["name"] != "":
			v.Set(a["name"], a["value"])
		}
	}
	if strings.Contains(page.body, `name="logout"`) {
		v.Set("logout", "yes")
	}
	return c.do(http.MethodPost, action.String(), strings.NewReader(v.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
}

// toCallback starts a login at rrdash and goes through the provider's
// pages as user, stopping before rrdash's callback; it returns the
// callback URL the provider sent the browser to.
func (c *client) toCallback(returnTo, user string) *url.URL {
	c.t.Helper()
	r := c.get(c.env.url + "/login?return=" + url.QueryEscape(returnTo))
	for range 20 {
		switch {
		case r.code >= 300 && r.code < 400:
			loc := r.location(c.t)
			if strings.HasPrefix(loc.String(), c.env.url+"/auth/callback") {
				return loc
			}
			r = c.get(loc.String())
		case r.code == http.StatusOK && strings.Contains(r.body, "<form"):
			r = c.submitForm(r, user)
		default:
			c.t.Fatalf("login as %s: unexpected %d from %s:\n%.1500s", user, r.code, r.url, r.body)
		}
	}
	c.t.Fatalf("login as %s: too many steps", user)
	return nil
}

// login signs in as user and returns where rrdash sent the browser.
func (c *client) login(returnTo, user string) *url.URL {
	c.t.Helper()
	cb := c.toCallback(returnTo, user)
	r := c.get(cb.String())
	if r.code != http.StatusSeeOther {
		c.t.Fatalf("callback as %s: %d, want 303:\n%.1000s", user, r.code, r.body)
	}
	return r.location(c.t)
}

// csrf reads the CSRF token from a page, as app.js does.
func (c *client) csrf() string {
	c.t.Helper()
	r := c.get(c.env.url + "/graphs")
	m := csrfMeta.FindStringSubmatch(r.body)
	if r.code != http.StatusOK || m == nil {
		c.t.Fatalf("no csrf-token on /graphs (%d):\n%.800s", r.code, r.body)
	}
	return html.UnescapeString(m[1])
}

// tamperLogin changes the pending login this client started, as an
// attacker with the server's database would.
func (c *client) tamperLogin(t *testing.T, change func(*auth.Pending)) {
	t.Helper()
	id := auth.HashID(c.cookie(c.env.srv.login.sessions.LoginCookie()))
	ctx := context.Background()
	pl, created, err := c.env.md.TakeLogin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	change(&pl)
	if err := c.env.md.PutLogin(ctx, id, pl, created); err != nil {
		t.Fatal(err)
	}
}

func sessionCookie(env *loginEnv) string { return env.srv.login.sessions.SessionCookie() }

func specBody(title string) string {
	b, err := json.Marshal(graphBody{Title: title, Spec: testSpec()})
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestLoginFlow(t *testing.T) {
	t.Parallel()
	env := newLoginEnv(t, nil)

	t.Run("anonymous", func(t *testing.T) {
		c := env.newClient(t)
		tests := []struct {
			method, path string
			code         int
			location     string
		}{
			{"GET", "/", 303, "/login?return=%2F"},
			{"GET", "/g/abc?from=-1h", 303, "/login?return=%2Fg%2Fabc%3Ffrom%3D-1h"},
			{"GET", "/settings/tokens", 303, "/login?return=%2Fsettings%2Ftokens"},
			{"GET", "/api/v1/graphs", 401, ""},
			{"POST", "/api/v1/graphs", 401, ""},
			{"GET", "/-/healthz", 200, ""},
			{"GET", "/-/ready", 200, ""},
			{"HEAD", "/-/ready", 200, ""},
			{"GET", "/assets/app.js", 200, ""},
			{"GET", "/logged-out", 200, ""},
		}
		for _, tc := range tests {
			r := c.do(tc.method, env.url+tc.path, nil, nil)
			if r.code != tc.code || r.hdr.Get("Location") != tc.location {
				t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, r.code, r.hdr.Get("Location"), tc.code, tc.location)
			}
		}
		// Public prefixes do not open other handlers.
		for _, p := range []string{"/assets/../graphs", "/assets/%2e%2e/graphs", "/assets/..%2Fgraphs", "/login/../graphs", "/-/healthz/../api/v1/graphs", "/logged-out/../graphs"} {
			req, _ := http.NewRequest("GET", env.url+"/", nil)
			req.URL.Opaque = p // sent as is, not cleaned by the client
			res, err := c.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode == 200 || strings.Contains(string(body), "graph-search") || strings.Contains(string(body), `"graphs"`) {
				t.Errorf("GET %s: %d %.200s", p, res.StatusCode, body)
			}
		}
		if r := c.do("POST", env.url+"/api/v1/write", strings.NewReader("x v=1"), nil); r.code != 401 || env.pushes.Load() != 0 {
			t.Errorf("push without token: %d (pushes %d), want 401", r.code, env.pushes.Load())
		}
	})

	alice, bob := env.newClient(t), env.newClient(t)
	var aliceCSRF, graphID string
	t.Run("alice saves a graph, bob sees it, cannot change it, can copy it", func(t *testing.T) {
		alice.t, bob.t = t, t
		if to := alice.login("/graphs?q=x", "alice"); to.String() != env.url+"/graphs?q=x" {
			t.Fatalf("after login: %s, want the return URL", to)
		}
		aliceCSRF = alice.csrf()
		r := alice.api("POST", "/api/v1/graphs", map[string]any{"title": "alice's cpu", "spec": testSpec()}, aliceCSRF)
		if r.code != http.StatusCreated {
			t.Fatalf("save: %d %s", r.code, r.body)
		}
		var g struct{ ID, Owner string }
		json.Unmarshal([]byte(r.body), &g)
		if g.Owner != "alice" || g.ID == "" {
			t.Fatalf("saved graph %+v", g)
		}
		graphID = g.ID

		bob.login("/", "bob")
		bobCSRF := bob.csrf()
		if r := bob.get(env.url + "/graphs"); r.code != 200 || !strings.Contains(r.body, "/g/"+graphID) || !strings.Contains(r.body, "alice&#39;s cpu") {
			t.Errorf("bob's /graphs lacks alice's graph: %d %.300s", r.code, r.body)
		}
		if r := bob.get(env.url + "/g/" + graphID); r.code != 200 || strings.Contains(r.body, `id="delete-graph"`) || !strings.Contains(r.body, `id="copy-graph"`) {
			t.Errorf("bob's view of alice's graph: %d, delete button shown or copy missing", r.code)
		}
		for _, tc := range []struct {
			method, path string
			body         any
			code         int
		}{
			{"PUT", "/api/v1/graphs/" + graphID, map[string]any{"title": "bob was here", "spec": testSpec()}, 403},
			{"DELETE", "/api/v1/graphs/" + graphID, nil, 403},
			{"GET", "/metrics?edit=" + graphID, nil, 403},
			{"POST", "/api/v1/graphs/" + graphID + "/copy", map[string]any{}, 201},
		} {
			if r := bob.api(tc.method, tc.path, tc.body, bobCSRF); r.code != tc.code {
				t.Errorf("bob %s %s: %d, want %d: %s", tc.method, tc.path, r.code, tc.code, r.body)
			}
		}
		r = alice.api("GET", "/api/v1/graphs?user=bob", nil, "")
		if !strings.Contains(r.body, `"owner":"bob"`) || !strings.Contains(r.body, "Copy of alice") {
			t.Errorf("bob's copy not listed as his: %s", r.body)
		}
		if r := alice.api("GET", "/api/v1/graphs/"+graphID, nil, ""); !strings.Contains(r.body, "alice's cpu") {
			t.Errorf("alice's graph changed: %s", r.body)
		}
		// The owner may.
		if r := alice.api("PUT", "/api/v1/graphs/"+graphID, map[string]any{"title": "alice's cpu v2", "spec": testSpec()}, aliceCSRF); r.code != 200 {
			t.Errorf("alice PUT: %d %s", r.code, r.body)
		}
	})

	t.Run("signed PNG links load without a session, nothing else does", func(t *testing.T) {
		alice.t = t
		page := alice.get(env.url + "/g/" + graphID + "?from=-6h")
		m := regexp.MustCompile(`<meta property="og:image" content="([^"]+)"`).FindStringSubmatch(page.body)
		if page.code != 200 || m == nil || !strings.Contains(m[1], "sig=") {
			t.Fatalf("graph page %d: og:image %v, want a signed PNG URL", page.code, m)
		}
		signed := html.UnescapeString(m[1])
		anon := env.newClient(t)
		if r := anon.get(signed); r.code != 200 || r.hdr.Get("Content-Type") != "image/png" {
			t.Errorf("signed PNG without a session: %d %s", r.code, r.hdr.Get("Content-Type"))
		}
		u, _ := url.Parse(signed)
		q := u.Query()
		tampered := func(change func(url.Values)) string {
			v := url.Values{}
			for k, vs := range q {
				v[k] = append([]string(nil), vs...)
			}
			change(v)
			return u.Scheme + "://" + u.Host + u.Path + "?" + v.Encode()
		}
		for name, target := range map[string]string{
			"another range": tampered(func(v url.Values) { v.Set("from", "-1y") }),
			"another size":  tampered(func(v url.Values) { v.Set("width", "2000") }),
			"forged sig":    tampered(func(v url.Values) { v.Set("sig", strings.Repeat("A", 43)) }),
			"no sig":        tampered(func(v url.Values) { v.Del("sig") }),
			"the page":      env.url + "/g/" + graphID + "?" + q.Encode(),
			"another graph": env.url + "/g/other.png?" + q.Encode(),
			"the graph API": env.url + "/api/v1/graphs/" + graphID + "?" + q.Encode(),
		} {
			if r := anon.get(target); r.code == 200 {
				t.Errorf("%s: %s answered 200 without a session", name, target)
			}
		}
	})

	t.Run("session cookie is random, stored hashed, rotated at login", func(t *testing.T) {
		c := env.newClient(t)
		c.login("/", "bob")
		first := c.cookie(sessionCookie(env))
		ctx := context.Background()
		if _, err := env.md.Session(ctx, first); err == nil {
			t.Error("the cookie value itself is a session id in the database")
		}
		if _, err := env.md.Session(ctx, auth.HashID(first)); err != nil {
			t.Errorf("session not stored under its hash: %v", err)
		}
		c.login("/", "bob")
		second := c.cookie(sessionCookie(env))
		if second == "" || second == first {
			t.Fatalf("session id not rotated at login: %q then %q", first, second)
		}
		stale := env.newClient(t)
		stale.hc.Jar.SetCookies(mustURL(env.url), []*http.Cookie{{Name: sessionCookie(env), Value: first}})
		if r := stale.get(env.url + "/graphs"); r.code != 303 {
			t.Errorf("the pre-login session still works: %d", r.code)
		}
	})

	t.Run("CSRF", func(t *testing.T) {
		alice.t, bob.t = t, t
		body := map[string]any{"title": "csrf", "spec": testSpec()}
		bobCSRF := bob.csrf()
		for _, tc := range []struct {
			name  string
			token string
			site  string
			code  int
		}{
			{"no token", "", "same-origin", 403},
			{"forged token", "AAAA" + aliceCSRF[4:], "same-origin", 403},
			{"another session's token", bobCSRF, "same-origin", 403},
			{"cross-site", aliceCSRF, "cross-site", 403},
			{"same-site (sibling subdomain)", aliceCSRF, "same-site", 403},
			{"good", aliceCSRF, "same-origin", 201},
		} {
			hdr := map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": tc.site}
			if tc.token != "" {
				hdr["X-CSRF-Token"] = tc.token
			}
			b, _ := json.Marshal(body)
			if r := alice.do("POST", env.url+"/api/v1/graphs", bytes.NewReader(b), hdr); r.code != tc.code {
				t.Errorf("%s: %d, want %d: %s", tc.name, r.code, tc.code, r.body)
			}
		}
		// A cross-site form post to logout (no token) does not end the session.
		r := alice.do("POST", env.url+"/logout", strings.NewReader("csrf=nope"), map[string]string{
			"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site"})
		if r.code != 403 || alice.get(env.url+"/graphs").code != 200 {
			t.Errorf("cross-site logout: %d, or the session ended", r.code)
		}
	})

	t.Run("CSP nonce", func(t *testing.T) {
		alice.t, bob.t = t, t
		r := alice.get(env.url + "/graphs")
		csp := r.hdr.Get("Content-Security-Policy")
		m := regexp.MustCompile(`script-src 'nonce-([A-Za-z0-9_-]{20,})'`).FindStringSubmatch(csp)
		if m == nil || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "form-action 'self' "+env.srv.login.providerOrigin) {
			t.Fatalf("CSP %q", csp)
		}
		if n := strings.Count(r.body, "<script"); n == 0 || n != strings.Count(r.body, `nonce="`+m[1]+`"`) {
			t.Errorf("%d script tags, not all with this response's nonce", n)
		}
		if again := alice.get(env.url + "/graphs").hdr.Get("Content-Security-Policy"); again == csp {
			t.Error("the nonce is the same on two responses")
		}
	})

	t.Run("tampered state", func(t *testing.T) {
		c := env.newClient(t)
		cb := c.toCallback("/", "alice")
		q := cb.Query()
		q.Set("state", q.Get("state")+"x")
		cb.RawQuery = q.Encode()
		if r := c.get(cb.String()); r.code != 401 || !strings.Contains(r.body, "state") {
			t.Errorf("tampered state: %d %.300s", r.code, r.body)
		}
		if c.cookie(sessionCookie(env)) != "" || c.get(env.url+"/graphs").code != 303 {
			t.Error("a session after a tampered state")
		}
	})

	t.Run("replayed code", func(t *testing.T) {
		c := env.newClient(t)
		cb := c.toCallback("/", "alice")
		if r := c.get(cb.String()); r.code != 303 {
			t.Fatalf("first use: %d %s", r.code, r.body)
		}
		// Same browser, same callback: the pending login was used up.
		if r := c.get(cb.String()); r.code != 400 {
			t.Errorf("replay with the used login: %d, want 400", r.code)
		}
		// A fresh login's state with the old code: the provider refuses it.
		attacker := env.newClient(t)
		start := attacker.get(env.url + "/login")
		state := start.location(t).Query().Get("state")
		q := cb.Query()
		q.Set("state", state)
		cb.RawQuery = q.Encode()
		if r := attacker.get(cb.String()); r.code != 401 || !strings.Contains(r.body, "redeem code") {
			t.Errorf("replayed code with a fresh state: %d %.300s", r.code, r.body)
		}
		if attacker.get(env.url+"/graphs").code != 303 {
			t.Error("the replayed code gave a session")
		}
	})

	t.Run("wrong nonce", func(t *testing.T) {
		c := env.newClient(t)
		cb := c.toCallback("/", "alice")
		// The login this browser started now expects another nonce than
		// the one the provider put in the ID token.
		c.tamperLogin(t, func(pl *auth.Pending) { pl.Nonce = auth.RandomString(24) })
		if r := c.get(cb.String()); r.code != 401 || !strings.Contains(r.body, "nonce") {
			t.Errorf("wrong nonce: %d %.300s", r.code, r.body)
		}
		if c.get(env.url+"/graphs").code != 303 {
			t.Error("a session after a wrong nonce")
		}
	})

	t.Run("provider refuses a wrong PKCE verifier", func(t *testing.T) {
		c := env.newClient(t)
		cb := c.toCallback("/", "alice")
		c.tamperLogin(t, func(pl *auth.Pending) { pl.Verifier = auth.RandomString(40) })
		if r := c.get(cb.String()); r.code != 401 {
			t.Errorf("wrong PKCE verifier: %d %.300s", r.code, r.body)
		}
	})

	t.Run("login started too long ago", func(t *testing.T) {
		c := env.newClient(t)
		cb := c.toCallback("/", "alice")
		env.clock.advance(auth.LoginTTL + time.Minute)
		if r := c.get(cb.String()); r.code != 400 {
			t.Errorf("callback after %s: %d %.300s", auth.LoginTTL, r.code, r.body)
		}
		if c.get(env.url+"/graphs").code != 303 {
			t.Error("a session from an expired login")
		}
	})

	t.Run("provider error answer", func(t *testing.T) {
		c := env.newClient(t)
		cb := c.toCallback("/", "alice")
		q := url.Values{"error": {"access_denied"}, "error_description": {"the user said no"}, "state": {cb.Query().Get("state")}}
		cb.RawQuery = q.Encode()
		if r := c.get(cb.String()); r.code != 401 || !strings.Contains(r.body, "access_denied") {
			t.Errorf("error answer: %d %.300s", r.code, r.body)
		}
	})

	t.Run("email domain not allowed", func(t *testing.T) {
		c := env.newClient(t)
		cb := c.toCallback("/", "eve")
		if r := c.get(cb.String()); r.code != 401 || !strings.Contains(r.body, "allowed domain") {
			t.Errorf("eve@evil.example: %d %.300s", r.code, r.body)
		}
	})

	t.Run("group not allowed", func(t *testing.T) {
		c := env.newClient(t)
		cb := c.toCallback("/", "carol")
		if r := c.get(cb.String()); r.code != 401 || !strings.Contains(r.body, "allowed groups") {
			t.Errorf("carol (contractors): %d %.300s", r.code, r.body)
		}
	})

	t.Run("open redirect", func(t *testing.T) {
		for _, ret := range []string{"//evil.example/x", `/\evil.example`, "https://evil.example/", "/\t/evil.example", "javascript:alert(1)", "evil.example"} {
			c := env.newClient(t)
			if to := c.login(ret, "bob"); to.String() != env.url+"/" {
				t.Errorf("return %q: sent to %s, want /", ret, to)
			}
		}
	})

	t.Run("idle and absolute expiry", func(t *testing.T) {
		c := env.newClient(t)
		c.login("/", "bob")
		env.clock.advance(testIdle - time.Minute)
		if r := c.get(env.url + "/graphs"); r.code != 200 {
			t.Fatalf("within the idle time: %d", r.code)
		}
		env.clock.advance(testIdle + time.Minute)
		if r := c.get(env.url + "/graphs"); r.code != 303 {
			t.Errorf("idle session: %d, want a redirect to login", r.code)
		}
		if r := c.api("GET", "/api/v1/graphs", nil, ""); r.code != 401 {
			t.Errorf("idle session on the API: %d, want 401", r.code)
		}
		// Kept busy, a session still ends at the absolute limit.
		c.login("/", "bob")
		step := testIdle / 2
		for elapsed := step; elapsed < testAbsolute; elapsed += step {
			env.clock.advance(step)
			if r := c.get(env.url + "/graphs"); r.code != 200 {
				t.Fatalf("busy session ended after %s: %d", elapsed, r.code)
			}
		}
		// Now 2h30m after login, last seen just now: past 3h it ends.
		env.clock.advance(step + time.Minute)
		if r := c.get(env.url + "/graphs"); r.code != 303 {
			t.Errorf("session past its absolute lifetime: %d", r.code)
		}
	})

	t.Run("API tokens", func(t *testing.T) {
		alice.t, bob.t = t, t
		// The clock moved past alice's session: she signs in again.
		if alice.get(env.url+"/graphs").code != 200 {
			alice.login("/", "alice")
		}
		aliceCSRF = alice.csrf()
		r := alice.api("POST", "/api/v1/tokens", map[string]string{"name": "push from backup host"}, aliceCSRF)
		if r.code != 201 {
			t.Fatalf("create token: %d %s", r.code, r.body)
		}
		var created struct {
			Token struct {
				ID    int64
				Scope string
			}
			Secret string
		}
		json.Unmarshal([]byte(r.body), &created)
		if !strings.HasPrefix(created.Secret, "rrd_") || created.Token.Scope != "push" {
			t.Fatalf("token %q of scope %q, want push by default", created.Secret, created.Token.Scope)
		}
		// One token of each further scope; an unknown scope is refused.
		secrets := map[string]string{"push": created.Secret}
		for _, sc := range []string{"read", "write", "admin"} {
			r := alice.api("POST", "/api/v1/tokens", map[string]string{"name": sc + " script", "scope": sc}, aliceCSRF)
			var tk struct{ Secret string }
			if json.Unmarshal([]byte(r.body), &tk); r.code != 201 || !strings.Contains(r.body, `"scope":"`+sc+`"`) {
				t.Fatalf("create %s token: %d %s", sc, r.code, r.body)
			}
			secrets[sc] = tk.Secret
		}
		if r := alice.api("POST", "/api/v1/tokens", map[string]string{"name": "x", "scope": "root"}, aliceCSRF); r.code != 400 || !strings.Contains(r.body, "root") {
			t.Errorf("scope root: %d %s, want 400", r.code, r.body)
		}
		list := alice.api("GET", "/api/v1/tokens", nil, "")
		if !strings.Contains(list.body, "push from backup host") || strings.Contains(list.body, created.Secret) {
			t.Errorf("token list: %s", list.body)
		}
		if page := alice.get(env.url + "/settings/tokens"); page.code != 200 || !strings.Contains(page.body, `id="token-form"`) {
			t.Errorf("token page: %d", page.code)
		}

		script := env.newClient(t) // no cookies: a script with the token
		bearer := func(tok string) map[string]string {
			return map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
		}
		before := env.pushes.Load()
		tests := []struct {
			name, method, path, token, body string
			code                            int
		}{
			{"push token pushes", "POST", "/api/v1/write", secrets["push"], "x v=1", 204},
			{"push token cannot list graphs", "GET", "/api/v1/graphs", secrets["push"], "", 403},
			{"push token cannot read data", "GET", "/api/v1/xport?def=x", secrets["push"], "", 403},
			{"push token cannot save a graph", "POST", "/api/v1/graphs", secrets["push"], specBody("by push token"), 403},
			{"push token cannot create a monitor", "POST", "/api/v1/monitors", secrets["push"], `{"name":"m"}`, 403},
			{"read token lists graphs", "GET", "/api/v1/graphs", secrets["read"], "", 200},
			{"read token cannot save a graph", "POST", "/api/v1/graphs", secrets["read"], specBody("by read token"), 403},
			{"read token cannot push", "POST", "/api/v1/write", secrets["read"], "x v=1", 403},
			{"write token saves a graph (no CSRF needed)", "POST", "/api/v1/graphs", secrets["write"], specBody("by token"), 201},
			{"write token pushes", "POST", "/api/v1/write", secrets["write"], "x v=1", 204},
			{"write token cannot create a monitor", "POST", "/api/v1/monitors", secrets["write"], `{"name":"m"}`, 403},
			{"write token cannot run a monitor", "POST", "/api/v1/monitors/m/run", secrets["write"], `{}`, 403},
			{"admin token passes the scope check (monitors are off here)", "POST", "/api/v1/monitors", secrets["admin"], `{"name":"m"}`, 404},
			{"admin token cannot mint tokens", "POST", "/api/v1/tokens", secrets["admin"], `{"name":"more"}`, 403},
			{"push with a wrong token", "POST", "/api/v1/write", created.Secret + "x", "x v=1", 401},
			{"push with a non-token", "POST", "/api/v1/write", "hunter2", "x v=1", 401},
			{"a token cannot mint tokens", "POST", "/api/v1/tokens", created.Secret, `{"name":"more"}`, 403},
			{"a token cannot list tokens", "GET", "/api/v1/tokens", created.Secret, "", 403},
			{"a token is not a page login", "GET", "/graphs", created.Secret, "", 401},
			{"someone else's graph", "DELETE", "/api/v1/graphs/" + graphID + "x", secrets["write"], "", 404},
			{"write token cannot delete a series", "DELETE", "/api/v1/series?name=" + url.QueryEscape("app.cpu;host=a;dc=x"), secrets["write"], "", 403},
			{"write token cannot rename a series", "POST", "/api/v1/series/rename", secrets["write"], `{"old":"app.cpu;host=a;dc=x","new":"y"}`, 403},
			{"read token cannot delSeries", "POST", "/tags/delSeries", secrets["read"], "", 403},
			{"admin token renames a series", "POST", "/api/v1/series/rename", secrets["admin"], `{"old":"app.cpu;host=a;dc=x","new":"app.cpu;dc=x;host=z"}`, 200},
			{"rename onto an existing series", "POST", "/api/v1/series/rename", secrets["admin"], `{"old":"app.cpu;dc=x;host=z","new":"app.cpu;host=b;dc=y"}`, 409},
			{"rename of a missing series", "POST", "/api/v1/series/rename", secrets["admin"], `{"old":"nope","new":"x"}`, 404},
			{"renamed series is read under its new name", "GET", "/render?format=json&target=app.cpu;dc=x;host=z&from=-1h&now=" + strconv.FormatInt(testNow, 10), secrets["read"], "", 200},
			{"admin token deletes a series", "DELETE", "/api/v1/series?name=" + url.QueryEscape("app.cpu;dc=x;host=z"), secrets["admin"], "", 200},
			{"deleting it again", "DELETE", "/api/v1/series?name=" + url.QueryEscape("app.cpu;dc=x;host=z"), secrets["admin"], "", 404},
		}
		for _, tc := range tests {
			r := script.do(tc.method, env.url+tc.path, strings.NewReader(tc.body), bearer(tc.token))
			if r.code != tc.code {
				t.Errorf("%s: %d, want %d: %s", tc.name, r.code, tc.code, r.body)
			}
		}
		if r := script.do("POST", env.url+"/api/v1/monitors", strings.NewReader(`{}`), bearer(secrets["write"])); !strings.Contains(r.body, "scope write; POST /api/v1/monitors needs scope admin") {
			t.Errorf("the refusal does not name the scope needed: %s", r.body)
		}
		// graphite-web's delSeries: a form, tags in any order, true even for a missing path
		form := map[string]string{"Authorization": "Bearer " + secrets["admin"], "Content-Type": "application/x-www-form-urlencoded"}
		if r := script.do("POST", env.url+"/tags/delSeries", strings.NewReader("path="+url.QueryEscape("app.cpu;host=b;dc=y")+"&path=nope"), form); r.code != 200 || strings.TrimSpace(r.body) != "true" {
			t.Errorf("delSeries: %d %s", r.code, r.body)
		}
		if r := script.do("GET", env.url+"/tags/findSeries?expr=name=app.cpu", nil, bearer(secrets["read"])); r.code != 200 || strings.TrimSpace(r.body) != "[]" {
			t.Errorf("findSeries after delSeries and delete: %d %s", r.code, r.body)
		}
		if got := env.pushes.Load() - before; got != 2 {
			t.Errorf("%d pushes went through, want 2", got)
		}
		if r := script.api("GET", "/api/v1/graphs?user=alice", nil, ""); r.code != 401 {
			t.Errorf("no token, no cookie: %d", r.code)
		}
		// bob cannot revoke alice's token; alice can.
		path := fmt.Sprintf("/api/v1/tokens/%d", created.Token.ID)
		bob.login("/", "bob")
		if r := bob.api("DELETE", path, nil, bob.csrf()); r.code != 404 {
			t.Errorf("bob revokes alice's token: %d, want 404", r.code)
		}
		if r := alice.api("DELETE", path, nil, aliceCSRF); r.code != 204 {
			t.Fatalf("revoke: %d %s", r.code, r.body)
		}
		for _, p := range []string{"/api/v1/graphs", "/api/v1/write"} {
			method := "GET"
			if p == "/api/v1/write" {
				method = "POST"
			}
			if r := script.do(method, env.url+p, strings.NewReader("x v=1"), bearer(created.Secret)); r.code != 401 {
				t.Errorf("revoked token on %s: %d, want 401", p, r.code)
			}
		}
	})

	t.Run("logout", func(t *testing.T) {
		c := env.newClient(t)
		c.login("/", "alice")
		token := c.csrf()
		old := c.cookie(sessionCookie(env))
		r := c.do("POST", env.url+"/logout", strings.NewReader(url.Values{"csrf": {token}}.Encode()),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "same-origin"})
		if r.code != 303 {
			t.Fatalf("logout: %d %s", r.code, r.body)
		}
		end := r.location(t)
		if !strings.HasPrefix(end.String(), env.srv.login.providerOrigin+"/session/end") || end.Query().Get("id_token_hint") == "" ||
			end.Query().Get("post_logout_redirect_uri") != env.url+"/logged-out" {
			t.Errorf("logout goes to %s, want the provider's end_session_endpoint", end)
		}
		if _, err := env.md.Session(context.Background(), auth.HashID(old)); err == nil {
			t.Error("the session is still in the database")
		}
		replay := env.newClient(t)
		replay.hc.Jar.SetCookies(mustURL(env.url), []*http.Cookie{{Name: sessionCookie(env), Value: old}})
		if r := replay.get(env.url + "/graphs"); r.code != 303 {
			t.Errorf("the old session cookie still works: %d", r.code)
		}
		if r := replay.api("GET", "/api/v1/graphs", nil, ""); r.code != 401 {
			t.Errorf("the old session cookie still works on the API: %d", r.code)
		}
		// At the provider: confirm, then back to /logged-out.
		p := c.get(end.String())
		for range 5 {
			if p.code == 200 && strings.Contains(p.body, "<form") {
				p = c.submitForm(p, "")
				continue
			}
			if p.code >= 300 && p.code < 400 {
				loc := p.location(t)
				if strings.HasPrefix(loc.String(), env.url) {
					if r := c.get(loc.String()); r.code != 200 || !strings.Contains(r.body, "signed out") {
						t.Errorf("back from the provider: %d %.200s", r.code, r.body)
					}
					return
				}
				p = c.get(loc.String())
				continue
			}
			break
		}
		t.Errorf("the provider's logout did not come back to rrdash: %d %.500s", p.code, p.body)
	})

	t.Run("login rate limit by client IP", func(t *testing.T) {
		c := env.newClient(t)
		c.xff = "203.0.113.7"
		for i := range testRate {
			if r := c.get(env.url + "/login"); r.code != 303 {
				t.Fatalf("login %d: %d", i, r.code)
			}
		}
		if r := c.get(env.url + "/login"); r.code != 429 || r.hdr.Get("Retry-After") == "" {
			t.Errorf("login %d from one address: %d, want 429", testRate+1, r.code)
		}
		// Entries the client adds to the left of X-Forwarded-For are not believed.
		c.xff = "198.51.100.1, 203.0.113.7"
		if r := c.get(env.url + "/login"); r.code != 429 {
			t.Errorf("spoofed X-Forwarded-For escaped the limit: %d", r.code)
		}
		if r := c.get(env.url + auth.SafeReturnTo("/auth/callback?code=x&state=y")); r.code != 429 {
			t.Errorf("the callback is not limited: %d", r.code)
		}
		c.xff = "203.0.113.8"
		if r := c.get(env.url + "/login"); r.code != 303 {
			t.Errorf("another address is limited too: %d", r.code)
		}
		env.clock.advance(time.Minute)
		c.xff = "203.0.113.7"
		if r := c.get(env.url + "/login"); r.code != 303 {
			t.Errorf("a minute later: %d", r.code)
		}
	})

	if strings.Contains(env.logs.String(), testClientSecret) {
		t.Error("the client secret is in the log")
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
