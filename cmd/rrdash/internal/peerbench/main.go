// Command peerbench feeds the same points to `rrdash serve` and to a real
// VictoriaMetrics (Debian's 1.79), both started on loopback in fresh
// directories, and reports points per second and their ratio, measured
// in one run (issue 15):
//
//   - Graphite plaintext, 10,000 series × 60 points on one connection, into
//     new series, then 60 more points each into the same, existing series;
//   - InfluxDB line protocol, the same shape, POSTed in bodies of 50,000
//     lines (four at a time), into existing series (rrdash: the Graphite
//     stream's; VictoriaMetrics names them apart, so one point of each is
//     sent first, untimed);
//   - Prometheus remote_write, the same shape in requests of 2,000
//     samples (eight at a time), into existing series (remotewrite.go).
//
// rrdash's time ends when the points are durable: its clean close of the
// Graphite connection after the client's EOF, its 204 for a body (journal
// fsync). VictoriaMetrics acknowledges nothing durable (it does not fsync
// before answering, and its Graphite listener never answers): its time
// ends once its vm_rows_inserted_total counts every point, followed by
// /internal/force_flush so the points are searchable.
//
//	go run ./cmd/rrdash/internal/peerbench --rrdash ./rrdash
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"rrdash/auth"
	"rrdash/store/meta"
	"rrdash/ui"
)

func main() {
	rrdash := flag.String("rrdash", "./rrdash", "the rrdash binary")
	vm := flag.String("victoria-metrics", "victoria-metrics", "the VictoriaMetrics binary")
	series := flag.Int("series", 10000, "series")
	points := flag.Int("points", 60, "points per series and round")
	carbon := flag.String("carbon", "carbon-cache", "the carbon-cache binary (Graphite only); empty: none")
	rounds := flag.Int("rounds", 3, "interleaved rounds; the median is reported")
	only := flag.String("only", "", `run only "remote_write", or only "push" (Graphite and Influx; empty: all)`)
	flag.Parse()
	if *only != "" && *only != "remote_write" && *only != "push" {
		fmt.Fprintf(os.Stderr, "peerbench: --only %q: want remote_write, push or nothing\n", *only)
		os.Exit(2)
	}
	if *only == "remote_write" {
		*carbon = "" // carbon takes no remote_write
	}
	if err := run(*rrdash, *vm, *carbon, *series, *points, *rounds, *only); err != nil {
		fmt.Fprintln(os.Stderr, "peerbench:", err)
		os.Exit(1)
	}
}

// peer is one server under test.
type peer struct {
	name     string
	graphite string // host:port
	http     string // base URL
	token    string // rrdash push token
	stop     func()
	// settled returns once n more points (of kind: graphite, influx)
	// are in, counting from before.
	settled func(kind string, before, n int64) error
	count   func(kind string) (int64, error)
	pid     int // the server process, for its CPU time
}

// result holds each workload's wall time and the server's CPU time
// (user + system, all threads) over it: with other jobs sharing the
// cores, CPU time is the steadier figure.
type result struct {
	graphiteNew, graphiteOld, influx, cpuNew, cpuOld, cpuInflux time.Duration
	remoteWrite, remoteWriteCPU                                 time.Duration
}

