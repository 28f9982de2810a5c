package ui

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"rrdash/store/meta"
)

// A stopped source fails /-/healthz and /-/readyz; a retrying one fails
// readiness only; both are named in the body.
func TestHealthReportsSources(t *testing.T) {
	t.Parallel()
	md, err := meta.Open(context.Background(), filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { md.Close() })
	user := func(r *http.Request) (meta.User, error) {
		return md.EnsureUser(r.Context(), meta.User{Handle: "local", Issuer: "test", Subject: "local"})
	}
	var mu sync.Mutex
	state, errText := "running", ""
	sources := func() []SourceStatus {
		mu.Lock()
		defer mu.Unlock()
		return []SourceStatus{{Name: "graphite", State: state, Error: errText}}
	}
	srv, err := New(Config{LocalMode: true, Sources: sources}, newFixtureStore(t), md, user, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		state, err       string
		health, ready    int
		status, contains string
	}{
		{"running", "", 200, 200, `"status":"ok"`, `"state":"running"`},
		{"retrying", "accept tcp: too many open files", 200, 503, `"status":"degraded"`, "too many open files"},
		{"stopped", "accept: broken", 503, 503, `"status":"failing"`, `"state":"stopped"`},
	} {
		mu.Lock()
		state, errText = tc.state, tc.err
		mu.Unlock()
		for path, want := range map[string]int{"/-/healthz": tc.health, "/-/readyz": tc.ready, "/-/ready": tc.ready} {
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			body := rec.Body.String()
			if rec.Code != want || !strings.Contains(body, tc.status) || !strings.Contains(body, tc.contains) {
				t.Errorf("%s with %s: %d %s, want %d with %s and %s", path, tc.state, rec.Code, body, want, tc.status, tc.contains)
			}
		}
	}
}
