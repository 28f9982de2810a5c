package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"rrdash/store"
)

// startServeGraphite runs the serve binary with a Graphite listener and returns
// the process, its HTTP base URL, its Graphite address and its stderr so
// far (a func).
func startServeGraphite(t *testing.T, bin, data string, nofile uint64) (*exec.Cmd, string, string, func() string) {
	t.Helper()
	cmd := exec.Command(bin, "--data", data, "serve", "--addr", "127.0.0.1:0", "--graphite", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var errBuf strings.Builder
	cmd.Stderr = writerFunc(func(b []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return errBuf.Write(b)
	})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if nofile > 0 {
		// Lowered after start, hard limit too (a Go program raises its
		// soft limit to the hard one at start-up).
		if err := unix.Prlimit(cmd.Process.Pid, unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: nofile, Max: nofile}, nil); err != nil {
			t.Fatal(err)
		}
	}
	base, graphite := serveAddrs(stdout)
	go io.Copy(io.Discard, stdout)
	stderr := func() string {
		mu.Lock()
		defer mu.Unlock()
		return errBuf.String()
	}
	if base == "" || graphite == "" {
		t.Fatalf("serve did not start: %s", stderr())
	}
	return cmd, base, graphite, stderr
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

func buildRrdash(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rrdash")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// graphiteAck sends body on a new connection, half-closes and waits for
// the server's close: nil is a clean close, the acknowledgement.
func graphiteAck(addr, body string) error {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	if _, err := io.WriteString(c, body); err != nil {
		return err
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, c)
	return err
}

// TestServeSurvivesFDExhaustion runs serve with a low RLIMIT_NOFILE and
// opens connections until its accepts fail with EMFILE. The listeners
// back off and retry; once the connections close, Graphite and HTTP
// accept again and health says ok.
func TestServeSurvivesFDExhaustion(t *testing.T) {
	t.Parallel()
	bin := buildRrdash(t)
	data := t.TempDir()
	token := pushToken(t, data)
	cmd, base, graphite, stderr := startServeGraphite(t, bin, data, 0)
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	limit := uint64(len(fds) + 16)
	if err := unix.Prlimit(cmd.Process.Pid, unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: limit, Max: limit}, nil); err != nil {
		t.Fatal(err)
	}
	var hogs []net.Conn
	for i := 0; i < 64; i++ {
		for _, addr := range []string{graphite, strings.TrimPrefix(base, "http://")} {
			c, err := net.DialTimeout("tcp", addr, 10*time.Second)
			if err != nil {
				t.Fatalf("dial %d: %v", i, err)
			}
			hogs = append(hogs, c)
		}
	}
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(stderr(), "too many open files") {
		if time.Now().After(deadline) {
			t.Fatalf("no accept error with %d fds and %d connections: %s", limit, len(hogs), stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a few backoff rounds
	for _, c := range hogs {
		c.Close()
	}
	now := time.Now().Unix() / 60 * 60
	// The server closes the hogs' connections only as it reads their EOFs,
	// so for a moment a write may still meet EMFILE opening the series
	// file: it is refused (connection reset, nothing acknowledged), and
	// the client sends it again, as a carbon client would.
	for retry := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		err := graphiteAck(graphite, fmt.Sprintf("fd.graphite 1 %d\n", now-60))
		if err == nil {
			break
		}
		if time.Now().After(retry) {
			t.Fatalf("graphite after exhaustion: %v\n%s", err, stderr())
		}
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := pushWith(client, base+"/api/v1/write?precision=s", token, strings.NewReader(fmt.Sprintf("fd v=2 %d\n", now-60)))
	if err != nil {
		t.Fatalf("HTTP after exhaustion: %v\n%s", err, stderr())
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("write after exhaustion: %s", resp.Status)
	}
	// The hogs' connections still queued in the kernel are accepted (and
	// found closed) as descriptors free up, so a listener may go back to
	// retrying for a moment: readiness must come back, not at once.
	var body []byte
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err = client.Get(base + "/-/readyz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && strings.Contains(string(body), `"name":"graphite","state":"running"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz 30 s after exhaustion: %s %s", resp.Status, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(stderr(), "retrying with backoff") {
		t.Errorf("no retry logged: %s", stderr())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve: %v\n%s", err, stderr())
	}
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// a Graphite series' last update is the end of its newest slot
	for name, want := range map[string]int64{"fd.graphite": now, "fd.v": now - 60} {
		if last, err := db.LastUpdate(name); err != nil || last != want {
			t.Errorf("%s: last update %d, %v, want %d", name, last, err, want)
		}
	}
}

// TestGraphiteCleanCloseSurvivesKill9: clients send points, half-close
// and wait for the server's clean close; serve is then killed with
// SIGKILL. Every point of every cleanly closed connection is in the store
// after the restart.
func TestGraphiteCleanCloseSurvivesKill9(t *testing.T) {
	t.Parallel()
	bin := buildRrdash(t)
	data := t.TempDir()
	cmd, _, graphite, stderr := startServeGraphite(t, bin, data, 0)
	const clients, series, steps = 8, 3, 60
	start := time.Now().Unix()/60*60 - steps*60
	acked := make(chan int, clients)
	for c := range clients {
		go func() {
			var b strings.Builder
			for i := 1; i <= steps; i++ {
				for s := range series {
					fmt.Fprintf(&b, "kill9.c%d.s%d %d %d\n", c, s, c*10000+s*1000+i, start+int64(i)*60)
				}
			}
			if err := graphiteAck(graphite, b.String()); err != nil {
				acked <- -1
				return
			}
			acked <- c
		}()
	}
	var closed []int
	for range clients / 2 {
		if c := <-acked; c >= 0 {
			closed = append(closed, c)
		}
	}
	cmd.Process.Signal(syscall.SIGKILL) // right after half the clients' clean closes
	cmd.Wait()
	for range clients - clients/2 {
		if c := <-acked; c >= 0 {
			closed = append(closed, c) // closed cleanly before the kill landed
		}
	}
	if len(closed) == 0 {
		t.Fatalf("no connection closed cleanly: %s", stderr())
	}
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range closed {
		for s := range series {
			name := fmt.Sprintf("kill9.c%d.s%d", c, s)
			// a Graphite series: the point of slot ts is the row ending ts+60
			r, err := db.Fetch(name, store.FetchRequest{CF: store.Average, Start: start, End: start + (steps+1)*60, Resolution: 60})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			found := 0
			for i, v := range r.Values[0] {
				slot := r.Start + int64(i)*r.Step
				want := float64(c*10000 + s*1000 + int((slot-start)/60))
				if slot > start && slot <= start+steps*60 {
					if v != want {
						t.Errorf("%s at %d: %v, want %v", name, slot, v, want)
					}
					found++
				}
			}
			if found != steps {
				t.Errorf("%s: %d slots checked, want %d", name, found, steps)
			}
		}
	}
	t.Logf("%d of %d connections closed cleanly before the kill; all their points are stored", len(closed), clients)
}
