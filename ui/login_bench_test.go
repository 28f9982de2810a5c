package ui

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"rrdash/auth"
	"rrdash/store/meta"
)

// loginServer is a login-mode server whose provider is never contacted
// (discovery is lazy): enough to measure per-request authentication.
func loginServer(b *testing.B) (*Server, *meta.DB) {
	b.Helper()
	ts := newTestServer(b, nil)
	srv, err := New(Config{OIDC: OIDCConfig{Issuer: "http://127.0.0.1:1", ClientID: "c", RedirectURL: "http://127.0.0.1:2/auth/callback"}},
		ts.store, ts.meta, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	return srv, ts.meta
}

// BenchmarkSessionRequest: GET /-/healthz-like cost plus a session lookup
// (cookie → SHA-256 → SQLite → user) on an API call.
func BenchmarkSessionRequest(b *testing.B) {
	srv, md := loginServer(b)
	ctx := context.Background()
	u, err := md.EnsureUser(ctx, meta.User{Handle: "alice", Issuer: "i", Subject: "a"})
	if err != nil {
		b.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if _, err := srv.login.sessions.Begin(ctx, rec, httptest.NewRequest("GET", "/", nil), u.ID, ""); err != nil {
		b.Fatal(err)
	}
	cookie := rec.Result().Cookies()[0]
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest("GET", "/api/v1/tokens", nil)
		req.AddCookie(cookie)
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkTokenRequest: the same call with an API token.
func BenchmarkTokenRequest(b *testing.B) {
	srv, md := loginServer(b)
	ctx := context.Background()
	u, err := md.EnsureUser(ctx, meta.User{Handle: "alice", Issuer: "i", Subject: "a"})
	if err != nil {
		b.Fatal(err)
	}
	tok, hash := auth.NewAPIToken()
	if _, err := md.CreateAPIToken(ctx, u, "bench", hash, auth.ScopeRead); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest("GET", "/api/v1/graphs?limit=1", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}
