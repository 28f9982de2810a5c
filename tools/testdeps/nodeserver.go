package testdeps

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// NodeServer starts tools/<name>/start.js (an npm package that make
// deps-test installs into tools/<name>) on a free 127.0.0.1 port, waits for
// its "<name> ready <endpoint>" line and returns the endpoint. The server
// stops with the test: start.js exits when its stdin closes.
func NodeServer(t testing.TB, name string) string {
	t.Helper()
	node := Program(t, "node")
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", name) // tools/<name>
	File(t, name+" (make deps-test)", filepath.Join(dir, "node_modules", name, "package.json"))
	cmd := exec.Command(node, "start.js", "--port", "0")
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if ep, ok := strings.CutPrefix(sc.Text(), name+" ready "); ok {
				ready <- ep
			}
		}
		close(ready)
	}()
	select {
	case ep, ok := <-ready:
		if !ok {
			t.Fatalf("%s exited before it was ready", name)
		}
		return ep
	case <-time.After(30 * time.Second):
		t.Fatalf("%s not ready after 30 s", name)
	}
	return ""
}
