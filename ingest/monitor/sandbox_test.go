//go:build linux

package monitor

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"rrdash/tools/testdeps"
	"strings"
	"testing"
	"time"
)

// sandboxRunner is a cgroup runner whose runs are also inside bubblewrap,
// hiding dataDir and config. Where bwrap cannot make its namespaces the
// test skips, but fails under CI=true.
func sandboxRunner(t *testing.T, hide ...string) *Runner {
	t.Helper()
	testdeps.Program(t, "bwrap")
	testdeps.Program(t, "setpriv")
	s, err := NewSandbox(hide)
	if err == nil {
		err = s.Check(context.Background())
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the sandbox is required (CI=true): %v", err)
		}
		t.Skip(err)
	}
	r := cgroupRunner(t, true, CgroupLimits{PidsMax: 64})
	r.Sandbox = s
	// The sandbox's uid must be able to run the interpreter: Debian's,
	// not one under root's home.
	r.Python = "/usr/bin/python3"
	return r
}

func TestSandboxContainsHostileScripts(t *testing.T) {
	t.Parallel()
	testdeps.Program(t, "python3")
	// Outside /tmp (private in the sandbox anyway), so that hiding itself
	// is what keeps them out of sight: under the package directory.
	top, err := os.MkdirTemp(".", ".sandbox-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(top) })
	if top, err = filepath.Abs(top); err != nil {
		t.Fatal(err)
	}
	data, confDir := filepath.Join(top, "data"), filepath.Join(top, "etc")
	db := filepath.Join(data, "metadata.db")
	config := filepath.Join(confDir, "rrdash.toml")
	// World-readable on purpose: hiding must not depend on modes.
	for _, d := range []string{top, data, confDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{db, config} {
		if err := os.WriteFile(f, []byte("TOPSECRET"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !reachable(db, 65534, 65534) {
		t.Fatalf("%s is out of the sandbox uid's reach anyway (a directory above is closed): move the checkout to test hiding", db)
	}
	r := sandboxRunner(t, data, config)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	connect := fmt.Sprintf(`import socket
try:
    socket.create_connection(("127.0.0.1", %d), timeout=5).close()
    print("CONNECTED")
except OSError as e:
    print("NO NETWORK", e)
`, ln.Addr().(*net.TCPAddr).Port)
	tryRead := func(p string) string {
		return fmt.Sprintf(`try:
    print("LEAKED", open(%q).read())
except OSError as e:
    print("DENIED", e)
`, p)
	}
	tryWrite := `import os
for p in ["/etc/rrdash-x", "/usr/rrdash-x", "/rrdash-x", %q, os.path.join(%q, "x")]:
    try:
        open(p, "w").write("x")
        print("WROTE", p)
    except OSError as e:
        print("DENIED", e)
open("/tmp/ok", "w").write("x")
open(os.path.join(os.environ["HOME"], "ok"), "w").write("x")
print("TMP OK", os.getuid(), os.getgid())
`
	no := false
	tests := []struct {
		name    string
		src     string
		network *bool
		want    string // regexp the stdout must match
		bad     string // regexp it must not
	}{
		{name: "read_metadata_db", src: tryRead(db), want: `^DENIED .*No such file`, bad: `LEAKED|TOPSECRET`},
		{name: "read_config", src: tryRead(config), want: `^DENIED`, bad: `LEAKED|TOPSECRET`},
		// top/x is refused, or — when the checkout itself lies under /tmp,
		// which is private in the sandbox — written into that private /tmp:
		// either way it never reaches the real file system (checked below).
		{name: "write_outside_tmp", src: fmt.Sprintf(tryWrite, filepath.Join(top, "x"), data),
			want: `^(DENIED .*\n){3}(DENIED .*|WROTE ` + regexp.QuoteMeta(filepath.Join(top, "x")) + `)\nDENIED .*\nTMP OK 65534 65534\n$`,
			bad:  `WROTE (/etc|/usr|/rrdash-x|` + regexp.QuoteMeta(data) + `)`},
		{name: "socket_network_false", src: connect, network: &no, want: `^NO NETWORK`, bad: `CONNECTED`},
		{name: "socket_network_default", src: connect, want: `^CONNECTED\n$`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := Definition{Name: tc.name, Language: Python, Source: tc.src, Interval: time.Minute, Timeout: 30 * time.Second, Network: tc.network}
			m, err := d.Compile()
			if err != nil {
				t.Fatal(err)
			}
			res := r.Run(context.Background(), m)
			if res.Outcome != OK {
				t.Fatalf("outcome %s (%s)\nstdout %q\nstderr %q", res.Outcome, res.Reason, res.Stdout, res.Stderr)
			}
			if !regexp.MustCompile(tc.want).MatchString(res.Stdout) {
				t.Errorf("stdout %q does not match %q", res.Stdout, tc.want)
			}
			if tc.bad != "" && regexp.MustCompile(tc.bad).MatchString(res.Stdout) {
				t.Errorf("stdout %q matches %q", res.Stdout, tc.bad)
			}
			for _, p := range []string{filepath.Join(top, "x"), filepath.Join(data, "x"), "/etc/rrdash-x", "/usr/rrdash-x", "/rrdash-x"} {
				if _, err := os.Stat(p); err == nil {
					t.Errorf("the script's write reached %s on the real file system", p)
				}
			}
		})
	}
	for _, b := range []string{db, config} {
		if got, _ := os.ReadFile(b); string(got) != "TOPSECRET" {
			t.Errorf("%s changed: %q", b, got)
		}
	}
}

func TestSandboxRunsGoAndContainsSetsid(t *testing.T) {
	t.Parallel()
	r := sandboxRunner(t)
	res := r.Run(context.Background(), scriptMonitor(t, "pass.go", 30*time.Second, nil))
	if res.Outcome != OK {
		t.Fatalf("go monitor: %s (%s) %s", res.Outcome, res.Reason, res.Stderr)
	}
	d := Definition{Name: "setsid", Language: Python, Source: setsidSleep, Interval: time.Minute, Timeout: 30 * time.Second}
	m, err := d.Compile()
	if err != nil {
		t.Fatal(err)
	}
	res = r.Run(context.Background(), m)
	if res.Outcome != Fail || !strings.Contains(res.Reason, "still running when the script exited") {
		t.Fatalf("setsid: %s (%s) %q %q", res.Outcome, res.Reason, res.Stdout, res.Stderr)
	}
}

func TestSandboxRefusesUnreachablePython(t *testing.T) {
	t.Parallel()
	dir := t.TempDir() // 0700: closed to the sandbox's uid
	r := newRunner(t)
	r.Sandbox = &Sandbox{Bwrap: "bwrap", Setpriv: "setpriv"}
	d := Definition{Name: "x", Language: Python, Source: "print(1)", Interval: time.Minute, Timeout: time.Second}
	m, err := d.Compile()
	if err != nil {
		t.Fatal(err)
	}
	// An "interpreter" that reports itself as its executable.
	script := filepath.Join(dir, "fakepy")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho "+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.Python = script
	res := r.Run(context.Background(), m)
	if res.Outcome != Error || !strings.Contains(res.Reason, "closed to the sandbox's uid 65534") {
		t.Fatalf("outcome %s (%s), want an error naming the closed directory", res.Outcome, res.Reason)
	}
}

func TestSandboxCheckRefuses(t *testing.T) {
	t.Parallel()
	for _, s := range []*Sandbox{{}, {Bwrap: "/nonexistent/bwrap"}} {
		err := s.Check(context.Background())
		if err == nil || !strings.Contains(err.Error(), `sandbox = "none"`) {
			t.Errorf("%+v: %v, want a refusal naming sandbox = \"none\"", s, err)
		}
	}
}

func TestReachable(t *testing.T) {
	t.Parallel()
	top := t.TempDir()
	closed := filepath.Join(top, "closed")
	open := filepath.Join(top, "open")
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{closed, 0o700}, {open, 0o711}} {
		if err := os.Mkdir(d.path, d.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d.path, d.mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{top, filepath.Dir(top)} { // t.TempDir makes both 0700
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		path string
		want bool
	}{{filepath.Join(closed, "metadata.db"), false}, {filepath.Join(open, "metadata.db"), true}, {"/etc/passwd", true}} {
		if got := reachable(tc.path, 65534, 65534); got != tc.want {
			t.Errorf("reachable(%s) = %v, want %v", tc.path, got, tc.want)
		}
	}
}

// TestSandboxDefaultPythonFallsBackToSystem: with no interpreter
// configured and PATH's python3 closed to the sandbox uid (pyenv under
// /root), runs use /usr/bin/python3 — as `make run`'s demo monitor needs.
func TestSandboxDefaultPythonFallsBackToSystem(t *testing.T) {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3 on this machine")
	}
	dir := t.TempDir() // 0700: closed to the sandbox's uid
	script := filepath.Join(dir, "python3")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho "+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	r := newRunner(t)
	r.Sandbox = &Sandbox{Bwrap: "bwrap", Setpriv: "setpriv"}
	d := Definition{Name: "x", Language: Python, Source: "import sys; print(sys.executable)", Interval: time.Minute, Timeout: 10 * time.Second}
	m, err := d.Compile()
	if err != nil {
		t.Fatal(err)
	}
	res := r.Run(context.Background(), m)
	if res.Outcome != OK || !strings.Contains(res.Stdout, "/usr/bin/python3") {
		t.Fatalf("outcome %s (%s), output %q; want a run of /usr/bin/python3", res.Outcome, res.Reason, res.Stdout)
	}
}
