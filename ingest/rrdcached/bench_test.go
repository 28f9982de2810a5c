package rrdcached

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// BenchmarkBatchUpdates: one connection sends BATCHes of 1,000 UPDATE
// lines of one value each to one series, over loopback TCP, into a real
// store; each BATCH's answer means its updates are durable.
func BenchmarkBatchUpdates(b *testing.B) {
	ts := newTestServer(b, AllCommands, Config{})
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	rd := bufio.NewReader(c)
	send := func(req string) string {
		if _, err := c.Write([]byte(req)); err != nil {
			b.Fatal(err)
		}
		line, err := rd.ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		return line
	}
	if a := send("CREATE s.rrd -b 1000000000 -s 1 DS:v:GAUGE:600:U:U RRA:AVERAGE:0.5:1:1000 RRA:MAX:0.5:60:100\n"); !strings.HasPrefix(a, "0 ") {
		b.Fatal(a)
	}
	t := int64(1000000001)
	var req strings.Builder
	n := 0
	for b.Loop() {
		b.StopTimer()
		req.Reset()
		req.WriteString("BATCH\n")
		for range 1000 {
			fmt.Fprintf(&req, "UPDATE s.rrd %d:%d\n", t, t%100)
			t++
		}
		req.WriteString(".\n")
		b.StartTimer()
		if a := send(req.String()); !strings.HasPrefix(a, "0 ") {
			b.Fatal(a)
		}
		n += 1000
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "updates/s")
}

// BenchmarkWorkloads runs issue 22's three workloads in process over
// loopback TCP: 4 connections, BATCHes of 1,000 one-value UPDATEs, each
// connection sending its BATCHes without waiting for the answers (up to
// 16 in flight), into a real store; the iteration ends once every BATCH
// is answered, that is durable.
func BenchmarkWorkloads(b *testing.B) {
	for _, w := range []struct {
		name            string
		series, updates int
	}{{"1x100000", 1, 100000}, {"1000x100", 1000, 100}, {"10000x10", 10000, 10}} {
		b.Run(w.name, func(b *testing.B) {
			ts := newTestServer(b, AllCommands, Config{})
			cl := ts.dial(b)
			var req strings.Builder
			req.WriteString("BATCH\n")
			for s := range w.series {
				fmt.Fprintf(&req, "CREATE s%d.rrd -b 1000000000 -s 1 DS:v:GAUGE:600:U:U RRA:AVERAGE:0.5:1:1000 RRA:MAX:0.5:60:100\n", s)
			}
			req.WriteString(".\n")
			cl.send(req.String())
			cl.answer()
			if a := cl.answer(); a != "0 errors\n" {
				b.Fatal(a)
			}
			const conns, window = 4, 16
			t := int64(1000000000)
			n := 0
			for b.Loop() {
				b.StopTimer()
				// each connection's BATCHes, made before the clock runs
				reqs := make([][]string, conns)
				for k := range conns {
					var cur strings.Builder
					lines := 0
					for u := range w.updates {
						for s := k; s < w.series; s += conns {
							if lines == 0 {
								cur.WriteString("BATCH\n")
							}
							// not fmt: its garbage drew the in-process server
							// into the client's collections
							cur.WriteString("UPDATE s")
							cur.WriteString(strconv.Itoa(s))
							cur.WriteString(".rrd ")
							cur.WriteString(strconv.FormatInt(t+int64(u)+1, 10))
							cur.WriteByte(':')
							cur.WriteString(strconv.Itoa(u % 97))
							cur.WriteByte('\n')
							if lines++; lines == 1000 {
								cur.WriteString(".\n")
								reqs[k] = append(reqs[k], cur.String())
								cur.Reset()
								lines = 0
							}
						}
					}
					if lines > 0 {
						cur.WriteString(".\n")
						reqs[k] = append(reqs[k], cur.String())
					}
				}
				t += int64(w.updates)
				b.StartTimer()
				var wg sync.WaitGroup
				for k := range conns {
					if len(reqs[k]) == 0 {
						continue
					}
					c := ts.dial(b)
					wg.Go(func() {
						slots := make(chan struct{}, window)
						done := make(chan struct{})
						go func() {
							defer close(done)
							for range reqs[k] {
								c.answer()
								if a := c.answer(); a != "0 errors\n" {
									b.Error(a)
								}
								<-slots
							}
						}()
						for _, r := range reqs[k] {
							slots <- struct{}{}
							c.send(r)
						}
						<-done
					})
				}
				wg.Wait()
				n += w.series * w.updates
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "updates/s")
		})
	}
}
