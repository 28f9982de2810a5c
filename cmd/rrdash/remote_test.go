package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startServeRRD runs `rrdash serve` on data (HTTP and, when tcp, the
// rrdcached protocol on loopback TCP) until the test ends; it returns the
// rrdcached addresses serve printed.
func startServeRRD(t *testing.T, data string, tcp bool) []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	args := []string{"--addr", "127.0.0.1:0", "--data", data}
	if tcp {
		args = append(args, "--rrdcached", "127.0.0.1:0")
	}
	go func() {
		done <- runServe(ctx, args, pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	var addrs []string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "rrdcached protocol on "); ok {
			addrs = append(addrs, strings.Fields(rest)[0])
		}
		if strings.Contains(sc.Text(), "http://") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if len(addrs) == 0 {
		t.Fatal("serve reported no rrdcached listener")
	}
	return addrs
}

// cliScript exercises every series command, with errors among them.
var cliScript = [][]string{
	{"create", "s", "--start", "1000000000", "--step", "10", "DS:g:GAUGE:30:U:U", "DS:c:COUNTER:30:0:U", "RRA:AVERAGE:0.5:1:20", "RRA:MAX:0.5:3:10", "RRA:AVERAGE:0.5:3:10"},
	{"create", "s", "--no-overwrite", "--start", "1000000000", "DS:g:GAUGE:30:U:U", "RRA:AVERAGE:0.5:1:20"},
	{"create", "web 1;dc=x", "--start", "1000000000", "--step", "10", "DS:v:GAUGE:30:0:100", "RRA:LAST:0:1:5"},
	{"create", "//host/check#m", "--start", "1000000000", "--step", "10", "DS:v:DERIVE:30:U:U", "RRA:AVERAGE:0:1:5"},
	{"create", "bad", "--start", "1000000000", "DS:v:GAUGE:30:U:U"},
	{"update", "s", "1000000010:1:100", "1000000020:2.5:200", "1000000030:0.1:300", "1000000041.250000:0.3333333333333333:450"},
	{"update", "s", "1000000035:1:1"},
	{"update", "s", "1000000050:7:500", "1000000045:1:1", "1000000060:1:1"},
	{"update", "s", "1000000070:1"},
	{"update", "s", "--template", "c:g", "1000000080:800:12345678.123456789", "1000000090:900:1e300"},
	{"update", "web 1;dc=x", "1000000010:50", "1000000020:150"},
	{"update", "//host/check#m", "1000000010:5", "1000000020:7"},
	{"update", "nope", "1000000050:1"},
	{"updatev", "web 1;dc=x", "1000000025.5:60", "1000000051:70", "1000000045:1", "1000000080:2"},
	{"updatev", "web 1;dc=x", "--skip-past-updates", "1000000045:1", "1000000090:3"},
	{"updatev", "nope", "1000000050:1"},
	{"update", "//host/check#m", "-s", "1000000015:1", "1000000030:9"},
	{"update", "//host/check#m", "1000000030:10"},
	{"fetch", "s", "AVERAGE", "--start", "1000000000", "--end", "1000000100"},
	{"fetch", "s", "MAX", "-s", "1000000000", "-e", "1000000100", "-r", "30"},
	{"fetch", "s", "AVERAGE", "-s", "1000000005", "-e", "1000000100", "-r", "30", "--align-start"},
	{"fetch", "s", "AVERAGE", "-s", "1000000000", "-e", "1000000100", "--json"},
	{"fetch", "s", "LAST", "-s", "1000000000", "-e", "1000000100"},
	{"fetch", "s", "AVERAGE", "-s", "1000000100", "-e", "1000000000"},
	{"fetch", "nope", "AVERAGE", "-s", "1000000000", "-e", "1000000100"},
	{"fetch", "web 1;dc=x", "LAST", "-s", "1000000000", "-e", "1000000050"},
	{"fetch", "//host/check#m", "AVERAGE", "-s", "1000000000", "-e", "1000000050"},
	{"info", "s"},
	{"info", "s", "--json"},
	{"info", "//host/check#m"},
	{"info", "nope"},
	{"last", "s"},
	{"last", "web 1;dc=x"},
	{"first", "s"},
	{"first", "s", "--rraindex", "2"},
	{"first", "s", "--rraindex", "3"},
	{"first", "nope"},
	{"lastupdate", "s"},
	{"lastupdate", "web 1;dc=x"},
	{"lastupdate", "nope"},
	{"tune", "s", "-h", "g:60", "-d", "c:DERIVE", "-r", "g:g"},
	{"tune", "s", "-h", "nope:5"},
	{"tune", "s", "DS:n:GAUGE:30:U:U", "RRA#1:+2"},
	{"resize", "s", "0", "SHRINK", "5"},
	{"resize", "s", "9", "GROW", "1"},
	{"dump", "s"},
	{"dump", "--no-header", "web 1;dc=x"},
	{"dump", "-h", "xsd", "//host/check#m"},
	{"dump", "nope"},
	{"list", "[^r]*"}, // serve's own series are rrdash.*
	{"list", "[^r]*s*"},
	{"list", "["},
	{"xport", "--start", "1000000000", "--end", "1000000100", "--step", "30", "DEF:a=s:g:AVERAGE", "CDEF:b=a,3,/", "XPORT:b:third"},
	{"xport", "--start", "1000000000", "--end", "1000000100", "--json", "DEF:a=s:g:AVERAGE", "DEF:m=s:c:MAX:step=30", "XPORT:a", "XPORT:m"},
	{"xport", "--start", "1000000000", "--end", "1000000100", "DEF:a=nope:g:AVERAGE", "XPORT:a"},
	{"graph", "-", "--start", "1000000000", "--end", "1000000100", "DEF:a=s:g:AVERAGE", "LINE1:a#ff0000:g", "GPRINT:a:AVERAGE:%6.2lf"},
	{"rename", "web 1;dc=x", "web 2;dc=x"},
	{"rename", "nope", "x"},
	{"rename", "s", "//host/check#m"},
	{"rename", "s"},
	{"fetch", "web 2;dc=x", "LAST", "-s", "1000000000", "-e", "1000000100"},
	{"info", "web 1;dc=x"},
	{"delete", "web 2;dc=x", "nope"},
	{"list", "[^r]*"},
	{"delete", "web 2;dc=x", "//host/check#m"},
	{"delete"},
	{"list", "[^r]*"},
	{"info", "//host/check#m"},
}

// runScript runs cliScript with extra leading arguments and returns a
// transcript of each command's output and error.
func runScript(t *testing.T, lead ...string) string {
	t.Helper()
	var b strings.Builder
	for _, c := range cliScript {
		var out bytes.Buffer
		err := run(context.Background(), append(append([]string{}, lead...), c...), strings.NewReader(""), &out, io.Discard)
		fmt.Fprintf(&b, "$ %q\n%s", c, out.Bytes())
		if err != nil {
			fmt.Fprintf(&b, "ERROR: %v\n", err)
		}
	}
	return b.String()
}

// firstDiff shows where two transcripts part.
func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d:\n  local:  %.300q\n  remote: %.300q", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d lines", len(la), len(lb))
}