// processCPU is the CPU time process pid has used (/proc/PID/stat fields
// utime and stime, in clock ticks of 1/100 s — USER_HZ on Linux).
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// fields after the command, which is in parentheses and may hold spaces
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command field", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the command", pid, len(f))
	}
	var ticks int64
	for _, k := range []int{11, 12} { // utime, stime (fields 14 and 15)
		n, err := strconv.ParseInt(f[k], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: field %d: %w", pid, k+3, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

func run(rrdashBin, vmBin, carbon string, series, points, rounds int, only string) error {
	vmPath, err := exec.LookPath(vmBin)
	if err != nil {
		return fmt.Errorf("%w (make victoria-metrics installs Debian's)", err)
	}
	t0 := time.Now().Add(-4 * time.Hour).Truncate(time.Hour).Unix()
	gNew := graphiteStream(series, points, t0)
	gOld := graphiteStream(series, points, t0+int64(points)*60)
	influxPre := influxBodies(series, 1, t0+2*int64(points)*60, 50000)
	influx := influxBodies(series, points, t0+(2*int64(points)+1)*60, 50000)
	total := int64(series * points)
	rwPre, rw := remoteWriteBodies(series, 1, t0-60), remoteWriteBodies(series, points, t0)
	fmt.Printf("%d series × %d points per round (%d points), %d interleaved rounds, medians\n\n", series, points, total, rounds)
	starts := []func() (*peer, error){func() (*peer, error) { return startRRDash(rrdashBin) }, func() (*peer, error) { return startVM(vmPath) }}
	if carbon != "" {
		cPath, err := exec.LookPath(carbon)
		if err != nil {
			return fmt.Errorf("%w (make graphite-carbon installs Debian's)", err)
		}
		starts = append(starts, func() (*peer, error) { return startCarbon(cPath) })
	}
	var rr, vr, cr []result
	for r := range rounds {
		for _, start := range starts {
			p, err := start()
			if err != nil {
				return err
			}
			var res result
			if only != "remote_write" {
				res, err = measure(p, gNew, gOld, influxPre, influx, total)
			}
			if err == nil && p.http != "" && only != "push" {
				res.remoteWrite, res.remoteWriteCPU, err = measureRemoteWrite(p, rwPre, rw, series, total)
			}
			p.stop()
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", r+1, p.name, err)
			}
			fmt.Fprintf(os.Stderr, "round %d %s: graphite new %v (CPU %v), existing %v (CPU %v), influx %v (CPU %v), remote_write %v (CPU %v)\n", r+1, p.name,
				res.graphiteNew, res.cpuNew, res.graphiteOld, res.cpuOld, res.influx, res.cpuInflux, res.remoteWrite, res.remoteWriteCPU)
			switch p.name {
			case "rrdash":
				rr = append(rr, res)
			case "carbon":
				cr = append(cr, res)
			default:
				vr = append(vr, res)
			}
		}
	}
	rate := func(d time.Duration) float64 { return float64(total) / d.Seconds() }
	fmt.Println("| workload | rrdash points/s (durable) | rrdash points per CPU-s | VictoriaMetrics 1.79 points/s (no fsync) | VM points per CPU-s | rrdash ÷ VM (wall, CPU) | carbon 1.1.7 points/s (whisper written, no fsync) | carbon points per CPU-s | rrdash ÷ carbon (wall, CPU) |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, w := range []struct {
		name     string
		get, cpu func(result) time.Duration
	}{
		{"Graphite plaintext, new series", func(r result) time.Duration { return r.graphiteNew }, func(r result) time.Duration { return r.cpuNew }},
		{"Graphite plaintext, existing series", func(r result) time.Duration { return r.graphiteOld }, func(r result) time.Duration { return r.cpuOld }},
		{"Influx line protocol, existing series", func(r result) time.Duration { return r.influx }, func(r result) time.Duration { return r.cpuInflux }},
		{"Prometheus remote_write, existing series", func(r result) time.Duration { return r.remoteWrite }, func(r result) time.Duration { return r.remoteWriteCPU }},
	} {
		if median(rr, w.get) == 0 {
			continue // not run (--only)
		}
		a, b := rate(median(rr, w.get)), rate(median(vr, w.get))
		ac, bc := rate(median(rr, w.cpu)), rate(median(vr, w.cpu))
		carbonCols := "— | — | —"
		if len(cr) > 0 && median(cr, w.get) > 0 {
			c, cc := rate(median(cr, w.get)), rate(median(cr, w.cpu))
			carbonCols = fmt.Sprintf("%.0f | %.0f | %.2f×, %.2f×", c, cc, a/c, ac/cc)
		}
		fmt.Printf("| %s | %.0f | %.0f | %.0f | %.0f | %.2f×, %.2f× | %s |\n", w.name, a, ac, b, bc, a/b, ac/bc, carbonCols)
	}
	return nil
}

func median(rs []result, get func(result) time.Duration) time.Duration {
	ds := make([]time.Duration, len(rs))
	for i, r := range rs {
		ds[i] = get(r)
	}
	for i := range ds { // insertion sort: a handful of rounds
		for j := i; j > 0 && ds[j] < ds[j-1]; j-- {
			ds[j], ds[j-1] = ds[j-1], ds[j]
		}
	}
	return ds[len(ds)/2]
}

// graphiteStream is points rounds of every series, time-major as
// collectors send them.
func graphiteStream(series, points int, t0 int64) []byte {
	var b bytes.Buffer
	for p := range points {
		for s := range series {
			fmt.Fprintf(&b, "peer.host%d.cpu %d.%d %d\n", s, (s+p)%100, p%10, t0+int64(p)*60)
		}
	}
	return b.Bytes()
}

// influxBodies is the same shape as line protocol, cut into bodies of
// about perBody lines, each for its own series (as each agent sends its
// own series; bodies in flight together are not ordered).
func influxBodies(series, points int, t0 int64, perBody int) [][]byte {
	var bodies [][]byte
	per := max(1, perBody/points) // series per body
	for s0 := 0; s0 < series; s0 += per {
		var b bytes.Buffer
		for p := range points {
			for s := s0; s < min(s0+per, series); s++ {
				// measurement peer.hostN, field cpu: rrdash's series
				// peer.hostN.cpu, the Graphite stream's
				fmt.Fprintf(&b, "peer.host%d cpu=%d.%d %d\n", s, (s+p)%100, p%10, (t0+int64(p)*60)*1e9)
			}
		}
		bodies = append(bodies, b.Bytes())
	}
	return bodies
}

func measure(p *peer, gNew, gOld []byte, influxPre, influx [][]byte, total int64) (result, error) {
	var res result
	for i, stream := range [][]byte{gNew, gOld} {
		before, err := p.count("graphite")
		if err != nil {
			return res, err
		}
		wall, cpu, err := timed(p, func() error {
			if err := sendGraphite(p.graphite, stream, p.name == "rrdash"); err != nil {
				return err
			}
			return p.settled("graphite", before, total)
		})
		if err != nil {
			return res, err
		}
		if i == 0 {
			res.graphiteNew, res.cpuNew = wall, cpu
		} else {
			res.graphiteOld, res.cpuOld = wall, cpu
		}
	}
	if p.http == "" { // carbon: Graphite only
		return res, nil
	}
	// One point of each series first (not timed): VictoriaMetrics makes
	// its Influx series here, rrdash's exist already.
	before, err := p.count("influx")
	if err != nil {
		return res, err
	}
	if err := postAll(p, influxPre); err != nil {
		return res, err
	}
	if err := p.settled("influx", before, int64(len(bytes.Split(bytes.Join(influxPre, nil), []byte("\n")))-1)); err != nil {
		return res, err
	}
	if before, err = p.count("influx"); err != nil {
		return res, err
	}
	res.influx, res.cpuInflux, err = timed(p, func() error {
		if err := postAll(p, influx); err != nil {
			return err
		}
		return p.settled("influx", before, total)
	})
	return res, err
}

// timed runs work and returns its wall time and the server's CPU time
// (user and system, all threads) over it.
func timed(p *peer, work func() error) (wall, cpu time.Duration, err error) {
	c0, err := processCPU(p.pid)
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	if err := work(); err != nil {
		return 0, 0, err
	}
	wall = time.Since(start)
	c1, err := processCPU(p.pid)
	return wall, c1 - c0, err
}

// sendGraphite writes stream on one connection and half-closes; with
// ack it reads until the server's clean close (rrdash: durable).
func sendGraphite(addr string, stream []byte, ack bool) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write(stream); err != nil {
		return err
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	if !ack {
		return nil
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Minute))
	_, err = io.Copy(io.Discard, c)
	return err // nil: a clean close
}

