package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"rrdash/tools/testdeps"
	"strings"
	"testing"

	"rrdash/ui"
)

// TestServeConfigMonitorErrors: invalid [[monitor]] tables stop serve
// with the file and the line of the table.
func TestServeConfigMonitorErrors(t *testing.T) {
	t.Parallel()
	good := "[[monitor]]\nname = \"a\"\nlanguage = \"python\"\nsource = \"print(1)\"\ninterval = \"1m\"\ntimeout = \"10s\"\n\n"
	tests := []struct {
		name, toml, want string
	}{
		{"bad interval", good + "[[monitor]]\nname = \"b\"\nlanguage = \"python\"\nsource = \"x\"\ninterval = \"often\"\ntimeout = \"1s\"\n",
			`cfg.toml:8: monitor "b": interval "often"`},
		{"timeout above interval", good + "  [[ monitor ]]\nname = \"b\"\nlanguage = \"go\"\npath = \"/x.go\"\ninterval = \"10s\"\ntimeout = \"1m\"\n",
			`cfg.toml:8: monitor "b": timeout 1m0s must be positive and at most the interval`},
		{"duplicate", good + good, `cfg.toml:8: monitor "a" is already defined at line 1`},
		{"source and path", "[[monitor]]\nname = \"a\"\nlanguage = \"python\"\nsource = \"x\"\npath = \"/y\"\ninterval = \"1m\"\ntimeout = \"1s\"\n",
			`cfg.toml:1: monitor "a": exactly one of source and path`},
		{"bad threshold", strings.Replace(good, "timeout", "thresholds = [\"x ~ 1\"]\ntimeout", 1), `cfg.toml:1: monitor "a": thresholds[0]`},
		{"bad alert policy", good + "alert = { consecutive = 0, window_failures = 0, resolve = 1 }\n", `cfg.toml:1: monitor "a": alert: alert policy`},
		{"toml syntax", "[monitors]\nmax_concurrent = 2\njitter = = 1\n", "cfg.toml:3:"},
		{"wrong type", "[[monitor]]\nname = \"a\"\ninterval = 10\n", "line 3"},
		{"unknown key", good + "intervall = \"1m\"\n", `unknown key "monitor.intervall"`},
		{"bad webhook", "[monitors]\nwebhooks = [\"ftp://x\"]\n", `monitors.webhooks "ftp://x"`},
		{"bad jitter", "[monitors]\njitter = 1.5\n", "monitors.jitter 1.5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "cfg.toml")
			if err := os.WriteFile(path, []byte(tc.toml), 0o600); err != nil {
				t.Fatal(err)
			}
			err := runServe(context.Background(), []string{"--config", path, "--data", filepath.Join(dir, "data"), "--addr", "127.0.0.1:0"}, &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestMonitorRunCommand runs scripts once through `rrdash monitor run`.
func TestMonitorRunCommand(t *testing.T) {
	testdeps.Program(t, "python3")
	// Compiled Go scripts are cached under the user cache directory: a
	// temporary one here, keeping Go's own build cache where it was.
	if gocache, err := exec.Command("go", "env", "GOCACHE").Output(); err == nil {
		t.Setenv("GOCACHE", strings.TrimSpace(string(gocache)))
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	fix := func(name string) string { return filepath.Join("..", "..", "fixtures", "monitors", name) }
	cfgDir := t.TempDir()
	cfg := filepath.Join(cfgDir, "cfg.toml")
	// A relative script path is relative to the config file.
	if err := os.WriteFile(filepath.Join(cfgDir, "check.py"), []byte(fixture(t, "fail.py")), 0o600); err != nil {
		t.Fatal(err)
	}
	toml := "[[monitor]]\nname = \"cfgfail\"\nlanguage = \"python\"\npath = \"check.py\"\ninterval = \"1m\"\ntimeout = \"10s\"\n" +
		"[[monitor.env]]\nname = \"TOKEN\"\nvalue = \"from-config-secret\"\nsecret = true\n"
	if err := os.WriteFile(cfg, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args    []string
		wantErr string
		want    []string
		not     []string
	}{
		{args: []string{fix("pass.py"), "--threshold", "latency_ms < 100"}, want: []string{"result:      ok", "metric:      latency_ms = 42.5 ms", "<script>"}},
		{args: []string{"--threshold", "latency_ms < 10", fix("pass.py")}, wantErr: "threshold latency_ms < 10 violated", want: []string{"result:      fail"}},
		{args: []string{fix("fail.py"), "--secret", "TOKEN=hush-hush-value"}, wantErr: "exit status 3", want: []string{"token ********", "--- stderr"}, not: []string{"hush-hush"}},
		{args: []string{fix("fail.py"), "--exit-ok", "0,3", "--env", "TOKEN=plain"}, want: []string{"result:      ok", "token plain"}},
		{args: []string{"--json", fix("pass.py")}, want: []string{`"outcome": "ok"`}},
		// A Go script is compiled (once per version) and run as a binary.
		{args: []string{filepath.Join("..", "..", "ingest", "monitor", "testdata", "scripts", "pass.go")}, want: []string{"(go)", "result:      ok", "metric:      rows = 17"}},
		{args: []string{"--config", cfg, "cfgfail"}, wantErr: "monitor cfgfail: fail", want: []string{"token ********"}, not: []string{"from-config-secret"}},
		{args: []string{"--config", cfg, "nosuch"}, wantErr: "no such monitor"},
		{args: []string{"--config", cfg, "nosuch", "--env", "A=b"}, wantErr: "apply to files only"},
		{args: []string{cfg}, wantErr: "cannot tell the language"},
		{args: []string{fix("pass.py"), "--env", "novalue"}, wantErr: `"novalue": want NAME=VALUE`},
		{args: []string{}, wantErr: "give one script file or monitor name"},
	}
	for _, tc := range tests {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"--data", t.TempDir(), "monitor", "run"}, tc.args...), nil, &out, &bytes.Buffer{})
		if (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.wantErr)
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, out.String())
			}
		}
		for _, w := range tc.not {
			if strings.Contains(out.String(), w) {
				t.Errorf("%v: output shows %q", tc.args, w)
			}
		}
	}
}

