package rrdcached

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"rrdash/tools/testdeps"
	"strings"
	"testing"
	"time"

	"rrdash/store"
	"rrdash/store/rrdtooltest"
)

// freePort returns a loopback port nobody listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startRealRrdcached runs Debian's rrdcached on base (journal on, writes
// limited to base) listening on a UNIX socket and loopback TCP.
func startRealRrdcached(t *testing.T, base string) (unixAddr, tcpAddr string) {
	t.Helper()
	bin := testdeps.Program(t, "rrdcached", "/usr/bin/rrdcached", "/usr/sbin/rrdcached")
	work := t.TempDir()
	sock := filepath.Join(work, "s")
	tcpAddr = freePort(t)
	cmd := exec.Command(bin, "-g", "-B", "-b", base, "-F", "-j", work, "-p", filepath.Join(work, "pid"),
		"-l", "unix:"+sock, "-l", tcpAddr)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("rrdcached output:\n%s", out.String())
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rrdcached did not start: %s", out.String())
		}
	}
	return "unix:" + sock, tcpAddr
}

// startUnixServer serves a fresh store on DIR/rrdcached.sock (every
// command) and loopback TCP (perms).
func startUnixServer(t *testing.T, perms Permissions) (dir, unixAddr, tcpAddr string, db *store.DB) {
	t.Helper()
	dir = t.TempDir()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(db, Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "rrdcached.sock")
	ul, err := ListenUnix(sock, 0o660)
	if err != nil {
		t.Fatal(err)
	}
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- srv.Serve(ctx, srv.Listener(ul, "rrdcached unix"), AllCommands) }()
	go func() { done <- srv.Serve(ctx, srv.Listener(tl, "rrdcached tcp"), perms) }()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
		db.Close()
	})
	return dir, "unix:" + sock, tl.Addr().String(), db
}

