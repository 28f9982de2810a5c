package main

import (
	"bufio"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"rrdash/store"
)

// TestRrdcachedKill9DuringBatches streams BATCH updates from several
// connections into `rrdash serve` over its rrdcached socket and kills serve
// with SIGKILL in the middle, three times. Every update acknowledged
// ("0 errors") before a kill must be there after the restart, and none
// applied twice: resuming each series after its last update, the final
// archives equal an uninterrupted run. With files of one data source the
// BATCHes' lines go through the reader's fast loop (rrdcached hotLines).
func TestRrdcachedKill9DuringBatches(t *testing.T) {
	for _, oneDS := range []bool{false, true} {
		t.Run(fmt.Sprintf("oneDS=%v", oneDS), func(t *testing.T) { testRrdcachedKill9(t, oneDS) })
	}
}

func testRrdcachedKill9(t *testing.T, oneDS bool) {
	bin := buildRrdash(t)
	data := t.TempDir()
	sock := filepath.Join(data, "rrdcached.sock")
	const conns, perSeries, batch = 3, 3000, 25
	specArgs := []string{"DS:g:GAUGE:120:U:U", "DS:c:COUNTER:120:U:U", "RRA:AVERAGE:0.5:1:400", "RRA:MAX:0.5:6:100"}
	if oneDS {
		specArgs = slices.Delete(specArgs, 1, 2)
	}
	r := rand.New(rand.NewPCG(7, 7))
	lines := make([][]string, conns) // per series: "T:g:c" ("T:g": oneDS)
	for s := range conns {
		tm, ctr := int64(1000000000), uint64(0)
		for range perSeries {
			tm += 1 + r.Int64N(15)
			ctr += r.Uint64N(5000)
			l := fmt.Sprintf("%d:%d.%d", tm, r.IntN(1000), r.IntN(10))
			if !oneDS {
				l += fmt.Sprintf(":%d", ctr)
			}
			lines[s] = append(lines[s], l)
		}
	}
	timeOf := func(l string) int64 {
		var t int64
		fmt.Sscanf(l, "%d:", &t)
		return t
	}

	start := func() *exec.Cmd { return startServeBin(t, bin, data, sock) }
	// talk sends one request and reads the whole answer.
	talk := func(c net.Conn, rd *bufio.Reader, req string) (string, error) {
		if _, err := c.Write([]byte(req)); err != nil {
			return "", err
		}
		line, err := rd.ReadString('\n')
		if err != nil {
			return "", err
		}
		var n int
		fmt.Sscanf(line, "%d", &n)
		out := line
		for i := 0; i < n; i++ {
			l, err := rd.ReadString('\n')
			if err != nil {
				return "", err
			}
			out += l
		}
		return out, nil
	}

	cmd := start()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(c)
	for s := range conns {
		req := fmt.Sprintf("CREATE s%d.rrd -b 999999999 -s 10 %s\n", s, strings.Join(specArgs, " "))
		if got, err := talk(c, rd, req); err != nil || got != "0 RRD created OK\n" {
			t.Fatalf("create: %q %v", got, err)
		}
	}
	c.Close()

	acked := make([]int64, conns) // time of the newest acknowledged update per series
	next := make([]int, conns)    // index of the next line to send per series
	for round := 0; ; round++ {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for s := range conns {
			wg.Go(func() {
				c, err := net.Dial("unix", sock)
				if err != nil {
					return
				}
				defer c.Close()
				rd := bufio.NewReader(c)
				for next[s] < perSeries {
					end := min(next[s]+batch, perSeries)
					var b strings.Builder
					b.WriteString("BATCH\n")
					for _, l := range lines[s][next[s]:end] {
						fmt.Fprintf(&b, "UPDATE s%d.rrd %s\n", s, l)
					}
					b.WriteString(".\n")
					// talk reads the "Go ahead" answer; the batch answer follows
					if _, err := talk(c, rd, b.String()); err != nil {
						return
					}
					line, err := rd.ReadString('\n')
					if err != nil {
						return
					}
					if line != "0 errors\n" {
						t.Errorf("series %d: batch answered %q", s, line)
						return
					}
					mu.Lock()
					acked[s] = timeOf(lines[s][end-1])
					next[s] = end
					mu.Unlock()
				}
			})
		}
		if round < 3 {
			// kill once a random share of what is left has been acknowledged
			sent := func() int {
				mu.Lock()
				defer mu.Unlock()
				n := 0
				for _, k := range next {
					n += k
				}
				return n
			}
			target := sent() + (conns*perSeries-sent())*(10+r.IntN(20))/100
			for sent() < target {
				time.Sleep(200 * time.Microsecond)
			}
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			wg.Wait()
			t.Logf("round %d: killed with %v of %d sent per series", round, next, perSeries)
			cmd = start()
			// resume each series after its last durable update
			c, err := net.Dial("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			rd := bufio.NewReader(c)
			for s := range conns {
				got, err := talk(c, rd, fmt.Sprintf("INFO s%d.rrd\n", s))
				if err != nil {
					t.Fatal(err)
				}
				var last int64
				for _, l := range strings.Split(got, "\n") {
					if v, ok := strings.CutPrefix(l, "last_update 1 "); ok {
						fmt.Sscanf(v, "%d", &last)
					}
				}
				if last < acked[s] {
					t.Fatalf("round %d: series %d lost acknowledged updates: last update %d, acknowledged up to %d", round, s, last, acked[s])
				}
				k := 0
				for k < perSeries && timeOf(lines[s][k]) <= last {
					k++
				}
				next[s] = k
			}
			c.Close()
			continue
		}
		wg.Wait()
		break
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	for s := range conns {
		if next[s] != perSeries {
			t.Fatalf("series %d: stream stopped at %d of %d", s, next[s], perSeries)
		}
	}

	// the reference: one uninterrupted run
	ref, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	got, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	for s := range conns {
		name := fmt.Sprintf("s%d", s)
		spec, err := store.ParseSpecArgs(10, 999999999, specArgs)
		if err != nil {
			t.Fatal(err)
		}
		if err := ref.Create(name, spec, false); err != nil {
			t.Fatal(err)
		}
		var b store.Batch
		for _, l := range lines[s] {
			u, err := store.ParseUpdateArg(l, nil, len(spec.DS))
			if err != nil {
				t.Fatal(err)
			}
			u.Series = name
			b.Updates = append(b.Updates, u)
		}
		if res, err := ref.Apply(t.Context(), b); err != nil || len(res.Errors) > 0 {
			t.Fatalf("reference: %v %v", err, res.Errors)
		}
		for _, cf := range []store.CF{store.Average, store.Max} {
			req := store.FetchRequest{CF: cf, Start: 1000000000, End: timeOf(lines[s][perSeries-1]), Resolution: 1}
			want, err := ref.Fetch(name, req)
			if err != nil {
				t.Fatal(err)
			}
			have, err := got.Fetch(name, req)
			if err != nil {
				t.Fatal(err)
			}
			if have.Rows() != want.Rows() || have.Rows() == 0 {
				t.Fatalf("%s %v: %d rows, want %d", name, cf, have.Rows(), want.Rows())
			}
			for d := range want.Values {
				for i, w := range want.Values[d] {
					h := have.Values[d][i]
					if !(math.IsNaN(w) && math.IsNaN(h)) && w != h {
						t.Fatalf("%s %v ds %d row %d: %v, want %v", name, cf, d, i, h, w)
					}
				}
			}
		}
	}
}

// startServeBin starts the serve binary bin on data (HTTP on a free
// loopback port) and waits until its rrdcached socket sock accepts.
func startServeBin(t *testing.T, bin, data, sock string) *exec.Cmd {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--data", data, "--addr", addr)
	cmd.Env = append(os.Environ(), "RRDASH_LOG_LEVEL=error")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return cmd
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("serve did not open its rrdcached socket")
		}
	}
}