// Issue 22: with a serve holding the data directory, every series
// command runs through its socket with the same output and errors as on
// the directory itself; --daemon (unix: and TCP) and RRDCACHED_ADDRESS
// send them to a server explicitly.
func TestCommandsThroughServe(t *testing.T) {
	local := runScript(t, "--data", t.TempDir())
	if !strings.Contains(local, "ERROR: series not found: nope") || !strings.Contains(local, "\x89PNG") {
		t.Fatalf("the local transcript lacks its errors or graph:\n%s", local)
	}

	if os.Getenv("SHOW_TRANSCRIPT") != "" {
		t.Log(local)
	}
	data := t.TempDir()
	addrs := startServeRRD(t, data, true)
	remoteOut := runScript(t, "--data", data)
	if remoteOut != local {
		t.Errorf("through the serve holding the directory the commands differ: %s", firstDiff(local, remoteOut))
	}

	// explicit addresses, each on a fresh serve's directory so that the
	// same script gives the same transcript
	for _, form := range []string{"unix:", "path", "env"} {
		d := t.TempDir()
		startServeRRD(t, d, false)
		sock := filepath.Join(d, "rrdcached.sock")
		var lead []string
		switch form {
		case "unix:":
			lead = []string{"--data", t.TempDir(), "--daemon", "unix:" + sock}
		case "path":
			lead = []string{"--data", t.TempDir(), "--daemon=" + sock}
		case "env":
			t.Setenv("RRDCACHED_ADDRESS", "unix:"+sock)
			lead = []string{"--data", t.TempDir()}
		}
		got := runScript(t, lead...)
		os.Unsetenv("RRDCACHED_ADDRESS")
		if got != local {
			t.Errorf("%s: %s", form, firstDiff(local, got))
		}
	}

	// TCP: the reading commands, rrdtool's per-command -d switch
	var tcp string
	for _, a := range addrs {
		if !strings.HasPrefix(a, "unix:") {
			tcp = a
		}
	}
	var want, got bytes.Buffer
	if err := run(context.Background(), []string{"--data", data, "fetch", "s", "AVERAGE", "-s", "1000000000", "-e", "1000000100"}, nil, &want, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"--data", t.TempDir(), "fetch", "-d", tcp, "s", "AVERAGE", "-s", "1000000000", "-e", "1000000100"}, nil, &got, io.Discard); err != nil {
		t.Fatalf("fetch over TCP %s: %v", tcp, err)
	}
	if got.String() != want.String() {
		t.Errorf("fetch over TCP:\n%s\nwant\n%s", got.String(), want.String())
	}

	// what the protocol cannot carry is refused, clearly
	err := run(context.Background(), []string{"--data", data, "import", "x.xml"}, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "import cannot run through the server at unix:"+filepath.Join(data, "rrdcached.sock")) {
		t.Errorf("import through a serve: %v", err)
	}
	err = run(context.Background(), []string{"--data", data, "ingest", "tracelog", "x.log"}, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "ingest cannot run through the server") {
		t.Errorf("ingest through a serve: %v", err)
	}
	err = run(context.Background(), []string{"--data", data, "--daemon", "unix:" + filepath.Join(t.TempDir(), "none.sock"), "info", "s"}, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "unable to connect to rrdcached at unix:") {
		t.Errorf("a --daemon that does not answer: %v", err)
	}
}

