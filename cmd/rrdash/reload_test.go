package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"rrdash/store"
	"rrdash/ui"
)

// TestServeSIGHUP runs serve with --log-file and a config file, moves the
// log away as logrotate does and sends SIGHUP: a new log file is opened;
// with log_level, allowed_hosts, the [[monitor]] tables and addr changed in
// the file, the level, the Host allow-list and the monitors are applied (a
// Host refused before is answered; the monitor list of the API shows the
// new set) and addr is logged as needing a restart; a broken file changes
// nothing. serve tells systemd (NOTIFY_SOCKET) READY=1 once serving,
// RELOADING=1 and READY=1 around each SIGHUP, and STOPPING=1 at SIGTERM.
func TestServeSIGHUP(t *testing.T) {
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "rrdash")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := filepath.Join(tmp, "rrdash.toml")
	monitor := func(name string) string {
		return "[[monitor]]\nname = \"" + name + "\"\nlanguage = \"python\"\nsource = \"print(1)\"\ninterval = \"1h\"\ntimeout = \"10s\"\n"
	}
	base := "addr = \"" + addr + "\"\nlog_level = \"warn\"\n[monitors]\nsandbox = \"none\"\ncgroup = \"none\"\n"
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(cfg, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(base + monitor("one"))
	logPath := filepath.Join(tmp, "rrdash.log")
	cmd := exec.Command(bin, "serve", "--data", filepath.Join(tmp, "data"), "--config", cfg, "--log-file", logPath)
	notify := filepath.Join(tmp, "notify")
	nc := notifySocket(t, notify)
	cmd.Env = append(os.Environ(), "RRDASH_LOG_LEVEL=", "NOTIFY_SOCKET="+notify)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if got := readNotify(t, nc); !strings.HasPrefix(got, "READY=1\nSTATUS=serving on "+addr) {
		t.Errorf("sd_notify at start: %q", got)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	waitLog := func(path, want string) string {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if b, err := os.ReadFile(path); err == nil && strings.Contains(string(b), want) {
				return string(b)
			}
		}
		b, _ := os.ReadFile(path)
		t.Fatalf("%s never held %q:\n%s", path, want, b)
		return ""
	}
	names := func() []string {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			resp, err := http.Get("http://" + addr + "/api/v1/monitors")
			if err != nil {
				continue
			}
			var body struct{ Monitors []ui.MonitorView }
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, m := range body.Monitors {
				out = append(out, m.Name)
				if !m.Unsandboxed {
					t.Errorf("monitor %s runs with sandbox = \"none\" but is not marked unsandboxed", m.Name)
				}
			}
			slices.Sort(out)
			return out
		}
		t.Fatal("serve does not answer")
		return nil
	}
	if got := names(); !slices.Equal(got, []string{"one"}) {
		t.Fatalf("monitors %v", got)
	}
	// the pages label monitors that run without a sandbox
	for _, page := range []string{"/monitors", "/monitors/one"} {
		resp, err := http.Get("http://" + addr + page)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), "no sandbox") && !strings.Contains(string(b), "runs without a sandbox") {
			t.Errorf("%s does not label the monitor as running without a sandbox:\n%s", page, b)
		}
	}
	// logrotate: move the file away, then SIGHUP
	if err := os.Rename(logPath, logPath+".1"); err != nil {
		t.Fatal(err)
	}
	hostStatus := func() int {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+addr+"/monitors", nil)
		req.Host = "rrdash.example"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := hostStatus(); st != http.StatusMisdirectedRequest {
		t.Fatalf("Host rrdash.example before it is allowed: %d", st)
	}
	// a series created before the reload keeps the layout it was made with
	data := filepath.Join(tmp, "data")
	tok := pushToken(t, data)
	// each push a later second: a second point for a series in the same
	// second would be refused as late
	at := time.Now().Unix() - 60
	push := func(series string) {
		t.Helper()
		at += 10
		body := fmt.Sprintf("%s value=1 %d\n", series, at)
		resp, err := pushWith(http.DefaultClient, "http://"+addr+"/api/v1/write?precision=s", tok, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("push %s: %s %s", series, resp.Status, b)
		}
	}
	push("app_before")
	reloaded := strings.Replace(base, "[monitors]\n", "[monitors]\nwebhooks = [\"http://127.0.0.1:1/hook\"]\n", 1)
	retention := "[[retention]]\nname = \"apps\"\npattern = \"app_*.*\"\nretentions = \"30s:2h,5m:1d\"\n"
	write("allowed_hosts = [\"rrdash.example\"]\n" + strings.Replace(reloaded, "warn", "info", 1) + monitor("two") + monitor("three") + retention)
	cmd.Process.Signal(syscall.SIGHUP)
	if a, b := readNotify(t, nc), readNotify(t, nc); a != "RELOADING=1" || b != "READY=1" {
		t.Errorf("sd_notify at SIGHUP: %q, %q", a, b)
	}
	got := waitLog(logPath, "configuration reloaded")
	if st := hostStatus(); st != http.StatusOK {
		t.Errorf("Host rrdash.example after SIGHUP allowed it: %d", st)
	}
	for _, want := range []string{"applied=\"allowed_hosts, log_level, monitor, monitors.webhooks, retention\"", "monitor (re)scheduled from the config file", "monitor=two", "monitor removed from the config file"} {
		if !strings.Contains(got, want) {
			t.Errorf("log after SIGHUP lacks %q:\n%s", want, got)
		}
	}
	if got := names(); !slices.Equal(got, []string{"three", "two"}) {
		t.Errorf("monitors after SIGHUP: %v", got)
	}
	// series created after the reload follow the new [[retention]] rule;
	// the older one keeps its layout
	push("app_after")
	push("app_before")
	// a key that needs a restart, then a broken file
	write("allowed_hosts = [\"rrdash.example\"]\n" + strings.Replace(strings.Replace(reloaded, "warn", "info", 1), addr, "127.0.0.1:1", 1) + monitor("two") + monitor("three") + retention)
	cmd.Process.Signal(syscall.SIGHUP)
	waitLog(logPath, "need a restart; the running values are kept\" keys=addr")
	write("log_level = = 1\n")
	cmd.Process.Signal(syscall.SIGHUP)
	waitLog(logPath, "configuration not reloaded; the running one is kept")
	if got := names(); !slices.Equal(got, []string{"three", "two"}) {
		t.Errorf("monitors after a broken file: %v", got)
	}
	readNotify(t, nc) // RELOADING, READY of the last two signals
	readNotify(t, nc)
	readNotify(t, nc)
	readNotify(t, nc)
	cmd.Process.Signal(syscall.SIGTERM)
	if got := readNotify(t, nc); got != "STOPPING=1" {
		t.Errorf("sd_notify at SIGTERM: %q", got)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGTERM: %v", err)
	}
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct {
		name string
		step int64
		rule string
	}{
		{"app_before.value", 60, ""},
		{"app_after.value", 30, "apps"},
	} {
		in, err := db.Info(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if in.Step != tc.step || in.Meta[store.MetaRule] != tc.rule {
			t.Errorf("%s: step %d, rule %q; want step %d, rule %q", tc.name, in.Step, in.Meta[store.MetaRule], tc.step, tc.rule)
		}
	}
}

