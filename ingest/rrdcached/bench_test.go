package rrdcached

import (
	"bufio"
	"fmt"
	"net"
	"strings"
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