// TestConfigMonitorsReadOnly: monitors of the config file are listed and
// can be run now by their owner, but not changed through the API.
func TestConfigMonitorsReadOnly(t *testing.T) {
	testdeps.Program(t, "python3")
	abs, err := filepath.Abs(filepath.Join("..", "..", "fixtures", "monitors", "pass.py"))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := configMonitors("cfg.toml", []ui.MonitorConfig{{Name: "fromfile", Owner: "ana", Language: "python", Path: abs, Interval: "1h", Timeout: "10s", Line: 3}})
	if err != nil {
		t.Fatal(err)
	}
	st := startMonitorStack(t, t.TempDir(), nil, ms)
	waitFor(t, "first run", func() bool { return len(st.runs(t, "fromfile")) == 1 })
	for _, tc := range []struct {
		method, url, user string
		body              any
		code              int
	}{
		{"PUT", "/api/v1/monitors/fromfile", "ana", map[string]any{"name": "fromfile"}, http.StatusConflict},
		{"DELETE", "/api/v1/monitors/fromfile", "ana", nil, http.StatusConflict},
		{"DELETE", "/api/v1/monitors/fromfile", "bob", nil, http.StatusForbidden},
		{"GET", "/monitors/fromfile/edit", "ana", nil, http.StatusConflict},
		{"POST", "/api/v1/monitors/fromfile/run", "bob", struct{}{}, http.StatusForbidden},
		{"POST", "/api/v1/monitors/fromfile/run", "ana", struct{}{}, http.StatusAccepted},
		{"POST", "/api/v1/monitors", "bob", map[string]any{"name": "fromfile", "language": "python", "source": "print(1)", "interval": "1m", "timeout": "1s"}, http.StatusConflict},
		{"GET", "/api/v1/monitors/nope", "ana", nil, http.StatusNotFound},
		{"GET", "/monitors/nope", "ana", nil, http.StatusNotFound},
	} {
		if r := st.do(t, tc.method, tc.url, tc.user, tc.body); r.code != tc.code {
			t.Errorf("%s %s as %s: %d %s, want %d", tc.method, tc.url, tc.user, r.code, r.body, tc.code)
		}
	}
	waitFor(t, "run now", func() bool { return len(st.runs(t, "fromfile")) == 2 })
	if page := st.do(t, "GET", "/monitors/fromfile", "ana", nil); !strings.Contains(page.body, `id="run-now"`) || strings.Contains(page.body, `id="edit-monitor"`) {
		t.Errorf("config monitor page: want run now, no edit")
	}
}

// TestMonitorSettings: [monitors] keys reach the scheduler and runner.
func TestMonitorSettings(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cfg.toml")
	toml := "[monitors]\nwebhooks = [\"http://127.0.0.1:9/hook\"]\nmax_concurrent = 7\njitter = 0.25\ncpu_seconds = 5\naddress_space_mb = 512\nopen_files = 64\nprocesses = 0\npython = \"/usr/bin/python3\"\n"
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := ui.LoadServeConfig(path, func(k string) string {
		if k == "RRDASH_MONITORS_OPEN_FILES" {
			return "32"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := newScheduler(cfg.Monitors, t.TempDir(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	l := s.Runner.Limits
	if s.MaxConcurrent != 7 || s.Jitter != 0.25 || len(s.Webhooks) != 1 || s.Webhooks[0].URL != "http://127.0.0.1:9/hook" ||
		s.Runner.Python != "/usr/bin/python3" || l.CPUSeconds != 5 || l.AddressSpace != 512<<20 || l.OpenFiles != 32 || l.Processes != 0 {
		t.Errorf("scheduler %+v, limits %+v", s, l)
	}
	if err := os.WriteFile(path, []byte("[monitors]\ncpu_seconds = -1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ui.LoadServeConfig(path, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "monitors.cpu_seconds -1") {
		t.Errorf("negative limit: %v", err)
	}
}