var okLine = regexp.MustCompile(`(?m)^OK u:[0-9.]+ s:[0-9.]+ r:[0-9.]+$`)

// Pipe mode gives the same answers through a serve.
func TestPipeModeThroughServe(t *testing.T) {
	var in strings.Builder
	for _, c := range cliScript {
		if c[0] == "graph" {
			continue // binary output
		}
		for i, a := range c {
			if i > 0 {
				in.WriteByte(' ')
			}
			if strings.ContainsAny(a, " #;") {
				a = "'" + a + "'"
			}
			in.WriteString(a)
		}
		in.WriteByte('\n')
	}
	pipe := func(lead ...string) string {
		var out bytes.Buffer
		if err := run(context.Background(), append(lead, "-"), strings.NewReader(in.String()), &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		return okLine.ReplaceAllString(out.String(), "OK")
	}
	local := pipe("--data", t.TempDir())
	if strings.Count(local, "\nOK\n") < 10 || !strings.Contains(local, "ERROR: series not found: nope") {
		t.Fatalf("the local pipe transcript:\n%s", local)
	}
	data := t.TempDir()
	startServeRRD(t, data, false)
	if got := pipe("--data", data); got != local {
		t.Errorf("pipe mode through a serve: %s", firstDiff(local, got))
	}
}

// Issue 23 item 3: a reader beside another reader reads (the second of two
// `rrdash fetch` started at once used to fail, naming an empty holder),
// and a writer beside a reader is refused with the reader named.
func TestReaderBesideReader(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	ctx := context.Background()
	if err := run(ctx, []string{"--data", data, "create", "s", "--start", "1000000000", "--step", "10", "DS:g:GAUGE:30:U:U", "RRA:AVERAGE:0.5:1:20"}, nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"--data", data, "update", "s", "1000000010:1", "1000000020:2"}, nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	// another reader: what `rrdash fetch` holds while it reads
	f, err := os.Open(filepath.Join(data, "LOCK"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// a child forked by a parallel test may hold the writer's descriptor
	// for a moment after it closed: retry
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if err != syscall.EWOULDBLOCK || time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
	for _, c := range [][]string{
		{"fetch", "s", "AVERAGE", "-s", "1000000000", "-e", "1000000020"},
		{"info", "s"}, {"last", "s"}, {"list"},
		{"xport", "-s", "1000000000", "-e", "1000000020", "DEF:a=s:g:AVERAGE", "XPORT:a"},
		{"graph", filepath.Join(t.TempDir(), "g.png"), "-s", "1000000000", "-e", "1000000020", "DEF:a=s:g:AVERAGE", "LINE1:a#000000"},
	} {
		if err := run(ctx, append([]string{"--data", data}, c...), nil, io.Discard, io.Discard); err != nil {
			t.Errorf("%s beside a reader: %v", c[0], err)
		}
	}
	t0 := time.Now()
	err = run(ctx, []string{"--data", data, "update", "s", "1000000030:3"}, nil, io.Discard, io.Discard)
	want := fmt.Sprintf("in use by another process (pid %d (", os.Getpid())
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), ") reading since ") {
		t.Errorf("update beside a reader: %v, want an error naming pid %d as a reader", err, os.Getpid())
	}
	if time.Since(t0) > 5*time.Second {
		t.Errorf("update waited %v", time.Since(t0))
	}
}

func TestDaemonOption(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		addr string
		rest []string
		bad  bool
	}{
		{[]string{"s", "AVERAGE"}, "", []string{"s", "AVERAGE"}, false},
		{[]string{"--daemon", "unix:/x", "s"}, "unix:/x", []string{"s"}, false},
		{[]string{"s", "--daemon=h:1", "-s", "1"}, "h:1", []string{"s", "-s", "1"}, false},
		{[]string{"-d", "/x", "s"}, "/x", []string{"s"}, false},
		{[]string{"-d[::1]:5", "s"}, "[::1]:5", []string{"s"}, false},
		{[]string{"s", "--", "--daemon", "x"}, "", []string{"s", "--", "--daemon", "x"}, false},
		{[]string{"s", "--daemon"}, "", nil, true},
		{[]string{"--daemon=", "s"}, "", nil, true},
	} {
		addr, rest, err := daemonOption(tc.args, false)
		if (err != nil) != tc.bad || addr != tc.addr || !tc.bad && fmt.Sprint(rest) != fmt.Sprint(tc.rest) {
			t.Errorf("daemonOption(%q) = %q, %q, %v; want %q, %q, bad %v", tc.args, addr, rest, err, tc.addr, tc.rest, tc.bad)
		}
	}
}
