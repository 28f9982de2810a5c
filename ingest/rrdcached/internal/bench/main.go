// Command bench feeds the same updates over the rrdcached protocol, with
// the same client, to real rrdcached (journal on with -F, and its default
// mode) and to `rrdash serve`, and reports updates per second until every
// update is acknowledged, and the time until they are durable (rrdash:
// acknowledged updates are durable; rrdcached: after FLUSHALL, once STATS
// counts every update written to its files). With --pipe (the default) it
// also runs rrdash's pipe mode on the same updates (pipe.go).
//
//	go run ./ingest/rrdcached/internal/bench --rrdash ./rrdash
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	rrdash := flag.String("rrdash", "./rrdash", "the rrdash binary")
	rrdcached := flag.String("rrdcached", "rrdcached", "the rrdcached binary")
	conns := flag.Int("conns", 4, "client connections")
	batch := flag.Int("batch", 1000, "UPDATE lines per BATCH")
	only := flag.String("only", "", "run only the workloads whose name contains this")
	window := flag.Int("window", 16, "BATCHes a connection sends before it reads their answers (1: wait for each answer)")
	rounds := flag.Int("rounds", 1, "rounds, each running every server on every workload in turn")
	servers := flag.String("servers", "", "run only the servers whose name contains this (rrdcached, rrdash, -j, default, pipe)")
	prebuilt := flag.Bool("prebuilt", true, "build every connection's BATCHes before the clock runs (false: build each line while sending, as before session 8)")
	startTimeout := flag.Duration("start-timeout", 20*time.Second, "how long a server may take to open its socket (longer under valgrind or perf)")
	pipe := flag.Bool("pipe", true, "also run rrdash's pipe mode (rrdash --data D -) on each workload, one update line per update from a file")
	flag.Parse()
	if *window < 1 || *rounds < 1 || *conns < 1 || *batch < 1 {
		fmt.Fprintln(os.Stderr, "bench: --window, --rounds, --conns and --batch must be at least 1")
		os.Exit(2)
	}
	if err := run(*rrdash, *rrdcached, *conns, *batch, *window, *rounds, *only, *servers, *pipe, *prebuilt, *startTimeout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type workload struct {
	name            string
	series, updates int // updates per series
}

type server struct {
	name  string
	start func(dir string) (addr string, pid int, stop func(), err error)
	// durable returns once every update is durable, after the last
	// acknowledgement.
	durable func(c *client, total int) error
	// pipe, when set, runs the workload itself (no socket, no client)
	pipe func(workload) (result, error)
}

func run(rrdashBin, rrdcachedBin string, conns, batch, window, rounds int, only, onlyServers string, pipe, prebuilt bool, startTimeout time.Duration) error {
	rc, err := exec.LookPath(rrdcachedBin)
	if err != nil {
		return err
	}
	servers := []server{
		{name: "rrdcached -j -F", start: rrdcachedStart(rc, true, startTimeout), durable: flushAll},
		{name: "rrdcached (default)", start: rrdcachedStart(rc, false, startTimeout), durable: flushAll},
		{name: "rrdash serve", start: rrdashStart(rrdashBin, startTimeout), durable: func(*client, int) error { return nil }},
	}
	if pipe {
		servers = append(servers, server{name: "rrdash - (pipe mode)", pipe: func(w workload) (result, error) { return pipeServer(rrdashBin, w) }})
	}
	loads := []workload{{"1 series x 100,000", 1, 100000}, {"1,000 series x 100", 1000, 100}, {"10,000 series x 10", 10000, 10}}
	fmt.Printf("%d connections, BATCH of %d UPDATE lines, one value each, up to %d BATCHes in flight per connection\n\n", conns, batch, window)
	fmt.Println("| round | workload | server | updates/s until durable | time to acknowledge | time until durable | server CPU (user+sys) | client CPU (user+sys) | load average |")
	fmt.Println("|---|---|---|---:|---:|---:|---:|---:|---|")
	for r := 1; r <= rounds; r++ {
		for _, w := range loads {
			if only != "" && !strings.Contains(w.name, only) {
				continue
			}
			for _, s := range servers {
				if onlyServers != "" && !strings.Contains(s.name, onlyServers) {
					continue
				}
				var res result
				var err error
				if s.pipe != nil {
					res, err = s.pipe(w)
				} else {
					res, err = runOne(s, w, conns, batch, window, prebuilt)
				}
				if err != nil {
					return fmt.Errorf("%s, %s: %w", s.name, w.name, err)
				}
				total := w.series * w.updates
				fmt.Printf("| %d | %s | %s | %.0f | %.3f s | %.3f s | %.3f s | %.3f s | %s |\n", r, w.name, s.name, float64(total)/res.durable.Seconds(),
					res.ack.Seconds(), res.durable.Seconds(), res.cpu.Seconds(), res.clientCPU.Seconds(), loadAvg())
			}
		}
	}
	return nil
}

// result is one run's figures.
type result struct {
	ack, durable time.Duration
	cpu          time.Duration // the server's user+system time over the timed part
	// clientCPU is this process's (the client's) user+system time over
	// the timed part: it shares the machine's cores with the server.
	clientCPU time.Duration
}

// selfCPU is this process's user+system time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAvg is the 1-, 5- and 15-minute load average.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// threadCPU is the time each thread of a process has run so far, in
// nanoseconds (Linux /proc/PID/task/TID/schedstat: exact, where
// /proc/PID/stat counts 10 ms ticks; the figures here are tens of ms).
func threadCPU(pid int) (map[string]int64, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	cpu := map[string]int64{}
	for _, t := range tasks {
		b, err := os.ReadFile(filepath.Join(dir, t.Name(), "schedstat"))
		if err != nil {
			continue // the thread has exited
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			return nil, fmt.Errorf("%s/%s/schedstat: %q", dir, t.Name(), b)
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s/%s/schedstat: %w", dir, t.Name(), err)
		}
		cpu[t.Name()] = ns
	}
	return cpu, nil
}

// cpuSince is the CPU time a process's threads used since before (from
// threadCPU): a thread started since counts in full. A thread that ended
// in between is not counted: the timed part keeps its connections (and
// so rrdcached's connection threads) open until it is measured.
func cpuSince(pid int, before map[string]int64) (time.Duration, error) {
	now, err := threadCPU(pid)
	if err != nil {
		return 0, err
	}
	var ns int64
	for tid, t := range now {
		ns += t - before[tid]
	}
	return time.Duration(ns), nil
}

func runOne(s server, w workload, conns, batch, window int, prebuilt bool) (res result, err error) {
	dir, err := os.MkdirTemp("", "rrdcbench")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	addr, pid, stop, err := s.start(dir)
	if err != nil {
		return res, err
	}
	defer stop()
	c, err := dial(addr)
	if err != nil {
		return res, err
	}
	defer c.Close()
	// series first (not timed), in batches
	const t0 = 1700000000
	for i := 0; i < w.series; i += 500 {
		var cmds []string
		for k := i; k < min(i+500, w.series); k++ {
			cmds = append(cmds, fmt.Sprintf("CREATE s%d.rrd -b %d -s 10 DS:v:GAUGE:600:U:U RRA:AVERAGE:0.5:1:1000 RRA:MAX:0.5:60:100", k, t0))
		}
		if err := c.batch(cmds); err != nil {
			return res, fmt.Errorf("create: %w", err)
		}
	}
	// the creations' data is written back before the clock runs: else
	// the first fsync of the timed part (rrdash's journal, rrdcached -F's)
	// waits for the writeback of every file just created (ext4
	// data=ordered), a cost of creating, not of updating
	if err := syncFS(dir); err != nil {
		return res, err
	}
	// with prebuilt, each connection's requests are made before the clock
	// runs: the client then only writes and reads, and its CPU (shared
	// with the server on this machine) is not the cost of formatting
	var reqs [][][]byte
	if prebuilt {
		reqs = make([][][]byte, conns)
		for k := range conns {
			lines(w, k, conns, t0, batch, func(cmds []string) error {
				reqs[k] = append(reqs[k], batchRequest(cmds))
				return nil
			})
		}
	}
	cpu0, err := threadCPU(pid)
	if err != nil {
		return res, err
	}
	start, self0 := time.Now(), selfCPU()
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	open := make(chan *client, conns)
	defer func() {
		close(open)
		for cc := range open {
			cc.Close()
		}
	}()
	for k := 0; k < conns; k++ {
		wg.Go(func() {
			cc, err := dial(addr)
			if err != nil {
				errs <- err
				return
			}
			// closed once the server's CPU is measured (cpuSince)
			open <- cc
			p := cc.pipeline(window)
			if prebuilt {
				for _, r := range reqs[k] {
					if err = p.sendRaw(r); err != nil {
						break
					}
				}
			} else {
				err = lines(w, k, conns, t0, batch, func(cmds []string) error { return p.sendRaw(batchRequest(cmds)) })
			}
			if err != nil {
				errs <- err
				return
			}
			if err := p.close(); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	res.ack = time.Since(start)
	close(errs)
	for err := range errs {
		return res, err
	}
	if err := s.durable(c, w.series*w.updates); err != nil {
		return res, err
	}
	res.durable = time.Since(start)
	res.cpu, err = cpuSince(pid, cpu0)
	if err != nil {
		return res, err
	}
	res.clientCPU = selfCPU() - self0
	return res, nil
}

// pipeline sends BATCHes without waiting for their answers, up to window
// at a time; a goroutine reads the answers.
type pipeline struct {
	c      *client
	slots  chan struct{}
	done   chan error
	queued chan int // BATCHes sent, for the reader
}

func (c *client) pipeline(window int) *pipeline {
	p := &pipeline{c: c, slots: make(chan struct{}, window), done: make(chan error, 1), queued: make(chan int, window)}
	go func() {
		var first error
		for range p.queued {
			if first == nil {
				first = c.batchAnswer()
			}
			<-p.slots
		}
		p.done <- first
	}()
	return p
}

// sendRaw sends one BATCH request (batchRequest).
func (p *pipeline) sendRaw(req []byte) error {
	p.slots <- struct{}{}
	p.c.w.Write(req)
	if err := p.c.w.Flush(); err != nil {
		return err
	}
	p.queued <- 1
	return nil
}

// batchRequest is "BATCH", the commands and "." as one request.
func batchRequest(cmds []string) []byte {
	n := len("BATCH\n.\n")
	for _, c := range cmds {
		n += len(c) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, "BATCH\n"...)
	for _, c := range cmds {
		b = append(b, c...)
		b = append(b, '\n')
	}
	return append(b, ".\n"...)
}

// lines calls send with the UPDATE lines of connection k, batch at a
// time: its series, update by update (time order per series: a series is
// only ever sent on one connection).
func lines(w workload, k, conns, t0, batch int, send func(cmds []string) error) error {
	cmds := make([]string, 0, batch)
	for u := 0; u < w.updates; u++ {
		for sr := k; sr < w.series; sr += conns {
			cmds = append(cmds, "UPDATE s"+strconv.Itoa(sr)+".rrd "+strconv.Itoa(t0+10*(u+1))+":"+strconv.Itoa(u%97))
			if len(cmds) == batch {
				if err := send(cmds); err != nil {
					return err
				}
				cmds = cmds[:0]
			}
		}
	}
	if len(cmds) > 0 {
		return send(cmds)
	}
	return nil
}

// close waits for every answer; the first error line fails it.
func (p *pipeline) close() error {
	close(p.queued)
	return <-p.done
}

type client struct {
	net.Conn
	rd *bufio.Reader
	w  *bufio.Writer
}

func dial(addr string) (*client, error) {
	nc, err := net.Dial("unix", addr)
	if err != nil {
		return nil, err
	}
	return &client{Conn: nc, rd: bufio.NewReaderSize(nc, 1<<16), w: bufio.NewWriterSize(nc, 1<<16)}, nil
}

// answer reads one answer and returns its status and lines.
func (c *client) answer() (int, []string, error) {
	l, err := c.rd.ReadString('\n')
	if err != nil {
		return 0, nil, err
	}
	n, err := strconv.Atoi(strings.Fields(l)[0])
	if err != nil {
		return 0, nil, fmt.Errorf("answer %q", l)
	}
	var lines []string
	for i := 0; i < n; i++ {
		s, err := c.rd.ReadString('\n')
		if err != nil {
			return 0, nil, err
		}
		lines = append(lines, s)
	}
	if n < 0 {
		return n, nil, errors.New(strings.TrimSpace(l))
	}
	return n, lines, nil
}

func (c *client) do(req string) (int, []string, error) {
	c.w.WriteString(req + "\n")
	if err := c.w.Flush(); err != nil {
		return 0, nil, err
	}
	return c.answer()
}

// batch sends cmds in one BATCH; any error line fails it.
func (c *client) batch(cmds []string) error {
	c.w.WriteString("BATCH\n")
	for _, s := range cmds {
		c.w.WriteString(s)
		c.w.WriteByte('\n')
	}
	c.w.WriteString(".\n")
	if err := c.w.Flush(); err != nil {
		return err
	}
	return c.batchAnswer()
}

// batchAnswer reads the two answers to a BATCH (go ahead, errors).
func (c *client) batchAnswer() error {
	if _, _, err := c.answer(); err != nil {
		return err
	}
	n, lines, err := c.answer()
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%d errors in a batch, first: %s", n, lines[0])
	}
	return nil
}

// flushAll asks rrdcached to write everything and waits until STATS
// counts every value written (DataSetsWritten: values, UpdatesWritten:
// file writes).
func flushAll(c *client, total int) error {
	if _, _, err := c.do("FLUSHALL"); err != nil {
		return err
	}
	for {
		_, lines, err := c.do("STATS")
		if err != nil {
			return err
		}
		for _, l := range lines {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), "DataSetsWritten: "); ok {
				if n, _ := strconv.Atoi(v); n >= total {
					return nil
				}
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func waitSocket(p string, cmd *exec.Cmd, out *strings.Builder, timeout time.Duration) error {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if c, err := net.Dial("unix", p); err == nil {
			c.Close()
			return nil
		}
	}
	cmd.Process.Kill()
	return fmt.Errorf("%s did not start: %s", cmd.Path, out.String())
}

func rrdcachedStart(bin string, journal bool, timeout time.Duration) func(string) (string, int, func(), error) {
	return func(dir string) (string, int, func(), error) {
		base := filepath.Join(dir, "base")
		os.Mkdir(base, 0o755)
		sock := filepath.Join(dir, "s")
		args := []string{"-g", "-B", "-b", base, "-p", filepath.Join(dir, "pid"), "-l", "unix:" + sock}
		if journal {
			j := filepath.Join(dir, "journal")
			os.Mkdir(j, 0o755)
			args = append(args, "-j", j, "-F")
		}
		cmd := exec.Command(bin, args...)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			return "", 0, nil, err
		}
		stop := func() { cmd.Process.Kill(); cmd.Wait() }
		if err := waitSocket(sock, cmd, &out, timeout); err != nil {
			return "", 0, nil, err
		}
		return sock, cmd.Process.Pid, stop, nil
	}
}

func rrdashStart(bin string, timeout time.Duration) func(string) (string, int, func(), error) {
	return func(dir string) (string, int, func(), error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", 0, nil, err
		}
		addr := ln.Addr().String()
		ln.Close()
		cmd := exec.Command(bin, "serve", "--data", dir, "--addr", addr)
		cmd.Env = append(os.Environ(), "RRDASH_LOG_LEVEL=error")
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = io.Discard, &out
		if err := cmd.Start(); err != nil {
			return "", 0, nil, err
		}
		stop := func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }
		sock := filepath.Join(dir, "rrdcached.sock")
		if err := waitSocket(sock, cmd, &out, timeout); err != nil {
			return "", 0, nil, err
		}
		return sock, cmd.Process.Pid, stop, nil
	}
}

// syncFS writes back every dirty page of the file system holding dir
// (syncfs(2)).
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("syncfs %s: %w", dir, err)
	}
	return nil
}
