package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"rrdash/store"
)

// TestSoak runs `rrdash serve` under mixed load — HTTP line-protocol
// pushers, a Graphite sender that counts a clean close as its
// acknowledgement, and readers — while a killer sends SIGKILL at random
// moments and restarts the server. At the end every acknowledged point must
// be in the store with its value, no read may have answered 5xx, and the
// server's RSS must have stayed under a ceiling.
//
// `make test` runs it for a few seconds; `make soak` sets RRDASH_SOAK=30m.
func TestSoak(t *testing.T) {
	dur := 12 * time.Second
	if s := os.Getenv("RRDASH_SOAK"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("RRDASH_SOAK=%q: %v", s, err)
		}
		dur = d
	}
	const rssCeiling = 600 << 20
	bin := filepath.Join(t.TempDir(), "rrdash")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	s := &soak{t: t, bin: bin, data: t.TempDir(), acked: map[string]map[int64]float64{}}
	s.token = pushToken(t, s.data)
	s.start()
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := range 2 {
		wg.Go(func() { s.pushLoop(i, stop) })
	}
	wg.Go(func() { s.graphiteLoop(stop) })
	wg.Go(func() { s.readLoop(stop) })
	wg.Go(func() { s.rssLoop(stop) })

	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 14))
	kills := 0
	for time.Now().Before(deadline) {
		// kill every 1-6 s: enough kills in a short run, and time for
		// real work (series creation, checkpoints) between them
		wait := time.Duration(1000+r.IntN(5000)) * time.Millisecond
		if rem := time.Until(deadline); wait > rem {
			wait = rem
		}
		time.Sleep(wait)
		if !time.Now().Before(deadline) {
			break
		}
		s.kill()
		kills++
		s.start()
	}
	close(stop)
	wg.Wait()
	s.stopGracefully()

	db, err := store.Open(s.data, store.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	points, lost := 0, 0
	for name, pts := range s.acked {
		lo, hi := int64(math.MaxInt64), int64(0)
		for ts := range pts {
			lo, hi = min(lo, ts), max(hi, ts)
		}
		// a Graphite series (plaintext) keeps the point of slot ts in the row ending ts+step
		shift := int64(0)
		if meta, err := db.Meta(name); err == nil && meta[store.MetaModel] == store.ModelGraphite {
			shift = 60
		}
		res, err := db.Fetch(name, store.FetchRequest{CF: store.Average, Start: lo - 60, End: hi + shift, Resolution: 60})
		if err != nil {
			t.Errorf("%s: fetch: %v", name, err)
			lost += len(pts)
			continue
		}
		for ts, want := range pts {
			points++
			i := int((ts + shift - res.Start - res.Step) / res.Step)
			if i < 0 || i >= res.Rows() || res.Values[0][i] != want {
				got := math.NaN()
				if i >= 0 && i < res.Rows() {
					got = res.Values[0][i]
				}
				if lost < 10 {
					t.Errorf("%s at %d: acknowledged %g, stored %g", name, ts, want, got)
				}
				lost++
			}
		}
	}
	t.Logf("soak %v: %d kills, %d series, %d acknowledged points checked, %d lost; %d pushes (%d uncertain), %d graphite closes (%d uncertain), %d reads, peak RSS %.1f MiB",
		dur, kills, len(s.acked), points, lost, s.pushes.Load(), s.pushUncertain.Load(),
		s.closes.Load(), s.closeUncertain.Load(), s.reads.Load(), float64(s.peakRSS.Load())/(1<<20))
	if lost > 0 {
		t.Errorf("%d of %d acknowledged points lost", lost, points)
	}
	if n := s.read5xx.Load(); n > 0 {
		t.Errorf("%d reads answered 5xx", n)
	}
	if s.pushes.Load() == 0 || s.closes.Load() == 0 || s.reads.Load() == 0 {
		t.Errorf("a load loop did no work: %d pushes, %d graphite closes, %d reads", s.pushes.Load(), s.closes.Load(), s.reads.Load())
	}
	if p := s.peakRSS.Load(); p > rssCeiling {
		t.Errorf("peak RSS %d MiB over the %d MiB ceiling", p>>20, rssCeiling>>20)
	}
}

type soak struct {
	t                *testing.T
	bin, data, token string

	mu       sync.Mutex
	cmd      *exec.Cmd
	base     string // http://host:port
	graphite string
	gen      int // bumped at each start: loops notice a new server

	ackMu sync.Mutex
	acked map[string]map[int64]float64

	pushes, pushUncertain, closes, closeUncertain, reads, read5xx atomic.Int64
	peakRSS                                                       atomic.Int64
}

func (s *soak) start() {
	s.t.Helper()
	cmd := exec.Command(s.bin, "serve", "--addr", "127.0.0.1:0", "--data", s.data, "--graphite", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	base, graphite := serveAddrs(out)
	go io.Copy(io.Discard, out)
	if base == "" || graphite == "" {
		cmd.Process.Kill()
		s.t.Fatalf("serve did not start: %v", cmd.Wait())
	}
	s.mu.Lock()
	s.cmd, s.base, s.graphite = cmd, base, graphite
	s.gen++
	s.mu.Unlock()
}

func (s *soak) kill() {
	s.mu.Lock()
	cmd := s.cmd
	s.base, s.graphite = "", ""
	s.mu.Unlock()
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
}

func (s *soak) stopGracefully() {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		s.t.Errorf("serve after SIGTERM: %v", err)
	}
}