// postAll POSTs the bodies, four at a time; each must be answered 204.
func postAll(p *peer, bodies [][]byte) error {
	url := p.http + "/write?db=peer"
	if p.token != "" {
		url = p.http + "/api/v1/write"
	}
	return postBodies(p, url, bodies, 4, nil)
}

// postBodies POSTs the bodies to url, inflight at a time, with the peer's
// token and the headers set sets; each must be answered 204.
func postBodies(p *peer, url string, bodies [][]byte, inflight int, set func(*http.Request)) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(bodies))
	sem := make(chan struct{}, inflight)
	for _, body := range bodies {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
			if err != nil {
				errs <- err
				return
			}
			if set != nil {
				set(req)
			}
			if p.token != "" {
				req.Header.Set("Authorization", "Bearer "+p.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				errs <- fmt.Errorf("POST %s: %s: %s", url, resp.Status, msg)
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitTCP waits until addr accepts connections or the process ends.
func waitTCP(addr string, cmd *exec.Cmd, out *strings.Builder) error {
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case <-exited:
			return fmt.Errorf("%s exited: %s", cmd.Path, out.String())
		default:
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
	}
	return fmt.Errorf("%s: nothing listens on %s after a minute", cmd.Path, addr)
}

func startRRDash(bin string) (*peer, error) {
	dir, err := os.MkdirTemp("", "peerbench-rrdash")
	if err != nil {
		return nil, err
	}
	tok, err := pushToken(dir)
	if err != nil {
		return nil, err
	}
	httpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	gAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "--data", dir, "--addr", httpAddr, "--graphite", gAddr)
	cmd.Env = append(os.Environ(), "RRDASH_LOG_LEVEL=error")
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = io.Discard, out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := func() { cmd.Process.Signal(os.Interrupt); cmd.Process.Wait(); os.RemoveAll(dir) }
	if err := waitTCP(gAddr, cmd, out); err != nil {
		stop()
		return nil, err
	}
	if err := waitTCP(httpAddr, cmd, out); err != nil {
		stop()
		return nil, err
	}
	// rrdash's acknowledgements mean durable: nothing to wait for after them.
	done := func(string, int64, int64) error { return nil }
	zero := func(string) (int64, error) { return 0, nil }
	return &peer{name: "rrdash", graphite: gAddr, http: "http://" + httpAddr, token: tok, stop: stop, settled: done, count: zero, pid: cmd.Process.Pid}, nil
}

// pushToken makes a push-scoped API token in a fresh data directory, as
// `rrdash serve` in single-user mode requires for pushes.
func pushToken(dir string) (string, error) {
	ctx := context.Background()
	md, err := meta.Open(ctx, filepath.Join(dir, "metadata.db"))
	if err != nil {
		return "", err
	}
	defer md.Close()
	u, err := md.EnsureUser(ctx, meta.User{Handle: "local", Issuer: meta.LocalIssuer, Subject: "local"})
	if err != nil {
		return "", err
	}
	tok, _, err := ui.NewAPIToken(ctx, md, u, "peerbench", auth.ScopePush)
	return tok, err
}

func startVM(bin string) (*peer, error) {
	dir, err := os.MkdirTemp("", "peerbench-vm")
	if err != nil {
		return nil, err
	}
	httpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	gAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-storageDataPath", dir, "-httpListenAddr", httpAddr, "-graphiteListenAddr", gAddr, "-retentionPeriod", "1y", "-loggerLevel", "ERROR")
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = io.Discard, out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := func() { cmd.Process.Signal(os.Interrupt); cmd.Process.Wait(); os.RemoveAll(dir) }
	if err := waitTCP(httpAddr, cmd, out); err != nil {
		stop()
		return nil, err
	}
	if err := waitTCP(gAddr, cmd, out); err != nil {
		stop()
		return nil, err
	}
	base := "http://" + httpAddr
	count := func(kind string) (int64, error) { return vmRows(base, kind) }
	settled := func(kind string, before, n int64) error {
		for deadline := time.Now().Add(10 * time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			got, err := vmRows(base, kind)
			if err != nil {
				return err
			}
			if got-before >= n {
				resp, err := http.Get(base + "/internal/force_flush")
				if err != nil {
					return err
				}
				resp.Body.Close()
				return nil
			}
		}
		return errors.New("VictoriaMetrics did not count every point within 10 minutes")
	}
	return &peer{name: "VictoriaMetrics", graphite: gAddr, http: base, stop: stop, settled: settled, count: count, pid: cmd.Process.Pid}, nil
}

// vmRows reads vm_rows_inserted_total{type="KIND"} from /metrics.
func vmRows(base, kind string) (int64, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	prefix := `vm_rows_inserted_total{type="` + kind + `"} `
	for line := range strings.SplitSeq(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, nil // not counted yet
}

// startCarbon runs carbon-cache in the foreground with a configuration of
// its own: no rate limits, 60s:1d archives, updates logged, so the points
// written to whisper files can be counted (carbon never answers on its
// line receiver, and whisper does not fsync). carbon takes no Influx.
func startCarbon(bin string) (*peer, error) {
	dir, err := os.MkdirTemp("", "peerbench-carbon")
	if err != nil {
		return nil, err
	}
	lineAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	pickleAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	queryAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	port := func(a string) string { _, p, _ := net.SplitHostPort(a); return p }
	conf := fmt.Sprintf(`[cache]
STORAGE_DIR = %[1]s/
LOCAL_DATA_DIR = %[1]s/whisper/
WHITELISTS_DIR = %[1]s/lists/
CONF_DIR = %[1]s/
LOG_DIR = %[1]s/log/
PID_DIR = %[1]s/
ENABLE_LOGROTATION = False
LOG_UPDATES = True
LOG_CREATES = False
LOG_LISTENER_CONN_SUCCESS = False
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = inf
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = %[2]s
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = %[3]s
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = %[4]s
CARBON_METRIC_INTERVAL = 0
`, dir, port(lineAddr), port(pickleAddr), port(queryAddr))
	schemas := "[default]\npattern = .*\nretentions = 60s:1d\n"
	for name, body := range map[string]string{"carbon.conf": conf, "storage-schemas.conf": schemas, "storage-aggregation.conf": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return nil, err
		}
	}
	// In the foreground carbon logs to stdout: its update lines are
	// counted as they come.
	cmd := exec.Command(bin, "--config="+filepath.Join(dir, "carbon.conf"), "--nodaemon", "--pidfile="+filepath.Join(dir, "carbon.pid"), "start")
	out := &strings.Builder{}
	cmd.Stderr = out
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var written atomic.Int64
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			written.Add(carbonWrote(sc.Text()))
		}
	}()
	stop := func() { cmd.Process.Signal(os.Interrupt); cmd.Process.Wait(); os.RemoveAll(dir) }
	if err := waitTCP(lineAddr, cmd, out); err != nil {
		stop()
		return nil, err
	}
	count := func(string) (int64, error) { return written.Load(), nil }
	settled := func(kind string, before, n int64) error {
		for deadline := time.Now().Add(10 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if written.Load()-before >= n {
				return nil
			}
		}
		return errors.New("carbon did not write every point within 10 minutes")
	}
	return &peer{name: "carbon", graphite: lineAddr, stop: stop, settled: settled, count: count, pid: cmd.Process.Pid}, nil
}

// carbonWrote is N of a "wrote N datapoints for peer…" log line, else 0.
func carbonWrote(line string) int64 {
	_, rest, ok := strings.Cut(line, "wrote ")
	if !ok {
		return 0
	}
	num, _, ok := strings.Cut(rest, " datapoints for peer")
	if !ok {
		return 0
	}
	n, _ := strconv.ParseInt(num, 10, 64)
	return n
}