// rrdtool runs the real rrdtool in dir with args and returns its output.
func rrdtool(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(rrdtooltest.Bin(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustRRDtool(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := rrdtool(t, dir, args...)
	if err != nil {
		t.Fatalf("rrdtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// TestRealRRDtoolAgainstRrdcached drives real rrdtool 1.7.2 --daemon
// against real rrdcached (files in its base directory) and against
// rrdash, over UNIX sockets and loopback TCP, with the same commands: the
// outputs must be the same.
func TestRealRRDtoolAgainstRrdcached(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	rcUnix, rcTCP := startRealRrdcached(t, base)
	perms, err := ParsePermissions(DefaultTCPCommands)
	if err != nil {
		t.Fatal(err)
	}
	dir, rdUnix, rdTCP, db := startUnixServer(t, perms)

	create := []string{"create", "web1.rrd", "--start", "1700000000", "--step", "60",
		"DS:a:GAUGE:120:U:U", "DS:b:COUNTER:120:0:U", "RRA:AVERAGE:0.5:1:100", "RRA:MAX:0.5:5:100", "RRA:LAST:0.5:1:100"}
	update := []string{"update", "web1.rrd"}
	for i := 1; i <= 60; i++ {
		if i == 30 {
			continue // a gap: unknown rows
		}
		update = append(update, fmt.Sprintf("%d:%d:%d", 1700000000+i*60-7*(i%3), i*i%17, i*1000+i*i*7))
	}
	for _, side := range []struct{ dir, addr string }{{base, rcUnix}, {dir, rdUnix}} {
		mustRRDtool(t, side.dir, append([]string{create[0], "--daemon", side.addr}, create[1:]...)...)
		mustRRDtool(t, side.dir, append([]string{update[0], "--daemon", side.addr}, update[1:]...)...)
	}
	// TCP may not create by default
	if out, err := rrdtool(t, dir, "create", "--daemon", rdTCP, "x.rrd", "DS:a:GAUGE:120:U:U", "RRA:AVERAGE:0.5:1:10"); err == nil || !strings.Contains(out, "Permission denied") {
		t.Errorf("create over TCP with the default permissions: %v %q, want Permission denied", err, out)
	}

	rng := []string{"-s", "1699999000", "-e", "1700004000"}
	reads := [][]string{
		append([]string{"fetch", "web1.rrd", "AVERAGE"}, rng...),
		append([]string{"fetch", "web1.rrd", "MAX"}, rng...),
		append([]string{"fetch", "web1.rrd", "LAST"}, rng...),
		{"info", "web1.rrd"},
		{"last", "web1.rrd"},
		{"first", "web1.rrd"},
		{"first", "--rraindex", "1", "web1.rrd"},
		append([]string{"xport", "--json"}, append(rng, "DEF:a=web1.rrd:a:AVERAGE", "DEF:b=web1.rrd:b:MAX", "CDEF:c=a,b,+", "XPORT:a:a", "XPORT:c:sum")...),
		append([]string{"graphv", "-"}, append(rng, "--imgformat", "SVG", "DEF:a=web1.rrd:a:AVERAGE", "DEF:b=web1.rrd:b:AVERAGE",
			"LINE1:a#ff0000:a", "AREA:b#00ff0080:b", "VDEF:m=a,MAXIMUM", "PRINT:m:%lf", "GPRINT:b:AVERAGE:%lf")...),
		append([]string{"graph", "-"}, append(rng, "DEF:a=web1.rrd:a:AVERAGE", "LINE2:a#0000ff:a")...),
	}
	// rrdash has no rrdtool header, and its file name is its own
	drop := regexp.MustCompile(`(?m)^(header_size|filename|rra\[\d+\]\.cur_row) = .*\n`)
	for _, r := range reads {
		want := mustRRDtool(t, base, append([]string{r[0], "--daemon", rcUnix}, r[1:]...)...)
		want = drop.ReplaceAllString(want, "")
		for _, addr := range []string{rdUnix, rdTCP} {
			got := mustRRDtool(t, dir, append([]string{r[0], "--daemon", addr}, r[1:]...)...)
			got = drop.ReplaceAllString(got, "")
			if got != want {
				t.Errorf("rrdtool %s via %s:\n got %q\nwant %q", strings.Join(r, " "), addr, got, want)
			}
		}
	}
	// rrdcached over TCP answers as over the socket (a check of the reference)
	if a, b := mustRRDtool(t, base, append([]string{"fetch", "--daemon", rcTCP, "web1.rrd", "AVERAGE"}, rng...)...),
		mustRRDtool(t, base, append([]string{"fetch", "--daemon", rcUnix, "web1.rrd", "AVERAGE"}, rng...)...); a != b {
		t.Errorf("rrdcached differs between TCP and UNIX socket")
	}
	// lastupdate and dump flush through the daemon, then read the .rrd
	// file themselves (rrd_lastupdate.c, rrd_dump.c): rrdash writes the
	// series' rrdtool image there when FLUSHed (export.go). Over TCP the
	// client reads the name relative to its directory, as with rrdcached.
	for _, r := range [][]string{{"lastupdate", "web1.rrd"}, {"dump", "web1.rrd"}} {
		want := mustRRDtool(t, base, append([]string{r[0], "--daemon", rcUnix}, r[1:]...)...)
		for _, addr := range []string{rdUnix, rdTCP} {
			os.Remove(filepath.Join(dir, "web1.rrd")) // each run writes it anew
			if got := mustRRDtool(t, dir, append([]string{r[0], "--daemon", addr}, r[1:]...)...); got != want {
				t.Errorf("rrdtool %s via %s:\n got %q\nwant %q", strings.Join(r, " "), addr, got, want)
			}
		}
	}
	// the image is a real rrdtool file: rrdtool reading it without a
	// daemon answers as rrdcached's file does
	for _, r := range append(reads[:4:4], []string{"lastupdate", "web1.rrd"}, []string{"dump", "web1.rrd"}) {
		want := drop.ReplaceAllString(mustRRDtool(t, base, r...), "")
		if got := drop.ReplaceAllString(mustRRDtool(t, dir, r...), ""); got != want {
			t.Errorf("rrdtool %s on rrdash's image:\n got %q\nwant %q", strings.Join(r, " "), got, want)
		}
	}
	// a FLUSH refreshes the image: updates after the first lastupdate show
	for _, side := range []struct{ dir, addr string }{{base, rcUnix}, {dir, rdUnix}} {
		mustRRDtool(t, side.dir, "update", "--daemon", side.addr, "web1.rrd", "1700003700:42:999999")
	}
	want := mustRRDtool(t, base, "lastupdate", "--daemon", rcUnix, "web1.rrd")
	if got := mustRRDtool(t, dir, "lastupdate", "--daemon", rdUnix, "web1.rrd"); got != want || !strings.Contains(got, "42 999999") {
		t.Errorf("lastupdate after a further update: %q, want %q", got, want)
	}
	// and what rrdash itself says of the series agrees
	in, err := db.Info("web1")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf(" a b\n\n%10d: %s %s\n", in.LastUpdate, in.DS[0].LastDS, in.DS[1].LastDS); got != want {
		t.Errorf("lastupdate: rrdash's state %q, rrdcached's %q", got, want)
	}
}
