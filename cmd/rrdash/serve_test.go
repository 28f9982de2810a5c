package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rrdash/auth"
	"rrdash/store"
	"rrdash/store/meta"
	"rrdash/ui"
)

// pushToken makes a push-scoped API token for the local user of the serve
// running on data: scripts need one in the single-user mode too.
func pushToken(t *testing.T, data string) string {
	t.Helper()
	return dataToken(t, data, "test push", auth.ScopePush)
}

// dataToken makes an API token of scope for the local user in
// data/metadata.db.
func dataToken(t *testing.T, data, name string, scope auth.Scope) string {
	t.Helper()
	md, err := meta.Open(context.Background(), filepath.Join(data, "metadata.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close()
	return localToken(t, md, name, scope)
}

// localToken makes an API token of scope for the local user in md.
func localToken(t *testing.T, md *meta.DB, name string, scope auth.Scope) string {
	t.Helper()
	ctx := context.Background()
	u, err := md.EnsureUser(ctx, meta.User{Handle: "local", Issuer: meta.LocalIssuer, Subject: "local"})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := ui.NewAPIToken(ctx, md, u, name, scope)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// pushWith posts line protocol with an API token.
func pushWith(c *http.Client, url, token string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Authorization", "Bearer "+token)
	return c.Do(req)
}

// TestServePushAndShutdown starts `rrdash serve` on 127.0.0.1, pushes
// InfluxDB line protocol, and checks that a graceful shutdown leaves the
// points durable in the store.
func TestServePushAndShutdown(t *testing.T) {
	data := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, []string{"--addr", "127.0.0.1:0", "--data", data, "--graphite", "127.0.0.1:0"}, pw, io.Discard)
		pw.Close()
	}()
	base, graphite := serveAddrs(pr)
	if graphite == "" {
		t.Fatal("no graphite listener reported")
	}
	conn, err := net.Dial("tcp", graphite)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "carbon.test 4.5 1700000000\ncarbon.test 5.5 1700000060\n")
	conn.Close()
	if base == "" {
		t.Fatalf("serve did not report its address: %v", <-done)
	}
	go io.Copy(io.Discard, pr)
	client := &http.Client{Timeout: 10 * time.Second}
	tok := pushToken(t, data)
	body := "cpu,host=b,dc=x usage=1.5,label=\"web\" 1700000000\ncpu,host=b,dc=x usage=2.5 1700000060\n"
	resp, err := pushWith(client, base+"/api/v1/write?precision=s", tok, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write: %s", resp.Status)
	}
	// The single-user mode takes no write without a token or proof that
	// it comes from its own pages, and answers only its own host names.
	for _, tt := range []struct {
		name, method, path, host, token, origin string
		code                                    int
	}{
		{"push without a token", "POST", "/api/v1/write", "", "", "", http.StatusForbidden},
		{"cross-site form post", "POST", "/api/v1/points", "", "", "http://evil.example", http.StatusForbidden},
		{"rebinding: push", "POST", "/api/v1/write", "evil.example", tok, "", http.StatusMisdirectedRequest},
		{"rebinding: metrics", "GET", "/-/metrics", "evil.example", "", "", http.StatusMisdirectedRequest},
		{"rebinding: monitor API", "POST", "/api/v1/monitors", "evil.example", "", "http://evil.example", http.StatusMisdirectedRequest},
		{"load-balancer health probe", "GET", "/-/healthz", "lb.internal", "", "", http.StatusOK},
		{"metrics on localhost", "GET", "/-/metrics", "localhost", "", "", http.StatusOK},
	} {
		req, _ := http.NewRequest(tt.method, base+tt.path, strings.NewReader("cpu usage=1 1700000120\n"))
		if tt.host != "" {
			req.Host = tt.host
		}
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		if tt.origin != "" {
			req.Header.Set("Origin", tt.origin)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.code {
			t.Errorf("%s: %s, want %d", tt.name, resp.Status, tt.code)
		}
	}
	resp, err = pushWith(client, base+"/api/v1/write", tok, strings.NewReader("cpu usage=\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad line: %s, want 400", resp.Status)
	}
	resp, err = client.Get(base + "/-/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// a Graphite series keeps a point in its step slot: 1700000060 is in
	// [1700000040, 1700000100), whose row ends at 1700000100 (docs/STORE.md)
	for name, want := range map[string]int64{"cpu.usage;dc=x;host=b": 1700000060, "carbon.test": 1700000100} {
		if last, err := db.LastUpdate(name); err != nil || last != want {
			t.Errorf("series %q: last update %d, %v; want %d", name, last, err, want)
		}
	}
}

func TestServeEvalLimitFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--eval-budget", "lots"}, `--eval-budget "lots": want a number of row-operations`},
		{[]string{"--eval-budget", "-5"}, "eval_budget -5: must not be negative"},
		{[]string{"--eval-timeout", "soon"}, `eval_timeout "soon": want a duration`},
	} {
		args := append([]string{"--addr", "127.0.0.1:0", "--data", t.TempDir()}, tc.args...)
		err := runServe(context.Background(), args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
		}
	}
}