func TestChangedKeys(t *testing.T) {
	t.Parallel()
	a := ui.ServeConfig{Addr: "x", LogLevel: "info", Monitor: []ui.MonitorConfig{{Name: "m", Line: 3}}}
	for _, tc := range []struct {
		change func(*ui.ServeConfig)
		want   []string
	}{
		{func(c *ui.ServeConfig) {}, nil},
		{func(c *ui.ServeConfig) { c.Monitor = []ui.MonitorConfig{{Name: "m", Line: 9}} }, nil},
		{func(c *ui.ServeConfig) { c.Monitor = []ui.MonitorConfig{{Name: "n", Line: 3}} }, []string{"monitor"}},
		{func(c *ui.ServeConfig) { c.LogLevel, c.Addr = "debug", "y" }, []string{"addr", "log_level"}},
		{func(c *ui.ServeConfig) { c.Tracelog.Globs = []string{"*.log"} }, []string{"tracelog"}},
	} {
		b := a
		b.Monitor = slices.Clone(a.Monitor)
		tc.change(&b)
		if got := changedKeys(a, b); !slices.Equal(got, tc.want) {
			t.Errorf("changedKeys: %v, want %v", got, tc.want)
		}
	}
}

// TestFlagsWinAtReload: keys the command line set keep their running
// values when the file changes them; others take the file's.
func TestFlagsWinAtReload(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.String("addr", "", "")
	var hosts globList
	fs.Var(&hosts, "allowed-host", "")
	fs.String("statsd", "", "")
	if err := fs.Parse([]string{"--addr", "127.0.0.1:1", "--allowed-host", "a.example"}); err != nil {
		t.Fatal(err)
	}
	keys := flagKeys(fs)
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"addr", "allowed_hosts"}) {
		t.Fatalf("flagKeys %v", keys)
	}
	cur := ui.ServeConfig{Addr: "127.0.0.1:1", AllowedHosts: []string{"a.example"}, LogLevel: "info"}
	next := ui.ServeConfig{Addr: "127.0.0.1:2", AllowedHosts: []string{"b.example"}, LogLevel: "debug"}
	keep(&next, cur, keys)
	if next.Addr != cur.Addr || !slices.Equal(next.AllowedHosts, cur.AllowedHosts) || next.LogLevel != "debug" {
		t.Errorf("after keep: %+v", next)
	}
	if got := changedKeys(cur, next); !slices.Equal(got, []string{"log_level"}) {
		t.Errorf("changed %v", got)
	}
}

