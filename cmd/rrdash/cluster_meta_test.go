package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"rrdash/auth"
	"rrdash/store/meta"
	"rrdash/store/meta/pgtest"
)

// TestTwoServersShareMetadataInPostgres: two `rrdash serve` on their own
// data directories and one PostgreSQL (metadata_url); a graph saved
// through one is listed and served by the other.
func TestTwoServersShareMetadataInPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL, cfg := pgMetadataConfig(t)
	nodes := make([]*serveProc, 2)
	dirs := []string{t.TempDir(), t.TempDir()}
	for i := range nodes {
		nodes[i] = startServeMeta(t, dirs[i], "--config", cfg)
		defer nodes[i].stop(t)
	}
	// A token made in the shared database works on both nodes.
	md, err := meta.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close()
	if md.Engine() != "postgres" {
		t.Fatalf("engine %s", md.Engine())
	}
	tok := localToken(t, md, "test", auth.ScopeWrite)
	c := &http.Client{Timeout: 10 * time.Second}
	call := func(method, url string, body any) (int, map[string]any) {
		t.Helper()
		var b []byte
		if body != nil {
			b, _ = json.Marshal(body)
		}
		req, _ := http.NewRequest(method, url, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	spec := map[string]any{"title": "load", "start": "-1h", "end": "now",
		"defs":  []map[string]any{{"kind": "DEF", "name": "a", "series": "cpu", "ds": "value", "cf": "AVERAGE"}},
		"items": []map[string]any{{"type": "LINE", "vname": "a", "color": "#ff0000"}}}
	code, saved := call("POST", nodes[0].base+"/api/v1/graphs", map[string]any{"title": "shared load", "spec": spec})
	if code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("save on node 0: %d %v", code, saved)
	}
	id, _ := saved["id"].(string)
	if id == "" {
		t.Fatalf("saved graph has no id: %v", saved)
	}
	code, got := call("GET", nodes[1].base+"/api/v1/graphs/"+id, nil)
	if code != http.StatusOK || got["title"] != "shared load" {
		t.Fatalf("graph %s on node 1: %d %v", id, code, got)
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "metadata.db")); !os.IsNotExist(err) {
			t.Errorf("%s/metadata.db made beside metadata_url: %v", d, err)
		}
	}
}

// pgMetadataConfig makes a database in a private PostgreSQL and returns
// its URL and an rrdash.toml that sets it as metadata_url.
func pgMetadataConfig(t *testing.T) (dbURL, cfg string) {
	t.Helper()
	dbURL, err := pgtest.Private(t).NewDatabase(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	cfg = filepath.Join(t.TempDir(), "rrdash.toml")
	if err := os.WriteFile(cfg, []byte("metadata_url = \""+dbURL+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dbURL, cfg
}

// startServeMeta starts serve on data with extra flags, like startServe
// but making no token in DATA/metadata.db (the metadata may be elsewhere).
func startServeMeta(t *testing.T, data string, extra ...string) *serveProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	p := &serveProc{cancel: cancel, done: make(chan error, 1)}
	args := append([]string{"--addr", "127.0.0.1:0", "--data", data}, extra...)
	go func() {
		p.done <- runServe(ctx, args, pw, io.Discard)
		pw.Close()
	}()
	p.base, p.graphite = serveAddrs(pr)
	go io.Copy(io.Discard, pr)
	if p.base == "" {
		cancel()
		t.Fatalf("serve did not start: %v", <-p.done)
	}
	return p
}
