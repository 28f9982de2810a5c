package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"rrdash/tools/testdeps"
)

// freeAddr returns a loopback address nothing listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// sendPlaintext sends Graphite lines, half-closes and waits for the
// server's close: its acknowledgement that every point is durable.
func sendPlaintext(t *testing.T, addr, body string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, body); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(time.Minute))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("the server did not acknowledge: %v", err)
	}
}

// TestRetentionLateDeleteRenameKill9 runs serve with [[retention]] rules
// and the Graphite listener: points and late points pushed as plaintext,
// acknowledged, serve killed with SIGKILL; then a rename and a delete
// through the running serve, killed again. After each kill every
// acknowledged point, overwrite, rename and delete is there.
func TestRetentionLateDeleteRenameKill9(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "rrdash")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	data := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "rrdash.toml")
	if err := os.WriteFile(cfg, []byte(`
[[retention]]
name = "late"
pattern = "g.*"
retentions = "60s:2h,5m:1d"
cf = ["AVERAGE", "MAX"]
model = "graphite"
late = "overwrite"

[[retention]]
name = "coarse"
retentions = "10s:1h"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	gaddr := freeAddr(t)
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--data", data, "--config", cfg, "--addr", freeAddr(t), "--graphite", gaddr)
		cmd.Env = append(os.Environ(), "RRDASH_LOG_LEVEL=error")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			c1, err1 := net.Dial("tcp", gaddr)
			c2, err2 := net.Dial("unix", filepath.Join(data, "rrdcached.sock"))
			if err1 == nil && err2 == nil {
				c1.Close()
				c2.Close()
				return cmd
			}
			if c1 != nil {
				c1.Close()
			}
			if c2 != nil {
				c2.Close()
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("serve did not start: %s", stderr.String())
			}
		}
	}
	kill := func(cmd *exec.Cmd) {
		cmd.Process.Kill()
		cmd.Wait()
	}
	cli := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		c := exec.Command(bin, append([]string{"--data", data}, args...)...)
		c.Stdout, c.Stderr = &out, &errb
		err := c.Run()
		if err != nil {
			return out.String(), fmt.Errorf("%v: %s", err, errb.String())
		}
		return out.String(), nil
	}

	now := time.Now().Unix()
	base := now - now%60 - 90*60 // 90 slots back
	want := map[string]map[int64]float64{"g.a": {}, "g.c": {}}
	var body strings.Builder
	for i := int64(0); i < 80; i++ {
		s := base + i*60
		for k, name := range []string{"g.a", "g.c"} {
			v := float64(i*10 + int64(k))
			want[name][s] = v
			fmt.Fprintf(&body, "%s %g %d\n", name, v, s+17) // anywhere in the slot
		}
	}
	body.WriteString("other.x 5 " + strconv.FormatInt(base, 10) + "\n")
	serve := start()
	sendPlaintext(t, gaddr, body.String())
	// late points: overwritten slots, also in the newest one
	body.Reset()
	for _, back := range []int64{0, 3, 7, 40} {
		s := base + (79-back)*60
		want["g.a"][s] = 1000 + float64(back)
		fmt.Fprintf(&body, "g.a %d %d\n", 1000+back, s+45)
	}
	sendPlaintext(t, gaddr, body.String())
	kill(serve)

	check := func(name, series string) {
		t.Helper()
		out, err := cli("fetch", series, "AVERAGE", "--start", strconv.FormatInt(base, 10), "--end", strconv.FormatInt(base+80*60, 10))
		if err != nil {
			t.Fatalf("fetch %s: %v", series, err)
		}
		got := map[int64]float64{}
		for _, l := range strings.Split(out, "\n") {
			tm, v, ok := strings.Cut(l, ": ")
			if !ok {
				continue
			}
			at, err1 := strconv.ParseInt(tm, 10, 64)
			f, err2 := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err1 == nil && err2 == nil && !math.IsNaN(f) {
				got[at-60] = f // a row ends its slot
			}
		}
		for s, w := range want[name] {
			if got[s] != w {
				t.Errorf("%s slot %d: %v, want %v", series, s, got[s], w)
			}
		}
		if len(got) != len(want[name]) {
			t.Errorf("%s: %d known slots, want %d", series, len(got), len(want[name]))
		}
	}
	info, err := cli("info", "g.a")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"step = 60", `meta[retention_rule] = "late"`, `meta[model] = "graphite"`, `meta[late] = "overwrite"`, "rra[3].pdp_per_row = 5"} {
		if !strings.Contains(info, w) {
			t.Errorf("info g.a lacks %q:\n%s", w, info)
		}
	}
	if info, err := cli("info", "other.x"); err != nil || !strings.Contains(info, "step = 10") || !strings.Contains(info, `meta[retention_rule] = "coarse"`) || !strings.Contains(info, `meta[model] = "graphite"`) {
		t.Errorf("info other.x (%v):\n%s", err, info)
	}
	check("g.a", "g.a")
	check("g.c", "g.c")

	// rename and delete through a running serve, then kill it
	serve = start()
	if _, err := cli("rename", "g.a", "g.b"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli("delete", "g.c"); err != nil {
		t.Fatal(err)
	}
	kill(serve)
	if out, err := cli("list", "g.*"); err != nil || out != "g.b\n" {
		t.Errorf("list after rename and delete: %q %v", out, err)
	}
	check("g.a", "g.b")
	// the new name keeps its rule: a late point still overwrites
	serve = start()
	s := base + 70*60
	want["g.a"][s] = -1
	sendPlaintext(t, gaddr, fmt.Sprintf("g.b -1 %d\n", s+1))
	kill(serve)
	check("g.a", "g.b")
}

// TestCarbonRelayForwardsPickle runs Debian's carbon-relay in front of
// serve's pickle listener, as a carbon deployment would: plaintext lines
// sent to the relay reach rrdash as pickle frames, and are stored as
// Graphite series in their slots.
func TestCarbonRelayForwardsPickle(t *testing.T) {
	relay := testdeps.Program(t, "carbon-relay (Debian graphite-carbon)", "/usr/bin/carbon-relay")
	schemas := testdeps.File(t, "graphite-carbon's storage-schemas.conf", "/etc/carbon/storage-schemas.conf")
	data := t.TempDir()
	paddr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, []string{"--addr", "127.0.0.1:0", "--data", data, "--pickle", paddr}, pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	sc := bufio.NewScanner(pr)
	for sc.Scan() && !strings.Contains(sc.Text(), "http://") {
	}
	go io.Copy(io.Discard, pr)

	dir := t.TempDir()
	conf := filepath.Join(dir, "carbon.conf")
	lineAddr, pickleIn := freeAddr(t), freeAddr(t)
	lhost, lport, _ := net.SplitHostPort(lineAddr)
	_, pport, _ := net.SplitHostPort(pickleIn)
	for name, body := range map[string]string{
		"carbon.conf": fmt.Sprintf(`[cache]
STORAGE_DIR = %[1]s/storage
LOCAL_DATA_DIR = %[1]s/storage/whisper
LOG_DIR = %[1]s/log
PID_DIR = %[1]s
USER =

[relay]
# the relay reads its own section only: without these its pid file went
# to GRAPHITE_ROOT's /usr/storage, left behind by every killed relay, and
# a later run whose pid had been reused exited "already running"
STORAGE_DIR = %[1]s/storage
LOG_DIR = %[1]s/log
PID_DIR = %[1]s
LINE_RECEIVER_INTERFACE = %[2]s
LINE_RECEIVER_PORT = %[3]s
PICKLE_RECEIVER_INTERFACE = %[2]s
PICKLE_RECEIVER_PORT = %[4]s
RELAY_METHOD = rules
DESTINATIONS = %[5]s
MAX_QUEUE_SIZE = 100000
MAX_DATAPOINTS_PER_MESSAGE = 50
`, dir, lhost, lport, pport, paddr),
		"relay-rules.conf": "[default]\ndefault = true\ndestinations = " + paddr + "\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(schemas)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "storage-schemas.conf"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	c, relayLog := startCarbonRelay(t, relay, conf, lineAddr)
	const n = 200 // several of the relay's 50-point messages
	now := time.Now().Unix()
	base := now - now%60 - (n+10)*60 // all in the past
	var body strings.Builder
	for i := int64(0); i < n; i++ {
		fmt.Fprintf(&body, "relayed.a %d %d\n", i*3, base+i*60+11)
		fmt.Fprintf(&body, "relayed.b;z=1;a=2 %g %d\n", float64(i)/4, base+i*60)
	}
	if _, err := io.WriteString(c, body.String()); err != nil {
		t.Fatal(err)
	}
	c.Close()
	fetch := func(series string) map[int64]float64 {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"--data", data, "fetch", series, "AVERAGE", "--start", strconv.FormatInt(base, 10), "--end", strconv.FormatInt(base+n*60, 10)}, strings.NewReader(""), &out, io.Discard); err != nil {
			return nil
		}
		got := map[int64]float64{}
		for _, l := range strings.Split(out.String(), "\n") {
			tm, v, ok := strings.Cut(l, ": ")
			at, err1 := strconv.ParseInt(tm, 10, 64)
			f, err2 := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if ok && err1 == nil && err2 == nil && !math.IsNaN(f) {
				got[at-60] = f // rows end their slot
			}
		}
		return got
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if len(fetch("relayed.a")) == n && len(fetch("relayed.b;a=2;z=1")) == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("relayed points: %d and %d of %d arrived\n%s", len(fetch("relayed.a")), len(fetch("relayed.b;a=2;z=1")), n, relayLog())
		}
	}
	a, bb := fetch("relayed.a"), fetch("relayed.b;a=2;z=1")
	for i := int64(0); i < n; i++ {
		s := base + i*60
		if a[s] != float64(i*3) || bb[s] != float64(i)/4 {
			t.Fatalf("slot %d: %v and %v, want %v and %v", s, a[s], bb[s], i*3, float64(i)/4)
		}
	}
	var info bytes.Buffer
	if err := run(context.Background(), []string{"--data", data, "info", "relayed.a"}, strings.NewReader(""), &info, io.Discard); err != nil || !strings.Contains(info.String(), `meta[model] = "graphite"`) {
		t.Errorf("info relayed.a (%v):\n%s", err, info.String())
	}
}

// startCarbonRelay starts carbon-relay with conf and returns a
// connection to its line receiver, and a function that stops the relay
// and returns its output; the relay is stopped when the test ends. Its
// output is read only once it has exited (the copy into the buffer runs
// until then).
func startCarbonRelay(t *testing.T, relay, conf, lineAddr string) (net.Conn, func() string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, relay, "--config="+conf, "--nodaemon", "start")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() { cancel(); <-exited }
	t.Cleanup(stop)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", lineAddr); err == nil {
			return c, func() string { stop(); return out.String() }
		}
		select {
		case <-exited:
			t.Fatalf("carbon-relay exited before it listened: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("carbon-relay did not listen in 30 s: %s", out.String())
		}
	}
}
