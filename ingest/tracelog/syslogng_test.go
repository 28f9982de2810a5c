package tracelog

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// syslogNG runs a private syslog-ng in the foreground: TCP on a 127.0.0.1
// high port, per-host files with the default BSD template in dir, its pid,
// persist and control files in a temp dir, no system sources.
type syslogNG struct {
	cmd  *exec.Cmd
	port int
	out  bytes.Buffer
}

func syslogNGBinary(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"syslog-ng", "/usr/sbin/syslog-ng"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("syslog-ng is not installed (Debian package syslog-ng-core); CI=true requires it")
	}
	t.Skip("syslog-ng is not installed (Debian package syslog-ng-core)")
	return ""
}

func startSyslogNG(t *testing.T, dir, isoDir string) *syslogNG {
	t.Helper()
	bin := syslogNGBinary(t)
	run := t.TempDir()
	for attempt := 0; attempt < 3; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		conf := filepath.Join(run, "syslog-ng.conf")
		text := fmt.Sprintf(`@version: 3.38
options { keep-hostname(yes); use-dns(no); use-fqdn(no); chain-hostnames(no); flush-lines(0); stats-freq(0); frac-digits(6); };
source s_net { network(ip("127.0.0.1") port(%d) transport("tcp")); };
destination d_host { file("%s/${HOST}.log"); };
destination d_iso { file("%s/${HOST}.log" template("${ISODATE} ${HOST} ${MSGHDR}${MSG}\n")); };
log { source(s_net); destination(d_host); destination(d_iso); };
`, port, dir, isoDir)
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		s := &syslogNG{port: port}
		s.cmd = exec.Command(bin, "--foreground", "--stderr", "--no-caps", "-f", conf,
			"-p", filepath.Join(run, "pid"), "-R", filepath.Join(run, "persist"), "-c", filepath.Join(run, "ctl"))
		s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
		if err := s.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { s.cmd.Wait(); close(exited) }()
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-exited:
				deadline = time.Time{}
				continue
			default:
			}
			c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
			if err == nil {
				c.Close()
				t.Cleanup(func() {
					s.cmd.Process.Signal(syscall.SIGTERM)
					select {
					case <-exited:
					case <-time.After(10 * time.Second):
						s.cmd.Process.Kill()
						<-exited
					}
				})
				return s
			}
			time.Sleep(50 * time.Millisecond)
		}
		s.cmd.Process.Kill()
		<-exited
		t.Logf("syslog-ng did not start on port %d:\n%s", port, s.out.String())
	}
	t.Fatal("syslog-ng did not start")
	return nil
}

// send writes messages, one per line, over one TCP connection.
func (s *syslogNG) send(t *testing.T, msgs []string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(s.port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w := bufio.NewWriter(c)
	for _, m := range msgs {
		// <14>: facility user, severity info
		w.WriteString("<14>")
		w.WriteString(m)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// countLines counts lines in the files of dir matching glob.
func countLines(t *testing.T, glob string) int {
	t.Helper()
	paths, _ := filepath.Glob(glob)
	n := 0
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		n += bytes.Count(b, []byte("\n"))
	}
	return n
}

// TestSyslogNG sends trace records of three processes on two hosts through a
// real syslog-ng into per-host files while the tailer follows the directory,
// across a rotation (rename + reload) and two tailer restarts, and checks the
// series against the model.
func TestSyslogNG(t *testing.T) {
	dir, isoDir := t.TempDir(), t.TempDir()
	ng := startSyslogNG(t, dir, isoDir)
	start := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC).UnixMicro()
	end := start + 8*60e6
	reqs := simulate(11, testProcs, start, end)
	lines := simLines(reqs)
	next, sent := 0, 0
	sendUntil := func(t0 int64) {
		var msgs []string
		for next < len(lines) && lines[next].t < t0 {
			l := lines[next]
			msgs = append(msgs, bsdLine(testProcs[l.proc], l))
			next++
		}
		ng.send(t, msgs)
		sent += len(msgs)
		deadline := time.Now().Add(30 * time.Second)
		for countLines(t, filepath.Join(dir, "*.log*")) < sent || countLines(t, filepath.Join(isoDir, "*.log")) < sent {
			if time.Now().After(deadline) {
				t.Fatalf("syslog-ng wrote %d of %d lines:\n%s", countLines(t, filepath.Join(dir, "*.log*")), sent, ng.out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	rig := newRestartRig(t, SourceConfig{Glob: filepath.Join(dir, "*.log")})
	cycle := rig.cycle
	// the ISO template files, tailed without restarts into their own sink
	isoSink := openTestSink(t)
	iso, err := NewTailer(TailConfig{
		Sources:  []SourceConfig{{Glob: filepath.Join(isoDir, "*.log")}},
		Location: time.UTC, Step: 60, Grace: 10, Threads: testThreads(), Now: rig.clock.now, Name: "iso",
	}, isoSink, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer iso.closeAll()
	tl := rig.start()
	for _, p := range []int64{start + 90e6, start + 150e6} {
		sendUntil(p)
		cycle(tl, p)
		cycle(iso, p)
	}
	// restarted mid-step with requests in flight
	rig.stop(tl)
	tl = rig.start()
	sendUntil(start + 200e6)
	cycle(tl, start+200e6)

	// rotation: rename, then syslog-ng reopens its files on reload
	if err := os.Rename(filepath.Join(dir, "web1.log"), filepath.Join(dir, "web1.log.1")); err != nil {
		t.Fatal(err)
	}
	sendUntil(start + 230e6) // still into the renamed file until the reload
	if err := ng.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	sendUntil(start + 300e6)
	cycle(tl, start+300e6)
	sendUntil(start + 330e6)
	// restarted again before reading what came after the rotation
	rig.stop(tl)
	tl = rig.start()
	cycle(tl, start+330e6)
	sendUntil(end + 3600e6)
	last := lines[len(lines)-1].t
	cycle(tl, last+130e6)
	cycle(tl, last+130e6)
	cycle(iso, last+130e6)
	tl.closeAll()
	if _, err := os.Stat(filepath.Join(dir, "web1.log")); err != nil {
		t.Errorf("syslog-ng did not reopen web1.log after the reload: %v", err)
	}

	from := start / 1e6
	to := (last/60e6 + 1) * 60
	for pi, p := range testProcs {
		name := SeriesPrefix + p.instance()
		checkSeries(t, name, sinkRows(t, rig.sink, name), reqs, pi, from, to, 60, p.threads)
		checkSeries(t, name+" (ISO template)", sinkRows(t, isoSink, name), reqs, pi, from, to, 60, p.threads)
	}
}
