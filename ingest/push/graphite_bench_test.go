package push

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkGraphiteExisting: one Graphite plaintext connection per op
// carrying 1,000 existing series × 60 points (time-major, as collectors
// send), over loopback into a writer with serve's configuration and a
// real store (default template); an op ends at the server's clean close,
// that is once every point is durable.
func BenchmarkGraphiteExisting(b *testing.B) { benchGraphiteExisting(b, 1000) }

// BenchmarkGraphiteExisting10k is BenchmarkGraphiteExisting with the
// peer benchmark's 10,000 series: more series than the store's default
// open-file limit (4,096) on most machines.
func BenchmarkGraphiteExisting10k(b *testing.B) { benchGraphiteExisting(b, 10000) }

func benchGraphiteExisting(b *testing.B, series int) {
	db := openStore(b)
	w, err := NewWriter(db, WriterConfig{})
	if err != nil {
		b.Fatal(err)
	}
	g, err := ListenGraphite("127.0.0.1:0", w, GraphiteConfig{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- g.Serve(ctx) }()
	defer func() { cancel(); <-served }()
	const points = 60
	sec := int64(base)
	stream := func() string {
		var s strings.Builder
		for p := range points {
			for k := range series {
				fmt.Fprintf(&s, "bench.host%d.cpu %d.5 %d\n", k, (k+p)%100, sec+int64(p)*60)
			}
		}
		sec += points * 60
		return s.String()
	}
	send := func(body string) {
		c, err := net.Dial("tcp", g.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, body); err != nil {
			b.Fatal(err)
		}
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(5 * time.Minute))
		if _, err := io.Copy(io.Discard, c); err != nil {
			b.Fatalf("not acknowledged: %v", err)
		}
	}
	send(stream()) // creates the series
	n := 0
	var cpu time.Duration // process CPU (user + system) while sending
	for b.Loop() {
		b.StopTimer()
		body := stream()
		c0 := processCPU(b)
		b.StartTimer()
		send(body)
		b.StopTimer()
		cpu += processCPU(b) - c0
		b.StartTimer()
		n += series * points
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/point")
	if st := g.Stats(); st.Late+st.Refused+st.Bad > 0 {
		b.Fatalf("%+v", st)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "points/s")
}

// processCPU is the CPU time (user + system) the process has used: on a
// shared machine the steadier figure beside the wall time.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