// addrs returns the running server's addresses, waiting while it restarts.
func (s *soak) addrs(stop <-chan struct{}) (base, graphite string, ok bool) {
	for {
		s.mu.Lock()
		base, graphite = s.base, s.graphite
		s.mu.Unlock()
		if base != "" {
			return base, graphite, true
		}
		select {
		case <-stop:
			return "", "", false
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *soak) ack(name string, ts int64, v float64) {
	s.ackMu.Lock()
	defer s.ackMu.Unlock()
	m := s.acked[name]
	if m == nil {
		m = map[int64]float64{}
		s.acked[name] = m
	}
	m[ts] = v
}

// timeline hands out aligned timestamps from 47 h ago up to now: the points
// of one generation of series fit the finest archive (2 days) and never lie
// in the future. A spent timeline starts a new generation of series.
type timeline struct {
	gen  int
	next int64
}

func (tl *timeline) advance() {
	tl.next += 60
	if tl.next > time.Now().Unix() {
		tl.gen++
		tl.reset()
	}
}

func (tl *timeline) reset() { tl.next = (time.Now().Unix()-47*3600)/60*60 + 60 }

// dialFailed tells an error where the request surely never reached the
// server (so the same points may be sent again) from one where it may have.
func dialFailed(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func (s *soak) pushLoop(id int, stop <-chan struct{}) {
	const series = 20
	client := &http.Client{Timeout: 30 * time.Second}
	tl := &timeline{}
	tl.reset()
	var body bytes.Buffer
	for {
		base, _, ok := s.addrs(stop)
		if !ok {
			return
		}
		body.Reset()
		vals := make([]float64, series)
		for i := range series {
			vals[i] = float64(tl.next%100000) + float64(i)/8 + float64(id)
			fmt.Fprintf(&body, "soak_p%d_g%d_s%d v=%s %d\n", id, tl.gen, i, strconv.FormatFloat(vals[i], 'g', -1, 64), tl.next)
		}
		resp, err := pushWith(client, base+"/api/v1/write?precision=s", s.token, bytes.NewReader(body.Bytes()))
		switch {
		case err != nil && dialFailed(err):
			continue // not sent: the same points again
		case err != nil:
			s.pushUncertain.Add(1)
		default:
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				for i := range series {
					s.ack(fmt.Sprintf("soak_p%d_g%d_s%d.v", id, tl.gen, i), tl.next, vals[i])
				}
				s.pushes.Add(1)
			} else if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
				s.pushUncertain.Add(1)
			} else {
				s.t.Errorf("push: %s: %s", resp.Status, msg)
			}
		}
		tl.advance()
		select {
		case <-stop:
			return
		default:
		}
	}
}

// graphiteLoop sends points per connection and counts them acknowledged
// when the server closes its side after the client's clean close.
func (s *soak) graphiteLoop(stop <-chan struct{}) {
	const series = 10
	tl := &timeline{}
	tl.reset()
	for {
		_, addr, ok := s.addrs(stop)
		if !ok {
			return
		}
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			continue
		}
		var b strings.Builder
		vals := make([]float64, series)
		for i := range series {
			vals[i] = float64(tl.next%100000) + float64(i)/4
			fmt.Fprintf(&b, "soak.graphite.g%d.s%d %s %d\n", tl.gen, i, strconv.FormatFloat(vals[i], 'g', -1, 64), tl.next)
		}
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		_, werr := io.WriteString(conn, b.String())
		if werr == nil {
			werr = conn.(*net.TCPConn).CloseWrite()
		}
		var rerr error
		if werr == nil {
			// the server's close (EOF) is the acknowledgement
			_, rerr = io.Copy(io.Discard, conn)
		}
		conn.Close()
		if werr == nil && rerr == nil {
			for i := range series {
				s.ack(fmt.Sprintf("soak.graphite.g%d.s%d", tl.gen, i), tl.next, vals[i])
			}
			s.closes.Add(1)
		} else {
			s.closeUncertain.Add(1)
		}
		tl.advance()
		select {
		case <-stop:
			return
		default:
		}
	}
}

func (s *soak) readLoop(stop <-chan struct{}) {
	client := &http.Client{Timeout: 30 * time.Second}
	names := []string{"soak_p0_g0_s0.v", "soak.graphite.g0.s1"}
	for i := 0; ; i++ {
		base, _, ok := s.addrs(stop)
		if !ok {
			return
		}
		name := names[i%len(names)]
		u := base + "/api/v1/series/info?name=" + url.QueryEscape(name)
		if i%2 == 1 {
			u = base + "/api/v1/xport?start=-2d&arg=" + url.QueryEscape("DEF:a="+name+":value:AVERAGE") +
				"&arg=" + url.QueryEscape("XPORT:a")
		}
		resp, err := client.Get(u)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			s.reads.Add(1)
			if resp.StatusCode >= 500 {
				s.read5xx.Add(1)
				s.t.Logf("read %s: %s", u, resp.Status)
			}
		}
		select {
		case <-stop:
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// rssLoop samples the server's resident set size.
func (s *soak) rssLoop(stop <-chan struct{}) {
	for {
		s.mu.Lock()
		pid := 0
		if s.cmd != nil && s.cmd.Process != nil {
			pid = s.cmd.Process.Pid
		}
		s.mu.Unlock()
		if kb := rssKiB(pid); kb<<10 > s.peakRSS.Load() {
			s.peakRSS.Store(kb << 10)
		}
		select {
		case <-stop:
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func rssKiB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb
		}
	}
	return 0
}
