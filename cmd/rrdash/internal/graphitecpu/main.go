// Command graphitecpu measures `rrdash serve`'s CPU per point on the peer
// benchmark's Graphite streams (cmd/rrdash/internal/peerbench): 10,000
// series × 60 points into new series, then rounds of 60 more points each
// into the same, existing series, each round on one connection and
// durable when the server closes it. It reports the server's user and
// system CPU (/proc/PID/stat) and page faults per round, and can attach
// `strace -c` to the first existing round or `perf record` to all of them
// (docs/BENCHMARKS.md, session 8):
//
//	go build -o /tmp/rrdash ./cmd/rrdash
//	go run ./cmd/rrdash/internal/graphitecpu --rrdash /tmp/rrdash --rounds 2
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

func faults(pid int) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	n, _ := strconv.ParseInt(f[7], 10, 64)
	return n
}

func cpu(pid int) (u, s time.Duration) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		fatal(err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut) * 10 * time.Millisecond, time.Duration(st) * 10 * time.Millisecond
}

func stream(series, points int, t0 int64) []byte {
	var b bytes.Buffer
	for p := range points {
		for s := range series {
			fmt.Fprintf(&b, "peer.host%d.cpu %d.%d %d\n", s, (s+p)%100, p%10, t0+int64(p)*60)
		}
	}
	return b.Bytes()
}

func send(addr string, body []byte) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(body); err != nil {
		fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	if _, err := io.Copy(io.Discard, c); err != nil {
		fatal(err)
	}
}

func free() string {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	defer l.Close()
	return l.Addr().String()
}

func main() {
	bin := flag.String("rrdash", "./rrdash", "the rrdash binary")
	rounds := flag.Int("rounds", 3, "existing-series rounds")
	series := flag.Int("series", 10000, "series")
	points := flag.Int("points", 60, "points per series and round")
	perf := flag.String("perf", "", "perf record output over the existing rounds")
	strace := flag.String("strace", "", "strace -c output over the first existing round")
	flag.Parse()
	dir, err := os.MkdirTemp("", "graphitecpu")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(dir)
	g := free()
	cmd := exec.Command(*bin, "serve", "--data", dir, "--addr", free(), "--graphite", g)
	cmd.Env = append(os.Environ(), "RRDASH_LOG_LEVEL=error")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		fatal(err)
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	for {
		c, err := net.Dial("tcp", g)
		if err == nil {
			c.Close()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	pid := cmd.Process.Pid
	t0 := int64(1700000000)
	t0 -= t0 % 3600
	bodies := make([][]byte, *rounds+1)
	for r := range bodies {
		bodies[r] = stream(*series, *points, t0+int64(r**points*60))
	}
	n := float64(*series * *points)
	u0, s0 := cpu(pid)
	w := time.Now()
	send(g, bodies[0])
	u1, s1 := cpu(pid)
	fmt.Printf("new: %.2f s wall, user %.2f sys %.2f s: %.3f µs/point\n", time.Since(w).Seconds(), (u1 - u0).Seconds(), (s1 - s0).Seconds(), float64((u1-u0+s1-s0).Microseconds())/n)
	var pc *exec.Cmd
	if *perf != "" {
		pc = exec.Command("perf", "record", "-e", "cpu-clock", "-g", "-p", strconv.Itoa(pid), "-o", *perf)
		pc.Stderr = os.Stderr
		pc.Start()
		time.Sleep(500 * time.Millisecond)
	}
	if *strace != "" {
		pc = exec.Command("strace", "-c", "-f", "-p", strconv.Itoa(pid), "-o", *strace)
		pc.Start()
		time.Sleep(time.Second)
	}
	var tu, ts time.Duration
	for r := 1; r <= *rounds; r++ {
		u0, s0 := cpu(pid)
		f0 := faults(pid)
		w := time.Now()
		send(g, bodies[r])
		fmt.Printf("faults %d ", faults(pid)-f0)
		u1, s1 := cpu(pid)
		tu += u1 - u0
		ts += s1 - s0
		if pc != nil && *strace != "" && r == 1 {
			pc.Process.Signal(os.Interrupt)
			pc.Wait()
			pc = nil
		}
		fmt.Printf("existing %d: %.2f s wall, user %.2f sys %.2f s: %.3f µs/point\n", r, time.Since(w).Seconds(), (u1 - u0).Seconds(), (s1 - s0).Seconds(), float64((u1-u0+s1-s0).Microseconds())/n)
	}
	fmt.Printf("existing all: user %.3f sys %.3f µs/point, total %.3f µs/point\n", tu.Seconds()*1e6/n/float64(*rounds), ts.Seconds()*1e6/n/float64(*rounds), (tu+ts).Seconds()*1e6/n/float64(*rounds))
	if pc != nil {
		pc.Process.Signal(os.Interrupt)
		pc.Wait()
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "graphitecpu:", err)
	os.Exit(1)
}