// TestReloadRetentionAndWebhooks: [[retention]] and [monitors] webhooks
// apply live; another [monitors] setting changed beside them is refused
// while the webhooks still apply.
func TestReloadRetentionAndWebhooks(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rrdash.toml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("[monitors]\nkeep_runs = 10\n")
	cur, err := ui.LoadServeConfig(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	var rules *store.Retention
	var hooks []string
	retentionSets := 0
	r := &reloader{path: path, cur: cur, level: new(slog.LevelVar), log: slog.New(slog.NewTextHandler(&logs, nil)),
		retention: func(x *store.Retention) { rules = x; retentionSets++ },
		webhooks:  func(u []string) { hooks = u }}
	write("[monitors]\nkeep_runs = 20\nwebhooks = [\"http://127.0.0.1:9/hook\"]\n" +
		"[[retention]]\nname = \"apps\"\npattern = \"app.*\"\nretentions = \"30s:2h\"\n")
	r.reload(context.Background())
	if rules == nil || rules.Match("app.x") != "apps" || rules.Match("db.x") != "" {
		t.Errorf("retention after reload: %v", rules)
	}
	if !slices.Equal(hooks, []string{"http://127.0.0.1:9/hook"}) {
		t.Errorf("webhooks after reload: %v", hooks)
	}
	if r.cur.Monitors.KeepRuns != 10 || !slices.Equal(r.cur.Monitors.Webhooks, hooks) {
		t.Errorf("running [monitors] after reload: %+v", r.cur.Monitors)
	}
	for _, want := range []string{`applied="monitors.webhooks, retention"`, `keys=monitors`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	// the rules are gone from the file: series fall back to their sources' defaults
	hooks = nil
	write("[monitors]\nkeep_runs = 10\nwebhooks = [\"http://127.0.0.1:9/hook\"]\n")
	r.reload(context.Background())
	if retentionSets != 2 || rules.Match("app.x") != "" || hooks != nil {
		t.Errorf("after removing the rules: %d sets, app.x matches %q, webhooks set again %v", retentionSets, rules.Match("app.x"), hooks)
	}
}
