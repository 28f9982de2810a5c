package statsd

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"rrdash/ingest/push/pushtest"
)

// statsdPacket is a datagram of 40 lines over 1000 keys, a mix of types.
func statsdPackets(n int) [][]byte {
	var out [][]byte
	k := 0
	for range n {
		var b strings.Builder
		for j := range 40 {
			k++
			switch j % 4 {
			case 0:
				fmt.Fprintf(&b, "app.req.%d:1|c|#env:prod\n", k%250)
			case 1:
				fmt.Fprintf(&b, "app.lat.%d:%d|ms\n", k%250, k%997)
			case 2:
				fmt.Fprintf(&b, "app.q.%d:%d|g\n", k%250, k%50)
			case 3:
				fmt.Fprintf(&b, "app.users.%d:u%d|s\n", k%250, k%100)
			}
		}
		out = append(out, []byte(b.String()))
	}
	return out
}

// BenchmarkStatsdUDP sends statsd datagrams over loopback to the listener
// and flushes the aggregates durably into a store: metrics/s end to end,
// and the datagrams the kernel dropped (drops/op).
func BenchmarkStatsdUDP(b *testing.B) {
	_, w := newStoreWriter(b, 10)
	srv, err := New(w, 10, Config{UDPAddr: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	go srv.Serve(ctx)
	pkts := statsdPackets(256)
	c, err := net.Dial("udp", srv.UDPAddr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	// Create the series outside the timing.
	for _, p := range pkts {
		c.Write(p)
	}
	waitLines(b, srv, int64(len(pkts)*40))
	srv.Flush(ctx, time.Now())
	start := srv.Stats()
	b.ResetTimer()
	cpu0 := pushtest.CPUTime()
	for i := range b.N {
		c.Write(pkts[i%len(pkts)])
		if i%64 == 63 {
			// Pace to the reader: a sender on the same cores outruns it.
			waitLines(b, srv, start.Lines+int64(i+1)*40-64*40*4)
		}
	}
	want := start.Lines + int64(b.N)*40
	waitLines(b, srv, want)
	if err := srv.Flush(ctx, time.Now().Add(time.Second)); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	st := srv.Stats()
	b.ReportMetric(float64(st.Metrics-start.Metrics)/b.Elapsed().Seconds(), "metrics/s")
	// Per CPU-second of the process, the sender's writes and the pacing
	// included: steadier than wall time on a shared machine.
	b.ReportMetric(float64(st.Metrics-start.Metrics)/(pushtest.CPUTime()-cpu0).Seconds(), "metrics/CPU-s")
	b.ReportMetric(float64(st.KernelDrops-start.KernelDrops)/float64(b.N), "drops/op")
}

// waitLines waits until the server read n lines or the kernel dropped
// the datagrams that would have brought them.
func waitLines(b *testing.B, srv *Server, n int64) {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		st := srv.Stats()
		if st.Lines+st.KernelDrops*40 >= n {
			return
		}
		time.Sleep(50 * time.Microsecond)
	}
	b.Fatalf("the listener did not read %d lines: %+v", n, srv.Stats())
}

// BenchmarkStatsdParseAggregate is the per-metric cost without the
// socket: parse and aggregate one 40-line datagram per op.
func BenchmarkStatsdParseAggregate(b *testing.B) {
	srv := &Server{}
	agg, _ := NewAggregator(AggConfig{})
	srv.agg = agg
	pkts := statsdPackets(256)
	b.ResetTimer()
	cpu0 := pushtest.CPUTime()
	for i := range b.N {
		srv.handleLines(&srv.udpParser, pkts[i%len(pkts)], "udp", "bench")
	}
	b.ReportMetric(float64(b.N*40)/b.Elapsed().Seconds(), "metrics/s")
	b.ReportMetric(float64(b.N*40)/(pushtest.CPUTime()-cpu0).Seconds(), "metrics/CPU-s")
}
