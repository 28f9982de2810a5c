package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"rrdash/auth"
	"rrdash/store"
	"rrdash/store/meta"
	"rrdash/ui"
)

// TestServeLoginGuardsPush: with an OIDC issuer configured, serve needs a
// session for pages and an API token for push ingest. The provider is
// down here (login answers 502); the token is made in the metadata
// database as the token page makes it.
func TestServeLoginGuardsPush(t *testing.T) {
	data := t.TempDir()
	cfg := filepath.Join(data, "rrdash.toml")
	if err := os.WriteFile(cfg, []byte(`[oidc]
issuer = "http://127.0.0.1:1"
client_id = "rrdash"
client_secret = "never-logged-secret"
redirect_url = "http://127.0.0.1:8080/auth/callback"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	logw := &syncWriter{}
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, []string{"--addr", "127.0.0.1:0", "--data", data, "--config", cfg}, pw, logw)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var base string
	for sc.Scan() {
		if i := strings.Index(sc.Text(), "http://"); i >= 0 {
			base = strings.Fields(sc.Text()[i:])[0]
			break
		}
	}
	if base == "" {
		t.Fatalf("serve did not report its address: %v", <-done)
	}
	go io.Copy(io.Discard, pr)

	md, err := meta.Open(ctx, filepath.Join(data, "metadata.db"))
	if err != nil {
		t.Fatal(err)
	}
	u, err := md.EnsureUser(ctx, meta.User{Handle: "alice", Issuer: "http://127.0.0.1:1", Subject: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := ui.NewAPIToken(ctx, md, u, "push", auth.ScopePush)
	if err != nil {
		t.Fatal(err)
	}
	readTok, _, err := ui.NewAPIToken(ctx, md, u, "dashboards", auth.ScopeRead)
	if err != nil {
		t.Fatal(err)
	}
	md.Close()

	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	body := "cpu,host=a usage=1.5 1700000000\n"
	tests := []struct {
		name, method, path, token string
		code                      int
	}{
		{"push without a token", "POST", "/api/v1/write?precision=s", "", 401},
		{"points without a token", "POST", "/api/v1/points", "", 401},
		{"push with a wrong token", "POST", "/api/v1/write?precision=s", tok + "x", 401},
		{"push with the token", "POST", "/api/v1/write?precision=s", tok, 204},
		{"page without a session", "GET", "/graphs", "", 303},
		{"push with a read token", "POST", "/api/v1/write?precision=s", readTok, 403},
		{"API with the push token", "GET", "/api/v1/graphs", tok, 403},
		{"API with the read token", "GET", "/api/v1/graphs", readTok, 200},
		{"health", "GET", "/-/healthz", "", 200},
		{"login while the provider is down", "GET", "/login", "", 502},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, base+tt.path, strings.NewReader(body))
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.code {
			t.Errorf("%s: %s, want %d", tt.name, resp.Status, tt.code)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if strings.Contains(logw.String(), "never-logged-secret") {
		t.Error("the client secret is in the log")
	}
	if !strings.Contains(logw.String(), "OIDC provider not reachable") {
		t.Errorf("no warning about the unreachable provider in the log:\n%s", logw.String())
	}
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if last, err := db.LastUpdate("cpu.usage;host=a"); err != nil || last != 1700000000 {
		t.Errorf("the pushed point: last update %d, %v", last, err)
	}
}

// syncWriter is a log sink safe for the server's goroutines.
type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
